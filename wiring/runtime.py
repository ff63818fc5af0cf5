"""Assembles one city: config → connectors → store and history → refresher → City.

The config's ``[backend]`` picks where state lives: embedded files (every process runs
its own refresher thread, leases keep one read per interval) or Redis and PostgreSQL
(Celery workers refresh, see ``wiring.tasks``; web processes only serve).

Sources a platform pushes (``push = { … }``) are subscribed to by ``push`` (a
``PushHolder``): every web process runs it, one of them holds each subscription.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cockpit.city import City
from cockpit.config import CityConfig, load_config
from cockpit.live import LocalSignals, Screens, Signals, VersionWatch
from cockpit.notify import Dispatcher
from cockpit.present.brief_render import brief_mail
from cockpit.present.i18n import use_city_texts
from cockpit.push import PushHolder
from cockpit.refresh import Refresher
from cockpit.source import SourceContext, build_connector
from cockpit.state import open_journal, open_signals, open_stores
from cockpit.storage import HistoryStore, Journal, SnapshotStore
from cockpit.twin.rules import all_rules

__all__ = ["Runtime"]

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """Everything one process needs to serve a city."""

    config: CityConfig
    store: SnapshotStore
    history: HistoryStore
    refresher: Refresher
    city: City
    journal: Journal
    push: PushHolder
    # Sends alerts to the rules' channels (``cockpit.notify``), off the request path.
    notify: Dispatcher
    # Called with the roles whose views the warmer just built (see ``start_warmer``).
    warm_hooks: list[Callable[[list[str]], None]] = field(default_factory=list)
    _warm_stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _warmer: threading.Thread | None = field(default=None, repr=False)
    # The last data version the warmer prepared (None before the first).
    warmed_version: int | None = field(default=None, repr=False)
    # How this process hears of changes and tells its open screens (``cockpit.live``):
    # within the process (embedded) or over the city's Redis (server).
    signals: Signals = field(default_factory=LocalSignals)
    screens: Screens | None = field(default=None, repr=False)
    _live_watch: VersionWatch | None = field(default=None, repr=False)

    @classmethod
    def open(
        cls,
        config: CityConfig | str | os.PathLike[str],
        data_dir: str | os.PathLike[str] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> Runtime:
        """Open a city's stores and connectors; raises ``ConfigError`` for a bad config."""
        cfg = config if isinstance(config, CityConfig) else load_config(config)
        use_city_texts(cfg.translations)
        directory = Path(data_dir) if data_dir else cfg.data_dir()
        store, history = open_stores(cfg, directory)
        try:
            journal = open_journal(cfg, directory)
        except BaseException:
            history.close()
            store.close()
            raise
        environ = dict(os.environ)
        connectors = {
            s: build_connector(SourceContext.from_city(cfg, s, environ)) for s in cfg.sources
        }
        refresher = Refresher(cfg, store, history, connectors, clock)
        city = City(cfg, store, history, clock)
        push = PushHolder(cfg, store, refresher, environ)
        signals = open_signals(cfg)
        city.rules = lambda: all_rules(cfg, journal)
        # The executive's view holds every site: a rule's alerts reach its channels
        # whoever may see the site.
        notify = Dispatcher(
            cfg,
            history,
            journal,
            lambda: city.view("executive").sites,
            clock,
            store,
            environ,
            briefs=lambda day, language: brief_mail(city, journal, day, language, clock()),
        )
        # A pushed observation reaches open screens at once, not at the next watch.
        refresher.new_data_hooks.append(
            lambda source: signals.publish_version(store.version(), [cfg.sources[source].access])
        )
        return cls(cfg, store, history, refresher, city, journal, push, notify, signals=signals)

    @property
    def refreshes_in_process(self) -> bool:
        """Whether web processes run the refresher thread (embedded backend) or leave
        refreshing to Celery workers (server backend)."""
        return self.config.backend.kind == "embedded"

    def start_warmer(self, every_s: float = 0.25) -> None:
        """Watch the data version in a daemon thread and, when it changes, build the new
        views (and run ``warm_hooks``) before any browser asks (idempotent)."""
        if self._warmer and self._warmer.is_alive():
            return
        self._warm_stop.clear()
        self._warmer = threading.Thread(
            target=self._warm_loop, args=(every_s,), name="city-cockpit-warmer", daemon=True
        )
        self._warmer.start()

    def _warm_loop(self, every_s: float) -> None:
        seen: int | None = None
        while not self._warm_stop.wait(every_s):
            try:
                version = self.city.version()
                if version == seen:
                    continue
                roles = self.city.warm()
                for hook in self.warm_hooks:
                    hook(roles)
                seen = self.warmed_version = version
            except Exception:  # a failed warm-up only means the next request builds
                log.exception("preparing the views of a new data version failed")

    def start_live(self, every_s: float = 0.5) -> Screens:
        """The open screens of this process (``/live``), fed by ``signals``, and a watch
        of the shared data and journal versions behind them (idempotent)."""
        if self.screens is None:
            self.screens = Screens(self.signals)
            self._live_watch = VersionWatch(self.signals, self.city.version, self.journal, every_s)
            self._live_watch.start()
        return self.screens

    def stop_warmer(self) -> None:
        self._warm_stop.set()
        if self._warmer:
            self._warmer.join(timeout=10)
            self._warmer = None

    def close(self) -> None:
        self.stop_warmer()
        self.push.stop()  # subscriptions are deleted while their sessions are open
        if self._live_watch:
            self._live_watch.stop()
        if self.screens:
            self.screens.stop()
        self.signals.close()
        self.refresher.stop()
        self.notify.stop()
        for connector in self.refresher.connectors.values():
            connector.close()
        self.history.close()
        self.journal.close()
        self.store.close()
