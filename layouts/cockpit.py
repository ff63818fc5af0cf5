"""The desktop cockpit for the mayor's desk: KPI strip, live map, trend and sources.

Callbacks are thin: they read the ``City`` for the viewer's role, call a pure function
and shape the output. A poll that finds the data version unchanged sends nothing.
"""

from __future__ import annotations

from typing import Any

from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from cockpit.city import City, CityView, format_value
from cockpit.model import METRICS
from layouts.access import viewer_role
from layouts.kpi_card import kpi_strip
from layouts.map import LAYER_ID, SOURCE_ID, city_map, legend
from layouts.mapdata import map_data_urls
from layouts.timefmt import local_time
from layouts.trend import empty_trend, trend_figure

__all__ = ["layout", "register_callbacks"]

MAP_ID = "cc-map"


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


def layout(city: City) -> html.Div:
    """The cockpit page, rendered with the data of the moment for the viewer's role."""
    view = city.view(viewer_role())
    config = city.config
    credits = [s.credit() for s in view.sources.values()]
    return html.Div(
        className="cc-page cc-cockpit",
        children=[
            html.Header(
                className="cc-header",
                children=[
                    html.H1(config.city.name),
                    html.Span(_as_of(city, view), id="cc-asof", className="cc-asof"),
                ],
            ),
            html.Main(
                [
                    html.Section(
                        kpi_strip(view.kpis, view.sources, config.city.timezone),
                        id="cc-kpis",
                        className="cc-kpi-strip",
                        **{"aria-label": "Key figures"},
                    ),
                    html.Div(
                        className="cc-body",
                        children=[
                            html.Section(
                                [
                                    city_map(config, {}, credits, MAP_ID, map_data_urls(view)),
                                    legend(config, list(view.layers)),
                                    html.Div(
                                        map_updated(city, view),
                                        id="cc-map-updated",
                                        className="cc-updated",
                                    ),
                                ],
                                className="cc-map-panel",
                                **{"aria-label": "Map of sites"},
                            ),
                            html.Section(
                                [
                                    html.H2("Trend", className="cc-panel-title"),
                                    html.Div(
                                        "Click a site on the map to see its last hours.",
                                        id="cc-site-detail",
                                        className="cc-site-detail",
                                    ),
                                    dcc.Graph(
                                        id="cc-trend",
                                        figure=empty_trend("Click a site on the map."),
                                        config={"displaylogo": False},
                                        className="cc-trend",
                                    ),
                                ],
                                className="cc-side-panel",
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
            dcc.Interval(id="cc-tick", interval=int(config.ui.poll_seconds * 1000)),
        ],
    )


def site_detail(city: City, view: CityView, site_id: str) -> list[Any]:
    """Name, latest values, time and provenance of one site, as text."""
    row = view.sites[view.sites["id"] == site_id]
    if row.empty:
        return ["This site is not available."]
    site = row.iloc[0]
    info = view.sources[str(site["source"])]
    latest = view.latest[view.latest["site_id"] == site_id]
    tz = city.config.city.timezone
    values = [
        html.Li(
            f"{METRICS[str(o.metric)].label}: {format_value(str(o.metric), float(o.value))}"
            f" at {local_time(o.time, tz, '%a %H:%M')}"
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


def _panels(city: City, view: CityView) -> tuple[Any, ...]:
    """KPI strip, sources table and "as of" lines of ``view``, rendered once per view."""
    built = view.memo.get("cockpit-panels")
    if built is None:
        built = (
            kpi_strip(view.kpis, view.sources, city.config.city.timezone),
            sources_table(city, view),
            _as_of(city, view),
            map_updated(city, view),
        )
        view.memo["cockpit-panels"] = built
    return tuple(built)


def register_callbacks(app: Dash, city: City) -> None:
    """Wire the cockpit's callbacks to ``city``."""

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

    @app.callback(
        Output("cc-kpis", "children"),
        # The map layers load their data from versioned URLs (layouts/mapdata.py).
        Output({"type": SOURCE_ID, "layer": ALL}, "data"),
        Output("cc-sources", "children"),
        Output("cc-asof", "children"),
        Output("cc-map-updated", "children"),
        Input("cc-version", "data"),
        State({"type": SOURCE_ID, "layer": ALL}, "id"),
        prevent_initial_call=True,
    )
    def refresh(_: int, layer_ids: list[dict[str, str]]) -> tuple[Any, ...]:
        view = city.view(viewer_role())
        urls = map_data_urls(view)
        kpis, sources, as_of, updated = _panels(city, view)
        return (kpis, [urls.get(i["layer"]) for i in layer_ids], sources, as_of, updated)

    @app.callback(
        Output("cc-site", "data"),
        Input({"type": LAYER_ID, "layer": ALL}, "clickData"),
        prevent_initial_call=True,
    )
    def pick(_: list[Any]) -> str:
        clicked = ctx.triggered[0]["value"] if ctx.triggered else None
        site_id = (clicked or {}).get("properties", {}).get("id") if clicked else None
        if not site_id or (clicked or {}).get("properties", {}).get("cluster"):
            raise PreventUpdate
        return str(site_id)

    @app.callback(
        Output("cc-trend", "figure"),
        Output("cc-site-detail", "children"),
        Input("cc-site", "data"),
        Input("cc-version", "data"),
        prevent_initial_call=True,
    )
    def trend(site_id: str | None, _: int) -> tuple[Any, Any]:
        if not site_id:
            raise PreventUpdate
        role = viewer_role()
        view = city.view(role)
        series = city.series(role, site_id)
        names = view.sites.set_index("id")["name"]
        if site_id not in names.index:
            return empty_trend("This site is not available."), ["This site is not available."]
        hours = city.config.ui.trend_hours
        title = f"{names[site_id]} · last {hours} h"
        if ctx.triggered_id == "cc-version" and series.empty:
            return no_update, no_update
        return trend_figure(series, title, city.config.city.timezone), site_detail(
            city, view, site_id
        )
