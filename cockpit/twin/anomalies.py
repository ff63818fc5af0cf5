"""Which unusual hours deserve a person's attention: the count-aware noise floor.

A robust score alone (``cockpit.twin.baseline.robust_z``) flags 85 pedestrians at
midnight where 13 are usual, and a counter that fell to zero. Here an hour is unusual
only when all of these hold:

- its change, as the log of ``(value + volume) / (usual + volume)`` less the change
  every site of the metric shows in that hour (rain that empties every street is the
  city's news, told by the KPI, not every site's), is at least ``z`` times the usual
  relative spread of that weekday and hour (pooled with the two hours either side:
  the hour-of-day variance, so a busy hour that always swings needs a bigger swing).
  Once the site has ``LEVEL_HOURS`` hours reaching its volume among the ``AROUND``
  hours either side of an hour, the change is also taken against the site's own level
  around it (the median change of those hours): a street busier all day or all
  afternoon long, as busy streets are from one week to the next and as weather makes
  them, is then unusual only where it is ``SHARED`` times the score beyond its usual,
  while a few hours that stand out from the hours around them need only
  ``STANDS_OUT`` times it. The surrounding hours, not the whole day, are the level: an
  evening that runs quieter than the morning is judged against the evening;
- the change is large against the metric's smallest level that matters, its
  ``NoiseFloor.volume`` (declared per metric by its domain): ``(value + volume) /
  (usual + volume)`` is at least ``1 + change`` above or at most ``1 / (1 + change)``
  below, so small counts at night, which move by large percentages, stay quiet;
- value or usual level reaches ``volume`` (a minimum volume);
- it is not an outage: a count of zero where people or vehicles usually pass is a sensor
  fault, which sensor health reports (``cockpit.twin.sensor_health``), not an anomaly;
- and it lasts: at least ``NoiseFloor.hours`` consecutive unusual hours in the same
  direction.

``bench/anomalies.py`` measures this against the plain robust score on the demo city's
recorded series with injected changes of known size and duration.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from cockpit.domains import NoiseFloor, noise_floor
from cockpit.twin.baseline import count_metrics

__all__ = ["attention_scores", "sustained", "unusual_hours"]

# A relative spread below this (5 %) is a history too short or too flat to judge by.
MIN_RELATIVE_SPREAD = 0.05
# Hours either side whose spreads are pooled with an hour's own.
POOL_HOURS = 2
# Sites of a metric from which the city-wide shift of an hour is taken out.
COMMON_SITES = 5
# A site's own level at an hour is the median change of its judged hours this many hours
# either side (13 hours: a change of up to 6 hours is never the majority of them), known
# once ``LEVEL_HOURS`` of them reach the volume.
AROUND = 6
LEVEL_HOURS = 6
# With that level known: the share of the score a change against it must reach, and the
# multiple of the score for a change that the surrounding hours share.
STANDS_OUT = 0.4
SHARED = 2.0


def _floors(metrics: pd.Index | pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per metric name: the floor's volume, change and hours, as arrays."""
    names = pd.Index(metrics).astype(str)
    floors: dict[str, NoiseFloor] = {m: noise_floor(m) for m in names.unique()}
    volume = np.array([floors[m].volume for m in names], dtype=float)
    change = np.array([floors[m].change for m in names], dtype=float)
    hours = np.array([floors[m].hours for m in names], dtype=int)
    return volume, change, hours


