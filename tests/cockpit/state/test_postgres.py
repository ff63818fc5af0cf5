"""The PostgreSQL connections the history and the journal share (real server on
127.0.0.1, see tests/servers.py): a pool shared by threads, closed by ``close``, SQL written
against the city's schema, and a DSN shown to people without its password."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from cockpit.errors import BackendUnavailable
from cockpit.state.postgres import POOL_SIZE, PostgresConnections, shown_dsn
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


def _clients(connections: PostgresConnections) -> int:
    """The server's connections from ``connections`` (by their application name)."""
    with psycopg.connect(connections.dsn, autocommit=True) as admin:
        found = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
            (connections.application_name,),
        ).fetchone()
    return int(found[0]) if found else 0


def _clients_once_gone(connections: PostgresConnections) -> int:
    """``_clients`` once the server has ended the backends a close hung up on: the server
    leaves ``pg_stat_activity`` a moment after the client closes, more so under load."""
    for _ in range(100):
        if (count := _clients(connections)) == 0:
            return 0
        time.sleep(0.05)
    return count


def test_many_threads_share_a_few_connections_and_close_closes_them(
    connections: PostgresConnections,
) -> None:
    """Sixty threads at once (requests of sixty screens): never more server connections
    than the pool's size, every call answered."""
    start, answers, errors = threading.Barrier(60), [], []

    def call() -> None:
        start.wait()
        try:
            answers.append(connections._rows("SELECT pg_sleep(0.05), 1")[0][1])
        except Exception as exc:  # pragma: no cover - shown by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(60)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and answers == [1] * 60
    assert 1 <= _clients(connections) <= POOL_SIZE
    connections.close()
    assert _clients_once_gone(connections) == 0
    assert connections._rows("SELECT 2") == [(2,)]  # a call after close opens a new pool


# Three hundred kiosks' heartbeats at once on a gevent app server (gunicorn -k gevent),
# each request its own greenlet: they share the process's pool.
GEVENT_KIOSKS = textwrap.dedent(
    """
    from gevent import monkey

    monkey.patch_all()
    import sys
    from datetime import UTC, datetime

    import gevent

    from cockpit.state.postgres_journal import PostgresJournal

    import psycopg

    journal = PostgresJournal(sys.argv[1], sys.argv[2])
    now = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
    peak = [0]

    def watch():  # the server's count of this journal's connections, while they beat
        with psycopg.connect(sys.argv[1], autocommit=True) as admin:
            while True:
                (n,) = admin.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                    (journal.application_name,),
                ).fetchone()
                peak[0] = max(peak[0], n)
                gevent.sleep(0.005)

    watcher = gevent.spawn(watch)
    gevent.sleep(0.05)
    beats = [
        gevent.spawn(journal.beat, f"kiosk-{i}", {"screen": "lobby"}, now) for i in range(300)
    ]
    gevent.joinall(beats, raise_error=True)
    watcher.kill()
    print(len(journal.heartbeats()), peak[0], journal.application_name)
    journal.close()
    """
)


def test_three_hundred_greenlets_share_the_pool(
    postgres_server: str,  # noqa: F811 - fixture
    pg_schema: str,  # noqa: F811 - fixture
) -> None:
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run(
        [sys.executable, "-c", GEVENT_KIOSKS, postgres_server, pg_schema],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    count, peak, name = done.stdout.split()
    assert int(count) == 300  # every kiosk's heartbeat kept, none refused
    assert 1 <= int(peak) <= POOL_SIZE
    with psycopg.connect(postgres_server, autocommit=True) as admin:
        admin.execute(f'DROP SCHEMA IF EXISTS "{pg_schema}" CASCADE')
        left = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (name,)
        ).fetchone()
    assert left == (0,)  # closed with the process's pool


def test_a_call_inside_another_shares_its_connection_and_transaction(
    connections: PostgresConnections,
) -> None:
    connections._run([("CREATE SCHEMA {schema}", ()), ("CREATE TABLE {schema}.t (n INT)", ())])
    with connections._session() as db, db.transaction():
        db.execute(connections._sql("INSERT INTO {schema}.t VALUES (7)"))
        # Not committed yet: only the same connection sees the row.
        assert connections._rows("SELECT n FROM {schema}.t") == [(7,)]
    assert connections._rows("SELECT n FROM {schema}.t") == [(7,)]


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
