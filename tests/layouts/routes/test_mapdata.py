"""Map layers as compact versioned files: the same features as GeoJSON, for the viewer's
role only, cached by version; the browser's loader draws them (real HTTP, real Chromium)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from dash import Dash
from dash.testing.composite import DashComposite
from selenium.webdriver.common.by import By

from cockpit.config import CityConfig
from layouts.components.map import BASEMAP_ROUTE, LAYER_ID, SOURCE_ID, basemap_file
from layouts.routes.mapdata import (
    EAGER_MAP_SCRIPT,
    LAZY_SCRIPTS,
    LayerFiles,
    compact_layer,
    map_data_url,
    map_data_urls,
)
from tests.browser import AppServers, own_errors
from wiring.runtime import Runtime

pytestmark = pytest.mark.browser


def decode(data: dict[str, Any]) -> dict[str, Any]:
    """The compact format read back as assets/mapdata.js reads it."""
    x = y = 0
    features = []
    for i in range(data["n"]):
        x += data["x"][i]
        y += data["y"][i]
        props = {
            name: spec[i] if isinstance(spec, list) else spec["keys"][spec["codes"][i]]
            for name, spec in data["columns"].items()
        }
        coords = [x / data["scale"], y / data["scale"]]
        features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": coords}})
        features[-1]["properties"] = props
    return {"type": "FeatureCollection", "features": features}


def assert_same(decoded: dict[str, Any], expected: dict[str, Any]) -> None:
    """Same sites in the same order with the same text; positions within half of the
    compact format's 1e-5 degree step."""
    got, want = decoded["features"], expected["features"]
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g["properties"] == w["properties"]
        for a, b in zip(g["geometry"]["coordinates"], w["geometry"]["coordinates"], strict=True):
            assert abs(a - b) <= 0.51e-5


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> CityConfig:
    from cockpit.config import default_config_path, load_config

    cfg = load_config(default_config_path())
    cfg.layers["traffic"].access = "internal"  # staff only: never sent to the public
    return cfg


@pytest.fixture(scope="module")
def runtime(app_server: AppServers, config: CityConfig) -> Runtime:
    return app_server.city(config=config, backfill=False)


@pytest.fixture(scope="module")
def app(app_server: AppServers, runtime: Runtime) -> Dash:
    return app_server.app(runtime)


@pytest.fixture(scope="module")
def duo(app_server: AppServers, app: Dash) -> DashComposite:
    return app_server.browser(app)


def test_compact_layer_decodes_to_the_same_features(runtime: Runtime) -> None:
    tz = runtime.config.city.timezone
    for role in ("public", "staff"):
        view = runtime.city.view(role)
        for layer_id in view.layers:
            compact = compact_layer(view, layer_id, tz)
            assert compact["n"] == len(view.layer_features(layer_id, tz)["features"])
            assert_same(decode(compact), view.layer_features(layer_id, tz))


def test_layer_files_follow_the_role(runtime: Runtime) -> None:
    files = LayerFiles(runtime.city)
    assert files.get("public", "traffic") is None  # an internal layer
    assert files.get("public", "parking") is not None
    staff = files.get("staff", "traffic")
    assert staff is not None
    assert set(staff[1]) >= {"identity", "gzip"}
    assert "traffic" not in map_data_urls(runtime.city.view("public"))


def test_route_answers_cached_versioned_files(duo: DashComposite, runtime: Runtime) -> None:
    base = duo.server_url
    version = runtime.city.version()
    url = base + map_data_url("parking", version, "public")
    answer = requests.get(url, headers={"Accept-Encoding": "br"}, timeout=60)
    assert answer.status_code == 200
    assert answer.headers["Content-Encoding"] == "br"
    assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert answer.json()["version"] == version
    again = requests.get(url, headers={"If-None-Match": answer.headers["ETag"]}, timeout=60)
    assert again.status_code == 304
    stale = requests.get(base + map_data_url("parking", version - 1, "public"), timeout=60)
    assert stale.headers["Cache-Control"] == "no-cache"
    assert stale.json()["version"] == version  # the current data, not kept under the old URL


def test_route_never_gives_the_public_internal_data(duo: DashComposite) -> None:
    base = duo.server_url
    assert requests.get(f"{base}/map-data/traffic.json?v=1&r=staff", timeout=60).status_code == 404
    assert requests.get(f"{base}/map-data/nowhere.json", timeout=60).status_code == 404
    # A URL naming another role is answered for the viewer's own role and never stored.
    named = requests.get(f"{base}/map-data/parking.json?v=1&r=staff", timeout=60)
    assert named.status_code == 200
    assert named.headers["Cache-Control"] == "private, no-store"
    index = requests.get(f"{base}/map-data.json", timeout=60).json()
    assert not any("traffic" in url for url in index["urls"])
    assert all("r=public" in url for url in index["urls"])


def test_cockpit_map_draws_layers_from_their_files(
    duo: DashComposite, runtime: Runtime, screenshots: Path
) -> None:
    duo.wait_for_page(f"{duo.server_url}/")
    duo.wait_for_element(".leaflet-container .cc-cluster", timeout=30)
    duo.wait_for_element(".leaflet-container .cc-marker", timeout=30)
    page = requests.get(f"{duo.server_url}/", timeout=60)
    assert "rel=preload" in page.headers.get("Link", "")
    view = runtime.city.view("public")
    tz = runtime.config.city.timezone
    for layer_id, url in map_data_urls(view).items():
        decoded = duo.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "fetch(arguments[0]).then(r => r.json())"
            ".then(d => done(window.dash_clientside.cockpit.decodeLayer(d)));",
            url,
        )
        assert_same(decoded, view.layer_features(layer_id, tz))
    duo.driver.save_screenshot(str(screenshots / "cockpit-map-from-files.png"))
    assert own_errors(duo, runtime.config) == []


