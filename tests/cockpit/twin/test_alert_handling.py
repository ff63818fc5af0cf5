"""Acknowledge with a note, assign, resolve and undo: the steps, their status and their
round trip through the journal's acknowledgement record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cockpit.storage import Acknowledgement
from cockpit.twin.alert_handling import (
    Handling,
    HandlingError,
    Step,
    apply,
    decode,
    encode,
    handling,
    undo,
)

T = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)
TEAM = {"sam", "ana"}


def test_steps_make_the_status_and_undo_takes_the_last_back() -> None:
    h = Handling()
    assert h.status == "open" and h.last is None and h.assignee == "" and h.note == ""
    h = apply(h, Step("acknowledge", "sam", T, "  on my way  "), TEAM)
    assert h.status == "acknowledged" and h.note == "on my way"
    h = apply(h, Step("assign", "sam", T + timedelta(minutes=5), assignee="ana"), TEAM)
    assert h.status == "assigned" and h.assignee == "ana" and h.note == "on my way"
    h = apply(h, Step("resolve", "ana", T + timedelta(minutes=30), "sensor reset"), TEAM)
    assert h.status == "resolved" and h.note == "sensor reset"
    with pytest.raises(HandlingError, match="resolved"):
        apply(h, Step("acknowledge", "sam", T), TEAM)
    h = undo(h)
    assert h.status == "assigned" and h.assignee == "ana"
    h = undo(undo(h))
    assert h.status == "open"
    with pytest.raises(HandlingError, match="nothing to undo"):
        undo(h)


def test_refused_steps() -> None:
    with pytest.raises(HandlingError, match="not a colleague"):
        apply(Handling(), Step("assign", "sam", T, assignee="mallory"), TEAM)
    once = apply(Handling(), Step("acknowledge", "sam", T), TEAM)
    with pytest.raises(HandlingError, match="already acknowledged"):
        apply(once, Step("acknowledge", "sam", T), TEAM)
    # Another person, or the same one with a note, may acknowledge again.
    assert apply(once, Step("acknowledge", "ana", T), TEAM).last.user == "ana"  # type: ignore[union-attr]
    assert apply(once, Step("acknowledge", "sam", T, "still there"), TEAM).note == "still there"
    long = apply(Handling(), Step("acknowledge", "sam", T, "x" * 900), TEAM)
    assert len(long.note) == 500


def test_the_steps_round_trip_through_an_acknowledgement_note() -> None:
    h = apply(Handling(), Step("acknowledge", "sam", T, "Zäune prüfen"), TEAM)
    h = apply(h, Step("assign", "sam", T + timedelta(minutes=1), assignee="ana"), TEAM)
    record = Acknowledgement("k", "sam", T, encode(h))
    assert decode(record) == h
    assert handling({"k": record}, "k") == h
    assert handling({}, "k") == Handling()
    # Every step undone: the record says the alert is open again.
    assert decode(Acknowledgement("k", "sam", T, encode(Handling()))).status == "open"


def test_an_older_plain_note_is_one_acknowledgement() -> None:
    plain = decode(Acknowledgement("k", "sam", T, "checked"))
    assert plain.status == "acknowledged" and plain.note == "checked"
    assert plain.last == Step("acknowledge", "sam", T, "checked")
    assert decode(Acknowledgement("k", "sam", T, "{not json")).note == "{not json"
    assert decode(Acknowledgement("k", "sam", T, "")).status == "acknowledged"
