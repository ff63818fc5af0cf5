"""The twin per hexagon: known positions land in known hexagons, a hexagon's figure is
combined by exactly the districts' rule, and sites outside the grid's box or without a
position are left out; the 3D view's columns stay at most ``max_columns``."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cockpit.twin.districts import district_figures, measure_of
from cockpit.twin.hexgrid import (
    KM_PER_DEG_LAT,
    Grid,
    cells_of,
    centre_of,
    columns,
    hexagon_figures,
)

NOW = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
GRID = Grid(-37.81, 144.96, 1.0)
PER_LON = 111.320 * math.cos(math.radians(GRID.lat))
PEDESTRIANS = measure_of("pedestrians", "Pedestrians", "pedestrians", "pedestrians")
MEASURES = [
    PEDESTRIANS,  # a sum
    measure_of("traffic", "Traffic", "traffic", "vehicle_flow"),  # a mean
    measure_of("parking", "Parking", "parking", "bay_occupied"),  # the occupied share
    measure_of("air", "Air quality", "air", "eaqi"),  # the worst band
]
STATES = ["very good", "good", "fair", "poor", "occupied", "free", "quiet"]


def at_km(x: float, y: float, grid: Grid = GRID) -> tuple[float, float]:
    """The (lat, lon) ``x`` km east and ``y`` km north of the grid's centre."""
    per_lon = 111.320 * math.cos(math.radians(grid.lat))
    return grid.lat + y / KM_PER_DEG_LAT, grid.lon + x / per_lon


def frames(rows: list[tuple[str, float, float, float, str, int, str]]) -> tuple[pd.DataFrame, ...]:
    """(site id, x km, y km, value, state, minutes old, source) -> site states, sites."""
    places = [at_km(r[1], r[2]) for r in rows]
    states = pd.DataFrame(
        {
            "site_id": [r[0] for r in rows],
            "metric": "x",
            "value": [r[3] for r in rows],
            "unit": "",
            "time": [NOW - timedelta(minutes=r[5]) for r in rows],
            "state": [r[4] for r in rows],
            "level": "ok",
        }
    )
    sites = pd.DataFrame(
        {
            "id": [r[0] for r in rows],
            "name": [f"Site {r[0]}" for r in rows],
            "source": [r[6] for r in rows],
            "lat": [p[0] for p in places],
            "lon": [p[1] for p in places],
        }
    )
    return states, sites


@pytest.mark.parametrize(
    ("x", "y", "cell"),
    [
        (0.0, 0.0, (0, 0)),
        (0.45, 0.0, (0, 0)),  # the flat side is 0.5 km east
        (0.55, 0.0, (1, 0)),
        (1.0, 0.0, (1, 0)),
        (-1.0, 0.0, (-1, 0)),
        (0.5, math.sqrt(3) / 2, (0, 1)),  # 1 km away at 60°
        (-0.5, math.sqrt(3) / 2, (-1, 1)),
        (0.5, -math.sqrt(3) / 2, (1, -1)),
        (0.0, 0.55, (0, 0)),  # the corner north is 1/√3 ≈ 0.577 km away
        (0.0, 0.6, (-1, 1)),  # just past it: shared by (−1, 1) and (0, 1), whose centres
        (3.0, 0.0, (3, 0)),  # lie at x = ∓0.5; ties go by the rounding of q
    ],
)
def test_known_points_land_in_known_hexagons(x: float, y: float, cell: tuple[int, int]) -> None:
    lat, lon = at_km(x, y)
    q, r, inside = cells_of(np.array([lat]), np.array([lon]), GRID)
    if (x, y) == (0.0, 0.6):  # exactly on the line between two hexagons: either is right
        assert (int(q[0]), int(r[0])) in [(-1, 1), (0, 1)]
    else:
        assert (int(q[0]), int(r[0])) == cell
    assert inside[0]


