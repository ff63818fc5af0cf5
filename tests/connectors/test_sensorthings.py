"""SensorThings connector over real HTTP, fed with Hamburg's recorded answers.

Fixtures are in tests/fixtures/sensorthings/ (see its PROVENANCE.md). Collection answers
are assembled here from the recorded Hamburg entities, following the SensorThings API
1.1 (an entity set is ``{"value": [...], "@iot.nextLink": ...}``).
"""

from __future__ import annotations

import json
import math
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from cockpit.config import load_config
from cockpit.errors import (
    ConfigError,
    ConnectorError,
    FetchError,
    ParseError,
    TooManyPages,
    UpstreamStatusError,
)
from cockpit.model import (
    OBSERVATION_COLUMNS,
    SITE_COLUMNS,
    validate_observations,
    validate_sites,
)
from cockpit.source import SourceContext, build_connector
from connectors.sensorthings import (
    SensorThingsConnector,
    SensorThingsOptions,
    Stream,
    StreamRule,
    duration_seconds,
    latest_from_datastreams,
    observation_from_message,
    observations_from_entities,
    parse_collection,
    sites_from_things,
    streams_from_sites,
)
from tests.connectors.faults import TEST_OPTIONS, TRANSPORT_FAULTS, closed_port_url, serve_fault
from tests.connectors.sources import source_context
from tests.servers import mosquitto, mqtt_answers

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "sensorthings"
HAMBURG_TOML = Path(__file__).resolve().parents[2] / "cities" / "hamburg.toml"
# min_lon, min_lat, max_lon, max_lat of Hamburg
BBOX = (9.72, 53.38, 10.34, 53.75)
STREAM_RULES = [
    {
        "properties": {"layerName": "^Anzahl_Kfz_Zaehlstelle_"},
        "metric": "vehicle_flow",
        "per_interval": True,
    },
    {
        "properties": {"layerName": "^Anzahl_Fahrraeder_Zaehlfeld_"},
        "metric": "vehicle_flow",
        "per_interval": True,
    },
]
OPTIONS = {"domain": "traffic", "kind": "counter", "streams": STREAM_RULES}
# Thing 12317's daily Datastream 26598 counted 731 vehicles on 25 May 2026 (local day).
KFZ_TIME = pd.Timestamp("2026-05-25T21:59:59Z")
KFZ_FLOW = 731 / 24


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def _bundle() -> dict[str, Any]:
    return load("hamburg/iot.hamburg.de_kfz-zaehlstelle_entity-bundle.json")


def kfz_datastream() -> dict[str, Any]:
    """Datastream 26598 as the platform sends it (without the fetcher's added link keys)."""
    added = {"thing", "observedProperty", "sensor"}
    return {k: v for k, v in _bundle()["datastream"].items() if k not in added}


def kfz_thing() -> dict[str, Any]:
    """Thing 12317 as ``Things?$expand=Locations,Datastreams($expand=ObservedProperty)``
    returns it: the recorded Thing, Locations, Datastream and ObservedProperty, nested."""
    bundle = _bundle()
    thing = {k: v for k, v in bundle["thing"].items() if k != "locations"}
    thing["Locations"] = bundle["locations"]
    thing["Datastreams"] = [{**kfz_datastream(), "ObservedProperty": bundle["observedProperty"]}]
    return thing


def kfz_observation() -> dict[str, Any]:
    """The recorded Observation in SensorThings form (phenomenonTime "start/end")."""
    observation = {
        k: v
        for k, v in _bundle()["observation"].items()
        if k not in ("datastream", "featureOfInterest")
    }
    period = observation["phenomenonTime"]
    begin = period["hasBeginning"]["inXSDDateTimeStamp"]
    end = period["hasEnd"]["inXSDDateTimeStamp"]
    observation["phenomenonTime"] = f"{begin}/{end}"
    return observation


def bike_thing() -> dict[str, Any]:
    return load("hamburg/iot.hamburg.de_thing_7648_expand_datastreams_sensor.json")


def signal_thing() -> dict[str, Any]:
    return load("hamburg/tld.iot.hamburg.de_thing_expand_datastreams.json")


def collection(values: list[Any], next_link: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"value": values}
    if next_link:
        body["@iot.nextLink"] = next_link
    return body


def serve_json(server: HTTPServer, path: str, body: Any) -> None:
    server.expect_request(path).respond_with_data(json.dumps(body), content_type="application/json")


def make_connector(
    url: str,
    options: dict[str, Any] | None = None,
    credentials: dict[str, str] | None = None,
    environ: dict[str, str] | None = None,
) -> SensorThingsConnector:
    context = source_context(
        "hh",
        "sensorthings",
        url,
        ("Verkehrszählstellen", "Freie und Hansestadt Hamburg", "dl-de/by-2-0"),
        {**OPTIONS, **(options or {})},
        credentials,
        environ,
        BBOX,
        "Europe/Berlin",
    )
    return SensorThingsConnector(context)


@pytest.fixture
def connector(httpserver: HTTPServer) -> Iterator[SensorThingsConnector]:
    conn = make_connector(httpserver.url_for("/v1.1"))
    yield conn
    conn.close()


def requests_to(server: HTTPServer, path: str) -> list[Request]:
    return [request for request, _ in server.log if request.path == path]


# --------------------------------------------------------------------------- values


