"""Road-traffic CO₂ estimates from constructed vehicle counts."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from cockpit.config import TwinConfig
from cockpit.model import observations_frame
from cockpit.twin.climate import Co2Factors, co2_kpi, co2_per_day, vehicles_per_day

TZ = "Australia/Melbourne"


def quarter_hours(site: str, day: str, flow: float) -> pd.DataFrame:
    """A whole city day of 15-minute flows of ``flow`` veh/h."""
    local = pd.date_range(day, periods=96, freq="15min", tz=TZ)
    return observations_frame(
        pd.DataFrame(
            {"site_id": site, "metric": "vehicle_flow", "time": local.tz_convert("UTC"),
             "value": flow}
        )
    )  # fmt: skip


def test_vehicles_per_day_follow_the_city_day_and_skip_missing_hours() -> None:
    frame = pd.concat(
        [
            quarter_hours("traffic:1", "2026-11-23", 400.0),  # 24 h × 400 = 9,600
            quarter_hours("traffic:2", "2026-11-23", 100.0).iloc[:48],  # 12 h × 100 = 1,200
            quarter_hours("traffic:1", "2026-11-24", 200.0),
        ]
    )
    counts = vehicles_per_day(frame, TZ).set_index(["day", "site_id"])
    assert counts.loc[(date(2026, 11, 23), "traffic:1"), "vehicles"] == pytest.approx(9600)
    assert counts.loc[(date(2026, 11, 23), "traffic:2"), "vehicles"] == pytest.approx(1200)
    assert counts.loc[(date(2026, 11, 23), "traffic:2"), "hours"] == 12
    assert counts.loc[(date(2026, 11, 24), "traffic:1"), "vehicles"] == pytest.approx(4800)


def test_co2_is_vehicles_times_km_times_factor_and_says_it_is_an_estimate() -> None:
    frame = pd.concat(
        [
            quarter_hours("traffic:1", "2026-11-23", 400.0),
            quarter_hours("traffic:2", "2026-11-23", 100.0).iloc[:48],
        ]
    )
    twin = TwinConfig(co2_g_per_vehicle_km=180, km_per_counted_vehicle=1.5,
                      co2_source="a stated fleet average")  # fmt: skip
    factors = Co2Factors.from_config(twin)
    (day,) = co2_per_day(frame, TZ, factors)
    assert day.day == date(2026, 11, 23)
    assert day.vehicles == pytest.approx(10_800)
    assert day.vehicle_km == pytest.approx(16_200)
    assert day.tonnes == pytest.approx(16_200 * 180 / 1e6)  # 2.916 t
    assert day.is_estimate and day.sites == 2 and day.hours == 36
    assert "Estimate, not a measurement" in day.explanation
    assert "1.5 km" in day.explanation and "180 g" in day.explanation
    assert "a stated fleet average" in day.explanation
    kpi = co2_kpi(day)
    assert kpi.value == pytest.approx(2.916) and kpi.display == "≈ 2.9"
    assert "estimate" in kpi.title and kpi.level_label == "estimate"
    assert co2_kpi(None).value is None
    assert co2_per_day(frame[frame["metric"] == "no2"], TZ, factors) == []
