"""Alerts to people: which channel hears of which alert, the messages, the e-mail and
webhook senders, and the worker that plans and sends them off the request path.

Each rule names its channels (``notify``): e-mail addresses (stdlib ``smtplib``), a
webhook (a JSON body signed with HMAC-SHA256 under a shared secret from the
environment, in the cockpit's own form or one Microsoft Teams or Slack accept as it is),
and ``phone``, the staff's phone view, which shows every alert anyway. ``plan`` turns the
open alerts into messages for the journal's outbox: one per alert and channel (a key
makes it once only), a digest instead of a storm when more than ``digest_after`` alerts
reach one channel at once, an escalation to ``escalate_to`` when nobody acknowledged
within ``escalate_minutes``, and in a rule's quiet hours a message held until they end
(a critical one is not held). ``Dispatcher`` evaluates the rules, plans, and sends what
is due; a failed try is tried again later, each wait twice the last, and every try is
visible in the outbox (the ``/rules`` page's delivery log).

The daily brief goes the same way: ``brief_deliveries`` puts one message per recipient
and day in the outbox once the recipient's time has come on the city's clock (its key,
``brief:<recipient>:<day>``, makes it once only however many processes plan it, and
after a restart); when it is sent, the brief is made and mailed as HTML with the PDF
attached (``send_brief``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import smtplib
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as wall_time
from email.message import EmailMessage
from typing import Any, Final
from zoneinfo import ZoneInfo

import pandas as pd
import requests

from cockpit.config import ChannelConfig, CityConfig, SmtpConfig
from cockpit.errors import CockpitError
from cockpit.storage import Acknowledgement, Delivery, HistoryStore, Journal, SnapshotStore
from cockpit.twin.alert_handling import decode
from cockpit.twin.alerts import Alert
from cockpit.twin.rules import Rule, all_rules, evaluate_rules, quiet_until, rule_severity

__all__ = [
    "BRIEF_KIND",
    "SIGNATURE_HEADER",
    "BriefMail",
    "DeliveryError",
    "Dispatcher",
    "Message",
    "SignatureError",
    "brief_deliveries",
    "channel_payload",
    "check_signature",
    "plan",
    "send",
    "send_brief",
    "send_email",
    "send_webhook",
    "sign",
]

log = logging.getLogger(__name__)

# The header carrying ``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>`` on every
# webhook: the time is signed with the body, so a receiver refuses a replayed old request.
SIGNATURE_HEADER: Final = "X-Cockpit-Signature"
# How far a signed time may lie from the receiver's clock (``check_signature``).
SIGNATURE_TOLERANCE_S: Final = 300
DELIVERY_HEADER: Final = "X-Cockpit-Delivery"
WEBHOOK_TIMEOUT_S: Final = 10.0
# Deliveries sent per pass of the worker, and the seconds a pass may spend sending (the
# rest wait for the next pass); the pass's lease outlasts it, so no two processes send
# the same message.
BATCH: Final = 50
SEND_BUDGET_S: Final = 60.0
# Rules are evaluated again after new data, a changed rule, or this many seconds.
REEVALUATE_S: Final = 60.0
LEASE_S: Final = 3 * SEND_BUDGET_S


class DeliveryError(CockpitError):
    """A message that could not be delivered, and why (tried again later)."""


@dataclass(frozen=True)
class Message:
    """What a message says, before it is shaped for its channel."""

    kind: str  # "alert", "digest" or "escalation"
    subject: str
    text: str
    alerts: tuple[dict[str, Any], ...]

    def to_json(self) -> str:
        body = {"kind": self.kind, "subject": self.subject, "text": self.text}
        return json.dumps({**body, "alerts": list(self.alerts)}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Message:
        data = json.loads(text)
        return cls(data["kind"], data["subject"], data["text"], tuple(data["alerts"]))


def _alert_fields(rule: Rule, alert: Alert) -> dict[str, Any]:
    return {
        "key": alert.key,
        "rule": rule.id,
        "rule_name": rule.spec.name,
        "severity": rule_severity(rule, alert),
        "site_id": alert.site_id,
        "site_name": alert.site_name,
        "domain": alert.domain,
        "metric": alert.metric,
        "value": None if alert.value != alert.value else round(alert.value, 2),
        "limit": None if alert.limit != alert.limit else round(alert.limit, 2),
        "unit": alert.unit,
        "basis": alert.basis,
        "opened": alert.opened.astimezone(UTC).isoformat(),
    }


def _line(fields: Mapping[str, Any]) -> str:
    value = "" if fields["value"] is None else f": {fields['value']:g} {fields['unit']}".rstrip()
    limit = "" if fields["limit"] is None else f" (limit {fields['limit']:g})"
    return (
        f"[{fields['severity']}] {fields['rule_name']} at {fields['site_name']}"
        f"{value}{limit}, since {fields['opened'][:16].replace('T', ' ')} UTC"
    )


def message(kind: str, items: list[tuple[Rule, Alert]], city: str) -> Message:
    """The message of ``kind`` about ``items`` (rule and alert pairs)."""
    fields = tuple(_alert_fields(r, a) for r, a in items)
    if kind == "digest":
        subject = f"{city}: {len(items)} alerts"
    elif kind == "escalation":
        subject = f"{city}: not acknowledged — {fields[0]['rule_name']} at {fields[0]['site_name']}"
    else:
        subject = f"{city}: {fields[0]['rule_name']} at {fields[0]['site_name']}"
    lines = [_line(f) for f in fields]
    if kind == "escalation":
        lines.append("Nobody has acknowledged this alert yet.")
    return Message(kind, subject, "\n".join(lines), fields)


# -- who hears what --------------------------------------------------------------------------


def _digest_key(channel: str, keys: Iterable[str]) -> str:
    digest = hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:24]
    return f"digest:{channel}:{digest}"


def plan(
    alerts: Iterable[Alert],
    rules: Mapping[str, Rule],
    acks: Mapping[str, Acknowledgement],
    outbox: Iterable[Delivery],
    config: CityConfig,
    now: datetime,
) -> list[Delivery]:
    """The new messages for the open ``alerts``: for each rule's channels, those not in
    ``outbox`` yet (by alert and channel, digests included); a digest per channel with
    more than ``digest_after`` new alerts; an escalation to ``escalate_to`` for an alert
    nobody acknowledged (``acks``) within ``escalate_minutes`` of its first message (of
    its opening, when its rule tells only the phone view). Messages in a rule's quiet
    hours are due when they end, unless the alert is critical."""
    settings, zone, city = config.alerts, config.city.timezone, config.city.name
    told: dict[tuple[str, str], datetime] = {}
    escalated: set[tuple[str, str]] = set()
    first: dict[str, datetime] = {}
    for item in outbox:
        for key in item.alert_keys:
            if item.kind == "escalation":
                escalated.add((item.channel, key))
            else:
                told[(item.channel, key)] = item.created
                first[key] = min(first.get(key, item.created), item.created)
    fresh: dict[str, list[tuple[Rule, Alert]]] = {}
    out: list[Delivery] = []

    def due(rule: Rule, alert: Alert) -> datetime:
        if rule_severity(rule, alert) == "critical":
            return now
        return quiet_until(rule.spec, now, zone) or now

    for alert in alerts:
        rule = rules.get(alert.rule)
        if rule is None or not rule.enabled or not alert.active:
            continue
        for channel in rule.spec.notify:
            if channel in settings.channels and (channel, alert.key) not in told:
                fresh.setdefault(channel, []).append((rule, alert))
        minutes = rule.spec.escalate_minutes
        if minutes is None or decode(acks.get(alert.key)).status != "open":
            continue
        notified = [c for c in rule.spec.notify if c in settings.channels]
        since = first.get(alert.key, None if notified else alert.opened)
        if since is None or now - since < timedelta(minutes=minutes):
            continue
        for channel in rule.spec.escalate_to:
            if channel in settings.channels and (channel, alert.key) not in escalated:
                body = message("escalation", [(rule, alert)], city).to_json()
                out.append(
                    Delivery(
                        f"escalation:{channel}:{alert.key}", channel, "escalation",
                        (alert.key,), rule.id, body, now, due(rule, alert),
                    )
                )  # fmt: skip
    for channel, items in sorted(fresh.items()):
        if len(items) > settings.digest_after:
            keys = [a.key for _, a in items]
            body = message("digest", items, city).to_json()
            when = min(due(r, a) for r, a in items)
            rule_ids = ",".join(sorted({r.id for r, _ in items}))
            out.append(
                Delivery(
                    _digest_key(channel, keys), channel, "digest", tuple(keys), rule_ids[:200],
                    body, now, when,
                )
            )  # fmt: skip
            continue
        for rule, alert in items:
            body = message("alert", [(rule, alert)], city).to_json()
            out.append(
                Delivery(
                    f"alert:{channel}:{alert.key}", channel, "alert", (alert.key,), rule.id,
                    body, now, due(rule, alert),
                )
            )  # fmt: skip
    return out


# -- senders -----------------------------------------------------------------------------------


class SignatureError(ValueError):
    """A webhook request whose signature a receiver must refuse: missing, malformed,
    wrong, or signed too long ago (a replay)."""


def _mac(secret: bytes, stamp: int, body: bytes) -> str:
    return hmac.new(secret, f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: bytes, body: bytes, now: datetime | None = None) -> str:
    """``t=<unix seconds>,v1=<hex>``: the HMAC-SHA256 under ``secret`` of the time, a dot
    and ``body``, as a receiver recomputes it (``check_signature``). Each try of a delivery
    is signed afresh at the moment it is sent."""
    stamp = int((now or datetime.now(UTC)).timestamp())
    return f"t={stamp},v1={_mac(secret, stamp, body)}"


def check_signature(
    secret: bytes,
    body: bytes,
    header: str,
    now: datetime | None = None,
    tolerance_s: int = SIGNATURE_TOLERANCE_S,
) -> None:
    """What a webhook receiver runs on ``SIGNATURE_HEADER`` and the raw ``body``: returns
    when the body was signed with ``secret`` within ``tolerance_s`` of ``now``; raises
    ``SignatureError`` saying why not. Compares in constant time."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    stamp_text, given = parts.get("t", ""), parts.get("v1", "")
    if not stamp_text.isdigit() or not given:
        raise SignatureError("the signature header is missing or malformed")
    stamp = int(stamp_text)
    if not hmac.compare_digest(_mac(secret, stamp, body), given):
        raise SignatureError("the signature does not match the body")
    age = (now or datetime.now(UTC)).timestamp() - stamp
    if abs(age) > tolerance_s:
        raise SignatureError(f"signed {age:.0f} s from now, more than {tolerance_s} s")


