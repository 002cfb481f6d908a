"""The leader lock of an active/standby pair: one router decides, the other follows.

Two keys per site, in the site's hash tag (so they live on one Cluster slot):

* ``acd:{ns}:leader`` — ``"<node-id>:<token>"``, set with a TTL (``PX``) by the holder;
* ``acd:{ns}:fence`` — the fencing counter, incremented on every acquisition.

Acquire and renew are Lua scripts, so each is one atomic step in Redis: acquire sets
the key only if nobody holds it and returns the new fencing token; renew extends the
TTL only if the value is still exactly ours (an expired lock taken by the other node
is never extended by us). Release deletes it only if it is ours.

A holder also keeps a *local* lease deadline on the monotonic clock: the moment it sent
its last successful acquire/renew plus the TTL. Redis's TTL started no earlier than
that, so when the local deadline passes the lock may already belong to someone else:
:meth:`LeaderLock.holds` turns false at that instant, whatever the event loop was doing
(a long pause, a stuck renew), and the router stops sending actions before its next one.
Writers fence with :meth:`LeaderLock.fence_token`: a journal writer refuses to write
when the fence key is greater than that token (a newer leader exists).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import Callable
from typing import Any

import msgspec
from redis.asyncio import Redis
from redis.exceptions import RedisError

from acd.config import Config, namespace_of
from acd.config.secrets import redis_password
from acd.logs import get_logger
from acd.store import keys
from acd.store.store import connect

log = get_logger("acd.leader")

_ACQUIRE = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  return false
end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. token, 'PX', ARGV[2])
return token
"""

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def default_node_id() -> str:
    """``<hostname>-<pid>``: unique per running router."""
    return f"{socket.gethostname()}-{os.getpid()}"


def leader_lock(config: Config) -> LeaderLock:
    """The lock of ``[leader]`` on ``[redis]`` (config checked: both are set)."""
    if config.leader is None or config.redis is None:
        raise ValueError("an election needs [leader] and [redis]")
    # the store's connection settings (password, Sentinel), with time-outs short
    # enough that a stuck call cannot outlive the lease
    settings = msgspec.structs.replace(config.redis, timeout_s=config.leader.ttl_s / 3)
    redis = connect(settings, redis_password(config))
    return LeaderLock(redis, namespace_of(config), config.leader.node_id or default_node_id(),
                      config.leader.ttl_s)


class LeaderLock:
    """One node's handle on the site's leader lock (see the module docstring)."""

    def __init__(self, redis: Redis, namespace: str, node_id: str, ttl_s: float, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.redis = redis
        self.namespace = namespace
        self.node_id = node_id
        self.ttl_s = ttl_s
        self._clock = clock
        self._keys = [keys.leader(namespace), keys.fence(namespace)]
        self._acquire: Any = redis.register_script(_ACQUIRE)
        self._renew: Any = redis.register_script(_RENEW)
        self._release: Any = redis.register_script(_RELEASE)
        self.token: int | None = None
        self._deadline = 0.0

    @property
    def value(self) -> str:
        return f"{self.node_id}:{self.token}"

    def holds(self) -> bool:
        """True while this node's lease has not run out on the local monotonic clock."""
        return self.token is not None and self._clock() < self._deadline

    def fence_token(self) -> int | None:
        """The fencing token while the lease holds, else None (write nothing)."""
        return self.token if self.holds() else None

    def remaining_s(self) -> float:
        return max(0.0, self._deadline - self._clock()) if self.token is not None else 0.0

    async def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; the new fencing token is :attr:`token`."""
        sent = self._clock()
        token = await self._acquire(keys=self._keys, args=[self.node_id, self._ttl_ms()])
        if token is None:
            return False
        self.token = int(token)
        self._deadline = sent + self.ttl_s
        return True

    async def renew(self) -> bool:
        """Extend the lock if it is still ours; False (and the lease dropped) if not."""
        if self.token is None:
            return False
        sent = self._clock()
        renewed = await self._renew(keys=self._keys[:1], args=[self.value, self._ttl_ms()])
        if int(renewed) != 1:
            self.drop()
            return False
        self._deadline = sent + self.ttl_s
        return True

    def drop(self) -> None:
        """Forget the lease locally (a failed renew, a lapsed deadline)."""
        self.token = None
        self._deadline = 0.0

    async def release(self) -> None:
        """Give the lock up at a clean stop, so the standby takes over at once."""
        if self.token is None:
            return
        value = self.value
        self.drop()
        with contextlib.suppress(RedisError, OSError):
            await self._release(keys=self._keys[:1], args=[value])

    def _ttl_ms(self) -> int:
        return max(1, int(self.ttl_s * 1000))


class Election:
    """Keeps a :class:`LeaderLock`: renews it while held, tries to take it otherwise,
    and tells the router when it became leader or stopped being one.

    The leader renews every ``ttl/3``; a standby tries every ``ttl/8`` so that it takes
    over soon after the lock expires. A Redis error counts as a failed renew once the
    local deadline has passed (never earlier: one lost round trip is no reason to stop).
    """

    def __init__(self, lock: LeaderLock, *, on_elected: Callable[[int], None],
                 on_deposed: Callable[[str], None]) -> None:
        self.lock = lock
        self.on_elected = on_elected
        self.on_deposed = on_deposed
        self.leading = False

    async def close(self) -> None:
        await self.lock.redis.aclose()

    async def run(self) -> None:
        lock = self.lock
        log.info("leader_election", node=lock.node_id, namespace=lock.namespace,
                 ttl_s=lock.ttl_s)
        try:
            while True:
                try:
                    await self.step()
                except Exception:  # never let the election die: a standby must keep trying
                    log.exception("leader_election_error")
                    self.check()
                if self.leading:
                    delay = min(lock.ttl_s / 3, max(0.0, lock.remaining_s() - 0.05))
                    await asyncio.sleep(max(delay, 0.01))
                else:
                    await asyncio.sleep(lock.ttl_s / 8)
        finally:
            if self.leading:
                self.leading = False
                await asyncio.shield(lock.release())
                log.warning("leader_released", node=lock.node_id)
                self.on_deposed("stopping")

    async def step(self) -> None:
        """One round: renew (leader) or try to acquire (standby)."""
        lock = self.lock
        try:
            if self.leading:
                if not await lock.renew():
                    self._depose("lock taken by another node")
                    return
            elif await lock.try_acquire():
                self.leading = True
                log.warning("leader_elected", node=lock.node_id, token=lock.token)
                self.on_elected(lock.token or 0)
                return
        except (RedisError, OSError) as exc:
            log.warning("leader_redis_error", error=f"{type(exc).__name__}: {exc}",
                        leading=self.leading)
        if self.leading and not lock.holds():
            self._depose("lease ran out")

    def check(self) -> bool:
        """Whether this node may act now; deposes it the moment its lease lapsed."""
        if self.leading and not self.lock.holds():
            self._depose("lease ran out")
        return self.leading

    def _depose(self, reason: str) -> None:
        self.leading = False
        self.lock.drop()
        log.warning("leader_deposed", node=self.lock.node_id, reason=reason)
        self.on_deposed(reason)
