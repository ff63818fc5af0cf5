"""The clusters of a view of a large map layer, over the Flask test client: for the
viewer's role only, compressed, small, cacheable by version and view, refused when out
of bounds; then the cockpit's map in a real Chromium: at three zoom levels the clusters'
counts and colours are those of the data in the view the browser asked for, and an
internal layer never appears in a public view."""

from __future__ import annotations

import gzip
import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import brotli
import numpy as np
import pandas as pd
import pytest
from dash import Dash
from dash.testing.composite import DashComposite
from flask.testing import FlaskClient

import layouts.routes.mapdata as mapdata
from cockpit.config import CityConfig, default_config_path, load_config
from cockpit.present.clusters import LEVELS, block_range
from layouts.components.twin_panels import typical_of_sites
from layouts.routes.mapclusters import (
    MAX_ZOOM,
    TYPICAL_WORDS,
    CodedTable,
    first_blocks,
    first_views,
    layer_index,
    view_body,
    view_features,
)
from tests.browser import T0, AppServers, own_errors
from tests.layouts.routes.conftest import with_staff
from wiring.app import create_app
from wiring.runtime import Runtime

MAX_BYTES = 64 * 1024


def _city() -> CityConfig:
    config = load_config(default_config_path())
    config.layers["traffic"].access = "internal"  # staff only: never sent to the public
    with_staff(config)
    return config


@pytest.fixture(scope="module")
def runtime(app_server: AppServers) -> Runtime:
    return app_server.city(config=_city())  # with history: baselines to compare with


@pytest.fixture(scope="module")
def app(runtime: Runtime) -> Iterator[Dash]:
    # Every layer of the demo city is clustered on the server here.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mapdata, "SERVER_CLUSTER_SITES", 1)
        yield create_app(runtime, start_refresher=False)


def city_blocks(runtime: Runtime, zoom: int) -> str:
    lat, lon = runtime.config.map.center
    span = 360 / 2**zoom  # about four 256 px tiles wide
    x0, y0, x1, y1 = block_range(zoom, lon - span, lat - span / 2, lon + span, lat + span / 2)
    return f"{x0},{y0},{x1},{y1}"


def ask(client: FlaskClient, url: str, **headers: str) -> Any:
    return client.get(url, headers={"Accept-Encoding": "gzip", **headers})


def body(answer: Any) -> dict[str, Any]:
    data = answer.data
    if answer.headers.get("Content-Encoding") == "gzip":
        data = gzip.decompress(data)
    elif answer.headers.get("Content-Encoding") == "br":
        data = brotli.decompress(data)
    return dict(json.loads(data))


def url_of(runtime: Runtime, role: str, layer: str, zoom: int) -> str:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mapdata, "SERVER_CLUSTER_SITES", 1)
        url = mapdata.map_data_urls(runtime.city.view(role))[layer]
    assert url.startswith("/map-clusters/")
    return f"{url}&z={zoom}&b={city_blocks(runtime, zoom)}"


def test_the_page_names_server_clusters_for_large_layers(runtime: Runtime) -> None:
    view = runtime.city.view("public")
    assert all(not u.startswith("/map-clusters/") for u in mapdata.map_data_urls(view).values())
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mapdata, "SERVER_CLUSTER_SITES", 1)
        urls = mapdata.map_data_urls(view)
    assert set(urls) == set(view.layers) and "traffic" not in urls
    assert all(u.startswith("/map-clusters/") for u in urls.values())


def test_a_city_view_counts_every_site_and_its_state(public: FlaskClient, runtime: Runtime) -> None:
    zoom = runtime.config.map.zoom - 4  # the whole city in one view
    answer = ask(public, url_of(runtime, "public", "parking", zoom))
    assert answer.status_code == 200
    assert answer.headers["Content-Encoding"] == "gzip"
    data = body(answer)
    table = runtime.city.view("public").layer_table("parking", runtime.config.city.timezone)
    clusters = data["clusters"]
    assert sum(clusters["count"]) + data["sites"]["n"] == len(table)
    assert data["levels"] == list(LEVELS)
    level = data["sites"]["columns"]["level"]
    singles = pd.Series([level["keys"][c] for c in level["codes"]], dtype=object)
    per_state = [
        sum(s[k] for s in clusters["states"]) + int((singles == name).sum())
        for k, name in enumerate(LEVELS)
    ]
    expected = table["level"].value_counts()
    assert per_state == [int(expected.get(name, 0)) for name in LEVELS]
    for (west, south, east, north), lon, lat in zip(
        clusters["bounds"], clusters["lon"], clusters["lat"], strict=True
    ):
        assert west - 1e-5 <= lon <= east + 1e-5 and south - 1e-5 <= lat <= north + 1e-5


