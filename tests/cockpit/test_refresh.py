"""The refresher on a real diskcache directory: one fetch per interval however many
readers, and a failing source keeps its last good snapshot, marked stale."""

from __future__ import annotations

import multiprocessing
import threading
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from cockpit.config import CityConfig, default_config_path, load_config
from cockpit.errors import ConnectorError
from wiring.runtime import Runtime

PINNED = pd.Timestamp("2026-11-24 10:30", tz="Australia/Melbourne").tz_convert("UTC")


def _pedestrians_only() -> CityConfig:
    config = load_config(default_config_path())
    return config.model_copy(
        update={
            "sources": {"pedestrians": config.sources["pedestrians"]},
            "layers": {"pedestrians": config.layers["pedestrians"]},
        }
    )


def _worker(directory: str, rounds: int, results: multiprocessing.Queue) -> None:
    runtime = Runtime.open(_pedestrians_only(), directory)
    done = 0
    for _ in range(rounds):
        done += len(runtime.refresher.refresh_due())
        runtime.city.view("public")  # a reader, as a browser's callback would be
    results.put(done)
    runtime.close()


def test_many_processes_cause_one_fetch_per_interval(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(str(tmp_path), 20, results)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    fetched = sum(results.get(timeout=10) for _ in procs)
    runtime = Runtime.open(_pedestrians_only(), tmp_path)
    assert fetched == 1
    assert runtime.store.status("pedestrians").fetches == 1
    runtime.close()


def test_many_threads_cause_one_fetch_per_interval(tmp_path: Path) -> None:
    runtimes = [Runtime.open(_pedestrians_only(), tmp_path) for _ in range(8)]
    barrier = threading.Barrier(len(runtimes))
    counts: list[int] = []

    def read(rt: Runtime) -> None:
        barrier.wait()
        counts.append(sum(len(rt.refresher.refresh_due()) for _ in range(10)))

    threads = [threading.Thread(target=read, args=(rt,)) for rt in runtimes]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(counts) == 1
    assert runtimes[0].store.status("pedestrians").fetches == 1
    for rt in runtimes:
        rt.close()


def test_next_interval_fetches_again(tmp_path: Path) -> None:
    config = _pedestrians_only()
    config.sources["pedestrians"].refresh_seconds = 1
    runtime = Runtime.open(config, tmp_path)
    assert runtime.refresher.refresh_due() == ["pedestrians"]
    assert runtime.refresher.refresh_due() == []
    # Wait until the lease has expired rather than for a fixed time.
    deadline = 200
    while not runtime.refresher.refresh_due() and deadline:
        threading.Event().wait(0.05)
        deadline -= 1
    assert runtime.store.status("pedestrians").fetches == 2
    runtime.close()


@pytest.mark.parametrize("fault", ["connector-error", "unexpected"])
def test_failing_source_keeps_last_good_snapshot(tmp_path: Path, fault: str) -> None:
    clock = {"now": PINNED.to_pydatetime()}
    runtime = Runtime.open(_pedestrians_only(), tmp_path, clock=lambda: clock["now"])
    connector = runtime.refresher.connectors["pedestrians"]
    connector.clock_now = lambda: PINNED  # type: ignore[attr-defined]
    assert runtime.refresher.refresh("pedestrians")
    good = runtime.store.snapshot("pedestrians")
    assert good is not None and not good.observations.empty
    view_before = runtime.city.view("public")
    footfall_before = next(k for k in view_before.kpis if k.key == "footfall")

    def broken(now: datetime | None = None) -> None:
        if fault == "connector-error":
            raise ConnectorError("pedestrians", "HTTP 503", "https://example.invalid/x")
        raise KeyError("a field the parser did not expect")

    connector.snapshot = broken  # type: ignore[method-assign]
    clock["now"] = (PINNED + pd.Timedelta(minutes=5)).to_pydatetime()
    assert runtime.refresher.refresh("pedestrians") is False

    kept = runtime.store.snapshot("pedestrians")
    assert kept is not None
    pd.testing.assert_frame_equal(kept.observations, good.observations)
    info = runtime.city.view("public").sources["pedestrians"]
    assert info.status == "stale"
    assert info.error
    footfall_after = next(k for k in runtime.city.view("public").kpis if k.key == "footfall")
    assert footfall_after.display == footfall_before.display  # last good figure stays
    health = runtime.city.health()
    assert health["sources"]["pedestrians"]["status"] == "stale"
    assert health["sources"]["pedestrians"]["failures"] == 1
    runtime.close()


def test_backfill_fills_history_once(tmp_path: Path) -> None:
    runtime = Runtime.open(_pedestrians_only(), tmp_path, clock=lambda: datetime.now(UTC))
    runtime.refresher.backfill()
    first = runtime.history.count()
    assert first > 10_000  # four weeks of hourly counts at 66 sensors
    runtime.refresher.backfill()
    assert runtime.history.count() == first
    runtime.close()


# -- a first-start backfill killed half-way -----------------------------------------

_KILLED_BACKFILL = """
import os, signal, sys
from tests.browser import T0, Clock
from tests.cockpit.test_refresh import traffic_city
from wiring.runtime import Runtime

clock = Clock(T0)
runtime = Runtime.open(traffic_city(), sys.argv[1], clock=lambda: clock().to_pydatetime())
for connector in runtime.refresher.connectors.values():
    connector.clock_now = clock
done = []

def progress(chunk):
    done.append(chunk)
    print(f"chunk {len(done)} of {chunk.total}", flush=True)
    if len(done) == int(sys.argv[2]):
        os.kill(os.getpid(), signal.SIGKILL)  # kill -9, mid-backfill

runtime.refresher.backfill(progress=progress)
"""


def traffic_city() -> CityConfig:
    """The demo city with its traffic source only (four weeks of backfill)."""
    demo = load_config(default_config_path())
    return demo.model_copy(
        update={
            "sources": {"traffic": demo.sources["traffic"]},
            "layers": {"traffic": demo.layers["traffic"]},
            "kpis": {},
        }
    )


def _observations_before(folder: Path, moment: pd.Timestamp) -> int:
    import sqlite3

    with sqlite3.connect(folder / "history.sqlite") as db:
        row = db.execute(
            "SELECT COUNT(*) FROM observations WHERE time < ?", (int(moment.timestamp()),)
        ).fetchone()
    return int(row[0])


def _runtime_at(folder: Path, when: pd.Timestamp) -> Runtime:
    from tests.browser import Clock

    clock = Clock(when)
    runtime = Runtime.open(traffic_city(), folder, clock=lambda: clock().to_pydatetime())
    for connector in runtime.refresher.connectors.values():
        connector.clock_now = clock  # type: ignore[attr-defined]
    return runtime


def test_a_killed_backfill_resumes_at_the_next_start_without_a_hole(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import subprocess
    import sys

    from tests.browser import T0

    root = Path(__file__).resolve().parents[2]
    killed = tmp_path / "killed"
    run = subprocess.run(
        [sys.executable, "-c", _KILLED_BACKFILL, str(killed), "6"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == -9, run.stderr
    assert "chunk 6 of 28" in run.stdout and "chunk 7" not in run.stdout
    before = _observations_before(killed, T0)
    assert before > 0

    # A clean, uninterrupted first start: the history the killed one should end up with.
    clean = _runtime_at(tmp_path / "clean", T0)
    try:
        clean.refresher.backfill()
    finally:
        clean.close()
    expected = _observations_before(tmp_path / "clean", T0)
    assert before < expected  # the kill did leave a hole

    # Restarted two hours later: the lease of the dead process is taken over at once.
    later = T0 + pd.Timedelta(hours=2)
    restarted = _runtime_at(killed, later)
    try:
        assert restarted.refresher.pending_backfill() == ["traffic"]
        with caplog.at_level("INFO", logger="cockpit.refresh"):
            restarted.refresher.backfill()
        assert restarted.refresher.pending_backfill() == []
    finally:
        restarted.close()
    messages = [r.getMessage() for r in caplog.records]
    assert any("which has stopped: resuming" in m for m in messages), messages
    resumed = next(m for m in messages if m.startswith("resumed the backfill of traffic"))
    # The same plan as the first start's: its six days are kept, the rest (and the two
    # hours the cockpit was away) are read now.
    assert "6 of 29 days were done before" in resumed, resumed
    assert _observations_before(killed, T0) == expected


def test_a_live_holder_is_left_alone(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from cockpit.backfill import holder_gone, holder_key, this_holder
    from tests.browser import T0

    runtime = _runtime_at(tmp_path, T0)
    try:
        assert runtime.store.claim("backfill:traffic", ttl_s=600, owner="elsewhere")
        runtime.history.set_mark(holder_key("traffic"), "another-host:1")
        with caplog.at_level("INFO", logger="cockpit.refresh"):
            runtime.refresher.backfill()
        assert runtime.refresher.pending_backfill() == ["traffic"]
        assert any("under way in another-host:1" in r.getMessage() for r in caplog.records)
    finally:
        runtime.close()
    assert not holder_gone(this_holder())  # this very process
    import socket
    import subprocess
    import sys

    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert holder_gone(f"{socket.gethostname()}:{ended.stdout.strip()}")
    assert not holder_gone("another-host:1")
    assert not holder_gone(None)
