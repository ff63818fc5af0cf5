"""Pushed observations end to end: an NGSI broker stand-in over real HTTP on 127.0.0.1
(pytest-httpserver) that takes the cockpit's subscription, its renewals and its
deletion; notifications that update the snapshot, the history and the City; forged and
malformed ones refused; one subscription for all the processes of a city; and a
SensorThings observation published on the real Mosquitto reaching the City.

The broker serves the Smart Data Models' Valladolid traffic example (tests/fixtures/ngsi,
see its PROVENANCE.md) with its times moved to now; notifications wrap it in the
NGSI-LD and NGSI v2 envelopes brokers post.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import multiprocessing
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from cockpit.config import PushConfig, load_config
from cockpit.errors import PushRefused
from cockpit.model import Snapshot, empty_observations
from cockpit.push import check_signature
from connectors.sensorthings import SensorThingsOptions, sites_from_things
from tests.city_toml import city_tables, pushed_counter
from tests.connectors.test_sensorthings import (
    OPTIONS as ST_OPTIONS,
)
from tests.connectors.test_sensorthings import (
    _publish,
    kfz_observation,
    kfz_thing,
    mqtt_port,  # noqa: F401 - fixture
)
from tests.servers import pg_schema, postgres_server, redis_prefix, redis_server  # noqa: F401
from wiring.runtime import Runtime

ROOT = Path(__file__).resolve().parents[2]
SDM = ROOT / "tests" / "fixtures" / "ngsi" / "smart-data-models" / "TrafficFlowObserved"
VALLADOLID = (-4.80, 41.58, -4.66, 41.70)
SECRET = "s3cret-shared-with-the-broker"
FLAVOURS = {
    # flavour: (connector, API root, example file, entity id, count header)
    "ld": (
        "ngsi-ld",
        "/ngsi-ld/v1",
        "example-normalized.jsonld",
        "urn:ngsi-ld:TrafficFlowObserved:TrafficFlowObserved-Valladolid-osm-60821110",
        "NGSILD-Results-Count",
    ),
    "v2": (
        "ngsi-v2",
        "/v2",
        "example-normalized.json",
        "TrafficFlowObserved-Valladolid-osm-60821110",
        "Fiware-Total-Count",
    ),
}


def traffic(flavour: str, vehicles: int, start: datetime) -> dict[str, Any]:
    """The Valladolid example with ``vehicles`` counted in the 5 minutes from ``start``."""
    entity = json.loads((SDM / FLAVOURS[flavour][2]).read_text(encoding="utf-8"))
    entity.pop("@context", None)
    entity["intensity"]["value"] = vehicles
    for key, moment in (
        ("dateObserved", start),
        ("dateObservedFrom", start),
        ("dateObservedTo", start + timedelta(minutes=5)),
    ):
        entity[key]["value"] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return entity


def notification(flavour: str, entities: list[dict[str, Any]]) -> bytes:
    """A notification as the broker posts it: NGSI-LD's envelope or NGSI v2's."""
    if flavour == "ld":
        body: dict[str, Any] = {
            "id": f"urn:ngsi-ld:Notification:{uuid.uuid4().hex}",
            "type": "Notification",
            "subscriptionId": "urn:ngsi-ld:Subscription:5e6257789f300bcd70b7b6e",
            "notifiedAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "data": entities,
        }
    else:
        body = {"subscriptionId": "57458eb60962ef754e7c0998", "data": entities}
    return json.dumps(body).encode()


class Broker:
    """An NGSI broker stand-in: serves entities, keeps subscriptions, logs requests."""

    def __init__(self, server: HTTPServer, flavour: str, entity: dict[str, Any]) -> None:
        self.server = server
        self.flavour = flavour
        self.entity = entity
        _, self.root, _, _, self.count_header = FLAVOURS[flavour]
        self.calls: list[tuple[str, str, Any, dict[str, str]]] = []
        self.subscriptions: dict[str, Any] = {}
        self.refuse = 0  # subscription requests to refuse (503) before taking one
        self._lock = threading.Lock()
        server.expect_request(f"{self.root}/entities").respond_with_handler(self._entities)
        server.expect_request(f"{self.root}/subscriptions", method="POST").respond_with_handler(
            self._create
        )
        server.expect_request(
            _any_below(f"{self.root}/subscriptions/"), method="PATCH"
        ).respond_with_handler(self._patch)
        server.expect_request(
            _any_below(f"{self.root}/subscriptions/"), method="DELETE"
        ).respond_with_handler(self._delete)

    @property
    def url(self) -> str:
        return self.server.url_for("/").rstrip("/")

    def _entities(self, request: Request) -> Response:
        page = [self.entity] if request.args.get("offset", "0") == "0" else []
        return Response(
            json.dumps(page), content_type="application/json", headers={self.count_header: "1"}
        )

    def _log(self, request: Request) -> None:
        body = request.get_json(silent=True)
        with self._lock:
            self.calls.append((request.method, request.path, body, dict(request.headers)))

    def _create(self, request: Request) -> Response:
        self._log(request)
        with self._lock:
            if self.refuse:
                self.refuse -= 1
                return Response("busy", status=503)
            name = f"urn:ngsi-ld:Subscription:{len(self.subscriptions) + 1}"
            self.subscriptions[name] = request.get_json()
        return Response(status=201, headers={"Location": f"{self.root}/subscriptions/{name}"})

    def _patch(self, request: Request) -> Response:
        self._log(request)
        name = request.path.rsplit("/", 1)[-1]
        with self._lock:
            if name not in self.subscriptions:
                return Response(status=404)
            self.subscriptions[name].update(request.get_json())
        return Response(status=204)

    def _delete(self, request: Request) -> Response:
        self._log(request)
        with self._lock:
            found = self.subscriptions.pop(request.path.rsplit("/", 1)[-1], None)
        return Response(status=204 if found is not None else 404)

    def methods(self) -> list[str]:
        with self._lock:
            return [method for method, *_ in self.calls]


def _any_below(prefix: str) -> Any:
    import re

    return re.compile(re.escape(prefix) + ".+")


def write_city(
    directory: Path,
    flavour: str,
    broker_url: str,
    signature: str = "secret",
    lease_seconds: float = 30,
    backend: str = "",
) -> Path:
    connector = FLAVOURS[flavour][0]
    text = city_tables("Valladolid", "Europe/Madrid", VALLADOLID, (41.65, -4.73), 13) + (
        "[sources.vll]\n"
        f'connector = "{connector}"\n'
        'name = "Valladolid traffic"\n'
        'publisher = "Ayuntamiento de Valladolid"\n'
        'licence = "CC BY 4.0"\n'
        f'url = "{broker_url}"\n'
        "backfill_hours = 0\n"
        'push = { notify_url = "https://cockpit.example.org/push/ngsi/vll", '
        f'secret_env = "VLL_PUSH_SECRET", signature = "{signature}", '
        f"renew_seconds = 600, lease_seconds = {lease_seconds} }}\n"
        "[sources.vll.options]\n"
        'types = ["TrafficFlowObserved"]\n'
        "retries = 0\n"
        "\n[layers.traffic]\n"
        'domain = "traffic"\n'
        'title = "Traffic"\n'
        'sources = ["vll"]\n'
        'metric = "vehicle_flow"\n' + backend
    )
    path = directory / "city.toml"
    path.write_text(text, encoding="utf-8")
    return path


def open_runtime(path: Path, data: Path) -> Runtime:
    runtime = Runtime.open(load_config(path), data)
    runtime.push.environ = {"VLL_PUSH_SECRET": SECRET}
    for connector in runtime.refresher.connectors.values():  # subscriptions send it
        object.__setattr__(connector.context, "environ", {"VLL_PUSH_SECRET": SECRET})
    return runtime


@pytest.fixture(params=["ld", "v2"])
def flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def broker(httpserver: HTTPServer, flavour: str) -> Broker:
    polled = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
    return Broker(httpserver, flavour, traffic(flavour, 197, polled))


@pytest.fixture
def runtime(broker: Broker, tmp_path: Path) -> Iterator[Runtime]:
    runtime = open_runtime(write_city(tmp_path, broker.flavour, broker.url), tmp_path / "data")
    assert runtime.refresher.refresh("vll")  # sites come from the first poll
    yield runtime
    runtime.close()


def site_id(flavour: str) -> str:
    return f"vll:{FLAVOURS[flavour][3]}"


def flow_of(frame: pd.DataFrame, flavour: str) -> tuple[pd.Timestamp, float]:
    rows = frame[(frame["site_id"] == site_id(flavour)) & (frame["metric"] == "vehicle_flow")]
    assert len(rows) == 1
    return rows["time"].iloc[0], float(rows["value"].iloc[0])


# --------------------------------------------------------------------------- subscriptions


def test_subscription_is_registered_renewed_and_deleted(
    broker: Broker, runtime: Runtime, flavour: str
) -> None:
    now = [1000.0]
    runtime.push.clock = lambda: now[0]
    runtime.push.tick()
    assert broker.methods() == ["POST"]
    _, path, body, headers = broker.calls[0]
    assert path == f"{broker.root}/subscriptions"
    assert headers["Content-Type"] == "application/json"
    if flavour == "ld":
        assert body["type"] == "Subscription"
        assert body["entities"] == [{"type": "TrafficFlowObserved"}]
        endpoint = body["notification"]["endpoint"]
        assert endpoint["uri"] == "https://cockpit.example.org/push/ngsi/vll"
        assert endpoint["receiverInfo"] == [{"key": "X-Cockpit-Push-Secret", "value": SECRET}]
        assert body["notification"]["format"] == "normalized"
        first_expiry = body["expiresAt"]
    else:
        assert body["subject"]["entities"] == [{"idPattern": ".*", "type": "TrafficFlowObserved"}]
        custom = body["notification"]["httpCustom"]
        assert custom == {
            "url": "https://cockpit.example.org/push/ngsi/vll",
            "headers": {"X-Cockpit-Push-Secret": SECRET},
        }
        assert body["notification"]["attrsFormat"] == "normalized"
        first_expiry = body["expires"]
    # A subscription lasts two renewal periods.
    expiry = datetime.fromisoformat(first_expiry.replace("Z", "+00:00"))
    assert timedelta(seconds=1100) < expiry - datetime.now(UTC) <= timedelta(seconds=1200)

    runtime.push.tick()  # not yet due
    assert broker.methods() == ["POST"]
    now[0] += 600
    runtime.push.tick()
    assert broker.methods() == ["POST", "PATCH"]
    _, path, body, _ = broker.calls[1]
    assert path == f"{broker.root}/subscriptions/urn:ngsi-ld:Subscription:1"
    assert set(body) == {"expiresAt" if flavour == "ld" else "expires"}

    # The broker lost it (restarted without its database): subscribed afresh.
    broker.subscriptions.clear()
    now[0] += 600
    runtime.push.tick()
    assert broker.methods() == ["POST", "PATCH", "PATCH", "POST"]
    assert list(broker.subscriptions) == ["urn:ngsi-ld:Subscription:1"]

    runtime.push.stop()  # the source stops: its subscription is deleted
    assert broker.methods()[-1] == "DELETE"
    assert broker.subscriptions == {}
    assert runtime.push.held == {}


def test_a_refused_subscription_is_tried_again_later(broker: Broker, runtime: Runtime) -> None:
    broker.refuse = 1
    now = [0.0]
    runtime.push.clock = lambda: now[0]
    runtime.push.tick()
    assert broker.methods() == ["POST"] and runtime.push.held == {}
    runtime.push.tick()  # waits before asking again
    assert broker.methods() == ["POST"]
    now[0] += 30
    runtime.push.tick()
    assert broker.methods() == ["POST", "POST"] and "vll" in runtime.push.held


# --------------------------------------------------------------------------- notifications


def test_notification_updates_snapshot_history_and_city(runtime: Runtime, flavour: str) -> None:
    announced: list[str] = []
    runtime.refresher.new_data_hooks.append(announced.append)
    before = runtime.store.version()
    _, polled_flow = flow_of(runtime.city.view("public").latest, flavour)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    body = notification(flavour, [traffic(flavour, 250, start)])

    kept = runtime.push.receive("vll", body, {"X-Cockpit-Push-Secret": SECRET})

    assert kept == 2  # vehicle flow and speed
    assert runtime.store.version() > before
    assert announced == ["vll"]
    latest = runtime.city.view("public").latest
    when, flow = flow_of(latest, flavour)
    assert flow == pytest.approx(250 * 12) != polled_flow  # 250 in 5 minutes, per hour
    assert when == pd.Timestamp(start)
    history = runtime.history.window([site_id(flavour)], start, start + timedelta(minutes=1))
    assert sorted(history["metric"]) == ["speed", "vehicle_flow"]
    assert runtime.store.status("vll").state(datetime.now(UTC), 600) == "ok"

    # The same notification again (at-least-once delivery) is stored once.
    runtime.push.receive("vll", body, {"X-Cockpit-Push-Secret": SECRET})
    again = runtime.history.window([site_id(flavour)], start, start + timedelta(minutes=1))
    assert len(again) == 2

    # An older observation arriving late goes to history but does not replace the newest.
    late = start - timedelta(minutes=10)
    runtime.push.receive(
        "vll",
        notification(flavour, [traffic(flavour, 10, late)]),
        {"X-Cockpit-Push-Secret": SECRET},
    )
    assert flow_of(runtime.city.view("public").latest, flavour) == (pd.Timestamp(start), 3000.0)
    assert len(runtime.history.window([site_id(flavour)], late, late + timedelta(minutes=1))) == 2


def test_messages_arriving_together_are_stored_in_one_write(runtime: Runtime, flavour: str) -> None:
    connector = runtime.refresher.connectors["vll"]
    sites = runtime.store.snapshot("vll").sites  # type: ignore[union-attr]
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=19)  # after the poll's
    version = runtime.store.version()
    for minutes in range(0, 18, 3):  # six messages, as a connection delivers them
        body = json.loads(notification(flavour, [traffic(flavour, 100 + minutes, start)]))
        frame = connector.read_notification(body, sites)
        runtime.push._received("vll", frame.assign(time=frame["time"] + timedelta(minutes=minutes)))
    assert runtime.store.version() == version  # gathered, not stored yet
    assert runtime.push.flush() == 12
    assert runtime.store.version() == version + 1
    stored = runtime.history.window([site_id(flavour)], start, start + timedelta(minutes=18))
    assert len(stored) == 12
    assert flow_of(runtime.city.view("public").latest, flavour) == (
        pd.Timestamp(start + timedelta(minutes=15)),
        115 * 12,
    )


def test_a_pushed_source_turns_stale_only_when_pushes_and_polls_fall_silent(
    runtime: Runtime, flavour: str
) -> None:
    stale_after = runtime.config.sources["vll"].stale_after_seconds
    polled = runtime.store.status("vll").last_success
    assert polled is not None
    later = polled + timedelta(seconds=stale_after - 60)
    start = polled.replace(microsecond=0) + timedelta(minutes=1)  # observed after the poll
    runtime.refresher.clock = lambda: later  # a push long after the poll
    body = notification(flavour, [traffic(flavour, 30, start)])
    assert runtime.push.receive("vll", body, {"X-Cockpit-Push-Secret": SECRET}) == 2
    status = runtime.store.status("vll")
    # Past the poll's limit, fresh thanks to the push; stale once the push is old too.
    assert status.state(polled + timedelta(seconds=stale_after + 30), stale_after) == "ok"
    assert status.state(later + timedelta(seconds=stale_after + 1), stale_after) == "stale"


def test_forged_and_malformed_notifications_are_refused_and_data_stays(
    runtime: Runtime, flavour: str, caplog: pytest.LogCaptureFixture
) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    good = notification(flavour, [traffic(flavour, 250, start)])
    assert runtime.push.receive("vll", good, {"X-Cockpit-Push-Secret": SECRET}) == 2
    version = runtime.store.version()
    forged = notification(flavour, [traffic(flavour, 9999, start + timedelta(minutes=1))])

    with pytest.raises(PushRefused) as missing:
        runtime.push.receive("vll", forged, {})
    assert missing.value.status == 401
    with pytest.raises(PushRefused) as wrong:
        runtime.push.receive("vll", forged, {"X-Cockpit-Push-Secret": SECRET[:-1] + "X"})
    assert wrong.value.status == 403
    with pytest.raises(PushRefused) as unknown:
        runtime.push.receive("other", good, {"X-Cockpit-Push-Secret": SECRET})
    assert unknown.value.status == 404

    caplog.set_level("WARNING")
    for body in (
        b"{not json",
        b"[]",
        json.dumps({"subscriptionId": "x"}).encode(),
        json.dumps({"type": "Subscription", "data": []}).encode(),
    ):
        with pytest.raises(PushRefused) as bad:
            runtime.push.receive("vll", body, {"X-Cockpit-Push-Secret": SECRET})
        assert bad.value.status == 400
    assert "notification for vll refused" in caplog.text
    # A notification of an entity the cockpit does not know, and one whose value no
    # validation passes, store nothing.
    stranger = traffic(flavour, 5, start + timedelta(minutes=2))
    stranger["id"] = stranger["id"] + "-elsewhere"
    assert (
        runtime.push.receive(
            "vll", notification(flavour, [stranger]), {"X-Cockpit-Push-Secret": SECRET}
        )
        == 0
    )
    negative = traffic(flavour, -40, start + timedelta(minutes=3))
    assert (
        runtime.push.receive(
            "vll", notification(flavour, [negative]), {"X-Cockpit-Push-Secret": SECRET}
        )
        == 1
    )  # the speed passes, the negative count does not

    assert flow_of(runtime.city.view("public").latest, flavour) == (pd.Timestamp(start), 3000.0)
    assert runtime.store.version() == version + 1  # only the speed changed anything


def test_signature_checks() -> None:
    body = b'{"data": []}'
    plain = PushConfig(notify_url="https://c.example/push/ngsi/x", secret_env="S")
    check_signature(plain, "k", body, {"X-Cockpit-Push-Secret": "k"})
    with pytest.raises(PushRefused):
        check_signature(plain, "", body, {"X-Cockpit-Push-Secret": ""})
    with pytest.raises(PushRefused) as nobody:
        check_signature(plain, "", body, {"X-Cockpit-Push-Secret": "anything"})
    assert nobody.value.status == 403  # an unset secret believes nobody

    signed = PushConfig(
        notify_url="https://c.example/push/ngsi/x",
        secret_env="S",
        signature="hmac-sha256",
        secret_header="X-Hub-Signature-256",
    )
    digest = hmac.new(b"k", body, hashlib.sha256).hexdigest()
    check_signature(signed, "k", body, {"X-Hub-Signature-256": f"sha256={digest}"})
    check_signature(signed, "k", body, {"X-Hub-Signature-256": digest.upper()})
    with pytest.raises(PushRefused) as tampered:
        check_signature(signed, "k", body + b" ", {"X-Hub-Signature-256": digest})
    assert tampered.value.status == 403
    with pytest.raises(PushRefused):  # the secret itself is no signature
        check_signature(signed, "k", body, {"X-Hub-Signature-256": "k"})


def test_hmac_signed_notifications_are_believed(
    broker: Broker, tmp_path: Path, flavour: str
) -> None:
    runtime = open_runtime(
        write_city(tmp_path, flavour, broker.url, signature="hmac-sha256"), tmp_path / "data"
    )
    try:
        assert runtime.refresher.refresh("vll")
        runtime.push.tick()
        _, _, body, _ = broker.calls[0]
        assert "receiverInfo" not in json.dumps(body)  # the secret never travels
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
        payload = notification(flavour, [traffic(flavour, 100, start)])
        digest = hmac.new(SECRET.encode(), payload, hashlib.sha256).hexdigest()
        assert runtime.push.receive("vll", payload, {"X-Cockpit-Push-Secret": digest}) == 2
        with pytest.raises(PushRefused):
            runtime.push.receive("vll", payload, {"X-Cockpit-Push-Secret": SECRET})
    finally:
        runtime.close()


# --------------------------------------------------------------------------- one holder


def _hold(city: str, data: str, name: str, stop: Any, reports: Any) -> None:
    runtime = open_runtime(Path(city), Path(data))
    try:
        while not stop.is_set():
            runtime.push.tick()
            reports.put((name, "vll" in runtime.push.held))
            time.sleep(0.05)
    finally:
        runtime.close()
        reports.put((name, "closed"))


@pytest.mark.parametrize("kind", ["embedded", "server"])
def test_one_subscription_for_all_processes_and_takeover(
    httpserver: HTTPServer, tmp_path: Path, kind: str, request: pytest.FixtureRequest
) -> None:
    backend = ""
    if kind == "server":  # Redis holds the lease, PostgreSQL the history
        backend = (
            '\n[backend]\nkind = "server"\n'
            f'redis_url = "{request.getfixturevalue("redis_server")}"\n'
            f'redis_prefix = "{request.getfixturevalue("redis_prefix")}"\n'
            f'postgres_dsn = "{request.getfixturevalue("postgres_server")}"\n'
            f'postgres_schema = "{request.getfixturevalue("pg_schema")}"\n'
        )
    polled = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
    broker = Broker(httpserver, "ld", traffic("ld", 197, polled))
    city = write_city(tmp_path, "ld", broker.url, lease_seconds=3, backend=backend)
    first = open_runtime(city, tmp_path / "data")
    assert first.refresher.refresh("vll")
    first.close()

    ctx = multiprocessing.get_context("spawn")
    reports: Any = ctx.Queue()
    stops = {name: ctx.Event() for name in ("a", "b")}
    procs = {
        name: ctx.Process(
            target=_hold, args=(str(city), str(tmp_path / "data"), name, stops[name], reports)
        )
        for name in stops
    }
    for proc in procs.values():
        proc.start()
    try:
        holding: dict[str, Any] = {}
        ticks = {"a": 0, "b": 0}
        while min(ticks.values()) < 20:  # both processes ticked many times
            name, held = reports.get(timeout=60)
            ticks[name] += 1
            holding[name] = held
        assert sorted(holding.values()) == [False, True]
        assert broker.methods() == ["POST"]  # one subscription in total

        holder = next(n for n, h in holding.items() if h)
        other = "b" if holder == "a" else "a"
        stops[holder].set()  # the holder stops: deletes it and frees the lease
        while True:
            name, held = reports.get(timeout=60)
            if name == other and held is True:
                break
        assert broker.methods() == ["POST", "DELETE", "POST"]
        assert len(broker.subscriptions) == 1
    finally:
        for event in stops.values():
            event.set()
        for proc in procs.values():
            proc.join(60)
    assert broker.methods()[-1] == "DELETE" and broker.subscriptions == {}


# --------------------------------------------------------------------------- MQTT


def test_published_observation_reaches_store_history_and_city(
    mqtt_port: int,  # noqa: F811 - fixture
    tmp_path: Path,
) -> None:
    prefix = f"cockpit-test-{uuid.uuid4().hex}/v1.1"
    city = tmp_path / "city.toml"
    city.write_text(
        city_tables("Hamburg", "Europe/Berlin", (9.7, 53.3, 10.4, 53.8), (53.55, 10.0), 11)
        + pushed_counter(mqtt_port, prefix),
        encoding="utf-8",
    )
    runtime = Runtime.open(load_config(city), tmp_path / "data")
    try:
        # The sites of the first poll: the recorded Hamburg counting station.
        sites = sites_from_things(
            [kfz_thing()], SensorThingsOptions.model_validate(ST_OPTIONS), "hh"
        )
        runtime.store.put_snapshot(Snapshot("hh", sites, empty_observations(), datetime.now(UTC)))
        announced = threading.Event()
        runtime.refresher.new_data_hooks.append(lambda source: announced.set())
        runtime.push.tick()
        live = runtime.push.held["hh"].subscription
        assert live.qos == 1  # type: ignore[attr-defined]
        assert live.wait_subscribed(timeout=10)  # type: ignore[attr-defined]
        observation = kfz_observation()
        moved = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=15)
        observation["phenomenonTime"] = (
            f"{(moved - timedelta(minutes=15)).strftime('%Y-%m-%dT%H:%M:%SZ')}/"
            f"{moved.strftime('%Y-%m-%dT%H:%M:%SZ')}"
        )
        topic = f"{prefix}/Datastreams(26598)/Observations"
        _publish(mqtt_port, topic, [b"{not json", json.dumps(observation).encode()])
        assert announced.wait(timeout=10)
        latest = runtime.city.view("public").latest
        row = latest[latest["site_id"] == "hh:12317"].iloc[0]
        assert row["metric"] == "vehicle_flow"
        assert row["time"] == pd.Timestamp(moved)
        assert row["value"] > 0
        history = runtime.history.window(["hh:12317"], moved, moved + timedelta(seconds=1))
        assert history["value"].tolist() == [row["value"]]
    finally:
        runtime.close()
    assert runtime.push.held == {}


def test_a_pushed_source_is_polled_at_its_slower_safety_net_interval(
    broker: Broker, tmp_path: Path
) -> None:
    path = write_city(tmp_path, broker.flavour, broker.url)
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "backfill_hours = 0\n", "backfill_hours = 0\nrefresh_seconds = 1\n"
        ),
        encoding="utf-8",
    )
    runtime = open_runtime(path, tmp_path / "data")
    try:
        assert runtime.refresher.refresh_due() == ["vll"]
        time.sleep(1.5)  # past refresh_seconds, well inside push.poll_seconds (300)
        assert runtime.refresher.refresh_due() == []
        assert runtime.store.status("vll").fetches == 1
    finally:
        runtime.close()
