"""The rules of publishing a notice: where it shows, the texts it needs, who may put an
emergency on the kiosks, and the audit log's words for it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file

from cockpit.config import CityConfig, KioskScreenConfig, default_config_path, load_config
from cockpit.present import notice_rules as rules
from cockpit.present.i18n import translator
from cockpit.storage import Notice

T = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)  # Tue 10:30 in Melbourne
ROOT = Path(__file__).resolve().parents[3]


def english(text: str) -> str:
    return text


@pytest.fixture
def config() -> CityConfig:
    cfg = load_config(default_config_path())
    cfg.kiosk.ids = ["town-hall"]
    cfg.kiosk.screens["library"] = KioskScreenConfig(title="", languages=["en", "it"])
    return cfg


def notice(severity: str = "emergency", author: str = "sam", **fields: object) -> Notice:
    return Notice({"en": "Leave the square"}, severity, T, T + timedelta(hours=2), author, **fields)  # type: ignore[arg-type]


def test_every_kiosk_language_is_needed(config: CityConfig) -> None:
    assert rules.kiosk_languages(config) == ["en", "de", "it"]
    assert rules.missing_languages({"en": "Go", "de": "  "}, ["en", "de", "it"]) == ["de", "it"]
    assert rules.missing_languages({"en": "Go", "de": "Los", "it": "Via"}, ["en", "de", "it"]) == []


def test_a_notice_shows_on_all_kiosks_a_group_or_one(config: CityConfig) -> None:
    choices = rules.kiosk_choices(config, ["kiosk-7"], english)
    assert [c.value for c in choices] == [
        "all",
        "screen:library",
        "screen:station",
        "kiosk:kiosk-7",
        "kiosk:town-hall",
    ]
    assert choices[2].label == "Group: Flinders Street Station (station)"
    assert rules.target_of("all", choices) == ()
    assert rules.target_of("screen:station", choices) == ("screen:station",)
    assert rules.target_of("kiosk:made-up", choices) is None
    assert rules.target_of(["all"], choices) is None
    german = translator("de", "cockpit")
    assert rules.targets_text((), config, german) == "allen Kiosken"
    assert (
        rules.targets_text(("screen:station",), config, english)
        == "the group Flinders Street Station (station)"
    )
    assert rules.targets_text(("kiosk:town-hall",), config, english) == "the kiosk town-hall"


def test_an_emergency_needs_an_executive_or_two_people() -> None:
    assert rules.publishes_at_once("executive", "emergency")
    assert not rules.publishes_at_once("staff", "emergency")
    assert rules.publishes_at_once("staff", "warning")
    waiting = notice()
    assert not waiting.approved and not waiting.shown_on("k", "default")
    assert not rules.may_approve(waiting, "sam", "staff")  # not one's own
    assert rules.may_approve(waiting, "kim", "staff")
    assert rules.may_approve(waiting, "erin", "executive")
    assert not rules.may_approve(waiting, "kim", "public")
    assert not rules.may_approve(notice(approved_by="erin"), "kim", "staff")
    assert not rules.may_approve(notice("warning"), "kim", "staff")  # nothing to approve


def test_the_audit_line_names_places_and_times(config: CityConfig) -> None:
    line = rules.audit_detail(12, notice(kiosks=("screen:station",)), config)
    assert line == (
        "notice 12 (emergency) on the group Flinders Street Station (station),"
        " 2026-11-24 10:30 to 2026-11-24 12:30 (Australia/Melbourne), in en:"
        " “Leave the square”; waits for a second approval"
    )
    long = Notice({"de": "x" * 300}, "info", T, T + timedelta(hours=1), "sam")
    assert rules.audit_detail(1, long, config).endswith("“" + "x" * 59 + "…”")


def test_german_has_every_message_of_the_rules() -> None:
    german = translator("de", "cockpit")
    found = [
        text
        for _l, text, _c, _x in extract_from_file(
            "python", str(ROOT / "cockpit/present/notice_rules.py"), keywords={"_t": None}
        )
        if isinstance(text, str)
    ]
    assert len(found) >= 6
    for message in found:
        assert german(message) != message, message
        assert set(re.findall(r"\{(\w*)\}", german(message))) == set(
            re.findall(r"\{(\w*)\}", message)
        )
