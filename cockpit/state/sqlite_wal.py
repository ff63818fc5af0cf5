"""Opening the cockpit's embedded SQLite files (history, journal) in WAL mode, one
connection per thread, and running statements on them in write transactions.

Several app processes may open a fresh data directory at the same moment. Switching a
file to WAL takes a lock that SQLite does not wait for (its busy timeout does not cover
it), so the switch is retried here until the timeout; once a file is in WAL mode it stays
so and later opens pass straight through.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cockpit.state.sql import outcome

__all__ = ["SqliteFile", "connect_wal", "immediate"]


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


@contextmanager
def immediate(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction on ``db`` (in autocommit mode): the write lock is taken at
    once, the block's statements are committed together, or rolled back if it raises."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


class SqliteFile:
    """A SQLite file in WAL mode with one connection per thread, closed by ``close``."""

    def __init__(self, path: Path, synchronous: str = "NORMAL") -> None:
        self.path = path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._synchronous = synchronous
        self._local = threading.local()

    def _connect(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = connect_wal(self.path, synchronous=self._synchronous)
            self._local.db = db
        return db

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    def _rows(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._connect().execute(query, params).fetchall()

    def _run(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[int]:
        """Runs ``statements`` in one write transaction; the rows each changed, or for
        one that returns rows (``RETURNING``), the first value of the first."""
        with immediate(self._connect()) as db:
            return [outcome(db.execute(query, params)) for query, params in statements]
