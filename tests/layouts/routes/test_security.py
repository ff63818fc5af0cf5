"""Security headers, the Content-Security-Policy in a real Chromium, same-origin checks
and error pages without stack traces: one app server for the module."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from dash import Dash, Input, Output
from dash.testing.composite import DashComposite

from layouts.routes.security import ERROR_MESSAGE, content_security_policy
from tests.browser import AppServers, own_errors
from wiring.cli import _parser
from wiring.runtime import Runtime

pytestmark = pytest.mark.browser

SECRET_PATH_HINT = "layouts/"  # any source path in an error page would contain this


@pytest.fixture(scope="module")
def runtime(app_server: AppServers) -> Runtime:
    return app_server.city(backfill=False)


@pytest.fixture(scope="module")
def app(app_server: AppServers, runtime: Runtime) -> Dash:
    app = app_server.app(runtime)

    @app.server.route("/test-broken")
    def broken() -> str:
        raise RuntimeError(f"broken route in {__file__}")

    @app.callback(Output("cc-test-broken", "children"), Input("cc-test-poke", "n_clicks"))
    def broken_callback(_clicks: int | None) -> str:
        raise AttributeError(f"broken callback in {__file__}")

    return app


@pytest.fixture(scope="module")
def duo(app_server: AppServers, app: Dash) -> DashComposite:
    return app_server.browser(app)


def _assert_common(response: requests.Response) -> None:
    headers = response.headers
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert "'sha256-" in script_src  # Dash's inline scripts allowed by hash only
    assert "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in headers  # plain HTTP here


@pytest.mark.parametrize(
    "path",
    ["/", "/health", "/_dash-layout", "/_dash-dependencies", "/assets/cockpit.css", "/signin"],
)
def test_every_response_carries_the_security_headers(duo: DashComposite, path: str) -> None:
    response = requests.get(duo.server_url + path, timeout=30)
    assert response.status_code == 200
    _assert_common(response)


def test_the_not_found_page_carries_them_too(duo: DashComposite) -> None:
    response = requests.get(duo.server_url + "/no-such-thing.txt", timeout=10)
    _assert_common(response)


def test_cockpit_runs_under_the_csp_without_violations(
    duo: DashComposite, runtime: Runtime, screenshots: Path
) -> None:
    duo.wait_for_page(duo.server_url + "/")
    duo.wait_for_element("#cc-kpis .cc-kpi", timeout=20)
    duo.wait_for_element('.cc-map[data-cc-ready="1"]', timeout=30)  # fitted to the sites
    # Open a site's trend, so that Plotly draws a real figure too: close in on one site
    # (the fitted map may show clusters only) and click its marker.
    view = runtime.city.view("public")
    site = view.sites[view.sites["domain"] == "air"].iloc[0]
    duo.driver.execute_script(
        "var m = window.dash_clientside.cockpit.maps[0]; m._ccUserMoved = true;"
        "m.setView([arguments[0], arguments[1]], 18, {animate: false});",
        float(site["lat"]),
        float(site["lon"]),
    )
    marker = f'.leaflet-marker-pane .cc-marker[data-site="{site["id"]}"]'
    duo.wait_for_element(marker, timeout=20)
    duo.find_element(marker).click()
    duo.wait_for_element("#cc-site-detail h3", timeout=20)
    duo.wait_for_element(".cc-trend .main-svg", timeout=20)  # Plotly drew under the CSP
    duo.driver.save_screenshot(str(screenshots / "security-csp-cockpit.png"))
    errors = own_errors(duo, runtime.config)
    assert errors == []
    assert not [e for e in duo.get_logs() if "Content Security Policy" in e.get("message", "")]


def test_the_csp_blocks_an_injected_inline_script(duo: DashComposite, runtime: Runtime) -> None:
    """The policy really is enforced: a script element added to the page does not run."""
    duo.wait_for_page(duo.server_url + "/")
    duo.wait_for_element("#cc-kpis .cc-kpi", timeout=20)
    duo.driver.execute_script(
        "const s = document.createElement('script');"
        "s.textContent = 'window.__ccInjected = true;';"
        "document.body.appendChild(s);"
    )
    assert duo.driver.execute_script("return window.__ccInjected === undefined;") is True
    logs = duo.get_logs()
    assert any("Content Security Policy" in e.get("message", "") for e in logs)


def test_https_adds_hsts_and_frame_ancestors_follow_config(runtime: Runtime) -> None:
    runtime.config.security.frame_ancestors = ["https://intranet.example.org"]
    try:
        csp = content_security_policy(runtime.config, ["'sha256-x'"])
    finally:
        runtime.config.security.frame_ancestors = []
    assert "frame-ancestors https://intranet.example.org" in csp
    assert "img-src 'self' data: blob: https://tile.openstreetmap.org" in csp


def test_hsts_only_when_served_over_https(duo: DashComposite, app: Dash) -> None:
    secure = app.server.test_client().get("/health", base_url="https://cockpit.example.org")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")
    assert "Secure" in (secure.headers.get("Set-Cookie") or "Secure")
    # Without trusted proxies, a client's own X-Forwarded-Proto claim changes nothing.
    plain = requests.get(
        duo.server_url + "/health", headers={"X-Forwarded-Proto": "https"}, timeout=10
    )
    assert "Strict-Transport-Security" not in plain.headers


def test_a_failing_route_shows_no_stack_trace(duo: DashComposite) -> None:
    response = requests.get(duo.server_url + "/test-broken", timeout=10)
    assert response.status_code == 500
    assert response.text == ERROR_MESSAGE
    for leak in ("Traceback", SECRET_PATH_HINT, "RuntimeError", "test_security_headers"):
        assert leak not in response.text
    _assert_common(response)


def test_a_failing_callback_shows_no_stack_trace(duo: DashComposite) -> None:
    """A callback that fails inside answers 500; the browser learns nothing of where or
    why. A malformed input is refused before any callback runs, with as little."""
    body = {
        "output": "cc-test-broken.children",
        "outputs": {"id": "cc-test-broken", "property": "children"},
        "inputs": [{"id": "cc-test-poke", "property": "n_clicks", "value": 1}],
        "changedPropIds": ["cc-test-poke.n_clicks"],
        "state": [],
    }
    response = requests.post(duo.server_url + "/_dash-update-component", json=body, timeout=10)
    assert response.status_code == 500
    assert response.text == ERROR_MESSAGE
    for leak in ("Traceback", SECRET_PATH_HINT, "AttributeError", ".py"):
        assert leak not in response.text

    layer = {"type": "cc-layer", "layer": "traffic"}
    malformed = {
        "output": "cc-site.data",
        "outputs": {"id": "cc-site", "property": "data"},
        "inputs": [[{"id": layer, "property": "clickData", "value": "not a click"}]],
        "changedPropIds": ['{"layer":"traffic","type":"cc-layer"}.clickData'],
        "state": [],
    }
    refused = requests.post(duo.server_url + "/_dash-update-component", json=malformed, timeout=10)
    assert refused.status_code == 400
    for leak in ("Traceback", SECRET_PATH_HINT, "AttributeError", ".py"):
        assert leak not in refused.text


def test_a_cross_site_callback_post_is_refused(duo: DashComposite) -> None:
    body = {
        "output": "cc-version.data",
        "outputs": {"id": "cc-version", "property": "data"},
        "inputs": [{"id": "cc-tick", "property": "n_intervals", "value": 1}],
        "changedPropIds": ["cc-tick.n_intervals"],
        "state": [{"id": "cc-version", "property": "data", "value": -1}],
    }
    url = duo.server_url + "/_dash-update-component"
    evil = requests.post(url, json=body, headers={"Origin": "https://evil.example"}, timeout=10)
    assert evil.status_code == 403
    fetched = requests.post(url, json=body, headers={"Sec-Fetch-Site": "cross-site"}, timeout=10)
    assert fetched.status_code == 403
    same = requests.post(url, json=body, headers={"Origin": duo.server_url}, timeout=10)
    assert same.status_code == 200
    # Behind a proxy that rewrites Host, the browser's Sec-Fetch-Site still vouches.
    proxied = {"Origin": "https://cockpit.city.example", "Sec-Fetch-Site": "same-origin"}
    assert requests.post(url, json=body, headers=proxied, timeout=10).status_code == 200


def test_a_cross_site_page_cannot_post_to_the_cockpit_from_chromium(
    duo: DashComposite,
) -> None:
    """A page of another origin submitting a form to the cockpit is refused."""
    target = duo.server_url + "/_dash-update-component"
    duo.driver.get(
        "data:text/html,<form method=post action='" + target + "'>"
        "<input name=output value=x></form><script>document.forms[0].submit()</script>"
    )
    duo.wait_for_contains_text("body", "another site and was refused", timeout=10)


def test_debug_mode_is_off_unless_asked_for() -> None:
    assert _parser().parse_args(["run"]).debug is False
    assert _parser().parse_args(["run", "--debug"]).debug is True
