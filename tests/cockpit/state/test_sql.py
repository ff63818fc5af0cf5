"""The SQL layer both engines share: times, site ranges, rows to frames and records, and
the history's reads, marks and purges written once over a dialect, run on a bare SQLite
database and on a real PostgreSQL (127.0.0.1, see tests/servers.py) with only the tables
those reads need."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import psycopg
import pytest
from psycopg import sql as pgsql

from cockpit.state.sql import (
    NOTICE_COLUMNS,
    POSTGRES,
    SQLITE,
    SqlHistory,
    epoch,
    moment,
    notices_from_rows,
    observations_from_rows,
    outcome,
    retention_statements,
    rollup_sql,
    source_range,
    utc,
)
from tests.servers import pg_schema, postgres_server  # noqa: F401 - fixtures

T = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def test_times_are_utc_and_whole_seconds() -> None:
    assert utc(datetime(2026, 11, 24, 10, 0)) == T  # naive is taken as UTC
    assert utc(pd.Timestamp("2026-11-24 21:00", tz="Australia/Melbourne")) == T
    assert epoch(T + timedelta(seconds=0.9)) == epoch(T) == 1795514400
    assert moment(epoch(T)) == T
    assert moment(None) is None


def test_a_source_range_holds_its_sites_only() -> None:
    lo, hi = source_range("traffic")
    ids = ["traffic:1", "traffic:zz", "traffic2:1", "traffi:1", "traffic;", "air:1"]
    assert [s for s in ids if lo <= s < hi] == ["traffic:1", "traffic:zz"]


def test_rows_become_a_canonical_frame() -> None:
    frame = observations_from_rows([("air:1", "no2", epoch(T), 20.0)])
    assert frame["time"].tolist() == [pd.Timestamp(T)]
    assert str(frame["time"].dtype) == "datetime64[ns, UTC]"
    empty = observations_from_rows([])
    assert empty.empty and list(empty.columns) == list(frame.columns)


def test_dialects_spell_parameters_tables_and_site_lists() -> None:
    assert SQLITE.any_site(["a", "b"]) == ("site_id IN (?, ?)", ["a", "b"])
    assert POSTGRES.any_site(["a", "b"]) == ("site_id = ANY(%s)", [["a", "b"]])
    assert SQLITE.table("hourly") == "hourly"
    assert POSTGRES.table("hourly") == "{schema}.hourly"
    assert "to_timestamp(t.hour + 3600)" in rollup_sql(POSTGRES)
    assert "o.time < t.hour + 3600" in rollup_sql(SQLITE)
    assert POSTGRES.text("a\x00b") == "a\ufffdb"
    assert SQLITE.text("a\x00b") == "a\x00b"


def test_retention_deletes_what_is_older_than_each_period() -> None:
    (raw, raw_params), (hourly, hourly_params) = retention_statements(SQLITE, T, 3600, 7200)
    assert raw == "DELETE FROM observations WHERE time < ?"
    assert raw_params == (epoch(T) - 3600,)
    assert hourly == "DELETE FROM hourly WHERE hour < ?"
    assert hourly_params == (epoch(T) - 7200 - 3600,)
    (_, pg_raw), _ = retention_statements(POSTGRES, T, 3600, 7200)
    assert pg_raw == (T - timedelta(hours=1),)


def test_notices_from_rows_keep_the_active_the_most_severe_first() -> None:
    def row(nid: int, severity: str, hours: int, withdrawn: int | None = None) -> tuple[Any, ...]:
        texts = json.dumps({"en": f"notice {nid}"})
        start = epoch(T)
        end = start + hours * 3600
        return (nid, start, "sam", severity, start, end, texts, withdrawn, None, "", "erin")

    assert len(NOTICE_COLUMNS.split(", ")) == len(row(1, "info", 1))
    rows = [row(4, "info", 2), row(3, "emergency", 2), row(2, "warning", 0), row(1, "info", 2, 9)]
    active = notices_from_rows(rows, T + timedelta(minutes=5), include_inactive=False)
    assert [(n.id, n.severity) for n in active] == [(3, "emergency"), (4, "info")]
    everything = notices_from_rows(rows, T, include_inactive=True)
    assert [n.id for n in everything] == [4, 3, 2, 1]
    assert everything[-1].withdrawn == moment(9)
    assert everything[0].kiosks == () and everything[0].approved_by == "erin"


def test_outcome_counts_changed_rows_or_reads_a_returned_id() -> None:
    db = sqlite3.connect(":memory:", isolation_level=None)
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, x INTEGER)")
    assert outcome(db.execute("INSERT INTO t (x) VALUES (1), (2)")) == 2
    assert outcome(db.execute("INSERT INTO t (x) VALUES (3) RETURNING id")) == 3
    assert outcome(db.execute("UPDATE t SET x = 0 WHERE x > 5")) == 0


# -- the shared history reads on both engines, over tables the test makes ---------------

_TABLES = """
CREATE TABLE {t}observations (site_id TEXT, metric TEXT, time {time}, value REAL);
CREATE TABLE {t}hourly (site_id TEXT, metric TEXT, hour BIGINT, n INTEGER, total REAL,
                        low REAL, high REAL);
