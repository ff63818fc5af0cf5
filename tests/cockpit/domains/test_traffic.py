"""The traffic domain as declared: vehicles per hour summed over counting sites, a
congestion level against the usual busy-hour flow, a map of light to heavy flow."""

from __future__ import annotations

from cockpit.domains import domain_of_kpi, get, traffic
from cockpit.model import METRICS
from cockpit.twin import kpi
from tests.cockpit.domains.declared import (
    default_layer,
    map_states,
    missing_words,
    range_verdicts,
    untranslated_states,
)

DOMAIN = traffic.DOMAIN
OUTSIDE = "value outside the metric's range"


def test_flow_and_speed_in_their_canonical_units() -> None:
    assert get("traffic") is DOMAIN
    assert DOMAIN.metric_names == ("vehicle_flow", "speed")
    assert {m.name: m.unit for m in DOMAIN.metrics} == {"vehicle_flow": "veh/h", "speed": "km/h"}
    assert all(METRICS[m.name] is m for m in DOMAIN.metrics)
    assert not DOMAIN.counts_people  # vehicles, not people: no small-count suppression
    assert range_verdicts("vehicle_flow", [0, 20_000, 20_001]) == ["kept", "kept", OUTSIDE]
    assert range_verdicts("speed", [250, 251, -0.1]) == ["kept", OUTSIDE, OUTSIDE]


def test_the_flow_kpi_is_a_mean_per_intersection_with_ordered_share_limits() -> None:
    spec = DOMAIN.kpi
    assert spec.key == "traffic" and domain_of_kpi("traffic") is DOMAIN
    assert spec.aggregation == "mean" and spec.unit == METRICS[spec.metric].unit == "veh/h"
    assert spec.figure_label == "veh/h per counted intersection"
    # The limits are shares of a site's usual busy-hour flow (a congestion index).
    assert spec.warn is not None and spec.alert is not None
    assert 0 < spec.warn < spec.alert < 1
    assert spec.method == "traffic_flow" and callable(getattr(kpi, spec.method))
    assert dict(spec.levels) == {"ok": "light", "warn": "moderate", "alert": "heavy"}


def test_the_map_cuts_flow_at_1500_and_3000_vehicles_an_hour() -> None:
    layer = default_layer(DOMAIN)
    assert (layer.thresholds, layer.labels) == ([1500.0, 3000.0], ["light", "moderate", "heavy"])
    readings = [("vehicle_flow", v) for v in (0, 1_499, 1_500, 2_999, 3_000)]
    assert map_states(DOMAIN, readings) == [
        ("light", "ok"),
        ("light", "ok"),
        ("moderate", "warn"),
        ("moderate", "warn"),
        ("heavy", "alert"),
    ]
    # Speeds are not what the layer colours: a site with only a speed is not on it.
    assert map_states(DOMAIN, [("speed", 5.0)]) == []


def test_the_kiosk_asks_how_traffic_is_moving() -> None:
    assert DOMAIN.slide.question == "How is traffic moving?"
    assert DOMAIN.slide.content == "congestion"
    assert DOMAIN.phone.kpi == "traffic"
    assert DOMAIN.entity_types == {"TrafficFlowObserved": "counter"}
    assert ("TRAN", "Transport") in DOMAIN.themes


def test_its_words_in_every_shipped_language() -> None:
    assert all(words == [] for words in missing_words(DOMAIN).values())
    states = [*DOMAIN.map.labels, *DOMAIN.kpi.levels.values()]
    assert all(words == [] for words in untranslated_states(states).values())
