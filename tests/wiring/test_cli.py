"""The ``city-cockpit`` command: ``python app.py`` as a person runs it (a real process
serving the demo city), checking a config (exit codes, rejection reasons and
``--explain`` against a CKAN portal on 127.0.0.1 serving the recorded Melbourne
pedestrian rows), the backfill's arguments and progress bars.

Its other commands are tested where their work is: ``backfill`` in
tests/cockpit/test_backfill.py, ``move-data`` in tests/cockpit/state/test_move.py and
``hash-password`` in tests/cockpit/test_auth.py."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from cockpit.backfill import Chunk
from cockpit.config import OidcConfig
from cockpit.state.move import MoveStep
from tests.browser import free_port
from tests.city_toml import city_tables
from tests.cockpit.test_config import oidc_city, write_variant
from tests.oidc_provider import running_provider
from wiring.cli import (
    MoveProgressBar,
    ProgressBar,
    _moment,
    check_config,
    main,
    probe_provider,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "PORT": str(port)}
    data = tmp_path_factory.mktemp("data")
    proc = subprocess.Popen(
        [sys.executable, "app.py", "--data-dir", str(data)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        # Generous: a first start backfills the demo history, and CI machines are busy.
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{base}/health", timeout=5).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):  # not serving yet, or busy
                pass
            if proc.poll() is not None:
                raise RuntimeError(proc.stdout.read().decode() if proc.stdout else "")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_app_serves_cockpit_on_port_from_environment(served: str) -> None:
    page = requests.get(served + "/", timeout=10)
    assert page.status_code == 200
    assert "City Cockpit" in page.text


def test_health_reports_each_source(served: str) -> None:
    report = requests.get(served + "/health", timeout=10).json()
    assert set(report["sources"]) == {"pedestrians", "traffic", "air", "parking"}
    for entry in report["sources"].values():
        assert entry["status"] in ("ok", "stale", "down")
        assert "age_s" in entry and "last_success" in entry
        assert "last_error" not in entry  # public viewers see no error text
    assert report["status"] in ("ok", "stale", "down")


def test_check_config_reports_the_demo_city(capsys: pytest.CaptureFixture[str]) -> None:
    code = check_config(str(ROOT / "cities" / "demo-melbourne.toml"))
    out = capsys.readouterr().out
    assert code == 0
    assert "66 pedestrians" in out
    assert "3309 parking" in out
    assert "rejected 1 site(s): coordinates outside the city" in out  # SCATS site 4266 at 0/0


def test_check_config_notes_words_that_would_stay_english(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_variant(tmp_path, 'title = "Traffic"', 'title = "Road traffic"')
    assert check_config(str(path), offline=True) == 0  # a note, not an error
    out = capsys.readouterr().out
    assert "note: 1 word(s) stay English for 'de' viewers" in out
    assert "[translations.de]: 'Road traffic'" in out
    check_config(str(ROOT / "cities" / "demo-melbourne.toml"), offline=True)
    assert "note:" not in capsys.readouterr().out  # the shipped demo says every word


def test_check_config_notes_a_missing_single_sign_on_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CITY_OIDC_SECRET", raising=False)
    assert check_config(str(oidc_city(tmp_path)), offline=True) == 0
    assert "note: access.oidc.client_secret_env: $CITY_OIDC_SECRET is not set" in (
        capsys.readouterr().out
    )
    monkeypatch.setenv("CITY_OIDC_SECRET", "set")
    check_config(str(oidc_city(tmp_path)), offline=True)
    assert "CITY_OIDC_SECRET" not in capsys.readouterr().out


def test_check_config_probes_the_single_sign_on_provider(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def sso(issuer: str) -> OidcConfig:
        return OidcConfig(issuer=issuer, client_id="city-cockpit", roles={"staff": "staff"})

    with running_provider({}) as provider:
        assert probe_provider(sso(provider.issuer), sys.stdout)
        out = capsys.readouterr().out
        assert f"single sign-on: OK {provider.issuer}: PKCE S256" in out
        assert "sign-out at the provider yes" in out
        # The same provider configured under another issuer: every sign-in would fail.
        assert not probe_provider(sso(provider.issuer + "/"), sys.stdout)
        assert f"the provider names issuer '{provider.issuer}'" in capsys.readouterr().out
    assert not probe_provider(sso(provider.issuer), sys.stdout, timeout_s=2)  # gone
    assert "single sign-on: FAILED" in capsys.readouterr().out


def test_check_config_names_file_key_and_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "city.toml"
    text = (ROOT / "cities" / "demo-melbourne.toml").read_text(encoding="utf-8")
    bad.write_text(text.replace('timezone = "Australia/Melbourne"', 'timezone = "Mars/Olympus"'))
    assert check_config(str(bad), offline=True) == 2
    out = capsys.readouterr().out
    assert str(bad) in out and "city.timezone" in out and "unknown IANA time zone" in out


def test_bad_config_stops_the_app_with_a_clear_message(tmp_path: Path) -> None:
    bad = tmp_path / "city.toml"
    bad.write_text("[city]\nname = 'X'\n")
    proc = subprocess.run(
        [sys.executable, "app.py", "--config", str(bad), "--port", str(free_port())],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert f"{bad}: city.timezone: required key is missing" in proc.stderr


DEMO = str(ROOT / "cities" / "demo-melbourne.toml")


def test_a_day_is_midnight_on_the_city_clock_and_a_time_is_utc() -> None:
    tz = "Australia/Melbourne"
    assert _moment("2026-11-24", tz) == datetime(2026, 11, 23, 13, 0, tzinfo=UTC)  # AEDT
    assert _moment("2026-11-24T05:00", tz) == datetime(2026, 11, 24, 5, 0, tzinfo=UTC)
    assert _moment("2026-11-24T05:00+01:00", tz) == datetime(2026, 11, 24, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (["--source", "trams"], "unknown source(s) ['trams']"),
        (["--since", "last tuesday"], "not a day or time"),
        (["--until", "2026-11-01"], "--since must be before --until"),
        (["--chunk-hours", "0"], "--since must be before --until"),
    ],
)
def test_backfill_refuses_wrong_arguments_before_reading(
    arguments: list[str], says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    given = {"--since": "2026-11-20", "--until": "2026-11-21"}
    for flag, value in zip(arguments[::2], arguments[1::2], strict=True):
        given[flag] = value
    flags = [part for pair in given.items() for part in pair]
    code = main(["backfill", "--config", DEMO, "--data-dir", str(tmp_path), *flags])
    assert code == 2
    assert says in capsys.readouterr().err
    assert not list(tmp_path.iterdir())  # nothing was opened


def test_backfill_of_a_broken_config_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "city.toml"
    bad.write_text("[city]\nname = 'X'\n")
    assert main(["backfill", "--config", str(bad), "--since", "2026-11-20"]) == 2
    assert "config error" in capsys.readouterr().err


def test_the_backfill_progress_bar_writes_a_line_per_chunk(
    capsys: pytest.CaptureFixture[str],
) -> None:
    start = datetime(2026, 11, 20, tzinfo=UTC)
    bar = ProgressBar(2, "backfill")
    bar(Chunk("air", start, start + timedelta(days=1), 0, 2, rows=24))
    bar(Chunk("air", start + timedelta(days=1), start + timedelta(days=2), 1, 2, resumed=True))
    bar.close()
    err = capsys.readouterr().err
    assert "air: chunk 1/2 2026-11-20T00:00:00+00:00 .. 2026-11-21T00:00:00+00:00 done, 24" in err
    assert "air: chunk 2/2" in err and "done before" in err
    assert bar.bar.n == 2


def test_the_move_progress_bar_keeps_one_bar_per_kind(
    capsys: pytest.CaptureFixture[str],
) -> None:
    bar = MoveProgressBar()
    bar(MoveStep("audit_events", rows=5, done=5, total=8))
    first = bar.bar
    bar(MoveStep("audit_events", rows=3, done=8, total=8))
    assert bar.bar is first and first.n == 8
    bar(MoveStep("notices", rows=1, done=1, total=1))
    assert bar.bar is not first and bar.kind == "notices"
    bar.close()
    assert bar.bar is None
    bar.close()  # closing twice is harmless
    assert capsys.readouterr().err


# -- check-config: strict exit codes and --explain ------------------------------------

ROWS = ROOT / "tests" / "fixtures" / "ckan" / "melbourne-pedestrians_datastore_search.json"
ACTION = "/api/3/action/datastore_search"

CITY = (
    city_tables(
        "Test city", "Australia/Melbourne", [144.55, -38.05, 145.40, -37.55], (-37.81, 144.96), 13
    )
    + """
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
)
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


def test_a_push_typo_exits_2_with_file_key_and_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = Path(city(tmp_path, None))
    text = path.read_text(encoding="utf-8").replace(
        'connector = "ckan"', 'connector = "ckan"\npush = { mqtt = "mqtt://127.0.0.1:1883" }'
    )
    path.write_text(text, encoding="utf-8")
    code, out = run(capsys, str(path), offline=True)
    assert code == 2
    assert f"INVALID {path}" in out and "key: sources.ped\n" in out
    assert "the 'ckan' connector cannot receive pushes" in out
    path.write_text(text.replace("mqtt = ", "mqqt = "), encoding="utf-8")
    code, out = run(capsys, str(path), offline=True)
    assert code == 2 and "key: sources.ped.push.mqqt\n" in out


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


STA_CITY = (
    city_tables("Test city", "Europe/Berlin", [9.72, 53.38, 10.34, 53.75], (53.55, 9.99), 12)
    + """
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
)


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
