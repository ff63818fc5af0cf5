"""The kiosk's city overview map: one still SVG image, drawn on the server.

A kiosk needs no pan, zoom, popups or tiles from the internet, and must keep its picture
when the network drops; a plain SVG of the city's areas and its measuring places does
that, costs the screen almost nothing, and shows a state by shape as well as colour
(● normal, ▲ raised, ■ high). Only the public view is ever drawn, and of citizens'
reports only the published ones (``cockpit.present.kiosk_reports``), as a layer of their
own: a large violet ◆ each, outlined in white, above the measuring places, so that it
reads from 3 m.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

from cockpit.city import CityView
from cockpit.config import CityConfig
from cockpit.present.kiosk_reports import KioskReport

__all__ = ["COLOURS", "free_bay_colour", "overview_svg", "report_colour"]

COLOURS = {"ok": "#3fb37f", "warn": "#f0b429", "alert": "#ff6b6b", "stale": "#9aa0aa"}
_FREE_BAY = "#5cb8ff"
_REPORT = "#c792ea"
_WIDTH = 1000


@lru_cache(maxsize=4)
def _area_names(path: str, label: str) -> list[tuple[str, float, float]]:
    """Each named area of the basemap as (name, lon, lat) of the middle of its largest
    ring's points, where its name is drawn."""
    if not label:
        return []
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    out: list[tuple[str, float, float]] = []
    for feature in data.get("features", []):
        name = str((feature.get("properties") or {}).get(label) or "").strip()
        geometry = feature.get("geometry") or {}
        coords = geometry.get("coordinates") or []
        parts = coords if geometry.get("type") == "MultiPolygon" else [coords]
        rings = [p[0] for p in parts if p]
        if not name or not rings:
            continue
        ring = max(rings, key=len)
        lon = sum(float(p[0]) for p in ring) / len(ring)
        lat = sum(float(p[1]) for p in ring) / len(ring)
        out.append((name, lon, lat))
    return out


