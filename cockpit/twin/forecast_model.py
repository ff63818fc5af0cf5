"""A fitted forecast of the deviation from the seasonal profile, and its 80 % band.

The seasonal profile (the median of the same weekday and hour over the previous weeks)
already carries the shape of a week; what it misses is that a street busier than usual
now stays busier for a while, and that how long it stays so depends on the hour, the
weekday and how busy the street is (a quiet 3 am forgets a surprise faster than the
evening rush; a city-wide drop in footfall on a rainy afternoon lasts). The model learns
that from the city's own recent history:

* every value is taken on a log scale (``log1p``) for metrics that cannot be negative,
  so a deviation is relative: a 20 % busier street is the same signal at 50 or 5,000
  people an hour;
* the deviation from the profile ``h`` hours ahead is predicted from what is known when
  the forecast is made (``FEATURES``): the site's deviation then, the two hours before,
  the same hour yesterday, the means over the last 6 and 24 hours and the change over
  the last hour; the city-wide deviation of the same metric (the median over its sites)
  then and over the last 3 hours; the hour of day and weekday of the hour forecast, the
  profile's level there and its change from the hour the forecast is made, the hours
  ahead and the metric;
* one gradient-boosted tree ensemble (scikit-learn's ``HistGradientBoostingRegressor``)
  for all metrics and hours ahead, so a quiet metric borrows the shape of the hour of
  day from the busy ones; it minimises the absolute error, because the forecast is
  judged by its mean absolute error and counts have heavy tails (events, outages); the
  median on the log scale is also the median in the metric's own unit;
* a plain line (least absolute deviations on the site's six deviation features, one per
  metric and hours ahead) is the other candidate: on one site's fortnight (the app
  forecasts one site at a time) there are too few hours for the trees to learn the
  hour of day, and the line does better;
* the training hours are split in two halves by time and each half is forecast by the
  candidates fitted on the other (cross-fitting). Those out-of-sample errors, in the
  metric's own unit, choose per metric between the profile alone (a zero deviation),
  the line and the trees (the trees are kept unless they err more than 5 % above the
  line: they gain more from being refitted on twice the hours), and give the 80 % band: the
  10th to 90th percentile of the chosen method's errors per metric and hours ahead
  (split-conformal), so its width comes from how wrong the forecast is on hours it has
  not seen, not from an assumption of normal errors;
* the chosen method is then fitted on all the training hours.

On the demo city (about 120 series with data, two weeks, 1 to 3 hours ahead: some
110,000 examples) a fit takes about 4 s on one CPU; one site's fit in the app about
0.3 s. ``bench/forecast.py`` measures it against the seasonal profile alone on held-back
recorded weeks. Everything here is a pure function of hourly tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor

from cockpit.model import METRICS

__all__ = [
    "FEATURES",
    "DeviationModel",
    "deviations",
    "features",
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
    "change over the last hour",
    "city-wide deviation now",
    "city-wide mean of the last 3 h",
    "hour of day",
    "weekday",
    "profile level",
    "profile change from now",
    "hours ahead",
)
BAND = (0.1, 0.9)  # an 80 % band
MIN_ROWS = 48  # fewer training hours than two days of one site: no fitted model
TREES = {  # settled on bench/forecast.py; larger ensembles fitted slower, not better
    "loss": "absolute_error",
    "max_iter": 200,
    "learning_rate": 0.1,
    "max_leaf_nodes": 15,
    "min_samples_leaf": 40,
    "early_stopping": False,  # every fit the same, whatever the size of the city
}


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


def _citywide(deviation: np.ndarray, names: np.ndarray) -> np.ndarray:
    """Per hour, each column gets the median deviation of all sites of its metric."""
    out = np.full_like(deviation, np.nan)
    for metric in set(names.tolist()):
        cols = names == metric
        median = pd.DataFrame(deviation[:, cols]).median(axis=1, skipna=True)
        out[:, cols] = median.to_numpy(float)[:, None]
    return out


def features(
    deviation: np.ndarray,
    base: np.ndarray,
    metrics: pd.Index,
    hours: pd.DatetimeIndex,
    horizon: int,
) -> np.ndarray:
    """For every hour (row of ``deviation``, wall-clock ``hours``) and series: what was
    known ``horizon`` hours before it, and when it is (hours × series × len(FEATURES));
    unknown deviations and profiles count as none (0)."""
    names = np.asarray(metrics, dtype=str)
    shape = deviation.shape
    city = _citywide(deviation, names)
    level = np.nan_to_num(base)
    stack = np.stack(
        [
            _shift(deviation, horizon),
            _shift(deviation, horizon + 1),
            _shift(deviation, horizon + 2),
            _shift(deviation, 24),
            _shift(_mean(deviation, 6), horizon),
            _shift(_mean(deviation, 24), horizon),
            _shift(deviation, horizon) - _shift(deviation, horizon + 1),
            _shift(city, horizon),
            _shift(_mean(city, 3), horizon),
            np.broadcast_to(np.asarray(hours.hour, dtype=float)[:, None], shape),
            np.broadcast_to(np.asarray(hours.day_of_week, dtype=float)[:, None], shape),
            level,
            level - np.nan_to_num(_shift(base, horizon)),
            np.full(shape, float(horizon)),
        ],
        axis=-1,
    )
    return np.nan_to_num(stack)


Method = Literal["profile", "linear", "trees"]
METHODS: tuple[Method, ...] = ("profile", "linear", "trees")  # simplest first: wins ties
LINEAR = 6  # the linear candidate reads the first six features (the site's deviations)
RIDGE = 0.01
ITERATIONS = 30
TREES_MARGIN = 0.05


@dataclass(frozen=True)
class DeviationModel:
    """What forecasts each metric (``method``: its profile alone, the linear model or the
    trees, whichever erred least on hours it had not seen), the fitted trees (None when
    no metric takes them; the position of a metric in ``metrics`` is its code among the
    trees' inputs), the linear coefficients per (metric, hours ahead) and the band's
    offsets (10th and 90th percentile of those errors), on the model's scale."""

    method: dict[str, Method]
    metrics: tuple[str, ...]
    trees: HistGradientBoostingRegressor | None
    coefficients: dict[tuple[str, int], np.ndarray]
    band: dict[tuple[str, int], tuple[float, float]]

    def knows(self, metric: str, horizon: int) -> bool:
        return (metric, horizon) in self.band


@dataclass(frozen=True)
class _Rows:
    """Training examples stacked over hours ahead, hours and series."""

    x: np.ndarray  # features plus the metric's code
    target: np.ndarray  # the deviation to forecast
    base: np.ndarray  # the profile there (model scale)
    metric: np.ndarray  # the metric's code
    horizon: np.ndarray


def _examples(
    x_by_horizon: dict[int, np.ndarray],
    deviation: np.ndarray,
    base: np.ndarray,
    codes: np.ndarray,
    rows: np.ndarray,
) -> _Rows:
    """Every known deviation of the hours ``rows`` of the series with a code (>= 0)."""
    known = ~np.isnan(deviation[rows]) & (codes >= 0)[None, :]
    code = np.broadcast_to(codes[None, :], known.shape)[known].astype(float)
    parts = [np.c_[x[rows][known], code] for x in x_by_horizon.values()]
    width = len(FEATURES) + 1
    return _Rows(
        np.vstack(parts) if parts else np.empty((0, width)),
        np.tile(deviation[rows][known], len(parts)),
        np.tile(base[rows][known], len(parts)),
        np.tile(code, len(parts)),
        np.repeat(list(x_by_horizon), int(known.sum())).astype(float),
    )


def _trees(examples: _Rows) -> HistGradientBoostingRegressor | None:
    if len(examples.target) < 2:
        return None
    model = HistGradientBoostingRegressor(
        **TREES, categorical_features=[len(FEATURES)], random_state=0
    )
    return model.fit(examples.x, examples.target)


def _least_absolute(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Coefficients (and intercept, last) of ``x`` minimising the absolute error of ``y``:
    iteratively reweighted least squares with a small ridge."""
    design = np.c_[x, np.ones(len(x))]
    weights = np.ones(len(y))
    ridge = RIDGE * np.eye(design.shape[1])
    coef = np.zeros(design.shape[1])
    for _ in range(ITERATIONS):
        weighted = design * weights[:, None]
        coef = np.linalg.solve(design.T @ weighted + ridge, weighted.T @ y)
        weights = 1.0 / np.maximum(np.abs(y - design @ coef), 1e-3)
    return coef


def _linear(examples: _Rows) -> dict[tuple[int, int], np.ndarray]:
    """Linear coefficients per (metric code, hours ahead) with any examples."""
    out = {}
    for code, horizon in set(
        zip(examples.metric.astype(int), examples.horizon.astype(int), strict=True)
    ):
        take = (examples.metric == code) & (examples.horizon == horizon)
        out[(code, horizon)] = _least_absolute(examples.x[take, :LINEAR], examples.target[take])
    return out


def _linear_guess(coefficients: dict[tuple[int, int], np.ndarray], examples: _Rows) -> np.ndarray:
    """The linear forecast of every example (NaN where its metric had no coefficients)."""
    out = np.full(len(examples.target), np.nan)
    for (code, horizon), coef in coefficients.items():
        take = (examples.metric == code) & (examples.horizon == horizon)
        out[take] = examples.x[take, :LINEAR] @ coef[:-1] + coef[-1]
    return out


def _halves(rows: np.ndarray) -> list[np.ndarray]:
    """The training hours ``rows`` (those with some value) in an earlier and a later
    half."""
    where = np.flatnonzero(rows)
    out = []
    for part in np.array_split(where, 2):
        half = np.zeros_like(rows)
        half[part] = True
        out.append(half)
    return out


def _unit_error(base: np.ndarray, predicted: np.ndarray, actual: np.ndarray, logged: bool) -> float:
    """Mean absolute error in the metric's own unit of deviations on the model's scale."""
    if logged:
        return float(np.mean(np.abs(np.expm1(base + predicted) - np.expm1(base + actual))))
    return float(np.mean(np.abs(predicted - actual)))


def _out_of_fold(
    x_by_horizon: dict[int, np.ndarray],
    deviation: np.ndarray,
    base: np.ndarray,
    codes: np.ndarray,
    rows: np.ndarray,
) -> tuple[_Rows, dict[Method, np.ndarray]] | None:
    """Each half of the training hours forecast by every method fitted on the other half
    (NaN where a method could not be fitted); None when a half has no examples."""
    held_parts: list[_Rows] = []
    guesses: dict[Method, list[np.ndarray]] = {m: [] for m in METHODS}
    for half in _halves(rows & (~np.isnan(deviation[:, codes >= 0])).any(axis=1)):
        fitted = _examples(x_by_horizon, deviation, base, codes, rows & ~half)
        held = _examples(x_by_horizon, deviation, base, codes, half)
        trees = _trees(fitted)
        if trees is None or not len(held.target):
            return None
        held_parts.append(held)
        guesses["profile"].append(np.zeros(len(held.target)))
        guesses["linear"].append(_linear_guess(_linear(fitted), held))
        guesses["trees"].append(trees.predict(held.x))
    held = _Rows(
        np.vstack([h.x for h in held_parts]),
        np.concatenate([h.target for h in held_parts]),
        np.concatenate([h.base for h in held_parts]),
        np.concatenate([h.metric for h in held_parts]),
        np.concatenate([h.horizon for h in held_parts]),
    )
    return held, {m: np.concatenate(g) for m, g in guesses.items()}


def _choice(errors: dict[Method, float]) -> Method:
    """The method that erred least on hours it had not seen; but the trees were checked
    fitted on half the history and forecast fitted on all of it, which they gain more
    from than six coefficients do, so they are kept unless they erred more than
    ``TREES_MARGIN`` above the line."""
    best = min(errors, key=lambda m: errors[m])
    if best == "linear" and errors.get("trees", np.inf) <= (1 + TREES_MARGIN) * errors[best]:
        return "trees"
    return best


def fit(
    deviation: np.ndarray,
    base: np.ndarray,
    metrics: pd.Index,
    hours: pd.DatetimeIndex,
    rows: np.ndarray,
    horizons: Sequence[int],
) -> DeviationModel:
    """Fit the model on the hours ``rows`` (a boolean mask over the rows of ``deviation``
    and ``base``, from ``deviations``; ``hours`` their wall-clock hours) for the metrics
    of ``metrics`` (one per column) and the hours ahead ``horizons``. A metric with fewer
    than ``MIN_ROWS`` known hours, or none in either half of them, is left out
    (``DeviationModel.knows`` says so)."""
    names = np.asarray(metrics, dtype=str)
    counts = {str(m): int((~np.isnan(deviation[rows][:, names == m])).sum()) for m in set(names)}
    known = tuple(sorted(m for m, n in counts.items() if n >= MIN_ROWS))
    codes = np.array([known.index(m) if m in known else -1 for m in names])
    x_by_horizon = {h: features(deviation, base, metrics, hours, h) for h in horizons}
    checked = _out_of_fold(x_by_horizon, deviation, base, codes, rows) if known else None
    method: dict[str, Method] = {}
    band: dict[tuple[str, int], tuple[float, float]] = {}
    if checked is not None:
        held, guesses = checked
        for code, metric in enumerate(known):
            take = held.metric == code
            if not take.any():
                continue
            errors = {
                m: _unit_error(held.base[take], g[take], held.target[take], _logged(metric))
                for m, g in guesses.items()
                if not np.isnan(g[take]).any()
            }
            method[metric] = _choice(errors)
            residual = held.target[take] - guesses[method[metric]][take]
            for h in horizons:
                low, high = np.quantile(residual[held.horizon[take] == h], BAND)
                band[(metric, h)] = (float(low), float(high))
    everything = _examples(x_by_horizon, deviation, base, codes, rows)
    trees = _trees(everything) if "trees" in method.values() else None
    linear = {
        (known[code], h): coef
        for (code, h), coef in _linear(everything).items()
        if method.get(known[code]) == "linear"
    }
    return DeviationModel(method, known, trees, linear, band)


def predict(
    model: DeviationModel,
    deviation: np.ndarray,
    base: np.ndarray,
    metrics: pd.Index,
    hours: pd.DatetimeIndex,
    horizon: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every hour and series: the deviation expected from what was known ``horizon``
    hours before, and the band's low and high deviations (model scale; NaN for a metric
    the model does not know)."""
    names = np.asarray(metrics, dtype=str)
    expected = np.full(deviation.shape, np.nan)
    low = np.full(deviation.shape, np.nan)
    high = np.full(deviation.shape, np.nan)
    x = features(deviation, base, metrics, hours, horizon)
    for code, metric in enumerate(model.metrics):
        if not model.knows(metric, horizon):
            continue
        cols = names == metric
        inputs = x[:, cols].reshape(-1, len(FEATURES))
        value = np.zeros(len(inputs))
        if model.method[metric] == "trees" and model.trees is not None and len(inputs):
            value = model.trees.predict(np.c_[inputs, np.full(len(inputs), float(code))])
        elif model.method[metric] == "linear":
            coef = model.coefficients[(metric, horizon)]
            value = inputs[:, :LINEAR] @ coef[:-1] + coef[-1]
        grid = value.reshape(len(x), int(cols.sum()))
        lo, hi = model.band[(metric, horizon)]
        expected[:, cols], low[:, cols], high[:, cols] = grid, grid + lo, grid + hi
    return expected, low, high
