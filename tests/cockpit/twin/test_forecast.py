"""Forecasts (profile plus decaying deviation) and free parking places on constructed series."""

from __future__ import annotations

import pandas as pd
import pytest

from cockpit.model import observations_frame, sites_frame
from cockpit.twin.baseline import MAD_SCALE, hourly_table
from cockpit.twin.forecast import BAND_Z, forecast, free_bays_forecast, model_predictions
from tests.cockpit.twin.test_baseline import TZ, hourly

NOW = pd.Timestamp("2026-11-24 10:20", tz=TZ)  # Tuesday
WEEK_SHIFT = {1: 0.0, 2: 10.0, 3: -10.0, 4: 20.0}  # median 5, MAD 10


def street(t: pd.Timestamp) -> float:
    """100 + 10 × hour, shifted per week before today (weeks 1..4: WEEK_SHIFT, profile
    shift 5), and 45 today: 40 above the profile."""
    back = (pd.Timestamp("2026-11-24", tz=TZ) - t.normalize()).days
    shift = 45.0 if back == 0 else WEEK_SHIFT.get(-(-back // 7), 0.0)
    return 100 + 10 * t.hour + shift


def test_forecast_adds_the_decaying_deviation_to_the_profile() -> None:
    frame = hourly("pedestrians:1", "pedestrians", "2026-10-27", "2026-11-24 11:00", street)
    out = forecast(frame, NOW, TZ, hours=3, decay=0.6, fit_days=0)
    assert len(out) == 3
    local_hours = [t.tz_convert(TZ).hour for t in out["time"]]
    assert local_hours == [11, 12, 13]
    # profile at hour h: 100 + 10 h + median(0, 10, -10, 20) = 105 + 10 h; now 40 above it
    assert out["profile"].tolist() == pytest.approx([215, 225, 235])
    assert out["expected"].tolist() == pytest.approx(
        [215 + 40 * 0.6, 225 + 40 * 0.36, 235 + 40 * 0.216]
    )
    half = BAND_Z * 10 * MAD_SCALE
    assert (out["high"] - out["expected"]).tolist() == pytest.approx([half] * 3)
    assert (out["expected"] - out["low"]).tolist() == pytest.approx([half] * 3)
    no_memory = forecast(frame, NOW, TZ, hours=1, decay=0.0, fit_days=0)
    assert no_memory["expected"].tolist() == pytest.approx([215])


def test_forecast_ignores_the_future_and_sites_without_enough_history() -> None:
    frame = pd.concat(
        [
            hourly("pedestrians:1", "pedestrians", "2026-10-27", "2026-11-25", street),
            hourly("pedestrians:2", "pedestrians", "2026-11-18", "2026-11-24 11:00", street),
        ]
    )
    out = forecast(frame, NOW, TZ, hours=2, decay=0.6, fit_days=0)
    assert set(out["site_id"]) == {"pedestrians:1"}  # site 2: one week only
    assert out["expected"].iloc[0] == pytest.approx(215 + 40 * 0.6)  # later hours unseen
    assert forecast(frame.iloc[0:0], NOW, TZ).empty


def test_model_predictions_measure_the_same_rule_on_history() -> None:
    frame = hourly("pedestrians:1", "pedestrians", "2026-10-27", "2026-11-24 12:00", street)
    table = hourly_table(frame, TZ)
    naive, model = model_predictions(table, horizon=1, decay=0.6)
    eleven = pd.Timestamp("2026-11-24 11:00")
    column = ("pedestrians:1", "pedestrians")
    assert naive.loc[eleven, column] == pytest.approx(215)
    assert model.loc[eleven, column] == pytest.approx(215 + 40 * 0.6)


def parking_sites() -> pd.DataFrame:
    base = {"domain": "parking", "source": "parking"}
    return sites_frame(
        [
            {**base, "id": "parking:b1", "name": "Bay 1", "lat": -37.8100, "lon": 144.9600},
            {**base, "id": "parking:b2", "name": "Bay 2", "lat": -37.8110, "lon": 144.9600},
            {**base, "id": "parking:b3", "name": "Bay 3", "lat": -37.8100, "lon": 144.9610},
            {**base, "id": "parking:far", "name": "Far bay", "lat": -37.8300, "lon": 144.9600},
            {
                **base,
                "id": "parking:park",
                "name": "Car park",
                "lat": -37.8105,
                "lon": 144.9605,
                "attributes": {"capacity": 100},
            },
        ]
    )


def parking_history(start: str) -> pd.DataFrame:
    def busy(t: pd.Timestamp) -> bool:
        return 9 <= t.hour < 17

    end = "2026-11-24 11:00"
    frames = [
        hourly(f"parking:{b}", "bay_occupied", start, end, lambda t: 1.0 if busy(t) else 0.0)
        for b in ("b1", "b2", "b3", "far")
    ]
    frames.append(
        hourly("parking:park", "occupancy", start, end, lambda t: 80.0 if busy(t) else 20.0)
    )
    return pd.concat(frames, ignore_index=True)


def test_free_bays_near_a_point_at_a_time() -> None:
    frame = parking_history("2026-10-20")
    at = pd.Timestamp("2026-11-24 17:00", tz=TZ)
    found = free_bays_forecast(parking_sites(), frame, -37.8102, 144.9603, 300, at, NOW, TZ)
    assert found is not None
    assert found.sites == 4 and found.places == 103  # three bays and a car park of 100
    assert found.basis == "weekday"
    assert found.expected == pytest.approx(3 + 80)  # bays free, car park 20 % full
    assert found.low == pytest.approx(83 - BAND_Z) and found.high == pytest.approx(83 + BAND_Z)
    noon = free_bays_forecast(
        parking_sites(), frame, -37.8102, 144.9603, 300, NOW + pd.Timedelta(hours=2), NOW, TZ
    )
    assert noon is not None and noon.expected == pytest.approx(20)
    assert "About 83 free places" in found.words and "within 300 m" in found.words
    assert free_bays_forecast(parking_sites(), frame, -37.70, 145.2, 300, at, NOW, TZ) is None


def test_free_bays_use_the_previous_days_while_history_is_short() -> None:
    frame = parking_history("2026-11-21")
    at = pd.Timestamp("2026-11-24 12:00", tz=TZ)
    found = free_bays_forecast(parking_sites(), frame, -37.8102, 144.9603, 300, at, NOW, TZ)
    assert found is not None and found.basis == "daily"
    assert found.expected == pytest.approx(20)


def test_free_bays_count_free_spaces_sites() -> None:
    sites = sites_frame(
        [
            {
                "id": "parking:g",
                "name": "Garage",
                "domain": "parking",
                "source": "parking",
                "lat": -37.81,
                "lon": 144.96,
                "attributes": {"capacity": 50},
            }
        ]
    )
    frame = hourly("parking:g", "free_spaces", "2026-10-20", "2026-11-24 11:00", lambda t: 12.0)
    found = free_bays_forecast(sites, frame, -37.81, 144.96, 100, NOW, NOW, TZ)
    assert found is not None and found.expected == pytest.approx(12) and found.places == 50
    assert observations_frame([]).empty
