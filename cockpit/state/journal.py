"""What people did, kept durably: notices, alert acknowledgements, decisions, kiosk
heartbeats and the audit log.

One SQLite file (WAL, synchronous=FULL) beside the history, so a published notice or an
acknowledged alert survives a restart or a ``kill -9``. Every write is one transaction.
With the server backend the same records live in PostgreSQL, shared by every app server
(``cockpit.state.postgres_journal``).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cockpit.state.sqlite_wal import connect_wal
from cockpit.validate import (
    AUDIT_DETAIL_MAX,
    DECISION_PLACE_MAX,
    DECISION_WHAT_MAX,
    NOTICE_LANGUAGES_MAX,
    NOTICE_TEXT_MAX,
    check_length,
    clip,
)

__all__ = [
    "Acknowledgement",
    "AuditEvent",
    "Decision",
    "Heartbeat",
    "Journal",
    "Notice",
    "audit_row",
    "check_decision",
    "check_notice",
    "is_refusal",
    "notices_from_rows",
    "refusal_key",
]

SEVERITIES = ("info", "warning", "emergency")

# Refused actions (a public visitor's attempt to publish, a sign-in without a token...)
# cost an attacker nothing: each kind is counted per hour, and only the first
# ``REFUSALS_KEPT_PER_HOUR`` of each kind are written to the audit log as samples.
REFUSALS_KEPT_PER_HOUR = 20
_REFUSAL_PREFIX = "refused:"

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
    withdrawn_by TEXT
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
"""


def _ts(when: datetime) -> int:
    return int(when.timestamp())


