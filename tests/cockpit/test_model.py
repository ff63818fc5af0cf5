"""The canonical frames every connector produces: their columns and dtypes, and the
validators that keep bad rows (with a reason each) away from maps and KPIs."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cockpit.errors import DataError
from cockpit.model import (
    METRICS,
    OBSERVATION_COLUMNS,
    SITE_COLUMNS,
    empty_observations,
    empty_sites,
    metric,
    observations_frame,
    sites_frame,
    validate_observations,
    validate_sites,
)

# min_lon, min_lat, max_lon, max_lat of the demo city (greater Melbourne)
MELBOURNE_BBOX = (144.55, -38.05, 145.40, -37.55)
T = pd.Timestamp("2025-05-13 08:00", tz="Australia/Melbourne")


def dtypes(frame: pd.DataFrame) -> dict[str, str]:
    """Column name -> dtype name, comparable with the model's column tables."""
    return {col: str(dtype) for col, dtype in frame.dtypes.items()}


def site(**changes: Any) -> dict[str, Any]:
    """A valid Melbourne site record (Melbourne Central's counter) with ``changes``."""
    record: dict[str, Any] = {
        "id": "pedestrians:3",
        "name": "Melbourne Central",
        "domain": "pedestrians",
        "lat": -37.81101524,
        "lon": 144.96429485,
        "source": "pedestrians",
    }
    return {**record, **changes}


def obs(**changes: Any) -> dict[str, Any]:
    """A valid observation record (NO₂ in µg/m³ at Alphington) with ``changes``."""
    record: dict[str, Any] = {
        "site_id": "air:10001",
        "metric": "no2",
        "time": T,
        "value": 25.0,
        "unit": "µg/m³",
    }
    return {**record, **changes}


# --- frames ---------------------------------------------------------------------------------


def test_sites_frame_has_canonical_columns_dtypes_and_defaults() -> None:
    frame = sites_frame([site(), site(id="pedestrians:5", name="Princes Bridge")])
    assert list(frame.columns) == list(SITE_COLUMNS)
    assert dtypes(frame) == SITE_COLUMNS
    # Optional columns get their defaults: public, measured, a generic sensor, no attributes.
    assert frame["access"].tolist() == ["public", "public"]
    assert frame["origin"].tolist() == ["measured", "measured"]
    assert frame["kind"].tolist() == ["sensor", "sensor"]
    assert frame["attributes"].tolist() == [{}, {}]


def test_sites_frame_keeps_given_optional_columns() -> None:
    record = site(access="internal", origin="replayed", kind="counter", attributes={"x": 1})
    frame = sites_frame(pd.DataFrame([record]))
    assert frame.loc[0, ["access", "origin", "kind"]].tolist() == [
        "internal",
        "replayed",
        "counter",
    ]
    assert frame.loc[0, "attributes"] == {"x": 1}


def test_sites_frame_without_required_column_raises() -> None:
    record = site()
    del record["lat"]
    with pytest.raises(DataError, match="lat"):
        sites_frame([record])


@pytest.mark.parametrize("make", [empty_sites, lambda: sites_frame([])], ids=["empty", "no-rows"])
def test_empty_sites_frame_has_canonical_dtypes(make: Any) -> None:
    frame = make()
    assert frame.empty
    assert list(frame.columns) == list(SITE_COLUMNS)
    assert dtypes(frame) == SITE_COLUMNS


def test_observations_frame_has_canonical_columns_and_dtypes() -> None:
    frame = observations_frame([obs(), obs(metric="pm25", value="7.5", unit="µg/m³")])
    assert list(frame.columns) == list(OBSERVATION_COLUMNS)
    assert dtypes(frame) == OBSERVATION_COLUMNS
    # A local time becomes UTC (Melbourne is UTC+10 in May); numeric text becomes a float.
    assert frame.loc[0, "time"] == pd.Timestamp("2025-05-12 22:00", tz="UTC")
    assert frame["value"].tolist() == [25.0, 7.5]


