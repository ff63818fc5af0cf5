"""The first layout a renderer gets holds the page being opened, for the viewer's role,
and falls back to Dash's empty page container whenever it cannot. In a real headless
Chromium: a page opens without asking the pages router for itself, gets its title, and
moving between pages inside the app still goes through the router."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dash
import flask
import pytest
from dash import Dash, html
from dash.testing.composite import DashComposite
from dash.testing.wait import until
from flask.testing import FlaskClient

from cockpit.config import default_config_path, load_config
from layouts.components.shell import opening_address
from tests.browser import T0, AppServers, Clock, demo_runtime, own_errors
from wiring.app import create_app
from wiring.runtime import Runtime

HOST = "http://localhost/"


@pytest.fixture(scope="module")
def runtime(app_server: AppServers) -> Runtime:
    return app_server.city(backfill=False)


@pytest.fixture(scope="module")
def app(app_server: AppServers, runtime: Runtime) -> Dash:
    return app_server.app(runtime)


@pytest.fixture
def client(app: Dash) -> FlaskClient:
    return app.server.test_client()


def _shell(client: FlaskClient, referrer: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The layout served for a page opened at ``referrer``, and its response headers."""
    headers = {"Referer": referrer} if referrer else {}
    answer = client.get("/_dash-layout", headers=headers)
    assert answer.status_code == 200
    return answer.get_json(), dict(answer.headers)


def _by_id(node: Any, found: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Every component of a layout's JSON by its id."""
    found = {} if found is None else found
    if isinstance(node, dict):
        props = node.get("props", {})
        if isinstance(props.get("id"), str):
            found[props["id"]] = props
        for value in props.values():
            _by_id(value, found)
    elif isinstance(node, list):
        for item in node:
            _by_id(item, found)
    return found


@pytest.mark.parametrize(
    ("referrer", "expected"),
    [
        ("http://localhost/", ("/", "")),
        ("http://localhost/kiosk?lang=de&id=hall", ("/kiosk", "?lang=de&id=hall")),
        ("http://localhost/data/footfall", ("/data/footfall", "")),
        ("http://localhost:8050/m", None),  # another port is another origin
        ("https://localhost/m", None),
        ("http://elsewhere.example/m", None),
        ("", None),
        (None, None),
    ],
)
def test_opening_address_is_read_from_a_same_origin_referrer(
    referrer: str | None, expected: tuple[str, str] | None
) -> None:
    assert opening_address(referrer, HOST) == expected


def test_the_cockpit_is_in_the_first_layout(client: FlaskClient, runtime: Runtime) -> None:
    layout, headers = _shell(client, HOST)
    ids = _by_id(layout)
    assert ids["_pages_location"]["pathname"] == "/"
    assert ids["_pages_location"]["search"] == ""
    assert ids["_pages_store"]["data"] == {"title": dash.page_registry["cockpit"]["title"]}
    assert "cc-kpis" in ids and "cc-map" in json.dumps(layout)
    assert headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("page", "address", "arguments"),
    [
        ("methodology", "methodology", {}),
        ("cockpit", "?lang=de", {"lang": "de"}),
        ("kiosk-screen", "kiosk/hall?lang=fr", {"screen": "hall", "lang": "fr"}),
    ],
)
def test_the_page_held_is_the_one_the_router_gives(
    app: Dash, client: FlaskClient, page: str, address: str, arguments: dict[str, str]
) -> None:
    held, _ = _shell(client, HOST + address)
    path, _, query = address.partition("?")
    location = _by_id(held)["_pages_location"]
    assert (location["pathname"], location["search"]) == ("/" + path, f"?{query}" if query else "")
    content = _by_id(held)["_pages_content"]["children"]
    with app.server.test_request_context("/"):
        routed = dash.page_registry[page]["layout"](**arguments)
    assert json.dumps(content, sort_keys=True) == json.dumps(
        json.loads(dash._utils.to_json(routed)), sort_keys=True
    )


def test_a_staff_page_is_held_as_a_public_viewer_may_see_it(client: FlaskClient) -> None:
    ids = _by_id(_shell(client, HOST + "notices")[0])
    assert "cc-notice-refused" in ids  # the sign-in prompt, not the publishing form
    assert "cc-notice-publish" not in ids


