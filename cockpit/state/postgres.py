"""The PostgreSQL connections the history and the journal share the handling of: one
per thread, reopened after a fork, every one closed by ``close``."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from cockpit.errors import BackendUnavailable
from cockpit.state.sql import outcome

__all__ = ["PostgresConnections", "shown_dsn"]


def shown_dsn(dsn: str) -> str:
    """``dsn`` as it may be shown to a person: without its password."""
    try:
        parts = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "(an unreadable DSN)"
    parts.pop("password", None)
    return make_conninfo("", **parts)


class PostgresConnections:
    """Per-thread connections to ``dsn``, with SQL written against ``{schema}``."""

    def __init__(self, dsn: str, schema: str) -> None:
        self.dsn = dsn
        self.schema = schema
        self._local = threading.local()
        self._all: list[psycopg.Connection[Any]] = []
        self._guard = threading.Lock()

    def _sql(self, text: str) -> sql.Composed:
        return sql.SQL(text).format(schema=sql.Identifier(self.schema))  # type: ignore[arg-type]

    def _connect(self) -> psycopg.Connection[Any]:
        db: psycopg.Connection[Any] | None = getattr(self._local, "db", None)
        # A connection never crosses a fork (gunicorn, Celery prefork): reopen in the child.
        if db is None or db.closed or getattr(self._local, "pid", None) != os.getpid():
            try:
                db = psycopg.connect(self.dsn, autocommit=True, connect_timeout=10)
            except psycopg.OperationalError as exc:
                raise BackendUnavailable(
                    f"PostgreSQL at {shown_dsn(self.dsn)} cannot be reached: {exc}"
                ) from None
            self._local.db = db
            self._local.pid = os.getpid()
            with self._guard:
                self._all.append(db)
        return db

    @contextmanager
    def _session(self) -> Iterator[psycopg.Connection[Any]]:
        """This thread's connection, for the statements of one call."""
        yield self._connect()

    def _rows(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows ``query`` (written against ``{schema}``) reads."""
        with self._session() as db:
            return db.execute(self._sql(query), params).fetchall()

    def _run(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[int]:
        """Runs ``statements`` (written against ``{schema}``) in one transaction; the rows
        each changed, or for one that returns rows (``RETURNING``), the first value of the
        first."""
        with self._session() as db, db.transaction():
            return [outcome(db.execute(self._sql(q), params)) for q, params in statements]

    def _lock_schema(self, db: psycopg.Connection[Any]) -> None:
        """Inside a transaction: one process creates the city's schema (history and
        journal alike), the others wait here until it has."""
        db.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"cc-schema:{self.schema}",))

    def close(self) -> None:
        with self._guard:
            for db in self._all:
                if not db.closed:
                    db.close()
            self._all.clear()
        self._local.db = None
