"""The methodology is generated from the KPI code and the city config: it covers every
KPI the cockpit shows and changes when a threshold in the config changes."""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import pytest

from cockpit.config import CityConfig
from cockpit.present.methodology import KPI_FUNCTIONS, air_bands, kpi_definitions, layer_definitions
from cockpit.twin import kpi
from cockpit.twin.airindex import BANDS, INDEX_NAME
from tests.browser import T0, Clock, demo_runtime
from wiring.runtime import Runtime


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    rt = demo_runtime(tmp_path_factory.mktemp("data"), Clock(T0), backfill=False)
    yield rt
    rt.close()


def test_every_kpi_shown_has_a_definition(runtime: Runtime) -> None:
    shown = {k.key for k in runtime.city.view("public").kpis}
    defined = {d.key for d in kpi_definitions(runtime.config)}
    assert shown and shown <= defined
    assert defined == set(KPI_FUNCTIONS)


def test_definitions_come_from_the_code(demo_config: CityConfig) -> None:
    by_key = {d.key: d for d in kpi_definitions(demo_config)}
    traffic = by_key["traffic"]
    assert traffic.summary == " ".join(inspect.getdoc(kpi.traffic_flow).split("\n\n")[0].split())
    assert traffic.function == "cockpit.twin.kpi.traffic_flow"
    defaults = inspect.signature(kpi.traffic_flow).parameters
    assert [t.value for t in traffic.thresholds] == [
        defaults["warn"].default,
        defaults["alert"].default,
    ]  # the demo config sets no traffic limits
    assert [t.configured for t in traffic.thresholds] == [False, False]
    assert [t.value for t in by_key["parking"].thresholds] == [85, 95]  # from [kpis.parking]
    assert by_key["footfall"].parameters == {"weeks": 4}
    assert by_key["footfall"].sources[0]["licence"] == "CC BY 4.0"
    name, bands, rows = air_bands()
    assert name == INDEX_NAME and bands == list(BANDS)
    assert ("PM2.5", ["≤ 10", "≤ 20", "≤ 25", "≤ 50", "≤ 75", "> 75"]) in rows


def test_layer_states_follow_the_config(demo_config: CityConfig) -> None:
    layers = {lay.id: lay for lay in layer_definitions(demo_config)}
    assert layers["pedestrians"].states == [
        ("below 250", "quiet"),
        ("250 to below 1000", "busy"),
        ("1000 and above", "crowded"),
    ]
    assert [label for _, label in layers["air"].states] == list(BANDS)
    demo_config.layers["traffic"].access = "internal"
    assert "traffic" not in {lay.id for lay in layer_definitions(demo_config, "public")}
    assert "traffic" in {lay.id for lay in layer_definitions(demo_config, "staff")}
