"""Today against usual, hour by hour, from hourly means."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from cockpit.present.today import history_start, today_against_usual

TZ = "Australia/Melbourne"
NOW = pd.Timestamp("2026-11-24 10:30", tz=TZ).tz_convert("UTC").to_pydatetime()


def hourly(rows: list[tuple[str, pd.Timestamp, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"site_id": s, "time": t.tz_convert("UTC"), "value": v} for s, t, v in rows]
    )


def local(day: str, hour: int) -> pd.Timestamp:
    return pd.Timestamp(f"{day} {hour:02d}:00", tz=TZ)


def test_today_so_far_against_the_median_of_the_same_weekday() -> None:
    rows = []
    for hour in range(24):
        for weeks, usual in ((1, 100.0), (2, 120.0), (3, 1_000.0)):  # median 120
            day = (local("2026-11-24", hour) - timedelta(weeks=weeks)).strftime("%Y-%m-%d")
            rows += [("a", local(day, hour), usual / 2), ("b", local(day, hour), usual / 2)]
        if hour <= 10:
            rows += [("a", local("2026-11-24", hour), 75.0), ("b", local("2026-11-24", hour), 75.0)]
    curve = today_against_usual(hourly(rows), NOW, TZ, weeks=3, aggregation="sum")
    assert curve is not None and curve.hour_now == 10
    assert curve.today[:11] == (150.0,) * 11 and curve.today[11:] == (None,) * 13
    assert curve.usual == (120.0,) * 24
    assert curve.change == pytest.approx(0.25)
    mean = today_against_usual(hourly(rows), NOW, TZ, weeks=3, aggregation="mean")
    assert mean is not None and mean.today[0] == 75.0 and mean.usual[0] == 60.0


def test_no_hour_today_is_no_curve_and_no_usual_is_no_change() -> None:
    old = hourly([("a", local("2026-11-17", 9), 10.0)])
    assert today_against_usual(old, NOW, TZ, weeks=3) is None
    assert today_against_usual(hourly([]), NOW, TZ, weeks=3) is None
    alone = today_against_usual(hourly([("a", local("2026-11-24", 9), 10.0)]), NOW, TZ, weeks=3)
    assert alone is not None and alone.change is None


def test_history_starts_at_local_midnight_weeks_before() -> None:
    start = history_start(NOW, TZ, 3)
    assert pd.Timestamp(start).tz_convert(TZ) == pd.Timestamp("2026-11-03 00:00", tz=TZ)
