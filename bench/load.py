"""Many kiosks and cockpits at once against gunicorn, and how often the platforms are read.

Serves a Melbourne city whose two sources (parking bay sensors and microclimate
sensors, OpenDataSoft connectors) read a counting ``FaultServer`` on 127.0.0.1, with
``gunicorn app:server`` (gthread workers, one per core). Then, in the same run:

1. ``load``: ``--clients`` simulated browsers (half kiosks on ``/kiosk?id=…``, half
   desktop cockpits on ``/``) for ``--seconds``. Each loads its page as the Dash
   renderer does (HTML, ``/_dash-layout``, ``/_dash-dependencies``, the pages
   callback), then every poll interval sends the interval's callback, and whatever the
   renderer sends after a new data version (the cockpit's refresh, its trend, the map
   layer files). Requests are the ones the renderer sends, built from
   ``/_dash-dependencies`` (``bench/_common.py``), so no recording goes stale.
2. ``floor``: the same number of clients, same pace, each sending ``GET /health``.
3. ``capacity``: 2 × threads × workers clients sending the cockpit poll back to back
   for a few seconds: requests per second per worker core.

Prints p50/p95 per callback, errors (must be 0), the upstream requests the platforms
got (one per source per refresh interval, whatever the number of clients: it must
equal the refreshes the city made, Σ ``fetches``, and no two reads of one source may
fall in one interval), and ends with one ``RESULT`` line.

    python bench/load.py [--quick] [--clients N] [--seconds S]
"""

from __future__ import annotations

import argparse
import itertools
import random
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import requests
from _common import DashClient, Timings, gunicorn, percentile

from tests.faultserver import FaultServer, microclimate_routes, ods_city_toml, parking_routes

POLL_S = 5  # the browsers' poll interval (ui.poll_seconds)
REFRESH_S = 10  # each source's refresh interval


