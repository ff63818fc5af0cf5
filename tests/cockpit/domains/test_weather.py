"""The weather domain: temperature as a mean, wind and rain as the worst station."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from cockpit.domains import KpiSpec, get, register, translation, unregister
from cockpit.domains.weather import DOMAIN
from cockpit.model import observations_frame, validate_observations
from cockpit.twin.kpi import Kpi, aggregate
from connectors.units import canonical_unit_factor
from tests.cockpit.domains._city import city_with

T = pd.Timestamp("2026-07-01T12:00:00Z")


def limited(latest: pd.DataFrame, spec: KpiSpec) -> Kpi:
    """The KPI with its declared default limits, as the city computes it."""
    return aggregate(latest, spec, warn=spec.warn, alert=spec.alert)


@pytest.fixture(autouse=True)
def forget() -> Iterator[None]:
    yield
    unregister(DOMAIN.name)


def latest(metric: str, values: list[float]) -> pd.DataFrame:
    return observations_frame(
        [
            {"site_id": f"w:{i}", "metric": metric, "time": T, "value": v}
            for i, v in enumerate(values)
        ]
    )


def test_a_city_names_the_domain_and_its_layer_takes_the_map_rule(tmp_path: Path) -> None:
    config = city_with(
        tmp_path,
        "cockpit.domains.weather",
        "weather",
        "wind_speed",
        'connector = "table"\nurl = "http://127.0.0.1:9/weather.csv"',
    )
    assert config.layers["l"].labels == ["calm", "strong wind", "gale"]


def test_kpis_aggregate_as_declared() -> None:
    register(DOMAIN)
    kpis = {k.key: k for k in DOMAIN.kpis}
    temperature = limited(latest("air_temperature", [21.0, 23.0, 25.0]), kpis["temperature"])
    assert (temperature.value, temperature.display, temperature.level) == (23.0, "23.0", "ok")
    wind = limited(latest("wind_speed", [3.0, 12.5]), kpis["wind"])
    assert (wind.value, wind.level, wind.level_label) == (12.5, "warn", "strong wind")
    rain = limited(latest("precipitation", [0.0, 9.1]), kpis["rain"])
    assert (rain.level, rain.level_label) == ("alert", "heavy rain")


def test_values_out_of_range_are_rejected_and_units_convert() -> None:
    register(DOMAIN)
    _, bad = validate_observations(latest("air_temperature", [20.0, 75.0]))
    assert list(bad["reason"]) == ["value outside the metric's range"]
    assert canonical_unit_factor("wind_speed", "km/h") == pytest.approx(1 / 3.6)
    assert canonical_unit_factor("air_temperature", "CEL") == 1.0  # UN/CEFACT code


def test_kiosk_phone_and_german_words() -> None:
    register(DOMAIN)
    domain = get("weather")
    assert domain.slide.question == "Do I need an umbrella?"
    assert domain.phone.kpi == "temperature"
    assert translation("de", "Do I need an umbrella?") == "Brauche ich einen Schirm?"
