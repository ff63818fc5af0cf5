"""How fast the SensorThings connector turns a large answer into canonical frames.

Builds one ``Datastreams(id)/Observations`` answer in the shape iot.hamburg.de sends for
the connector's query (``$select=phenomenonTime,result``: 5-minute count intervals
"start/end" ending a second early, integer results, an ``@iot.nextLink``), then measures
in the same run:

* ``parse_s``: the fastest installed JSON parser (orjson) decoding the bytes and letting
  the decoded objects go, nothing else (the normalisation lets its decoded answer go
  inside its own timing too);
* ``normalize_s``: bytes to a canonical observation frame (the same orjson decode, the
  envelope check and the vectorised normalisation, counts per interval turned into
  vehicles per hour from each Observation's own interval).

``ratio_to_parse`` = normalize_s / parse_s; the target is at most 3. Each figure is the
best of a few repeats, in CPU seconds of this process (``time.process_time``, every
thread counted), so other programs sharing the machine do not move the ratio. The GBFS,
CSV/JSON table, ArcGIS and Socrata connectors are then measured the same way on
answers in their real servers' shapes (``bench/record_connectors.py``), one ``RESULT
connector=…`` line each; the CSV baseline is pandas' C reader. The SensorThings RESULT
line stays the last line. ``--quick`` uses 250,000 observations instead of 1,000,000 and
fewer repeats so the run stays well under a minute.

    python bench/connectors.py [--quick] [--observations N]
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# The repository root is put on the path above so the script runs from anywhere.
from bench.record_connectors import cases, dropped
from connectors.sensorthings import (
    Stream,
    observations_from_entities,
    parse_collection,
)

__all__ = ["build_answer", "main", "normalize"]

FULL = 1_000_000
QUICK = 250_000
# A Hamburg bike counting field: 5-minute counts, no declared aggregation interval.
STREAM = Stream(16183, "hh:7648", "vehicle_flow", "Anzahl", None, per_interval=True)


def build_answer(count: int, seed: int = 7) -> bytes:
    """The bytes of one Observations page with ``count`` 5-minute count intervals."""
    rng = np.random.default_rng(seed)
    step = np.timedelta64(300, "s")
    starts = np.datetime64("2024-01-01T00:00:00", "s") + np.arange(count) * step
    begin = np.datetime_as_string(starts, unit="ms")
    end = np.datetime_as_string(starts + step - np.timedelta64(1, "s"), unit="ms")
    results = rng.poisson(40, count).tolist()
    value = [
        {"phenomenonTime": f"{b}Z/{e}Z", "result": r}
        for b, e, r in zip(begin.tolist(), end.tolist(), results, strict=True)
    ]
    link = (
        "https://iot.hamburg.de/v1.1/Datastreams(16183)/Observations"
        f"?$select=phenomenonTime,result&$orderby=phenomenonTime+asc&$top={count}&$skip={count}"
    )
    return orjson.dumps({"value": value, "@iot.nextLink": link})


def normalize(body: bytes) -> pd.DataFrame:
    """Bytes of an Observations answer to a canonical observation frame."""
    values, _ = parse_collection(orjson.loads(body), "hh")
    return observations_from_entities(values, STREAM)


def best_of(repeats: int, work: Callable[[], Any]) -> tuple[float, Any]:
    """(fastest CPU time in seconds, last result) of ``repeats`` runs of ``work``."""
    best, result = float("inf"), None
    for _ in range(repeats):
        result = None
        gc.collect()
        started = time.process_time()
        result = work()
        best = min(best, time.process_time() - started)
    return best, result


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures; the last line is the RESULT line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK:,} observations")
    parser.add_argument("--observations", type=int, default=None)
    args = parser.parse_args(argv)
    count = args.observations or (QUICK if args.quick else FULL)
    repeats = 2 if args.quick else 3

    body = build_answer(count)
    parse_s, _ = best_of(repeats, dropped(lambda: orjson.loads(body)))
    stdlib_s, _ = best_of(1, lambda: json.loads(body))
    normalize_s, frame = best_of(repeats, lambda: normalize(body))
    decoded = orjson.loads(body)["value"]
    frames_s, _ = best_of(repeats, lambda: observations_from_entities(decoded, STREAM))

    # The figures mean nothing if the frame is wrong: 40 bikes per 5 min is 480 per hour.
    assert len(frame) == count and frame["unit"].eq("veh/h").all()
    first = orjson.loads(body)["value"][0]["result"]
    assert frame["value"].iloc[0] == first * 12
    assert frame["time"].iloc[0] == pd.Timestamp("2024-01-01T00:04:59Z")

    for case in cases(max(min(count // 2, 200_000), 1000)):
        case_parse_s, _ = best_of(repeats, case.parse)
        case_norm_s, result = best_of(repeats, case.normalize)
        case.check(result)
        print(
            f"RESULT connector={case.name} bytes={case.size} parse_s={case_parse_s:.4f} "
            f"normalize_s={case_norm_s:.4f} ratio_to_parse={case_norm_s / case_parse_s:.3f}"
        )

    obs_per_s = count / normalize_s
    ratio = normalize_s / parse_s
    mode = " (--quick: fewer observations than the full run's 1,000,000)" if args.quick else ""
    print("City Cockpit: SensorThings Observations answer -> canonical observation frame")
    print(f"observations          {count:>12,}{mode}")
    print(f"answer size           {len(body) / 1e6:>12.1f} MB")
    print(f"orjson {orjson.__version__:<8} parse  {parse_s:>12.3f} s  (the baseline)")
    print(f"stdlib json parse     {stdlib_s:>12.3f} s  (for comparison)")
    print(f"normalize end to end  {normalize_s:>12.3f} s  = {obs_per_s:,.0f} obs/s")
    print(f"  of which frames     {frames_s:>12.3f} s  (after the parse)")
    print(f"ratio to parse        {ratio:>12.2f}    (target <= 3)")
    print(
        f"RESULT obs_per_s={obs_per_s:.0f} parse_s={parse_s:.4f} "
        f"normalize_s={normalize_s:.4f} ratio_to_parse={ratio:.3f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
