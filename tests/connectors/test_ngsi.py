"""NGSI-LD and NGSI v2 connectors against broker answers served over real HTTP on 127.0.0.1.

Entity answers are the FIWARE Smart Data Models examples (tests/fixtures/ngsi/), served
as the JSON array a broker returns for ``type=<T>``; history answers are the recorded
temporal and QuantumLeap answers of tests/fixtures/ngsi/built/ (see its PROVENANCE.md).
"""

from __future__ import annotations

import copy
import dataclasses
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

from cockpit.config import PushConfig, load_config
from cockpit.errors import (
    ConfigError,
    ConnectorError,
    ParseError,
    TooManyPages,
    UpstreamStatusError,
)
from cockpit.model import OBSERVATION_COLUMNS, SITE_COLUMNS, empty_sites
from cockpit.source import SourceContext, build_connector
from connectors.ngsi import (
    ENTITY_TYPES,
    NgsiLdConnector,
    NgsiOptions,
    NgsiV2Connector,
    parse_entities,
    parse_ld_temporal,
    parse_quantumleap,
)
from tests.connectors.faults import TEST_OPTIONS, TRANSPORT_FAULTS, closed_port_url, serve_fault
from tests.connectors.sources import source_context

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "ngsi"
SDM = FIXTURES / "smart-data-models"
BUILT = FIXTURES / "built"
TRANSPORTATION_CONTEXT = (
    "https://raw.githubusercontent.com/smart-data-models/dataModel.Transportation/master/"
    "context.jsonld"
)
LD = "/ngsi-ld/v1/entities"
V2 = "/v2/entities"
# Valladolid, where the traffic and crowd examples are (Madrid, Porto, Nice are not).
VALLADOLID = (-4.80, 41.58, -4.66, 41.70)
FILES = {
    "ld-normalized": "example-normalized.jsonld",
    "ld-simplified": "example.jsonld",
    "v2-normalized": "example-normalized.json",
    "v2-keyValues": "example.json",
}
TRAFFIC_LD = "urn:ngsi-ld:TrafficFlowObserved:TrafficFlowObserved-Valladolid-osm-60821110"
TRAFFIC_V2 = "TrafficFlowObserved-Valladolid-osm-60821110"


def example(entity_type: str, form: str, keep_context: bool = False) -> dict[str, Any]:
    """One Smart Data Models example entity; @context dropped unless asked to keep it."""
    entity = json.loads((SDM / entity_type / FILES[form]).read_text(encoding="utf-8"))
    if not keep_context:
        entity.pop("@context", None)
    return entity


def load(name: str) -> Any:
    return json.loads((BUILT / name).read_text(encoding="utf-8"))


def json_response(payload: Any, headers: dict[str, str] | None = None, ctype: str = "") -> Response:
    return Response(
        json.dumps(payload), content_type=ctype or "application/json", headers=headers or {}
    )


def serve_entities(
    server: HTTPServer,
    path: str,
    by_type: dict[str, list[dict[str, Any]]],
    count_header: str,
    ctype: str = "application/json",
) -> None:
    """Answer ``path?type=T&limit=&offset=`` from ``by_type``, with the count header."""

    def handler(request: Request) -> Response:
        entities = by_type.get(request.args.get("type", ""), [])
        offset = int(request.args.get("offset", "0"))
        limit = int(request.args.get("limit", "20"))
        page = entities[offset : offset + limit]
        return json_response(page, {count_header: str(len(entities))}, ctype)

    server.expect_request(path).respond_with_handler(handler)


def make(
    server: HTTPServer | None,
    flavour: str = "ld",
    options: dict[str, Any] | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    credentials: dict[str, str] | None = None,
    environ: dict[str, str] | None = None,
    url: str | None = None,
) -> NgsiLdConnector | NgsiV2Connector:
    context = source_context(
        "city",
        "ngsi-ld" if flavour == "ld" else "ngsi-v2",
        url or (server.url_for("/") if server else "http://127.0.0.1:9"),
        ("City broker", "City", "CC BY 4.0"),
        options,
        credentials,
        environ,
        bbox,
    )
    cls = NgsiLdConnector if flavour == "ld" else NgsiV2Connector
    return cls(context)


def by_id(frame: pd.DataFrame, site_id: str) -> dict[str, Any]:
    rows = frame[frame["id"] == site_id]
    assert len(rows) == 1, f"{site_id} not in {list(frame['id'])}"
    return rows.iloc[0].to_dict()


def value_of(obs: pd.DataFrame, site_id: str, metric: str) -> tuple[pd.Timestamp, float, str]:
    rows = obs[(obs["site_id"] == site_id) & (obs["metric"] == metric)]
    assert len(rows) == 1, f"{site_id} {metric}: {rows}"
    row = rows.iloc[0]
    return row["time"], float(row["value"]), str(row["unit"])


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def assert_canonical(frame: pd.DataFrame, columns: dict[str, str]) -> None:
    assert list(frame.columns) == list(columns)
    for column, dtype in columns.items():
        if dtype != "object":
            assert str(frame[column].dtype) == dtype, column


# --------------------------------------------------------------------------- latest values


