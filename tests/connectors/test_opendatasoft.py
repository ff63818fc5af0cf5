"""OpenDataSoft connector against portal answers served over real HTTP on 127.0.0.1.

Answers are real City of Melbourne rows (tests/fixtures/opendatasoft/, see its
PROVENANCE.md): a recorded Records API v1 page of the bay sensors, and Explore API v2.1
pages built from the portal's CSV exports of the pedestrian, sensor-location and bay
datasets.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from cockpit.config import load_config
from cockpit.errors import ConfigError, ConnectorError, FetchError, ParseError, TooManyPages
from cockpit.model import OBSERVATION_COLUMNS, SITE_COLUMNS
from cockpit.source import SourceContext, build_connector
from connectors.opendatasoft import (
    OdsOptions,
    OpenDataSoftConnector,
    SitesDataset,
    ValueMap,
    parse_records,
    parse_sites,
)
from tests.connectors.faults import TEST_OPTIONS, TRANSPORT_FAULTS, closed_port_url, serve_fault
from tests.connectors.sources import source_context
from tests.faultserver import MICROCLIMATE_OPTIONS, PARKING_OPTIONS, PEDESTRIAN_OPTIONS

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "opendatasoft"
BUILT = FIXTURES / "built"
MELBOURNE = (144.88, -37.87, 145.02, -37.76)
MELBOURNE_TZ = "Australia/Melbourne"
V21 = "/api/explore/v2.1/catalog/datasets"
COUNTS = "pedestrian-counting-system-monthly-counts-per-hour"
LOCATIONS = "pedestrian-counting-system-sensor-locations"
BAYS = "on-street-parking-bay-sensors"
MICRO = "microclimate-sensors-data"
MICRO_PAGE = "microclimate-sensors-data_v2.1_records.json"

# The fault server's options for the same answers, plus what these tests read besides.
PEDESTRIANS: dict[str, Any] = {**copy.deepcopy(PEDESTRIAN_OPTIONS), "latest_hours": 72}
PEDESTRIANS["sites"]["attributes"] = ["sensor_name", "installation_date"]
PARKING: dict[str, Any] = {**copy.deepcopy(PARKING_OPTIONS), "attributes": ["zone_number"]}
MICROCLIMATE: dict[str, Any] = copy.deepcopy(MICROCLIMATE_OPTIONS)


def load(name: str) -> Any:
    return json.loads((BUILT / name).read_text(encoding="utf-8"))


def pages(stem: str) -> list[dict[str, Any]]:
    return [
        load(f"{stem}_page{n}.json")
        for n in range(1, 10)
        if (BUILT / f"{stem}_page{n}.json").exists()
    ]


def serve_pages(server: HTTPServer, path: str, answers: list[dict[str, Any]]) -> None:
    """Answer ``path?offset=&limit=`` with the page starting at that offset."""
    by_offset = {}
    offset = 0
    for page in answers:
        by_offset[offset] = page
        offset += len(page["results"])

    def handler(request: Request) -> Response:
        page = by_offset.get(
            int(request.args.get("offset", "0")), {"total_count": offset, "results": []}
        )
        return Response(json.dumps(page), content_type="application/json; charset=utf-8")

    server.expect_request(path).respond_with_handler(handler)


def make(
    server: HTTPServer | None,
    options: dict[str, Any],
    bbox: tuple[float, float, float, float] | None = MELBOURNE,
    credentials: dict[str, str] | None = None,
    environ: dict[str, str] | None = None,
    url: str | None = None,
) -> OpenDataSoftConnector:
    context = source_context(
        "melbourne",
        "opendatasoft",
        url or (server.url_for("/") if server else "http://127.0.0.1:9"),
        ("Melbourne open data", "City of Melbourne", "CC BY 4.0"),
        options,
        credentials,
        environ,
        bbox,
        "Australia/Melbourne",
    )
    return OpenDataSoftConnector(context)


def row(frame: pd.DataFrame, site_id: str) -> dict[str, Any]:
    rows = frame[frame["id"] == site_id]
    assert len(rows) == 1, site_id
    return rows.iloc[0].to_dict()


def value_of(obs: pd.DataFrame, site_id: str, metric: str) -> tuple[pd.Timestamp, float, str]:
    rows = obs[(obs["site_id"] == site_id) & (obs["metric"] == metric)]
    assert len(rows) == 1, f"{site_id} {metric}: {rows}"
    first = rows.iloc[0]
    return first["time"], float(first["value"]), str(first["unit"])


def requests_to(server: HTTPServer, path: str) -> list[Request]:
    return [r for r, _ in server.log if r.path == path]


# --------------------------------------------------------------------------- values


def test_pedestrian_counts_with_sensor_locations(httpserver: HTTPServer) -> None:
    serve_pages(httpserver, f"{V21}/{LOCATIONS}/records", pages("sensor-locations_v2.1"))
    serve_pages(httpserver, f"{V21}/{COUNTS}/records", pages("pedestrian-counts_v2.1"))
    connector = make(httpserver, PEDESTRIANS)

    snap = connector.snapshot()

    assert list(snap.sites.columns) == list(SITE_COLUMNS)
    assert list(snap.observations.columns) == list(OBSERVATION_COLUMNS)
    assert len(snap.sites) == 136 and snap.rejected == 0
    mall = row(snap.sites, "melbourne:2")
    assert (mall["name"], mall["domain"], mall["kind"]) == (
        "Bourke Street Mall (South)",
        "pedestrians",
        "counter",
    )
    assert (mall["lat"], mall["lon"]) == (-37.81380668, 144.96516718)
    assert mall["attributes"] == {"sensor_name": "Bou283_T", "installation_date": "2009-03-30"}
    # 59 people in the hour 23:00-24:00 of 30 September 2025, Melbourne time (UTC+10)
    assert value_of(snap.observations, "melbourne:2", "pedestrians") == (
        pd.Timestamp("2025-09-30T13:00Z"),
        59.0,
        "persons/h",
    )
    assert value_of(snap.observations, "melbourne:62", "pedestrians") == (
        pd.Timestamp("2025-09-30T11:00Z"),
        702.0,
        "persons/h",
    )
    # 95 counters in the three days, three of them not in the locations list
    assert snap.observations["site_id"].nunique() == 92

    sites_requests = requests_to(httpserver, f"{V21}/{LOCATIONS}/records")
    assert [r.args["offset"] for r in sites_requests] == ["0", "100"]
    assert sites_requests[0].args["where"] == "status = 'A'"
    counts = requests_to(httpserver, f"{V21}/{COUNTS}/records")
    assert [r.args["offset"] for r in counts] == ["0", "100", "200"]
    first = counts[0].args
    assert first["limit"] == "100" and first["timezone"] == "UTC"
    assert first["order_by"] == "sensing_date DESC, hourday DESC"
    assert (
        first["select"]
        == "location_id, sensor_name, sensing_date, hourday, location, pedestriancount"
    )
    assert first["where"].startswith("sensing_date >= date'20")


def test_parking_bays_from_records(httpserver: HTTPServer) -> None:
    serve_pages(httpserver, f"{V21}/{BAYS}/records", pages("parking-bay-sensors_v2.1"))
    connector = make(httpserver, {**PARKING, "where": "zone_number = 7250 OR zone_number = 7566"})

    snap = connector.snapshot()

    assert len(snap.sites) == 124 and snap.rejected == 0
    bay = row(snap.sites, "melbourne:65567")
    assert (bay["name"], bay["kind"], bay["domain"]) == ("Bay 65567", "bay", "parking")
    assert (bay["lat"], bay["lon"]) == (-37.813491215768735, 144.95811837961972)
    assert bay["attributes"] == {"zone_number": 7566}
    assert value_of(snap.observations, "melbourne:65567", "bay_occupied") == (
        pd.Timestamp("2025-08-05T05:19:39Z"),
        0.0,
        "1",
    )
    assert value_of(snap.observations, "melbourne:25125", "bay_occupied")[1:] == (1.0, "1")
    counts = snap.observations["value"].value_counts().to_dict()
    assert sum(counts.values()) == 124
    request = requests_to(httpserver, f"{V21}/{BAYS}/records")[0]
    assert request.args["where"] == "zone_number = 7250 OR zone_number = 7566"
    # a current-state dataset: no time filter, only the configured one
    assert "lastupdated" not in request.args["where"]
    # one query feeds both the sites and their values
    assert len(httpserver.log) == 2


def test_records_api_v1_real_melbourne_page(httpserver: HTTPServer) -> None:
    recorded = json.loads(
        (FIXTURES / "melbourne" / "ods_v1_on-street-parking-bay-sensors_records.json").read_text()
    )

    def handler(request: Request) -> Response:
        page = recorded if request.args.get("start", "0") == "0" else {**recorded, "records": []}
        return Response(json.dumps(page), content_type="application/json")

    httpserver.expect_request("/api/records/1.0/search/").respond_with_handler(handler)
    connector = make(httpserver, {**PARKING, "api": "v1", "max_pages": 50})

    snap = connector.snapshot()

    assert len(snap.sites) == 22
    bay = row(snap.sites, "melbourne:9344")
    # v1 geo points are [lat, lon] pairs
    assert (bay["lat"], bay["lon"]) == (-37.80494402936792, 144.95916129121264)
    assert value_of(snap.observations, "melbourne:9344", "bay_occupied") == (
        pd.Timestamp("2024-12-30T00:44:37Z"),
        0.0,
        "1",
    )
    assert value_of(snap.observations, "melbourne:8735", "bay_occupied")[1] == 1.0
    # record 21 has no zone_number: its site just lacks the attribute
    assert row(snap.sites, "melbourne:9351")["attributes"] == {}
    first, second = (r.args for r, _ in httpserver.log)
    assert first.to_dict() == {
        "dataset": BAYS,
        "timezone": "UTC",
        "sort": "lastupdated",
        "start": "0",
        "rows": "100",
    }
    assert second["start"] == "22"


def test_microclimate_particles(httpserver: HTTPServer) -> None:
    serve_pages(httpserver, f"{V21}/{MICRO}/records", [load(MICRO_PAGE)])
    connector = make(httpserver, MICROCLIMATE)

    snap = connector.snapshot()

    site = row(snap.sites, "melbourne:ICTMicroclimate-03")
    assert (site["name"], site["domain"], site["lat"], site["lon"]) == (
        "CH1 rooftop",
        "air",
        -37.8140348,
        144.96728,
    )
    when = pd.Timestamp("2023-05-18T06:09:52Z")
    assert value_of(snap.observations, site["id"], "pm25") == (when, 1.0, "µg/m³")
    assert value_of(snap.observations, site["id"], "pm10") == (when, 3.0, "µg/m³")


def test_units_are_converted_to_canonical() -> None:
    options = copy.deepcopy(MICROCLIMATE)
    options["values"]["pm10"]["unit"] = "mg/m3"
    parsed = parse_records(load(MICRO_PAGE), "m", OdsOptions.model_validate(options))
    assert value_of(parsed.observations, "m:ICTMicroclimate-03", "pm10")[1:] == (3000.0, "µg/m³")


def test_unknown_unit_is_a_config_error() -> None:
    options = copy.deepcopy(MICROCLIMATE)
    options["values"]["pm25"]["unit"] = "grains per cubic foot"
    with pytest.raises(ConfigError, match=r"values\.pm25\.unit: cannot convert"):
        make(None, options)


@pytest.mark.parametrize("shape", ["geo_point_2d", "text", "v1 pair", "geojson", "fields"])
def test_every_position_shape_gives_the_same_site(shape: str) -> None:
    page = load("sensor-locations_v2.1_page1.json")
    record = page["results"][0]  # Melbourne Central, -37.81101524, 144.96429485
    lat, lon = record["latitude"], record["longitude"]
    record["location"] = {
        "geo_point_2d": {"lon": lon, "lat": lat},
        "text": f"{lat}, {lon}",
        "v1 pair": [lat, lon],
        "geojson": {"type": "Point", "coordinates": [lon, lat]},
        "fields": None,
    }[shape]
    fields: dict[str, str] = {"id": "location_id", "name": "sensor_description"}
    fields.update(
        {"lat": "latitude", "lon": "longitude"} if shape == "fields" else {"position": "location"}
    )
    sites_ds = SitesDataset.model_validate({"dataset": LOCATIONS, "fields": fields})

    sites = parse_sites({"total_count": 1, "results": [record]}, "m", sites_ds, "pedestrians")

    site = row(sites, "m:3")
    assert (site["name"], site["lat"], site["lon"]) == ("Melbourne Central", lat, lon)


def test_read_window_filters_on_the_portal_and_exactly(httpserver: HTTPServer) -> None:
    serve_pages(httpserver, f"{V21}/{LOCATIONS}/records", pages("sensor-locations_v2.1"))
    serve_pages(httpserver, f"{V21}/{COUNTS}/records", pages("pedestrian-counts_v2.1"))
    connector = make(httpserver, PEDESTRIANS)
    sites = connector.discover_sites()
    start = datetime(2025, 9, 30, 10, tzinfo=UTC)  # 20:00 local
    end = datetime(2025, 9, 30, 12, tzinfo=UTC)  # 22:00 local

    obs = connector.read_window(sites, start, end)

    assert set(obs["time"]) == {
        pd.Timestamp("2025-09-30T10:00Z"),
        pd.Timestamp("2025-09-30T11:00Z"),
    }
    assert value_of(obs, "melbourne:62", "pedestrians")[1] == 702.0
    where = requests_to(httpserver, f"{V21}/{COUNTS}/records")[0].args["where"]
    assert where == "sensing_date >= date'2025-09-30' AND sensing_date <= date'2025-09-30'"


# --------------------------------------------------------------------------- paging


def test_switches_to_the_export_past_the_records_pages(httpserver: HTTPServer) -> None:
    first_page = load("pedestrian-counts_v2.1_export_first-page.json")
    export = load("pedestrian-counts_v2.1_export.json")
    httpserver.expect_request(f"{V21}/{COUNTS}/records").respond_with_json(first_page)
    httpserver.expect_request(f"{V21}/{COUNTS}/exports/json").respond_with_json(export)
    options = {k: v for k, v in PEDESTRIANS.items() if k != "sites"}
    connector = make(httpserver, {**options, "max_bytes": 1024 * 1024})

    snap = connector.snapshot()

    # 773 rows: more than max_pages (5) pages of 100, so one export instead
    assert first_page["total_count"] == len(export) == 773
    exported = requests_to(httpserver, f"{V21}/{COUNTS}/exports/json")
    assert len(exported) == 1 and len(requests_to(httpserver, f"{V21}/{COUNTS}/records")) == 1
    args = exported[0].args
    assert args["limit"] == "100000" and "offset" not in args
    records_args = requests_to(httpserver, f"{V21}/{COUNTS}/records")[0].args
    for key in ("select", "where", "order_by", "timezone"):
        assert args[key] == records_args[key]
    assert value_of(snap.observations, "melbourne:2", "pedestrians")[1] == 59.0
    # sites come from the counts themselves when no sites dataset is configured
    assert row(snap.sites, "melbourne:2")["name"] == "Bou283_T"


def test_records_window_forces_the_export(httpserver: HTTPServer) -> None:
    page = load("pedestrian-counts_v2.1_page1.json")  # total_count 224
    httpserver.expect_request(f"{V21}/{COUNTS}/records").respond_with_json(page)
    httpserver.expect_request(f"{V21}/{COUNTS}/exports/json").respond_with_json(page["results"])
    options = {k: v for k, v in PEDESTRIANS.items() if k != "sites"}
    connector = make(httpserver, {**options, "records_window": 200})

    connector.discover_sites()

    assert len(requests_to(httpserver, f"{V21}/{COUNTS}/exports/json")) == 1


def test_never_ending_paging_raises_too_many_pages(httpserver: HTTPServer) -> None:
    results = load("parking-bay-sensors_v2.1_page1.json")["results"]

    def growing(request: Request) -> Response:
        # a total that keeps growing as fast as it is read
        offset = int(request.args["offset"])
        page = {"total_count": offset + 150, "results": results}
        return Response(json.dumps(page), content_type="application/json")

    httpserver.expect_request(f"{V21}/{BAYS}/records").respond_with_handler(growing)
    connector = make(httpserver, PARKING)

    with pytest.raises(TooManyPages):
        connector.discover_sites()
    assert len(httpserver.log) == TEST_OPTIONS["max_pages"]


# --------------------------------------------------------------------------- faults


@pytest.mark.parametrize("kind", sorted(TRANSPORT_FAULTS))
def test_transport_faults_raise_typed_errors(httpserver: HTTPServer, kind: str) -> None:
    good = json.dumps(load(MICRO_PAGE)).encode()
    serve_fault(httpserver, f"{V21}/{MICRO}/records", kind, good)
    connector = make(httpserver, MICROCLIMATE)

    with pytest.raises(TRANSPORT_FAULTS[kind]):
        connector.snapshot()


def test_connection_refused_is_a_fetch_error() -> None:
    connector = make(None, MICROCLIMATE, url=closed_port_url())
    with pytest.raises(FetchError):
        connector.snapshot()


def test_drifted_schema_is_a_parse_error(httpserver: HTTPServer) -> None:
    page = load("pedestrian-counts_v2.1_page3.json")
    for record in page["results"]:
        record["total_of_directions"] = record.pop("pedestriancount")
    httpserver.expect_request(f"{V21}/{COUNTS}/records").respond_with_json(page)
    options = {k: v for k, v in PEDESTRIANS.items() if k != "sites"}

    with pytest.raises(ParseError, match=r"no field\(s\) \['pedestriancount'\]"):
        make(httpserver, options).snapshot()


def test_an_unknown_category_is_rejected_with_a_reason(httpserver: HTTPServer) -> None:
    page = load("parking-bay-sensors_v2.1_page2.json")
    page["total_count"] = len(page["results"])
    page["results"][0]["status_description"] = "Sensor fault"
    httpserver.expect_request(f"{V21}/{BAYS}/records").respond_with_json(page)

    snap = make(httpserver, PARKING).snapshot()

    assert len(snap.observations) == len(page["results"]) - 1
    assert snap.rejected == 1
    assert "status_description value is not in options.values.bay_occupied.map" in snap.notes[0]


def test_bad_values_and_positions_are_dropped_and_counted(httpserver: HTTPServer) -> None:
    good = load(MICRO_PAGE)["results"][0]

    def variant(device: str, **changes: Any) -> dict[str, Any]:
        return {**copy.deepcopy(good), "device_id": device, **changes}

    results = [
        good,
        variant("null-pm", pm25=None),
        variant("negative-pm", pm25=-5.0),
        variant("huge-pm", pm10=5000.0),
        variant("nan-text", pm25="NaN"),
        variant("swapped", latlong={"lon": -37.8140348, "lat": 144.96728}),
        variant("sydney", latlong={"lon": 151.2093, "lat": -33.8688}),
        variant("no-time", received_at="yesterday"),
    ]
    httpserver.expect_request(f"{V21}/{MICRO}/records").respond_with_json(
        {"total_count": len(results), "results": results}
    )

    snap = make(httpserver, MICROCLIMATE).snapshot()

    assert set(snap.sites["id"]) == {
        "melbourne:ICTMicroclimate-03",
        "melbourne:null-pm",
        "melbourne:negative-pm",
        "melbourne:huge-pm",
        "melbourne:nan-text",
        "melbourne:no-time",
    }
    obs = snap.observations
    assert len(obs) == 2 + 1 + 1 + 1 + 1  # good: both; the four bad ones: the other metric
    assert set(obs[obs["site_id"] == "melbourne:huge-pm"]["metric"]) == {"pm25"}
    assert set(obs[obs["site_id"] == "melbourne:null-pm"]["metric"]) == {"pm10"}
    # 2 sites (swapped, Sydney) + 4 values (null, negative, huge, NaN) + 2 without time
    assert snap.rejected == 8
    notes = " ".join(snap.notes)
    assert "coordinates outside the city" in notes and "no time" in notes
    assert "value outside the metric's range" in notes and "value missing or not finite" in notes


# --------------------------------------------------------------------------- credentials


def test_api_key_is_sent_as_header_and_never_shown(httpserver: HTTPServer) -> None:
    secret = "ods-key-0123456789abcdef"
    serve_fault(httpserver, f"{V21}/{MICRO}/records", "502")
    connector = make(
        httpserver,
        MICROCLIMATE,
        credentials={"api_key": "MELBOURNE_ODS_API_KEY"},
        environ={"MELBOURNE_ODS_API_KEY": secret},
    )

    with pytest.raises(ConnectorError) as caught:
        connector.snapshot()

    request = httpserver.log[0][0]
    assert request.headers["Authorization"] == f"Apikey {secret}"
    assert secret not in request.query_string.decode()
    assert secret not in str(caught.value) and secret not in repr(caught.value.__dict__)


def test_without_key_no_authorization_header(httpserver: HTTPServer) -> None:
    serve_pages(httpserver, f"{V21}/{MICRO}/records", [load(MICRO_PAGE)])
    make(httpserver, MICROCLIMATE, credentials={"api_key": "UNSET_KEY_VARIABLE"}).snapshot()
    assert "Authorization" not in httpserver.log[0][0].headers


# --------------------------------------------------------------------------- config file


def test_melbourne_live_requests_are_well_formed(httpserver: HTTPServer) -> None:
    city = load_config(ROOT / "cities" / "melbourne-live.toml")
    assert set(city.sources) == {"pedestrians", "parking", "microclimate"}
    serve_pages(httpserver, f"{V21}/{LOCATIONS}/records", pages("sensor-locations_v2.1"))
    serve_pages(httpserver, f"{V21}/{COUNTS}/records", pages("pedestrian-counts_v2.1"))
    serve_pages(httpserver, f"{V21}/{BAYS}/records", pages("parking-bay-sensors_v2.1"))
    serve_pages(httpserver, f"{V21}/{MICRO}/records", [load(MICRO_PAGE)])
    environ = {"MELBOURNE_ODS_API_KEY": "melbourne-key"}
    snaps = {}
    for source_id, source in city.sources.items():
        assert source.url == "https://data.melbourne.vic.gov.au"
        local = source.model_copy(update={"url": httpserver.url_for("/")})
        context = SourceContext.from_city(city, source_id, environ)
        context = SourceContext(
            source_id, local, bbox=context.bbox, timezone=context.timezone, environ=environ
        )
        snaps[source_id] = build_connector(context).snapshot()

    for request, _ in httpserver.log:
        assert request.path.startswith(V21) and request.path.endswith("/records")
        assert request.headers["Authorization"] == "Apikey melbourne-key"
        assert int(request.args["limit"]) <= 100
        assert int(request.args["offset"]) + int(request.args["limit"]) <= 10_000
        assert request.args["timezone"] == "UTC"
    counts = requests_to(httpserver, f"{V21}/{COUNTS}/records")[0].args
    assert counts["order_by"] == "sensing_date DESC, hourday DESC"
    assert counts["where"].startswith("sensing_date >= date'")
    assert requests_to(httpserver, f"{V21}/{LOCATIONS}/records")[0].args["where"] == "status = 'A'"
    bays = requests_to(httpserver, f"{V21}/{BAYS}/records")[0].args
    assert bays["select"] == "kerbsideid, lastupdated, location, status_description, zone_number"
    assert "where" not in bays
    micro = requests_to(httpserver, f"{V21}/{MICRO}/records")[0].args
    assert micro["order_by"] == "received_at DESC"
    assert micro["where"].startswith("received_at >= date'20") and micro["where"].endswith("Z'")
    assert value_of(snaps["pedestrians"].observations, "pedestrians:2", "pedestrians")[1] == 59.0
    assert len(snaps["parking"].sites) == 124
    assert (
        value_of(snaps["microclimate"].observations, "microclimate:ICTMicroclimate-03", "pm25")[1]
        == 1.0
    )


# --------------------------------------------------------------------------- properties

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
VALUES = JSON | st.sampled_from(
    ["2025-09-30", "2025-09-30T13:00:00+00:00", "2025-04-06T02:30:00", "Present", "-37.8, 144.9"]
)
RECORD = st.fixed_dictionaries(
    {},
    optional={
        name: VALUES
        for name in (
            "location_id",
            "sensor_name",
            "sensing_date",
            "hourday",
            "location",
            "pedestriancount",
            "status_description",
            "kerbsideid",
            "lastupdated",
        )
    },
)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
OPTIONS = [
    OdsOptions.model_validate({k: v for k, v in PEDESTRIANS.items() if k != "sites"}),
    OdsOptions.model_validate(PARKING),
]
SITES = OdsOptions.model_validate(PEDESTRIANS).sites


def only_connector_errors(parse: Callable[[], Any]) -> None:
    try:
        result = parse()
    except ConnectorError:
        return
    sites = result if isinstance(result, pd.DataFrame) else result.sites
    assert list(sites.columns) == list(SITE_COLUMNS)
    if not isinstance(result, pd.DataFrame):
        assert list(result.observations.columns) == list(OBSERVATION_COLUMNS)
        assert str(result.observations["time"].dtype) == "datetime64[ns, UTC]"


@FUZZ
@given(payload=JSON)
def test_any_json_gives_frames_or_connector_errors(payload: Any) -> None:
    for options in OPTIONS:
        only_connector_errors(
            lambda o=options: parse_records(payload, "m", o, "Australia/Melbourne")
        )
    assert SITES is not None
    only_connector_errors(lambda: parse_sites(payload, "m", SITES, "pedestrians"))


@FUZZ
@given(records=st.lists(RECORD, max_size=5), v1=st.booleans())
def test_any_records_give_frames_or_connector_errors(
    records: list[dict[str, Any]], v1: bool
) -> None:
    payload: Any = (
        {"nhits": len(records), "records": [{"fields": r} for r in records]}
        if v1
        else {"total_count": len(records), "results": records}
    )
    for options in OPTIONS:
        only_connector_errors(
            lambda o=options: parse_records(payload, "m", o, "Australia/Melbourne")
        )


# --------------------------------------------------------------------------- mapping


def serve_v1_recorded(httpserver: HTTPServer) -> None:
    recorded = json.loads(
        (FIXTURES / "melbourne" / "ods_v1_on-street-parking-bay-sensors_records.json").read_text()
    )

    def handler(request: Request) -> Response:
        page = recorded if request.args.get("start", "0") == "0" else {**recorded, "records": []}
        return Response(json.dumps(page), content_type="application/json")

    httpserver.expect_request("/api/records/1.0/search/").respond_with_handler(handler)


def test_v1_record_timestamp_outside_the_fields_is_a_time_field(httpserver: HTTPServer) -> None:
    serve_v1_recorded(httpserver)
    options = {**PARKING, "api": "v1", "max_pages": 50}
    options["fields"] = {**PARKING["fields"], "time": "record_timestamp"}
    connector = make(httpserver, options)

    snap = connector.snapshot()

    assert len(snap.sites) == 22
    # record_timestamp sits beside "fields" in each v1 record: 2024-12-30T00:44:39.551Z
    assert value_of(snap.observations, "melbourne:9344", "bay_occupied") == (
        pd.Timestamp("2024-12-30T00:44:39.551Z"),
        0.0,
        "1",
    )
    [first, *_] = (r.args for r, _ in httpserver.log)
    # the portal cannot sort on record metadata: no sort is asked for
    assert "sort" not in first


def test_mapping_reads_outside_paths_value_maps_and_expressions(httpserver: HTTPServer) -> None:
    serve_v1_recorded(httpserver)
    options: dict[str, Any] = {
        "dataset": BAYS,
        "api": "v1",
        "max_pages": 50,
        "domain": "parking",
        "kind": "bay",
        "fields": {"id": "bay", "time": "seen", "lat": "lat", "lon": "lon"},
        "values": {
            "bay_occupied": {"field": "taken"},
            "occupancy": {"field": "percent"},
        },
        "mapping": {
            "fields": {
                "bay": "kerbsideid",
                "seen": {"path": "$.record_timestamp", "time": "iso"},
                "lat": "location.0",
                "lon": {"path": "$.geometry.coordinates.0"},
                "taken": {
                    "path": "status_description",
                    "map": {"PRESENT": 1, "unoccupied": 0},
                    "unit": "1",
                },
                "percent": {"expr": "100 * taken", "unit": "%"},
            }
        },
    }
    connector = make(httpserver, options)

    snap = connector.snapshot()

    assert len(snap.sites) == 22
    bay = row(snap.sites, "melbourne:9344")
    assert (bay["lat"], bay["lon"]) == (-37.80494402936792, 144.95916129121264)
    assert value_of(snap.observations, "melbourne:8735", "bay_occupied")[1] == 1.0
    assert value_of(snap.observations, "melbourne:8735", "occupancy")[1:] == (100.0, "%")
    assert value_of(snap.observations, "melbourne:9344", "occupancy")[0] == pd.Timestamp(
        "2024-12-30T00:44:39.551Z"
    )


def test_explain_follows_records_through_the_mapping(httpserver: HTTPServer) -> None:
    serve_v1_recorded(httpserver)
    options = {**PARKING, "api": "v1", "max_pages": 50}
    options["values"] = {"bay_occupied": {"field": "taken"}}
    options["mapping"] = {
        "fields": {"taken": {"path": "status_description", "map": {"Present": 1}, "unit": "1"}}
    }
    connector = make(httpserver, options)

    explained = connector.explain(3)

    assert len(explained) == 3
    first = explained[0]
    assert first.read["recordid"] == "ef89d7e1bd2cb6d49717a00601e874718add3c44"
    # "Unoccupied" is not in this map: the record is dropped, with the reasons
    assert first.mapped["taken"] is None
    assert not first.kept
    assert "mapping taken: value 'Unoccupied' is not in the field's map" in first.reasons
    kept = [e for e in explained if e.kept]
    assert kept and all(e.mapped["taken"] == 1 for e in kept)


def test_a_unit_is_required_from_the_value_or_its_mapping() -> None:
    options = {**PARKING, "values": {"occupancy": {"field": "percent"}}}
    with pytest.raises(ConfigError, match=r"values\.occupancy: give the field's unit"):
        make(None, options)
    options["mapping"] = {"fields": {"percent": {"expr": "1 * 2", "unit": "%"}}}
    assert make(None, options).options.unit_of(ValueMap(field="percent")) == "%"
