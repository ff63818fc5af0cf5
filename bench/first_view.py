"""How soon a page shows its city on a phone's network: the page held in the first layout
against Dash's empty page container filled by the pages router.

Serves a synthetic city (bench/synthetic_city.py) on 127.0.0.1 and opens the staff
phone view, a kiosk and the desktop cockpit in a fresh headless Chromium (empty cache)
whose network is slowed to a phone's outdoors (150 ms round trip, 10 Mbit/s), and
measures from the start of navigation until the page's first content is on screen:

* ``<page>_s``: as City Cockpit serves it (``layouts/components/shell.py``: the renderer's first
  layout request already holds the page);
* ``<page>_router_s``, the baseline in the same run: the same app with Dash's own empty
  page container, which the renderer fills by asking the pages router after it started;
* ``saved_ms``: the median over the pages of baseline minus held.

Then the mayor's question, on the demo city itself (its real recordings replayed, four
weeks of history; parking's simulated history cut to a day, which no first-screen figure
reads): a fresh headless Chromium at 1366×768 on the office network opens the cockpit,
and the bench measures from the start of navigation until the KPI cards are on screen
(``mayor_kpis_s``) and until "needs attention" has its answer (``mayor_attention_s``,
the places ranked, or that nothing needs attention). The first visit after start-up
(``mayor_cold_s``: nothing computed yet) is given apart from the median of the visits
after it.

    python bench/first_view.py [--quick] [--mayor]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

import dash  # noqa: E402
import requests  # noqa: E402
from dash import html  # noqa: E402

from bench._common import chromium  # noqa: E402
from bench.map_scale import WAIT_FOR  # noqa: E402
from bench.synthetic_city import SyntheticCity, serve  # noqa: E402
from cockpit.config import default_config_path, load_config  # noqa: E402
from wiring.app import create_app  # noqa: E402
from wiring.runtime import Runtime  # noqa: E402

# page name -> (address, window, what shows once the page has its data)
PAGES = {
    "staff": ("/m", "390,844", "#m-alert-list > *"),
    "kiosk": ("/kiosk", "1920,1080", "#cc-kiosk-body .cc-slide"),
    "cockpit": ("/", "1600,1000", "#cc-kpis .cc-kpi"),
}
PHONE_NETWORK = {
    "offline": False,
    "latency": 150,  # ms, round trip
    "downloadThroughput": 10e6 / 8,  # bytes/s
    "uploadThroughput": 5e6 / 8,
}


def first_content_s(url: str, window: str, selector: str) -> float:
    """Seconds from navigation to ``selector`` in a fresh browser on a phone's network."""
    driver = chromium(window)
    try:
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.emulateNetworkConditions", PHONE_NETWORK)
        driver.get(url)
        return float(driver.execute_async_script(WAIT_FOR, selector)) / 1000
    finally:
        driver.quit()


# What answers the mayor: the KPI cards (in the page's first layout) and the ranked places
# (written by the first frame).
MAYOR_WINDOW = "1366,768"
MAYOR_KPIS = "#cc-kpis .cc-kpi"
MAYOR_ANSWER = "#cc-attention .cc-attention-list, #cc-attention p.cc-muted"


def mayor_visit_s(url: str) -> tuple[float, float]:
    """Seconds from navigation to the KPI cards and to "needs attention" answered, in a
    fresh browser at 1366×768."""
    driver = chromium(MAYOR_WINDOW)
    try:
        driver.get(url)
        kpis = float(driver.execute_async_script(WAIT_FOR, MAYOR_KPIS)) / 1000
        answer = float(driver.execute_async_script(WAIT_FOR, MAYOR_ANSWER)) / 1000
        return kpis, answer
    finally:
        driver.quit()


def mayor_first_screen(runs: int) -> dict[str, float]:
    """The demo city's cockpit: its first visit, then the median of ``runs`` more."""
    import tempfile

    config = load_config(default_config_path())
    config.sources["parking"].backfill_hours = 24
    with tempfile.TemporaryDirectory(prefix="cc-first-view-") as data:
        runtime = Runtime.open(config, Path(data))
        try:
            runtime.refresher.refresh_due()
            runtime.refresher.backfill()
            app = create_app(runtime, start_refresher=False)
            with serve(app.server) as base:
                requests.get(base + "/_dash-layout", timeout=120).raise_for_status()
                cold = mayor_visit_s(base + "/")
                warm = [mayor_visit_s(base + "/") for _ in range(runs)]
        finally:
            runtime.close()
    return {
        "mayor_kpis_s": statistics.median(k for k, _ in warm),
        "mayor_attention_s": statistics.median(a for _, a in warm),
        "mayor_cold_s": cold[1],
    }


def print_mayor(mayor: dict[str, float]) -> None:
    print(
        f"mayor (cockpit, 1366×768): KPIs {mayor['mayor_kpis_s']:.2f} s, needs attention "
        f"{mayor['mayor_attention_s']:.2f} s (first visit after start-up "
        f"{mayor['mayor_cold_s']:.2f} s)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--mayor", action="store_true", help="the mayor's first screen only")
    args = parser.parse_args()
    for name in ("werkzeug", "cockpit", "connectors"):
        logging.getLogger(name).setLevel(logging.ERROR)
    runs = 3 if args.quick else 7
    if args.mayor:
        mayor = mayor_first_screen(runs)
        print_mayor(mayor)
        print("RESULT " + " ".join(f"{k}={v:.2f}" for k, v in mayor.items()))
        return 0

    city = SyntheticCity(3000)
    app = create_app(city.runtime, start_refresher=False)
    held_layout = app.layout
    router_layout: Any = html.Div([dash.page_container])  # Dash's own, for the baseline
    times: dict[tuple[str, bool], list[float]] = {}
    try:
        with serve(app.server) as base:
            for address, _, _ in PAGES.values():
                requests.get(base + address, timeout=120).raise_for_status()
            for _ in range(runs):
                for name, (address, window, selector) in PAGES.items():
                    for held in (True, False):  # interleaved: both see the same machine
                        app.layout = held_layout if held else router_layout
                        seconds = first_content_s(base + address, window, selector)
                        times.setdefault((name, held), []).append(seconds)
    finally:
        city.close()

    figures: dict[str, float] = {}
    saved = []
    mayor = mayor_first_screen(runs)
    for name, (address, _, _) in PAGES.items():
        held = statistics.median(times[(name, True)])
        routed = statistics.median(times[(name, False)])
        figures[f"{name}_s"], figures[f"{name}_router_s"] = held, routed
        saved.append((routed - held) * 1000)
        print(f"{address:8s} first content {held:.2f} s; with the router {routed:.2f} s")
    print_mayor(mayor)
    figures.update(mayor)
    result = " ".join(f"{k}={v:.2f}" for k, v in figures.items())
    print(f"RESULT {result} saved_ms={statistics.median(saved):.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
