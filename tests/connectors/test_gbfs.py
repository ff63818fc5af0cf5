"""GBFS connector against feeds served over real HTTP on 127.0.0.1.

Answers are from tests/fixtures/gbfs/ (see its PROVENANCE.md): Nice Ride Minneapolis'
v1.0 station feeds (real, 2016), Oslo Bysykkel's v2.2 station feeds (real, 2022/2023),
TIER Wolfsburg's v2.3 free-floating scooters (real positions, 2023) and MobilityData's
v2.3 and v3.0 schema fixtures.
"""

from __future__ import annotations

import contextlib
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
from cockpit.domains.bike_share import DOMAIN
from cockpit.errors import ConfigError, ConnectorError, ParseError
from cockpit.model import OBSERVATION_COLUMNS, SITE_COLUMNS, validate_observations
from cockpit.source import SourceContext, build_connector
from connectors.gbfs import GbfsConnector, parse_discovery, parse_stations, parse_vehicles
from tests.connectors.faults import TEST_OPTIONS, TRANSPORT_FAULTS, closed_port_url, serve_fault

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "gbfs"
MINNEAPOLIS = (-93.40, 44.85, -93.00, 45.10)  # Minneapolis and St Paul
WOLFSBURG = (10.60, 52.30, 10.95, 52.50)


@pytest.fixture(autouse=True)
def bike_share() -> Iterator[None]:
    register(DOMAIN)
    yield
    unregister(DOMAIN.name)


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def serve_json(server: HTTPServer, path: str, body: Any) -> None:
    server.expect_request(path).respond_with_data(
        json.dumps(body), content_type="application/json; charset=utf-8"
    )


def serve_system(server: HTTPServer, folder: str, files: dict[str, str]) -> str:
    """Serve ``folder/gbfs.json`` with its feeds pointed at this server; ``files`` maps a
    feed name to the recorded answer served for it. Returns the discovery URL."""
    discovery = load(f"{folder}/gbfs.json")
    data = discovery["data"]
    lists = [data["feeds"]] if "feeds" in data else [v["feeds"] for v in data.values()]
    for feeds in lists:
        for feed in feeds:
            feed["url"] = server.url_for(f"/{folder}/{feed['name']}")
    serve_json(server, f"/{folder}/gbfs.json", discovery)
    for name, file in files.items():
        serve_json(server, f"/{folder}/{name}", load(f"{folder}/{file}"))
    return server.url_for(f"/{folder}/gbfs.json")


def make(
    url: str,
    options: dict[str, Any] | None = None,
    bbox: tuple[float, float, float, float] | None = None,
) -> GbfsConnector:
    config = SourceConfig(
        connector="gbfs",
        name="Bike share",
        publisher="Operator",
        licence="operator licence",
        url=url,
        options={**TEST_OPTIONS, **(options or {})},
    )
    connector = build_connector(SourceContext("bikes", config, bbox=bbox))
    assert isinstance(connector, GbfsConnector)
    return connector


def value(obs: pd.DataFrame, site: str, metric: str) -> float:
    row = obs[(obs["site_id"] == site) & (obs["metric"] == metric)]
    assert len(row) == 1, (site, metric)
    return float(row["value"].iloc[0])


def test_v1_real_stations_joined_with_their_status(httpserver: HTTPServer) -> None:
    serve_json(httpserver, "/info", load("real/niceride-mpls_v1.0_station_information.json"))
    serve_json(httpserver, "/status", load("real/niceride-mpls_v1.0_station_status.json"))
    feeds = {
        "station_information": httpserver.url_for("/info"),
        "station_status": httpserver.url_for("/status"),
    }
    snap = make("", {"feeds": feeds}, MINNEAPOLIS).snapshot()
    assert len(snap.sites) == 198
    first = snap.sites.set_index("id").loc["bikes:2"]
    assert first["name"] == "100 Main Street SE"
    assert (first["lat"], first["lon"]) == (44.984892, -93.256551)
    obs = snap.observations
    assert value(obs, "bikes:2", "hire_bikes") == 9
    assert value(obs, "bikes:2", "free_docks") == 18
    assert value(obs, "bikes:2", "dock_places") == 27  # the stated capacity
    assert value(obs, "bikes:2", "station_empty") == 0
    # last_reported is served as text: "1473913730"
    when = obs[(obs["site_id"] == "bikes:2")]["time"].iloc[0]
    assert when == pd.Timestamp("2016-09-15T04:28:50Z")
    # Station 75 holds 9 disabled bikes and is not renting: empty for a rider.
    assert value(obs, "bikes:75", "station_empty") == 1
    # Station 40 is not installed (is_installed 0): a site, but no observation.
    assert "bikes:40" in set(snap.sites["id"])
    assert "bikes:40" not in set(obs["site_id"])


