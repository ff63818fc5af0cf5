"""Components of the phone view: alert cards, site rows, a site's sheet and sparklines.

Small on the wire: lists and text, and a site's last hours as an inline SVG sparkline
made here (an ``<img>`` with a ``data:`` URI, numbers only), not a charting library.
"""

from __future__ import annotations

import base64
import math
from datetime import datetime
from typing import Any

import pandas as pd
from dash import html

from cockpit.city import CityView, SourceInfo, format_value
from cockpit.model import METRICS
from cockpit.present.i18n import Gettext, format_number, format_time
from cockpit.present.wayfinding import place_words, route_url
from cockpit.privacy import mask_frame
from cockpit.storage import Acknowledgement
from cockpit.twin.alerts import PARKING_FULL, Alert
from cockpit.twin.sensor_health import DomainCoverage
from layouts.components.html_attrs import html_attrs
from layouts.components.mobile_data import SiteState, attributes, value_with_state

__all__ = ["alert_card", "alert_list", "coverage_line", "site_button", "site_sheet", "sparkline"]


_SYMBOL = {"ok": "●", "warn": "▲", "alert": "■", "stale": "◌", "none": "–"}
_POLLUTANT = {"pm25": "PM2.5", "pm10": "PM10", "no2": "NO₂", "o3": "O₃"}
# Attribute keys that carry parking restrictions where a platform publishes them.
_PARKING_KEYS = {
    "zone": "Parking zone",
    "restriction": "Time limit",
    "restrictions": "Time limit",
    "time_limit": "Time limit",
    "max_stay": "Time limit",
    "disability": "Accessible bay",
    "accessible": "Accessible bay",
}


def sparkline(
    times: pd.Series,
    values: pd.Series,
    start: datetime,
    end: datetime,
    width: int = 320,
    height: int = 64,
) -> str:
    """A ``data:image/svg+xml`` URI: the values between ``start`` and ``end`` as a line
    (gaps where a value is missing), with a dot at the newest value."""
    t0, t1 = pd.Timestamp(start).timestamp(), pd.Timestamp(end).timestamp()
    pad = 4
    finite = [float(v) for v in values if not math.isnan(float(v))]
    lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
    if hi - lo < 1e-9:
        lo, hi = lo - 1, hi + 1
    span = max(t1 - t0, 1.0)
    segments: list[list[str]] = [[]]
    last = None
    for t, v in zip(times, values, strict=True):
        v = float(v)
        if math.isnan(v):
            if segments[-1]:
                segments.append([])
            continue
        x = pad + (pd.Timestamp(t).timestamp() - t0) / span * (width - 2 * pad)
        y = pad + (hi - v) / (hi - lo) * (height - 2 * pad)
        segments[-1].append(f"{x:.1f},{y:.1f}")
        last = (x, y)
    lines = "".join(
        f'<polyline points="{" ".join(s)}" fill="none" stroke="#16324f" stroke-width="2"/>'
        for s in segments
        if len(s) > 1
    )
    dot = f'<circle cx="{last[0]:.1f}" cy="{last[1]:.1f}" r="3.5" fill="#D55E00"/>' if last else ""
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}"><rect width="100%" height="100%" fill="#f4f6f9"/>'
        f"{lines}{dot}</svg>"
    )
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def alert_title(alert: Alert, _: Gettext) -> str:
    """What the alert is about, in a few words."""
    rule = alert.rule
    if rule.startswith("air."):
        return _("{pollutant} above the limit").format(pollutant=_POLLUTANT[alert.metric])
    if rule == "parking" and alert.value >= PARKING_FULL:
        return _("Parking full")
    titles = {
        "parking": _("Parking nearly full"),
        "congestion": _("Heavy traffic"),
        "crowding": _("Unusually crowded"),
        "sensor.stale": _("Sensor late"),
        "sensor.silent": _("Sensor silent"),
        "sensor.flat": _("Sensor reads a flat line"),
        "sensor.impossible": _("Sensor reads impossible values"),
    }
    return titles.get(rule, rule)


def _figure(value: float, metric: str, unit: str, language: str) -> str:
    decimals = METRICS[metric].decimals if metric in METRICS else 0
    return f"{format_number(value, language, decimals)} {unit}".strip()


def alert_detail(alert: Alert, _: Gettext, language: str) -> str:
    """The measured value against its limit and what was compared."""
    if math.isnan(alert.value):
        return _(alert.basis) if alert.basis == "no reading" else alert.basis
    return _("{basis}: {value}, limit {limit}").format(
        basis=_(alert.basis),
        value=_figure(alert.value, alert.metric, alert.unit, language),
        limit=_figure(alert.limit, alert.metric, alert.unit, language),
    )


