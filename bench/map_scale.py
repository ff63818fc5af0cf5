"""How a city of 50,000 to a million sites reaches a browser's map.

Serves the cockpit of a synthetic city (bench/synthetic_city.py: ``n`` parking sensors
plus the demo's other sources) on 127.0.0.1, for 50,000, 200,000 and 1,000,000 sites
(the million is left out under ``--quick``), and measures, in the same run:

* the baseline: a fresh headless Chromium's time from navigation to the first render of
  a bare Dash app with one component, served by the same process on the same machine;
* ``map_floor_ratio``: the floor any dash-leaflet map stands on, in the same turns: a
  bare Dash app with one dash-leaflet map (the city's tile layer and a GeoJSON layer of
  20 points), from navigation to its first marker, over the baseline. The cockpit's page
  cannot show a marker sooner than this; what ``first_clusters_ratio`` adds above it is
  the cockpit's own page;
* ``first_clusters_ratio``: in a fresh Chromium (empty cache), from the start of
  navigation to ``/`` until the first cluster marker is in the page, over the baseline.
  The two are measured in turns (bare, cockpit, bare, cockpit, ...) after one navigation
  of each that is not counted (it has the server build the data version's view, as a
  running cockpit's warmer does), and the ratio is of their medians: a machine that gets
  busier during the run slows both alike;
* ``view_kb``: the map data of that first view on the wire (the page's own first views
  of its server-clustered layers, as they are compressed inside ``/_dash-layout``, plus
  every ``/map-clusters`` and ``/map-data`` answer the page asked for, sent with
  ``Accept-Encoding: br, gzip``);
* ``pan_p95_ms``: the 95th percentile of the server's answer to a new pan or zoom (views
  never asked before, around random sites at zooms from the city's to street level,
  one request at a time: one app-server core);
* ``index_build_s`` and ``mb_per_100k_sites``: the time to build the server's cluster
  indexes of the data version (what the warmer does off the request path) and the
  memory their arrays hold, per 100,000 sites; ``warm_s`` and ``held_mb_per_100k_sites``:
  everything the warmer builds for the server's clusters (indexes and the tables single
  sites are cut from) and all the memory that holds (traced by ``tracemalloc``, numpy
  arrays and Python objects alike), per 100,000 sites.

The crossover: first clusters with the layer clustered in the browser (its whole file)
and on the server, side by side at 5,000, 20,000 and 50,000 sites.

Aims: first clusters within 1.3x the bare render, first view at most 64 KB, pan and zoom
p95 at most 150 ms.

    python bench/map_scale.py [--quick] [--sites 50000 ...]
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

import dash_leaflet as dl  # noqa: E402
import requests  # noqa: E402
from dash import Dash, html  # noqa: E402

import layouts.routes.mapdata as mapdata  # noqa: E402
from bench._common import chromium, percentile  # noqa: E402
from bench.synthetic_city import SyntheticCity, serve  # noqa: E402
from cockpit.config import default_config_path, load_config  # noqa: E402
from cockpit.present.clusters import block_range, build_index  # noqa: E402
from layouts.routes.mapclusters import MAX_ZOOM, CodedTable, coded_table, layer_index  # noqa: E402
from wiring.app import create_app  # noqa: E402

# Resolves with the page's own clock (ms since navigation start) once ``selector`` shows.
WAIT_FOR = """
const selector = arguments[0], done = arguments[arguments.length - 1];
(function look() {
  if (document.querySelector(selector)) { done(performance.now()); }
  else { requestAnimationFrame(look); }
})();
"""
MAP_DATA = """
return performance.getEntriesByType('resource').map(r => r.name)
    .filter(n => n.includes('/map-clusters/') || n.includes('/map-data/'));
"""


def first_render_s(url: str, selector: str) -> tuple[float, list[str]]:
    """Seconds from navigation start to ``selector`` in a fresh browser (empty cache),
    and the map data URLs the page had asked for by then."""
    driver = chromium()
    try:
        driver.get(url)
        seconds = float(driver.execute_async_script(WAIT_FOR, selector)) / 1000
        return seconds, list(driver.execute_script(MAP_DATA))
    finally:
        driver.quit()


def bare_app() -> Dash:
    app = Dash(__name__)
    app.layout = html.Div("ready", id="ready")
    return app


def bare_map_app(tile_url: str, center: tuple[float, float], zoom: int) -> Dash:
    """A bare Dash app with one dash-leaflet map: the tile layer and 20 points."""
    lat, lon = center
    points = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon + 0.004 * (i - 10), lat]},
                "properties": {},
            }
            for i in range(20)
        ],
    }
    layers = [dl.TileLayer(url=tile_url)] if tile_url else []
    app = Dash(__name__)
    layers.append(dl.GeoJSON(data=points))
    app.layout = html.Div(dl.Map(layers, center=[lat, lon], zoom=zoom, style={"height": 600}))
    return app


def map_floor(bare: str, bare_map: str, runs: int) -> float:
    """The median first marker of the bare map app over the median first render of the
    bare app (``in_turns``)."""
    bare_s, map_s, _ = in_turns(bare, bare_map, ".leaflet-marker-icon", runs)
    return map_s / bare_s


def wire_bytes(url: str) -> int:
    """Bytes of ``url``'s body as sent (compressed), not as decoded."""
    answer = requests.get(url, headers={"Accept-Encoding": "br, gzip"}, stream=True, timeout=60)
    answer.raise_for_status()
    return len(answer.raw.read(decode_content=False))


