"""What City Cockpit keeps, as the rest of the cockpit sees it: the snapshot store, the
history and the journal, declared as protocols, with the records they hand out.

The twin, the facade ``City``, the refresher and the backfill read and write state only
through these protocols; ``cockpit.state`` holds the backends that answer them (embedded
SQLite and diskcache files, or Redis and PostgreSQL servers shared by many processes) and
``cockpit.state.open_stores`` / ``open_journal`` pick one by the city config. Every
backend answers alike: same values, same order, same errors. A server backend that
cannot be reached raises ``cockpit.errors.BackendUnavailable``.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import pandas as pd

from cockpit.model import Snapshot
from cockpit.reports import Report, ReportChange
from cockpit.validate import (
    DECISION_PLACE_MAX,
    DECISION_WHAT_MAX,
    NOTICE_KIOSKS_MAX,
    NOTICE_LANGUAGES_MAX,
    NOTICE_TEXT_MAX,
    check_length,
)

__all__ = [
    "DELIVERY_STATUSES",
    "REFUSALS_KEPT_PER_HOUR",
    "SEVERITIES",
    "Acknowledgement",
    "AuditEvent",
    "Decision",
    "Delivery",
    "Heartbeat",
    "HistoryStore",
    "Journal",
    "Notice",
    "Report",
    "ReportChange",
    "SharedCache",
    "SnapshotStore",
    "SourceStatus",
    "StoredRule",
    "check_decision",
    "check_notice",
    "is_refusal",
]

# The severities of a notice, least severe first.
SEVERITIES = ("info", "warning", "emergency")

# Refused actions (a public visitor's attempt to publish, a sign-in without a token...)
# cost an attacker nothing: each kind is counted per hour, and only the first
# ``REFUSALS_KEPT_PER_HOUR`` of each kind are written to the audit log as samples.
REFUSALS_KEPT_PER_HOUR = 20


# -- what the snapshot store hands out ---------------------------------------------------


@dataclass
class SourceStatus:
    """How reading one source went: kept beside its snapshot, shown on /health."""

    source: str
    last_attempt: datetime | None = None
    last_success: datetime | None = None
    last_error: str = ""
    failures: int = 0  # consecutive failed refreshes
    fetches: int = 0  # refreshes attempted, ever (one per interval across all workers)
    rejected: int = 0
    newest_observation: datetime | None = None
    notes: list[str] = field(default_factory=list)

    def state(self, now: datetime, stale_after_s: float) -> str:
        """``ok``, ``stale`` (old data, or the last refresh failed but good data remains)
        or ``down`` (no good data at all)."""
        age = self.age_s(now)
        if age is None:  # no successful refresh yet
            return "down"
        if self.failures or age > stale_after_s:
            return "stale"
        newest = self.newest_observation
        if newest is not None and (now - newest).total_seconds() > stale_after_s:
            return "stale"
        return "ok"

    def age_s(self, now: datetime) -> float | None:
        """Seconds since the last successful refresh, or None before the first."""
        return None if self.last_success is None else (now - self.last_success).total_seconds()

    def refreshed(self, snapshot: Snapshot) -> None:
        """Note a successful refresh that brought ``snapshot``."""
        self.last_attempt = self.last_success = snapshot.fetched_at
        self.last_error = ""
        self.failures = 0
        self.fetches += 1
        self.rejected = snapshot.rejected
        self.notes = list(snapshot.notes)
        if not snapshot.observations.empty:
            self.newest_observation = snapshot.observations["time"].max().to_pydatetime()

    def failed(self, reason: str, when: datetime) -> None:
        """Note a refresh that failed at ``when`` for ``reason``."""
        self.last_attempt = when
        self.last_error = reason
        self.failures += 1
        self.fetches += 1

    def as_json(self, now: datetime, stale_after_s: float) -> dict[str, Any]:
        data = asdict(self)
        for key in ("last_attempt", "last_success", "newest_observation"):
            data[key] = data[key].isoformat() if data[key] else None
        age = self.age_s(now)
        data["age_s"] = None if age is None else round(age, 1)
        data["status"] = self.state(now, stale_after_s)
        return data


# -- what the journal hands out ----------------------------------------------------------


@dataclass(frozen=True)
class Notice:
    """A public notice for kiosks: text per language, a severity, a start and an expiry.

    ``kiosks`` says where it shows: empty for every kiosk, else targets
    ``"screen:<id>"`` (every kiosk showing that screen set, a group) and ``"kiosk:<id>"``
    (one kiosk). An emergency shows only once ``approved_by`` names who approved it
    (an executive publishing it, or a second member of staff)."""

    texts: dict[str, str]  # language -> text
    severity: str
    starts: datetime
    expires: datetime
    author: str
    id: int = 0
    created: datetime | None = None
    withdrawn: datetime | None = None
    withdrawn_by: str = ""
    kiosks: tuple[str, ...] = ()
    approved_by: str = ""

    def text(self, language: str) -> str:
        """The notice in ``language``, else in English, else in any language it has."""
        return self.texts.get(language) or self.texts.get("en") or next(iter(self.texts.values()))

    def active(self, now: datetime) -> bool:
        return self.withdrawn is None and self.starts <= now < self.expires

    @property
    def approved(self) -> bool:
        """True unless an emergency still waits for its approval."""
        return self.severity != "emergency" or bool(self.approved_by)

    def shown_on(self, kiosk: str, screen: str) -> bool:
        """True when the kiosk ``kiosk`` showing the screen set ``screen`` shows it."""
        if not self.approved:
            return False
        return (
            not self.kiosks or f"kiosk:{kiosk}" in self.kiosks or f"screen:{screen}" in self.kiosks
        )


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


# What became of a message in the outbox: waiting (perhaps held until quiet hours end, or
# until its next try), sent, or given up after its last try.
DELIVERY_STATUSES = ("pending", "sent", "failed")


@dataclass(frozen=True)
class Delivery:
    """One message in the outbox: an alert (or a digest of several, or an escalation)
    for one channel. ``key`` is unique, so a message planned twice is kept once;
    ``body`` is the message as JSON (``cockpit.notify``), formatted for the channel when
    sent. ``due`` is the earliest time of the next try."""

    key: str
    channel: str
    kind: str  # "alert", "digest" or "escalation"
    alert_keys: tuple[str, ...]
    rule: str
    body: str
    created: datetime
    due: datetime
    status: str = "pending"
    attempts: int = 0
    last_error: str = ""
    sent: datetime | None = None
    id: int = 0


@dataclass(frozen=True)
class StoredRule:
    """An alert rule written on the ``/rules`` page: its id, its settings as JSON
    (a ``RuleConfig``), and who changed it last and when."""

    id: str
    spec: str
    updated: datetime
    updated_by: str


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
    if len(notice.kiosks) > NOTICE_KIOSKS_MAX:
        raise ValueError(f"a notice may name at most {NOTICE_KIOSKS_MAX} kiosks or groups")
    for target in notice.kiosks:
        kind, _, name = target.partition(":")
        if kind not in ("kiosk", "screen") or not name:
            raise ValueError(f"a notice's kiosk is 'kiosk:<id>' or 'screen:<id>', not {target!r}")
        check_length(target, "a kiosk target", 80)


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


# -- the protocols -----------------------------------------------------------------------


class SharedCache(Protocol):
    """Small values shared by every process of a city, each with an optional expiry
    (sessions, sign-in failure counts): ``diskcache.Cache`` or the Redis backend's cache."""

    def get(self, key: str, default: Any = None) -> Any:
        """The value under ``key``, or ``default`` when it is missing or expired."""
        ...

    def set(self, key: str, value: Any, expire: float | None = None) -> Any:
        """Keep ``value`` under ``key`` for ``expire`` seconds (None: until replaced)."""
        ...

    def add(self, key: str, value: Any, expire: float | None = None) -> bool:
        """Keep ``value`` under ``key`` only if the key is missing; True when it was kept
        (the first process of the city to set it wins)."""
        ...

    def delete(self, key: str) -> Any:
        """Forget ``key``; a missing key is no error."""
        ...

    def transact(self) -> AbstractContextManager[Any]:
        """A block inside which read-modify-write sequences run one at a time across all
        processes of the city."""
        ...


