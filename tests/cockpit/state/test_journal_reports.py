"""Citizens' reports in the journal, one contract for both backends: the embedded SQLite
file and PostgreSQL (the real server on 127.0.0.1, see tests/servers.py). Reports are
kept with their cleaned photo, listed newest first without it, moderated, and purged
after their retention."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cockpit.reports import Report, ReportChange, new_code

T = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4 + b"\xff\xd9"


def report(minutes: int = 0, **fields: Any) -> Report:
    values: dict[str, Any] = {
        "code": new_code(),
        "category": "parking_wrong",
        "text": "Car park full but shown free",
        "created": T + timedelta(minutes=minutes),
        "lat": -37.8136,
        "lon": 144.9631,
        "language": "de",
    }
    values.update(fields)
    return Report(**values)


def test_a_report_is_kept_with_its_photo_and_found_by_its_code(journal: Any) -> None:
    filed = report(photo=JPEG, text="Schlechter Geruch \u2013 hier")
    rid = journal.file_report(filed, now=T)
    assert rid > 0
    found = journal.report(filed.code, photo=True)
    assert found is not None
    assert (found.code, found.category, found.text) == (filed.code, filed.category, filed.text)
    assert (found.lat, found.lon, found.language) == (-37.8136, 144.9631, "de")
    assert found.status == "received" and found.created == T and found.id == rid
    assert found.photo == JPEG and found.has_photo
    listed = journal.report(filed.code)
    assert listed.photo is None and listed.has_photo
    assert journal.report("AAAA-BBBB") is None


def test_reports_list_newest_first_without_photos_and_filter_by_status(journal: Any) -> None:
    first = report(0, photo=JPEG)
    second = report(5, site_id="ped:12", lat=None, lon=None)
    journal.file_report(first)
    journal.file_report(second)
    listed = journal.reports()
    assert [r.code for r in listed] == [second.code, first.code]
    assert all(r.photo is None for r in listed) and listed[1].has_photo
    assert listed[0].site_id == "ped:12" and listed[0].lat is None
    journal.change_report(first.code, ReportChange(status="published"), now=T)
    assert [r.code for r in journal.reports(("published",))] == [first.code]
    assert [r.code for r in journal.reports(limit=1)] == [second.code]
    assert [r.code for r in journal.reports(since=T + timedelta(minutes=1))] == [second.code]


def test_moderation_is_kept_and_moves_the_version(journal: Any) -> None:
    filed, other = report(0), report(1)
    journal.file_report(filed)
    journal.file_report(other)
    before = journal.version()
    later = T + timedelta(hours=1)
    changed = journal.change_report(
        filed.code, ReportChange(status="published", answer="Fixed, thank you"), now=later
    )
    assert changed.status == "published" and journal.version() > before
    kept = journal.report(filed.code)
    assert kept.answer == "Fixed, thank you" and kept.updated == later and kept.public
    journal.change_report(other.code, ReportChange(merged_into=filed.code, link="alert:a1"))
    merged = journal.report(other.code)
    assert merged.status == "merged" and merged.merged_into == filed.code
    assert merged.link == "alert:a1"


def test_unusable_changes_and_reports_are_refused_and_change_nothing(journal: Any) -> None:
    filed = report()
    journal.file_report(filed)
    with pytest.raises(ValueError, match="no report"):
        journal.change_report(filed.code, ReportChange(merged_into="AAAA-BBBB"))
    with pytest.raises(ValueError, match="status"):
        journal.change_report(filed.code, ReportChange(status="deleted"))
    assert journal.report(filed.code).status == "received"
    assert journal.change_report("AAAA-BBBB", ReportChange(status="closed")) is None
    with pytest.raises(ValueError, match="category"):
        journal.file_report(report(category="ufo"))
    with pytest.raises(ValueError, match="taken"):
        journal.file_report(report(code=filed.code))
    assert len(journal.reports()) == 1


def test_reports_older_than_the_retention_are_purged_with_their_photos(journal: Any) -> None:
    old, fresh = report(0, photo=JPEG), report(60 * 24 * 91)
    journal.file_report(old)
    journal.file_report(fresh)
    assert journal.purge_reports(T + timedelta(days=90)) == 1
    assert journal.report(old.code, photo=True) is None
    assert [r.code for r in journal.reports()] == [fresh.code]
    version = journal.version()
    assert journal.purge_reports(T + timedelta(days=90)) == 0
    assert journal.version() == version  # nothing purged: screens need not re-read


def test_reports_survive_reopening_and_are_shared(journals: Callable[[], Any]) -> None:
    one, two = journals(), journals()
    filed = report(photo=JPEG, text="Zähler zeigt 0 \U0001f6b2")
    one.file_report(filed)
    assert two.report(filed.code, photo=True).photo == JPEG
    one.close()
    assert journals().report(filed.code).text == "Zähler zeigt 0 \U0001f6b2"