CREATE TABLE {t}marks (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class SqliteReads(SqlHistory):
    dialect = SQLITE

    def __init__(self) -> None:
        self.db = sqlite3.connect(":memory:", isolation_level=None)
        self.db.executescript(_TABLES.format(t="", time="INTEGER"))

    def _rows(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.db.execute(query, params).fetchall()

    def _run(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[int]:
        return [outcome(self.db.execute(q, p)) for q, p in statements]

    def raw(self, rows: list[tuple[str, str, datetime, float]]) -> None:
        self.db.executemany(
            "INSERT INTO observations VALUES (?, ?, ?, ?)",
            [(s, m, epoch(t), v) for s, m, t, v in rows],
        )

    def rollups(self, rows: list[tuple[Any, ...]]) -> None:
        self.db.executemany("INSERT INTO hourly VALUES (?, ?, ?, ?, ?, ?, ?)", rows)


class PostgresReads(SqlHistory):
    dialect = POSTGRES

    def __init__(self, dsn: str, schema: str) -> None:
        self.schema = schema
        self.db = psycopg.connect(dsn, autocommit=True)
        self.db.execute(self._sql("CREATE SCHEMA {schema}"))
        self.db.execute(self._sql(_TABLES.format(t="{schema}.", time="TIMESTAMPTZ")))

    def _sql(self, text: str) -> pgsql.Composed:
        return pgsql.SQL(text).format(schema=pgsql.Identifier(self.schema))  # type: ignore[arg-type]

    def _rows(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.db.execute(self._sql(query), params).fetchall()

    def _run(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[int]:
        with self.db.transaction():
            return [outcome(self.db.execute(self._sql(q), p)) for q, p in statements]

    def raw(self, rows: list[tuple[str, str, datetime, float]]) -> None:
        with self.db.cursor() as cur:
            cur.executemany(
                self._sql("INSERT INTO {schema}.observations VALUES (%s, %s, %s, %s)"), rows
            )

    def rollups(self, rows: list[tuple[Any, ...]]) -> None:
        with self.db.cursor() as cur:
            query = "INSERT INTO {schema}.hourly VALUES (%s, %s, %s, %s, %s, %s, %s)"
            cur.executemany(self._sql(query), rows)


@pytest.fixture(params=["sqlite", "postgres"])
def reads(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param == "sqlite":
        made: Any = SqliteReads()
    else:
        dsn = request.getfixturevalue("postgres_server")
        made = PostgresReads(dsn, request.getfixturevalue("pg_schema"))
    yield made
    made.db.close()


def _fill(reads: Any) -> None:
    hour = timedelta(hours=1)
    reads.raw(
        [
            ("traffic:1", "vehicle_flow", T, 1.0),
            ("traffic:1", "vehicle_flow", T - hour, 0.0),
            ("traffic:1", "speed", T, 50.0),
            ("traffic:2", "vehicle_flow", T + hour, 2.0),
            ("traffic2:1", "vehicle_flow", T, 7.0),
        ]
    )
    reads.rollups(
        [
            ("traffic:1", "vehicle_flow", epoch(T), 2, 10.0, 4.0, 6.0),
            ("traffic:2", "vehicle_flow", epoch(T) - 3600, 1, 3.0, 3.0, 3.0),
        ]
    )


def test_window_reads_sites_half_open_oldest_first(reads: Any) -> None:
    _fill(reads)
    both = reads.window(["traffic:2", "traffic:1"], T - timedelta(hours=1), T + timedelta(hours=2))
    assert both["time"].is_monotonic_increasing
    assert both.sort_values(["time", "metric"])["value"].tolist() == [0.0, 50.0, 1.0, 2.0]
    flow = reads.window(["traffic:1"], T - timedelta(hours=1), T, metric="vehicle_flow")
    assert flow["value"].tolist() == [0.0]
    assert reads.window([], T, T).empty


def test_source_window_keeps_to_the_source(reads: Any) -> None:
    _fill(reads)
    hour = timedelta(hours=1)
    frame = reads.source_window("traffic", "vehicle_flow", T - hour, T + 2 * hour)
    assert frame["site_id"].tolist() == ["traffic:1", "traffic:1", "traffic:2"]
    assert frame["time"].tolist() == [pd.Timestamp(t) for t in (T - hour, T, T + hour)]


def test_hourly_reads_means_stamped_at_the_hour(reads: Any) -> None:
    _fill(reads)
    frame = reads.hourly(["traffic:1", "traffic:2"], T - timedelta(hours=1), T + timedelta(hours=1))
    assert frame["value"].tolist() == [3.0, 5.0]
    assert frame["time"].tolist() == [pd.Timestamp(T) - pd.Timedelta(hours=1), pd.Timestamp(T)]
    source = reads.source_hourly("traffic", "vehicle_flow", T, T + timedelta(hours=1))
    assert source["site_id"].tolist() == ["traffic:1"]


def test_purge_and_marks(reads: Any) -> None:
    _fill(reads)
    assert reads.count() == 5
    assert reads.purge_source("traffic", T) == 1  # traffic:1 an hour before T
    assert reads.count() == 4
    assert reads.hourly(["traffic:2"], T - timedelta(hours=2), T).empty
    assert reads.mark("backfill:traffic") is None
    reads.set_mark("backfill:traffic", "a")
    reads.set_mark("backfill:traffic", "b")
    assert reads.mark("backfill:traffic") == "b"
