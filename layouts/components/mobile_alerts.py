"""The phone's alert board: threshold alerts and sensor faults, counted and ordered by
severity, each with its place, how far and which way, a small map, a route link and
what staff did about it (acknowledge with a note, assign, resolve, undo).

A small map is an inline SVG (a ``data:`` URI, numbers only): the city's bundled
district outlines around the place, the place, and the viewer when known; no map
library on a phone.
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import pandas as pd
from dash import dcc, html

from cockpit.present.i18n import Gettext, format_number, format_time
from cockpit.present.wayfinding import place_words, route_url
from cockpit.storage import Acknowledgement
from cockpit.twin.alert_handling import Handling, handling
from cockpit.twin.alerts import SEVERITIES, Alert, severity
from layouts.components.html_attrs import html_attrs
from layouts.components.mobile_parts import alert_detail, alert_title

__all__ = [
    "AlertPlace",
    "BoardContext",
    "Colleague",
    "alert_board",
    "alert_place",
    "board_count",
    "city_centre",
    "handling_line",
    "minimap",
    "opened_words",
]

_SEVERITY_SYMBOL = {"critical": "■", "high": "▲", "moderate": "▲", "low": "◌"}


@dataclass(frozen=True)
class Colleague:
    """Someone an alert can be assigned to: their user name and the name people read."""

    user: str
    name: str


@dataclass(frozen=True)
class AlertPlace:
    """Where an alert is: a position (a site's, or the middle of an area's sites)."""

    lat: float
    lon: float


def alert_place(alert: Alert, sites: pd.DataFrame) -> AlertPlace | None:
    """The position of ``alert``'s site, or the mean position of its area's sites for an
    area alert ("area:<district>"); None for the whole city or an unknown site."""
    if sites.empty:
        return None
    if alert.site_id.startswith("area:") and "district" in sites.columns:
        own = sites[sites["district"].astype(str) == alert.site_id.removeprefix("area:")]
    else:
        own = sites[sites["id"].astype(str) == alert.site_id]
    if own.empty:
        return None
    return AlertPlace(float(own["lat"].mean()), float(own["lon"].mean()))


def city_centre(sites: pd.DataFrame, fallback: tuple[float, float]) -> AlertPlace:
    """Where distances are told from when the viewer's own position is unknown: the
    median position of the sites (where most sensors are: the centre people mean, not the
    map's opening view, which may be set to take in far sites), else ``fallback``."""
    if sites.empty:
        return AlertPlace(*fallback)
    return AlertPlace(float(sites["lat"].median()), float(sites["lon"].median()))


def board_count(found: list[Alert], _: Gettext, language: str) -> str:
    """ "7 open alerts: 1 critical, 2 high, 4 low" (grades with none left out)."""
    if not found:
        return _("No alerts right now.")
    grades = [severity(a) for a in found]
    parts = [
        f"{format_number(grades.count(g), language)} {_(g)}" for g in SEVERITIES if g in grades
    ]
    head = (
        _("1 open alert")
        if len(found) == 1
        else _("{n} open alerts").format(n=format_number(len(found), language))
    )
    return f"{head}: {', '.join(parts)}"


def handling_line(
    current: Handling, names: dict[str, str], staff: bool, _: Gettext, language: str, tz: str
) -> str:
    """What was done last, for people: "Assigned to Ana Lee by Sam at Tue 10:30 — note".
    The public reads only that staff acknowledged it."""
    last = current.last
    if last is None:
        return ""
    when = format_time(last.time, language, tz, "EEE HH:mm")
    if not staff:
        return _("Acknowledged by staff at {time}").format(time=when)
    who = names.get(last.user, last.user)
    if last.action == "assign":
        to = names.get(last.assignee, last.assignee)
        text = _("Assigned to {name} by {user} at {time}").format(name=to, user=who, time=when)
    elif last.action == "resolve":
        text = _("Resolved by {user} at {time}").format(user=who, time=when)
    else:
        text = _("Acknowledged by {user} at {time}").format(user=who, time=when)
    return f"{text}: {last.note}" if last.note else text


# -- the small map ------------------------------------------------------------------------
@lru_cache(maxsize=4)
def _rings(path: str) -> tuple[tuple[tuple[float, float], ...], ...]:
    """The outer rings of every polygon of a GeoJSON file, as (lon, lat) points."""
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    out: list[tuple[tuple[float, float], ...]] = []
    for feature in data.get("features", []):
        geometry = feature.get("geometry") or {}
        polygons = geometry.get("coordinates", [])
        if geometry.get("type") == "Polygon":
            polygons = [polygons]
        elif geometry.get("type") != "MultiPolygon":
            continue
        for polygon in polygons:
            if polygon:
                out.append(tuple((float(p[0]), float(p[1])) for p in polygon[0]))
    return tuple(out)


def minimap(
    place: AlertPlace,
    you: AlertPlace | None,
    basemap: str | None,
    width: int = 320,
    height: int = 120,
    span_m: float = 1500.0,
    anchor: AlertPlace | None = None,
) -> str:
    """A ``data:image/svg+xml`` URI: district outlines of ``basemap`` (a GeoJSON path)
    around ``place`` (an orange dot), and ``you`` (a blue ring) when known; the view
    spans at least ``span_m`` metres across and holds both points, and ``anchor`` (e.g.
    the city centre, so a place far out shows where it lies against the city)."""
    kx = 111_320.0 * math.cos(math.radians(place.lat))  # metres per degree of longitude
    ky = 110_540.0
    xs, ys = [place.lon], [place.lat]
    for extra in (you, anchor):
        if extra is not None:
            xs.append(extra.lon)
            ys.append(extra.lat)
    cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    across = max(
        span_m, (max(xs) - min(xs)) * kx * 1.3, (max(ys) - min(ys)) * ky * 1.3 * width / height
    )
    scale = width / across  # pixels per metre

    def point(lon: float, lat: float) -> tuple[float, float]:
        return width / 2 + (lon - cx) * kx * scale, height / 2 - (lat - cy) * ky * scale

    shapes = []
    for ring in _rings(basemap) if basemap else ():
        pts = [point(lon, lat) for lon, lat in ring]
        if all(x < 0 for x, _ in pts) or all(x > width for x, _ in pts):
            continue
        if all(y < 0 for _, y in pts) or all(y > height for _, y in pts):
            continue
        step = max(1, len(pts) // 80)
        d = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts[::step])
        shapes.append(f'<polygon points="{d}" fill="#dfe6ee" stroke="#6b7b8c" stroke-width="1"/>')
    px, py = point(place.lon, place.lat)
    marks = (
        f'<circle cx="{px:.1f}" cy="{py:.1f}" r="6" fill="#D55E00" stroke="#fff" stroke-width="2"/>'
    )
    if you is not None:
        ux, uy = point(you.lon, you.lat)
        marks += (
            f'<circle cx="{ux:.1f}" cy="{uy:.1f}" r="5" fill="none" stroke="#0072B2" '
            'stroke-width="3"/>'
        )
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}"><rect width="100%" height="100%" fill="#c9d3de"/>'
        f"{''.join(shapes)}{marks}</svg>"
    )
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


