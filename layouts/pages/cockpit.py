"""The desktop cockpit for the mayor's desk: KPI strip, live map with its time machine,
trend with forecast, what is unusual today, sensor health and sources.

Callbacks are thin: they read the ``City`` for the viewer's role, call a pure function
and shape the output. A poll that finds the data version unchanged sends nothing. The
time machine reads the history store only (``City.view_at``), never a platform.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import Any, cast

from dash import ALL, Dash, Input, Output, Patch, State, ctx, dcc, html, no_update
from dash._utils import to_json
from dash.exceptions import PreventUpdate

from cockpit.city import City, CityView, format_value
from cockpit.domains import get as get_domain
from cockpit.model import METRICS
from cockpit.present.demo import credit_text, origin_text
from cockpit.present.i18n import Gettext, format_number, format_time, translator
from cockpit.privacy import suppressed
from cockpit.validate import bounded_int_or_none
from layouts.components import brief_link
from layouts.components import timemachine as tm
from layouts.components import twin_panels as twin
from layouts.components.brief_link import brief_panel
from layouts.components.chart_config import chart_config
from layouts.components.clientside import clientside
from layouts.components.demo_badge import demo_badge_tag
from layouts.components.html_attrs import html_attrs
from layouts.components.kpi_card import kpi_strip
from layouts.components.map import (
    LAYER_ID,
    MAP_ID,
    SOURCE_ID,
    city_map,
    legend,
    map_words,
    map_words_store,
)
from layouts.components.page_language import page_language
from layouts.components.shell import nav_links
from layouts.components.trend import cursor_shapes, trend_figure
from layouts.routes.access import current_viewer, viewer_role
from layouts.routes.downloads import download_options
from layouts.routes.mapclusters import first_views
from layouts.routes.mapdata import map_data_urls
from layouts.routes.replay import replay_urls
from layouts.routes.reports import reports_layer_url

__all__ = [
    "FRAME_OUTPUTS",
    "attend_site",
    "clicked_site",
    "cockpit_frame",
    "layout",
    "live_frame",
    "moments_ahead",
    "register_callbacks",
    "site_detail",
    "trend_panel",
]


# Plotly's toolbar shows on hover only, so it never sits on a chart's title.
# A parking bay's trend is the occupied share of the bays this close to it.
BAY_RADIUS_M = 150


def _language(city: City, asked: object) -> str:
    """The language the city offers that the page is asked for, else its default: panels
    are kept per language, so a crafted ``lang`` must not make new ones."""
    return page_language(
        {"lang": asked if isinstance(asked, str) else ""}, city.config.city.languages
    )


def _t(language: str | None) -> Gettext:
    return translator(language or "en", "cockpit")


def _clock(when: datetime | None, language: str, timezone: str, pattern: str, _: Gettext) -> str:
    """``when`` on the city's wall clock in ``language``; "never" without data."""
    return _("never") if when is None else format_time(when, language, timezone, pattern)


def _as_of(city: City, view: CityView, language: str = "en") -> str:
    _ = _t(language)
    newest = max((s.updated for s in view.sources.values() if s.updated), default=None)
    # The date's pattern is the language's own ("Tue 24 Nov 10:30", "Di. 24. Nov. 10:30").
    when = _clock(newest, language, city.config.city.timezone, _("EEE dd MMM HH:mm"), _)
    return _("Data as of {time}").format(time=when)


def map_updated(city: City, view: CityView, language: str = "en") -> str:
    """When each map layer's data was last updated, in one line."""
    _ = _t(language)
    tz = city.config.city.timezone
    parts = []
    for layer_id in view.layers:
        layer = city.config.layers[layer_id]
        times = [view.sources[s].updated for s in layer.sources if s in view.sources]
        newest = max((t for t in times if t), default=None)
        stale = any(view.sources[s].stale for s in layer.sources if s in view.sources)
        mark = " " + _("(stale)") if stale else ""
        parts.append(f"{_(layer.title)} {_clock(newest, language, tz, 'HH:mm', _)}{mark}")
    return _("Map updated:") + " " + " · ".join(parts)


