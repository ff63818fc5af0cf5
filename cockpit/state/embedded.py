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
import sqlite3
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import diskcache
import pandas as pd

from cockpit.model import Snapshot, empty_observations, observations_frame
from cockpit.state.sqlite_wal import connect_wal

__all__ = ["HistoryStore", "SnapshotStore", "SourceStatus"]

log = logging.getLogger(__name__)


@dataclass
class SourceStatus:
    """How reading one source went: kept beside its snapshot, shown on /health."""

    source: str
    last_attempt: datetime | None = None
    last_success: datetime | None = None
    last_error: str = ""
    failures: int = 0  # consecutive failed refreshes
    fetches: int = 0  # refreshes attempted, ever (one per interval across all workers)
    rejected: int = 0
    newest_observation: datetime | None = None
    notes: list[str] = field(default_factory=list)

    def state(self, now: datetime, stale_after_s: float) -> str:
        """``ok``, ``stale`` (old data, or the last refresh failed but good data remains)
        or ``down`` (no good data at all)."""
        age = self.age_s(now)
        if age is None:  # no successful refresh yet
            return "down"
        if self.failures or age > stale_after_s:
            return "stale"
        newest = self.newest_observation
        if newest is not None and (now - newest).total_seconds() > stale_after_s:
            return "stale"
        return "ok"

    def age_s(self, now: datetime) -> float | None:
        """Seconds since the last successful refresh, or None before the first."""
        return None if self.last_success is None else (now - self.last_success).total_seconds()

    def as_json(self, now: datetime, stale_after_s: float) -> dict[str, Any]:
        data = asdict(self)
        for key in ("last_attempt", "last_success", "newest_observation"):
            data[key] = data[key].isoformat() if data[key] else None
        age = self.age_s(now)
        data["age_s"] = None if age is None else round(age, 1)
        data["status"] = self.state(now, stale_after_s)
        return data


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
            status.last_attempt = status.last_success = snapshot.fetched_at
            status.last_error = ""
            status.failures = 0
            status.fetches += 1
            status.rejected = snapshot.rejected
            status.notes = list(snapshot.notes)
            if not snapshot.observations.empty:
                status.newest_observation = snapshot.observations["time"].max().to_pydatetime()
            self.cache.set(f"snapshot:{snapshot.source}", snapshot)
            self.cache.set(f"status:{snapshot.source}", status)
            self._bump()

    def record_failure(self, source: str, reason: str, when: datetime | None = None) -> None:
        """Note a failed refresh. The last good snapshot stays; the source turns stale."""
        with self.cache.transact():
            status = self.status(source)
            status.last_attempt = when or datetime.now(UTC)
            status.last_error = reason
            status.failures += 1
            status.fetches += 1
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

# Rolls the raw observations of the (site, metric, hour)s in ``touched`` up into ``hourly``.
# A rollup is replaced only by one of at least as many observations, so offering again
# part of an hour whose raw rows the retention already dropped never shrinks it.
_ROLLUP = """
INSERT INTO hourly (site_id, metric, hour, n, total, low, high)
SELECT t.site_id, t.metric, t.hour, COUNT(*), SUM(o.value), MIN(o.value), MAX(o.value)
FROM touched t CROSS JOIN observations o
WHERE o.site_id = t.site_id AND o.metric = t.metric
  AND o.time >= t.hour AND o.time < t.hour + 3600
GROUP BY t.site_id, t.metric, t.hour
ON CONFLICT (site_id, metric, hour) DO UPDATE SET
    n = excluded.n, total = excluded.total, low = excluded.low, high = excluded.high
WHERE excluded.n >= hourly.n
"""