@lru_cache(maxsize=4)
def _areas(path: str) -> list[list[list[tuple[float, float]]]]:
    """The basemap's polygons as rings of (lon, lat)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    polygons: list[list[list[tuple[float, float]]]] = []
    for feature in data.get("features", []):
        geometry = feature.get("geometry") or {}
        coords = geometry.get("coordinates") or []
        parts = coords if geometry.get("type") == "MultiPolygon" else [coords]
        for polygon in parts:
            polygons.append([[(float(x), float(y)) for x, y, *_ in ring] for ring in polygon])
    return polygons


_MIN_SPAN_DEG = 0.005


def _widened(low: float, high: float) -> tuple[float, float]:
    """``low``–``high`` widened about its middle to at least ``_MIN_SPAN_DEG``."""
    if high - low >= _MIN_SPAN_DEG:
        return low, high
    middle = (low + high) / 2
    return middle - _MIN_SPAN_DEG / 2, middle + _MIN_SPAN_DEG / 2


class _Frame:
    """Equirectangular projection of a lon/lat box onto a ``_WIDTH``-wide picture."""

    def __init__(self, west: float, south: float, east: float, north: float) -> None:
        # Sites on one street (or one site) span no width: give the box a few hundred metres.
        west, east = _widened(west, east)
        south, north = _widened(south, north)
        pad_x, pad_y = (east - west) * 0.04, (north - south) * 0.04
        self.west, self.east = west - pad_x, east + pad_x
        self.south, self.north = south - pad_y, north + pad_y
        aspect = math.cos(math.radians((south + north) / 2))
        self.scale = _WIDTH / ((self.east - self.west) * aspect)
        self.aspect = aspect
        self.height = round((self.north - self.south) * self.scale)

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        return (
            round((lon - self.west) * self.aspect * self.scale, 1),
            round((self.north - lat) * self.scale, 1),
        )

    def inside(self, lon: float, lat: float) -> bool:
        return self.west <= lon <= self.east and self.south <= lat <= self.north


def _frame(config: CityConfig, view: CityView) -> _Frame:
    if config.map.basemap:
        points = [p for poly in _areas(str(config.resolve(config.map.basemap))) for p in poly[0]]
        if points:
            lons, lats = [p[0] for p in points], [p[1] for p in points]
            return _Frame(min(lons), min(lats), max(lons), max(lats))
    if not view.sites.empty:
        sites = view.sites
        return _Frame(sites.lon.min(), sites.lat.min(), sites.lon.max(), sites.lat.max())
    lat, lon = config.map.center
    return _Frame(lon - 0.05, lat - 0.03, lon + 0.05, lat + 0.03)


def _mark(level: str, x: float, y: float, size: float = 11) -> str:
    colour = COLOURS.get(level, COLOURS["stale"])
    if level == "warn":
        points = f"{x},{y - size} {x + size},{y + size * 0.8} {x - size},{y + size * 0.8}"
        return f'<polygon points="{points}" fill="{colour}" stroke="#0b0f14" stroke-width="2"/>'
    if level == "alert":
        s = size * 0.85
        return (
            f'<rect x="{x - s}" y="{y - s}" width="{2 * s}" height="{2 * s}" fill="{colour}"'
            ' stroke="#0b0f14" stroke-width="2"/>'
        )
    return f'<circle cx="{x}" cy="{y}" r="{size * 0.85}" fill="{colour}" stroke="#0b0f14"/>'


def overview_svg(
    config: CityConfig, view: CityView, title: str = "", reports: Sequence[KioskReport] = ()
) -> str:
    """The overview map of ``view`` (which must be the public view) as SVG text: the
    city's areas, free parking bays as small dots, every other measuring place as a
    mark shaped and coloured by its state, and the places of ``reports`` (published
    citizens' reports) as a layer of their own. ``title`` becomes the image's text
    title."""
    frame = _frame(config, view)
    parts: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_WIDTH} {frame.height}"'
        f' width="{_WIDTH}" height="{frame.height}" role="img">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{_WIDTH}" height="{frame.height}" fill="#111821"/>',
    ]
    if config.map.basemap:
        for polygon in _areas(str(config.resolve(config.map.basemap))):
            d = " ".join(
                "M" + " L".join(f"{x},{y}" for x, y in (frame.xy(*p) for p in ring)) + " Z"
                for ring in polygon
            )
            parts.append(f'<path d="{d}" fill="#1b2633" stroke="#3a4b5e" stroke-width="1.5"/>')
    sites = view.sites.set_index("id")[["lon", "lat", "source"]]
    stale_sources = {s for s, info in view.sources.items() if info.stale}
    for layer_id, states in view.layers.items():
        if states.empty:
            continue
        layer = config.layers[layer_id]
        joined = states.join(sites, on="site_id", how="inner")
        bays = layer.metric == "bay_occupied"
        for row in joined.itertuples(index=False):
            lon, lat = float(row.lon), float(row.lat)
            if not frame.inside(lon, lat):  # also drops missing coordinates
                continue
            x, y = frame.xy(lon, lat)
            if bays:
                if float(row.value) < 0.5:
                    parts.append(f'<circle cx="{x}" cy="{y}" r="2.6" fill="{_FREE_BAY}"/>')
                continue
            level = "stale" if row.source in stale_sources else str(row.level)
            parts.append(_mark(level, x, y))
    parts.extend(_report_marks(reports, frame))
    parts.extend(_place_names(config, frame))
    parts.append("</svg>")
    return "".join(parts)


def _place_names(config: CityConfig, frame: _Frame) -> list[str]:
    """The basemap's area names over the marks, light on a dark outline, so that a
    passer-by finds where the marks are."""
    if not config.map.basemap:
        return []
    out = []
    for name, lon, lat in _area_names(
        str(config.resolve(config.map.basemap)), config.map.basemap_label
    ):
        if not frame.inside(lon, lat):
            continue
        x, y = frame.xy(lon, lat)
        out.append(
            f'<text x="{x}" y="{y}" fill="#f2f5f8" font-size="24" font-weight="700"'
            ' text-anchor="middle" font-family="sans-serif" stroke="#0b0f14" stroke-width="6"'
            f' paint-order="stroke">{escape(name)}</text>'
        )
    return out


def _report_marks(reports: Sequence[KioskReport], frame: _Frame) -> list[str]:
    """One ◆ per place of ``reports`` (several reports from one cell share it), in a
    group of its own so that the layer can be found and styled as one."""
    places = {(r.lon, r.lat) for r in reports if r.lon is not None and r.lat is not None}
    marks = []
    for lon, lat in sorted(p for p in places if frame.inside(*p)):
        x, y = frame.xy(lon, lat)
        s = 30  # about three times a measuring place's mark: found from 3 m
        points = f"{x},{y - s} {x + s},{y} {x},{y + s} {x - s},{y}"
        marks.append(
            f'<polygon points="{points}" fill="{_REPORT}" stroke="#f2f5f8" stroke-width="5"'
            ' paint-order="stroke"/>'
        )
    if not marks:
        return []
    return ['<g class="cc-k-reports-layer">', *marks, "</g>"]


def report_colour() -> str:
    """The colour of a published citizen's report's ◆ (the legend uses it too)."""
    return _REPORT


def free_bay_colour() -> str:
    """The colour of a free parking bay's dot (the legend uses it too)."""
    return _FREE_BAY