def alert_card(
    alert: Alert,
    ack: Acknowledgement | None,
    may_ack: bool,
    known_site: bool,
    _: Gettext,
    language: str,
    timezone: str,
) -> html.Li:
    """One alert: what, where, since when, the value against the limit, and its
    acknowledgement (who and when for staff; only that it was, for the public)."""
    sensor = alert.rule.startswith("sensor.")
    since = _("since {time}").format(
        time=format_time(alert.opened, language, timezone, "EEE HH:mm")
    )
    where: Any = alert.site_name
    if known_site:
        where = html.Button(
            alert.site_name,
            id={"type": "m-site", "id": alert.site_id},
            className="m-link",
            title=_("Show this site's last 24 hours"),
        )
    if ack is not None:
        when = format_time(ack.time, language, timezone, "EEE HH:mm")
        text = (
            _("Acknowledged by {user} at {time}").format(user=ack.user, time=when)
            if may_ack
            else _("Acknowledged by staff at {time}").format(time=when)
        )
        status: Any = html.P(
            [html.Span("✓ ", **html_attrs({"aria-hidden": "true"})), text], className="m-ack"
        )
    elif may_ack:
        status = html.Button(
            _("Acknowledge"),
            id={"type": "m-ack", "key": alert.key},
            className="m-ack-button",
            **html_attrs(
                {"aria-label": f"{_('Acknowledge')}: {alert_title(alert, _)}, {alert.site_name}"}
            ),
        )
    else:
        status = None
    return html.Li(
        className="m-alert "
        + ("m-alert-sensor" if sensor else "m-alert-limit")
        + (" m-acked" if ack else ""),
        **html_attrs({"data-key": alert.key}),
        children=[
            html.Div(
                [
                    html.Span("▲ " if not sensor else "◌ ", **html_attrs({"aria-hidden": "true"})),
                    html.Strong(alert_title(alert, _)),
                ],
                className="m-alert-title",
            ),
            html.Div([where, html.Span(f" · {since}", className="m-muted")]),
            html.Div(alert_detail(alert, _, language), className="m-alert-detail"),
            status,
        ],
    )


def alert_list(
    found: list[Alert],
    acks: dict[str, Acknowledgement],
    may_ack: bool,
    site_ids: set[str],
    _: Gettext,
    language: str,
    timezone: str,
    limit: int = 25,
) -> list[Any]:
    """The alert cards, threshold alerts first; a calm line when there is none."""
    if not found:
        return [html.P(_("No alerts right now."), className="m-calm")]
    cards = [
        alert_card(a, acks.get(a.key), may_ack, a.site_id in site_ids, _, language, timezone)
        for a in found[:limit]
    ]
    out: list[Any] = [html.Ul(cards, className="m-alerts")]
    if len(found) > limit:
        out.append(html.P(_("and {n} more").format(n=len(found) - limit), className="m-muted"))
    return out


def site_button(row: Any, state: SiteState | None, _: Gettext, extra: str = "") -> html.Li:
    """A site as one tappable row: name, value and state (with a symbol, not colour only)."""
    level = state.level if state else "none"
    words = value_with_state(state, _(state.state)) if state else _("no current value")
    return html.Li(
        html.Button(
            [
                html.Span(
                    _SYMBOL.get(level, "–"),
                    className=f"m-sym m-{level}",
                    **html_attrs({"aria-hidden": "true"}),
                ),
                html.Span(
                    [
                        html.Span(str(row.name), className="m-site-name"),
                        html.Span(words + extra, className="m-site-value"),
                    ],
                    className="m-site-text",
                ),
            ],
            id={"type": "m-site", "id": str(row.id)},
            className="m-site",
        )
    )


def coverage_line(cover: DomainCoverage | None, _: Gettext) -> str:
    """ "34 of 39 sites reporting · 5 late" for a domain."""
    if cover is None:
        return _("no sites")
    parts = [_("{n} of {total} sites reporting").format(n=cover.reporting, total=cover.sites)]
    if cover.stale:
        parts.append(_("{n} late").format(n=cover.stale))
    if cover.silent:
        parts.append(_("{n} silent").format(n=cover.silent))
    return " · ".join(parts)