@runtime_checkable
class SnapshotStore(Protocol):
    """The latest good snapshot and the refresh status of each source, the data version
    and short refresh leases, shared by every process of a city."""

    @property
    def cache(self) -> SharedCache:
        """The city's shared cache of small expiring values (sessions, sign-in limits)."""
        ...

    def version(self) -> int:
        """The current data version: an integer that grows whenever any source brings
        new data or a refresh fails, 0 before the first; browsers compare it to skip
        unchanged refreshes."""
        ...

    def claim(self, key: str, ttl_s: float, owner: str = "") -> bool:
        """Take the lease ``key`` for ``ttl_s`` seconds in the name of ``owner`` (default:
        this process); True when taken, False while someone else holds it."""
        ...

    def renew(self, key: str, ttl_s: float, owner: str) -> bool:
        """Extend the lease ``key`` held by ``owner`` to ``ttl_s`` seconds from now, in one
        atomic step; False (and nothing changed) when it lapsed or another holds it."""
        ...

    def release(self, key: str) -> None:
        """Give up the lease ``key`` before it expires; releasing a free lease is no
        error."""
        ...

    def snapshot(self, source: str) -> Snapshot | None:
        """The last good snapshot of ``source``, or None before the first."""
        ...

    def status(self, source: str) -> SourceStatus:
        """How reading ``source`` went; a fresh ``SourceStatus`` before the first refresh."""
        ...

    def put_snapshot(self, snapshot: Snapshot) -> None:
        """Keep ``snapshot`` as its source's last good one and mark the source refreshed
        (failures reset, fetches counted, newest observation noted), in one atomic step;
        bumps the data version."""
        ...

    def record_failure(self, source: str, reason: str, when: datetime | None = None) -> None:
        """Note a failed refresh of ``source`` at ``when`` (default: now) for ``reason``.
        The last good snapshot stays and the source turns stale; bumps the data version."""
        ...

    def close(self) -> None:
        """Let go of files and connections; the store is not used afterwards."""
        ...


