"""The air domain as declared: four pollutants in µg/m³, rated by the worst European Air
Quality Index band over all stations, on the map as each station's worst band."""

from __future__ import annotations

from cockpit.domains import air, domain_of_kpi, get
from cockpit.model import METRICS
from cockpit.twin import kpi
from cockpit.twin.airindex import BANDS
from tests.cockpit.domains.declared import (
    default_layer,
    map_states,
    missing_words,
    range_verdicts,
    untranslated_states,
)

DOMAIN = air.DOMAIN
OUTSIDE = "value outside the metric's range"


def test_four_pollutants_in_micrograms_per_cubic_metre() -> None:
    assert get("air") is DOMAIN
    assert DOMAIN.metric_names == air.POLLUTANTS == ("pm25", "pm10", "no2", "o3")
    assert {m.unit for m in DOMAIN.metrics} == {"µg/m³"}
    assert all(METRICS[m.name] is m and m.decimals == 1 for m in DOMAIN.metrics)
    assert not DOMAIN.counts_people
    assert range_verdicts("pm25", [0, 1_000, 1_000.1, -1]) == ["kept", "kept", OUTSIDE, OUTSIDE]


def test_the_index_takes_the_worst_station_without_numeric_limits() -> None:
    spec = DOMAIN.kpi
    assert spec.key == "air" and domain_of_kpi("air") is DOMAIN
    assert spec.aggregation == "max" and spec.unit == "EAQI band"
    assert spec.metrics == air.POLLUTANTS
    # The band sets the level: there are no limits to order.
    assert (spec.warn, spec.alert) == (None, None)
    assert spec.method == "air_quality" and callable(getattr(kpi, spec.method))
    assert spec.learned_metric == "no2"


def test_the_map_colours_a_station_by_its_band_at_the_band_edges() -> None:
    layer = default_layer(DOMAIN)
    assert layer.metric == "eaqi" and (layer.thresholds, layer.labels) == ([], [])
    # NO₂ limits 40, 90, 120, 230, 340 µg/m³: each limit still belongs to its band.
    readings = [("no2", v) for v in (40, 40.1, 90, 90.1, 120, 120.1, 340.1)]
    assert map_states(DOMAIN, readings) == [
        ("good", "ok"),
        ("fair", "ok"),
        ("fair", "ok"),
        ("moderate", "warn"),
        ("moderate", "warn"),
        ("poor", "alert"),
        ("extremely poor", "alert"),
    ]


def test_the_kiosk_asks_whether_the_air_is_good() -> None:
    assert DOMAIN.slide.question == "Is the air good today?"
    assert DOMAIN.slide.content == "air_index"
    assert DOMAIN.phone.kpi == "air"
    assert DOMAIN.entity_types == {"AirQualityObserved": "station"}
    assert {code for code, _ in DOMAIN.themes} == {"ENVI", "HEAL"}


def test_its_words_in_every_shipped_language() -> None:
    assert all(words == [] for words in missing_words(DOMAIN).values())
    assert all(words == [] for words in untranslated_states(BANDS).values())
