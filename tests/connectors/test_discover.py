"""``city-cockpit discover URL`` against recorded real answers served on 127.0.0.1, one
platform at a time: discover writes a draft, ``check-config`` accepts it, and the
draft's source reads the recorded sites at their places (latitude and longitude not
swapped), a value in its canonical unit and a time in UTC.

The servers answer only the paths a platform serves (404 elsewhere), with the recorded
answers of tests/fixtures/ (see each folder's PROVENANCE.md); nothing tells discover
which platform it is talking to.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from cockpit.config import load_config
from cockpit.domains import registry, unregister
from cockpit.model import Snapshot
from cockpit.source import SourceContext, build_connector
from connectors.discover.metrics import SHIPPED_DOMAINS
from tests.connectors import test_sensorthings as sta
from tests.connectors.faults import closed_port_url
from wiring.cli import check_config, main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(autouse=True)
def shipped_domains() -> Iterator[None]:
    before = set(registry.domain_names())
    yield
    for name in SHIPPED_DOMAINS:
        if name not in before and name in registry.domain_names():
            unregister(name)


@pytest.fixture
def server(httpserver: HTTPServer) -> HTTPServer:
    httpserver.no_handler_status_code = 404
    return httpserver


def load(path: str) -> Any:
    return json.loads((FIXTURES / path).read_text(encoding="utf-8"))


def serve_json(server: HTTPServer, path: str, body: Any, ctype: str = "application/json") -> None:
    server.expect_request(path).respond_with_data(json.dumps(body), content_type=ctype)


def discover(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, str, Path]:
    draft = tmp_path / "draft.toml"
    code = main(["discover", url, "--write", str(draft), *extra])
    return code, capsys.readouterr().out, draft


def checked(draft: Path) -> tuple[int, str]:
    out = io.StringIO()
    code = check_config(str(draft), out=out)
    return code, out.getvalue()


def snapshot(draft: Path, index: int = 0) -> Snapshot:
    """The snapshot of the draft's ``index``-th source, read as the cockpit reads it."""
    config = load_config(draft)
    source = list(config.sources)[index]
    connector = build_connector(SourceContext.from_city(config, source, {}))
    try:
        return connector.snapshot()
    finally:
        connector.close()


def site_at(snap: Snapshot, lat: float, lon: float) -> pd.Series:
    near = snap.sites[
        (snap.sites["lat"].sub(lat).abs() < 1e-6) & (snap.sites["lon"].sub(lon).abs() < 1e-6)
    ]
    assert len(near) == 1, f"no site at ({lat}, {lon}): {snap.sites[['id', 'lat', 'lon']]}"
    return near.iloc[0]


def value(snap: Snapshot, site_id: str, metric: str) -> tuple[pd.Timestamp, float, str]:
    rows = snap.observations[
        (snap.observations["site_id"] == site_id) & (snap.observations["metric"] == metric)
    ]
    assert not rows.empty, f"no {metric} at {site_id}"
    row = rows.sort_values("time").iloc[-1]
    return row["time"], float(row["value"]), str(row["unit"])


# --------------------------------------------------------------------------- ArcGIS


