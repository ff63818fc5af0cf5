"""ArcGIS connector against layer answers served over real HTTP on 127.0.0.1.

Answers are real (tests/fixtures/arcgis/, see its PROVENANCE.md): the City of Konstanz's
ArcGIS Server car parks (MapServer ``f=json``, Esri JSON) and the VRN's Park+Ride sensors
(ArcGIS Enterprise FeatureServer ``f=geojson``).
"""

from __future__ import annotations

import copy
import json
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
from cockpit.errors import (
    ConfigError,
    ConnectorError,
    ParseError,
    TooManyPages,
    UpstreamStatusError,
)
from cockpit.model import OBSERVATION_COLUMNS, SITE_COLUMNS, validate_observations
from cockpit.source import SourceContext, build_connector
from connectors.arcgis import ArcGisConnector, ArcGisOptions, parse_query
from connectors.records import map_records
from tests.connectors.faults import TEST_OPTIONS, TRANSPORT_FAULTS, closed_port_url, serve_fault

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "arcgis"
KONSTANZ_FILE = "konstanz_mapserver_parkleitsystem_query_f-json.json"
VRN_FILE = "vrn_p-r-sensorik_featureserver_query_f-geojson.json"
KONSTANZ_BBOX = (9.05, 47.62, 9.25, 47.76)
VRN_BBOX = (7.9, 49.0, 9.5, 49.9)
LAYER = "/rest/services/Fachdaten/Parkplaetze_Parkleitsystem/MapServer/0"
KONSTANZ: dict[str, Any] = {
    "domain": "parking",
    "kind": "car_park",
    "id": "OBJECTID",
    "name": "name",
    "time": "updated",
    "values": {"free_spaces": {"field": "real_fcap", "unit": "count"}},
    "attributes": ["address", "max_cap"],
}
VRN: dict[str, Any] = {
    "domain": "parking",
    "kind": "park_and_ride",
    "format": "geojson",
    "id": "objectid",
    "name": "name",
    "time": "reatime_data_updated",
    "values": {
        "free_spaces": {"field": "realtime_free_capacity", "unit": "count"},
        "occupancy": {"field": "realtime_occupiedpercent", "unit": "%"},
    },
}


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def serve_layer(server: HTTPServer, path: str, answer: dict[str, Any]) -> None:
    """Answer ``path`` with the recorded features, paged as ArcGIS Server pages them."""

    def handler(request: Request) -> Response:
        offset = int(request.args.get("resultOffset", "0"))
        count = int(request.args.get("resultRecordCount", "1000"))
        page = copy.deepcopy(answer)
        page["features"] = answer["features"][offset : offset + count]
        if offset + count < len(answer["features"]):
            page["exceededTransferLimit"] = True
        return Response(json.dumps(page), content_type="application/json; charset=utf-8")

    server.expect_request(path).respond_with_handler(handler)


def make(
    url: str,
    options: dict[str, Any],
    bbox: tuple[float, float, float, float] | None = KONSTANZ_BBOX,
) -> ArcGisConnector:
    config = SourceConfig(
        connector="arcgis",
        name="Car parks",
        publisher="City",
        licence="open data",
        url=url,
        options={**TEST_OPTIONS, **options},
    )
    context = SourceContext("p", config, bbox=bbox, timezone="Europe/Berlin")
    connector = build_connector(context)
    assert isinstance(connector, ArcGisConnector)
    return connector


def test_konstanz_esri_json_car_parks(httpserver: HTTPServer) -> None:
    serve_layer(httpserver, LAYER + "/query", load(KONSTANZ_FILE))
    snap = make(httpserver.url_for(LAYER), KONSTANZ).snapshot()
    assert len(snap.sites) == 11 and snap.rejected == 0
    lago = snap.sites.set_index("id").loc["p:1"]
    assert lago["name"] == "Parkhaus LAGO"
    # From the geometry {x, y}: latitude is y, longitude x (not swapped).
    assert lago["lat"] == pytest.approx(47.65616, abs=1e-5)
    assert lago["lon"] == pytest.approx(9.17639, abs=1e-5)
    assert lago["attributes"]["max_cap"] == 930.0
    obs = snap.observations.set_index("site_id")
    assert obs.loc["p:1", "value"] == 881
    # `updated` is epoch milliseconds: 1723876205000
    assert obs.loc["p:1", "time"] == pd.Timestamp("2024-08-17T06:30:05Z")
    request = httpserver.log[0][0]
    assert request.args["outSR"] == "4326" and request.args["f"] == "json"
    assert request.args["where"] == "1=1" and request.args["resultOffset"] == "0"