def test_ngsi_ld_normalized_frames_value_by_value(httpserver: HTTPServer) -> None:
    answers = {t: [example(t, "ld-normalized")] for t in ENTITY_TYPES}
    serve_entities(httpserver, LD, answers, "NGSILD-Results-Count")
    connector = make(httpserver)

    snap = connector.snapshot()

    sites, obs = snap.sites, snap.observations
    assert_canonical(sites, SITE_COLUMNS)
    assert_canonical(obs, OBSERVATION_COLUMNS)
    traffic = by_id(sites, f"city:{TRAFFIC_LD}")
    assert traffic["name"] == "Avenida de Salamanca"
    assert (traffic["domain"], traffic["kind"], traffic["source"]) == ("traffic", "counter", "city")
    # the LineString's three vertices, averaged: a marker position for the road
    assert traffic["lat"] == pytest.approx(
        (41.6538181849672 + 41.6600594193478 + 41.659585195093) / 3
    )
    assert traffic["lon"] == pytest.approx(
        (-4.73735395519672 - 4.73414858659993 - 4.73447575302641) / 3
    )
    assert traffic["attributes"]["period_s"] == 300
    # 197 vehicles in the five minutes 11:10-11:15 -> 2364 veh/h, stamped at the start
    assert value_of(obs, traffic["id"], "vehicle_flow") == (
        ts("2016-12-07T11:10Z"),
        2364.0,
        "veh/h",
    )
    assert value_of(obs, traffic["id"], "speed") == (ts("2016-12-07T11:10Z"), 52.6, "km/h")

    porto = by_id(sites, "city:urn:ngsi-ld:OffStreetParking:porto-ParkingLot-23889")
    assert porto["name"] == "Parque de estacionamento Trindade"
    assert (porto["lat"], porto["lon"]) == (41.150691773, -8.60961198807)
    assert porto["attributes"]["capacity"] == 414
    assert value_of(obs, porto["id"], "free_spaces") == (ts("2018-09-21T12:00Z"), 132.0, "count")
    when, occupancy, unit = value_of(obs, porto["id"], "occupancy")
    assert (when, unit) == (ts("2018-09-21T12:00Z"), "%")
    assert occupancy == pytest.approx(100 * (414 - 132) / 414)

    spot = by_id(sites, "city:urn:ngsi-ld:ParkingSpot:santander:daoiz_velarde_1_5:3")
    assert (spot["name"], spot["kind"]) == ("A-13", "bay")
    assert value_of(obs, spot["id"], "bay_occupied") == (ts("2018-09-21T12:00Z"), 0.0, "1")

    crowd = "city:urn:ngsi-ld:CrowdFlowObserved:Valladolid_1"
    assert by_id(sites, crowd)["domain"] == "pedestrians"
    assert value_of(obs, crowd, "pedestrians") == (ts("2018-08-07T11:10Z"), 1200.0, "persons/h")

    air = "city:urn:ngsi-ld:AirQualityObserved:Madrid-AmbientObserved-28079004-2016-03-15T11:00:00"
    assert by_id(sites, air)["attributes"]["units"] == {"no2": "GQ"}
    assert value_of(obs, air, "no2") == (ts("2016-03-15T11:00Z"), 69.0, "µg/m³")

    # The ItemFlowObserved example counts yachts: no cockpit domain, so its site and its
    # intensity are rejected with reasons, and counted.
    assert "city:FlowObserved:BFO-NCE-MNCA-SP-001" not in set(sites["id"])
    assert snap.rejected == 2
    assert any("unknown domain" in n for n in snap.notes)
    assert any("item type has no cockpit metric" in n for n in snap.notes)
    # one broker query per type, reused by read_latest
    assert len(httpserver.log) == len(ENTITY_TYPES)


@pytest.mark.parametrize(
    ("flavour", "form", "path", "count_header"),
    [
        ("ld", "ld-normalized", LD, "NGSILD-Results-Count"),
        ("ld", "ld-simplified", LD, "NGSILD-Results-Count"),
        ("v2", "v2-normalized", V2, "Fiware-Total-Count"),
        ("v2", "v2-keyValues", V2, "Fiware-Total-Count"),
    ],
)
def test_every_form_gives_the_same_values(
    httpserver: HTTPServer, flavour: str, form: str, path: str, count_header: str
) -> None:
    types = ["TrafficFlowObserved", "OffStreetParking", "CrowdFlowObserved", "ParkingSpot"]
    answers = {t: [example(t, form)] for t in types}
    serve_entities(httpserver, path, answers, count_header)
    simple = form in ("ld-simplified", "v2-keyValues")
    options = {"types": types, "form": "simplified" if simple else "normalized"}
    connector = make(httpserver, flavour, options)

    snap = connector.snapshot()

    traffic = f"city:{TRAFFIC_LD if flavour == 'ld' else TRAFFIC_V2}"
    assert value_of(snap.observations, traffic, "vehicle_flow")[1:] == (2364.0, "veh/h")
    assert value_of(snap.observations, traffic, "speed")[1:] == (52.6, "km/h")
    porto = (
        "city:"
        + ("urn:ngsi-ld:OffStreetParking:" if flavour == "ld" else "")
        + "porto-ParkingLot-23889"
    )
    assert value_of(snap.observations, porto, "free_spaces")[1] == 132.0
    crowd = "city:urn:ngsi-ld:CrowdFlowObserved:Valladolid_1"
    assert value_of(snap.observations, crowd, "pedestrians")[1:] == (1200.0, "persons/h")
    # keyValues lose the attribute's observation time: the parking's time falls back to
    # observationDateTime, and the spot (which has none) is rejected for having no time.
    parking_time = value_of(snap.observations, porto, "free_spaces")[0]
    spot = (
        "city:"
        + ("urn:ngsi-ld:ParkingSpot:" if flavour == "ld" else "")
        + "santander:daoiz_velarde_1_5:3"
    )
    if simple:
        assert parking_time == ts("2021-03-11T15:51:02Z")
        assert spot not in set(snap.observations["site_id"])
        assert snap.rejected == 1 and "no time" in " ".join(snap.notes)
    else:
        assert parking_time == ts("2018-09-21T12:00Z")
        assert value_of(snap.observations, spot, "bay_occupied")[1] == 0.0
        assert snap.rejected == 0