@pytest.mark.parametrize(
    "referrer", [None, "http://elsewhere.example/", HOST + "no-such-page", HOST + "_dash-layout"]
)
def test_without_a_page_to_hold_the_container_is_empty(
    client: FlaskClient, referrer: str | None
) -> None:
    layout, headers = _shell(client, referrer)
    ids = _by_id(layout)
    assert headers["Cache-Control"] == "no-store"
    assert "pathname" not in ids["_pages_location"]  # the router will fill it
    assert ids["_pages_content"].get("children") is None


@pytest.fixture
def broken_page() -> Iterator[str]:
    def fails(**_: Any) -> html.Div:
        raise RuntimeError("this page cannot be built")

    dash.register_page("broken_for_test", path="/broken-for-test", layout=fails)
    yield "/broken-for-test"
    del dash.page_registry["broken_for_test"]


def test_a_page_that_fails_leaves_the_plain_container_and_is_logged(
    client: FlaskClient, broken_page: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="layouts.components.shell"):
        ids = _by_id(_shell(client, HOST + broken_page.lstrip("/"))[0])
    assert ids["_pages_content"].get("children") is None
    assert any(broken_page in record.getMessage() for record in caplog.records)


def test_behind_a_trusted_proxy_the_page_is_held(tmp_path: Path) -> None:
    config = load_config(default_config_path())
    config.security.trusted_proxies = 1
    rt = demo_runtime(tmp_path, Clock(T0), config, backfill=False)
    try:
        client = create_app(rt, start_refresher=False).server.test_client()
        proxied = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "cockpit.example.org"}
        held = client.get(
            "/_dash-layout",
            headers={**proxied, "Referer": "https://cockpit.example.org/m"},
            base_url="http://127.0.0.1:8000",
        ).get_json()
        assert _by_id(held)["_pages_location"]["pathname"] == "/m"
        # The same answer without the proxy's headers: the address is not this server's.
        plain = client.get(
            "/_dash-layout",
            headers={"Referer": "https://cockpit.example.org/m"},
            base_url="http://127.0.0.1:8000",
        ).get_json()
        assert "pathname" not in _by_id(plain)["_pages_location"]
    finally:
        rt.close()


# -- in a real headless Chromium ------------------------------------------------------

ROUTER = "_pages_content.children"


@pytest.fixture(scope="module")
def filled(app_server: AppServers) -> Runtime:
    """The demo city with its history filled, as the browser shows it."""
    return app_server.city()


@pytest.fixture(scope="module")
def outputs() -> list[str]:
    """The outputs of every callback the browsers asked the server for."""
    return []


@pytest.fixture(scope="module")
def duo(app_server: AppServers, filled: Runtime, outputs: list[str]) -> DashComposite:
    app = app_server.app(filled)

    @app.server.before_request
    def record() -> None:
        if flask.request.path == "/_dash-update-component":
            outputs.append(str((flask.request.get_json(silent=True) or {}).get("output")))

    return app_server.browser(app)


def _routed(outputs: list[str]) -> int:
    return sum(ROUTER in output for output in outputs)


@pytest.mark.browser
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
    filled: Runtime,
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
    assert own_errors(duo, filled.config) == []


@pytest.mark.browser
def test_links_inside_the_app_still_use_the_router(
    duo: DashComposite, filled: Runtime, outputs: list[str]
) -> None:
    duo.driver.get(duo.server_url + "/")
    duo.wait_for_element("#kpi-footfall-data", timeout=20)
    outputs.clear()
    # Clicked by the page itself: the KPI strip may redraw between finding and clicking.
    duo.driver.execute_script("document.getElementById('kpi-footfall-data').click()")
    duo.wait_for_element("#data-values", timeout=20)
    assert duo.driver.current_url.endswith("/data/footfall?lang=en")
    assert _routed(outputs) == 1
    duo.driver.back()
    duo.wait_for_element("#cc-kpis .cc-kpi", timeout=20)
    assert _routed(outputs) == 2
    assert own_errors(duo, filled.config) == []
