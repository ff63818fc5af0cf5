"""Exports carry their licence, attribution and times, mask small counts of people, and
read only what the viewer's role may see (the export routes over HTTP are tested in
``tests/layouts/routes/test_downloads.py``)."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pandas as pd
import pytest

from cockpit.config import CityConfig, default_config_path, load_config
from cockpit.present.export import (
    CSV_COLUMNS,
    QueryError,
    csv_text,
    geojson,
    kpi_table,
    observation_table,
    parse_hours,
    parse_time,
    time_range,
)
from tests.browser import T0, AppServers
from tests.cockpit.test_privacy import plant_count
from wiring.runtime import Runtime

TZ = "Australia/Melbourne"


def parking_internal_config() -> CityConfig:
    """The demo city with parking internal: public exports must not carry it."""
    config = load_config(default_config_path())
    config.sources["parking"].access = "internal"
    config.layers["parking"].access = "internal"
    return config


@pytest.fixture(scope="module")
def runtime(app_server: AppServers) -> Runtime:
    return app_server.city(config=parking_internal_config())


@pytest.fixture(scope="module")
def small_site(runtime: Runtime) -> str:
    return plant_count(runtime, 3)


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_masks_small_counts_and_names_licence(runtime: Runtime, small_site: str) -> None:
    view = runtime.city.view("public")
    latest = view.latest[view.latest["site_id"] == small_site]
    rows = _rows(csv_text(observation_table(view, latest)))
    assert [r["value"] for r in rows] == ["< 5"]
    row = rows[0]
    assert tuple(row) == CSV_COLUMNS
    assert row["licence"] == "CC BY 4.0"
    assert row["publisher"] == "City of Melbourne"
    assert row["origin"] == "May 2025, replayed"
    assert row["attribution"] == view.sources["pedestrians"].credit()
    assert pd.Timestamp(row["fetched"]) == T0
    assert pd.Timestamp(row["time"]) <= T0


def test_geojson_has_top_level_licence_and_per_feature_source(
    runtime: Runtime, small_site: str
) -> None:
    view = runtime.city.view("public")
    table = observation_table(view, view.latest[view.latest["site_id"].str.startswith("ped")])
    doc = geojson(table, [view.sources["pedestrians"]], runtime.config, "Pedestrians")
    assert "CC BY 4.0" in doc["license"] and "creativecommons.org" in doc["license"]
    assert doc["attribution"] == view.sources["pedestrians"].credit()
    assert doc["sources"][0]["fetched"] == T0.isoformat()
    feature = next(f for f in doc["features"] if f["id"] == small_site)
    assert feature["properties"]["source"] == "pedestrians"
    assert feature["properties"]["licence"] == "CC BY 4.0"
    assert feature["properties"]["observations"][0]["display"] == "< 5"
    assert feature["properties"]["observations"][0]["value"] is None
    assert 3.0 not in [o["value"] for o in feature["properties"]["observations"]]
    assert json.loads(json.dumps(doc)) == doc  # plain JSON: no NaN


def test_kpi_table_holds_what_the_kpi_read(runtime: Runtime) -> None:
    view = runtime.city.view("public")
    traffic = kpi_table(view, runtime.config, "traffic")
    kpi = next(k for k in view.kpis if k.key == "traffic")
    assert set(traffic["metric"]) == {"vehicle_flow"}
    assert traffic["value"].mean() == pytest.approx(kpi.value)  # per intersection
    air = kpi_table(view, runtime.config, "air")
    assert set(air["metric"]) <= {"pm25", "pm10", "no2", "o3"}
    assert kpi_table(view, runtime.config, "parking").empty  # internal: not for public
    staff = runtime.city.view("staff")
    assert not kpi_table(staff, runtime.config, "parking").empty


def test_query_parameters_are_checked() -> None:
    now = T0.to_pydatetime()
    window = time_range("2026-11-24T08:00", None, now, TZ, 24, 7)
    assert window.start == pd.Timestamp("2026-11-24 08:00", tz=TZ)
    assert window.end == now
    assert time_range(None, None, now, TZ, 24, 7).start == now - timedelta(hours=24)
    for start, end, parameter in [
        ("yesterday", None, "from"),
        (None, "2026-13-01", "to"),
        ("2026-11-24T10:00Z", "2026-11-24T09:00Z", "from"),
        ("2026-10-01T00:00Z", "2026-11-24T00:00Z", "to"),
        ("0001-01-01T00:00Z", None, "from"),
    ]:
        with pytest.raises(QueryError) as info:
            time_range(start, end, now, TZ, 24, 7)
        assert info.value.parameter == parameter
    assert parse_time("2026-11-24T00:00:00+11:00", "from", TZ) == pd.Timestamp("2026-11-23T13:00Z")
    assert parse_hours("6", 24, 744) == 6
    for bad in ("0", "-1", "x", "1000"):
        with pytest.raises(QueryError):
            parse_hours(bad, 24, 744)
