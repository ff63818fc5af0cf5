"""Where the cockpit keeps what it read: the latest snapshot per source and the history.

``SnapshotStore`` keeps each source's last good snapshot, its refresh status, a data
version that changes whenever new data arrives, and short leases that make one process
of many do a source's refresh (diskcache files under one data directory, safe across
threads and processes). ``HistoryStore`` keeps every observation in an embedded SQLite
file beside it, so trends and baselines need no server.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import diskcache

from cockpit.model import Snapshot
from cockpit.state.sql import SQLITE, SqlHistory, Statement, rollup_sql
from cockpit.state.sqlite_wal import SqliteFile, immediate
from cockpit.storage import SourceStatus

__all__ = ["HistoryStore", "SnapshotStore", "SourceStatus"]

log = logging.getLogger(__name__)


class SnapshotStore:
    """Latest snapshots, statuses, the data version and refresh leases, on disk."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.cache = diskcache.Cache(str(self.directory / "snapshots"), timeout=30)

    def close(self) -> None:
        self.cache.close()

    # -- data version: changes whenever any source brings new data ------------------
    def version(self) -> int:
        """The current data version; browsers compare it to skip unchanged refreshes."""
        return int(self.cache.get("version", 0))

    def _bump(self) -> int:
        return int(self.cache.incr("version", 1, default=0))

    # -- leases: one refresh per source per interval, across workers -----------------
    def claim(self, key: str, ttl_s: float, owner: str = "") -> bool:
        """Take the lease ``key`` for ``ttl_s`` seconds; False if someone else holds it."""
        return bool(self.cache.add(f"lease:{key}", owner or str(os.getpid()), expire=ttl_s))

    def renew(self, key: str, ttl_s: float, owner: str) -> bool:
        """Extend ``owner``'s lease ``key`` to ``ttl_s`` seconds; False when not held."""
        with self.cache.transact():
            if self.cache.get(f"lease:{key}") != owner:
                return False
            return bool(self.cache.touch(f"lease:{key}", expire=ttl_s))

    def release(self, key: str) -> None:
        self.cache.delete(f"lease:{key}")

    # -- snapshots and statuses -------------------------------------------------------
    def snapshot(self, source: str) -> Snapshot | None:
        """The last good snapshot of ``source``, or None before the first."""
        snap: Snapshot | None = self.cache.get(f"snapshot:{source}")
        return snap

    def status(self, source: str) -> SourceStatus:
        status: SourceStatus | None = self.cache.get(f"status:{source}")
        return status or SourceStatus(source=source)

    def put_snapshot(self, snapshot: Snapshot) -> None:
        """Store a good snapshot and mark the source refreshed; bumps the data version."""
        with self.cache.transact():
            status = self.status(snapshot.source)
            status.refreshed(snapshot)
            self.cache.set(f"snapshot:{snapshot.source}", snapshot)
            self.cache.set(f"status:{snapshot.source}", status)
            self._bump()

    def record_failure(self, source: str, reason: str, when: datetime | None = None) -> None:
        """Note a failed refresh. The last good snapshot stays; the source turns stale."""
        with self.cache.transact():
            status = self.status(source)
            status.failed(reason, when or datetime.now(UTC))
            self.cache.set(f"status:{source}", status)
            self._bump()

    # -- small shared values (notices, kiosk heartbeats) ------------------------------
    def get(self, key: str, default: Any = None) -> Any:
        return self.cache.get(f"value:{key}", default)

    def set(self, key: str, value: Any) -> None:
        self.cache.set(f"value:{key}", value)
        self._bump()


_SCHEMA = """
CREATE TABLE IF NOT EXISTS observations (
    site_id TEXT NOT NULL,
    metric TEXT NOT NULL,
    time INTEGER NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (site_id, metric, time)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS observations_time ON observations (time);
CREATE TABLE IF NOT EXISTS marks (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS hourly (
    site_id TEXT NOT NULL,
    metric TEXT NOT NULL,
    hour INTEGER NOT NULL,
    n INTEGER NOT NULL,
    total REAL NOT NULL,
    low REAL NOT NULL,
    high REAL NOT NULL,
    PRIMARY KEY (site_id, metric, hour)
) WITHOUT ROWID;
-- By hour, covering the means: a city-wide hourly trend reads this index only.
DROP INDEX IF EXISTS hourly_hour;
CREATE INDEX IF NOT EXISTS hourly_by_hour ON hourly (hour, total, n);
"""


class HistoryStore(SqliteFile, SqlHistory):
    """Every observation kept, once, in SQLite (WAL): one site's window, a domain's sum.

    Beside the raw observations (kept ``retention_days``) it keeps hourly rollups per site
    and metric (count, mean, min, max; kept ``rollup_days``), updated on every append, so
    year-on-year baselines and annual targets need no raw data that old.
    """

    dialect = SQLITE

    def __init__(
        self,
        directory: str | os.PathLike[str],
        retention_days: float = 35,
        rollup_days: float = 400,
    ) -> None:
        super().__init__(Path(directory) / "history.sqlite")
        self._keep(retention_days, rollup_days)
        self._connect().executescript(_SCHEMA)
        if self.mark("rollup:v1") is None:  # a history from before rollups: roll it up once
            self._run(
                [
                    (
                        "INSERT OR IGNORE INTO hourly SELECT site_id, metric, time - time % 3600,"
                        " COUNT(*), SUM(value), MIN(value), MAX(value) FROM observations"
                        " GROUP BY site_id, metric, time - time % 3600",
                        (),
                    ),
                    ("INSERT OR REPLACE INTO marks VALUES ('rollup:v1', 'done')", ()),
                ]
            )

    def _add(self, rows: list[tuple[Any, ...]], retention: list[Statement]) -> None:
        touched = {(site, metric, time - time % 3600) for site, metric, time, _ in rows}
        with immediate(self._connect()) as db:
            db.executemany("INSERT OR IGNORE INTO observations VALUES (?, ?, ?, ?)", rows)
            db.execute(
                "CREATE TEMP TABLE IF NOT EXISTS touched "
                "(site_id TEXT, metric TEXT, hour INTEGER, PRIMARY KEY (site_id, metric, hour))"
            )
            db.execute("DELETE FROM touched")
            db.executemany("INSERT OR IGNORE INTO touched VALUES (?, ?, ?)", touched)
            db.execute(rollup_sql(SQLITE))
            for query, params in retention:
                db.execute(query, params)
