"""Where a city keeps its state: embedded files (the default) or servers shared by many
processes and machines (Redis for snapshots, leases and the data version; PostgreSQL for
history and the journal of notices, acknowledgements, decisions, kiosk heartbeats and
audit). ``open_stores`` and ``open_journal`` pick by ``[backend] kind`` in the city
config. A damaged embedded file is moved aside and started afresh
(``cockpit.state.recover``)."""

from __future__ import annotations

import re
from pathlib import Path

from cockpit.config import CityConfig
from cockpit.live import LocalSignals, Signals
from cockpit.state import embedded, journal
from cockpit.state.recover import open_recovering
from cockpit.storage import HistoryStore, Journal, SnapshotStore

__all__ = ["open_history", "open_journal", "open_signals", "open_stores", "redis_prefix"]


def redis_prefix(config: CityConfig) -> str:
    """The Redis key prefix of a city: the config's, else one derived from its name."""
    if config.backend.redis_prefix:
        return config.backend.redis_prefix
    slug = re.sub(r"[^a-z0-9]+", "-", config.city.name.lower()).strip("-") or "city"
    return f"city-cockpit:{slug}:"


def open_stores(config: CityConfig, directory: Path) -> tuple[SnapshotStore, HistoryStore]:
    """The snapshot store and history of ``config``'s backend; raises ``BackendUnavailable``
    when a server cannot be reached."""
    if config.backend.kind == "server":
        # Imported here: an embedded city needs neither redis nor psycopg installed.
        from cockpit.state.redis_store import RedisSnapshotStore

        store = RedisSnapshotStore(config.backend.redis_url, redis_prefix(config))
        try:
            return store, open_history(config, directory)
        except BaseException:
            store.close()
            raise
    snapshots = open_recovering(
        "snapshots", directory / "snapshots", lambda: embedded.SnapshotStore(directory)
    )
    return snapshots, open_history(config, directory)


def open_history(config: CityConfig, directory: Path) -> HistoryStore:
    """The history of ``config``'s backend alone (no snapshot store, so no Redis)."""
    storage = config.storage
    if config.backend.kind == "server":
        from cockpit.state.postgres_history import PostgresHistory

        return PostgresHistory(
            config.backend.postgres_dsn,
            storage.history_days,
            config.backend.postgres_schema,
            storage.rollup_days,
        )
    return open_recovering(
        "history",
        directory / "history.sqlite",
        lambda: embedded.HistoryStore(directory, storage.history_days, storage.rollup_days),
    )


def open_journal(config: CityConfig, directory: Path) -> Journal:
    """The journal of ``config``'s backend: a SQLite file in ``directory`` (embedded) or
    tables in the city's PostgreSQL schema, shared by all its app servers (server); raises
    ``BackendUnavailable`` when PostgreSQL cannot be reached."""
    if config.backend.kind == "server":
        # Imported here: an embedded city needs no psycopg installed.
        from cockpit.state.postgres_journal import PostgresJournal

        return PostgresJournal(config.backend.postgres_dsn, config.backend.postgres_schema)
    return open_recovering(
        "journal", directory / "journal.sqlite", lambda: journal.Journal(directory)
    )


def open_signals(config: CityConfig) -> Signals:
    """How live signals travel in ``config``'s backend: within this process (embedded;
    other processes' changes arrive through ``cockpit.live.VersionWatch``) or over the
    city's Redis to every app server and worker (server)."""
    if config.backend.kind == "server":
        from cockpit.state.redis_signals import RedisSignals

        return RedisSignals(config.backend.redis_url, redis_prefix(config))
    return LocalSignals()
