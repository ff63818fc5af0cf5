"""Alert rules on constructed series with known answers, and over a real history store."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from cockpit.config import AlertsConfig, CityConfig
from cockpit.model import observations_frame, sites_frame
from cockpit.state.embedded import HistoryStore
from cockpit.twin.alerts import (
    AIR_STANDARDS,
    Alert,
    air_alerts,
    air_limits,
    alert_key,
    area_occupancy,
    congestion_alerts,
    crowding_alerts,
    crowding_limits,
    episodes,
    evaluate,
    parking_alerts,
    ranked,
    rolling_mean,
    severity,
    window_start,
)

START = pd.Timestamp("2026-11-20 00:00", tz="UTC")
RULES = AlertsConfig()  # hysteresis 0.1, close_after 3


def hourly(values: list[float], start: pd.Timestamp = START) -> pd.DatetimeIndex:
    return pd.date_range(start, periods=len(values), freq="h")


def run(values: list[float], limit: float, rules: AlertsConfig = RULES) -> list:
    times = hourly(values)
    return episodes(times, values, [limit] * len(values), rules.hysteresis, rules.close_after)


def obs(site: str, metric: str, values: list[float], start: pd.Timestamp = START) -> pd.DataFrame:
    return observations_frame(
        pd.DataFrame(
            {"site_id": site, "metric": metric, "time": hourly(values, start), "value": values}
        )
    )


# -- the state machine -----------------------------------------------------------------


def test_opens_at_the_threshold() -> None:
    found = run([10, 14.9, 15, 16], limit=15)
    assert len(found) == 1
    assert found[0].opened == START + pd.Timedelta(hours=2)
    assert found[0].active and found[0].peak == 16


def test_hovering_at_the_limit_does_not_flap() -> None:
    found = run([15, 14.9, 15.1, 14.8, 15, 14.9, 15.2, 14.95], limit=15)
    assert len(found) == 1
    assert found[0].opened == START and found[0].active


def test_closes_below_the_hysteresis_band() -> None:
    found = run([16, 16, 13.4, 16], limit=15)  # 13.4 < 15 × 0.9
    assert [e.opened for e in found] == [START, START + pd.Timedelta(hours=3)]
    assert found[0].closed == START + pd.Timedelta(hours=2)
    assert found[1].active


def test_inside_the_band_closes_only_after_consecutive_samples() -> None:
    found = run([16, 14, 14, 15, 14, 14, 14, 10], limit=15)
    assert len(found) == 1
    assert found[0].closed == START + pd.Timedelta(hours=6)  # third value in a row below


def test_missing_values_change_nothing() -> None:
    found = run([16, float("nan"), float("nan"), 16], limit=15)
    assert len(found) == 1 and found[0].active


# -- air quality --------------------------------------------------------------------------


def test_rolling_means_over_the_averaging_period() -> None:
    series = pd.Series([10.0] * 24 + [34.0] * 24, index=hourly([0] * 48))
    means = rolling_mean(series, 24)
    assert means.iloc[23] == pytest.approx(10)
    assert means.iloc[35] == pytest.approx((12 * 10 + 12 * 34) / 24)
    assert means.iloc[47] == pytest.approx(34)
    eight = rolling_mean(series, 8)
    assert eight.iloc[27] == pytest.approx((4 * 10 + 4 * 34) / 8)
    # Fewer than 75 % of the hours: no mean.
    assert np.isnan(means.iloc[16]) and not np.isnan(means.iloc[17])
    assert rolling_mean(series, 1).equals(series)


def test_who_pm25_alert_opens_when_the_24h_mean_reaches_15() -> None:
    # 24 h at 10 then 30: the mean reaches 15 after 6 hours at 30 (18×10 + 6×30)/24 = 15.
    frame = obs("air:1", "pm25", [10.0] * 24 + [30.0] * 12)
    alerts = [a for a in air_alerts(frame, pd.DataFrame(), RULES, START) if a.metric == "pm25"]
    assert len(alerts) == 1
    assert alerts[0].opened == (START + pd.Timedelta(hours=29)).to_pydatetime()
    assert alerts[0].basis.startswith("24-hour mean")
    assert alerts[0].key == "air.pm25:air:1:2026-11-21T05:00Z"


def test_a_short_spike_above_the_limit_is_no_24h_breach() -> None:
    frame = obs("air:1", "pm25", [8.0] * 24 + [60.0] * 2 + [8.0] * 10)
    assert air_alerts(frame, pd.DataFrame(), RULES, START) == []


def test_ozone_uses_the_8_hour_mean() -> None:
    frame = obs("air:1", "o3", [60.0] * 8 + [140.0] * 8)
    alerts = air_alerts(frame, pd.DataFrame(), RULES, START)
    # The 8-hour mean (8 - k)×60 + k×140 reaches 100 first at k = 4 (hour index 11).
    assert [a.opened for a in alerts] == [(START + pd.Timedelta(hours=11)).to_pydatetime()]


def test_eu_standard_differs_from_who() -> None:
    who, eu = AIR_STANDARDS["who2021"], AIR_STANDARDS["eu"]
    assert (who["pm10"].limit, who["pm10"].hours) == (45, 24)
    assert (eu["pm10"].limit, eu["pm10"].hours) == (50, 24)
    assert (eu["no2"].limit, eu["no2"].hours) == (200, 1)
    assert (eu["o3"].limit, eu["o3"].hours) == (120, 8)
    # A day of NO2 at 60 µg/m³ breaches the WHO 24-hour guideline, not the EU hourly limit.
    frame = obs("air:1", "no2", [60.0] * 30)
    assert len(air_alerts(frame, pd.DataFrame(), RULES, START)) == 1
    assert air_alerts(frame, pd.DataFrame(), AlertsConfig(air_standard="eu"), START) == []
    # An hour at 210 breaches the EU hourly limit.
    spike = obs("air:1", "no2", [20.0] * 5 + [210.0])
    eu_alerts = air_alerts(spike, pd.DataFrame(), AlertsConfig(air_standard="eu"), START)
    assert [a.opened for a in eu_alerts] == [(START + pd.Timedelta(hours=5)).to_pydatetime()]


def test_city_limits_replace_the_standards() -> None:
    limits = air_limits(AlertsConfig(air_limits={"pm10": 40}))
    assert limits["pm10"].limit == 40 and limits["pm10"].hours == 24
    assert limits["pm25"].limit == 15


# -- parking -----------------------------------------------------------------------------


def bays(
    shares: list[float], n: int = 20, district: str = "Carlton"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``n`` bays reporting each hour; ``share`` of them occupied."""
    rows = []
    for h, share in enumerate(shares):
        occupied = round(share * n)
        for b in range(n):
            rows.append(
                {
                    "site_id": f"parking:{b}",
                    "metric": "bay_occupied",
                    "time": START + pd.Timedelta(hours=h, minutes=b),
                    "value": 1.0 if b < occupied else 0.0,
                }
            )
    sites = sites_frame(
        [
            {
                "id": f"parking:{b}",
                "name": f"Bay {b}",
                "domain": "parking",
                "lat": 0,
                "lon": 0,
                "source": "parking",
            }
            for b in range(n)
        ]
    ).assign(district=district)
    return observations_frame(pd.DataFrame(rows)), sites