def sources_table(city: City, view: CityView, language: str = "en") -> html.Table:
    """Every source shown: publisher, licence, origin, status and last update."""
    _ = _t(language)
    tz = city.config.city.timezone
    rows = [
        html.Tr(
            [
                html.Td(info.name),
                html.Td(info.publisher),
                html.Td(
                    html.A(info.licence, href=info.licence_url)
                    if info.licence_url
                    else info.licence
                ),
                html.Td(origin_text(info.origin, language)),
                html.Td(_(info.status), className=f"cc-status cc-status-{info.status}"),
                html.Td(_clock(info.updated, language, tz, "EEE HH:mm", _)),
            ]
        )
        for info in view.sources.values()
    ]
    head = html.Tr(
        [html.Th(_(h)) for h in ("Source", "Publisher", "Licence", "Origin", "Status", "Last data")]
    )
    return html.Table([html.Thead(head), html.Tbody(rows)], className="cc-sources")


def _origins(view: CityView, language: str) -> list[tuple[str, str]]:
    """Each origin the map's popups may name (the sources', and "simulated" for a
    simulated site), with its words in ``language``."""
    found = {info.origin for info in view.sources.values()} | {"simulated"}
    return [(origin, origin_text(origin, language)) for origin in sorted(found)]


def _colour_toggle(_: Gettext) -> html.Div:
    return html.Div(
        [
            html.Span(_("Marker colours"), id="cc-colour-label", className="cc-sr-only"),
            _colour_items(_),
        ]
    )


def _colour_items(_: Gettext) -> dcc.RadioItems:
    return dcc.RadioItems(
        id="cc-colour",
        options=[
            {"label": _("Colour by state"), "value": "state"},
            {"label": _("Against typical"), "value": "typical"},
        ],
        value="state",
        inline=True,
        className="cc-radio cc-colour",
        inputClassName="cc-radio-input",
    )


def typical_legend(_: Gettext) -> html.Div:
    """What the "against typical" colours mean."""
    items = [
        ("below", "▼", _("well below typical")),
        ("typical", "●", _("typical")),
        ("above", "▲", _("well above typical")),
        ("unknown", "?", _("no baseline yet")),
    ]
    return html.Div(
        [
            html.Strong(_("Against typical for this weekday and hour")),
            *[
                html.Span(
                    [html.Span(sym, className=f"cc-swatch cc-{cls}"), text],
                    className="cc-legend-item",
                )
                for cls, sym, text in items
            ],
        ],
        className="cc-legend-row cc-typical-legend",
    )


