"""What a cockpit refresh costs a browser, against a no-op Dash callback round trip.

Serves, on 127.0.0.1 with the same server (werkzeug, threaded, keep-alive):

* the floor: a tiny Dash app with one callback that does nothing;
* the cockpit of a synthetic city of ``--sites`` parking sensors (bench/synthetic_city.py)
  plus the demo's other sources.

and measures, in the same run, POST ``/_dash-update-component``:

* ``floor``: the no-op callback;
* ``nochange``: the cockpit's poll callback when the data version is unchanged (it
  raises PreventUpdate: 204, nothing recomputed);
* ``newdata``: the cockpit's refresh callback (KPI strip, layer data URLs, sources, "as
  of" lines) for a new data version: a new parking snapshot arrives, the app's warmer
  prepares the version's view in the background, and the browser's poll finds the new
  version once that is done and at least ``--lag`` seconds after the data arrived
  (2 s; browsers poll every ``ui.poll_seconds``, 10 s in the demo). Also printed, not
  in the ratio: the same refresh with no warmer, the view built inside the request,
  and how long the warmer took.

The cockpit's requests are the ones its Dash renderer sends, built from
``/_dash-dependencies`` by ``bench/_common.py``'s ``DashClient``.

Ratios: ``nochange_ratio`` = nochange p50 / floor p50 (target at most 1.5),
``newdata_p95_ratio`` = newdata p95 / floor p50 (target at most 5).

    python bench/refresh.py [--quick] [--sites 5000]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

import requests  # noqa: E402
from dash import Dash, Input, Output, html  # noqa: E402

from bench._common import DashClient, Timings  # noqa: E402
from bench.synthetic_city import SyntheticCity, serve  # noqa: E402
from wiring.app import create_app  # noqa: E402

UPDATE = "/_dash-update-component"


def floor_app() -> Dash:
    app = Dash(__name__)
    app.layout = html.Div([html.Button("go", id="go"), html.Div(id="out")])

    @app.callback(Output("out", "children"), Input("go", "n_clicks"), prevent_initial_call=True)
    def noop(n: int | None) -> str:
        return ""

    return app


def floor_payload() -> dict[str, Any]:
    return {
        "output": "out.children",
        "outputs": {"id": "out", "property": "children"},
        "inputs": [{"id": "go", "property": "n_clicks", "value": 1}],
        "changedPropIds": ["go.n_clicks"],
    }


def timed(session: requests.Session, url: str, payload: dict[str, Any], status: int) -> float:
    started = time.perf_counter()
    answer = session.post(url, json=payload, headers={"Accept-Encoding": "gzip, br"})
    elapsed = time.perf_counter() - started
    if answer.status_code != status:
        raise SystemExit(f"{url}: expected {status}, got {answer.status_code}: {answer.text[:200]}")
    return elapsed * 1000


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sites", type=int, default=5000)
    parser.add_argument(
        "--lag", type=float, default=2.0, help="seconds from new data to the browser's refresh"
    )
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logging.getLogger("cockpit").setLevel(logging.ERROR)
    logging.getLogger("connectors").setLevel(logging.ERROR)
    calls = 100 if args.quick else 400
    refreshes = 20 if args.quick else 60

    city = SyntheticCity(args.sites)
    app = create_app(city.runtime, start_refresher=False)
    floor = floor_app()
    times: dict[str, list[float]] = {"floor": [], "prepare": []}
    try:
        with serve(floor.server) as floor_base, serve(app.server) as base:
            session = requests.Session()
            session.get(f"{floor_base}/").raise_for_status()
            # A browser tab on the cockpit: the requests its Dash renderer sends.
            timings = Timings()
            tab = DashClient(base, "/", timings, "cockpit")
            if not tab.open():
                raise SystemExit(f"the cockpit page did not open: {timings.errors}")
            # The server callback that renders the cockpit's panels for a new version:
            # the one writing cc-kpis, or the one feeding the clientside callback that does.
            panels = next(d for d in tab.deps if "cc-kpis.children" in d["output"])
            feeds = {i["id"] for i in panels["inputs"]}
            refresh = next(
                (
                    d
                    for d in tab.deps
                    if not d.get("clientside_function")
                    and d["output"].split(".")[0] in feeds
                    and any(i["id"] == "cc-version" for i in d["inputs"])
                ),
                panels,
            )
            print(f"refresh callback measured: {refresh['output'][:80]}")
            for _ in range(20):  # warm-up, not counted
                timed(session, floor_base + UPDATE, floor_payload(), 200)
                tab.poll()
            timings.latencies.clear()
            # Interleaved, so that both see the same machine load.
            for _ in range(calls):
                times["floor"].append(timed(session, floor_base + UPDATE, floor_payload(), 200))
                tab.poll()  # the version is unchanged: 204
            times["nochange"] = list(timings.latencies["cockpit poll"])
            # Cold: the request itself builds the new version's view (no warmer).
            city.runtime.stop_warmer()
            for _ in range(max(5, refreshes // 4)):
                tab.props["cc-version"]["data"] = city.new_data()
                tab._fire(refresh, "cold refresh", trigger="cc-version.data")
            # As served: the warmer prepares each new version; the browser's poll finds
            # it within its poll interval (here once prepared, and --lag s after the data).
            city.runtime.start_warmer()
            for _ in range(refreshes):
                version = city.new_data()
                arrived = time.perf_counter()
                while city.runtime.warmed_version != version and time.perf_counter() - arrived < 30:
                    time.sleep(0.005)
                times["prepare"].append((time.perf_counter() - arrived) * 1000)
                time.sleep(max(0.0, args.lag - (time.perf_counter() - arrived)))
                tab.props["cc-version"]["data"] = version
                tab._fire(refresh, "cockpit refresh", trigger="cc-version.data")
                times["floor"].append(timed(session, floor_base + UPDATE, floor_payload(), 200))
            times["newdata"] = list(timings.latencies["cockpit refresh"])
            times["cold"] = list(timings.latencies["cold refresh"])
            if timings.errors:
                raise SystemExit(f"errors: {timings.errors[:5]}")
            tab.close()
    finally:
        city.close()

    floor_p50 = statistics.median(times["floor"])
    nochange_p50 = statistics.median(times["nochange"])
    newdata_p50 = statistics.median(times["newdata"])
    newdata_p95 = pct(times["newdata"], 0.95)
    print(f"sites: {args.sites} parking sensors + the demo's other sources")
    print(
        f"floor (no-op callback):   p50 {floor_p50:7.2f} ms  p95 {pct(times['floor'], 0.95):7.2f}"
    )
    print(
        f"refresh, nothing changed: p50 {nochange_p50:7.2f} ms  "
        f"ratio {nochange_p50 / floor_p50:.2f}"
    )
    print(
        f"refresh, new data:        p50 {newdata_p50:7.2f} ms  p95 {newdata_p95:7.2f} ms  "
        f"ratio(p95) {newdata_p95 / floor_p50:.2f}"
    )
    print(
        f"refresh, new data, view built in the request (no warmer): "
        f"p50 {statistics.median(times['cold']):7.2f} ms"
    )
    print(
        f"preparing a new version in the background (view, panels, map files): "
        f"p50 {statistics.median(times['prepare']):7.1f} ms  p95 {pct(times['prepare'], 0.95):7.1f}"
    )
    print(
        f"RESULT floor_p50_ms={floor_p50:.2f} nochange_ratio={nochange_p50 / floor_p50:.2f} "
        f"newdata_p95_ratio={newdata_p95 / floor_p50:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