@pytest.mark.parametrize(
    ("accepted", "sent"), [("br, gzip", "br"), ("gzip, deflate", "gzip"), ("", None)]
)
def test_answers_travel_as_brotli_when_the_browser_takes_it(
    public: FlaskClient, runtime: Runtime, accepted: str, sent: str | None
) -> None:
    url = url_of(runtime, "public", "parking", runtime.config.map.zoom)
    answer = public.get(url, headers={"Accept-Encoding": accepted})
    assert answer.status_code == 200
    assert answer.headers.get("Content-Encoding") == sent
    plain = public.get(url, headers={"Accept-Encoding": ""})
    assert body(answer) == json.loads(plain.data)
    if sent is not None:
        assert len(answer.data) < len(plain.data)


def typical_words(runtime: Runtime, layer: str) -> pd.Series:
    """Each site of the public ``layer``'s word against typical, as the cockpit gives it."""
    city = runtime.city
    words = typical_of_sites(city.twin_at(None, "public"))
    table = city.view("public").layer_table(layer, runtime.config.city.timezone)
    return table["id"].astype(str).map(lambda i: words.get(i, "unknown"))


def test_views_coloured_against_typical_count_each_word(
    public: FlaskClient, runtime: Runtime
) -> None:
    zoom = runtime.config.map.zoom - 4  # the whole city in one view
    answer = ask(public, url_of(runtime, "public", "pedestrians", zoom) + "&c=typical")
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-cache"  # the words follow the hour
    data = body(answer)
    assert data["typical_words"] == list(TYPICAL_WORDS)
    clusters = data["clusters"]
    assert [sum(c) for c in clusters["typical"]] == clusters["count"]
    singles = data["sites"]["columns"]["typical"]
    single_words = Counter(singles["keys"][c] for c in singles["codes"])
    words = typical_words(runtime, "pedestrians")
    expected = words.value_counts()
    found = [
        sum(c[k] for c in clusters["typical"]) + single_words[word]
        for k, word in enumerate(TYPICAL_WORDS)
    ]
    assert found == [int(expected.get(word, 0)) for word in TYPICAL_WORDS]
    assert len(set(words)) > 1  # some with a baseline, one without
    # Each single site carries its own word.
    ids = data["sites"]["columns"]["id"]
    table = runtime.city.view("public").layer_table("pedestrians", runtime.config.city.timezone)
    by_id = dict(zip(table["id"].astype(str), words, strict=True))
    assert [singles["keys"][c] for c in singles["codes"]] == [by_id[i] for i in ids]
    refused = ask(public, url_of(runtime, "public", "pedestrians", zoom) + "&c=rainbow")
    assert refused.status_code == 400


@pytest.mark.parametrize("zoom", [8, 12, 14, MAX_ZOOM, MAX_ZOOM + 2])
def test_every_answer_is_small(public: FlaskClient, runtime: Runtime, zoom: int) -> None:
    answer = ask(public, url_of(runtime, "public", "parking", zoom))
    assert answer.status_code == 200
    assert len(answer.data) <= MAX_BYTES


def test_an_internal_layer_never_reaches_a_public_view(
    public: FlaskClient, staff: FlaskClient, runtime: Runtime
) -> None:
    zoom = runtime.config.map.zoom
    url = url_of(runtime, "staff", "traffic", zoom)
    assert ask(public, url).status_code == 404
    assert ask(public, url.replace("r=staff", "r=public")).status_code == 404
    seen = ask(staff, url)
    assert seen.status_code == 200
    assert seen.headers["Cache-Control"] == "private, no-store"
    traffic_ids = set(
        runtime.city.view("staff").layer_table("traffic", runtime.config.city.timezone)["id"]
    )
    for layer in runtime.city.view("public").layers:
        for z in (zoom - 4, zoom, MAX_ZOOM + 1):
            data = body(ask(public, url_of(runtime, "public", layer, z)))
            assert not traffic_ids & set(data["sites"]["columns"]["id"])


