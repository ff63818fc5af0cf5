"""Live signals within a process: who hears what, mailboxes that coalesce, the journal
that tells, and the watch that notices changes made by other processes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cockpit import storage
from cockpit.live import (
    LocalSignals,
    Mailbox,
    Screens,
    Signal,
    SignallingJournal,
    VersionWatch,
    data_signal,
    sse_event,
)
from cockpit.reports import Report, ReportChange
from cockpit.state.journal import Journal
from cockpit.storage import Decision, Notice

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def _notice(text: str = "Road closed") -> Notice:
    return Notice(
        {"en": text}, "emergency", NOW - timedelta(minutes=1), NOW + timedelta(hours=1), "ops"
    )


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    found = Journal(tmp_path)
    yield found
    found.close()


def test_a_signal_travels_as_json_and_refuses_anything_else() -> None:
    signal = Signal("notices", 7, "public")
    assert Signal.from_json(signal.as_json()) == signal
    for bad in ("{}", "[1]", '{"kind": "all", "version": 1, "access": "public"}', "nope"):
        with pytest.raises(ValueError):
            Signal.from_json(bad)


def test_staff_only_signals_never_reach_a_public_mailbox() -> None:
    public, staff = Mailbox("public"), Mailbox("staff")
    for box in (public, staff):
        box.offer(Signal("journal", 3, "internal"))
        box.offer(data_signal(5, ["internal"]))
    assert public.take(0) == {}
    assert staff.take(0) == {"journal": 3, "data": 5}
    public.offer(data_signal(6, ["internal", "public"]))
    assert public.take(0) == {"data": 6}


def test_a_mailbox_keeps_only_the_newest_version_of_each_kind_and_never_an_old_one() -> None:
    box = Mailbox("public")
    for version in (1, 2, 3):
        box.offer(Signal("data", version))
    box.offer(Signal("notices", 9))
    assert box.take(0) == {"data": 3, "notices": 9}
    box.offer(Signal("data", 3))  # heard twice (broker and watch): told once
    box.offer(Signal("data", 2))
    assert box.take(0) == {}
    box.offer(Signal("data", 0))  # version not known: always told
    assert box.take(0) == {"data": 0}


def test_take_waits_for_a_signal_from_another_thread() -> None:
    box = Mailbox("public")
    timer = threading.Timer(0.05, box.offer, args=(Signal("data", 4),))
    timer.start()
    assert box.take(10) == {"data": 4}
    timer.join()


def test_screens_share_one_subscription_and_forget_closed_screens() -> None:
    signals = LocalSignals()
    screens = Screens(signals, limit=2)
    a, b = screens.open("public"), screens.open("executive")
    assert a is not None and b is not None
    assert screens.open("public") is None  # over the limit: that screen polls
    signals.publish(Signal("journal", 2, "internal"))
    assert (a.take(0), b.take(0)) == ({}, {"journal": 2})
    screens.close(a)
    assert screens.count() == 1 and a.closed
    screens.stop()
    assert b.closed
    signals.publish(Signal("data", 3))
    assert b.take(0) == {}


def test_a_failing_listener_does_not_silence_the_others() -> None:
    signals, heard = LocalSignals(), []

    def broken(_: Signal) -> None:
        raise RuntimeError("boom")

    signals.subscribe(broken)
    unsubscribe = signals.subscribe(heard.append)
    signals.publish_version(12, ["public"])
    assert heard == [Signal("data", 12, "public")]
    unsubscribe()
    signals.publish_version(13)
    assert len(heard) == 1


def test_the_signalling_journal_tells_notices_to_all_and_the_rest_to_staff(
    journal: Journal,
) -> None:
    signals, heard = LocalSignals(), []
    signals.subscribe(heard.append)
    told = SignallingJournal(journal, signals)
    assert isinstance(told, storage.Journal)  # pages take it for the journal it wraps
    notice_id = told.publish(_notice(), NOW)
    assert heard[-1] == Signal("notices", journal.version(), "public")
    told.acknowledge("air:high", "ana", NOW)
    assert heard[-1] == Signal("journal", journal.version(), "internal")
    told.record_decision(Decision("Bus lane opened", "Swanston St", NOW, "ana"), NOW)
    assert heard[-1].kind == "journal"
    assert told.withdraw(notice_id, "ana", NOW)
    assert heard[-1] == Signal("notices", journal.version(), "public")
    assert not told.withdraw(notice_id, "ana", NOW)  # nothing changed: nothing told
    assert len(heard) == 4
    told.beat("kiosk-1", {"notices": [notice_id]}, NOW)  # heartbeats pass through silently
    assert len(heard) == 4 and told.heartbeats()[0].info == {"notices": [notice_id]}
    # An emergency waiting for a second person: its approval is what screens must hear.
    waiting = told.publish(_notice("Evacuate"), NOW)
    assert not told.approve(waiting, "ops", NOW)  # its author cannot: nothing told
    assert len(heard) == 5
    assert told.approve(waiting, "ana", NOW)
    assert heard[-1] == Signal("notices", journal.version(), "public") and len(heard) == 6


def test_the_watch_tells_changes_made_elsewhere_by_kind(journal: Journal, tmp_path: Path) -> None:
    signals, heard = LocalSignals(), []
    signals.subscribe(heard.append)
    data = {"version": 4}
    watch = VersionWatch(signals, lambda: data["version"], journal)
    assert watch.check() == []  # the first look only notes the versions
    data["version"] = 5
    assert watch.check() == [Signal("data", 5, "public")]
    other_process = Journal(tmp_path)  # another app process on the same files
    other_process.publish(_notice(), NOW)
    assert watch.check() == [Signal("notices", journal.version(), "public")]
    other_process.acknowledge("air:high", "ana", NOW)
    assert watch.check() == [Signal("journal", journal.version(), "internal")]
    assert watch.check() == []
    assert [s.kind for s in heard] == ["data", "notices", "journal"]
    other_process.close()


def test_an_event_is_one_named_sse_block() -> None:
    assert sse_event("data", {"version": 3}) == 'event: data\ndata: {"version":3}\n\n'
    assert sse_event("hello", {}, retry_ms=2000).startswith("retry: 2000\nevent: hello\n")


def test_the_signalling_journal_tells_staff_of_a_new_report_and_all_of_a_change(
    journal: Journal,
) -> None:
    signals, heard = LocalSignals(), []
    signals.subscribe(heard.append)
    told = SignallingJournal(journal, signals)
    report = Report(
        code="K7QM-4T2P", category="other", text="Bench broken", created=NOW, lat=-37.8, lon=145.0
    )
    told.file_report(report, NOW)
    assert heard[-1] == Signal("journal", journal.version(), "internal")
    assert told.change_report("K7QM-4T2P", ReportChange(status="published"), NOW) is not None
    assert heard[-1] == Signal("notices", journal.version(), "public")
    assert told.change_report("AAAA-BBBB", ReportChange(status="closed"), NOW) is None
    assert len(heard) == 2  # nothing changed: nothing told
    assert [r.code for r in told.reports()] == ["K7QM-4T2P"]
    assert told.report("K7QM-4T2P").public and told.purge_reports(NOW) == 0