def test_ld_with_inline_context_reads_like_the_link_header_form(httpserver: HTTPServer) -> None:
    entity = example("TrafficFlowObserved", "ld-normalized", keep_context=True)
    serve_entities(
        httpserver,
        LD,
        {"TrafficFlowObserved": [entity]},
        "NGSILD-Results-Count",
        ctype="application/ld+json",
    )
    connector = make(
        httpserver,
        options={"types": ["TrafficFlowObserved"], "accept": "application/ld+json"},
    )

    snap = connector.snapshot()

    assert value_of(snap.observations, f"city:{TRAFFIC_LD}", "vehicle_flow")[1] == 2364.0
    assert httpserver.log[0][0].headers["Accept"] == "application/ld+json"


def test_expanded_attribute_names_are_compacted() -> None:
    entity = example("TrafficFlowObserved", "ld-normalized")
    base = "https://smartdatamodels.org/dataModel.Transportation/"
    expanded = {(k if k in ("id", "type") else base + k): v for k, v in entity.items()}
    expanded["type"] = "https://smartdatamodels.org/dataModel.Transportation/TrafficFlowObserved"

    frames = parse_entities([expanded], "city")

    assert value_of(frames.observations, f"city:{TRAFFIC_LD}", "vehicle_flow")[1] == 2364.0


def test_recorded_orion_ld_answers_of_other_types_are_ignored() -> None:
    for name in (
        "orion-ld_entities_type_Building_ldjson.json",
        "orion-ld_entities_type_Building_simplified.json",
    ):
        payload = json.loads((FIXTURES / "ngsi-ld" / name).read_text(encoding="utf-8"))
        frames = parse_entities(payload, "city")
        assert frames.sites.empty and frames.observations.empty and frames.rejected.empty


# --------------------------------------------------------------------------- requests


def test_ld_request_headers_and_parameters(httpserver: HTTPServer) -> None:
    serve_entities(
        httpserver,
        LD,
        {"CrowdFlowObserved": [example("CrowdFlowObserved", "ld-simplified")]},
        "NGSILD-Results-Count",
    )
    connector = make(
        httpserver,
        options={
            "types": ["CrowdFlowObserved"],
            "form": "simplified",
            "context": TRANSPORTATION_CONTEXT,
            "tenant": "valladolid",
            "query": "peopleCount>0",
            "page_size": 50,
        },
    )

    connector.discover_sites()

    request = httpserver.log[0][0]
    assert request.path == LD
    assert request.headers["Link"] == (
        f'<{TRANSPORTATION_CONTEXT}>; rel="http://www.w3.org/ns/json-ld#context"; '
        'type="application/ld+json"'
    )
    assert request.headers["Accept"] == "application/json"
    assert request.headers["NGSILD-Tenant"] == "valladolid"
    assert "Fiware-Service" not in request.headers
    assert request.args.to_dict() == {
        "type": "CrowdFlowObserved",
        "count": "true",
        "format": "simplified",
        "q": "peopleCount>0",
        "limit": "50",
        "offset": "0",
    }


def test_v2_request_headers_and_parameters(httpserver: HTTPServer) -> None:
    serve_entities(
        httpserver,
        V2,
        {"ParkingSpot": [example("ParkingSpot", "v2-keyValues")]},
        "Fiware-Total-Count",
    )
    connector = make(
        httpserver,
        "v2",
        {
            "types": ["ParkingSpot"],
            "form": "keyValues",
            "tenant": "santander",
            "service_path": "/parking",
        },
    )

    connector.discover_sites()

    request = httpserver.log[0][0]
    assert request.path == V2
    assert request.headers["Fiware-Service"] == "santander"
    assert request.headers["Fiware-ServicePath"] == "/parking"
    assert "Link" not in request.headers and "NGSILD-Tenant" not in request.headers
    assert request.args.to_dict() == {
        "type": "ParkingSpot",
        "options": "count,keyValues",
        "limit": "100",
        "offset": "0",
    }


# --------------------------------------------------------------------------- paging


