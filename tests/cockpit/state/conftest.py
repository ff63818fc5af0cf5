"""The journals every journal contract runs against: the embedded SQLite file and
PostgreSQL (the real server on 127.0.0.1, see tests/servers.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cockpit.state.journal import Journal
from cockpit.state.postgres_journal import PostgresJournal
from tests.servers import pg_schema, postgres_server  # noqa: F401 - fixtures


@pytest.fixture(params=["embedded", "postgres"])
def journals(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Any]]:
    """Opens journals on one backing, as separate processes would; closes them after."""
    opened: list[Any] = []
    if request.param == "embedded":

        def make() -> Any:
            opened.append(Journal(tmp_path))
            return opened[-1]
    else:
        dsn = request.getfixturevalue("postgres_server")
        schema = request.getfixturevalue("pg_schema")

        def make() -> Any:
            opened.append(PostgresJournal(dsn, schema))
            return opened[-1]

    yield make
    for journal in opened:
        journal.close()


@pytest.fixture
def journal(journals: Callable[[], Any]) -> Any:
    return journals()