def test_discover_sites_from_recorded_hamburg_things(
    httpserver: HTTPServer, connector: SensorThingsConnector
) -> None:
    serve_json(httpserver, "/v1.1/Things", collection([kfz_thing(), bike_thing(), signal_thing()]))

    sites = connector.discover_sites().set_index("id")

    # The traffic-light Thing has no counting Datastream, so it is not a site.
    assert list(sites.index) == ["hh:12317", "hh:7648"]
    kfz = sites.loc["hh:12317"]
    assert kfz["name"] == "Verkehrszählstelle 0370921"
    assert (kfz["lat"], kfz["lon"]) == (53.447992, 9.917789)
    assert (kfz["domain"], kfz["kind"], kfz["source"]) == ("traffic", "counter", "hh")
    [stream] = kfz["attributes"]["datastreams"]
    assert stream["id"] == 26598
    assert stream["metric"] == "vehicle_flow"
    assert stream["factor"] == pytest.approx(1 / 24)  # P1D counts -> per hour
    bike = sites.loc["hh:7648"]
    assert bike["name"] == "Zählfeld J_52.1_1_I"
    # No Location expanded: the Datastream's observedArea Point places the counting field.
    assert (bike["lat"], bike["lon"]) == (53.461316652, 9.978648204)
    [bike_stream] = bike["attributes"]["datastreams"]
    assert bike_stream["id"] == 16183
    assert bike_stream["factor"] is None  # no declared interval: each Observation's own
    assert bike_stream["unit"] == "Anzahl"  # kept for rows whose interval is unreadable

    [request] = requests_to(httpserver, "/v1.1/Things")
    assert request.args["$expand"] == "Locations,Datastreams($expand=ObservedProperty)"
    assert request.args["$top"] == "100"


def test_read_latest_converts_daily_counts_to_vehicles_per_hour(
    httpserver: HTTPServer, connector: SensorThingsConnector
) -> None:
    serve_json(httpserver, "/v1.1/Things", collection([kfz_thing()]))
    latest = collection([{**kfz_datastream(), "Observations": [kfz_observation()]}])
    serve_json(httpserver, "/v1.1/Datastreams", latest)

    snapshot = connector.snapshot()

    assert snapshot.rejected == 0
    [row] = snapshot.observations.to_dict("records")
    assert row["site_id"] == "hh:12317"
    assert row["metric"] == "vehicle_flow"
    assert row["time"] == KFZ_TIME  # the end of the counting interval
    assert row["value"] == pytest.approx(KFZ_FLOW)
    assert row["unit"] == "veh/h"
    [request] = requests_to(httpserver, "/v1.1/Datastreams")
    assert request.args["$filter"] == "@iot.id eq 26598"
    assert request.args["$expand"] == (
        "Observations($select=phenomenonTime,result;$orderby=phenomenonTime desc;$top=1)"
    )


def test_read_window_filters_on_phenomenon_time(
    httpserver: HTTPServer, connector: SensorThingsConnector
) -> None:
    serve_json(httpserver, "/v1.1/Things", collection([kfz_thing()]))
    serve_json(httpserver, "/v1.1/Datastreams(26598)/Observations", collection([kfz_observation()]))
    sites = connector.discover_sites()

    window = connector.read_window(
        sites, pd.Timestamp("2026-05-25T00:00Z"), pd.Timestamp("2026-05-26T00:00Z")
    )
    later = connector.read_window(
        sites, pd.Timestamp("2026-05-26T00:00Z"), pd.Timestamp("2026-05-27T00:00Z")
    )

    assert window[["site_id", "metric", "time", "unit"]].to_dict("records") == [
        {"site_id": "hh:12317", "metric": "vehicle_flow", "time": KFZ_TIME, "unit": "veh/h"}
    ]
    assert window["value"].tolist() == pytest.approx([KFZ_FLOW])
    assert later.empty
    assert list(window.dtypes.astype(str)) == list(OBSERVATION_COLUMNS.values())
    first = requests_to(httpserver, "/v1.1/Datastreams(26598)/Observations")[0]
    # Widened by the one-day interval: a day that ends in the window starts before it.
    assert first.args["$filter"] == (
        "phenomenonTime ge 2026-05-24T00:00:00.000Z and phenomenonTime lt 2026-05-26T00:00:00.000Z"
    )
    assert first.args["$orderby"] == "phenomenonTime asc"
    assert first.args["$top"] == "1000"
    assert first.args["$select"] == "phenomenonTime,result"


def test_interval_of_each_observation_gives_the_rate_when_none_is_declared() -> None:
    stream = Stream(16183, "hh:7648", "vehicle_flow", "Anzahl", None, per_interval=True)
    frame = observations_from_entities([kfz_observation()], stream)
    # 22:00:00 to 21:59:59 is a day minus a second: rounded to whole minutes, one day.
    assert frame["value"].tolist() == pytest.approx([KFZ_FLOW])
    assert frame["unit"].tolist() == ["veh/h"]

    instant = {**kfz_observation(), "phenomenonTime": "2026-05-25T21:59:59Z"}
    [row] = observations_from_entities([instant], stream).to_dict("records")
    # An instant has no interval, so the count cannot become a rate: kept as published.
    assert (row["value"], row["unit"]) == (731.0, "Anzahl")
    assert validate_observations(observations_from_entities([instant], stream))[1][
        "reason"
    ].tolist() == ["unit is not canonical"]


def test_offsets_in_phenomenon_time_become_utc() -> None:
    observation = load("ogc-sta-1.1-spec/observation_entity.json")
    stream = Stream(1, "spec:1", "speed", "km/h", 1.0)
    [row] = observations_from_entities([observation], stream).to_dict("records")
    assert row["time"] == pd.Timestamp("2014-12-31T03:59:59Z")
    assert row["value"] == 70.4