def clones(entity: dict[str, Any], n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        item = copy.deepcopy(entity)
        item["id"] = f"{entity['id']}-{i}"
        out.append(item)
    return out


@pytest.mark.parametrize(
    ("flavour", "path", "header"),
    [("ld", LD, "NGSILD-Results-Count"), ("v2", V2, "Fiware-Total-Count")],
)
def test_paging_follows_the_count_header(
    httpserver: HTTPServer, flavour: str, path: str, header: str
) -> None:
    form = "ld-normalized" if flavour == "ld" else "v2-normalized"
    entities = clones(example("TrafficFlowObserved", form), 45)
    serve_entities(httpserver, path, {"TrafficFlowObserved": entities}, header)
    connector = make(httpserver, flavour, {"types": ["TrafficFlowObserved"], "page_size": 20})

    sites = connector.discover_sites()

    assert len(sites) == 45
    offsets = [r.args["offset"] for r, _ in httpserver.log]
    assert offsets == ["0", "20", "40"]
    assert {r.args["limit"] for r, _ in httpserver.log} == {"20"}


def test_paging_without_count_header_stops_at_a_short_page(httpserver: HTTPServer) -> None:
    entities = clones(example("ParkingSpot", "v2-normalized"), 65)

    def handler(request: Request) -> Response:
        offset, limit = int(request.args["offset"]), int(request.args["limit"])
        return json_response(entities[offset : offset + limit])

    httpserver.expect_request(V2).respond_with_handler(handler)
    connector = make(httpserver, "v2", {"types": ["ParkingSpot"], "page_size": 50})

    assert len(connector.discover_sites()) == 65
    assert len(httpserver.log) == 2


def test_never_ending_paging_raises_too_many_pages(httpserver: HTTPServer) -> None:
    entity = example("TrafficFlowObserved", "ld-normalized")

    def endless(request: Request) -> Response:
        page = clones(entity, int(request.args["limit"]))
        return json_response(page, {"NGSILD-Results-Count": "1000000"})

    httpserver.expect_request(LD).respond_with_handler(endless)
    connector = make(httpserver, options={"types": ["TrafficFlowObserved"], "page_size": 10})

    with pytest.raises(TooManyPages):
        connector.discover_sites()
    assert len(httpserver.log) == TEST_OPTIONS["max_pages"]


# --------------------------------------------------------------------------- faults


@pytest.mark.parametrize("kind", sorted(TRANSPORT_FAULTS))
@pytest.mark.parametrize("flavour", ["ld", "v2"])
def test_transport_faults_raise_typed_errors(
    httpserver: HTTPServer, kind: str, flavour: str
) -> None:
    path = LD if flavour == "ld" else V2
    good = json.dumps([example("TrafficFlowObserved", "ld-normalized")]).encode()
    serve_fault(httpserver, path, kind, good)
    connector = make(httpserver, flavour, {"types": ["TrafficFlowObserved"]})

    with pytest.raises(TRANSPORT_FAULTS[kind]):
        connector.snapshot()


def test_connection_refused_is_a_fetch_error() -> None:
    from cockpit.errors import FetchError

    connector = make(None, url=closed_port_url(), options={"types": ["ParkingSpot"]})
    with pytest.raises(FetchError):
        connector.discover_sites()


def test_an_error_object_instead_of_entities_is_a_parse_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request(LD).respond_with_json(
        {"type": "https://uri.etsi.org/ngsi-ld/errors/InvalidRequest", "title": "Invalid request"}
    )
    connector = make(httpserver, options={"types": ["ParkingSpot"]})
    with pytest.raises(ParseError, match="Invalid request"):
        connector.discover_sites()


def test_drifted_schema_rejects_readings_with_a_reason(httpserver: HTTPServer) -> None:
    entity = example("TrafficFlowObserved", "ld-normalized")
    entity["vehicleCount"] = entity.pop("intensity")
    entity["meanSpeed"] = entity.pop("averageVehicleSpeed")
    serve_entities(httpserver, LD, {"TrafficFlowObserved": [entity]}, "NGSILD-Results-Count")
    connector = make(httpserver, options={"types": ["TrafficFlowObserved"]})

    snap = connector.snapshot()

    assert snap.observations.empty
    assert snap.rejected == 1
    assert "has none of the attributes intensity, averageVehicleSpeed" in snap.notes[0]


def test_unknown_unit_code_is_rejected_never_guessed() -> None:
    entity = example("AirQualityObserved", "ld-normalized")
    entity["no2"]["unitCode"] = "XYZ"
    entity["o3"] = {"type": "Property", "value": 40}  # no unit at all
    frames = parse_entities([entity], "city")

    assert frames.observations.empty
    reasons = set(frames.rejected["reason"])
    assert any("cannot convert 'XYZ'" in r for r in reasons)
    assert "no unit given (set options.units for the attribute)" in reasons


def test_units_option_and_ppb_conversion() -> None:
    entity = example("AirQualityObserved", "ld-simplified")
    entity["o3"] = 50
    options = NgsiOptions(units={"no2": "GQ", "o3": "61"})  # 61 = ppb (UN/CEFACT)
    frames = parse_entities([entity], "city", options)
    site = "city:urn:ngsi-ld:AirQualityObserved:Madrid-AmbientObserved-28079004-2016-03-15T11:00:00"
    assert value_of(frames.observations, site, "no2")[1:] == (69.0, "µg/m³")
    assert value_of(frames.observations, site, "o3")[1] == pytest.approx(50 * 47.9982 / 24.45)


def test_item_flow_of_people_and_knots() -> None:
    people = example("ItemFlowObserved", "ld-normalized")
    people["itemType"]["value"] = "people"
    boats = example("ItemFlowObserved", "ld-normalized")
    boats["id"] = "urn:ngsi-ld:ItemFlowObserved:boats"
    boats["itemType"]["value"] = "vehicle"
    frames = parse_entities([people, boats], "city")
    # 12 items over 16:30-22:30 (six hours) -> 2 per hour
    assert (
        value_of(frames.observations, "city:FlowObserved:BFO-NCE-MNCA-SP-001", "pedestrians")[1]
        == 2.0
    )
    assert value_of(frames.observations, "city:urn:ngsi-ld:ItemFlowObserved:boats", "speed")[
        1
    ] == pytest.approx(2.7 * 1.852)


def test_bad_values_and_positions_are_dropped_and_counted(httpserver: HTTPServer) -> None:
    good = example("TrafficFlowObserved", "ld-normalized")
    null_value = clones(good, 1)[0]
    null_value["intensity"]["value"] = None
    negative = clones(good, 2)[1]
    negative["averageVehicleSpeed"]["value"] = -5
    too_high = clones(good, 3)[2]
    too_high["intensity"]["value"] = 5000  # 60 000 veh/h in five minutes: past the range
    swapped = clones(good, 4)[3]
    swapped["location"]["value"] = {"type": "Point", "coordinates": [41.6538, -4.7373]}
    outside = example("CrowdFlowObserved", "ld-normalized")
    outside["location"]["value"] = {"type": "Point", "coordinates": [-3.7038, 40.4168]}  # Madrid
    answers = {
        "TrafficFlowObserved": [good, null_value, negative, too_high, swapped],
        "CrowdFlowObserved": [outside],
    }
    serve_entities(httpserver, LD, answers, "NGSILD-Results-Count")
    connector = make(
        httpserver, options={"types": ["TrafficFlowObserved", "CrowdFlowObserved"]}, bbox=VALLADOLID
    )

    snap = connector.snapshot()

    assert set(snap.sites["id"]) == {
        f"city:{TRAFFIC_LD}",
        f"city:{TRAFFIC_LD}-0",
        f"city:{TRAFFIC_LD}-1",
        f"city:{TRAFFIC_LD}-2",
    }
    obs = snap.observations
    assert (
        len(obs) == 5
    )  # good: 2; null intensity: speed only; negative speed: flow only; too high: speed only
    assert set(obs[obs["site_id"] == f"city:{TRAFFIC_LD}-0"]["metric"]) == {"speed"}
    assert set(obs[obs["site_id"] == f"city:{TRAFFIC_LD}-1"]["metric"]) == {"vehicle_flow"}
    assert set(obs[obs["site_id"] == f"city:{TRAFFIC_LD}-2"]["metric"]) == {"speed"}
    # 2 sites (swapped, outside) + 3 observations (null, negative, out of range)
    assert snap.rejected == 5
    notes = " ".join(snap.notes)
    assert "coordinates outside the city" in notes
    assert "value missing or not finite" in notes and "value outside the metric's range" in notes


# --------------------------------------------------------------------------- credentials


def test_token_is_sent_and_never_shown(httpserver: HTTPServer) -> None:
    secret = "s3cret-broker-token-123"
    serve_fault(httpserver, LD, "500")
    connector = make(
        httpserver,
        options={"types": ["ParkingSpot"]},
        credentials={"token": "CITY_BROKER_TOKEN"},
        environ={"CITY_BROKER_TOKEN": secret},
    )

    with pytest.raises(ConnectorError) as caught:
        connector.discover_sites()

    assert httpserver.log[0][0].headers["Authorization"] == f"Bearer {secret}"
    assert secret not in str(caught.value)
    assert secret not in repr(caught.value.__dict__)


def test_unknown_type_in_options_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"options\.types"):
        make(None, options={"types": ["WeatherObserved"]})


