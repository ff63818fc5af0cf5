"""The map's site states: a threshold layer, a two-state layer and the European AQI
layer, each on a small hand-built frame of latest values."""

from __future__ import annotations

import pandas as pd

from cockpit.config import CityConfig, LayerConfig
from cockpit.model import observations_frame
from cockpit.twin.states import LEVELS, site_states

NOW = pd.Timestamp("2025-05-13 08:00", tz="Australia/Melbourne")
HOUR = pd.Timedelta(hours=1)


def frame(*rows: tuple[str, str, pd.Timestamp, float]) -> pd.DataFrame:
    """Observations from (site_id, metric, time, value) rows, in canonical units."""
    return observations_frame(
        [{"site_id": s, "metric": m, "time": t, "value": v} for s, m, t, v in rows]
    )


def counts(when: pd.Timestamp, **per_site: float) -> list[tuple[str, str, pd.Timestamp, float]]:
    """Pedestrian counts of several sensors at one time."""
    return [(s, "pedestrians", when, v) for s, v in per_site.items()]


def bays(occupied: int, free: int) -> list[tuple[str, str, pd.Timestamp, float]]:
    """Bay states: ``occupied`` bays at 1 and ``free`` bays at 0."""
    states = [1.0] * occupied + [0.0] * free
    return [(f"bay:{i}", "bay_occupied", NOW, v) for i, v in enumerate(states)]


def test_levels_run_from_calm_to_urgent() -> None:
    assert LEVELS == ("ok", "warn", "alert")


def test_site_states_threshold_layer(demo_config: CityConfig) -> None:
    layer = demo_config.layers["pedestrians"]  # [250, 1000]: quiet, busy, crowded
    latest = frame(
        *counts(NOW, a=249, b=250, c=999, d=1_000),
        ("e", "pedestrians", NOW - HOUR, 5_000),  # older than e's newest value: ignored
        ("e", "pedestrians", NOW, 10),
        ("a", "vehicle_flow", NOW, 3_000),  # another layer's metric: ignored
    )
    states = site_states(latest, layer).set_index("site_id")
    assert sorted(states.index) == ["a", "b", "c", "d", "e"]
    assert states["state"].to_dict() == {
        "a": "quiet",
        "b": "busy",  # 250 is the first value of "busy"
        "c": "busy",
        "d": "crowded",
        "e": "quiet",
    }
    assert states["level"].to_dict() == {
        "a": "ok",
        "b": "warn",
        "c": "warn",
        "d": "alert",
        "e": "ok",
    }
    assert states.loc["e", "value"] == 10
    assert set(states["metric"]) == {"pedestrians"}


def test_site_states_two_state_layer(demo_config: CityConfig) -> None:
    layer = demo_config.layers["parking"]  # [0.5]: free, occupied
    states = site_states(frame(*bays(1, 1)), layer).set_index("site_id")
    assert states["state"].to_dict() == {"bay:0": "occupied", "bay:1": "free"}
    assert states["level"].to_dict() == {"bay:0": "alert", "bay:1": "ok"}


def test_site_states_eaqi_layer(demo_config: CityConfig) -> None:
    layer = demo_config.layers["air"]
    assert layer.metric == "eaqi"
    latest = frame(
        ("air:10001", "no2", NOW, 95.0),  # moderate
        ("air:10001", "pm25", NOW, 8.0),  # good
        ("air:10239", "pm10", NOW, 30.0),  # fair
        ("air:10042", "pm25", NOW, 40.0),  # poor
        ("air:10042", "o3", NOW, 120.0),  # moderate
    )
    states = site_states(latest, layer).set_index("site_id")
    # Each station shows its worst pollutant: its band as the state, its value as the value.
    assert states["state"].to_dict() == {
        "air:10001": "moderate",
        "air:10239": "fair",
        "air:10042": "poor",
    }
    assert states["level"].to_dict() == {
        "air:10001": "warn",
        "air:10239": "ok",
        "air:10042": "alert",
    }
    assert states.loc["air:10001", "metric"] == "no2"
    assert states.loc["air:10001", "value"] == 95.0
    assert states.loc["air:10042", "metric"] == "pm25"


def test_site_states_without_matching_data() -> None:
    layer = LayerConfig(
        domain="traffic",
        title="Traffic",
        sources=["traffic"],
        metric="vehicle_flow",
        thresholds=[1500, 3000],
        labels=["light", "moderate", "heavy"],
    )
    empty = site_states(frame(*counts(NOW, a=10)), layer)
    assert empty.empty
    assert list(empty.columns) == ["site_id", "metric", "value", "unit", "time", "state", "level"]