def test_observations_frame_fills_canonical_unit_and_coerces_bad_numbers() -> None:
    records = [obs(value=3), obs(metric="pedestrians", value="n/a")]
    for record in records:
        del record["unit"]
    frame = observations_frame(records)
    assert frame["unit"].tolist() == ["µg/m³", "persons/h"]
    assert frame.loc[0, "value"] == 3.0
    assert math.isnan(frame.loc[1, "value"])


@pytest.mark.parametrize(
    "make", [empty_observations, lambda: observations_frame([])], ids=["empty", "no-rows"]
)
def test_empty_observations_frame_has_canonical_dtypes(make: Any) -> None:
    frame = make()
    assert frame.empty
    assert list(frame.columns) == list(OBSERVATION_COLUMNS)
    assert dtypes(frame) == OBSERVATION_COLUMNS


# --- observations ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        pytest.param(obs(metric="nox"), "unknown metric", id="unknown-metric"),
        pytest.param(obs(unit="ppb"), "unit is not canonical", id="ppb-not-converted"),
        pytest.param(obs(unit="ug/m3"), "unit is not canonical", id="unit-spelling"),
        pytest.param(obs(value=float("nan")), "value missing or not finite", id="nan"),
        pytest.param(obs(value=float("inf")), "value missing or not finite", id="inf"),
        pytest.param(obs(time=pd.NaT), "no time", id="no-time"),
        pytest.param(obs(value=2_000.5), "value outside the metric's range", id="above-range"),
        pytest.param(obs(value=-0.1), "value outside the metric's range", id="negative-no2"),
        pytest.param(
            obs(metric="pedestrians", unit="persons/h", value=-3),
            "value outside the metric's range",
            id="negative-count",
        ),
        pytest.param(
            obs(metric="bay_occupied", unit="1", value=2),
            "value outside the metric's range",
            id="bay-state-2",
        ),
    ],
)
def test_validate_observations_rejects_with_reason(record: dict[str, Any], reason: str) -> None:
    good_before = obs(site_id="air:10239", value=30.0)
    good_after = obs(site_id="air:10042", metric="pm25", value=6.0)
    frame = observations_frame([good_before, record, good_after])
    good, rejected = validate_observations(frame)
    # The good rows stay, in order, with a fresh index; the bad one carries its reason.
    assert good["site_id"].tolist() == ["air:10239", "air:10042"]
    assert good.index.tolist() == [0, 1]
    assert dtypes(good) == OBSERVATION_COLUMNS
    assert len(rejected) == 1
    assert rejected.loc[0, "reason"] == reason
    assert rejected.loc[0, "site_id"] == record["site_id"]


def test_validate_observations_keeps_range_edges() -> None:
    frame = observations_frame(
        [
            obs(value=0.0),
            obs(value=2_000.0),
            obs(metric="bay_occupied", unit="1", value=0),
            obs(metric="bay_occupied", unit="1", value=1),
            obs(metric="occupancy", unit="%", value=100),
        ]
    )
    good, rejected = validate_observations(frame)
    assert len(good) == 5
    assert rejected.empty


def test_validate_observations_of_empty_frame() -> None:
    good, rejected = validate_observations(empty_observations())
    assert good.empty and rejected.empty


def test_metric_lookup() -> None:
    assert metric("no2").unit == "µg/m³"
    assert metric("pedestrians").domain == "pedestrians"
    with pytest.raises(DataError, match="unknown metric 'nox'"):
        metric("nox")


