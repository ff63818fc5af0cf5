"""The parking domain as declared: bays that are free or occupied and car parks with
their occupancy, one occupancy share weighed by places, a map of free and occupied."""

from __future__ import annotations

from cockpit.domains import domain_of_kpi, get, parking
from cockpit.model import METRICS
from cockpit.twin import kpi
from tests.cockpit.domains.declared import (
    default_layer,
    map_states,
    missing_words,
    range_verdicts,
    untranslated_states,
)

DOMAIN = parking.DOMAIN
OUTSIDE = "value outside the metric's range"


def test_bays_and_car_parks_in_their_canonical_units() -> None:
    assert get("parking") is DOMAIN
    assert {m.name: m.unit for m in DOMAIN.metrics} == {
        "occupancy": "%",
        "free_spaces": "count",
        "bay_occupied": "1",
    }
    assert all(METRICS[m.name] is m for m in DOMAIN.metrics)
    # A bay is occupied (1) or free (0); an occupancy is a percentage.
    assert range_verdicts("bay_occupied", [0, 1, 2]) == ["kept", "kept", OUTSIDE]
    assert range_verdicts("occupancy", [0, 100, 100.5]) == ["kept", "kept", OUTSIDE]


def test_occupancy_is_a_share_with_ordered_limits() -> None:
    spec = DOMAIN.kpi
    assert spec.key == "parking" and domain_of_kpi("parking") is DOMAIN
    assert spec.aggregation == "share" and spec.unit == "%"
    assert spec.metrics == ("bay_occupied", "occupancy")
    assert spec.warn is not None and spec.alert is not None
    assert 0 < spec.warn < spec.alert <= 100
    assert spec.method == "parking_occupancy" and callable(getattr(kpi, spec.method))
    assert dict(spec.levels) == {"ok": "spaces free", "warn": "filling up", "alert": "nearly full"}


def test_the_map_shows_each_bay_free_or_occupied() -> None:
    layer = default_layer(DOMAIN)
    assert (layer.thresholds, layer.labels) == ([0.5], ["free", "occupied"])
    readings = [("bay_occupied", v) for v in (0, 0.49, 0.5, 1)]
    assert map_states(DOMAIN, readings) == [
        ("free", "ok"),
        ("free", "ok"),
        ("occupied", "alert"),  # two states: calm and urgent, nothing between
        ("occupied", "alert"),
    ]


def test_the_kiosk_asks_where_to_park() -> None:
    assert DOMAIN.slide.question == "Where can I park?"
    assert DOMAIN.slide.content == "free_bays"
    assert DOMAIN.phone.kpi == "parking"
    assert DOMAIN.entity_types == {
        "OffStreetParking": "facility",
        "OnStreetParking": "zone",
        "ParkingSpot": "bay",
    }


def test_its_words_in_every_shipped_language() -> None:
    assert all(words == [] for words in missing_words(DOMAIN).values())
    states = [*DOMAIN.map.labels, *DOMAIN.kpi.levels.values()]
    assert all(words == [] for words in untranslated_states(states).values())
