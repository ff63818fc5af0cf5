"""The twin in 3D: each district a prism as tall as its figure of the chosen measure,
coloured against typical as the 2D map colours its markers, over the outlines of every
district on the ground; and the same districts flat, for a browser without WebGL.

Both figures are Plotly (already the cockpit's chart library, served with the app, so
they work offline): ``go.Mesh3d`` prisms and ``go.Scatter3d`` outlines in WebGL, filled
``go.Scatter`` outlines in SVG for the fallback. Coordinates are kilometres east and
north of the districts' centre, so the city keeps its shape and a prism's height is
measured in the same units as the ground.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from itertools import pairwise
from typing import Any, Protocol

import plotly.graph_objects as go

from cockpit.city import SourceInfo
from cockpit.geo import DistrictShape
from cockpit.present.demo import origin_text
from cockpit.present.i18n import Gettext, format_number, format_time
from cockpit.privacy import masked_label, suppressed
from cockpit.twin.districts import DistrictFigure, Measure

__all__ = [
    "GROUND",
    "HOW",
    "TALLEST",
    "TYPICAL_COLOURS",
    "Ground",
    "PlaceFigure",
    "district_label",
    "figure_words",
    "flat_figure",
    "ground_of",
    "ground_outlines",
    "outlines",
    "place_label",
    "prism_figure",
    "scene_aspect",
    "scene_figure",
    "solid",
]

# The 2D map's colours against typical (assets/cockpit.css: .cc-below, .cc-typical, …).
TYPICAL_COLOURS = {
    "below": "#0072B2",
    "typical": "#5f6f80",
    "above": "#D55E00",
    "unknown": "#c4ccd4",
}
# The words of the 2D map's legend against typical, by word.
_TYPICAL_TEXT = {
    "below": "well below typical",
    "typical": "typical",
    "above": "well above typical",
    "unknown": "no baseline yet",
}
# How each measure's places combine their sites, in words ("sum of its sites").
HOW = {
    "sum": "sum of its sites",
    "mean": "mean of its sites",
    "share": "share of its places",
    "max": "worst of its stations",
}
GROUND = "#e4e8ee"
OUTLINE = "#7b8794"
# The tallest prism is this share of the city's width, whatever the measure's unit.
TALLEST = 0.35
_KM_PER_DEG_LAT = 110.574


@dataclass(frozen=True)
class Ground:
    """The districts in kilometres east (``x``) and north (``y``) of their centre, by
    name, with the city's width in km."""

    shapes: dict[str, DistrictShape]
    x: dict[str, list[float]]
    y: dict[str, list[float]]
    width_km: float


def ground_of(shapes: Sequence[DistrictShape]) -> Ground:
    """The districts' vertices projected to km around their centre (an equirectangular
    projection: exact enough across a city)."""
    lats = [v for s in shapes for v in s.lat]
    lons = [v for s in shapes for v in s.lon]
    if not lats:
        return Ground({}, {}, {}, 1.0)
    lat0, lon0 = (min(lats) + max(lats)) / 2, (min(lons) + max(lons)) / 2
    per_lon = 111.320 * math.cos(math.radians(lat0))
    x = {s.name: [(v - lon0) * per_lon for v in s.lon] for s in shapes}
    y = {s.name: [(v - lat0) * _KM_PER_DEG_LAT for v in s.lat] for s in shapes}
    width = max(
        (max(lons) - min(lons)) * per_lon,
        (max(lats) - min(lats)) * _KM_PER_DEG_LAT,
        1e-3,
    )
    return Ground({s.name: s for s in shapes}, x, y, width)


class PlaceFigure(Protocol):
    """What a district's, a hexagon's or a site column's figure has in common."""

    @property
    def value(self) -> float: ...
    @property
    def sites(self) -> int: ...
    @property
    def typical(self) -> str: ...
    @property
    def observed(self) -> datetime: ...
    @property
    def sources(self) -> tuple[str, ...]: ...
    @property
    def stale(self) -> bool: ...


def figure_words(
    figure: PlaceFigure, measure: Measure, min_group_size: int, language: str, _: Gettext
) -> str:
    """The place's figure with its unit in ``language`` ("2.410 Personen/h"); a
    count of people below ``min_group_size`` reads "< k"."""
    unit = _(measure.unit) if measure.unit else ""
    if measure.metric != "eaqi" and suppressed(measure.metric, figure.value, min_group_size):
        number = masked_label(min_group_size)
    else:
        number = format_number(figure.value, language, measure.decimals)
    return f"{number} {unit}".strip() if unit != "%" else f"{number} %"


def district_label(
    figure: DistrictFigure,
    measure: Measure,
    sources: dict[str, SourceInfo],
    moment: datetime,
    timezone: str,
    min_group_size: int,
    language: str,
    _: Gettext,
) -> str:
    """What hovering over a district says: its name, then ``place_label``'s lines."""
    return place_label(
        figure.district, figure, measure, sources, moment, timezone, min_group_size, language, _
    )


