"""Platforms' unit spellings and the conversion to the canonical units."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cockpit.errors import DataError
from connectors.units import PPB_TO_UGM3, canonical_unit_factor, convert, normalise_unit


@pytest.mark.parametrize(
    ("spelling", "key"),
    [
        ("µg/m³", "ug/m3"),  # micro sign
        ("μg/m³", "ug/m3"),  # Greek mu
        ("UG/M3", "ug/m3"),
        ("  microgram   per cubic  metre ", "ug/m3"),
        ("GQ", "ug/m3"),  # UN/CEFACT, as the FIWARE data models write it
        ("http://www.opengis.net/def/uom/UCUM/0/#ppb", "ppb"),
        ("parts per billion", "ppb"),
        ("Kfz/h", "veh/h"),
        ("{count}/h", "per/h"),
        ("m/s", "m/s"),
        ("P1", "%"),
    ],
)
def test_spellings_of_one_unit_meet(spelling: str, key: str) -> None:
    assert normalise_unit(spelling) == key


@pytest.mark.parametrize("spelling", [None, "", "furlongs per fortnight", "ug"])
def test_an_unknown_unit_is_not_guessed(spelling: str | None) -> None:
    assert normalise_unit(spelling) is None


def test_the_canonical_unit_converts_by_one() -> None:
    assert canonical_unit_factor("pm10", "µg/m³") == 1.0
    assert canonical_unit_factor("pm10", "ug/m3") == 1.0
    assert canonical_unit_factor("vehicle_flow", "vehicles per hour") == 1.0


def test_gas_concentrations_convert_at_25_degrees() -> None:
    assert canonical_unit_factor("no2", "ppb") == pytest.approx(46.0055 / 24.45)
    assert canonical_unit_factor("o3", "ppm") == pytest.approx(47.9982 / 24.45 * 1000)
    assert canonical_unit_factor("pm25", "mg/m³") == 1000.0
    assert set(PPB_TO_UGM3) >= {"no2", "o3"}


def test_speed_in_metres_per_second_becomes_km_per_hour() -> None:
    assert canonical_unit_factor("speed", "m/s") == pytest.approx(3.6)


@pytest.mark.parametrize(
    ("metric", "unit"),
    [
        ("pm10", "ppb"),  # particles have no molar mass
        ("speed", "veh/h"),
        ("pm10", "furlongs"),
        ("pm10", None),
    ],
)
def test_a_unit_that_cannot_be_converted_is_a_data_error(metric: str, unit: str | None) -> None:
    with pytest.raises(DataError, match=metric):
        canonical_unit_factor(metric, unit)


def test_an_unknown_metric_is_a_data_error() -> None:
    with pytest.raises(DataError, match="unknown metric"):
        canonical_unit_factor("noise", "dB")


def test_convert_multiplies_series_arrays_and_numbers() -> None:
    series = convert(pd.Series([1.0, 2.0]), "speed", "m/s")
    assert isinstance(series, pd.Series)
    assert series.tolist() == pytest.approx([3.6, 7.2])
    assert convert(np.array([10.0]), "no2", "ppb")[0] == pytest.approx(18.816, rel=1e-3)  # type: ignore[index]
    assert convert(5.0, "pedestrians", "persons/h") == 5.0
