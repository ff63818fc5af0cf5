"""A kiosk left running: does the page or the server grow with every refresh?

Serves a Melbourne city (parking bay sensors and microclimate sensors, OpenDataSoft
connectors) from one gunicorn worker; the platforms are ``FaultServer``s on 127.0.0.1
whose answers change on every read (bays taken and freed, particle readings moving),
and each source is refreshed every second, so every refresh brings new data. Headless
Chromium shows ``/kiosk?id=soak`` (the desktop cockpit ``/`` where there is no kiosk
page) with a one-second poll. Each refresh the page renders is one cycle (counted in
the page by a MutationObserver on the refreshed part).

Every ``--sample`` cycles: Chromium's garbage collector runs (CDP
``HeapProfiler.collectGarbage``), then the JS heap in use is read
(``Performance.getMetrics`` ``JSHeapUsedSize``) and the worker's resident memory
(psutil). Growth compares the floor (smallest of four samples) of the last samples with
that of the first samples after warm-up (10 % of the cycles, at least 20); the target
is under 10 %.

    python bench/soak.py [--quick] [--cycles N]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
import requests
from _common import chromium, gunicorn
from selenium import webdriver

from tests.faultserver import FaultServer, microclimate_routes, ods_city_toml, parking_routes

COUNT_CYCLES = """
const target = document.getElementById(arguments[0]);
window.__ccCycles = 0;
new MutationObserver(() => { window.__ccCycles += 1; })
    .observe(target, {childList: true, subtree: false});
"""


def moving_bays(answer: dict[str, Any]) -> None:
    """Each read: some bays taken, some freed, all just reported."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    for record in answer.get("results", []):
        if random.random() < 0.2:
            record["status_description"] = random.choice(["Present", "Unoccupied"])
        record["lastupdated"] = stamp


def moving_air(answer: dict[str, Any]) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    for record in answer.get("results", []):
        for key in ("pm25", "pm10"):
            if isinstance(record.get(key), int | float):
                record[key] = round(random.uniform(2, 60), 1)
        record["received_at"] = stamp


def js_heap(driver: webdriver.Chrome) -> float:
    for _ in range(2):  # a second pass frees what the first one's finalizers released
        driver.execute_cdp_cmd("HeapProfiler.collectGarbage", {})
    metrics = driver.execute_cdp_cmd("Performance.getMetrics", {})["metrics"]
    return float(next(m["value"] for m in metrics if m["name"] == "JSHeapUsedSize"))


def growth(samples: list[float], warm: int) -> float:
    """Percent change of the floor (the smallest of four samples: what stays after the
    collector ran, whatever a render had in flight) from the first samples after
    ``warm`` to the last ones. A leak raises the floor."""
    after = samples[warm:]
    base = min(after[:4])
    return (min(after[-4:]) - base) / base * 100


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="30 cycles, about a minute")
    parser.add_argument("--cycles", type=int)
    parser.add_argument("--sample", type=int, help="cycles between samples")
    args = parser.parse_args()
    cycles = args.cycles or (30 if args.quick else 1000)
    every = args.sample or max(2, cycles // 50)
    warm_cycles = max(20 if not args.quick else 8, cycles // 10)

    platforms = {
        "parking": FaultServer(parking_routes(change=moving_bays)),
        "air": FaultServer(microclimate_routes(change=moving_air)),
    }
    work = Path(tempfile.mkdtemp(prefix="cc-soak-"))
    config = work / "city.toml"
    config.write_text(
        ods_city_toml(
            {s: p.url for s, p in platforms.items()},
            refresh_seconds=1,
            stale_after_seconds=3600,
            poll_seconds=1,
        ),
        encoding="utf-8",
    )
    driver = None
    try:
        with gunicorn(config, work / "data", 1, 4, work / "gunicorn.log") as (base, proc):
            worker = psutil.Process(proc.pid).children()[0]
            kiosk = requests.get(f"{base}/kiosk?id=soak", timeout=30).status_code == 200
            url, watched = (
                (f"{base}/kiosk?id=soak", "cc-kiosk-body") if kiosk else (f"{base}/", "cc-kpis")
            )
            print(
                f"soak: {cycles} refresh cycles of {url} (poll 1 s, sources refreshed every"
                f" 1 s with changing data), sampling every {every} cycles; work dir {work}"
            )
            driver = chromium("1920,1080", "--enable-precise-memory-info")
            driver.get(url)
            deadline = time.monotonic() + 60
            while not driver.execute_script(f"return !!document.getElementById('{watched}')"):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"#{watched} never appeared")
                time.sleep(0.2)
            driver.execute_script(COUNT_CYCLES, watched)
            driver.execute_cdp_cmd("Performance.enable", {})
            heap: list[float] = []
            rss: list[float] = []
            seen: list[int] = []
            started = time.monotonic()
            next_sample = 0
            while True:
                done = int(driver.execute_script("return window.__ccCycles"))
                if done >= next_sample or done >= cycles:  # and the last one
                    heap.append(js_heap(driver))
                    rss.append(float(worker.memory_info().rss))
                    seen.append(done)
                    next_sample = done + every
                    print(
                        f"  cycle {done:5d}: JS heap {heap[-1] / 2**20:7.2f} MiB,"
                        f" worker RSS {rss[-1] / 2**20:7.1f} MiB",
                        flush=True,
                    )
                if done >= cycles:
                    break
                if time.monotonic() - started > cycles * 10 + 120:
                    raise RuntimeError(f"only {done} cycles rendered")
                time.sleep(0.5)
            elapsed = time.monotonic() - started
            errors = [
                e for e in driver.get_log("browser") if "tile.openstreetmap" not in e["message"]
            ]
    finally:
        if driver is not None:
            driver.quit()
        for platform in platforms.values():
            platform.stop()

    warm = next(i for i, c in enumerate(seen) if c >= warm_cycles)
    warm = min(warm, max(0, len(seen) - 8))
    heap_pct, rss_pct = growth(heap, warm), growth(rss, warm)
    mib = 1024 * 1024
    print(f"cycles {seen[-1]} in {elapsed:.0f} s; warm-up {seen[warm]} cycles")
    print(f"browser console errors: {len(errors)}")
    for error in errors[:5]:
        print(f"  {error['message'][:200]}")
    print(
        f"RESULT cycles={seen[-1]} heap_growth_pct={heap_pct:.1f} rss_growth_pct={rss_pct:.1f}"
        f" heap_mib={heap[-1] / mib:.1f} rss_mib={rss[-1] / mib:.1f}"
        f" console_errors={len(errors)}"
    )
    return 0 if heap_pct < 10 and rss_pct < 10 and not errors else 1


if __name__ == "__main__":
    raise SystemExit(main())
