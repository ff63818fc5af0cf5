"""Baselines, states, KPI comparisons, anomalies and before/after on constructed series."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from cockpit.model import observations_frame, sites_frame
from cockpit.twin.baseline import (
    MAD_SCALE,
    baselines,
    before_after,
    classify,
    compare_kpi,
    site_states,
    todays_anomalies,
)

TZ = "Australia/Melbourne"
AT = pd.Timestamp("2026-11-24 10:20", tz=TZ).tz_convert("UTC")  # a Tuesday


def hourly(
    site: str, metric: str, start: str, end: str, value: Callable[[pd.Timestamp], float]
) -> pd.DataFrame:
    """Hourly observations stamped on the city's wall clock from ``start`` to ``end``."""
    local = pd.date_range(start, end, freq="h", tz=TZ, inclusive="left")
    return observations_frame(
        pd.DataFrame(
            {
                "site_id": site,
                "metric": metric,
                "time": local.tz_convert("UTC"),
                "value": [value(t) for t in local],
            }
        )
    )


def tuesday_ten(values: dict[int, float], other: float = 50.0) -> Callable[[pd.Timestamp], float]:
    """``values`` by weeks before 24 Nov at Tuesday 10:00; ``other`` elsewhere."""

    def value(t: pd.Timestamp) -> float:
        if t.weekday() == 1 and t.hour == 10:
            weeks = (pd.Timestamp("2026-11-24", tz=TZ) - t.normalize()).days // 7
            return values.get(weeks, other)
        return other

    return value


def walkways(*named: tuple[str, str]) -> pd.DataFrame:
    """Pedestrian counting sites (id, name) along one street, 0.01° of longitude apart."""
    return sites_frame(
        [
            {
                "id": site_id,
                "name": name,
                "domain": "pedestrians",
                "lat": -37.81,
                "lon": round(144.96 + k / 100, 2),
                "source": "pedestrians",
            }
            for k, (site_id, name) in enumerate(named)
        ]
    )


def history() -> pd.DataFrame:
    one = hourly(
        "pedestrians:1",
        "pedestrians",
        "2026-10-20",
        "2026-11-24 10:00",
        tuesday_ten({1: 100, 2: 110, 3: 90, 4: 120}),
    )
    two = hourly(
        "pedestrians:2", "pedestrians", "2026-10-20", "2026-11-24 10:00", tuesday_ten({}, 95)
    )
    return pd.concat([one, two], ignore_index=True)


def test_baseline_is_the_median_and_mad_of_the_same_weekday_and_hour() -> None:
    base = baselines(history(), AT, TZ).set_index("site_id")
    assert base.loc["pedestrians:1", "median"] == pytest.approx(105)
    # deviations 5, 5, 15, 15 -> MAD 10
    assert base.loc["pedestrians:1", "spread"] == pytest.approx(10 * MAD_SCALE)
    assert base.loc["pedestrians:1", "weeks"] == 4
    assert np.isnan(base.loc["pedestrians:1", "last_year"])
    assert base.loc["pedestrians:2", "median"] == pytest.approx(95)
    assert base.loc["pedestrians:2", "spread"] == pytest.approx(0)


def test_baseline_gives_the_same_week_last_year_when_history_reaches_it() -> None:
    year_ago = pd.Timestamp("2026-11-24 10:00", tz=TZ) - pd.Timedelta(weeks=52)
    old = observations_frame(
        [{"site_id": "pedestrians:1", "metric": "pedestrians", "time": year_ago, "value": 77.0}]
    )
    base = baselines(pd.concat([history(), old]), AT, TZ).set_index("site_id")
    assert year_ago.weekday() == 1
    assert base.loc["pedestrians:1", "last_year"] == pytest.approx(77)