# -- the cards ---------------------------------------------------------------------------
@dataclass(frozen=True)
class BoardContext:
    """What every card of one board needs besides its alert."""

    sites: pd.DataFrame
    acks: dict[str, Acknowledgement]
    may_act: bool
    colleagues: tuple[Colleague, ...]
    you: AlertPlace | None
    centre: AlertPlace
    basemap: str | None
    language: str
    timezone: str


def _actions(alert: Alert, current: Handling, ctx: BoardContext, _: Gettext) -> list[Any]:
    key = alert.key
    label = f"{alert_title(alert, _)}, {alert.site_name}"

    def button(text: str, action: str, to: str = "", cls: str = "m-secondary") -> html.Button:
        return html.Button(
            text,
            id={"type": "m-act", "key": key, "action": action, "to": to},
            className=cls,
            **html_attrs({"aria-label": f"{text}: {label}"}),
        )

    out: list[Any] = []
    if current.status != "resolved":
        out.append(
            html.Label(
                [
                    html.Span(f"{_('Note')}: {label}", className="m-sr-only"),
                    dcc.Input(
                        id={"type": "m-note", "key": key},
                        type="text",
                        maxLength=500,
                        placeholder=_("Note (optional)"),
                        className="m-note",
                    ),
                ],
                className="m-note-label",
            )
        )
        buttons = [button(_("Acknowledge"), "acknowledge", cls="m-ack-button")]
        buttons.append(button(_("Resolve"), "resolve"))
        out.append(html.Div(buttons, className="m-actions"))
        others = [c for c in ctx.colleagues if c.user != current.assignee]
        if others:
            out.append(
                html.Details(
                    [
                        html.Summary(_("Assign to …")),
                        html.Div(
                            [button(c.name, "assign", c.user) for c in others],
                            className="m-actions",
                        ),
                    ],
                    className="m-assign",
                )
            )
    if current.steps:
        out.append(button(_("Undo"), "undo", cls="m-undo"))
    return out


