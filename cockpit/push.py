"""Observations platforms push: who holds each platform subscription, and what a
notification must carry to be believed.

A source with ``push = { … }`` in the city config gets one subscription on its platform
(an MQTT session to a SensorThings broker, a subscription on an NGSI broker) for all the
cockpit's processes together: each process runs a ``PushHolder`` thread, and only the
one that holds the source's lease (``push:<source>`` in the shared ``SnapshotStore``:
a Redis ``SET NX PX`` key with the server backend, a diskcache key in the data
directory with the embedded one) subscribes. The holder renews its lease every third of
``push.lease_seconds``; when it stops, it deletes the subscription and frees the lease,
and when it dies, another process takes over once the lease lapses.

What arrives goes to ``Refresher.ingest``: the same validation, history and snapshot as
polled observations. Messages a connection delivers (MQTT) are gathered for
``BATCH_SECONDS`` and stored together, so that a platform publishing thousands of
observations a second causes a few snapshot writes a second, not thousands.

NGSI brokers post their notifications to the cockpit's endpoint, which hands them to
``PushHolder.receive`` in whichever process the request reached; a notification is
believed only with the source's shared secret (or an HMAC-SHA256 of its body under that
secret) in the configured header.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from cockpit.config import CityConfig, PushConfig
from cockpit.errors import CockpitError, PushRefused
from cockpit.storage import SnapshotStore

if TYPE_CHECKING:
    from cockpit.refresh import Refresher
    from cockpit.source import Subscription

__all__ = ["BATCH_SECONDS", "PushHolder", "check_signature", "lease_key"]

log = logging.getLogger(__name__)

# After a platform refused a subscription, the holder waits this long (doubling up to
# ``_RETRY_MAX_S``) before asking again, and frees the lease meanwhile.
_RETRY_MIN_S = 5.0
_RETRY_MAX_S = 300.0
# How long pushed messages are gathered before they are stored together.
BATCH_SECONDS = 0.2


def lease_key(source: str) -> str:
    """The lease that lets one process of all hold ``source``'s subscription."""
    return f"push:{source}"


def check_signature(push: PushConfig, secret: str, body: bytes, headers: Mapping[str, str]) -> None:
    """Believe a notification only with ``push``'s proof of origin.

    With ``signature = "secret"`` the header ``push.secret_header`` must equal
    ``secret``; with ``"hmac-sha256"`` it must be the hex HMAC-SHA256 of ``body`` under
    ``secret`` (a ``sha256=`` prefix is allowed). Compared in constant time. Raises
    ``PushRefused`` (401 without the header, 403 with a wrong one).
    """
    sent = headers.get(push.secret_header)
    if not sent:
        raise PushRefused(401, f"the {push.secret_header} header is missing")
    if not secret:  # a holder with no secret believes nobody
        raise PushRefused(403, "this source accepts no notifications")
    if push.signature == "hmac-sha256":
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        sent = sent.removeprefix("sha256=").strip().lower()
    else:
        expected = secret
    if not hmac.compare_digest(sent.encode(), expected.encode()):
        raise PushRefused(403, f"the {push.secret_header} header is wrong")


@dataclass
class _Held:
    subscription: Subscription
    sites: frozenset[str]
    renew_at: float


