"""``city-cockpit check-config``: exit codes, rejection reasons and ``--explain``, against
a CKAN portal on 127.0.0.1 serving the recorded Melbourne pedestrian rows."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from wiring.cli import check_config, main

ROOT = Path(__file__).resolve().parents[2]
ROWS = ROOT / "tests" / "fixtures" / "ckan" / "melbourne-pedestrians_datastore_search.json"
ACTION = "/api/3/action/datastore_search"

CITY = """
[city]
name = "Test city"
timezone = "Australia/Melbourne"
bbox = [144.55, -38.05, 145.40, -37.55]

[map]
center = [-37.81, 144.96]
zoom = 13

[sources.ped]
connector = "ckan"
name = "Pedestrian Counting System"
publisher = "City of Melbourne"
licence = "CC BY 4.0"
url = "{url}"

[sources.ped.options]
resource_id = "b2ak-trbp-pedestrian-counts-sep-2025"
domain = "pedestrians"
kind = "counter"
site_field = "Location_ID"
name_field = "Sensor_Name"
time_field = "Sensing_Date"
hour_field = "HourDay"
location_field = "Location"
connect_timeout_s = 2
read_timeout_s = 5
retries = 0
{options}

[layers.ped]
domain = "pedestrians"
title = "Pedestrians"
sources = ["ped"]
metric = "pedestrians"
"""
VALUES = 'values = { Total_of_Directions = { metric = "pedestrians", unit = "persons/h" } }'


def serve_rows(server: HTTPServer) -> None:
    body = json.loads(ROWS.read_text(encoding="utf-8"))

    def handler(request: Request) -> Response:
        offset = int(request.args.get("offset", 0))
        limit = int(request.args.get("limit", 100))
        page = copy.deepcopy(body)
        page["result"]["records"] = page["result"]["records"][offset : offset + limit]
        return Response(json.dumps(page), content_type="application/json")

    server.expect_request(ACTION).respond_with_handler(handler)


def city(tmp_path: Path, server: HTTPServer | None, options: str = VALUES) -> str:
    url = server.url_for("/") if server else "http://127.0.0.1:9"
    path = tmp_path / "city.toml"
    path.write_text(CITY.format(url=url, options=options), encoding="utf-8")
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *args: Any, **kwargs: Any) -> tuple[int, str]:
    code = check_config(*args, **kwargs)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.out


def test_a_source_with_usable_sites_and_observations_passes(
    httpserver: HTTPServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    serve_rows(httpserver)
    code, out = run(capsys, city(tmp_path, httpserver))
    assert code == 0
    assert "ped: 3 pedestrians; newest observation 2025-09-30 09:00:00+00:00" in out


@pytest.mark.parametrize(
    ("options", "key", "problem"),
    [
        # a typo in the mapping: found when the file loads
        (
            VALUES + '\nmapping = { fields = { total = { exp = "a + b" } } }',
            "sources.ped.options.mapping.fields.total.exp",
            "unknown key",
        ),
        # an expression calling what it may not
        (
            VALUES + '\nmapping = { fields = { total = { expr = "open(a)" } } }',
            "sources.ped.options.mapping.fields.total",
            "calls only min, max, coalesce or if_null",
        ),
        # a connector's own option: found when the connector is built, still exit 2
        ("", "sources.ped.options.values", "required key is missing|Field required"),
        (
            'values = { Total_of_Directions = { metric = "walkers", unit = "persons/h" } }',
            "sources.ped.options.values.Total_of_Directions.metric",
            "unknown metric 'walkers'",
        ),
    ],
)
def test_option_errors_exit_2_with_file_key_and_reason(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    options: str,
    key: str,
    problem: str,
) -> None:
    path = city(tmp_path, None, options)
    for offline in (True, False):
        code, out = run(capsys, path, offline=offline)
        assert code == 2
        assert f"INVALID {path}" in out
        assert f"key: {key}\n" in out
        assert any(p in out for p in problem.split("|")), out


def test_an_entity_type_the_broker_connector_does_not_know_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = CITY.format(url="http://127.0.0.1:9", options="").replace('"ckan"', '"ngsi-v2"')
    head, _, tail = text.partition("[sources.ped.options]")
    options = '[sources.ped.options]\ntypes = ["WeatherObserved"]\n'
    path = tmp_path / "city.toml"
    path.write_text(head + options + tail[tail.index("[layers.ped]") :], encoding="utf-8")

    code, out = run(capsys, str(path), offline=True)

    assert code == 2
    assert "key: sources.ped.options.types\n" in out
    assert "unknown entity types ['WeatherObserved']" in out


def test_zero_usable_observations_exit_1_with_reasons_counts_and_an_example(
    httpserver: HTTPServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    serve_rows(httpserver)
    # The counts are published per hour of people, but configured as vehicles per hour.
    wrong = 'values = { Total_of_Directions = { metric = "pedestrians", unit = "veh/h" } }'

    code, out = run(capsys, city(tmp_path, httpserver, wrong))

    assert code == 1
    assert "ped: 3 pedestrians; newest observation None; 3 rows rejected" in out
    assert "rejected 3 observation(s): unit is not canonical" in out
    example = out.split("e.g. ", 1)[1].splitlines()[0]
    row = json.loads(example)
    assert row["unit"] == "veh/h" and row["site_id"].startswith("ped:")
    assert "ped: FAILED no usable observation" in out


def test_rows_whose_times_cannot_be_read_exit_1(
    httpserver: HTTPServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    serve_rows(httpserver)
    options = VALUES + '\ntime_format = "%d/%m/%Y"'

    code, out = run(capsys, city(tmp_path, httpserver, options))

    assert code == 1
    assert "rejected 3 observation(s): no time" in out
    assert '"time": null' in out


def test_an_unreachable_source_exits_1_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(capsys, city(tmp_path, None))
    assert code == 1
    assert "ped: FAILED source 'ped'" in out


def test_explain_prints_records_as_read_as_mapped_and_kept(
    httpserver: HTTPServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    serve_rows(httpserver)
    options = (
        'values = { both = { metric = "pedestrians" } }\n'
        'mapping = { fields = { both = { expr = "Direction_1 + Direction_2", '
        'unit = "persons/h" } } }'
    )

    code, out = run(capsys, city(tmp_path, httpserver, options), explain="ped", records=2)

    assert code == 0
    assert out.count("record ") == 2
    read = json.loads(out.split("  read:   ", 1)[1].splitlines()[0])
    mapped = json.loads(out.split("  mapped: ", 1)[1].splitlines()[0])
    assert read["Location_ID"] == 185 and "both" not in read
    assert mapped["both"] == 952.0  # 449 + 503
    assert "  KEPT: 1 site(s), 1 observation(s)" in out


def test_explain_says_why_records_are_dropped(
    httpserver: HTTPServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    serve_rows(httpserver)
    options = (
        'values = { both = { metric = "pedestrians" } }\n'
        'mapping = { fields = { both = { expr = "Direction_1 + Direction_9", '
        'unit = "persons/h" } } }'
    )

    code, out = run(capsys, city(tmp_path, httpserver, options), explain="ped")

    assert code == 1
    assert "DROPPED: 1 site(s), 0 observation(s); mapping both: expression reads " in out
    assert "'Direction_9', not in the record" in out
    assert "observation: value missing or not finite" in out


def test_explain_of_an_unknown_source_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(capsys, city(tmp_path, None), explain="bikes")
    assert code == 2
    assert "key: --explain" in out and "no source 'bikes' (have: ped)" in out


def test_main_passes_explain_and_records(
    httpserver: HTTPServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    serve_rows(httpserver)
    code = main(["check-config", city(tmp_path, httpserver), "--explain", "ped", "--records", "1"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.count("record ") == 1 and "KEPT" in out


STA_CITY = """
[city]
name = "Test city"
timezone = "Europe/Berlin"
bbox = [9.72, 53.38, 10.34, 53.75]

