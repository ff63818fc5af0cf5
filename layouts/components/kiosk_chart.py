"""The kiosk's small pictures beside a slide's answer, drawn on the server as still SVG
images: today against usual hour by hour, and the free parking around the kiosk with
"you are here". Like the overview map they need no script, no tiles and no network, and
keep their picture when the network drops."""

from __future__ import annotations

from urllib.parse import quote
from xml.sax.saxutils import escape

from cockpit.present.slides import Nearby
from cockpit.present.today import TodayCurve
from layouts.components.kiosk_map import COLOURS, free_bay_colour

__all__ = ["data_uri", "nearby_svg", "today_svg"]

_INK = "#f2f5f8"
_MUTED = "#c3ccd6"
_USUAL = "#7f8b99"
_TAKEN = "#5a6472"


def data_uri(svg: str) -> str:
    """``svg`` as a data URI an ``<img>`` shows."""
    return "data:image/svg+xml;charset=utf-8," + quote(svg)


def today_svg(curve: TodayCurve, today: str, usual: str, width: int = 960) -> str:
    """Bars of today's hours so far beside a line of the usual day; ``today`` and
    ``usual`` label them. Hours 0, 6, 12, 18 and 24 are marked under the bars."""
    height, top, bottom, left = 300, 56, 44, 10
    values = [v for v in (*curve.today, *curve.usual) if v is not None]
    peak = max(values) if values else 1.0
    peak = peak if peak > 0 else 1.0
    step = (width - 2 * left) / 24
    plot = height - top - bottom

    def y(value: float) -> float:
        return round(top + plot * (1 - value / peak), 1)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}"'
        f' width="{width}" height="{height}" role="img">',
        f"<title>{escape(today)} / {escape(usual)}</title>",
    ]
    for hour, value in enumerate(curve.today):
        if value is None:
            continue
        x = left + hour * step + step * 0.15
        parts.append(
            f'<rect x="{x:.1f}" y="{y(value)}" width="{step * 0.7:.1f}"'
            f' height="{top + plot - y(value):.1f}" fill="{COLOURS["ok"]}"/>'
        )
    points = [
        f"{left + (hour + 0.5) * step:.1f},{y(value)}"
        for hour, value in enumerate(curve.usual)
        if value is not None
    ]
    if len(points) > 1:
        parts.append(
            f'<polyline points="{" ".join(points)}" fill="none" stroke="{_INK}"'
            ' stroke-width="5" stroke-dasharray="14 8"/>'
        )
    base = top + plot
    parts.append(
        f'<line x1="{left}" y1="{base}" x2="{width - left}" y2="{base}" stroke="{_USUAL}"'
        ' stroke-width="2"/>'
    )
    for hour in (0, 6, 12, 18, 24):
        anchor = "start" if hour == 0 else "end" if hour == 24 else "middle"
        parts.append(
            f'<text x="{left + hour * step:.1f}" y="{height - 8}" fill="{_MUTED}"'
            f' font-size="32" text-anchor="{anchor}" font-family="sans-serif">{hour:02d}</text>'
        )
    # The legend above the bars: a filled square for today, a dashed line for usual.
    parts.append(
        f'<rect x="{left}" y="8" width="30" height="30" fill="{COLOURS["ok"]}"/>'
        f'<text x="{left + 42}" y="34" fill="{_INK}" font-size="34"'
        f' font-family="sans-serif">{escape(today)}</text>'
        f'<line x1="{width / 2:.0f}" y1="23" x2="{width / 2 + 44:.0f}" y2="23" stroke="{_INK}"'
        ' stroke-width="5" stroke-dasharray="14 8"/>'
        f'<text x="{width / 2 + 56:.0f}" y="34" fill="{_INK}" font-size="34"'
        f' font-family="sans-serif">{escape(usual)}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def nearby_svg(
    nearby: Nearby, here: str, free: str, taken: str, width: int = 960, height: int = 520
) -> str:
    """The bays around the kiosk, north up, ``nearby.radius_m`` to the left and right:
    free ones as large blue dots, taken ones small and grey, the kiosk as a ring
    labelled ``here`` ("You are here: Flinders Street Station"); ``free`` and ``taken``
    label the legend. The picture is wider than high, as a slide's free half is."""
    legend_h = 56
    half_w, half_h = width / 2, height / 2
    scale = half_w / nearby.radius_m

    def xy(east: float, north: float) -> tuple[float, float] | None:
        x, y = half_w + east * scale, half_h - north * scale
        if not (0 <= x <= width and 0 <= y <= height):
            return None
        return round(x, 1), round(legend_h + y, 1)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height + legend_h}"'
        f' width="{width}" height="{height + legend_h}" role="img">',
        f"<title>{escape(here)}</title>",
        f'<rect y="{legend_h}" width="{width}" height="{height}" fill="#111821" rx="10"/>',
    ]
    for east, north in nearby.taken:
        found = xy(east, north)
        if found is None:
            continue
        x, y = found
        parts.append(f'<circle cx="{x}" cy="{y}" r="4" fill="{_TAKEN}"/>')
    for east, north in nearby.free:
        found = xy(east, north)
        if found is None:
            continue
        x, y = found
        parts.append(
            f'<circle cx="{x}" cy="{y}" r="9" fill="{free_bay_colour()}" stroke="#0b0f14"/>'
        )
    cx, cy = half_w, legend_h + half_h
    parts.append(
        f'<circle cx="{cx}" cy="{cy}" r="22" fill="none" stroke="{_INK}" stroke-width="7"/>'
        f'<circle cx="{cx}" cy="{cy}" r="8" fill="{_INK}"/>'
    )
    label_y = cy - 40 if cy > legend_h + 90 else cy + 70
    parts.append(
        f'<text x="{cx}" y="{label_y}" fill="{_INK}" font-size="40" font-weight="700"'
        ' text-anchor="middle" font-family="sans-serif" stroke="#0b0f14" stroke-width="8"'
        f' paint-order="stroke">{escape(here)}</text>'
    )
    parts.append(
        f'<circle cx="20" cy="26" r="12" fill="{free_bay_colour()}"/>'
        f'<text x="44" y="38" fill="{_INK}" font-size="34" font-family="sans-serif">'
        f"{escape(free)}</text>"
        f'<circle cx="{half_w + 20:.0f}" cy="26" r="6" fill="{_TAKEN}"/>'
        f'<text x="{half_w + 44:.0f}" y="38" fill="{_INK}" font-size="34"'
        f' font-family="sans-serif">{escape(taken)}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)