_COLOURS: Final = {"critical": "B00020", "high": "E65100", "moderate": "F9A825", "low": "607D8B"}


def channel_payload(channel: ChannelConfig, msg: Message) -> dict[str, Any]:
    """The JSON body a webhook channel sends: the cockpit's own (``json``), an Office 365
    connector card (``teams``), or a Slack message (``slack``)."""
    if channel.format == "teams":
        worst = min(
            (a["severity"] for a in msg.alerts),
            key=lambda s: list(_COLOURS).index(s) if s in _COLOURS else 9,
            default="low",
        )
        return {
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": msg.subject,
            "themeColor": _COLOURS.get(worst, "607D8B"),
            "title": msg.subject,
            "text": msg.text.replace("\n", "\n\n"),
        }
    if channel.format == "slack":
        return {"text": f"*{msg.subject}*\n{msg.text}"}
    return json.loads(msg.to_json())


def send_webhook(url: str, body: bytes, secret: bytes, delivery_key: str) -> None:
    """POST ``body`` (JSON) to ``url`` with its signature (``SIGNATURE_HEADER``) and the
    delivery's key (``X-Cockpit-Delivery``, the same on every retry). Raises
    DeliveryError for no answer in time or an answer other than 2xx."""
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(secret, body),
        DELIVERY_HEADER: delivery_key,
    }
    try:
        answer = requests.post(
            url, data=body, headers=headers, timeout=WEBHOOK_TIMEOUT_S, allow_redirects=False
        )
    except requests.RequestException as exc:
        raise DeliveryError(f"webhook {url}: {type(exc).__name__}: {exc}") from None
    if not 200 <= answer.status_code < 300:
        raise DeliveryError(f"webhook {url}: answered {answer.status_code}")


