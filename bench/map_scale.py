"""How a city of 50,000 sites reaches a browser's map.

Serves the cockpit of a synthetic city (bench/synthetic_city.py: ``--sites`` parking
sensors plus the demo's other sources) on 127.0.0.1 and measures, in the same run:

* ``bytes_per_site``: the map data on the wire (every layer's ``/map-data`` file as sent
  with ``Accept-Encoding: br, gzip``) divided by the number of sites on the map;
* ``first_clusters_s``: in a fresh headless Chromium (empty cache), from the start of
  navigation to ``/`` until the first cluster marker is in the page (the median of a few
  navigations), once the server holds the data version's view (one navigation first,
  not counted, as a running cockpit's warmer does for every new version);
* the baseline: the same browser's time from navigation to the first render of a bare
  Dash app with one component (``ratio`` = first_clusters_s / baseline).

Targets: first clusters within 1.5 s, at most 16 bytes per site.

    python bench/map_scale.py [--quick] [--sites 50000]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

import requests  # noqa: E402
from dash import Dash, html  # noqa: E402

from bench._common import chromium  # noqa: E402
from bench.synthetic_city import SyntheticCity, serve  # noqa: E402
from layouts.routes.mapdata import map_data_urls  # noqa: E402
from wiring.app import create_app  # noqa: E402

# Resolves with the page's own clock (ms since navigation start) once ``selector`` shows.
WAIT_FOR = """
const selector = arguments[0], done = arguments[arguments.length - 1];
(function look() {
  if (document.querySelector(selector)) { done(performance.now()); }
  else { requestAnimationFrame(look); }
})();
"""


def first_render_s(url: str, selector: str) -> float:
    """Seconds from navigation start to ``selector`` in a fresh browser (empty cache)."""
    driver = chromium()
    try:
        driver.get(url)
        return float(driver.execute_async_script(WAIT_FOR, selector)) / 1000
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sites", type=int, default=50_000)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logging.getLogger("cockpit").setLevel(logging.ERROR)
    logging.getLogger("connectors").setLevel(logging.ERROR)
    runs = 2 if args.quick else 5

    started = time.perf_counter()
    city = SyntheticCity(args.sites)
    app = create_app(city.runtime, start_refresher=False)
    print(f"city of {args.sites} parking sites built in {time.perf_counter() - started:.1f} s")
    try:
        with serve(app.server) as base, serve(bare_app().server) as bare:
            requests.get(f"{base}/", timeout=120).raise_for_status()
            # One navigation, not counted, builds the server's view of this data version as
            # a running cockpit has it (its warmer does the same for each new version);
            # every counted navigation is then a new browser with an empty cache.
            first_render_s(base + "/", ".cc-cluster")
            view = city.runtime.city.view("public")
            urls = map_data_urls(view)
            sizes = {layer: wire_bytes(base + url) for layer, url in urls.items()}
            sites = sum(
                len(view.layer_table(layer, city.runtime.config.city.timezone)) for layer in urls
            )
            baseline = statistics.median(first_render_s(bare, "#ready") for _ in range(runs))
            clusters = statistics.median(
                first_render_s(base + "/", ".cc-cluster") for _ in range(runs)
            )
    finally:
        city.close()

    per_site = sum(sizes.values()) / sites
    for layer, size in sizes.items():
        print(f"  /map-data/{layer}.json: {size:,} bytes on the wire")
    print(f"map data: {sum(sizes.values()):,} bytes for {sites:,} sites = {per_site:.1f} B/site")
    print(f"bare Dash app, first render:  {baseline:.2f} s")
    print(f"cockpit, first clusters:      {clusters:.2f} s  ratio {clusters / baseline:.2f}")
    print(f"RESULT sites={sites} first_clusters_s={clusters:.2f} bytes_per_site={per_site:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