def test_area_occupancy_shares() -> None:
    frame, sites = bays([0.5, 0.95])
    shares = area_occupancy(frame, sites.set_index("id")["district"])
    assert list(shares.columns) == ["Carlton", "city"]
    assert shares["Carlton"].tolist() == [50.0, 95.0]


def test_parking_above_90_percent_opens_an_alert() -> None:
    frame, sites = bays([0.5, 0.85, 0.9, 0.95, 0.85, 0.5])
    found = parking_alerts(frame, observations_frame([]), sites, RULES, START)
    assert {a.site_id for a in found} == {"area:Carlton", "city"}
    carlton = next(a for a in found if a.site_id == "area:Carlton")
    assert carlton.opened == (START + pd.Timedelta(hours=3)).to_pydatetime()  # hour 2's end
    assert carlton.closed == (START + pd.Timedelta(hours=6)).to_pydatetime()  # 50 % < 81 %
    assert carlton.unit == "%"


def test_car_park_occupancy_metric() -> None:
    occupancy = obs("parking:garage", "occupancy", [80, 89, 91, 92])
    found = parking_alerts(observations_frame([]), occupancy, pd.DataFrame(), RULES, START)
    assert [(a.site_id, a.opened) for a in found] == [
        ("parking:garage", (START + pd.Timedelta(hours=2)).to_pydatetime())
    ]


