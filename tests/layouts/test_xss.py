"""Text from platforms and people stays text: planted ``<script>``, ``onerror=`` and
``javascript:`` payloads in site names (a city's stations file), in notices and in a
user name reach the pages as visible text, never as markup, script or link.

Each payload would set ``window.__pwned`` if it ran. The checks do not rest on the
Content-Security-Policy alone: the DOM itself must hold no planted element, handler or
``javascript:`` URL.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from dash.testing.composite import DashComposite
from selenium.common.exceptions import NoAlertPresentException

from cockpit.auth import hash_password
from cockpit.config import CityConfig, UserConfig, load_config
from cockpit.config import default_config_path as demo_path
from cockpit.state.journal import Notice
from tests.browser import T0, AppServers, own_errors
from wiring.runtime import Runtime

pytestmark = pytest.mark.browser

DEMO_DIR = demo_path().parent / "demo-melbourne"
SCRIPT_NAME = "<script>window.__pwned='script';alert(1)</script>Melbourne CBD"
IMG_NAME = "<img src=x onerror=\"window.__pwned='img'\">Dandenong"
LINK_NAME = "javascript:window.__pwned='link'"
NOTICE_TEXT = "<img src=x onerror=\"window.__pwned='notice'\"> Tram works javascript:alert(2)"
EMERGENCY_TEXT = "<script>window.__pwned='emergency'</script> Evacuate javascript:void(0)"
USER_NAME = "<svg onload=\"window.__pwned='user'\">"
PLANTED = {10239: SCRIPT_NAME, 10022: IMG_NAME, 10007: LINK_NAME}
EVE_PASSWORD = "executive password 5678"
NOTICE_IDS: dict[str, int] = {}

DOM_CHECK = """
const bad = [];
for (const el of document.querySelectorAll('*')) {
  for (const attr of el.attributes) {
    const name = attr.name.toLowerCase(), value = attr.value.trim().toLowerCase();
    if (name.startsWith('on')) bad.push(el.tagName + ' ' + name);
    const url = ['href', 'xlink:href', 'src', 'action', 'formaction', 'data', 'poster'];
    if (url.includes(name) && value.startsWith('javascript:')) bad.push(el.tagName + ' ' + name);
  }
  // Data blocks (Dash's JSON config) hold the names escaped; only code would run.
  const code = el.tagName === 'SCRIPT' && !/json/i.test(el.type || '');
  if (code && el.textContent.includes('__pwned')) bad.push('script');
  if (el.tagName === 'IMG' && el.getAttribute('src') === 'x') bad.push('img src=x');
  if (el.tagName === 'svg' && el.closest('#_pages_content') && !el.closest('.main-svg')
      && !el.closest('.leaflet-container') && el.getAttribute('onload')) bad.push('svg');
}
return {bad: bad, pwned: typeof window.__pwned === 'undefined' ? null : window.__pwned};
"""


def planted_city(folder: Path) -> CityConfig:
    """The demo city whose air stations file names three stations with payloads."""
    config = load_config(demo_path())
    stations = pd.read_csv(DEMO_DIR / "epa-vic_air-monitoring-stations.csv")
    for location_id, name in PLANTED.items():
        stations.loc[stations["location_id"] == location_id, "location_name"] = name
    planted = folder / "stations.csv"
    stations.to_csv(planted, index=False)
    files = dict(config.sources["air"].options["files"])
    files = {k: str(DEMO_DIR / Path(v).name) for k, v in files.items()}
    files["stations"] = str(planted)
    config.sources["air"].options = {**config.sources["air"].options, "files": files}
    config.access.users = {
        "eve": UserConfig(role="executive", password_hash=hash_password(EVE_PASSWORD))
    }
    return config


@pytest.fixture(scope="module")
def runtime(app_server: AppServers, tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    folder = tmp_path_factory.mktemp("city")
    rt = app_server.city(config=planted_city(folder), backfill=False, data_dir=folder / "data")
    now = T0.to_pydatetime()
    for text, severity in ((NOTICE_TEXT, "warning"), (EMERGENCY_TEXT, "emergency")):
        NOTICE_IDS[severity] = rt.journal.publish(
            Notice(
                texts={"en": text},
                severity=severity,
                starts=now - timedelta(hours=1),
                expires=now + timedelta(days=1),
                author="sam",
                # An emergency shows once a second person approved it.
                approved_by="erin" if severity == "emergency" else "",
            ),
            now=now,
        )
    rt.journal.audit(USER_NAME, "sign-in failed", "", "127.0.0.1")
    return rt


@pytest.fixture(scope="module")
def duo(app_server: AppServers, runtime: Runtime) -> DashComposite:
    return app_server.browser(runtime)


def assert_inert(duo: DashComposite, runtime: Runtime) -> None:
    """Nothing planted ran or became markup, no dialog opened, the console is clean."""
    try:
        text = duo.driver.switch_to.alert.text
    except NoAlertPresentException:
        text = None
    assert text is None, f"an alert opened: {text}"
    found = duo.driver.execute_script(DOM_CHECK)
    assert found == {"bad": [], "pwned": None}
    assert own_errors(duo, runtime.config) == []


def body_text(duo: DashComposite) -> str:
    return str(duo.driver.execute_script("return document.body.innerText;"))


def test_planted_site_names_show_as_text_on_the_cockpit(
    duo: DashComposite, runtime: Runtime, screenshots: Path
) -> None:
    duo.wait_for_page(duo.server_url + "/")
    duo.wait_for_element(".leaflet-container .cc-marker", timeout=20)
    for location_id, name in PLANTED.items():
        duo.driver.execute_script(
            "window.dash_clientside.set_props('cc-site', {data: arguments[0]});",
            f"air:{location_id}",
        )
        duo.wait_for_text_to_equal("#cc-site-detail h3", name, timeout=20)
        assert_inert(duo, runtime)
    # The map's marker for a planted station opens a popup with the name as text.
    marker = duo.wait_for_element('.cc-marker[data-site="air:10239"]', timeout=20)
    duo.driver.execute_script(
        "arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}));", marker
    )
    duo.wait_for_text_to_equal(".cc-popup-name", SCRIPT_NAME, timeout=10)
    duo.driver.save_screenshot(str(screenshots / "xss-cockpit.png"))
    assert_inert(duo, runtime)


def test_planted_notices_show_as_text_on_the_kiosk(
    duo: DashComposite, runtime: Runtime, screenshots: Path
) -> None:
    duo.wait_for_page(duo.server_url + "/kiosk")
    duo.wait_for_contains_text("body", "Evacuate", timeout=30)
    assert EMERGENCY_TEXT in body_text(duo)
    duo.driver.save_screenshot(str(screenshots / "xss-kiosk.png"))
    assert_inert(duo, runtime)
    # Without the emergency, the warning notice shows in the kiosk's banner.
    runtime.journal.withdraw(NOTICE_IDS["emergency"], "sam", now=T0.to_pydatetime())
    duo.wait_for_page(duo.server_url + "/kiosk")
    duo.wait_for_contains_text("body", "Tram works", timeout=30)
    assert NOTICE_TEXT in body_text(duo)
    duo.driver.save_screenshot(str(screenshots / "xss-kiosk-banner.png"))
    assert_inert(duo, runtime)


def test_planted_site_names_stay_text_on_the_data_page(
    duo: DashComposite, runtime: Runtime
) -> None:
    duo.wait_for_page(duo.server_url + "/data/air")
    duo.wait_for_contains_text("body", "Dandenong", timeout=20)
    text = body_text(duo)
    assert SCRIPT_NAME in text and IMG_NAME in text and LINK_NAME in text
    assert_inert(duo, runtime)


def test_the_phone_view_stays_inert(duo: DashComposite, runtime: Runtime) -> None:
    duo.wait_for_page(duo.server_url + "/m")
    duo.wait_for_element("#_pages_content > *", timeout=20)
    assert_inert(duo, runtime)


def test_a_planted_user_name_shows_as_text_in_the_audit_log(
    duo: DashComposite, runtime: Runtime, screenshots: Path
) -> None:
    duo.driver.get(duo.server_url + "/signin?next=/audit")
    duo.find_element("#cc-user").send_keys("eve")
    duo.driver.save_screenshot(str(screenshots / "signin.png"))
    duo.find_element("#cc-password").send_keys(EVE_PASSWORD)
    duo.find_element("button[type=submit]").click()
    duo.wait_for_contains_text("h1", "Audit log", timeout=10)
    assert USER_NAME in body_text(duo)
    duo.driver.save_screenshot(str(screenshots / "xss-audit.png"))
    assert_inert(duo, runtime)
