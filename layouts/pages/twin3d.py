"""The twin in 3D, for the mayor's desk (``/twin3d``): each district a prism as tall as
its figure of a chosen measure (footfall, traffic, parking occupancy, the air index),
coloured against typical as the 2D map's markers are; tilt, rotate and zoom it, hover a
district for its figure, age and sources; the cockpit's time machine chooses the moment
and plays a day. A browser without WebGL gets the same districts flat.

"Drawn as: Hexagons" shows each site as a column instead, or, once a layer has more
sites than ``twin.max_columns``, hexagons of ``twin.hexagon_km`` combining their sites
as districts do (``layouts.pages.twin3d_columns``).

The figures per district or hexagon are made on the server (``City.districts``,
``City.columns``, kept with the city's other answers), so the page's cost follows the
number of districts or columns, never the number of sites. Every callback reads the
viewer's role on the server: a layer the role may not see is never offered, and asked
for anyway it is not answered.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dash import Dash, Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from cockpit.city import City
from cockpit.storage import Journal
from layouts.components import timemachine as tm
from layouts.components import twin3d
from layouts.components.chart_config import chart_config
from layouts.components.clientside import clientside
from layouts.components.demo_badge import demo_badge_tag
from layouts.components.html_attrs import html_attrs
from layouts.components.shell import nav_links
from layouts.components.twin3d import HOW
from layouts.pages.cockpit import _language, _t, moments_ahead, typical_legend
from layouts.pages.twin3d_columns import columns_view
from layouts.routes.access import current_viewer, viewer_role

__all__ = [
    "GRAPH_ID",
    "MEASURE_ID",
    "SHAPE_ID",
    "WEBGL_ID",
    "layout",
    "register",
    "twin_view",
]

GRAPH_ID = "cc-3d-graph"
MEASURE_ID = "cc-3d-measure"
# Districts as prisms, or columns: one per site, hexagons of sites in a large city.
SHAPE_ID = "cc-3d-shape"
SHAPES = ("districts", "hexagons")
# True when the browser can draw WebGL, False when not (set in the browser on load).
WEBGL_ID = "cc-3d-webgl"
CAPTION_ID = "cc-3d-caption"
# The page's own time bar, data version, poll and language: ids apart from the cockpit's,
# so that neither page's callbacks fire on the other.
TM = "cc-3d-tm"
VERSION_ID = "cc-3d-version"
TICK_ID = "cc-3d-tick"
LANG_ID = "cc-3d-lang"


def _empty() -> dict[str, Any]:
    """The graph before its first figure: nothing drawn, no axes."""
    return {
        "data": [],
        "layout": {
            "xaxis": {"visible": False},
            "yaxis": {"visible": False},
            "paper_bgcolor": "#ffffff",
            "plot_bgcolor": "#ffffff",
            "margin": {"l": 0, "r": 0, "t": 0, "b": 0},
        },
    }


def layout(city: City, lang: str = "en", **_query: Any) -> html.Div:
    """The page for the viewer's role in the viewer's language (``?lang=de``): header,
    the measures the role may see, the time machine and the (empty) graph the first
    callback fills, in 3D or flat as the browser can."""
    config = city.config
    language = _language(city, lang)
    _ = _t(language)
    viewer = current_viewer()
    view = city.view(viewer.role)
    layers = [layer_id for layer_id in config.layers if layer_id in view.layers]
    # The first measure shown is the first with figures in some district (the demo's
    # traffic counters, for one, all lie outside its districts).
    first = next((k for k in layers if _has_districts(city, viewer.role, k)), None)
    anchor = tm.anchor_for(city.clock())
    return html.Div(
        className="cc-page cc-cockpit cc-twin3d",
        lang=language,
        children=[
            html.Header(
                className="cc-header",
                children=[
                    html.H1(config.city.name),
                    demo_badge_tag(view, language),
                    html.A(
                        _("Cockpit"),
                        href="/" + (f"?lang={language}" if language != "en" else ""),
                        id="cc-3d-back",
                    ),
                    nav_links(viewer, language, _),
                ],
            ),
            html.Main(
                [
                    html.H2(_("The city in 3D"), className="cc-panel-title"),
                    html.Div(
                        [
                            html.Span(_("Height shows"), id="cc-3d-measure-label"),
                            dcc.RadioItems(
                                id=MEASURE_ID,
                                options=[
                                    {"label": _(config.layers[k].title), "value": k} for k in layers
                                ],
                                value=first or (layers[0] if layers else None),
                                inline=True,
                                className="cc-radio",
                                inputClassName="cc-radio-input",
                            ),
                        ],
                        className="cc-3d-measures",
                        role="group",
                        **html_attrs({"aria-labelledby": "cc-3d-measure-label"}),
                    ),
                    html.Div(
                        [
                            html.Span(_("Drawn as"), id="cc-3d-shape-label"),
                            dcc.RadioItems(
                                id=SHAPE_ID,
                                options=[
                                    {"label": _("Districts"), "value": "districts"},
                                    {"label": _("Hexagons"), "value": "hexagons"},
                                ],
                                value="districts",
                                inline=True,
                                className="cc-radio",
                                inputClassName="cc-radio-input",
                            ),
                        ],
                        className="cc-3d-measures",
                        role="group",
                        **html_attrs({"aria-labelledby": "cc-3d-shape-label"}),
                    ),
                    html.Section(
                        [
                            dcc.Loading(
                                dcc.Graph(
                                    id=GRAPH_ID,
                                    figure=_empty(),
                                    config=chart_config(language, scrollZoom=True),
                                    className="cc-3d-graph",
                                ),
                                delay_show=400,
                            ),
                            html.P(id=CAPTION_ID, className="cc-3d-caption"),
                            typical_legend(_),
                            tm.time_bar(config.city.timezone, anchor, language, _, TM),
                        ],
                        className="cc-map-panel cc-3d-panel",
                        **html_attrs({"aria-label": _("The city in 3D")}),
                    ),
                ]
            ),
            dcc.Store(id=WEBGL_ID, data=None),
            dcc.Store(id=VERSION_ID, data=view.version),
            dcc.Store(id=LANG_ID, data=language),
            dcc.Interval(id=TICK_ID, interval=int(config.ui.poll_seconds * 1000)),
        ],
    )


def _has_districts(city: City, role: str, layer_id: str) -> bool:
    found = city.districts(role, layer_id)
    return found is not None and bool(found[1])


def twin_view(
    city: City,
    role: str,
    layer_id: str,
    moment: datetime | None,
    webgl: bool,
    language: str,
    shape: str = "districts",
) -> dict[str, Any]:
    """The figure (3D with ``webgl``, else flat), the caption and the time machine's
    label for ``layer_id`` as ``role`` sees it at ``moment`` (None: live), drawn as
    ``shape`` ("districts", or "hexagons": columns per site or per hexagon), by output
    name. Raises ``PreventUpdate`` for a layer ``role`` may not see or that does not
    exist, or an unknown ``shape``."""
    if shape == "hexagons":
        return columns_view(city, role, layer_id, moment, webgl, language)
    if shape != "districts":
        raise PreventUpdate
    _ = _t(language)
    answer = city.districts(role, layer_id, moment)
    if answer is None:
        raise PreventUpdate
    measure, figures = answer
    view = city.view(role) if moment is None else city.view_at(role, moment)
    tz = city.config.city.timezone
    labels = {
        f.district: twin3d.district_label(
            f, measure, view.sources, view.generated, tz, view.min_group_size, language, _
        )
        for f in figures
    }
    ground = twin3d.ground_of(city.district_shapes())
    title = _("{measure} per district").format(measure=_(measure.label))
    if webgl:
        # One scale for every moment of a replay: the tallest district now.
        live = city.districts(role, layer_id) if moment is not None else answer
        reference = max((f.value for f in live[1]), default=0.0) if live else 0.0
        figure = twin3d.prism_figure(ground, figures, labels, title, _, reference)
    else:
        values = {
            f.district: twin3d.figure_words(f, measure, view.min_group_size, language, _)
            for f in figures
        }
        figure = twin3d.flat_figure(ground, figures, labels, values, title, _)
    how = _(HOW[measure.aggregation])
    caption = (
        _("Height: {measure} per district ({how}); colour: against typical.")
        if webgl
        else _("No 3D in this browser (no WebGL): {measure} per district ({how}), flat.")
    ).format(measure=_(measure.label), how=how)
    if webgl:
        caption += " " + _("Drag to rotate, right-drag to move, scroll to zoom.")
    if not figures:
        caption += " " + _("No district has data at this moment.")
    return {
        "figure": figure,
        "caption": caption,
        "moment": tm.moment_label(moment, tz, language, _),
    }


def register(app: Dash, city: City, _journal: Journal) -> None:
    """The page's callbacks: the browser's WebGL probe, its own time bar, the data version,
    and the figure for the viewer's role at the time machine's moment."""
    tm.register_clientside(app, TM)

    @app.callback(
        Output(VERSION_ID, "data"),
        Input(TICK_ID, "n_intervals"),
        State(VERSION_ID, "data"),
        prevent_initial_call=True,
    )
    def poll(_tick: int | None, seen: int | None) -> int:
        version = city.version()
        if version == seen:
            raise PreventUpdate  # nothing new: nothing recomputed, nothing sent
        return version

    @app.callback(
        Output(f"{TM}-anchor", "data"),
        Input(VERSION_ID, "data"),
        State(f"{TM}-slider", "value"),
        prevent_initial_call=True,
    )
    def re_anchor(_version: int | None, offset: float | None) -> int:
        if offset:
            raise PreventUpdate  # replaying: the moment stays where it is
        return tm.anchor_for(city.clock())

    @app.callback(
        Output(f"{TM}-slider", "min"),
        Output(f"{TM}-slider", "step"),
        Output(f"{TM}-slider", "marks"),
        Input(f"{TM}-range", "value"),
        Input(f"{TM}-anchor", "data"),
        State(LANG_ID, "data"),
        prevent_initial_call=True,
    )
    def slider_range(range_id: str, anchor: int, language: str | None) -> tuple[Any, ...]:
        props = tm.slider_props(range_id, city.config.city.timezone, anchor, language or "en")
        return props["min"], props["step"], props["marks"]

    app.clientside_callback(
        clientside("webglProbe"),
        Output(WEBGL_ID, "data"),
        Input(MEASURE_ID, "id"),
    )

    @app.callback(
        output={
            "figure": Output(GRAPH_ID, "figure"),
            "caption": Output(CAPTION_ID, "children"),
            "moment": Output(f"{TM}-label", "children"),
            "shown": Output(f"{TM}-shown", "data"),
        },
        inputs=[
            Input(WEBGL_ID, "data"),
            Input(MEASURE_ID, "value"),
            Input(SHAPE_ID, "value"),
            Input(f"{TM}-slider", "value"),
            Input(VERSION_ID, "data"),
        ],
        state=[
            State(f"{TM}-anchor", "data"),
            State(LANG_ID, "data"),
            State(f"{TM}-playing", "data"),
            State(f"{TM}-slider", "step"),
        ],
        prevent_initial_call=True,
    )
    def show(
        webgl: bool | None,
        layer_id: str | None,
        shape: str | None,
        offset: float | None,
        _version: int | None,
        anchor: int | None,
        language: str | None,
        playing: bool | None,
        step: float | None,
    ) -> dict[str, Any]:
        if webgl is None or not isinstance(layer_id, str):
            raise PreventUpdate  # the probe has not answered yet
        role = viewer_role()
        moment = tm.moment_of(anchor, offset)
        if playing is True:
            city.prepare_moments(role, moments_ahead(anchor, offset, step))
        found = twin_view(
            city,
            role,
            layer_id,
            moment,
            webgl is True,
            _language(city, language),
            shape if isinstance(shape, str) else "districts",
        )
        return {**found, "shown": offset or 0}
