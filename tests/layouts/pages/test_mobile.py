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
from cockpit.twin.alert_handling import Handling, handling
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
    config.access.users = {
        USER: UserConfig(role="staff", password_hash=hash_password(PASSWORD)),
        "ana": UserConfig(
            role="staff", display_name="Ana Lee", password_hash=hash_password(PASSWORD)
        ),
    }
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
        metres = [distance_of(v) for v in values]
        assert metres and min(metres) < 500
        assert not any(re.search(r"\d,\d{3} m$", v) for v in values)  # km from 1,000 m
        # The alerts now say how far and which way from here, with a route from here.
        duo.wait_for_element("#m-alerts .m-distance", timeout=10)
        WebDriverWait(duo.driver, 20).until(
            lambda d: "city centre" not in d.find_element(By.ID, "m-alert-list").text
        )
        route = duo.find_element("#m-alerts .m-route").get_attribute("href")
        assert "directions" in route and "-37.81830%2C144.96710" in route
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
    # Where the site is, in words and with a route, not raw coordinates.
    meta = sheet.find_element(By.CSS_SELECTOR, ".m-meta").text
    assert re.search(r"[\d.,]+ k?m (N|NE|E|SE|S|SW|W|NW) from the city centre", meta) or (
        "here from the city centre" in meta
    )
    assert not re.search(r"-37\.\d{5}, 144\.\d{5}", meta)
    assert sheet.find_element(By.CSS_SELECTOR, ".m-meta .m-route").get_attribute("href")
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


def distance_of(words: str) -> float:
    """Metres in "… · 850 m" or "… · 1.2 km"."""
    found = re.search(r"([\d.,]+) (m|km)$", words)
    assert found, words
    number = float(found.group(1).replace(",", ""))
    return number * 1000 if found.group(2) == "km" else number


