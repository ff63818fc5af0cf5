"""The PostgreSQL connections the history and the journal share the handling of: a pool
per process (psycopg_pool), opened again after a fork, closed by ``close``."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import ConnectionPool, PoolTimeout

from cockpit.errors import BackendUnavailable
from cockpit.state.sql import outcome

__all__ = ["POOL_SIZE", "PostgresConnections", "shown_dsn"]


def shown_dsn(dsn: str) -> str:
    """``dsn`` as it may be shown to a person: without its password."""
    try:
        parts = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "(an unreadable DSN)"
    parts.pop("password", None)
    return make_conninfo("", **parts)


# Connections one process holds at most (psycopg_pool): the threads or greenlets serving
# pages take turns, so hundreds of open screens cost a few PostgreSQL clients, not one each.
POOL_SIZE = 8
POOL_WAIT_S = 30.0


class PostgresConnections:
    """Pooled connections to ``dsn``, with SQL written against ``{schema}``.

    One pool per process (a pool never crosses a fork: gunicorn, Celery prefork). A call
    takes a connection for its statements and gives it back; a call made inside another
    (on the same thread or greenlet) shares its connection and transaction. A connection
    found broken is replaced on the next call."""

    def __init__(self, dsn: str, schema: str, pool_size: int = POOL_SIZE) -> None:
        self.dsn = dsn
        self.schema = schema
        self.pool_size = pool_size
        self.application_name = f"city-cockpit:{schema}"[:63]
        self._pools: dict[int, ConnectionPool] = {}
        self._held = threading.local()
        self._guard = threading.Lock()

    def _unreachable(self, reason: object) -> BackendUnavailable:
        where = shown_dsn(self.dsn)
        return BackendUnavailable(f"PostgreSQL at {where} cannot be reached: {reason}")

    def _pool(self) -> ConnectionPool:
        pid = os.getpid()
        with self._guard:
            pool = self._pools.get(pid)
            if pool is not None and not pool.closed:
                return pool
            # One connection first, in this thread: a server that cannot be reached is
            # said at once, with its reason, rather than after the pool's wait.
            try:
                psycopg.connect(self.dsn, connect_timeout=10).close()
            except psycopg.OperationalError as exc:
                raise self._unreachable(exc) from None
            pool = ConnectionPool(
                self.dsn,
                min_size=1,
                max_size=self.pool_size,
                kwargs={
                    "autocommit": True,
                    "connect_timeout": 10,
                    # Named for operators (pg_stat_activity): which city's cockpit this is.
                    "application_name": self.application_name,
                },
                check=ConnectionPool.check_connection,
                timeout=POOL_WAIT_S,
                name=f"city-cockpit:{self.schema}",
                open=True,
            )
            self._pools[pid] = pool
            return pool

    @contextmanager
    def _session(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection for the statements of one call (the enclosing call's, inside one)."""
        held: psycopg.Connection[Any] | None = getattr(self._held, "db", None)
        if held is not None:
            yield held
            return
        try:
            with self._pool().connection() as db:
                self._held.db = db
                try:
                    yield db
                finally:
                    self._held.db = None
        except PoolTimeout as exc:
            raise self._unreachable(exc) from None

    def _sql(self, text: str) -> sql.Composed:
        return sql.SQL(text).format(schema=sql.Identifier(self.schema))  # type: ignore[arg-type]

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
        """Close this process's pool (a forked child leaves its parent's alone: closing
        would end the parent's connections); a later call opens a new one."""
        with self._guard:
            pool = self._pools.pop(os.getpid(), None)
        if pool is not None:
            pool.close()
