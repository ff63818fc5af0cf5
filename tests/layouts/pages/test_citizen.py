"""The citizen's phone page (``/c``), where the kiosk's QR code leads, in a real headless
Chromium at 390 x 844: the kiosk's questions answered for the whole city, a chosen
district or the browser's position, with their age and "how this data is collected",
in both languages, public data only and no staff words, whoever asks."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from dash.testing.composite import DashComposite
from selenium.webdriver.common.by import By

from layouts.pages.citizen import answers
from tests.a11y import assert_accessible
from tests.browser import AppServers, Clock, own_errors
from tests.layouts.pages.test_kiosk import INTERNAL_NAME, kiosk_config, signed_in, viewport
from wiring.runtime import Runtime

pytestmark = pytest.mark.browser

FLINDERS_STREET = {"latitude": -37.8179, "longitude": 144.9670, "accuracy": 20}
STAFF_WORDS = ("staff", "sign in", "sign-in", "signed in", "acknowledge", "alert")


@pytest.fixture(scope="module")
def runtime(app_server: AppServers, clock: Clock) -> Runtime:
    return app_server.city(clock, kiosk_config())


@pytest.fixture(scope="module")
def duo(app_server: AppServers, runtime: Runtime) -> DashComposite:
    dc = app_server.browser(runtime, size=(600, 1000))
    viewport(dc, 390, 844)
    return dc


def open_page(duo: DashComposite, query: str = "") -> None:
    duo.driver.get(f"{duo.server_url}/c{query}")
    duo.wait_for_element("#cz-answers .cz-card", timeout=30)


def page_text(duo: DashComposite) -> str:
    return str(duo.driver.execute_script("return document.body.innerText"))


def test_the_kiosk_questions_for_the_whole_city(
    duo: DashComposite, runtime: Runtime, screenshots: Path
) -> None:
    open_page(duo)
    cards = duo.driver.find_elements(By.CSS_SELECTOR, ".cz-card")
    assert [c.get_attribute("data-domain") for c in cards] == [
        "air",
        "pedestrians",
        "parking",
        "traffic",
    ]
    for card in cards:
        about = card.find_element(By.CSS_SELECTOR, ".cz-about")
        assert about.text == "How this data is collected"
        assert about.get_attribute("href").endswith(
            f"/about/{card.get_attribute('data-domain')}?lang=en"
        )
        assert card.find_element(By.CSS_SELECTOR, ".cz-age").text.startswith("Updated ")
    assert duo.find_element(".cz-demo-badge").text == "Demo: replayed and simulated data"
    text = page_text(duo)
    assert not any(word in text.lower() for word in STAFF_WORDS), text
    assert "Answers for the whole city" in text
    assert script_width(duo) <= 390  # nothing wider than the phone
    duo.driver.save_screenshot(str(screenshots / "citizen-phone.png"))
    assert own_errors(duo, runtime.config) == []
    assert_accessible(duo.driver, "body")


def script_width(duo: DashComposite) -> int:
    return int(duo.driver.execute_script("return document.documentElement.scrollWidth"))


def test_answers_for_a_chosen_district(duo: DashComposite) -> None:
    open_page(duo)
    duo.find_element(".cz-choose summary").click()
    duo.find_element('#cz-district input[value="Docklands"]').click()
    duo.wait_for_contains_text("#cz-answers", "Answers for Docklands", timeout=20)
    parking = duo.find_element('.cz-card[data-domain="parking"] .cz-figure')
    assert "within 500 m of here" in parking.text


def test_answers_where_the_browser_stands(duo: DashComposite, screenshots: Path) -> None:
    duo.driver.execute_cdp_cmd(
        "Browser.grantPermissions", {"origin": duo.server_url, "permissions": ["geolocation"]}
    )
    duo.driver.execute_cdp_cmd("Emulation.setGeolocationOverride", FLINDERS_STREET)
    open_page(duo)
    duo.find_element("#cz-locate").click()
    duo.wait_for_contains_text("#cz-answers", "Answers for your position", timeout=20)
    items = duo.driver.find_elements(
        By.CSS_SELECTOR, '.cz-card[data-domain="parking"] .cz-items li'
    )
    assert items and "min walk" in items[0].text
    air = duo.find_element('.cz-card[data-domain="air"] .cz-lines').text
    assert "Nearest station:" in air and "from here" in air  # the air where they stand
    duo.driver.save_screenshot(str(screenshots / "citizen-phone-near.png"))
    # Far outside the city: the whole city, and a word why.
    duo.driver.execute_cdp_cmd(
        "Emulation.setGeolocationOverride", {"latitude": 52.52, "longitude": 13.40, "accuracy": 20}
    )
    open_page(duo)
    duo.find_element("#cz-locate").click()
    duo.wait_for_contains_text("#cz-status", "outside Melbourne (demo)", timeout=20)


def test_german(duo: DashComposite, screenshots: Path) -> None:
    open_page(duo, "?lang=de")
    text = page_text(duo)
    assert "Ist die Luft heute gut?" in text and "Wo sind Sie?" in text
    assert "Demo: wiedergegebene und simulierte Daten" in text
    assert "So werden diese Daten erhoben" in text
    assert duo.find_element(".cc-citizen").get_attribute("lang") == "de"
    duo.driver.save_screenshot(str(screenshots / "citizen-phone-de.png"))


def test_public_data_only_whoever_asks(
    duo: DashComposite, runtime: Runtime, app_server: AppServers
) -> None:
    base = duo.server_url.rstrip("/")
    # Signed in as an executive, the page still reads the public view only.
    session = signed_in(base, "erin")
    body = {
        "output": "..cz-answers.children...cz-status.children...cz-report-link.href..",
        "outputs": [
            {"id": "cz-answers", "property": "children"},
            {"id": "cz-status", "property": "children"},
            {"id": "cz-report-link", "property": "href"},
        ],
        "inputs": [
            {"id": "cz-coords", "property": "data", "value": {"lat": -37.81, "lon": 144.96}},
            {"id": "cz-district", "property": "value", "value": None},
        ],
        "state": [{"id": "cz-lang", "property": "data", "value": "en"}],
        "changedPropIds": ["cz-coords.data"],
    }
    answer = session.post(f"{base}/_dash-update-component", json=body, timeout=30)
    assert answer.status_code == 200 and "Answers for your position" in answer.text
    assert INTERNAL_NAME not in answer.text
    plain = requests.post(f"{base}/_dash-update-component", json=body, timeout=30)
    assert plain.status_code == 200 and INTERNAL_NAME not in plain.text
    everything = " ".join(
        " ".join([*s.credits, *s.lines, s.figure_label])
        for s in answers(runtime.city, "en", (-37.81, 144.96), "here")
    )
    assert INTERNAL_NAME not in everything and "Pedestrian Counting System" in everything