# -- crowding ------------------------------------------------------------------------------


def weeks_of_counts(usual: float, today: list[float], weeks: int = 4) -> pd.DataFrame:
    """``weeks`` weeks of a flat usual count, then ``today``'s counts."""
    past = [usual + (i % 3) for i in range(weeks * 7 * 24)]
    return obs("ped:1", "pedestrians", past + today, START - pd.Timedelta(weeks=weeks))


def test_crowding_limit_from_the_same_weekday_and_hour() -> None:
    frame = weeks_of_counts(400, [400.0] * 5)
    series = frame.set_index("time")["value"]
    limits = crowding_limits(series, pd.DatetimeIndex(frame["time"].iloc[-5:]), RULES)
    # median about 400-402, factor 2 dominates
    assert limits.between(800, 806).all()


def test_crowding_opens_far_above_the_usual_and_not_for_normal_counts() -> None:
    frame = weeks_of_counts(400, [420.0, 450.0, 1000.0, 1200.0, 380.0, 390.0])
    found = crowding_alerts(frame, pd.DataFrame(), RULES, START.to_pydatetime())
    assert len(found) == 1
    assert found[0].opened == (START + pd.Timedelta(hours=2)).to_pydatetime()
    assert found[0].closed == (START + pd.Timedelta(hours=4)).to_pydatetime()
    quiet = weeks_of_counts(400, [420.0, 450.0, 700.0])
    assert crowding_alerts(quiet, pd.DataFrame(), RULES, START.to_pydatetime()) == []


def test_small_counts_stay_below_the_minimum() -> None:
    frame = weeks_of_counts(10, [30.0, 60.0, 90.0])  # far above the usual, still tiny
    assert crowding_alerts(frame, pd.DataFrame(), RULES, START.to_pydatetime()) == []


# -- congestion ----------------------------------------------------------------------------


def weeks_of_flow(usual: float, today: list[float], weeks: int = 4) -> pd.DataFrame:
    """``weeks`` weeks of a flat usual flow in quarter hours, then ``today``'s hourly flows,
    each as four equal quarter hours."""
    past = [usual + (i % 3) for i in range(weeks * 7 * 24 * 4)]
    quarters = [v for v in today for _ in range(4)]
    values = past + quarters
    times = pd.date_range(START - pd.Timedelta(weeks=weeks), periods=len(values), freq="15min")
    return observations_frame(
        pd.DataFrame(
            {"site_id": "traffic:1", "metric": "vehicle_flow", "time": times, "value": values}
        )
    )


def test_congestion_opens_when_the_hourly_flow_is_far_above_its_usual() -> None:
    frame = weeks_of_flow(800, [820.0, 1100.0, 1500.0, 1600.0, 700.0, 760.0])
    found = congestion_alerts(frame, pd.DataFrame(), RULES, START.to_pydatetime())
    assert [(a.rule, a.metric, a.opened) for a in found] == [
        ("congestion", "vehicle_flow", (START + pd.Timedelta(hours=2)).to_pydatetime())
    ]
    assert found[0].limit == pytest.approx(1.5 * 801, rel=0.01)  # 1.5 × usual
    assert found[0].closed == (START + pd.Timedelta(hours=4)).to_pydatetime()
    # A quiet street far above its usual stays below the minimum flow.
    small = weeks_of_flow(100, [300.0, 400.0, 500.0])
    assert congestion_alerts(small, pd.DataFrame(), RULES, START.to_pydatetime()) == []


