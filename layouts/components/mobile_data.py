"""What the phone view for city staff reads: alerts, sensor health, sites near a place.

Pure functions over a ``CityView``; the alert board is the ``City``'s answer
(``City.alert_board``), so that a poll that finds nothing new costs nothing. Everything
is computed for the viewer's role: a public viewer's alerts and lists come from public
sites only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import numpy as np
import pandas as pd

from cockpit.city import CityView, format_value
from cockpit.twin.panels import Board

__all__ = [
    "Board",
    "SiteState",
    "attributes",
    "distance_m",
    "district_names",
    "district_sites",
    "nearest_sites",
    "newest",
    "parking_summary",
    "site_states",
    "value_with_state",
]


@dataclass(frozen=True)
class SiteState:
    """A site's latest value as people read it, its state word and level."""

    site_id: str
    value: str
    state: str
    level: str  # ok | warn | alert | stale
    metric: str


def value_with_state(state: SiteState, word: str) -> str:
    """A site's value and its state word ("412 persons/h · busier than usual"), the word
    left out where the value already says it ("free", not "free · free"; "Fair", not
    "Fair · fair")."""
    if not word or word.casefold() in state.value.casefold():
        return state.value
    return f"{state.value} · {word}"


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
                format_value(str(row.metric), float(cast(float, row.value)), view.min_group_size),
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
