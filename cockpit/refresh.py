"""One poller per source: each source is read once per interval, however many browsers
or worker processes are running, and a failed read never erases good data.

Every process runs a ``Refresher`` thread. Before reading a source it takes that
source's lease in the shared ``SnapshotStore`` for one refresh interval; only the
process that got the lease reads, so the platform sees one request per interval.

Observations a platform pushes (``cockpit.push``) come in through ``ingest``: they pass
the same validation as polled ones, go to the same history and update the source's
snapshot. A pushed source is still polled, slowly (``push.poll_seconds``), as a safety
net. Every stored change bumps the data version and calls ``new_data_hooks``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pandas as pd

from cockpit.config import CityConfig
from cockpit.errors import CockpitError
from cockpit.model import validate_observations
from cockpit.source import rejection_examples
from cockpit.storage import HistoryStore, SnapshotStore

__all__ = ["Refresher"]

log = logging.getLogger(__name__)

# How often (in refresher ticks) a pending backfill is looked for while serving.
_BACKFILL_EVERY_TICKS = 60

if TYPE_CHECKING:
    from cockpit.backfill import Chunk
    from cockpit.source import Connector


class Refresher:
    """Reads each source when it is due and stores what it got.

    ``connectors`` maps source id to its connector; ``clock`` returns the current UTC
    time (tests replace it).
    """

    def __init__(
        self,
        config: CityConfig,
        store: SnapshotStore,
        history: HistoryStore,
        connectors: dict[str, Connector],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config = config
        self.store = store
        self.history = history
        self.connectors = connectors
        self.clock = clock
        # Called with the source id after each stored change (poll or push), once the
        # data version has changed: the place to tell open screens at once.
        self.new_data_hooks: list[Callable[[str], None]] = []
        # Pushes arrive on several threads (MQTT, web requests): one merge at a time.
        self._ingest_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh(self, source: str) -> bool:
        """Read ``source`` now and store the result. Returns True on success.

        A ``CockpitError`` (platform down, bad answer) is logged and recorded as a failure;
        so is any other exception, so that nothing a platform sends can stop the poller.
        """
        connector = self.connectors[source]
        try:
            snapshot = connector.snapshot(now=self.clock())
        except CockpitError as exc:
            log.warning("refresh of %s failed: %s", source, exc)
            self.store.record_failure(source, str(exc), self.clock())
            return False
        except Exception as exc:  # a bug or an answer no parser foresaw
            log.exception("refresh of %s failed unexpectedly", source)
            self.store.record_failure(source, f"unexpected {type(exc).__name__}", self.clock())
            return False
        self.history.append(snapshot.observations)
        retention = self.config.sources[source].retention_days
        if retention is not None:  # a source kept shorter than the rest (privacy)
            self.history.purge_source(source, self.clock() - timedelta(days=retention))
        self.store.put_snapshot(snapshot)
        self._announce(source)
        return True

    def ingest(self, source: str, observations: pd.DataFrame) -> int:
        """Store observations ``source`` pushed (a canonical observation frame).

        Rows pass the validation polled rows pass and must belong to a site of the
        source's last snapshot (sites come from polling); the rest are dropped with a
        logged reason. Kept rows go to the history and, where newer than what the
        snapshot holds for their site and metric, into the snapshot, which bumps the
        data version. Returns the number of rows kept (0 before the first poll).
        """
        with self._ingest_lock:
            kept = self._ingest(source, observations)
        if kept:
            self._announce(source)
        return kept

    def _ingest(self, source: str, observations: pd.DataFrame) -> int:
        current = self.store.snapshot(source)
        if current is None:
            log.info("source %s: %d pushed rows before the first poll, left to it",
                     source, len(observations))  # fmt: skip
            return 0
        known = observations["site_id"].isin(current.sites["id"])
        good, bad = validate_observations(observations[known].reset_index(drop=True))
        unknown = int((~known).sum())
        if unknown:
            log.warning("source %s: dropped %d pushed rows of unknown sites", source, unknown)
        for reason, count in bad["reason"].value_counts().items() if not bad.empty else ():
            log.warning("source %s: dropped %d pushed rows: %s", source, count, reason)
        if good.empty:
            return 0
        self.history.append(good)
        merged = pd.concat([current.observations, good], ignore_index=True)
        merged = merged.sort_values("time", kind="stable").drop_duplicates(
            ["site_id", "metric"], keep="last"
        )
        examples = rejection_examples("pushed observation", bad)
        self.store.put_snapshot(
            replace(
                current,
                observations=merged.reset_index(drop=True),
                fetched_at=self.clock(),
                rejected=current.rejected + len(bad) + unknown,
                examples={**current.examples, **examples},
            )
        )
        return len(good)

    def _announce(self, source: str) -> None:
        for hook in self.new_data_hooks:
            try:
                hook(source)
            except Exception:  # a listener's failure must not lose the stored data
                log.exception("a new-data listener failed for %s", source)

    def refresh_due(self) -> list[str]:
        """Refresh every source whose lease this process can take; returns their ids."""
        done = []
        for source, cfg in self.config.sources.items():
            if self.store.claim(f"refresh:{source}", cfg.poll_seconds):
                self.refresh(source)
                done.append(source)
        return done

    def refresh_all(self) -> None:
        """Refresh every source now, leases or not (an operator's "refresh now")."""
        for source in self.config.sources:
            self.refresh(source)

    def pending_backfill(self) -> list[str]:
        """Sources whose first-start backfill has not been done in this data directory."""
        return [
            source
            for source, cfg in self.config.sources.items()
            if cfg.backfill_hours and not self.history.mark(f"backfill:{source}")
        ]

    def backfill(self, progress: Callable[[Chunk], None] | None = None) -> None:
        """Fill history with each source's recent past, once per data directory, so that
        trends and baselines work at first start. The past is read a day at a time;
        ``progress`` is called after each day (the command line draws a bar with it).

        A backfill interrupted by a crash resumes: its start and its completed days are
        journaled in the history, and a lease left by a process that has died is taken
        over. The log says what was resumed."""
        from cockpit.backfill import (
            fill_history,
            holder_gone,
            holder_key,
            planned_start,
            this_holder,
        )

        for source in self.pending_backfill():
            cfg = self.config.sources[source]
            mark = f"backfill:{source}"
            me = this_holder()
            if not self.store.claim(mark, ttl_s=600, owner=me):
                holder = self.history.mark(holder_key(source))
                if not holder_gone(holder):
                    log.info(
                        "backfill of %s is under way in %s", source, holder or "another process"
                    )
                    continue
                log.warning(
                    "backfill of %s was left by %s, which has stopped: resuming", source, holder
                )
                self.store.release(mark)
                if not self.store.claim(mark, ttl_s=600, owner=me):
                    continue
            if self.history.mark(mark):  # another process finished it meanwhile
                continue
            self.history.set_mark(holder_key(source), me)
            connector = self.connectors[source]
            end = self.clock()
            start, resumed = planned_start(
                self.history, source, end - timedelta(hours=cfg.backfill_hours)
            )
            try:
                report = fill_history(
                    self.history,
                    connector,
                    start,
                    end,
                    timedelta(days=1),
                    progress,
                    cfg.retention_days,
                    end,
                )
            except CockpitError as exc:
                log.warning("backfill of %s failed (resumed at the next try): %s", source, exc)
                self.store.release(mark)
                continue
            # The lease is kept until it expires: a process that read the source list
            # before this mark was set finds the lease taken, not a backfill to redo.
            self.history.set_mark(mark, end.isoformat())
            if resumed:
                log.info(
                    "resumed the backfill of %s from %s: %d of %d days were done before, "
                    "%d observations added",
                    source, start, report.done_before, report.chunks, report.rows,
                )  # fmt: skip
            else:
                log.info("backfilled %s: %d observations since %s", source, report.rows, start)

    def _run(self, tick_s: float) -> None:
        # Fresh data first, then the past: screens fill at once, trends a moment later.
        try:
            self.refresh_due()
            self.backfill()
        except Exception:  # keep polling even if history could not be filled
            log.exception("first refresh or backfill failed")
        ticks = 0
        while not self._stop.wait(tick_s):
            ticks += 1
            try:
                self.refresh_due()
                # A backfill another process left unfinished is taken up while serving.
                if ticks % _BACKFILL_EVERY_TICKS == 0 and self.pending_backfill():
                    self.backfill()
            except Exception:
                log.exception("refresh loop error")

    def start(self, tick_s: float = 1.0) -> None:
        """Start polling in a daemon thread (idempotent)."""
        if self._thread and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, args=(tick_s,), name="city-cockpit-refresher", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)