def _position(row: Any, centre: tuple[float, float] | None, _: Gettext, language: str) -> Any:
    """Where the site is, as people read it: how far and which way from the city centre,
    with a link that routes there (raw coordinates only without a centre)."""
    lat, lon = float(row.lat), float(row.lon)
    if centre is None:
        return f"{lat:.5f}, {lon:.5f}"
    words = place_words(centre[0], centre[1], lat, lon, language)
    return html.Span(
        [
            f"{words} {_('from the city centre')} · ",
            html.A(
                _("Route there"),
                href=route_url(lat, lon, None, None),
                target="_blank",
                rel="noopener",
                className="m-route",
            ),
        ]
    )


def _metadata(
    row: Any,
    info: SourceInfo | None,
    _: Gettext,
    language: str = "en",
    centre: tuple[float, float] | None = None,
) -> list[Any]:
    items: list[tuple[str, Any]] = [
        (_("Kind"), _(str(row.kind))),
        (_("District"), str(row.district or "–")),
        (_("Position"), _position(row, centre, _, language)),
        (_("Origin"), _(str(row.origin))),
    ]
    attrs = attributes(row)
    if str(row.domain) == "parking":
        shown = [(label, attrs[k]) for k, label in _PARKING_KEYS.items() if k in attrs]
        items += [(_(label), str(value)) for label, value in shown]
        labels = {label for label, _v in shown}
        if "Time limit" not in labels and "Accessible bay" not in labels:
            items.append(
                (_("Time limits and accessible bays"), _("not published with this source"))
            )
    if info is not None:
        items.append((_("Source"), info.credit()))
    return [
        html.Dl([part for k, v in items for part in (html.Dt(k), html.Dd(v))], className="m-meta")
    ]


def site_sheet(
    view: CityView,
    site_id: str,
    series: pd.DataFrame,
    state: SiteState | None,
    start: datetime,
    end: datetime,
    _: Gettext,
    language: str,
    timezone: str,
    alerts: tuple[Alert, ...] = (),
    centre: tuple[float, float] | None = None,
) -> list[Any]:
    """One site: name, value, the open ``alerts`` of the site in the words of the alert
    board (a sensor fault first, and the value said to be doubtful), its last 24 hours
    as sparklines, metadata (the position from ``centre``, the city centre, with a route)
    and source."""
    found = view.sites[view.sites["id"] == site_id]
    if found.empty:
        return [html.P(_("This site is not available."))]
    row = next(found.itertuples(index=False))
    info = view.sources.get(str(row.source))
    charts: list[Any] = []
    masked = mask_frame(series, view.min_group_size) if not series.empty else series
    for metric_name, part in masked.groupby("metric", sort=True) if not masked.empty else []:
        metric_name = str(metric_name)
        m = METRICS[metric_name]
        part = part.sort_values("time")
        values = part["value"].astype(float)
        finite = values.dropna()
        if finite.empty:
            summary = _("no values to show")
        else:
            summary = _("{label}, last 24 hours: lowest {low}, highest {high}, now {now}").format(
                label=_(m.label),
                low=format_value(metric_name, float(finite.min()), view.min_group_size),
                high=format_value(metric_name, float(finite.max()), view.min_group_size),
                now=format_value(metric_name, float(finite.iloc[-1]), view.min_group_size),
            )
        charts.append(
            html.Figure(
                [
                    html.Img(
                        src=sparkline(part["time"], values, start, end),
                        alt=summary,
                        className="m-spark",
                        width=320,
                        height=64,
                    ),
                    html.Figcaption(summary),
                ],
                className="m-chart",
            )
        )
    if not charts:
        charts = [html.P(_("No readings in the last 24 hours."), className="m-muted")]
    when = format_time(start, language, timezone, "EEE HH:mm")
    until = format_time(end, language, timezone, "EEE HH:mm")
    headline = value_with_state(state, _(state.state)) if state else _("no current value")
    faults = [a for a in alerts if a.rule.startswith("sensor.")]
    if faults:
        # The sensor's own fault comes first: its newest value is not to be trusted.
        headline = _("{fault}: the newest value ({value}) may be wrong").format(
            fault=alert_title(faults[0], _), value=headline
        )
    open_here: list[Any] = []
    if alerts:
        open_here = [
            html.Ul(
                [
                    html.Li(
                        [html.Strong(alert_title(a, _)), " · ", alert_detail(a, _, language)],
                        **html_attrs({"data-key": a.key}),
                    )
                    for a in alerts
                ],
                className="m-sheet-alerts",
                **html_attrs({"aria-label": _("Open alerts here")}),
            )
        ]
    return [
        html.H2(str(row.name), id="m-site-title"),
        html.P(headline, className="m-site-now"),
        *open_here,
        html.P(_("From {start} to {end}").format(start=when, end=until), className="m-muted"),
        *charts,
        *_metadata(row, info, _, language, centre),
    ]
