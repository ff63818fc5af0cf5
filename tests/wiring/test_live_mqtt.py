"""From a platform's broker to a screen: an observation published on the real Mosquitto
(SensorThings MQTT) reaches the traffic card of the cockpit open in headless Chromium
through the push-in subscription, the refresher's new-data hook and the ``/live``
stream, although the page polls only every five minutes."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cockpit.config import load_config
from cockpit.model import Snapshot, empty_observations
from connectors.sensorthings import SensorThingsOptions, sites_from_things
from tests.browser import AppServers
from tests.city_toml import city_tables, pushed_counter
from tests.connectors.test_sensorthings import OPTIONS as ST_OPTIONS
from tests.connectors.test_sensorthings import (
    _publish,
    kfz_observation,
    kfz_thing,
    mqtt_port,  # noqa: F401 - fixture
)
from wiring.runtime import Runtime

SITE = "hh:12317"  # the recorded Hamburg counting station
STREAM = 26598  # its vehicle count datastream


def _wait(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds  # a guard only: what is awaited comes first
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {seconds} s for {what}")
        time.sleep(0.1)


@pytest.mark.browser
def test_an_observation_published_on_the_broker_reaches_the_open_cockpit(
    app_server: AppServers,
    mqtt_port: int,  # noqa: F811 - fixture
    tmp_path: Path,
) -> None:
    prefix = f"cockpit-live-{uuid.uuid4().hex}/v1.1"
    city = tmp_path / "city.toml"
    city.write_text(
        city_tables("Hamburg", "Europe/Berlin", (9.7, 53.3, 10.4, 53.8), (53.55, 10.0), 11)
        + "[ui]\npoll_seconds = 300\n\n"  # far longer than any wait below: what arrives was pushed
        + pushed_counter(mqtt_port, prefix),
        encoding="utf-8",
    )
    runtime = Runtime.open(load_config(city), tmp_path / "data")
    duo = None
    try:
        sites = sites_from_things(
            [kfz_thing()], SensorThingsOptions.model_validate(ST_OPTIONS), "hh"
        )
        runtime.store.put_snapshot(Snapshot("hh", sites, empty_observations(), datetime.now(UTC)))
        duo = app_server.browser(runtime, size=(1366, 768))
        duo.driver.get(duo.server_url + "/")
        duo.wait_for_element("#cc-map", timeout=30)
        duo.wait_for_element("#kpi-traffic .cc-kpi-value", timeout=30)
        live = "return !!(((window.dash_clientside || {}).cockpit || {}).liveState || {}).live"
        _wait(lambda: duo.driver.execute_script(live), 20, "the cockpit's live stream")
        figure = "var k = document.querySelector('#kpi-traffic .cc-kpi-value');"
        figure += " return k && k.textContent;"
        before = duo.driver.execute_script(figure)  # no count yet: the card shows a dash

        stored = threading.Event()
        runtime.refresher.new_data_hooks.append(lambda source: stored.set())
        runtime.push.tick()
        subscription = runtime.push.held["hh"].subscription
        assert subscription.wait_subscribed(timeout=10)  # type: ignore[attr-defined]
        observation = kfz_observation()
        end = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
        observation["phenomenonTime"] = (
            f"{(end - timedelta(minutes=15)).strftime('%Y-%m-%dT%H:%M:%SZ')}/"
            f"{end.strftime('%Y-%m-%dT%H:%M:%SZ')}"
        )
        _publish(
            mqtt_port,
            f"{prefix}/Datastreams({STREAM})/Observations",
            [json.dumps(observation).encode()],
        )
        assert stored.wait(timeout=10)

        table = runtime.city.view("public").layer_table("traffic", "Europe/Berlin")
        pushed = table[table["id"] == SITE].iloc[0]["value"]  # e.g. "30 veh/h"
        assert before != pushed.split()[0]
        _wait(
            lambda: duo.driver.execute_script(figure) == pushed.split()[0],
            15,
            "the pushed value on the traffic card",
        )
    finally:
        if duo is not None:
            duo.driver.get("about:blank")  # the page leaves before its city closes
        runtime.close()