def layout(city: City, lang: str = "en", **_query: Any) -> html.Div:
    """The cockpit page, rendered with the data of the moment for the viewer's role,
    in the viewer's language (``?lang=de``)."""
    config = city.config
    language = _language(city, lang)
    _ = _t(language)
    viewer = current_viewer()
    view = city.view(viewer.role)
    tz = config.city.timezone
    credits = [credit_text(s, language) for s in view.sources.values()]
    anchor = tm.anchor_for(city.clock())
    return html.Div(
        className="cc-page cc-cockpit",
        lang=language,
        children=[
            html.Header(
                className="cc-header",
                children=[
                    html.H1(config.city.name),
                    demo_badge_tag(view, language),
                    html.Span(_as_of(city, view, language), id="cc-asof", className="cc-asof"),
                    nav_links(viewer, language, _),
                ],
            ),
            html.Main(
                [
                    html.Section(
                        kpi_strip(view.kpis, view.sources, tz, language),
                        id="cc-kpis",
                        className="cc-kpi-strip",
                        **html_attrs({"aria-label": _("Key figures")}),
                    ),
                    html.Div(
                        className="cc-body",
                        children=[
                            html.Section(
                                [
                                    city_map(
                                        config,
                                        credits,
                                        MAP_ID,
                                        map_data_urls(view),
                                        first_views(city, view),
                                        _,
                                        reports_layer_url(config, language),
                                    ),
                                    map_words_store(
                                        MAP_ID,
                                        map_words(
                                            config,
                                            list(view.layers),
                                            _origins(view, language),
                                            language,
                                            _,
                                        ),
                                    ),
                                    # The map's place search reads its words here
                                    # (assets/mapview.js), in the viewer's language.
                                    html.Span(
                                        _("Find a site or district"),
                                        id=f"{MAP_ID}-search-words",
                                        hidden=True,
                                    ),
                                    tm.time_bar(tz, anchor, language, _),
                                    html.Div(
                                        [
                                            _colour_toggle(_),
                                            legend(config, list(view.layers), _),
                                        ],
                                        className="cc-map-options",
                                    ),
                                    html.Div(
                                        typical_legend(_),
                                        id="cc-typical-legend",
                                        style={"display": "none"},
                                    ),
                                    html.Div(
                                        map_updated(city, view, language),
                                        id="cc-map-updated",
                                        className="cc-updated",
                                    ),
                                ],
                                className="cc-map-panel",
                                **html_attrs({"aria-label": _("Map of sites")}),
                            ),
                            html.Div(
                                [
                                    html.Section(
                                        html.H2(
                                            _("Needs attention"),
                                            className="cc-panel-title",
                                            id="cc-attention-title",
                                        ),
                                        id="cc-attention",
                                        className="cc-attention",
                                        **html_attrs(
                                            {
                                                "aria-labelledby": "cc-attention-title",
                                                "aria-live": "polite",
                                            }
                                        ),
                                    ),
                                    brief_panel(city, viewer.role, language),
                                    html.Section(
                                        html.P(_("Reading the city…"), className="cc-muted"),
                                        id="cc-summary",
                                        className="cc-summary",
                                        **html_attrs({"aria-label": _("The city now")}),
                                    ),
                                    html.Section(
                                        [
                                            html.H2(_("Trend"), className="cc-panel-title"),
                                            html.Div(
                                                _("Click a site on the map to see its last hours."),
                                                id="cc-site-detail",
                                                className="cc-site-detail",
                                            ),
                                            # The chart (and Plotly with it) loads when a
                                            # site is chosen, so the first view shows the
                                            # map sooner.
                                            html.Div(
                                                html.P(
                                                    _("Click a site on the map."),
                                                    className="cc-muted cc-trend-hint",
                                                ),
                                                id="cc-trend-box",
                                                className="cc-trend",
                                            ),
                                            parking_question(_),
                                            html.Div(id="cc-pair", className="cc-pair"),
                                        ],
                                        className="cc-side-panel",
                                    ),
                                ],
                                className="cc-side",
                            ),
                        ],
                    ),
                    html.Div(
                        className="cc-lower",
                        children=[
                            html.Section(
                                id="cc-anomalies",
                                className="cc-panel cc-anomalies-panel",
                                **html_attrs({"aria-labelledby": "cc-anomalies-title"}),
                            ),
                            html.Div(id="cc-health-slot", className="cc-health-slot"),
                            html.Section(
                                id="cc-targets",
                                className="cc-panel cc-targets-panel",
                                **html_attrs({"aria-labelledby": "cc-targets-title"}),
                            ),
                        ],
                    ),
                    html.Section(
                        [
                            html.H2(_("Sources"), className="cc-panel-title"),
                            html.Div(sources_table(city, view, language), id="cc-sources"),
                        ],
                        className="cc-sources-panel",
                    ),
                ]
            ),
            dcc.Store(id="cc-version", data=view.version),
            dcc.Store(id="cc-site", data=None),
            dcc.Store(id="cc-lang", data=language),
            dcc.Store(id="cc-frame", data=None),
            dcc.Store(id="cc-frame-parts", data=list(FRAME_OUTPUTS)),
            dcc.Interval(id="cc-tick", interval=int(config.ui.poll_seconds * 1000)),
        ],
    )


def parking_question(_: Gettext) -> html.Div:
    """ "Free bays near here at 17:00?" for parking sites (hidden for others)."""
    return html.Div(
        id="cc-park",
        className="cc-park",
        style={"display": "none"},
        children=[
            html.Label(_("Free bays near here at"), htmlFor="cc-park-hour"),
            dcc.Dropdown(
                id="cc-park-hour",
                options=[{"label": f"{h:02d}:00", "value": h} for h in range(24)],
                value=17,
                clearable=False,
                searchable=False,
                className="cc-park-hour",
            ),
            html.Div(
                id="cc-park-answer",
                className="cc-park-answer",
                **html_attrs({"aria-live": "polite"}),
            ),
        ],
    )


def site_detail(
    city: City, view: CityView, site_id: str, _: Gettext | None = None, language: str = "en"
) -> list[Any]:
    """Name, latest values, time and provenance of one site, as text in ``language``
    (``_`` its translator)."""
    _ = _ or _t(language)
    row = view.sites[view.sites["id"] == site_id]
    if row.empty:
        return [_("This site is not available.")]
    site = row.iloc[0]
    info = view.sources[str(site["source"])]
    latest = view.latest[view.latest["site_id"] == site_id]
    tz = city.config.city.timezone
    values = [
        html.Li(
            _("{label}: {value} at {time}").format(
                label=_(METRICS[str(o.metric)].label),
                # pandas-stubs type every itertuples field as any scalar; value is a float.
                value=value_words(
                    str(o.metric),
                    float(o.value),  # type: ignore[arg-type]
                    view.min_group_size,
                    language,
                    _,
                ),
                time=format_time(cast(datetime, o.time), language, tz, "EEE HH:mm"),
            )
        )
        for o in latest.itertuples()
    ]
    origin = origin_text("simulated" if site["origin"] == "simulated" else info.origin, language)
    return [
        html.H3(str(site["name"])),
        html.Div(str(site["district"]), className="cc-district") if site["district"] else None,
        html.Ul(values, className="cc-site-values"),
        html.Div(
            f"{info.name} · {info.publisher} · {info.licence} · {origin}", className="cc-credit"
        ),
    ]