def send_email(
    smtp: SmtpConfig,
    to: list[str],
    msg: Message,
    delivery_key: str,
    environ: Mapping[str, str],
) -> None:
    """Send ``msg`` as a plain-text e-mail to ``to`` through ``smtp``. Raises
    DeliveryError when the server cannot be reached or refuses it."""
    mail = EmailMessage()
    mail["From"] = smtp.sender
    mail["To"] = ", ".join(to)
    mail["Subject"] = msg.subject
    mail["X-Cockpit-Delivery"] = delivery_key
    mail.set_content(msg.text)
    _deliver(smtp, mail, environ)


def send(config: CityConfig, delivery: Delivery, environ: Mapping[str, str]) -> None:
    """Send ``delivery`` through its channel. Raises DeliveryError when it fails (a
    channel no longer configured, a secret missing from the environment, a refusal)."""
    channel = config.alerts.channels.get(delivery.channel)
    if channel is None:
        raise DeliveryError(f"no channel {delivery.channel!r} in the city config")
    msg = Message.from_json(delivery.body)
    if channel.kind == "email":
        send_email(config.alerts.smtp, channel.to, msg, delivery.key, environ)
        return
    secret = environ.get(channel.secret_env, "")
    if not secret:
        raise DeliveryError(f"the environment variable {channel.secret_env} is not set")
    body = json.dumps(channel_payload(channel, msg), ensure_ascii=False).encode()
    send_webhook(channel.url, body, secret.encode(), delivery.key)


