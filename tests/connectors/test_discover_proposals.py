"""The pure reading behind ``discover``: field kinds, site/time/place fields and the
metric proposed for a field by its name, unit and values (connectors/discover/fields.py,
metrics.py, plan.py)."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cockpit.domains import registry, unregister
from connectors.discover import _recognise, draft_toml
from connectors.discover import fields as F
from connectors.discover.metrics import (
    SHIPPED_DOMAINS,
    guess_metric,
    load_shipped_domains,
    state_map,
)
from connectors.discover.plan import plan_records
from connectors.discover.probe import Answer, DiscoveryError, Probe


@pytest.fixture(autouse=True)
def shipped() -> Iterator[None]:
    before = set(registry.domain_names())
    load_shipped_domains()
    yield
    for name in SHIPPED_DOMAINS:
        if name not in before:
            unregister(name)


@pytest.mark.parametrize(
    ("name", "unit", "metric"),
    [
        ("no2", "ug/m3", "no2"),
        ("NO2 concentration", "ppb", "no2"),
        ("Stickstoffdioxid", "µg/m³", "no2"),
        ("PM2.5", "", "pm25"),
        ("pm10", "", "pm10"),
        ("airTemperature", "CEL", "air_temperature"),
        ("windSpeed", "km/h", "wind_speed"),
        ("availableSpotNumber", "", "free_spaces"),
        ("realtime_free_capacity", "", "free_spaces"),
        ("occupancy", "%", "occupancy"),
        ("num_bikes_available", "", "hire_bikes"),
        ("freeSlotNumber", "", "free_docks"),
        ("Anzahl Kfz", "", "vehicle_flow"),
        ("intensity", "veh/h", "vehicle_flow"),
        ("averageVehicleSpeed", "km/h", "speed"),
        ("LAeq", "dB(A)", "laeq"),
        ("Fahrradaufkommen", "", "cyclists"),
    ],
)
def test_names_in_the_languages_cities_publish_in(name: str, unit: str, metric: str) -> None:
    guess = guess_metric(name, unit, 1, 50)
    assert guess is not None and guess.metric == metric
    assert guess.unit_stated == bool(unit)


def test_a_unit_that_contradicts_the_name_is_not_proposed() -> None:
    # "temperature" in kelvin-less "%" cannot be a temperature
    assert guess_metric("temperature", "%", 1, 50) is None
    # the unit alone says which metric, when only one takes it
    guess = guess_metric("reading", "dB(A)", 30, 90)
    assert guess is not None and guess.metric == "laeq"


def test_values_outside_the_metric_range_are_not_proposed() -> None:
    assert guess_metric("occupancy", "", 0, 350) is None  # not a percentage
    assert guess_metric("windDirection", "", 0, 359) is None  # an angle, not a speed
    assert guess_metric("occupancy", "", 0, 100) is not None


def test_counts_named_only_by_their_dataset() -> None:
    assert guess_metric("total", hints="Spokane St. Bridge bike counter") is not None
    guess = guess_metric("total", hints="Spokane St. Bridge bike counter", daily=True)
    assert guess is not None and guess.metric == "cyclists_daily"
    # a field that is not a count does not take the dataset's subject
    assert guess_metric("humidity", "", 0, 100, hints="pedestrian counts") is None


def test_state_texts_become_a_map_only_when_every_state_is_known() -> None:
    assert state_map(["Present", "Unoccupied", "Present"]) == {"Present": 1.0, "Unoccupied": 0.0}
    assert state_map(["belegt", "frei"]) == {"belegt": 1.0, "frei": 0.0}
    assert state_map(["unbekannt", "frei"]) == {}  # "unknown" is no state
    guess = guess_metric("status_description", texts=["Present", "Unoccupied"])
    assert guess is not None and guess.metric == "bay_occupied"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["2025-09-30T19:00:00+10:00"], "iso"),
        (["2014-01-01T00:00:00.000"], "iso"),
        (["2017/05/22 09:30:04"], "%Y/%m/%d %H:%M:%S"),
        (["13/01/2012", "01/02/2012"], "%d/%m/%Y"),  # a day over 12 shows day first
        (["01/13/2012", "02/01/2012"], "%m/%d/%Y"),
        (["31.12.2024 23:45"], "%d.%m.%Y %H:%M"),
        (["Monday"], None),
    ],
)
def test_time_formats(values: list[str], expected: str | None) -> None:
    assert F.time_format(values) == expected


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ({"lat": -37.8, "lon": 144.9}, (-37.8, 144.9)),
        ({"latitude": "47.57", "longitude": "-122.34"}, (47.57, -122.34)),
        ({"type": "Point", "coordinates": [9.9, 53.4]}, (53.4, 9.9)),  # GeoJSON [lon, lat]
        ("-37.81374643, 144.96276183", (-37.81374643, 144.96276183)),
        ([144.9, -37.8], None),  # a bare pair is ambiguous
        ({"x": 1}, None),
    ],
)
def test_positions_in_every_shape(value: object, where: tuple[float, float] | None) -> None:
    assert F.position_of(value) == where


def test_plan_of_a_counter_log() -> None:
    rows = [
        {
            "Location_ID": site,
            "Sensing_Date": "2025-09-30",
            "HourDay": hour,
            "Direction_1": 3,
            "Direction_2": 4,
            "Total_of_Directions": 7,
            "Location": f"-37.81{site}, 144.96{site}",
        }
        for site in (1, 2)
        for hour in (18, 19)
    ]

    plan = plan_records(rows, hints="pedestrian counts")

    assert (plan.id, plan.time, plan.hour, plan.position) == (
        "Location_ID", "Sensing_Date", "HourDay", "Location",
    )  # fmt: skip
    assert plan.domain == "pedestrians"
    assert [(g.field, g.metric) for g in plan.guesses] == [("Total_of_Directions", "pedestrians")]
    assert plan.sites == 2 and plan.naive
    assert any("no unit stated" in c for c in plan.all_checks)


def test_epoch_times_are_read_by_name_and_size() -> None:
    rows = [{"updated": 1_700_000_000_000, "free": 3}, {"updated": 1_700_000_060_000, "free": 4}]
    [updated, _] = F.profile(rows)
    assert (updated.kind, updated.unit) == ("time", "epoch_ms")


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "value",
                    "data",
                    "results",
                    "records",
                    "result",
                    "success",
                    "id",
                    "type",
                    "name",
                    "url",
                    "@iot.id",
                    "features",
                    "ttl",
                    "feeds",
                    "nhits",
                    "typeList",
                    "location",
                    "lat",
                    "lon",
                    "time",
                ]
            ),
            inner,
            max_size=5,
        )
    ),
    max_leaves=25,
)


class Offline(Probe):
    """A probe whose every further request is answered 404 (nothing leaves the test)."""

    def get(self, url: str, params: Any = None, headers: Any = None) -> Answer:
        return Answer(url, 404, "", b"", None, {})


PATHS = [
    "/",
    "/v1.1",
    "/v2/entities",
    "/resource/abcd-1234.json",
    "/api/3/action/datastore_search",
    "/x/FeatureServer/0",
    "/api/explore/v2.1/catalog/datasets/d/records",
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=JSON, path=st.sampled_from(PATHS))
def test_any_answer_gives_a_discovery_or_a_discovery_error(payload: Any, path: str) -> None:
    probe = Offline("http://127.0.0.1:9")
    body = json.dumps(payload).encode()
    answer = Answer(f"http://127.0.0.1:9{path}", 200, "application/json", body, payload, {})
    try:
        found = _recognise(answer, probe)
    except DiscoveryError:
        return
    finally:
        probe.close()
    assert probe.broken == []  # every platform reads any answer without breaking
    if found is not None:
        draft = draft_toml(found)
        tomllib.loads(draft)  # always valid TOML


def test_the_city_zone_is_the_nearest_principal_place() -> None:
    from connectors.discover.zones import nearest_zone

    melbourne = nearest_zone(-37.8136, 144.9631)
    assert melbourne is not None and melbourne[0] == "Australia/Melbourne" and melbourne[1] < 5
    madrid = nearest_zone(40.4168, -3.7038)
    assert madrid is not None and madrid[0] == "Europe/Madrid"


@pytest.mark.parametrize(
    ("names", "chosen"),
    [
        (["status_timestamp", "lastupdated"], "lastupdated"),  # a state, as last confirmed
        (["dateModified", "dateObserved"], "dateObserved"),  # measured, not edited
        (["record_timestamp", "Sensing_Date"], "Sensing_Date"),
        (["created_at", "timestamp"], "timestamp"),
    ],
)
def test_the_time_of_a_value_among_several_times(names: list[str], chosen: str) -> None:
    rows = [dict.fromkeys(names, "2025-08-05T05:19:39+00:00")]
    time = F.time_field(F.profile(rows))
    assert time is not None and time.name == chosen
