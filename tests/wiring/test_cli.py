"""`python app.py` as a person runs it: a real process serving the demo city."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from wiring.cli import check_config

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
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
        [sys.executable, "app.py", "--config", str(bad), "--port", str(_free_port())],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert f"{bad}: city.timezone: required key is missing" in proc.stderr