# -- the daily brief -----------------------------------------------------------------------------

# The outbox's kind of a daily brief's message.
BRIEF_KIND: Final = "brief"


@dataclass(frozen=True)
class BriefMail:
    """A daily brief ready to mail: subject, HTML body, plain-text alternative, PDF, and
    the pictures the HTML shows by ``cid:`` (content id, PNG bytes)."""

    subject: str
    html: str
    text: str
    pdf: bytes
    filename: str
    images: tuple[tuple[str, bytes], ...] = ()


# Makes the brief of a day in a language (``cockpit.present.brief_render.brief_mail``).
BriefMaker = Callable[[date, str], BriefMail]


def brief_deliveries(config: CityConfig, now: datetime) -> list[Delivery]:
    """Today's brief for each recipient whose time (``[brief.recipients.<id>] time``,
    the city's clock) has come by ``now``: one outbox message each, keyed by recipient
    and day, so that planning it again adds nothing."""
    zone = ZoneInfo(config.city.timezone)
    local = now.astimezone(zone)
    out = []
    for rid, recipient in sorted(config.brief.recipients.items()):
        hour, minute = (int(p) for p in recipient.time.split(":"))
        if local < datetime.combine(local.date(), wall_time(hour, minute), zone):
            continue
        day = local.date().isoformat()
        body = {"recipient": rid, "day": day, "language": recipient.language}
        out.append(
            Delivery(
                f"brief:{rid}:{day}", f"brief:{rid}", BRIEF_KIND, (), "brief",
                json.dumps(body), now, now,
            )
        )  # fmt: skip
    return out


def send_brief(
    config: CityConfig,
    delivery: Delivery,
    make: BriefMaker,
    environ: Mapping[str, str],
) -> None:
    """Make the brief ``delivery`` names and mail it to its recipient through
    ``[alerts.smtp]``: the HTML body, a plain-text alternative, the PDF attached.
    Raises DeliveryError for a recipient no longer configured or a mail server that
    cannot be reached or refuses it."""
    body = json.loads(delivery.body)
    recipient = config.brief.recipients.get(body["recipient"])
    if recipient is None:
        raise DeliveryError(f"no brief recipient {body['recipient']!r} in the city config")
    mail = make(date.fromisoformat(body["day"]), body["language"])
    smtp = config.alerts.smtp
    message = EmailMessage()
    message["From"] = smtp.sender
    message["To"] = ", ".join(recipient.to)
    message["Subject"] = mail.subject
    message["X-Cockpit-Delivery"] = delivery.key
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    html_part = message.get_body(preferencelist=("html",))
    if html_part is not None:  # the alternative just added
        for cid, png in mail.images:
            html_part.add_related(png, maintype="image", subtype="png", cid=f"<{cid}>")
    message.add_attachment(mail.pdf, maintype="application", subtype="pdf", filename=mail.filename)
    _deliver(smtp, message, environ)


def _deliver(smtp: SmtpConfig, mail: EmailMessage, environ: Mapping[str, str]) -> None:
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_seconds) as server:
            if smtp.starttls:
                server.starttls()
            if smtp.user_env:
                server.login(environ.get(smtp.user_env, ""), environ.get(smtp.password_env, ""))
            server.send_message(mail)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"e-mail via {smtp.host}:{smtp.port}: {exc}") from None


# -- the worker ---------------------------------------------------------------------------------


