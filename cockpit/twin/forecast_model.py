"""A fitted forecast of the deviation from the seasonal profile, and its 80 % band.

The seasonal profile (the median of the same weekday and hour over the previous weeks)
already carries the shape of a week; what it misses is that a street busier than usual
now stays busier for a while, and that yesterday's level carries over. The model says how
much, per metric and hours ahead, from the site's own recent history:

* every value is taken on a log scale (``log1p``) for metrics that cannot be negative,
  so a deviation is relative: a 20 % busier street is the same signal at 50 or 5,000
  people an hour;
* the deviation from the profile ``h`` hours ahead is a linear function of the deviation
  in the hour the forecast is made, the two hours before, the same hour yesterday and
  the means over the last 6 and 24 hours;
* the coefficients minimise the absolute error (least absolute deviations, solved by
  iteratively reweighted least squares with a small ridge), because the forecast is
  judged by its mean absolute error and counts have heavy tails (events, outages);
* the 80 % band is the 10th to 90th percentile of the fitted model's own errors on the
  training hours (split-conformal on the past), so its width comes from how wrong the
  model has been, not from an assumption of normal errors.

Plain numpy: a six-coefficient regression per metric needs no model library, and
``bench/forecast.py`` measures it against the seasonal profile alone on held-back
recorded weeks. Everything here is a pure function of hourly tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cockpit.model import METRICS

__all__ = [
    "FEATURES",
    "DeviationModel",
    "deviations",
    "fit",
    "from_log",
    "predict",
]

FEATURES = (
    "deviation now",
    "deviation 1 h before",
    "deviation 2 h before",
    "same hour yesterday",
    "mean of the last 6 h",
    "mean of the last 24 h",
)
BAND = (0.1, 0.9)  # an 80 % band
RIDGE = 0.01
ITERATIONS = 30
MIN_ROWS = 48  # fewer training hours than two days of one site: no fitted model


def _logged(metric: str) -> bool:
    return metric not in METRICS or METRICS[metric].minimum >= 0


def _to_log(values: np.ndarray, logged: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.where(logged[None, :], np.log1p(np.maximum(values, 0.0)), values)


def from_log(values: np.ndarray, metrics: pd.Index) -> np.ndarray:
    """Back from the model's scale to each column's unit (``metrics``: one per column)."""
    logged = np.array([_logged(str(m)) for m in metrics])
    return np.where(logged[None, :], np.expm1(values), values)


def deviations(table: pd.DataFrame, median: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The profile on the model's scale and each value's deviation from it (hours × series,
    NaN where either is unknown)."""
    metrics = table.columns.get_level_values("metric")
    logged = np.array([_logged(str(m)) for m in metrics])
    base = _to_log(median.to_numpy(float), logged)
    return base, _to_log(table.to_numpy(float), logged) - base


def _shift(values: np.ndarray, hours: int) -> np.ndarray:
    """``values`` ``hours`` rows later (NaN before; all NaN when the history is shorter)."""
    out = np.full_like(values, np.nan)
    if hours < len(values):
        out[hours:] = values[: len(values) - hours]
    return out


def _mean(values: np.ndarray, hours: int) -> np.ndarray:
    frame = pd.DataFrame(values).rolling(hours, min_periods=max(1, hours // 4)).mean()
    return frame.to_numpy(float)


def features(deviation: np.ndarray, horizon: int) -> np.ndarray:
    """For every hour (row) and series: what was known ``horizon`` hours before it
    (hours × series × len(FEATURES)); unknown deviations count as none (0)."""
    stack = np.stack(
        [
            _shift(deviation, horizon),
            _shift(deviation, horizon + 1),
            _shift(deviation, horizon + 2),
            _shift(deviation, 24),
            _shift(_mean(deviation, 6), horizon),
            _shift(_mean(deviation, 24), horizon),
        ],
        axis=-1,
    )
    return np.nan_to_num(stack)


def _least_absolute(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    design = np.c_[x, np.ones(len(x))]
    weights = np.ones(len(y))
    ridge = RIDGE * np.eye(design.shape[1])
    coef = np.zeros(design.shape[1])
    for _ in range(ITERATIONS):
        weighted = design * weights[:, None]
        coef = np.linalg.solve(design.T @ weighted + ridge, weighted.T @ y)
        weights = 1.0 / np.maximum(np.abs(y - design @ coef), 1e-3)
    return coef


@dataclass(frozen=True)
class DeviationModel:
    """Per (metric, hours ahead): the coefficients of ``FEATURES`` and an intercept, and
    the band's offsets (10th and 90th percentile of the training errors), on the model's
    scale."""

    coefficients: dict[tuple[str, int], np.ndarray]
    band: dict[tuple[str, int], tuple[float, float]]

    def knows(self, metric: str, horizon: int) -> bool:
        return (metric, horizon) in self.coefficients


def fit(
    deviation: np.ndarray, metrics: pd.Index, rows: np.ndarray, horizons: range | tuple[int, ...]
) -> DeviationModel:
    """Fit the model on the hours ``rows`` (a boolean mask over the rows of ``deviation``,
    from ``deviations``) for each metric of ``metrics`` (one per column) and each of
    ``horizons``. A (metric, horizon) with fewer than ``MIN_ROWS`` known hours is left
    out (``DeviationModel.knows`` says so)."""
    coefficients: dict[tuple[str, int], np.ndarray] = {}
    band: dict[tuple[str, int], tuple[float, float]] = {}
    names = np.asarray(metrics, dtype=str)
    for horizon in horizons:
        x_all = features(deviation, horizon)
        for metric in sorted(set(names)):
            cols = names == metric
            target = deviation[rows][:, cols]
            known = ~np.isnan(target)
            if int(known.sum()) < MIN_ROWS:
                continue
            x = x_all[rows][:, cols][known]
            y = target[known]
            coef = _least_absolute(x, y)
            errors = y - np.c_[x, np.ones(len(x))] @ coef
            low, high = np.quantile(errors, BAND)
            coefficients[(metric, horizon)] = coef
            band[(metric, horizon)] = (float(low), float(high))
    return DeviationModel(coefficients, band)


def predict(
    model: DeviationModel, deviation: np.ndarray, metrics: pd.Index, horizon: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every hour and series: the deviation expected from what was known ``horizon``
    hours before, and the band's low and high deviations (model scale; NaN for a metric
    the model does not know)."""
    names = np.asarray(metrics, dtype=str)
    x = features(deviation, horizon)
    expected = np.full(deviation.shape, np.nan)
    low = np.full(deviation.shape, np.nan)
    high = np.full(deviation.shape, np.nan)
    for metric in set(names):
        if not model.knows(metric, horizon):
            continue
        cols = names == metric
        coef = model.coefficients[(metric, horizon)]
        value = x[:, cols] @ coef[:-1] + coef[-1]
        lo, hi = model.band[(metric, horizon)]
        expected[:, cols], low[:, cols], high[:, cols] = value, value + lo, value + hi
    return expected, low, high
