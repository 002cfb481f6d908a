"""Locust surge tests of the router (``loadtests/surge``)."""