def value_words(metric: str, value: float, min_group_size: int, language: str, _: Gettext) -> str:
    """``value`` with its metric's unit in ``language`` ("1.240 Fz/h"); English as
    ``cockpit.city.format_value`` writes it, a small count of people masked there too."""
    english = format_value(metric, value, min_group_size)
    m = METRICS[metric]
    if language == "en":
        return english
    if suppressed(metric, value, min_group_size):
        return " ".join(_(word) for word in english.split(" "))
    if metric == "bay_occupied":
        return _(english)
    return f"{format_number(value, language, m.decimals)} {_(m.unit)}"


def _live_twin(city: City, view: CityView) -> Any:
    """The live twin of ``view``, computed once per view (data version and role) and
    clock hour (baselines are per hour of the week; new data makes a new view anyway)."""
    return city.twin_at(None, view.role)


def _panels(city: City, view: CityView, language: str) -> dict[str, Any]:
    """KPI strip, sources table and "as of" lines of ``view`` in ``language``, rendered
    once per view and language (the KPIs themselves are computed once per view)."""

    def make() -> Any:
        rendered = {
            "kpis": kpi_strip(view.kpis, view.sources, city.config.city.timezone, language),
            **_view_lines(city, view, language),
        }
        # Kept as plain JSON data: each browser's refresh then only copies it out.
        return json.loads(to_json(rendered))

    return dict(city.remember(view, ("cockpit-panels", language), make))


def _view_lines(city: City, view: CityView, language: str) -> dict[str, Any]:
    """The sources table and the "as of" and "map updated" lines of ``view``."""
    return {
        "sources": sources_table(city, view, language),
        "as_of": _as_of(city, view, language),
        "map_updated": map_updated(city, view, language),
    }


def kpi_cards(
    city: City,
    view: CityView,
    state: twin.Twin,
    language: str,
    _: Gettext,
    replayed: bool = False,
) -> list[Any]:
    """The KPI strip with each KPI's line against its baseline; in the time machine
    (``replayed``) a KPI without data says plainly that its domain has no history then."""
    tz = city.config.city.timezone
    kpis = view.kpis
    if replayed:
        kpis = [
            replace(
                k,
                level_label=_("no history"),
                detail=_("No {domain} history at this moment.").format(domain=_(k.title)),
                phrase=None,
            )
            if k.value is None
            else k
            for k in kpis
        ]
    cards = kpi_strip(kpis, view.sources, tz, language)
    extras = {
        key: [twin.comparison_line(item, language, tz, _)]
        for key, item in state.comparisons.items()
    }
    return twin.add_to_cards(cards, extras)


# Where each part of a cockpit frame is shown, by the part's name. The browser's
# ``showFrame`` (assets/cockpit.js) reads the parts by these names, in this order, from
# the ``cc-frame-parts`` store.
FRAME_OUTPUTS: dict[str, Output] = {
    "kpis": Output("cc-kpis", "children"),
    "hideouts": Output({"type": LAYER_ID, "layer": ALL}, "hideout"),
    "sources": Output("cc-sources", "children"),
    "as_of": Output("cc-asof", "children"),
    "map_updated": Output("cc-map-updated", "children"),
    "moment": Output("cc-tm-label", "children"),
    "anomalies": Output("cc-anomalies", "children"),
    "typical_legend": Output("cc-typical-legend", "style"),
    "summary": Output("cc-summary", "children"),
    "attention": Output("cc-attention", "children"),
    "targets": Output("cc-targets", "children"),
    "health": Output("cc-health-slot", "children"),
    "shown": Output("cc-tm-shown", "data"),
}


