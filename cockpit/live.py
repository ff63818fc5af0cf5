"""What open screens are told the moment something changes: signals, who may hear them,
and the mailboxes of the screens of one process.

A ``Signal`` says that the data version moved (``data``), that the public notices changed
(``notices``), or that staff-only parts of the journal changed (``journal``:
acknowledgements, decisions). It carries a version and which roles may hear it, never
the data itself: a screen that hears a signal asks for its refresh through the same
callbacks, with the same role checks, as its poll.

``Signals`` is how a signal travels between processes: ``LocalSignals`` within one
process (the embedded backend), ``cockpit.state.redis_signals.RedisSignals`` across every
app server and worker of a city (Redis pub/sub). Whoever stores new data calls
``signals.publish_version(store.version(), sources)``; a journal wrapped in
``SignallingJournal`` publishes its own changes.

``Screens`` keeps one small mailbox per open screen of this process, fed by one
subscription: a slow screen never holds up the others, and a screen that misses signals
gets the newest version of each kind once (signals coalesce, they never queue up).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from cockpit.auth import may_see
from cockpit.storage import Journal, Notice

__all__ = [
    "KINDS",
    "Listener",
    "LocalSignals",
    "Mailbox",
    "Screens",
    "Signal",
    "SignallingJournal",
    "Signals",
    "VersionWatch",
    "data_signal",
    "sse_event",
]

log = logging.getLogger(__name__)

Kind = Literal["data", "notices", "journal"]
KINDS: tuple[Kind, ...] = ("data", "notices", "journal")
STAFF_ONLY = "internal"  # the access level of staff-only signals (cockpit.auth)


@dataclass(frozen=True)
class Signal:
    """Something changed: its ``kind``, the version it reached (0: not known) and the
    access level of what changed (``public`` or ``internal``, as a source's access)."""

    kind: Kind
    version: int = 0
    access: str = "public"

    def as_json(self) -> str:
        return json.dumps({"kind": self.kind, "version": self.version, "access": self.access})

    @classmethod
    def from_json(cls, text: str | bytes) -> Signal:
        """The signal in ``text``; raises ValueError for anything else."""
        try:
            raw = json.loads(text)
            kind, version, access = raw["kind"], int(raw["version"]), str(raw["access"])
        except (TypeError, KeyError, json.JSONDecodeError) as exc:
            raise ValueError(f"not a signal: {text!r:.80}") from exc
        if kind not in KINDS:
            raise ValueError(f"unknown signal kind {kind!r}")
        return cls(kind, version, access)

    def for_role(self, role: str) -> bool:
        """Whether a screen of ``role`` may hear this signal."""
        return may_see(role, self.access)


Listener = Callable[[Signal], None]


class Signals(Protocol):
    """Publish and hear signals: every listener of every process of the city hears every
    signal published by any of them (the publisher's own listeners included)."""

    def publish(self, signal: Signal) -> None:
        """Tell every listener; never raises for a listener's error or a lost broker."""
        ...

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with every signal from now on; returns the unsubscribe."""
        ...

    def publish_version(self, version: int, access: Iterable[str] = ()) -> None:
        """The data version reached ``version``; ``access`` lists the access levels of
        the sources that changed (empty: not known, every role hears it)."""
        ...

    def close(self) -> None: ...


class LocalSignals:
    """Signals within one process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []

    def publish(self, signal: Signal) -> None:
        self.deliver(signal)

    def deliver(self, signal: Signal) -> None:
        """Hand ``signal`` to this process's listeners."""
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(signal)
            except Exception:  # one broken listener must not silence the others
                log.exception("a live-signal listener failed")

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def publish_version(self, version: int, access: Iterable[str] = ()) -> None:
        self.publish(data_signal(version, access))

    def close(self) -> None:
        with self._lock:
            self._listeners.clear()


def data_signal(version: int, access: Iterable[str] = ()) -> Signal:
    """The signal of a new data version from sources of the given access levels: public
    when any of them (or none is named) is public, staff-only otherwise."""
    levels = set(access)
    public = not levels or "public" in levels
    return Signal("data", version, "public" if public else STAFF_ONLY)


class SignallingJournal:
    """A ``Journal`` that publishes a signal after each change screens show: notices
    (public), acknowledgements and decisions (staff only). Everything else passes
    through to the wrapped journal."""

    def __init__(self, journal: Journal, signals: Signals) -> None:
        self.journal = journal
        self.signals = signals

    def __getattr__(self, name: str) -> Any:
        return getattr(self.journal, name)

    def _tell(self, kind: Kind, access: str) -> None:
        try:
            version = self.journal.version()
        except Exception:  # the write succeeded; screens will still poll
            log.exception("the journal version could not be read for a live signal")
            version = 0
        self.signals.publish(Signal(kind, version, access))

    def version(self) -> int:
        return self.journal.version()

    def publish(self, notice: Notice, now: datetime | None = None) -> int:
        notice_id = self.journal.publish(notice, now)
        self._tell("notices", "public")
        return notice_id

    def withdraw(self, notice_id: int, by: str, now: datetime | None = None) -> bool:
        done = self.journal.withdraw(notice_id, by, now)
        if done:
            self._tell("notices", "public")
        return done

    def approve(self, notice_id: int, by: str, now: datetime | None = None) -> bool:
        done = self.journal.approve(notice_id, by, now)
        if done:  # an emergency shows once approved: screens hear it now
            self._tell("notices", "public")
        return done

    def acknowledge(self, alert_key: str, user: str, now: Any = None, note: str = "") -> None:
        self.journal.acknowledge(alert_key, user, now, note)
        self._tell("journal", STAFF_ONLY)

    def record_decision(self, decision: Any, now: datetime | None = None) -> int:
        decision_id = self.journal.record_decision(decision, now)
        self._tell("journal", STAFF_ONLY)
        return decision_id

    def file_report(self, report: Any, now: datetime | None = None) -> int:
        report_id = self.journal.file_report(report, now)
        self._tell("journal", STAFF_ONLY)
        return report_id

    def change_report(self, code: str, change: Any, now: datetime | None = None) -> Any:
        done = self.journal.change_report(code, change, now)
        if done is not None:  # a published report shows on public screens
            self._tell("notices", "public")
        return done

    # The rest of the protocol, spelled out so the wrapper is a Journal for type checks.
    def report(self, code: str, photo: bool = False) -> Any:
        return self.journal.report(code, photo)

    def reports(self, *args: Any, **kwargs: Any) -> Any:
        return self.journal.reports(*args, **kwargs)

    def purge_reports(self, before: datetime) -> int:
        return self.journal.purge_reports(before)

    def notices(self, now: datetime | None = None, include_inactive: bool = False) -> Any:
        return self.journal.notices(now, include_inactive)

    def acknowledgements(self) -> Any:
        return self.journal.acknowledgements()

    def beat(self, kiosk_id: str, info: dict[str, Any], now: datetime | None = None) -> None:
        self.journal.beat(kiosk_id, info, now)

    def heartbeats(self) -> Any:
        return self.journal.heartbeats()

    def audit(self, *args: Any, **kwargs: Any) -> None:
        self.journal.audit(*args, **kwargs)

    def audit_log(self, *args: Any, **kwargs: Any) -> Any:
        return self.journal.audit_log(*args, **kwargs)

    def refusals(self, since: datetime) -> Any:
        return self.journal.refusals(since)

    def decisions(self) -> Any:
        return self.journal.decisions()

    def close(self) -> None:
        self.journal.close()


# -- the screens of one process ----------------------------------------------------------


@dataclass
class Mailbox:
    """What one open screen has not been told yet: the newest version of each kind."""

    role: str
    _cond: threading.Condition = field(default_factory=threading.Condition, repr=False)
    _pending: dict[str, int] = field(default_factory=dict, repr=False)
    _sent: dict[str, int] = field(default_factory=dict, repr=False)
    closed: bool = False

    def offer(self, signal: Signal) -> None:
        """Keep ``signal`` for this screen when its role may hear it and it is news."""
        if not signal.for_role(self.role):
            return
        with self._cond:
            known = max(self._sent.get(signal.kind, -1), self._pending.get(signal.kind, -1))
            if signal.version and signal.version <= known:
                return
            self._pending[signal.kind] = signal.version
            self._cond.notify_all()

    def take(self, timeout: float) -> dict[str, int]:
        """The kinds (with their versions) not told yet, waiting up to ``timeout`` seconds
        for one; empty when nothing came (or the mailbox was closed)."""
        with self._cond:
            if not self._pending and not self.closed:
                self._cond.wait(timeout)
            news, self._pending = self._pending, {}
            self._sent.update(news)
            return news

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()


class Screens:
    """The open screens of this process, each with its mailbox, fed by one subscription
    to ``signals``."""

    def __init__(self, signals: Signals, limit: int = 5000) -> None:
        self.signals = signals
        self.limit = limit
        self._lock = threading.Lock()
        self._by_id: dict[int, Mailbox] = {}
        self._unsubscribe = signals.subscribe(self._offer)

    def open(self, role: str) -> Mailbox | None:
        """A mailbox for a new screen of ``role``; None when ``limit`` screens are open."""
        box = Mailbox(role)
        with self._lock:
            if len(self._by_id) >= self.limit:
                return None
            self._by_id[id(box)] = box
        return box

    def close(self, box: Mailbox) -> None:
        box.close()
        with self._lock:
            self._by_id.pop(id(box), None)

    def count(self) -> int:
        with self._lock:
            return len(self._by_id)

    def _offer(self, signal: Signal) -> None:
        with self._lock:
            boxes = list(self._by_id.values())
        for box in boxes:
            box.offer(signal)

    def drop_all(self) -> int:
        """End every open screen's stream (they reconnect); returns how many."""
        with self._lock:
            boxes = list(self._by_id.values())
            self._by_id.clear()
        for box in boxes:
            box.close()
        return len(boxes)

    def stop(self) -> None:
        self._unsubscribe()
        with self._lock:
            boxes = list(self._by_id.values())
            self._by_id.clear()
        for box in boxes:
            box.close()


def sse_event(kind: str, data: dict[str, Any], retry_ms: int | None = None) -> str:
    """One server-sent event: ``kind`` as its event name, ``data`` as one JSON line."""
    head = f"retry: {retry_ms}\n" if retry_ms else ""
    return f"{head}event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


class VersionWatch:
    """Publishes a signal when the data or journal version read from the shared stores
    moves: how a change made by another process reaches this one's screens when no
    broker carries it (the embedded backend), and a safety net behind the broker."""

    def __init__(
        self,
        signals: Signals,
        data_version: Callable[[], int],
        journal: Journal,
        every_s: float = 0.5,
    ) -> None:
        self.signals = signals
        self.data_version = data_version
        self.journal = journal
        self.every_s = every_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seen: dict[str, Any] = {}

    def check(self) -> list[Signal]:
        """Read both versions once and publish what moved since the last check (the
        first check only notes them). Returns the signals published."""
        sent: list[Signal] = []
        data = self.data_version()
        journal = self.journal.version()
        first = not self._seen
        if not first and data != self._seen["data"]:
            sent.append(data_signal(data))
        if first or journal != self._seen["journal"]:
            # Public screens hear only of a change in the notices they may show.
            notices = self._notices()
            if not first:
                public = notices != self._seen["notices"]
                kind: Kind = "notices" if public else "journal"
                sent.append(Signal(kind, journal, "public" if public else STAFF_ONLY))
            self._seen["notices"] = notices
        self._seen["data"], self._seen["journal"] = data, journal
        for signal in sent:
            self.signals.publish(signal)
        return sent

    def _notices(self) -> tuple[tuple[int, bool], ...]:
        """Every notice's id and whether it was withdrawn."""
        return tuple(
            (n.id, n.withdrawn is not None) for n in self.journal.notices(include_inactive=True)
        )

    def start(self) -> None:
        if self._thread and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="city-cockpit-live-watch")
        self._thread.daemon = True
        self._thread.start()

    def _loop(self) -> None:
        failures = 0
        while not self._stop.wait(self.every_s if not failures else min(30, 2**failures)):
            try:
                self.check()
                failures = 0
            except Exception:  # a store down for a moment: try again, more slowly
                failures += 1
                log.exception("the live watch could not read the versions")

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
            self._thread = None
