"""Provenance in a real headless Chromium: one click from a KPI to the data behind it,
the open-data catalogue, the methodology, "< k" on screen, and the map with its
attribution on the offline basemap when no tile can be loaded (one app server)."""

from __future__ import annotations

from pathlib import Path

import pytest
from dash.testing.composite import DashComposite
from selenium.webdriver.common.by import By

from tests.browser import T0, AppServers, own_errors
from tests.cockpit.test_privacy import plant_count
from wiring.runtime import Runtime

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def runtime(app_server: AppServers) -> Runtime:
    return app_server.city()


@pytest.fixture(scope="module")
def small_site(runtime: Runtime) -> str:
    return plant_count(runtime, 3)


@pytest.fixture(scope="module")
def duo(app_server: AppServers, runtime: Runtime, small_site: str) -> DashComposite:
    return app_server.browser(runtime)


def _open(duo: DashComposite, path: str) -> None:
    duo.driver.get(duo.server_url + path)


def test_kpi_click_opens_the_data_behind_it(
    duo: DashComposite, runtime: Runtime, small_site: str, screenshots: Path
) -> None:
    _open(duo, "/")
    link = duo.wait_for_element("#kpi-footfall-data", timeout=20)
    assert link.text == "Data behind this"
    link.click()
    duo.wait_for_text_to_equal("h1", "Data behind Footfall", timeout=15)
    duo.wait_for_element("#data-values", timeout=10)
    row = duo.driver.find_element(By.ID, f"data-row-{small_site}-pedestrians")
    value = row.find_element(By.CLASS_NAME, "cc-data-value").text
    assert value == "< 5 persons/h"
    source = duo.driver.find_element(By.ID, "data-source-pedestrians").text
    assert "City of Melbourne" in source and "CC BY 4.0" in source
    assert "May 2025, replayed" in source
    retrieved = T0.tz_convert(runtime.config.city.timezone)
    assert f"{retrieved:%a %d %b %H:%M:%S}" in source  # retrieval time
    exports = duo.driver.find_element(By.ID, "data-exports")
    hrefs = [a.get_attribute("href") for a in exports.find_elements(By.TAG_NAME, "a")]
    assert duo.server_url + "/export/pedestrians.csv" in hrefs
    assert duo.server_url + "/export/pedestrians.geojson" in hrefs
    shown = len(duo.driver.find_elements(By.CSS_SELECTOR, "#data-values tbody tr"))
    expected = runtime.city.view("public").latest.query("metric == 'pedestrians'")
    assert 0 < shown <= len(expected)
    duo.driver.save_screenshot(str(screenshots / "data-page.png"))
    assert own_errors(duo, runtime.config) == []


def test_catalogue_lists_each_public_source(
    duo: DashComposite, runtime: Runtime, screenshots: Path
) -> None:
    _open(duo, "/catalogue")
    duo.wait_for_element("#cc-catalogue", timeout=20)
    for source, cfg in runtime.config.sources.items():
        row = duo.driver.find_element(By.ID, f"source-{source}").text
        assert cfg.publisher in row and cfg.licence in row and cfg.connector in row
        assert f"every {cfg.refresh_seconds:g} s" in row
    parking = duo.driver.find_element(By.ID, "source-parking").text
    assert "3,309 parking" in parking
    links = [
        a.get_attribute("href")
        for a in duo.driver.find_elements(By.CSS_SELECTOR, "#cc-catalogue a.cc-export-link")
    ]
    assert duo.server_url + "/export/traffic.csv" in links
    duo.driver.save_screenshot(str(screenshots / "catalogue.png"))
    assert own_errors(duo, runtime.config) == []


def test_methodology_explains_each_kpi(
    duo: DashComposite, runtime: Runtime, screenshots: Path
) -> None:
    _open(duo, "/methodology")
    duo.wait_for_element("#method-air", timeout=20)
    for item in runtime.city.view("public").kpis:
        assert duo.driver.find_element(By.ID, f"method-{item.key}").is_displayed()
    air = duo.driver.find_element(By.ID, "method-air").text
    assert "European Air Quality Index (EEA)" in air and "extremely poor" in air
    parking = duo.driver.find_element(By.ID, "method-parking").text
    assert "nearly full from 95" in parking and "city config" in parking
    privacy = duo.driver.find_element(By.ID, "method-privacy-rule").text
    assert "below 5 are shown as “< 5”" in privacy
    duo.driver.save_screenshot(str(screenshots / "methodology.png"))
    assert own_errors(duo, runtime.config) == []


def test_map_works_without_tiles_and_credits_its_sources(
    duo: DashComposite, runtime: Runtime
) -> None:
    _open(duo, "/")
    # No tile server is reachable here: the offline basemap and the markers still show.
    duo.wait_for_element(".cc-area-label", timeout=20)
    duo.wait_for_element(".leaflet-marker-pane .cc-marker", timeout=20)
    loaded = duo.driver.execute_script(
        "return Array.from(document.querySelectorAll('.leaflet-tile-loaded')).length;"
    )
    assert loaded == 0
    # The credits are one line until opened.
    duo.find_element(".leaflet-control-attribution .cc-credits summary").click()
    credits = duo.find_element(".leaflet-control-attribution").text
    assert runtime.config.map.tile_attribution in credits
    assert runtime.config.map.basemap_attribution in credits
    for cfg in runtime.config.sources.values():
        assert cfg.name in credits and cfg.licence in credits, cfg.name
    # Every data source on the map is credited with its publisher and licence on the page.
    table = duo.find_element("#cc-sources").text
    for cfg in runtime.config.sources.values():
        assert cfg.name in table and cfg.publisher in table
    assert own_errors(duo, runtime.config) == []
