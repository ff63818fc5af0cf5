"""Every view checked with axe-core over the whole document, in every language of the
demo city, in a real headless Chromium (one app server): desktop pages at 1920×1080, the
phone view at 390×844; public pages, then the staff pages signed in."""

from __future__ import annotations

from pathlib import Path

import pytest
from dash.testing.composite import DashComposite
from selenium.webdriver.common.keys import Keys

from cockpit.auth import hash_password
from cockpit.config import UserConfig, default_config_path, load_config
from tests.a11y import assert_accessible, axe_violations
from tests.browser import AppServers
from wiring.runtime import Runtime

pytestmark = pytest.mark.browser

USER, PASSWORD = "eve", "executive password 1234"
DESKTOP, PHONE = (1920, 1080), (390, 844)
LANGUAGES = ("en", "de")
# (address, what shows the page is drawn, window size)
PUBLIC = (
    ("/", ".leaflet-container .cc-marker", DESKTOP),
    ("/methodology", "#method-air", DESKTOP),
    ("/catalogue", "#cc-catalogue", DESKTOP),
    ("/data/footfall", "#data-values", DESKTOP),
    ("/kiosk", "#cc-kiosk .cc-slide.cc-active", (1080, 1920)),
    ("/about/air", "h1", DESKTOP),
    ("/m", "#m-alerts", PHONE),
)
SIGNED_IN = (
    ("/", ".leaflet-container .cc-marker", DESKTOP),
    ("/notices", "#cc-notice-publish", DESKTOP),
    ("/decisions", "#cc-decision-record", DESKTOP),
    ("/rules", "#cc-rule-save", DESKTOP),
    ("/m", "#m-alerts .m-alert", PHONE),
)


@pytest.fixture(scope="module")
def runtime(app_server: AppServers) -> Runtime:
    config = load_config(default_config_path())
    config.access.users = {
        USER: UserConfig(role="executive", password_hash=hash_password(PASSWORD))
    }
    return app_server.city(config=config)


@pytest.fixture(scope="module")
def duo(app_server: AppServers, runtime: Runtime) -> DashComposite:
    return app_server.browser(runtime, size=DESKTOP)


def open_view(duo: DashComposite, path: str, ready: str, size: tuple[int, int], lang: str) -> None:
    # Checked as a viewer who asked for reduced motion sees it: the kiosk's slides then
    # change at once, so axe-core never measures the contrast of a slide half faded in.
    duo.driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-reduced-motion", "value": "reduce"}]},
    )
    duo.driver.set_window_size(*size)
    duo.driver.get(f"{duo.server_url}{path}?lang={lang}")
    duo.wait_for_element(ready, timeout=40)


def check_view(
    duo: DashComposite, path: str, ready: str, size: tuple[int, int], lang: str, shot: Path
) -> None:
    open_view(duo, path, ready, size, lang)
    assert duo.driver.execute_script("return document.documentElement.lang;") == lang
    duo.driver.save_screenshot(str(shot))
    assert_accessible(duo.driver)


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(("path", "ready", "size"), PUBLIC, ids=[p[0] for p in PUBLIC])
def test_public_view_is_accessible_in_every_language(
    duo: DashComposite,
    path: str,
    ready: str,
    size: tuple[int, int],
    lang: str,
    screenshots: Path,
) -> None:
    name = path.strip("/").replace("/", "-") or "cockpit"
    check_view(duo, path, ready, size, lang, screenshots / f"a11y-{name}-{lang}.png")


def test_the_language_follows_the_address_without_a_reload(duo: DashComposite) -> None:
    open_view(duo, "/", "#cc-kpis .cc-kpi", DESKTOP, "de")
    assert duo.driver.execute_script("return document.documentElement.lang;") == "de"
    # A link inside the app changes the address without reloading the document.
    duo.driver.execute_script(
        "window.history.pushState({}, '', '/methodology');"
        "window.dispatchEvent(new PopStateEvent('popstate'));"
    )
    duo.wait_for_element("#method-air", timeout=30)
    assert duo.driver.execute_script("return document.documentElement.lang;") == "en"
    # A language the city does not offer reads as its default.
    open_view(duo, "/methodology", "#method-air", DESKTOP, "xx")
    assert duo.driver.execute_script("return document.documentElement.lang;") == "en"


