"""One contract for the snapshot store, held by both backends: the embedded diskcache
store and the Redis store (real Redis on 127.0.0.1, see tests/servers.py)."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cockpit.model import Snapshot, observations_frame, sites_frame
from cockpit.state.embedded import SnapshotStore
from cockpit.state.redis_store import RedisSnapshotStore
from tests.servers import redis_prefix, redis_server  # noqa: F401 - fixtures

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)

# (kind, location): a data directory for "embedded", "url|prefix" for "redis".
Spec = tuple[str, str]


def open_store(spec: Spec) -> Any:
    kind, where = spec
    if kind == "embedded":
        return SnapshotStore(where)
    url, prefix = where.split("|", 1)
    return RedisSnapshotStore(url, prefix)


@pytest.fixture(params=["embedded", "redis"])
def spec(request: pytest.FixtureRequest, tmp_path: Path) -> Spec:
    if request.param == "embedded":
        return ("embedded", str(tmp_path))
    url = request.getfixturevalue("redis_server")
    prefix = request.getfixturevalue("redis_prefix")
    return ("redis", f"{url}|{prefix}")


@pytest.fixture
def stores(spec: Spec) -> Iterator[Callable[[], Any]]:
    """Opens stores on one backing; every store opened is closed afterwards."""
    opened: list[Any] = []

    def make() -> Any:
        opened.append(open_store(spec))
        return opened[-1]

    yield make
    for store in opened:
        store.close()


def air_snapshot(source: str = "air", value: float = 12.0, when: datetime = NOW) -> Snapshot:
    """One air-quality site of ``source`` with one PM2.5 reading of ``value`` at ``when``."""
    sites = sites_frame(
        [
            {
                "id": f"{source}:1",
                "name": "Alphington",
                "domain": "air",
                "lat": -37.78,
                "lon": 145.03,
                "source": source,
            }
        ]
    )
    obs = observations_frame(
        [{"site_id": f"{source}:1", "metric": "pm25", "time": when, "value": value}]
    )
    return Snapshot(source=source, sites=sites, observations=obs, fetched_at=when, notes=["n"])


def test_snapshot_round_trip_is_seen_by_another_process_store(stores: Any) -> None:
    store = stores()
    assert store.snapshot("air") is None
    assert store.status("air").last_success is None
    v0 = store.version()
    store.put_snapshot(air_snapshot(value=12.0))
    assert store.version() == v0 + 1
    again = stores()  # another worker on the same backing
    snap = again.snapshot("air")
    assert snap is not None
    assert snap.observations["value"].tolist() == [12.0]
    assert snap.sites["name"].tolist() == ["Alphington"]
    status = again.status("air")
    assert status.last_success == NOW
    assert status.fetches == 1
    assert status.notes == ["n"]
    assert status.newest_observation == NOW


def test_failure_keeps_last_good_snapshot_and_counts_fetches(stores: Any) -> None:
    store = stores()
    store.put_snapshot(air_snapshot(value=12.0))
    v1 = store.version()
    store.record_failure("air", "source 'air': HTTP 503", NOW + timedelta(minutes=1))
    assert store.version() == v1 + 1
    snap = store.snapshot("air")
    assert snap is not None and snap.observations["value"].tolist() == [12.0]
    status = store.status("air")
    assert (status.failures, status.fetches) == (1, 2)
    assert status.last_error == "source 'air': HTTP 503"
    assert status.state(NOW + timedelta(minutes=1), stale_after_s=600) == "stale"
    store.put_snapshot(air_snapshot(value=13.0, when=NOW + timedelta(minutes=2)))
    status = store.status("air")
    assert (status.failures, status.fetches, status.last_error) == (0, 3, "")


def test_sources_are_kept_apart(stores: Any) -> None:
    store = stores()
    store.put_snapshot(air_snapshot("air", 1.0))
    store.put_snapshot(air_snapshot("traffic", 2.0))
    assert store.snapshot("air").observations["value"].tolist() == [1.0]
    assert store.snapshot("traffic").observations["value"].tolist() == [2.0]
    assert store.status("parking").fetches == 0


def test_lease_is_exclusive_until_released_or_expired(stores: Any) -> None:
    a, b = stores(), stores()
    assert a.claim("refresh:air", ttl_s=60, owner="a")
    assert not b.claim("refresh:air", ttl_s=60, owner="b")
    assert b.claim("refresh:traffic", ttl_s=60)
    a.release("refresh:air")
    assert b.claim("refresh:air", ttl_s=0.2)
    deadline = datetime.now(UTC) + timedelta(seconds=10)
    while not a.claim("refresh:air", ttl_s=60) and datetime.now(UTC) < deadline:
        pass  # the short lease runs out
    assert not b.claim("refresh:air", ttl_s=60)


def test_lease_is_renewed_only_by_its_holder(stores: Any) -> None:
    a, b = stores(), stores()
    assert not a.renew("push:air", ttl_s=60, owner="a")  # nobody holds it
    assert a.claim("push:air", ttl_s=0.5, owner="a")
    assert not b.renew("push:air", ttl_s=60, owner="b")
    assert a.renew("push:air", ttl_s=60, owner="a")
    deadline = datetime.now(UTC) + timedelta(seconds=1.5)
    while datetime.now(UTC) < deadline:  # past the first half-second lease
        assert not b.claim("push:air", ttl_s=60, owner="b")
    a.release("push:air")
    assert b.claim("push:air", ttl_s=0.2, owner="b")
    deadline = datetime.now(UTC) + timedelta(seconds=10)
    while not a.claim("push:air", ttl_s=60, owner="a") and datetime.now(UTC) < deadline:
        pass  # b's short lease runs out
    assert not b.renew("push:air", ttl_s=60, owner="b")  # a lapsed lease is not revived


def test_shared_values_round_trip_and_bump_the_version(stores: Any) -> None:
    store = stores()
    assert store.get("notices", []) == []
    v0 = store.version()
    store.set("notices", [{"text": "Road closed", "n": 2}])
    assert stores().get("notices") == [{"text": "Road closed", "n": 2}]
    assert store.version() == v0 + 1


def test_cache_shares_values_with_expiry_across_stores(stores: Any) -> None:
    a, b = stores(), stores()
    assert a.cache.add("session-secret-key", "k1")
    assert not b.cache.add("session-secret-key", "k2")
    assert b.cache.get("session-secret-key") == "k1"
    b.cache.set("session:abc", "ana", expire=0.2)
    assert a.cache.get("session:abc") == "ana"
    with a.cache.transact():
        a.cache.set("signin-failures:user:ana", [1.0, 2.0], expire=60)
    assert b.cache.get("signin-failures:user:ana", default=[]) == [1.0, 2.0]
    assert b.cache.delete("signin-failures:user:ana")
    assert a.cache.get("signin-failures:user:ana", default=[]) == []
    deadline = datetime.now(UTC) + timedelta(seconds=10)
    while a.cache.get("session:abc") is not None and datetime.now(UTC) < deadline:
        pass  # the session's expiry runs out
    assert a.cache.get("session:abc") is None


def _claim(spec: Spec, results: Any) -> None:
    store = open_store(spec)
    results.put(store.claim("refresh:air", ttl_s=60))
    store.close()


def test_lease_is_taken_once_across_processes(spec: Spec) -> None:
    ctx = multiprocessing.get_context("spawn")
    results: Any = ctx.Queue()
    procs = [ctx.Process(target=_claim, args=(spec, results)) for _ in range(6)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    taken = [results.get(timeout=5) for _ in procs]
    assert taken.count(True) == 1


def _put(spec: Spec, source: str, count: int) -> None:
    store = open_store(spec)
    for i in range(count):
        store.put_snapshot(air_snapshot(source, float(i)))
    store.close()


def test_concurrent_writers_lose_no_status_update(spec: Spec) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_put, args=(spec, "air", 15)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    store = open_store(spec)
    assert store.status("air").fetches == 45
    assert store.version() == 45
    store.close()
