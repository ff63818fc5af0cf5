"""What people did, kept durably: notices, alert acknowledgements, decisions, kiosk
heartbeats, the audit log and citizens' reports.

One SQLite file (WAL, synchronous=FULL) beside the history, so a published notice or an
acknowledged alert survives a restart or a ``kill -9``. Every write is one transaction.
With the server backend the same records live in PostgreSQL, shared by every app server
(``cockpit.state.postgres_journal``).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cockpit.state.sql import (
    NOTICE_ADDED_COLUMNS,
    NOTICE_COLUMNS,
    SQLITE,
    SqlJournal,
    epoch,
    notices_from_rows,
)
from cockpit.state.sqlite_wal import SqliteFile, immediate
from cockpit.storage import (
    SEVERITIES,
    Acknowledgement,
    AuditEvent,
    Decision,
    Heartbeat,
    Notice,
    check_decision,
    check_notice,
)

__all__ = [
    "NOTICE_COLUMNS",
    "SEVERITIES",
    "Acknowledgement",
    "AuditEvent",
    "Decision",
    "Heartbeat",
    "Journal",
    "Notice",
    "check_decision",
    "check_notice",
    "notices_from_rows",
]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS notices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created INTEGER NOT NULL,
    author TEXT NOT NULL,
    severity TEXT NOT NULL,
    starts INTEGER NOT NULL,
    expires INTEGER NOT NULL,
    texts TEXT NOT NULL,
    withdrawn INTEGER,
    withdrawn_by TEXT,
    kiosks TEXT NOT NULL DEFAULT '',
    approved_by TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS acknowledgements (
    alert_key TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    time INTEGER NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS heartbeats (
    kiosk_id TEXT PRIMARY KEY,
    time INTEGER NOT NULL,
    info TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL,
    address TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO counters VALUES ('version', 0);
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created INTEGER NOT NULL,
    author TEXT NOT NULL,
    what TEXT NOT NULL,
    place TEXT NOT NULL,
    effective INTEGER NOT NULL,
    kpis TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rules (
    id TEXT PRIMARY KEY,
    spec TEXT NOT NULL,
    updated INTEGER NOT NULL,
    updated_by TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    channel TEXT NOT NULL,
    kind TEXT NOT NULL,
    alert_keys TEXT NOT NULL,
    rule TEXT NOT NULL,
    body TEXT NOT NULL,
    created INTEGER NOT NULL,
    due INTEGER NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    sent INTEGER
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (status, due);
CREATE TABLE IF NOT EXISTS reports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    code TEXT NOT NULL UNIQUE,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    category TEXT NOT NULL,
    text TEXT NOT NULL,
    lat REAL,
    lon REAL,
    site_id TEXT NOT NULL DEFAULT '',
    language TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    answer TEXT NOT NULL DEFAULT '',
    merged_into TEXT NOT NULL DEFAULT '',
    link TEXT NOT NULL DEFAULT '',
    photo BLOB
);
CREATE INDEX IF NOT EXISTS reports_created ON reports (created);
"""


class Journal(SqliteFile, SqlJournal):
    """Durable records of people's actions, in ``<data dir>/journal.sqlite``."""

    dialect = SQLITE
    counters = "counters"
    # A replaced row gets a new rowid, so a plain scan lists acknowledgements in the
    # order they were last made.
    acknowledge_sql = "INSERT OR REPLACE INTO acknowledgements VALUES (?, ?, ?, ?)"
    acknowledgement_order = ""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        # synchronous=FULL: a published notice is never lost.
        super().__init__(Path(directory) / "journal.sqlite", synchronous="FULL")
        db = self._connect()
        db.executescript(_SCHEMA)  # commits by itself
        # A journal written before notices named their kiosks and approvers gains the
        # columns (empty: every kiosk, not yet approved).
        have = {row[1] for row in db.execute("PRAGMA table_info(notices)")}
        for name, declaration in NOTICE_ADDED_COLUMNS:
            if name not in have:
                db.execute(f"ALTER TABLE notices ADD COLUMN {name} {declaration}")
                if name == "approved_by":  # emergencies already showing stay shown
                    db.execute("UPDATE notices SET approved_by = author")
        db.commit()

    def beat(self, kiosk_id: str, info: dict[str, Any], now: datetime | None = None) -> None:
        """A kiosk's sign of life, with what it shows (screen, language, data version).

        Heartbeats come with every kiosk refresh and the next one replaces this one, so
        they skip the disk sync that notices and acknowledgements get."""
        db = self._connect()
        db.execute("PRAGMA synchronous=NORMAL")
        try:
            with immediate(db) as tx:
                tx.execute(
                    "INSERT OR REPLACE INTO heartbeats VALUES (?, ?, ?)",
                    (kiosk_id, epoch(now or datetime.now(UTC)), json.dumps(info)),
                )
        finally:
            db.execute("PRAGMA synchronous=FULL")
