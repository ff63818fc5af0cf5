"""What only the Redis snapshot store does (real Redis on 127.0.0.1, see
tests/servers.py): the typed error for a server that cannot be reached, cities kept
apart by their key prefix, and the shared cache the web layer keeps its sessions and
sign-in limits in. What it answers like the embedded store is in
``test_store_contract.py``."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from cockpit.state.redis_store import BackendUnavailable, RedisSnapshotStore
from tests.browser import free_port
from tests.servers import redis_prefix, redis_server  # noqa: F401 - fixtures


@pytest.fixture
def store(redis_server: str, redis_prefix: str) -> Iterator[RedisSnapshotStore]:  # noqa: F811
    opened = RedisSnapshotStore(redis_server, redis_prefix)
    yield opened
    opened.close()


def test_unreachable_redis_is_a_typed_error() -> None:
    port = free_port()
    with pytest.raises(BackendUnavailable, match="cannot be reached"):
        RedisSnapshotStore(f"redis://:secret@127.0.0.1:{port}/0")
    try:
        RedisSnapshotStore(f"redis://:secret@127.0.0.1:{port}/0")
    except BackendUnavailable as exc:
        assert "secret" not in str(exc)


def test_two_cities_on_one_redis_never_meet(
    store: RedisSnapshotStore,
    redis_server: str,  # noqa: F811 - fixture
    redis_prefix: str,  # noqa: F811 - fixture
) -> None:
    other = RedisSnapshotStore(redis_server, redis_prefix.rstrip(":") + "-other:")
    try:
        store.set("language", "de")
        store.cache.set("session:1", {"user": "sam"})
        assert other.get("language") is None and other.cache.get("session:1") is None
        assert other.version() == 0 and store.version() == 1
        other.set("language", "en")
        # Clearing one city removes its keys and no one else's.
        assert store.clear() >= 2
        assert store.get("language") is None and store.version() == 0
        assert other.get("language") == "en" and other.version() == 1
    finally:
        other.clear()
        other.close()


def test_cache_adds_once_counts_and_forgets(store: RedisSnapshotStore) -> None:
    cache = store.cache
    assert cache.add("signin:10.0.0.1", 1) is True
    assert cache.add("signin:10.0.0.1", 2) is False  # taken: the first value stays
    assert cache.get("signin:10.0.0.1") == 1
    assert cache.incr("failures", default=5) == 6
    assert cache.incr("failures", delta=2) == 8
    assert cache.delete("signin:10.0.0.1") is True
    assert cache.get("signin:10.0.0.1", "gone") == "gone"
    cache.set("short", "lived", expire=0.05)
    ttl = store.redis.pttl(f"{store.prefix}cache:short")
    assert 0 < ttl <= 50  # kept in Redis with its expiry, not forever
    deadline = time.monotonic() + 5
    while cache.get("short") is not None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert cache.get("short") is None


def test_a_transaction_runs_one_caller_at_a_time(store: RedisSnapshotStore) -> None:
    cache = store.cache
    cache.set("count", 0)

    def bump() -> None:
        for _ in range(20):
            with cache.transact():
                cache.set("count", cache.get("count") + 1)

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert cache.get("count") == 80  # no read-modify-write lost between threads
