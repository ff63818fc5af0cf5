"""``city-cockpit backfill`` in a real process against a SensorThings server answering
with Hamburg's recorded entities: killed (SIGKILL) mid-way, started again, it resumes
with the first chunk not yet done and the history ends complete."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from cockpit.backfill import chunk_key, chunks, fill_history
from cockpit.config import load_config
from cockpit.source import SourceContext, build_connector
from cockpit.state.embedded import HistoryStore
from tests.city_toml import city_tables
from tests.connectors.test_sensorthings import _bundle, collection, kfz_observation, kfz_thing

TZ = "Europe/Berlin"
DATASTREAM = "/v1.1/Datastreams(26598)/Observations"
SITE = "kfz:12317"
CLI = Path(sys.executable).parent / "city-cockpit"
FILTER = re.compile(r"phenomenonTime ge (\S+) and phenomenonTime lt (\S+)")


def days() -> tuple[pd.Timestamp, pd.Timestamp]:
    """Six whole Hamburg days ending two days ago (inside the raw history's retention)."""
    today = pd.Timestamp.now(tz=TZ).normalize()
    return today - pd.Timedelta(days=8), today - pd.Timedelta(days=2)


def flow_on(day_start: pd.Timestamp) -> float:
    """The vehicles per hour the server reports for the local day starting then."""
    return 100.0 + day_start.day


class RecordedSensorThings:
    """Answers Things with the recorded Hamburg Thing and Observations windows with one
    daily count per local day, shaped like the recorded Observation. A window ending at
    ``hold_until`` is held until ``release`` is set."""

    def __init__(self) -> None:
        self.hold_until: pd.Timestamp | None = None
        self.held = threading.Event()
        self.release = threading.Event()
        self.windows: list[tuple[pd.Timestamp, pd.Timestamp]] = []

    def observations(self, request: Request) -> Response:
        match = FILTER.fullmatch(request.args["$filter"])
        assert match is not None, request.args["$filter"]
        lo, hi = pd.Timestamp(match[1]), pd.Timestamp(match[2])
        self.windows.append((lo, hi))
        if self.hold_until is not None and hi == self.hold_until:
            self.held.set()
            self.release.wait(60)
        values = []
        template = kfz_observation()
        start = lo.tz_convert(TZ).ceil("D")
        while start < hi:
            end = start + pd.Timedelta(days=1) - pd.Timedelta(seconds=1)
            observation = dict(template)
            observation["@iot.id"] = int(start.timestamp())
            observation["phenomenonTime"] = (
                f"{start.tz_convert('UTC'):%Y-%m-%dT%H:%M:%S.000Z}/"
                f"{end.tz_convert('UTC'):%Y-%m-%dT%H:%M:%S.000Z}"
            )
            observation["result"] = int(flow_on(start) * 24)
            values.append(observation)
            start += pd.Timedelta(days=1)
        body = json.dumps(collection(values))
        return Response(body, content_type="application/json")

    def serve(self, server: HTTPServer) -> None:
        things = json.dumps(collection([kfz_thing()]))
        server.expect_request("/v1.1/Things").respond_with_data(
            things, content_type="application/json"
        )
        server.expect_request(DATASTREAM).respond_with_handler(self.observations)


def city_file(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "hamburg-test.toml"
    head = city_tables(
        "Hamburg (backfill test)", TZ, [9.72, 53.38, 10.34, 53.75], (53.55, 10.0), 11
    )
    path.write_text(
        head
        + f"""
[storage]
data_dir = "data"

[sources.kfz]
connector = "sensorthings"
name = "Verkehrszählstellen Kfz"
publisher = "Freie und Hansestadt Hamburg"
licence = "dl-de/by-2-0"
url = "{url}"

[sources.kfz.options]
domain = "traffic"
kind = "counter"
connect_timeout_s = 2
read_timeout_s = 30
retries = 0

[[sources.kfz.options.streams]]
properties = {{ layerName = "^Anzahl_Kfz_Zaehlstelle_" }}
metric = "vehicle_flow"
per_interval = true

[layers.traffic]
domain = "traffic"
title = "Traffic"
sources = ["kfz"]
metric = "vehicle_flow"
thresholds = [400, 1200]
labels = ["light", "moderate", "heavy"]
""",
        encoding="utf-8",
    )
    return path


class Run:
    """``city-cockpit backfill`` as a child process, its stderr collected as it comes."""

    def __init__(self, config: Path, since: str, until: str) -> None:
        self.text = ""
        self.process = subprocess.Popen(
            [str(CLI), "backfill", "--config", str(config), "--since", since, "--until", until],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        while chunk := self.process.stderr.read1(4096):
            self.text += chunk.decode("utf-8", "replace")

    def wait_for(self, pattern: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.text):
            if self.process.poll() is not None and not self.reader.is_alive():
                raise AssertionError(f"exited {self.process.returncode} before {pattern!r}:\n"
                                     f"{self.text}")  # fmt: skip
            if time.monotonic() > deadline:
                raise AssertionError(f"no {pattern!r} in time:\n{self.text}")
            time.sleep(0.05)

    def finish(self, timeout: float = 180) -> int:
        code = self.process.wait(timeout)
        self.reader.join(10)
        if self.process.stderr is not None:
            self.process.stderr.close()
        return code


def test_killed_backfill_resumes_with_the_next_chunk(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    server = RecordedSensorThings()
    server.serve(httpserver)
    config = city_file(tmp_path, httpserver.url_for("/v1.1"))
    since, until = days()
    slices = chunks(since.to_pydatetime(), until.to_pydatetime(), timedelta(days=1))
    assert len(slices) == 6
    server.hold_until = pd.Timestamp(slices[2][1])  # the third day's request hangs

    first = Run(config, f"{since:%Y-%m-%d}", f"{until:%Y-%m-%d}")
    try:
        first.wait_for(r"kfz: chunk 2/6 \S+ \.\. \S+ done, 1 observations")
        assert server.held.wait(60), first.text
        first.process.send_signal(signal.SIGKILL)
        assert first.finish() == -signal.SIGKILL
    finally:
        if first.process.poll() is None:
            first.process.kill()
        server.release.set()
    assert "chunk 3/6" not in first.text
    asked_first = len(server.windows)

    server.hold_until = None
    second = Run(config, f"{since:%Y-%m-%d}", f"{until:%Y-%m-%d}")
    assert second.finish() == 0, second.text
    assert re.search(r"kfz: chunk 1/6 \S+ \.\. \S+ done before", second.text)
    assert re.search(r"kfz: chunk 2/6 \S+ \.\. \S+ done before", second.text)
    for n in range(3, 7):
        assert re.search(rf"kfz: chunk {n}/6 \S+ \.\. \S+ done, 1 observations", second.text)
    # The second run asked the platform for the third day onwards only.
    ends = [hi for _, hi in server.windows[asked_first:]]
    assert ends == [pd.Timestamp(hi) for _, hi in slices[2:]]

    history = HistoryStore(tmp_path / "data")
    try:
        got = history.window([SITE], since.to_pydatetime(), until.to_pydatetime())
        expected = [flow_on(pd.Timestamp(lo).tz_convert(TZ)) for lo, _ in slices]
        assert got["value"].tolist() == pytest.approx(expected)
        for lo, _ in slices:
            assert history.mark(chunk_key("kfz", lo, timedelta(days=1))) is not None
    finally:
        history.close()


def test_fill_history_reports_each_chunk_and_skips_done_ones(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    server = RecordedSensorThings()
    server.serve(httpserver)
    config = load_config(city_file(tmp_path, httpserver.url_for("/v1.1")))
    connector = build_connector(SourceContext.from_city(config, "kfz", {}))
    history = HistoryStore(tmp_path / "direct")
    since, until = days()
    seen: list[Any] = []
    try:
        first = fill_history(history, connector, since, until, timedelta(days=2), seen.append)
        again = fill_history(history, connector, since, until, timedelta(days=2), seen.append)
    finally:
        connector.close()
        history.close()
    assert (first.chunks, first.rows, first.done_before) == (3, 6, 0)
    assert (again.chunks, again.rows, again.done_before) == (3, 0, 3)
    assert [c.resumed for c in seen] == [False] * 3 + [True] * 3
    assert [c.index for c in seen] == [0, 1, 2, 0, 1, 2]
    assert len(server.windows) == 3
    assert _bundle()["datastream"]["@iot.id"] == 26598
    assert datetime.now(UTC) > until


def test_first_start_backfill_reports_each_day_once(tmp_path: Path) -> None:
    from cockpit.config import default_config_path
    from wiring.runtime import Runtime

    demo = load_config(default_config_path())
    air = demo.sources["air"].model_copy(update={"backfill_hours": 48})
    config = demo.model_copy(
        update={"sources": {"air": air}, "layers": {"air": demo.layers["air"]}, "kpis": {}}
    )
    runtime = Runtime.open(config, tmp_path)
    seen: list[Any] = []
    try:
        assert runtime.refresher.pending_backfill() == ["air"]
        runtime.refresher.backfill(progress=seen.append)
        assert runtime.refresher.pending_backfill() == []
        runtime.refresher.backfill(progress=seen.append)  # once per data directory
        stored = runtime.history.count()
    finally:
        runtime.close()
    assert [(c.source, c.index, c.total) for c in seen] == [("air", 0, 2), ("air", 1, 2)]
    assert sum(c.rows for c in seen) == stored > 0
