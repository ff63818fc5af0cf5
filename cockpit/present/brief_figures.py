"""The daily brief's pictures, drawn on the server as small SVG documents: a sparkline per
KPI and a map of the sites coloured by state over the city's basemap.

SVG needs no browser and no image library: WeasyPrint draws it in the PDF as vectors,
and the e-mail's HTML carries the same markup. Every coordinate comes from the data
given; nothing is fetched.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Final
from xml.sax.saxutils import escape

__all__ = ["LEVEL_COLOURS", "basemap_rings", "site_map_svg", "sparkline_svg"]

# The cockpit's colours for a site's level (assets/cockpit.css: Okabe–Ito, safe for
# colour-blind readers); anything else (no data, stale) is grey.
LEVEL_COLOURS: Final = {"ok": "#009E73", "warn": "#E69F00", "alert": "#D55E00"}
_GREY: Final = "#8a94a3"


def sparkline_svg(
    values: Sequence[float | None], width: int = 150, height: int = 34, label: str = ""
) -> str:
    """An SVG polyline of ``values`` (None: a gap), scaled to its own range, with the
    last value marked; an empty frame when there are fewer than two values."""
    title = f"<title>{escape(label)}</title>" if label else ""
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}" '
        f'class="cc-brief-spark">{title}'
    )
    known = [v for v in values if v is not None and math.isfinite(v)]
    if len(known) < 2:
        return head + "</svg>"
    low, high = min(known), max(known)
    span = (high - low) or 1.0
    pad = 3.0
    step = (width - 2 * pad) / max(len(values) - 1, 1)

    def point(i: int, v: float) -> tuple[float, float]:
        return pad + i * step, height - pad - (v - low) / span * (height - 2 * pad)

    runs: list[list[tuple[float, float]]] = [[]]
    for i, v in enumerate(values):
        if v is None or not math.isfinite(v):
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append(point(i, v))
    lines = "".join(
        '<polyline fill="none" stroke="#1f5fa8" stroke-width="1.5" points="'
        + " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
        + '"/>'
        for run in runs
        if len(run) > 1
    )
    last = next((point(i, v) for i, v in reversed(list(enumerate(values))) if v is not None), None)
    dot = f'<circle cx="{last[0]:.1f}" cy="{last[1]:.1f}" r="2.2" fill="#1f5fa8"/>' if last else ""
    return head + lines + dot + "</svg>"


def basemap_rings(path: Path) -> list[list[tuple[float, float]]]:
    """The outer rings (lon, lat) of the polygons in a GeoJSON file; [] when the file is
    missing or not GeoJSON polygons."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    rings: list[list[tuple[float, float]]] = []
    for feature in data.get("features", []) if isinstance(data, dict) else []:
        geometry = (feature or {}).get("geometry") or {}
        kind, coords = geometry.get("type"), geometry.get("coordinates") or []
        polygons = [coords] if kind == "Polygon" else coords if kind == "MultiPolygon" else []
        for polygon in polygons:
            if polygon:
                rings.append([(float(x), float(y)) for x, y, *_ in polygon[0]])
    return rings


def site_map_svg(
    sites: Iterable[tuple[float, float, str]],
    rings: Sequence[Sequence[tuple[float, float]]],
    bbox: tuple[float, float, float, float],
    width: int = 270,
    label: str = "",
) -> str:
    """An SVG map: the basemap ``rings`` in grey and each site (lon, lat, level) as a
    dot in its level's colour, over the basemap's extent (``bbox`` without a basemap).
    Sites outside the extent are left out; worse levels are drawn on top."""
    if rings:
        xs = [x for ring in rings for x, _ in ring]
        ys = [y for ring in rings for _, y in ring]
        min_lon, min_lat, max_lon, max_lat = min(xs), min(ys), max(xs), max(ys)
    else:
        min_lon, min_lat, max_lon, max_lat = bbox
    # Equirectangular with the longitude shrunk by cos(latitude): right for a city.
    shrink = math.cos(math.radians((min_lat + max_lat) / 2))
    span_x = max((max_lon - min_lon) * shrink, 1e-9)
    span_y = max(max_lat - min_lat, 1e-9)
    height = max(int(width * span_y / span_x), 60)

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return (lon - min_lon) * shrink / span_x * width, (max_lat - lat) / span_y * height

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}" '
        f'class="cc-brief-map"><title>{escape(label)}</title>'
        f'<rect width="{width}" height="{height}" fill="#f4f6f8"/>'
    ]
    for ring in rings:
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(*p) for p in ring))
        parts.append(
            f'<polygon points="{points}" fill="#e6e9ee" stroke="#b5bcc7" stroke-width="0.6"/>'
        )
    order = {"alert": 3, "warn": 2, "ok": 1}
    inside = [
        (lon, lat, level)
        for lon, lat, level in sites
        if min_lon <= lon <= max_lon and min_lat <= lat <= max_lat
    ]
    # Thousands of parking bays would hide each other behind large dots.
    radius = 1.8 if len(inside) < 500 else 1.1
    for lon, lat, level in sorted(inside, key=lambda s: order.get(s[2], 0)):
        x, y = xy(lon, lat)
        colour = LEVEL_COLOURS.get(level, _GREY)
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius}" fill="{colour}"/>')
    parts.append("</svg>")
    return "".join(parts)
