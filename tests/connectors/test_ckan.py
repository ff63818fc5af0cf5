"""CKAN DataStore connector over real HTTP, fed with recorded ``datastore_search`` answers.

Fixtures are in tests/fixtures/ckan/ (see its PROVENANCE.md): Aarhus's recorded answer,
and City of Melbourne pedestrian-count rows in a ``datastore_search`` answer. A small
handler pages them by ``offset``/``limit`` the way CKAN does.
"""

from __future__ import annotations

import copy
import json
import math
import uuid
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from cockpit.errors import (
    ConfigError,
    ConnectorError,
    FetchError,
    ParseError,
    TooManyPages,
    UpstreamStatusError,
)
from cockpit.model import OBSERVATION_COLUMNS, SITE_COLUMNS, validate_observations, validate_sites
from cockpit.source import build_connector
from connectors.ckan import (
    CkanConnector,
    CkanOptions,
    observations_from_records,
    parse_datastore_search,
    sites_from_records,
)
from tests.connectors.faults import TEST_OPTIONS, TRANSPORT_FAULTS, closed_port_url, serve_fault
from tests.connectors.sources import source_context

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "ckan"
ACTION = "/api/3/action/datastore_search"
MELBOURNE_BBOX = (144.55, -38.05, 145.40, -37.55)
AARHUS_BBOX = (10.0, 56.05, 10.35, 56.25)
PEDESTRIAN_OPTIONS = {
    "resource_id": "b2ak-trbp-pedestrian-counts-sep-2025",
    "domain": "pedestrians",
    "kind": "counter",
    "site_field": "Location_ID",
    "name_field": "Sensor_Name",
    "time_field": "Sensing_Date",
    "hour_field": "HourDay",
    "location_field": "Location",
    "values": {"Total_of_Directions": {"metric": "pedestrians", "unit": "persons/h"}},
    "page_size": 5,
}


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def pedestrians() -> dict[str, Any]:
    return load("melbourne-pedestrians_datastore_search.json")


def serve_datastore(server: HTTPServer, body: dict[str, Any]) -> None:
    """Answer ``datastore_search`` from ``body``'s rows, paged by offset and limit."""

    def handler(request: Request) -> Response:
        offset = int(request.args.get("offset", 0))
        limit = int(request.args.get("limit", 100))
        page = copy.deepcopy(body)
        result = page["result"]
        result["records"] = result["records"][offset : offset + limit]
        result.update({"offset": offset, "limit": limit})
        return Response(json.dumps(page), content_type="application/json")

    server.expect_request(ACTION).respond_with_handler(handler)


def make_connector(
    url: str,
    options: dict[str, Any] | None = None,
    credentials: dict[str, str] | None = None,
    environ: dict[str, str] | None = None,
    bbox: tuple[float, float, float, float] = MELBOURNE_BBOX,
    timezone: str = "Australia/Melbourne",
) -> CkanConnector:
    context = source_context(
        "ped",
        "ckan",
        url,
        ("Pedestrian Counting System", "City of Melbourne", "CC BY 4.0"),
        {**PEDESTRIAN_OPTIONS, **(options or {})},
        credentials,
        environ,
        bbox,
        timezone,
    )
    connector = build_connector(context)
    assert isinstance(connector, CkanConnector)
    return connector


def requests_made(server: HTTPServer) -> list[Request]:
    return [request for request, _ in server.log if request.path == ACTION]


# --------------------------------------------------------------------------- values


