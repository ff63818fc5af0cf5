"""A synthetic large city for the benchmarks: the demo city with its parking layer
replaced by ``n`` generated bay sensors spread over greater Melbourne.

The demo's other sources are read once from their replay; the parking source gets a
generated snapshot written straight into the store, the way a refresh would write it.
``City.new_data`` writes another snapshot with changed occupancy (a new data version).
Also serves an app on a free 127.0.0.1 port in a thread (werkzeug, threaded), the same
server kind for the cockpit and for the benchmarks' baselines.
"""

from __future__ import annotations

import socket
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, bench/ comes first on the path, and bench/connectors.py would hide
# the ``connectors`` package: the repository root goes first instead.
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

from cockpit.config import default_config_path, load_config  # noqa: E402
from cockpit.model import Snapshot, observations_frame, sites_frame  # noqa: E402
from wiring.runtime import Runtime  # noqa: E402

STREETS = [
    "Swanston", "Elizabeth", "Collins", "Bourke", "Lonsdale", "Flinders", "King", "William",
    "Queen", "Spencer", "Exhibition", "Russell", "Spring", "La Trobe", "Victoria", "Lygon",
    "Rathdowne", "Nicholson", "Brunswick", "Smith", "Chapel", "Punt", "Toorak", "High",
]  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SyntheticCity:
    """A runtime whose parking source holds ``n`` generated sites."""

    def __init__(self, n: int, seed: int = 7) -> None:
        self.n = n
        self.rng = np.random.default_rng(seed)
        self.tmp = tempfile.TemporaryDirectory(prefix="cc-bench-")
        config = load_config(default_config_path())
        self.runtime = Runtime.open(config, Path(self.tmp.name))
        for source in config.sources:
            if source != "parking":
                self.runtime.refresher.refresh(source)
        ids = np.arange(100_000, 100_000 + n)
        lon = self.rng.uniform(144.80, 145.20, n)
        lat = self.rng.uniform(-37.95, -37.70, n)
        streets = self.rng.choice(STREETS, n)
        self.sites = sites_frame(
            pd.DataFrame(
                {
                    "id": [f"parking:{i}" for i in ids],
                    "source": "parking",
                    "domain": "parking",
                    "name": [f"{s} St bay {i}" for s, i in zip(streets, ids, strict=True)],
                    "lat": lat,
                    "lon": lon,
                }
            )
        )
        self.new_data()

    def new_data(self) -> int:
        """Write a parking snapshot with fresh occupancy; returns the new data version."""
        now = datetime.now(UTC).replace(microsecond=0)
        occupied = (self.rng.random(self.n) < 0.6).astype(float)
        obs = observations_frame(
            pd.DataFrame(
                {
                    "site_id": self.sites["id"],
                    "metric": "bay_occupied",
                    "time": pd.Timestamp(now),
                    "value": occupied,
                }
            )
        )
        snap = Snapshot(source="parking", sites=self.sites, observations=obs, fetched_at=now)
        self.runtime.store.put_snapshot(snap)
        return self.runtime.store.version()

    def close(self) -> None:
        self.runtime.close()
        self.tmp.cleanup()


@contextmanager
def serve(flask_app: Any) -> Iterator[str]:
    """``flask_app`` on a free 127.0.0.1 port (werkzeug, threaded); yields its base URL."""
    from werkzeug.serving import make_server

    port = free_port()
    server = make_server("127.0.0.1", port, flask_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join(10)
