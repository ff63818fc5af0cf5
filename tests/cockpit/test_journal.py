"""The journal: notices, acknowledgements, kiosk heartbeats, audit and decisions, kept
in SQLite on disk so that they survive a restart."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cockpit.journal import Decision, Journal, Notice

T = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)


def notice(severity: str = "info", start: int = 0, hours: int = 2, **texts: str) -> Notice:
    return Notice(
        texts=texts or {"en": f"{severity} notice"},
        severity=severity,
        starts=T + timedelta(minutes=start),
        expires=T + timedelta(minutes=start) + timedelta(hours=hours),
        author="sam",
    )


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    j = Journal(tmp_path)
    yield j
    j.close()


def test_notice_is_active_only_inside_its_window(journal: Journal) -> None:
    nid = journal.publish(notice(start=10, hours=1), now=T)
    assert journal.notices(T) == []
    assert [n.id for n in journal.notices(T + timedelta(minutes=10))] == [nid]
    assert [n.id for n in journal.notices(T + timedelta(minutes=69))] == [nid]
    assert journal.notices(T + timedelta(minutes=70)) == []  # expires is exclusive


def test_withdrawn_notice_is_no_longer_active(journal: Journal) -> None:
    nid = journal.publish(notice(), now=T)
    assert journal.withdraw(nid, "erin", now=T + timedelta(minutes=5))
    assert journal.notices(T + timedelta(minutes=6)) == []
    assert not journal.withdraw(nid, "erin")  # only once
    assert not journal.withdraw(9999, "erin")
    (gone,) = journal.notices(include_inactive=True)
    assert gone.withdrawn == T + timedelta(minutes=5) and gone.withdrawn_by == "erin"


def test_most_severe_notice_comes_first(journal: Journal) -> None:
    info = journal.publish(notice("info"), now=T)
    emergency = journal.publish(notice("emergency"), now=T)
    warning = journal.publish(notice("warning"), now=T)
    later_info = journal.publish(notice("info"), now=T)
    order = [n.id for n in journal.notices(T + timedelta(minutes=1))]
    assert order == [emergency, warning, later_info, info]
    assert [n.id for n in journal.notices(include_inactive=True)] == [
        later_info,
        warning,
        emergency,
        info,
    ]


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (notice("panic"), "severity"),
        (Notice({"en": "  "}, "info", T, T + timedelta(hours=1), "sam"), "text"),
        (Notice({"en": "x"}, "info", T, T, "sam"), "expire"),
    ],
)
def test_unusable_notices_are_refused(journal: Journal, bad: Notice, reason: str) -> None:
    version = journal.version()
    with pytest.raises(ValueError, match=reason):
        journal.publish(bad, now=T)
    assert journal.version() == version
    assert journal.notices(include_inactive=True) == []


def test_notice_text_falls_back_to_english_then_any() -> None:
    both = notice(en="Smog warning", de="Smogwarnung")
    assert both.text("de") == "Smogwarnung" and both.text("fr") == "Smog warning"
    assert notice(de="Nur Deutsch").text("en") == "Nur Deutsch"


def test_texts_in_every_language_survive(journal: Journal) -> None:
    journal.publish(notice(en="Heat warning", de="Hitzewarnung", el="Προειδοποίηση"), now=T)
    (stored,) = journal.notices(T)
    assert stored.texts == {"en": "Heat warning", "de": "Hitzewarnung", "el": "Προειδοποίηση"}
    assert stored.created == T and stored.author == "sam"


def test_acknowledgements_are_kept_per_alert(journal: Journal) -> None:
    journal.acknowledge("air:pm10:alphington", "sam", now=T, note="checked the station")
    journal.acknowledge("parking:cbd", "erin", now=T)
    journal.acknowledge("parking:cbd", "sam", now=T + timedelta(minutes=3))
    acks = journal.acknowledgements()
    assert set(acks) == {"air:pm10:alphington", "parking:cbd"}
    assert acks["air:pm10:alphington"].note == "checked the station"
    assert acks["parking:cbd"].user == "sam"
    assert acks["parking:cbd"].time == T + timedelta(minutes=3)


def test_heartbeats_keep_each_kiosks_last_contact(journal: Journal) -> None:
    journal.beat("station-3", {"screen": "default", "language": "en", "version": 4}, now=T)
    journal.beat("hall", {"screen": "hall"}, now=T)
    journal.beat(
        "station-3",
        {"screen": "default", "language": "de", "version": 5},
        now=T + timedelta(seconds=10),
    )
    beats = journal.heartbeats()
    assert [b.kiosk_id for b in beats] == ["hall", "station-3"]
    assert beats[1].time == T + timedelta(seconds=10)
    assert beats[1].info == {"screen": "default", "language": "de", "version": 5}


def test_audit_log_is_newest_first_and_limited(journal: Journal) -> None:
    for i in range(5):
        journal.audit("sam", "sign-in", f"try {i}", "10.0.0.1", now=T + timedelta(minutes=i))
    log = journal.audit_log(limit=3)
    assert [e.detail for e in log] == ["try 4", "try 3", "try 2"]
    assert log[0].actor == "sam" and log[0].address == "10.0.0.1"
    assert log[0].time == T + timedelta(minutes=4)


def test_decisions_are_ordered_by_when_they_took_effect(journal: Journal) -> None:
    first = Decision("Bus lane opened", "Swanston St", T - timedelta(days=3), "erin", ["traffic"])
    second = Decision("Car-free Sunday", "CBD", T - timedelta(days=1), "erin")
    journal.record_decision(second, now=T)
    journal.record_decision(first, now=T)
    stored = journal.decisions()
    assert [d.what for d in stored] == ["Car-free Sunday", "Bus lane opened"]
    assert stored[1].kpis == ["traffic"] and stored[1].created == T
    with pytest.raises(ValueError, match="description"):
        journal.record_decision(Decision(" ", "CBD", T, "erin"), now=T)


def test_version_changes_with_what_screens_show(journal: Journal) -> None:
    v0 = journal.version()
    nid = journal.publish(notice(), now=T)
    v1 = journal.version()
    journal.withdraw(nid, "sam", now=T)
    v2 = journal.version()
    journal.acknowledge("a", "sam", now=T)
    v3 = journal.version()
    journal.record_decision(Decision("x", "y", T, "erin"), now=T)
    v4 = journal.version()
    assert v0 < v1 < v2 < v3 < v4
    # A heartbeat or an audit entry changes nothing a screen shows.
    journal.beat("k", {}, now=T)
    journal.audit("sam", "sign-in", now=T)
    assert journal.version() == v4


def test_everything_survives_closing_and_reopening(tmp_path: Path) -> None:
    first = Journal(tmp_path)
    nid = first.publish(notice("warning", en="Smog"), now=T)
    first.acknowledge("alert-1", "sam", now=T)
    first.beat("station-3", {"screen": "default"}, now=T)
    first.audit("erin", "publish notice", str(nid), "10.0.0.2", now=T)
    first.record_decision(Decision("Bus lane", "Swanston St", T, "erin"), now=T)
    version = first.version()
    first.close()

    again = Journal(tmp_path)
    try:
        assert [n.texts for n in again.notices(T + timedelta(minutes=1))] == [{"en": "Smog"}]
        assert "alert-1" in again.acknowledgements()
        assert [b.kiosk_id for b in again.heartbeats()] == ["station-3"]
        assert again.audit_log()[0].detail == str(nid)
        assert again.decisions()[0].place == "Swanston St"
        assert again.version() == version
    finally:
        again.close()


def test_two_journals_on_one_folder_see_each_others_writes(tmp_path: Path) -> None:
    writer, reader = Journal(tmp_path), Journal(tmp_path)
    try:
        writer.publish(notice(en="Road closed"), now=T)
        assert [n.text("en") for n in reader.notices(T)] == ["Road closed"]
        assert reader.version() == writer.version()
    finally:
        writer.close()
        reader.close()
