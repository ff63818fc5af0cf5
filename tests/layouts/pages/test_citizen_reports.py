"""A citizen's report from the phone to the public layer, in a real headless Chromium at
390 x 844 against one app server for the module: filed from the citizen page (the
kiosk's QR target) in German with the browser's position and a photo carrying GPS, it
gets a code; staff see it on their phone view and publish it with an answer; the public
citizen page then lists it in German and English, with the photo nowhere public."""

from __future__ import annotations

import html
import io
import re
from pathlib import Path
from typing import Any

import pytest
import requests
from dash.testing.composite import DashComposite
from PIL import ExifTags, Image
from selenium.common.exceptions import (
    ElementClickInterceptedException,
    StaleElementReferenceException,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.support.expected_conditions import staleness_of
from selenium.webdriver.support.ui import WebDriverWait

from cockpit.reports import round_position
from tests.a11y import assert_accessible
from tests.browser import AppServers, Clock, own_errors
from tests.layouts.pages.test_kiosk import PASSWORD, kiosk_config, viewport
from wiring.runtime import Runtime

pytestmark = pytest.mark.browser

FLINDERS_STREET = {"latitude": -37.8179, "longitude": 144.9670, "accuracy": 20}
TEXT = "Der Zähler an der Ecke zeigt seit Stunden 0"
ANSWER = "Danke! Der Zähler wird heute geprüft."


@pytest.fixture(scope="module")
def runtime(app_server: AppServers, clock: Clock) -> Runtime:
    return app_server.city(clock, kiosk_config(), backfill=False)


@pytest.fixture(scope="module")
def duo(app_server: AppServers, runtime: Runtime) -> DashComposite:
    dc = app_server.browser(runtime, size=(600, 1000))
    viewport(dc, 390, 844)
    return dc


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A phone's JPEG with EXIF GPS and the camera's serial number."""
    image = Image.new("RGB", (640, 480), (40, 90, 160))
    exif = Image.Exif()
    exif[ExifTags.Base.BodySerialNumber] = "SN-BROWSER-7"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "S",
        ExifTags.GPS.GPSLatitude: (37.0, 49.0, 4.44),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (144.0, 58.0, 1.2),
    }
    path = tmp_path_factory.mktemp("photos") / "IMG_2041.jpg"
    image.save(path, "JPEG", exif=exif)
    return path


def text_of(duo: DashComposite) -> str:
    return str(duo.driver.execute_script("return document.body.innerText"))


def sign_in(duo: DashComposite, user: str, next_path: str) -> None:
    duo.driver.get(f"{duo.server_url}/signin?next={next_path}")
    duo.wait_for_element("#cc-user", timeout=20).send_keys(user)
    duo.find_element("#cc-password").send_keys(PASSWORD)
    duo.find_element("form button[type=submit]").click()


def test_a_report_goes_from_the_citizen_page_to_staff_and_onto_the_public_layer(
    duo: DashComposite, runtime: Runtime, photo: Path, screenshots: Path
) -> None:
    base = duo.server_url.rstrip("/")
    driver = duo.driver
    # The citizen, on the page the kiosk's QR code opens, shares the position.
    driver.execute_cdp_cmd(
        "Browser.grantPermissions", {"origin": duo.server_url, "permissions": ["geolocation"]}
    )
    driver.execute_cdp_cmd("Emulation.setGeolocationOverride", FLINDERS_STREET)
    driver.get(f"{base}/c?lang=de")
    duo.wait_for_element("#cz-answers .cz-card", timeout=30)
    assert "Noch keine veröffentlichten Meldungen." in text_of(duo)
    duo.find_element("#cz-locate").click()
    # The link follows the position once the answers for it have come.
    duo.wait_for_element("#cz-report-link[href*='lat=']", timeout=20)
    rounded = round_position(-37.8179, 144.9670, runtime.config.reports.position_m)
    link = duo.find_element("#cz-report-link")
    href = link.get_attribute("href") or ""
    assert f"lat={rounded[0]:.6f}" in href and "-37.8179&" not in href
    link.click()

    # The form, in German, says what is stored; the citizen fills it in.
    duo.wait_for_element("#cz-report-send", timeout=20)
    form_text = text_of(duo)
    assert "Was gespeichert wird" in form_text and "etwa 100 m gerundet" in form_text
    assert_accessible(duo.driver)
    driver.find_element(By.CSS_SELECTOR, 'input[name=category][value="sensor_wrong"]').click()
    duo.find_element("#cz-report-text").send_keys(TEXT)
    duo.find_element("#cz-report-photo").send_keys(str(photo))
    driver.save_screenshot(str(screenshots / "report-form-de.png"))
    duo.find_element("#cz-report-send").click()

    # The status page gives the code to follow it (the form has a code field of that id
    # too, for following an earlier report: wait for the status page's own paragraph).
    code = duo.wait_for_element("p#cz-report-code", timeout=20).text
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}", code)
    assert duo.find_element("#cz-report-status").text == "Eingegangen, noch nicht geprüft"
    driver.save_screenshot(str(screenshots / "report-status-received-de.png"))
    assert_accessible(duo.driver)
    kept = runtime.journal.report(code, photo=True)
    assert kept is not None and (kept.lat, kept.lon) == rounded and kept.language == "de"
    assert kept.photo is not None and b"SN-BROWSER-7" not in kept.photo
    assert b"GPS" not in kept.photo and b"Exif" not in kept.photo
    # Not published yet: nothing of it is public.
    assert TEXT not in requests.get(f"{base}/reports/published.csv", timeout=10).text

    # Staff see it on their phone view and publish it with an answer.
    sign_in(duo, "sam", "/m")
    duo.wait_for_element("#m-reports", timeout=30)
    panel = duo.find_element("#m-reports").text
    assert "1 new" in panel and TEXT[:40] in panel
    driver.execute_script("document.getElementById('m-reports').scrollIntoView()")
    driver.save_screenshot(str(screenshots / "report-staff-phone.png"))
    duo.find_element("#m-reports-link").click()
    section = duo.wait_for_element(f"#report-{code}", timeout=20)
    assert TEXT in section.text
    photo_link = section.find_element(By.LINK_TEXT, "photo").get_attribute("href")
    assert photo_link and photo_link.endswith(f"/reports/{code}/photo")
    section.find_element(By.CSS_SELECTOR, f'#st-{code} option[value="published"]').click()
    section.find_element(By.CSS_SELECTOR, f"#an-{code}").send_keys(ANSWER)
    section.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    duo.wait_for_contains_text(f"#report-{code} .cc-report-state", "Published", timeout=20)
    driver.save_screenshot(str(screenshots / "report-staff-published.png"))
    assert_accessible(duo.driver)
    (event,) = runtime.journal.audit_log(1, action="moderate report")
    assert event.actor == "sam" and code in event.detail and "published" in event.detail
    driver.get(f"{base}/signout")
    button = duo.wait_for_element("form button[type=submit]", timeout=20)
    button.click()
    # The sign-out form's own navigation ends before the next page is asked for.
    WebDriverWait(driver, 20).until(staleness_of(button))
    driver.get(f"{base}/signout")
    WebDriverWait(driver, 20).until(lambda _: "You are not signed in" in text_of(duo))

    # The public citizen page lists it, in German and in English, without any photo.
    for lang, title in (
        ("de", "Ein Sensor oder Zähler scheint falsch"),
        ("en", "A sensor or counter looks wrong"),
    ):
        driver.get(f"{base}/c?lang={lang}")
        duo.wait_for_element("#cz-reports .cz-report-item", timeout=30)
        layer = duo.find_element("#cz-reports").text
        assert title in layer and TEXT in layer and ANSWER in layer
        assert code not in layer
        assert not driver.find_elements(By.CSS_SELECTOR, "#cz-reports img")
        driver.execute_script("document.getElementById('cz-reports').scrollIntoView()")
        driver.save_screenshot(str(screenshots / f"report-public-layer-{lang}.png"))
    assert_accessible(duo.driver)
    # The public cockpit's map shows it as its own layer, the popup in German.
    viewport(duo, 1280, 900)
    try:
        driver.get(f"{base}/?lang=de")
        duo.wait_for_element(".leaflet-marker-pane .cc-marker:not(.cc-report)", timeout=30)
        duo.wait_for_element(".leaflet-marker-pane .cc-report-published", timeout=30)

        # The map may still be zooming to its data (a click then lands nowhere, or the
        # redrawn layer closes its popup): click the mark until its popup stays open.
        def popup_open(d: Any) -> bool:
            shown = d.find_elements(By.CSS_SELECTOR, ".cc-report-popup")
            if shown and TEXT in shown[0].text:
                return True
            d.find_element(By.CSS_SELECTOR, ".leaflet-marker-pane .cc-report-published").click()
            return False

        WebDriverWait(
            driver,
            30,
            poll_frequency=1,
            ignored_exceptions=(ElementClickInterceptedException, StaleElementReferenceException),
        ).until(popup_open)
        popup = duo.find_element(".cc-report-popup").text
        assert "Ein Sensor oder Zähler scheint falsch" in popup and TEXT in popup
        assert "Veröffentlicht" in popup and ANSWER in popup
        labels = driver.find_elements(By.CSS_SELECTOR, ".leaflet-control-layers-overlays label")
        names = [label.text.strip() for label in labels]
        assert "Bürgermeldungen" in names and "Staff counters" not in names  # the public
        driver.save_screenshot(str(screenshots / "report-cockpit-map-de.png"))
    finally:
        viewport(duo, 390, 844)
    driver.get(f"{base}/report/{code}?lang=en")
    assert duo.find_element("#cz-report-answer").text == ANSWER
    public_photo = requests.get(f"{base}/reports/{code}/photo", timeout=10)
    assert public_photo.status_code == 401
    geojson = requests.get(f"{base}/reports/published.geojson", timeout=10).json()
    (feature,) = geojson["features"]
    assert feature["geometry"]["coordinates"] == [rounded[1], rounded[0]]
    assert html.unescape(feature["properties"]["text"]) == TEXT
    assert own_errors(duo, runtime.config) == []


def test_the_photo_staff_open_is_the_cleaned_one(duo: DashComposite, runtime: Runtime) -> None:
    (report,) = runtime.journal.reports(("published",))
    with Image.open(io.BytesIO(runtime.journal.report(report.code, photo=True).photo)) as image:
        assert image.size == (640, 480) and len(image.getexif()) == 0