@runtime_checkable
class HistoryStore(Protocol):
    """Every observation kept, once, for ``retention_days``, with hourly rollups (count,
    mean, min, max per site, metric and hour) kept longer; and named marks that record
    what has been done (backfilled chunks, reference values)."""

    def append(self, observations: pd.DataFrame) -> int:
        """Add a canonical observation frame; rows already stored are skipped. The hourly
        rollups of the hours offered are updated, then raw rows older than the retention
        and rollups older than the rollup period are dropped. Returns the number of rows
        offered."""
        ...

    def window(
        self, site_ids: list[str], start: datetime, end: datetime, metric: str | None = None
    ) -> pd.DataFrame:
        """Observations of ``site_ids`` (of ``metric`` only, when given) with
        ``start <= time < end``, oldest first, as a canonical frame (empty when none)."""
        ...

    def source_window(
        self, source: str, metric: str, start: datetime, end: datetime
    ) -> pd.DataFrame:
        """Observations of ``metric`` at all sites of ``source`` (ids ``"<source>:..."``)
        with ``start <= time < end``, oldest first, as a canonical frame."""
        ...

    def hourly(
        self, site_ids: list[str], start: datetime, end: datetime, metric: str | None = None
    ) -> pd.DataFrame:
        """Hourly means of ``site_ids`` from the rollups, as a canonical frame stamped at
        each hour's start, ``start <= time < end``, oldest first."""
        ...

    def source_hourly(
        self, source: str, metric: str, start: datetime, end: datetime
    ) -> pd.DataFrame:
        """Hourly means of ``metric`` at all sites of ``source``, as ``hourly`` gives them."""
        ...

    def purge_source(self, source: str, before: datetime) -> int:
        """Delete the observations of ``source`` older than ``before`` and its rollups of
        hours that began before it (a shorter retention for one source). Returns the
        number of observations deleted."""
        ...

    def mark(self, key: str) -> str | None:
        """The value of the mark ``key``, or None when it was never set."""
        ...

    def set_mark(self, key: str, value: str) -> None:
        """Set the mark ``key`` to ``value``, replacing what it held."""
        ...

    def close(self) -> None:
        """Let go of files and connections; the history is not used afterwards."""
        ...