def test_discover_sites_from_the_rows(httpserver: HTTPServer) -> None:
    serve_datastore(httpserver, pedestrians())
    conn = make_connector(httpserver.url_for("/"))

    sites = conn.discover_sites().set_index("id")

    assert sorted(sites.index) == ["ped:185", "ped:43", "ped:59"]
    rmit = sites.loc["ped:59"]
    assert rmit["name"] == "RMIT_T"
    assert (rmit["lat"], rmit["lon"]) == (-37.80825648, 144.96304859)
    assert (rmit["domain"], rmit["kind"], rmit["source"]) == ("pedestrians", "counter", "ped")
    assert sites.loc["ped:185", "name"] == "Eli197_T"
    assert (sites.loc["ped:43", "lat"], sites.loc["ped:43", "lon"]) == (
        -37.79844526,
        144.96411782,
    )
    first, *rest = requests_made(httpserver)
    assert first.args["resource_id"] == "b2ak-trbp-pedestrian-counts-sep-2025"
    assert first.args["distinct"] == "true"
    assert first.args["fields"] == "Location_ID,Sensor_Name,Location"
    assert first.args["sort"] == "Location_ID"
    # 12 rows, 5 per page: offsets 0, 5 and 10, then total is reached.
    assert [r.args["offset"] for r in [first, *rest]] == ["0", "5", "10"]
    assert {r.args["limit"] for r in [first, *rest]} == {"5"}


def test_latest_count_per_site_in_utc(httpserver: HTTPServer) -> None:
    serve_datastore(httpserver, pedestrians())
    conn = make_connector(httpserver.url_for("/"))

    snapshot = conn.snapshot()

    assert snapshot.rejected == 0
    rows = snapshot.observations.sort_values("site_id").to_dict("records")
    # Local Melbourne hours (AEST, UTC+10 in September) become UTC.
    assert rows == [
        {
            "site_id": "ped:185",
            "metric": "pedestrians",
            "time": pd.Timestamp("2025-09-30T09:00Z"),
            "value": 952.0,
            "unit": "persons/h",
        },
        {
            "site_id": "ped:43",
            "metric": "pedestrians",
            "time": pd.Timestamp("2025-09-27T18:00Z"),
            "value": 1.0,
            "unit": "persons/h",
        },
        {
            "site_id": "ped:59",
            "metric": "pedestrians",
            "time": pd.Timestamp("2025-09-27T00:00Z"),
            "value": 565.0,
            "unit": "persons/h",
        },
    ]
    latest = [r for r in requests_made(httpserver) if "distinct" not in r.args]
    # Every site appears on the first page (newest first), so one page is enough.
    assert len(latest) == 1
    assert latest[0].args["sort"] == "Sensing_Date desc, HourDay desc"


def test_read_window_reads_newest_first_until_before_the_start(httpserver: HTTPServer) -> None:
    serve_datastore(httpserver, pedestrians())
    conn = make_connector(httpserver.url_for("/"))
    sites = conn.discover_sites()
    httpserver.clear_log()

    window = conn.read_window(
        sites, pd.Timestamp("2025-09-25T00:00Z"), pd.Timestamp("2025-09-26T00:00Z")
    )

    assert window[["site_id", "time", "value"]].to_dict("records") == [
        {"site_id": "ped:43", "time": pd.Timestamp("2025-09-25T01:00Z"), "value": 454.0},
        {"site_id": "ped:59", "time": pd.Timestamp("2025-09-25T12:00Z"), "value": 618.0},
    ]
    assert list(window.dtypes.astype(str)) == list(OBSERVATION_COLUMNS.values())
    assert [r.args["offset"] for r in requests_made(httpserver)] == ["0", "5"]


