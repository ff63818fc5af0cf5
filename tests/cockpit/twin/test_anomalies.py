"""The count-aware noise floor: which unusual hours deserve attention, on constructed
wide tables (rows: consecutive hours; columns: (site_id, metric))."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cockpit.domains import NoiseFloor, noise_floor
from cockpit.twin.anomalies import attention_scores, sustained, unusual_hours

HOURS = pd.date_range("2026-11-24 00:00", periods=24, freq="h")


def table(columns: dict[str, list[float] | float], metric: str = "pedestrians") -> pd.DataFrame:
    """One column per site of ``metric`` over a day; a number fills the whole day."""
    data = {
        (site, metric): (values if isinstance(values, list) else [float(values)] * 24)
        for site, values in columns.items()
    }
    frame = pd.DataFrame(data, index=HOURS, dtype=float)
    frame.columns = pd.MultiIndex.from_tuples(list(data), names=["site_id", "metric"])
    return frame


def with_hours(base: float, changed: dict[int, float]) -> list[float]:
    return [changed.get(h, base) for h in range(24)]


def test_the_domains_declare_their_floors() -> None:
    assert noise_floor("pedestrians").volume == 100
    assert noise_floor("vehicle_flow").volume == 200
    assert noise_floor("no2").volume > 0
    assert noise_floor("a metric nobody declares") == NoiseFloor()


def test_a_lasting_change_of_half_at_a_busy_hour_deserves_attention() -> None:
    usual = table({"a": 1000.0, "b": 1000.0})
    spread = table({"a": 80.0, "b": 80.0})
    value = table(
        {"a": with_hours(1000, {10: 1500, 11: 1500}), "b": with_hours(1000, {15: 500, 16: 500})}
    )
    found = unusual_hours(value, usual, spread)
    assert list(found[("a", "pedestrians")].to_numpy().nonzero()[0]) == [10, 11]
    assert set(found[("a", "pedestrians")].iloc[[10, 11]]) == {1}
    assert list(found[("b", "pedestrians")].to_numpy().nonzero()[0]) == [15, 16]
    assert set(found[("b", "pedestrians")].iloc[[15, 16]]) == {-1}


def test_a_rise_of_half_for_three_hours_at_a_busy_site_deserves_attention() -> None:
    # A busy street's day: quiet nights, 800 to 1,600 people an hour by day, 12 % spread.
    shape = [40.0] * 7 + [800.0] * 4 + [1600.0] * 6 + [800.0] * 4 + [40.0] * 3
    usual = table({"a": shape})
    spread = table({"a": [0.12 * u for u in shape]})
    value = table({"a": [u * 1.5 if h in (13, 14, 15) else u for h, u in enumerate(shape)]})
    found = unusual_hours(value, usual, spread)[("a", "pedestrians")]
    assert list(found.to_numpy().nonzero()[0]) == [13, 14, 15]
    assert set(found.iloc[[13, 14, 15]]) == {1}


def test_a_street_busier_all_day_is_judged_against_its_own_day() -> None:
    usual, spread = table({"a": 1000.0}), table({"a": 80.0})
    # 40 % above usual all day: a busy day, as busy streets have from week to week.
    busy = table({"a": 1400.0})
    assert attention_scores(busy, usual, spread).to_numpy().sum() == 0
    # Three hours that stand out from that busy day do deserve attention.
    peak = table({"a": with_hours(1400, {12: 2100, 13: 2100, 14: 2100})})
    found = unusual_hours(peak, usual, spread)[("a", "pedestrians")]
    assert list(found.to_numpy().nonzero()[0]) == [12, 13, 14]
    # A whole day at twice the usual is still far above it.
    twice = table({"a": 2000.0})
    assert unusual_hours(twice, usual, spread).to_numpy().sum() == 24


def test_hours_are_judged_against_the_hours_around_them() -> None:
    # Quiet as usual until 14:00, then 40 % busier for the rest of the day (the rain
    # stopped), with three hours at half as much again from 18:00.
    usual, spread = table({"a": 1000.0}), table({"a": 80.0})
    evening = {h: 1400.0 for h in range(14, 24)}
    busier = table({"a": with_hours(1000, evening)})
    assert not unusual_hours(busier, usual, spread).to_numpy().any()
    peak = table({"a": with_hours(1000, {**evening, 18: 2100, 19: 2100, 20: 2100})})
    found = unusual_hours(peak, usual, spread)[("a", "pedestrians")]
    assert list(found.to_numpy().nonzero()[0]) == [18, 19, 20]
    assert set(found.iloc[[18, 19, 20]]) == {1}


def test_a_fall_of_half_for_two_hours_stands_out_from_a_noisy_day() -> None:
    # A street that wanders ±15 % around its usual from hour to hour, and two hours at
    # half of it: the two hours are found, the wandering is not.
    wander = [1.0, 1.15, 0.9, 1.1, 0.85, 1.05] * 4
    usual, spread = table({"a": 1000.0}), table({"a": 120.0})
    noisy = table({"a": [1000.0 * w for w in wander]})
    assert not unusual_hours(noisy, usual, spread).to_numpy().any()
    dip = [1000.0 * w * (0.5 if h in (10, 11) else 1.0) for h, w in enumerate(wander)]
    found = unusual_hours(table({"a": dip}), usual, spread)[("a", "pedestrians")]
    assert list(found.to_numpy().nonzero()[0]) == [10, 11]
    assert set(found.iloc[[10, 11]]) == {-1}


def test_before_the_days_level_is_known_hours_are_judged_against_usual_alone() -> None:
    usual, spread = table({"a": 1000.0}), table({"a": 80.0})
    busy = table({"a": 1400.0}).iloc[:5]
    assert unusual_hours(busy, usual.iloc[:5], spread.iloc[:5]).to_numpy().sum() == 5


def test_one_odd_hour_is_not_an_event() -> None:
    usual, spread = table({"a": 1000.0}), table({"a": 80.0})
    value = table({"a": with_hours(1000, {10: 3000})})
    assert attention_scores(value, usual, spread).to_numpy().sum() == 1
    assert not unusual_hours(value, usual, spread).to_numpy().any()


def test_small_night_counts_are_not_far_above_usual() -> None:
    # 85 people where 13 are usual, for hours: six times the usual, but a quiet street.
    usual, spread = table({"a": 13.0}), table({"a": 3.0})
    value = table({"a": with_hours(13, {0: 85, 1: 85, 2: 85})})
    assert not attention_scores(value, usual, spread).to_numpy().any()


def test_the_volume_shrinks_small_changes_of_small_counts() -> None:
    # 180 where 120 are usual is +50 % but (180 + 100) / (120 + 100) = +27 %: not enough.
    usual, spread = table({"a": 120.0}), table({"a": 5.0})
    value = table({"a": with_hours(120, {9: 180, 10: 180})})
    assert not unusual_hours(value, usual, spread).to_numpy().any()
    bigger = table({"a": with_hours(120, {9: 240, 10: 240})})
    assert unusual_hours(bigger, usual, spread).to_numpy().sum() == 2


def test_air_changes_where_the_air_reaches_the_who_guideline() -> None:
    # NO₂ half as much again for three hours: where it reaches the 24-hour guideline
    # (25 µg/m³) it is found, on a clean-air day (8 to 12 µg/m³) it stays quiet.
    polluted = table({"s": with_hours(40.0, dict.fromkeys((10, 11, 12), 60.0))}, "no2")
    found = unusual_hours(polluted, table({"s": 40.0}, "no2"), table({"s": 4.0}, "no2"))
    assert list(found[("s", "no2")].to_numpy().nonzero()[0]) == [10, 11, 12]
    clean = table({"s": with_hours(8.0, dict.fromkeys((10, 11, 12), 12.0))}, "no2")
    quiet = unusual_hours(clean, table({"s": 8.0}, "no2"), table({"s": 0.8}, "no2"))
    assert not quiet.to_numpy().any()


def test_an_outage_is_a_fault_not_an_anomaly() -> None:
    usual, spread = table({"a": 670.0}), table({"a": 50.0})
    value = table({"a": with_hours(670, {h: 0.0 for h in range(8, 14)})})
    assert not unusual_hours(value, usual, spread).to_numpy().any()
    # Air reading zero is a reading (a concentration), judged like any other value.
    air_usual, air_spread = table({"s": 200.0}, "no2"), table({"s": 5.0}, "no2")
    air = table({"s": with_hours(200.0, {8: 0.0, 9: 0.0})}, "no2")
    assert unusual_hours(air, air_usual, air_spread).to_numpy().sum() == -2


def test_an_hour_that_usually_swings_needs_a_bigger_swing() -> None:
    usual = table({"calm": 1000.0, "wild": 1000.0})
    # The wild site's usual spread is 40 % around the hours in question.
    spread = table({"calm": 50.0, "wild": with_hours(50, {h: 400.0 for h in range(8, 16)})})
    value = table(
        {
            "calm": with_hours(1000, {10: 1500, 11: 1500}),
            "wild": with_hours(1000, {10: 1500, 11: 1500}),
        }
    )
    found = unusual_hours(value, usual, spread)
    assert found[("calm", "pedestrians")].abs().sum() == 2
    assert found[("wild", "pedestrians")].abs().sum() == 0


def test_a_change_every_site_shows_is_the_citys_not_each_sites() -> None:
    sites = [f"s{k}" for k in range(6)]
    usual = table(dict.fromkeys(sites, 1000.0))
    spread = table(dict.fromkeys(sites, 50.0))
    rain = {h: 500.0 for h in range(9, 15)}
    value = table(dict.fromkeys(sites, with_hours(1000, rain)))
    assert not unusual_hours(value, usual, spread).to_numpy().any()
    # One site far below even the rainy city still is.
    value[("s0", "pedestrians")] = with_hours(1000, {**rain, 11: 150.0, 12: 150.0})
    found = unusual_hours(value, usual, spread)
    assert found.abs().to_numpy().sum() == 2
    assert list(found[("s0", "pedestrians")].to_numpy().nonzero()[0]) == [11, 12]


def test_missing_values_or_baselines_are_never_unusual() -> None:
    usual = table({"a": with_hours(1000, {10: np.nan, 11: np.nan})})
    spread = table({"a": 50.0})
    value = table({"a": with_hours(1000, {10: 2000, 11: 2000, 12: np.nan})})
    assert not unusual_hours(value, usual, spread).to_numpy().any()


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ([0, 1, 1, 0, -1, 0], [0, 1, 1, 0, 0, 0]),
        ([1, -1, 1, -1, 0, 0], [0, 0, 0, 0, 0, 0]),
        ([-1, -1, -1, 1, 1, 0], [-1, -1, -1, 1, 1, 0]),
    ],
)
def test_sustained_keeps_runs_of_the_same_sign(scores: list[int], expected: list[int]) -> None:
    frame = pd.DataFrame(
        {("a", "pedestrians"): scores},
        index=HOURS[: len(scores)],
    )
    frame.columns = pd.MultiIndex.from_tuples(frame.columns, names=["site_id", "metric"])
    assert list(sustained(frame)[("a", "pedestrians")]) == expected
