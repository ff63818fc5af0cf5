"""The bike share domain: named by a city, read from GBFS, summed up as its KPIs say."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from cockpit.domains import KpiSpec, domain_names, get, register, translation, unregister
from cockpit.domains.bike_share import DOMAIN
from cockpit.model import METRICS
from cockpit.twin.kpi import Kpi, aggregate
from connectors.gbfs import parse_stations
from tests.cockpit.domains._city import city_with

GBFS = Path(__file__).resolve().parents[2] / "fixtures" / "gbfs" / "real"


def limited(latest: pd.DataFrame, spec: KpiSpec) -> Kpi:
    """The KPI with its declared default limits, as the city computes it."""
    return aggregate(latest, spec, warn=spec.warn, alert=spec.alert)


@pytest.fixture(autouse=True)
def forget() -> Iterator[None]:
    yield
    unregister(DOMAIN.name)


def nice_ride() -> tuple[pd.DataFrame, pd.DataFrame]:
    info = json.loads((GBFS / "niceride-mpls_v1.0_station_information.json").read_text())
    status = json.loads((GBFS / "niceride-mpls_v1.0_station_status.json").read_text())
    return parse_stations(info, status, "bikes")


def test_a_city_names_the_domain_and_its_layer_takes_the_map_rule(tmp_path: Path) -> None:
    assert "bike_share" not in domain_names()  # shipped, loaded only when named
    config = city_with(
        tmp_path,
        "cockpit.domains.bike_share",
        "bike_share",
        "station_empty",
        'connector = "gbfs"\nurl = "http://127.0.0.1:9/gbfs.json"',
    )
    assert "bike_share" in domain_names()
    assert {"hire_bikes", "free_docks", "dock_places", "parked_vehicles"} <= set(METRICS)
    layer = config.layers["l"]
    assert (layer.thresholds, layer.labels) == ([0.5], ["bikes to hire", "empty"])


def test_kpis_over_a_real_system() -> None:
    register(DOMAIN)
    _, obs = nice_ride()
    kpis = {k.key: k for k in DOMAIN.kpis}
    # A share of docking places: bikes to hire over the stations' capacities.
    hire = limited(obs, kpis["hire_bikes"])
    bikes = obs.loc[obs["metric"] == "hire_bikes"].set_index("site_id")["value"]
    places = obs.loc[obs["metric"] == "dock_places"].set_index("site_id")["value"]
    assert hire.value == pytest.approx(100 * bikes.sum() / places[bikes.index].sum())
    assert hire.unit == "% of docks"
    # Empty stations: the share of stations where no bike can be hired.
    empty = limited(obs, kpis["empty_stations"])
    flags = obs.loc[obs["metric"] == "station_empty", "value"]
    assert empty.value == pytest.approx(100 * flags.mean())
    assert 0 < empty.value < 100
    assert empty.level == ("alert" if empty.value >= 30 else "warn" if empty.value >= 15 else "ok")


def test_kiosk_phone_and_german_words() -> None:
    register(DOMAIN)
    domain = get("bike_share")
    assert domain.slide.question == "Can I hire a bike?"
    assert domain.phone.kpi == "hire_bikes" and domain.kpi.title == "Bikes to hire"
    assert translation("de", "Can I hire a bike?") == "Kann ich ein Rad leihen?"
    assert translation("de", "Empty stations") == "Leere Stationen"