def test_recorded_aarhus_answer_local_times_and_unconvertible_unit(httpserver: HTTPServer) -> None:
    serve_datastore(httpserver, load("aarhus-odaa_datastore_search.json"))
    options = {
        "resource_id": "38d6520a-b1b9-4224-a7ae-23d4b14f598f",
        "site_field": "ServiceTypeName",
        "name_field": None,
        "time_field": "date",
        "hour_field": None,
        "time_format": "%Y/%m/%d %H:%M:%S",
        "location_field": None,
        # One service centre: a point in central Aarhus stands for it.
        "location": [56.1567, 10.2108],
        # Waiting customers are a head count, not a rate: no cockpit metric fits, and the
        # connector must not pretend one does.
        "values": {"WaitingCustomersMQ": {"metric": "pedestrians", "unit": "count"}},
        "page_size": 100,
    }
    conn = make_connector(
        httpserver.url_for("/api/3/action"),
        options=options,
        bbox=AARHUS_BBOX,
        timezone="Europe/Copenhagen",
    )

    sites = conn.discover_sites()
    latest = conn.read_latest(sites).set_index("site_id")
    snapshot = conn.snapshot()

    assert len(sites) == 9
    assert sites.set_index("id").loc["ped:Kørekort", "name"] == "Kørekort"
    assert latest.loc["ped:Pas", "value"] == 1.0
    assert latest.loc["ped:Booking teori- og køreprøve", "value"] == 8.0
    # 09:30:04 in Copenhagen summer time (UTC+2).
    assert latest.loc["ped:Pas", "time"] == pd.Timestamp("2017-05-22T07:30:04Z")
    assert set(latest["unit"]) == {"count"}
    assert snapshot.observations.empty
    assert snapshot.rejected == 9
    assert snapshot.notes == ["rejected 9 observation(s): unit is not canonical"]


def test_local_times_that_do_not_exist_are_rejected() -> None:
    options = CkanOptions.model_validate(PEDESTRIAN_OPTIONS)
    row = dict(pedestrians()["result"]["records"][3])
    # Melbourne's clocks jumped from 02:00 to 03:00 on 5 October 2025.
    gap = {**row, "Sensing_Date": "2025-10-05", "HourDay": 2}
    after = {**row, "Sensing_Date": "2025-10-05", "HourDay": 3}
    frame = observations_from_records([gap, after], options, "ped", "Australia/Melbourne")
    assert frame["time"].isna().tolist() == [True, False]
    assert frame["time"].iloc[1] == pd.Timestamp("2025-10-04T16:00Z")  # 03:00 AEDT
    assert validate_observations(frame)[1]["reason"].tolist() == ["no time"]


# --------------------------------------------------------------------------- paging


def test_paging_that_never_reaches_total_raises_too_many_pages(httpserver: HTTPServer) -> None:
    body = pedestrians()
    body["result"]["total"] = 10**9
    httpserver.expect_request(ACTION).respond_with_data(
        json.dumps(body), content_type="application/json"
    )
    conn = make_connector(httpserver.url_for("/"))
    with pytest.raises(TooManyPages):
        conn.discover_sites()
    assert len(requests_made(httpserver)) == TEST_OPTIONS["max_pages"]


def test_without_total_a_short_page_is_the_last(httpserver: HTTPServer) -> None:
    body = pedestrians()
    del body["result"]["total"]
    serve_datastore(httpserver, body)
    conn = make_connector(httpserver.url_for("/"))
    assert len(conn.discover_sites()) == 3
    assert [r.args["offset"] for r in requests_made(httpserver)] == ["0", "5", "10"]


# --------------------------------------------------------------------------- faults


@pytest.mark.parametrize("kind", sorted(TRANSPORT_FAULTS))
def test_transport_faults_raise_typed_errors(httpserver: HTTPServer, kind: str) -> None:
    serve_fault(httpserver, ACTION, kind, json.dumps(pedestrians()).encode())
    conn = make_connector(httpserver.url_for("/"))
    with pytest.raises(TRANSPORT_FAULTS[kind]):
        conn.discover_sites()


def test_connection_refused_raises_fetch_error() -> None:
    conn = make_connector(closed_port_url())
    with pytest.raises(FetchError):
        conn.discover_sites()


# CKAN's error envelope, as its action API documents it.
AUTHORIZATION_ERROR = {
    "help": "https://demo.ckan.org/api/3/action/help_show?name=datastore_search",
    "success": False,
    "error": {
        "__type": "Authorization Error",
        "message": "Access denied: User not authorized to read resource",
    },
}


