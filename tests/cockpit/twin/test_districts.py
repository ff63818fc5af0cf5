"""The twin per district: site states combined per district as the layer's domain
combines them, with the word most sites have against typical."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from cockpit.twin.districts import district_figures, measure_of, typical_words

NOW = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)


def frames(rows: list[tuple[str, str, str, float, str, int]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(site id, district, source, value, state, minutes old) -> site states and sites."""
    states = pd.DataFrame(
        {
            "site_id": [r[0] for r in rows],
            "metric": "x",
            "value": [r[3] for r in rows],
            "unit": "",
            "time": [NOW - timedelta(minutes=r[5]) for r in rows],
            "state": [r[4] for r in rows],
            "level": "ok",
        }
    )
    sites = pd.DataFrame(
        {
            "id": [r[0] for r in rows],
            "district": [r[1] for r in rows],
            "source": [r[2] for r in rows],
        }
    )
    return states, sites


ROWS = [
    ("a", "North", "ped", 100.0, "quiet", 10),
    ("b", "North", "ped", 300.0, "busy", 40),
    ("c", "South", "ped", 50.0, "quiet", 5),
    ("d", "", "ped", 9_999.0, "crowded", 5),  # outside every district: left out
]


@pytest.mark.parametrize(
    ("layer", "domain", "metric", "north", "south"),
    [
        ("pedestrians", "pedestrians", "pedestrians", 400.0, 50.0),  # a sum
        ("traffic", "traffic", "vehicle_flow", 200.0, 50.0),  # a mean
    ],
)
def test_sites_combine_as_their_domain_combines_them(
    layer: str, domain: str, metric: str, north: float, south: float
) -> None:
    states, sites = frames(ROWS)
    measure = measure_of(layer, layer.title(), domain, metric)
    found = {f.district: f for f in district_figures(states, sites, measure, {})}
    assert sorted(found) == ["North", "South"]
    assert found["North"].value == pytest.approx(north)
    assert found["South"].value == pytest.approx(south)
    assert (found["North"].sites, found["South"].sites) == (2, 1)
    assert found["North"].observed == NOW - timedelta(minutes=10)
    assert found["North"].oldest == NOW - timedelta(minutes=40)
    assert found["North"].sources == ("ped",)


def test_bays_give_the_occupied_share_and_air_its_worst_band() -> None:
    bays, sites = frames(
        [
            ("p1", "North", "park", 1.0, "occupied", 1),
            ("p2", "North", "park", 0.0, "free", 1),
            ("p3", "North", "park", 1.0, "occupied", 1),
            ("p4", "North", "park", 1.0, "occupied", 1),
        ]
    )
    share = measure_of("parking", "Parking", "parking", "bay_occupied")
    assert (share.unit, share.aggregation) == ("%", "share")
    assert district_figures(bays, sites, share, {})[0].value == pytest.approx(75.0)
    air, sites = frames(
        [("s1", "North", "air", 12.0, "fair", 1), ("s2", "North", "air", 80.0, "poor", 1)]
    )
    index = measure_of("air", "Air quality", "air", "eaqi")
    assert district_figures(air, sites, index, {})[0].value == 4.0  # "poor" is band 4 of 6


def test_the_word_against_typical_is_the_one_most_sites_have() -> None:
    states, sites = frames(ROWS)
    measure = measure_of("pedestrians", "Pedestrians", "pedestrians", "pedestrians")
    words = {"a": "above", "b": "above", "c": "below"}
    found = {f.district: f.typical for f in district_figures(states, sites, measure, words)}
    assert found == {"North": "above", "South": "below"}
    # Sites without a baseline do not outvote those with one; none at all: unknown.
    found = {
        f.district: f.typical for f in district_figures(states, sites, measure, {"a": "typical"})
    }
    assert found == {"North": "typical", "South": "unknown"}


def test_stale_sources_and_streams_mark_their_districts() -> None:
    states, sites = frames(ROWS)
    measure = measure_of("pedestrians", "Pedestrians", "pedestrians", "pedestrians")
    assert not any(f.stale for f in district_figures(states, sites, measure, {}))
    assert all(f.stale for f in district_figures(states, sites, measure, {}, {"ped"}))
    found = {
        f.district: f.stale for f in district_figures(states, sites, measure, {}, set(), {"c"})
    }
    assert found == {"North": False, "South": True}


def test_no_values_give_no_districts() -> None:
    states, sites = frames(ROWS)
    measure = measure_of("pedestrians", "Pedestrians", "pedestrians", "pedestrians")
    assert district_figures(states.iloc[0:0], sites, measure, {}) == []
    assert district_figures(states, sites.iloc[0:0], measure, {}) == []


def test_typical_words_take_each_sites_metric_furthest_from_typical() -> None:
    twin_states = pd.DataFrame(
        {
            "site_id": ["a", "a", "b", "c"],
            "metric": ["pm10", "no2", "x", "x"],
            "z": [0.5, -3.0, 2.5, float("nan")],
            "state": ["typical", "well below", "well above", "unknown"],
        }
    )
    assert typical_words(twin_states) == {"a": "below", "b": "above"}