@dataclass
class PushHolder:
    """Takes, keeps and gives up the platform subscriptions of a city's pushed sources.

    Subscriptions come from the sources' connectors (``Connector.subscribe``, and
    ``Connector.read_notification`` for what NGSI brokers post); ``environ`` holds the
    shared secrets.
    """

    config: CityConfig
    store: SnapshotStore
    refresher: Refresher
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ), repr=False)
    owner: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    clock: Callable[[], float] = time.monotonic
    held: dict[str, _Held] = field(default_factory=dict)
    _retry: dict[str, tuple[float, float]] = field(default_factory=dict, repr=False)
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # Frames a connection delivered, per source, not stored yet (see ``_flush_loop``).
    _pending: dict[str, list[pd.DataFrame]] = field(default_factory=dict, repr=False)
    _pending_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _arrived: threading.Event = field(default_factory=threading.Event, repr=False)
    _closing: threading.Event = field(default_factory=threading.Event, repr=False)
    _flusher: threading.Thread | None = field(default=None, repr=False)

    @property
    def sources(self) -> dict[str, PushConfig]:
        """The pushed sources and how each pushes."""
        return {s: c.push for s, c in self.config.sources.items() if c.push is not None}

    def tick(self) -> None:
        """One pass: renew the leases held (and the subscriptions when due), give up
        those lost, and take free ones. Platform errors are logged, never raised."""
        with self._lock:
            for source, push in self.sources.items():
                try:
                    if source in self.held:
                        self._keep(source, push)
                    else:
                        self._take(source, push)
                except Exception:  # one source's trouble must not stop the others
                    log.exception("push subscription of %s: unexpected error", source)

    def _keep(self, source: str, push: PushConfig) -> None:
        held = self.held[source]
        if not self.store.renew(lease_key(source), push.lease_seconds, self.owner):
            log.warning("push subscription of %s: lease lost, letting go", source)
            self._drop(source, release=False)
            return
        snapshot = self.store.snapshot(source)
        sites = frozenset(snapshot.sites["id"]) if snapshot is not None else held.sites
        if push.kind == "mqtt" and sites != held.sites:  # topics are per Datastream
            log.info("push subscription of %s: sites changed, subscribing again", source)
            self._drop(source, release=False)
            self._take(source, push, have_lease=True)
            return
        if self.clock() >= held.renew_at:
            try:
                held.subscription.renew()
            except CockpitError as exc:
                log.warning("push subscription of %s could not be renewed: %s", source, exc)
                return  # tried again at the next tick; the subscription has time left
            held.renew_at = self.clock() + push.renew_seconds

    def _take(self, source: str, push: PushConfig, have_lease: bool = False) -> None:
        retry_at, _ = self._retry.get(source, (0.0, 0.0))
        if self.clock() < retry_at:
            return
        key = lease_key(source)
        if not have_lease and not self.store.claim(key, push.lease_seconds, self.owner):
            return
        snapshot = self.store.snapshot(source)
        if snapshot is None:  # sites come from the first poll
            self.store.release(key)
            return
        try:
            connector = self.refresher.connectors[source]
            subscription = connector.subscribe(
                snapshot.sites, lambda frame: self._received(source, frame)
            )
        except CockpitError as exc:
            _, wait = self._retry.get(source, (0.0, _RETRY_MIN_S / 2))
            wait = min(_RETRY_MAX_S, wait * 2)
            self._retry[source] = (self.clock() + wait, wait)
            log.warning("push subscription of %s refused (next try in %.0f s): %s",
                        source, wait, exc)  # fmt: skip
            self.store.release(key)
            return
        self._retry.pop(source, None)
        self._start_flusher()
        self.held[source] = _Held(
            subscription, frozenset(snapshot.sites["id"]), self.clock() + push.renew_seconds
        )
        log.info("push subscription of %s held by %s", source, self.owner)

    def _drop(self, source: str, release: bool = True) -> None:
        held = self.held.pop(source, None)
        if held is not None:
            try:
                held.subscription.close()
            except CockpitError as exc:
                log.warning("push subscription of %s could not be ended: %s", source, exc)
        if release:
            self.store.release(lease_key(source))

    def _received(self, source: str, frame: pd.DataFrame) -> None:
        with self._pending_lock:
            self._pending.setdefault(source, []).append(frame)
        self._arrived.set()

    def _start_flusher(self) -> None:
        if self._flusher and self._flusher.is_alive():
            return
        self._closing.clear()
        self._flusher = threading.Thread(
            target=self._flush_loop, name="city-cockpit-push-store", daemon=True
        )
        self._flusher.start()

    def _flush_loop(self) -> None:
        while not self._closing.is_set():
            if not self._arrived.wait(1.0):
                continue
            self._closing.wait(BATCH_SECONDS)  # gather what comes with it
            self.flush()

    def flush(self) -> int:
        """Store the pushed frames gathered so far; returns the rows kept."""
        with self._pending_lock:
            pending, self._pending = self._pending, {}
            self._arrived.clear()
        kept = 0
        for source, frames in pending.items():
            try:
                kept += self.refresher.ingest(source, pd.concat(frames, ignore_index=True))
            except Exception:  # a store hiccup must not stop the next batches
                log.exception("pushed observations of %s could not be stored", source)
        return kept

    def receive(self, source: str, body: bytes, headers: Mapping[str, str]) -> int:
        """Store the observations of a notification posted for ``source``.

        Checks the proof of origin first (``check_signature``), then parses the body.
        Returns the number of observations kept. Raises ``PushRefused``: 404 for a
        source that takes no notifications, 401/403 for a missing or wrong proof, 400
        for a body that is not a notification (logged; the stored data stays).
        """
        push = self.sources.get(source)
        if push is None or push.kind != "notify" or not push.secret_env:
            raise PushRefused(404, "no such pushed source")
        check_signature(push, self.environ.get(push.secret_env, ""), body, headers)
        snapshot = self.store.snapshot(source)
        if snapshot is None:
            return 0  # nothing to attach the values to before the first poll
        try:
            payload = json.loads(body)
            connector = self.refresher.connectors[source]
            frame = connector.read_notification(payload, snapshot.sites)
        except (ValueError, UnicodeDecodeError, CockpitError) as exc:
            log.warning("notification for %s refused: %s", source, exc)
            raise PushRefused(400, "not a notification of this source") from exc
        return self.refresher.ingest(source, frame)

    def start(self, tick_s: float | None = None) -> None:
        """Hold subscriptions in a daemon thread, ticking every third of the shortest
        lease unless ``tick_s`` says otherwise (idempotent; nothing without pushed
        sources)."""
        pushes = self.sources
        if not pushes or (self._thread and self._thread.is_alive()):
            return
        every = tick_s or min(p.lease_seconds for p in pushes.values()) / 3
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, args=(every,), name="city-cockpit-push", daemon=True
        )
        self._thread.start()

    def _run(self, every: float) -> None:
        self.tick()
        while not self._stop.wait(every):
            self.tick()

    def stop(self) -> None:
        """Stop ticking, end every subscription held and free its lease."""
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)
            self._thread = None
        with self._lock:
            for source in list(self.held):
                self._drop(source)
        self._closing.set()
        if self._flusher:
            self._flusher.join(timeout=10)
            self._flusher = None
        self.flush()  # what arrived before the subscriptions ended
