"""One contract for the journal (notices, acknowledgements, kiosk heartbeats, audit and
decisions), held by both backends: the embedded SQLite file, which survives a restart,
and PostgreSQL (real server on 127.0.0.1, see tests/servers.py), which every app server
of a city shares."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cockpit.config import BackendConfig, default_config_path, load_config
from cockpit.state import open_journal
from cockpit.state.journal import Decision, Journal, Notice
from cockpit.state.postgres_journal import PostgresJournal
from cockpit.storage import REFUSALS_KEPT_PER_HOUR, Delivery, StoredRule
from cockpit.validate import AUDIT_DETAIL_MAX, NOTICE_LANGUAGES_MAX, NOTICE_TEXT_MAX
from tests.servers import pg_schema, postgres_server  # noqa: F401 - fixtures

ROOT = Path(__file__).resolve().parents[3]
T = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)


def notice(severity: str = "info", start: int = 0, hours: int = 2, **texts: str) -> Notice:
    return Notice(
        texts=texts or {"en": f"{severity} notice"},
        severity=severity,
        starts=T + timedelta(minutes=start),
        expires=T + timedelta(minutes=start) + timedelta(hours=hours),
        author="sam",
    )


def test_notice_is_active_only_inside_its_window(journal: Any) -> None:
    nid = journal.publish(notice(start=10, hours=1), now=T)
    assert journal.notices(T) == []
    assert [n.id for n in journal.notices(T + timedelta(minutes=10))] == [nid]
    assert [n.id for n in journal.notices(T + timedelta(minutes=69))] == [nid]
    assert journal.notices(T + timedelta(minutes=70)) == []  # expires is exclusive


def test_a_notice_keeps_its_kiosks_and_shows_only_there(journal: Any) -> None:
    targeted = Notice(
        {"en": "Platform 3 closed"},
        "warning",
        T,
        T + timedelta(hours=1),
        "sam",
        kiosks=("screen:station", "kiosk:town-hall"),
    )
    nid = journal.publish(targeted, now=T)
    (stored,) = journal.notices(T)
    assert stored.id == nid and stored.kiosks == ("screen:station", "kiosk:town-hall")
    assert stored.shown_on("platform-1", "station") and stored.shown_on("town-hall", "default")
    assert not stored.shown_on("library", "default")
    everywhere = journal.publish(notice(), now=T)
    assert {n.id for n in journal.notices(T) if n.shown_on("library", "default")} == {everywhere}


def test_an_emergency_shows_once_a_second_person_approves(journal: Any) -> None:
    nid = journal.publish(notice("emergency"), now=T)
    (waiting,) = journal.notices(T)
    assert not waiting.approved and not waiting.shown_on("any", "default")
    version = journal.version()
    assert journal.approve(nid, "sam", now=T) is False  # its author cannot approve it
    assert journal.approve(nid + 100, "kim", now=T) is False
    assert journal.approve(nid, "kim", now=T) is True
    assert journal.version() > version
    (approved,) = journal.notices(T)
    assert approved.approved_by == "kim" and approved.shown_on("any", "default")
    assert journal.approve(nid, "lee", now=T) is False  # approved once
    by_executive = Notice(
        {"en": "x"}, "emergency", T, T + timedelta(hours=1), "erin", approved_by="erin"
    )
    shown = journal.publish(by_executive, now=T)
    assert next(n for n in journal.notices(T) if n.id == shown).approved


@pytest.mark.parametrize(
    "targets", [("everywhere",), ("kiosk:",), ("room:1",), tuple(f"kiosk:{i}" for i in range(201))]
)
def test_unusable_kiosk_targets_are_refused(journal: Any, targets: tuple[str, ...]) -> None:
    bad = Notice({"en": "x"}, "info", T, T + timedelta(hours=1), "sam", kiosks=targets)
    with pytest.raises(ValueError, match="kiosk"):
        journal.publish(bad, now=T)


def test_an_older_journal_file_gains_the_new_notice_columns(tmp_path: Path) -> None:
    import sqlite3

    old = sqlite3.connect(tmp_path / "journal.sqlite")
    old.executescript(
        "CREATE TABLE notices (id INTEGER PRIMARY KEY AUTOINCREMENT, created INTEGER NOT NULL,"
        " author TEXT NOT NULL, severity TEXT NOT NULL, starts INTEGER NOT NULL,"
        " expires INTEGER NOT NULL, texts TEXT NOT NULL, withdrawn INTEGER, withdrawn_by TEXT);"
        f"INSERT INTO notices VALUES (1, {int(T.timestamp())}, 'sam', 'emergency',"
        f' {int(T.timestamp())}, {int(T.timestamp()) + 3600}, \'{{"en": "Go"}}\', NULL, NULL);'
    )
    old.commit()
    old.close()
    journal = Journal(tmp_path)
    try:
        (kept,) = journal.notices(T)
        assert kept.kiosks == () and kept.approved_by == "sam" and kept.shown_on("a", "b")
    finally:
        journal.close()


def test_withdrawn_notice_is_no_longer_active(journal: Any) -> None:
    nid = journal.publish(notice(), now=T)
    assert journal.withdraw(nid, "erin", now=T + timedelta(minutes=5))
    assert journal.notices(T + timedelta(minutes=6)) == []
    assert not journal.withdraw(nid, "erin")  # only once
    assert not journal.withdraw(9999, "erin")
    (gone,) = journal.notices(include_inactive=True)
    assert gone.withdrawn == T + timedelta(minutes=5) and gone.withdrawn_by == "erin"


def test_most_severe_notice_comes_first(journal: Any) -> None:
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
def test_unusable_notices_are_refused(journal: Any, bad: Notice, reason: str) -> None:
    version = journal.version()
    with pytest.raises(ValueError, match=reason):
        journal.publish(bad, now=T)
    assert journal.version() == version
    assert journal.notices(include_inactive=True) == []


def test_notice_text_falls_back_to_english_then_any() -> None:
    both = notice(en="Smog warning", de="Smogwarnung")
    assert both.text("de") == "Smogwarnung" and both.text("fr") == "Smog warning"
    assert notice(de="Nur Deutsch").text("en") == "Nur Deutsch"


def test_texts_in_every_language_survive(journal: Any) -> None:
    journal.publish(notice(en="Heat warning", de="Hitzewarnung", el="Προειδοποίηση"), now=T)
    (stored,) = journal.notices(T)
    assert stored.texts == {"en": "Heat warning", "de": "Hitzewarnung", "el": "Προειδοποίηση"}
    assert stored.created == T and stored.author == "sam"


def test_acknowledgements_are_kept_per_alert(journal: Any) -> None:
    journal.acknowledge("air:pm10:alphington", "sam", now=T, note="checked the station")
    journal.acknowledge("parking:cbd", "erin", now=T)
    journal.acknowledge("parking:cbd", "sam", now=T + timedelta(minutes=3))
    acks = journal.acknowledgements()
    assert set(acks) == {"air:pm10:alphington", "parking:cbd"}
    assert acks["air:pm10:alphington"].note == "checked the station"
    assert acks["parking:cbd"].user == "sam"
    assert acks["parking:cbd"].time == T + timedelta(minutes=3)


def test_heartbeats_keep_each_kiosks_last_contact(journal: Any) -> None:
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


def test_audit_log_is_newest_first_and_limited(journal: Any) -> None:
    for i in range(5):
        journal.audit("sam", "sign-in", f"try {i}", "10.0.0.1", now=T + timedelta(minutes=i))
    log = journal.audit_log(limit=3)
    assert [e.detail for e in log] == ["try 4", "try 3", "try 2"]
    assert log[0].actor == "sam" and log[0].address == "10.0.0.1"
    assert log[0].time == T + timedelta(minutes=4)


def test_decisions_are_ordered_by_when_they_took_effect(journal: Any) -> None:
    first = Decision("Bus lane opened", "Swanston St", T - timedelta(days=3), "erin", ["traffic"])
    second = Decision("Car-free Sunday", "CBD", T - timedelta(days=1), "erin")
    journal.record_decision(second, now=T)
    journal.record_decision(first, now=T)
    stored = journal.decisions()
    assert [d.what for d in stored] == ["Car-free Sunday", "Bus lane opened"]
    assert stored[1].kpis == ["traffic"] and stored[1].created == T
    with pytest.raises(ValueError, match="description"):
        journal.record_decision(Decision(" ", "CBD", T, "erin"), now=T)


def test_version_changes_with_what_screens_show(journal: Any) -> None:
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


def test_everything_survives_closing_and_reopening(journals: Callable[[], Any]) -> None:
    first = journals()
    nid = first.publish(notice("warning", en="Smog"), now=T)
    first.acknowledge("alert-1", "sam", now=T)
    first.beat("station-3", {"screen": "default"}, now=T)
    first.audit("erin", "publish notice", str(nid), "10.0.0.2", now=T)
    first.record_decision(Decision("Bus lane", "Swanston St", T, "erin"), now=T)
    version = first.version()
    first.close()

    again = journals()
    assert [n.texts for n in again.notices(T + timedelta(minutes=1))] == [{"en": "Smog"}]
    assert "alert-1" in again.acknowledgements()
    assert [b.kiosk_id for b in again.heartbeats()] == ["station-3"]
    assert again.audit_log()[0].detail == str(nid)
    assert again.decisions()[0].place == "Swanston St"
    assert again.version() == version


def test_two_journals_on_one_backing_see_each_others_writes(journals: Callable[[], Any]) -> None:
    # Two Journal objects on one folder, or two app servers on one PostgreSQL.
    writer, reader = journals(), journals()
    writer.publish(notice(en="Road closed"), now=T)
    assert [n.text("en") for n in reader.notices(T)] == ["Road closed"]
    assert reader.version() == writer.version()
    reader.acknowledge("parking:cbd", "erin", now=T)
    assert writer.acknowledgements()["parking:cbd"].user == "erin"
    assert reader.version() == writer.version()


def test_writes_from_many_threads_are_all_kept(journal: Any) -> None:
    version = journal.version()

    def acknowledge(worker: int) -> None:
        for i in range(10):
            journal.acknowledge(f"alert-{worker}-{i}", f"user-{worker}", now=T)
            journal.audit(f"user-{worker}", "acknowledge alert", f"alert-{worker}-{i}", now=T)

    threads = [threading.Thread(target=acknowledge, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(journal.acknowledgements()) == 40
    assert len(journal.audit_log(limit=1000)) == 40
    assert journal.version() == version + 40  # no lost version bump


def test_acknowledgements_list_in_the_order_they_were_last_made(journal: Any) -> None:
    for key in ["b", "a", "c"]:
        journal.acknowledge(key, "sam", now=T)
    journal.acknowledge("a", "erin", now=T + timedelta(minutes=1))
    assert list(journal.acknowledgements()) == ["b", "c", "a"]


def test_decisions_of_one_moment_keep_the_order_they_were_recorded(journal: Any) -> None:
    ids = [journal.record_decision(Decision(w, "CBD", T, "erin"), now=T) for w in "xyz"]
    journal.record_decision(Decision("later", "CBD", T + timedelta(days=1), "erin"), now=T)
    stored = journal.decisions()
    assert [d.what for d in stored] == ["later", "x", "y", "z"]
    assert [d.id for d in stored[1:]] == ids
    assert ids == sorted(ids)


def test_kiosks_list_in_byte_order_of_their_ids(journal: Any) -> None:
    for kiosk in ["b-hall", "B-hall", "a-hall", "_lobby", "Ä-station"]:
        journal.beat(kiosk, {}, now=T)
    assert [b.kiosk_id for b in journal.heartbeats()] == sorted(
        ["b-hall", "B-hall", "a-hall", "_lobby", "Ä-station"], key=lambda k: k.encode()
    )


def test_withdrawing_nothing_still_moves_the_version(journal: Any) -> None:
    version = journal.version()
    assert not journal.withdraw(4242, "erin", now=T)
    assert journal.version() == version + 1


def test_audit_log_limits(journal: Any) -> None:
    for i in range(3):
        journal.audit("sam", "sign-in", f"try {i}", now=T)
    assert journal.audit_log(limit=0) == []
    assert [e.detail for e in journal.audit_log(limit=-1)] == ["try 2", "try 1", "try 0"]
    ids = [e.id for e in journal.audit_log()]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 3


def test_audit_texts_are_cut_to_their_limits(journal: Any) -> None:
    journal.audit("a" * 5000, "notice refused", "x" * 5000, "1" * 5000, now=T)
    (event,) = journal.audit_log()
    assert len(event.detail) == AUDIT_DETAIL_MAX and event.detail.endswith("…")
    assert len(event.actor) <= 100 and len(event.address) <= 64


def test_refusals_are_counted_and_only_sampled_into_the_log(journal: Any) -> None:
    for i in range(200):
        journal.audit("(public)", "notice refused", f"id {i}", "10.9.0.1", now=T)
    journal.audit("sam", "publish notice", "notice 1", "10.0.0.1", now=T)
    log = journal.audit_log(limit=500)
    assert len(log) == REFUSALS_KEPT_PER_HOUR + 1
    assert log[0].action == "publish notice"  # the real entry is not buried
    assert journal.refusals(T) == {"notice refused": 200}
    # The next hour keeps its own samples; an earlier start counts both hours.
    journal.audit("(public)", "notice refused", "later", "10.9.0.1", now=T + timedelta(hours=1))
    assert journal.audit_log(1)[0].detail == "later"
    assert journal.refusals(T) == {"notice refused": 201}
    assert journal.refusals(T + timedelta(hours=1)) == {"notice refused": 1}


def test_the_audit_log_filters_by_kind(journal: Any) -> None:
    journal.audit("sam", "sign-in", "staff", now=T)
    journal.audit("sam", "sign-in failed", "", now=T)
    journal.audit("eve", "sign-in", "executive", now=T)
    assert [e.actor for e in journal.audit_log(action="sign-in")] == ["eve", "sam"]
    assert [e.action for e in journal.audit_log(action="sign-in failed")] == ["sign-in failed"]
    assert journal.audit_log(action="publish notice") == []


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (notice(en="x" * (NOTICE_TEXT_MAX + 1)), "at most 500 characters"),
        (
            notice(**{f"l{i}": "text" for i in range(NOTICE_LANGUAGES_MAX + 1)}),
            "at most 12 languages",
        ),
    ],
)
def test_over_long_notices_are_refused(journal: Any, bad: Notice, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        journal.publish(bad, now=T)
    assert journal.notices(T, include_inactive=True) == []
    assert journal.publish(notice(en="x" * NOTICE_TEXT_MAX), now=T) > 0


def test_over_long_decisions_are_refused(journal: Any) -> None:
    with pytest.raises(ValueError, match="what was done may be at most 300"):
        journal.record_decision(Decision("w" * 301, "CBD", T, "erin"), now=T)
    with pytest.raises(ValueError, match="the place may be at most 200"):
        journal.record_decision(Decision("Bus lane", "p" * 201, T, "erin"), now=T)
    assert journal.decisions() == []


def test_a_sign_in_name_with_a_nul_character_is_still_audited(journal: Any) -> None:
    journal.audit("mal\x00lory", "sign-in failed", "", "10.9.9.9", now=T)
    (event,) = journal.audit_log()
    assert event.action == "sign-in failed" and event.address == "10.9.9.9"
    assert event.actor.startswith("mal") and event.actor.endswith("lory")


def test_open_journal_follows_the_backend_kind(
    tmp_path: Path,
    postgres_server: str,  # noqa: F811 - fixture
    pg_schema: str,  # noqa: F811 - fixture
) -> None:
    config = load_config(default_config_path())
    embedded = open_journal(config, tmp_path)
    try:
        assert isinstance(embedded, Journal)
        assert embedded.path == tmp_path / "journal.sqlite"
    finally:
        embedded.close()
    backend = BackendConfig(
        kind="server",
        redis_url="redis://127.0.0.1:6379/0",  # not contacted: the journal needs no Redis
        postgres_dsn=postgres_server,
        postgres_schema=pg_schema,
    )
    elsewhere = tmp_path / "server"
    server = open_journal(config.model_copy(update={"backend": backend}), elsewhere)
    try:
        assert isinstance(server, PostgresJournal)
        assert server.schema == pg_schema
        server.publish(notice(en="Shared"), now=T)
        assert not (elsewhere / "journal.sqlite").exists()
    finally:
        server.close()


# -- alert rules and the outbox ------------------------------------------------------------


def test_rules_are_kept_by_id_and_replaced(journal: Any) -> None:
    before = journal.version()
    journal.put_rule(StoredRule("no2-high", '{"name": "NO2"}', T, "ada"))
    journal.put_rule(StoredRule("crowd", '{"name": "Crowd"}', T, "ada"))
    journal.put_rule(StoredRule("no2-high", '{"name": "NO2 2"}', T + timedelta(minutes=1), "bo"))
    assert [(r.id, r.spec, r.updated_by) for r in journal.rules()] == [
        ("crowd", '{"name": "Crowd"}', "ada"),
        ("no2-high", '{"name": "NO2 2"}', "bo"),
    ]
    assert journal.rules()[1].updated == T + timedelta(minutes=1)
    assert journal.version() > before


def delivery(key: str, minutes: int = 0, channel: str = "ops") -> Delivery:
    return Delivery(
        key=key,
        channel=channel,
        kind="alert",
        alert_keys=(f"{key}:a", f"{key}:b"),
        rule="no2-high",
        body='{"subject": "x"}',
        created=T,
        due=T + timedelta(minutes=minutes),
    )


def test_the_outbox_keeps_each_message_once_and_hands_out_what_is_due(journal: Any) -> None:
    assert journal.enqueue([delivery("one"), delivery("two", minutes=30)]) == 2
    assert journal.enqueue([delivery("one"), delivery("three", minutes=60)]) == 1
    due = journal.outbox(status="pending", due_by=T + timedelta(minutes=30))
    assert [d.key for d in due] == ["two", "one"]
    assert due[1].alert_keys == ("one:a", "one:b") and due[1].created == T
    one, two = due[1], due[0]
    journal.delivery_done(one.id, T + timedelta(minutes=1))
    journal.delivery_done(two.id, T + timedelta(minutes=31), "refused: 503", T + timedelta(hours=1))
    listed = {d.key: d for d in journal.outbox()}
    assert listed["one"].status == "sent" and listed["one"].sent == T + timedelta(minutes=1)
    assert listed["two"].status == "pending" and listed["two"].attempts == 1
    assert listed["two"].last_error == "refused: 503"
    assert listed["two"].due == T + timedelta(hours=1)
    journal.delivery_done(two.id, T + timedelta(hours=1), "refused again")
    gave_up = journal.outbox(status="failed")
    assert [(d.key, d.attempts, d.last_error) for d in gave_up] == [("two", 2, "refused again")]
    assert [d.key for d in journal.outbox(limit=1)] == ["three"]
    assert journal.outbox(since=T + timedelta(seconds=1)) == []
