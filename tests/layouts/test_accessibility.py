"""The desktop cockpit checked with axe-core in a real headless Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest
from dash.testing.composite import DashComposite

from tests.a11y import assert_accessible, axe_violations
from tests.browser import AppServers
from wiring.runtime import Runtime

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def runtime(app_server: AppServers) -> Runtime:
    return app_server.city()


@pytest.fixture(scope="module")
def duo(app_server: AppServers, runtime: Runtime) -> DashComposite:
    return app_server.browser(runtime)


def test_desktop_cockpit_has_no_serious_violations(duo: DashComposite, screenshots: Path) -> None:
    duo.wait_for_page(duo.server_url + "/")
    duo.wait_for_element("#cc-kpis .cc-kpi", timeout=20)
    duo.wait_for_element(".leaflet-container .cc-marker", timeout=20)
    duo.driver.save_screenshot(str(screenshots / "a11y-cockpit.png"))
    # The time machine's radio groups and slider are named by assets/a11y.js.
    duo.wait_for_element('#cc-tm-speed[role="radiogroup"]', timeout=10)
    duo.wait_for_element('#cc-tm-slider [role="slider"][aria-labelledby]', timeout=10)
    assert_accessible(duo.driver)


def test_choosing_an_option_keeps_the_radio_group_accessible(duo: DashComposite) -> None:
    duo.wait_for_page(duo.server_url + "/")
    duo.wait_for_element('#cc-tm-speed[role="radiogroup"]', timeout=20)
    duo.find_element('#cc-tm-speed input[value="2"]').click()
    duo.wait_for_element('#cc-tm-speed input[value="2"]:checked', timeout=10)
    assert_accessible(duo.driver, ".cc-timebar")


def test_axe_reports_a_broken_page(duo: DashComposite) -> None:
    """The checker itself finds a known violation (a button without a name)."""
    duo.wait_for_page(duo.server_url + "/")
    duo.wait_for_element("#cc-kpis .cc-kpi", timeout=20)
    duo.driver.execute_script(
        "const b = document.createElement('button'); b.id = 'cc-a11y-probe';"
        "document.body.appendChild(b);"
    )
    try:
        rules = {v["id"] for v in axe_violations(duo.driver, "#cc-a11y-probe")}
        assert "button-name" in rules
        with pytest.raises(AssertionError, match="button-name"):
            assert_accessible(duo.driver, "#cc-a11y-probe")
    finally:
        duo.driver.execute_script("document.getElementById('cc-a11y-probe').remove();")
