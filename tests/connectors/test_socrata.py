"""Socrata connector against SODA answers served over real HTTP on 127.0.0.1.

Answers are real rows of data.seattle.gov (tests/fixtures/socrata/, see its
PROVENANCE.md): the Spokane St. Bridge bicycle counter (hourly, January 2014, counts as
texts, floating timestamps) and a page of the police's 911 incident responses (a
``location`` column beside latitude/longitude columns); and a second server, Socrata's
demo portal soda.demo.socrata.com (its sample row of every datatype).
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
from werkzeug import Request, Response

from cockpit.config import SourceConfig
from cockpit.domains import register, unregister
from cockpit.domains.cycling import DOMAIN
from cockpit.errors import ConfigError, ConnectorError, ParseError, TooManyPages
from cockpit.model import OBSERVATION_COLUMNS, SITE_COLUMNS, validate_observations
from cockpit.source import SourceContext, build_connector
from connectors.records import map_records
from connectors.socrata import SocrataConnector, SocrataOptions, parse_rows, position_of
from tests.connectors.counters import SPOKANE_BRIDGE
from tests.connectors.faults import TEST_OPTIONS, TRANSPORT_FAULTS, closed_port_url, serve_fault

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "socrata"
COUNTER_FILE = "seattle_spokane-st-bridge-bike-counter_v6y4-2gyc_2014-01.json"
INCIDENTS_FILE = "seattle_spd-911-incident-response_3k2p-39jp_page-offset1_trimmed.json"
RESOURCE = "/resource/v6y4-2gyc.json"
SEATTLE = (-122.46, 47.48, -122.22, 47.74)
COUNTER: dict[str, Any] = {
    "dataset": "v6y4-2gyc",
    **SPOKANE_BRIDGE,
    "kind": "counter",
    "site_name": "Spokane St. Bridge",
}


@pytest.fixture(autouse=True)
def cycling() -> Iterator[None]:
    register(DOMAIN)
    yield
    unregister(DOMAIN.name)


def rows(name: str = COUNTER_FILE) -> list[dict[str, Any]]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def serve_soda(server: HTTPServer, path: str, answer: list[dict[str, Any]]) -> None:
    """Answer ``path`` as a SODA server: ordered by ``$order``, cut by ``$offset`` and
    ``$limit`` (the ``$where`` is checked by the tests, the rows are cut exactly later)."""

    def handler(request: Request) -> Response:
        order = request.args.get("$order", ":id").split(",")[0].split()
        page = list(answer)
        if order[0] != ":id":
            page.sort(key=lambda r: str(r.get(order[0], "")), reverse=order[-1] == "DESC")
        offset = int(request.args.get("$offset", "0"))
        limit = int(request.args.get("$limit", "1000"))
        body = json.dumps(page[offset : offset + limit])
        return Response(body, content_type="application/json;charset=utf-8")

    server.expect_request(path).respond_with_handler(handler)


def make(
    url: str,
    options: dict[str, Any] | None = None,
    credentials: dict[str, str] | None = None,
    environ: dict[str, str] | None = None,
) -> SocrataConnector:
    config = SourceConfig(
        connector="socrata",
        name="Seattle bicycle counters",
        publisher="City of Seattle",
        licence="open data",
        url=url,
        credentials=credentials or {},
        options={**TEST_OPTIONS, "max_bytes": 1_000_000, **COUNTER, **(options or {})},
    )
    context = SourceContext(
        "sea", config, bbox=SEATTLE, timezone="America/Los_Angeles", environ=environ or {}
    )
    connector = build_connector(context)
    assert isinstance(connector, SocrataConnector)
    return connector


def test_latest_hour_of_the_counter_in_utc(httpserver: HTTPServer) -> None:
    serve_soda(httpserver, RESOURCE, rows())
    snap = make(httpserver.url_for("/")).snapshot()
    assert list(snap.sites["id"]) == ["sea:spokane-st-bridge"]
    assert (snap.sites["lat"].iloc[0], snap.sites["lon"].iloc[0]) == (47.5714, -122.3487)
    obs = snap.observations
    assert len(obs) == 1
    # The newest row: 2014-01-31T23:00:00.000, a floating Seattle time (PST, UTC-8).
    assert obs["time"].iloc[0] == pd.Timestamp("2014-02-01T07:00:00Z")
    newest_row = max(rows(), key=lambda r: r["date"])
    assert obs["value"].iloc[0] == float(newest_row["spokane_st_bridge_total"])
    request = httpserver.log[0][0]
    assert request.args["$order"] == "date DESC,:id"
    assert request.args["$limit"] == "1000" and request.args["$offset"] == "0"


def test_two_directions_add_up_to_the_total() -> None:
    options = SocrataOptions.model_validate(
        {
            **COUNTER,
            "values": {"cyclists": {"field": "both"}},
            "mapping": {"fields": {"both": {"expr": "east + west", "unit": "cyclists/h"}}},
        }
    )
    both = map_records(rows(), options, "sea", "America/Los_Angeles").observations
    total = map_records(
        rows(), SocrataOptions.model_validate(COUNTER), "sea", "America/Los_Angeles"
    ).observations
    assert len(both) == len(total) == 744
    assert (both["value"].to_numpy() == total["value"].to_numpy()).all()


def test_read_window_pages_with_a_local_where(httpserver: HTTPServer) -> None:
    serve_soda(httpserver, RESOURCE, rows())
    connector = make(httpserver.url_for("/"), {"page_size": 300})
    sites = connector.discover_sites()
    start = datetime(2014, 1, 10, 8, tzinfo=UTC)  # 00:00 in Seattle
    end = datetime(2014, 1, 11, 8, tzinfo=UTC)
    window = connector.read_window(sites, start, end)
    assert len(window) == 24
    assert window["time"].min() == pd.Timestamp(start)
    paged = [r for r, _ in httpserver.log[1:]]
    assert [r.args["$offset"] for r in paged] == ["0", "300", "600"]
    assert (
        paged[0].args["$where"] == "date >= '2014-01-10T00:00:00' AND date < '2014-01-11T00:00:00'"
    )
    assert paged[0].args["$order"] == "date,:id"


def test_app_token_is_a_header_and_never_shown(httpserver: HTTPServer) -> None:
    serve_soda(httpserver, RESOURCE, rows())
    connector = make(
        httpserver.url_for("/"),
        credentials={"app_token": "SEATTLE_APP_TOKEN"},
        environ={"SEATTLE_APP_TOKEN": "s3cr3t-t0ken"},
    )
    connector.snapshot()
    request = httpserver.log[0][0]
    assert request.headers["X-App-Token"] == "s3cr3t-t0ken"
    assert "s3cr3t" not in request.url
    httpserver.clear()
    httpserver.expect_request(RESOURCE).respond_with_data("no", status=500)
    with pytest.raises(ConnectorError) as caught:
        connector.snapshot()
    assert "s3cr3t" not in str(caught.value)


def test_without_token_no_header(httpserver: HTTPServer) -> None:
    serve_soda(httpserver, RESOURCE, rows())
    make(httpserver.url_for("/")).snapshot()
    assert "X-App-Token" not in httpserver.log[0][0].headers


def test_location_column_matches_the_latitude_longitude_columns() -> None:
    incidents = rows(INCIDENTS_FILE)
    assert len(incidents) == 200
    for row in incidents:
        lat, lon = position_of(row["incident_location"]) or (None, None)
        assert lat == pytest.approx(float(row["latitude"]))
        assert lon == pytest.approx(float(row["longitude"]))
    assert position_of({"type": "Point", "coordinates": [-122.3, 47.6]}) == (47.6, -122.3)


def test_error_object_is_a_parse_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request(RESOURCE).respond_with_json(
        {"code": "query.compiler.malformed", "error": True, "message": "Could not parse SoQL"}
    )
    with pytest.raises(ParseError, match="Could not parse SoQL"):
        make(httpserver.url_for("/")).snapshot()


def test_full_pages_forever_raise_too_many_pages(httpserver: HTTPServer) -> None:
    full = rows()[:10]
    httpserver.expect_request(RESOURCE).respond_with_json(full)
    connector = make(httpserver.url_for("/"), {"page_size": 10})
    with pytest.raises(TooManyPages):
        connector.read_window(
            connector.discover_sites(),
            datetime(2014, 1, 1, tzinfo=UTC),
            datetime(2014, 2, 1, tzinfo=UTC),
        )


@pytest.mark.parametrize("kind", sorted(TRANSPORT_FAULTS))
def test_transport_faults_raise_typed_errors(httpserver: HTTPServer, kind: str) -> None:
    serve_fault(httpserver, RESOURCE, kind, (FIXTURES / COUNTER_FILE).read_bytes()[:4000])
    connector = make(httpserver.url_for("/"), {"max_bytes": 64 * 1024})
    with pytest.raises(TRANSPORT_FAULTS[kind]):
        connector.snapshot()


def test_connection_refused_is_a_connector_error() -> None:
    with pytest.raises(ConnectorError):
        make(closed_port_url()).snapshot()


def test_wrong_options_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="dataset"):
        make("http://127.0.0.1", {"dataset": "not an id"})
    with pytest.raises(ConfigError, match="site_id"):
        make("http://127.0.0.1", {"site_id": ""})
    with pytest.raises(ConfigError, match="location"):
        make("http://127.0.0.1", {"location": [-122.3, 47.6, 1]})


# --------------------------------------------------------------------------- fuzz

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
SCALAR = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=24)
ROW = st.fixed_dictionaries(
    {}, optional={"date": SCALAR, "spokane_st_bridge_total": SCALAR, "east": SCALAR}
)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=st.lists(ROW | JSON, max_size=6) | JSON)
def test_any_json_gives_frames_or_typed_errors(payload: Any) -> None:
    try:
        page = parse_rows(payload, "sea")
    except ConnectorError:
        return
    options = SocrataOptions.model_validate(COUNTER)  # the domain is registered per test
    mapped = map_records(page, options, "sea", "America/Los_Angeles")
    assert list(mapped.sites.columns) == list(SITE_COLUMNS)
    assert list(mapped.observations.columns) == list(OBSERVATION_COLUMNS)
    good, bad = validate_observations(mapped.observations)
    assert len(good) + len(bad) == len(mapped.observations)
    for row in page:
        if isinstance(row, dict):
            position_of(row.get("date"))


def test_mapping_places_one_counter_by_constants_and_adds_its_directions(
    httpserver: HTTPServer,
) -> None:
    serve_soda(httpserver, RESOURCE, rows())
    options = {
        "location": None,
        "lat": "lat",
        "lon": "lon",
        "values": {"cyclists": {"field": "both"}},
        "mapping": {
            "fields": {
                "lat": {"const": 47.5714},  # one counter: its place is a constant
                "lon": {"const": -122.3487},
                "both": {"expr": "coalesce(east, 0) + coalesce(west, 0)", "unit": "cyclists/h"},
            }
        },
    }
    snap = make(httpserver.url_for("/"), options).snapshot()
    site = snap.sites.iloc[0]
    assert (site["lat"], site["lon"]) == (47.5714, -122.3487)
    newest_row = max(rows(), key=lambda r: r["date"])
    expected = float(newest_row["east"]) + float(newest_row["west"])
    assert snap.observations["value"].iloc[0] == expected
    # The time is a served field: the server still orders and pages by it.
    assert httpserver.log[0][0].args["$order"] == "date DESC,:id"


def test_a_mapped_time_is_read_whole_and_filtered_here(httpserver: HTTPServer) -> None:
    serve_soda(httpserver, RESOURCE, rows())
    options = {
        "time": "seen",
        "page_size": 500,
        "mapping": {"fields": {"seen": {"path": "date", "time": "%Y-%m-%dT%H:%M:%S.000"}}},
    }
    snap = make(httpserver.url_for("/"), options).snapshot()
    assert snap.observations["time"].iloc[0] == pd.Timestamp("2014-02-01T07:00:00Z")
    asked = [entry[0].args for entry in httpserver.log]
    assert len(asked) == 2 and all(a["$order"] == ":id" for a in asked)  # every page
    assert all("$where" not in a for a in asked)


# -- a second server: Socrata's own demo portal (soda.demo.socrata.com) ------------------

DEMO_FILE = "soda-demo_all-datatypes_2asz-g9qq.json"
DEMO_RESOURCE = "/resource/2asz-g9qq.json"
DEMO: dict[str, Any] = {
    "dataset": "2asz-g9qq",
    "domain": "cycling",
    "kind": "counter",
    "id": "plain_text_column",
    "name": "plain_text_column",
    "position": "location_column",
    "time": "date_time_with_timezone_column",
    "floating": False,
    "values": {"cyclists": {"field": "number_column", "unit": "cyclists/h"}},
    # Not the Seattle counter's: one place per row, from the row itself.
    "site_id": "",
    "site_name": "",
    "lat": "",
    "lon": "",
    "location": None,
}


def test_demo_portal_row_of_every_datatype_reads_place_value_and_zoned_time(
    httpserver: HTTPServer,
) -> None:
    """The portal's "every datatype" sample: a legacy ``location`` column whose
    human_address is JSON inside a string, a number as text, a fixed timestamp (UTC) beside
    a floating one, and columns the cockpit does not read (url, photo, document)."""
    serve_soda(httpserver, DEMO_RESOURCE, rows(DEMO_FILE))
    snap = make(httpserver.url_for("/"), DEMO).snapshot()
    site = snap.sites.iloc[0]
    assert site["id"] == "sea:Sample Text"
    # Latitude first in the column; not swapped on the way to the map.
    assert (site["lat"], site["lon"]) == (47.5982815480005, -122.33477954499972)
    obs = snap.observations.iloc[0]
    assert (obs["metric"], obs["value"], obs["unit"]) == ("cyclists", 42.0, "cyclists/h")
    assert obs["time"] == pd.Timestamp("2014-10-14T07:00:00Z")  # fixed: its own zone


def test_demo_portal_floating_time_is_the_citys_local_time(httpserver: HTTPServer) -> None:
    serve_soda(httpserver, DEMO_RESOURCE, rows(DEMO_FILE))
    options = {**DEMO, "time": "date_time_column", "floating": True}
    snap = make(httpserver.url_for("/"), options).snapshot()
    # 2014-10-13T00:00 in Seattle (PDT, UTC-7).
    assert snap.observations["time"].iloc[0] == pd.Timestamp("2014-10-13T07:00:00Z")