def test_public_answers_are_kept_by_version_and_view(public: FlaskClient, runtime: Runtime) -> None:
    url = url_of(runtime, "public", "parking", runtime.config.map.zoom)
    public.get("/health")  # the process's first request is never kept
    first = ask(public, url)
    assert first.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "Cookie" in first.headers["Vary"] and "Accept-Encoding" in first.headers["Vary"]
    again = ask(public, url, **{"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    old = ask(public, re.sub(r"v=\d+", "v=0", url))
    assert old.status_code == 200 and old.headers["Cache-Control"] == "no-cache"


def test_a_replayed_moment_has_its_own_views(public: FlaskClient, runtime: Runtime) -> None:
    at = int((T0 - pd.Timedelta(hours=1)).timestamp())
    url = url_of(runtime, "public", "parking", runtime.config.map.zoom) + f"&t={at}"
    assert ask(public, url).status_code == 200
    future = int((T0 + pd.Timedelta(hours=1)).timestamp())
    assert ask(public, url.replace(f"t={at}", f"t={future}")).status_code == 400


@pytest.mark.parametrize(
    "view", ["z=12", "z=x&b=1,2,3,4", "z=12&b=1,2,3", "z=30&b=0,0,0,0", "z=12&b=10,0,0,0"]
)
def test_views_out_of_bounds_are_refused(public: FlaskClient, runtime: Runtime, view: str) -> None:
    version = runtime.city.version()
    answer = public.get(f"/map-clusters/parking.json?v={version}&r=public&{view}")
    assert answer.status_code == 400
    assert answer.headers["Cache-Control"] == "no-store"


def test_single_sites_travel_in_the_layer_files_compact_form(runtime: Runtime) -> None:
    view = runtime.city.view("public")
    table = view.layer_table("parking", runtime.config.city.timezone)
    coded = CodedTable.of(table)
    for rows in ([], [0], [5, 2, 9, 3, 2000], list(range(0, len(table), 7))):
        picked = np.asarray(rows, dtype=np.int64)
        expected = mapdata.compact_table(table.iloc[picked], "parking", view.version)
        assert coded.compact(picked, "parking", view.version) == expected


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


@pytest.fixture(scope="module")
def duo(app_server: AppServers, app: Dash) -> DashComposite:
    return app_server.browser(app)


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
    """The map moved to ``centre`` (lat, lon) at ``zoom``; the newest view URL per layer.

    Moved again if it has not asked within a while: on a loaded machine the page's own
    first callbacks can still be setting the map's view when the test moves it."""
    lat, lon = centre
    for _ in range(3):
        duo.driver.execute_script(
            "window.dash_clientside.set_props('cc-map', {viewport: "
            "{center: arguments[0], zoom: arguments[1], transition: 'setView'}});",
            [lat, lon],
            zoom,
        )
        if urls := newest_views(duo, runtime, f"z={zoom}&", wait_s=10, must=False):
            return urls
    return newest_views(duo, runtime, f"z={zoom}&")


@pytest.mark.browser
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
    kinds: set[str] = set()
    cluster_levels: set[str] = set()
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
        cluster_levels |= {m[2] for m in shown if m[0] == "cluster"}
        assert not {m[1] for m in shown if m[0] == "site"} & staff_ids
    assert kinds == {"cluster", "site"}
    # Clusters of mostly free and of mostly occupied bays both met: neither is drawn green
    # for the other.
    assert {"ok", "alert"} <= cluster_levels
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


TYPICAL_MARKERS = """
return Array.from(document.querySelectorAll('.leaflet-marker-pane .cc-marker')).map(el => {
    const word = ['below', 'typical', 'above', 'unknown']
        .find(w => el.classList.contains('cc-' + w));
    return el.classList.contains('cc-cluster')
        ? ['cluster', Number(el.textContent), word || '']
        : ['site', el.dataset.site || '', word || ''];
});
"""


def typical_word(counts: dict[str, int]) -> str:
    """A cluster's word against typical: the word most of its members with a baseline
    have (as assets/map.js draws it)."""
    word, best = "unknown", 0
    for name in ("below", "typical", "above"):
        if counts[name] > best:
            word, best = name, counts[name]
    return word


def expected_typical(runtime: Runtime, urls: list[str]) -> Counter[tuple[str, Any, str]]:
    """The markers coloured against typical that the data gives for the views of ``urls``."""
    city = runtime.city
    view = city.view("public")
    tz = runtime.config.city.timezone
    wanted: Counter[tuple[str, Any, str]] = Counter()
    for url in urls:
        layer = urlparse(url).path.rsplit("/", 1)[1].removesuffix(".json")
        args = parse_qs(urlparse(url).query)
        x0, y0, x1, y1 = (int(b) for b in args["b"][0].split(","))
        answer = layer_index(city, view, layer, None).view(int(args["z"][0]), (x0, y0, x1, y1))
        words = typical_words(runtime, layer)
        index = layer_index(city, view, layer, None)
        codes = words.map(TYPICAL_WORDS.index).to_numpy()
        tallied = index.tally(codes, len(TYPICAL_WORDS))[answer.level][answer.cells]
        for n, counts in zip(answer.clusters.get("count", []), tallied, strict=True):
            word = typical_word(dict(zip(TYPICAL_WORDS, counts, strict=True)))
            wanted["cluster", int(n), word] += 1
        table = view.layer_table(layer, tz)
        for position in answer.sites:
            wanted["site", table["id"].iloc[position], words.iloc[position]] += 1
    return wanted


def newest_views(
    duo: DashComposite, runtime: Runtime, part: str, wait_s: float = 30, must: bool = True
) -> list[str]:
    """The newest view URL per public layer among those holding ``part`` (none after
    ``wait_s`` when not ``must``)."""
    layers = set(runtime.city.view("public").layers)
    deadline = time.monotonic() + wait_s
    asked: list[str] = []
    while True:
        # A move can ask twice (while the map settles, then where it stopped): the answer
        # is the newest once nothing more has been asked for a second.
        before, asked = asked, duo.driver.execute_script(ASKED)
        newest = {urlparse(u).path: u for u in asked if part in u}
        if len(newest) == len(layers) and asked == before:
            return list(newest.values())
        if time.monotonic() > deadline and not must:
            return []
        assert time.monotonic() < deadline, f"the map never asked for {part}: {newest}"
        time.sleep(1.0)


def settled(duo: DashComposite, script: str, wanted: Counter[Any]) -> Counter[Any]:
    deadline = time.monotonic() + 30
    shown = Counter(tuple(m) for m in duo.driver.execute_script(script))
    while shown != wanted and time.monotonic() < deadline:
        time.sleep(0.3)
        shown = Counter(tuple(m) for m in duo.driver.execute_script(script))
    return shown


def choose_colour(duo: DashComposite, colour: str) -> None:
    duo.driver.execute_script(
        "document.querySelector('#cc-colour input[value=\"' + arguments[0] + '\"]').click();",
        colour,
    )


@pytest.mark.browser
def test_server_clusters_are_coloured_against_typical(duo: DashComposite, runtime: Runtime) -> None:
    duo.wait_for_page(f"{duo.server_url}/")
    duo.wait_for_element(".leaflet-container .cc-cluster", timeout=30)
    zoom = runtime.config.map.zoom - 2
    show(duo, runtime, tuple(runtime.config.map.center), zoom)
    choose_colour(duo, "typical")
    urls = newest_views(duo, runtime, f"c=typical&z={zoom}&")
    wanted = expected_typical(runtime, urls)
    assert {m[2] for m in wanted} - {"unknown"}, "no marker has a baseline"
    assert settled(duo, TYPICAL_MARKERS, wanted) == wanted
    choose_colour(duo, "state")
    assert own_errors(duo, runtime.config) == []


ASKED_FILES = """
return performance.getEntriesByType('resource').map(r => r.name)
    .filter(n => n.includes('/map-data/'));
"""


@pytest.mark.browser
def test_a_layer_crossing_the_threshold_switches_path_without_a_reload(
    duo: DashComposite, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    duo.wait_for_page(f"{duo.server_url}/")
    duo.wait_for_element(".leaflet-container .cc-cluster", timeout=30)
    assert not duo.driver.execute_script(ASKED_FILES)
    view = runtime.city.view("public")
    tz = runtime.config.city.timezone
    total = sum(len(view.layer_table(layer, tz)) for layer in view.layers)
    # The layers now fall under the threshold: the next frame names their files.
    monkeypatch.setattr(mapdata, "SERVER_CLUSTER_SITES", 10**9)
    choose_colour(duo, "typical")
    deadline = time.monotonic() + 30
    while len(duo.driver.execute_script(ASKED_FILES)) < len(view.layers):
        assert time.monotonic() < deadline, "the map never loaded the layers' files"
        time.sleep(0.2)
    choose_colour(duo, "state")
    # Clustered in the browser: the whole city at its widest zoom, every site counted
    # once, and a new view asks the server for nothing.
    asked_before = len(duo.driver.execute_script(ASKED))
    show_whole = runtime.config.map.zoom - 4
    duo.driver.execute_script(
        "window.dash_clientside.set_props('cc-map', {viewport: "
        "{center: arguments[0], zoom: arguments[1], transition: 'setView'}});",
        list(runtime.config.map.center),
        show_whole,
    )
    deadline = time.monotonic() + 30
    while True:
        shown = duo.driver.execute_script(MARKERS)
        counted = sum(m[1] if m[0] == "cluster" else 1 for m in shown)
        clusters = sum(m[0] == "cluster" for m in shown)
        if counted == total and clusters:
            break
        assert time.monotonic() < deadline, f"{counted} sites of {total}, {clusters} clusters"
        time.sleep(0.3)
    assert len(duo.driver.execute_script(ASKED)) == asked_before
    # And back over the threshold: the server's clusters again, as the data gives them.
    monkeypatch.setattr(mapdata, "SERVER_CLUSTER_SITES", 1)
    choose_colour(duo, "typical")
    choose_colour(duo, "state")
    zoom = runtime.config.map.zoom - 1
    urls = show(duo, runtime, tuple(runtime.config.map.center), zoom)
    wanted = expected_markers(runtime, urls)
    assert settled(duo, MARKERS, wanted) == wanted
    assert own_errors(duo, runtime.config) == []


def test_the_page_carries_each_layers_first_view(runtime: Runtime) -> None:
    city = runtime.city
    config = runtime.config.map
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mapdata, "SERVER_CLUSTER_SITES", 1)
        public = first_views(city, city.view("public"))
        staff = first_views(city, city.view("staff"))
        urls = mapdata.map_data_urls(city.view("public"))
    assert set(public) == set(city.view("public").layers) and "traffic" not in public
    assert "traffic" in staff
    blocks = first_blocks(tuple(config.center), config.zoom)
    for layer, carried in public.items():
        assert carried["view"] == {"url": urls[layer], "z": config.zoom, "b": list(blocks)}
        answer = layer_index(city, city.view("public"), layer, None).view(config.zoom, blocks)
        clusters = [f["properties"] for f in carried["features"] if f["properties"].get("cluster")]
        sites = [f["properties"]["id"] for f in carried["features"] if "id" in f["properties"]]
        assert sorted(c["point_count"] for c in clusters) == sorted(answer.clusters["count"])
        table = city.view("public").layer_table(layer, runtime.config.city.timezone)
        assert sites == table["id"].iloc[answer.sites].tolist()
        for c in clusters:
            assert sum(c[level] for level in LEVELS) == c["point_count"]
    # Without server clusters the page carries nothing.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mapdata, "SERVER_CLUSTER_SITES", 10**9)
        assert first_views(city, city.view("public")) == {}


@pytest.mark.browser
def test_the_first_view_is_drawn_from_the_page_as_the_browser_decodes_it(
    duo: DashComposite, runtime: Runtime
) -> None:
    duo.wait_for_page(f"{duo.server_url}/")
    duo.wait_for_element(".leaflet-container .cc-cluster", timeout=30)
    city, config = runtime.city, runtime.config.map
    view = city.view("public")
    blocks = first_blocks(tuple(config.center), config.zoom)
    carried = [
        f"{url}&z={config.zoom}&b={','.join(map(str, blocks))}"
        for url in mapdata.map_data_urls(view).values()
    ]
    wanted = expected_markers(runtime, carried)
    assert settled(duo, MARKERS, wanted) == wanted
    time.sleep(1)
    # The map lies within the view the page carried: it asked the server for no view.
    assert duo.driver.execute_script(ASKED) == []
    # The server's features are those the browser decodes from the same answer.
    for layer in view.layers:
        answer = layer_index(city, view, layer, None).view(config.zoom, blocks)
        found = json.loads(json.dumps(view_body(city, view, layer, answer)))
        decoded = duo.driver.execute_script(
            "return window.dash_clientside.cockpit.decodeView(arguments[0]).features;", found
        )
        assert decoded == view_features(found)
    assert own_errors(duo, runtime.config) == []
