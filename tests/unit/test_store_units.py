"""The durable state's pure parts: keys, the bounded buffer, the [redis] settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from acd.config import namespace_of, slugify
from acd.config.load import parse_config
from acd.config.secrets import redis_password, redis_password_and_source
from acd.errors import ConfigError
from acd.store import keys
from acd.store.buffer import Entry, JournalBuffer, Kind

SITE = b'[site]\nname = "SAS 59 Nord \xe2\x80\x94 CRRA Lille"\ndepartement = "59"\n'


def test_every_key_of_a_site_shares_one_hash_tag() -> None:
    assert keys.leader("sas-59") == "acd:{sas-59}:leader"
    assert keys.fence("sas-59") == "acd:{sas-59}:fence"
    every = keys.all_keys("sas-59")
    assert len(set(every)) == len(every) == 9
    assert all(key.startswith("acd:{sas-59}:") for key in every)


def test_the_namespace_defaults_to_the_site_name_slugified() -> None:
    assert namespace_of(parse_config(SITE + b"[redis]\n")) == "sas-59-nord-crra-lille"
    assert namespace_of(parse_config(SITE + b'[redis]\nnamespace = "lab-1"\n')) == "lab-1"
    assert slugify("Élan — SAS 2A") == "elan-sas-2a"
    assert slugify("—") == "site"


@pytest.mark.parametrize(("text", "key", "problem"), [
    ('url = "redis://:hunter2@10.0.0.5:6379/0"', "redis.url", "secrets must not be"),
    ('url = "http://10.0.0.5"', "redis.url", "scheme 'http'"),
    ("records_retention_days = 0", "redis.records_retention_days", ">= 1"),
    ("journal_buffer = 10", "redis.journal_buffer", ">= 100"),
    ('namespace = "a:{b}"', "redis.namespace", "matching regex"),
    ("retry_initial_s = 10\nretry_max_s = 1", "redis.retry_initial_s", "must not exceed"),
    ('sentinels = ["10.0.0.1"]', "redis.sentinels[0]", "matching regex"),
])
def test_bad_redis_settings_are_refused_naming_the_key(text: str, key: str,
                                                       problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(SITE + b"[redis]\n" + text.encode() + b"\n", "site.toml")
    lines = info.value.lines()
    assert any(line.startswith(f"site.toml: {key}: ") and problem in line for line in lines), \
        lines


def test_the_redis_password_comes_from_the_environment_or_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "redis-password"
    secret.write_text("s3cret\n")
    config = parse_config(SITE + f'[redis]\npassword_file = "{secret}"\n'.encode())
    assert redis_password(config, environ={}) == "s3cret"
    assert redis_password(config, environ={"ACD_REDIS_PASSWORD": "env"}) == "env"
    assert redis_password(parse_config(SITE + b"[redis]\n"), environ={}) is None


def test_the_redis_password_comes_from_the_units_credential(tmp_path: Path) -> None:
    """What the units give acd: $CREDENTIALS_DIRECTORY/redis-password, empty when
    Redis has no password; the environment and password_file still come first."""
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    env = {"CREDENTIALS_DIRECTORY": str(credentials)}
    bare = parse_config(SITE + b"[redis]\n")
    assert redis_password_and_source(bare, env) == (None, "none")  # not loaded at all
    (credentials / "redis-password").write_text("")
    assert redis_password_and_source(bare, env) == (None, "none")  # as install.sh leaves it
    (credentials / "redis-password").write_text("from-credential\n")
    assert redis_password_and_source(bare, env) == ("from-credential",
                                                    "credential redis-password")
    assert redis_password(bare, env) == "from-credential"
    named = tmp_path / "by-hand"
    named.write_text("from-file\n")
    by_hand = parse_config(SITE + f'[redis]\npassword_file = "{named}"\n'.encode())
    assert redis_password_and_source(by_hand, env) == ("from-file", "redis.password_file")
    assert redis_password_and_source(by_hand, {**env, "ACD_REDIS_PASSWORD": "e"}) == (
        "e", "$ACD_REDIS_PASSWORD")


def entry(kind: Kind, n: int) -> Entry:
    return Entry(kind, n, float(n))


def test_a_full_buffer_drops_the_oldest_history_first() -> None:
    drops: list[Kind] = []
    fulls: list[None] = []
    buffer = JournalBuffer(4, on_drop=drops.append, on_full=lambda: fulls.append(None))
    for n, kind in enumerate(["journal", "record", "journal", "audit", "journal", "journal"]):
        buffer.append(entry(kind, n))  # type: ignore[arg-type]
    assert len(buffer) == 4
    assert drops == ["journal", "journal"] and len(fulls) == 1
    assert [(e.kind, e.payload) for e in buffer.take(10)] == [
        ("record", 1), ("audit", 3), ("journal", 4), ("journal", 5)]


def test_records_are_dropped_only_when_nothing_else_is_left() -> None:
    buffer = JournalBuffer(2)
    for n in range(3):
        buffer.append(entry("record", n))
    assert buffer.dropped == {"journal": 0, "record": 1, "audit": 0}
    assert [e.payload for e in buffer.take(10)] == [1, 2]


def test_a_batch_put_back_keeps_its_place_in_front() -> None:
    buffer = JournalBuffer(100)
    for n in range(5):
        buffer.append(entry("journal", n))
    batch = buffer.take(3)
    buffer.append(entry("journal", 5))
    buffer.put_back(batch)
    assert [e.payload for e in buffer.take(10)] == [0, 1, 2, 3, 4, 5]


def test_the_full_flag_resets_only_after_a_written_batch_brings_it_down() -> None:
    buffer = JournalBuffer(10)
    for n in range(11):
        buffer.append(entry("journal", n))
    assert buffer.full
    batch = buffer.take(5)
    buffer.put_back(batch)  # the write failed
    buffer.settle()
    assert buffer.full
    buffer.take(5)
    buffer.settle()  # written
    assert not buffer.full


def test_the_journal_lag_histogram_exposes_what_a_prometheus_histogram_would() -> None:
    """Observed a batch at a time (cheaper), exposed exactly as prometheus-client's own
    Histogram exposes the same observations, bounds included (``le`` is ≤)."""
    from prometheus_client import CollectorRegistry, Histogram, generate_latest

    from acd.store.metrics import LAG_BUCKETS, LagHistogram

    lags = [0.0005, 0.001, 0.0011, 0.003, 0.05, 0.05, 0.7, 12.0, 301.0]
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    histogram = LagHistogram()
    ours.register(histogram)
    histogram.observe_many(lags[:4])
    histogram.observe_many(lags[4:])
    reference = Histogram("acd_journal_lag_seconds", "Time from a fact to Redis "
                          "acknowledging its write.", buckets=LAG_BUCKETS, registry=theirs)
    for lag in lags:
        reference.observe(lag)
    expected = b"\n".join(line for line in generate_latest(theirs).splitlines()
                          if b"_created" not in line)
    assert generate_latest(ours).strip() == expected.strip()
