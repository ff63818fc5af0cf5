"""CSV/JSON-over-HTTP connector against real city files served on 127.0.0.1.

Files are from tests/fixtures/csv/ (see its PROVENANCE.md): Ottawa's bike counters
(wide, daily, a second header row of descriptions), Edinburgh's counter 15 (long,
hourly, dd/mm/yyyy dates and an hour column, two directions), Melbourne's pedestrian
counts (wide, hourly) with the sensor-locations file (semicolons) as its site table. The
JSON layout reads data.seattle.gov's bike-counter rows (tests/fixtures/socrata/).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer

from cockpit.config import SourceConfig
from cockpit.domains import register, unregister
from cockpit.domains.cycling import DOMAIN
from cockpit.errors import ConfigError, ConnectorError, ParseError
from cockpit.model import OBSERVATION_COLUMNS, SITE_COLUMNS, validate_observations
from cockpit.source import SourceContext, build_connector
from connectors.records import map_records
from connectors.table import TableConnector, TableOptions, parse_table, wide_to_long
from tests.connectors.counters import EDINBURGH_HOURLY, SPOKANE_BRIDGE
from tests.connectors.faults import TEST_OPTIONS, TRANSPORT_FAULTS, closed_port_url, serve_fault

ROOT = Path(__file__).resolve().parents[1] / "fixtures"
CSV = ROOT / "csv"
OTTAWA_FILE = "ottawa_bike-counters_daily-wide.csv"
EDINBURGH_FILE = "edinburgh_bike-counter-15-middle-meadow-walk_hourly-long_2012.csv"
MELBOURNE_FILE = "pedestrian-counts-hourly-wide_May_2025.csv"
LOCATIONS_FILE = "pedestrian-counting-system-sensor-locations.csv"
SEATTLE_FILE = ROOT / "socrata" / "seattle_spokane-st-bridge-bike-counter_v6y4-2gyc_2014-01.json"

OTTAWA: dict[str, Any] = {
    "layout": "wide",
    "domain": "cycling",
    "kind": "counter",
    "time": "Date",
    "metric": "cyclists_daily",
    "unit": "cyclists/day",
    "names_row": "Title",
    "skip_columns": ["ADAWE PED"],
    # Stated by the data officer from the counters' descriptions.
    "site_locations": {
        "5_LMET": {"lat": 45.4199, "lon": -75.6915},
        "ADAWE BIKE": {"lat": 45.4300, "lon": -75.6760, "name": "Adawe Crossing"},
    },
}
EDINBURGH: dict[str, Any] = {
    **EDINBURGH_HOURLY,
    "kind": "counter",
    "site_locations": {"15": {"lat": 55.9419, "lon": -3.1893, "name": "Middle Meadow Walk"}},
}
MELBOURNE: dict[str, Any] = {
    "layout": "wide",
    "domain": "pedestrians",
    "kind": "counter",
    "time": "Date",
    "time_format": "%d/%m/%Y",
    "hour": "Hour",
    "metric": "pedestrians",
    "unit": "persons/h",
}


@pytest.fixture(autouse=True)
def cycling() -> Iterator[None]:
    register(DOMAIN)
    yield
    unregister(DOMAIN.name)


def serve_file(server: HTTPServer, path: str, file: Path, ctype: str = "text/csv") -> str:
    server.expect_request(path).respond_with_data(file.read_bytes(), content_type=ctype)
    return server.url_for(path)


def make(
    url: str,
    options: dict[str, Any],
    bbox: tuple[float, float, float, float] | None = None,
    timezone: str = "UTC",
) -> TableConnector:
    config = SourceConfig(
        connector="table",
        name="Counters",
        publisher="City",
        licence="open data",
        url=url,
        options={**TEST_OPTIONS, "max_bytes": 1_000_000, **options},
    )
    connector = build_connector(SourceContext("c", config, bbox=bbox, timezone=timezone))
    assert isinstance(connector, TableConnector)
    return connector


def test_ottawa_wide_daily_with_a_names_row(httpserver: HTTPServer) -> None:
    url = serve_file(httpserver, "/OttcityCounters.csv", CSV / OTTAWA_FILE)
    snap = make(url, OTTAWA, (-76.0, 45.2, -75.4, 45.6), "America/Toronto").snapshot()
    # 12 bike columns; only the two with a stated position are kept.
    assert sorted(snap.sites["id"]) == ["c:5_LMET", "c:ADAWE BIKE"]
    names = snap.sites.set_index("id")["name"]
    assert names["c:5_LMET"] == "Laurier Segregated Bike lane just west of Metcalfe"
    assert names["c:ADAWE BIKE"] == "Adawe Crossing"  # the config's name wins
    assert "rejected 10 site(s): coordinates missing or not WGS84" in snap.notes
    obs = snap.observations.set_index("site_id")
    # 2017-12-31,…,12,34,… : the last day, at local midnight (EST, UTC-5).
    assert obs.loc["c:5_LMET", "value"] == 34
    assert obs.loc["c:5_LMET", "time"] == pd.Timestamp("2017-12-31T05:00:00Z")
    assert obs.loc["c:ADAWE BIKE", "value"] == 24
    assert set(snap.observations["unit"]) == {"cyclists/day"}


def test_edinburgh_long_hourly_two_directions(httpserver: HTTPServer) -> None:
    url = serve_file(httpserver, "/15middlemeadowwalk.csv", CSV / EDINBURGH_FILE)
    connector = make(url, EDINBURGH, (-3.4, 55.85, -3.0, 56.0), "Europe/London")
    snap = connector.snapshot()
    assert list(snap.sites["id"]) == ["c:15"]
    assert snap.sites["name"].iloc[0] == "Middle Meadow Walk"
    latest = snap.observations.iloc[0]
    # 15,31/12/2012,23,2,8 : 23:00 GMT, both directions added.
    assert (latest["time"], latest["value"]) == (pd.Timestamp("2012-12-31T23:00:00Z"), 10)
    # Summer hours are local (BST): 01/07/2012 hour 12 is 11:00 UTC.
    july = connector.read_window(
        snap.sites, datetime(2012, 7, 1, 11, tzinfo=UTC), datetime(2012, 7, 1, 12, tzinfo=UTC)
    )
    assert len(july) == 1
    # 01:00 of 25 March does not exist in Edinburgh (clocks go forward) and 01:00 of
    # 28 October happens twice: both hours are refused, never guessed.
    assert connector.rejected == {"no usable time in date": 2}


def test_melbourne_wide_hourly_with_a_sites_file(httpserver: HTTPServer) -> None:
    url = serve_file(httpserver, "/May_2025.csv", CSV / MELBOURNE_FILE)
    sites_url = serve_file(httpserver, "/locations.csv", CSV / LOCATIONS_FILE)
    options = {
        **MELBOURNE,
        "sites": {
            "url": sites_url,
            "id": "sensor_description",
            "lat": "latitude",
            "lon": "longitude",
        },
    }
    connector = make(url, options, (144.88, -37.87, 145.02, -37.76), "Australia/Melbourne")
    snap = connector.snapshot()
    # 106 sensor columns, 60 of them described in the locations file.
    assert len(snap.sites) == 60
    assert "rejected 46 site(s): coordinates missing or not WGS84" in snap.notes
    central = snap.sites.set_index("id").loc["c:Melbourne Central"]
    assert (central["lat"], central["lon"]) == (-37.81101524, 144.96429485)
    obs = snap.observations.set_index("site_id")
    # 31/05/2025 hour 23 (AEST, UTC+10): 1074 people.
    assert obs.loc["c:Melbourne Central", "value"] == 1074
    assert obs.loc["c:Melbourne Central", "time"] == pd.Timestamp("2025-05-31T13:00:00Z")
    # 'na' and 'undefined' cells are rows refused with their reason, never zeros.
    assert connector.rejected["no number in __value__"] == 2976 + 1488


def test_json_file_in_long_layout(httpserver: HTTPServer) -> None:
    url = serve_file(httpserver, "/spokane.json", SEATTLE_FILE, "text/plain")
    options = {"format": "json", **SPOKANE_BRIDGE}
    snap = make(url, options, timezone="America/Los_Angeles").snapshot()
    assert snap.observations["time"].iloc[0] == pd.Timestamp("2014-02-01T07:00:00Z")


def test_json_records_under_a_path() -> None:
    body = json.dumps({"data": {"rows": [{"a": 1}]}}).encode()
    assert parse_table(body, "json", "c", records="data.rows") == [{"a": 1}]
    with pytest.raises(ParseError, match=r"no 'data\.items'"):
        parse_table(body, "json", "c", records="data.items")


def test_a_file_of_another_shape_is_a_parse_error_naming_the_columns(
    httpserver: HTTPServer,
) -> None:
    url = serve_file(httpserver, "/15.csv", CSV / EDINBURGH_FILE)
    with pytest.raises(ParseError, match=r"no column\(s\) \['Date'\]"):
        make(url, OTTAWA).snapshot()


# Static hosts serve files as text/plain; a CSV has no JSON to truncate.
FILE_FAULTS = {
    k: v for k, v in TRANSPORT_FAULTS.items() if k not in ("wrong-content-type", "truncated-json")
}


@pytest.mark.parametrize("kind", sorted(FILE_FAULTS))
def test_transport_faults_raise_typed_errors(httpserver: HTTPServer, kind: str) -> None:
    serve_fault(httpserver, "/c.csv", kind, (CSV / EDINBURGH_FILE).read_bytes()[:2000])
    with pytest.raises(FILE_FAULTS[kind]):
        make(httpserver.url_for("/c.csv"), {**EDINBURGH, "max_bytes": 64 * 1024}).snapshot()


@pytest.mark.parametrize("kind", ["truncated-json", "html-200"])
def test_broken_json_files_are_parse_errors(httpserver: HTTPServer, kind: str) -> None:
    serve_fault(httpserver, "/c.json", kind, SEATTLE_FILE.read_bytes()[:3000] + b"]")
    options = {**EDINBURGH, "format": "json"}
    with pytest.raises(ParseError):
        make(httpserver.url_for("/c.json"), options).snapshot()


def test_text_plain_csv_is_read(httpserver: HTTPServer) -> None:
    serve_fault(httpserver, "/c.csv", "wrong-content-type", (CSV / EDINBURGH_FILE).read_bytes())
    snap = make(httpserver.url_for("/c.csv"), EDINBURGH).snapshot()
    assert len(snap.observations) == 1


def test_connection_refused_is_a_connector_error() -> None:
    with pytest.raises(ConnectorError):
        make(closed_port_url() + "/c.csv", EDINBURGH).snapshot()


def test_wrong_options_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="metric"):
        make("http://127.0.0.1/c.csv", {**OTTAWA, "metric": "bikes"})
    with pytest.raises(ConfigError, match="no values, id or site_id"):
        make("http://127.0.0.1/c.csv", {**OTTAWA, "id": "Date"})
    with pytest.raises(ConfigError, match="either id"):
        make("http://127.0.0.1/c.csv", {**EDINBURGH, "id": ""})
    with pytest.raises(ConfigError, match="lat"):
        make(
            "http://127.0.0.1/c.csv", {**EDINBURGH, "site_locations": {"15": {"lat": 95, "lon": 0}}}
        )


# --------------------------------------------------------------------------- fuzz

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=JSON, text=st.binary(max_size=300), wide=st.booleans())
def test_any_file_gives_frames_or_typed_errors(payload: Any, text: bytes, wide: bool) -> None:
    options = TableOptions.model_validate(OTTAWA if wide else EDINBURGH)
    for body, fmt in ((json.dumps(payload).encode(), "json"), (text, "csv")):
        try:
            rows = parse_table(body, fmt, "c")
        except ConnectorError:
            continue
        records = wide_to_long(rows, options) if wide else rows
        mapped = map_records(records, options.record_options(), "c", "Europe/London")
        assert list(mapped.sites.columns) == list(SITE_COLUMNS)
        assert list(mapped.observations.columns) == list(OBSERVATION_COLUMNS)
        good, bad = validate_observations(mapped.observations)
        assert len(good) + len(bad) == len(mapped.observations)


# ------------------------------------------------------------------- mapping language

PARIS_FILE = "paris_comptages-routiers-permanents_washington_trimmed.csv"
PARIS: dict[str, Any] = {
    "domain": "traffic",
    "kind": "loop",
    "id": "Identifiant arc",
    "name": "Libelle",
    "time": "Date et heure de comptage",
    "lat": "lat",
    "lon": "lon",
    "values": {"vehicle_flow": {"field": "flow"}},
    "attributes": ["state"],
    "mapping": {
        "fields": {
            "flow": {"path": "Débit horaire", "unit": "veh/h"},  # a rename, with its unit
            # one counting arc: its place as constants (the file's geo_point_2d is text)
            "lat": {"const": 48.87153587897717},
            "lon": {"const": 2.3017227924560615},
            # a value map: the served traffic state as a level
            "state": {
                "path": "Etat trafic",
                "map": {"Fluide": 0, "Pré-saturé": 1, "Saturé": 2, "Bloqué": 3},
            },
        }
    },
}


def test_paris_loops_renamed_placed_by_constants_and_states_mapped(
    httpserver: HTTPServer,
) -> None:
    url = serve_file(httpserver, "/comptages.csv", CSV / PARIS_FILE)
    connector = make(url, PARIS, (2.2, 48.8, 2.45, 48.92), "Europe/Paris")
    snap = connector.snapshot()
    site = snap.sites.set_index("id").loc["c:4264"]
    assert (site["lat"], site["lon"]) == (48.87153587897717, 2.3017227924560615)
    assert site["name"] == "AV_Champs_Elysees"
    # The site is described by the file's first row: 2024-01-04T22:00+01:00, "Pré-saturé".
    assert site["attributes"]["state"] == 1
    # The newest counted hour: 2024-12-06T00:00:00+01:00,675.0 (not the first row).
    latest = snap.observations.iloc[0]
    assert (latest["time"], latest["value"]) == (pd.Timestamp("2024-12-05T23:00:00Z"), 675)
    # Hours without a count (state "Inconnu") are refused with their reason.
    assert connector.rejected == {"no number in flow": 185}