def test_results_may_be_numbers_numeric_strings_or_null() -> None:
    stream = Stream(26598, "hh:12317", "vehicle_flow", "veh/h", 1.0)
    base = kfz_observation()
    results = [731, "731", " 12.5 ", None, True, "n/a", {"a": 1}, 10**400]
    frame = observations_from_entities([{**base, "result": r} for r in results], stream)
    values = frame["value"].tolist()
    assert values[:3] == [731.0, 731.0, 12.5]
    assert all(math.isnan(v) for v in values[3:])


def test_streams_survive_a_round_trip_through_the_site_attributes() -> None:
    options = SensorThingsOptions.model_validate(OPTIONS)
    sites = sites_from_things([kfz_thing(), bike_thing()], options, "hh")
    streams = streams_from_sites(sites)
    assert [(s.datastream, s.site_id, s.metric) for s in streams] == [
        (26598, "hh:12317", "vehicle_flow"),
        (16183, "hh:7648", "vehicle_flow"),
    ]
    assert streams[0].interval_seconds == 86_400


def test_nested_next_links_in_expanded_observations_are_not_followed() -> None:
    # FROST's documentation example: Observations@iot.nextLink inside each Datastream.
    body = load("frost-docs/things_expand_datastreams_observations_nextlink.json")
    streams = {"19": Stream(19, "frost:17", "speed", "km/h", 1.0)}
    frame = latest_from_datastreams(body["Datastreams"], streams)
    assert frame[["site_id", "time", "value"]].to_dict("records") == [
        {"site_id": "frost:17", "time": pd.Timestamp("2020-04-10T16:00:00Z"), "value": 4.6}
    ]


def test_duration_seconds() -> None:
    assert duration_seconds("PT15M") == 900
    assert duration_seconds("P1D") == 86_400
    assert duration_seconds("P0DT23H59M59S") == 86_399
    assert duration_seconds("P1W") == 604_800
    for bad in ("P1M", "P1Y", "P", "PT", "15 minutes", None, 15, "PT0S"):
        assert duration_seconds(bad) is None


# --------------------------------------------------------------------------- paging


def test_follows_absolute_and_relative_next_links(httpserver: HTTPServer) -> None:
    spec = load("ogc-sta-1.1-spec/historicallocations_collection_nextLink.json")
    assert spec["@iot.nextLink"].endswith("?$skip=2&$top=2")  # the shape the links follow
    pages = {
        "0": collection([kfz_thing()], httpserver.url_for("/v1.1/Things") + "?$skip=1&$top=1"),
        "1": collection([bike_thing()], "Things?$skip=2&$top=1"),  # relative
        "2": collection([signal_thing()]),
    }

    def handler(request: Request) -> Response:
        page = pages[request.args.get("$skip", "0")]
        return Response(json.dumps(page), content_type="application/json")

    httpserver.expect_request("/v1.1/Things").respond_with_handler(handler)
    conn = make_connector(httpserver.url_for("/v1.1"))

    sites = conn.discover_sites()

    assert sites["id"].tolist() == ["hh:12317", "hh:7648"]
    skips = [r.args.get("$skip") for r in requests_to(httpserver, "/v1.1/Things")]
    assert skips == [None, "1", "2"]


def test_never_ending_paging_raises_too_many_pages(httpserver: HTTPServer) -> None:
    loop = collection([kfz_thing()], httpserver.url_for("/v1.1/Things") + "?$skip=100")
    serve_json(httpserver, "/v1.1/Things", loop)
    conn = make_connector(httpserver.url_for("/v1.1"))

    with pytest.raises(TooManyPages):
        conn.discover_sites()
    assert len(requests_to(httpserver, "/v1.1/Things")) == TEST_OPTIONS["max_pages"]


def test_next_link_to_another_host_is_refused(httpserver: HTTPServer) -> None:
    serve_json(httpserver, "/v1.1/Things", collection([kfz_thing()], closed_port_url() + "/v1.1"))
    conn = make_connector(httpserver.url_for("/v1.1"))
    with pytest.raises(ParseError, match="another host"):
        conn.discover_sites()


# --------------------------------------------------------------------------- faults


@pytest.mark.parametrize("kind", sorted(TRANSPORT_FAULTS))
def test_transport_faults_raise_typed_errors(
    httpserver: HTTPServer, connector: SensorThingsConnector, kind: str
) -> None:
    good = json.dumps(collection([kfz_thing()])).encode()
    serve_fault(httpserver, "/v1.1/Things", kind, good)
    with pytest.raises(TRANSPORT_FAULTS[kind]):
        connector.discover_sites()


def test_connection_refused_raises_fetch_error() -> None:
    conn = make_connector(closed_port_url() + "/v1.1")
    with pytest.raises(FetchError):
        conn.discover_sites()


def test_spec_erratum_values_instead_of_value_is_a_parse_error(
    httpserver: HTTPServer, connector: SensorThingsConnector
) -> None:
    # The OGC 18-088 example spells the entity set "values"; a server doing so has drifted.
    serve_json(
        httpserver, "/v1.1/Things", load("ogc-sta-1.1-spec/things_expand_datastreams_count.json")
    )
    with pytest.raises(ParseError, match="no 'value' array"):
        connector.discover_sites()


