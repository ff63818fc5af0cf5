"""The digital twin in the cockpit: what is typical, what is unusual, what comes next.

``City.twin_at`` answers, for the city live or replayed, each site's value against its
typical value for that weekday and hour, the KPIs against theirs, and today's anomalies
(``cockpit.twin.panels``). The panel functions here turn its answers into text-only Dash
components in the viewer's language.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from dash import html

from cockpit.city import City, CityView
from cockpit.model import METRICS
from cockpit.present import summary
from cockpit.present.i18n import Gettext, format_number, format_time
from cockpit.twin import baseline, crossdomain, sensor_health
from cockpit.twin.attention import AttentionItem
from cockpit.twin.districts import typical_words
from cockpit.twin.panels import KPI_METRICS, TWIN_METRICS, Twin
from layouts.components.chart_config import chart_config
from layouts.components.health_panel import health_panel
from layouts.components.html_attrs import html_attrs

__all__ = [
    "ATTEND_ID",
    "KPI_METRICS",
    "TWIN_METRICS",
    "Twin",
    "anomalies_panel",
    "attention_panel",
    "comparison_words",
    "typical_of_sites",
]


def typical_of_sites(twin: Twin) -> dict[str, str]:
    """Each site's marker word against typical: below, typical or above (its strongest
    metric decides); sites without a baseline are left out."""
    return typical_words(twin.states)


def _slot(at: datetime, language: str, timezone: str) -> str:
    return format_time(at, language, timezone, "EEEE HH:00")


def comparison_words(item: baseline.KpiComparison, language: str, timezone: str, _: Gettext) -> str:
    """ "Vehicle flow 18% below a typical Tuesday 10:00", in the viewer's language."""
    slot = _slot(item.at, language, timezone)
    if item.direction == "as usual":
        return _("{label} about as usual for a {slot}").format(label=_(item.label), slot=slot)
    pct = format_number(abs(item.change) * 100, language)
    text = (
        _("{label} {pct}% above a typical {slot}")
        if item.direction == "above"
        else _("{label} {pct}% below a typical {slot}")
    )
    return text.format(label=_(item.label), pct=pct, slot=slot)


def comparison_line(
    item: baseline.KpiComparison, language: str, timezone: str, _: Gettext
) -> html.Div:
    """The KPI card's line against its baseline: numbers and words."""
    m = METRICS[KPI_METRICS[item.key][0]]
    typical = format_number(item.typical, language, m.decimals)
    return html.Div(
        [
            html.Span(
                "▼" if item.direction == "below" else "▲" if item.direction == "above" else "●",
                className=f"cc-vs cc-vs-{item.direction.replace(' ', '-')}",
                **html_attrs({"aria-hidden": "true"}),
            ),
            html.Span(comparison_words(item, language, timezone, _)),
            html.Span(
                _(" (typical {typical} {unit})").format(typical=typical, unit=_(m.unit)),
                className="cc-typical-figure",
            ),
        ],
        className="cc-kpi-baseline",
    )


def add_to_cards(cards: list[Any], extras: dict[str, list[Any]]) -> list[Any]:
    """Insert ``extras`` (KPI key -> components) into the KPI cards, after the detail."""
    for card in cards:
        key = str(getattr(card, "id", "")).removeprefix("kpi-")
        more = extras.get(key)
        if more:
            children = list(card.children)
            children[4:4] = more  # title, figure, level, detail, then ours
            card.children = children
    return cards


def anomalies_panel(
    twin: Twin, view: CityView, language: str, timezone: str, _: Gettext, limit: int = 8
) -> list[Any]:
    """Today's unusual sites, strongest first, as text."""
    visible = set(view.sites["id"].astype(str))
    found = [a for a in twin.anomalies if a.site_id in visible]
    title = html.H2(_("Unusual today"), className="cc-panel-title", id="cc-anomalies-title")
    if not found:
        return [title, html.P(_("Nothing unusual so far today."), className="cc-muted")]
    items = []
    for a in found[:limit]:
        m = METRICS.get(a.metric)
        label, unit, dec = (m.label, m.unit, m.decimals) if m else (a.metric, "", 0)
        words = (
            _("{label} {value} {unit} at {time}, far above the usual {typical}")
            if a.direction == "above"
            else _("{label} {value} {unit} at {time}, far below the usual {typical}")
        )
        items.append(
            html.Li(
                [
                    html.Span(
                        "▲" if a.direction == "above" else "▼",
                        className=f"cc-vs cc-vs-{a.direction}",
                        **html_attrs({"aria-hidden": "true"}),
                    ),
                    html.Strong(a.name),
                    html.Span(
                        " "
                        + words.format(
                            label=_(label),
                            value=format_number(a.value, language, dec),
                            unit=_(unit),
                            time=format_time(a.time, language, timezone),
                            typical=format_number(a.typical, language, dec),
                        )
                    ),
                ],
                className="cc-anomaly",
                **html_attrs({"data-site": a.site_id}),
            )
        )
    more = len(found) - limit
    tail = [html.P(_("and {n} more").format(n=more), className="cc-muted")] if more > 0 else []
    return [title, html.Ul(items, className="cc-anomalies"), *tail]


