"""What needs attention: today's anomalies ranked by their move against usual, counted
the way the noise floor counts, one per site, faulty sensors left to sensor health."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from cockpit.model import sites_frame
from cockpit.twin.attention import needs_attention
from cockpit.twin.baseline import Anomaly

AT = datetime(2026, 11, 23, 23, 0, tzinfo=UTC)


def anomaly(site: str, metric: str, value: float, typical: float) -> Anomaly:
    direction = "above" if value > typical else "below"
    return Anomaly(site, f"Place {site}", "", metric, AT, value, typical, 10.0, 5.0, direction)


SITES = sites_frame(
    [
        {
            "id": s,
            "name": f"Place {s}",
            "domain": d,
            "lat": -37.8 - k / 100,
            "lon": 144.9,
            "source": d,
        }
        for k, (s, d) in enumerate(
            [("a", "pedestrians"), ("b", "pedestrians"), ("c", "traffic"), ("d", "traffic")]
        )
    ]
)


def test_the_biggest_moves_against_usual_come_first_at_most_three() -> None:
    found = needs_attention(
        [
            anomaly("a", "pedestrians", 150, 30),  # (150-30)/(30+100) = 0.92
            anomaly("b", "pedestrians", 3000, 1500),  # 1500/1600 = 0.94
            anomaly("c", "vehicle_flow", 500, 2000),  # 1500/2200 = 0.68
            anomaly("d", "vehicle_flow", 4000, 1000),  # 3000/1200 = 2.5
        ],
        SITES,
    )
    assert [i.site_id for i in found] == ["d", "b", "a"]
    assert found[0].change == pytest.approx(3.0) and found[0].direction == "above"
    assert found[0].lat == pytest.approx(-37.83) and found[0].lon == pytest.approx(144.9)
    assert found[1].weight == pytest.approx(1500 / 1600)


def test_a_quiet_place_that_tripled_ranks_below_a_busy_one_that_rose_by_half() -> None:
    found = needs_attention(
        [anomaly("a", "pedestrians", 75, 25), anomaly("b", "pedestrians", 1500, 1000)], SITES
    )
    assert [i.site_id for i in found] == ["b", "a"]


def test_faulty_and_unseen_sites_are_left_out_and_each_site_is_named_once() -> None:
    found = needs_attention(
        [
            anomaly("a", "pedestrians", 900, 100),
            anomaly("a", "pedestrians", 400, 100),
            anomaly("b", "pedestrians", 0.5, 700),
            anomaly("elsewhere", "pedestrians", 5000, 100),
        ],
        SITES,
        faulty=["b"],
    )
    assert [(i.site_id, i.value) for i in found] == [("a", 900)]
    assert needs_attention([], SITES) == []
    assert needs_attention([anomaly("a", "pedestrians", 900, 100)], SITES.iloc[0:0]) == []


def test_limit_is_honoured() -> None:
    items = [anomaly(s, "pedestrians", 1000 + k, 100) for k, s in enumerate("abcd")]
    assert len(needs_attention(items, SITES, limit=2)) == 2
    assert len(needs_attention(items, SITES)) == 3
    assert pd.Series([i.site_id for i in needs_attention(items, SITES, limit=10)]).is_unique
