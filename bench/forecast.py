"""Does "profile + decaying recent deviation" forecast the demo city better than the profile?

Reads the demo city's replayed history (pedestrian counts, SCATS traffic volumes, EPA
air quality; the simulated parking is left out) for the weeks before now, as hourly
means on the city's wall clock, and forecasts every hour 1, 2 and 3 hours ahead:

* ``baseline`` (seasonal naive): the profile alone, the median of the same weekday and
  hour over the previous weeks;
* ``model``: the profile plus the deviation of the hour the forecast is made in from its
  own profile, times ``decay`` ** hours ahead (``cockpit.twin.forecast``).

``decay`` is chosen on the week before the held-back week (grid 0.0 … 1.0); both are then
scored on the held-back last week (``--quick``: last 3 days). The demo's pedestrian and
traffic recordings loop every 4 weeks, so the profile here uses 3 weeks (a 4th week back
would be the very same recorded week). Mean absolute errors are pooled over all series
in their own units and printed per metric.

    python bench/forecast.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from cockpit.config import default_config_path  # noqa: E402
from cockpit.twin.baseline import hourly_table  # noqa: E402
from cockpit.twin.forecast import model_predictions  # noqa: E402
from wiring.runtime import Runtime  # noqa: E402

SOURCES = ("pedestrians", "traffic", "air")
HORIZONS = (1, 2, 3)
WEEKS = 3


def demo_history(weeks: int) -> tuple[pd.DataFrame, str, pd.Timestamp]:
    data = tempfile.TemporaryDirectory(prefix="cc-forecast-")
    runtime = Runtime.open(default_config_path(), data.name)
    try:
        end = pd.Timestamp.now(tz="UTC").floor("h")
        start = end - pd.Timedelta(weeks=weeks)
        frames = []
        for source in SOURCES:
            connector = runtime.refresher.connectors[source]
            sites = connector.discover_sites()
            frames.append(connector.read_window(sites, start.to_pydatetime(), end.to_pydatetime()))
        return pd.concat(frames, ignore_index=True), runtime.config.city.timezone, end
    finally:
        runtime.close()
        data.cleanup()


def errors(
    table: pd.DataFrame, decay: float, lo: pd.Timestamp, hi: pd.Timestamp
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Absolute errors (rows: hours in [lo, hi) × horizons; columns: series) of the
    baseline and the model, only where both have a prediction and there is a value."""
    base_parts, model_parts = [], []
    for h in HORIZONS:
        naive, model = model_predictions(table, h, WEEKS, 2, decay)
        rows = (table.index >= lo) & (table.index < hi)
        actual = table[rows]
        ok = actual.notna() & naive[rows].notna()
        base_parts.append((naive[rows] - actual).abs().where(ok))
        model_parts.append((model[rows] - actual).abs().where(ok))
    return pd.concat(base_parts), pd.concat(model_parts)


def pooled(err: pd.DataFrame) -> float:
    values = err.to_numpy(dtype=float)
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="hold back 3 days, not 7")
    args = parser.parse_args(argv)
    held = pd.Timedelta(days=3 if args.quick else 7)
    started = time.perf_counter()
    frame, timezone, _ = demo_history(WEEKS + 3)
    table = hourly_table(frame, timezone)
    last = table.index.max() + pd.Timedelta(hours=1)
    test_lo = last - held
    train_lo = test_lo - pd.Timedelta(days=7)
    print(
        f"demo history: {len(frame):,} observations, {table.shape[1]} series, "
        f"{len(table)} hours; profile of {WEEKS} weeks; train {train_lo:%Y-%m-%d %H:%M} .. "
        f"test {test_lo:%Y-%m-%d %H:%M} .. {last:%Y-%m-%d %H:%M} (city time)"
    )
    grid = [round(d, 1) for d in np.arange(0.0, 1.01, 0.1)]
    train = {d: pooled(errors(table, d, train_lo, test_lo)[1]) for d in grid}
    decay = min(train, key=lambda d: train[d])
    print("decay on the training week: " + ", ".join(f"{d}: {e:.2f}" for d, e in train.items()))
    base_err, model_err = errors(table, decay, test_lo, last)
    metrics = base_err.columns.get_level_values("metric")
    for metric in sorted(set(metrics)):
        cols = metrics == metric
        if not base_err.loc[:, cols].notna().to_numpy().any():
            continue  # nothing of it in the held-back window
        print(
            f"  {metric:13s} baseline_mae={pooled(base_err.loc[:, cols]):9.2f} "
            f"model_mae={pooled(model_err.loc[:, cols]):9.2f}"
        )
    for h in HORIZONS:
        n = len(base_err) // len(HORIZONS)
        part = slice((h - 1) * n, h * n)
        print(
            f"  {h} h ahead     baseline_mae={pooled(base_err.iloc[part]):9.2f} "
            f"model_mae={pooled(model_err.iloc[part]):9.2f}"
        )
    b, m = pooled(base_err), pooled(model_err)
    points = int(base_err.notna().to_numpy().sum())
    print(f"{points:,} forecasts scored in {time.perf_counter() - started:.0f} s; decay {decay}")
    print(f"RESULT baseline_mae={b:.3f} model_mae={m:.3f} decay={decay} forecasts={points}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
