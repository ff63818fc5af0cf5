"""The desktop cockpit in a real headless Chromium: one app server for the whole module."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from dash.testing.application_runners import ThreadedRunner
from dash.testing.composite import DashComposite
from selenium.webdriver.common.by import By

from cockpit.config import default_config_path, load_config
from cockpit.runtime import Runtime
from layouts.app import create_app

pytestmark = pytest.mark.browser

# Replay time pinned so that the figures on screen can be recomputed exactly.
T0 = pd.Timestamp("2026-11-24 10:30", tz="Australia/Melbourne").tz_convert("UTC")


class Clock:
    def __init__(self, when: pd.Timestamp) -> None:
        self.when = when

    def __call__(self) -> pd.Timestamp:
        return self.when


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory, clock: Clock) -> Iterator[Runtime]:
    config = load_config(default_config_path())
    config.ui.poll_seconds = 1
    rt = Runtime.open(
        config, tmp_path_factory.mktemp("data"), clock=lambda: clock().to_pydatetime()
    )
    for connector in rt.refresher.connectors.values():
        connector.clock_now = clock  # type: ignore[attr-defined]
    rt.refresher.refresh_due()
    rt.refresher.backfill()
    yield rt
    rt.close()


@pytest.fixture(scope="module")
def duo(
    request: pytest.FixtureRequest, runtime: Runtime, tmp_path_factory
) -> Iterator[DashComposite]:
    app = create_app(runtime, start_refresher=False)
    with (
        ThreadedRunner() as server,
        DashComposite(
            server=server,
            browser="chrome",
            headless=True,
            options=request.config.hook.pytest_setup_options(),
            download_path=str(tmp_path_factory.mktemp("download")),
            percy_run=False,
        ) as dc,
    ):
        dc.start_server(app, port=_free_port())
        dc.driver.set_window_size(1600, 1000)
        yield dc


def _own_errors(duo: DashComposite, tile_host: str) -> list[dict]:
    """Browser console errors, less failed tile requests (there is no internet here)."""
    return [e for e in duo.get_logs() if tile_host not in e.get("message", "")]


def test_cockpit_loads_without_console_errors(
    duo: DashComposite, runtime: Runtime, screenshots: Path
) -> None:
    duo.wait_for_element("#cc-kpis .cc-kpi", timeout=20)
    duo.wait_for_element(".leaflet-container .cc-marker", timeout=20)
    duo.wait_for_element(".cc-area-label", timeout=10)  # the offline basemap is drawn
    duo.driver.save_screenshot(str(screenshots / "cockpit-desktop.png"))
    tile_host = runtime.config.map.tile_url.split("/")[2]
    assert _own_errors(duo, tile_host) == []


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
    duo.wait_for_text_to_equal("#kpi-traffic .cc-kpi-value", expected, timeout=15)
    assert duo.driver.execute_script("return window.__ccNoReload;") == 1  # same page, no reload