class Dispatcher:
    """Evaluates the rules that name a channel, puts new messages in the outbox and
    sends what is due, in one pass (``run_once``) or in a daemon thread (``start``).
    With a ``store``, one process of all runs each pass (a lease)."""

    def __init__(
        self,
        config: CityConfig,
        history: HistoryStore,
        journal: Journal,
        sites: Callable[[], pd.DataFrame],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        store: SnapshotStore | None = None,
        environ: Mapping[str, str] | None = None,
        briefs: BriefMaker | None = None,
    ) -> None:
        self.config = config
        self.history = history
        self.journal = journal
        self.sites = sites
        self.clock = clock
        self.store = store
        self.environ = os.environ if environ is None else environ
        # Makes the daily brief; without it no brief is planned or sent.
        self.briefs = briefs
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # The last evaluation: (data version and rules, when, the alerts).
        self._evaluated: tuple[tuple[int | None, str], datetime, list[Alert]] | None = None

    def plan_once(self, now: datetime) -> int:
        """Add the daily briefs now due and the rules' new messages to the outbox;
        returns how many were added."""
        planned = 0
        if self.briefs is not None and self.config.brief.recipients:
            planned += self.journal.enqueue(brief_deliveries(self.config, now))
        return planned + self._plan_alerts(now)

    def _plan_alerts(self, now: datetime) -> int:
        """Evaluate the rules and add their new messages to the outbox; returns how many."""
        rules = {r.id: r for r in all_rules(self.config, self.journal)}
        channels = self.config.alerts.channels
        routed = [
            r
            for r in rules.values()
            if r.enabled and any(c in channels for c in (*r.spec.notify, *r.spec.escalate_to))
        ]
        if not routed:
            return 0
        alerts = self._alerts(routed, now)
        since = now - timedelta(hours=self.config.alerts.window_hours + 48)
        outbox = self.journal.outbox(limit=-1, since=since)
        new = plan(alerts, rules, self.journal.acknowledgements(), outbox, self.config, now)
        return self.journal.enqueue(new) if new else 0

    def _alerts(self, routed: list[Rule], now: datetime) -> list[Alert]:
        """The alerts of ``routed``, evaluated again when the data or the rules changed, or
        ``REEVALUATE_S`` after the last evaluation (silences grow without new data)."""
        written = "\n".join(f"{r.id} {r.spec.model_dump_json()}" for r in routed)
        key = (self.store.version() if self.store is not None else None, written)
        if (
            self._evaluated is not None
            and self.store is not None
            and self._evaluated[0] == key
            and timedelta(0) <= now - self._evaluated[1] < timedelta(seconds=REEVALUATE_S)
        ):
            return self._evaluated[2]
        alerts = evaluate_rules(routed, self.config, self.history, self.sites(), now)
        self._evaluated = (key, now, alerts)
        return alerts

    def send_due(self, now: datetime) -> int:
        """Try every message due by ``now``; returns how many were sent."""
        settings = self.config.alerts
        sent = 0
        due = self.journal.outbox(limit=BATCH, status="pending", due_by=now)
        started = time.monotonic()
        for delivery in reversed(due):  # oldest first
            if time.monotonic() - started > SEND_BUDGET_S:
                break
            try:
                if delivery.kind == BRIEF_KIND and self.briefs is not None:
                    send_brief(self.config, delivery, self.briefs, self.environ)
                else:
                    send(self.config, delivery, self.environ)
            except DeliveryError as exc:
                tries = delivery.attempts + 1
                retry = (
                    now + timedelta(seconds=settings.retry_seconds * 2 ** (tries - 1))
                    if tries < settings.retry_attempts
                    else None
                )
                log.warning("delivery %s failed (try %d): %s", delivery.key, tries, exc)
                self.journal.delivery_done(delivery.id, now, str(exc), retry)
                continue
            self.journal.delivery_done(delivery.id, now)
            sent += 1
        return sent

    def run_once(self) -> tuple[int, int]:
        """One pass: plan, then send; returns (planned, sent). Does nothing while another
        process holds the pass's lease."""
        if self.store is not None and not self.store.claim("deliver", ttl_s=LEASE_S):
            return (0, 0)
        try:
            now = self.clock()
            return self.plan_once(now), self.send_due(now)
        finally:
            if self.store is not None:
                self.store.release("deliver")

    def _run(self, tick_s: float) -> None:
        while not self._stop.wait(tick_s):
            try:
                self.run_once()
            except Exception:  # the next pass tries again; nothing is lost from the outbox
                log.exception("alert delivery pass failed")

    def start(self, tick_s: float = 15.0) -> None:
        """Run a pass every ``tick_s`` seconds in a daemon thread (idempotent)."""
        if self._thread and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, args=(tick_s,), name="city-cockpit-notify", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=30)
            self._thread = None