def place_label(
    name: str,
    figure: PlaceFigure,
    measure: Measure,
    sources: dict[str, SourceInfo],
    moment: datetime,
    timezone: str,
    min_group_size: int,
    language: str,
    _: Gettext,
) -> str:
    """What hovering over a place (a district, a hexagon, a site's column) says: its
    ``name``, the figure with its unit and how many sites it combines, its word against
    typical, when it was observed and how old it was at ``moment``, and its sources
    with their origin. Plotly reads it as (limited) HTML, so every name is escaped."""
    age_min = max(0, round((moment - figure.observed).total_seconds() / 60))
    when = format_time(figure.observed, language, timezone, "EEE HH:mm")
    credit = " · ".join(
        f"{escape(sources[s].name)} ({escape(origin_text(sources[s].origin, language))})"
        for s in figure.sources
        if s in sources
    )
    stale = " · " + _("stale") if figure.stale else ""
    lines = [
        f"<b>{escape(name)}</b>",
        _("{measure}: {value} ({sites} sites)").format(
            measure=escape(_(measure.label)),
            value=escape(figure_words(figure, measure, min_group_size, language, _)),
            sites=format_number(figure.sites, language),
        ),
        escape(_(_TYPICAL_TEXT.get(figure.typical, "no baseline yet"))),
        _("Observed {when}, {age} min before the moment shown").format(
            when=escape(when), age=format_number(age_min, language)
        )
        + stale,
        credit,
    ]
    return "<br>".join(line for line in lines if line)


def _heights(
    figures: Sequence[DistrictFigure], ground: Ground, reference: float = 0.0
) -> dict[str, float]:
    """Each district's prism height in km: proportional to its figure, the larger of
    ``reference`` and the tallest figure ``TALLEST`` of the city's width (all flat when
    every figure is 0)."""
    top = max(reference, max((f.value for f in figures), default=0.0))
    scale = TALLEST * ground.width_km / top if top > 0 else 0.0
    return {f.district: max(f.value, 0.0) * scale for f in figures}


def _prism(shape: DistrictShape, x: list[float], y: list[float], height: float) -> dict[str, list]:
    """The vertices (floor, then roof) and triangles of a district's prism."""
    n = len(x)
    i, j, k = [], [], []
    for a, b, c in shape.triangles:
        i += [a, a + n]  # floor, roof
        j += [b, b + n]
        k += [c, c + n]
    for ring in shape.rings:
        for a, b in pairwise(ring):
            if a == b:
                continue
            i += [a, a]
            j += [b, b + n]
            k += [b + n, a + n]
    return {
        "x": x + x,
        "y": y + y,
        "z": [0.0] * n + [height] * n,
        "i": i,
        "j": j,
        "k": k,
    }


def outlines(ground: Ground, z: float = 0.0) -> tuple[list, list, list]:
    """Every district's outline as one line of ``x``, ``y`` and ``z`` (at height ``z``),
    the rings apart by None."""
    xs: list[float | None] = []
    ys: list[float | None] = []
    for name, shape in ground.shapes.items():
        for ring in shape.rings:
            xs += [ground.x[name][v] for v in ring] + [None]
            ys += [ground.y[name][v] for v in ring] + [None]
    return xs, ys, [z if v is not None else None for v in xs]


def prism_figure(
    ground: Ground,
    figures: Sequence[DistrictFigure],
    labels: dict[str, str],
    title: str,
    _: Gettext,
    reference: float = 0.0,
) -> go.Figure:
    """The 3D figure: one ``Mesh3d`` prism per district of ``figures`` (height
    proportional to its value, colour its word against typical, hover ``labels`` by
    district), then the outlines of every district on the ground as one ``Scatter3d``.
    A figure of ``reference`` (e.g. the tallest now) is ``TALLEST`` of the city's width,
    unless a figure is taller: replayed moments then keep one scale, and a quiet night
    stands low. The camera a person chose (tilt, rotation, zoom) stays while the
    figures change."""
    heights = _heights(figures, ground, reference)
    traces: list[go.BaseTraceType] = []
    for figure in figures:
        shape = ground.shapes.get(figure.district)
        if shape is None:
            continue
        name = figure.district
        mesh = _prism(shape, ground.x[name], ground.y[name], heights[name])
        colour = TYPICAL_COLOURS.get(figure.typical, TYPICAL_COLOURS["unknown"])
        meta = {"district": figure.district, "typical": figure.typical}
        traces.append(solid(mesh, name, colour, labels.get(name, name), meta))
    traces.append(ground_outlines(ground, _))
    top = max(heights.values(), default=0.0)
    return scene_figure(traces, title, max(top, TALLEST * ground.width_km), _aspect(ground))


