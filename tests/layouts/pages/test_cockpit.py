"""The desktop cockpit in a real headless Chromium: one app server for the whole module."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from dash.testing.composite import DashComposite
from selenium.webdriver.common.by import By

from tests.browser import T0, AppServers, Clock, own_errors
from wiring.runtime import Runtime

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def runtime(app_server: AppServers, clock: Clock) -> Runtime:
    rt = app_server.city(clock)
    rt.config.ui.poll_seconds = 1
    return rt


@pytest.fixture(scope="module")
def duo(app_server: AppServers, runtime: Runtime) -> DashComposite:
    return app_server.browser(runtime)


def test_cockpit_loads_without_console_errors(
    duo: DashComposite, runtime: Runtime, screenshots: Path
) -> None:
    duo.wait_for_element("#cc-kpis .cc-kpi", timeout=20)
    duo.wait_for_element(".leaflet-container .cc-marker", timeout=20)
    duo.wait_for_element(".cc-area-label", timeout=10)  # the offline basemap is drawn
    # The map no longer waits for the first refresh: the summary is written by it.
    duo.wait_for_element("#cc-summary strong", timeout=20)
    duo.driver.save_screenshot(str(screenshots / "cockpit-desktop.png"))
    assert own_errors(duo, runtime.config) == []


def test_kpis_on_screen_equal_computed(duo: DashComposite, runtime: Runtime) -> None:
    view = runtime.city.view("public")
    duo.wait_for_element("#kpi-footfall", timeout=20)
    for item in view.kpis:
        shown = duo.find_element(f"#kpi-{item.key} .cc-kpi-value").text
        assert shown == item.display, item.key
        assert duo.find_element(f"#kpi-{item.key} .cc-kpi-level").text.endswith(item.level_label)
        assert "Updated" in duo.find_element(f"#kpi-{item.key} .cc-kpi-footer").text
    map_updated = duo.find_element("#cc-map-updated").text
    for layer in runtime.config.layers.values():
        assert layer.title in map_updated


@pytest.mark.parametrize("layer", ["traffic", "air", "parking", "pedestrians"])
def test_each_layer_has_markers(duo: DashComposite, runtime: Runtime, layer: str) -> None:
    duo.wait_for_element(".leaflet-control-layers-overlays", timeout=20)
    boxes = duo.driver.find_elements(By.CSS_SELECTOR, ".leaflet-control-layers-overlays label")
    titles = {runtime.config.layers[k].title: k for k in runtime.config.layers}
    for label in boxes:
        box = label.find_element(By.TAG_NAME, "input")
        wanted = titles[label.text.strip()] == layer
        if box.is_selected() != wanted:
            box.click()
    duo.wait_for_element(".leaflet-marker-pane .cc-marker", timeout=10)
    markers = duo.driver.find_elements(By.CSS_SELECTOR, ".leaflet-marker-pane .cc-marker")
    assert markers
    # Restore every layer for the next test.
    for label in boxes:
        box = label.find_element(By.TAG_NAME, "input")
        if not box.is_selected():
            box.click()
    assert all(label.find_element(By.TAG_NAME, "input").is_selected() for label in boxes)
    assert own_errors(duo, runtime.config) == []  # unticking a layer breaks nothing


def test_clicking_a_site_updates_the_trend(
    duo: DashComposite, runtime: Runtime, screenshots: Path
) -> None:
    duo.wait_for_element(".leaflet-marker-pane .cc-marker[data-site]", timeout=20)
    marker = duo.driver.find_elements(
        By.CSS_SELECTOR, ".leaflet-marker-pane .cc-marker[data-site]"
    )[0]
    site_id = marker.get_attribute("data-site")
    name = runtime.city.view("public").sites.set_index("id").loc[site_id, "name"]
    marker.click()
    duo.wait_for_text_to_equal("#cc-site-detail h3", str(name), timeout=10)
    duo.wait_for_element("#cc-trend .scatterlayer .trace", timeout=10)
    duo.driver.save_screenshot(str(screenshots / "cockpit-trend.png"))


def test_numbers_move_without_reload(duo: DashComposite, runtime: Runtime, clock: Clock) -> None:
    before = duo.find_element("#kpi-traffic .cc-kpi-value").text
    marker = duo.driver.execute_script("window.__ccNoReload = 1; return window.__ccNoReload;")
    assert marker == 1
    clock.when = T0 + pd.Timedelta(hours=7)
    runtime.refresher.refresh_all()
    expected = next(k.display for k in runtime.city.view("public").kpis if k.key == "traffic")
    assert expected != before
    # The refresh also recomputes the twin panels of the new hour: allow for a busy machine.
    duo.wait_for_text_to_equal("#kpi-traffic .cc-kpi-value", expected, timeout=45)
    assert duo.driver.execute_script("return window.__ccNoReload;") == 1  # same page, no reload


def test_twin_panels_show_baselines_anomalies_targets_and_co2(
    duo: DashComposite, runtime: Runtime, screenshots: Path
) -> None:
    duo.get_logs()  # this test judges its own page only
    duo.driver.get(duo.server_url + "/")  # a fresh page: earlier tests toggled layers
    duo.wait_for_element(".leaflet-marker-pane .cc-marker[data-site]", timeout=30)
    duo.wait_for_element("#cc-summary p strong", timeout=30)
    assert duo.find_element("#cc-summary").text.startswith("The city at")
    # KPI cards compare with the same weekday and hour, in numbers and words.
    line = duo.find_element("#kpi-traffic .cc-kpi-baseline").text
    assert "Tuesday" in line and "typical" in line and "veh/h" in line
    duo.wait_for_element("#cc-anomalies li.cc-anomaly", timeout=20)
    assert duo.find_element("#cc-anomalies h2").text == "Unusual today"
    target = duo.find_element("#cc-targets .cc-target").text
    assert "1,300" in target and "2030" in target
    co2 = duo.find_element("#kpi-co2").text
    assert "estimate" in co2.lower() and "g CO₂ per vehicle-km" in co2
    duo.wait_for_element("#cc-health-slot table", timeout=20)
    # Colour by "against typical": markers take below / typical / above / unknown.
    duo._wait_for_callbacks()  # the map's layers have loaded
    duo.find_element("#cc-colour input[value=typical]").click()
    duo.wait_for_element(".leaflet-marker-pane .cc-marker.cc-typical", timeout=20)
    assert duo.find_element("#cc-typical-legend").is_displayed()
    duo.driver.execute_script("window.scrollTo(0, 0);")
    duo.driver.save_screenshot(str(screenshots / "cockpit-twin.png"))
    duo.driver.set_window_size(1920, 1080)
    duo.driver.save_screenshot(str(screenshots / "cockpit-twin-1920.png"))
    duo.driver.set_window_size(1600, 1000)
    duo.find_element("#cc-colour input[value=state]").click()
    duo.wait_for_no_elements(".leaflet-marker-pane .cc-marker.cc-typical", timeout=20)
    assert own_errors(duo, runtime.config) == []


def test_trend_shows_a_forecast_band_and_traffic_against_air(
    duo: DashComposite, runtime: Runtime
) -> None:
    from cockpit.twin.crossdomain import pair_sites

    view = runtime.city.view("public")
    pairs = pair_sites(view.sites, runtime.config.twin.max_pair_km)
    site_id = str(pairs["traffic_site"].iloc[0])
    duo.driver.execute_script(
        "window.dash_clientside.set_props('cc-site', {data: arguments[0]});", site_id
    )
    name = str(view.sites.set_index("id").loc[site_id, "name"])
    duo.wait_for_text_to_equal("#cc-site-detail h3", name, timeout=30)
    duo.wait_for_contains_text("#cc-trend .gtitle", "forecast", timeout=30)
    names = duo.driver.execute_script(
        "return document.getElementById('cc-trend').querySelector('.js-plotly-plot')"
        ".data.map(function (t) { return t.name; });"
    )
    assert any(n.endswith("forecast") for n in names)
    assert any(n.endswith("likely range") for n in names)
    duo.wait_for_element("#cc-pair .cc-corr li", timeout=20)
    assert str(pairs["air_name"].iloc[0]) in duo.find_element("#cc-pair h3").text
    assert "correlation" in duo.find_element("#cc-pair .cc-corr").text


def test_parking_site_answers_free_bays_at_an_hour(duo: DashComposite, runtime: Runtime) -> None:
    view = runtime.city.view("public")
    site_id = str(view.sites.loc[view.sites["domain"] == "parking", "id"].iloc[0])
    duo.driver.execute_script(
        "window.dash_clientside.set_props('cc-site', {data: arguments[0]});", site_id
    )
    duo.wait_for_element("#cc-park-answer strong", timeout=30)
    assert "free places" in duo.find_element("#cc-park-answer").text
    assert duo.find_element("#cc-park").is_displayed()


def test_german_summary_and_header_links(duo: DashComposite, runtime: Runtime) -> None:
    duo.driver.get(f"{duo.server_url}/?lang=de")
    duo.wait_for_element("#cc-summary p strong", timeout=30)
    assert duo.find_element("#cc-summary").text.startswith("Die Stadt am")
    assert duo.find_element("#cc-tm-live").text == "Live"
    assert duo.find_element("#cc-nav-signin").get_attribute("href").endswith("/signin?next=/")
    assert duo.driver.find_elements(By.CSS_SELECTOR, "#cc-nav-notices") == []
    assert own_errors(duo, runtime.config) == []
    duo.driver.get(duo.server_url + "/")
    duo.wait_for_element("#cc-summary p strong", timeout=30)