@runtime_checkable
class Journal(Protocol):
    """What people did, kept durably and shared by every process of a city: notices,
    alert acknowledgements, decisions, kiosk heartbeats, the audit log and citizens'
    reports. Every write is
    one transaction; times are kept to the whole second."""

    def version(self) -> int:
        """An integer that grows whenever a notice, an acknowledgement or a decision is
        written, so screens re-read them only then."""
        ...

    def publish(self, notice: Notice, now: datetime | None = None) -> int:
        """Keep ``notice``, created at ``now`` (default: now); returns its new id. Raises
        ValueError, keeping nothing, for a notice ``check_notice`` refuses."""
        ...

    def withdraw(self, notice_id: int, by: str, now: datetime | None = None) -> bool:
        """Withdraw the notice ``notice_id`` in the name of ``by``; False when there is
        no such notice not yet withdrawn."""
        ...

    def approve(self, notice_id: int, by: str, now: datetime | None = None) -> bool:
        """Approve the notice ``notice_id`` in the name of ``by``; False when there is no
        such notice waiting for approval, or ``by`` is its author (two people approve)."""
        ...

    def notices(self, now: datetime | None = None, include_inactive: bool = False) -> list[Notice]:
        """The notices active at ``now`` (default: now), the most severe first, newest
        first within a severity; with ``include_inactive`` every notice, newest first."""
        ...

    def acknowledge(
        self, alert_key: str, user: str, now: datetime | None = None, note: str = ""
    ) -> None:
        """Note that ``user`` acknowledged the alert ``alert_key`` at ``now`` (default:
        now), replacing an earlier acknowledgement of it."""
        ...

    def acknowledgements(self) -> dict[str, Acknowledgement]:
        """Every acknowledgement by alert key, in the order they were last made."""
        ...

    def beat(self, kiosk_id: str, info: dict[str, Any], now: datetime | None = None) -> None:
        """A kiosk's sign of life at ``now`` (default: now) with what it shows; replaces
        its previous heartbeat. Need not wait for the disk, unlike the other writes."""
        ...

    def heartbeats(self) -> list[Heartbeat]:
        """The last heartbeat of every kiosk, by kiosk id."""
        ...

    def audit(
        self,
        actor: str,
        action: str,
        detail: str = "",
        address: str = "",
        now: datetime | None = None,
    ) -> None:
        """Record a sign-in, a failed sign-in or a state-changing action of ``actor``
        from ``address`` at ``now`` (default: now). Texts are cut to their limits
        (``cockpit.validate``); a refusal (``is_refusal``) is counted in its hour, and
        beyond ``REFUSALS_KEPT_PER_HOUR`` of one kind in one hour only counted."""
        ...

    def audit_log(self, limit: int = 200, action: str | None = None) -> list[AuditEvent]:
        """The newest ``limit`` audit events (all of them for a negative limit), newest
        first; only those of ``action`` when given."""
        ...

    def refusals(self, since: datetime) -> dict[str, int]:
        """How many refusals of each kind were counted from ``since``'s hour on."""
        ...

    def record_decision(self, decision: Decision, now: datetime | None = None) -> int:
        """Keep ``decision``, recorded at ``now`` (default: now); returns its new id.
        Raises ValueError, keeping nothing, for a decision ``check_decision`` refuses."""
        ...

    def decisions(self) -> list[Decision]:
        """Every decision, the latest to take effect first (those of the same second in
        the order they were recorded)."""
        ...

    def put_rule(self, rule: StoredRule) -> None:
        """Keep ``rule``, replacing an earlier rule of its id."""
        ...

    def rules(self) -> list[StoredRule]:
        """Every rule written on the ``/rules`` page, by id."""
        ...

    def enqueue(self, deliveries: list[Delivery]) -> int:
        """Add ``deliveries`` to the outbox, in one transaction; one whose key is there
        already is skipped. Returns how many were added."""
        ...

    def outbox(
        self,
        limit: int = 200,
        since: datetime | None = None,
        status: str | None = None,
        due_by: datetime | None = None,
    ) -> list[Delivery]:
        """The newest ``limit`` deliveries (all for a negative limit), newest first;
        only those created from ``since``, of ``status``, or due by ``due_by`` when
        given."""
        ...

    def delivery_done(
        self,
        delivery_id: int,
        now: datetime,
        error: str = "",
        retry_at: datetime | None = None,
    ) -> None:
        """Note a try of the delivery ``delivery_id`` at ``now``: sent when ``error`` is
        empty; else failed with ``error``, tried again at ``retry_at`` (None: given up)."""

    def file_report(self, report: Report, now: datetime | None = None) -> int:
        """Keep a citizen's ``report`` (its photo already cleaned), made at ``now``
        (default: now); returns its new id. Raises ValueError, keeping nothing, for a
        report ``cockpit.reports.check_report`` refuses or whose code is taken."""
        ...

    def report(self, code: str, photo: bool = False) -> Report | None:
        """The report ``code``, or None; with its photo's bytes when ``photo``."""
        ...

    def reports(
        self, statuses: tuple[str, ...] = (), limit: int = 200, since: datetime | None = None
    ) -> list[Report]:
        """The newest ``limit`` reports (of ``statuses`` only, when given; made at or after
        ``since``, when given), newest first, without their photos' bytes."""
        ...

    def change_report(
        self, code: str, change: ReportChange, now: datetime | None = None
    ) -> Report | None:
        """Apply a moderator's ``change`` to the report ``code`` at ``now`` (default:
        now); the report as changed, or None when there is no such report. Raises
        ValueError, changing nothing, when the result would be refused or a report is
        merged into one that does not exist."""
        ...

    def purge_reports(self, before: datetime) -> int:
        """Delete the reports made before ``before``, photos and all; returns how many."""
        ...

    def close(self) -> None:
        """Let go of files and connections; the journal is not used afterwards."""
        ...
