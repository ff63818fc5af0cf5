"""Alerts to people, end to end: observations crossing a rule's limit in a real history
store become an e-mail received by a real SMTP server (aiosmtpd) and a signed webhook
received by a real HTTP server, both on 127.0.0.1; then escalation, digests, quiet
hours, retries and the delivery log."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message as Mail
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from aiosmtpd.controller import Controller
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from cockpit.config import ChannelConfig, CityConfig, RuleConfig
from cockpit.model import observations_frame, sites_frame
from cockpit.notify import SIGNATURE_HEADER, Dispatcher, SignatureError, check_signature, sign
from cockpit.state.embedded import HistoryStore
from cockpit.state.journal import Journal

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
SECRET = "s3cret-shared-with-the-receiver"
DUTY_SECRET = "another-secret"
SITES = sites_frame(
    [
        {
            "id": f"air:{i}",
            "name": f"Station {i}",
            "domain": "air",
            "lat": -37.8,
            "lon": 144.9,
            "source": "air",
        }
        for i in range(1, 9)
    ]
)


@pytest.fixture(scope="session")
def httpserver_listen_address() -> tuple[str, int]:
    return ("127.0.0.1", 0)  # the receiver listens on the loopback address only


class Mailbox:
    """What the SMTP server on 127.0.0.1 received."""

    def __init__(self) -> None:
        self.mails: list[Mail] = []
        self.recipients: list[list[str]] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self.mails.append(message_from_bytes(envelope.content))
            self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


def text(mail: Mail) -> str:
    payload = mail.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(mail.get_content_charset() or "utf-8")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


class Receiver:
    """A webhook receiver on the test's HTTP server: it checks each body's signature
    with the shared secret, as a real receiver must, and refuses a wrong one."""

    def __init__(self, server: HTTPServer, path: str, secret: str) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.deliveries: list[str] = []
        self.refused = 0
        self.secret = secret.encode()
        self.url = server.url_for(path)
        server.expect_request(path, method="POST").respond_with_handler(self._receive)

    def _receive(self, request: Request) -> Response:
        body = request.get_data()
        try:
            check_signature(self.secret, body, request.headers.get(SIGNATURE_HEADER, ""))
        except SignatureError:
            self.refused += 1
            return Response("bad signature", status=401)
        self.bodies.append(json.loads(body))
        self.deliveries.append(request.headers.get("X-Cockpit-Delivery", ""))
        return Response("", status=204)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def hourly(site: str, values: list[float], end: datetime = NOW) -> pd.DataFrame:
    times = pd.date_range(end=pd.Timestamp(end), periods=len(values), freq="h")
    return observations_frame(
        pd.DataFrame({"site_id": site, "metric": "no2", "time": times, "value": values})
    )


@pytest.fixture
def city(
    demo_config: CityConfig, mailbox: tuple[Mailbox, int], httpserver: HTTPServer
) -> CityConfig:
    _, port = mailbox
    alerts = demo_config.alerts
    alerts.smtp = alerts.smtp.model_copy(update={"host": "127.0.0.1", "port": port})
    alerts.channels = {
        "ops-mail": ChannelConfig(kind="email", to=["ops@city.example", "duty@city.example"]),
        "ops-hook": ChannelConfig(
            kind="webhook", url=httpserver.url_for("/ops"), secret_env="OPS_HOOK_SECRET"
        ),
        "duty-chat": ChannelConfig(
            kind="webhook",
            url=httpserver.url_for("/duty"),
            secret_env="DUTY_HOOK_SECRET",
            format="teams",
        ),
    }
    alerts.rules = {
        "no2-high": RuleConfig(
            name="NO2 high",
            domain="air",
            metric="no2",
            when="above",
            limit=40,
            severity="high",
            notify=["phone", "ops-mail", "ops-hook"],
            escalate_minutes=30,
            escalate_to=["duty-chat"],
        )
    }
    return demo_config


ENVIRON = {"OPS_HOOK_SECRET": SECRET, "DUTY_HOOK_SECRET": DUTY_SECRET}


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[HistoryStore, Journal]]:
    history, journal = HistoryStore(tmp_path), Journal(tmp_path)
    yield history, journal
    journal.close()
    history.close()


def dispatcher(city: CityConfig, stores: tuple[HistoryStore, Journal], clock: Clock) -> Dispatcher:
    history, journal = stores
    return Dispatcher(city, history, journal, lambda: SITES, clock, environ=ENVIRON)


def test_a_limit_crossed_reaches_mail_and_a_signed_webhook_then_escalates(
    city: CityConfig,
    stores: tuple[HistoryStore, Journal],
    mailbox: tuple[Mailbox, int],
    httpserver: HTTPServer,
) -> None:
    box, _ = mailbox
    ops = Receiver(httpserver, "/ops", SECRET)
    duty = Receiver(httpserver, "/duty", DUTY_SECRET)
    history, journal = stores
    clock = Clock(NOW)
    worker = dispatcher(city, stores, clock)
    history.append(hourly("air:1", [20.0] * 10))
    assert worker.run_once() == (0, 0)  # nothing crossed the limit yet

    history.append(hourly("air:1", [55.0], end=NOW + timedelta(minutes=5)))
    clock.now = NOW + timedelta(minutes=6)
    assert worker.run_once() == (2, 2)
    assert len(box.mails) == 1
    mail = box.mails[0]
    assert mail["Subject"] == f"{city.city.name}: NO2 high at Station 1"
    assert "[high] NO2 high at Station 1: 55 µg/m³ (limit 40)" in text(mail)
    assert sorted(box.recipients[0]) == ["duty@city.example", "ops@city.example"]
    assert len(ops.bodies) == 1 and ops.refused == 0
    body = ops.bodies[0]
    assert body["kind"] == "alert"
    assert [(a["site_id"], a["value"], a["limit"], a["severity"]) for a in body["alerts"]] == [
        ("air:1", 55.0, 40.0, "high")
    ]

    # Another pass finds the same alert already told: nothing is sent twice.
    clock.now = NOW + timedelta(minutes=20)
    assert worker.run_once() == (0, 0)
    assert duty.bodies == []

    # Nobody acknowledged within 30 minutes of the first message: the duty chat hears.
    clock.now = NOW + timedelta(minutes=37)
    assert worker.run_once() == (1, 1)
    (card,) = duty.bodies
    assert card["@type"] == "MessageCard" and "not acknowledged" in card["title"]
    assert "Station 1" in card["text"]
    assert worker.run_once() == (0, 0)  # escalated once

    log = journal.outbox()
    assert sorted((d.kind, d.channel, d.status) for d in log) == [
        ("alert", "ops-hook", "sent"),
        ("alert", "ops-mail", "sent"),
        ("escalation", "duty-chat", "sent"),
    ]
    assert set(ops.deliveries) == {d.key for d in log if d.channel == "ops-hook"}


def test_an_acknowledged_alert_does_not_escalate(
    city: CityConfig, stores: tuple[HistoryStore, Journal], httpserver: HTTPServer
) -> None:
    ops = Receiver(httpserver, "/ops", SECRET)
    duty = Receiver(httpserver, "/duty", DUTY_SECRET)
    history, journal = stores
    clock = Clock(NOW)
    worker = dispatcher(city, stores, clock)
    city.alerts.rules["no2-high"].notify = ["phone", "ops-hook"]
    history.append(hourly("air:2", [20.0] * 5 + [70.0]))
    assert worker.run_once() == (1, 1)
    key = ops.bodies[0]["alerts"][0]["key"]
    journal.acknowledge(key, "sam", NOW + timedelta(minutes=5), "on my way")
    clock.now = NOW + timedelta(hours=2)
    assert worker.run_once() == (0, 0)
    assert duty.bodies == []


def test_many_sites_at_once_make_one_digest(
    city: CityConfig,
    stores: tuple[HistoryStore, Journal],
    mailbox: tuple[Mailbox, int],
    httpserver: HTTPServer,
) -> None:
    box, _ = mailbox
    ops = Receiver(httpserver, "/ops", SECRET)
    history, journal = stores
    city.alerts.digest_after = 5
    for i in range(1, 9):
        history.append(hourly(f"air:{i}", [20.0] * 5 + [45.0 + i]))
    worker = dispatcher(city, stores, Clock(NOW))
    assert worker.run_once() == (2, 2)  # one digest per channel, not sixteen messages
    (mail,) = box.mails
    assert mail["Subject"] == f"{city.city.name}: 8 alerts"
    assert all(f"Station {i}" in text(mail) for i in range(1, 9))
    (digest,) = ops.bodies
    assert digest["kind"] == "digest"
    assert sorted(a["site_id"] for a in digest["alerts"]) == [f"air:{i}" for i in range(1, 9)]
    assert {d.kind for d in journal.outbox()} == {"digest"}
    # A higher value at a site already told opens no new alert: nothing is told again.
    history.append(hourly("air:1", [20.0] * 5 + [90.0], end=NOW + timedelta(hours=1)))
    assert worker.run_once() == (0, 0)


def test_failed_deliveries_are_retried_with_backoff_and_logged(
    city: CityConfig,
    stores: tuple[HistoryStore, Journal],
    httpserver: HTTPServer,
) -> None:
    history, journal = stores
    city.alerts.rules["no2-high"].escalate_minutes = None
    city.alerts.rules["no2-high"].escalate_to = []
    city.alerts.retry_seconds = 60
    city.alerts.retry_attempts = 3
    # The mail server is down (nothing listens on its port); the webhook answers 503 once.
    city.alerts.smtp = city.alerts.smtp.model_copy(update={"port": free_port()})
    httpserver.expect_oneshot_request("/ops", method="POST").respond_with_data("", status=503)
    ops = Receiver(httpserver, "/ops", SECRET)
    history.append(hourly("air:3", [20.0] * 5 + [80.0]))
    clock = Clock(NOW)
    worker = dispatcher(city, stores, clock)
    assert worker.run_once() == (2, 0)
    by_channel = {d.channel: d for d in journal.outbox()}
    hook, mail = by_channel["ops-hook"], by_channel["ops-mail"]
    assert hook.status == "pending" and hook.attempts == 1 and "503" in hook.last_error
    assert hook.due == NOW + timedelta(seconds=60)
    assert mail.status == "pending" and "e-mail via 127.0.0.1" in mail.last_error

    clock.now = NOW + timedelta(seconds=30)  # not due yet
    assert worker.run_once() == (0, 0)
    clock.now = NOW + timedelta(seconds=60)
    assert worker.run_once() == (0, 1)  # the webhook gets through on its second try
    assert len(ops.bodies) == 1
    mail = next(d for d in journal.outbox() if d.channel == "ops-mail")
    assert mail.attempts == 2 and mail.due == NOW + timedelta(seconds=60 + 120)
    clock.now = mail.due
    assert worker.run_once() == (0, 0)
    mail = next(d for d in journal.outbox() if d.channel == "ops-mail")
    assert (mail.status, mail.attempts) == ("failed", 3)  # given up, and visible
    clock.now += timedelta(hours=1)
    assert worker.run_once() == (0, 0)


def test_quiet_hours_hold_messages_until_they_end_but_not_critical_ones(
    city: CityConfig,
    stores: tuple[HistoryStore, Journal],
    httpserver: HTTPServer,
) -> None:
    history, journal = stores
    ops = Receiver(httpserver, "/ops", SECRET)
    rule = city.alerts.rules["no2-high"]
    rule.notify = ["ops-hook"]
    rule.escalate_minutes, rule.escalate_to = None, []
    local = NOW.astimezone(ZoneInfo(city.city.timezone))
    start, end = local - timedelta(hours=1), local + timedelta(hours=2)
    rule.quiet_hours = f"{start:%H:%M}-{end:%H:%M}"
    history.append(hourly("air:4", [20.0] * 5 + [60.0]))
    clock = Clock(NOW)
    worker = dispatcher(city, stores, clock)
    assert worker.run_once() == (1, 0)
    (held,) = journal.outbox()
    assert held.due == end.replace(second=0, microsecond=0).astimezone(UTC)
    clock.now = held.due - timedelta(minutes=1)
    assert worker.run_once() == (0, 0) and ops.bodies == []
    clock.now = held.due
    assert worker.run_once() == (0, 1) and len(ops.bodies) == 1

    rule.severity = "critical"
    history.append(hourly("air:5", [20.0] * 5 + [60.0]))
    clock.now = NOW
    assert worker.run_once() == (1, 1)


def test_the_signature_is_the_hmac_of_the_time_and_the_body() -> None:
    body = b'{"kind": "alert"}'
    at = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    stamp = int(at.timestamp())
    expected = hmac.new(b"k", f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert sign(b"k", body, at) == f"t={stamp},v1={expected}"
    check_signature(b"k", body, sign(b"k", body, at), now=at + timedelta(seconds=299))


@pytest.mark.parametrize(
    ("secret", "body", "signed_ago_s", "reason"),
    [
        (b"other", b"{}", 0, "does not match"),  # another secret
        (b"k", b'{"x": 1}', 0, "does not match"),  # a body changed on the way
        (b"k", b"{}", 301, "more than 300 s"),  # an old request sent again
        (b"k", b"{}", -301, "more than 300 s"),  # a clock far ahead
    ],
)
def test_a_receiver_refuses_a_wrong_changed_or_replayed_request(
    secret: bytes, body: bytes, signed_ago_s: int, reason: str
) -> None:
    now = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    header = sign(b"k", b"{}", now - timedelta(seconds=signed_ago_s))
    with pytest.raises(SignatureError, match=reason):
        check_signature(secret, body, header, now=now)


@pytest.mark.parametrize("header", ["", "sha256=abc", "t=,v1=abc", "t=12x,v1=abc", "t=1"])
def test_a_malformed_signature_header_is_refused(header: str) -> None:
    with pytest.raises(SignatureError, match="missing or malformed"):
        check_signature(b"k", b"{}", header)


def test_webhook_bodies_for_teams_and_slack_and_the_cockpits_own() -> None:
    from cockpit.notify import Message, channel_payload

    alert = {"severity": "critical", "site_name": "Station 1"}
    msg = Message("alert", "Melbourne: NO2 high at Station 1", "line one\nline two", (alert,))
    hook = {"kind": "webhook", "url": "https://x.example/h", "secret_env": "HOOK_SECRET"}
    teams = channel_payload(ChannelConfig(**hook, format="teams"), msg)
    assert teams["@type"] == "MessageCard" and teams["themeColor"] == "B00020"
    assert teams["title"] == msg.subject and teams["text"] == "line one\n\nline two"
    slack = channel_payload(ChannelConfig(**hook, format="slack"), msg)
    assert slack == {"text": "*Melbourne: NO2 high at Station 1*\nline one\nline two"}
    own = channel_payload(ChannelConfig(**hook), msg)
    assert own["kind"] == "alert" and own["alerts"] == [alert]


def test_a_builtin_rule_routed_in_the_config_sends_the_phone_views_alert(
    city: CityConfig, stores: tuple[HistoryStore, Journal], httpserver: HTTPServer
) -> None:
    from cockpit.config import RouteConfig
    from cockpit.twin.alerts import evaluate

    ops = Receiver(httpserver, "/ops", SECRET)
    history, _ = stores
    city.alerts.rules = {}
    city.alerts.routes = {"air.pm25": RouteConfig(notify=["ops-hook"])}
    history.append(
        observations_frame(
            pd.DataFrame(
                {
                    "site_id": "air:6",
                    "metric": "pm25",
                    "time": pd.date_range(end=pd.Timestamp(NOW), periods=30, freq="h"),
                    "value": [40.0] * 30,
                }
            )
        )
    )
    worker = dispatcher(city, stores, Clock(NOW))
    assert worker.run_once() == (1, 1)
    (sent,) = ops.bodies[0]["alerts"]
    # The key is the phone view's: acknowledging it there is acknowledging this message.
    shown = [a.key for a in evaluate(city, history, SITES, NOW) if a.rule == "air.pm25"]
    assert sent["key"] in shown and sent["rule"] == "air.pm25"
    assert sent["severity"] == "critical"  # 40 against 15: graded by how far past


def test_rules_are_evaluated_again_after_new_data_or_a_minute(
    city: CityConfig, stores: tuple[HistoryStore, Journal], httpserver: HTTPServer, tmp_path: Path
) -> None:
    from cockpit.state.embedded import SnapshotStore

    ops = Receiver(httpserver, "/ops", SECRET)
    history, journal = stores
    city.alerts.rules["no2-high"].notify = ["ops-hook"]
    store = SnapshotStore(tmp_path / "snapshots")
    try:
        clock = Clock(NOW)
        worker = Dispatcher(city, history, journal, lambda: SITES, clock, store, ENVIRON)
        history.append(hourly("air:7", [20.0] * 6))
        assert worker.run_once() == (0, 0)
        # Readings that came without a new data version (none announced them) wait for
        # the next evaluation, a minute on.
        history.append(hourly("air:7", [80.0], end=NOW + timedelta(minutes=1)))
        clock.now = NOW + timedelta(seconds=30)
        assert worker.run_once() == (0, 0)
        clock.now = NOW + timedelta(seconds=61)
        assert worker.run_once() == (1, 1)
        assert ops.bodies[0]["alerts"][0]["site_id"] == "air:7"
        # A new data version is evaluated at once.
        history.append(hourly("air:8", [20.0] * 5 + [80.0], end=NOW + timedelta(minutes=1)))
        clock.now = NOW + timedelta(seconds=62)
        assert worker.run_once() == (0, 0)
        store.record_failure("air", "a refresh that failed still moves the version", NOW)
        assert worker.run_once() == (1, 1)
        assert ops.bodies[1]["alerts"][0]["site_id"] == "air:8"
    finally:
        store.close()
