"""What only the PostgreSQL history does (real server on 127.0.0.1, see tests/servers.py):
its schema, the typed error for a server that cannot be reached, the one-time rollup of
rows kept before rollups existed, and moving an embedded history in. What it answers
like the embedded history is in ``test_history_contract.py``."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import psycopg
import pytest

from cockpit.errors import BackendUnavailable
from cockpit.state.postgres_history import PostgresHistory
from tests.browser import free_port
from tests.servers import pg_schema, postgres_server  # noqa: F401 - fixtures

START = pd.Timestamp("2026-11-24 08:00", tz="UTC")
EPOCH = int(START.timestamp())


@pytest.fixture
def history(postgres_server: str, pg_schema: str) -> Iterator[PostgresHistory]:  # noqa: F811
    store = PostgresHistory(postgres_server, 35, pg_schema)
    yield store
    store.close()


def test_postgres_schema_is_a_plain_table_with_time_index(
    postgres_server: str,  # noqa: F811 - fixture
    pg_schema: str,  # noqa: F811 - fixture
) -> None:
    history = PostgresHistory(postgres_server, 35, pg_schema)
    try:
        with psycopg.connect(postgres_server) as db:
            indexes = {
                row[0]
                for row in db.execute(
                    "SELECT indexname FROM pg_indexes WHERE schemaname = %s", (pg_schema,)
                )
            }
            has_timescale = db.execute(
                "SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'"
            ).fetchone()
        assert "observations_time" in indexes
        assert history.hypertable == bool(has_timescale)
    finally:
        history.close()


def test_unreachable_postgres_is_a_typed_error(pg_schema: str) -> None:  # noqa: F811
    port = free_port()
    with pytest.raises(BackendUnavailable, match="cannot be reached"):
        PostgresHistory(f"postgresql://postgres@127.0.0.1:{port}/test", 35, pg_schema)


def test_moved_rows_are_kept_as_they_come_and_never_twice(history: PostgresHistory) -> None:
    rows = [
        ("traffic:1", "vehicle_flow", EPOCH, 100.0),
        ("traffic:1", "vehicle_flow", EPOCH + 1800, 300.0),
    ]
    assert history.import_observations(rows) == 2
    # Offered again (a move that was interrupted and started over): nothing is doubled.
    assert history.import_observations([*rows, ("traffic:2", "vehicle_flow", EPOCH, 7.0)]) == 1
    window = history.window(["traffic:1", "traffic:2"], START, START + pd.Timedelta(hours=1))
    assert sorted(zip(window["site_id"], window["value"], strict=True)) == [
        ("traffic:1", 100.0),
        ("traffic:1", 300.0),
        ("traffic:2", 7.0),
    ]
    # Unlike an append, an import rolls nothing up: the rollups move on their own.
    assert history.hourly(["traffic:1"], START, START + pd.Timedelta(hours=1)).empty
    assert (
        history.import_hourly([("traffic:1", "vehicle_flow", EPOCH, 2, 400.0, 100.0, 300.0)]) == 1
    )
    hours = history.hourly(["traffic:1"], START, START + pd.Timedelta(hours=1))
    assert hours["value"].tolist() == [200.0]
    assert history.import_marks([("moved", "yes")]) == 1
    assert history.import_marks([("moved", "again")]) == 0
    assert history.mark("moved") == "yes"


def test_rows_kept_before_rollups_are_rolled_up_once_on_opening(
    postgres_server: str,  # noqa: F811 - fixture
    pg_schema: str,  # noqa: F811 - fixture
) -> None:
    first = PostgresHistory(postgres_server, 35, pg_schema)
    try:
        first.import_observations(
            [("air:1", "no2", EPOCH, 10.0), ("air:1", "no2", EPOCH + 600, 30.0)]
        )
    finally:
        first.close()
    # A schema from before rollups: raw rows, no mark saying they were rolled up.
    with psycopg.connect(postgres_server, autocommit=True) as db:
        db.execute(f'DELETE FROM "{pg_schema}".marks')
    reopened = PostgresHistory(postgres_server, 35, pg_schema)
    try:
        hours = reopened.hourly(["air:1"], START, START + pd.Timedelta(hours=1))
        assert hours["value"].tolist() == [20.0]
        assert reopened.mark("rollup:v1") == "done"
    finally:
        reopened.close()


def test_drop_removes_the_citys_schema(
    postgres_server: str,  # noqa: F811 - fixture
    pg_schema: str,  # noqa: F811 - fixture
) -> None:
    history = PostgresHistory(postgres_server, 35, pg_schema)
    try:
        history.drop()
    finally:
        history.close()
    with psycopg.connect(postgres_server) as db:
        found = db.execute(
            "SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", (pg_schema,)
        ).fetchone()
    assert found is None