@contextmanager
def clustered_from(sites: int) -> Iterator[None]:
    """Layers of at least ``sites`` sites clustered on the server meanwhile."""
    before = mapdata.SERVER_CLUSTER_SITES
    mapdata.SERVER_CLUSTER_SITES = sites
    try:
        yield
    finally:
        mapdata.SERVER_CLUSTER_SITES = before


def in_turns(bare: str, url: str, selector: str, runs: int) -> tuple[float, float, list[str]]:
    """Median seconds of the bare app's first render and of ``selector`` on ``url``, each
    over ``runs`` fresh browsers taken in turns (after one of each not counted), and the
    map data URLs of the last page at ``url``."""
    first_render_s(bare + "/", "#ready")
    first_render_s(url + "/", selector)
    bare_s: list[float] = []
    found: list[tuple[float, list[str]]] = []
    for _ in range(runs):
        bare_s.append(first_render_s(bare + "/", "#ready")[0])
        found.append(first_render_s(url + "/", selector))
    return statistics.median(bare_s), statistics.median(s for s, _ in found), found[-1][1]


def first_clusters(bare: str, base: str, runs: int) -> tuple[float, float, list[str]]:
    """The bare app's first render and the cockpit's first cluster (``in_turns``)."""
    return in_turns(bare, base, ".cc-cluster", runs)


def layout_view_bytes(base: str) -> int:
    """Bytes of the first views the cockpit's page carries (the map layers' data holding
    a ``view``), each compressed as brotli: about what they add to ``/_dash-layout``."""
    import brotli

    # The renderer's request: its Referer names the page, which the answer then holds.
    answer = requests.get(f"{base}/_dash-layout", headers={"Referer": f"{base}/"}, timeout=60)
    answer.raise_for_status()
    carried: list[Any] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            data = node.get("props", {}).get("data") if "props" in node else None
            if isinstance(data, dict) and "view" in data:
                carried.append(data)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(answer.json())
    if not carried:
        raise RuntimeError("the cockpit's page carries no first view")
    return sum(len(brotli.compress(json.dumps(d).encode(), quality=4)) for d in carried)


def pan_answers_ms(base: str, city: SyntheticCity, count: int) -> list[float]:
    """Milliseconds of ``count`` new pan and zoom answers of the parking layer."""
    runtime = city.runtime
    view = runtime.city.view("public")
    url = mapdata.map_data_urls(view)["parking"]
    table = view.layer_table("parking", runtime.config.city.timezone)
    rng = random.Random(11)
    zooms = list(range(runtime.config.map.zoom - 2, MAX_ZOOM + 2))
    timings = []
    for _ in range(count):
        row = table.iloc[rng.randrange(len(table))]
        zoom = rng.choice(zooms)
        half = 800 * 360 / (256 * 2**zoom)  # a 1600 px wide screen
        blocks = block_range(
            zoom, row["lon"] - half, row["lat"] - half / 2, row["lon"] + half, row["lat"] + half / 2
        )
        started = time.perf_counter()
        answer = requests.get(
            f"{base}{url}&z={zoom}&b={','.join(map(str, blocks))}",
            headers={"Accept-Encoding": "br, gzip"},
            timeout=60,
        )
        answer.raise_for_status()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


@dataclass
class Built:
    """What the warmer builds for the server's clusters of one data version."""

    index_s: float
    index_bytes: int
    warm_s: float
    held_bytes: int
    sites: int


