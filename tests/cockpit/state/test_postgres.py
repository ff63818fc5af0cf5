"""The PostgreSQL connections the history and the journal share (real server on
127.0.0.1, see tests/servers.py): one per thread, all closed by ``close``, SQL written
against the city's schema, and a DSN shown to people without its password."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from cockpit.errors import BackendUnavailable
from cockpit.state.postgres import PostgresConnections, shown_dsn
from tests.browser import free_port
from tests.servers import pg_schema, postgres_server  # noqa: F401 - fixtures


@pytest.fixture
def connections(postgres_server: str, pg_schema: str) -> Iterator[PostgresConnections]:  # noqa: F811
    opened = PostgresConnections(postgres_server, pg_schema)
    yield opened
    opened.close()


@pytest.mark.parametrize(
    ("dsn", "shown"),
    [
        ("postgresql://cockpit:s3cret@db.example:5433/city", "port=5433"),
        ("host=db.example user=cockpit password=s3cret dbname=city", "dbname=city"),
        ("postgresql://db.example/city", "host=db.example"),
    ],
)
def test_a_shown_dsn_names_the_server_but_not_the_password(dsn: str, shown: str) -> None:
    said = shown_dsn(dsn)
    assert "s3cret" not in said and "password" not in said
    assert shown in said and "db.example" in said


def test_an_unreadable_dsn_is_shown_as_such() -> None:
    assert shown_dsn("postgresql://[::1") == "(an unreadable DSN)"
    assert shown_dsn("host=a password='s3cret") == "(an unreadable DSN)"


def test_each_thread_has_its_own_connection_and_close_closes_all(
    connections: PostgresConnections,
) -> None:
    here = connections._connect()
    assert connections._connect() is here  # the same thread keeps its connection
    other: list[Any] = []
    thread = threading.Thread(target=lambda: other.append(connections._connect()))
    thread.start()
    thread.join()
    assert other[0] is not here
    assert here.info.backend_pid != other[0].info.backend_pid
    connections.close()
    assert here.closed and other[0].closed
    assert not connections._connect().closed  # a call after close connects afresh


def test_statements_run_in_the_citys_schema_in_one_transaction(
    connections: PostgresConnections,
    pg_schema: str,  # noqa: F811 - fixture
) -> None:
    connections._run(
        [
            ("CREATE SCHEMA {schema}", ()),
            ("CREATE TABLE {schema}.t (n INTEGER PRIMARY KEY)", ()),
        ]
    )
    assert connections._run([("INSERT INTO {schema}.t VALUES (%s), (%s)", (1, 2))]) == [2]
    # One statement of a call fails: the call's other statements are undone with it.
    with pytest.raises(psycopg.errors.UniqueViolation):
        connections._run(
            [
                ("INSERT INTO {schema}.t VALUES (%s)", (3,)),
                ("INSERT INTO {schema}.t VALUES (1)", ()),
            ]
        )
    assert connections._rows("SELECT n FROM {schema}.t ORDER BY n") == [(1,), (2,)]
    with psycopg.connect(connections.dsn) as db:
        found = db.execute(
            "SELECT table_schema FROM information_schema.tables WHERE table_name = 't'"
            " AND table_schema = %s",
            (pg_schema,),
        ).fetchall()
    assert found == [(pg_schema,)]


def test_a_server_that_cannot_be_reached_is_a_typed_error_without_the_password() -> None:
    port = free_port()
    connections = PostgresConnections(f"postgresql://postgres:s3cret@127.0.0.1:{port}/x", "s")
    with pytest.raises(BackendUnavailable, match="cannot be reached") as caught:
        connections._rows("SELECT 1")
    said = str(caught.value)
    assert f"port={port}" in said and "s3cret" not in said