def test_baseline_needs_min_weeks_and_follows_the_wall_clock_across_daylight_saving() -> None:
    # Melbourne moves its clocks forward on Sunday 4 October 2026: Tuesday 10:00 before
    # and after is a different UTC hour, and the baseline must still match 10:00.
    frame = hourly(
        "traffic:9",
        "vehicle_flow",
        "2026-09-15",
        "2026-10-13 11:00",
        lambda t: 400.0 if t.hour == 10 else 10.0,
    )
    at = pd.Timestamp("2026-10-13 10:30", tz=TZ)
    base = baselines(frame, at, TZ)
    assert base["median"].tolist() == [pytest.approx(400)]
    assert base["weeks"].tolist() == [4]
    short = frame[frame["time"] >= pd.Timestamp("2026-10-05", tz=TZ)]
    assert baselines(short, at, TZ).empty  # one earlier Tuesday only: fewer than 2 weeks
    assert not baselines(short, at, TZ, min_weeks=1).empty


def test_classify_by_robust_score() -> None:
    spread = 10 * MAD_SCALE
    assert classify(150, 105, spread) == "well above"  # z = 3.04
    assert classify(105, 105, spread) == "typical"
    assert classify(120, 105, spread) == "typical"  # z = 1.01
    assert classify(60, 105, spread) == "well below"
    assert classify(120, 105, spread, band_z=1.0) == "well above"
    assert classify(None, 105, spread) == "unknown"
    assert classify(100, float("nan"), spread) == "unknown"
    # A flat history (spread 0) uses a floor of a tenth of the median: 95 ± 9.5 per z.
    assert classify(100, 95, 0.0, metric="pedestrians") == "typical"
    assert classify(120, 95, 0.0, metric="pedestrians") == "well above"


def test_site_states_mark_anomalies_and_unknowns() -> None:
    base = baselines(history(), AT, TZ)
    latest = observations_frame(
        [
            {"site_id": "pedestrians:1", "metric": "pedestrians", "time": AT, "value": 200.0},
            {"site_id": "pedestrians:2", "metric": "pedestrians", "time": AT, "value": 96.0},
            {"site_id": "pedestrians:3", "metric": "pedestrians", "time": AT, "value": 5.0},
        ]
    )
    states = site_states(latest, base, band_z=2.0, anomaly_z=3.5).set_index("site_id")
    assert states.loc["pedestrians:1", "z"] == pytest.approx(95 / (10 * MAD_SCALE))
    assert states.loc["pedestrians:1", "state"] == "well above"
    assert bool(states.loc["pedestrians:1", "anomaly"])
    assert states.loc["pedestrians:2", "state"] == "typical"
    assert not bool(states.loc["pedestrians:2", "anomaly"])
    assert states.loc["pedestrians:3", "state"] == "unknown"
    assert not bool(states.loc["pedestrians:3", "anomaly"])
    stricter = site_states(latest, base, anomaly_z=7.0).set_index("site_id")
    assert not bool(stricter.loc["pedestrians:1", "anomaly"])


def test_kpi_comparison_in_numbers_and_words() -> None:
    base = baselines(history(), AT, TZ)  # medians 105 and 95: typical 200
    latest = observations_frame(
        [
            {"site_id": "pedestrians:1", "metric": "pedestrians", "time": AT, "value": 82.0},
            {"site_id": "pedestrians:2", "metric": "pedestrians", "time": AT, "value": 82.0},
        ]
    )
    comp = compare_kpi("footfall", "Footfall", "pedestrians", latest, base, TZ)
    assert comp is not None
    assert comp.value == 164 and comp.typical == pytest.approx(200)
    assert comp.change == pytest.approx(-0.18)
    assert comp.direction == "below"
    assert comp.words == "Footfall 18% below a typical Tuesday 10:00"
    same = latest.assign(value=[104.0, 97.0])
    usual = compare_kpi("footfall", "Footfall", "pedestrians", same, base, TZ)
    assert usual is not None and usual.direction == "as usual"
    assert usual.words == "Footfall about as usual for a Tuesday 10:00"
    mean = compare_kpi("footfall", "Footfall", "pedestrians", latest, base, TZ, how="mean")
    assert mean is not None and mean.value == 82 and mean.typical == pytest.approx(100)
    assert compare_kpi("air", "Air", "no2", latest, base, TZ) is None


