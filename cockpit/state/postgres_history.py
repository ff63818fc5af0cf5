"""Every observation kept in PostgreSQL, shared by all app servers and workers of a city.

``PostgresHistory`` answers exactly like the embedded ``HistoryStore``. Its schema is
one plain table keyed by (site, metric, time) with an index on time, which is what
TimescaleDB asks of a hypertable: where the ``timescaledb`` extension is installed the
table becomes a hypertable chunked by day, elsewhere it stays a plain table.

Site ids compare byte-wise (``COLLATE "C"``), so one source's sites ("<source>:...")
are one index range whatever the database's locale.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from cockpit.model import empty_observations, observations_frame
from cockpit.state.postgres import PostgresConnections

__all__ = ["PostgresHistory"]

_SCHEMA = """
CREATE SCHEMA IF NOT EXISTS {schema};
CREATE TABLE IF NOT EXISTS {schema}.observations (
    site_id TEXT COLLATE "C" NOT NULL,
    metric TEXT NOT NULL,
    time TIMESTAMPTZ NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (site_id, metric, time)
);
CREATE INDEX IF NOT EXISTS observations_time ON {schema}.observations (time);
CREATE TABLE IF NOT EXISTS {schema}.marks (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS {schema}.hourly (
    site_id TEXT COLLATE "C" NOT NULL,
    metric TEXT NOT NULL,
    hour BIGINT NOT NULL,
    n INTEGER NOT NULL,
    total DOUBLE PRECISION NOT NULL,
    low DOUBLE PRECISION NOT NULL,
    high DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (site_id, metric, hour)
);
CREATE INDEX IF NOT EXISTS hourly_hour ON {schema}.hourly (hour);
"""

# Rolls the raw observations of the (site, metric, hour)s in ``touched`` up into ``hourly``
# (hours as epoch seconds of their start, as the embedded history keeps them). A rollup
# is replaced only by one of at least as many observations, so offering again part of an
# hour whose raw rows the retention already dropped never shrinks it.
_ROLLUP = """
INSERT INTO {schema}.hourly (site_id, metric, hour, n, total, low, high)
SELECT t.site_id, t.metric, t.hour, COUNT(*), SUM(o.value), MIN(o.value), MAX(o.value)
FROM touched t JOIN {schema}.observations o
  ON o.site_id = t.site_id AND o.metric = t.metric
 AND o.time >= to_timestamp(t.hour) AND o.time < to_timestamp(t.hour + 3600)
GROUP BY t.site_id, t.metric, t.hour
ON CONFLICT (site_id, metric, hour) DO UPDATE SET
    n = EXCLUDED.n, total = EXCLUDED.total, low = EXCLUDED.low, high = EXCLUDED.high
WHERE EXCLUDED.n >= {schema}.hourly.n
"""

_HOUR = "(floor(extract(epoch FROM time) / 3600) * 3600)::bigint"

_COLUMNS = ["site_id", "metric", "time", "value"]
_SELECT = (
    "SELECT site_id, metric, extract(epoch FROM time)::bigint, value FROM {schema}.observations"
)


class PostgresHistory(PostgresConnections):
    """The ``HistoryStore`` interface over PostgreSQL (one connection per thread): raw
    observations kept ``retention_days``, hourly rollups (count, mean, min, max) kept
    ``rollup_days``."""

    def __init__(
        self,
        dsn: str,
        retention_days: float = 35,
        schema: str = "city_cockpit",
        rollup_days: float = 400,
    ) -> None:
        super().__init__(dsn, schema)
        self.retention_s = int(retention_days * 86400)
        self.rollup_s = int(max(rollup_days, retention_days) * 86400)
        self.hypertable = False
        db = self._connect()
        with db.transaction():
            self._lock_schema(db)
            db.execute(self._sql(_SCHEMA))
            if db.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").fetchone():
                db.execute(
                    "SELECT create_hypertable(%s, 'time', chunk_time_interval => "
                    "interval '1 day', if_not_exists => TRUE, migrate_data => TRUE)",
                    (f"{schema}.observations",),
                )
                self.hypertable = True
            if self.mark("rollup:v1") is None:  # raw rows from before rollups: roll up once
                db.execute(
                    self._sql(
                        f"INSERT INTO {{schema}}.hourly SELECT site_id, metric, {_HOUR},"
                        " COUNT(*), SUM(value), MIN(value), MAX(value)"
                        f" FROM {{schema}}.observations GROUP BY site_id, metric, {_HOUR}"
                        " ON CONFLICT DO NOTHING"
                    )
                )
                self.set_mark("rollup:v1", "done")

    def append(self, observations: pd.DataFrame) -> int:
        """Add observations (canonical frame); ones already stored are skipped.

        Returns the number of rows offered. The hourly rollups of the hours offered are
        updated first; then raw rows older than the retention and rollups older than
        ``rollup_days`` are dropped.
        """
        if observations.empty:
            return 0
        times = pd.to_datetime(observations["time"], utc=True)
        rows = zip(
            observations["site_id"].astype(str).tolist(),
            observations["metric"].astype(str).tolist(),
            times.dt.to_pydatetime().tolist(),
            observations["value"].astype(float).tolist(),
            strict=True,
        )
        now = int(datetime.now(UTC).timestamp())
        cutoff = datetime.fromtimestamp(now - self.retention_s, UTC)
        db = self._connect()
        with db.transaction():
            db.execute(
                'CREATE TEMP TABLE incoming (site_id TEXT COLLATE "C", metric TEXT,'
                " time TIMESTAMPTZ, value DOUBLE PRECISION) ON COMMIT DROP"
            )
            with db.cursor().copy("COPY incoming FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            db.execute(
                self._sql(
                    "INSERT INTO {schema}.observations SELECT * FROM incoming"
                    " ON CONFLICT DO NOTHING"
                )
            )
            db.execute(
                f"CREATE TEMP TABLE touched ON COMMIT DROP AS"
                f" SELECT DISTINCT site_id, metric, {_HOUR} AS hour FROM incoming"
            )
            db.execute(self._sql(_ROLLUP))
            db.execute(self._sql("DELETE FROM {schema}.observations WHERE time < %s"), (cutoff,))
            db.execute(
                self._sql("DELETE FROM {schema}.hourly WHERE hour < %s"),
                (now - self.rollup_s - 3600,),
            )
        return len(observations)

    def window(
        self, site_ids: list[str], start: datetime, end: datetime, metric: str | None = None
    ) -> pd.DataFrame:
        """Observations of ``site_ids`` with ``start <= time < end``, oldest first."""
        if not site_ids:
            return empty_observations()
        query = _SELECT + " WHERE site_id = ANY(%s) AND time >= %s AND time < %s"
        params: list[Any] = [list(site_ids), _utc(start), _utc(end)]
        if metric:
            query += " AND metric = %s"
            params.append(metric)
        return self._frame(query + " ORDER BY time", params)

    def source_window(
        self, source: str, metric: str, start: datetime, end: datetime
    ) -> pd.DataFrame:
        """All observations of one source's sites for ``metric`` in ``start`` .. ``end``."""
        query = (
            _SELECT + " WHERE site_id >= %s AND site_id < %s AND metric = %s"
            " AND time >= %s AND time < %s ORDER BY time"
        )
        lo, hi = f"{source}:", f"{source};"  # ';' sorts right after ':' (byte order)
        return self._frame(query, [lo, hi, metric, _utc(start), _utc(end)])

    def _frame(self, query: str, params: list[Any]) -> pd.DataFrame:
        rows = self._connect().execute(self._sql(query), params).fetchall()
        if not rows:
            return empty_observations()
        frame = pd.DataFrame(rows, columns=_COLUMNS)
        frame["time"] = pd.to_datetime(frame["time"], unit="s", utc=True)
        return observations_frame(frame)

    def hourly(
        self, site_ids: list[str], start: datetime, end: datetime, metric: str | None = None
    ) -> pd.DataFrame:
        """Hourly means of ``site_ids`` from the rollups (kept longer than raw rows), as a
        canonical observation frame stamped at each hour's start, ``start <= time < end``,
        oldest first."""
        if not site_ids:
            return empty_observations()
        query = (
            "SELECT site_id, metric, hour, total / n FROM {schema}.hourly"
            " WHERE site_id = ANY(%s) AND hour >= %s AND hour < %s"
        )
        params: list[Any] = [list(site_ids), _epoch(start), _epoch(end)]
        if metric:
            query += " AND metric = %s"
            params.append(metric)
        return self._frame(query + " ORDER BY hour", params)

    def source_hourly(
        self, source: str, metric: str, start: datetime, end: datetime
    ) -> pd.DataFrame:
        """Hourly means of one source's sites for ``metric``, as ``hourly`` gives them."""
        query = (
            "SELECT site_id, metric, hour, total / n FROM {schema}.hourly"
            " WHERE site_id >= %s AND site_id < %s AND metric = %s AND hour >= %s AND hour < %s"
            " ORDER BY hour"
        )
        lo, hi = f"{source}:", f"{source};"
        return self._frame(query, [lo, hi, metric, _epoch(start), _epoch(end)])

    def purge_source(self, source: str, before: datetime) -> int:
        """Delete ``source``'s observations older than ``before`` (a source's shorter
        retention, e.g. for counts of people), and its hourly rollups of hours that began
        before it. Returns the number of observations deleted."""
        lo, hi = f"{source}:", f"{source};"
        db = self._connect()
        with db.transaction():
            cursor = db.execute(
                self._sql(
                    "DELETE FROM {schema}.observations"
                    " WHERE site_id >= %s AND site_id < %s AND time < %s"
                ),
                (lo, hi, _utc(before)),
            )
            deleted = int(cursor.rowcount)
            db.execute(
                self._sql(
                    "DELETE FROM {schema}.hourly WHERE site_id >= %s AND site_id < %s AND hour < %s"
                ),
                (lo, hi, _epoch(before)),
            )
        return deleted

    def count(self) -> int:
        row = self._connect().execute(self._sql("SELECT COUNT(*) FROM {schema}.observations"))
        return int(row.fetchone()[0])  # type: ignore[index]

    def mark(self, key: str) -> str | None:
        row = (
            self._connect()
            .execute(self._sql("SELECT value FROM {schema}.marks WHERE key = %s"), (key,))
            .fetchone()
        )
        return None if row is None else str(row[0])

    def set_mark(self, key: str, value: str) -> None:
        self._connect().execute(
            self._sql(
                "INSERT INTO {schema}.marks VALUES (%s, %s)"
                " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
            ),
            (key, value),
        )

    # -- moving an embedded history here ----------------------------------------------
    def import_observations(self, rows: Iterable[Sequence[Any]]) -> int:
        """Store raw observations as the embedded history keeps them, rows of (site id,
        metric, time in epoch seconds, value), in one transaction; a row already stored
        is kept as it is. Unlike ``append`` nothing is rolled up or purged: the rollups
        come as they are with ``import_hourly``. Returns the number of rows added."""
        return self._import(
            'site_id TEXT COLLATE "C", metric TEXT, time BIGINT, value DOUBLE PRECISION',
            "INSERT INTO {schema}.observations"
            " SELECT site_id, metric, to_timestamp(time), value FROM moved"
            " ON CONFLICT DO NOTHING",
            rows,
        )

    def import_hourly(self, rows: Iterable[Sequence[Any]]) -> int:
        """Store hourly rollups as the embedded history keeps them, rows of (site id,
        metric, hour's start in epoch seconds, n, total, low, high), in one transaction;
        a rollup already stored is kept. Returns the number of rows added."""
        return self._import(
            "LIKE {schema}.hourly",
            "INSERT INTO {schema}.hourly SELECT * FROM moved ON CONFLICT DO NOTHING",
            rows,
        )

    def import_marks(self, rows: Iterable[Sequence[Any]]) -> int:
        """Store marks, rows of (key, value), in one transaction; a mark already set here
        keeps its value. Returns the number of marks added."""
        return self._import(
            "LIKE {schema}.marks",
            "INSERT INTO {schema}.marks SELECT * FROM moved ON CONFLICT DO NOTHING",
            rows,
        )

    def _import(self, columns: str, insert: str, rows: Iterable[Sequence[Any]]) -> int:
        db = self._connect()
        with db.transaction():
            db.execute(self._sql(f"CREATE TEMP TABLE moved ({columns}) ON COMMIT DROP"))
            with db.cursor().copy("COPY moved FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return int(db.execute(self._sql(insert)).rowcount)

    def drop(self) -> None:
        """Remove this city's history schema (tests, decommissioning a city)."""
        self._connect().execute(self._sql("DROP SCHEMA IF EXISTS {schema} CASCADE"))


def _epoch(when: datetime) -> int:
    return int(_utc(when).timestamp())


def _utc(when: datetime) -> datetime:
    """``when`` as an aware UTC datetime (naive times are taken as UTC)."""
    if isinstance(when, pd.Timestamp):
        when = when.to_pydatetime()
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
