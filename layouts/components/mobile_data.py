"""What the phone view for city staff reads: alerts, sensor health, sites near a place.

Pure functions over a ``CityView`` plus a small per-process cache, so that a poll that
finds nothing new costs nothing. Everything is computed for the viewer's role: a public
viewer's alerts and lists come from public sites only.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from cockpit.city import CityView, format_value
from cockpit.twin import alerts as alert_rules
from cockpit.twin import sensor_health
from cockpit.twin.alerts import Alert
from cockpit.twin.sensor_health import DomainCoverage, SiteHealth
from wiring.runtime import Runtime

__all__ = [
    "Board",
    "SiteState",
    "attributes",
    "board",
    "compute_board",
    "distance_m",
    "district_names",
    "district_sites",
    "nearest_sites",
    "newest",
    "parking_summary",
    "site_states",
]


@dataclass(frozen=True)
class SiteState:
    """A site's latest value as people read it, its state word and level."""

    site_id: str
    value: str
    state: str
    level: str  # ok | warn | alert | stale
    metric: str


@dataclass(frozen=True)
class Board:
    """Alerts and sensor health for one role at one data version."""

    alerts: list[Alert]  # open ones only, threshold alerts before sensor alerts
    health: list[SiteHealth]
    coverage: list[DomainCoverage]


# Alerts are evaluated from the history: at most once a minute per set of visible sites,
# in the background while the previous board is still served (one thread at a time).
REFRESH_S = 60.0


@dataclass
class _Entry:
    board: Board
    version: int
    made: float  # time.monotonic() when computed


_LOCK = threading.Lock()
_BOARDS: dict[tuple[int, str, int], _Entry] = {}
_BUSY: set[tuple[int, str, int]] = set()


def compute_board(runtime: Runtime, view: CityView) -> Board:
    """Open alerts and sensor health of ``view``'s sites now (no cache)."""
    now = runtime.city.clock()
    rules = runtime.config.alerts
    threshold = [
        a
        for a in alert_rules.evaluate(runtime.config, runtime.history, view.sites, now)
        if a.active
    ]
    health = sensor_health.read_health(runtime.history, view.sites, now, rules, latest=view.latest)
    start = alert_rules.window_start(now, rules.window_hours).to_pydatetime()
    sensors = sensor_health.health_alerts(health, start)
    return Board(threshold + sensors, health, sensor_health.coverage(health))


def _refresh(runtime: Runtime, view: CityView, key: tuple[int, str, int]) -> None:
    try:
        made = _Entry(compute_board(runtime, view), view.version, time.monotonic())
        with _LOCK:
            _BOARDS[key] = made
    finally:
        with _LOCK:
            _BUSY.discard(key)


def board(runtime: Runtime, view: CityView) -> Board:
    """Open alerts and sensor health of ``view``'s sites.

    Computed once for each set of visible sites (roles that see the same sites share
    it); after new data it is computed again at most every ``REFRESH_S`` seconds, in a
    background thread, while the previous board is served. The evaluation is
    deterministic from the history, so a recomputation gives the same alert keys.
    """
    sites = tuple(view.sites["id"].astype(str))
    key = (id(runtime), str(runtime.store.directory), hash(sites))
    with _LOCK:
        entry = _BOARDS.get(key)
        stale = entry is not None and entry.version != view.version
        due = stale and entry is not None and time.monotonic() - entry.made >= REFRESH_S
        start_thread = due and key not in _BUSY
        if start_thread:
            _BUSY.add(key)
    if entry is None:
        made = _Entry(compute_board(runtime, view), view.version, time.monotonic())
        with _LOCK:
            _BOARDS[key] = made
        return made.board
    if start_thread:
        threading.Thread(target=_refresh, args=(runtime, view, key), daemon=True).start()
    return entry.board


def site_states(view: CityView) -> dict[str, SiteState]:
    """Every site's state on its layer, by site id (stale sources say so)."""
    out: dict[str, SiteState] = {}
    source_of = dict(zip(view.sites["id"], view.sites["source"], strict=True))
    for states in view.layers.values():
        for row in states.itertuples(index=False):
            info = view.sources.get(str(source_of.get(row.site_id, "")))
            stale = info is not None and info.stale
            out[str(row.site_id)] = SiteState(
                str(row.site_id),
                format_value(str(row.metric), float(row.value), view.min_group_size),
                str(row.state),
                "stale" if stale else str(row.level),
                str(row.metric),
            )
    return out


def distance_m(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Great-circle distances in metres from one point to many (haversine)."""
    p1, p2 = math.radians(lat), np.radians(lats)
    dphi = p2 - p1
    dlmb = np.radians(lons) - math.radians(lon)
    a = np.sin(dphi / 2) ** 2 + math.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * 6_371_000 * np.arcsin(np.sqrt(a))


def nearest_sites(sites: pd.DataFrame, lat: float, lon: float, per_domain: int = 3) -> pd.DataFrame:
    """The ``per_domain`` nearest sites of each domain to a point, with ``distance_m``,
    nearest first."""
    if sites.empty:
        return sites.assign(distance_m=pd.Series(dtype=float))
    found = sites.assign(
        distance_m=distance_m(lat, lon, sites["lat"].to_numpy(), sites["lon"].to_numpy())
    )
    found = found.sort_values("distance_m").groupby("domain", sort=False).head(per_domain)
    return found.reset_index(drop=True)


def district_names(sites: pd.DataFrame) -> list[str]:
    """The districts that have sites, alphabetically."""
    if sites.empty or "district" not in sites.columns:
        return []
    names = {str(d) for d in sites["district"].dropna() if str(d)}
    return sorted(names)


def district_sites(sites: pd.DataFrame, district: str, per_domain: int = 5) -> pd.DataFrame:
    """Up to ``per_domain`` sites of each domain in ``district``, by name."""
    own = sites[sites["district"].astype(str) == district]
    return own.sort_values("name").groupby("domain", sort=False).head(per_domain)


def parking_summary(view: CityView, site_ids: list[str]) -> tuple[int, int]:
    """(free, total) bays among ``site_ids`` that have a current state."""
    states = view.layers.get("parking")
    if states is None or states.empty:
        return 0, 0
    own = states[states["site_id"].isin(site_ids) & (states["metric"] == "bay_occupied")]
    return int((own["value"] < 0.5).sum()), len(own)


def attributes(row: Any) -> dict[str, Any]:
    """A site's attributes as a plain dict (platforms may send none)."""
    value = getattr(row, "attributes", None)
    return dict(value) if isinstance(value, dict) else {}


def newest(view: CityView) -> datetime | None:
    """The newest observation time of any source the viewer sees."""
    return max((s.updated for s in view.sources.values() if s.updated), default=None)
