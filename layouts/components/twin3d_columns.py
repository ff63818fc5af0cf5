"""The twin in 3D as columns: each site (or, in a large city, each hexagon of sites) a
hexagonal column as tall as its figure, coloured against typical as the 2D map colours
its markers, over the districts' outlines; and the same columns flat, for a browser
without WebGL.

However many columns there are, the 3D figure has at most one ``go.Mesh3d`` per colour
against typical (four) and one outline trace, built with numpy: the browser draws a few
meshes instead of a trace per column. Coordinates are kilometres east and north of the
districts' centre, as the district prisms' (``layouts.components.twin3d``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

import numpy as np
import plotly.graph_objects as go

from cockpit.present.i18n import Gettext
from cockpit.twin.hexgrid import HexFigure, HexLayer
from layouts.components.twin3d import (
    OUTLINE,
    TALLEST,
    TYPICAL_COLOURS,
    Ground,
    ground_outlines,
    outlines,
    scene_aspect,
    scene_figure,
    solid,
)

__all__ = [
    "FLAT_SIZES",
    "SITE_COLUMN_SHARE",
    "column_figure",
    "column_width_km",
    "flat_column_figure",
]

# A single site's column is this share of a hexagon's width, so that neighbours stand apart.
SITE_COLUMN_SHARE = 0.4
# The flat columns' markers, in px: a figure of 0 is the first, the tallest the second.
FLAT_SIZES = (6.0, 22.0)
# Corners of a "pointy top" hexagon, as the grid's (``cockpit.twin.hexgrid``).
_ANGLES = np.radians(30.0 + 60.0 * np.arange(6))
# A column's 16 triangles over its 12 vertices (floor 0–5, roof 6–11): the roof as a
# fan, then two per wall. It stands on the ground, so it needs no floor.
_ROOF = [(6, 6 + k, 7 + k) for k in range(1, 5)]
_WALLS = [
    t for k in range(6) for t in ((k, (k + 1) % 6, 6 + (k + 1) % 6), (k, 6 + (k + 1) % 6, 6 + k))
]
_TRIANGLES = np.array(_ROOF + _WALLS, dtype=np.int64)


def column_width_km(layer: HexLayer) -> float:
    """How wide (across flats, km) the layer's columns are drawn: a hexagon's whole
    width, a single site's ``SITE_COLUMN_SHARE`` of it."""
    return layer.size_km * (SITE_COLUMN_SHARE if layer.single_sites else 1.0)


def _extent(ground: Ground, layer: HexLayer) -> tuple[float, float, float, float]:
    """West, east, south and north edges (km) of the ground and the columns."""
    xs = [v for vs in ground.x.values() for v in vs] + [f.x for f in layer.figures]
    ys = [v for vs in ground.y.values() for v in vs] + [f.y for f in layer.figures]
    if not xs:
        return 0.0, 1.0, 0.0, 1.0
    return min(xs), max(xs), min(ys), max(ys)


def _heights(figures: Sequence[HexFigure], width_km: float, reference: float) -> np.ndarray:
    top = max(reference, max((f.value for f in figures), default=0.0))
    scale = TALLEST * width_km / top if top > 0 else 0.0
    return np.array([max(f.value, 0.0) * scale for f in figures], dtype=float)


def _mesh(x: np.ndarray, y: np.ndarray, z: np.ndarray, radius: float) -> dict[str, np.ndarray]:
    """The vertices and triangles of hexagonal columns centred at (``x``, ``y``) with
    heights ``z``, all in one mesh."""
    n = len(x)
    cx = x[:, None] + radius * np.cos(_ANGLES)[None, :]
    cy = y[:, None] + radius * np.sin(_ANGLES)[None, :]
    vx = np.concatenate([cx, cx], axis=1).ravel()
    vy = np.concatenate([cy, cy], axis=1).ravel()
    vz = np.concatenate([np.zeros((n, 6)), np.repeat(z[:, None], 6, axis=1)], axis=1).ravel()
    faces = (_TRIANGLES[None, :, :] + 12 * np.arange(n)[:, None, None]).reshape(-1, 3)
    return {"x": vx, "y": vy, "z": vz, "i": faces[:, 0], "j": faces[:, 1], "k": faces[:, 2]}


