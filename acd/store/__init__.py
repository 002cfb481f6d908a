"""Durable state in Redis, written behind the engine (issue: nothing lost on restart).

Public API (everything else is internal):

* ``await open_store(config, router, *, fence_token=None, registry=None,
  restore=True) -> Store`` — the service's store: connect to ``[redis]``, read the
  saved state and give it to the engine (before the AMI session starts), attach the
  journal writer to the router's facts and API audit, start writing.
* ``attach_store(router, url, namespace, *, settings=None, password=None,
  registry=None, fence_token=None) -> Store`` — the same for benchmarks and tests,
  attached but not started (``store.start()``; ``await store.restore()`` before).
* :class:`Store` — ``restore()``, ``start()``, ``flush()``, ``health()`` (also in
  ``/healthz`` under ``store``), ``await close(timeout)`` (a last flush, best effort),
  ``writer`` (the :class:`~acd.store.writer.JournalWriter`: ``up``, ``fenced``,
  ``buffer``), ``metrics``, ``namespace``.
* :mod:`acd.store.keys` — every key pattern (``leader(ns)``, ``fence(ns)`` included).
* :func:`read_records` — the call records kept in Redis (``acd report --redis``).
* ``connect(settings, password) -> redis.asyncio.Redis`` and ``await read_state(redis,
  namespace) -> EngineState | None`` — the saved state, read without attaching
  anything (a standby looking before it takes over).

The namespace of a site is :func:`acd.config.namespace_of` (``[redis] namespace``, or
the site name slugified). The task returned by ``Store.start()`` ends by itself when
the writer is fenced.

``fence_token``: a callable returning the current fencing token (the value the leader
lock got from ``INCR fence(ns)``), or None while this router is not the leader (its
batches are then held, not written). With it every batch is written by a Lua script
that refuses it if ``GET fence(ns)`` is greater than the token; the writer then logs
``journal_fenced`` and writes no more.
"""

from acd.store import keys
from acd.store.recordstream import read_records
from acd.store.state_reader import read_state
from acd.store.store import Store, attach_store, connect, open_store

__all__ = ["Store", "attach_store", "connect", "keys", "open_store", "read_records",
           "read_state"]
