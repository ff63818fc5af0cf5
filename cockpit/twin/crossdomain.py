"""Traffic and air quality side by side: each traffic site with its nearest air station.

``pair_sites`` links every traffic counting site to the nearest air-quality station
within ``[twin] max_pair_km`` (a geopandas nearest join in the city's UTM projection, so
distances are metres). ``pair_comparison`` lines up a pair's hourly vehicle flow with the
station's NO₂ and particulates over a window and gives their Pearson (linear) and
Spearman (rank) correlations. Correlation is not cause: wind, weather and other sources
move pollution too, and the pair's distance says how much the station can see of the road.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import geopandas as gpd
import numpy as np
import pandas as pd

from cockpit.model import METRICS

__all__ = ["Correlation", "PairComparison", "correlation", "pair_comparison", "pair_sites"]

POLLUTANTS = ("no2", "pm25", "pm10")


def _points(sites: pd.DataFrame) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": sites["id"].astype(str).to_numpy(), "name": sites["name"].astype(str).to_numpy()},
        geometry=gpd.points_from_xy(sites["lon"], sites["lat"]),
        crs="EPSG:4326",
    )


def pair_sites(sites: pd.DataFrame, max_km: float = 2.0) -> pd.DataFrame:
    """Each traffic site with its nearest air-quality site no further than ``max_km``.

    Columns: traffic_site, traffic_name, air_site, air_name, distance_km; traffic sites
    with no station that near are left out.
    """
    columns = ["traffic_site", "traffic_name", "air_site", "air_name", "distance_km"]
    traffic = sites[sites["domain"] == METRICS["vehicle_flow"].domain]
    air = sites[sites["domain"] == METRICS[POLLUTANTS[0]].domain]
    if traffic.empty or air.empty:
        return pd.DataFrame(columns=columns)
    left, right = _points(traffic), _points(air)
    crs = left.estimate_utm_crs()
    joined = gpd.sjoin_nearest(
        left.to_crs(crs),
        right.to_crs(crs),
        how="inner",
        max_distance=max_km * 1000.0,
        distance_col="distance_m",
        lsuffix="traffic",
        rsuffix="air",
    )
    joined = joined.sort_values("distance_m").drop_duplicates("id_traffic")
    out = pd.DataFrame(
        {
            "traffic_site": joined["id_traffic"].to_numpy(),
            "traffic_name": joined["name_traffic"].to_numpy(),
            "air_site": joined["id_air"].to_numpy(),
            "air_name": joined["name_air"].to_numpy(),
            "distance_km": joined["distance_m"].to_numpy(dtype=float) / 1000.0,
        }
    )
    return out.sort_values("traffic_site").reset_index(drop=True)


@dataclass(frozen=True)
class Correlation:
    """Correlation of hourly vehicle flow with one pollutant over ``n`` common hours;
    None where fewer than the minimum hours or a series does not vary."""

    metric: str
    pearson: float | None
    spearman: float | None
    n: int


@dataclass(frozen=True)
class PairComparison:
    """A traffic site and its air station over a window: ``frame`` has one row per UTC
    hour (time, vehicle_flow, no2, pm25, pm10 hourly means; NaN where missing)."""

    traffic_site: str
    air_site: str
    start: datetime
    end: datetime
    frame: pd.DataFrame
    correlations: dict[str, Correlation]


def correlation(x: pd.Series, y: pd.Series, metric: str = "", min_n: int = 6) -> Correlation:
    """Pearson and Spearman correlation of two aligned series over their common values."""
    both = pd.DataFrame({"x": x, "y": y}).dropna()
    n = len(both)
    if n < min_n or both["x"].nunique() < 2 or both["y"].nunique() < 2:
        return Correlation(metric, None, None, n)
    pearson = float(np.corrcoef(both["x"], both["y"])[0, 1])
    ranks = both.rank()
    spearman = float(np.corrcoef(ranks["x"], ranks["y"])[0, 1])
    return Correlation(metric, pearson, spearman, n)


def _hourly(frame: pd.DataFrame, site: str, metric: str) -> pd.Series:
    obs = frame[(frame["site_id"].astype(str) == site) & (frame["metric"] == metric)]
    if obs.empty:
        return pd.Series(dtype=float)
    hours = pd.DatetimeIndex(obs["time"]).floor("h")
    return obs["value"].astype(float).groupby(hours).mean()


def pair_comparison(
    frame: pd.DataFrame,
    traffic_site: str,
    air_site: str,
    start: datetime | pd.Timestamp,
    end: datetime | pd.Timestamp,
    pollutants: tuple[str, ...] = POLLUTANTS,
    min_hours: int = 6,
) -> PairComparison:
    """Hourly vehicle flow at ``traffic_site`` against ``pollutants`` at ``air_site`` with
    ``start <= time < end``, and their correlations (at least ``min_hours`` common hours)."""
    t0, t1 = pd.Timestamp(start), pd.Timestamp(end)
    window = frame[(frame["time"] >= t0) & (frame["time"] < t1)]
    hours = pd.date_range(t0.floor("h"), t1, freq="h", inclusive="left", name="time")
    table = pd.DataFrame(index=hours)
    table["vehicle_flow"] = _hourly(window, traffic_site, "vehicle_flow")
    for metric in pollutants:
        table[metric] = _hourly(window, air_site, metric)
    correlations = {
        m: correlation(table["vehicle_flow"], table[m], m, min_hours) for m in pollutants
    }
    return PairComparison(
        traffic_site,
        air_site,
        t0.to_pydatetime(),
        t1.to_pydatetime(),
        table.reset_index(),
        correlations,
    )
