"""The twin's columns in 3D: however many columns, at most one mesh per colour against
typical, each column a closed hexagonal column as tall as its figure at its place; the
flat figure for a browser without WebGL."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from cockpit.config import default_config_path, load_config
from cockpit.geo import district_shapes
from cockpit.twin.hexgrid import HexFigure, HexLayer, centre_of
from layouts.components import twin3d, twin3d_columns

NOW = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
WORDS = ["below", "typical", "above", "unknown"]


@pytest.fixture(scope="module")
def ground() -> twin3d.Ground:
    config = load_config(default_config_path())
    return twin3d.ground_of(
        district_shapes(str(config.resolve(config.map.basemap)), config.map.basemap_label)
    )


def hexagons(n: int, size: float = 0.5) -> HexLayer:
    """``n`` hexagons in a row of rows, the i-th with figure i and word i mod 4."""
    figures = []
    for i in range(n):
        q, r = i % 20 - 10, i // 20 - 5
        x, y = centre_of(np.array([q]), np.array([r]), size)
        figures.append(
            HexFigure(
                q,
                r,
                float(x[0]),
                float(y[0]),
                "",
                float(i),
                2,
                WORDS[i % 4],
                NOW,
                NOW - timedelta(minutes=5),
                ("ped",),
                False,
            )
        )
    return HexLayer(tuple(figures), size, False, 0)


@pytest.mark.parametrize("n", [1, 7, 300])
def test_all_columns_fit_in_at_most_four_meshes(ground: twin3d.Ground, n: int) -> None:
    layer = hexagons(n)
    labels = [f"column {i}" for i in range(n)]
    fig = twin3d_columns.column_figure(ground, layer, labels, "Pedestrians per hexagon", str)
    meshes = [t for t in fig.data if t.type == "mesh3d"]
    assert len(meshes) == min(n, 4)
    assert sum(len(t.meta["values"]) for t in meshes) == n
    for mesh in meshes:
        assert mesh.color == twin3d.TYPICAL_COLOURS[mesh.meta["typical"]]
        count = len(mesh.meta["values"])
        assert len(mesh.x) == 12 * count and len(mesh.i) == 16 * count
        assert len(mesh.text) == len(mesh.x)  # every corner of a column tells its figure
    assert [t.type for t in fig.data].count("scatter3d") == 1  # the districts' outlines


def test_a_column_stands_at_its_place_as_tall_as_its_figure(ground: twin3d.Ground) -> None:
    layer = hexagons(8)
    labels = [f"column {i}" for i in range(8)]
    fig = twin3d_columns.column_figure(ground, layer, labels, "", str)
    tallest = max(max(t.z) for t in fig.data if t.type == "mesh3d")
    for mesh in (t for t in fig.data if t.type == "mesh3d"):
        for n, value in enumerate(mesh.meta["values"]):
            corners = slice(12 * n, 12 * n + 12)
            xs, ys, zs = mesh.x[corners], mesh.y[corners], mesh.z[corners]
            figure = next(f for f in layer.figures if f.value == value)
            assert (np.mean(xs), np.mean(ys)) == pytest.approx((figure.x, figure.y))
            radius = math.hypot(xs[0] - figure.x, ys[0] - figure.y)
            assert radius == pytest.approx(0.5 / math.sqrt(3))  # the hexagon's own corners
            assert list(zs[:6]) == [0.0] * 6
            assert zs[6] == pytest.approx(tallest * value / 7.0)
            assert mesh.text[12 * n] == f"column {int(value)}"


def test_a_column_is_closed_roof_and_walls() -> None:
    fig = twin3d_columns.column_figure(twin3d.ground_of(()), hexagons(1), ["x"], "", str)
    mesh = fig.data[0]
    edges: dict[tuple[int, int], int] = {}
    for a, b, c in zip(mesh.i, mesh.j, mesh.k, strict=True):
        for e in ((a, b), (b, c), (c, a)):
            key = (min(e), max(e))
            edges[key] = edges.get(key, 0) + 1
    # Every edge but the floor's six is shared by two triangles: open only at the ground.
    open_edges = sorted(e for e, n in edges.items() if n == 1)
    assert open_edges == sorted((min(k, (k + 1) % 6), max(k, (k + 1) % 6)) for k in range(6))
    assert set(edges.values()) <= {1, 2}


def test_a_single_sites_column_is_narrower_than_a_hexagon() -> None:
    layer = hexagons(3)
    single = HexLayer(layer.figures, layer.size_km, True, 0)
    assert twin3d_columns.column_width_km(layer) == 0.5
    assert twin3d_columns.column_width_km(single) == pytest.approx(
        0.5 * twin3d_columns.SITE_COLUMN_SHARE
    )


def test_the_flat_columns_are_hexagon_markers_by_colour(ground: twin3d.Ground) -> None:
    layer = hexagons(9)
    labels = [f"column {i}" for i in range(9)]
    fig = twin3d_columns.flat_column_figure(ground, layer, labels, "", str)
    assert {t.type for t in fig.data} == {"scatter"}
    markers = [t for t in fig.data if t.mode == "markers"]
    assert len(markers) == 4
    assert sorted(v for t in markers for v in t.meta["values"]) == [float(i) for i in range(9)]
    for trace in markers:
        assert trace.marker.color == twin3d.TYPICAL_COLOURS[trace.meta["typical"]]
        assert list(trace.text) == [f"column {int(v)}" for v in trace.meta["values"]]
        small, large = twin3d_columns.FLAT_SIZES
        for size, value in zip(trace.marker.size, trace.meta["values"], strict=True):
            assert size == pytest.approx(small + (large - small) * value / 8.0)
