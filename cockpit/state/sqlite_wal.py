"""Opening the cockpit's embedded SQLite files (history, journal) in WAL mode.

Several app processes may open a fresh data directory at the same moment. Switching a
file to WAL takes a lock that SQLite does not wait for (its busy timeout does not cover
it), so the switch is retried here until the timeout; once a file is in WAL mode it stays
so and later opens pass straight through.
"""

from __future__ import annotations

import os
import sqlite3
import time

__all__ = ["connect_wal"]


def connect_wal(
    path: str | os.PathLike[str], synchronous: str = "NORMAL", timeout_s: float = 30.0
) -> sqlite3.Connection:
    """A connection in autocommit mode on a WAL-mode file, waiting out other openers."""
    db = sqlite3.connect(path, timeout=timeout_s, isolation_level=None)
    deadline = time.monotonic() + timeout_s
    pause = 0.005
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                db.close()
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.2)
    db.execute(f"PRAGMA synchronous={synchronous}")
    return db
