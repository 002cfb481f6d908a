"""Every Redis key of acd, in one place.

All keys of one site share the hash tag ``{<namespace>}``: ``acd:{sas-59-nord}:calls``.
Redis Cluster puts every key with the same tag in the same slot, so one MULTI/EXEC
batch or Lua script may touch all of them, and a Sentinel or Cluster deployment needs
no change of keys. ``<namespace>`` is ``[redis] namespace`` (default: the site name,
slugified; see :func:`acd.config.namespace_of`).

=====================  ======  ==========================================================
key                    type    what
=====================  ======  ==========================================================
``journal``            stream  every fact of the engine, in order (``t`` type, ``f`` JSON)
``calls``              hash    call id → the call (JSON), every call not ended
``agents``             hash    agent id → the agent (JSON)
``queues``             hash    queue → ids of its waiting calls in service order (JSON)
``state``              hash    ``meta`` → engine-wide state (JSON: bascules, partners…)
``records``            stream  one finished call per entry (``r``: the call record JSON)
``audit``              stream  one API write per entry (``a``: the audit entry JSON)
``leader``             string  the active router's lock (value and TTL: :mod:`acd.store`
                               users, see the failover side)
``fence``              string  fencing counter: the leader lock INCRs it on acquire
=====================  ======  ==========================================================
"""

from __future__ import annotations

from collections.abc import Callable

PREFIX = "acd"


def base(ns: str) -> str:
    """``acd:{ns}``: the common prefix, with the hash tag."""
    return f"{PREFIX}:{{{ns}}}"


def _key(name: str) -> Callable[[str], str]:
    """The key ``acd:{ns}:<name>`` as a function of the namespace ``ns``."""

    def key(ns: str) -> str:
        return f"{base(ns)}:{name}"

    key.__name__ = key.__qualname__ = name
    return key


journal = _key("journal")
calls = _key("calls")
agents = _key("agents")
queues = _key("queues")
state = _key("state")
records = _key("records")
audit = _key("audit")
leader = _key("leader")
fence = _key("fence")


def snapshot_keys(ns: str) -> tuple[str, str, str, str]:
    """The hashes a full snapshot rewrite replaces."""
    return calls(ns), agents(ns), queues(ns), state(ns)


def all_keys(ns: str) -> list[str]:
    """Every key of the namespace (tests clean up with it)."""
    return [journal(ns), *snapshot_keys(ns), records(ns), audit(ns), leader(ns), fence(ns)]


#: field of the ``state`` hash holding :class:`acd.core.state.EngineMeta`
META_FIELD = "meta"
