"""Offline tools and process scaffolding: replay, route, report, simulate, chaos,
check-pbx, and the Redis and router processes they start.

The running service never imports this package.
"""