[map]
center = [53.55, 9.99]
zoom = 12

[sources.air]
connector = "sensorthings"
name = "Sensors"
publisher = "City"
licence = "CC BY 4.0"
url = "{url}"

[sources.air.options]
domain = "air"
streams = [{{ observed_property = "^PM10", metric = "pm10" }}]
connect_timeout_s = 2
read_timeout_s = 5
retries = 0

[layers.air]
domain = "air"
title = "Air"
sources = ["air"]
metric = "pm10"
thresholds = [20]
labels = ["good", "poor"]
"""


def test_a_sensorthings_server_giving_no_site_exits_1(
    httpserver: HTTPServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The specification's Thing, served without $expand; its one Datastream measures
    # the temperature of an oven, which no rule of this source asks for.
    spec = ROOT / "tests" / "fixtures" / "sensorthings" / "ogc-sta-1.1-spec"
    thing = json.loads((spec / "thing_entity.json").read_text(encoding="utf-8"))
    datastream = json.loads((spec / "datastream_entity.json").read_text(encoding="utf-8"))
    answers = {
        "/v1.1/Things": {"value": [thing]},
        "/v1.1/Things(1)/Datastreams": {"value": [datastream]},
        "/v1.1/Things(1)/Locations": {"value": []},
        "/v1.1/Datastreams(1)/ObservedProperty": {"name": "Temperature"},
    }
    for path, body in answers.items():
        httpserver.expect_request(path).respond_with_json(body)
    path = tmp_path / "city.toml"
    path.write_text(STA_CITY.format(url=httpserver.url_for("/v1.1")), encoding="utf-8")

    code, out = run(capsys, str(path))

    assert code == 1
    assert "air: no sites; newest observation None; 0 rows rejected" in out
    assert "air: FAILED no usable site" in out
    assert "nothing in it could be read" in out
