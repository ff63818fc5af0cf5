"""The street around a parking bay: the bays within a radius and their hourly occupied
share in %."""

from __future__ import annotations

import pandas as pd
import pytest

from cockpit.model import observations_frame, sites_frame
from cockpit.twin.occupancy import OCCUPANCY_METRIC, bays_around, occupancy_around

# 0.001° of latitude is about 111 m.
SITES = sites_frame(
    [
        {
            "id": "bay:1",
            "name": "Bay 1",
            "domain": "parking",
            "lat": -37.810,
            "lon": 144.96,
            "source": "s",
        },
        {
            "id": "bay:2",
            "name": "Bay 2",
            "domain": "parking",
            "lat": -37.811,
            "lon": 144.96,
            "source": "s",
        },
        {
            "id": "bay:3",
            "name": "Bay 3",
            "domain": "parking",
            "lat": -37.815,
            "lon": 144.96,
            "source": "s",
        },
        {
            "id": "ped:1",
            "name": "Walk",
            "domain": "pedestrians",
            "lat": -37.810,
            "lon": 144.96,
            "source": "s",
        },
    ]
)
T = pd.Timestamp("2026-11-24 09:00", tz="UTC")


def test_bays_within_the_radius_of_the_same_domain() -> None:
    assert bays_around(SITES, "bay:1", 150) == ["bay:1", "bay:2"]
    assert bays_around(SITES, "bay:1", 1000) == ["bay:1", "bay:2", "bay:3"]
    assert bays_around(SITES, "nowhere", 150) == []


def test_hourly_occupied_share_in_percent() -> None:
    hourly = observations_frame(
        [
            {"site_id": "bay:1", "metric": "bay_occupied", "time": T, "value": 1.0},
            {"site_id": "bay:2", "metric": "bay_occupied", "time": T, "value": 0.5},
            {"site_id": "bay:1", "metric": "bay_occupied", "time": T + pd.Timedelta("1h"),
             "value": 0.0},
            {"site_id": "bay:2", "metric": "bay_occupied", "time": T + pd.Timedelta("1h"),
             "value": 0.0},
        ]
    )  # fmt: skip
    found = occupancy_around(hourly, "bay_occupied", "bay:1")
    assert list(found["metric"]) == [OCCUPANCY_METRIC] * 2
    assert list(found["site_id"]) == ["bay:1", "bay:1"]
    assert list(found["value"]) == pytest.approx([75.0, 0.0])
    assert occupancy_around(hourly.iloc[0:0], "bay_occupied", "bay:1").empty
