"""The European Air Quality Index bands: a value's band per pollutant, and its name."""

from __future__ import annotations

import math

import pytest

from cockpit.twin.airindex import BANDS, band_label, band_of


@pytest.mark.parametrize(
    ("metric", "value", "band"),
    [
        ("pm25", 0, 0),
        ("pm25", 10, 0),  # a limit belongs to the band below it
        ("pm25", 10.1, 1),
        ("pm25", 75, 4),
        ("pm25", 75.1, 5),
        ("pm10", 45, 2),
        ("no2", 120, 2),
        ("o3", 240.5, 4),
        ("so2", 1000, 5),
    ],
)
def test_a_value_falls_in_its_band(metric: str, value: float, band: int) -> None:
    assert band_of(metric, value) == band


def test_every_pollutant_climbs_through_all_six_bands() -> None:
    for metric in ("pm25", "pm10", "no2", "o3", "so2"):
        seen = [band_of(metric, v) for v in range(0, 1001, 5)]
        assert seen == sorted(seen), metric  # never falls as the value rises
        assert set(seen) == set(range(len(BANDS))), metric


@pytest.mark.parametrize(("metric", "value"), [("co", 5.0), ("temperature", 20.0)])
def test_a_pollutant_outside_the_index_has_no_band(metric: str, value: float) -> None:
    assert band_of(metric, value) is None


def test_a_missing_value_has_no_band() -> None:
    assert band_of("pm10", math.nan) is None


def test_band_labels() -> None:
    assert [band_label(b) for b in range(6)] == list(BANDS)
    assert band_label(0) == "good" and band_label(5) == "extremely poor"
    assert band_label(None) == "no data"
