"""The twin per hexagon: a large city's sites binned into a grid of equal hexagons in
kilometres around the city's centre, one figure of a map layer's measure per hexagon.

This is what the 3D view draws when a city has more sites than columns it should draw
(``twin.max_columns``): the browser gets one column per hexagon, so its cost follows the
city's area, never its number of sites. Each hexagon's figure combines its sites by the
same rule as a district's (``cockpit.twin.combining``). Positions are projected
equirectangularly around the centre (exact enough across a city); hexagons are "pointy
top", ``size_km`` apart (the width across their flat sides).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np
import pandas as pd

from cockpit.twin.combining import Combined, combine, site_numbers
from cockpit.twin.districts import Measure

__all__ = [
    "KM_PER_DEG_LAT",
    "Grid",
    "HexFigure",
    "HexLayer",
    "cells_of",
    "centre_of",
    "columns",
    "hexagon_figures",
    "project",
]

KM_PER_DEG_LAT = 110.574
_SQRT3 = math.sqrt(3.0)
# Axial coordinates are packed into one integer key per cell: |q| and |r| stay below
# 2**20 (a million hexagons from the centre, far beyond any city at any size).
_SHIFT = np.int64(1 << 20)


@dataclass(frozen=True)
class Grid:
    """A hexagon grid: its centre (``lat``, ``lon``, WGS84), the hexagons' width across
    their flat sides in km, and the box (``min_lon, min_lat, max_lon, max_lat``) outside
    of which sites are left out (None: nowhere)."""

    lat: float
    lon: float
    size_km: float
    bbox: tuple[float, float, float, float] | None = None

    def __post_init__(self) -> None:
        if not self.size_km > 0:
            raise ValueError(f"hexagon size must be above 0 km, got {self.size_km}")


@dataclass(frozen=True)
class HexFigure:
    """One hexagon's (or one site's) figure of a measure at one moment: its cell
    (axial ``q``, ``r``; for a single site its row), its centre in km east (``x``) and
    north (``y``) of the grid's centre, ``name`` (a site's name, "" for a hexagon), and
    the fields of a district's figure (``cockpit.twin.districts.DistrictFigure``)."""

    q: int
    r: int
    x: float
    y: float
    name: str
    value: float
    sites: int
    typical: str
    observed: datetime
    oldest: datetime
    sources: tuple[str, ...]
    stale: bool


@dataclass(frozen=True)
class HexLayer:
    """A layer's hexagons (or single-site columns) with what made them: the hexagons'
    width in km (the column's width for single sites), whether each column is one site,
    and how many sites with a value lay outside the grid's box."""

    figures: tuple[HexFigure, ...]
    size_km: float
    single_sites: bool
    outside: int


