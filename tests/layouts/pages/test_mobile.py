"""The phone view ``/m`` at 390×844 in a real headless Chromium, one app server.

The demo city at the pinned replay time, with one staff user and a PM10 limit set low
enough that every air station has an open alert (so acknowledging can be tried).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import requests
from dash.testing.composite import DashComposite
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from cockpit.auth import hash_password
from cockpit.config import UserConfig, default_config_path, load_config
from layouts.pages.mobile import open_alerts
from tests.a11y import assert_accessible
from tests.browser import T0, AppServers, Clock, own_errors
from wiring.runtime import Runtime

pytestmark = pytest.mark.browser

USER, PASSWORD = "sam", "staff password 1234"
PHONE = (390, 844)


@pytest.fixture(scope="module")
def runtime(app_server: AppServers, clock: Clock) -> Runtime:
    config = load_config(default_config_path())
    config.access.users = {USER: UserConfig(role="staff", password_hash=hash_password(PASSWORD))}
    config.alerts.air_limits = {"pm10": 5}
    rt = app_server.city(clock, config)
    rt.config.ui.poll_seconds = 1
    return rt


@pytest.fixture(scope="module")
def duo(app_server: AppServers, runtime: Runtime) -> DashComposite:
    return app_server.browser(runtime, size=PHONE)


def open_phone(duo: DashComposite, query: str = "") -> None:
    duo.wait_for_page(duo.server_url + "/m" + query)
    duo.wait_for_element("#m-alerts .m-alert", timeout=30)


def top(duo: DashComposite, selector: str) -> float:
    return float(
        duo.driver.execute_script(
            "return document.querySelector(arguments[0]).getBoundingClientRect().top"
            " + window.scrollY;",
            selector,
        )
    )


def no_horizontal_scroll(duo: DashComposite) -> None:
    width, inner = duo.driver.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth];"
    )
    assert width <= inner, f"page is {width} px wide in a {inner} px window"


def test_first_view_alerts_then_near_me_then_domains(
    duo: DashComposite, runtime: Runtime, screenshots: Path
) -> None:
    open_phone(duo)
    assert duo.driver.execute_script("return window.innerWidth;") == PHONE[0]
    assert top(duo, "#m-alerts") < top(duo, "#m-near") < top(duo, "#m-domains")
    no_horizontal_scroll(duo)
    cards = duo.driver.find_elements(By.CSS_SELECTOR, "#m-alerts .m-alert")
    public_alerts = open_alerts(runtime.city, "public")
    assert len(cards) == min(len(public_alerts), 25)
    titles = " ".join(c.text for c in cards)
    assert "PM10 above the limit" in titles and "24-hour mean" in titles
    assert "Sensor late" in titles  # the traffic counters that stopped in the recording
    # Threshold alerts come before sensor alerts.
    kinds = [c.get_attribute("class") for c in cards]
    first_sensor = next(i for i, k in enumerate(kinds) if "m-alert-sensor" in k)
    assert all("m-alert-limit" in k for k in kinds[:first_sensor])
    # The public sees no acknowledge action.
    assert duo.driver.find_elements(By.CSS_SELECTOR, ".m-ack-button") == []
    assert "Staff sign-in" in duo.find_element(".m-header").text
    assert "of 39 sites reporting" in duo.find_element("#m-domains").text
    duo.driver.save_screenshot(str(screenshots / "mobile.png"))
    assert_accessible(duo.driver)
    assert own_errors(duo, runtime.config) == []


def test_refused_location_offers_districts(duo: DashComposite, runtime: Runtime) -> None:
    open_phone(duo)
    # Headless Chromium has no position to give: the refused path.
    duo.driver.execute_cdp_cmd("Browser.resetPermissions", {})
    duo.find_element("#m-locate").click()
    duo.wait_for_contains_text("#m-geo-status", "Choose a district", timeout=20)
    assert duo.find_element("#m-choose").get_attribute("open") is not None
    chip = next(
        b
        for b in duo.driver.find_elements(By.CSS_SELECTOR, "#m-choose .m-chip")
        if b.text == "Carlton"
    )
    chip.click()
    duo.wait_for_contains_text("#m-near-list h3", "Carlton", timeout=10)
    names = duo.driver.find_elements(By.CSS_SELECTOR, "#m-near-list .m-site-name")
    carlton = runtime.city.view("public").sites
    expected = set(carlton.loc[carlton["district"] == "Carlton", "name"])
    assert names and {n.text for n in names} <= expected
    assert "bays listed are free" in duo.find_element("#m-near-list").text
    no_horizontal_scroll(duo)


def test_granted_location_lists_the_nearest_sites(duo: DashComposite) -> None:
    open_phone(duo)
    duo.driver.execute_cdp_cmd(
        "Browser.grantPermissions",
        {"origin": duo.server_url, "permissions": ["geolocation"]},
    )
    # Flinders Street Station.
    duo.driver.execute_cdp_cmd(
        "Emulation.setGeolocationOverride",
        {"latitude": -37.8183, "longitude": 144.9671, "accuracy": 10},
    )
    try:
        duo.find_element("#m-locate").click()
        duo.wait_for_contains_text("#m-near-list h3", "Nearest sites", timeout=20)
        values = [
            e.text for e in duo.driver.find_elements(By.CSS_SELECTOR, "#m-near-list .m-site-value")
        ]
        metres = [int(re.search(r"([\d,]+) m$", v).group(1).replace(",", "")) for v in values]
        assert metres and min(metres) < 500
        headings = [e.text for e in duo.driver.find_elements(By.CSS_SELECTOR, "#m-near-list h4")]
        assert headings == ["Traffic", "Air quality", "Parking", "Pedestrians"]
    finally:
        duo.driver.execute_cdp_cmd("Emulation.clearGeolocationOverride", {})
        duo.driver.execute_cdp_cmd("Browser.resetPermissions", {})


def test_tapping_a_site_shows_its_last_24_hours(
    duo: DashComposite, runtime: Runtime, screenshots: Path
) -> None:
    open_phone(duo)
    button = duo.find_element('[id*="m-domain-btn"][id*="pedestrians"]')
    button.click()
    duo.wait_for_element('[id*="m-domain-list"][id*="pedestrians"] .m-site', timeout=10)
    assert button.get_attribute("aria-expanded") == "true"
    site = duo.find_element('[id*="m-domain-list"][id*="pedestrians"] .m-site')
    name = site.find_element(By.CSS_SELECTOR, ".m-site-name").text
    site.click()
    duo.wait_for_element("#m-sheet:not([hidden]) img.m-spark", timeout=15)
    sheet = duo.find_element("#m-sheet")
    assert duo.find_element("#m-site-title").text == name
    caption = sheet.find_element(By.CSS_SELECTOR, "figcaption").text
    assert caption.startswith("Pedestrians, last 24 hours: lowest")
    site_id = json.loads(site.get_attribute("id"))["id"]
    series = runtime.city.series("public", site_id, hours=24)
    newest = int(series.sort_values("time")["value"].iloc[-1])
    assert caption.endswith(f"now {newest:,} persons/h")
    assert "City of Melbourne" in sheet.text and "CC BY 4.0" in sheet.text
    src = sheet.find_element(By.CSS_SELECTOR, "img.m-spark").get_attribute("src")
    assert src.startswith("data:image/svg+xml;base64,")
    # The focus moved into the sheet.
    assert duo.driver.switch_to.active_element.get_attribute("id") == "m-close"
    no_horizontal_scroll(duo)
    duo.driver.save_screenshot(str(screenshots / "mobile-site.png"))
    assert_accessible(duo.driver)
    duo.find_element("#m-close").click()
    WebDriverWait(duo.driver, 10).until(
        lambda d: d.find_element(By.ID, "m-sheet").get_attribute("hidden") is not None
    )


def test_a_parking_bay_shows_its_metadata(duo: DashComposite) -> None:
    open_phone(duo)
    duo.find_element('[id*="m-domain-btn"][id*="parking"]').click()
    duo.wait_for_element('[id*="m-domain-list"][id*="parking"] .m-site', timeout=10)
    district = duo.find_element('[id*="m-domain-list"][id*="parking"] .m-site')
    assert "bays free" in district.text
    district.click()
    duo.wait_for_element("#m-near-list .m-site", timeout=10)
    bay = next(
        b
        for b in duo.driver.find_elements(By.CSS_SELECTOR, "#m-near-list .m-site")
        if b.find_element(By.CSS_SELECTOR, ".m-site-name").text.startswith("Bay")
    )
    # The list is brought into view where it was filled in.
    assert duo.driver.execute_script(
        "const r = document.getElementById('m-near').getBoundingClientRect();"
        "return r.top >= -1 && r.top < window.innerHeight;"
    )
    bay.click()
    duo.wait_for_element("#m-sheet:not([hidden]) .m-meta", timeout=15)
    meta = duo.find_element("#m-sheet .m-meta").text
    assert "Parking zone" in meta
    assert "not published with this source" in meta
    assert "Bay occupied, last 24 hours" in duo.find_element("#m-sheet figcaption").text
    duo.find_element("#m-close").click()


def _ack_request(duo: DashComposite, key: str) -> dict[str, Any]:
    """The request Dash's renderer sends when the acknowledge button of ``key`` is tapped."""
    deps = requests.get(duo.server_url + "/_dash-dependencies", timeout=10).json()
    dep = next(d for d in deps if "m-alert-list.children" in d["output"])
    button = {"key": key, "type": "m-ack"}
    return {
        "output": dep["output"],
        "outputs": [
            {"id": "m-alert-list", "property": "children"},
            {"id": "m-seen", "property": "data"},
        ],
        "inputs": [
            {"id": "m-tick", "property": "n_intervals", "value": 1},
            [{"id": button, "property": "n_clicks", "value": 1}],
        ],
        "changedPropIds": [json.dumps(button, separators=(",", ":"), sort_keys=True) + ".n_clicks"],
        "state": [
            {"id": "m-lang", "property": "data", "value": "en"},
            {"id": "m-seen", "property": "data", "value": None},
        ],
    }


