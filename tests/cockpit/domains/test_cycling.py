"""The cycling domain: named by a city, read from a counter's file, summed as its KPI says."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from cockpit.domains import domain_names, get, register, translation, unregister
from cockpit.domains.cycling import DOMAIN
from cockpit.model import METRICS
from cockpit.twin.kpi import aggregate
from connectors.records import map_records
from connectors.table import TableOptions, parse_table
from tests.cockpit.domains._city import city_with
from tests.connectors.counters import EDINBURGH_HOURLY

CSV = Path(__file__).resolve().parents[2] / "fixtures" / "csv"


@pytest.fixture(autouse=True)
def forget() -> Iterator[None]:
    yield
    unregister(DOMAIN.name)


def test_a_city_names_the_domain_and_its_layer_takes_the_map_rule(tmp_path: Path) -> None:
    assert "cycling" not in domain_names()
    config = city_with(
        tmp_path,
        "cockpit.domains.cycling",
        "cycling",
        "cyclists",
        'connector = "table"\nurl = "http://127.0.0.1:9/counts.csv"',
    )
    assert METRICS["cyclists"].people and METRICS["cyclists"].unit == "cyclists/h"
    assert config.layers["l"].labels == ["quiet", "busy", "very busy"]


def test_the_kpi_sums_the_counters_latest_hour() -> None:
    register(DOMAIN)
    options = TableOptions.model_validate(EDINBURGH_HOURLY)
    body = (CSV / "edinburgh_bike-counter-15-middle-meadow-walk_hourly-long_2012.csv").read_bytes()
    obs = map_records(parse_table(body, "csv", "c"), options.record_options(), "c", "Europe/London")
    latest = obs.observations.sort_values("time").tail(1)
    kpi = aggregate(pd.concat([latest, latest.assign(site_id="c:16")]), get("cycling").kpi)
    assert kpi.value == 20  # 2 + 8 at each of two counters
    assert kpi.unit == "cyclists/h" and kpi.level == "ok"


def test_kiosk_phone_and_german_words() -> None:
    register(DOMAIN)
    domain = get("cycling")
    assert domain.slide.question == "How many people are cycling?"
    assert domain.phone.kpi == "cycling"
    assert translation("de", "Cycling") == "Radverkehr"
    assert domain.counts_people
