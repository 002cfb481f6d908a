"""The one builder of the whole routing stack (router, AMI connection, metrics, call
records), shared by the tests, the benchmarks and ``acd simulate``, so that none of
them wires a router by assigning its attributes."""

from acd.testing.stack import Stack, build_stack, running_stack

__all__ = ["Stack", "build_stack", "running_stack"]
