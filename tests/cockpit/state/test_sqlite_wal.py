"""Many processes opening one fresh SQLite file at the same moment all get a WAL-mode
connection: none fails with "database is locked"."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from cockpit.state.sqlite_wal import connect_wal


def _open(path: str, start: multiprocessing.synchronize.Barrier) -> None:
    start.wait()
    db = connect_wal(path)
    db.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
    db.close()


def test_processes_opening_a_fresh_file_together_all_succeed(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    failed = 0
    for round_ in range(40):
        path = str(tmp_path / f"fresh-{round_}.sqlite")
        start = ctx.Barrier(8)
        procs = [ctx.Process(target=_open, args=(path, start)) for _ in range(8)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        failed += sum(p.exitcode != 0 for p in procs)
        assert connect_wal(path).execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert failed == 0


def test_synchronous_level_is_set(tmp_path: Path) -> None:
    db = connect_wal(tmp_path / "j.sqlite", synchronous="FULL")
    assert db.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