# --------------------------------------------------------------------------- history


def discovered(
    httpserver: HTTPServer,
    flavour: str,
    types: list[str],
    form: str,
    options: dict[str, Any] | None = None,
) -> tuple[NgsiLdConnector | NgsiV2Connector, pd.DataFrame]:
    path, header = (LD, "NGSILD-Results-Count") if flavour == "ld" else (V2, "Fiware-Total-Count")
    serve_entities(httpserver, path, {t: [example(t, form)] for t in types}, header)
    connector = make(httpserver, flavour, {"types": types, **(options or {})})
    return connector, connector.discover_sites()


WINDOW = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC))


def test_ld_temporal_values_history(httpserver: HTTPServer) -> None:
    connector, sites = discovered(
        httpserver, "ld", ["CrowdFlowObserved"], "ld-normalized", {"tenant": "valladolid"}
    )
    httpserver.expect_request("/ngsi-ld/v1/temporal/entities").respond_with_json(
        load("ld_temporal_values_CrowdFlowObserved.json"), headers={"NGSILD-Results-Count": "1"}
    )

    obs = connector.read_window(sites, *WINDOW)

    crowd = "city:urn:ngsi-ld:CrowdFlowObserved:Valladolid_1"
    # counts of the five-minute period the entity states, as hourly rates
    assert list(obs["value"]) == [1550 * 12, 1543 * 12, 1600 * 12]
    assert list(obs["time"]) == [
        ts("2020-01-24T12:01:22.066Z"),
        ts("2020-01-24T13:01:22.066Z"),
        ts("2020-01-24T14:01:22.066Z"),
    ]
    assert set(obs["site_id"]) == {crowd} and set(obs["unit"]) == {"persons/h"}
    request = httpserver.log[-1][0]
    assert request.headers["NGSILD-Tenant"] == "valladolid"
    assert request.args.to_dict() == {
        "type": "CrowdFlowObserved",
        "attrs": "peopleCount",
        "timerel": "between",
        "timeAt": "2000-01-01T00:00:00Z",
        "endTimeAt": "2030-01-01T00:00:00Z",
        "count": "true",
        "format": "temporalValues",
        "limit": "100",
        "offset": "0",
    }


