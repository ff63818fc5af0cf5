"""The noise domain: LAeq at noise monitors, the loudest one as the KPI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from cockpit.domains import KpiSpec, get, register, translation, unregister
from cockpit.domains.noise import DOMAIN
from cockpit.model import observations_frame
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


def test_a_city_names_the_domain_and_its_layer_takes_the_map_rule(tmp_path: Path) -> None:
    config = city_with(
        tmp_path,
        "cockpit.domains.noise",
        "noise",
        "laeq",
        'connector = "socrata"\nurl = "http://127.0.0.1:9"',
    )
    layer = config.layers["l"]
    assert (layer.thresholds, layer.labels) == ([55, 65], ["quiet", "loud", "very loud"])


def test_the_loudest_monitor_sets_the_level() -> None:
    register(DOMAIN)
    frame = observations_frame(
        [
            {"site_id": "n:1", "metric": "laeq", "time": T, "value": 52.3},
            {"site_id": "n:2", "metric": "laeq", "time": T, "value": 67.8},
        ]
    )
    kpi = limited(frame, get("noise").kpi)
    assert (kpi.value, kpi.display, kpi.unit) == (67.8, "67.8", "dB(A)")
    assert (kpi.level, kpi.level_label) == ("alert", "very loud")
    assert canonical_unit_factor("laeq", "dB(A)") == 1.0
    assert canonical_unit_factor("laeq", "2N") == 1.0  # UN/CEFACT decibel


def test_kiosk_phone_and_german_words() -> None:
    register(DOMAIN)
    domain = get("noise")
    assert domain.slide.question == "How loud is the city?"
    assert domain.phone.kpi == "noise"
    assert translation("de", "Noise level") == "Lärmpegel"
