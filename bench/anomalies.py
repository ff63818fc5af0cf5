"""Do the cockpit's anomalies deserve attention? Injected changes in real recorded series.

Reads the demo city's real recordings (City of Melbourne pedestrian counts, May 2025;
VicRoads SCATS volumes, October 2006; EPA Victoria's Alphington station, 2024; the
simulated sites are left out) as hourly means on the city's wall clock, and on each day
that has at least two earlier weeks, for one series in three, multiplies a window of
known size (+50 % or −50 %) and duration (2 to 6 hours, starting between 07:00 and
17:00) into the values. Then each day is judged as the cockpit judges today at 23:00,
against the same weekday and hour of the previous 4 weeks of the clean recording:

* ``baseline``: the current method before the noise floor, every hour whose robust score
  reaches 3.5 (``cockpit.twin.baseline.robust_z``);
* ``detector``: the count-aware noise floor (``cockpit.twin.anomalies.unusual_hours``).

A series-day is "found" when the method flags any hour of it. A found series-day with
an injected window is a true positive when a flagged hour lies in the window (else a
false positive); found without one, it is a false alarm. ``precision`` = true / found,
``recall`` = injected windows found / injected windows, ``false_alarms_per_site_day`` =
false alarms / series-days without an injection.

The recordings hold real events of the very size injected (a street closed for an
afternoon, a bushfire's smoke), and flagging them is no false alarm. So before any
method runs, the clean (un-injected) series alone marks its own events, by a rule that
knows nothing of either method: an hour is a recorded event when, between 07:00 and
23:00 (the hours where windows are injected), the clean value and its usual level (the
median of the same weekday and hour in the previous 4 weeks) are both above zero (a
counter's zero is an outage, never an event) and their ratio is at least 1.5 or at most
1 / 1.5 (the injected +50 %, and the same size downwards: a street at 60 % of its usual
crowd for an afternoon has had an event), in a run of at least 2 such consecutive hours
(the shortest injected window). A run so found goes on past 23:00 for as long as the
ratio stays that far out: a street closed at 18:00 is still closed at midnight, and a
flag there is no false alarm, while a run that lies in the night alone marks nothing.
Flagged hours inside recorded events are left out of the scoring (on
an injected series-day a flag in the injected window still counts as found); every
other flagged hour, at night as well, counts. ``raw_false_alarms`` is the rate with no
hour left out, printed alongside, with the share of hours marked as recorded events.
``busy_recall`` is the recall over the injected windows whose usual level averages at
least the metric's declared minimum volume (``NoiseFloor.volume``): the streets and
roads the floor is meant to watch (air's volumes lie above its usual levels, so none).

    python bench/anomalies.py [--quick] [--seed N]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from cockpit.config import TwinConfig, default_config_path, load_config  # noqa: E402
from cockpit.domains import noise_floor  # noqa: E402
from cockpit.source import SourceContext, build_connector  # noqa: E402
from cockpit.twin.anomalies import unusual_hours  # noqa: E402
from cockpit.twin.baseline import profile, robust_z  # noqa: E402

SOURCES = ("pedestrians", "traffic", "air")
# The cockpit's defaults: 4 weeks of history, at least 2 of them, a score of 3.5.
WEEKS, MIN_WEEKS, Z = TwinConfig().baseline_weeks, TwinConfig().min_weeks, TwinConfig().anomaly_z
SIZES = (1.5, 0.5)
# A recorded event: the clean value at least this many times its usual level, or at most
# its inverse (the injected +50 %, the same size downwards on a log scale).
EVENT = 1.5
SHARE = 1 / 3  # of series-days that get an injected window


@dataclass(frozen=True)
class Injection:
    column: int
    day: pd.Timestamp
    start: int  # row in the table
    hours: int
    factor: float


def recorded_tables(quick: bool) -> list[tuple[str, pd.DataFrame]]:
    """Per dataset: hourly means of its real (replayed) sites, rows naive wall-clock
    hours of whole days, columns (site_id, metric)."""
    config = load_config(default_config_path())
    tables = []
    for source in SOURCES:
        connector = build_connector(SourceContext.from_city(config, source, {}))
        recording = connector._recording()  # type: ignore[attr-defined]
        real = set(recording.sites.loc[recording.sites["origin"] == "replayed", "id"])
        obs = recording.observations
        obs = obs[obs["site_id"].isin(real)]
        if source == "air" and quick:
            last = obs["recorded"].max()
            obs = obs[obs["recorded"] > last - pd.Timedelta(weeks=8)]
        slot = pd.DatetimeIndex(obs["recorded"]).floor("h")
        wide = (
            obs.assign(slot=slot)
            .groupby(["slot", "site_id", "metric"])["value"]
            .mean()
            .unstack(["site_id", "metric"])
        )
        # Whole days only, midnight to midnight on the city's wall clock.
        first = wide.index.min().ceil("D")
        last = (wide.index.max() + pd.Timedelta(hours=1)).floor("D")
        tables.append(
            (source, wide.reindex(pd.date_range(first, last, freq="h", inclusive="left")))
        )
    return tables


def inject(
    table: pd.DataFrame, days: list[int], rng: np.random.Generator
) -> tuple[pd.DataFrame, list[Injection]]:
    values = table.to_numpy(dtype=float).copy()
    found = []
    for day in days:
        for col in range(values.shape[1]):
            if rng.random() >= SHARE:
                continue
            hours = int(rng.integers(2, 7))
            start = day * 24 + int(rng.integers(7, 18))
            factor = float(rng.choice(SIZES))
            rows = slice(start, min(start + hours, day * 24 + 24))
            window = values[rows, col]
            if np.isnan(window).all():
                continue
            values[rows, col] = window * factor
            found.append(Injection(col, pd.Timestamp(day), start, hours, factor))
    return pd.DataFrame(values, index=table.index, columns=table.columns), found


def baseline_flags(value: pd.DataFrame, median: pd.DataFrame, spread: pd.DataFrame) -> np.ndarray:
    metrics = pd.Series(np.tile(np.asarray(value.columns.get_level_values("metric")), len(value)))
    z = robust_z(
        value.to_numpy(float).ravel(),
        median.to_numpy(float).ravel(),
        spread.to_numpy(float).ravel(),
        metrics,
    ).reshape(value.shape)
    return np.abs(np.nan_to_num(z)) >= Z


def detector_flags(value: pd.DataFrame, median: pd.DataFrame, spread: pd.DataFrame) -> np.ndarray:
    """Day by day, as the cockpit judges today (runs end at midnight)."""
    flags = np.zeros(value.shape, dtype=bool)
    for start in range(0, len(value), 24):
        rows = slice(start, start + 24)
        day = unusual_hours(value.iloc[rows], median.iloc[rows], spread.iloc[rows], Z)
        flags[rows] = day.to_numpy() != 0
    return flags


def recorded_events(table: pd.DataFrame, median: pd.DataFrame) -> np.ndarray:
    """The clean series' own events, by the module text's rule (no method involved)."""
    v, m = table.to_numpy(dtype=float), median.to_numpy(dtype=float)
    with np.errstate(all="ignore"):
        ratio = v / m
    daytime = np.asarray(pd.DatetimeIndex(table.index).hour)
    daytime = (daytime >= 7) & (daytime < 23)
    seen = (v > 0) & (m > 0)
    out = np.zeros(v.shape, dtype=bool)
    for big in (seen & (ratio >= EVENT), seen & (ratio <= 1 / EVENT)):
        for col in range(big.shape[1]):
            for start, end in _runs(big[:, col]):
                if _longest(daytime[start:end]) >= 2:
                    out[start:end, col] = True
    return out


def _runs(column: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of each run of True in ``column``."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], column.astype(int), [0]))))
    return list(zip(edges[::2], edges[1::2], strict=True))


def _longest(column: np.ndarray) -> int:
    return max((end - start for start, end in _runs(column)), default=0)


def score(
    flags: np.ndarray,
    injections: list[Injection],
    days: list[int],
    evaluable: np.ndarray,
    events: np.ndarray,
) -> dict[str, float]:
    """True/false positives and false alarms over the series-days in ``days``; flags in
    ``events`` (the recording's own) are left out, except in an injected window."""
    injected = {(i.column, i.start // 24): i for i in injections}
    tp = fp = alarms = clean = hits = raw = 0
    for day in days:
        rows = slice(day * 24, day * 24 + 24)
        for col in range(flags.shape[1]):
            if not evaluable[day, col]:
                continue
            hit = flags[rows, col]
            item = injected.get((col, day))
            if item is None:
                clean += 1
                raw += int(hit.any())
                alarms += int((hit & ~events[rows, col]).any())
                continue
            inside = np.zeros(24, dtype=bool)
            inside[item.start - day * 24 : item.start - day * 24 + item.hours] = True
            if (hit & inside).any():
                tp += 1
                hits += 1
            elif (hit & ~events[rows, col]).any():
                fp += 1
    n_injected = sum(1 for i in injections if evaluable[i.start // 24, i.column])
    return {
        "tp": tp,
        "fp": fp,
        "alarms": alarms,
        "raw": raw,
        "clean": clean,
        "hits": hits,
        "n": n_injected,
    }


def busy_recall(
    flags: np.ndarray, injections: list[Injection], evaluable: np.ndarray, median: pd.DataFrame
) -> tuple[int, int]:
    """Injected windows found, and injected windows, where the usual level reaches the
    metric's minimum volume."""
    metrics = median.columns.get_level_values("metric")
    usual = median.to_numpy(dtype=float)
    found = total = 0
    for i in injections:
        rows = slice(i.start, i.start + i.hours)
        level = (
            np.nanmean(usual[rows, i.column]) if np.isfinite(usual[rows, i.column]).any() else 0.0
        )
        if not evaluable[i.start // 24, i.column] or level < noise_floor(metrics[i.column]).volume:
            continue
        total += 1
        found += int(flags[rows, i.column].any())
    return found, total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args()
    began = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    totals = {"baseline": [], "detector": []}  # type: ignore[var-annotated]
    per_source = []
    shares: dict[str, float] = {}
    for source, table in recorded_tables(args.quick):
        n_days = len(table) // 24
        days = list(range(2 * 7, n_days))
        if args.quick:
            days = days[-7:]
        dirty, injections = inject(table, days, rng)
        slots = pd.DatetimeIndex(table.index)
        median, spread, weeks = profile(table, slots, WEEKS, MIN_WEEKS)
        evaluable = (weeks.to_numpy() >= MIN_WEEKS).reshape(n_days, 24, -1).any(
            axis=1
        ) & table.notna().to_numpy().reshape(n_days, 24, -1).any(axis=1)
        events = recorded_events(table, median)
        day_rows = np.zeros(len(table), dtype=bool)
        for day in days:
            day_rows[day * 24 : day * 24 + 24] = True
        shares[source] = float(events[day_rows].mean())
        for name, flagger in (("baseline", baseline_flags), ("detector", detector_flags)):
            flags = flagger(dirty, median, spread)
            found = score(flags, injections, days, evaluable, events)
            found["busy_hits"], found["busy"] = busy_recall(flags, injections, evaluable, median)
            totals[name].append(found)
            per_source.append((source, name, found))
    print(
        f"{'source':12s} {'method':9s} precision recall false_alarms/site-day "
        "(raw, no hour left out) (n injected)"
    )
    for source, name, f in per_source:
        print(f"{source:12s} {name:9s} {_figures(f)}")
    print(
        "hours marked as recorded events: "
        + ", ".join(f"{source} {share:.1%}" for source, share in shares.items())
    )
    result = {name: _sum(parts) for name, parts in totals.items()}
    for name, f in result.items():
        print(f"{'all':12s} {name:9s} {_figures(f)}")
    d, b = _rates(result["detector"]), _rates(result["baseline"])
    print(f"({time.perf_counter() - began:.1f} s)")
    print(
        f"RESULT precision={d[0]:.3f} recall={d[1]:.3f} false_alarms_per_site_day={d[2]:.3f} "
        f"baseline_precision={b[0]:.3f} baseline_recall={b[1]:.3f} "
        f"baseline_false_alarms_per_site_day={b[2]:.3f} injected={result['detector']['n']} "
        f"raw_false_alarms_per_site_day={_raw(result['detector']):.3f} "
        f"baseline_raw_false_alarms_per_site_day={_raw(result['baseline']):.3f} "
        + " ".join(
            f"{source}_precision={p:.3f} {source}_recall={r:.3f} {source}_false_alarms={a:.3f} "
            f"{source}_busy_recall={f['busy_hits'] / max(f['busy'], 1):.3f}"
            for source, name, f in per_source
            if name == "detector"
            for p, r, a in [_rates(f)]
        )
    )
    return 0


def _sum(parts: list[dict[str, int]]) -> dict[str, int]:
    return {k: sum(p[k] for p in parts) for k in parts[0]}


def _raw(f: dict[str, int]) -> float:
    return f["raw"] / f["clean"] if f["clean"] else 0.0


def _rates(f: dict[str, int]) -> tuple[float, float, float]:
    found = f["tp"] + f["fp"] + f["alarms"]
    precision = f["tp"] / found if found else 1.0
    recall = f["hits"] / f["n"] if f["n"] else 0.0
    return precision, recall, f["alarms"] / f["clean"] if f["clean"] else 0.0


def _figures(f: dict[str, int]) -> str:
    p, r, a = _rates(f)
    raw = f["raw"] / f["clean"] if f["clean"] else 0.0
    busy = f["busy_hits"] / f["busy"] if f["busy"] else 0.0
    return f"{p:9.3f} {r:6.3f} {a:8.3f} ({raw:.3f}) ({f['n']}) busy_recall={busy:.3f} ({f['busy']})"


if __name__ == "__main__":
    raise SystemExit(main())