def test_ld_temporal_normalized_history_with_units_per_instance(httpserver: HTTPServer) -> None:
    connector, sites = discovered(
        httpserver,
        "ld",
        ["AirQualityObserved", "TrafficFlowObserved"],
        "ld-normalized",
        {"history_form": "normalized", "history_url": httpserver.url_for("/")},
    )

    def temporal(request: Request) -> Response:
        name = {
            "AirQualityObserved": "ld_temporal_normalized_AirQualityObserved.json",
            "TrafficFlowObserved": "ld_temporal_normalized_TrafficFlowObserved.json",
        }[request.args["type"]]
        return json_response(load(name), {"NGSILD-Results-Count": "1"})

    httpserver.expect_request("/ngsi-ld/v1/temporal/entities").respond_with_handler(temporal)

    obs = connector.read_window(
        sites, datetime(2020, 1, 24, 12, 30, tzinfo=UTC), datetime(2021, 12, 31, tzinfo=UTC)
    )

    air = "city:urn:ngsi-ld:AirQualityObserved:Madrid-AmbientObserved-28079004-2016-03-15T11:00:00"
    no2 = obs[obs["metric"] == "no2"]
    # the second recorded entity is not one of the discovered sites: left out
    assert set(no2["site_id"]) == {air}
    assert list(no2["value"]) == [52.0, 53.0, 52.0]
    assert list(no2["time"]) == [
        ts("2021-09-16T10:26:26.308Z"),
        ts("2021-09-16T10:26:31.178Z"),
        ts("2021-09-16T10:26:41.108Z"),
    ]
    flow = obs[obs["metric"] == "vehicle_flow"]
    # 12:01 is before the window's start: only 13:01 and 14:01 remain
    assert list(flow["value"]) == [1543 * 12, 1600 * 12]
    assert "format" not in httpserver.log[-1][0].args


def test_quantumleap_history_by_type(httpserver: HTTPServer) -> None:
    connector, sites = discovered(
        httpserver,
        "v2",
        ["TrafficFlowObserved"],
        "v2-normalized",
        {
            "history_url": httpserver.url_for("/ql"),
            "tenant": "valladolid",
            "service_path": "/traffic",
        },
    )
    httpserver.expect_request("/ql/v2/types/TrafficFlowObserved/attrs/intensity").respond_with_json(
        load("ql_types_TrafficFlowObserved_attrs_intensity.json")
    )
    httpserver.expect_request(
        "/ql/v2/types/TrafficFlowObserved/attrs/averageVehicleSpeed"
    ).respond_with_json(
        {"error": "Not Found", "description": "No records were found for such query."}, status=404
    )

    obs = connector.read_window(sites, *WINDOW)

    assert list(obs["site_id"]) == [f"city:{TRAFFIC_V2}"] * 2
    assert list(obs["value"]) == [53 * 12, 50 * 12]
    assert list(obs["time"]) == [ts("2021-01-27T16:52:05.925Z"), ts("2021-01-27T16:52:30.769Z")]
    request = next(r for r, _ in httpserver.log if r.path.endswith("/intensity"))
    assert request.headers["Fiware-Service"] == "valladolid"
    assert request.headers["Fiware-ServicePath"] == "/traffic"
    assert request.args.to_dict() == {
        "fromDate": "2000-01-01T00:00:00Z",
        "toDate": "2030-01-01T00:00:00Z",
        "limit": "1000",
        "offset": "0",
    }


def test_quantumleap_history_by_entity(httpserver: HTTPServer) -> None:
    connector, sites = discovered(
        httpserver,
        "v2",
        ["AirQualityObserved"],
        "v2-normalized",
        {"history_url": httpserver.url_for("/"), "history_by": "entity"},
    )
    entity = "Madrid-AmbientObserved-28079004-2016-03-15T11:00:00"
    httpserver.expect_request(f"/v2/entities/{entity}/attrs/no2").respond_with_json(
        load("ql_entities_AirQualityObserved_attrs_no2.json")
    )
    for attr in ("pm25", "pm10", "o3"):
        httpserver.expect_request(f"/v2/entities/{entity}/attrs/{attr}").respond_with_data(
            "{}", status=404, content_type="application/json"
        )

    obs = connector.read_window(sites, *WINDOW)

    assert list(obs["value"]) == [0.94, 0.87, 0.84]  # unit GQ from the discovered entity
    assert list(obs["time"]) == [
        ts("2018-10-29T14:27:26Z"),
        ts("2018-10-29T14:27:28Z"),
        ts("2018-10-29T14:27:29Z"),
    ]
    assert set(obs["unit"]) == {"µg/m³"}
    no2 = next(r for r, _ in httpserver.log if r.path.endswith("/no2"))
    assert no2.args["type"] == "AirQualityObserved"


def test_v2_without_quantumleap_has_no_history(httpserver: HTTPServer) -> None:
    connector, sites = discovered(httpserver, "v2", ["ParkingSpot"], "v2-normalized")
    assert connector.read_window(sites, *WINDOW).empty


def test_quantumleap_with_mismatched_arrays_is_a_parse_error() -> None:
    payload = load("ql_types_TrafficFlowObserved_attrs_intensity.json")
    payload["entities"][0]["values"].append(1)
    with pytest.raises(ParseError, match="2 times but 3 values"):
        parse_quantumleap(payload, "city", "TrafficFlowObserved", "intensity")


# --------------------------------------------------------------------------- config file


