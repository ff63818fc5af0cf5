"""No secret ever reaches a browser: a whole session in headless Chromium, public then
signed in as staff and as an executive, with every response body (pages, callback JSON,
scripts, styles, API answers) recorded on the server and searched for the configured
secrets: a platform's API key, the session signing key, password hashes and passwords.

The platform is a SensorThings service on 127.0.0.1 that fails with an answer echoing
the request URL, key included, so the key travels the error path to ``/health`` too.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import flask
import pytest
from dash.testing.composite import DashComposite
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from cockpit.auth import hash_password
from cockpit.config import CityConfig, SourceConfig, UserConfig, load_config
from cockpit.config import default_config_path as demo_path
from tests.browser import AppServers, own_errors
from wiring.runtime import Runtime

pytestmark = pytest.mark.browser

API_KEY = "st-key-Quagga-8c1f0e93"
SIGNING_KEY = "session-signing-key-Wombat-77d2a1"
PASSWORDS = {"sam": "staff password Numbat 1234", "eve": "executive password Dingo 5678"}
HASHES = {user: hash_password(password) for user, password in PASSWORDS.items()}
ENVIRONMENT = {
    "CC_TEST_PLATFORM_KEY": API_KEY,
    "CITY_COCKPIT_SECRET_KEY": SIGNING_KEY,
    "CC_TEST_EVE_HASH": HASHES["eve"],
}
STREAMS = [{"properties": {"layerName": "^Anzahl_Kfz_"}, "metric": "vehicle_flow"}]
LIMITS = {"connect_timeout_s": 0.5, "read_timeout_s": 0.5, "retries": 0, "backoff_s": 0.01}


def secrets() -> dict[str, str]:
    """Every secret, and the distinctive tail (salt and digest) of each hash."""
    found = {"api key": API_KEY, "signing key": SIGNING_KEY}
    for user, password in PASSWORDS.items():
        found[f"{user}'s password"] = password
        found[f"{user}'s hash"] = HASHES[user]
        found[f"{user}'s hash digest"] = HASHES[user].rsplit("$", 1)[1]
    return found


def city(platform_url: str) -> CityConfig:
    config = load_config(demo_path())
    config.sources["platform"] = SourceConfig(
        connector="sensorthings",
        name="City traffic counters",
        publisher="City of Melbourne",
        licence="CC BY 4.0",
        url=platform_url,
        credentials={"api_key": "CC_TEST_PLATFORM_KEY"},
        backfill_hours=0,
        options={
            "domain": "traffic",
            "kind": "counter",
            "streams": STREAMS,
            "api_key_param": "key",
            **LIMITS,
        },
    )
    config.access.users = {
        "sam": UserConfig(role="staff", password_hash=HASHES["sam"]),
        "eve": UserConfig(role="executive", password_hash_env="CC_TEST_EVE_HASH"),
    }
    return config


@pytest.fixture(scope="module")
def platform() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1")
    server.start()

    def failing(request: Request) -> Response:
        # A careless platform repeats the whole request, key and all, in its error.
        return Response(f"internal error handling {request.url}", status=500)

    server.expect_request(re.compile(".*")).respond_with_handler(failing)
    yield server
    server.clear()
    server.stop()


@pytest.fixture(scope="module")
def runtime(platform: HTTPServer, app_server: AppServers) -> Iterator[Runtime]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in ENVIRONMENT.items():
            patch.setenv(name, value)
        yield app_server.city(config=city(platform.url_for("/v1.1")), backfill=False)


@pytest.fixture(scope="module")
def recorded() -> list[tuple[str, str, int, bytes]]:
    return []


@pytest.fixture(scope="module")
def duo(
    app_server: AppServers, runtime: Runtime, recorded: list[tuple[str, str, int, bytes]]
) -> DashComposite:
    assert os.environ.get("CITY_COCKPIT_SECRET_KEY") == SIGNING_KEY
    app = app_server.app(runtime)

    @app.server.after_request
    def record(response: flask.Response) -> flask.Response:
        response.direct_passthrough = False  # read files too (assets, scripts)
        body = response.get_data()
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items()).encode()
        request_line = f"{flask.request.method} {flask.request.path}"
        recorded.append((request_line, flask.request.path, response.status_code, headers + body))
        return response

    return app_server.browser(app)


def sign_in(duo: DashComposite, user: str) -> None:
    duo.driver.get(duo.server_url + "/signin?next=/")
    duo.find_element("#cc-user").send_keys(user)
    duo.find_element("#cc-password").send_keys(PASSWORDS[user])
    duo.find_element("button[type=submit]").click()
    duo.wait_for_element("#cc-kpis .cc-kpi", timeout=30)


def sign_out(duo: DashComposite) -> None:
    duo.driver.get(duo.server_url + "/signout")
    duo.find_element("button[type=submit]").click()
    duo.wait_for_element("#react-entry-point", timeout=30)


def browse(duo: DashComposite) -> None:
    """The cockpit with a site opened, then the other pages and the API."""
    duo.wait_for_page(duo.server_url + "/")
    duo.wait_for_element(".leaflet-container .cc-marker", timeout=30)
    duo.driver.execute_script("window.dash_clientside.set_props('cc-site', {data: 'air:10001'});")
    duo.wait_for_contains_text("#cc-site-detail h3", "Alphington", timeout=20)
    for path in ("/m", "/kiosk", "/data/traffic", "/methodology", "/catalogue"):
        duo.wait_for_page(duo.server_url + path)
        duo.wait_for_element("#_pages_content > *", timeout=30)
    for path in ("/health", "/api/v1/sources", "/api/v1/sites", "/audit"):
        duo.driver.get(duo.server_url + path)
        duo.wait_for_element("body", timeout=10)


def test_a_whole_session_leaks_no_secret(
    duo: DashComposite,
    runtime: Runtime,
    platform: HTTPServer,
    recorded: list[tuple[str, str, int, bytes]],
    screenshots: Path,
) -> None:
    browse(duo)
    sign_in(duo, "sam")
    browse(duo)
    sign_out(duo)
    sign_in(duo, "eve")
    browse(duo)
    duo.driver.save_screenshot(str(screenshots / "secrets-audit.png"))
    # /health answers 503 while the failing platform has never answered, and /audit
    # 303 or 403 before an executive signs in: expected, and the only errors allowed.
    expected = re.compile(r"/(health|audit) - Failed to load resource")
    errors = [e for e in own_errors(duo, runtime.config) if not expected.search(e["message"])]
    assert errors == []

    # The secrets were in use: the platform got the key, the error reached staff.
    assert any(API_KEY in str(req.query_string) for req, _ in platform.log)
    status = runtime.store.status("platform")
    assert status.failures and "500" in status.last_error
    paths = {path for _, path, _, _ in recorded}
    assert {"/", "/_dash-update-component", "/signin", "/signout", "/audit", "/health"} <= paths
    assert any(path.startswith("/_dash-component-suites/") for path in paths)
    assert any(path.startswith("/assets/") for path in paths)
    executive_health = [
        body
        for line, path, code, body in recorded
        if path == "/health" and b"last_error" in body and b"platform" in body
    ]
    assert executive_health, "signed-in users see the platform's (redacted) error"

    leaks = [
        (what, line, code)
        for line, _, code, body in recorded
        for what, secret in secrets().items()
        if secret.encode() in body
    ]
    assert leaks == []
    assert len(recorded) > 50