def _run_clients(
    count: int, seconds: float, make: Callable[[int], Callable[[threading.Event], None]]
) -> float:
    """``count`` threads, each running ``make(i)(stop)``; returns the elapsed seconds."""
    stop = threading.Event()
    threads = [threading.Thread(target=make(i), args=(stop,), daemon=True) for i in range(count)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    stop.wait(seconds)
    stop.set()
    for thread in threads:
        thread.join(120)
    return time.monotonic() - started


def browser(base: str, timings: Timings, poll_s: float) -> Callable[[int], Callable[..., None]]:
    def make(i: int) -> Callable[[threading.Event], None]:
        kiosk = i % 2 == 0
        path = f"/kiosk?id=load-{i}" if kiosk else "/"
        label = "kiosk" if kiosk else "cockpit"

        def run(stop: threading.Event) -> None:
            stop.wait(random.uniform(0, poll_s))  # browsers do not open in step
            client = DashClient(base, path, timings, label)
            try:
                if not client.open():
                    timings.errors.append(f"{label}: page has no poll callback")
                    return
                while not stop.wait(poll_s):
                    client.poll()
            finally:
                client.close()

        return run

    return make


def health_floor(
    base: str, timings: Timings, poll_s: float
) -> Callable[[int], Callable[..., None]]:
    def make(_i: int) -> Callable[[threading.Event], None]:
        def run(stop: threading.Event) -> None:
            stop.wait(random.uniform(0, poll_s))
            with requests.Session() as session:
                while not stop.is_set():
                    started = time.perf_counter()
                    try:
                        answer = session.get(f"{base}/health", timeout=60)
                        timings.add("health", (time.perf_counter() - started) * 1000)
                        if answer.status_code != 200:
                            timings.errors.append(f"health: HTTP {answer.status_code}")
                    except requests.RequestException as exc:
                        timings.errors.append(f"health: {type(exc).__name__}")
                    stop.wait(poll_s)

        return run

    return make


def capacity(base: str, timings: Timings) -> Callable[[int], Callable[..., None]]:
    def make(_i: int) -> Callable[[threading.Event], None]:
        def run(stop: threading.Event) -> None:
            client = DashClient(base, "/", timings, "capacity")
            try:
                if not client.open():
                    return
                while not stop.is_set():
                    client.poll()
            finally:
                client.close()

        return run

    return make


def _report(name: str, timings: Timings) -> None:
    for label in sorted(timings.latencies):
        values = timings.latencies[label]
        print(
            f"  {name:8s} {label:22s} n={len(values):6d}"
            f"  p50={percentile(values, 50):7.1f} ms  p95={percentile(values, 95):7.1f} ms"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="50 clients for 20 s")
    parser.add_argument("--clients", type=int)
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    clients = args.clients or (50 if args.quick else 200)
    seconds = args.seconds or (20.0 if args.quick else 120.0)
    floor_s = min(seconds, 10.0 if args.quick else 30.0)
    capacity_s = 5.0 if args.quick else 15.0

    platforms = {
        "parking": FaultServer(parking_routes(one_page=True)),
        "air": FaultServer(microclimate_routes()),
    }
    work = Path(tempfile.mkdtemp(prefix="cc-load-"))
    config = work / "city.toml"
    config.write_text(
        ods_city_toml(
            {s: p.url for s, p in platforms.items()},
            refresh_seconds=REFRESH_S,
            stale_after_seconds=10 * 365 * 86400,
            poll_seconds=POLL_S,
        ),
        encoding="utf-8",
    )
    print(
        f"load: {clients} clients (half kiosks, half cockpits) for {seconds:.0f} s,"
        f" poll every {POLL_S} s, sources refreshed every {REFRESH_S} s,"
        f" gunicorn {args.workers} workers × {args.threads} threads; work dir {work}"
    )
    try:
        with gunicorn(config, work / "data", args.workers, args.threads, work / "gunicorn.log") as (
            base,
            _proc,
        ):
            # Every source read once before the clock starts.
            deadline = time.monotonic() + 60
            while requests.get(f"{base}/health", timeout=10).json()["status"] != "ok":
                if time.monotonic() > deadline:
                    raise RuntimeError("the city did not come up")
                time.sleep(0.2)
            fetched_before = _fetches(base)
            upstream_before = {s: p.total() for s, p in platforms.items()}
            load = Timings()
            elapsed = _run_clients(clients, seconds, browser(base, load, POLL_S))
            upstream = {s: p.total() - upstream_before[s] for s, p in platforms.items()}
            fetched = {s: n - fetched_before[s] for s, n in _fetches(base).items()}
            gaps = {
                s: _min_gap([t for t, _ in p.times[upstream_before[s] :]])
                for s, p in platforms.items()
            }

            floor = Timings()
            _run_clients(clients, floor_s, health_floor(base, floor, POLL_S))
            cap = Timings()
            cap_clients = 2 * args.workers * args.threads
            cap_elapsed = _run_clients(cap_clients, capacity_s, capacity(base, cap))
    finally:
        for platform in platforms.values():
            platform.stop()

    requests_done = load.count()
    polls = load.latencies.get("cockpit poll", []) + load.latencies.get("kiosk refresh", [])
    cap_polls = cap.latencies.get("cockpit poll", [])
    per_core = len(cap_polls) / cap_elapsed / args.workers
    print("latency per request (ms):")
    _report("load", load)
    _report("floor", floor)
    _report("capacity", cap)
    print(
        f"throughput under load: {requests_done / elapsed:.1f} req/s"
        f" ({requests_done / elapsed / args.workers:.1f} per worker core);"
        f" capacity: {len(cap_polls) / cap_elapsed:.1f} poll callbacks/s"
        f" = {per_core:.1f} per worker core (p95 {percentile(cap_polls, 95):.0f} ms)"
    )
    intervals = {s: int(elapsed // REFRESH_S) for s in platforms}
    print(
        f"upstream requests per source: {upstream}; refreshes made (fetches): {fetched};"
        f" whole refresh intervals elapsed: {intervals};"
        f" shortest gap between two reads of one source: "
        + ", ".join(f"{s} {g:.1f} s" for s, g in gaps.items())
    )
    errors = load.errors + floor.errors + cap.errors
    reconnects = load.reconnects + cap.reconnects
    print(f"requests sent again on a new connection (as browsers do): {len(reconnects)}")
    for error in sorted(set(errors))[:20]:
        print(f"  error: {error} (×{errors.count(error)})")
    p95_polls = percentile(polls, 95)
    print(
        f"RESULT clients={clients} seconds={elapsed:.0f} errors={len(errors)}"
        f" requests={requests_done} p50_ms={percentile(load.all(), 50):.1f}"
        f" p95_ms={percentile(load.all(), 95):.1f} poll_p95_ms={p95_polls:.1f}"
        f" floor_p95_ms={percentile(floor.all(), 95):.1f}"
        f" rps_per_core={per_core:.1f}"
        f" upstream_requests={sum(upstream.values())}"
        f" expected_upstream={sum(fetched.values())}"
    )
    ok = not errors and upstream == fetched and all(g >= REFRESH_S - 1 for g in gaps.values())
    return 0 if ok else 1


def _fetches(base: str) -> dict[str, int]:
    sources = requests.get(f"{base}/health", timeout=10).json()["sources"]
    return {s: int(entry["fetches"]) for s, entry in sources.items()}


def _min_gap(times: list[float]) -> float:
    ordered = sorted(times)
    gaps = [b - a for a, b in itertools.pairwise(ordered)]
    return min(gaps) if gaps else float("inf")


if __name__ == "__main__":
    raise SystemExit(main())