def test_signed_in_views_are_accessible_in_every_language(
    duo: DashComposite, screenshots: Path
) -> None:
    duo.driver.set_window_size(*DESKTOP)
    duo.driver.get(duo.server_url + "/signin")
    duo.find_element("#cc-user").send_keys(USER)
    duo.find_element("#cc-password").send_keys(PASSWORD)
    duo.find_element("button[type=submit]").click()
    duo.wait_for_element("#cc-kpis .cc-kpi", timeout=30)
    for path, ready, size in SIGNED_IN:
        for lang in LANGUAGES:
            name = path.strip("/") or "cockpit"
            shot = screenshots / f"a11y-staff-{name}-{lang}.png"
            check_view(duo, path, ready, size, lang, shot)
    # The kiosk choice is a dropdown: the keyboard stops at its own button, once, and
    # opens it from there.
    open_view(duo, "/notices", "#cc-notice-kiosks", DESKTOP, "en")
    duo.wait_for_element('#cc-notice-kiosks[tabindex="0"]', timeout=10)
    stops = duo.driver.execute_script(
        "return [...document.querySelectorAll('.dash-dropdown-wrapper *')]"
        ".filter(e => e.tabIndex >= 0 && !e.disabled).map(e => e.id || e.className);"
    )
    assert stops == ["cc-notice-kiosks"]
    duo.driver.execute_script("document.getElementById('cc-notice-kiosks').focus();")
    duo.find_element("#cc-notice-kiosks").send_keys(Keys.ENTER)
    duo.wait_for_element('#cc-notice-kiosks[aria-expanded="true"]', timeout=10)
    duo.driver.get(duo.server_url + "/signout")


def test_choosing_an_option_keeps_the_radio_group_accessible(duo: DashComposite) -> None:
    open_view(duo, "/", '#cc-tm-speed[role="radiogroup"]', DESKTOP, "en")
    duo.wait_for_element('#cc-tm-slider [role="slider"][aria-labelledby]', timeout=10)
    duo.find_element('#cc-tm-speed input[value="2"]').click()
    duo.wait_for_element('#cc-tm-speed input[value="2"]:checked', timeout=10)
    assert_accessible(duo.driver, ".cc-timebar")


def test_axe_reports_a_broken_page(duo: DashComposite) -> None:
    """The checker itself finds known violations: a button without a name, and a
    document without a language."""
    open_view(duo, "/", "#cc-kpis .cc-kpi", DESKTOP, "en")
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
    # A whole document without a language is found (a page that never sets one).
    duo.driver.get("data:text/html,<html><head><title>t</title></head><body><p>x</p></body></html>")
    rules = {v["id"] for v in axe_violations(duo.driver)}
    assert "html-has-lang" in rules


def test_the_kiosk_changes_slides_without_fading_for_a_viewer_who_asked_for_less_motion(
    duo: DashComposite,
) -> None:
    open_view(duo, "/kiosk", "#cc-kiosk .cc-slide.cc-active", (1080, 1920), "en")
    duration = duo.driver.execute_script(
        "return getComputedStyle(document.querySelector('#cc-kiosk .cc-slide')).transitionDuration;"
    )
    assert duration == "0s"
    duo.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
    duo.driver.get(f"{duo.server_url}/kiosk")
    duo.wait_for_element("#cc-kiosk .cc-slide.cc-active", timeout=40)
    faded = duo.driver.execute_script(
        "return getComputedStyle(document.querySelector('#cc-kiosk .cc-slide')).transitionDuration;"
    )
    assert faded != "0s"
