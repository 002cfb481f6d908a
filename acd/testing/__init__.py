"""The service as the tests, the benchmarks and ``acd simulate`` build it: the one
composition of :func:`acd.service.build.build`, with the record of every call that
ended, so that none of them wires a router by hand."""

from acd.testing.stack import Stack, build_stack, running_stack

__all__ = ["Stack", "build_stack", "running_stack"]