def attention_scores(
    value: pd.DataFrame, median: pd.DataFrame, spread: pd.DataFrame, z: float = 3.5
) -> pd.DataFrame:
    """For wide tables (rows: consecutive hours; columns: (site_id, metric), as
    ``profile`` gives them): +1 where the hour is unusually high by every test of the
    module text except duration, −1 where unusually low, 0 otherwise (also where anything
    is missing)."""
    metrics = value.columns.get_level_values("metric")
    volume, change, _ = _floors(metrics)
    v = value.to_numpy(dtype=float)
    m = median.to_numpy(dtype=float)
    s = spread.to_numpy(dtype=float)
    with np.errstate(all="ignore"):
        ratio = np.log((v + volume) / (m + volume))
        relative = s / (m + volume)
    counts = np.asarray(metrics.isin(list(count_metrics())))
    outage = counts[None, :] & (v <= 0)
    ok = np.isfinite(ratio) & (np.maximum(v, m) >= volume) & ~outage
    ratio = np.where(ok, ratio, np.nan)
    ratio = ratio - _common_shift(ratio, metrics)
    scale = np.maximum(_pooled(relative), MIN_RELATIVE_SPREAD)
    level, known = _local_level(ratio)
    with np.errstate(all="ignore"):
        score = ratio / scale
        within = (ratio - level) / scale
        high = np.where(known, SHARED * z, z)
        up = (score >= high) | (known & (within >= STANDS_OUT * z))
        down = (score <= -high) | (known & (within <= -STANDS_OUT * z))
        up &= ok & (ratio >= np.log1p(change))
        down &= ok & (ratio <= -np.log1p(change))
    return pd.DataFrame(up.astype(int) - down.astype(int), index=value.index, columns=value.columns)


def _common_shift(ratio: np.ndarray, metrics: pd.Index) -> np.ndarray:
    """Per hour and metric, the median log-ratio over the sites of that metric (0 with
    fewer than ``COMMON_SITES``): what the whole city did, so that rain that empties
    every street is the KPI's news, not every site's."""
    shift = np.zeros_like(ratio)
    names = np.asarray(metrics, dtype=object)
    for name in pd.unique(names):
        cols = names == name
        if cols.sum() < COMMON_SITES:
            continue
        part = ratio[:, cols]
        seen = np.sum(~np.isnan(part), axis=1)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an hour with no site
            middle = np.nanmedian(part, axis=1)
        middle = np.where(seen >= COMMON_SITES, np.nan_to_num(middle), 0.0)
        shift[:, cols] = middle[:, None]
    return shift


def _local_level(ratio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per hour and column: the site's own change around that hour (the median of its
    judged hours ``AROUND`` either side) and whether it is known (at least
    ``LEVEL_HOURS`` of them)."""
    level = (
        pd.DataFrame(ratio)
        .rolling(2 * AROUND + 1, center=True, min_periods=LEVEL_HOURS)
        .median()
        .to_numpy(dtype=float)
    )
    known = np.isfinite(level)
    return np.where(known, level, 0.0), known


def _pooled(relative: np.ndarray) -> np.ndarray:
    """Each hour's relative spread pooled with its neighbours (the median over the hours
    ``POOL_HOURS`` either side): four weeks give four values per hour, too few for a
    spread of their own."""
    frame = pd.DataFrame(relative)
    window = 2 * POOL_HOURS + 1
    return frame.rolling(window, center=True, min_periods=1).median().to_numpy(dtype=float)


def sustained(scores: pd.DataFrame) -> pd.DataFrame:
    """``scores`` (+1/−1/0 per hour, rows consecutive hours) kept only where an hour is
    part of a run of at least its metric's ``NoiseFloor.hours`` hours of the same sign."""
    metrics = scores.columns.get_level_values("metric")
    _, _, hours = _floors(metrics)
    values = scores.to_numpy(dtype=int)
    out = np.zeros_like(values)
    for col in range(values.shape[1]):
        column = values[:, col]
        start = 0
        while start < len(column):
            end = start
            while end < len(column) and column[end] == column[start]:
                end += 1
            if column[start] != 0 and end - start >= hours[col]:
                out[start:end, col] = column[start]
            start = end
    return pd.DataFrame(out, index=scores.index, columns=scores.columns)


def unusual_hours(
    value: pd.DataFrame, median: pd.DataFrame, spread: pd.DataFrame, z: float = 3.5
) -> pd.DataFrame:
    """+1 / −1 for the hours that deserve attention (``attention_scores`` that last, see
    ``sustained``), 0 for the others."""
    return sustained(attention_scores(value, median, spread, z))