def test_success_false_envelope_is_an_upstream_error(httpserver: HTTPServer) -> None:
    # Some proxies pass CKAN's refusal on with status 200; the envelope still says it.
    httpserver.expect_request(ACTION).respond_with_data(
        json.dumps(AUTHORIZATION_ERROR), content_type="application/json"
    )
    conn = make_connector(httpserver.url_for("/"))
    with pytest.raises(UpstreamStatusError, match="Authorization Error: Access denied") as caught:
        conn.discover_sites()
    assert caught.value.status == 403


def test_error_status_with_envelope_is_an_upstream_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request(ACTION).respond_with_data(
        json.dumps(AUTHORIZATION_ERROR), status=403, content_type="application/json"
    )
    conn = make_connector(httpserver.url_for("/"))
    with pytest.raises(UpstreamStatusError) as caught:
        conn.discover_sites()
    assert caught.value.status == 403


def test_renamed_column_is_a_parse_error_naming_it(httpserver: HTTPServer) -> None:
    body = pedestrians()
    result = body["result"]
    for field in result["fields"]:
        if field["id"] == "Total_of_Directions":
            field["id"] = "Total"
    result["records"] = [
        {("Total" if k == "Total_of_Directions" else k): v for k, v in r.items()}
        for r in result["records"]
    ]
    serve_datastore(httpserver, body)
    conn = make_connector(httpserver.url_for("/"))
    sites = conn.discover_sites()  # the site columns are all still there
    with pytest.raises(ParseError, match="Total_of_Directions"):
        conn.read_latest(sites)


def test_an_answer_of_another_resource_is_a_parse_error(httpserver: HTTPServer) -> None:
    serve_datastore(httpserver, load("aarhus-odaa_datastore_search.json"))
    conn = make_connector(httpserver.url_for("/"))
    with pytest.raises(ParseError, match="no column"):
        conn.discover_sites()


def _row_as(site: int, location: str, total: Any) -> dict[str, Any]:
    """The newest recorded RMIT_T row under another site id, place and count (platform
    faults are made of real rows with one value changed)."""
    row = dict(pedestrians()["result"]["records"][3])
    row.update({"Location_ID": site, "Location": location, "Total_of_Directions": total})
    return row


def test_bad_values_and_places_are_dropped_and_counted(httpserver: HTTPServer) -> None:
    here = "-37.80825648, 144.96304859"
    rows = [
        _row_as(1, here, math.nan),
        _row_as(2, here, -5),
        _row_as(3, here, 250_000),
        _row_as(4, here, "565"),
        _row_as(5, here, None),
        _row_as(6, "144.96304859, -37.80825648", 565),  # lat/lon swapped
        _row_as(7, "-33.8688, 151.2093", 565),  # Sydney: outside the city
        _row_as(8, "not a place", 565),
    ]
    body = pedestrians()
    body["result"]["records"] = rows
    body["result"]["total"] = len(rows)
    serve_datastore(httpserver, body)
    conn = make_connector(httpserver.url_for("/"), options={"page_size": 100})

    snapshot = conn.snapshot()

    assert snapshot.sites["id"].tolist() == [f"ped:{i}" for i in (1, 2, 3, 4, 5)]
    assert snapshot.observations[["site_id", "value"]].to_dict("records") == [
        {"site_id": "ped:4", "value": 565.0}
    ]
    assert snapshot.rejected == 7
    # A swapped pair puts the latitude at 144.96: not a WGS84 latitude at all.
    assert sorted(snapshot.notes) == [
        "rejected 1 site(s): coordinates outside the city",
        "rejected 2 observation(s): value missing or not finite",
        "rejected 2 observation(s): value outside the metric's range",
        "rejected 2 site(s): coordinates missing or not WGS84",
    ]


# --------------------------------------------------------------------------- credentials


def test_api_token_is_sent_and_never_shown(httpserver: HTTPServer) -> None:
    secret = "ckan-token-" + uuid.uuid4().hex
    serve_datastore(httpserver, pedestrians())
    conn = make_connector(
        httpserver.url_for("/"),
        credentials={"api_key": "CKAN_API_TOKEN"},
        environ={"CKAN_API_TOKEN": secret},
    )
    conn.discover_sites()
    assert {r.headers["Authorization"] for r in requests_made(httpserver)} == {secret}

    httpserver.clear()
    httpserver.expect_request(ACTION).respond_with_data("down", status=500)
    with pytest.raises(UpstreamStatusError) as caught:
        conn.discover_sites()
    assert secret not in str(caught.value)


