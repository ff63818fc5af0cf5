"""Progress toward KPI targets on constructed histories."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from cockpit.config import TargetConfig, default_config_path, load_config
from cockpit.model import observations_frame
from cockpit.state.embedded import HistoryStore
from cockpit.twin.baseline import read_history
from cockpit.twin.targets import all_targets, daily_means, target_progress

TZ = "UTC"


def daily(site: str, start: str, values: list[float]) -> pd.DataFrame:
    days = pd.date_range(start, periods=len(values), freq="D", tz="UTC") + pd.Timedelta(hours=12)
    return observations_frame(
        pd.DataFrame({"site_id": site, "metric": "no2", "time": days, "value": values})
    )


def test_daily_means_average_sites_each_day() -> None:
    frame = pd.concat([daily("air:1", "2026-01-01", [10, 20]), daily("air:2", "2026-01-01", [30])])
    means = daily_means(frame, "no2", TZ)
    assert means.tolist() == [20.0, 20.0]


def test_progress_from_the_earliest_window_to_the_target() -> None:
    # 100 days at 30, then 100 days at 25: the last 100-day mean is 25, the first 30.
    frame = daily("air:1", "2026-01-01", [30.0] * 100 + [25.0] * 100)
    now = pd.Timestamp("2026-07-19 18:00", tz="UTC")  # day 200
    target = TargetConfig(metric="no2", value=20, by=2030, window_days=100)
    got = target_progress("air", target, frame, now, TZ)
    assert got.current == pytest.approx(25) and got.start_value == pytest.approx(30)
    assert got.progress == pytest.approx(0.5)
    assert got.start_date == date(2026, 4, 10)  # the end of the first 100-day window
    share = (date(2026, 7, 19) - date(2026, 4, 10)).days / (
        date(2030, 12, 31) - date(2026, 4, 10)
    ).days
    assert got.expected_now == pytest.approx(30 - 10 * share)
    assert got.status == "on track"  # 25 is well below the straight line's 29.4
    assert got.days_covered == 100
    assert got.label == "NO₂ below 20 µg/m³ by 2030"
    assert (
        got.words
        == "NO₂ below 20 µg/m³ by 2030: now 25.0 µg/m³ (mean of the last 100 days); on track."
    )


def test_target_met_off_track_and_no_data() -> None:
    frame = daily("air:1", "2026-01-01", [30.0] * 100 + [29.9] * 100)
    now = pd.Timestamp("2026-07-19 18:00", tz="UTC")
    target = TargetConfig(metric="no2", value=20, by=2026, window_days=100, label="Clean air")
    assert target_progress("air", target, frame, now, TZ).status == "off track"
    met = TargetConfig(metric="no2", value=30, by=2030, window_days=100)
    assert target_progress("air", met, frame, now, TZ).status == "met"
    above = TargetConfig(metric="no2", value=35, by=2030, direction="above", window_days=100)
    assert target_progress("air", above, frame, now, TZ).status != "met"
    none = target_progress("air", target, frame.iloc[0:0], now, TZ)
    assert none.status == "no data" and none.words == "Clean air: no data yet."


def test_explicit_start_and_a_short_history_say_how_many_days_count() -> None:
    frame = daily("air:1", "2026-06-01", [24.0] * 49)
    now = pd.Timestamp("2026-07-19 18:00", tz="UTC")
    target = TargetConfig(metric="no2", value=20, by=2030, start=date(2026, 6, 10))
    got = target_progress("air", target, frame, now, TZ)
    assert got.days_covered == 49 and got.start_value == pytest.approx(24)
    assert got.progress == pytest.approx(0.0)
    assert "mean of the 49 days with data in the last 365" in got.words


def test_all_targets_read_the_rollups_of_the_configured_kpis(tmp_path: Path) -> None:
    config = load_config(default_config_path())  # the demo: a traffic flow target
    history = HistoryStore(tmp_path)
    now = pd.Timestamp.now(tz="UTC").floor("h")
    hours = pd.date_range(now - pd.Timedelta(days=10), now, freq="h", inclusive="left")
    for site, flow in (("traffic:1", 1100.0), ("traffic:2", 1300.0)):
        history.append(
            observations_frame(
                pd.DataFrame(
                    {"site_id": site, "metric": "vehicle_flow", "time": hours, "value": flow}
                )
            )
        )
    try:
        (got,) = all_targets(config, history, now)
        raw = read_history(history, config, ["vehicle_flow"], hours[0], now)
        rolled = read_history(history, config, ["vehicle_flow"], hours[0], now, hourly=True)
    finally:
        history.close()
    assert got.key == "traffic" and got.metric == "vehicle_flow"
    assert got.current == pytest.approx(1200)
    assert got.status == "met"  # below 1,300 veh/h
    assert got.days_covered in (10, 11)  # ten days of hours span 10 or 11 city days
    assert len(raw) == len(rolled) == 2 * len(hours)