def test_fiware_template_requests_are_well_formed(httpserver: HTTPServer) -> None:
    city = load_config(ROOT / "cities" / "fiware-template.toml")
    seen: dict[str, Request] = {}
    answers = {t: [example(t, "ld-normalized")] for t in ENTITY_TYPES}

    def handler(request: Request) -> Response:
        seen[request.args["type"]] = request
        entities = answers[request.args["type"]]
        return json_response(entities, {"NGSILD-Results-Count": str(len(entities))})

    httpserver.expect_request(LD).respond_with_handler(handler)
    environ = {"FIWARE_BROKER_TOKEN": "template-token"}
    for source_id, source in city.sources.items():
        local = source.model_copy(
            update={"url": httpserver.url_for("/"), "options": {**source.options, **TEST_OPTIONS}}
        )
        context = SourceContext(source_id, local, bbox=city.city.bbox, environ=environ)
        connector = build_connector(context)
        snap = connector.snapshot()
        for entity_type in source.options["types"]:
            request = seen[entity_type]
            assert request.headers["NGSILD-Tenant"] == "city"
            assert request.headers["Authorization"] == "Bearer template-token"
            assert request.headers["Link"].startswith(f"<{source.options['context']}>")
            assert request.args["type"] == entity_type
            assert request.args["count"] == "true"
        if source_id == "traffic":
            assert value_of(snap.observations, f"traffic:{TRAFFIC_LD}", "vehicle_flow")[1] == 2364.0
    assert set(seen) == set(ENTITY_TYPES)


# --------------------------------------------------------------------------- properties

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
ATTRIBUTE_NAMES = [
    "intensity",
    "averageVehicleSpeed",
    "averageSpeed",
    "pm25",
    "no2",
    "availableSpotNumber",
    "totalSpotNumber",
    "occupiedSpotNumber",
    "status",
    "peopleCount",
    "peopleCountTowards",
    "peopleCountAway",
    "itemType",
    "dateObserved",
    "dateObservedFrom",
    "dateObservedTo",
    "location",
    "name",
    "address",
    "observationDateTime",
]
VALUES = (
    JSON
    | st.sampled_from(
        [
            "2016-12-07T11:10:00Z",
            "2016-12-07T11:10:00/2016-12-07T11:15:00",
            "occupied",
            "free",
            "GQ",
            "people",
            "9999-99-99",
            "now",
        ]
    )
    | st.floats()
)
ATTRIBUTE = VALUES | st.fixed_dictionaries(
    {
        "type": st.sampled_from(["Property", "GeoProperty", "Number", "Relationship"]),
        "value": VALUES,
    },
    optional={"unitCode": VALUES, "observedAt": VALUES, "metadata": JSON, "object": VALUES},
)
ENTITY = st.fixed_dictionaries(
    {"id": st.text(min_size=1, max_size=8), "type": st.sampled_from(sorted(ENTITY_TYPES))},
    optional={name: ATTRIBUTE for name in ATTRIBUTE_NAMES},
)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def only_connector_errors(parse: Callable[[], Any]) -> None:
    try:
        result = parse()
    except ConnectorError:
        return
    assert_canonical(result.sites, SITE_COLUMNS)
    assert_canonical(result.observations, OBSERVATION_COLUMNS)
    assert set(result.rejected.columns) >= {"site_id", "reason"}


@FUZZ
@given(payload=JSON)
def test_any_json_gives_frames_or_connector_errors(payload: Any) -> None:
    only_connector_errors(lambda: parse_entities(payload, "city"))
    only_connector_errors(lambda: parse_ld_temporal(payload, "city"))
    only_connector_errors(lambda: parse_quantumleap(payload, "city", "ParkingSpot", "status"))


@FUZZ
@given(entities=st.lists(ENTITY, max_size=4))
def test_any_entities_give_frames_or_connector_errors(entities: list[dict[str, Any]]) -> None:
    only_connector_errors(lambda: parse_entities(entities, "city"))
    temporal = [
        {
            **e,
            "intensity": {
                "type": "Property",
                "values": [[e.get("intensity"), e.get("dateObserved")]],
            },
        }
        for e in entities
    ]
    only_connector_errors(lambda: parse_ld_temporal(temporal, "city"))


@FUZZ
@given(
    index=st.lists(VALUES, max_size=5),
    values=st.lists(VALUES, max_size=5),
    entity_id=VALUES,
)
def test_any_quantumleap_series_gives_frames_or_connector_errors(
    index: list[Any], values: list[Any], entity_id: Any
) -> None:
    payload = {
        "attrName": "intensity",
        "entities": [{"entityId": entity_id, "index": index, "values": values}],
    }
    only_connector_errors(
        lambda: parse_quantumleap(payload, "city", "TrafficFlowObserved", "intensity")
    )


# --------------------------------------------------------------------------- any entity type

BIKE_STATIONS: dict[str, Any] = {
    "BikeHireDockingStation": {
        "domain": "parking",
        "kind": "bike_station",
        "time": "observationDate",
        "values": {
            "freeSlotNumber": {"metric": "free_spaces", "unit": "count"},
            "occupied": {"metric": "occupancy"},
        },
        "mapping": {
            "fields": {
                "occupied": {"expr": "100 * (1 - freeSlotNumber / totalSlotNumber)", "unit": "%"}
            }
        },
    }
}