def project(lat: np.ndarray, lon: np.ndarray, grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    """Positions in km east and north of the grid's centre."""
    per_lon = 111.320 * math.cos(math.radians(grid.lat))
    x = (np.asarray(lon, dtype=float) - grid.lon) * per_lon
    y = (np.asarray(lat, dtype=float) - grid.lat) * KM_PER_DEG_LAT
    return x, y


def cells_of(
    lat: np.ndarray, lon: np.ndarray, grid: Grid
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each position's hexagon as axial coordinates ``(q, r)`` and whether it lies inside
    the grid's box (``q``, ``r`` are 0 where it does not, or where a position is NaN).
    The centre's hexagon is (0, 0); (1, 0) is its neighbour ``size_km`` to the east,
    (0, 1) the one ``size_km`` away at 60° (north-east)."""
    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    inside = np.isfinite(lat) & np.isfinite(lon)
    if grid.bbox is not None:
        west, south, east, north = grid.bbox
        inside &= (lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)
    x, y = project(np.where(inside, lat, grid.lat), np.where(inside, lon, grid.lon), grid)
    radius = grid.size_km / _SQRT3  # centre to corner
    qf = (_SQRT3 / 3 * x - y / 3) / radius
    rf = (2 / 3 * y) / radius
    sf = -qf - rf
    q, r, s = np.rint(qf), np.rint(rf), np.rint(sf)
    dq, dr, ds = np.abs(q - qf), np.abs(r - rf), np.abs(s - sf)
    # Cube rounding: the coordinate that moved most is the one the others decide.
    fix_q = (dq > dr) & (dq > ds)
    fix_r = ~fix_q & (dr > ds)
    q = np.where(fix_q, -r - s, q)
    r = np.where(fix_r, -q - s, r)
    return q.astype(np.int64), r.astype(np.int64), inside


def centre_of(q: np.ndarray, r: np.ndarray, size_km: float) -> tuple[np.ndarray, np.ndarray]:
    """The centres of hexagons ``(q, r)`` in km east and north of the grid's centre."""
    radius = size_km / _SQRT3
    return radius * _SQRT3 * (q + r / 2), radius * 1.5 * r


def hexagon_figures(
    states: pd.DataFrame,
    sites: pd.DataFrame,
    measure: Measure,
    typical: Mapping[str, str],
    grid: Grid,
    stale_sources: set[str] | frozenset[str] = frozenset(),
    stale_sites: set[str] | frozenset[str] = frozenset(),
) -> HexLayer:
    """The figure of ``measure`` for every hexagon of ``grid`` with at least one site
    value, combined as districts combine theirs (``cockpit.twin.combining``).

    ``states`` and ``typical``, ``stale_sources`` and ``stale_sites`` are as for
    ``cockpit.twin.districts.district_figures``; ``sites`` carry ``id``, ``source``,
    ``lat`` and ``lon``. Sites outside the grid's box are counted in ``outside``, not
    drawn. Hexagons come ordered by ``(q, r)``. Raises nothing: no values give none."""
    rows = site_numbers(
        states, sites[["id", "source", "lat", "lon"]], measure.metric, typical,
        stale_sources, stale_sites,
    )  # fmt: skip
    return _hexagons(rows, measure, grid)


def columns(
    states: pd.DataFrame,
    sites: pd.DataFrame,
    measure: Measure,
    typical: Mapping[str, str],
    grid: Grid,
    max_columns: int,
    stale_sources: set[str] | frozenset[str] = frozenset(),
    stale_sites: set[str] | frozenset[str] = frozenset(),
) -> HexLayer:
    """At most ``max_columns`` columns of ``measure`` for the 3D view: one per site
    (``single_sites``; ``q`` its row, ``r`` 0, ``name`` its name) while the grid's box
    holds no more sites with a value than that, else one per hexagon of ``grid``, the
    hexagons widened (×1.5 at a time) while there would be more of them than that.
    Arguments as for ``hexagon_figures``; ``sites`` also carry ``name``. Raises
    ``ValueError`` for ``max_columns`` below 1."""
    if max_columns < 1:
        raise ValueError(f"max_columns must be at least 1, got {max_columns}")
    rows = site_numbers(
        states, sites[["id", "source", "lat", "lon", "name"]], measure.metric, typical,
        stale_sources, stale_sites,
    )  # fmt: skip
    if rows.empty:
        return HexLayer((), grid.size_km, True, 0)
    _q, _r, inside = cells_of(rows["lat"].to_numpy(), rows["lon"].to_numpy(), grid)
    if int(inside.sum()) > max_columns:
        lat, lon = rows["lat"].to_numpy(), rows["lon"].to_numpy()
        while _count(*cells_of(lat, lon, grid)) > max_columns:
            grid = replace(grid, size_km=grid.size_km * 1.5)
        return _hexagons(rows, measure, grid)
    rows = rows[inside].reset_index(drop=True)
    found = combine(np.arange(len(rows)), rows, measure.aggregation)
    x, y = project(rows["lat"].to_numpy(), rows["lon"].to_numpy(), grid)
    names = rows["name"].astype(str).tolist()
    zero = np.zeros(len(rows), dtype=np.int64)
    figures = _figures(found.codes, zero, x, y, names, found)
    return HexLayer(figures, grid.size_km, True, int((~inside).sum()))


def _key(q: np.ndarray, r: np.ndarray) -> np.ndarray:
    """One integer per cell, in the order of ``(q, r)``."""
    return (q + _SHIFT) * (2 * _SHIFT) + (r + _SHIFT)


def _count(q: np.ndarray, r: np.ndarray, inside: np.ndarray) -> int:
    """How many distinct hexagons the positions inside the box fall in."""
    return len(np.unique(_key(q[inside], r[inside])))


def _hexagons(rows: pd.DataFrame, measure: Measure, grid: Grid) -> HexLayer:
    """``rows`` (``site_numbers`` with ``lat`` and ``lon``) combined per hexagon."""
    if rows.empty:
        return HexLayer((), grid.size_km, False, 0)
    q, r, inside = cells_of(rows["lat"].to_numpy(), rows["lon"].to_numpy(), grid)
    rows = rows[inside].reset_index(drop=True)
    found = combine(_key(q[inside], r[inside]), rows, measure.aggregation)
    cq = found.codes // (2 * _SHIFT) - _SHIFT
    cr = found.codes % (2 * _SHIFT) - _SHIFT
    x, y = centre_of(cq, cr, grid.size_km)
    figures = _figures(cq, cr, x, y, [""] * len(found), found)
    return HexLayer(figures, grid.size_km, False, int((~inside).sum()))


def _figures(
    q: np.ndarray, r: np.ndarray, x: np.ndarray, y: np.ndarray, names: list[str], found: Combined
) -> tuple[HexFigure, ...]:
    observed = found.observed.to_pydatetime()
    oldest = found.oldest.to_pydatetime()
    return tuple(
        HexFigure(
            q=int(q[i]),
            r=int(r[i]),
            x=float(x[i]),
            y=float(y[i]),
            name=names[i],
            value=float(found.value[i]),
            sites=int(found.sites[i]),
            typical=found.typical[i],
            observed=observed[i],
            oldest=oldest[i],
            sources=found.sources[i],
            stale=bool(found.stale[i]),
        )
        for i in range(len(found))
    )