def test_api_key_as_parameter_is_redacted(httpserver: HTTPServer) -> None:
    secret = "ckan-key-" + uuid.uuid4().hex
    serve_datastore(httpserver, pedestrians())
    conn = make_connector(
        httpserver.url_for("/"),
        options={"api_key_param": "apikey"},
        credentials={"api_key": "CKAN_KEY"},
        environ={"CKAN_KEY": secret},
    )
    conn.discover_sites()
    assert requests_made(httpserver)[0].args["apikey"] == secret

    httpserver.clear()
    httpserver.expect_request(ACTION).respond_with_data("busy", status=503)
    with pytest.raises(UpstreamStatusError) as caught:
        conn.discover_sites()
    assert secret not in str(caught.value)
    assert "apikey=%2A%2A%2A" in str(caught.value)  # "***", URL-encoded


def test_wrong_options_are_config_errors(httpserver: HTTPServer) -> None:
    url = httpserver.url_for("/")
    with pytest.raises(ConfigError, match="coordinates one way"):
        make_connector(url, options={"location": [-37.8, 144.9]})
    with pytest.raises(ConfigError, match="time zone"):
        make_connector(url, options={"timezone": "Mars/Olympus"})
    with pytest.raises(ConfigError, match="metric"):
        make_connector(url, options={"values": {"x": {"metric": "noise", "unit": "dB"}}})
    with pytest.raises(ConfigError, match="resource_id"):
        make_connector(url, options={"resource_id": ""})


# --------------------------------------------------------------------------- properties

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["success", "result", "records", "fields", "total", "error", "id"])
            | st.text(max_size=4),
            inner,
            max_size=5,
        )
    ),
    max_leaves=25,
)


