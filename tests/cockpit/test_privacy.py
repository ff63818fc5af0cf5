"""Privacy by design: small counts of people read "< k" on the map, and a source can be
kept for fewer days than the rest of the history."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from cockpit.city import format_value
from cockpit.config import CityConfig, default_config_path, load_config
from cockpit.domains import kpi_names, kpi_spec
from cockpit.errors import ConfigError
from cockpit.model import METRICS, observations_frame
from cockpit.privacy import PEOPLE_METRICS, kpi_suppressed, mask_frame, masked_label, suppressed
from cockpit.state.embedded import HistoryStore
from tests.browser import T0, Clock, demo_runtime
from wiring.runtime import Runtime


def plant_count(runtime: Runtime, value: float) -> str:
    """Give one pedestrian sensor a count of ``value`` now (snapshot and history);
    returns its site id."""
    snap = runtime.store.snapshot("pedestrians")
    assert snap is not None
    obs = snap.observations.copy()
    index = obs[obs["metric"] == "pedestrians"].sort_values("site_id").index[0]
    obs.loc[index, "value"] = value
    obs.loc[index, "time"] = obs["time"].max() + pd.Timedelta(minutes=10)
    runtime.store.put_snapshot(replace(snap, observations=obs))
    runtime.history.append(obs.loc[[index]])
    return str(obs.loc[index, "site_id"])


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    rt = demo_runtime(tmp_path_factory.mktemp("data"), Clock(T0), backfill=False)
    yield rt
    rt.close()


def test_only_counts_of_people_are_concerned() -> None:
    assert set(PEOPLE_METRICS) == {"pedestrians"}
    assert all(m in METRICS for m in PEOPLE_METRICS)
    assert suppressed("pedestrians", 3, 5)
    assert suppressed("pedestrians", 0, 5)
    assert not suppressed("pedestrians", 5, 5)
    assert not suppressed("pedestrians", 3, 0)  # rule off
    assert not suppressed("vehicle_flow", 3, 5)
    assert not suppressed("pedestrians", math.nan, 5)
    assert masked_label(5) == "< 5"


def test_format_value_masks_small_counts() -> None:
    assert format_value("pedestrians", 3, 5) == "< 5 persons/h"
    assert format_value("pedestrians", 3) == "3 persons/h"
    assert format_value("pedestrians", 12, 5) == "12 persons/h"
    assert format_value("vehicle_flow", 3, 5) == "3 veh/h"


def test_mask_frame_leaves_no_small_count() -> None:
    frame = observations_frame(
        [
            {"site_id": "p:1", "metric": "pedestrians", "time": T0, "value": 3.0},
            {"site_id": "p:2", "metric": "pedestrians", "time": T0, "value": 1240.0},
            {"site_id": "t:1", "metric": "vehicle_flow", "time": T0, "value": 3.0},
        ]
    )
    out = mask_frame(frame, 5)
    assert out["value_text"].tolist() == ["< 5", "1240", "3"]
    assert out["suppressed"].tolist() == [True, False, False]
    assert math.isnan(out["value"].iloc[0])
    assert 3.0 not in out.loc[out["metric"] == "pedestrians", "value"].tolist()


def test_demo_city_sets_a_minimum_group_size(runtime: Runtime) -> None:
    assert runtime.config.privacy.min_group_size == 5
    assert runtime.city.view("public").min_group_size == 5


def test_map_marker_reads_below_k_with_provenance(runtime: Runtime) -> None:
    site = plant_count(runtime, 3)
    view = runtime.city.view("public")
    features = view.layer_features("pedestrians", runtime.config.city.timezone)["features"]
    props = next(f["properties"] for f in features if f["properties"]["id"] == site)
    assert props["value"] == "< 5 persons/h"
    assert "3 persons" not in str(props)
    # provenance on every marker: source, origin, observation and retrieval time
    assert props["source"] == "Pedestrian Counting System"
    assert props["origin"] == "May 2025, replayed"
    fetched = pd.Timestamp(T0).tz_convert(runtime.config.city.timezone)
    assert props["fetched"] == f"{fetched:%a %d %b %H:%M}"
    assert props["time"]


def test_retention_days_is_validated(tmp_path: Path) -> None:
    folder = default_config_path().parent
    text = default_config_path().read_text(encoding="utf-8")
    text = text.replace('"demo-melbourne/', f'"{folder}/demo-melbourne/')
    text = text.replace("[sources.traffic]\n", "[sources.traffic]\nretention_days = 0\n")
    bad = tmp_path / "city.toml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(bad)
    assert info.value.key == "sources.traffic.retention_days"
    good = tmp_path / "good.toml"
    good.write_text(text.replace("retention_days = 0", "retention_days = 7"), encoding="utf-8")
    assert load_config(good).sources["traffic"].retention_days == 7


def test_purge_source_deletes_only_that_source(tmp_path: Path) -> None:
    history = HistoryStore(tmp_path)
    frame = observations_frame(
        [
            {
                "site_id": "pedestrians:1",
                "metric": "pedestrians",
                "time": T0 - pd.Timedelta(days=3),
                "value": 10.0,
            },
            {"site_id": "pedestrians:1", "metric": "pedestrians", "time": T0, "value": 11.0},
            {
                "site_id": "traffic:1",
                "metric": "vehicle_flow",
                "time": T0 - pd.Timedelta(days=3),
                "value": 9.0,
            },
        ]
    )
    history.append(frame)
    assert history.purge_source("pedestrians", (T0 - pd.Timedelta(days=1)).to_pydatetime()) == 1
    left = history.window(
        ["pedestrians:1", "traffic:1"],
        (T0 - pd.Timedelta(days=9)).to_pydatetime(),
        (T0 + pd.Timedelta(hours=1)).to_pydatetime(),
    )
    assert sorted(zip(left["site_id"], left["value"], strict=True)) == [
        ("pedestrians:1", 11.0),
        ("traffic:1", 9.0),
    ]
    history.close()


def test_refresher_applies_a_source_retention(tmp_path: Path, demo_config: CityConfig) -> None:
    demo_config.sources["pedestrians"].retention_days = 2
    rt = demo_runtime(tmp_path, Clock(T0), config=demo_config, backfill=False)
    try:
        now = T0.to_pydatetime()
        old = now - timedelta(days=3)
        rt.history.append(
            observations_frame(
                [
                    {"site_id": "pedestrians:1", "metric": "pedestrians", "time": old, "value": 7},
                    {"site_id": "traffic:1", "metric": "vehicle_flow", "time": old, "value": 9},
                ]
            )
        )
        rt.refresher.refresh("pedestrians")
        week = now - timedelta(days=7)
        people = rt.history.source_window("pedestrians", "pedestrians", week, now)
        traffic = rt.history.source_window("traffic", "vehicle_flow", week, now)
        assert people["time"].min() >= now - timedelta(days=2)  # older counts purged
        assert not people.empty  # the fresh counts stay
        assert old in list(traffic["time"])  # other sources keep the storage's retention
    finally:
        rt.close()


@pytest.mark.parametrize(
    ("kpi", "masked"),
    [("footfall", True), ("parking", False), ("traffic", False), ("air", False)],
)
def test_only_the_kpi_that_counts_people_is_masked(kpi: str, masked: bool) -> None:
    assert set(kpi_names()) == {"footfall", "parking", "traffic", "air"}  # one case each
    metrics = kpi_spec(kpi).metrics
    assert kpi_suppressed(metrics, 2.0, 5) is masked
    assert not kpi_suppressed(metrics, 7.0, 5)
    assert not kpi_suppressed(metrics, None, 5)
    assert not kpi_suppressed(metrics, 2.0, 0)  # rule off
