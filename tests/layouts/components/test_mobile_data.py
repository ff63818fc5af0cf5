"""What the phone view reads, as pure functions: each site's state as people read it,
distances and the nearest sites, districts, free bays, and the newest data time."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from cockpit.model import sites_frame
from layouts.components.mobile_data import (
    SiteState,
    attributes,
    distance_m,
    district_names,
    district_sites,
    nearest_sites,
    newest,
    parking_summary,
    site_states,
    value_with_state,
)
from tests.layouts.components.small_view import NOW, view


def test_each_site_reads_its_value_state_and_level() -> None:
    states = site_states(view())
    assert states["pedestrians:b"] == SiteState(
        "pedestrians:b", "400 persons/h", "busy", "warn", "pedestrians"
    )
    assert states["parking:free"].value == "free" and states["parking:taken"].value == "occupied"
    assert states["parking:taken"].level == "alert"


def test_a_stale_source_and_a_small_count_of_people_say_so() -> None:
    states = site_states(replace(view(pedestrians="stale"), min_group_size=20))
    assert {states[s].level for s in ("pedestrians:q", "pedestrians:b")} == {"stale"}
    assert states["pedestrians:q"].value == "< 20 persons/h"  # 10 people: too few to show
    assert states["pedestrians:q"].state == "quiet"  # the word stays; only the colour greys
    assert states["parking:free"].level == "ok"


def test_free_bays_among_the_places_asked_about() -> None:
    city = view()
    assert parking_summary(city, ["parking:free", "parking:taken"]) == (1, 2)
    assert parking_summary(city, ["parking:taken", "pedestrians:q"]) == (0, 1)
    assert parking_summary(replace(city, layers={}), ["parking:free"]) == (0, 0)


def test_the_newest_data_time_and_plain_attributes() -> None:
    city = view()
    assert newest(city) == NOW
    assert newest(replace(city, sources={})) is None
    row = next(
        sites_frame(
            [
                {
                    "id": "a",
                    "name": "A",
                    "domain": "parking",
                    "lat": 0,
                    "lon": 0,
                    "source": "p",
                    "attributes": {"capacity": 5},
                }
            ]
        ).itertuples()
    )
    assert attributes(row) == {"capacity": 5}
    assert attributes(object()) == {}


def test_distance_in_metres() -> None:
    # One degree of latitude is about 111.2 km.
    far = distance_m(0.0, 0.0, np.array([1.0, 0.0]), np.array([0.0, 0.0]))
    assert abs(far[0] - 111_195) < 50 and far[1] == 0


def test_nearest_sites_per_domain_and_districts() -> None:
    sites = sites_frame(
        [
            {
                "id": f"{d}:{i}",
                "name": f"{d} {i}",
                "domain": d,
                "lat": -37.81 + i * 0.001,
                "lon": 144.96,
                "source": d,
            }
            for d in ("traffic", "parking")
            for i in range(5)
        ]
    ).assign(district=["A", "B"] * 5)
    near = nearest_sites(sites, -37.81, 144.96, per_domain=2)
    assert sorted(near["id"]) == ["parking:0", "parking:1", "traffic:0", "traffic:1"]
    assert near["distance_m"].is_monotonic_increasing
    assert district_names(sites) == ["A", "B"]
    assert set(district_sites(sites, "A")["district"]) == {"A"}


def test_no_sites_no_neighbours_and_no_districts() -> None:
    empty = sites_frame([])
    assert nearest_sites(empty, 0.0, 0.0).empty
    assert "distance_m" in nearest_sites(empty, 0.0, 0.0).columns
    assert district_names(empty) == []


def test_a_value_that_says_its_state_does_not_repeat_it() -> None:
    states = site_states(view())
    assert value_with_state(states["parking:free"], "free") == "free"
    assert value_with_state(states["pedestrians:b"], "busy") == "400 persons/h · busy"
    fair = SiteState("air:1", "Fair", "fair", "ok", "eaqi")
    assert value_with_state(fair, "fair") == "Fair"
    assert value_with_state(fair, "") == "Fair"