def solid(
    mesh: dict[str, list], name: str, colour: str, text: str | list[str], meta: Any
) -> go.Mesh3d:
    """One shaded solid of the 3D scene (a district's prism, the columns of one word
    against typical), hovered by ``text`` (one, or one per vertex)."""
    return go.Mesh3d(
        **mesh,
        name=name,
        color=colour,
        flatshading=True,
        lighting={"ambient": 0.55, "diffuse": 0.8, "specular": 0.1},
        text=text,
        hoverinfo="text",
        hoverlabel={"align": "left"},
        meta=meta,
        showlegend=False,
    )


def ground_outlines(ground: Ground, _: Gettext) -> go.Scatter3d:
    """Every district's outline on the ground of the 3D scene, as one line trace."""
    xs, ys, zs = outlines(ground)
    return go.Scatter3d(
        x=xs,
        y=ys,
        z=zs,
        mode="lines",
        line={"color": OUTLINE, "width": 2},
        hoverinfo="skip",
        name=_("District boundaries"),
        showlegend=False,
    )


def scene_figure(
    traces: list[go.BaseTraceType], title: str, top: float, aspect: dict[str, float]
) -> go.Figure:
    """The 3D scene of ``traces`` on hidden axes, as high as ``top`` (plus a little air)
    and shaped by ``aspect``, seen from the south-west; the camera a person chose (tilt,
    rotation, zoom) stays while the figures change."""
    hidden = {"visible": False, "showspikes": False}
    fig = go.Figure(traces)
    fig.update_layout(
        title={"text": escape(title), "x": 0.01, "font": {"size": 15}},
        margin={"l": 0, "r": 0, "t": 36, "b": 0},
        paper_bgcolor="#ffffff",
        uirevision="twin3d",
        scene={
            "xaxis": hidden,
            "yaxis": hidden,
            "zaxis": {**hidden, "range": [0, top * 1.05]},
            "aspectmode": "manual",
            "aspectratio": aspect,
            "camera": {"eye": {"x": -0.55, "y": -0.85, "z": 0.6}},
            "bgcolor": "#f4f6f9",
            "dragmode": "turntable",
        },
    )
    return fig


def _aspect(ground: Ground) -> dict[str, float]:
    xs = [v for vs in ground.x.values() for v in vs] or [0.0, 1.0]
    ys = [v for vs in ground.y.values() for v in vs] or [0.0, 1.0]
    return scene_aspect(max(xs) - min(xs), max(ys) - min(ys), TALLEST * ground.width_km)


def scene_aspect(wide: float, deep: float, tall: float) -> dict[str, float]:
    """The 3D scene's proportions for a ground ``wide`` by ``deep`` and ``tall`` high."""
    size = max(wide, deep, 1e-3)
    return {"x": wide / size, "y": deep / size, "z": tall / size}


def flat_figure(
    ground: Ground,
    figures: Sequence[DistrictFigure],
    labels: dict[str, str],
    values: dict[str, str],
    title: str,
    _: Gettext,
) -> go.Figure:
    """The same districts flat (SVG, no WebGL needed): each district of ``figures``
    filled with its colour against typical and its figure (``values``, by district)
    written at its centre, the others grey, hover ``labels`` by district."""
    found = {f.district: f for f in figures}
    traces: list[go.BaseTraceType] = []
    for name, shape in ground.shapes.items():
        figure = found.get(name)
        colour = TYPICAL_COLOURS.get(figure.typical, GROUND) if figure else GROUND
        for ring in shape.rings:
            traces.append(
                go.Scatter(
                    x=[ground.x[name][v] for v in ring],
                    y=[ground.y[name][v] for v in ring],
                    mode="lines",
                    fill="toself",
                    fillcolor=colour,
                    line={"color": "#ffffff", "width": 1},
                    hoveron="fills",
                    text=labels.get(name, escape(name)),
                    hoverinfo="text",
                    name=name,
                    meta={"district": name, "typical": figure.typical if figure else ""},
                    showlegend=False,
                )
            )
    named = [n for n in ground.shapes if n in values]
    traces.append(
        go.Scatter(
            x=[sum(ground.x[n]) / len(ground.x[n]) for n in named],
            y=[sum(ground.y[n]) / len(ground.y[n]) for n in named],
            mode="text",
            text=[escape(values[n]) for n in named],
            textfont={"size": 12, "color": "#1b2430"},
            hoverinfo="skip",
            showlegend=False,
        )
    )
    fig = go.Figure(traces)
    fig.update_layout(
        title={"text": escape(title), "x": 0.01, "font": {"size": 15}},
        margin={"l": 0, "r": 0, "t": 36, "b": 0},
        paper_bgcolor="#ffffff",
        plot_bgcolor="#f4f6f9",
        xaxis={"visible": False},
        yaxis={"visible": False, "scaleanchor": "x"},
        uirevision="twin3d",
        hovermode="closest",
    )
    return fig