# -- targets, CO2, summary, health, traffic against air ---------------------------------
def _quarter(now: datetime) -> int:
    return int(pd.Timestamp(now).floor("15min").timestamp())


def targets_panel(
    found: list[Any], co2: Any, language: str, timezone: str, _: Gettext
) -> list[Any]:
    """Progress toward each KPI target, then the CO₂ estimate with its factors."""
    items = []
    for t in found:
        decimals = METRICS[t.metric].decimals if t.metric in METRICS else 1
        unit = _(t.unit)
        current = (
            format_number(t.current, language, decimals) + f" {unit}"
            if t.current is not None
            else "–"
        )
        goal = format_number(t.target, language, decimals) + f" {unit}"
        share = max(0.0, min(1.0, t.progress)) if t.progress is not None else 0.0
        items.append(
            html.Li(
                [
                    html.Div(html.Strong(_(t.label))),
                    html.Div(
                        _("now {current}, target {direction} {goal} by {by}").format(
                            current=current,
                            direction=_("below") if t.direction == "below" else _("above"),
                            goal=goal,
                            by=t.by,
                        )
                    ),
                    html.Div(
                        html.Span(style={"width": f"{share * 100:.0f}%"}),
                        className="cc-progress",
                        role="img",
                        **html_attrs(
                            {"aria-label": _("{pct}% of the way").format(pct=f"{share * 100:.0f}")}
                        ),
                    ),
                    html.Span(
                        summary.target_verdict(t, _),
                        className=f"cc-target-status cc-target-{t.status.replace(' ', '-')}",
                    ),
                ],
                className="cc-target",
                id=f"cc-target-{t.key}",
            )
        )
    body: list[Any] = [
        html.H2(_("Targets and climate"), className="cc-panel-title", id="cc-targets-title")
    ]
    body.append(
        html.Ul(items, className="cc-targets")
        if items
        else html.P(_("No KPI targets in this city's configuration."), className="cc-muted")
    )
    body.append(co2_card(co2, language, timezone, _))
    return body


def co2_card(co2: Any, language: str, timezone: str, _: Gettext) -> html.Div:
    """Yesterday's estimated road-traffic CO₂, saying it is an estimate and how it is made."""
    title = html.Div(_("Road-traffic CO₂ (estimate)"), className="cc-kpi-title")
    if co2 is None:
        return html.Div(
            [title, html.P(_("No vehicle counts for yesterday."), className="cc-muted")],
            className="cc-kpi cc-none",
            id="kpi-co2",
        )
    factors = co2.factors
    return html.Div(
        [
            title,
            html.Div(
                [
                    html.Span(
                        "≈ " + format_number(co2.tonnes, language, 1), className="cc-kpi-value"
                    ),
                    html.Span(_("t CO₂ yesterday"), className="cc-unit"),
                ],
                className="cc-kpi-figure",
            ),
            html.Div(
                _("Estimate from {vehicles} vehicles counted at {sites} sites.").format(
                    vehicles=format_number(co2.vehicles, language), sites=co2.sites
                ),
                className="cc-kpi-detail",
            ),
            html.Div(
                _(
                    "Emission factors: {g} g CO₂ per vehicle-km; {km} km driven per counted "
                    "vehicle.{source}"
                ).format(
                    g=format_number(factors.g_per_vehicle_km, language),
                    km=format_number(factors.km_per_vehicle, language, 1),
                    source=(" " + _("Source: {s}.").format(s=_(factors.source)))
                    if factors.source
                    else "",
                ),
                className="cc-co2-factors",
            ),
        ],
        className="cc-kpi cc-none cc-co2",
        id="kpi-co2",
    )


