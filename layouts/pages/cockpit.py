"""The desktop cockpit for the mayor's desk: KPI strip, live map with its time machine,
trend with forecast, what is unusual today, sensor health and sources.

Callbacks are thin: they read the ``City`` for the viewer's role, call a pure function
and shape the output. A poll that finds the data version unchanged sends nothing. The
time machine reads the history store only (``City.view_at``), never a platform.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, cast

import flask
from dash import ALL, Dash, Input, Output, Patch, State, ctx, dcc, html, no_update
from dash._utils import to_json
from dash.exceptions import PreventUpdate

from cockpit.auth import Viewer
from cockpit.city import City, CityView, format_value
from cockpit.model import METRICS
from cockpit.present.i18n import format_time, translator
from cockpit.present.timefmt import local_time
from cockpit.twin import forecast as twin_forecast
from cockpit.validate import bounded_int_or_none
from layouts.components import timemachine as tm
from layouts.components import twin_panels as twin
from layouts.components.html_attrs import html_attrs
from layouts.components.kpi_card import kpi_strip
from layouts.components.map import LAYER_ID, SOURCE_ID, city_map, legend
from layouts.components.trend import cursor_shapes, trend_figure
from layouts.routes.access import current_viewer, viewer_role
from layouts.routes.mapdata import compact_layer, map_data_urls

__all__ = ["layout", "register_callbacks", "replay_urls", "site_detail"]

MAP_ID = "cc-map"
Gettext = Callable[[str], str]
REPLAY_ROUTE = "/map-data-at/<layer_id>.json"


def _t(language: str | None) -> Gettext:
    return translator(language or "en", "cockpit")


def _layers(city: City, view: CityView) -> dict[str, dict[str, Any]]:
    tz = city.config.city.timezone
    return {layer_id: view.layer_features(layer_id, tz) for layer_id in view.layers}


def _as_of(city: City, view: CityView) -> str:
    newest = max((s.updated for s in view.sources.values() if s.updated), default=None)
    return f"Data as of {local_time(newest, city.config.city.timezone, '%a %d %b %H:%M')}"


def map_updated(city: City, view: CityView) -> str:
    """When each map layer's data was last updated, in one line."""
    tz = city.config.city.timezone
    parts = []
    for layer_id in view.layers:
        layer = city.config.layers[layer_id]
        times = [view.sources[s].updated for s in layer.sources if s in view.sources]
        newest = max((t for t in times if t), default=None)
        stale = any(view.sources[s].stale for s in layer.sources if s in view.sources)
        mark = " (stale)" if stale else ""
        parts.append(f"{layer.title} {local_time(newest, tz, '%H:%M')}{mark}")
    return "Map updated: " + " · ".join(parts)


def sources_table(city: City, view: CityView) -> html.Table:
    """Every source shown: publisher, licence, origin, status and last update."""
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
                html.Td(info.origin),
                html.Td(info.status, className=f"cc-status cc-status-{info.status}"),
                html.Td(local_time(info.updated, tz, "%a %H:%M")),
            ]
        )
        for info in view.sources.values()
    ]
    head = html.Tr(
        [html.Th(h) for h in ("Source", "Publisher", "Licence", "Origin", "Status", "Last data")]
    )
    return html.Table([html.Thead(head), html.Tbody(rows)], className="cc-sources")


def replay_urls(view: CityView, moment: datetime) -> dict[str, str]:
    """Each layer's data at ``moment`` (layer id -> URL of the replayed compact file)."""
    at = int(moment.timestamp())
    return {layer_id: f"/map-data-at/{layer_id}.json?t={at}" for layer_id in view.layers}