KNOWN_UNITS = sorted({m.unit for m in METRICS.values()})
metric_names = st.sampled_from([*METRICS, "NO2", "pm2.5", ""]) | st.text(max_size=10)
units = st.sampled_from([*KNOWN_UNITS, "ppb", "ug/m3", "veh/hour", ""]) | st.text(max_size=6)
values = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(
    [0.0, 1.0, 100.0, 1_000.0, 20_000.0, -1.0]
)


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(st.tuples(metric_names, units, values), max_size=25))
def test_validate_observations_property(rows: list[tuple[str, str, float]]) -> None:
    """Every row ends up in exactly one frame, and the good frame only holds finite,
    in-range values of known metrics in their canonical units."""
    frame = observations_frame(
        [
            {"site_id": f"s{i}", "metric": m, "time": T, "value": v, "unit": u}
            for i, (m, u, v) in enumerate(rows)
        ]
    )
    good, rejected = validate_observations(frame)
    assert len(good) + len(rejected) == len(rows)
    assert sorted([*good["site_id"], *rejected["site_id"]]) == sorted(frame["site_id"])
    assert rejected["reason"].notna().all()
    for name, unit, value in zip(good["metric"], good["unit"], good["value"], strict=True):
        known = METRICS[name]
        assert unit == known.unit
        assert math.isfinite(value)
        assert known.minimum <= value <= known.maximum


# --- sites ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        pytest.param({"lat": float("nan")}, "coordinates missing or not WGS84", id="no-lat"),
        pytest.param({"lon": float("nan")}, "coordinates missing or not WGS84", id="no-lon"),
        # Melbourne's lat/lon swapped: a latitude of 144.96° does not exist.
        pytest.param(
            {"lat": 144.96429485, "lon": -37.81101524},
            "coordinates missing or not WGS84",
            id="swapped-lat-lon",
        ),
        # Geelong, 60 km away: a real place, but outside the city's box.
        pytest.param(
            {"lat": -38.147, "lon": 144.361}, "coordinates outside the city", id="geelong"
        ),
        pytest.param({"lat": 0.0, "lon": 0.0}, "coordinates outside the city", id="null-island"),
        pytest.param({"domain": "weather"}, "unknown domain", id="unknown-domain"),
        pytest.param({"id": ""}, "no id", id="empty-id"),
        pytest.param({"access": "secret"}, "unknown access", id="unknown-access"),
    ],
)
def test_validate_sites_rejects_with_reason(changes: dict[str, Any], reason: str) -> None:
    frame = sites_frame([site(id="pedestrians:5", name="Princes Bridge"), site()])
    for column, value in changes.items():
        frame.loc[1, column] = value
    good, rejected = validate_sites(frame, MELBOURNE_BBOX)
    assert good["id"].tolist() == ["pedestrians:5"]
    assert len(rejected) == 1
    assert rejected.loc[0, "reason"] == reason


def test_swapped_coordinates_inside_wgs84_are_caught_by_the_bbox() -> None:
    """Hamburg's swapped lat/lon (9.99, 53.55) are valid degrees but far outside the city."""
    hamburg_bbox = (9.7, 53.39, 10.33, 53.74)
    frame = sites_frame(
        [
            site(id="a", lat=53.5503, lon=9.9930),
            site(id="b", lat=9.9930, lon=53.5503),
        ]
    )
    good, rejected = validate_sites(frame, hamburg_bbox)
    assert good["id"].tolist() == ["a"]
    assert rejected["reason"].tolist() == ["coordinates outside the city"]
    # Without a bounding box only the WGS84 ranges are checked.
    good, rejected = validate_sites(frame)
    assert len(good) == 2 and rejected.empty


def test_validate_sites_rejects_duplicate_id_and_keeps_the_first() -> None:
    frame = sites_frame([site(name="first"), site(name="second")])
    good, rejected = validate_sites(frame, MELBOURNE_BBOX)
    assert good["name"].tolist() == ["first"]
    assert rejected["name"].tolist() == ["second"]
    assert rejected["reason"].tolist() == ["duplicate id"]


def test_validate_sites_keeps_valid_sites_with_canonical_dtypes() -> None:
    frame = sites_frame([site(), site(id="pedestrians:5", lat=-37.8187, lon=144.9679)])
    good, rejected = validate_sites(frame, MELBOURNE_BBOX)
    assert len(good) == 2 and rejected.empty
    assert dtypes(good) == SITE_COLUMNS
