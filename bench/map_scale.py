"""How a city of 50,000 to a million sites reaches a browser's map.

Serves the cockpit of a synthetic city (bench/synthetic_city.py: ``n`` parking sensors
plus the demo's other sources) on 127.0.0.1, for 50,000, 200,000 and 1,000,000 sites
(the million is left out under ``--quick``), and measures, in the same run:

* the baseline: a fresh headless Chromium's time from navigation to the first render of
  a bare Dash app with one component;
* ``first_clusters_ratio``: in a fresh Chromium (empty cache), from the start of
  navigation to ``/`` until the first cluster marker is in the page (the median of a few
  navigations, after one not counted that has the server build the data version's view,
  as a running cockpit's warmer does), over the baseline;
* ``view_kb``: the map data of that first view on the wire (every ``/map-clusters`` and
  ``/map-data`` answer the page asked for, sent with ``Accept-Encoding: br, gzip``);
* ``pan_p95_ms``: the 95th percentile of the server's answer to a new pan or zoom (views
  never asked before, around random sites at zooms from the city's to street level,
  one request at a time: one app-server core);
* ``index_build_s`` and ``mb_per_100k_sites``: the time to build the server's cluster
  indexes of the data version (what the warmer does off the request path) and the
  memory their arrays hold, per 100,000 sites.

The crossover: first clusters with the layer clustered in the browser (its whole file)
and on the server, side by side at 5,000, 20,000 and 50,000 sites.

Aims: first clusters within 1.3x the bare render, first view at most 64 KB, pan and zoom
p95 at most 150 ms.

    python bench/map_scale.py [--quick] [--sites 50000 ...]
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

import requests  # noqa: E402
from dash import Dash, html  # noqa: E402

import layouts.routes.mapdata as mapdata  # noqa: E402
from bench._common import chromium, percentile  # noqa: E402
from bench.synthetic_city import SyntheticCity, serve  # noqa: E402
from cockpit.present.clusters import block_range  # noqa: E402
from layouts.routes.mapclusters import MAX_ZOOM, layer_index  # noqa: E402
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


def first_clusters(base: str, runs: int) -> tuple[float, list[str]]:
    """Median seconds to the first cluster over ``runs`` fresh browsers (after one not
    counted), and the map data URLs of the last one."""
    first_render_s(base + "/", ".cc-cluster")
    found = [first_render_s(base + "/", ".cc-cluster") for _ in range(runs)]
    return statistics.median(s for s, _ in found), found[-1][1]


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


def index_build(city: SyntheticCity) -> tuple[float, int, int]:
    """Seconds to build the public cluster indexes of the current version, the bytes
    they hold and the sites they index."""
    cockpit = city.runtime.city
    view = cockpit.view("public")
    tz = city.runtime.config.city.timezone
    layers = [layer for layer in view.layers if mapdata.server_clustered(view, layer)]
    for layer in layers:
        view.layer_table(layer, tz)  # the map's table is built for either path
    started = time.perf_counter()
    indexes = [layer_index(cockpit, view, layer, None) for layer in layers]
    seconds = time.perf_counter() - started
    return seconds, sum(i.nbytes() for i in indexes), sum(i.n for i in indexes)


def measure(sites: int, baseline: float, runs: int, pans: int) -> str:
    started = time.perf_counter()
    city = SyntheticCity(sites)
    print(f"city of {sites:,} parking sites built in {time.perf_counter() - started:.1f} s")
    app = create_app(city.runtime, start_refresher=False)
    try:
        build_s, held, indexed = index_build(city)
        with serve(app.server) as base:
            requests.get(f"{base}/", timeout=300).raise_for_status()
            clusters, urls = first_clusters(base, runs)
            view_bytes = sum(wire_bytes(url) for url in urls)
            pan = pan_answers_ms(base, city, pans)
    finally:
        city.close()
    mb = held / 1e6 / indexed * 100_000
    print(f"  first clusters {clusters:.2f} s ({clusters / baseline:.2f}x the bare render)")
    print(f"  first view {view_bytes / 1024:.1f} KB in {len(urls)} answers")
    p50, p95 = statistics.median(pan), percentile(pan, 95)
    print(f"  pan/zoom answers: median {p50:.1f} ms, p95 {p95:.1f} ms")
    print(f"  cluster indexes of {indexed:,} sites: {build_s:.2f} s, {held / 1e6:.1f} MB")
    return (
        f"RESULT sites={sites} first_clusters_ratio={clusters / baseline:.2f} "
        f"view_kb={view_bytes / 1024:.1f} pan_p95_ms={percentile(pan, 95):.1f} "
        f"index_build_s={build_s:.2f} mb_per_100k_sites={mb:.1f}"
    )


def crossover(sites: int, baseline: float, runs: int) -> str:
    """First clusters with the layer clustered in the browser and on the server."""
    city = SyntheticCity(sites)
    app = create_app(city.runtime, start_refresher=False)
    try:
        with serve(app.server) as base:
            requests.get(f"{base}/", timeout=300).raise_for_status()
            with clustered_from(10**12):
                browser, _ = first_clusters(base, runs)
            with clustered_from(1):
                server, _ = first_clusters(base, runs)
    finally:
        city.close()
    return (
        f"CROSSOVER sites={sites} browser_ratio={browser / baseline:.2f} "
        f"server_ratio={server / baseline:.2f}"
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
    with serve(bare_app().server) as bare:
        baseline = statistics.median(first_render_s(bare, "#ready")[0] for _ in range(runs))
    print(f"bare Dash app, first render: {baseline:.2f} s")
    lines = [crossover(n, baseline, runs) for n in (5_000, 20_000, 50_000)]
    for line in lines:
        print(line)
    results = [measure(n, baseline, runs, pans) for n in sizes]
    for line in results:
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
