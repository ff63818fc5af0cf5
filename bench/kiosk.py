"""What a kiosk's periodic refresh costs the server, with and without new data.

Every kiosk asks the server for a refresh every ``[ui] poll_seconds``. When nothing a
kiosk shows has changed (same data version, same notices, same minute), the answer must
be almost free: only the heartbeat is recorded and a tiny acknowledgement goes back; and
kiosks showing the same screen set share one rendering per change. This script serves
the demo city (replayed at a pinned time) through the real Flask app and measures in the
same run:

* ``render_ms``: rendering every slide of the default screen in both languages from the
  public view — the baseline, what one refresh would cost without any sharing;
* ``shared_ms``: a refresh over HTTP by a kiosk whose screen is out of date, when another
  kiosk of the same screen set already had it rendered (answer sent in full);
* ``unchanged_ms``: a refresh over HTTP with nothing new (the kiosk sends the current key).

``ratio`` = unchanged_ms / render_ms (lower is better); ``*_bytes`` are the uncompressed
answers. Figures are medians over the repeats. ``--quick`` uses fewer repeats.

    python bench/kiosk.py [--quick]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# The repository root is put on the path above so the script runs from anywhere.
from cockpit.config import default_config_path, load_config
from cockpit.present.slides import screen_for
from layouts.pages.kiosk import current_state, render_body
from tests.browser import T0, Clock, demo_runtime
from wiring.app import create_app
from wiring.runtime import Runtime


def _request(key: str, n: int) -> dict[str, Any]:
    return {
        "output": "..cc-kiosk-body.children...cc-kiosk.className...cc-kiosk-state.data..",
        "outputs": [
            {"id": "cc-kiosk-body", "property": "children"},
            {"id": "cc-kiosk", "property": "className"},
            {"id": "cc-kiosk-state", "property": "data"},
        ],
        "inputs": [{"id": "cc-kiosk-ask", "property": "data", "value": n}],
        "state": [
            {
                "id": "cc-kiosk-params",
                "property": "data",
                "value": {"screen": "default", "id": "bench", "lang": ""},
            },
            {"id": "cc-kiosk-state", "property": "data", "value": {"key": key}},
        ],
        "changedPropIds": ["cc-kiosk-ask.data"],
    }


def _measure(client: Any, key: str, repeats: int) -> tuple[float, int]:
    times, size = [], 0
    for n in range(repeats):
        start = time.perf_counter()
        answer = client.post("/_dash-update-component", json=_request(key, n))
        times.append(time.perf_counter() - start)
        assert answer.status_code == 200, answer.status_code
        size = len(answer.data)
    return statistics.median(times) * 1000, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    repeats = 8 if args.quick else 30
    with tempfile.TemporaryDirectory() as folder:
        clock = Clock(T0)
        runtime: Runtime = demo_runtime(
            Path(folder), clock, config=load_config(default_config_path()), backfill=False
        )
        try:
            app = create_app(runtime, start_refresher=False)
            client = app.server.test_client()
            now = clock().to_pydatetime()
            state = current_state(runtime, now)
            screen = screen_for(runtime.config, None)
            _measure(client, state.key, 2)  # warm up: the view is built once per data version
            renders = []
            for _ in range(max(3, repeats // 4)):
                start = time.perf_counter()
                render_body(runtime, screen, state, now, "localhost")
                renders.append(time.perf_counter() - start)
            render_ms = statistics.median(renders) * 1000
            shared_ms, full_bytes = _measure(client, "out-of-date", repeats)
            unchanged_ms, unchanged_bytes = _measure(client, state.key, repeats)
        finally:
            runtime.close()
    print(f"render:     {render_ms:8.1f} ms")
    print(f"shared:     {shared_ms:8.1f} ms  {full_bytes:9,d} bytes")
    print(f"unchanged:  {unchanged_ms:8.1f} ms  {unchanged_bytes:9,d} bytes")
    print(
        f"RESULT render_ms={render_ms:.1f} shared_ms={shared_ms:.1f} "
        f"unchanged_ms={unchanged_ms:.1f} ratio={unchanged_ms / render_ms:.3f} "
        f"full_bytes={full_bytes} unchanged_bytes={unchanged_bytes}"
    )


if __name__ == "__main__":
    main()