@pytest.mark.parametrize(
    ("flavour", "name", "path", "count_header"),
    [
        ("v2", "example-normalized.json", V2, "Fiware-Total-Count"),
        ("ld", "example-normalized.jsonld", LD, "NGSILD-Results-Count"),
    ],
)
def test_an_entity_type_without_preset_is_read_as_configured(
    httpserver: HTTPServer, flavour: str, name: str, path: str, count_header: str
) -> None:
    entity = json.loads((SDM / "BikeHireDockingStation" / name).read_text(encoding="utf-8"))
    entity.pop("@context", None)
    serve_entities(httpserver, path, {"BikeHireDockingStation": [entity]}, count_header)
    conn = make(httpserver, flavour, options={"entity_types": BIKE_STATIONS})

    snap = conn.snapshot()

    [site] = snap.sites.to_dict("records")
    assert (site["domain"], site["kind"]) == ("parking", "bike_station")
    # GeoJSON [lon, lat]: Gran Via Corts Catalanes 760, Barcelona
    assert (site["lat"], site["lon"]) == (41.397952, 2.180042)
    site_id = site["id"]
    observed = pd.Timestamp("2021-03-11T10:21:02Z")  # 15:51:02+05:30
    assert value_of(snap.observations, site_id, "free_spaces") == (observed, 10.0, "count")
    # 10 free of 100 slots
    assert value_of(snap.observations, site_id, "occupancy") == (observed, 90.0, "%")
    [request] = [r for r, _ in httpserver.log]
    assert request.args["type"] == "BikeHireDockingStation"


def test_a_type_neither_built_in_nor_configured_names_where_to_map_it() -> None:
    with pytest.raises(ConfigError, match=r"options\.types") as caught:
        make(None, options={"types": ["WeatherObserved"], "entity_types": BIKE_STATIONS})
    assert "options.entity_types.<Type>" in caught.value.reason


def test_a_configured_type_needs_a_known_metric() -> None:
    bad = {"WeatherObserved": {"domain": "air", "values": {"temperature": {"metric": "heat"}}}}
    with pytest.raises(ConfigError, match="unknown metric 'heat'"):
        make(None, options={"entity_types": bad})


def test_weather_without_unit_codes_takes_the_configured_unit(httpserver: HTTPServer) -> None:
    entity = json.loads(
        (SDM / "WeatherObserved" / "example-normalized.json").read_text(encoding="utf-8")
    )
    serve_entities(httpserver, V2, {"WeatherObserved": [entity]}, "Fiware-Total-Count")
    # The cockpit has no weather metric yet: wind speed stands in as a speed in m/s.
    types = {
        "WeatherObserved": {
            "domain": "traffic",
            "kind": "weather_station",
            "time": "dateObserved",
            "values": {"windSpeed": {"metric": "speed", "unit": "m/s"}},
        }
    }
    conn = make(httpserver, "v2", options={"entity_types": types}, bbox=VALLADOLID)

    snap = conn.snapshot()

    site_id = snap.sites["id"].iloc[0]
    # 2 m/s is 7.2 km/h
    assert value_of(snap.observations, site_id, "speed") == (
        pd.Timestamp("2016-11-30T07:00:00Z"),
        pytest.approx(7.2),
        "km/h",
    )


# --------------------------------------------------------------------------- push


def test_a_recorded_ld_notification_reads_like_an_entity_answer() -> None:
    body = json.loads((FIXTURES / "notifications" / "cygnus_ld_notification_OffStreetParking.json")
                      .read_text(encoding="utf-8"))  # fmt: skip
    conn = make(None, "ld", options={"types": ["OffStreetParking"]})
    sites = parse_entities(body["data"], "city").sites
    obs = conn.read_notification(body, sites)
    site = "city:urn:ngsi:ld:OffStreetParking:Downtown1"
    assert value_of(obs, site, "free_spaces") == (ts("2017-07-29T12:05:02Z"), 122.0, "count")
    assert value_of(obs, site, "occupancy")[1] == pytest.approx(39.0)  # 78 of 200 taken
    # Only the sites the cockpit knows: the same notification for another city's sites.
    assert conn.read_notification(body, sites.iloc[0:0]).empty
    for broken in ([], {"data": {}}, {"type": "Subscription", "data": []}):
        with pytest.raises(ParseError):
            conn.read_notification(broken, sites)


@pytest.mark.parametrize("flavour", ["ld", "v2"])
def test_a_broker_that_refuses_the_subscription_raises_typed_errors(
    httpserver: HTTPServer, flavour: str
) -> None:
    root = "/ngsi-ld/v1" if flavour == "ld" else "/v2"
    context = source_context(
        "city",
        "ngsi-ld" if flavour == "ld" else "ngsi-v2",
        httpserver.url_for("/"),
        ("City broker", "City", "CC BY 4.0"),
        {"types": ["TrafficFlowObserved"]},
        environ={"CITY_PUSH": "k"},
    )
    push = PushConfig(notify_url="https://c.example/push/ngsi/city", secret_env="CITY_PUSH")
    context = dataclasses.replace(context, config=context.config.model_copy(update={"push": push}))
    conn = NgsiLdConnector(context) if flavour == "ld" else NgsiV2Connector(context)
    sites = empty_sites()
    httpserver.expect_oneshot_request(f"{root}/subscriptions", method="POST").respond_with_data(
        '{"error": "BadRequestData"}', status=400
    )
    with pytest.raises(UpstreamStatusError, match="POST answered HTTP 400"):
        conn.subscribe(sites, lambda frame: None)
    httpserver.expect_oneshot_request(f"{root}/subscriptions", method="POST").respond_with_data(
        "", status=201
    )
    with pytest.raises(ParseError, match="named no subscription"):
        conn.subscribe(sites, lambda frame: None)
    without_secret = dataclasses.replace(context, environ={})
    with pytest.raises(ConfigError, match="CITY_PUSH"):
        type(conn)(without_secret).subscribe(sites, lambda frame: None)
    conn.close()