@given(
    x=st.floats(-20, 20, allow_nan=False),
    y=st.floats(-20, 20, allow_nan=False),
    size=st.sampled_from([0.25, 0.5, 1.0, 2.0]),
)
@settings(max_examples=200, deadline=None)
def test_a_point_lies_in_the_hexagon_whose_centre_is_nearest(
    x: float, y: float, size: float
) -> None:
    grid = Grid(GRID.lat, GRID.lon, size)
    lat, lon = at_km(x, y, grid)
    q, r, _ = cells_of(np.array([lat]), np.array([lon]), grid)
    cx, cy = centre_of(q, r, size)
    mine = math.hypot(x - cx[0], y - cy[0])
    assert mine <= size / math.sqrt(3) + 1e-9  # within the corner radius
    for dq, dr in [(1, 0), (-1, 0), (0, 1), (0, -1), (1, -1), (-1, 1)]:
        nx, ny = centre_of(q + dq, r + dr, size)
        assert mine <= math.hypot(x - nx[0], y - ny[0]) + 1e-9


def test_sites_combine_per_hexagon() -> None:
    states, sites = frames(
        [
            ("a", 0.1, 0.1, 100.0, "quiet", 10, "ped"),
            ("b", -0.2, 0.0, 300.0, "quiet", 40, "ped2"),
            ("c", 1.0, 0.0, 50.0, "quiet", 5, "ped"),
        ]
    )
    words = {"a": "above", "b": "above", "c": "below"}
    layer = hexagon_figures(states, sites, PEDESTRIANS, words, GRID, stale_sites={"c"})
    found = {(f.q, f.r): f for f in layer.figures}
    assert sorted(found) == [(0, 0), (1, 0)]
    centre, east = found[(0, 0)], found[(1, 0)]
    assert (centre.value, centre.sites, centre.typical) == (400.0, 2, "above")
    assert (centre.observed, centre.oldest) == (
        NOW - timedelta(minutes=10),
        NOW - timedelta(minutes=40),
    )
    assert centre.sources == ("ped", "ped2") and not centre.stale
    assert (east.value, east.sites, east.typical, east.stale) == (50.0, 1, "below", True)
    assert (east.x, east.y) == pytest.approx((1.0, 0.0))
    assert not layer.single_sites and layer.outside == 0


@given(
    rows=st.lists(
        st.tuples(
            st.floats(-3, 3, allow_nan=False),
            st.floats(-3, 3, allow_nan=False),
            st.floats(0, 2_000, allow_nan=False),
            st.sampled_from(STATES),
            st.integers(0, 120),
            st.sampled_from(["s1", "s2", "s3"]),
            st.sampled_from(["below", "typical", "above", None]),
        ),
        max_size=40,
    ),
    measure=st.sampled_from(MEASURES),
)
@settings(max_examples=100, deadline=None)
def test_a_hexagon_combines_its_sites_exactly_as_a_district_would(
    rows: list[tuple[float, float, float, str, int, str, str | None]], measure: object
) -> None:
    """Name each site's district after its hexagon: districts and hexagons then agree
    in every field, for every measure's rule."""
    assert measure in MEASURES
    m = MEASURES[MEASURES.index(measure)]  # type: ignore[arg-type]
    states, sites = frames(
        [
            (f"s{i}", x, y, v, state, age, src)
            for i, (x, y, v, state, age, src, _w) in enumerate(rows)
        ]
    )
    words = {f"s{i}": w for i, (*_rest, w) in enumerate(rows) if w is not None}
    q, r, _ = cells_of(sites["lat"].to_numpy(), sites["lon"].to_numpy(), GRID)
    named = sites.assign(district=[f"{a},{b}" for a, b in zip(q, r, strict=True)])
    districts = {f.district: f for f in district_figures(states, named, m, words, {"s3"})}
    hexagons = hexagon_figures(states, sites, m, words, GRID, {"s3"}).figures
    assert {f"{f.q},{f.r}" for f in hexagons} == set(districts)
    for h in hexagons:
        d = districts[f"{h.q},{h.r}"]
        assert h.value == pytest.approx(d.value)
        assert (h.sites, h.typical, h.observed, h.oldest, h.sources, h.stale) == (
            d.sites, d.typical, d.observed, d.oldest, d.sources, d.stale,
        )  # fmt: skip