def test_renamed_members_give_rejected_rows_with_reasons(
    httpserver: HTTPServer, connector: SensorThingsConnector
) -> None:
    renamed_id = kfz_thing()
    renamed_id["id"] = renamed_id.pop("@iot.id")  # a Thing without "@iot.id"
    serve_json(httpserver, "/v1.1/Things", collection([kfz_thing(), renamed_id]))
    observation = kfz_observation()
    observation["value"] = observation.pop("result")  # "result" renamed
    serve_json(
        httpserver,
        "/v1.1/Datastreams",
        collection([{**kfz_datastream(), "Observations": [observation]}]),
    )

    snapshot = connector.snapshot()

    assert snapshot.rejected == 2
    assert snapshot.observations.empty
    assert snapshot.sites["id"].tolist() == ["hh:12317"]
    assert sorted(snapshot.notes) == [
        "rejected 1 observation(s): value missing or not finite",
        "rejected 1 site(s): no id",
    ]


def _thing_at(thing_id: int, lon: float, lat: float) -> dict[str, Any]:
    """The recorded Thing 12317 under another id and place (platform faults are made of
    real entities with one member changed)."""
    thing = kfz_thing()
    thing["@iot.id"] = thing_id
    thing["Datastreams"][0]["@iot.id"] = thing_id * 10
    thing["Locations"][0]["location"]["geometry"]["coordinates"] = [lon, lat]
    return thing


def test_bad_values_and_places_are_dropped_and_counted(httpserver: HTTPServer) -> None:
    things = [_thing_at(i, 9.917789, 53.447992) for i in (1, 2, 3, 4, 5)]
    things.append(_thing_at(6, 53.447992, 9.917789))  # lat/lon swapped
    things.append(_thing_at(7, 13.404954, 52.520008))  # Berlin: outside the city
    serve_json(httpserver, "/v1.1/Things", collection(things))
    results = {1: math.nan, 2: -5, 3: 10**9, 4: "731", 5: None, 6: 731, 7: 731}
    datastreams = [
        {"@iot.id": i * 10, "Observations": [{**kfz_observation(), "result": r}]}
        for i, r in results.items()
    ]
    # NaN is not JSON, but some servers send it; Python's decoder reads it as a float.
    body = json.dumps(collection(datastreams))
    assert "NaN" in body
    httpserver.expect_request("/v1.1/Datastreams").respond_with_data(
        body, content_type="application/json"
    )
    conn = make_connector(httpserver.url_for("/v1.1"))

    snapshot = conn.snapshot()

    assert snapshot.sites["id"].tolist() == [f"hh:{i}" for i in (1, 2, 3, 4, 5)]
    assert snapshot.observations["site_id"].tolist() == ["hh:4"]
    assert snapshot.observations["value"].tolist() == pytest.approx([KFZ_FLOW])
    assert snapshot.rejected == 6
    assert sorted(snapshot.notes) == [
        "rejected 2 observation(s): value missing or not finite",
        "rejected 2 observation(s): value outside the metric's range",
        "rejected 2 site(s): coordinates outside the city",
    ]


def test_unconvertible_units_are_rejected_not_guessed(httpserver: HTTPServer) -> None:
    thing = kfz_thing()
    thing["Datastreams"][0]["unitOfMeasurement"] = {"name": "Grad Celsius", "symbol": "°C"}
    serve_json(httpserver, "/v1.1/Things", collection([thing]))
    latest = collection([{**kfz_datastream(), "Observations": [kfz_observation()]}])
    serve_json(httpserver, "/v1.1/Datastreams", latest)
    conn = make_connector(httpserver.url_for("/v1.1"))

    snapshot = conn.snapshot()

    assert snapshot.observations.empty
    assert snapshot.notes == ["rejected 1 observation(s): unit is not canonical"]
    [stream] = snapshot.sites.loc[0, "attributes"]["datastreams"]
    assert stream["problem"] == "unit '°C' is not a count"


# --------------------------------------------------------------------------- credentials


def test_bearer_token_is_sent_and_never_shown(httpserver: HTTPServer) -> None:
    secret = "s3cr3t-token-" + uuid.uuid4().hex
    serve_json(httpserver, "/v1.1/Things", collection([kfz_thing()]))
    conn = make_connector(
        httpserver.url_for("/v1.1"),
        credentials={"token": "HH_STA_TOKEN"},
        environ={"HH_STA_TOKEN": secret},
    )
    conn.discover_sites()
    [request] = requests_to(httpserver, "/v1.1/Things")
    assert request.headers["Authorization"] == f"Bearer {secret}"

    httpserver.clear()
    httpserver.expect_request("/v1.1/Things").respond_with_data("down", status=500)
    with pytest.raises(UpstreamStatusError) as caught:
        conn.discover_sites()
    assert secret not in str(caught.value)
    assert secret not in repr(caught.value.args)


def test_api_key_in_the_query_is_sent_and_redacted(httpserver: HTTPServer) -> None:
    secret = "k3y-" + uuid.uuid4().hex
    serve_json(httpserver, "/v1.1/Things", collection([kfz_thing()]))
    conn = make_connector(
        httpserver.url_for("/v1.1"),
        options={"api_key_param": "api_key"},
        credentials={"api_key": "HH_STA_KEY"},
        environ={"HH_STA_KEY": secret},
    )
    conn.discover_sites()
    assert requests_to(httpserver, "/v1.1/Things")[0].args["api_key"] == secret

    httpserver.clear()
    httpserver.expect_request("/v1.1/Things").respond_with_data("no", status=503)
    with pytest.raises(UpstreamStatusError) as caught:
        conn.discover_sites()
    assert secret not in str(caught.value)
    assert "api_key=%2A%2A%2A" in str(caught.value)  # "***", URL-encoded


