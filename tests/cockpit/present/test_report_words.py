"""Citizens' reports in people's words: every category and status in English and
German, and the public list holding only published reports, without codes or photos."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cockpit.present.i18n import translator
from cockpit.present.report_words import category_words, public_items, status_name, status_words
from cockpit.reports import CATEGORIES, STATUSES, Report

T = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)


def report(code: str, status: str, **fields: object) -> Report:
    base: dict[str, object] = {
        "code": code,
        "category": "air_smell",
        "text": "Smells of smoke",
        "created": T,
        "lat": -37.8,
        "lon": 144.96,
        "status": status,
    }
    return Report(**{**base, **fields})  # type: ignore[arg-type]


@pytest.mark.parametrize("language", ["en", "de"])
def test_every_category_and_status_has_words_in_each_language(language: str) -> None:
    _t = translator(language, "reports")
    english = translator("en", "reports")
    for category in CATEGORIES:
        words = category_words(category, _t)
        assert words and (language == "en" or words != category_words(category, english))
    for status in STATUSES:
        assert status_name(status, _t)
        words = status_words(report("AAAA-BBBB", status, merged_into="CCCC-DDDD"), _t)
        assert words and "{" not in words
    assert "CCCC-DDDD" in status_words(report("AAAA-BBBB", "merged", merged_into="CCCC-DDDD"), _t)


def test_the_public_list_holds_published_reports_only_and_no_code() -> None:
    reports = [
        report("AAAA-BBBB", "published", answer="Checked, thank you", site_id="air:1"),
        report("CCCC-DDDD", "received"),
        report("EEEE-FFFF", "merged", merged_into="AAAA-BBBB"),
        report("GGGG-HHHH", "closed"),
    ]
    (item,) = public_items(reports, "de", "Australia/Melbourne", {"air:1": "Alphington"})
    assert item["title"] == "Schlechte Luft oder ein Geruch hier"
    assert item["answer"] == "Antwort: Checked, thank you"
    assert item["site"] == "Alphington" and item["date"] == "24. November 2026"
    assert "AAAA-BBBB" not in str(item) and "photo" not in item