def test_v23_discovery_finds_the_station_feeds(httpserver: HTTPServer) -> None:
    url = serve_system(
        httpserver,
        "v2.3",
        {
            "station_information": "station_information.json",
            "station_status": "station_status.json",
        },
    )
    snap = make(url, {"vehicles": False}).snapshot()
    assert set(snap.sites["id"]) == {"bikes:TST:Station:1", "bikes:TST:Station:2"}
    obs = snap.observations
    assert value(obs, "bikes:TST:Station:1", "hire_bikes") == 1
    assert value(obs, "bikes:TST:Station:1", "free_docks") == 3
    assert value(obs, "bikes:TST:Station:1", "dock_places") == 4  # no capacity: 1 + 3
    assert set(obs["time"]) == {pd.Timestamp(1751437263, unit="s", tz="UTC")}


def test_v30_localised_names_rfc3339_times_and_vehicles_available(httpserver: HTTPServer) -> None:
    url = serve_system(
        httpserver,
        "v3.0",
        {
            "station_information": "station_information.json",
            "station_status": "station_status.json",
        },
    )
    snap = make(url, {"vehicles": False}).snapshot()
    assert len(snap.sites) == 23
    site = "bikes:6efbec5a-6b8c-455b-bed2-8d66be6d6a4b"
    assert snap.sites.set_index("id").loc[site, "name"] == "2 ROUES"
    obs = snap.observations
    assert value(obs, site, "hire_bikes") == 0  # num_vehicles_available
    assert value(obs, site, "station_empty") == 1
    assert "free_docks" not in set(obs["metric"])  # a virtual station has no docks
    assert obs["time"].iloc[0] == pd.Timestamp("2019-07-04T13:33:03.969Z")


def test_free_floating_scooters_counted_per_cell(httpserver: HTTPServer) -> None:
    url = serve_system(
        httpserver, "tier-wolfsburg_v2.3", {"free_bike_status": "free_bike_status_trimmed.json"}
    )
    snap = make(url, {"grid_m": 1000, "max_bytes": 1_000_000}, WOLFSBURG).snapshot()
    obs = snap.observations
    assert set(obs["metric"]) == {"parked_vehicles"}
    assert obs["value"].sum() == 200  # every scooter of the answer, none reserved/disabled
    assert len(snap.sites) == len(obs) > 1
    assert set(snap.sites["kind"]) == {"area"}
    assert set(obs["time"]) == {pd.Timestamp(1691742180, unit="s", tz="UTC")}
    assert snap.sites["lat"].between(52.36, 52.47).all()
    assert snap.sites["lon"].between(10.67, 10.87).all()


def test_coarser_cells_hold_the_same_vehicles() -> None:
    payload = load("tier-wolfsburg_v2.3/free_bike_status_trimmed.json")
    fine_sites, fine = parse_vehicles(payload, "s", grid_m=200)
    coarse_sites, coarse = parse_vehicles(payload, "s", grid_m=5000)
    assert fine["value"].sum() == coarse["value"].sum() == 200
    assert len(coarse_sites) < len(fine_sites)


def test_answers_are_reused_within_their_ttl(httpserver: HTTPServer) -> None:
    serve_json(httpserver, "/info", load("real/niceride-mpls_v1.0_station_information.json"))
    serve_json(httpserver, "/status", load("real/niceride-mpls_v1.0_station_status.json"))
    feeds = {
        "station_information": httpserver.url_for("/info"),
        "station_status": httpserver.url_for("/status"),
    }
    connector = make("", {"feeds": feeds, "max_reuse_s": 30})
    connector.snapshot()
    connector.snapshot()
    status_requests = [r for r, _ in httpserver.log if r.path == "/status"]
    assert len(status_requests) == 1  # ttl 60 s, capped at 30 s: read once


