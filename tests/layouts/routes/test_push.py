"""The notification endpoint over real HTTP: an NGSI broker stand-in on 127.0.0.1 feeds
the first poll, then notifications are posted to ``/push/ngsi/<source>`` of the running
app as a broker posts them. Only those carrying the source's secret are stored; forged,
malformed and oversized ones are refused and the last good data stays."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
import pytest
import requests
from pytest_httpserver import HTTPServer

from layouts.routes.limits import MAX_PUSH_BYTES
from tests.browser import serve
from tests.cockpit.test_push import (
    SECRET,
    Broker,
    flow_of,
    notification,
    open_runtime,
    traffic,
    write_city,
)
from wiring.app import create_app
from wiring.runtime import Runtime

HEADER = {"X-Cockpit-Push-Secret": SECRET, "Content-Type": "application/json"}


@pytest.fixture
def served(httpserver: HTTPServer, tmp_path: Path) -> Iterator[tuple[str, Runtime]]:
    polled = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
    broker = Broker(httpserver, "ld", traffic("ld", 197, polled))
    runtime = open_runtime(write_city(tmp_path, "ld", broker.url), tmp_path / "data")
    assert runtime.refresher.refresh("vll")
    try:
        with serve(create_app(runtime, start_refresher=False)) as base:
            yield f"{base}/push/ngsi/vll", runtime
    finally:
        runtime.close()


def test_a_notification_with_the_secret_is_stored(served: tuple[str, Runtime]) -> None:
    url, runtime = served
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    lower = {name.lower(): value for name, value in HEADER.items()}  # any case will do
    answer = requests.post(
        url, data=notification("ld", [traffic("ld", 250, start)]), headers=lower, timeout=10
    )
    assert answer.status_code == 200
    assert answer.json() == {"stored": 2}
    assert flow_of(runtime.city.view("public").latest, "ld") == (pd.Timestamp(start), 3000.0)


def test_forged_malformed_and_oversized_notifications_are_refused(
    served: tuple[str, Runtime],
) -> None:
    url, runtime = served
    before = flow_of(runtime.city.view("public").latest, "ld")
    version = runtime.store.version()
    start = datetime.now(UTC).replace(microsecond=0)
    forged = notification("ld", [traffic("ld", 9999, start)])
    plain = {"Content-Type": "application/json"}

    def post(body: bytes, headers: dict[str, str], to: str = url) -> requests.Response:
        return requests.post(to, data=body, headers=headers, timeout=10)

    assert post(forged, plain).status_code == 401
    wrong = {**plain, "X-Cockpit-Push-Secret": "guess"}
    refused = post(forged, wrong)
    assert refused.status_code == 403 and SECRET not in refused.text
    assert post(forged, HEADER, url.replace("/vll", "/other")).status_code == 404
    assert post(b"{not json", HEADER).status_code == 400
    assert post(json.dumps({"data": "nothing"}).encode(), HEADER).status_code == 400
    big = b'{"data": [' + b" " * MAX_PUSH_BYTES + b"]}"
    assert post(big, HEADER).status_code == 413

    # A body sent in chunks without its length is not read at all.
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    conn.putrequest("POST", parts.path)
    for name, value in HEADER.items():
        conn.putheader(name, value)
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    conn.send(f"{len(forged):x}\r\n".encode() + forged + b"\r\n0\r\n\r\n")
    assert conn.getresponse().status == 411
    conn.close()

    assert flow_of(runtime.city.view("public").latest, "ld") == before
    assert runtime.store.version() == version