def summary_lines(
    city: City,
    view: CityView,
    state: Twin,
    found: list[Any],
    co2: Any,
    language: str,
) -> list[Any]:
    """The city now (or at the replayed moment) in short lines (``cockpit.present.
    summary``): the moment as a heading, then one line per sentence. The unusual places
    are named in "needs attention" above, so the summary only counts them."""
    visible = set(view.sites["id"].astype(str))
    lines = summary.city_summary(
        view.kpis,
        list(state.comparisons.values()),
        [a for a in state.anomalies if a.site_id in visible],
        state.at,
        city.config.city.timezone,
        language,
        found,
        co2,
        named=0,
    )
    if not lines:
        return []
    return [
        html.H2(lines[0], className="cc-summary-title"),
        html.Ul([html.Li(line) for line in lines[1:]], className="cc-summary-lines"),
    ]


ATTEND_ID = "cc-attend"


def attention_panel(
    items: list[AttentionItem], language: str, timezone: str, _: Gettext
) -> list[Any]:
    """At most three places that need attention, ranked, each one sentence and a link
    that centres the map on the place and opens it (``ATTEND_ID`` pattern ids)."""
    title = html.H2(_("Needs attention"), className="cc-panel-title", id="cc-attention-title")
    if not items:
        return [title, html.P(_("Nothing needs attention at this moment."), className="cc-muted")]
    rows = []
    for rank, item in enumerate(items, start=1):
        rows.append(
            html.Li(
                [
                    html.Span(
                        "▲" if item.direction == "above" else "▼",
                        className=f"cc-vs cc-vs-{item.direction}",
                        **html_attrs({"aria-hidden": "true"}),
                    ),
                    html.A(
                        summary.attention_sentence(item, language, timezone),
                        href=f"#site-{item.site_id}",
                        id={"type": ATTEND_ID, "site": item.site_id},
                        n_clicks=0,
                        className="cc-attend-link",
                        title=_("Show {site} on the map").format(site=item.name),
                    ),
                ],
                className="cc-attention-item",
                **html_attrs({"data-site": item.site_id, "data-rank": str(rank)}),
            )
        )
    return [title, html.Ol(rows, className="cc-attention-list")]


def health_section(city: City, view: CityView, language: str = "en") -> Any:
    """The sensor health panel for the sites ``view`` shows in ``language``, kept per
    quarter hour and language (the sites' health itself is found once for all)."""

    def make() -> Any:
        found = city.sensor_health(view.role)
        return health_panel(
            sensor_health.coverage(found),
            found,
            city.config.city.timezone,
            language=language,
        )

    question = ("health-panel", _quarter(city.clock()), language)
    return city.remember(view, question, make, reuse_s=math.inf)


def pair_panel(
    city: City, view: CityView, site_id: str, hours: int, language: str, _: Gettext
) -> list[Any]:
    """For a traffic site: its flow against NO₂ and PM at the paired air station over the
    last ``hours``, with their correlation; empty when no station is near enough."""
    from layouts.components.trend import pair_figure

    pairs = city.site_pairs(view.role)
    match = pairs[pairs["traffic_site"] == site_id]
    if match.empty:
        return [html.P(_("No air-quality station near this site."), className="cc-muted")]
    pair = match.iloc[0]
    now = city.clock()
    start = now - timedelta(hours=hours)
    ids = [site_id, str(pair["air_site"])]
    frame = city.hourly(view.role, ids, start, now + timedelta(minutes=1))
    found = crossdomain.pair_comparison(frame, site_id, str(pair["air_site"]), start, now)
    title = _("Traffic here against air at {station} ({km} km)").format(
        station=pair["air_name"], km=format_number(float(pair["distance_km"]), language, 1)
    )
    lines = []
    for metric, corr in found.correlations.items():
        label = METRICS[metric].label
        if corr.pearson is None:
            lines.append(html.Li(_("{label}: too few common hours").format(label=label)))
            continue
        lines.append(
            html.Li(
                _("{label}: correlation r = {r} (Spearman {rho}) over {n} hours").format(
                    label=label,
                    r=format_number(corr.pearson, language, 2),
                    rho=format_number(corr.spearman or 0.0, language, 2),
                    n=corr.n,
                ),
                **html_attrs({"data-metric": metric}),
            )
        )
    from dash import dcc

    return [
        html.H3(title, className="cc-pair-title"),
        dcc.Graph(
            figure=pair_figure(found.frame, "", city.config.city.timezone, _("Vehicle flow"), _),
            config=chart_config(language, displayModeBar=False),
            style={"height": "260px"},
            id="cc-pair-graph",
        ),
        html.Ul(lines, className="cc-corr"),
    ]