def test_read_window_holds_the_present_only(httpserver: HTTPServer) -> None:
    url = serve_system(
        httpserver,
        "v2.3",
        {
            "station_information": "station_information.json",
            "station_status": "station_status.json",
        },
    )
    connector = make(url, {"vehicles": False})
    sites = connector.discover_sites()
    when = datetime.fromtimestamp(1751437263, UTC)
    inside = connector.read_window(sites, when.replace(hour=0), when.replace(hour=23))
    before = connector.read_window(
        sites, datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 1, 2, tzinfo=UTC)
    )
    assert len(inside) == 10 and before.empty


# --------------------------------------------------------------------------- faults


@pytest.mark.parametrize("kind", sorted(TRANSPORT_FAULTS))
def test_transport_faults_raise_typed_errors(httpserver: HTTPServer, kind: str) -> None:
    body = (FIXTURES / "v2.3" / "gbfs.json").read_bytes()
    serve_fault(httpserver, "/gbfs.json", kind, body)
    with pytest.raises(TRANSPORT_FAULTS[kind]):
        make(httpserver.url_for("/gbfs.json")).snapshot()


def test_connection_refused_is_a_fetch_error() -> None:
    with pytest.raises(ConnectorError):
        make(closed_port_url() + "/gbfs.json").snapshot()


def test_a_failing_feed_fails_the_read_with_its_url(httpserver: HTTPServer) -> None:
    url = serve_system(httpserver, "v2.3", {"station_information": "station_information.json"})
    serve_json(httpserver, "/v2.3/station_status", {"error": "maintenance"})
    with pytest.raises(ParseError) as caught:
        make(url, {"vehicles": False}).snapshot()
    assert caught.value.url is not None and "station_status" in caught.value.url


def test_discovery_without_the_read_feeds_is_a_parse_error(httpserver: HTTPServer) -> None:
    url = serve_system(httpserver, "v2.3", {})
    with pytest.raises(ParseError, match="none of the feeds"):
        make(url, {"stations": False, "vehicles": False}).snapshot()


def test_unknown_language_and_bad_options() -> None:
    with pytest.raises(ParseError, match="language"):
        parse_discovery(load("v2.3/gbfs.json"), "s", language="fr")
    with pytest.raises(ConfigError, match="grid_m"):
        make("http://127.0.0.1/gbfs.json", {"grid_m": 1})
    with pytest.raises(ConfigError, match="colour"):
        make("http://127.0.0.1/gbfs.json", {"colour": "red"})


# --------------------------------------------------------------------------- fuzz

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
SCALAR = (
    st.none() | st.booleans() | st.integers(-5, 2_000_000_000) | st.floats() | st.text(max_size=12)
)
STATION = st.fixed_dictionaries(
    {},
    optional={
        k: SCALAR
        for k in (
            "station_id",
            "name",
            "lat",
            "lon",
            "capacity",
            "num_bikes_available",
            "num_docks_available",
            "is_installed",
            "is_renting",
            "is_returning",
            "last_reported",
            "num_vehicles_available",
        )
    },
)
FEED = st.fixed_dictionaries(
    {
        "data": st.fixed_dictionaries(
            {},
            optional={
                "stations": st.lists(STATION, max_size=4) | JSON,
                "bikes": st.lists(STATION, max_size=4) | JSON,
            },
        )
    },
    optional={"last_updated": SCALAR, "ttl": SCALAR},
)


def assert_canonical(frame: pd.DataFrame, columns: dict[str, str]) -> None:
    assert list(frame.columns) == list(columns)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(information=FEED | JSON, status=FEED | JSON, vehicles=FEED | JSON, discovery=JSON)
def test_any_json_gives_frames_or_typed_errors(
    information: Any, status: Any, vehicles: Any, discovery: Any
) -> None:
    with contextlib.suppress(ConnectorError):
        parse_discovery(discovery, "s")
    try:
        sites, obs = parse_stations(information, status, "s")
    except ConnectorError:
        pass
    else:
        assert_canonical(sites, SITE_COLUMNS)
        assert_canonical(obs, OBSERVATION_COLUMNS)
        validate_observations(obs)
    try:
        sites, obs = parse_vehicles(vehicles, "s")
    except ConnectorError:
        pass
    else:
        assert_canonical(sites, SITE_COLUMNS)
        assert_canonical(obs, OBSERVATION_COLUMNS)
        assert len(sites) == len(obs)