def _frame(
    city: City,
    view: CityView,
    moment: datetime | None,
    colour: str,
    language: str,
    lines: dict[str, Any],
) -> dict[str, Any]:
    """Everything the cockpit shows for ``view`` at ``moment`` (None: live), by part name
    (``FRAME_OUTPUTS``), with one hideout for every map layer and without ``shown``, which
    :func:`cockpit_frame` adds. ``lines`` holds the view's sources and "as of" lines."""
    _ = _t(language)
    tz = city.config.city.timezone
    role = view.role
    state = _live_twin(city, view) if moment is None else city.twin_at(moment, role)
    # A faulty sensor is sensor health's news, never an anomaly of the city.
    faulty = city.faulty_sites(role, moment)
    state = replace(state, anomalies=[a for a in state.anomalies if a.site_id not in faulty])
    # Every panel at the chosen moment: targets and CO₂ as they stood then too.
    found, co2 = city.targets_and_co2(role, moment)
    typical = twin.typical_of_sites(state) if colour == "typical" else {}
    attention = city.needs_attention(role, moment)
    return {
        "kpis": kpi_cards(city, view, state, language, _, replayed=moment is not None),
        "hideouts": [{"colour": colour, "typical": typical}],
        "sources": lines["sources"],
        "as_of": lines["as_of"],
        "map_updated": lines["map_updated"],
        "moment": tm.moment_label(moment, tz, language, _),
        "anomalies": twin.anomalies_panel(state, view, language, tz, _),
        "typical_legend": {"display": "block"} if colour == "typical" else {"display": "none"},
        "summary": twin.summary_lines(city, view, state, found, co2, language),
        "attention": twin.attention_panel(attention, language, tz, _),
        "targets": twin.targets_panel(found, co2, language, tz, _),
        "health": twin.health_section(city, city.view(role), language),
    }


def live_frame(city: City, view: CityView, language: str, colour: str) -> dict[str, Any]:
    """The live frame of ``view``, rendered once per view, language, colouring and clock
    hour, so that every browser after the first only copies it out."""
    key = f"frame:{language}:{colour}:{int(city.clock().timestamp()) // 3600}"

    def make() -> Any:
        frame = _frame(city, view, None, colour, language, _panels(city, view, language))
        return json.loads(to_json(frame))

    return dict(city.remember(view, key, make))


def cockpit_frame(
    city: City,
    role: str,
    offset: float | None,
    anchor: int | None,
    colour: str,
    language: str,
    store_layers: list[str],
    layer_count: int,
    recolour: bool,
) -> dict[str, Any]:
    """The cockpit at the slider's ``offset`` from ``anchor`` (live at 0) for ``role``:
    ``{"offset", "urls", "parts"}`` with the map files' URLs of the layers whose stores are
    on the page (``store_layers``) and the frame's parts by name (``FRAME_OUTPUTS``).

    Every one of the ``layer_count`` map layers gets the same marker colouring, sent only
    when ``recolour``: colouring by state needs no hideout, and leaving it unsent spares
    the browser rebuilding every layer's clusters on each new data version.
    """
    moment = tm.moment_of(anchor, offset)
    if moment is None:
        view = city.view(role)
        urls = map_data_urls(view)
        parts = live_frame(city, view, language, colour)
    else:
        view = city.view_at(role, moment)
        urls = replay_urls(view, moment)
        parts = _frame(city, view, moment, colour, language, _view_lines(city, view, language))
    hideout = parts["hideouts"][0]
    parts["hideouts"] = [hideout if recolour else no_update for _i in range(layer_count)]
    parts["shown"] = offset or 0
    return {
        "offset": offset or 0,
        "urls": {layer: urls[layer] for layer in store_layers if layer in urls},
        "parts": parts,
    }


# How many moments a playing replay prepares ahead of the one it shows.
PREPARE_AHEAD = 3


def moments_ahead(
    anchor: int | None, offset: float | None, step: float | None, ahead: int = PREPARE_AHEAD
) -> list[datetime]:
    """The next ``ahead`` replayed moments after the slider's ``offset`` (minutes, each
    ``step`` later), up to but not including live; none for an invalid slider."""
    size = tm.bounded_step(step)
    if size is None or not offset or offset >= 0:
        return []
    steps = [offset + k * size for k in range(1, ahead + 1)]
    found = [tm.moment_of(anchor, at) for at in steps if at < 0]
    return [m for m in found if m is not None]


def clicked_site(clicked: Any) -> str | None:
    """The id of the site whose marker was clicked, or None for a cluster, nothing, or
    a click no map sends (not a feature with properties)."""
    if not isinstance(clicked, dict) or not isinstance(clicked.get("properties", {}), dict):
        return None
    properties = clicked.get("properties", {})
    site_id = properties.get("id")
    if not site_id or properties.get("cluster"):
        return None
    return str(site_id)