def nav_links(viewer: Viewer, language: str, _: Gettext) -> html.Nav:
    """Links to the other pages: notices, decisions and kiosks for signed-in roles."""
    query = f"?lang={language}" if language != "en" else ""
    links: list[Any] = []
    if viewer.signed_in:
        links += [
            html.A(_("Notices"), href=f"/notices{query}", id="cc-nav-notices"),
            html.A(_("Decisions"), href=f"/decisions{query}", id="cc-nav-decisions"),
            html.A(_("Kiosks"), href="/kiosks", id="cc-nav-kiosks"),
            html.Span(viewer.user, className="cc-nav-user"),
            html.A(_("Sign out"), href="/signout", id="cc-nav-signout"),
        ]
    else:
        links.append(html.A(_("Sign in"), href="/signin?next=/", id="cc-nav-signin"))
    return html.Nav(links, className="cc-nav", **html_attrs({"aria-label": _("Pages")}))


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
    language = lang if isinstance(lang, str) and lang.isalpha() else "en"
    _ = _t(language)
    viewer = current_viewer()
    view = city.view(viewer.role)
    config = city.config
    tz = config.city.timezone
    credits = [s.credit() for s in view.sources.values()]
    anchor = tm.anchor_for(city.clock())
    return html.Div(
        className="cc-page cc-cockpit",
        lang=language,
        children=[
            html.Header(
                className="cc-header",
                children=[
                    html.H1(config.city.name),
                    html.Span(_as_of(city, view), id="cc-asof", className="cc-asof"),
                    nav_links(viewer, language, _),
                ],
            ),
            html.Main(
                [
                    html.Section(
                        html.P(_("Reading the city…"), className="cc-muted"),
                        id="cc-summary",
                        className="cc-summary",
                        **html_attrs({"aria-label": _("The city now"), "aria-live": "polite"}),
                    ),
                    html.Section(
                        kpi_strip(view.kpis, view.sources, tz),
                        id="cc-kpis",
                        className="cc-kpi-strip",
                        **html_attrs({"aria-label": "Key figures"}),
                    ),
                    html.Div(
                        className="cc-body",
                        children=[
                            html.Section(
                                [
                                    city_map(config, credits, MAP_ID, map_data_urls(view)),
                                    tm.time_bar(tz, anchor, language, _),
                                    html.Div(
                                        [
                                            _colour_toggle(_),
                                            legend(config, list(view.layers)),
                                        ],
                                        className="cc-map-options",
                                    ),
                                    html.Div(
                                        typical_legend(_),
                                        id="cc-typical-legend",
                                        style={"display": "none"},
                                    ),
                                    html.Div(
                                        map_updated(city, view),
                                        id="cc-map-updated",
                                        className="cc-updated",
                                    ),
                                ],
                                className="cc-map-panel",
                                **html_attrs({"aria-label": "Map of sites"}),
                            ),
                            html.Section(
                                [
                                    html.H2(_("Trend"), className="cc-panel-title"),
                                    html.Div(
                                        _("Click a site on the map to see its last hours."),
                                        id="cc-site-detail",
                                        className="cc-site-detail",
                                    ),
                                    # The chart (and Plotly with it) loads when a site
                                    # is chosen, so the first view shows the map sooner.
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
                            html.H2("Sources", className="cc-panel-title"),
                            html.Div(sources_table(city, view), id="cc-sources"),
                        ],
                        className="cc-sources-panel",
                    ),
                ]
            ),
            dcc.Store(id="cc-version", data=view.version),
            dcc.Store(id="cc-site", data=None),
            dcc.Store(id="cc-lang", data=language),
            dcc.Store(id="cc-frame", data=None),
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


def site_detail(city: City, view: CityView, site_id: str, _: Gettext | None = None) -> list[Any]:
    """Name, latest values, time and provenance of one site, as text."""
    _ = _ or _t("en")
    row = view.sites[view.sites["id"] == site_id]
    if row.empty:
        return [_("This site is not available.")]
    site = row.iloc[0]
    info = view.sources[str(site["source"])]
    latest = view.latest[view.latest["site_id"] == site_id]
    tz = city.config.city.timezone
    values = [
        html.Li(
            f"{METRICS[str(o.metric)].label}: "
            # pandas-stubs type every itertuples field as any scalar; value is a float.
            f"{format_value(str(o.metric), float(o.value), view.min_group_size)}"  # type: ignore[arg-type]
            f" at {local_time(cast(datetime, o.time), tz, '%a %H:%M')}"
        )
        for o in latest.itertuples()
    ]
    origin = "simulated" if site["origin"] == "simulated" else info.origin
    return [
        html.H3(str(site["name"])),
        html.Div(str(site["district"]), className="cc-district") if site["district"] else None,
        html.Ul(values, className="cc-site-values"),
        html.Div(
            f"{info.name} · {info.publisher} · {info.licence} · {origin}", className="cc-credit"
        ),
    ]


def _live_twin(city: City, view: CityView) -> Any:
    """The live twin of ``view``, computed once per view (data version and role) and
    clock hour (baselines are per hour of the week; new data makes a new view anyway)."""
    key = f"live-twin:{int(city.clock().timestamp()) // 3600}"
    found = view.memo.get(key)
    if found is None:
        found = view.memo[key] = twin.twin_at(city, view, None)
    return found


def _panels(city: City, view: CityView) -> tuple[Any, ...]:
    """KPI strip, sources table and "as of" lines of ``view``, rendered once per view."""
    built = view.memo.get("cockpit-panels")
    if built is None:
        rendered = (
            kpi_strip(view.kpis, view.sources, city.config.city.timezone),
            sources_table(city, view),
            _as_of(city, view),
            map_updated(city, view),
        )
        # Kept as plain JSON data: each browser's refresh then only copies it out.
        built = json.loads(to_json(rendered))
        view.memo["cockpit-panels"] = built
    return tuple(built)


def kpi_cards(city: City, view: CityView, state: twin.Twin, language: str, _: Gettext) -> list[Any]:
    """The KPI strip with each KPI's line against its baseline."""
    tz = city.config.city.timezone
    cards = kpi_strip(view.kpis, view.sources, tz)
    extras = {
        key: [twin.comparison_line(item, language, tz, _)]
        for key, item in state.comparisons.items()
    }
    return twin.add_to_cards(cards, extras)


def _frame(
    city: City,
    view: CityView,
    moment: datetime | None,
    colour: str,
    language: str,
    panels: tuple[Any, Any, Any],
) -> tuple[Any, ...]:
    """Everything the cockpit shows for ``view`` at ``moment`` (None: live), except the
    map files' URLs, which the callback fills in per layer."""
    _ = _t(language)
    tz = city.config.city.timezone
    role = view.role
    sources, as_of, updated = panels
    state = _live_twin(city, view) if moment is None else twin.twin_at(city, view, moment)
    found, co2 = twin.targets_and_co2(city, role)
    typical = twin.typical_of_sites(state) if colour == "typical" else {}
    hideout = {"colour": colour, "typical": typical}
    return (
        kpi_cards(city, view, state, language, _),
        [],
        [hideout],
        sources,
        as_of,
        updated,
        tm.moment_label(moment, tz, language, _),
        twin.anomalies_panel(state, view, language, tz, _),
        {"display": "block"} if colour == "typical" else {"display": "none"},
        twin.summary_lines(city, view, state, found, co2, language),
        twin.targets_panel(found, co2, language, tz, _),
        twin.health_section(city, city.view(role)),
    )


def live_frame(city: City, view: CityView, language: str, colour: str) -> tuple[Any, ...]:
    """The live frame of ``view``, rendered once per view, language, colouring and clock
    hour, so that every browser after the first only copies it out."""
    key = f"frame:{language}:{colour}:{int(city.clock().timestamp()) // 3600}"
    built = view.memo.get(key)
    if built is None:
        _k, sources, as_of, updated = _panels(city, view)
        frame = _frame(city, view, None, colour, language, (sources, as_of, updated))
        built = view.memo[key] = json.loads(to_json(frame))
    return tuple(built)


def _moment(anchor: int | None, offset: float | None) -> datetime | None:
    return tm.moment_of(anchor, offset)


def register_callbacks(app: Dash, city: City) -> None:
    """Wire the cockpit's callbacks to ``city``."""
    tz = city.config.city.timezone
    tm.register_clientside(app)

    @app.server.route(REPLAY_ROUTE)
    def replay_layer(layer_id: str) -> flask.Response:
        """A layer at a past moment, from the history, for the viewer's own role."""
        try:
            at = int(flask.request.args.get("t", ""))
        except ValueError:
            return flask.make_response("t must be a time in epoch seconds", 400)
        if tm.valid_anchor(at) is None:  # before 1970 or after 2200: no datetime for it
            return flask.make_response("replay reaches back 7 days at most", 400)
        now = city.clock()
        moment = datetime.fromtimestamp(at, now.tzinfo)
        if moment > now or moment < now - timedelta(days=8):
            return flask.make_response("replay reaches back 7 days at most", 400)
        view = city.view_at(viewer_role(), moment)
        if layer_id not in view.layers:
            return flask.make_response("no such map layer", 404)
        response = flask.jsonify(compact_layer(view, layer_id, tz))
        response.headers["Cache-Control"] = "private, no-store"
        return response

    @app.callback(
        Output("cc-version", "data"),
        Input("cc-tick", "n_intervals"),
        State("cc-version", "data"),
        prevent_initial_call=True,
    )
    def poll(_: int, seen: int | None) -> int:
        version = city.version()
        if version == seen:
            raise PreventUpdate  # nothing new: nothing recomputed, nothing sent
        return version

    # New data versions get their panels rendered before browsers ask (City.warm).
    city.warm_hooks.append(lambda view: _panels(city, view))
    city.warm_hooks.append(lambda view: _live_twin(city, view))
    city.warm_hooks.append(
        lambda view: live_frame(city, view, city.config.city.languages[0], "state")
    )

    @app.callback(
        Output("cc-tm-anchor", "data"),
        Input("cc-version", "data"),
        State("cc-tm-slider", "value"),
        prevent_initial_call=True,
    )
    def re_anchor(_: int, offset: float | None) -> int:
        if offset:
            raise PreventUpdate  # replaying: the moment stays where it is
        return tm.anchor_for(city.clock())

    @app.callback(
        Output("cc-tm-slider", "min"),
        Output("cc-tm-slider", "step"),
        Output("cc-tm-slider", "marks"),
        Input("cc-tm-range", "value"),
        Input("cc-tm-anchor", "data"),
        State("cc-lang", "data"),
        prevent_initial_call=True,
    )
    def slider_range(range_id: str, anchor: int, language: str) -> tuple[Any, ...]:
        props = tm.slider_props(range_id, tz, anchor, language or "en")
        return props["min"], props["step"], props["marks"]

    # Replayed moments arrive out of order when an older one took longer to compute: the
    # browser applies a frame only while the slider still shows its moment.
    app.clientside_callback(
        """
        function (frame, value, shown, stores) {
            var none = window.dash_clientside.no_update;
            if (!frame || (frame.offset || 0) !== (value || 0)) {
                return [none, none, none, none, none, none, none, none, none, none, none,
                        none];
            }
            var parts = frame.parts.slice();
            // A layer file is fetched again only when its URL changes. Its store is set
            // here rather than as an output: Dash holds a callback back while one upstream
            // of its input runs, and the page's first layer load must not wait for the
            // first refresh's round trip.
            var urls = parts.splice(1, 1)[0];
            stores.forEach(function (id, i) {
                if (urls[id.layer] && urls[id.layer] !== shown[i]) {
                    window.dash_clientside.set_props(id, {data: urls[id.layer]});
                }
            });
            // Markers are redrawn only when their colouring changes, not on every frame.
            var key = JSON.stringify(parts[1]);
            if (window.__ccHideout === undefined) {
                window.__ccHideout = JSON.stringify(
                    parts[1].map(function () { return {colour: "state", typical: {}}; }));
            }
            if (key === window.__ccHideout) { parts[1] = none; } else { window.__ccHideout = key; }
            return parts.concat([frame.offset || 0]);
        }
        """,
        Output("cc-kpis", "children"),
        Output({"type": LAYER_ID, "layer": ALL}, "hideout"),
        Output("cc-sources", "children"),
        Output("cc-asof", "children"),
        Output("cc-map-updated", "children"),
        Output("cc-tm-label", "children"),
        Output("cc-anomalies", "children"),
        Output("cc-typical-legend", "style"),
        Output("cc-summary", "children"),
        Output("cc-targets", "children"),
        Output("cc-health-slot", "children"),
        Output("cc-tm-shown", "data"),
        Input("cc-frame", "data"),
        State("cc-tm-slider", "value"),
        State({"type": SOURCE_ID, "layer": ALL}, "data"),
        State({"type": SOURCE_ID, "layer": ALL}, "id"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output("cc-frame", "data"),
        Input("cc-version", "data"),
        Input("cc-tm-slider", "value"),
        Input("cc-colour", "value"),
        State("cc-tm-anchor", "data"),
        State({"type": SOURCE_ID, "layer": ALL}, "id"),
        State({"type": LAYER_ID, "layer": ALL}, "id"),
        State("cc-lang", "data"),
    )
    def refresh(
        _v: int,
        offset: float | None,
        colour: str,
        anchor: int | None,
        source_ids: list[dict[str, str]],
        layer_ids: list[dict[str, str]],
        language: str | None,
    ) -> dict[str, Any]:
        language = language or "en"
        colour = colour or "state"
        role = viewer_role()
        moment = _moment(anchor, offset)
        if moment is None:
            view = city.view(role)
            urls = map_data_urls(view)
            parts = list(live_frame(city, view, language, colour))
        else:
            view = city.view_at(role, moment)
            urls = replay_urls(view, moment)
            panels = (sources_table(city, view), _as_of(city, view), map_updated(city, view))
            parts = list(_frame(city, view, moment, colour, language, panels))
        # The map files' URLs per layer on the map, and the same marker colouring for
        # every layer. Colouring by state needs no hideout: leaving it unsent spares the
        # browser rebuilding every layer's clusters on each new data version.
        parts[1] = {i["layer"]: urls[i["layer"]] for i in source_ids if i["layer"] in urls}
        recolour = colour == "typical" or ctx.triggered_id == "cc-colour"
        parts[2] = [parts[2][0] if recolour else no_update for _i in layer_ids]
        return {"offset": offset or 0, "parts": parts}

    @app.callback(
        Output("cc-site", "data"),
        Input({"type": LAYER_ID, "layer": ALL}, "clickData"),
        prevent_initial_call=True,
    )
    def pick(_: list[Any]) -> str:
        clicked = ctx.triggered[0]["value"] if ctx.triggered else None
        if not isinstance(clicked, dict) or not isinstance(clicked.get("properties"), dict):
            raise PreventUpdate
        site_id = (clicked or {}).get("properties", {}).get("id") if clicked else None
        if not site_id or (clicked or {}).get("properties", {}).get("cluster"):
            raise PreventUpdate
        return str(site_id)

    @app.callback(
        Output("cc-trend-box", "children"),
        Output("cc-site-detail", "children"),
        Output("cc-park", "style"),
        Output("cc-pair", "children"),
        Input("cc-site", "data"),
        Input("cc-version", "data"),
        Input("cc-tm-range", "value"),
        State("cc-tm-slider", "value"),
        State("cc-tm-anchor", "data"),
        State("cc-lang", "data"),
        prevent_initial_call=True,
    )
    def trend(
        site_id: str | None,
        _v: int,
        range_id: str,
        offset: float | None,
        anchor: int | None,
        language: str | None,
    ) -> tuple[Any, ...]:
        if not site_id or not isinstance(site_id, str):
            raise PreventUpdate
        range_id = range_id if isinstance(range_id, str) else "24h"
        _ = _t(language)
        role = viewer_role()
        view = city.view(role)
        names = view.sites.set_index("id")["name"]
        hidden = {"display": "none"}
        if site_id not in names.index:
            message = _("This site is not available.")
            return html.P(message, className="cc-muted cc-trend-hint"), [message], hidden, []
        hours = max(city.config.ui.trend_hours, tm.RANGES.get(range_id, (0, 0))[0] // 60)
        series = city.series(role, site_id, hours)
        if ctx.triggered_id == "cc-version" and series.empty:
            return no_update, no_update, no_update, no_update
        ahead = _site_forecast(city, site_id)
        title = _("{name} · last {hours} h").format(name=names[site_id], hours=hours)
        if ahead is not None and not ahead.empty:
            title += " · " + _("next {n} h forecast").format(n=city.config.twin.forecast_hours)
        figure = trend_figure(
            series,
            title,
            tz,
            ahead,
            _moment(anchor, offset),
            {"forecast": _("forecast"), "band": _("likely range")},
        )
        domain = str(view.sites.set_index("id").loc[site_id, "domain"])
        park = {"display": "flex"} if domain == "parking" else hidden
        pair = (
            twin.pair_panel(city, view, site_id, hours, language or "en", _)
            if domain == "traffic"
            else []
        )
        chart = dcc.Graph(
            id="cc-trend", figure=figure, config={"displaylogo": False}, style={"height": "100%"}
        )
        return chart, site_detail(city, view, site_id, _), park, pair

    @app.callback(
        Output("cc-trend", "figure", allow_duplicate=True),
        Input("cc-tm-slider", "value"),
        State("cc-tm-anchor", "data"),
        State("cc-site", "data"),
        prevent_initial_call=True,
    )
    def cursor(offset: float | None, anchor: int | None, site_id: str | None) -> Patch:
        if not site_id or not isinstance(site_id, str):
            raise PreventUpdate
        patch = Patch()
        patch["layout"]["shapes"] = cursor_shapes(_moment(anchor, offset), tz)
        return patch

    @app.callback(
        Output("cc-park-answer", "children"),
        Input("cc-park-hour", "value"),
        Input("cc-site", "data"),
        State("cc-lang", "data"),
        prevent_initial_call=True,
    )
    def free_bays(hour: int | None, site_id: str | None, language: str | None) -> Any:
        hour = bounded_int_or_none(hour, 0, 23)
        if not site_id or not isinstance(site_id, str) or hour is None:
            raise PreventUpdate
        _ = _t(language)
        view = city.view(viewer_role())
        sites = view.sites.set_index("id")
        if site_id not in sites.index or sites.loc[site_id, "domain"] != "parking":
            raise PreventUpdate
        return free_bays_answer(city, view, site_id, int(hour), language or "en", _)


def _site_forecast(city: City, site_id: str) -> Any:
    """The next hours of one site (``cockpit.twin.forecast``), or None without enough history."""
    cfg = city.config.twin
    now = city.clock()
    frame = city.history.hourly(
        [site_id], now - timedelta(weeks=cfg.baseline_weeks, days=1), now + timedelta(minutes=1)
    )
    if frame.empty:
        return None
    return twin_forecast.forecast(
        frame,
        now,
        city.config.city.timezone,
        cfg.forecast_hours,
        cfg.baseline_weeks,
        cfg.min_weeks,
        cfg.forecast_decay,
    )


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
    import pandas as pd

    tz = city.config.city.timezone
    now = city.clock()
    site = cast(pd.Series, view.sites.set_index("id").loc[site_id])  # site ids are unique
    at = next_time_at(now, hour, tz)
    ids = list(view.sites.loc[view.sites["domain"] == "parking", "id"].astype(str))
    start = now - timedelta(weeks=city.config.twin.baseline_weeks, days=1)
    frames = [
        city.history.hourly(ids[i : i + 900], start, now + timedelta(minutes=1))
        for i in range(0, len(ids), 900)
    ]
    frame = pd.concat([f for f in frames if not f.empty] or [frames[0]], ignore_index=True)
    found = twin_forecast.free_bays_forecast(
        view.sites,
        frame,
        float(site["lat"]),
        float(site["lon"]),
        radius_m,
        at,
        now,
        tz,
        city.config.twin.baseline_weeks,
        city.config.twin.min_weeks,
        city.config.twin.forecast_decay,
    )
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
            _("About {n} free places at {when}").format(n=f"{found.expected:,.0f}", when=when)
        ),
        html.Div(
            _("between {low} and {high} of {places} places within {radius} m").format(
                low=f"{found.low:,.0f}",
                high=f"{found.high:,.0f}",
                places=f"{found.places:,.0f}",
                radius=f"{radius_m:,.0f}",
            )
        ),
        html.Div(_("Forecast {basis}.").format(basis=basis), className="cc-muted"),
    ]
