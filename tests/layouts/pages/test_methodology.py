"""``/methodology``: a section per KPI shown, the map's states and the privacy rule, all
made from the code and the city config, for the viewer's role."""

from __future__ import annotations

import pytest
from dash import Dash

from cockpit.config import default_config_path, load_config
from layouts.pages import methodology
from tests.browser import Clock
from tests.conftest import AppServers
from tests.dashtree import components, text_of
from tests.layouts.pages.test_kiosk import INTERNAL_NAME, kiosk_config
from tests.layouts.viewing import viewing
from wiring.runtime import Runtime


@pytest.fixture(scope="module")
def runtime(app_server: AppServers, clock: Clock) -> Runtime:
    """The demo city with an internal source and signed-in users."""
    return app_server.city(clock, kiosk_config(), backfill=False)


@pytest.fixture(scope="module")
def app(app_server: AppServers, runtime: Runtime) -> Dash:
    return app_server.app(runtime)


def test_every_kpi_shown_has_its_section(runtime: Runtime) -> None:
    shown = {k.key for k in runtime.city.view("public").kpis}
    assert shown
    page = methodology.layout(runtime.city)
    ids = {getattr(c, "id", None) for c in components(page)}
    assert {f"method-{k}" for k in shown} <= ids


def test_changing_a_threshold_in_the_config_changes_the_page(runtime: Runtime) -> None:
    before = text_of(methodology.layout(runtime.city))
    assert "nearly full from 95" in before
    changed = load_config(default_config_path())
    changed.kpis["parking"].alert = 97
    changed.layers["pedestrians"].thresholds = [300, 1000]
    changed.privacy.min_group_size = 10
    original = runtime.city.config
    runtime.city.config = changed
    try:
        after = text_of(methodology.layout(runtime.city))
    finally:
        runtime.city.config = original
    assert "nearly full from 97" in after and "nearly full from 95" not in after
    assert "300 to below 1000" in after and "250 to below 1000" in before
    assert "below 10 are shown as “< 10”" in after
    assert "below 5 are shown as “< 5”" in before


def test_retention_lists_only_the_sources_the_viewer_sees(app: Dash, runtime: Runtime) -> None:
    with viewing(app.server):
        public = text_of(methodology.layout(runtime.city))
    with viewing(app.server, "staff"):
        staff = text_of(methodology.layout(runtime.city))
    assert INTERNAL_NAME not in public
    assert f"{INTERNAL_NAME}: kept" in staff