def _meta(own: Sequence[HexFigure], word: str) -> dict[str, object]:
    """What a mesh holds, for whoever reads the figure: each column's cell and figure."""
    return {
        "typical": word,
        "cells": [[f.q, f.r] for f in own],
        "names": [f.name for f in own],
        "values": [f.value for f in own],
        "sites": [f.sites for f in own],
    }


def column_figure(
    ground: Ground,
    layer: HexLayer,
    labels: Sequence[str],
    title: str,
    _: Gettext,
    reference: float = 0.0,
) -> go.Figure:
    """The 3D figure of ``layer``'s columns: one ``Mesh3d`` per word against typical
    (at most four), each column as tall as its figure (a figure of ``reference``, e.g.
    the tallest now, is ``TALLEST`` of the city's width, unless one is taller), hover
    ``labels`` (aligned with ``layer.figures``) on every vertex of its column; then the
    districts' outlines on the ground. The camera a person chose stays."""
    west, east, south, north = _extent(ground, layer)
    width = max(east - west, north - south, 1e-3)
    heights = _heights(layer.figures, width, reference)
    radius = column_width_km(layer) / math.sqrt(3)
    traces: list[go.BaseTraceType] = []
    for word, colour in TYPICAL_COLOURS.items():
        index = [i for i, f in enumerate(layer.figures) if f.typical == word]
        if not index:
            continue
        own = [layer.figures[i] for i in index]
        mesh = _mesh(
            np.array([f.x for f in own]), np.array([f.y for f in own]), heights[index], radius
        )
        text = [labels[i] for i in index for _corner in range(12)]  # hover on every vertex
        traces.append(solid(mesh, word, colour, text, _meta(own, word)))
    traces.append(ground_outlines(ground, _))
    top = float(heights.max()) if len(heights) else 0.0
    aspect = scene_aspect(east - west, north - south, TALLEST * width)
    return scene_figure(traces, title, max(top, TALLEST * width), aspect)


def flat_column_figure(
    ground: Ground, layer: HexLayer, labels: Sequence[str], title: str, _: Gettext
) -> go.Figure:
    """The same columns flat (SVG, no WebGL needed): each a hexagonal marker at its place
    in its colour against typical, as large as its figure (``FLAT_SIZES`` px, from none to
    the tallest), one ``Scatter`` per colour, hover ``labels``, over the districts'
    outlines."""
    top = max((f.value for f in layer.figures), default=0.0)
    small, large = FLAT_SIZES
    xs, ys, _zs = outlines(ground)
    traces: list[go.BaseTraceType] = [
        go.Scatter(
            x=xs,
            y=ys,
            mode="lines",
            line={"color": OUTLINE, "width": 1},
            hoverinfo="skip",
            name=_("District boundaries"),
            showlegend=False,
        )
    ]
    for word, colour in TYPICAL_COLOURS.items():
        index = [i for i, f in enumerate(layer.figures) if f.typical == word]
        if not index:
            continue
        own = [layer.figures[i] for i in index]
        traces.append(
            go.Scatter(
                x=[f.x for f in own],
                y=[f.y for f in own],
                mode="markers",
                marker={
                    "symbol": "hexagon",
                    "size": [
                        small + (large - small) * max(f.value, 0.0) / top if top > 0 else small
                        for f in own
                    ],
                    "color": colour,
                    "line": {"color": "#ffffff", "width": 1},
                },
                text=[labels[i] for i in index],
                hoverinfo="text",
                name=word,
                meta=_meta(own, word),
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