def test_vrn_geojson_park_and_ride_with_nulls(httpserver: HTTPServer) -> None:
    path = "/data/rest/services/P_R_Sensorik__Realtime_/FeatureServer/1/query"
    serve_layer(httpserver, path, load(VRN_FILE))
    snap = make(httpserver.url_for(path), VRN, VRN_BBOX).snapshot()
    # 16 sites; the 2 without realtime values have no time: refused and counted.
    assert len(snap.sites) == 14
    assert snap.rejected == 2
    assert "rejected 2 row(s): no usable time in reatime_data_updated" in snap.notes
    obs = snap.observations
    wiesloch = obs[obs["site_id"] == "p:13"].set_index("metric")
    assert wiesloch.loc["free_spaces", "value"] == 234
    assert wiesloch.loc["occupancy", "value"] == pytest.approx(11.363636)
    site = snap.sites.set_index("id").loc["p:13"]
    assert (site["lat"], site["lon"]) == pytest.approx((49.29114, 8.66492))  # [lon, lat] read
    assert httpserver.log[0][0].args["f"] == "geojson"


def test_pages_follow_exceeded_transfer_limit(httpserver: HTTPServer) -> None:
    serve_layer(httpserver, LAYER + "/query", load(KONSTANZ_FILE))
    snap = make(httpserver.url_for(LAYER), {**KONSTANZ, "page_size": 4}).snapshot()
    assert len(snap.sites) == 11
    offsets = [r.args["resultOffset"] for r, _ in httpserver.log]
    assert offsets == ["0", "4", "8"]


def test_never_ending_pages_raise_too_many_pages(httpserver: HTTPServer) -> None:
    answer = load(KONSTANZ_FILE)
    answer["exceededTransferLimit"] = True
    httpserver.expect_request(LAYER + "/query").respond_with_json(answer)
    with pytest.raises(TooManyPages):
        make(httpserver.url_for(LAYER), KONSTANZ).snapshot()


def test_read_window_asks_the_server_and_filters_exactly(httpserver: HTTPServer) -> None:
    serve_layer(httpserver, LAYER + "/query", load(KONSTANZ_FILE))
    connector = make(httpserver.url_for(LAYER), KONSTANZ)
    sites = connector.discover_sites()
    start, end = datetime(2024, 8, 17, tzinfo=UTC), datetime(2024, 8, 18, tzinfo=UTC)
    window = connector.read_window(sites, start, end)
    assert len(window) == 11
    where = httpserver.log[-1][0].args["where"]
    assert where == (
        "updated >= TIMESTAMP '2024-08-17 00:00:00' AND updated < TIMESTAMP '2024-08-18 00:00:00'"
    )
    later = connector.read_window(sites, end, datetime(2024, 8, 19, tzinfo=UTC))
    assert later.empty


def test_error_envelope_with_status_200_is_an_upstream_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request(LAYER + "/query").respond_with_json(
        {"error": {"code": 400, "message": "Invalid or missing input parameters.", "details": []}}
    )
    with pytest.raises(UpstreamStatusError) as caught:
        make(httpserver.url_for(LAYER), KONSTANZ).snapshot()
    assert caught.value.status == 400


def test_coordinates_not_in_wgs84_are_a_parse_error() -> None:
    answer = load(KONSTANZ_FILE)
    answer["spatialReference"] = {"wkid": 102100, "latestWkid": 3857}
    with pytest.raises(ParseError, match="3857"):
        parse_query(answer, "p")


@pytest.mark.parametrize("kind", sorted(TRANSPORT_FAULTS))
def test_transport_faults_raise_typed_errors(httpserver: HTTPServer, kind: str) -> None:
    serve_fault(httpserver, LAYER + "/query", kind, (FIXTURES / KONSTANZ_FILE).read_bytes())
    with pytest.raises(TRANSPORT_FAULTS[kind]):
        make(httpserver.url_for(LAYER), KONSTANZ).snapshot()


def test_connection_refused_is_a_connector_error() -> None:
    with pytest.raises(ConnectorError):
        make(closed_port_url() + LAYER, KONSTANZ).snapshot()


def test_wrong_options_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="format"):
        make("http://127.0.0.1" + LAYER, {**KONSTANZ, "format": "pbf"})
    with pytest.raises(ConfigError, match="unknown metric"):
        make(
            "http://127.0.0.1" + LAYER,
            {**KONSTANZ, "values": {"cars": {"field": "a", "unit": "count"}}},
        )
    with pytest.raises(ConfigError, match="cannot convert"):
        make(
            "http://127.0.0.1" + LAYER,
            {**KONSTANZ, "values": {"free_spaces": {"field": "a", "unit": "kg"}}},
        )


