"""The app factory over real HTTP: responses travel compressed and assets are cached by
fingerprint; a pushed source is subscribed once the app runs and unsubscribed when it
closes."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from pytest_httpserver import HTTPServer

from tests.browser import AppServers
from tests.cockpit.test_push import Broker, open_runtime, traffic, write_city
from wiring.app import create_app
from wiring.runtime import Runtime

YEAR = "max-age=31536000"


@pytest.fixture(scope="module")
def runtime(app_server: AppServers) -> Runtime:
    return app_server.city(backfill=False)


@pytest.fixture(scope="module")
def base(app_server: AppServers, runtime: Runtime) -> str:
    return app_server.url(runtime)


def _get(url: str, encoding: str, **kwargs: Any) -> requests.Response:
    return requests.get(url, headers={"Accept-Encoding": encoding}, timeout=60, **kwargs)


@pytest.mark.parametrize("encoding", ["br", "gzip"])
def test_page_is_compressed_as_the_browser_asks(base: str, encoding: str) -> None:
    answer = _get(f"{base}/", encoding)
    assert answer.status_code == 200
    assert answer.headers["Content-Encoding"] == encoding
    assert "Accept-Encoding" in answer.headers.get("Vary", "")
    assert "<html" in answer.text  # requests decoded it: the bytes were real br / gzip


def test_no_compression_when_not_asked(base: str) -> None:
    answer = _get(f"{base}/", "identity")
    assert "Content-Encoding" not in answer.headers
    assert "<html" in answer.text


def test_callback_answers_are_compressed(base: str, runtime: Runtime) -> None:
    payload = {
        "output": "cc-version.data",
        "outputs": {"id": "cc-version", "property": "data"},
        "inputs": [{"id": "cc-tick", "property": "n_intervals", "value": 1}],
        "state": [{"id": "cc-version", "property": "data", "value": -1}],
        "changedPropIds": ["cc-tick.n_intervals"],
    }
    poll = requests.post(f"{base}/_dash-update-component", json=payload, timeout=60)
    assert poll.json()["response"]["cc-version"]["data"] == runtime.city.version()
    layout = requests.get(
        f"{base}/_dash-dependencies", headers={"Accept-Encoding": "gzip"}, timeout=60
    )
    assert layout.headers["Content-Encoding"] == "gzip"
    assert any(d["output"] == "cc-version.data" for d in layout.json())


def _scripts(base: str) -> list[str]:
    page = _get(f"{base}/", "gzip").text
    return re.findall(r'<script src="([^"]+)"', page)


def test_dash_scripts_are_fingerprinted_and_cached_for_a_year(base: str) -> None:
    suites = [s for s in _scripts(base) if "_dash-component-suites" in s]
    assert suites
    renderer = next(s for s in suites if "dash_renderer" in s)
    assert re.search(r"\.v\d[\w_]*m\d+\.", renderer)  # version and mtime in the name
    answer = _get(base + renderer, "br, gzip")
    assert answer.status_code == 200
    assert YEAR in answer.headers["Cache-Control"]
    assert answer.headers["Content-Encoding"] in ("br", "gzip")


def test_own_assets_are_fingerprinted_and_cached_for_a_year(base: str) -> None:
    assets = [s for s in _scripts(base) if s.startswith("/assets/")]
    names = {Path(a.split("?")[0]).name for a in assets}
    assert {"map.js", "mapdata.js"} <= names
    for asset in assets:
        assert re.search(r"\?m=[\d.]+$", asset), asset  # modification time in the URL
        answer = _get(base + asset, "gzip")
        assert answer.status_code == 200
        assert answer.headers["Cache-Control"] == f"public, {YEAR}, immutable"
    # The same file without its fingerprint is not kept: it may change under that name.
    bare = _get(f"{base}/assets/map.js", "gzip")
    assert "immutable" not in bare.headers.get("Cache-Control", "")


def test_map_data_is_compressed(base: str, runtime: Runtime) -> None:
    view = runtime.city.view("public")
    url = f"{base}/map-data/parking.json?v={view.version}&r=public"
    for encoding in ("br", "gzip"):
        answer = _get(url, encoding, stream=True)
        assert answer.headers["Content-Encoding"] == encoding
        raw = answer.raw.read(decode_content=False)
        assert 0 < len(raw) < 16 * len(view.layer_table("parking", "UTC"))


def test_the_running_app_subscribes_after_its_first_poll_and_unsubscribes_on_close(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    polled = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
    broker = Broker(httpserver, "ld", traffic("ld", 197, polled))
    runtime = open_runtime(write_city(tmp_path, "ld", broker.url, lease_seconds=3), tmp_path)
    try:
        create_app(runtime)  # starts the refresher and the subscription holder
        deadline = time.monotonic() + 60  # a guard only: the first poll comes first
        while broker.methods() != ["POST"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert broker.methods() == ["POST"]
        assert runtime.store.status("vll").fetches >= 1  # sites came from the poll
    finally:
        runtime.close()
    assert broker.methods() == ["POST", "DELETE"] and broker.subscriptions == {}


def test_health_lists_each_sources_stale_streams(base: str, runtime: Runtime) -> None:
    from dataclasses import replace

    import pandas as pd

    from cockpit.city import STALE_STREAMS_SHOWN

    original = runtime.store.snapshot("air")
    assert original is not None
    obs = original.observations.copy()
    dead = obs.index[obs["metric"] == "pm10"]
    assert len(dead) >= 1
    obs.loc[dead, "time"] = pd.Timestamp.now(tz="UTC") - pd.Timedelta(days=730)
    runtime.config.sources["air"].stream_stale_after_seconds = 7200.0
    try:
        runtime.store.put_snapshot(replace(original, observations=obs))
        report = requests.get(f"{base}/health", timeout=60).json()
        entry = report["sources"]["air"]["stale_streams"]
        assert entry["count"] == len(dead)
        assert len(entry["streams"]) == min(len(dead), STALE_STREAMS_SHOWN)
        assert all(s.endswith(" · pm10") for s in entry["streams"])
        assert all("stale_streams" not in e for k, e in report["sources"].items() if k != "air")
    finally:
        runtime.config.sources["air"].stream_stale_after_seconds = None
        runtime.store.put_snapshot(replace(original))


def test_the_warm_up_makes_the_hours_forecast_of_the_roles_that_look_at_forecasts(
    runtime: Runtime,
) -> None:
    city = runtime.city
    sites = city.view("public").sites
    city.view("staff")  # served too, but its viewers never look at a forecast
    # The first ask answers from the site's own hours and marks the role as one that asks.
    city.site_forecast("public", str(sites["id"].iloc[0]))
    assert city.forecast_roles() == {"public"}
    runtime.refresher.refresh("air")  # new data: the warmer prepares it
    version = city.version()
    hour = int(city.clock().replace(minute=0, second=0, microsecond=0).timestamp())
    deadline = time.monotonic() + 30
    while runtime.warmed_version != version and time.monotonic() < deadline:
        time.sleep(0.05)
    assert runtime.warmed_version == version
    assert city.answers.kept("public", ("forecasts", hour)) is not None
    assert city.answers.kept("staff", ("forecasts", hour)) is None