def mostly(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``good`` nine times in ten, any JSON value otherwise."""
    return st.integers(0, 9).flatmap(lambda pick: JSON if pick == 0 else good)


_RECORD = st.fixed_dictionaries(
    {},
    optional={
        "Location_ID": mostly(st.integers(0, 3) | st.sampled_from(["59", " 59 ", ""])),
        "Sensor_Name": mostly(st.text(max_size=6)),
        "Sensing_Date": mostly(
            st.sampled_from(
                [
                    "2025-09-25",
                    "2025-10-05",
                    "2025-09-25T10:00:00",
                    "2025-09-25T10:00:00+10:00",
                    "0001-01-01",
                    "9999-12-31",
                    "2025/09/25",
                    "",
                ]
            )
        ),
        "HourDay": mostly(st.integers(-1, 25) | st.floats() | st.sampled_from(["3", "x"])),
        "Location": mostly(
            st.sampled_from(["-37.8, 144.9", "144.9, -37.8", "x, y", ",", "1,2,3"])
            | st.fixed_dictionaries({"lat": JSON, "lon": JSON})
        ),
        "Total_of_Directions": mostly(
            st.integers() | st.floats() | st.sampled_from(["565", "1e400", "NaN", "", " 7 "])
        ),
    },
)
BODIES = st.one_of(
    JSON,
    st.fixed_dictionaries(
        {
            "success": mostly(st.just(True)),
            "result": mostly(
                st.fixed_dictionaries(
                    {"records": mostly(st.lists(_RECORD, max_size=6))},
                    optional={"total": JSON, "fields": JSON},
                )
            ),
        }
    ),
    st.fixed_dictionaries({"success": st.just(False), "error": JSON}),
)
OPTIONS = CkanOptions.model_validate(PEDESTRIAN_OPTIONS)


def assert_canonical(frame: pd.DataFrame, columns: dict[str, str]) -> None:
    assert list(frame.columns) == list(columns)
    for column, dtype in columns.items():
        if dtype != "object":
            assert str(frame[column].dtype) == dtype, column


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=BODIES)
def test_arbitrary_json_gives_typed_errors_or_canonical_frames(body: Any) -> None:
    try:
        page = parse_datastore_search(body, "ped")
    except ConnectorError:
        return
    sites = sites_from_records(page.records, OPTIONS, "ped")
    assert_canonical(sites, SITE_COLUMNS)
    validate_sites(sites, MELBOURNE_BBOX)
    frame = observations_from_records(page.records, OPTIONS, "ped", "Australia/Melbourne")
    assert_canonical(frame, OBSERVATION_COLUMNS)
    assert len(frame) == len(page.records)
    good, rejected = validate_observations(frame)
    assert len(good) + len(rejected) == len(frame)


def test_parse_errors_name_the_source_and_the_url() -> None:
    url = "http://127.0.0.1/api/3/action/datastore_search"
    for body in ([], {"success": True}, {"success": True, "result": {"records": [1]}}):
        with pytest.raises(ParseError) as caught:
            parse_datastore_search(body, "ped", url)
        assert (caught.value.source, caught.value.url) == ("ped", url)


# --------------------------------------------------------------------------- URL forms


def serve_datastore_at(server: HTTPServer, path: str, body: dict[str, Any]) -> None:
    """``serve_datastore`` at another path (a full action URL as a portal publishes it)."""

    def handler(request: Request) -> Response:
        offset = int(request.args.get("offset", 0))
        limit = int(request.args.get("limit", 100))
        page = copy.deepcopy(body)
        page["result"]["records"] = page["result"]["records"][offset : offset + limit]
        return Response(json.dumps(page), content_type="application/json")

    server.expect_request(path).respond_with_handler(handler)


@pytest.mark.parametrize(
    "path",
    [
        "/api/action/datastore/search.json",  # DKAN 1 and old CKAN portals
        "/api/action/datastore_search",
        "/api/3/action/datastore_search",
        "/portal/api/3/action/datastore_search",
    ],
)
def test_a_full_action_url_is_used_as_given(httpserver: HTTPServer, path: str) -> None:
    serve_datastore_at(httpserver, path, pedestrians())
    conn = make_connector(httpserver.url_for(path))

    snapshot = conn.snapshot()

    assert sorted(snapshot.sites["id"]) == ["ped:185", "ped:43", "ped:59"]
    assert len(snapshot.observations) == 3
    assert {r.path for r, _ in httpserver.log} == {path}


def dkan2_answer(body: dict[str, Any]) -> dict[str, Any]:
    """The recorded rows in a DKAN 2 datastore query answer (``results``, ``count``,
    ``schema``), as DKAN 2's API documents it; no recorded DKAN answer is at hand."""
    result = body["result"]
    fields = {f["id"]: {"type": f["type"]} for f in result["fields"]}
    return {
        "results": result["records"],
        "count": result["total"],
        "schema": {"b2ak-trbp": {"fields": fields}},
    }


def test_dkan2_query_url_pages_by_limit_and_offset(httpserver: HTTPServer) -> None:
    path = "/api/1/datastore/query/b2ak-trbp/0"
    answer = dkan2_answer(pedestrians())

    def handler(request: Request) -> Response:
        offset, limit = int(request.args["offset"]), int(request.args["limit"])
        page = {**answer, "results": answer["results"][offset : offset + limit]}
        return Response(json.dumps(page), content_type="application/json")

    httpserver.expect_request(path).respond_with_handler(handler)
    conn = make_connector(httpserver.url_for(path))

    snapshot = conn.snapshot()

    assert sorted(snapshot.sites["id"]) == ["ped:185", "ped:43", "ped:59"]
    assert snapshot.rejected == 0
    requests = [r for r, _ in httpserver.log]
    assert {r.path for r in requests} == {path}
    assert "resource_id" not in requests[0].args and "distinct" not in requests[0].args
    assert requests[0].args["sorts[0][property]"] == "Location_ID"
    newest_first = [r for r in requests if r.args.get("sorts[0][property]") == "Sensing_Date"]
    assert newest_first and newest_first[0].args["sorts[0][order]"] == "desc"
    assert newest_first[0].args["sorts[1][property]"] == "HourDay"


def test_mapping_renames_and_derives_columns(httpserver: HTTPServer) -> None:
    serve_datastore(httpserver, pedestrians())
    options = {
        "site_field": "sensor",
        "values": {"both_ways": {"metric": "pedestrians"}},
        "mapping": {
            "fields": {
                "sensor": "Location_ID",
                "both_ways": {"expr": "Direction_1 + Direction_2", "unit": "persons/h"},
            }
        },
    }
    conn = make_connector(httpserver.url_for("/"), options=options)

    snapshot = conn.snapshot()

    rows = snapshot.observations.set_index("site_id")
    # 449 + 503 people passed Eli197_T in the hour: the recorded Total_of_Directions
    assert rows.loc["ped:185", "value"] == 952.0
    assert rows.loc["ped:185", "unit"] == "persons/h"
    assert sorted(snapshot.sites["id"]) == ["ped:185", "ped:43", "ped:59"]
    first = requests_made(httpserver)[0]
    assert "fields" not in first.args  # mapped fields read whole rows


def test_explain_shows_rows_as_read_and_mapped(httpserver: HTTPServer) -> None:
    serve_datastore(httpserver, pedestrians())
    options = {
        "values": {"both_ways": {"metric": "pedestrians"}},
        "mapping": {
            "fields": {"both_ways": {"expr": "Direction_1 + Direction_3", "unit": "persons/h"}}
        },
    }
    conn = make_connector(httpserver.url_for("/"), options=options)

    [first, *_] = conn.explain(2)

    assert first.read["Location_ID"] == 185 and "both_ways" not in first.read
    assert first.mapped["both_ways"] is None
    assert not first.kept
    assert "mapping both_ways: expression reads 'Direction_3', not in the record" in first.reasons
    assert "observation: value missing or not finite" in first.reasons


def test_a_recorded_dkan1_answer_at_its_full_action_url(httpserver: HTTPServer) -> None:
    """A real DKAN 7.x-1.x answer (Odesa region, data.ngorg.od.ua): the portal's
    ``…/api/action/datastore/search.json`` is asked as given, not rewritten into a
    ``datastore_search`` path that would answer 404. The resource lists a hospital's
    medicine stock; it is read here for the URL form and the answer's shape (the total
    and every number served as text, ``resource_id`` as a list), the domain is only the
    test config's label."""
    path = "/uk/api/action/datastore/search.json"
    body = load("odesa-ngorg_dkan1_datastore_search.json")
    httpserver.expect_request(path).respond_with_json(body)
    options = {
        "resource_id": "c345edfe-b855-4f1d-b8db-a246dfc2da65",
        "site_field": "Nazva likuvalnoho zakladu",
        "name_field": "Nazva likuvalnoho zakladu",
        "time_field": "timestamp",
        "hour_field": "",
        "location_field": "",
        "location": [46.48, 30.73],
        "values": {"Kilkist": {"metric": "pedestrians", "unit": "persons/h"}},
        "page_size": 100,
    }
    conn = make_connector(
        httpserver.url_for(path), options, bbox=(28.0, 45.0, 32.0, 48.5), timezone="Europe/Kyiv"
    )
    sites = conn.discover_sites()
    assert {r.path for r, _ in httpserver.log} == {path}  # no 404 path, no rewrite
    assert httpserver.log[0][0].args["resource_id"] == options["resource_id"]
    assert list(sites["name"]) == ["Центральна районна лікарня"]  # trailing space served

    page = parse_datastore_search(body, "od")
    assert page.total is None  # "113": a text, not trusted as a count
    assert len(page.records) == 5 and page.fields is not None and "Kilkist" in page.fields
