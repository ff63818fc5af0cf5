"""A small public ``CityView`` built by hand, for the components that draw one: three
pedestrian counters (quiet, busy, crowded) in the centre of Melbourne, one far outside
the city, and two parking bays (one free, one occupied)."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from cockpit.city import CityView, SourceInfo
from cockpit.model import empty_observations, sites_frame

__all__ = ["LAT", "LON", "NOW", "source", "view"]

NOW = datetime(2025, 5, 13, 2, 0, tzinfo=UTC)
LAT, LON = -37.8136, 144.9631  # the centre of Melbourne, inside the demo basemap


# The metric each layer colours its sites by.
METRIC = {"pedestrians": "pedestrians", "parking": "bay_occupied"}


def source(name: str, status: str = "ok") -> SourceInfo:
    return SourceInfo(name, name, "City", "CC BY 4.0", "", "", "live", status, NOW, NOW, 0, "")


def view(**statuses: str) -> CityView:
    """The view; ``statuses`` sets a source's status (e.g. ``pedestrians="stale"``)."""
    rows = [
        ("pedestrians:q", "pedestrians", LAT, LON, "ok", "quiet", 10.0),
        ("pedestrians:b", "pedestrians", LAT + 0.002, LON, "warn", "busy", 400.0),
        ("pedestrians:c", "pedestrians", LAT + 0.004, LON, "alert", "crowded", 2_000.0),
        ("pedestrians:far", "pedestrians", -33.86, 151.21, "alert", "crowded", 2_000.0),
        ("parking:free", "parking", LAT, LON + 0.002, "ok", "free", 0.0),
        ("parking:taken", "parking", LAT, LON + 0.004, "alert", "occupied", 1.0),
    ]
    sites = sites_frame(
        [
            {"id": i, "name": i, "domain": d, "lat": lat, "lon": lon, "source": d}
            for i, d, lat, lon, *_ in rows
        ]
    )

    def states(domain: str) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {"site_id": i, "metric": METRIC[d], "value": v, "unit": "", "time": NOW}
                | {"state": s, "level": lvl}
                for i, d, _, _, lvl, s, v in rows
                if d == domain
            ]
        )

    return CityView(
        version=1,
        role="public",
        generated=NOW,
        sites=sites,
        latest=empty_observations(),
        sources={d: source(d, statuses.get(d, "ok")) for d in ("pedestrians", "parking")},
        kpis=[],
        layers={"pedestrians": states("pedestrians"), "parking": states("parking")},
    )