def test_wrong_options_are_config_errors(httpserver: HTTPServer) -> None:
    with pytest.raises(ConfigError, match="streams"):
        make_connector(httpserver.url_for("/v1.1"), options={"streams": []})
    with pytest.raises(ConfigError, match="metric"):
        make_connector(httpserver.url_for("/v1.1"), options={"streams": [{"metric": "noise"}]})
    with pytest.raises(ConfigError, match="regular expression"):
        make_connector(
            httpserver.url_for("/v1.1"), options={"streams": [{"metric": "speed", "name": "("}]}
        )
    with pytest.raises(ConfigError, match="thing_filter"):
        make_connector(httpserver.url_for("/v1.1"), options={"thing_filter": "x"})


# --------------------------------------------------------------------------- Hamburg config


def test_hamburg_config_sends_well_formed_requests(httpserver: HTTPServer) -> None:
    city = load_config(HAMBURG_TOML)
    assert {layer.metric for layer in city.layers.values()} == {"vehicle_flow"}
    recorded = {"kfz": (kfz_thing(), 26598), "bikes": (bike_thing(), 16183)}
    for source_id, (thing, datastream_id) in recorded.items():
        httpserver.clear()
        config = city.sources[source_id]
        assert config.url == "https://iot.hamburg.de/v1.1"
        local = config.model_copy(
            update={
                "url": httpserver.url_for("/v1.1"),
                "options": {**config.options, **TEST_OPTIONS},
            }
        )
        context = SourceContext(source_id, local, bbox=city.city.bbox, timezone=city.city.timezone)
        conn = build_connector(context)
        assert isinstance(conn, SensorThingsConnector)
        serve_json(httpserver, "/v1.1/Things", collection([thing]))
        serve_json(httpserver, "/v1.1/Datastreams", collection([]))
        observations = f"/v1.1/Datastreams({datastream_id})/Observations"
        serve_json(httpserver, observations, collection([]))

        snapshot = conn.snapshot()
        conn.read_window(
            snapshot.sites, pd.Timestamp("2026-05-25T00:00Z"), pd.Timestamp("2026-05-25T06:00Z")
        )

        assert snapshot.rejected == 0
        assert snapshot.sites["id"].tolist() == [f"{source_id}:{thing['@iot.id']}"]
        layer = config.options["datastreams_filter"]
        assert layer.startswith("properties/layerName eq '")
        [things] = requests_to(httpserver, "/v1.1/Things")
        assert things.args["$filter"] == config.options["things_filter"]
        assert things.args["$filter"] == f"Datastreams/{layer}"
        assert things.args["$expand"] == (
            f"Locations,Datastreams($filter={layer};$expand=ObservedProperty)"
        )
        assert things.args["$top"] == str(config.options.get("page_size", 100))
        # Spaces travel as %20: OData servers do not all read "+" as a space.
        assert b"+" not in things.query_string
        assert b"%20eq%20" in things.query_string
        [latest] = requests_to(httpserver, "/v1.1/Datastreams")
        assert latest.args["$filter"] == f"@iot.id eq {datastream_id}"
        assert "$top=1)" in latest.args["$expand"]
        [window] = requests_to(httpserver, observations)
        assert window.args["$filter"].startswith("phenomenonTime ge 2026-05-2")
        assert window.args["$filter"].endswith("and phenomenonTime lt 2026-05-25T06:00:00.000Z")
        assert window.args["$orderby"] == "phenomenonTime asc"
        conn.close()


# --------------------------------------------------------------------------- MQTT


@pytest.fixture(scope="module")
def mqtt_port() -> Iterator[int]:
    """The local Mosquitto on 1883, or one started for these tests on a free port."""
    with mosquitto() as port:
        yield port


def _publish(port: int, topic: str, payloads: list[bytes]) -> None:
    import paho.mqtt.client as mqtt

    client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        for payload in payloads:
            client.publish(topic, payload, qos=1).wait_for_publish(timeout=10)
    finally:
        client.disconnect()
        client.loop_stop()


def test_live_observations_arrive_over_mqtt(mqtt_port: int) -> None:
    prefix = f"cockpit-test-{uuid.uuid4().hex}/v1.1"
    conn = make_connector(
        "http://127.0.0.1:9/v1.1",
        options={"mqtt_url": f"mqtt://127.0.0.1:{mqtt_port}", "mqtt_topic_prefix": prefix},
    )
    options = SensorThingsOptions.model_validate(OPTIONS)
    sites = sites_from_things([kfz_thing()], options, "hh")
    frames: list[pd.DataFrame] = []
    arrived = threading.Event()

    def receive(frame: pd.DataFrame) -> None:
        frames.append(frame)
        arrived.set()

    live = conn.subscribe(sites, receive)
    try:
        assert live.wait_subscribed(timeout=10)
        topic = f"{prefix}/Datastreams(26598)/Observations"
        assert list(live.topics) == [topic]
        # A broken message first: it is logged and dropped, the good one still arrives.
        _publish(mqtt_port, topic, [b"{not json", json.dumps(kfz_observation()).encode()])
        assert arrived.wait(timeout=10)
    finally:
        live.close()
        conn.close()
    [frame] = frames
    [row] = frame.to_dict("records")
    assert (row["site_id"], row["metric"], row["unit"]) == ("hh:12317", "vehicle_flow", "veh/h")
    assert row["time"] == KFZ_TIME
    assert row["value"] == pytest.approx(KFZ_FLOW)