def test_arcgis_mapserver_layer_in_esri_json(
    server: HTTPServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    layer = "/rest/services/Fachdaten/Parkplaetze_Parkleitsystem/MapServer/0"
    answer = load("arcgis/konstanz_mapserver_parkleitsystem_query_f-json.json")

    def query(request: Request) -> Response:
        if request.args.get("f") != "json":
            return Response("{}", status=400, content_type="application/json")
        offset = int(request.args.get("resultOffset", "0"))
        page = {**answer, "features": answer["features"][offset:]}
        return Response(json.dumps(page), content_type="application/json")

    server.expect_request(f"{layer}/query").respond_with_handler(query)

    code, out, draft = discover(
        server.url_for(layer), tmp_path, capsys, "--timezone", "Europe/Berlin"
    )

    assert code == 0, out
    assert "ArcGIS" in out and "domain parking" in out
    code, report = checked(draft)
    assert code == 0, report
    snap = snapshot(draft)
    assert len(snap.sites) == len(answer["features"])
    first = answer["features"][0]
    site = site_at(snap, first["geometry"]["y"], first["geometry"]["x"])
    time, free, unit = value(snap, site["id"], "free_spaces")
    assert (free, unit) == (float(first["attributes"]["real_fcap"]), "count")
    assert time == pd.Timestamp(first["attributes"]["updated"], unit="ms", tz="UTC")


def test_arcgis_featureserver_layer_in_geojson_only(
    server: HTTPServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    layer = "/server/rest/services/Hosted/P_R_Sensorik/FeatureServer/0"
    answer = load("arcgis/vrn_p-r-sensorik_featureserver_query_f-geojson.json")

    def query(request: Request) -> Response:
        if request.args.get("f") != "geojson":
            return Response('{"error": {"code": 400}}', status=400, content_type="application/json")
        offset = int(request.args.get("resultOffset", "0"))
        page = {**answer, "features": answer["features"][offset:]}
        return Response(json.dumps(page), content_type="application/geo+json")

    server.expect_request(f"{layer}/query").respond_with_handler(query)

    code, out, draft = discover(server.url_for(layer), tmp_path, capsys)

    assert code == 0, out
    assert 'format = "geojson"' in draft.read_text()
    code, report = checked(draft)
    assert code == 0, report
    snap = snapshot(draft)
    # two car parks publish no time: no observation can be dated, they are left out
    timed = [f for f in answer["features"] if f["properties"]["reatime_data_updated"]]
    assert len(snap.sites) == len(timed) == 14
    first = answer["features"][0]
    lon, lat = first["geometry"]["coordinates"]
    site = site_at(snap, lat, lon)
    _, free, unit = value(snap, site["id"], "free_spaces")
    assert (free, unit) == (float(first["properties"]["realtime_free_capacity"]), "count")


# --------------------------------------------------------------------------- Socrata


def test_socrata_counter_dataset_with_floating_local_times(
    server: HTTPServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = load("socrata/seattle_spokane-st-bridge-bike-counter_v6y4-2gyc_2014-01.json")

    def soda(request: Request) -> Response:
        offset = int(request.args.get("$offset", "0"))
        limit = int(request.args.get("$limit", "1000"))
        ordered = sorted(
            rows, key=lambda r: r["date"], reverse="DESC" in request.args.get("$order", "")
        )
        body = json.dumps(ordered[offset : offset + limit])
        return Response(body, content_type="application/json", headers={"X-SODA2-Fields": "[]"})

    server.expect_request("/resource/v6y4-2gyc.json").respond_with_handler(soda)
    bridge = (47.5714, -122.3487)  # the counter's place: the dataset states none

    code, out, draft = discover(
        server.url_for("/resource/v6y4-2gyc.json"),
        tmp_path,
        capsys,
        "--timezone",
        "America/Los_Angeles",
        "--location",
        f"{bridge[0]},{bridge[1]}",
        "--domain",
        "cycling",  # the columns are named east, west and total: the officer says what
    )

    assert code == 0, out
    assert "Socrata" in out and "cyclists" in out
    assert "floating = true" in draft.read_text()  # local times without a zone
    code, report = checked(draft)
    assert code == 0, report
    snap = snapshot(draft)
    [site] = snap.sites.to_dict("records")
    assert (site["lat"], site["lon"]) == bridge
    newest = max(rows, key=lambda r: r["date"])
    time, count, unit = value(snap, site["id"], "cyclists")
    assert (count, unit) == (float(newest["spokane_st_bridge_total"]), "cyclists/h")
    # 2014-01-31T23:00 on Seattle's clock (PST, UTC-8)
    assert time == pd.Timestamp(newest["date"]).tz_localize("America/Los_Angeles").tz_convert("UTC")


# --------------------------------------------------------------------------- CKAN


def test_ckan_datastore_resource_with_date_hour_and_lat_lon_text(
    server: HTTPServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    action = "/api/3/action/datastore_search"
    body = load("ckan/melbourne-pedestrians_datastore_search.json")
    records = body["result"]["records"]

    def handler(request: Request) -> Response:
        offset, limit = int(request.args.get("offset", 0)), int(request.args.get("limit", 100))
        page = json.loads(json.dumps(body))
        page["result"]["records"] = records[offset : offset + limit]
        return Response(json.dumps(page), content_type="application/json")

    server.expect_request(action).respond_with_handler(handler)
    url = server.url_for(f"{action}?resource_id={body['result']['resource_id']}")

    code, out, draft = discover(url, tmp_path, capsys, "--timezone", "Australia/Melbourne")

    assert code == 0, out
    assert "CKAN" in out and "pedestrians" in out
    text = draft.read_text()
    assert 'hour_field = "HourDay"' in text and 'location_field = "Location"' in text
    code, report = checked(draft)
    assert code == 0, report
    snap = snapshot(draft)
    assert len(snap.sites) == len({r["Location_ID"] for r in records}) == 3
    site = site_at(snap, -37.81374643, 144.96276183)  # "Location": "-37.81374643, 144.96276183"
    time, count, unit = value(snap, site["id"], "pedestrians")
    # 2025-09-30, hour 19 on Melbourne's clock (AEST, UTC+10): both directions, 952
    assert (time, count, unit) == (pd.Timestamp("2025-09-30T09:00Z"), 952.0, "persons/h")


# --------------------------------------------------------------------------- GBFS


def test_gbfs_feed_without_discovery_file(
    server: HTTPServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for feed in ("station_information", "station_status"):
        body = load(f"gbfs/real/niceride-mpls_v1.0_{feed}.json")
        serve_json(server, f"/niceride/{feed}.json", body)
    info = load("gbfs/real/niceride-mpls_v1.0_station_information.json")["data"]["stations"]
    status = load("gbfs/real/niceride-mpls_v1.0_station_status.json")["data"]["stations"]

    code, out, draft = discover(
        server.url_for("/niceride/station_information.json"), tmp_path, capsys
    )

    assert code == 0, out
    assert "GBFS" in out and "bike_share" in out
    code, report = checked(draft)
    assert code == 0, report
    snap = snapshot(draft)
    assert len(snap.sites) == len(info)
    first = info[0]
    site = site_at(snap, first["lat"], first["lon"])
    state = next(s for s in status if s["station_id"] == first["station_id"])
    time, bikes, unit = value(snap, site["id"], "hire_bikes")
    assert (bikes, unit) == (float(state["num_bikes_available"]), "count")
    assert time == pd.Timestamp(int(state["last_reported"]), unit="s", tz="UTC")


def test_gbfs_v3_discovery_file(
    server: HTTPServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    discovery = load("gbfs/v3.0/gbfs.json")
    for feed in discovery["data"]["feeds"]:
        feed["url"] = server.url_for(f"/v3/{feed['name']}.json")
    serve_json(server, "/v3/gbfs.json", discovery)
    for feed in ("station_information", "station_status"):
        serve_json(server, f"/v3/{feed}.json", load(f"gbfs/v3.0/{feed}.json"))
    info = load("gbfs/v3.0/station_information.json")["data"]["stations"]

    code, out, draft = discover(server.url_for("/v3/gbfs.json"), tmp_path, capsys)

    assert code == 0, out
    code, report = checked(draft)
    assert code == 0, report
    snap = snapshot(draft)
    assert len(snap.sites) == len(info)
    site_at(snap, info[0]["lat"], info[0]["lon"])


# --------------------------------------------------------------------------- OpenDataSoft


def test_opendatasoft_v21_dataset_page_of_parking_bays(
    server: HTTPServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = "on-street-parking-bay-sensors"
    pages = [load(f"opendatasoft/built/parking-bay-sensors_v2.1_page{n}.json") for n in (1, 2)]
    rows = [r for page in pages for r in page["results"]]

    def records(request: Request) -> Response:
        offset = int(request.args.get("offset", "0"))
        limit = int(request.args.get("limit", "10"))
        page = {"total_count": len(rows), "results": rows[offset : offset + limit]}
        return Response(json.dumps(page), content_type="application/json; charset=utf-8")

    server.expect_request(
        f"/api/explore/v2.1/catalog/datasets/{dataset}/records"
    ).respond_with_handler(records)

    code, out, draft = discover(
        server.url_for(f"/explore/dataset/{dataset}/information/"), tmp_path, capsys
    )

    assert code == 0, out
    assert "OpenDataSoft" in out and "bay_occupied" in out
    code, report = checked(draft)
    assert code == 0, report
    snap = snapshot(draft)
    assert len(snap.sites) == len({r["kerbsideid"] for r in rows}) == 124
    bay = next(r for r in rows if r["kerbsideid"] == 65567)
    site = site_at(snap, bay["location"]["lat"], bay["location"]["lon"])
    # the bay's state as its status text says, as of the dataset's last update
    time, state, unit = value(snap, site["id"], "bay_occupied")
    assert (state, unit) == (0.0, "1")  # "Unoccupied"
    assert time == pd.Timestamp("2025-08-05T05:19:39Z") == pd.Timestamp(bay["lastupdated"])
    taken = next(r for r in rows if r["status_description"] == "Present")
    taken_site = site_at(snap, taken["location"]["lat"], taken["location"]["lon"])
    assert value(snap, taken_site["id"], "bay_occupied")[1] == 1.0


def test_opendatasoft_records_api_v1(
    server: HTTPServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recorded = load("opendatasoft/melbourne/ods_v1_on-street-parking-bay-sensors_records.json")

    def search(request: Request) -> Response:
        page = recorded if request.args.get("start", "0") == "0" else {**recorded, "records": []}
        return Response(json.dumps(page), content_type="application/json")

    server.expect_request("/api/records/1.0/search/").respond_with_handler(search)
    url = server.url_for("/api/records/1.0/search/?dataset=on-street-parking-bay-sensors")

    code, out, draft = discover(url, tmp_path, capsys)

    assert code == 0, out
    assert "Records API v1" in out
    assert 'api = "v1"' in draft.read_text()
    code, report = checked(draft)
    assert code == 0, report
    snap = snapshot(draft)
    records = recorded["records"]
    assert len(snap.sites) == len({r["fields"]["kerbsideid"] for r in records}) == 22
    first = records[0]
    lon, lat = first["geometry"]["coordinates"]
    assert [lat, lon] == first["fields"]["location"]  # v1 pairs are [lat, lon]
    site = site_at(snap, lat, lon)
    time, state, unit = value(snap, site["id"], "bay_occupied")
    assert (state, unit) == (0.0, "1")
    # as of the bay's last update (not when its state began, which would look stale)
    assert (
        time == pd.Timestamp("2024-12-30T00:44:37Z") == pd.Timestamp(first["fields"]["lastupdated"])
    )


# --------------------------------------------------------------------------- CSV


def test_csv_file_long_with_a_lat_lon_column(
    server: HTTPServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = FIXTURES / "ckan" / "melbourne-pedestrian-counts_rows.csv"
    server.expect_request(
        "/files/pedestrian-counting-system-monthly-counts-per-hour.csv"
    ).respond_with_data(file.read_bytes(), content_type="text/csv")
    url = server.url_for("/files/pedestrian-counting-system-monthly-counts-per-hour.csv")

    code, out, draft = discover(url, tmp_path, capsys)  # no zone given: guessed from the sites

    assert code == 0, out
    assert "CSV" in out and "pedestrians" in out
    assert 'timezone = "Australia/Melbourne"  # CHECK: guessed' in draft.read_text()
    code, report = checked(draft)
    assert code == 0, report
    snap = snapshot(draft)
    assert len(snap.sites) == 3
    site = site_at(snap, -37.81374643, 144.96276183)
    time, count, unit = value(snap, site["id"], "pedestrians")
    # Sensing_Date 2025-09-30, HourDay 19 in Melbourne (UTC+10); Total_of_Directions 952
    assert (time, count, unit) == (pd.Timestamp("2025-09-30T09:00Z"), 952.0, "persons/h")


def test_csv_file_of_another_kind_is_listed_but_not_drafted(
    server: HTTPServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Aarhus citizen-service queues: real rows, nothing the cockpit measures
    rows = load("ckan/aarhus-odaa_datastore_search.json")["result"]["records"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    text = buffer.getvalue()
    server.expect_request("/queues.csv").respond_with_data(text, content_type="text/csv")

    code, out, _ = discover(server.url_for("/queues.csv"), tmp_path, capsys)

    assert code == 1
    assert "WaitingCustomersSQ: number" in out
    assert "proposed: nothing" in out


# --------------------------------------------------------------------------- SensorThings


def test_sensorthings_service_root_of_hamburg(
    server: HTTPServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = server.url_for("/v1.1")
    # The service root document as OGC 18-088 (9.2.1) defines it: each entity set's url.
    sets = ("Things", "Locations", "Datastreams", "Sensors", "ObservedProperties", "Observations")
    serve_json(server, "/v1.1", {"value": [{"name": n, "url": f"{root}/{n}"} for n in sets]})
    serve_json(server, "/v1.1/Things", sta.collection([sta.kfz_thing(), sta.signal_thing()]))
    newest = sta.collection([{**sta.kfz_datastream(), "Observations": [sta.kfz_observation()]}])

    def datastreams(request: Request) -> Response:
        body = newest if "26598" in request.args.get("$filter", "") else sta.collection([])
        return Response(json.dumps(body), content_type="application/json")

    server.expect_request("/v1.1/Datastreams").respond_with_handler(datastreams)

    code, out, draft = discover(root, tmp_path, capsys, "--timezone", "Europe/Berlin")

    assert code == 0, out
    assert "SensorThings" in out and "vehicle_flow" in out
    text = draft.read_text()
    assert "per_interval = true" in text  # counts per day, made a rate per hour
    code, report = checked(draft)
    assert code == 0, report
    snap = snapshot(draft)
    # the traffic-light Thing has no stream the cockpit measures: one counting station
    [site] = snap.sites.to_dict("records")
    assert (site["lat"], site["lon"]) == (53.447992, 9.917789)  # GeoJSON [9.917789, 53.447992]
    time, flow, unit = value(snap, site["id"], "vehicle_flow")
    assert unit == "veh/h" and flow == pytest.approx(731 / 24)
    assert time == pd.Timestamp("2026-05-25T21:59:59Z")  # the end of the counting day


# --------------------------------------------------------------------------- NGSI


SDM = FIXTURES / "ngsi" / "smart-data-models"


def serve_broker(server: HTTPServer, path: str, entities: list[dict[str, Any]], ctype: str) -> None:
    """A broker's ``entities`` query: by ``type``, paged by ``offset`` and ``limit``."""

    def handler(request: Request) -> Response:
        wanted = request.args.get("type")
        found = [e for e in entities if wanted in (None, e["type"])]
        offset, limit = int(request.args.get("offset", 0)), int(request.args.get("limit", 20))
        return Response(json.dumps(found[offset : offset + limit]), content_type=ctype)

    server.expect_request(path).respond_with_handler(handler)


def sdm(entity_type: str, file: str) -> dict[str, Any]:
    return json.loads((SDM / entity_type / file).read_text(encoding="utf-8"))


def test_ngsi_v2_broker_with_presets_and_other_types(
    server: HTTPServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    types = ("AirQualityObserved", "OffStreetParking", "WeatherObserved", "BikeHireDockingStation")
    entities = [sdm(t, "example-normalized.json") for t in types]
    serve_broker(server, "/v2/entities", entities, "application/json")

    code, out, draft = discover(
        server.url_for("/"), tmp_path, capsys, "--timezone", "Europe/Madrid"
    )

    assert code == 0, out
    assert "NGSI v2" in out
    text = draft.read_text()
    # types the cockpit has no preset for are mapped by their attributes
    assert "[sources.weatherobserved.options]" in text and "air_temperature" in text
    assert "freeSlotNumber" in text and "free_docks" in text
    code, report = checked(draft)
    assert code == 0, report
    config = load_config(draft)
    assert len(config.sources) == 4
    air = snapshot(draft, list(config.sources).index("airqualityobserved"))
    site = site_at(air, 40.423852777777775, -3.712247222222222)  # [lon, lat] in the entity
    time, no2, unit = value(air, site["id"], "no2")
    assert (no2, unit) == (69.0, "µg/m³")  # unitCode GQ
    # an NGSI DateTime without an offset is UTC (as Orion stores it), whatever the city's zone
    assert time == pd.Timestamp("2016-03-15T11:00:00Z")
    weather = snapshot(draft, list(config.sources).index("weatherobserved"))
    site = site_at(weather, 41.640833333, -4.754444444)
    time, temperature, unit = value(weather, site["id"], "air_temperature")
    assert (temperature, unit) == (3.3, "°C")
    assert time == pd.Timestamp("2016-11-30T07:00:00Z")
    bikes = snapshot(draft, list(config.sources).index("bikehiredockingstation"))
    site = site_at(bikes, 41.397952, 2.180042)
    time, docks, unit = value(bikes, site["id"], "free_docks")
    assert (docks, unit) == (10.0, "count")
    assert time == pd.Timestamp("2021-03-11T15:51:02+05:30").tz_convert("UTC")


def test_ngsi_ld_broker_by_its_type_list(
    server: HTTPServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    types = ["AirQualityObserved", "OffStreetParking"]
    entities = [sdm(t, "example-normalized.jsonld") for t in types]
    # the type list as NGSI-LD (ETSI GS CIM 009, 5.7.5) answers /types
    serve_json(
        server,
        "/ngsi-ld/v1/types",
        {"id": "urn:ngsi-ld:EntityTypeList:1", "type": "EntityTypeList", "typeList": types},
        "application/ld+json",
    )
    serve_broker(server, "/ngsi-ld/v1/entities", entities, "application/ld+json")

    code, out, draft = discover(
        server.url_for("/"), tmp_path, capsys, "--timezone", "Europe/Madrid"
    )

    assert code == 0, out
    assert "NGSI-LD" in out
    code, report = checked(draft)
    assert code == 0, report
    config = load_config(draft)
    parking = snapshot(draft, list(config.sources).index("offstreetparking"))
    [site] = parking.sites.to_dict("records")
    entity = entities[1]
    lon, lat = entity["location"]["value"]["coordinates"]
    assert (site["lat"], site["lon"]) == (lat, lon)
    time, free, unit = value(parking, site["id"], "free_spaces")
    assert (free, unit) == (float(entity["availableSpotNumber"]["value"]), "count")
    assert time.tzinfo is not None


# --------------------------------------------------------------------------- failures


def test_an_html_page_is_not_recognised_exit_2_one_line(
    server: HTTPServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.expect_request("/").respond_with_data(
        "<!doctype html><html><body>City portal</body></html>", content_type="text/html"
    )

    code = main(["discover", server.url_for("/"), "--write", str(tmp_path / "draft.toml")])

    captured = capsys.readouterr()
    assert code == 2
    [line] = captured.err.strip().splitlines()
    assert line.startswith("city-cockpit: no known platform recognised at")
    assert "text/html" in line and "Traceback" not in captured.err
    assert not (tmp_path / "draft.toml").exists()
    # it asked the well-known paths of each platform, on this host only
    asked = {request.path for request, _ in server.log}
    assert {"/v2/entities", "/ngsi-ld/v1/types", "/gbfs.json", "/v1.1"} <= asked


def test_an_unreachable_server_exit_2_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["discover", closed_port_url() + "/v1.1", "--write", str(tmp_path / "draft.toml")])

    captured = capsys.readouterr()
    assert code == 2
    [line] = captured.err.strip().splitlines()
    assert line.startswith("city-cockpit: cannot read") and "could not connect" in line
    assert not (tmp_path / "draft.toml").exists()


def test_the_command_in_its_own_process_never_shows_a_traceback(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    code = "import sys; from wiring.cli import main; sys.exit(main(sys.argv[1:]))"
    url = closed_port_url() + "/gbfs.json"
    proc = subprocess.run(
        [sys.executable, "-c", code, "discover", url, "-o", str(tmp_path / "d.toml")],
        capture_output=True,
        text=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert [line for line in proc.stderr.splitlines() if line.startswith("city-cockpit:")] == [
        line for line in proc.stderr.splitlines() if line.strip()
    ]


def test_not_a_url_and_an_unknown_domain_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["discover", "ftp://example.org/data.csv"]) == 2
    assert "not an http(s) URL" in capsys.readouterr().err
    assert main(["discover", closed_port_url() + "/", "--domain", "weather_on_mars"]) == 2
    assert "unknown domain 'weather_on_mars'" in capsys.readouterr().err


def test_links_to_another_host_are_not_followed(
    server: HTTPServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a real discovery file whose feeds live on another host (test.com)
    serve_json(server, "/gbfs.json", load("gbfs/v2.3/gbfs.json"))

    code = main(["discover", server.url_for("/gbfs.json")])

    captured = capsys.readouterr()
    assert code == 2
    assert "refusing to follow a link to another host" in captured.err
    assert all(request.host.startswith(("localhost", "127.0.0.1")) for request, _ in server.log)


def test_opendatasoft_v21_records_of_several_domains_become_one_source_each(
    server: HTTPServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = "microclimate-sensors-data"
    page = load("opendatasoft/built/microclimate-sensors-data_v2.1_records.json")
    path = f"/api/explore/v2.1/catalog/datasets/{dataset}/records"
    serve_json(server, path, page, "application/json; charset=utf-8")

    code, out, draft = discover(server.url_for(path), tmp_path, capsys)

    assert code == 0, out
    code, report = checked(draft)
    assert code == 0, report
    config = load_config(draft)
    domains = {source: s.options["domain"] for source, s in config.sources.items()}
    assert sorted(domains.values()) == ["air", "noise", "weather"]
    [record] = page["results"]
    for index, domain in enumerate(domains.values()):
        snap = snapshot(draft, index)
        [site] = snap.sites.to_dict("records")
        assert (site["lat"], site["lon"]) == (record["latlong"]["lat"], record["latlong"]["lon"])
        metric, field = {"air": ("pm10", "pm10"), "weather": ("air_temperature", "airtemperature"),
                         "noise": ("laeq", "noise")}[domain]  # fmt: skip
        time, reading, unit = value(snap, site["id"], metric)
        assert reading == record[field]
        assert unit == {"pm10": "µg/m³", "air_temperature": "°C", "laeq": "dB(A)"}[metric]
        assert time == pd.Timestamp("2023-05-18T06:09:52Z")  # "+00:00" in the record
    # no unit was stated by the portal: each assumed unit is marked for checking
    assert draft.read_text().count("no unit stated") >= 4


def test_sensorthings_without_expand_follows_links_and_checks_the_value_range(
    server: HTTPServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the specification's entities with navigation links only (to example.org: followed
    # by their standard paths on this host), and a recorded BGS Observation page
    sta.serve_links_only(server, sta.load("ogc-sta-1.1-spec/datastream_entity.json"))

    code, out, _ = discover(server.url_for("/v1.1/Things"), tmp_path, capsys)

    assert "navigation links followed" in out
    # "DewPoint Temperature" in °C, but its newest value is 1009.86: not a temperature
    assert "'DewPoint Temperature'" in out and "no metric proposed" in out
    assert code == 1
    asked = {request.path for request, _ in server.log}
    assert {"/v1.1/Things(1)/Datastreams", "/v1.1/Things(1)/Locations"} <= asked
    assert "/v1.1/Datastreams(1)/ObservedProperty" in asked


def test_socrata_dataset_page_address(
    server: HTTPServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = load("socrata/seattle_spokane-st-bridge-bike-counter_v6y4-2gyc_2014-01.json")
    serve_json(server, "/resource/v6y4-2gyc.json", rows[:50])
    page = "/Transportation/Spokane-St-Bridge-Bike-Counter/v6y4-2gyc"
    server.expect_request(page).respond_with_data("<html></html>", content_type="text/html")

    code, out, draft = discover(server.url_for(page), tmp_path, capsys, "--domain", "cycling")

    assert code == 0, out
    assert "Socrata" in out and 'dataset = "v6y4-2gyc"' in draft.read_text()


def test_ckan_state_texts_are_mapped_through_a_mapped_field(
    server: HTTPServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the real Melbourne bay rows (OpenDataSoft) in a DataStore answer built by this test
    rows = load("opendatasoft/built/parking-bay-sensors_v2.1_page1.json")["results"]
    action = "/api/3/action/datastore_search"
    body = {
        "help": "",
        "success": True,
        "result": {"resource_id": "bay-sensors", "records": rows, "total": len(rows)},
    }

    def handler(request: Request) -> Response:
        offset, limit = int(request.args.get("offset", 0)), int(request.args.get("limit", 100))
        page = {**body, "result": {**body["result"], "records": rows[offset : offset + limit]}}
        return Response(json.dumps(page), content_type="application/json")

    server.expect_request(action).respond_with_handler(handler)

    code, out, draft = discover(
        server.url_for(f"{action}?resource_id=bay-sensors"), tmp_path, capsys
    )

    assert code == 0, out
    code, report = checked(draft)
    assert code == 0, report
    snap = snapshot(draft)
    taken = next(r for r in rows if r["status_description"] == "Present")
    site = site_at(snap, taken["location"]["lat"], taken["location"]["lon"])
    time, state, unit = value(snap, site["id"], "bay_occupied")
    assert (state, unit) == (1.0, "1")
    assert time == pd.Timestamp(taken["lastupdated"])


def test_csv_file_wide_with_a_names_row(
    server: HTTPServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = FIXTURES / "csv" / "ottawa_bike-counters_daily-wide.csv"
    server.expect_request("/bike-counters.csv").respond_with_data(
        file.read_bytes(), content_type="text/csv"
    )

    code, out, draft = discover(server.url_for("/bike-counters.csv"), tmp_path, capsys)

    assert code == 0, out
    assert "a column per site" in out and "13 site(s)" in out
    options = load_config(draft).sources["bike_counters_csv"].options
    assert (options["layout"], options["metric"], options["names_row"]) == (
        "wide",
        "cyclists_daily",
        "Title",
    )
    assert check_config(str(draft), offline=True, out=io.StringIO()) == 0
    # the file places no counter: the draft says so, and check-config refuses it until then
    assert "site_locations" in draft.read_text()
    code, report = checked(draft)
    assert code == 1 and "no usable site" in report


def test_sensorthings_streams_of_two_domains_become_two_sources(
    server: HTTPServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the recorded car counting station and bike counting field (no Location: placed by
    # its Datastream's observedArea)
    things = sta.collection([sta.kfz_thing(), sta.bike_thing()])
    serve_json(server, "/v1.1/Things", things)
    serve_json(server, "/v1.1/Datastreams", sta.collection([]))

    code, out, draft = discover(server.url_for("/v1.1/Things"), tmp_path, capsys)

    assert code == 0, out
    config = load_config(draft)
    streams = {s.options["domain"]: s.options["streams"] for s in config.sources.values()}
    assert streams["traffic"] == [
        {
            "observed_property": "^Anzahl Kfz je Zählstelle$",
            "metric": "vehicle_flow",
            "per_interval": True,
        }
    ]
    # no ObservedProperty served: every counting field by its name before its code
    assert streams["cycling"] == [
        {"name": "^Fahrradaufkommen an Zählfeld ", "metric": "cyclists", "per_interval": True}
    ]
    # both places inside the city's box, each where the recorded entity puts it
    min_lon, min_lat, max_lon, max_lat = config.city.bbox
    for lat, lon in ((53.447992, 9.917789), (53.461316652, 9.978648204)):
        assert min_lat < lat < max_lat and min_lon < lon < max_lon