class HistoryStore:
    """Every observation kept, once, in SQLite (WAL): one site's window, a domain's sum.

    Beside the raw observations (kept ``retention_days``) it keeps hourly rollups per site
    and metric (count, mean, min, max; kept ``rollup_days``), updated on every append, so
    year-on-year baselines and annual targets need no raw data that old.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        retention_days: float = 35,
        rollup_days: float = 400,
    ) -> None:
        self.path = Path(directory) / "history.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.retention_s = int(retention_days * 86400)
        self.rollup_s = int(max(rollup_days, retention_days) * 86400)
        self._local = threading.local()
        with self._connect() as db:
            db.executescript(_SCHEMA)
        if self.mark("rollup:v1") is None:  # a history from before rollups: roll it up once
            db = self._connect()
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute(
                    "INSERT OR IGNORE INTO hourly SELECT site_id, metric, time - time % 3600,"
                    " COUNT(*), SUM(value), MIN(value), MAX(value) FROM observations"
                    " GROUP BY site_id, metric, time - time % 3600"
                )
                db.execute("INSERT OR REPLACE INTO marks VALUES ('rollup:v1', 'done')")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def _connect(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = connect_wal(self.path)
            self._local.db = db
        return db

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    def append(self, observations: pd.DataFrame) -> int:
        """Add observations (canonical frame); ones already stored are skipped.

        Returns the number of rows offered. The hourly rollups of the hours offered are
        updated first; then raw rows older than the retention and rollups older than
        ``rollup_days`` are dropped.
        """
        if observations.empty:
            return 0
        seconds = observations["time"].astype("int64") // 1_000_000_000
        sites = observations["site_id"].astype(str)
        metrics = observations["metric"].astype(str)
        rows = zip(
            sites,
            metrics,
            seconds.tolist(),
            observations["value"].astype(float).tolist(),
            strict=True,
        )
        hours = pd.DataFrame(
            {"site_id": sites, "metric": metrics, "hour": (seconds - seconds % 3600)}
        ).drop_duplicates()
        touched = zip(hours["site_id"], hours["metric"], hours["hour"].tolist(), strict=True)
        db = self._connect()
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany("INSERT OR IGNORE INTO observations VALUES (?, ?, ?, ?)", rows)
            db.execute(
                "CREATE TEMP TABLE IF NOT EXISTS touched "
                "(site_id TEXT, metric TEXT, hour INTEGER, PRIMARY KEY (site_id, metric, hour))"
            )
            db.execute("DELETE FROM touched")
            db.executemany("INSERT OR IGNORE INTO touched VALUES (?, ?, ?)", touched)
            db.execute(_ROLLUP)
            now = int(datetime.now(UTC).timestamp())
            db.execute("DELETE FROM observations WHERE time < ?", (now - self.retention_s,))
            db.execute("DELETE FROM hourly WHERE hour < ?", (now - self.rollup_s - 3600,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return len(observations)

    def window(
        self, site_ids: list[str], start: datetime, end: datetime, metric: str | None = None
    ) -> pd.DataFrame:
        """Observations of ``site_ids`` with ``start <= time < end``, oldest first."""
        if not site_ids:
            return empty_observations()
        marks = ",".join("?" * len(site_ids))
        sql = (
            f"SELECT site_id, metric, time, value FROM observations WHERE site_id IN ({marks})"
            " AND time >= ? AND time < ?"
        )
        params: list[Any] = [*site_ids, int(start.timestamp()), int(end.timestamp())]
        if metric:
            sql += " AND metric = ?"
            params.append(metric)
        return self._frame(sql + " ORDER BY time", params)

    def source_window(
        self, source: str, metric: str, start: datetime, end: datetime
    ) -> pd.DataFrame:
        """All observations of one source's sites for ``metric`` in ``start`` .. ``end``."""
        sql = (
            "SELECT site_id, metric, time, value FROM observations"
            " WHERE site_id >= ? AND site_id < ? AND metric = ? AND time >= ? AND time < ?"
            " ORDER BY time"
        )
        lo, hi = f"{source}:", f"{source};"  # ';' sorts right after ':'
        return self._frame(sql, [lo, hi, metric, int(start.timestamp()), int(end.timestamp())])

    def _frame(self, sql: str, params: list[Any]) -> pd.DataFrame:
        rows = self._connect().execute(sql, params).fetchall()
        if not rows:
            return empty_observations()
        frame = pd.DataFrame(rows, columns=["site_id", "metric", "time", "value"])
        frame["time"] = pd.to_datetime(frame["time"], unit="s", utc=True)
        return observations_frame(frame)

    def count(self) -> int:
        return int(self._connect().execute("SELECT COUNT(*) FROM observations").fetchone()[0])

    def hourly(
        self, site_ids: list[str], start: datetime, end: datetime, metric: str | None = None
    ) -> pd.DataFrame:
        """Hourly means of ``site_ids`` from the rollups (kept longer than raw rows), as a
        canonical observation frame stamped at each hour's start, ``start <= time < end``,
        oldest first."""
        if not site_ids:
            return empty_observations()
        marks = ",".join("?" * len(site_ids))
        sql = (
            f"SELECT site_id, metric, hour, total / n FROM hourly WHERE site_id IN ({marks})"
            " AND hour >= ? AND hour < ?"
        )
        params: list[Any] = [*site_ids, int(start.timestamp()), int(end.timestamp())]
        if metric:
            sql += " AND metric = ?"
            params.append(metric)
        return self._frame(sql + " ORDER BY hour", params)

    def source_hourly(
        self, source: str, metric: str, start: datetime, end: datetime
    ) -> pd.DataFrame:
        """Hourly means of one source's sites for ``metric``, as ``hourly`` gives them."""
        sql = (
            "SELECT site_id, metric, hour, total / n FROM hourly"
            " WHERE site_id >= ? AND site_id < ? AND metric = ? AND hour >= ? AND hour < ?"
            " ORDER BY hour"
        )
        lo, hi = f"{source}:", f"{source};"
        return self._frame(sql, [lo, hi, metric, int(start.timestamp()), int(end.timestamp())])

    def purge_source(self, source: str, before: datetime) -> int:
        """Delete ``source``'s observations older than ``before`` (a source's shorter
        retention, e.g. for counts of people), and its hourly rollups of hours that began
        before it. Returns the number of observations deleted."""
        lo, hi = f"{source}:", f"{source};"  # the source's site ids, as in source_window
        db = self._connect()
        cursor = db.execute(
            "DELETE FROM observations WHERE site_id >= ? AND site_id < ? AND time < ?",
            (lo, hi, int(before.timestamp())),
        )
        deleted = int(cursor.rowcount)
        db.execute(
            "DELETE FROM hourly WHERE site_id >= ? AND site_id < ? AND hour < ?",
            (lo, hi, int(before.timestamp())),
        )
        return deleted

    def mark(self, key: str) -> str | None:
        row = self._connect().execute("SELECT value FROM marks WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_mark(self, key: str, value: str) -> None:
        self._connect().execute("INSERT OR REPLACE INTO marks VALUES (?, ?)", (key, value))
