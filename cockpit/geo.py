"""Geometry: which district of the city each site lies in, and how far apart places are."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["DistrictShape", "distance_m", "district_shapes", "districts_of"]


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


@dataclass(frozen=True)
class DistrictShape:
    """One district's outline, ready to be drawn as a prism: its vertices (WGS84), the
    triangles that cover it (indices into the vertices) and its rings (each a closed run
    of vertex indices: the outer boundaries and any holes of its polygons)."""

    name: str
    lon: tuple[float, ...]
    lat: tuple[float, ...]
    triangles: tuple[tuple[int, int, int], ...]
    rings: tuple[tuple[int, ...], ...]


# Outlines are simplified to about this many degrees (some 10 m): a prism of a district
# seen from above the city needs no finer edge, and its mesh stays small.
SIMPLIFY_DEG = 1e-4


@lru_cache(maxsize=4)
def district_shapes(areas_file: str | Path, label: str) -> tuple[DistrictShape, ...]:
    """Each area of ``areas_file`` (named by its polygon property ``label``), simplified
    and triangulated (constrained Delaunay, so concave outlines and holes stay as they
    are), in the file's order. Read once per file."""
    import shapely

    shapes = []
    for name, geometry in zip(
        _areas(str(areas_file), label)["district"],
        _areas(str(areas_file), label)["geometry"],
        strict=True,
    ):
        simple = shapely.simplify(geometry, SIMPLIFY_DEG, preserve_topology=True)
        polygons = list(getattr(simple, "geoms", [simple]))
        index: dict[tuple[float, float], int] = {}

        def vertex(xy: tuple[float, float], index: dict[tuple[float, float], int] = index) -> int:
            return index.setdefault((round(xy[0], 7), round(xy[1], 7)), len(index))

        rings: list[tuple[int, ...]] = []
        triangles: list[tuple[int, int, int]] = []
        for polygon in polygons:
            if polygon.is_empty or polygon.geom_type != "Polygon":
                continue
            for ring in (polygon.exterior, *polygon.interiors):
                rings.append(tuple(vertex(xy) for xy in ring.coords))
            for triangle in shapely.constrained_delaunay_triangles(polygon).geoms:
                a, b, c = (vertex(xy) for xy in list(triangle.exterior.coords)[:3])
                triangles.append((a, b, c))
        points = list(index)
        shapes.append(
            DistrictShape(
                name=str(name),
                lon=tuple(p[0] for p in points),
                lat=tuple(p[1] for p in points),
                triangles=tuple(triangles),
                rings=tuple(rings),
            )
        )
    return tuple(shapes)