class OwnBroker:
    """A Mosquitto of this test's own on a free port, to stop and start again."""

    def __init__(self) -> None:
        self.binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(200):
            if mqtt_answers(self.port):
                return
            time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def own_broker() -> Iterator[OwnBroker]:
    broker = OwnBroker()
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def test_a_dropped_broker_is_reconnected_and_subscribed_again(own_broker: OwnBroker) -> None:
    prefix = "hh/v1.1"
    conn = make_connector(
        "http://127.0.0.1:9/v1.1",
        options={"mqtt_url": f"mqtt://127.0.0.1:{own_broker.port}", "mqtt_topic_prefix": prefix},
    )
    sites = sites_from_things([kfz_thing()], SensorThingsOptions.model_validate(OPTIONS), "hh")
    frames: list[pd.DataFrame] = []
    arrived = threading.Event()

    def receive(frame: pd.DataFrame) -> None:
        frames.append(frame)
        arrived.set()

    live = conn.subscribe(sites, receive)
    topic = f"{prefix}/Datastreams(26598)/Observations"
    try:
        assert live.wait_subscribed(timeout=10)
        assert (live.qos, live.connects) == (1, 1)
        own_broker.stop()  # the broker goes away (a private one: nothing kept)
        deadline = time.monotonic() + 30
        while live.wait_subscribed(0) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not live.wait_subscribed(0)
        own_broker.start()
        assert live.wait_subscribed(timeout=30)  # reconnected and subscribed again
        assert live.connects == 2
        _publish(own_broker.port, topic, [json.dumps(kfz_observation()).encode()])
        assert arrived.wait(timeout=10)
    finally:
        live.close()
        conn.close()
    [row] = frames[0].to_dict("records")
    assert (row["site_id"], row["metric"], row["time"]) == ("hh:12317", "vehicle_flow", KFZ_TIME)


def test_mqtt_message_of_the_spec_with_its_typo_is_rejected_by_time() -> None:
    # OGC 18-088's example message spells "phenonmenonTime"; it has no usable time.
    payload = (FIXTURES / "ogc-sta-1.1-spec/mqtt_message_observation_select.json").read_bytes()
    stream = Stream(1, "spec:1", "speed", "km/h", 1.0)
    frame = observation_from_message(payload, stream)
    assert validate_observations(frame)[1]["reason"].tolist() == ["no time"]
    with pytest.raises(ParseError):
        observation_from_message(b"[1, 2]", stream)


# --------------------------------------------------------------------------- properties

_KEYS = st.sampled_from(
    [
        "value",
        "@iot.id",
        "@iot.nextLink",
        "name",
        "Datastreams",
        "Locations",
        "location",
        "type",
        "coordinates",
        "geometry",
        "observedArea",
        "phenomenonTime",
        "result",
        "Observations",
        "unitOfMeasurement",
        "symbol",
        "properties",
        "aggregationDuration",
        "layerName",
    ]
) | st.text(max_size=4)
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(
        [
            "Point",
            "Feature",
            "Anzahl",
            "Anzahl_Kfz_Zaehlstelle_15-Min",
            "PT15M",
            "P1M",
            "2026-05-25T21:59:59Z",
            "2026-05-24T22:00:00.000Z/2026-05-25T21:59:59.000Z",
            "0001-01-01T00:00:00Z/9999-12-31T23:59:59Z",
            "2026-05-25T21:59:59+14:00",
            "/",
            "1e400",
        ]
    )
)
JSON = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=6),
    max_leaves=30,
)
_TIMES = st.sampled_from(
    [
        "2026-05-25T21:59:59Z",
        "2026-05-24T22:00:00.000Z/2026-05-25T21:59:59.000Z",
        "2026-05-25T21:45:00Z/2026-05-25T21:59:59Z",
        "0001-01-01T00:00:00Z/9999-12-31T23:59:59Z",
        "2026-05-25T21:59:59+14:00",
    ]
)


