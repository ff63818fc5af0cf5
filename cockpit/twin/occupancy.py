"""How full the street is around a parking bay, hour by hour.

One bay is occupied or free (1 or 0), so its own trend is a step between the two; what a
person asks of it is how full the street around it is. ``occupancy_around`` gives the
hourly share of occupied bays within a radius, in %: the bays' hourly means (the share
of each hour a bay was occupied) averaged over the bays.
"""

from __future__ import annotations

import pandas as pd

from cockpit.geo import distance_m
from cockpit.model import empty_observations, observations_frame

__all__ = ["OCCUPANCY_METRIC", "bays_around", "occupancy_around"]

OCCUPANCY_METRIC = "occupancy"


def bays_around(sites: pd.DataFrame, site_id: str, radius_m: float) -> list[str]:
    """Ids of the sites of ``site_id``'s domain within ``radius_m`` of it (itself
    included); empty for an unknown site."""
    known = sites[sites["id"].astype(str) == site_id]
    if known.empty:
        return []
    site = known.iloc[0]
    same = sites[sites["domain"] == site["domain"]]
    near = distance_m(
        float(site["lat"]),
        float(site["lon"]),
        same["lat"].to_numpy(float),
        same["lon"].to_numpy(float),
    )
    return [str(s) for s in same.loc[near <= radius_m, "id"]]


def occupancy_around(hourly: pd.DataFrame, metric: str, site_id: str) -> pd.DataFrame:
    """Canonical observations of ``OCCUPANCY_METRIC`` (%, one per hour) at ``site_id``:
    the mean over the bays in ``hourly`` (hourly means of ``metric``, 0..1) of each hour,
    times 100."""
    obs = hourly[hourly["metric"] == metric]
    if obs.empty:
        return empty_observations()
    share = obs.groupby("time")["value"].mean() * 100.0
    return observations_frame(
        pd.DataFrame(
            {
                "site_id": site_id,
                "metric": OCCUPANCY_METRIC,
                "time": share.index,
                "value": share.to_numpy(float),
            }
        )
    )
