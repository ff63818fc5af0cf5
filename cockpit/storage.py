"""What the upper floors may ask of state: the journal's records and the stores' interfaces.

The twin, the facade and the pages read state through these Protocols only; the embedded
(SQLite, diskcache) and server (Redis, PostgreSQL) backends in ``cockpit.state`` answer
them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import pandas as pd

__all__ = [
    "SEVERITIES",
    "Acknowledgement",
    "AuditEvent",
    "Decision",
    "Heartbeat",
    "HistoryStore",
    "Journal",
    "Notice",
    "SnapshotStore",
]

SEVERITIES = ("info", "warning", "emergency")


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


class Journal(Protocol):
    """Durable records of people's actions: notices, acknowledgements, kiosk heartbeats,
    the audit log and recorded decisions."""

    def close(self) -> None: ...

    def version(self) -> int:
        """Changes whenever a record is added or changed."""
        ...

    def publish(self, notice: Notice, now: datetime | None = None) -> int: ...

    def withdraw(self, notice_id: int, by: str, now: datetime | None = None) -> bool: ...

    def notices(
        self, now: datetime | None = None, include_inactive: bool = False
    ) -> list[Notice]: ...

    def acknowledge(
        self, alert_key: str, user: str, now: datetime | None = None, note: str = ""
    ) -> None: ...

    def acknowledgements(self) -> dict[str, Acknowledgement]: ...

    def beat(self, kiosk_id: str, info: dict[str, Any], now: datetime | None = None) -> None: ...

    def heartbeats(self) -> list[Heartbeat]: ...

    def audit(
        self,
        actor: str,
        action: str,
        detail: str = "",
        address: str = "",
        now: datetime | None = None,
    ) -> None: ...

    def audit_log(self, limit: int = 200) -> list[AuditEvent]: ...

    def record_decision(self, decision: Decision, now: datetime | None = None) -> int: ...

    def decisions(self) -> list[Decision]: ...


class HistoryStore(Protocol):
    """Observations over time and their hourly means, read by site or by source."""

    def window(
        self, site_ids: list[str], start: datetime, end: datetime, metric: str | None = None
    ) -> pd.DataFrame: ...

    def source_window(
        self, source: str, metric: str, start: datetime, end: datetime
    ) -> pd.DataFrame: ...

    def hourly(
        self, site_ids: list[str], start: datetime, end: datetime, metric: str | None = None
    ) -> pd.DataFrame: ...

    def mark(self, key: str) -> str | None: ...

    def set_mark(self, key: str, value: str) -> None: ...


class SnapshotStore(Protocol):
    """Each source's latest snapshot and status, the data version, and a key-value cache
    every process of one cockpit shares."""

    cache: Any

    def version(self) -> int: ...

    def snapshot(self, source: str) -> Any: ...

    def status(self, source: str) -> Any: ...
