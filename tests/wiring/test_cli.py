"""The ``city-cockpit`` command: ``python app.py`` as a person runs it (a real process
serving the demo city), checking a config, the backfill's arguments and progress bars.

Its other commands are tested where their work is: ``backfill`` in
tests/cockpit/test_backfill.py, ``move-data`` in tests/cockpit/state/test_move.py and
``hash-password`` in tests/cockpit/test_auth.py."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from cockpit.backfill import Chunk
from cockpit.state.move import MoveStep
from tests.browser import free_port
from wiring.cli import MoveProgressBar, ProgressBar, _moment, check_config, main

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
            except requests.ConnectionError:
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
