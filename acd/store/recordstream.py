"""Reading the call records kept in Redis (``acd report --redis CONFIG``).

The records stream holds one finished call per entry (field ``r``: the call-record
JSON of ``acd replay``), trimmed by time to ``records_retention_days``. Delivery to
it is at least once: a uniqueid seen twice is read once.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec
import redis
from redis.exceptions import RedisError

from acd.config import Config, namespace_of
from acd.config.secrets import redis_password
from acd.core.records import CallRecord
from acd.errors import AcdError
from acd.store import keys

CHUNK = 1000
_decoder = msgspec.json.Decoder(CallRecord)


class RedisRecordsError(AcdError):
    """The call records cannot be read from Redis."""

    code = "redis_records"


def read_records(config: Config) -> Iterator[CallRecord]:
    """Every call record kept in the Redis of ``config`` (its ``[redis]`` section), in
    the order they were written."""
    if config.redis is None:
        raise RedisRecordsError("the config has no [redis] section: no records in Redis")
    namespace = namespace_of(config)
    key = keys.records(namespace)
    settings = config.redis
    options: dict[str, Any] = {"password": redis_password(config),
                               "socket_timeout": settings.timeout_s * 5,
                               "socket_connect_timeout": settings.timeout_s}
    client: redis.Redis
    if settings.sentinels:
        from redis.sentinel import Sentinel

        from acd.store.store import database, sentinel_addresses

        sentinel = Sentinel(
            sentinel_addresses(settings), sentinel_kwargs={"socket_timeout": settings.timeout_s})
        client = sentinel.master_for(
            settings.sentinel_service, db=database(settings), **options)
    else:
        client = redis.Redis.from_url(settings.url, **options)
    seen: set[str] = set()
    start = "-"
    try:
        while True:
            entries: list[Any] = client.xrange(key, min=start, max="+", count=CHUNK) or []
            for entry_id, fields in entries:
                raw = fields.get(b"r")
                if raw is None:
                    continue
                try:
                    record = _decoder.decode(raw)
                except msgspec.DecodeError as exc:
                    raise RedisRecordsError(f"{key} {entry_id.decode()}: not a call "
                                            f"record: {exc}") from exc
                if record.uniqueid in seen:
                    continue
                seen.add(record.uniqueid)
                yield record
            if len(entries) < CHUNK:
                return
            start = "(" + entries[-1][0].decode()
    except RedisError as exc:
        raise RedisRecordsError(f"cannot read the call records from {config.redis.url} "
                                f"({key}): {exc}") from exc
    finally:
        manager = getattr(client.connection_pool, "sentinel_manager", None)
        client.close()
        client.connection_pool.disconnect()
        for sentinel in getattr(manager, "sentinels", ()):
            sentinel.close()
            sentinel.connection_pool.disconnect()
