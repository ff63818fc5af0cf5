"""Publishing public notices in a real headless Chromium: staff sign in through the form,
publish and withdraw; a notice survives a restart; the public gets no form and a crafted
request is refused on the server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests
from dash.testing.composite import DashComposite

from cockpit.auth import hash_password
from cockpit.config import CityConfig, UserConfig, default_config_path, load_config
from tests.browser import T0, AppServers, Clock, own_errors
from wiring.runtime import Runtime

pytestmark = pytest.mark.browser

PASSWORD = "notice board 2026"


def staff_config() -> CityConfig:
    """The demo city in two languages with a staff user and an executive."""
    cfg = load_config(default_config_path())
    cfg.city.languages = ["en", "de"]
    cfg.access.users = {
        "ada": UserConfig(role="staff", password_hash=hash_password(PASSWORD)),
        "max": UserConfig(role="executive", password_hash=hash_password(PASSWORD)),
    }
    return cfg


def sign_in(duo: DashComposite, user: str, next_path: str) -> None:
    """Sign in through the browser's /signin form."""
    duo.driver.get(f"{duo.server_url}/signin?next={next_path}")
    duo.find_element("#cc-user").send_keys(user)
    duo.find_element("#cc-password").send_keys(PASSWORD)
    duo.find_element("form button[type=submit]").click()


def sign_out(duo: DashComposite) -> None:
    """Sign out through the page's form, and wait until the cockpit greets a visitor."""
    duo.driver.get(f"{duo.server_url}/signout")
    duo.find_element("form button[type=submit]").click()
    duo.wait_for_element("#cc-nav-signin", timeout=30)


def dash_post(
    duo: DashComposite,
    output: list[tuple[str, str]],
    inputs: list[Any],
    state: list[Any],
    changed: str,
    cookies: dict[str, str] | None = None,
) -> requests.Response:
    """A callback request as a script would craft it (no browser, no page)."""
    body = {
        "output": ".." + "...".join(f"{i}.{p}" for i, p in output) + "..",
        "outputs": [{"id": i, "property": p} for i, p in output],
        "inputs": inputs,
        "state": state,
        "changedPropIds": [changed],
    }
    return requests.post(
        f"{duo.server_url}/_dash-update-component", json=body, cookies=cookies or {}, timeout=30
    )


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="module")
def runtime(app_server: AppServers, data_dir: Path, clock: Clock) -> Runtime:
    return app_server.city(clock, staff_config(), backfill=False, data_dir=data_dir)


@pytest.fixture(scope="module")
def duo(app_server: AppServers, runtime: Runtime) -> DashComposite:
    return app_server.browser(runtime)


def _publish_request(duo: DashComposite, text: str, cookies: dict[str, str] | None) -> Any:
    text_id = {"type": "cc-notice-text", "lang": "en"}
    return dash_post(
        duo,
        [("cc-notice-list", "children"), ("cc-notice-status", "children")],
        [{"id": "cc-notice-publish", "property": "n_clicks", "value": 1}, []],
        [
            [{"id": text_id, "property": "value", "value": text}],
            [{"id": text_id, "property": "id", "value": text_id}],
            {"id": "cc-notice-severity", "property": "value", "value": "emergency"},
            {"id": "cc-notice-starts", "property": "value", "value": "2026-11-24T10:00"},
            {"id": "cc-notice-expires", "property": "value", "value": "2026-11-24T18:00"},
            {"id": "cc-notice-lang", "property": "data", "value": "en"},
        ],
        "cc-notice-publish.n_clicks",
        cookies,
    )


def test_staff_publish_and_the_notice_survives_a_restart(
    duo: DashComposite, runtime: Runtime, data_dir: Path, screenshots: Path
) -> None:
    sign_in(duo, "ada", "/notices")
    duo.wait_for_element("#cc-notice-publish", timeout=20)
    areas = duo.driver.find_elements("css selector", ".cc-form textarea")
    assert len(areas) == 2  # one text per language of the city
    areas[0].send_keys("Swanston St closed for a parade until 18:00.")
    areas[1].send_keys("Swanston St bis 18:00 wegen eines Umzugs gesperrt.")
    duo.find_element("#cc-notice-severity input[value=warning]").click()
    duo.find_element("#cc-notice-publish").click()
    duo.wait_for_contains_text("#cc-notice-list", "Swanston St closed for a parade", timeout=20)
    duo.wait_for_contains_text("#cc-notice-status", "published", timeout=10)
    active = runtime.journal.notices(T0.to_pydatetime())
    assert [n.texts for n in active] == [
        {
            "en": "Swanston St closed for a parade until 18:00.",
            "de": "Swanston St bis 18:00 wegen eines Umzugs gesperrt.",
        }
    ]
    assert active[0].severity == "warning" and active[0].author == "ada"
    audit = runtime.journal.audit_log()
    assert any(e.action == "publish notice" and e.actor == "ada" for e in audit)
    duo.driver.save_screenshot(str(screenshots / "notices.png"))
    assert own_errors(duo, runtime.config) == []
    # A new runtime on the same data directory (the app restarted) still lists it.
    again = Runtime.open(runtime.config, data_dir, clock=lambda: T0.to_pydatetime())
    try:
        texts = [n.text("de") for n in again.journal.notices(T0.to_pydatetime())]
    finally:
        again.close()
    assert texts == ["Swanston St bis 18:00 wegen eines Umzugs gesperrt."]


def test_staff_withdraw(duo: DashComposite, runtime: Runtime) -> None:
    notice = runtime.journal.notices(T0.to_pydatetime())[0]
    duo.find_element(f"#cc-notice-{notice.id} button").click()
    duo.wait_for_contains_text("#cc-notice-status", "withdrawn", timeout=20)
    duo.wait_for_contains_text("#cc-notice-list", "No active notices", timeout=10)
    assert runtime.journal.notices(T0.to_pydatetime()) == []
    assert any(e.action == "withdraw notice" for e in runtime.journal.audit_log())


def test_a_crafted_request_is_the_same_one_staff_may_send(
    duo: DashComposite, runtime: Runtime
) -> None:
    cookies = {c["name"]: c["value"] for c in duo.driver.get_cookies()}
    answer = _publish_request(duo, "Published by a script as staff.", cookies)
    assert answer.status_code == 200, answer.text
    texts = [n.text("en") for n in runtime.journal.notices(T0.to_pydatetime())]
    assert "Published by a script as staff." in texts


def test_public_gets_no_form_and_is_refused(duo: DashComposite, runtime: Runtime) -> None:
    sign_out(duo)
    duo.driver.get(f"{duo.server_url}/notices")
    duo.wait_for_element("#cc-notice-refused", timeout=20)
    assert duo.driver.find_elements("css selector", "#cc-notice-publish") == []
    before = runtime.journal.notices(T0.to_pydatetime())
    answer = _publish_request(duo, "Fake emergency from the public.", None)
    assert answer.status_code == 403
    assert runtime.journal.notices(T0.to_pydatetime()) == before
    assert any(e.action == "notice refused" for e in runtime.journal.audit_log())