# -- severity ------------------------------------------------------------------------------


def alert(rule: str, value: float, limit: float, hour: int = 0) -> Alert:
    opened = (START + pd.Timedelta(hours=hour)).to_pydatetime()
    return Alert(
        f"{rule}:s:{hour}", rule, "s", "S", "air", "pm10", opened, None, value, limit, "", ""
    )


def test_severity_grows_with_how_far_past_the_limit() -> None:
    assert severity(alert("air.pm10", 100, 45)) == "critical"
    assert severity(alert("air.pm10", 60, 45)) == "high"
    assert severity(alert("air.pm10", 46, 45)) == "moderate"
    assert severity(alert("parking", 99, 90)) == "high"  # full
    assert severity(alert("parking", 92, 90)) == "moderate"  # nearly full
    assert severity(alert("crowding", 1300, 800)) == "high"
    assert severity(alert("congestion", 1300, 1200)) == "moderate"
    assert severity(alert("sensor.silent", float("nan"), 0)) == "low"
    assert severity(alert("sensor.flat", 0, 0)) == "low"


def test_ranked_puts_the_most_severe_first_then_the_furthest_then_the_newest() -> None:
    fault = alert("sensor.stale", float("nan"), 0, hour=9)
    mild = alert("air.pm10", 46, 45, hour=8)
    worse = alert("air.pm10", 50, 45, hour=1)
    bad = alert("air.pm10", 100, 45, hour=0)
    newer = alert("crowding", 1300, 800, hour=5)
    older = alert("crowding", 1300, 800, hour=2)
    order = ranked([fault, mild, worse, older, bad, newer])
    assert order == [bad, newer, older, worse, mild, fault]


# -- keys and the whole evaluation ---------------------------------------------------------


def test_keys_are_stable_and_name_rule_site_and_time() -> None:
    when = pd.Timestamp("2026-11-24 10:30", tz="Australia/Melbourne")
    assert alert_key("air.pm10", "air:10001", when) == "air.pm10:air:10001:2026-11-23T23:30Z"
    assert window_start(when.to_pydatetime(), 48) == pd.Timestamp("2026-11-21", tz="UTC")
    later = when + pd.Timedelta(minutes=25)
    assert window_start(later.to_pydatetime(), 48) == window_start(when.to_pydatetime(), 48)


def test_evaluate_reads_the_history_and_a_restart_gives_the_same_alerts(
    tmp_path: Path, demo_config: CityConfig
) -> None:
    demo_config.alerts.air_limits = {"pm10": 30}
    now = pd.Timestamp("2026-11-21 12:30", tz="UTC").to_pydatetime()
    history = HistoryStore(tmp_path)
    values = [20.0] * 48 + [60.0] * 36
    start = pd.Timestamp(now) - pd.Timedelta(hours=len(values) - 1)
    history.append(obs("air:7", "pm10", values, start))
    sites = sites_frame(
        [{"id": "air:7", "name": "Station 7", "domain": "air", "lat": 0, "lon": 0, "source": "air"}]
    )
    first = evaluate(demo_config, history, sites, now)
    history.close()
    again = HistoryStore(tmp_path)
    second = evaluate(demo_config, again, sites, now + timedelta(minutes=20))
    again.close()
    assert [a.key for a in first] == [a.key for a in second]
    assert len(first) == 1 and first[0].active and first[0].site_name == "Station 7"
    # Sites the viewer may not see give no alerts.
    assert evaluate(demo_config, HistoryStore(tmp_path), sites.iloc[0:0], now) == []


def test_alert_settings_are_validated() -> None:
    with pytest.raises(ValidationError, match="air_standard"):
        AlertsConfig(air_standard="who")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="air_limits"):
        AlertsConfig.model_validate({"air_limits": {"so2": 5}})
    with pytest.raises(ValidationError, match="parking_occupancy"):
        AlertsConfig(parking_occupancy=120)
    with pytest.raises(ValidationError, match="hysteresis"):
        AlertsConfig(hysteresis=1.0)
