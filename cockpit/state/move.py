"""Moving a city's embedded data to its server backends.

A city that outgrows one machine switches ``[backend] kind`` to ``"server"``.
``move_embedded_data`` copies what its data directory holds into the PostgreSQL schema
the server config names: the history (raw observations; the hourly rollups baselines and
year-on-year comparisons read, kept longer than the raw rows; the marks of finished
backfills) and the journal (notices, acknowledgements, kiosk heartbeats, the audit log
and decisions, each with its id, its times and who did it).

The embedded files are opened read-only, not through ``HistoryStore`` and ``Journal``,
whose opening may upgrade a file's schema: they stay exactly as they were, the city's
fallback. Rows go over in batches, each batch in its own transaction, and rows already
on the server are kept, so running the move again adds only what is new.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from contextlib import ExitStack, closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from cockpit.config import CityConfig
from cockpit.errors import BackendUnavailable, ConfigError, MoveError
from cockpit.state import open_history, open_journal
from cockpit.state.postgres import shown_dsn
from cockpit.state.postgres_history import PostgresHistory
from cockpit.state.postgres_journal import PostgresJournal
from cockpit.state.sql import NOTICE_COLUMNS, OUTBOX_COLUMNS, REPORT_IMPORT_COLUMNS

__all__ = ["KINDS", "MoveReport", "MoveStep", "Moved", "move_embedded_data"]

# The file names ``HistoryStore`` and ``Journal`` give their files in a data directory.
HISTORY_FILE = "history.sqlite"
JOURNAL_FILE = "journal.sqlite"

# What is moved, in the order it is moved: the journal first, whose ids may be taken on a
# server already in use, then the history, its marks last, so that a move cut short
# never tells the server's workers a backfill is done before its rows are there.
KINDS = (
    "audit_events",
    "notices",
    "decisions",
    "alert_rules",
    "outbox",
    "acknowledgements",
    "heartbeats",
    "reports",
    "hourly",
    "observations",
    "marks",
)
_LABELS = {
    "audit_events": "audit events",
    "alert_rules": "alert rules",
    "outbox": "alert messages",
    "hourly": "hourly rollups",
}


def _label(kind: str) -> str:
    return _LABELS.get(kind, kind)


@dataclass
class Moved:
    """Rows of one kind: how many the embedded files hold, and how many of them were new
    on the server (the others were there already)."""

    rows: int = 0
    added: int = 0


@dataclass(frozen=True)
class MoveStep:
    """One batch moved, for a progress display."""

    kind: str  # one of KINDS
    rows: int  # rows in this batch
    done: int  # rows of this kind moved so far
    total: int  # rows of this kind in the embedded file

    @property
    def label(self) -> str:
        """The kind as a person reads it."""
        return _label(self.kind)


@dataclass
class MoveReport:
    """What a move did, per kind of record."""

    directory: Path
    target: str  # the PostgreSQL server (without password) and schema written to
    audit_events: Moved = field(default_factory=Moved)
    notices: Moved = field(default_factory=Moved)
    decisions: Moved = field(default_factory=Moved)
    alert_rules: Moved = field(default_factory=Moved)
    outbox: Moved = field(default_factory=Moved)
    acknowledgements: Moved = field(default_factory=Moved)
    heartbeats: Moved = field(default_factory=Moved)
    reports: Moved = field(default_factory=Moved)
    hourly: Moved = field(default_factory=Moved)
    observations: Moved = field(default_factory=Moved)
    marks: Moved = field(default_factory=Moved)

    def lines(self) -> list[str]:
        """The report as lines of text, one per kind."""
        out = [f"moved {self.directory} to {self.target}"]
        for kind in KINDS:
            moved: Moved = getattr(self, kind)
            out.append(f"  {_label(kind)}: {moved.rows:,} copied, {moved.added:,} of them new")
        return out


@dataclass(frozen=True)
class _Step:
    kind: str
    file: str
    table: str
    select: str
    write: Callable[[Sequence[Sequence[Any]]], int]
    # What reads a file written before the table gained its newest columns.
    older: str = ""


def move_embedded_data(
    directory: Path,
    config: CityConfig,
    progress: Callable[[MoveStep], None] | None = None,
    batch_rows: int = 10_000,
) -> MoveReport:
    """Copy the embedded history and journal in ``directory`` (``history.sqlite``,
    ``journal.sqlite``) into the PostgreSQL schema of ``config``'s server backend,
    ``batch_rows`` rows per transaction; ``progress`` is called after each batch.

    Returns a ``MoveReport``: per kind, the rows copied and how many were new there.
    Raises ``ConfigError`` when ``config`` does not select the server backend;
    ``MoveError`` when ``directory`` holds no embedded data or a file there cannot be
    read, or when the server's journal already holds other records under ids the
    embedded journal uses; ``BackendUnavailable`` when PostgreSQL cannot be reached or
    fails on the way (naming its DSN without the password). The files in ``directory``
    are only read.
    """
    if config.backend.kind != "server":
        raise ConfigError(
            config.file or "(city config)",
            "backend.kind",
            f"is {config.backend.kind!r}; moving data needs the config of the server "
            "backend the data goes to (kind = 'server')",
        )
    if batch_rows < 1:
        raise ValueError("batch_rows must be at least 1")
    directory = Path(directory)
    present = [name for name in (HISTORY_FILE, JOURNAL_FILE) if (directory / name).is_file()]
    if not present:
        raise MoveError(
            f"{directory}: no embedded data here (neither {HISTORY_FILE} nor "
            f"{JOURNAL_FILE}); give the data directory the city's app used "
            "(storage.data_dir, or --data-dir when it was started)"
        )
    dsn, schema = config.backend.postgres_dsn, config.backend.postgres_schema
    report = MoveReport(directory, f"PostgreSQL {shown_dsn(dsn)}, schema {schema}")
    with ExitStack() as stack:
        history, journal = _open_server(config)
        stack.callback(history.close)
        stack.callback(journal.close)
        files = {
            name: stack.enter_context(closing(_read_only(directory / name))) for name in present
        }
        steps = [
            _Step(
                "audit_events",
                JOURNAL_FILE,
                "audit",
                "SELECT id, time, actor, action, detail, address FROM audit",
                journal.import_audit,
            ),
            _Step(
                "notices",
                JOURNAL_FILE,
                "notices",
                f"SELECT {NOTICE_COLUMNS} FROM notices",
                journal.import_notices,
                # Before notices named kiosks and approvers: every kiosk, and shown
                # emergencies stay shown (their author approved them).
                "SELECT id, created, author, severity, starts, expires, texts, withdrawn,"
                " withdrawn_by, '' AS kiosks, author AS approved_by FROM notices",
            ),
            _Step(
                "decisions",
                JOURNAL_FILE,
                "decisions",
                "SELECT id, created, author, what, place, effective, kpis FROM decisions",
                journal.import_decisions,
            ),
            _Step(
                "alert_rules",
                JOURNAL_FILE,
                "rules",
                "SELECT id, spec, updated, updated_by FROM rules",
                journal.import_rules,
            ),
            _Step(
                "outbox",
                JOURNAL_FILE,
                "outbox",
                f"SELECT {OUTBOX_COLUMNS} FROM outbox ORDER BY id",
                journal.import_outbox,
            ),
            _Step(
                "acknowledgements",
                JOURNAL_FILE,
                "acknowledgements",
                # in the order they were last made: a renewed one is a new row
                "SELECT alert_key, user, time, note FROM acknowledgements ORDER BY rowid",
                journal.import_acknowledgements,
            ),
            _Step(
                "heartbeats",
                JOURNAL_FILE,
                "heartbeats",
                "SELECT kiosk_id, time, info FROM heartbeats",
                journal.import_heartbeats,
            ),
            _Step(
                "reports",
                JOURNAL_FILE,
                "reports",
                f"SELECT {REPORT_IMPORT_COLUMNS} FROM reports",
                journal.import_reports,
            ),
            _Step(
                "hourly",
                HISTORY_FILE,
                "hourly",
                "SELECT site_id, metric, hour, n, total, low, high FROM hourly",
                history.import_hourly,
            ),
            _Step(
                "observations",
                HISTORY_FILE,
                "observations",
                "SELECT site_id, metric, time, value FROM observations",
                history.import_observations,
            ),
            _Step(
                "marks", HISTORY_FILE, "marks", "SELECT key, value FROM marks", history.import_marks
            ),
        ]
        for step in steps:
            if step.file not in files:
                continue
            try:
                _move(step, files[step.file], getattr(report, step.kind), progress, batch_rows)
            except sqlite3.Error as exc:
                raise MoveError(f"{directory / step.file}: cannot be read: {exc}") from None
            except (BackendUnavailable, psycopg.Error) as exc:
                raise _unavailable(exc, dsn, f" while moving {_label(step.kind)}") from None
    return report


def _move(
    step: _Step,
    db: sqlite3.Connection,
    moved: Moved,
    progress: Callable[[MoveStep], None] | None,
    batch_rows: int,
) -> None:
    """One kind of record, batch by batch, counted into ``moved``."""
    if not db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (step.table,)
    ).fetchone():
        return  # a file from before this kind of record was kept
    total = int(db.execute(f"SELECT COUNT(*) FROM {step.table}").fetchone()[0])
    # One statement reads one snapshot of the file, streamed, never all of it at once.
    try:
        cursor = db.execute(step.select)
    except sqlite3.OperationalError:
        if not step.older:
            raise
        cursor = db.execute(step.older)
    while batch := cursor.fetchmany(batch_rows):
        try:
            moved.added += step.write(batch)
        except ValueError as exc:  # an id the server's journal gave another record
            raise MoveError(
                f"the server's journal is in use already: {exc}; move the embedded data "
                "before the city's app servers write to the server, or into a new "
                "backend.postgres_schema"
            ) from None
        moved.rows += len(batch)
        if progress is not None:
            progress(MoveStep(step.kind, len(batch), moved.rows, total))


def _read_only(path: Path) -> sqlite3.Connection:
    """A connection that reads ``path`` and never writes it (mode=ro: SQLite still reads
    a write-ahead log the app left behind)."""
    try:
        return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error as exc:
        raise MoveError(f"{path}: cannot be opened: {exc}") from None


def _open_server(config: CityConfig) -> tuple[PostgresHistory, PostgresJournal]:
    """The server history and journal of ``config``, as the app opens them (the move
    needs no Redis)."""
    dsn = config.backend.postgres_dsn
    try:
        conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        raise ConfigError(
            config.file or "(city config)",
            "backend.postgres_dsn",
            "is not a PostgreSQL connection string (e.g. postgresql://user@host:5432/database)",
        ) from None
    try:
        history = open_history(config, Path())
        try:
            journal = open_journal(config, Path())
        except BaseException:
            history.close()
            raise
    except (BackendUnavailable, psycopg.Error) as exc:
        raise _unavailable(exc, dsn, "") from None
    assert isinstance(history, PostgresHistory) and isinstance(journal, PostgresJournal)
    return history, journal


def _unavailable(exc: Exception, dsn: str, doing: str) -> BackendUnavailable:
    """``exc`` as one line that names the server, without its password."""
    said = _one_line(exc)
    if not isinstance(exc, BackendUnavailable):
        said = f"PostgreSQL refused a request{doing}: {said}"
    return BackendUnavailable(f"{said} (backend.postgres_dsn: {shown_dsn(dsn)})")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())
