"""The daily brief by e-mail: each recipient's brief is queued in the journal's outbox at
their time on the city's clock, once per day however often and by however many
processes it is planned, and arrives at a real SMTP server (aiosmtpd on 127.0.0.1) as
HTML with a plain-text alternative and the PDF attached, in the recipient's language."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime
from email.header import decode_header, make_header
from email.message import Message as Mail
from pathlib import Path

import pandas as pd
import pypdf
import pytest
from aiosmtpd.controller import Controller

from cockpit.config import BriefRecipient, CityConfig, default_config_path, load_config
from cockpit.notify import BRIEF_KIND, Dispatcher, brief_deliveries
from cockpit.present.brief_render import brief_mail
from cockpit.state.journal import Journal
from tests.browser import T0, Clock
from tests.cockpit.test_notify import Mailbox, free_port
from tests.conftest import AppServers
from wiring.runtime import Runtime

ZONE = "Australia/Melbourne"


def at(text: str) -> datetime:
    """A moment on Melbourne's clock, e.g. ``at("2026-11-24 07:45")``."""
    return pd.Timestamp(text, tz=ZONE).tz_convert("UTC").to_pydatetime()


def brief_config(port: int) -> CityConfig:
    config = load_config(default_config_path())
    config.alerts.smtp = config.alerts.smtp.model_copy(
        update={"host": "127.0.0.1", "port": port, "sender": "cockpit@melbourne.example"}
    )
    return config


@pytest.fixture(scope="module")
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("brief-data")


@pytest.fixture(scope="module")
def replay() -> Clock:
    return Clock(T0)


@pytest.fixture(scope="module")
def runtime(
    app_server: AppServers, mailbox: tuple[Mailbox, int], data_dir: Path, replay: Clock
) -> Runtime:
    return app_server.city(replay, brief_config(mailbox[1]), data_dir=data_dir)


def subject(mail: Mail) -> str:
    return str(make_header(decode_header(mail["Subject"])))


def parts(mail: Mail) -> dict[str, Mail]:
    return {part.get_content_type(): part for part in mail.walk() if not part.is_multipart()}


# -- when a brief is due: pure -------------------------------------------------------------


def test_nothing_is_due_before_a_recipients_time(demo_config: CityConfig) -> None:
    assert brief_deliveries(demo_config, at("2026-11-24 07:29")) == []


def test_each_recipient_at_their_own_time(demo_config: CityConfig) -> None:
    (mayor,) = brief_deliveries(demo_config, at("2026-11-24 07:30"))
    assert (mayor.key, mayor.kind, mayor.channel) == (
        "brief:mayor:2026-11-24",
        BRIEF_KIND,
        "brief:mayor",
    )
    later = brief_deliveries(demo_config, at("2026-11-24 23:59"))
    assert [d.key for d in later] == ["brief:delegation:2026-11-24", "brief:mayor:2026-11-24"]


def test_the_day_is_the_citys_not_utcs(demo_config: CityConfig) -> None:
    # 07:45 in Melbourne on the 25th is still the 24th in UTC.
    (mayor,) = brief_deliveries(demo_config, at("2026-11-25 07:45"))
    assert mayor.key == "brief:mayor:2026-11-25"


def test_a_daylight_saving_morning(demo_config: CityConfig) -> None:
    # Melbourne's clocks went forward at 02:00 on 4 October 2026; 07:30 is still 07:30.
    assert brief_deliveries(demo_config, at("2026-10-04 07:29")) == []
    assert len(brief_deliveries(demo_config, at("2026-10-04 07:30"))) == 1


# -- the worker, the outbox and the mail server ---------------------------------------------


def test_briefs_arrive_once_per_recipient_and_day(
    runtime: Runtime, mailbox: tuple[Mailbox, int], replay: Clock, data_dir: Path
) -> None:
    box, _port = mailbox
    dispatcher = runtime.notify

    replay.when = pd.Timestamp(at("2026-11-24 07:00"))
    assert dispatcher.run_once() == (0, 0)
    assert box.mails == []

    replay.when = pd.Timestamp(at("2026-11-24 07:45"))
    assert dispatcher.run_once() == (1, 1)
    assert dispatcher.run_once() == (0, 0)  # planned again: the journal knows it
    (mail,) = box.mails
    assert box.recipients == [["lord.mayor@melbourne.example"]]
    assert subject(mail) == "Daily brief for November 24, 2026 · Melbourne (demo)"
    assert mail["X-Cockpit-Delivery"] == "brief:mayor:2026-11-24"
    found = parts(mail)
    html = found["text/html"].get_payload(decode=True).decode()
    assert "Needs attention" in html
    # The pictures travel beside the HTML, which refers to each by its content id.
    cids = [p["Content-ID"].strip("<>") for p in mail.walk() if p.get_content_type() == "image/png"]
    assert len(cids) == 5  # four sparklines and the map
    assert all(f'src="cid:{cid}"' in html for cid in cids)
    assert "Needs attention" in found["text/plain"].get_payload(decode=True).decode()
    attachment = found["application/pdf"]
    assert attachment.get_filename() == "brief-2026-11-24-en.pdf"
    pdf = pypdf.PdfReader(io.BytesIO(attachment.get_payload(decode=True)))
    assert "Daily brief for November 24, 2026" in pdf.pages[0].extract_text()

    # A restarted process, and a second app server, share the journal: nothing twice.
    replay.when = pd.Timestamp(at("2026-11-24 08:05"))
    other = Journal(data_dir)
    try:
        second = Dispatcher(
            runtime.config,
            runtime.history,
            other,
            lambda: runtime.city.view("executive").sites,
            lambda: replay().to_pydatetime(),
            environ={},
            briefs=lambda day, lang: brief_mail(
                runtime.city, other, day, lang, replay().to_pydatetime()
            ),
        )
        assert second.run_once() == (1, 1)  # the delegation's, in German
        assert dispatcher.run_once() == (0, 0)
        assert second.run_once() == (0, 0)
    finally:
        other.close()
    assert len(box.mails) == 2
    german = box.mails[1]
    assert box.recipients[1] == ["partnerstadt@example.de"]
    assert subject(german) == "Tagesbericht für den 24. November 2026 · Melbourne (demo)"
    assert parts(german)["application/pdf"].get_filename() == "brief-2026-11-24-de.pdf"
    outbox = [d for d in runtime.journal.outbox(limit=-1) if d.kind == BRIEF_KIND]
    assert sorted((d.key, d.status) for d in outbox) == [
        ("brief:delegation:2026-11-24", "sent"),
        ("brief:mayor:2026-11-24", "sent"),
    ]


def test_a_recipient_removed_from_the_config_fails_in_the_log(
    runtime: Runtime, replay: Clock
) -> None:
    config = runtime.config
    replay.when = pd.Timestamp(at("2026-11-24 09:00"))
    config.brief.recipients["council"] = BriefRecipient(
        to=["council@melbourne.example"], time="08:30"
    )
    try:
        runtime.notify.plan_once(replay().to_pydatetime())
    finally:
        del config.brief.recipients["council"]
    runtime.notify.send_due(replay().to_pydatetime())
    (council,) = [d for d in runtime.journal.outbox(limit=-1) if d.key.startswith("brief:council")]
    assert council.status == "pending" and council.attempts == 1
    assert "no brief recipient 'council'" in council.last_error
