"""Does the fitted forecast beat the seasonal profile on recorded weeks it has not seen?

Reads the demo city's replayed history (pedestrian counts, SCATS traffic volumes, EPA
air quality; the simulated parking is left out) for the weeks before now, as hourly
means on the city's wall clock, and forecasts every hour 1, 2 and 3 hours ahead:

* ``seasonal`` (the baseline, seasonal naive): the profile alone, the median of the same
  weekday and hour over the previous weeks;
* ``decay rule``: the profile plus the deviation of the hour the forecast is made in,
  times ``decay`` ** hours ahead (the rule ``cockpit.twin.forecast`` falls back to);
* ``model``: the fitted deviation model of ``cockpit.twin.forecast_model`` (per metric
  the profile, a line or gradient-boosted trees, picked on the training days alone),
  fitted once on all series; the time that fit takes is printed.

The decay and the model are fitted on the two weeks before the held-back last week
(``--quick``: last 3 days) and all three are scored there. The demo's pedestrian and
traffic recordings loop every 4 weeks, so the profile uses 3 weeks and nothing is fitted
on the 4th week before the held-back one (it is the very same recorded week). Mean
absolute errors are pooled over all series in their own units and printed per metric;
``coverage_80`` is the share of held-back values inside the model's 80 % band (the
profile's normal band in the same run for comparison).

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
from cockpit.twin import forecast_model  # noqa: E402
from cockpit.twin.baseline import hourly_table, profile  # noqa: E402
from cockpit.twin.forecast import BAND_Z, model_predictions  # noqa: E402
from wiring.runtime import Runtime  # noqa: E402

SOURCES = ("pedestrians", "traffic", "air")
HORIZONS = (1, 2, 3)
WEEKS = 3
TRAIN_DAYS = 14


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


def pooled(values: np.ndarray) -> float:
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else float("nan")


def decay_errors(table: pd.DataFrame, decay: float, rows: np.ndarray, h: int) -> np.ndarray:
    _, model = model_predictions(table, h, WEEKS, 2, decay)
    return np.abs(model.to_numpy(float)[rows] - table.to_numpy(float)[rows])


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
    train_lo = test_lo - pd.Timedelta(days=TRAIN_DAYS)
    print(
        f"demo history: {len(frame):,} observations, {table.shape[1]} series, "
        f"{len(table)} hours; profile of {WEEKS} weeks; train {train_lo:%Y-%m-%d %H:%M} .. "
        f"test {test_lo:%Y-%m-%d %H:%M} .. {last:%Y-%m-%d %H:%M} (city time)"
    )
    median, spread, _ = profile(table, pd.DatetimeIndex(table.index), WEEKS, 2)
    actual = table.to_numpy(float)
    seasonal = median.to_numpy(float)
    metrics = table.columns.get_level_values("metric")
    index = pd.DatetimeIndex(table.index)
    train = np.asarray((index >= train_lo) & (index < test_lo))
    test = np.asarray((index >= test_lo) & (index < last))

    base, deviation = forecast_model.deviations(table, median)
    fit_started = time.perf_counter()
    model = forecast_model.fit(deviation, base, metrics, index, train, HORIZONS)
    fit_seconds = time.perf_counter() - fit_started
    grid = [round(d, 1) for d in np.arange(0.0, 1.01, 0.1)]
    decay_train = {
        d: pooled(np.concatenate([decay_errors(table, d, train, h).ravel() for h in HORIZONS]))
        for d in grid
    }
    decay = min(decay_train, key=lambda d: decay_train[d])

    scored = ~np.isnan(actual[test]) & ~np.isnan(seasonal[test])
    rows: dict[str, list[np.ndarray]] = {"seasonal": [], "decay": [], "model": []}
    inside: list[np.ndarray] = []
    inside_normal: list[np.ndarray] = []
    per_horizon = []
    for h in HORIZONS:
        expected, low, high = forecast_model.predict(model, deviation, base, metrics, index, h)
        value = forecast_model.from_log(base + expected, metrics)[test]
        lo = forecast_model.from_log(base + low, metrics)[test]
        hi = forecast_model.from_log(base + high, metrics)[test]
        ok = scored & ~np.isnan(value)
        y = actual[test]
        seasonal_err = np.where(ok, np.abs(seasonal[test] - y), np.nan)
        model_err = np.where(ok, np.abs(value - y), np.nan)
        decay_err = np.where(ok, decay_errors(table, decay, test, h), np.nan)
        rows["seasonal"].append(seasonal_err)
        rows["model"].append(model_err)
        rows["decay"].append(decay_err)
        inside.append(((y >= lo) & (y <= hi))[ok])
        half = BAND_Z * spread.to_numpy(float)[test]
        inside_normal.append((np.abs(y - seasonal[test]) <= half)[ok])
        per_horizon.append((h, pooled(seasonal_err), pooled(decay_err), pooled(model_err)))
    stacked = {k: np.concatenate(v) for k, v in rows.items()}
    for metric in sorted(set(metrics)):
        cols = np.tile(np.asarray(metrics == metric), (len(HORIZONS) * int(test.sum()), 1))
        cols = cols.reshape(stacked["model"].shape)
        if not (~np.isnan(np.where(cols, stacked["model"], np.nan))).any():
            continue  # nothing of it in the held-back window
        print(
            f"  {metric:13s} seasonal_mae={pooled(stacked['seasonal'][cols]):9.2f} "
            f"decay_mae={pooled(stacked['decay'][cols]):9.2f} "
            f"model_mae={pooled(stacked['model'][cols]):9.2f}"
        )
    for h, s_err, d_err, m_err in per_horizon:
        print(
            f"  {h} h ahead     seasonal_mae={s_err:9.2f} decay_mae={d_err:9.2f} "
            f"model_mae={m_err:9.2f}"
        )
    seasonal_mae, decay_mae, model_mae = (
        pooled(stacked[k]) for k in ("seasonal", "decay", "model")
    )
    coverage = float(np.concatenate(inside).mean())
    coverage_normal = float(np.concatenate(inside_normal).mean())
    points = int((~np.isnan(stacked["model"])).sum())
    print(
        f"{points:,} forecasts scored in {time.perf_counter() - started:.0f} s (model fitted "
        f"in {fit_seconds:.1f} s); decay rule "
        f"{decay}; profile's normal 80 % band covers {coverage_normal:.3f}"
    )
    print(
        f"RESULT mae_ratio_to_seasonal={model_mae / seasonal_mae:.3f} coverage_80={coverage:.3f} "
        f"seasonal_mae={seasonal_mae:.3f} model_mae={model_mae:.3f} decay_rule_mae={decay_mae:.3f} "
        f"seasonal_coverage_80={coverage_normal:.3f} forecasts={points}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
