"""Replaying a recording as live: recorded weekdays and hours fall on the same weekday and
hour now, in the city's wall-clock time, lap after lap, through daylight-saving changes."""

from __future__ import annotations

import pandas as pd
import pytest

from connectors.replay_clock import ReplayClock

TZ = "Australia/Melbourne"
WEEK = pd.Timedelta(weeks=1)


def melbourne(text: str) -> pd.Timestamp:
    """A Melbourne wall-clock time as a tz-aware timestamp."""
    return pd.Timestamp(text, tz=TZ)


@pytest.fixture
def may_2025() -> ReplayClock:
    """A month of hourly counts stamped at the end of each hour, like the pedestrian
    recording: the first value is 1 May 2025 01:00, the last 1 June 2025 00:00."""
    return ReplayClock.for_recording(
        pd.Timestamp("2025-05-01 01:00"), pd.Timestamp("2025-06-01 00:00"), TZ
    )


def test_cycle_of_a_month_is_four_weeks(may_2025: ReplayClock) -> None:
    # From Thursday 1 May 00:00 to 1 June 00:00 is 31 days: four whole weeks fit.
    assert may_2025.start == pd.Timestamp("2025-05-01 00:00")
    assert may_2025.cycle == 4 * WEEK
    assert may_2025.timezone == TZ


@pytest.mark.parametrize(
    ("first", "last", "weeks"),
    [
        ("2025-05-01 00:00", "2025-05-08 00:00", 1),  # exactly one week
        ("2025-05-01 01:00", "2025-05-08 00:00", 1),  # hourly, stamped at the hour's end
        ("2025-05-01 00:00", "2025-05-14 23:00", 1),  # 13 days 23 h: still one week
        ("2025-05-01 00:00", "2025-05-15 00:00", 2),
        ("2024-01-01 00:00", "2024-12-31 23:00", 52),  # a year of hourly averages
    ],
)
def test_cycle_is_the_largest_whole_number_of_weeks(first: str, last: str, weeks: int) -> None:
    clock = ReplayClock.for_recording(pd.Timestamp(first), pd.Timestamp(last), TZ)
    assert clock.cycle == weeks * WEEK


@pytest.mark.parametrize(
    ("first", "last"),
    [
        ("2025-05-01 00:00", "2025-05-07 23:00"),  # six days and 23 hours
        ("2025-05-01 00:00", "2025-05-01 00:00"),  # a single value
    ],
)
def test_recording_shorter_than_a_week_is_refused(first: str, last: str) -> None:
    with pytest.raises(ValueError, match="at least one whole week"):
        ReplayClock.for_recording(pd.Timestamp(first), pd.Timestamp(last), TZ)


def test_tuesday_0800_plays_on_a_tuesday_0800(may_2025: ReplayClock) -> None:
    # 17 March 2026 is 308 days = 11 cycles of 28 days after Tuesday 13 May 2025.
    now = melbourne("2026-03-17 08:00")  # a Tuesday, daylight saving time (UTC+11)
    recorded = may_2025.recorded_at(now)
    assert recorded == pd.Timestamp("2025-05-13 08:00")
    assert recorded.day_name() == "Tuesday" and recorded.hour == 8
    assert may_2025.lap(now) == 11
    played = may_2025.played_at(pd.Series([recorded]), may_2025.lap(now))
    assert played.iloc[0] == now
    assert str(played.dt.tz) == "UTC"


def test_any_tuesday_0800_plays_a_recorded_tuesday_0800(may_2025: ReplayClock) -> None:
    for week in range(60):
        # Tuesdays from 3 June 2025 for 60 weeks, through both daylight-saving changes.
        day = pd.Timestamp("2025-06-03") + pd.Timedelta(days=7 * week)
        now = melbourne(f"{day:%Y-%m-%d} 08:00")
        recorded = may_2025.recorded_at(now)
        assert (recorded.day_name(), recorded.hour, recorded.minute) == ("Tuesday", 8, 0)
        assert may_2025.in_recording(pd.Series([recorded])).all()
        assert may_2025.played_at([recorded], may_2025.lap(now)).iloc[0] == now