def test_todays_anomalies_list_the_unusual_hour_of_each_site() -> None:
    def spike(t: pd.Timestamp) -> float:
        today = t.date() == pd.Timestamp("2026-11-24").date()
        return {8: 900.0, 9: 1000.0}.get(t.hour, 50.0) if today else 50.0

    frame = pd.concat(
        [
            hourly("pedestrians:1", "pedestrians", "2026-10-20", "2026-11-24 10:00", spike),
            hourly(
                "pedestrians:2", "pedestrians", "2026-10-20", "2026-11-24 10:00", lambda t: 60.0
            ),
        ],
        ignore_index=True,
    )
    sites = walkways(("pedestrians:1", "Swanston St"), ("pedestrians:2", "Bourke St"))
    found = todays_anomalies(frame, sites, AT, TZ, z=3.5)
    assert [a.site_id for a in found] == ["pedestrians:1"]
    anomaly = found[0]
    assert pd.Timestamp(anomaly.time).tz_convert(TZ).hour == 9
    assert anomaly.direction == "above" and anomaly.typical == pytest.approx(50)
    assert anomaly.value == pytest.approx(1000)
    assert anomaly.words.startswith("Swanston St: Pedestrians 1,000 persons/h, far above")
    # Before the spike nothing was unusual today, nor after its first hour alone.
    assert todays_anomalies(frame, sites, AT - pd.Timedelta(hours=3), TZ) == []
    assert todays_anomalies(frame, sites, AT - pd.Timedelta(hours=2), TZ) == []


def test_before_after_judges_both_sides_against_the_pre_decision_pattern() -> None:
    decided = pd.Timestamp("2026-11-10 00:00", tz=TZ)

    def flow(t: pd.Timestamp) -> float:
        usual = 200.0 if 7 <= t.hour < 19 else 50.0
        return usual * (0.8 if t >= decided else 1.0)

    frame = hourly("traffic:1", "vehicle_flow", "2026-09-01", "2026-11-24", flow)
    result = before_after(frame, "vehicle_flow", ["traffic:1"], decided, TZ, days=14)
    assert result.before_vs_usual == pytest.approx(0.0)
    assert result.after_vs_usual == pytest.approx(-0.2)
    assert result.effect == pytest.approx(-0.2)
    assert result.after_hours == 14 * 24
    assert "20% below" in result.words and "-20 percentage points" in result.words
    by_kpi = before_after(frame, "traffic", ["traffic:1"], decided, TZ, days=14)
    assert by_kpi.metric == "vehicle_flow" and by_kpi.effect == pytest.approx(-0.2)
    nothing = before_after(frame, "vehicle_flow", ["traffic:2"], decided, TZ)
    assert nothing.effect is None and "not enough history" in nothing.words


def test_a_counter_that_usually_reads_zero_has_no_baseline() -> None:
    """A usual count of zero is a sensor outage as often as an empty street; an air
    reading of zero is a reading."""
    frame = pd.concat(
        [
            hourly(
                "pedestrians:9", "pedestrians", "2026-10-20", "2026-11-24 10:00", tuesday_ten({}, 0)
            ),
            hourly("air:1", "pm10", "2026-10-20", "2026-11-24 10:00", tuesday_ten({}, 0)),
        ],
        ignore_index=True,
    )
    base = baselines(frame, AT, TZ)
    assert list(base["site_id"]) == ["air:1"]


def test_a_counter_that_usually_reads_zero_is_not_an_anomaly() -> None:
    """400 people at a counter that read zero for weeks is a counter back from an outage
    as often as a crowd, so it is not flagged; a site with a real baseline still is."""

    def back_at_nine(t: pd.Timestamp) -> float:
        return 400.0 if t >= pd.Timestamp("2026-11-24 09:00", tz=TZ) else 0.0

    def spike(t: pd.Timestamp) -> float:
        return 1000.0 if t >= pd.Timestamp("2026-11-24 08:00", tz=TZ) else 50.0

    end = "2026-11-24 10:00"
    frame = pd.concat(
        [
            hourly("pedestrians:9", "pedestrians", "2026-10-20", end, back_at_nine),
            hourly("pedestrians:1", "pedestrians", "2026-10-20", end, spike),
        ],
        ignore_index=True,
    )
    sites = walkways(("pedestrians:9", "Outage St"), ("pedestrians:1", "Swanston St"))
    assert [a.site_id for a in todays_anomalies(frame, sites, AT, TZ)] == ["pedestrians:1"]