def index_build(city: SyntheticCity) -> Built:
    """Seconds to build the public cluster indexes of the current version and the bytes
    their arrays hold; seconds to build everything the warmer builds for them (with the
    tables single sites are cut from) and the memory that holds, as Python's allocator
    traces it (numpy arrays and Python objects alike, built again without timing)."""
    cockpit = city.runtime.city
    view = cockpit.view("public")
    tz = city.runtime.config.city.timezone
    layers = [layer for layer in view.layers if mapdata.server_clustered(view, layer)]
    tables = [view.layer_table(layer, tz) for layer in layers]  # built for either path
    started = time.perf_counter()
    indexes = [layer_index(cockpit, view, layer, None) for layer in layers]
    index_s = time.perf_counter() - started
    for layer in layers:
        coded_table(cockpit, view, layer, None)
    warm_s = time.perf_counter() - started
    gc.collect()
    tracemalloc.start()
    try:
        again = [
            (
                build_index(
                    t["lon"].to_numpy(dtype=float),
                    t["lat"].to_numpy(dtype=float),
                    t["level"].to_numpy(dtype=object),
                    indexes[k].min_zoom,
                    indexes[k].max_zoom,
                    indexes[k].radius,
                ),
                CodedTable.of(t),
            )
            for k, t in enumerate(tables)
        ]
        gc.collect()
        held, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del again
    return Built(
        index_s,
        sum(i.nbytes() for i in indexes),
        warm_s,
        held,
        sum(i.n for i in indexes),
    )


def measure(sites: int, bare: str, runs: int, pans: int, floor: float) -> str:
    started = time.perf_counter()
    city = SyntheticCity(sites)
    print(f"city of {sites:,} parking sites built in {time.perf_counter() - started:.1f} s")
    app = create_app(city.runtime, start_refresher=False)
    try:
        built = index_build(city)
        with serve(app.server) as base:
            requests.get(f"{base}/", timeout=300).raise_for_status()
            baseline, clusters, urls = first_clusters(bare, base, runs)
            view_bytes = layout_view_bytes(base) + sum(wire_bytes(url) for url in urls)
            pan = pan_answers_ms(base, city, pans)
    finally:
        city.close()
    per_100k = 100_000 / built.sites / 1e6
    ratio = clusters / baseline
    print(f"  bare Dash app {baseline:.2f} s, first clusters {clusters:.2f} s ({ratio:.2f}x)")
    print(f"  first view {view_bytes / 1024:.1f} KB (in the page and {len(urls)} answers)")
    p50, p95 = statistics.median(pan), percentile(pan, 95)
    print(f"  pan/zoom answers: median {p50:.1f} ms, p95 {p95:.1f} ms")
    print(
        f"  cluster indexes of {built.sites:,} sites: {built.index_s:.2f} s, "
        f"{built.index_bytes / 1e6:.1f} MB; with the site tables {built.warm_s:.2f} s, "
        f"{built.held_bytes / 1e6:.1f} MB held"
    )
    return (
        f"RESULT sites={sites} first_clusters_ratio={ratio:.2f} map_floor_ratio={floor:.2f} "
        f"view_kb={view_bytes / 1024:.1f} pan_p95_ms={p95:.1f} "
        f"index_build_s={built.index_s:.2f} mb_per_100k_sites={built.index_bytes * per_100k:.1f} "
        f"warm_s={built.warm_s:.2f} held_mb_per_100k_sites={built.held_bytes * per_100k:.1f}"
    )


def crossover(sites: int, bare: str, runs: int) -> str:
    """First clusters with the layer clustered in the browser and on the server."""
    city = SyntheticCity(sites)
    app = create_app(city.runtime, start_refresher=False)
    try:
        with serve(app.server) as base:
            requests.get(f"{base}/", timeout=300).raise_for_status()
            with clustered_from(10**12):
                bare_b, browser, _ = first_clusters(bare, base, runs)
            with clustered_from(1):
                bare_s, server, _ = first_clusters(bare, base, runs)
    finally:
        city.close()
    return (
        f"CROSSOVER sites={sites} browser_ratio={browser / bare_b:.2f} "
        f"server_ratio={server / bare_s:.2f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sites", type=int, nargs="*")
    args = parser.parse_args()
    for name in ("werkzeug", "cockpit", "connectors"):
        logging.getLogger(name).setLevel(logging.ERROR)
    runs = 2 if args.quick else 5
    pans = 60 if args.quick else 200
    sizes = args.sites or ([50_000, 200_000] if args.quick else [50_000, 200_000, 1_000_000])
    config = load_config(default_config_path())
    bare_map = bare_map_app(config.map.tile_url, config.map.center, config.map.zoom)
    with serve(bare_app().server) as bare, serve(bare_map.server) as bare_map_url:
        floor = map_floor(bare, bare_map_url, runs)
        print(f"a bare dash-leaflet map's first marker: {floor:.2f}x the bare render")
        lines = [crossover(n, bare, runs) for n in (5_000, 20_000, 50_000)]
        for line in lines:
            print(line)
        results = [measure(n, bare, runs, pans, floor) for n in sizes]
    for line in results:
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