def test_recording_loops(may_2025: ReplayClock) -> None:
    now = melbourne("2026-03-17 08:00")
    for laps in (1, 2, 5):
        later = melbourne((now.tz_localize(None) + laps * may_2025.cycle).isoformat())
        assert may_2025.recorded_at(later) == may_2025.recorded_at(now)
        assert may_2025.lap(later) == may_2025.lap(now) + laps


def test_lap_changes_at_the_end_of_the_cycle(may_2025: ReplayClock) -> None:
    # Lap 11 starts on Thursday 5 March 2026 00:00 (1 May 2025 + 11 x 28 days).
    start = melbourne("2026-03-05 00:00")
    just_before = start - pd.Timedelta(minutes=1)
    assert may_2025.lap(start) == 11
    assert may_2025.recorded_at(start) == pd.Timestamp("2025-05-01 00:00")
    assert may_2025.lap(just_before) == 10
    assert may_2025.recorded_at(just_before) == pd.Timestamp("2025-05-28 23:59")
    assert list(may_2025.laps_between(just_before, start)) == [10, 11]


@pytest.mark.parametrize(
    ("first_day", "last_day"),
    [
        # Melbourne starts daylight saving on Sunday 5 October 2025 (02:00 -> 03:00)
        ("2025-09-28", "2025-10-12"),
        # and ends it on Sunday 5 April 2026 (03:00 -> 02:00).
        ("2026-03-29", "2026-04-12"),
    ],
)
def test_weekday_and_hour_survive_daylight_saving(
    may_2025: ReplayClock, first_day: str, last_day: str
) -> None:
    """Every hour of two weeks around a change (in UTC, so every real instant) replays the
    recorded value of the same local weekday, hour and minute; recorded in May (no daylight
    saving), played in and out of it."""
    for now in pd.date_range(melbourne(first_day), melbourne(last_day), freq="30min"):
        local = now.tz_convert(TZ)
        recorded = may_2025.recorded_at(now)
        assert (recorded.weekday(), recorded.hour, recorded.minute) == (
            local.weekday(),
            local.hour,
            local.minute,
        )
        played = may_2025.played_at([recorded], may_2025.lap(now)).iloc[0]
        second_of_repeated_hour = local.dst() == pd.Timedelta(0) and played != now
        if second_of_repeated_hour:
            # 02:00-02:59 happens twice when daylight saving ends; a recorded time plays
            # at its first occurrence, one hour earlier.
            assert local.strftime("%Y-%m-%d %H") == "2026-04-05 02"
            assert played == now - pd.Timedelta(hours=1)
        else:
            assert played == now


def test_wall_clock_time_that_does_not_exist_moves_forward(may_2025: ReplayClock) -> None:
    # Sunday 18 May 2025 02:30 plays in lap 5 on Sunday 5 October 2025, when clocks jump
    # from 02:00 to 03:00: it plays at 03:00 AEDT = 16:00 UTC on the 4th.
    played = may_2025.played_at([pd.Timestamp("2025-05-18 02:30")], 5).iloc[0]
    assert played == pd.Timestamp("2025-10-04 16:00", tz="UTC")


def test_repeated_wall_clock_time_plays_at_its_first_occurrence() -> None:
    week = ReplayClock.for_recording(
        pd.Timestamp("2025-05-01 00:00"), pd.Timestamp("2025-05-08 00:00"), TZ
    )
    # Sunday 4 May 2025 + 48 weeks = Sunday 5 April 2026, when 02:30 happens twice; the
    # first time is still daylight saving (UTC+11): 15:30 UTC on the 4th.
    played = week.played_at([pd.Timestamp("2025-05-04 02:30")], 48).iloc[0]
    assert played == pd.Timestamp("2026-04-04 15:30", tz="UTC")


def test_in_recording_masks_the_playable_cycle(may_2025: ReplayClock) -> None:
    times = pd.Series(
        pd.to_datetime(
            ["2025-04-30 23:00", "2025-05-01 00:00", "2025-05-28 23:00", "2025-05-29 00:00"]
        )
    )
    assert may_2025.in_recording(times).tolist() == [False, True, True, False]
