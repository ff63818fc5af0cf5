"""Which citizens' reports a kiosk shows, and in which words: published ones only, within
their keep period, newest first, at most a few, in the kiosk's language."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cockpit.config import CityConfig, default_config_path, load_config
from cockpit.present.kiosk_reports import SLIDE_REPORTS, KioskReport, kiosk_reports
from cockpit.reports import STATUSES, Report, round_position

NOW = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def config() -> CityConfig:
    return load_config(default_config_path())


def report(code: str, status: str = "published", age_days: float = 1, **fields: object) -> Report:
    base: dict[str, object] = {
        "code": code,
        "category": "air_smell",
        "text": f"Smells of smoke ({code})",
        "created": NOW - timedelta(days=age_days),
        "lat": -37.81234,
        "lon": 144.96321,
        "status": status,
        "language": "en",
    }
    return Report(**{**base, **fields})  # type: ignore[arg-type]


def codes(shown: tuple[KioskReport, ...]) -> list[str]:
    return [r.text.removeprefix("Smells of smoke (").removesuffix(")") for r in shown]


def test_only_published_reports_are_shown(config: CityConfig) -> None:
    reports = [report(f"AAAA-{s[:4].upper()}", s) for s in STATUSES]
    assert {s for s in STATUSES if s != "published"} == {"received", "merged", "closed"}
    assert codes(kiosk_reports(config, reports, {}, "en", NOW)) == ["AAAA-PUBL"]


def test_reports_past_their_keep_period_or_from_the_future_are_not_shown(
    config: CityConfig,
) -> None:
    keep = config.reports.keep_days
    reports = [
        report("OLD0-0000", age_days=keep + 0.01),
        report("EDGE-0000", age_days=keep),
        report("LATE-0000", age_days=-1),
    ]
    assert codes(kiosk_reports(config, reports, {}, "en", NOW)) == ["EDGE-0000"]


def test_newest_first_and_at_most_the_limit(config: CityConfig) -> None:
    reports = [report(f"DAY{n}-0000", age_days=n) for n in (5, 1, 3, 2, 4)]
    shown = kiosk_reports(config, reports, {}, "en", NOW)
    assert len(shown) == SLIDE_REPORTS == 3
    assert codes(shown) == ["DAY1-0000", "DAY2-0000", "DAY3-0000"]
    assert codes(kiosk_reports(config, reports, {}, "en", NOW, limit=10)) == [
        f"DAY{n}-0000" for n in (1, 2, 3, 4, 5)
    ]
    assert kiosk_reports(config, reports, {}, "en", NOW, limit=0) == ()


def test_none_when_the_city_takes_no_reports(config: CityConfig) -> None:
    off = config.model_copy(
        update={"reports": config.reports.model_copy(update={"enabled": False})}
    )
    assert kiosk_reports(off, [report("AAAA-BBBB")], {}, "en", NOW) == ()


def test_words_follow_the_kiosk_language_and_the_text_stays_as_written(
    config: CityConfig,
) -> None:
    published = report(
        "AAAA-BBBB",
        text="Es riecht nach Rauch",
        language="de",
        answer="Checked, thank you",
        site_id="air:1",
        has_photo=True,
        photo=b"\xff\xd8 not for a kiosk",
    )
    (en,) = kiosk_reports(config, [published], {"air:1": "Alphington"}, "en", NOW)
    (de,) = kiosk_reports(config, [published], {"air:1": "Alphington"}, "de", NOW)
    assert (en.title, en.status, en.when) == ("Bad air or a smell here", "Published", "November 23")
    assert (de.title, de.status, de.when) == (
        "Schlechte Luft oder ein Geruch hier",
        "Veröffentlicht",
        "23. November",
    )
    assert en.text == de.text == "Es riecht nach Rauch" and en.text_language == "de"
    assert en.answer == "Answer: Checked, thank you"
    assert de.answer == "Antwort: Checked, thank you"
    assert en.place == de.place == "Alphington"
    # The day is the city's: 14:00 UTC on the 23rd is 01:00 on the 24th in Melbourne.
    late = report("EEEE-FFFF", created=datetime(2026, 11, 23, 14, tzinfo=UTC))
    assert kiosk_reports(config, [late], {}, "de", NOW)[0].when == "24. November"
    # Nothing about who sent it, its code or its photo reaches a kiosk.
    assert "AAAA-BBBB" not in repr(de) and "photo" not in repr(de) and "not for" not in repr(de)


def test_places_are_rounded_and_only_public_sites_are_named(config: CityConfig) -> None:
    about_internal = report("AAAA-BBBB", site_id="staff:7")
    (shown,) = kiosk_reports(config, [about_internal], {"air:1": "Alphington"}, "en", NOW)
    assert shown.place == ""
    metres = config.reports.position_m
    assert (shown.lat, shown.lon) == round_position(-37.81234, 144.96321, metres)
    assert (shown.lat, shown.lon) != (-37.81234, 144.96321)
    no_answer = report("CCCC-DDDD", lat=None, lon=None, site_id="air:1")
    (unplaced,) = kiosk_reports(config, [no_answer], {"air:1": "Alphington"}, "en", NOW)
    assert (unplaced.lat, unplaced.lon, unplaced.answer) == (None, None, "")
