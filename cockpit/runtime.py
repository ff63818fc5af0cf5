"""Assembles one city: config → connectors → store and history → refresher → City."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cockpit.city import City
from cockpit.config import CityConfig, load_config
from cockpit.journal import Journal
from cockpit.refresh import Refresher
from cockpit.store import HistoryStore, SnapshotStore
from connectors import build_connector
from connectors.base import SourceContext

__all__ = ["Runtime"]


@dataclass
class Runtime:
    """Everything one process needs to serve a city."""

    config: CityConfig
    store: SnapshotStore
    history: HistoryStore
    refresher: Refresher
    city: City
    journal: Journal

    @classmethod
    def open(
        cls,
        config: CityConfig | str | os.PathLike[str],
        data_dir: str | os.PathLike[str] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> Runtime:
        """Open a city's stores and connectors; raises ``ConfigError`` for a bad config."""
        cfg = config if isinstance(config, CityConfig) else load_config(config)
        directory = Path(data_dir) if data_dir else cfg.data_dir()
        store = SnapshotStore(directory)
        history = HistoryStore(directory, cfg.storage.history_days)
        environ = dict(os.environ)
        connectors = {
            s: build_connector(SourceContext.from_city(cfg, s, environ)) for s in cfg.sources
        }
        refresher = Refresher(cfg, store, history, connectors, clock)
        city = City(cfg, store, history, clock)
        return cls(cfg, store, history, refresher, city, Journal(directory))

    def close(self) -> None:
        self.refresher.stop()
        for connector in self.refresher.connectors.values():
            connector.close()
        self.history.close()
        self.journal.close()
        self.store.close()
