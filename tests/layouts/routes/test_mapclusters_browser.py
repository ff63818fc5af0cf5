"""The cockpit's map with every layer clustered on the server, in a real Chromium: at
three zoom levels the clusters' counts and colours are those of the data in the view the
browser asked for, and an internal layer never appears in a public view."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from dash import Dash
from dash.testing.composite import DashComposite

import layouts.routes.mapdata as mapdata
from cockpit.config import CityConfig, default_config_path, load_config
from cockpit.present.clusters import LEVELS
from layouts.routes.mapclusters import MAX_ZOOM, layer_index
from tests.browser import T0, Clock, browser, demo_runtime, own_errors
from wiring.app import create_app
from wiring.runtime import Runtime

pytestmark = pytest.mark.browser

MARKERS = """
return Array.from(document.querySelectorAll('.leaflet-marker-pane .cc-marker')).map(el => {
    const level = ['ok', 'warn', 'alert', 'stale'].find(l => el.classList.contains('cc-' + l));
    return el.classList.contains('cc-cluster')
        ? ['cluster', Number(el.textContent), level]
        : ['site', el.dataset.site || '', level];
});
"""
ASKED = """
return performance.getEntriesByType('resource').map(r => r.name)
    .filter(n => n.includes('/map-clusters/'));
"""


def _city() -> CityConfig:
    config = load_config(default_config_path())
    config.layers["traffic"].access = "internal"  # staff only: never sent to the public
    return config


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    rt = demo_runtime(tmp_path_factory.mktemp("data"), Clock(T0), _city(), backfill=False)
    yield rt
    rt.close()


@pytest.fixture(scope="module")
def duo(
    request: pytest.FixtureRequest, runtime: Runtime, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DashComposite]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mapdata, "SERVER_CLUSTER_SITES", 1)
        app: Dash = create_app(runtime, start_refresher=False)
        with browser(request, app, tmp_path_factory.mktemp("download")) as dc:
            yield dc


def colour(counts: dict[str, int], n: int) -> str:
    """A cluster's level: the state of most of its members (as assets/map.js draws it)."""
    if counts["stale"] * 2 >= n:
        return "stale"
    if counts["alert"] * 2 >= n:
        return "alert"
    if (counts["alert"] + counts["warn"]) * 2 >= n:
        return "warn"
    return "ok"


def expected_markers(runtime: Runtime, urls: list[str]) -> Counter[tuple[str, Any, str]]:
    """The markers the data gives for the views named by ``urls`` (one per layer)."""
    city = runtime.city
    view = city.view("public")
    tz = runtime.config.city.timezone
    wanted: Counter[tuple[str, Any, str]] = Counter()
    for url in urls:
        layer = urlparse(url).path.rsplit("/", 1)[1].removesuffix(".json")
        args = parse_qs(urlparse(url).query)
        zoom = int(args["z"][0])
        x0, y0, x1, y1 = (int(b) for b in args["b"][0].split(","))
        answer = layer_index(city, view, layer, None).view(zoom, (x0, y0, x1, y1))
        found = answer.clusters
        for n, states in zip(found.get("count", []), found.get("states", []), strict=True):
            counts = dict(zip(LEVELS, (int(s) for s in states), strict=True))
            wanted["cluster", int(n), colour(counts, int(n))] += 1
        table = view.layer_table(layer, tz).iloc[answer.sites]
        for site_id, level in zip(table["id"], table["level"], strict=True):
            wanted["site", site_id, level] += 1
    return wanted


def show(duo: DashComposite, runtime: Runtime, centre: tuple[float, float], zoom: int) -> list[str]:
    """The map moved to ``centre`` (lat, lon) at ``zoom``; the newest view URL per layer."""
    lat, lon = centre
    duo.driver.execute_script(
        "window.dash_clientside.set_props('cc-map', {viewport: "
        "{center: arguments[0], zoom: arguments[1], transition: 'setView'}});",
        [lat, lon],
        zoom,
    )
    layers = set(runtime.city.view("public").layers)
    deadline = time.monotonic() + 30
    while True:
        newest: dict[str, str] = {}
        for url in duo.driver.execute_script(ASKED):
            if f"z={zoom}&" in url:
                newest[urlparse(url).path] = url
        if len(newest) == len(layers):
            return list(newest.values())
        assert time.monotonic() < deadline, f"the map never asked for zoom {zoom}: {newest}"
        time.sleep(0.2)


def test_clusters_follow_the_data_at_three_zooms(duo: DashComposite, runtime: Runtime) -> None:
    duo.wait_for_page(f"{duo.server_url}/")
    duo.wait_for_element(".leaflet-container .cc-cluster", timeout=30)
    staff_ids = set(
        runtime.city.view("staff").layer_table("traffic", runtime.config.city.timezone)["id"]
    )
    assert staff_ids
    city_zoom = runtime.config.map.zoom
    middle = tuple(runtime.config.map.center)
    parking = runtime.city.view("public").layer_table("parking", runtime.config.city.timezone)
    street = (float(parking["lat"].iloc[0]), float(parking["lon"].iloc[0]))
    kinds = set()
    for centre, zoom in ((middle, city_zoom - 2), (middle, city_zoom + 1), (street, MAX_ZOOM + 1)):
        urls = show(duo, runtime, centre, zoom)
        wanted = expected_markers(runtime, urls)
        deadline = time.monotonic() + 30
        shown = Counter(tuple(m) for m in duo.driver.execute_script(MARKERS))
        while shown != wanted and time.monotonic() < deadline:
            time.sleep(0.3)
            shown = Counter(tuple(m) for m in duo.driver.execute_script(MARKERS))
        assert shown == wanted, f"zoom {zoom}"
        kinds |= {m[0] for m in shown}
        assert not {m[1] for m in shown if m[0] == "site"} & staff_ids
    assert kinds == {"cluster", "site"}
    # Clicking a cluster zooms to its members' extent: the map asks for a closer view.
    duo.driver.execute_script(
        "window.dash_clientside.set_props('cc-map', {viewport: "
        "{center: arguments[0], zoom: arguments[1], transition: 'setView'}});",
        list(middle),
        city_zoom - 2,
    )
    time.sleep(1)  # the view was asked for before: it is drawn from the browser's answer
    before = len(duo.driver.execute_script(ASKED))
    duo.driver.execute_script(
        "document.querySelector('.leaflet-marker-pane .cc-cluster')"
        ".dispatchEvent(new MouseEvent('click', {bubbles: true}));"
    )
    deadline = time.monotonic() + 30
    while True:
        newer = duo.driver.execute_script(ASKED)[before:]
        zooms = {int(parse_qs(urlparse(u).query)["z"][0]) for u in newer}
        if zooms and min(zooms) > city_zoom - 2:
            break
        assert time.monotonic() < deadline, "a clicked cluster did not zoom the map in"
        time.sleep(0.2)
    assert not [u for u in duo.driver.execute_script(ASKED) if "/traffic.json" in u]
    assert own_errors(duo, runtime.config) == []