def test_no_values_give_no_hexagons() -> None:
    states, sites = frames([("a", 0.0, 0.0, 100.0, "quiet", 1, "ped")])
    assert hexagon_figures(states.iloc[0:0], sites, PEDESTRIANS, {}, GRID).figures == ()
    assert hexagon_figures(states, sites.iloc[0:0], PEDESTRIANS, {}, GRID).figures == ()
    empty = states.assign(value=float("nan"))
    assert hexagon_figures(empty, sites, PEDESTRIANS, {}, GRID).figures == ()
    assert columns(empty, sites, PEDESTRIANS, {}, GRID, 10).figures == ()


def test_sites_outside_the_box_or_without_a_place_are_left_out() -> None:
    states, sites = frames(
        [
            ("in", 0.0, 0.0, 10.0, "quiet", 1, "ped"),
            ("east", 9.0, 0.0, 20.0, "quiet", 1, "ped"),
            ("nowhere", 0.0, 0.0, 40.0, "quiet", 1, "ped"),
        ]
    )
    sites.loc[sites["id"] == "nowhere", ["lat", "lon"]] = float("nan")
    south, west = at_km(-2.0, -2.0)
    north, east = at_km(2.0, 2.0)
    boxed = Grid(GRID.lat, GRID.lon, 1.0, (west, south, east, north))
    layer = hexagon_figures(states, sites, PEDESTRIANS, {}, boxed)
    assert [(f.q, f.r, f.value, f.sites) for f in layer.figures] == [(0, 0, 10.0, 1)]
    assert layer.outside == 2
    # Without a box only the site without a place is left out.
    unboxed = hexagon_figures(states, sites, PEDESTRIANS, {}, GRID)
    assert sum(f.value for f in unboxed.figures) == 30.0 and unboxed.outside == 1


def test_few_sites_stand_as_their_own_columns_many_are_binned() -> None:
    rows = [(f"s{i}", 0.1 * i, 0.0, float(i), "quiet", 1, "ped") for i in range(12)]
    states, sites = frames(rows)
    own = columns(states, sites, PEDESTRIANS, {}, GRID, max_columns=12)
    assert own.single_sites and len(own.figures) == 12
    assert [(f.name, f.value, f.sites) for f in own.figures][:2] == [
        ("Site s0", 0.0, 1),
        ("Site s1", 1.0, 1),
    ]
    assert own.figures[5].x == pytest.approx(0.5)
    binned = columns(states, sites, PEDESTRIANS, {}, GRID, max_columns=11)
    assert not binned.single_sites and binned.size_km == 1.0
    assert len(binned.figures) == 2  # 0 … 1.1 km east: the centre's hexagon and the next
    assert sum(f.value for f in binned.figures) == sum(range(12))
    # More hexagons than columns: the hexagons widen until they fit.
    wide = columns(states, sites, PEDESTRIANS, {}, GRID, max_columns=1)
    assert len(wide.figures) == 1 and wide.size_km > 1.0
    assert wide.figures[0].value == sum(range(12)) and wide.figures[0].sites == 12


def test_a_grid_needs_a_size_and_columns_a_number() -> None:
    with pytest.raises(ValueError, match="above 0 km"):
        Grid(0.0, 0.0, 0.0)
    states, sites = frames([("a", 0.0, 0.0, 1.0, "quiet", 1, "ped")])
    with pytest.raises(ValueError, match="at least 1"):
        columns(states, sites, PEDESTRIANS, {}, GRID, 0)
