"""Times shown on the city's wall clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from cockpit.present.timefmt import local_time


def test_a_utc_time_is_shown_in_the_city_time_zone() -> None:
    when = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)  # AEDT is UTC+11 in November
    assert local_time(when, "Australia/Melbourne") == "10:30"
    assert local_time(when, "Europe/Berlin") == "00:30"


def test_the_format_is_the_caller_s() -> None:
    when = pd.Timestamp("2026-07-01 02:05", tz="UTC")  # AEST, UTC+10, in July
    assert local_time(when, "Australia/Melbourne", "%Y-%m-%d %H:%M") == "2026-07-01 12:05"


def test_no_time_reads_never() -> None:
    assert local_time(None, "Australia/Melbourne") == "never"