# --------------------------------------------------------------------------- fuzz

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
SCALAR = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10)
ATTRS = st.fixed_dictionaries(
    {}, optional={k: SCALAR for k in ("OBJECTID", "name", "updated", "real_fcap")}
)
GEOMETRY = st.fixed_dictionaries({}, optional={"x": SCALAR, "y": SCALAR, "rings": JSON}) | JSON
ANSWER = st.fixed_dictionaries(
    {
        "features": st.lists(
            st.fixed_dictionaries({"attributes": ATTRS | JSON, "geometry": GEOMETRY}), max_size=5
        )
        | JSON
    },
    optional={
        "exceededTransferLimit": SCALAR,
        "spatialReference": JSON,
        "type": st.just("FeatureCollection"),
        "error": JSON,
    },
)
OPTIONS = ArcGisOptions.model_validate(KONSTANZ)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=ANSWER | JSON)
def test_any_json_gives_frames_or_typed_errors(payload: Any) -> None:
    try:
        page = parse_query(payload, "p")
    except ConnectorError:
        return
    mapped = map_records(page.records, OPTIONS, "p", "Europe/Berlin", positions=page.positions)
    assert list(mapped.sites.columns) == list(SITE_COLUMNS)
    assert list(mapped.observations.columns) == list(OBSERVATION_COLUMNS)
    good, bad = validate_observations(mapped.observations)
    assert len(good) + len(bad) == len(mapped.observations)


# ------------------------------------------------------------------- mapping language

KONSTANZ_MAPPED: dict[str, Any] = {
    **KONSTANZ,
    "values": {"occupancy": {"field": "occupied"}, "free_spaces": {"field": "free_if_open"}},
    "attributes": ["city"],
    "mapping": {
        "fields": {
            # derived: the layer serves free spaces and the total, not an occupancy
            "occupied": {"expr": "100 * (1 - real_fcap / real_capa)", "unit": "%"},
            # a value map: the car park's opening state as served ("ja" / "nein")
            "open": {"path": "opening_s", "map": {"ja": 1, "nein": 0}},
            "free_if_open": {"expr": "real_fcap * open", "unit": "count"},
            # a constant
            "city": {"const": "Konstanz"},
        }
    },
}


def test_mapping_derives_maps_and_sets_constants(httpserver: HTTPServer) -> None:
    serve_layer(httpserver, LAYER + "/query", load(KONSTANZ_FILE))
    snap = make(httpserver.url_for(LAYER), KONSTANZ_MAPPED).snapshot()
    assert len(snap.sites) == 11 and snap.rejected == 0
    served = {f["attributes"]["OBJECTID"]: f["attributes"] for f in load(KONSTANZ_FILE)["features"]}
    obs = snap.observations.set_index(["site_id", "metric"])["value"]
    for object_id, row in served.items():
        expected = 100 * (1 - row["real_fcap"] / row["real_capa"])
        assert obs[(f"p:{object_id}", "occupancy")] == pytest.approx(expected)
        assert row["opening_s"] == "ja"  # all open in this answer: free spaces as served
        assert obs[(f"p:{object_id}", "free_spaces")] == row["real_fcap"]
    assert {a["city"] for a in snap.sites["attributes"]} == {"Konstanz"}
    # The mapping reads any field: the whole record is asked for.
    assert httpserver.log[0][0].args["outFields"] == "*"


def test_a_closed_state_or_an_unmapped_one_is_read_as_the_map_says() -> None:
    answer = load(KONSTANZ_FILE)
    states = ["nein", "vielleicht"]
    for feature, state in zip(answer["features"], states, strict=False):
        feature["attributes"]["opening_s"] = state
    page = parse_query(answer, "p")
    options = ArcGisOptions.model_validate(KONSTANZ_MAPPED)
    mapped = map_records(page.records, options, "p", "Europe/Berlin", positions=page.positions)
    free = mapped.observations[mapped.observations["metric"] == "free_spaces"]
    assert free.set_index("site_id").loc["p:1", "value"] == 0  # closed: no free space
    assert "p:2" not in set(free["site_id"])  # not in the map: no value, with the reason
    assert mapped.rejected["open: value 'vielleicht' is not in the field's map"] == 1


def test_a_mapping_typo_names_its_key() -> None:
    bad = {**KONSTANZ, "mapping": {"fields": {"occupied": {"exr": "1"}}}}
    with pytest.raises(ConfigError, match=r"options\.mapping\.fields\.occupied"):
        make("http://127.0.0.1" + LAYER, bad)
    bad = {**KONSTANZ, "mapping": {"fields": {"occupied": {"expr": "__import__('os')"}}}}
    with pytest.raises(ConfigError, match="calls only min, max"):
        make("http://127.0.0.1" + LAYER, bad)
