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

PREFIX = "acd"


def base(ns: str) -> str:
    """``acd:{ns}``: the common prefix, with the hash tag."""
    return f"{PREFIX}:{{{ns}}}"


def journal(ns: str) -> str:
    return f"{base(ns)}:journal"


def calls(ns: str) -> str:
    return f"{base(ns)}:calls"


def agents(ns: str) -> str:
    return f"{base(ns)}:agents"


def queues(ns: str) -> str:
    return f"{base(ns)}:queues"


def state(ns: str) -> str:
    return f"{base(ns)}:state"


def records(ns: str) -> str:
    return f"{base(ns)}:records"


def audit(ns: str) -> str:
    return f"{base(ns)}:audit"


def leader(ns: str) -> str:
    return f"{base(ns)}:leader"


def fence(ns: str) -> str:
    return f"{base(ns)}:fence"


def snapshot_keys(ns: str) -> tuple[str, str, str, str]:
    """The hashes a full snapshot rewrite replaces."""
    return calls(ns), agents(ns), queues(ns), state(ns)


def all_keys(ns: str) -> list[str]:
    """Every key of the namespace (tests clean up with it)."""
    return [journal(ns), *snapshot_keys(ns), records(ns), audit(ns), leader(ns), fence(ns)]


#: field of the ``state`` hash holding :class:`acd.core.state.EngineMeta`
META_FIELD = "meta"
