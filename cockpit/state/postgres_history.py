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
from typing import Any

from cockpit.state.postgres import PostgresConnections
from cockpit.state.sql import POSTGRES, SqlHistory, Statement, rollup_sql

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

_HOUR = "(floor(extract(epoch FROM time) / 3600) * 3600)::bigint"


class PostgresHistory(PostgresConnections, SqlHistory):
    """The ``HistoryStore`` interface over PostgreSQL (one connection per thread): raw
    observations kept ``retention_days``, hourly rollups (count, mean, min, max) kept
    ``rollup_days``."""

    dialect = POSTGRES

    def __init__(
        self,
        dsn: str,
        retention_days: float = 35,
        schema: str = "city_cockpit",
        rollup_days: float = 400,
    ) -> None:
        super().__init__(dsn, schema)
        self._keep(retention_days, rollup_days)
        self.hypertable = False
        with self._session() as db, db.transaction():
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

    def _add(self, rows: list[tuple[Any, ...]], retention: list[Statement]) -> None:
        with self._session() as db, db.transaction():
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
            db.execute(self._sql(rollup_sql(POSTGRES)))
            for query, params in retention:
                db.execute(self._sql(query), params)

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
        with self._session() as db, db.transaction():
            db.execute(self._sql(f"CREATE TEMP TABLE moved ({columns}) ON COMMIT DROP"))
            with db.cursor().copy("COPY moved FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return int(db.execute(self._sql(insert)).rowcount)

    def drop(self) -> None:
        """Remove this city's history schema (tests, decommissioning a city)."""
        with self._session() as db:
            db.execute(self._sql("DROP SCHEMA IF EXISTS {schema} CASCADE"))