def _ack_request(
    duo: DashComposite, key: str, action: str = "acknowledge", to: str = ""
) -> dict[str, Any]:
    """The request Dash's renderer sends when an alert's ``action`` button is tapped."""
    deps = requests.get(duo.server_url + "/_dash-dependencies", timeout=10).json()
    dep = next(d for d in deps if "m-alert-list.children" in d["output"])
    button = {"action": action, "key": key, "to": to, "type": "m-act"}
    note = {"key": key, "type": "m-note"}
    return {
        "output": dep["output"],
        "outputs": [
            {"id": "m-alert-list", "property": "children"},
            {"id": "m-seen", "property": "data"},
        ],
        "inputs": [
            {"id": "m-tick", "property": "n_intervals", "value": 1},
            [{"id": button, "property": "n_clicks", "value": 1}],
            {"id": "m-coords", "property": "data", "value": None},
        ],
        "changedPropIds": [json.dumps(button, separators=(",", ":"), sort_keys=True) + ".n_clicks"],
        "state": [
            {"id": "m-lang", "property": "data", "value": "en"},
            {"id": "m-seen", "property": "data", "value": None},
            [{"id": note, "property": "value", "value": "crafted"}],
            [{"id": note, "property": "id", "value": note}],
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
    assert handled(runtime, key).note == "crafted"
    # Assigning to someone who is not a colleague is refused.
    answer = staff.post(
        duo.server_url + "/_dash-update-component",
        json=_ack_request(duo, key, "assign", "mallory"),
        timeout=20,
    )
    assert answer.status_code == 204
    assert handled(runtime, key).status == "acknowledged"
    # An unknown key is refused even for staff: only open alerts can be acknowledged.
    answer = staff.post(
        duo.server_url + "/_dash-update-component",
        json=_ack_request(duo, "air.pm10:made-up:2026-01-01T00:00Z"),
        timeout=20,
    )
    assert answer.status_code == 204
    assert "air.pm10:made-up:2026-01-01T00:00Z" not in runtime.journal.acknowledgements()


def handled(runtime: Runtime, key: str) -> Handling:
    return handling(runtime.journal.acknowledgements(), key)


def card(duo: DashComposite, key: str) -> Any:
    return duo.find_element(f'.m-alert[data-key="{key}"]')


def tap(duo: DashComposite, key: str, action: str, to: str = "") -> None:
    """Tap an alert's ``action`` button, found afresh (the board is redrawn after each)."""
    button = {"action": action, "key": key, "to": to, "type": "m-act"}
    selector = f"#{json.dumps(button, separators=(',', ':'), sort_keys=True)}"
    duo.driver.execute_script(
        "const b = document.getElementById(arguments[0]); b.scrollIntoView(); b.click();",
        selector[1:],
    )


def test_staff_handle_an_alert_end_to_end(
    duo: DashComposite, runtime: Runtime, screenshots: Path
) -> None:
    duo.driver.get(duo.server_url + "/signin?next=/m")
    duo.find_element("#cc-user").send_keys(USER)
    duo.find_element("#cc-password").send_keys(PASSWORD)
    duo.find_element("button[type=submit]").click()
    duo.wait_for_element("#m-alerts .m-ack-button", timeout=30)
    assert f"Signed in as {USER}" in duo.find_element(".m-header").text
    # Counted and ordered by severity; each with place, distance, small map and route.
    ranked = runtime.city.ranked_alerts("staff")
    count = duo.find_element("#m-alert-count").text
    assert count.startswith(f"{len(ranked):,} open alerts: ")
    shown = [
        c.get_attribute("data-key")
        for c in duo.driver.find_elements(By.CSS_SELECTOR, "#m-alerts .m-alert")
    ]
    assert shown == [a.key for a in ranked[: len(shown)]]
    grades = [
        c.get_attribute("data-severity")
        for c in duo.driver.find_elements(By.CSS_SELECTOR, "#m-alerts .m-alert")
    ]
    order = ("critical", "high", "moderate", "low")
    assert grades == sorted(grades, key=order.index)
    first = card(duo, shown[0])
    assert re.search(r"· [\d.,]+ k?m (N|NE|E|SE|S|SW|W|NW) from the city centre", first.text)
    assert first.find_element(By.CSS_SELECTOR, "img.m-minimap").get_attribute("alt")
    assert "openstreetmap.org" in first.find_element(By.CSS_SELECTOR, ".m-route").get_attribute(
        "href"
    )
    duo.driver.save_screenshot(str(screenshots / "mobile-staff-board.png"))
    key = shown[0]
    # Acknowledge with a note.
    note = duo.driver.execute_script(
        "return document.getElementById(arguments[0]);",
        json.dumps({"key": key, "type": "m-note"}, separators=(",", ":"), sort_keys=True),
    )
    note.send_keys("Checking the station")
    tap(duo, key, "acknowledge")
    duo.wait_for_contains_text(
        f'.m-alert[data-key="{key}"] .m-ack',
        f"Acknowledged by {USER} at Tue 10:30: Checking the station",
        timeout=15,
    )
    assert handled(runtime, key).status == "acknowledged"
    # Assign to a colleague, by the name people read.
    tap(duo, key, "assign", "ana")
    duo.wait_for_contains_text(
        f'.m-alert[data-key="{key}"] .m-ack', f"Assigned to Ana Lee by {USER}", timeout=15
    )
    assert handled(runtime, key).assignee == "ana"
    # Resolve, then undo the resolution: assigned again.
    tap(duo, key, "resolve")
    duo.wait_for_contains_text(
        f'.m-alert[data-key="{key}"] .m-ack', f"Resolved by {USER}", timeout=15
    )
    assert handled(runtime, key).status == "resolved"
    duo.driver.save_screenshot(str(screenshots / "mobile-staff-resolved.png"))
    tap(duo, key, "undo")
    duo.wait_for_contains_text(
        f'.m-alert[data-key="{key}"] .m-ack', "Assigned to Ana Lee", timeout=15
    )
    assert handled(runtime, key).status == "assigned"
    # The audit log names the alert, the place and the colleague, not a raw key.
    events = [e for e in runtime.journal.audit_log() if e.action.endswith(" alert")][:4]
    assert [e.action for e in events] == [
        "undo alert",
        "resolve alert",
        "assign alert",
        "acknowledge alert",
    ]
    alert = next(a for a in ranked if a.key == key)
    assert all(alert.site_name in e.detail and key not in e.detail for e in events)
    assert "to Ana Lee" in events[2].detail and "note: Checking the station" in events[3].detail
    assert all(e.actor == USER and e.address == "127.0.0.1" for e in events)
    # A step taken on another staff phone appears at this phone's next poll.
    other = shown[1]
    runtime.journal.acknowledge(other, "ana", now=T0.to_pydatetime())
    duo.wait_for_contains_text(
        f'.m-alert[data-key="{other}"] .m-ack', "Acknowledged by Ana Lee at", timeout=20
    )
    no_horizontal_scroll(duo)
    assert_accessible(duo.driver)
    duo.driver.save_screenshot(str(screenshots / "mobile-staff.png"))
    # The public sees that staff handled it, not who or what they wrote.
    duo.driver.delete_all_cookies()
    open_phone(duo)
    public = card(duo, key).text
    assert "Acknowledged by staff at Tue 10:30" in public
    assert USER not in public and "Ana" not in public and "Checking" not in public


def test_the_site_sheet_agrees_with_its_alert(duo: DashComposite, runtime: Runtime) -> None:
    open_phone(duo)
    ranked = runtime.city.ranked_alerts("public")
    fault = next(a for a in ranked if a.rule.startswith("sensor.") and a.site_id)
    view = runtime.city.view("public")
    assert fault.site_id in set(view.sites["id"].astype(str))
    button = {"id": fault.site_id, "type": "m-site"}
    duo.driver.execute_script(
        "const b = document.getElementById(arguments[0]); b.scrollIntoView(); b.click();",
        json.dumps(button, separators=(",", ":"), sort_keys=True),
    )
    duo.wait_for_element("#m-sheet:not([hidden]) .m-sheet-alerts", timeout=15)
    sheet = duo.find_element("#m-sheet").text
    title = card(duo, fault.key).find_element(By.CSS_SELECTOR, ".m-alert-title strong").text
    assert f"{title}: the newest value" in duo.find_element(".m-site-now").text
    assert title in duo.find_element(".m-sheet-alerts").text and "may be wrong" in sheet
    duo.find_element("#m-close").click()


def test_german_text(duo: DashComposite) -> None:
    open_phone(duo, "?lang=de")
    assert duo.find_element("#m-alerts-h").text == "Meldungen"
    assert duo.find_element("#m-near-h").text == "In meiner Nähe"
    assert duo.find_element(".cc-mobile").get_attribute("lang") == "de"
    no_horizontal_scroll(duo)
