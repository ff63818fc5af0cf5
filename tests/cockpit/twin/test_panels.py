"""What the pages ask of the twin, over a real embedded history with known series."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from cockpit.config import CityConfig
from cockpit.model import observations_frame, sites_frame
from cockpit.state.embedded import HistoryStore
from cockpit.twin import panels

TZ = "Australia/Melbourne"
# A Tuesday, 10:30 in Melbourne.
AT = pd.Timestamp("2026-11-24 10:30", tz=TZ).tz_convert("UTC")
WEEKS = 5

SITES = sites_frame(
    [
        {"id": "traffic:1", "name": "Swanston St", "domain": "traffic", "lat": -37.81,
         "lon": 144.96, "source": "traffic"},
        {"id": "traffic:2", "name": "Flinders St", "domain": "traffic", "lat": -37.82,
         "lon": 144.97, "source": "traffic"},
        {"id": "air:7", "name": "Station 7", "domain": "air", "lat": -37.80, "lon": 144.95,
         "source": "air"},
    ]
)  # fmt: skip


def series(site: str, metric: str, value: float, hours: int, end: pd.Timestamp) -> pd.DataFrame:
    times = pd.date_range(end=end, periods=hours, freq="h")
    return observations_frame(
        pd.DataFrame({"site_id": site, "metric": metric, "time": times, "value": value})
    )


@pytest.fixture
def history(tmp_path: Path) -> Iterator[HistoryStore]:
    store = HistoryStore(tmp_path)
    hours = WEEKS * 7 * 24
    end = AT.floor("h")
    store.append(series("traffic:1", "vehicle_flow", 100.0, hours, end))
    store.append(series("traffic:2", "vehicle_flow", 300.0, hours, end))
    store.append(series("air:7", "pm10", 20.0, hours, end))
    yield store
    store.close()


def test_slot_history_reads_only_todays_hours_of_each_week(history: HistoryStore) -> None:
    frame = panels.slot_history(history, TZ, SITES, AT.to_pydatetime(), 2, ("vehicle_flow",))
    assert set(frame["metric"]) == {"vehicle_flow"}
    assert set(frame["site_id"]) == {"traffic:1", "traffic:2"}
    local = pd.to_datetime(frame["time"], utc=True).dt.tz_convert(TZ)
    # midnight to 10:00 on this Tuesday and the two Tuesdays before: 3 days × 11 hours
    assert set(local.dt.day_name()) == {"Tuesday"}
    assert local.dt.normalize().nunique() == 3
    assert set(local.dt.hour) == set(range(11))
    assert len(frame) == 2 * 3 * 11


def test_slot_history_of_a_metric_nobody_measures_is_empty(history: HistoryStore) -> None:
    frame = panels.slot_history(history, TZ, SITES, AT.to_pydatetime(), 2, ("pedestrians",))
    assert frame.empty


def test_twin_compares_the_latest_values_with_their_baselines(
    history: HistoryStore, demo_config: CityConfig
) -> None:
    at = AT.to_pydatetime()
    base, anomalies = panels.twin_baselines(history, demo_config, SITES, at)
    flow = base[base["metric"] == "vehicle_flow"].set_index("site_id")["median"]
    assert flow.to_dict() == {"traffic:1": 100.0, "traffic:2": 300.0}
    assert anomalies == []
    latest = observations_frame(
        [
            {"site_id": "traffic:1", "metric": "vehicle_flow", "time": AT, "value": 50.0},
            {"site_id": "traffic:2", "metric": "vehicle_flow", "time": AT, "value": 150.0},
        ]
    )
    twin = panels.twin_of(demo_config, latest, at, base, anomalies)
    assert twin.at == at
    traffic = twin.comparisons["traffic"]
    # The mean per intersection, as the traffic KPI itself: (100 + 300) / 2.
    assert traffic.typical == pytest.approx(200.0) and traffic.value == pytest.approx(100.0)
    assert traffic.direction == "below"
    assert set(twin.states["site_id"]) == {"traffic:1", "traffic:2"}


def test_alert_board_of_the_sites_given(history: HistoryStore, demo_config: CityConfig) -> None:
    demo_config.alerts.air_limits = {"pm10": 10}  # the station's 20 µg/m³ breaches it
    now = AT.to_pydatetime()
    board = panels.alert_board(demo_config, history, SITES, series_latest(), now)
    threshold = [a for a in board.alerts if a.site_id == "air:7"]
    assert threshold and all(a.active for a in threshold)
    assert {h.site_id for h in board.health} <= set(SITES["id"])
    # sites left out give nothing
    traffic_only = SITES[SITES["domain"] == "traffic"]
    board = panels.alert_board(demo_config, history, traffic_only, series_latest(), now)
    assert all(a.site_id != "air:7" for a in board.alerts)


def series_latest() -> pd.DataFrame:
    return observations_frame(
        [
            {"site_id": "traffic:1", "metric": "vehicle_flow", "time": AT, "value": 100.0},
            {"site_id": "traffic:2", "metric": "vehicle_flow", "time": AT, "value": 300.0},
            {"site_id": "air:7", "metric": "pm10", "time": AT, "value": 20.0},
        ]
    )


def test_hourly_metric_keeps_only_the_sites_given(
    history: HistoryStore, demo_config: CityConfig
) -> None:
    end = AT.to_pydatetime()
    start = (AT - pd.Timedelta(hours=6)).to_pydatetime()
    frame = panels.hourly_metric(history, demo_config, "vehicle_flow", start, end, {"traffic:1"})
    assert set(frame["site_id"]) == {"traffic:1"}
    assert not frame.empty


def test_site_forecast_needs_history(history: HistoryStore, demo_config: CityConfig) -> None:
    now: datetime = AT.to_pydatetime()
    ahead = panels.site_forecast(history, demo_config, "traffic:1", now)
    assert ahead is not None and not ahead.empty
    assert ahead["expected"].iloc[0] == pytest.approx(100.0)
    assert panels.site_forecast(history, demo_config, "traffic:9", now) is None


def test_forecast_metrics_leave_out_a_single_places_state() -> None:
    metrics = panels.forecast_metrics(["traffic", "air", "parking"])
    assert "vehicle_flow" in metrics and "pm10" in metrics
    assert "bay_occupied" not in metrics  # a bay's street is what its trend shows
    assert panels.forecast_metrics(["pedestrians"]) == ("pedestrians",)


def test_city_forecast_covers_every_site_with_history_from_one_read(
    history: HistoryStore, demo_config: CityConfig
) -> None:
    now: datetime = AT.to_pydatetime()
    bay = series("parking:1", "bay_occupied", 1.0, WEEKS * 7 * 24, AT.floor("h"))
    history.append(bay)
    latest = pd.concat(
        [
            series("traffic:1", "vehicle_flow", 100.0, 1, AT.floor("h")),
            series("traffic:2", "vehicle_flow", 300.0, 1, AT.floor("h")),
            series("air:7", "pm10", 20.0, 1, AT.floor("h")),
            series("traffic:9", "vehicle_flow", 50.0, 1, AT.floor("h")),  # no history
            bay.tail(1),
        ],
        ignore_index=True,
    )
    ahead = panels.city_forecast(history, demo_config, latest, now)
    assert set(ahead["site_id"]) == {"traffic:1", "traffic:2", "air:7"}
    assert set(ahead["basis"]) == {"fitted"}
    hours = demo_config.twin.forecast_hours
    assert ahead.groupby("site_id").size().to_dict() == dict.fromkeys(
        ["traffic:1", "traffic:2", "air:7"], hours
    )
    expected = ahead.groupby("site_id")["expected"].first()
    assert expected["traffic:2"] == pytest.approx(300.0)
    assert expected["air:7"] == pytest.approx(20.0)
    assert panels.city_forecast(history, demo_config, latest.iloc[:0], now).empty


def test_free_bays_without_parking_sites_is_none(
    history: HistoryStore, demo_config: CityConfig
) -> None:
    now = AT.to_pydatetime()
    at = (AT + pd.Timedelta(hours=2)).to_pydatetime()
    assert panels.free_bays(history, demo_config, SITES, -37.81, 144.96, 300, at, now) is None
