"""The desktop cockpit checked with axe-core in a real headless Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dash.testing.composite import DashComposite

from cockpit.runtime import Runtime
from layouts.app import create_app
from tests.a11y import assert_accessible, axe_violations
from tests.browser import T0, Clock, browser, demo_runtime

pytestmark = pytest.mark.browser

# Dash 4's RadioItems and Slider render a listbox of options holding radio inputs and a
# slider thumb without a name (axe: aria-input-field-name, nested-interactive); their
# props offer no aria label to fix it from the cockpit. Left out here until those
# controls are replaced by labelled buttons; everything else on the page is checked.
DASH_WIDGETS = ("#cc-tm-speed", "#cc-tm-range", "#cc-tm-slider", "#cc-colour")


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    rt = demo_runtime(tmp_path_factory.mktemp("data"), Clock(T0))
    yield rt
    rt.close()


@pytest.fixture(scope="module")
def duo(
    request: pytest.FixtureRequest, runtime: Runtime, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DashComposite]:
    app = create_app(runtime, start_refresher=False)
    with browser(request, app, tmp_path_factory.mktemp("download")) as dc:
        yield dc


def test_desktop_cockpit_has_no_serious_violations(duo: DashComposite, screenshots: Path) -> None:
    duo.wait_for_page(duo.server_url + "/")
    duo.wait_for_element("#cc-kpis .cc-kpi", timeout=20)
    duo.wait_for_element(".leaflet-container .cc-marker", timeout=20)
    duo.driver.save_screenshot(str(screenshots / "a11y-cockpit.png"))
    assert_accessible(duo.driver, exclude=DASH_WIDGETS)


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
