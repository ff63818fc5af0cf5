"""Geometry: which district of the city each site lies in, and how far apart places are."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["distance_m", "districts_of"]


@lru_cache(maxsize=4)
def _areas(path: str, label: str) -> gpd.GeoDataFrame:
    import geopandas as gpd  # imported on first use: it takes a while and few need it

    areas = gpd.read_file(path)
    return areas[[label, "geometry"]].rename(columns={label: "district"}).to_crs("EPSG:4326")


def districts_of(sites: pd.DataFrame, areas_file: str | Path, label: str) -> pd.Series:
    """The name of the area (polygon property ``label`` in ``areas_file``) each site lies
    in, indexed by site id; sites outside every area get no entry."""
    if sites.empty:
        return pd.Series(dtype="string")
    import geopandas as gpd

    points = gpd.GeoDataFrame(
        {"id": sites["id"].to_numpy()},
        geometry=gpd.points_from_xy(sites["lon"], sites["lat"]),
        crs="EPSG:4326",
    )
    joined = gpd.sjoin(points, _areas(str(areas_file), label), how="inner", predicate="within")
    joined = joined.drop_duplicates("id")
    return pd.Series(joined["district"].to_numpy(), index=joined["id"].to_numpy(), dtype="string")


def distance_m(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Metres from (``lat``, ``lon``) to each of the points (``lats``, ``lons``), on a
    sphere of the Earth's mean radius (good to a few metres across a city)."""
    earth = 6_371_000.0
    p1, p2 = np.radians(lat), np.radians(lats)
    dp, dl = p2 - p1, np.radians(lons - lon)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return np.asarray(2 * earth * np.arcsin(np.sqrt(a)), dtype=float)
