"""What does a click on a site's forecast cost, and what does the hour's fit cost?

Opens the demo city in a fresh data folder, stores the weeks of history its forecast
reads for the replayed sources (pedestrian counts, SCATS traffic volumes, EPA air
quality), refreshes every source once, and then measures, in the same run:

* ``click_ms``: the median answer to a click on a forecast site once the hour's city
  forecast is kept (``City.site_forecast`` reading ``City.forecasts``);
* ``own_fit_ms`` (the baseline, what a click cost before): the median forecast fitted on
  the clicked site's own hours alone (``panels.site_forecast``), in the request;
* ``read_s``: reading the history of every forecast site for the fit;
* ``fit_one_core_s`` and ``fit_cpu_s``: the whole city's forecast as the warm-up makes
  it, on one core (wall clock and CPU seconds), with ``fit_all_cores_s`` and
  ``fit_all_cores_cpu_s`` for the same work left to use every core.

    python bench/city_forecast.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

import pandas as pd  # noqa: E402

from cockpit.config import default_config_path  # noqa: E402
from cockpit.twin import panels  # noqa: E402
from wiring.runtime import Runtime  # noqa: E402

SOURCES = ("pedestrians", "traffic", "air")


def timed(work: Callable[[], object]) -> tuple[float, float]:
    """Wall-clock and CPU seconds of ``work()``."""
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer clicks, one fit each")
    args = parser.parse_args(argv)
    clicks = 5 if args.quick else 20
    fits = 1 if args.quick else 3
    with tempfile.TemporaryDirectory(prefix="cc-city-forecast-") as folder:
        runtime = Runtime.open(default_config_path(), folder)
        try:
            city, cfg = runtime.city, runtime.config
            end = pd.Timestamp.now(tz="UTC").floor("h").to_pydatetime()
            start = end - timedelta(
                weeks=cfg.twin.baseline_weeks, days=cfg.twin.forecast_fit_days + 3
            )
            for source in SOURCES:
                connector = runtime.refresher.connectors[source]
                sites = connector.discover_sites()
                runtime.history.append(connector.read_window(sites, start, end))
            runtime.refresher.refresh_all()
            view = city.view("public")
            now = city.clock()
            latest = view.latest

            history = city.history
            read_s = [
                timed(lambda: panels.forecast_history(history, cfg, latest, now))[0]
                for _ in range(fits)
            ]
            frame = panels.forecast_history(history, cfg, latest, now)
            one = [
                timed(lambda: panels.city_forecast(history, cfg, latest, now)) for _ in range(fits)
            ]
            # The same fit with every core (the library's default).
            every = [timed(lambda: panels.forecast_of(frame, cfg, now)) for _ in range(fits)]
            made = city.forecasts("public")
            ids = sorted(made["site_id"].unique())
            picked = [ids[i * len(ids) // clicks] for i in range(clicks)]
            click_ms, own_ms = [], []
            for site in picked:
                started = time.perf_counter()
                ahead = city.site_forecast("public", site)
                click_ms.append((time.perf_counter() - started) * 1000)
                assert ahead is not None and not ahead.empty
                started = time.perf_counter()
                panels.site_forecast(history, cfg, site, now)
                own_ms.append((time.perf_counter() - started) * 1000)
        finally:
            runtime.close()
    print(
        f"demo city: {len(ids)} forecast sites, {len(made)} forecasts of the next "
        f"{cfg.twin.forecast_hours} h; {clicks} clicks, {fits} fit(s) each way"
    )
    wall_one = statistics.median(w for w, _ in one)
    cpu_one = statistics.median(c for _, c in one)
    wall_all = statistics.median(w for w, _ in every)
    cpu_all = statistics.median(c for _, c in every)
    print(f"  click: median {statistics.median(click_ms):.1f} ms from the city's forecast")
    print(f"  the site's own fit in the request: median {statistics.median(own_ms):.0f} ms")
    print(f"  city fit: one core {wall_one:.1f} s ({cpu_one:.1f} s CPU), ", end="")
    print(f"every core {wall_all:.1f} s ({cpu_all:.1f} s CPU)")
    print(
        f"RESULT click_ms={statistics.median(click_ms):.2f} "
        f"own_fit_ms={statistics.median(own_ms):.0f} read_s={statistics.median(read_s):.2f} "
        f"fit_one_core_s={wall_one:.2f} fit_cpu_s={cpu_one:.2f} "
        f"fit_all_cores_s={wall_all:.2f} fit_all_cores_cpu_s={cpu_all:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
