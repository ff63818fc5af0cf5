"""In a real headless Chromium: a page opens without asking the pages router for itself,
gets its title, and moving between pages inside the app still goes through the router."""

from __future__ import annotations

from collections.abc import Iterator

import dash
import flask
import pytest
from dash.testing.composite import DashComposite
from dash.testing.wait import until

from tests.browser import browser, demo_runtime_fixture, own_errors
from wiring.app import create_app
from wiring.runtime import Runtime

pytestmark = pytest.mark.browser

ROUTER = "_pages_content.children"


runtime = demo_runtime_fixture()


@pytest.fixture(scope="module")
def outputs() -> list[str]:
    """The outputs of every callback the browsers asked the server for."""
    return []


@pytest.fixture(scope="module")
def duo(
    request: pytest.FixtureRequest,
    runtime: Runtime,
    outputs: list[str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[DashComposite]:
    app = create_app(runtime, start_refresher=False)

    @app.server.before_request
    def record() -> None:
        if flask.request.path == "/_dash-update-component":
            outputs.append(str((flask.request.get_json(silent=True) or {}).get("output")))

    with browser(request, app, tmp_path_factory.mktemp("download")) as dc:
        yield dc


def _routed(outputs: list[str]) -> int:
    return sum(ROUTER in output for output in outputs)


@pytest.mark.parametrize(
    ("address", "ready", "page"),
    [
        ("/", "#cc-kpis .cc-kpi", "cockpit"),
        ("/m", "#m-alert-list", "mobile"),
        ("/kiosk?lang=de", "#cc-kiosk-qr", "kiosk"),
    ],
)
def test_a_page_opens_without_the_router(
    duo: DashComposite,
    runtime: Runtime,
    outputs: list[str],
    address: str,
    ready: str,
    page: str,
) -> None:
    outputs.clear()
    duo.driver.get(duo.server_url + address)
    duo.wait_for_element(ready, timeout=20)
    title = dash.page_registry[page]["title"]
    until(lambda: duo.driver.title == title, timeout=10)
    assert outputs, "the page's own callbacks ran"
    assert _routed(outputs) == 0
    assert own_errors(duo, runtime.config) == []


def test_links_inside_the_app_still_use_the_router(
    duo: DashComposite, runtime: Runtime, outputs: list[str]
) -> None:
    duo.driver.get(duo.server_url + "/")
    duo.wait_for_element("#kpi-footfall-data", timeout=20)
    outputs.clear()
    duo.find_element("#kpi-footfall-data").click()
    duo.wait_for_element("#data-values", timeout=20)
    assert duo.driver.current_url.endswith("/data/footfall")
    assert _routed(outputs) == 1
    duo.driver.back()
    duo.wait_for_element("#cc-kpis .cc-kpi", timeout=20)
    assert _routed(outputs) == 2
    assert own_errors(duo, runtime.config) == []