def test_the_public_cannot_acknowledge_even_by_crafted_request(
    duo: DashComposite, runtime: Runtime
) -> None:
    key = open_alerts(runtime.city, "public")[0].key
    answer = requests.post(
        duo.server_url + "/_dash-update-component", json=_ack_request(duo, key), timeout=20
    )
    assert answer.status_code == 204
    assert key not in runtime.journal.acknowledgements()
    # The same request from a signed-in staff member is carried out.
    staff = requests.Session()
    form = staff.get(duo.server_url + "/signin", timeout=10).text
    token = re.search(r'name="csrf" value="([^"]+)"', form)
    assert token
    signed = staff.post(
        duo.server_url + "/signin",
        data={"user": USER, "password": PASSWORD, "csrf": token.group(1)},
        allow_redirects=False,
        timeout=10,
    )
    assert signed.status_code == 303
    answer = staff.post(
        duo.server_url + "/_dash-update-component", json=_ack_request(duo, key), timeout=20
    )
    assert answer.status_code == 200
    assert runtime.journal.acknowledgements()[key].user == USER
    # An unknown key is refused even for staff: only open alerts can be acknowledged.
    answer = staff.post(
        duo.server_url + "/_dash-update-component",
        json=_ack_request(duo, "air.pm10:made-up:2026-01-01T00:00Z"),
        timeout=20,
    )
    assert answer.status_code == 204
    assert "air.pm10:made-up:2026-01-01T00:00Z" not in runtime.journal.acknowledgements()


