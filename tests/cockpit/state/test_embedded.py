"""Snapshots and history on the real engines: diskcache files and SQLite, across processes."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from cockpit.model import observations_frame
from cockpit.state.embedded import HistoryStore, SnapshotStore, SourceStatus
from tests.cockpit.state.test_store_contract import air_snapshot

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def test_snapshot_round_trip_and_version(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    assert store.snapshot("air") is None
    v0 = store.version()
    store.put_snapshot(air_snapshot(value=12.0))
    assert store.version() == v0 + 1
    again = SnapshotStore(tmp_path)  # another worker on the same data directory
    snap = again.snapshot("air")
    assert snap is not None
    assert snap.observations["value"].tolist() == [12.0]
    assert again.status("air").last_success == NOW


def test_failure_keeps_last_good_snapshot_and_turns_stale(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    store.put_snapshot(air_snapshot(value=12.0))
    store.record_failure("air", "source 'air': HTTP 503", NOW + timedelta(minutes=1))
    snap = store.snapshot("air")
    assert snap is not None and snap.observations["value"].tolist() == [12.0]
    status = store.status("air")
    assert status.failures == 1
    assert status.state(NOW + timedelta(minutes=1), stale_after_s=600) == "stale"
    report = status.as_json(NOW + timedelta(minutes=2), stale_after_s=600)
    assert report["status"] == "stale"
    assert report["age_s"] == 120.0
    assert report["last_error"] == "source 'air': HTTP 503"


def test_status_states() -> None:
    status = SourceStatus(source="air")
    assert status.state(NOW, 600) == "down"
    status.last_success = NOW
    status.newest_observation = NOW
    assert status.state(NOW + timedelta(seconds=599), 600) == "ok"
    assert status.state(NOW + timedelta(seconds=601), 600) == "stale"
    status.last_success = NOW + timedelta(hours=1)  # platform answers, but with old data
    assert status.state(NOW + timedelta(hours=1), 600) == "stale"


def _claim(directory: str, results: multiprocessing.Queue) -> None:
    store = SnapshotStore(directory)
    results.put(store.claim("refresh:air", ttl_s=60))
    store.close()


def test_lease_is_taken_once_across_processes(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue = ctx.Queue()
    procs = [ctx.Process(target=_claim, args=(str(tmp_path), results)) for _ in range(6)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    taken = [results.get(timeout=5) for _ in procs]
    assert taken.count(True) == 1


def test_history_appends_once_and_reads_windows(tmp_path: Path) -> None:
    history = HistoryStore(tmp_path, retention_days=3650)
    times = pd.date_range("2026-11-24 00:00", periods=4, freq="h", tz="UTC")
    frame = observations_frame(
        [
            {"site_id": "traffic:1", "metric": "vehicle_flow", "time": t, "value": float(i)}
            for i, t in enumerate(times)
        ]
        + [{"site_id": "air:1", "metric": "no2", "time": times[0], "value": 20.0}]
    )
    history.append(frame)
    history.append(frame)  # the same observations again: stored once
    assert history.count() == 5
    window = history.window(["traffic:1"], times[1].to_pydatetime(), times[3].to_pydatetime())
    assert window["value"].tolist() == [1.0, 2.0]
    assert str(window["time"].dtype) == "datetime64[ns, UTC]"
    per_source = history.source_window(
        "traffic", "vehicle_flow", times[0], times[3] + pd.Timedelta(1, "s")
    )
    assert per_source["site_id"].unique().tolist() == ["traffic:1"]
    assert len(per_source) == 4


# Retention is checked on this engine and on PostgreSQL in test_history_contract.py.