def _card(alert: Alert, ctx: BoardContext, _: Gettext) -> html.Li:
    grade = severity(alert)
    sensor = alert.rule.startswith("sensor.")
    current = handling(ctx.acks, alert.key)
    names = {c.user: c.name for c in ctx.colleagues}
    place = alert_place(alert, ctx.sites)
    since = _("since {time}").format(
        time=format_time(alert.opened, ctx.language, ctx.timezone, "EEE HH:mm")
    )
    known = alert.site_id in set(ctx.sites["id"].astype(str)) if not ctx.sites.empty else False
    where: Any = (
        html.Button(
            alert.site_name,
            id={"type": "m-site", "id": alert.site_id},
            className="m-link",
            title=_("Show this site's last 24 hours"),
        )
        if known
        else html.Span(alert.site_name, className="m-place")
    )
    origin = ctx.you or ctx.centre
    locate: list[Any] = []
    if place is not None:
        words = place_words(origin.lat, origin.lon, place.lat, place.lon, ctx.language)
        suffix = "" if ctx.you else f" {_('from the city centre')}"
        locate = [html.Span(f" · {words}{suffix}", className="m-distance")]
    line = handling_line(current, names, ctx.may_act, _, ctx.language, ctx.timezone)
    children: list[Any] = [
        html.Div(
            [
                html.Span(
                    f"{_SEVERITY_SYMBOL[grade]} {_(grade)}",
                    className=f"m-severity m-sev-{grade}",
                ),
                html.Strong(alert_title(alert, _)),
            ],
            className="m-alert-title",
        ),
        html.Div([where, *locate, html.Span(f" · {since}", className="m-muted")]),
        html.Div(alert_detail(alert, _, ctx.language), className="m-alert-detail"),
    ]
    if place is not None:
        alt = _("Map: {place}").format(place=alert.site_name)
        you = ctx.you
        children.append(
            html.Div(
                [
                    html.Img(
                        src=minimap(place, you, ctx.basemap, anchor=ctx.centre),
                        alt=alt,
                        className="m-minimap",
                        width=320,
                        height=120,
                    ),
                    html.A(
                        _("Route there"),
                        href=route_url(
                            place.lat,
                            place.lon,
                            you.lat if you else None,
                            you.lon if you else None,
                        ),
                        className="m-route",
                        target="_blank",
                        rel="noopener",
                    ),
                ],
                className="m-where",
            )
        )
    if line:
        children.append(
            html.P(
                [html.Span("✓ ", **html_attrs({"aria-hidden": "true"})), line],
                className="m-ack",
            )
        )
    if ctx.may_act:
        children += _actions(alert, current, ctx, _)
    classes = ["m-alert", "m-alert-sensor" if sensor else "m-alert-limit", f"m-sev-{grade}"]
    if current.status != "open":
        classes.append(f"m-{current.status}")
    if current.status in ("acknowledged", "assigned"):
        classes.append("m-acked")
    return html.Li(
        className=" ".join(classes),
        **html_attrs(
            {"data-key": alert.key, "data-severity": grade, "data-status": current.status}
        ),
        children=children,
    )


def alert_board(found: list[Alert], ctx: BoardContext, _: Gettext, limit: int = 25) -> list[Any]:
    """The count line and the cards of ``found`` (already ranked), at most ``limit``."""
    if not found:
        return [html.P(_("No alerts right now."), className="m-calm")]
    out: list[Any] = [
        html.P(board_count(found, _, ctx.language), className="m-count", id="m-alert-count"),
        html.Ul([_card(a, ctx, _) for a in found[:limit]], className="m-alerts"),
    ]
    if len(found) > limit:
        more = format_number(len(found) - limit, ctx.language)
        out.append(html.P(_("and {n} more").format(n=more), className="m-muted"))
    return out


def opened_words(opened: datetime, language: str, timezone: str) -> str:
    """When an alert opened, as the audit log reads it."""
    return format_time(opened, language, timezone, "EEE d MMM HH:mm")