def test_mapping_derives_maps_and_sets_constants_on_joined_stations(
    httpserver: HTTPServer,
) -> None:
    information = load("real/niceride-mpls_v1.0_station_information.json")
    status = load("real/niceride-mpls_v1.0_station_status.json")
    serve_json(httpserver, "/info", information)
    serve_json(httpserver, "/status", status)
    feeds = {
        "station_information": httpserver.url_for("/info"),
        "station_status": httpserver.url_for("/status"),
    }
    options = {
        "feeds": feeds,
        "values": {
            "free_docks": {"field": "usable_docks"},
            "station_empty": {"field": "closed"},
            "dock_places": {"field": "places"},
        },
        "mapping": {
            "fields": {
                # derived from both feeds: the station's capacity (information) less
                # what its status says is taken or broken
                "usable_docks": {
                    "expr": "capacity - num_bikes_available - num_bikes_disabled"
                    " - num_docks_disabled",
                    "unit": "count",
                },
                # a value map: not renting (served as 0/1) counts as empty for a rider
                "closed": {"path": "is_renting", "map": {"0": 1, "1": 0}},
                # a constant
                "places": {"const": 30, "unit": "count"},
            }
        },
    }
    snap = make("", options, MINNEAPOLIS).snapshot()
    obs = snap.observations
    capacity = {s["station_id"]: s["capacity"] for s in information["data"]["stations"]}
    for entry in status["data"]["stations"]:
        if entry["station_id"] not in ("2", "75"):
            continue
        site = f"bikes:{entry['station_id']}"
        expected = (
            capacity[entry["station_id"]]
            - entry["num_bikes_available"]
            - entry["num_bikes_disabled"]
            - entry["num_docks_disabled"]
        )
        assert value(obs, site, "free_docks") == expected
        assert value(obs, site, "station_empty") == (1 if entry["is_renting"] == 0 else 0)
        assert value(obs, site, "dock_places") == 30
        assert value(obs, site, "hire_bikes") == entry["num_bikes_available"]  # built in
    assert value(obs, "bikes:75", "station_empty") == 1  # station 75 is not renting


def test_gbfs_mapping_typos_and_units_are_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"mapping\.fields\.x"):
        make("http://127.0.0.1/gbfs.json", {"mapping": {"fields": {"x": {"pth": "a"}}}})
    with pytest.raises(ConfigError, match="unit"):
        make("http://127.0.0.1/gbfs.json", {"values": {"hire_bikes": {"field": "a", "unit": "kg"}}})
    with pytest.raises(ConfigError, match="metric"):
        make("http://127.0.0.1/gbfs.json", {"values": {"bikes": {"field": "a"}}})


OSLO = (10.55, 59.85, 10.95, 60.02)


def test_v22_real_oslo_stations_and_a_status_of_stations_not_yet_listed(
    httpserver: HTTPServer,
) -> None:
    """Oslo Bysykkel (v2.2, real): the status (July 2023) lists stations that the
    information recorded earlier (October 2022) does not know yet; they are left out,
    never placed nowhere."""
    folder = "oslo-bysykkel_v2.2"
    serve_json(httpserver, "/info", load(f"{folder}/station_information_trimmed.json"))
    serve_json(httpserver, "/status", load(f"{folder}/station_status_trimmed.json"))
    feeds = {
        "station_information": httpserver.url_for("/info"),
        "station_status": httpserver.url_for("/status"),
    }
    snap = make("", {"feeds": feeds}, OSLO).snapshot()
    assert len(snap.sites) == 10 and snap.rejected == 0
    sogn = snap.sites.set_index("id").loc["bikes:2351"]
    assert sogn["name"] == "Sogn Studentby"
    assert (sogn["lat"], sogn["lon"]) == (59.95208441268443, 10.727852791011173)
    obs = snap.observations
    assert value(obs, "bikes:2351", "hire_bikes") == 1
    assert value(obs, "bikes:2351", "free_docks") == 17
    assert value(obs, "bikes:2351", "dock_places") == 18  # the stated capacity
    assert value(obs, "bikes:2351", "station_full") == 0
    assert set(obs["time"]) == {pd.Timestamp("2023-07-07T12:31:43Z")}
    assert not {"bikes:2358", "bikes:2357", "bikes:2355"} & set(obs["site_id"])
