"""The first layout a renderer gets holds the page being opened, for the viewer's role,
and falls back to Dash's empty page container whenever it cannot."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dash
import pytest
from dash import Dash, html
from flask.testing import FlaskClient

from cockpit.config import default_config_path, load_config
from layouts.components.shell import opening_address
from tests.browser import T0, Clock, demo_runtime, demo_runtime_fixture
from wiring.app import create_app
from wiring.runtime import Runtime

HOST = "http://localhost/"


runtime = demo_runtime_fixture(backfill=False)


@pytest.fixture(scope="module")
def app(runtime: Runtime) -> Dash:
    return create_app(runtime, start_refresher=False)


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
