"""What only the PostgreSQL journal does (real server on 127.0.0.1, see
tests/servers.py): another process sees its writes, a server that cannot be reached or a
connection lost is a typed error and the next call reconnects, a NUL character (which
PostgreSQL cannot hold) is kept as U+FFFD, and moving an embedded journal in. What it
answers like the embedded journal is in ``test_journal.py``."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from cockpit.errors import BackendUnavailable
from cockpit.state.journal import Notice
from cockpit.state.postgres_journal import PostgresJournal
from tests.browser import free_port
from tests.servers import pg_schema, postgres_server  # noqa: F401 - fixtures

ROOT = Path(__file__).resolve().parents[3]
T = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)
EPOCH = int(T.timestamp())


def notice(severity: str = "info", **texts: str) -> Notice:
    return Notice(
        texts=texts or {"en": f"{severity} notice"},
        severity=severity,
        starts=T,
        expires=T + timedelta(hours=2),
        author="sam",
    )


@pytest.fixture
def journal(postgres_server: str, pg_schema: str) -> Iterator[PostgresJournal]:  # noqa: F811
    opened = PostgresJournal(postgres_server, pg_schema)
    yield opened
    opened.close()


def test_another_process_sees_the_postgres_journal(
    postgres_server: str,  # noqa: F811 - fixture
    pg_schema: str,  # noqa: F811 - fixture
) -> None:
    journal = PostgresJournal(postgres_server, pg_schema)
    try:
        nid = journal.publish(notice("emergency", en="Evacuate Federation Square"), now=T)
        script = (
            "import sys\n"
            "from datetime import datetime\n"
            "from cockpit.state.postgres_journal import PostgresJournal\n"
            "j = PostgresJournal(sys.argv[1], sys.argv[2])\n"
            "(n,) = j.notices(datetime.fromisoformat(sys.argv[3]))\n"
            "print(n.id, n.text('en'))\n"
            "j.acknowledge('air:pm10:cbd', 'duty', datetime.fromisoformat(sys.argv[3]))\n"
            "j.close()\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", script, postgres_server, pg_schema, T.isoformat()],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        assert done.stdout.strip() == f"{nid} Evacuate Federation Square"
        assert journal.acknowledgements()["air:pm10:cbd"].user == "duty"
    finally:
        journal.close()


def test_unreachable_postgres_is_a_typed_error(pg_schema: str) -> None:  # noqa: F811
    port = free_port()
    with pytest.raises(BackendUnavailable, match="cannot be reached") as caught:
        PostgresJournal(f"postgresql://postgres:s3cret@127.0.0.1:{port}/test", pg_schema)
    said = str(caught.value)
    assert f"port={port}" in said and "127.0.0.1" in said  # which server, for the operator
    assert "s3cret" not in said


def test_a_lost_connection_is_a_typed_error_and_the_next_call_reconnects(
    postgres_server: str,  # noqa: F811 - fixture
    pg_schema: str,  # noqa: F811 - fixture
) -> None:
    journal = PostgresJournal(postgres_server, pg_schema)
    try:
        # The server ends the connection in the middle of a call.
        with pytest.raises(BackendUnavailable), journal._session() as db:
            with psycopg.connect(postgres_server, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (db.info.backend_pid,))
            db.execute("SELECT 1")
        journal.acknowledge("parking:cbd", "sam", now=T)
        assert list(journal.acknowledgements()) == ["parking:cbd"]
        # Every connection ended between calls (a database restarted): the next call
        # is answered on a new one.
        with psycopg.connect(postgres_server, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = %s",
                (journal.application_name,),
            )
        journal.acknowledge("air:cbd", "sam", now=T)
        assert sorted(journal.acknowledgements()) == ["air:cbd", "parking:cbd"]
    finally:
        journal.close()


def test_a_nul_character_is_stored_as_a_replacement_character(
    journal: PostgresJournal,
    postgres_server: str,  # noqa: F811 - fixture
    pg_schema: str,  # noqa: F811 - fixture
) -> None:
    journal.audit("mal\x00lory", "sign-in failed", "", "10.9.9.9", now=T)
    with psycopg.connect(postgres_server) as db:
        (actor,) = db.execute(f'SELECT actor FROM "{pg_schema}".audit').fetchone() or ("",)
    assert actor == "mal\ufffdlory"


def test_moved_records_are_kept_once(journal: PostgresJournal) -> None:
    heartbeat = ("kiosk-1", EPOCH, '{"screen": "lobby"}')
    assert journal.import_heartbeats([heartbeat]) == 1
    assert journal.import_heartbeats([heartbeat]) == 0  # a move started over doubles nothing
    assert [h.kiosk_id for h in journal.heartbeats()] == ["kiosk-1"]
    assert journal.import_audit([(1, EPOCH, "sam", "published", "notice 1", "10.0.0.1")]) == 1
    (event,) = journal.audit_log()
    assert (event.actor, event.action, event.address) == ("sam", "published", "10.0.0.1")