def test_staff_acknowledge_an_alert_end_to_end(
    duo: DashComposite, runtime: Runtime, screenshots: Path
) -> None:
    duo.driver.get(duo.server_url + "/signin?next=/m")
    duo.find_element("#cc-user").send_keys(USER)
    duo.find_element("#cc-password").send_keys(PASSWORD)
    duo.find_element("button[type=submit]").click()
    duo.wait_for_element("#m-alerts .m-ack-button", timeout=30)
    assert f"Signed in as {USER}" in duo.find_element(".m-header").text
    acked = runtime.journal.acknowledgements()
    open_keys = [a.key for a in open_alerts(runtime.city, "staff") if a.key not in acked]
    card = duo.find_element(f'.m-alert[data-key="{open_keys[0]}"]')
    card.find_element(By.CSS_SELECTOR, ".m-ack-button").click()
    duo.wait_for_contains_text(
        f'.m-alert[data-key="{open_keys[0]}"] .m-ack', f"Acknowledged by {USER} at", timeout=15
    )
    ack = runtime.journal.acknowledgements()[open_keys[0]]
    assert ack.user == USER and ack.time == T0.to_pydatetime()
    assert any(
        e.action == "acknowledge alert" and e.detail == open_keys[0] and e.address == "127.0.0.1"
        for e in runtime.journal.audit_log()
    )
    # An acknowledgement made on another staff phone appears at this phone's next poll.
    runtime.journal.acknowledge(open_keys[1], "ana", now=T0.to_pydatetime())
    duo.wait_for_contains_text(
        f'.m-alert[data-key="{open_keys[1]}"] .m-ack', "Acknowledged by ana at", timeout=20
    )
    # Another screen (a fresh load) shows it too, and so does the earlier crafted one.
    open_phone(duo)
    shown = duo.find_element(f'.m-alert[data-key="{open_keys[0]}"]').text
    assert f"Acknowledged by {USER} at Tue 10:30" in shown
    crafted = open_alerts(runtime.city, "public")[0].key
    assert crafted in acked
    assert "Acknowledged by" in duo.find_element(f'.m-alert[data-key="{crafted}"]').text
    no_horizontal_scroll(duo)
    assert_accessible(duo.driver)
    duo.driver.save_screenshot(str(screenshots / "mobile-staff.png"))
    # The public sees that it was acknowledged, not by whom.
    duo.driver.delete_all_cookies()
    open_phone(duo)
    shown = duo.find_element(f'.m-alert[data-key="{open_keys[0]}"]').text
    assert "Acknowledged by staff at Tue 10:30" in shown and USER not in shown


def test_german_text(duo: DashComposite) -> None:
    open_phone(duo, "?lang=de")
    assert duo.find_element("#m-alerts-h").text == "Meldungen"
    assert duo.find_element("#m-near-h").text == "In meiner Nähe"
    assert duo.find_element(".cc-mobile").get_attribute("lang") == "de"
    no_horizontal_scroll(duo)
