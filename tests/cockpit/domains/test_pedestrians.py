"""The pedestrians domain as declared: hourly counts of people, summed into footfall,
and a map that reads quiet, busy or crowded."""

from __future__ import annotations

from cockpit.domains import domain_of_kpi, get, pedestrians
from cockpit.model import METRICS
from cockpit.twin import kpi
from tests.cockpit.domains.declared import (
    default_layer,
    map_states,
    missing_words,
    range_verdicts,
    untranslated_states,
)

DOMAIN = pedestrians.DOMAIN


def test_counts_people_per_hour_in_the_model() -> None:
    assert get("pedestrians") is DOMAIN
    assert DOMAIN.metric_names == ("pedestrians",)
    metric = METRICS["pedestrians"]
    assert metric is DOMAIN.metrics[0]
    assert metric.unit == "persons/h" and metric.domain == "pedestrians"
    assert range_verdicts("pedestrians", [0, 100_000, -1, 100_001]) == [
        "kept",
        "kept",
        "value outside the metric's range",
        "value outside the metric's range",
    ]
    # Counts of people: the privacy rules for small counts apply to this domain alone.
    assert DOMAIN.counts_people and metric.people


def test_footfall_is_a_sum_compared_with_the_usual_week() -> None:
    spec = DOMAIN.kpi
    assert spec.key == "footfall" and domain_of_kpi("footfall") is DOMAIN
    assert spec.aggregation == "sum" and spec.unit == METRICS[spec.metric].unit
    # Busier or quieter than usual sets the level: no numeric limits to order.
    assert (spec.warn, spec.alert) == (None, None)
    assert spec.method == "footfall" and callable(getattr(kpi, spec.method))
    assert spec.learned_metric == "pedestrians"
    assert dict(spec.levels) == {"ok": "as usual", "warn": "busier than usual"}


def test_the_map_cuts_counts_at_250_and_1000() -> None:
    layer = default_layer(DOMAIN)
    assert (layer.thresholds, layer.labels) == ([250.0, 1000.0], ["quiet", "busy", "crowded"])
    readings = [("pedestrians", v) for v in (0, 249.9, 250, 999.9, 1_000, 100_000)]
    assert map_states(DOMAIN, readings) == [
        ("quiet", "ok"),
        ("quiet", "ok"),
        ("busy", "warn"),  # a limit is the first value of the state above it
        ("busy", "warn"),
        ("crowded", "alert"),
        ("crowded", "alert"),
    ]


def test_the_kiosk_asks_how_busy_the_centre_is() -> None:
    assert DOMAIN.slide.question == "How busy is the centre?"
    assert DOMAIN.slide.content == "crowds" and DOMAIN.slide.short == "Crowds"
    assert DOMAIN.phone.kpi == "footfall"
    assert DOMAIN.entity_types == {"CrowdFlowObserved": "counter"}


def test_its_words_in_every_shipped_language() -> None:
    assert all(words == [] for words in missing_words(DOMAIN).values())
    states = [*DOMAIN.map.labels, *DOMAIN.kpi.levels.values()]
    assert all(words == [] for words in untranslated_states(states).values())