def mostly(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``good`` nine times in ten, any JSON value otherwise."""
    return st.integers(0, 9).flatmap(lambda pick: JSON if pick == 0 else good)


_NUMBERS = st.integers() | st.floats() | st.sampled_from(["731", "1e400", "NaN", ""])
_OBSERVATION = st.fixed_dictionaries({"phenomenonTime": mostly(_TIMES), "result": mostly(_NUMBERS)})
_POINT = st.fixed_dictionaries(
    {},
    optional={
        "type": mostly(st.sampled_from(["Point", "Feature", "Polygon"])),
        "coordinates": mostly(st.lists(mostly(_NUMBERS), max_size=3)),
    },
)
_GEOMETRY = _POINT | st.fixed_dictionaries({"type": st.just("Feature"), "geometry": _POINT})
_PROPERTIES = st.fixed_dictionaries(
    {},
    optional={
        "layerName": mostly(st.sampled_from(["Kfz", "Rad"])),
        "aggregationDuration": mostly(st.sampled_from(["PT15M", "P1D", "P1M", "PT0S"])),
    },
)
_UNIT = st.fixed_dictionaries(
    {},
    optional={
        "symbol": mostly(st.sampled_from(["", "km/h", "m/s", "veh/h"])),
        "name": mostly(st.sampled_from(["Anzahl", "count", "Second"])),
    },
)
_DATASTREAM = st.fixed_dictionaries(
    {"@iot.id": mostly(st.integers(0, 3))},
    optional={
        "name": mostly(st.text(max_size=8)),
        "properties": mostly(_PROPERTIES),
        "unitOfMeasurement": mostly(_UNIT),
        "Observations": mostly(st.lists(mostly(_OBSERVATION), max_size=4)),
        "observedArea": mostly(_GEOMETRY),
    },
)
_LOCATIONS = st.lists(st.fixed_dictionaries({"location": mostly(_GEOMETRY)}), max_size=2)
_THING = st.fixed_dictionaries(
    {"@iot.id": mostly(st.integers(0, 5))},
    optional={
        "name": mostly(st.text(max_size=8)),
        "Locations": mostly(_LOCATIONS),
        "Datastreams": mostly(st.lists(mostly(_DATASTREAM), max_size=3)),
        "Datastreams@iot.nextLink": st.text(max_size=5),
        "properties": JSON,
    },
)
# Answers shaped like the protocol's, with any JSON value in any place some of the time.
BODIES = mostly(
    st.fixed_dictionaries(
        {"value": mostly(st.lists(st.one_of(_THING, _DATASTREAM, JSON), max_size=5))},
        optional={"@iot.nextLink": mostly(st.text(max_size=10))},
    )
)
ANY_STREAM_OPTIONS = SensorThingsOptions.model_validate(
    {
        "domain": "traffic",
        "streams": [
            {"properties": {"layerName": "Kfz"}, "metric": "vehicle_flow", "per_interval": True},
            {"metric": "speed"},
        ],
    }
)
STREAMS = {
    "0": Stream(0, "hh:0", "vehicle_flow", "Anzahl", None, per_interval=True),
    "1": Stream(1, "hh:1", "speed", "km/h", 1.0),
    "2": Stream(2, "hh:2", "vehicle_flow", "Anzahl", 4.0, per_interval=True),
}


def assert_canonical(frame: pd.DataFrame, columns: dict[str, str]) -> None:
    assert list(frame.columns) == list(columns)
    for column, dtype in columns.items():
        if dtype != "object":
            assert str(frame[column].dtype) == dtype, column


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.one_of(JSON, BODIES))
def test_arbitrary_json_gives_typed_errors_or_canonical_frames(body: Any) -> None:
    try:
        values, link = parse_collection(body, "hh")
    except ConnectorError:
        values, link = (body if isinstance(body, list) else [body]), None
    assert link is None or isinstance(link, str)
    sites = sites_from_things(values, ANY_STREAM_OPTIONS, "hh")
    assert_canonical(sites, SITE_COLUMNS)
    validate_sites(sites, BBOX)
    for stream in streams_from_sites(sites):
        assert stream.site_id in set(sites["id"])
    for frame in (
        latest_from_datastreams(values, STREAMS),
        observations_from_entities(values, STREAMS["0"]),
        observations_from_entities(values, STREAMS["2"]),
    ):
        assert_canonical(frame, OBSERVATION_COLUMNS)
        validate_observations(frame)


@settings(max_examples=60, deadline=None)
@given(observations=st.lists(st.fixed_dictionaries({"phenomenonTime": JSON, "result": JSON})))
def test_arbitrary_observation_members_give_canonical_frames(observations: list[Any]) -> None:
    frame = observations_from_entities(observations, STREAMS["0"])
    assert_canonical(frame, OBSERVATION_COLUMNS)
    assert len(frame) == len(observations)
    good, rejected = validate_observations(frame)
    assert len(good) + len(rejected) == len(observations)


def test_every_parse_error_names_the_source() -> None:
    for body in ([], "x", {"values": []}, {"value": [], "@iot.nextLink": 3}):
        with pytest.raises(ParseError) as caught:
            parse_collection(body, "hh", "http://127.0.0.1/v1.1/Things")
        assert caught.value.source == "hh"


_STAMPS = st.datetimes(
    min_value=pd.Timestamp("1600-01-01").to_pydatetime(),
    max_value=pd.Timestamp("2300-01-01").to_pydatetime(),
)


@settings(max_examples=60, deadline=None)
@given(
    pairs=st.lists(st.tuples(_STAMPS, st.integers(0, 86_400)), min_size=1, max_size=8),
    millis=st.booleans(),
    odd=st.lists(st.sampled_from(["2024-01-01T00:05:00+01:00", "2024-02-30T00:00:00Z", ""])),
)
def test_fixed_width_times_read_like_the_general_parser(
    pairs: list[tuple[Any, int]], millis: bool, odd: list[str]
) -> None:
    spec = "milliseconds" if millis else "seconds"

    def text(moment: Any) -> str:
        return moment.isoformat(timespec=spec) + "Z"

    times = [f"{text(a)}/{text(a + pd.Timedelta(seconds=s))}" for a, s in pairs] + odd
    observations = [{"phenomenonTime": t, "result": 1} for t in times]
    # A first Observation without a time sends the whole page through the general parser.
    general = observations_from_entities([{"result": 1}, *observations], STREAMS["0"]).iloc[1:]
    fast = observations_from_entities(observations, STREAMS["0"])
    pd.testing.assert_frame_equal(fast, general.reset_index(drop=True))


# --------------------------------------------------------------------------- without $expand

# Written by the tests in the specification's shapes (no recorded answer holds them): a
# Location of the Thing (a Point at Hamburg's town hall, inside the test city) and the
# Datastream's ObservedProperty (the specification's own example).
TOWN_HALL = {
    "@iot.id": 1,
    "name": "Rathaus",
    "encodingType": "application/geo+json",
    "location": {"type": "Point", "coordinates": [9.9937, 53.5503]},
}
DEW_POINT = {
    "@iot.id": 1,
    "name": "DewPoint Temperature",
    "definition": "http://dbpedia.org/page/Dew_point",
    "description": "The dewpoint temperature is the temperature to which the air must be "
    "cooled, at constant pressure, for dew to form.",
}
BGS_PAGE = "bgs-glasgow/datastream1_observations_page_nextlink.json"


def serve_links_only(server: HTTPServer, datastream: dict[str, Any]) -> None:
    """A server that expands nothing: each entity carries navigation links only."""
    serve_json(server, "/v1.1/Things", collection([load("ogc-sta-1.1-spec/thing_entity.json")]))
    serve_json(server, "/v1.1/Things(1)/Datastreams", collection([datastream]))
    serve_json(server, "/v1.1/Things(1)/Locations", collection([TOWN_HALL]))
    serve_json(server, "/v1.1/Datastreams(1)/ObservedProperty", DEW_POINT)
    serve_json(server, "/v1.1/Datastreams", collection([datastream]))
    serve_json(server, "/v1.1/Datastreams(1)/Observations", load(BGS_PAGE))


@pytest.mark.parametrize("expand", [True, False])
def test_a_server_without_expand_is_read_through_navigation_links(
    httpserver: HTTPServer, expand: bool
) -> None:
    # One member changed: the unit as some servers state it, {"unit": …}.
    datastream = {
        **load("ogc-sta-1.1-spec/datastream_entity.json"),
        "unitOfMeasurement": {"unit": "ug/m3"},
    }
    serve_links_only(httpserver, datastream)
    rules = [{"observed_property": "^DewPoint", "metric": "pm10"}]
    conn = make_connector(
        httpserver.url_for("/v1.1"),
        {"domain": "air", "kind": "station", "streams": rules, "expand": expand},
    )

    snap = conn.snapshot()

    [site] = snap.sites.to_dict("records")
    assert (site["id"], site["name"]) == ("hh:1", "Oven")
    assert (site["lat"], site["lon"]) == (53.5503, 9.9937)
    [stream] = site["attributes"]["datastreams"]
    assert (stream["id"], stream["unit"], stream["factor"]) == (1, "ug/m3", 1.0)
    # The recorded BGS page's first Observation
    assert snap.observations.to_dict("records") == [
        {
            "site_id": "hh:1",
            "metric": "pm10",
            "time": pd.Timestamp("2023-03-28T10:30:00Z"),
            "value": 1009.86,
            "unit": "µg/m³",
        }
    ]
    [things] = requests_to(httpserver, "/v1.1/Things")
    assert ("$expand" in things.args) is expand
    [newest] = requests_to(httpserver, "/v1.1/Datastreams(1)/Observations")
    assert newest.args["$orderby"] == "phenomenonTime desc" and newest.args["$top"] == "1"
    conn.close()


def test_a_unit_that_cannot_be_converted_is_rejected_with_its_reason(
    httpserver: HTTPServer,
) -> None:
    serve_links_only(httpserver, load("ogc-sta-1.1-spec/datastream_entity.json"))
    rules = [{"observed_property": "^DewPoint", "metric": "pm10"}]
    conn = make_connector(
        httpserver.url_for("/v1.1"),
        {"domain": "air", "kind": "station", "streams": rules, "expand": False},
    )

    snap = conn.snapshot()

    assert len(snap.sites) == 1 and snap.observations.empty
    assert snap.notes == ["rejected 1 observation(s): unit is not canonical"]
    [example] = snap.examples.values()
    assert example["unit"] == "°C" and example["value"] == 1009.86


def test_plural_observed_properties_and_unit_shapes_match() -> None:
    multi = {
        "@iot.id": 7,
        "name": "weather",
        "ObservedProperties": [{"name": "wind speed"}, {"name": "wind direction"}],
        "unitOfMeasurements": [{"unit": "km/h"}, {"unit": "deg"}],
    }
    rule = StreamRule(observed_property="^wind speed$", metric="speed")
    assert rule.matches(multi)
    assert not StreamRule(observed_property="^gust", metric="speed").matches(multi)
    options = SensorThingsOptions(domain="traffic", streams=[rule])
    thing = {
        "@iot.id": 3,
        "name": "Station",
        "Locations": [TOWN_HALL],
        "Datastreams": [
            multi,
            {
                **multi,
                "@iot.id": 8,
                "unitOfMeasurement": "m/s",
                "ObservedProperties": [{"name": "wind speed"}],
            },
        ],
    }
    sites = sites_from_things([thing], options, "hh")
    streams = {s["id"]: s for s in sites.iloc[0]["attributes"]["datastreams"]}
    assert (streams[7]["unit"], streams[7]["factor"]) == ("km/h", 1.0)
    assert (streams[8]["unit"], streams[8]["factor"]) == ("m/s", pytest.approx(3.6))


def test_a_mapping_rewrites_each_observation(httpserver: HTTPServer) -> None:
    datastream = {
        **load("ogc-sta-1.1-spec/datastream_entity.json"),
        "unitOfMeasurement": {"unit": "ug/m3"},
    }
    serve_links_only(httpserver, datastream)
    mapping = {
        "fields": {
            "result": {"expr": "result - 1000"},
            "phenomenonTime": {"path": "resultTime", "time": "iso"},
        }
    }
    conn = make_connector(
        httpserver.url_for("/v1.1"),
        {
            "domain": "air",
            "streams": [{"observed_property": "^DewPoint", "metric": "pm10"}],
            "expand": False,
            "mapping": mapping,
        },
    )

    snap = conn.snapshot()

    [row] = snap.observations.to_dict("records")
    assert row["value"] == pytest.approx(9.86)
    assert row["time"] == pd.Timestamp("2023-03-28T10:30:00Z")
    conn.close()