def trend_panel(
    city: City,
    role: str,
    site_id: str,
    range_id: str,
    moment: datetime | None,
    language: str,
    new_data: bool,
) -> dict[str, Any]:
    """The side panel for ``site_id``: its trend chart with forecast and the cursor at
    ``moment``, its details, the parking question's visibility and the traffic pair panel,
    by output name. On ``new_data`` without a series, nothing changes (``no_update``)."""
    _ = _t(language)
    range_id = range_id if isinstance(range_id, str) else "24h"
    view = city.view(role)
    names = view.sites.set_index("id")["name"]
    hidden = {"display": "none"}
    if site_id not in names.index:
        message = _("This site is not available.")
        hint = html.P(message, className="cc-muted cc-trend-hint")
        return {"chart": hint, "detail": [message], "park": hidden, "pair": []}
    hours = max(city.config.ui.trend_hours, tm.RANGES.get(range_id, (0, 0))[0] // 60)
    series = city.series(role, site_id, hours)
    if new_data and series.empty:
        return dict.fromkeys(("chart", "detail", "park", "pair"), no_update)
    domain = str(view.sites.set_index("id").loc[site_id, "domain"])
    ahead = city.site_forecast(role, site_id)
    title = _("{name} · last {hours} h").format(name=names[site_id], hours=hours)
    spec = get_domain(domain).kpi
    if (
        spec.aggregation == "share"
        and not spec.capacity_metric
        and not series.empty
        and set(series["metric"]) == {spec.metric}
    ):
        # One bay is a 0/1 step; the street around it, in %, is what a person reads.
        series = city.occupancy_around(role, site_id, spec.metric, hours, BAY_RADIUS_M)
        ahead = None
        title = _("Occupied bays within {radius} m of {name} · last {hours} h").format(
            radius=BAY_RADIUS_M, name=names[site_id], hours=hours
        )
    if ahead is not None and not ahead.empty:
        title += " · " + _("next {n} h forecast").format(n=city.config.twin.forecast_hours)
    figure = trend_figure(
        series,
        title,
        city.config.city.timezone,
        ahead,
        moment,
        {"forecast": _("forecast"), "band": _("likely range")},
        _,
        language,
    )
    pair = twin.pair_panel(city, view, site_id, hours, language, _) if domain == "traffic" else []
    row = view.sites.set_index("id").loc[site_id]
    source = str(row["source"])
    sources = [view.sources[source]] if source in view.sources else []
    config = chart_config(language, **download_options(str(names[site_id]), sources))
    chart = dcc.Graph(id="cc-trend", figure=figure, config=config, style={"height": "100%"})
    return {
        "chart": chart,
        "detail": site_detail(city, view, site_id, _, language),
        "park": {"display": "flex"} if domain == "parking" else hidden,
        "pair": pair,
    }


# The page's server callbacks: each takes the city first, then its inputs and states;
# ``register_callbacks`` binds them to the city.
_CALLBACKS: list[tuple[Callable[..., Any], dict[str, Any]]] = []


def _callback(**dependencies: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a callback of the page (``output=``, ``inputs=``, ``state=`` as for
    ``Dash.callback``)."""

    def declare(function: Callable[..., Any]) -> Callable[..., Any]:
        _CALLBACKS.append((function, dependencies))
        return function

    return declare


@_callback(
    output=Output("cc-version", "data"),
    inputs=[Input("cc-tick", "n_intervals")],
    state=[State("cc-version", "data")],
    prevent_initial_call=True,
)
def poll(city: City, _tick: int, seen: int | None) -> int:
    """The city's data version when it changed since ``seen``."""
    version = city.version()
    if version == seen:
        raise PreventUpdate  # nothing new: nothing recomputed, nothing sent
    return version


@_callback(
    output=Output("cc-tm-anchor", "data"),
    inputs=[Input("cc-version", "data")],
    state=[State("cc-tm-slider", "value")],
    prevent_initial_call=True,
)
def re_anchor(city: City, _version: int, offset: float | None) -> int:
    """The time machine's new anchor on new data, unless it is replaying."""
    if offset:
        raise PreventUpdate  # replaying: the moment stays where it is
    return tm.anchor_for(city.clock())


@_callback(
    output={
        "min": Output("cc-tm-slider", "min"),
        "step": Output("cc-tm-slider", "step"),
        "marks": Output("cc-tm-slider", "marks"),
    },
    inputs=[Input("cc-tm-range", "value"), Input("cc-tm-anchor", "data")],
    state=[State("cc-lang", "data")],
    prevent_initial_call=True,
)
def slider_range(city: City, range_id: str, anchor: int, language: str | None) -> dict[str, Any]:
    """The slider's reach, step and marks for the chosen range."""
    props = tm.slider_props(range_id, city.config.city.timezone, anchor, language or "en")
    return {key: props[key] for key in ("min", "step", "marks")}


@_callback(
    output=Output("cc-frame", "data"),
    inputs=[
        Input("cc-version", "data"),
        Input("cc-tm-slider", "value"),
        Input("cc-colour", "value"),
    ],
    state=[
        State("cc-tm-anchor", "data"),
        State({"type": SOURCE_ID, "layer": ALL}, "id"),
        State({"type": LAYER_ID, "layer": ALL}, "id"),
        State("cc-lang", "data"),
        State("cc-tm-playing", "data"),
        State("cc-tm-slider", "step"),
    ],
)
def refresh(
    city: City,
    _version: int,
    offset: float | None,
    colour: str | None,
    anchor: int | None,
    source_ids: list[dict[str, str]],
    layer_ids: list[dict[str, str]],
    language: str | None,
    playing: bool | None = None,
    step: float | None = None,
) -> dict[str, Any]:
    """The frame for the viewer at the slider's moment (see :func:`cockpit_frame`);
    while the time machine plays, the next moments are prepared meanwhile."""
    colour = colour or "state"
    if playing is True:
        city.prepare_moments(viewer_role(), moments_ahead(anchor, offset, step))
    return cockpit_frame(
        city,
        viewer_role(),
        offset,
        anchor,
        colour,
        _language(city, language),
        [i["layer"] for i in source_ids],
        len(layer_ids),
        recolour=colour == "typical" or ctx.triggered_id == "cc-colour",
    )


@_callback(
    output=Output("cc-site", "data"),
    inputs=[Input({"type": LAYER_ID, "layer": ALL}, "clickData")],
    prevent_initial_call=True,
)
def pick(_city: City, _clicks: list[Any]) -> str:
    """The site whose marker was clicked."""
    site_id = clicked_site(ctx.triggered[0]["value"] if ctx.triggered else None)
    if site_id is None:
        raise PreventUpdate
    return site_id


@_callback(
    output={
        "site": Output("cc-site", "data", allow_duplicate=True),
        "viewport": Output(MAP_ID, "viewport"),
    },
    inputs=[Input({"type": twin.ATTEND_ID, "site": ALL}, "n_clicks")],
    prevent_initial_call=True,
)
def attend(city: City, _clicks: list[int | None]) -> dict[str, Any]:
    """A "needs attention" link: the map centred on its site, and the site opened."""
    found = ctx.triggered_id
    if not isinstance(found, dict) or not ctx.triggered or not ctx.triggered[0]["value"]:
        raise PreventUpdate  # the list was redrawn, nobody clicked
    return attend_site(city, viewer_role(), str(found.get("site", "")))


def attend_site(city: City, role: str, site_id: str) -> dict[str, Any]:
    """The side panel's site and the map's viewport for a click on ``site_id`` (only a
    site ``role`` sees)."""
    sites = city.view(role).sites.set_index("id")
    if site_id not in sites.index:
        raise PreventUpdate
    site = sites.loc[site_id]
    centre = [float(cast(float, site["lat"])), float(cast(float, site["lon"]))]
    return {
        "site": site_id,
        "viewport": {"center": centre, "zoom": ATTEND_ZOOM, "transition": "flyTo"},
    }


# How close the map comes to a place that needs attention.
ATTEND_ZOOM = 17


@_callback(
    output={
        "chart": Output("cc-trend-box", "children"),
        "detail": Output("cc-site-detail", "children"),
        "park": Output("cc-park", "style"),
        "pair": Output("cc-pair", "children"),
    },
    inputs=[
        Input("cc-site", "data"),
        Input("cc-version", "data"),
        Input("cc-tm-range", "value"),
    ],
    state=[
        State("cc-tm-slider", "value"),
        State("cc-tm-anchor", "data"),
        State("cc-lang", "data"),
    ],
    prevent_initial_call=True,
)
def trend(
    city: City,
    site_id: str | None,
    _version: int,
    range_id: str,
    offset: float | None,
    anchor: int | None,
    language: str | None,
) -> dict[str, Any]:
    """The chosen site's side panel (see :func:`trend_panel`)."""
    if not site_id or not isinstance(site_id, str):
        raise PreventUpdate
    moment = tm.moment_of(anchor, offset)
    new_data = ctx.triggered_id == "cc-version"
    return trend_panel(city, viewer_role(), site_id, range_id, moment, language or "en", new_data)


@_callback(
    output=Output("cc-trend", "figure", allow_duplicate=True),
    inputs=[Input("cc-tm-slider", "value")],
    state=[State("cc-tm-anchor", "data"), State("cc-site", "data")],
    prevent_initial_call=True,
)
def cursor(city: City, offset: float | None, anchor: int | None, site_id: str | None) -> Patch:
    """The trend's cursor moved to the slider's moment."""
    if not site_id or not isinstance(site_id, str):
        raise PreventUpdate
    patch = Patch()
    moment = tm.moment_of(anchor, offset)
    patch["layout"]["shapes"] = cursor_shapes(moment, city.config.city.timezone)
    return patch


@_callback(
    output=Output("cc-park-answer", "children"),
    inputs=[Input("cc-park-hour", "value"), Input("cc-site", "data")],
    state=[State("cc-lang", "data")],
    prevent_initial_call=True,
)
def free_bays(city: City, hour: int | None, site_id: str | None, language: str | None) -> Any:
    """The answer to "free bays near here at ``hour``?" for a parking site."""
    hour = bounded_int_or_none(hour, 0, 23)
    if not site_id or not isinstance(site_id, str) or hour is None:
        raise PreventUpdate
    _ = _t(language)
    view = city.view(viewer_role())
    sites = view.sites.set_index("id")
    if site_id not in sites.index or sites.loc[site_id, "domain"] != "parking":
        raise PreventUpdate
    return free_bays_answer(city, view, site_id, int(hour), language or "en", _)


def warm(city: City) -> None:
    """Have new data versions' panels rendered before browsers ask (``City.warm``)."""
    city.warm_hooks.append(lambda view: _panels(city, view, city.config.city.languages[0]))
    city.warm_hooks.append(lambda view: _live_twin(city, view))
    city.warm_hooks.append(
        lambda view: live_frame(city, view, city.config.city.languages[0], "state")
    )


def register_callbacks(app: Dash, city: City) -> None:
    """Wire the cockpit's callbacks to ``city`` and warm its panels for new data."""
    tm.register_clientside(app)
    brief_link.register(app, city)
    app.clientside_callback(
        clientside("showFrame"),
        list(FRAME_OUTPUTS.values()),
        Input("cc-frame", "data"),
        State("cc-tm-slider", "value"),
        State({"type": SOURCE_ID, "layer": ALL}, "data"),
        State({"type": SOURCE_ID, "layer": ALL}, "id"),
        State("cc-frame-parts", "data"),
        prevent_initial_call=True,
    )
    for function, dependencies in _CALLBACKS:
        app.callback(**dependencies)(partial(function, city))
    warm(city)


def next_time_at(now: datetime, hour: int, timezone: str) -> datetime:
    """The next time the city's clock shows ``hour``:00 (today, else tomorrow)."""
    import pandas as pd

    local = pd.Timestamp(now).tz_convert(timezone)
    target = local.normalize() + pd.Timedelta(hours=hour)
    if target <= local:
        target += pd.Timedelta(days=1)
    return target.tz_convert("UTC").to_pydatetime()


def free_bays_answer(
    city: City,
    view: CityView,
    site_id: str,
    hour: int,
    language: str,
    _: Gettext,
    radius_m: float = 300,
) -> Any:
    """ "About 40 free places (30–50) of 176 within 300 m at 17:00", or why not."""
    tz = city.config.city.timezone
    at = next_time_at(city.clock(), hour, tz)
    found = city.free_bays_forecast(view.role, site_id, at, radius_m)
    if found is None:
        return _("Not enough parking history near here yet.")
    when = format_time(at, language, tz, "EEE HH:mm")
    basis = (
        _("from the same weekday and hour of the previous weeks")
        if found.basis == "weekday"
        else _("from the same hour of the previous days")
    )
    return [
        html.Strong(
            _("About {n} free places at {when}").format(
                n=format_number(found.expected, language), when=when
            )
        ),
        html.Div(
            _("between {low} and {high} of {places} places within {radius} m").format(
                low=format_number(found.low, language),
                high=format_number(found.high, language),
                places=format_number(found.places, language),
                radius=format_number(radius_m, language),
            )
        ),
        html.Div(_("Forecast {basis}.").format(basis=basis), className="cc-muted"),
    ]