def _written_by_callbacks(app: Dash) -> set[str]:
    """Every "<component id>.<prop>" some callback writes (pattern ids as Dash names them)."""
    written = set()
    for spec in app.callback_map:
        for output in spec.strip(".").split("..."):
            written.add(output.split("@")[0])
    return written


def test_first_layer_load_waits_for_no_callback(app: Dash) -> None:
    """Dash holds a callback back while a running one may still write one of its inputs.
    The layer loader's input (each layer's URL store) is written by no callback, so the
    page's first map data is drawn without waiting for the first refresh round trip."""
    loaders = [
        spec
        for spec, callback in app.callback_map.items()
        if any(SOURCE_ID in str(i["id"]) for i in callback["inputs"])
    ]
    assert loaders and all(LAYER_ID in spec for spec in loaders)
    assert not [w for w in _written_by_callbacks(app) if SOURCE_ID in w]


def test_basemap_is_its_own_cached_file(duo: DashComposite, runtime: Runtime) -> None:
    base = duo.server_url
    body, digest = basemap_file(str(runtime.config.resolve(runtime.config.map.basemap)))
    answer = requests.get(f"{base}{BASEMAP_ROUTE}?h={digest}", timeout=60)
    assert answer.status_code == 200
    assert answer.json() == json.loads(body)
    assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert answer.headers.get("Content-Encoding") in {"br", "gzip"}
    other = requests.get(f"{base}{BASEMAP_ROUTE}?h=older", timeout=60)
    assert other.headers["Cache-Control"] == "no-cache"
    page = requests.get(f"{base}/_dash-layout", timeout=60)
    assert "features" not in page.text  # not inside the page any more


def test_page_names_its_lazy_scripts_and_they_exist(duo: DashComposite) -> None:
    base = duo.server_url
    links = requests.get(f"{base}/", timeout=60).headers["Link"]
    for path in LAZY_SCRIPTS:
        url = f"/_dash-component-suites/{path}"
        assert f"<{url}>; rel=preload; as=script" in links
        assert requests.get(base + url, timeout=60).status_code == 200
    duo.wait_for_page(f"{base}/")
    duo.wait_for_element(".leaflet-container .cc-cluster", timeout=30)
    loaded = duo.driver.execute_script(
        "return performance.getEntriesByType('resource').map(r => r.name)"
    )
    for path in LAZY_SCRIPTS:  # the renderer asked for exactly the preloaded URLs
        assert f"{base}/_dash-component-suites/{path}" in loaded
    # The map layers' component runs with the page's scripts, once: no lazy fetch later.
    eager = f"/_dash-component-suites/{EAGER_MAP_SCRIPT}"
    page = requests.get(f"{base}/", timeout=60).text
    assert f'<script src="{eager}"></script>' in page
    assert loaded.count(base + eager) == 1


COUNT_MARKERS = """
var out = {sites: 0, alert: 0, warn: 0};
document.querySelectorAll('.leaflet-marker-pane .cc-marker').forEach(function (el) {
    if (el.classList.contains('cc-cluster')) {
        var m = /^(\\d+) sites; (\\d+) ■, (\\d+) ▲$/.exec(el.getAttribute('title') || '');
        if (m) { out.sites += +m[1]; out.alert += +m[2]; out.warn += +m[3]; }
    } else if (el.dataset.site) {
        out.sites += 1;
        if (el.classList.contains('cc-alert')) { out.alert += 1; }
        if (el.classList.contains('cc-warn')) { out.warn += 1; }
    }
});
return out;
"""


def _zoom_settled(duo: DashComposite) -> None:
    deadline = time.monotonic() + 10
    while duo.driver.find_elements(By.CSS_SELECTOR, ".leaflet-zoom-anim"):
        assert time.monotonic() < deadline, "the map never finished zooming"
        time.sleep(0.1)


def test_clusters_count_their_members_by_state(duo: DashComposite, runtime: Runtime) -> None:
    """Each cluster's title counts its members per state (counted as the cluster index is
    built); over the whole city they add up to the public view's sites and states."""
    view = runtime.city.view("public")
    tz = runtime.config.city.timezone
    levels = [lvl for layer in view.layers for lvl in view.layer_table(layer, tz)["level"]]
    wanted = {
        "sites": len(levels),
        "alert": levels.count("alert"),
        "warn": levels.count("warn"),
    }
    assert wanted["alert"] and wanted["warn"]  # the check below can tell counts apart
    duo.wait_for_page(f"{duo.server_url}/")
    duo.wait_for_element(".leaflet-container .cc-cluster", timeout=30)
    for _ in range(3):  # the whole city in view (a click during a zoom is not taken)
        _zoom_settled(duo)
        duo.find_element(".leaflet-control-zoom-out").click()
        time.sleep(0.5)
    _zoom_settled(duo)
    deadline = time.monotonic() + 30
    shown = duo.driver.execute_script(COUNT_MARKERS)
    while shown != wanted and time.monotonic() < deadline:
        time.sleep(0.3)
        shown = duo.driver.execute_script(COUNT_MARKERS)
    assert shown == wanted
    assert own_errors(duo, runtime.config) == []