def _dt(seconds: int | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


@dataclass(frozen=True)
class Notice:
    """A public notice for kiosks: text per language, a severity, a start and an expiry."""

    texts: dict[str, str]  # language -> text
    severity: str
    starts: datetime
    expires: datetime
    author: str
    id: int = 0
    created: datetime | None = None
    withdrawn: datetime | None = None
    withdrawn_by: str = ""

    def text(self, language: str) -> str:
        """The notice in ``language``, else in English, else in any language it has."""
        return self.texts.get(language) or self.texts.get("en") or next(iter(self.texts.values()))

    def active(self, now: datetime) -> bool:
        return self.withdrawn is None and self.starts <= now < self.expires


@dataclass(frozen=True)
class Acknowledgement:
    alert_key: str
    user: str
    time: datetime
    note: str = ""


@dataclass(frozen=True)
class Heartbeat:
    kiosk_id: str
    time: datetime
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditEvent:
    time: datetime
    actor: str
    action: str
    detail: str
    address: str
    id: int = 0


@dataclass(frozen=True)
class Decision:
    """An intervention an executive recorded, e.g. "bus lane opened on Swanston St"."""

    what: str
    place: str
    effective: datetime
    author: str
    kpis: list[str] = field(default_factory=list)
    id: int = 0
    created: datetime | None = None


def check_notice(notice: Notice) -> None:
    """Raises ValueError for a notice no kiosk could show: an unknown severity, no text in
    any language, a text longer than ``NOTICE_TEXT_MAX``, too many languages, or an expiry
    not after its start."""
    if len(notice.texts) > NOTICE_LANGUAGES_MAX:
        raise ValueError(f"a notice may have at most {NOTICE_LANGUAGES_MAX} languages")
    for language, text in notice.texts.items():
        check_length(str(language), "a language code", 16)
        check_length(text, f"the notice text ({language})", NOTICE_TEXT_MAX)
    if notice.severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {SEVERITIES}, not {notice.severity!r}")
    if not any(t.strip() for t in notice.texts.values()):
        raise ValueError("a notice needs text in at least one language")
    if notice.expires <= notice.starts:
        raise ValueError("a notice must expire after it starts")


def check_decision(decision: Decision) -> None:
    """Raises ValueError for a decision that does not say what was done, or says it (or
    where) at more than ``DECISION_WHAT_MAX`` (``DECISION_PLACE_MAX``) characters."""
    if not decision.what.strip():
        raise ValueError("a decision needs a description of what was done")
    check_length(decision.what, "what was done", DECISION_WHAT_MAX)
    check_length(decision.place, "the place", DECISION_PLACE_MAX)
    if len(decision.kpis) > 50:
        raise ValueError("a decision may name at most 50 indicators")


def is_refusal(action: str) -> bool:
    """True for an action that records something refused ("notice refused", ...)."""
    return action.endswith(" refused")


def refusal_key(action: str, when: datetime) -> str:
    """The counter that counts refusals of ``action`` in ``when``'s hour."""
    return f"{_REFUSAL_PREFIX}{_ts(when) // 3600}:{action}"


def refusals_from_counters(rows: Iterable[Sequence[Any]], since: datetime) -> dict[str, int]:
    """Refusals per action since ``since``'s hour, from ``(name, value)`` counter rows."""
    first_hour = _ts(since) // 3600
    out: dict[str, int] = {}
    for name, value in rows:
        hour, _, action = str(name).removeprefix(_REFUSAL_PREFIX).partition(":")
        if str(name).startswith(_REFUSAL_PREFIX) and hour.isdigit() and int(hour) >= first_hour:
            out[action] = out.get(action, 0) + int(value)
    return out


def audit_row(
    actor: str, action: str, detail: str, address: str, when: datetime
) -> tuple[int, str, str, str, str]:
    """An audit entry as stored: time, then each text cut to its length limit, so a
    5 kB id in a refused request stores a few hundred characters of it."""
    return (
        _ts(when),
        clip(actor, 100),
        clip(action, 64),
        clip(detail, AUDIT_DETAIL_MAX),
        clip(address, 64),
    )


# The columns ``notices_from_rows`` reads, in its order.
NOTICE_COLUMNS = "id, created, author, severity, starts, expires, texts, withdrawn, withdrawn_by"


def notices_from_rows(
    rows: Iterable[Sequence[Any]], now: datetime | None, include_inactive: bool
) -> list[Notice]:
    """Notices from rows of ``NOTICE_COLUMNS``, newest first: those active at ``now``,
    the most severe first, or all of them with ``include_inactive``."""
    out = [
        Notice(
            texts=json.loads(texts),
            severity=severity,
            starts=_dt(starts) or datetime.min.replace(tzinfo=UTC),
            expires=_dt(expires) or datetime.min.replace(tzinfo=UTC),
            author=author,
            id=int(nid),
            created=_dt(created),
            withdrawn=_dt(withdrawn),
            withdrawn_by=withdrawn_by or "",
        )
        for nid, created, author, severity, starts, expires, texts, withdrawn, withdrawn_by in rows
    ]
    if include_inactive:
        return out
    moment = now or datetime.now(UTC)
    active = [n for n in out if n.active(moment)]
    return sorted(active, key=lambda n: -SEVERITIES.index(n.severity))


class Journal:
    """Durable records of people's actions, in ``<data dir>/journal.sqlite``."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.path = Path(directory) / "journal.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._connect().executescript(_SCHEMA)  # commits by itself

    def _connect(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = connect_wal(self.path, synchronous="FULL")  # a published notice is never lost
            self._local.db = db
        return db

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        db = self._connect()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    def version(self) -> int:
        """Changes whenever a notice, an acknowledgement or a decision is written, so
        screens re-read them only then."""
        row = self._connect().execute("SELECT value FROM counters WHERE name = 'version'")
        return int(row.fetchone()[0])

    @staticmethod
    def _bump(db: sqlite3.Connection) -> None:
        db.execute("UPDATE counters SET value = value + 1 WHERE name = 'version'")

    # -- notices ---------------------------------------------------------------------
    def publish(self, notice: Notice, now: datetime | None = None) -> int:
        """Store a notice; returns its id. Raises ValueError for an unusable notice."""
        check_notice(notice)
        created = now or datetime.now(UTC)
        with self._write() as db:
            cur = db.execute(
                "INSERT INTO notices (created, author, severity, starts, expires, texts)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    _ts(created),
                    notice.author,
                    notice.severity,
                    _ts(notice.starts),
                    _ts(notice.expires),
                    json.dumps(notice.texts, ensure_ascii=False),
                ),
            )
            self._bump(db)
            return int(cur.lastrowid or 0)

    def withdraw(self, notice_id: int, by: str, now: datetime | None = None) -> bool:
        """Withdraw a notice; False when there is no such active notice."""
        with self._write() as db:
            cur = db.execute(
                "UPDATE notices SET withdrawn = ?, withdrawn_by = ?"
                " WHERE id = ? AND withdrawn IS NULL",
                (_ts(now or datetime.now(UTC)), by, notice_id),
            )
            self._bump(db)
            return cur.rowcount == 1

    def notices(self, now: datetime | None = None, include_inactive: bool = False) -> list[Notice]:
        """Notices active at ``now`` (all, newest first, with ``include_inactive``),
        the most severe first."""
        rows = self._connect().execute(f"SELECT {NOTICE_COLUMNS} FROM notices ORDER BY id DESC")
        return notices_from_rows(rows, now, include_inactive)

    # -- alert acknowledgements -----------------------------------------------------
    def acknowledge(
        self, alert_key: str, user: str, now: datetime | None = None, note: str = ""
    ) -> None:
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO acknowledgements VALUES (?, ?, ?, ?)",
                (alert_key, user, _ts(now or datetime.now(UTC)), note),
            )
            self._bump(db)

    def acknowledgements(self) -> dict[str, Acknowledgement]:
        rows = self._connect().execute("SELECT alert_key, user, time, note FROM acknowledgements")
        return {
            key: Acknowledgement(key, user, _dt(t) or datetime.min.replace(tzinfo=UTC), note)
            for key, user, t, note in rows
        }

    # -- kiosk heartbeats -----------------------------------------------------------
    def beat(self, kiosk_id: str, info: dict[str, Any], now: datetime | None = None) -> None:
        """A kiosk's sign of life, with what it shows (screen, language, data version).

        Heartbeats come with every kiosk refresh and the next one replaces this one, so
        they skip the disk sync that notices and acknowledgements get."""
        db = self._connect()
        db.execute("PRAGMA synchronous=NORMAL")
        try:
            with self._write() as tx:
                tx.execute(
                    "INSERT OR REPLACE INTO heartbeats VALUES (?, ?, ?)",
                    (kiosk_id, _ts(now or datetime.now(UTC)), json.dumps(info)),
                )
        finally:
            db.execute("PRAGMA synchronous=FULL")

    def heartbeats(self) -> list[Heartbeat]:
        rows = self._connect().execute(
            "SELECT kiosk_id, time, info FROM heartbeats ORDER BY kiosk_id"
        )
        return [
            Heartbeat(k, _dt(t) or datetime.min.replace(tzinfo=UTC), json.loads(i))
            for k, t, i in rows
        ]

    # -- audit log ------------------------------------------------------------------
    def audit(
        self,
        actor: str,
        action: str,
        detail: str = "",
        address: str = "",
        now: datetime | None = None,
    ) -> None:
        """Record a sign-in, a failed sign-in or a state-changing action. Texts are cut
        to their limits; refusals beyond ``REFUSALS_KEPT_PER_HOUR`` of one kind in one
        hour are only counted (``refusals``)."""
        when = now or datetime.now(UTC)
        with self._write() as db:
            if is_refusal(action):
                key = refusal_key(clip(action, 64), when)
                db.execute(
                    "INSERT INTO counters VALUES (?, 1)"
                    " ON CONFLICT(name) DO UPDATE SET value = value + 1",
                    (key,),
                )
                count = db.execute("SELECT value FROM counters WHERE name = ?", (key,))
                if int(count.fetchone()[0]) > REFUSALS_KEPT_PER_HOUR:
                    return
            db.execute(
                "INSERT INTO audit (time, actor, action, detail, address) VALUES (?, ?, ?, ?, ?)",
                audit_row(actor, action, detail, address, when),
            )

    def audit_log(self, limit: int = 200, action: str | None = None) -> list[AuditEvent]:
        """The newest ``limit`` audit entries, only those of ``action`` when given."""
        where, params = ("WHERE action = ?", (action,)) if action else ("", ())
        rows = self._connect().execute(
            "SELECT id, time, actor, action, detail, address FROM audit"
            f" {where} ORDER BY id DESC LIMIT ?",
            (*params, limit),
        )
        return [
            AuditEvent(_dt(t) or datetime.min.replace(tzinfo=UTC), a, act, d, addr, int(i))
            for i, t, a, act, d, addr in rows
        ]

    def refusals(self, since: datetime) -> dict[str, int]:
        """How many refusals of each kind were counted from ``since``'s hour on."""
        rows = self._connect().execute(
            "SELECT name, value FROM counters WHERE name LIKE ?", (_REFUSAL_PREFIX + "%",)
        )
        return refusals_from_counters(rows, since)

    # -- decision log ---------------------------------------------------------------
    def record_decision(self, decision: Decision, now: datetime | None = None) -> int:
        check_decision(decision)
        with self._write() as db:
            cur = db.execute(
                "INSERT INTO decisions (created, author, what, place, effective, kpis)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    _ts(now or datetime.now(UTC)),
                    decision.author,
                    decision.what,
                    decision.place,
                    _ts(decision.effective),
                    json.dumps(decision.kpis),
                ),
            )
            self._bump(db)
            return int(cur.lastrowid or 0)

    def decisions(self) -> list[Decision]:
        rows = self._connect().execute(
            "SELECT id, created, author, what, place, effective, kpis FROM decisions"
            " ORDER BY effective DESC"
        )
        return [
            Decision(
                what=what,
                place=place,
                effective=_dt(eff) or datetime.min.replace(tzinfo=UTC),
                author=author,
                kpis=json.loads(kpis),
                id=int(i),
                created=_dt(created),
            )
            for i, created, author, what, place, eff, kpis in rows
        ]
