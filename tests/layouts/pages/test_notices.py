"""Publishing public notices in a real headless Chromium: staff sign in through the form,
preview, confirm and withdraw; a text is needed in every kiosk language; an emergency
by staff waits for a second person's approval, an executive's shows at once; a notice
survives a restart; the public gets no form and a crafted request is refused on the
server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests
from dash.testing.composite import DashComposite

from cockpit.auth import hash_password
from cockpit.config import CityConfig, UserConfig, default_config_path, load_config
from tests.browser import T0, AppServers, Clock, own_errors
from tests.notices_calls import notices_body
from wiring.runtime import Runtime

pytestmark = pytest.mark.browser

PASSWORD = "notice board 2026"


def staff_config() -> CityConfig:
    """The demo city in two languages with a staff user and an executive."""
    cfg = load_config(default_config_path())
    cfg.city.languages = ["en", "de"]
    cfg.access.users = {
        "ada": UserConfig(role="staff", password_hash=hash_password(PASSWORD)),
        "kim": UserConfig(role="staff", password_hash=hash_password(PASSWORD)),
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


def _notice_request(
    duo: DashComposite, button: str, text: str, cookies: dict[str, str] | None, draft: Any = None
) -> Any:
    """The notices callback as a script would send it: ``button`` pressed with an
    emergency in both languages for every kiosk, and the previewed ``draft``."""
    body = notices_body(
        button,
        texts={lang: f"{text} ({lang})" for lang in ("en", "de")},
        severity="emergency",
        starts="2026-11-24T10:00",
        expires="2026-11-24T18:00",
        draft=draft,
    )
    return requests.post(
        f"{duo.server_url}/_dash-update-component", json=body, cookies=cookies or {}, timeout=30
    )


def write(duo: DashComposite, english: str, german: str, severity: str, kiosks: str = "") -> None:
    """Fill the form: both texts, the severity and (when given) where it shows."""
    duo.driver.get(f"{duo.server_url}/notices")
    duo.wait_for_element("#cc-notice-preview", timeout=20)
    areas = duo.driver.find_elements("css selector", ".cc-form textarea")
    areas[0].send_keys(english)
    if german:
        areas[1].send_keys(german)
    duo.find_element(f"#cc-notice-severity input[value={severity}]").click()
    if kiosks:
        duo.select_dcc_dropdown("#cc-notice-kiosks", kiosks)


def test_staff_preview_confirm_and_the_notice_survives_a_restart(
    duo: DashComposite, runtime: Runtime, data_dir: Path, screenshots: Path
) -> None:
    sign_in(duo, "ada", "/notices")
    duo.wait_for_element("#cc-notice-preview", timeout=20)
    areas = duo.driver.find_elements("css selector", ".cc-form textarea")
    assert len(areas) == 2  # one text per kiosk language
    write(
        duo,
        "Swanston St closed for a parade until 18:00.",
        "Swanston St bis 18:00 wegen eines Umzugs gesperrt.",
        "warning",
    )
    duo.find_element("#cc-notice-preview").click()
    duo.wait_for_contains_text(
        "#cc-notice-preview-body", "Swanston St bis 18:00 wegen eines Umzugs gesperrt.", timeout=20
    )
    assert "Shows on all kiosks" in duo.find_element("#cc-notice-preview-body").text
    assert runtime.journal.notices(T0.to_pydatetime()) == []  # nothing published yet
    duo.driver.save_screenshot(str(screenshots / "notices-preview.png"))
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
    assert active[0].kiosks == () and active[0].approved
    audit = runtime.journal.audit_log()
    published = next(e for e in audit if e.action == "publish notice" and e.actor == "ada")
    assert "on all kiosks" in published.detail and "Swanston St closed" in published.detail
    duo.driver.save_screenshot(str(screenshots / "notices.png"))
    assert own_errors(duo, runtime.config) == []
    # A new runtime on the same data directory (the app restarted) still lists it.
    again = Runtime.open(runtime.config, data_dir, clock=lambda: T0.to_pydatetime())
    try:
        texts = [n.text("de") for n in again.journal.notices(T0.to_pydatetime())]
    finally:
        again.close()
    assert texts == ["Swanston St bis 18:00 wegen eines Umzugs gesperrt."]


def test_every_kiosk_language_needs_a_text(duo: DashComposite, runtime: Runtime) -> None:
    write(duo, "Only English.", "", "info")
    duo.find_element("#cc-notice-preview").click()
    duo.wait_for_contains_text("#cc-notice-status", "missing: Deutsch", timeout=20)
    assert not duo.find_element("#cc-notice-preview-panel").is_displayed()


def test_staff_withdraw(duo: DashComposite, runtime: Runtime) -> None:
    duo.driver.get(f"{duo.server_url}/notices")
    notice = runtime.journal.notices(T0.to_pydatetime())[0]
    duo.wait_for_element(f"#cc-notice-{notice.id} button", timeout=20)
    duo.find_element(f"#cc-notice-{notice.id} button").click()
    duo.wait_for_contains_text("#cc-notice-status", "withdrawn", timeout=20)
    duo.wait_for_contains_text("#cc-notice-list", "No active notices", timeout=10)
    assert runtime.journal.notices(T0.to_pydatetime()) == []
    assert any(e.action == "withdraw notice" for e in runtime.journal.audit_log())


def test_an_emergency_by_staff_waits_for_a_second_person(
    duo: DashComposite, runtime: Runtime, screenshots: Path
) -> None:
    write(
        duo,
        "Leave Federation Square now.",
        "Verlassen Sie sofort den Federation Square.",
        "emergency",
        "Group: Flinders Street Station (station)",
    )
    duo.find_element("#cc-notice-preview").click()
    duo.wait_for_contains_text("#cc-notice-preview-body", "for approval", timeout=20)
    assert (
        "the group Flinders Street Station (station)"
        in duo.find_element("#cc-notice-preview-body").text
    )
    duo.driver.save_screenshot(str(screenshots / "notices-emergency-preview.png"))
    duo.find_element("#cc-notice-publish").click()
    duo.wait_for_contains_text("#cc-notice-status", "Published for approval", timeout=20)
    (waiting,) = [
        n for n in runtime.journal.notices(T0.to_pydatetime()) if n.severity == "emergency"
    ]
    assert waiting.kiosks == ("screen:station",) and not waiting.approved
    assert not waiting.shown_on("platform-1", "station")
    # Its author cannot approve it; another member of staff can.
    assert (
        duo.driver.find_elements("css selector", f"#cc-notice-{waiting.id} .cc-btn-primary") == []
    )
    sign_out(duo)
    sign_in(duo, "kim", "/notices")
    duo.wait_for_element(f"#cc-notice-{waiting.id} .cc-btn-primary", timeout=20).click()
    duo.wait_for_contains_text("#cc-notice-status", "approved", timeout=20)
    (approved,) = [n for n in runtime.journal.notices(T0.to_pydatetime()) if n.id == waiting.id]
    assert approved.approved_by == "kim" and approved.shown_on("platform-1", "station")
    event = runtime.journal.audit_log(1)[0]
    assert event.action == "approve notice" and event.actor == "kim"
    assert "the group Flinders Street Station (station)" in event.detail
    runtime.journal.withdraw(waiting.id, "kim")


def test_an_executive_publishes_an_emergency_at_once(duo: DashComposite, runtime: Runtime) -> None:
    sign_out(duo)
    sign_in(duo, "max", "/notices")
    write(duo, "Storm: stay inside.", "Sturm: bleiben Sie drinnen.", "emergency")
    duo.find_element("#cc-notice-preview").click()
    duo.wait_for_contains_text("#cc-notice-preview-body", "Sturm", timeout=20)
    duo.find_element("#cc-notice-publish").click()
    duo.wait_for_contains_text("#cc-notice-status", "Notice published.", timeout=20)
    found = [
        n
        for n in runtime.journal.notices(T0.to_pydatetime())
        if n.text("en") == "Storm: stay inside."
    ]
    assert found and found[0].approved_by == "max" and found[0].shown_on("any", "default")
    runtime.journal.withdraw(found[0].id, "max")
    sign_out(duo)
    sign_in(duo, "ada", "/notices")
    duo.wait_for_element("#cc-notice-preview", timeout=20)


def test_a_crafted_request_is_the_same_one_staff_may_send(
    duo: DashComposite, runtime: Runtime
) -> None:
    cookies = {c["name"]: c["value"] for c in duo.driver.get_cookies()}
    text = "Published by a script as staff."
    # Publishing without the preview of the same draft publishes nothing.
    blind = _notice_request(duo, "cc-notice-publish", text, cookies, draft="made-up")
    assert blind.status_code == 200 and "Preview the notice" in blind.text
    preview = _notice_request(duo, "cc-notice-preview", text, cookies)
    assert preview.status_code == 200, preview.text
    draft = preview.json()["response"]["cc-notice-draft"]["data"]
    answer = _notice_request(duo, "cc-notice-publish", text, cookies, draft=draft)
    assert answer.status_code == 200, answer.text
    found = [
        n for n in runtime.journal.notices(T0.to_pydatetime()) if n.text("en").startswith(text)
    ]
    assert len(found) == 1 and found[0].severity == "emergency" and not found[0].approved


def test_public_gets_no_form_and_is_refused(duo: DashComposite, runtime: Runtime) -> None:
    sign_out(duo)
    duo.driver.get(f"{duo.server_url}/notices")
    duo.wait_for_element("#cc-notice-refused", timeout=20)
    assert duo.driver.find_elements("css selector", "#cc-notice-publish") == []
    before = runtime.journal.notices(T0.to_pydatetime())
    for button in ("cc-notice-preview", "cc-notice-publish"):
        answer = _notice_request(duo, button, "Fake emergency from the public.", None)
        assert answer.status_code == 403
    assert runtime.journal.notices(T0.to_pydatetime()) == before
    assert any(e.action == "notice refused" for e in runtime.journal.audit_log())
