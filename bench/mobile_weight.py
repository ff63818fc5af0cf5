"""How many bytes the phone view ``/m`` costs over the network once the framework is cached.

Serves the demo city on 127.0.0.1 and opens pages in headless Chromium at 390×844:

* cold: the browser cache is emptied, the page loaded; every byte transferred counts
  (``total_kb_uncached``);
* warm: the same page loaded again (the way a staff member opens it a second time):
  only bytes that did not come from the browser's cache count (``first_view_kb``).

Bytes are read from the Performance API (``transferSize`` of the navigation and of
every resource, which includes the callbacks' fetches; 0 for a cache hit) after the
page's first view has settled. The desktop cockpit ``/`` is measured the same way in
the same run as the baseline, and the phone view once more signed in as staff
(``staff_first_view_kb``). The phone view's budget is 300 KB warm. ``--quick``
takes one warm load per page instead of three (the median is reported).

    python bench/mobile_weight.py [--quick]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait
from werkzeug.serving import make_server

from bench._common import chromium
from cockpit.auth import hash_password
from cockpit.config import UserConfig, default_config_path, load_config
from wiring.app import create_app
from wiring.runtime import Runtime

__all__ = ["main", "transferred_kb"]

BUDGET_KB = 300
PAGES = {
    "mobile": ("/m", "#m-alerts h2"),
    "desktop": ("/", "#cc-kpis .cc-kpi"),
    # The phone view again, signed in as staff (measured last, after signing in).
    "staff": ("/m", "#m-alerts h2"),
}
STAFF_USER, STAFF_PASSWORD = "bench-staff", "bench staff password"

_SETTLED = """
const done = arguments[arguments.length - 1];
let last = -1, stable = 0;
const tick = () => {
  const n = performance.getEntriesByType('resource').length;
  stable = (n === last) ? stable + 1 : 0;
  last = n;
  if (stable >= 8) { done(n); } else { setTimeout(tick, 150); }
};
tick();
"""
_BYTES = """
const nav = performance.getEntriesByType('navigation')[0];
const res = performance.getEntriesByType('resource');
return [nav ? nav.transferSize : 0, res.reduce((s, r) => s + (r.transferSize || 0), 0),
        res.filter(r => r.transferSize > 0).map(r => r.name)];
"""


def transferred_kb(driver: webdriver.Chrome, url: str, ready: str) -> tuple[float, list[str]]:
    """Load ``url``, wait for ``ready`` and for the network to settle; kilobytes that
    came over the network (not from the cache) and the resources they came from."""
    driver.get(url)
    WebDriverWait(driver, 60).until(ec.presence_of_element_located((By.CSS_SELECTOR, ready)))
    driver.set_script_timeout(60)
    driver.execute_async_script(_SETTLED)
    nav, resources, names = driver.execute_script(_BYTES)
    return (float(nav) + float(resources)) / 1024, list(names)


def sign_in(driver: webdriver.Chrome, base: str) -> None:
    """Sign in through the real form, as a staff member would."""
    driver.get(base + "/signin?next=/m")
    driver.find_element(By.ID, "cc-user").send_keys(STAFF_USER)
    driver.find_element(By.ID, "cc-password").send_keys(STAFF_PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(driver, 60).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, ".m-ack-button, .m-user"))
    )


def measure(driver: webdriver.Chrome, base: str, page: str, warm_loads: int) -> dict[str, Any]:
    path, ready = PAGES[page]
    if page == "staff":
        sign_in(driver, base)
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.clearBrowserCache", {})
    cold, _ = transferred_kb(driver, base + path, ready)
    warm = [transferred_kb(driver, base + path, ready) for _ in range(warm_loads)]
    return {
        "cold_kb": cold,
        "warm_kb": statistics.median(w[0] for w in warm),
        "warm_resources": warm[-1][1],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one warm load per page")
    args = parser.parse_args(argv)
    warm_loads = 1 if args.quick else 3
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as data_dir:
        config = load_config(default_config_path())
        config.access.users[STAFF_USER] = UserConfig(
            role="staff", password_hash=hash_password(STAFF_PASSWORD)
        )
        runtime = Runtime.open(config, data_dir)
        runtime.refresher.refresh_due()
        runtime.refresher.backfill()
        app = create_app(runtime, start_refresher=False)
        server = make_server("127.0.0.1", 0, app.server, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        base = f"http://127.0.0.1:{server.server_port}"
        driver = chromium("390,844")
        try:
            started = time.perf_counter()
            results = {page: measure(driver, base, page, warm_loads) for page in PAGES}
            took = time.perf_counter() - started
        finally:
            driver.quit()
            server.shutdown()
            runtime.close()
    for page, found in results.items():
        downloads = ", ".join(n.split("/")[-1][:40] for n in found["warm_resources"])
        print(
            f"{page:8s} cold {found['cold_kb']:8.1f} KB   warm {found['warm_kb']:7.1f} KB"
            f"   warm downloads: {downloads}"
        )
    mobile, desktop, staff = results["mobile"], results["desktop"], results["staff"]
    for who, found in (("public", mobile), ("staff", staff)):
        verdict = "within" if found["warm_kb"] <= BUDGET_KB else "OVER"
        print(f"phone view first view ({who}) {verdict} the {BUDGET_KB} KB budget")
    print(f"measured in {took:.0f} s")
    print(
        f"RESULT first_view_kb={mobile['warm_kb']:.1f} "
        f"total_kb_uncached={mobile['cold_kb']:.1f} "
        f"desktop_first_view_kb={desktop['warm_kb']:.1f} "
        f"desktop_total_kb_uncached={desktop['cold_kb']:.1f} "
        f"staff_first_view_kb={staff['warm_kb']:.1f} budget_kb={BUDGET_KB}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
