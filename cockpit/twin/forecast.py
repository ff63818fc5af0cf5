"""The next hours of every site: a seasonal profile plus the recent deviation.

For each site and metric the forecast for an hour ahead starts from its profile (the
median of the same weekday and hour over the previous weeks, as
``cockpit.twin.baseline.profile`` gives it). Where the last two weeks hold enough history,
the deviation from the profile comes from the fitted model of
``cockpit.twin.forecast_model`` (gradient-boosted trees or a line on the recent,
yesterday's and city-wide deviations, the hour, weekday and level, on a log scale; or the
profile itself where neither beat it) with an 80 % band from its errors on hours it was
not fitted on. Otherwise the rule: the deviation of the latest hour, shrunk by ``decay``
for each hour ahead, in a band of the profile's spread (1.4826 × MAD of those weeks)
times 1.2816, never narrower than one display step.

``bench/forecast.py`` measures both against the profile alone (seasonal naive) on
held-back recorded weeks: mean absolute error and how often the 80 % band holds the value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, cast

import numpy as np
import pandas as pd

from cockpit.model import METRICS
from cockpit.twin import forecast_model
from cockpit.twin.baseline import (
    hourly_table,
    local_slot,
    profile,
    slot_to_utc,
)

__all__ = [
    "BAND_Z",
    "FreeBays",
    "forecast",
    "free_bays_forecast",
    "free_places",
    "model_predictions",
]

BAND_Z = 1.2816  # half-width of an 80 % band of a normal error, in standard deviations


def _step(metric: str) -> float:
    return 10.0 ** -METRICS[metric].decimals if metric in METRICS else 1.0


def _latest_deviation(
    table: pd.DataFrame, median: pd.DataFrame, current: pd.Timestamp, lookback: int = 2
) -> tuple[pd.Series, pd.Series]:
    """Per column: the newest deviation from the profile within ``lookback`` hours before
    and including ``current``, and how many hours before ``current`` it was (0 if none)."""
    deviation = pd.Series(0.0, index=table.columns)
    age = pd.Series(0, index=table.columns)
    found = pd.Series(False, index=table.columns)
    for back in range(lookback + 1):
        slot = current - pd.Timedelta(hours=back)
        if slot not in table.index or slot not in median.index:
            continue
        # One row each: ``slot`` is a single hour of the index.
        dev = cast("pd.Series[float]", table.loc[slot] - median.loc[slot])
        take = dev.notna() & ~found
        deviation[take] = dev[take]
        age[take] = back
        found |= take
    return deviation, age


def forecast(
    frame: pd.DataFrame,
    now: datetime | pd.Timestamp,
    timezone: str,
    hours: int = 3,
    weeks: int = 4,
    min_weeks: int = 2,
    decay: float = 0.7,
    fit_days: int = 14,
) -> pd.DataFrame:
    """Hourly forecasts for the next ``hours`` hours of every site and metric in ``frame``
    with at least ``min_weeks`` weeks of history at those hours.

    Where the ``fit_days`` days before ``now`` hold enough hours with a profile, the
    fitted deviation model of ``cockpit.twin.forecast_model`` gives the value and its
    80 % band (basis "fitted"); otherwise the profile plus the latest deviation times
    ``decay`` per hour ahead, in the profile's normal band (basis "rule"; always with
    ``fit_days`` 0).

    Columns: site_id, metric, time (the forecast hour's start, UTC), expected, low, high
    (80 % band), profile (the seasonal profile alone), basis. ``frame`` must reach
    ``weeks`` weeks (plus ``fit_days`` for the fitted model) back from ``now``;
    observations after ``now`` are ignored.
    """
    columns = ["site_id", "metric", "time", "expected", "low", "high", "profile", "basis"]
    moment = pd.Timestamp(now)
    table = hourly_table(frame[frame["time"] <= moment], timezone)
    if table.empty:
        return pd.DataFrame(columns=columns)
    current = local_slot(pd.DatetimeIndex([moment]), timezone)[0]
    recent = pd.date_range(current - pd.Timedelta(hours=2), current, freq="h")
    ahead = pd.date_range(current + pd.Timedelta(hours=1), periods=hours, freq="h")
    base_now, _, _ = profile(table, recent, weeks, min_weeks)
    deviation, age = _latest_deviation(table.reindex(recent), base_now, current)
    median, spread, _ = profile(table, ahead, weeks, min_weeks)
    fitted = _fitted(table, current, ahead, weeks, min_weeks, fit_days)
    rows = []
    for h, slot in enumerate(ahead, start=1):
        keep = decay ** (h + age.to_numpy())
        expected = median.loc[slot].to_numpy() + deviation.to_numpy() * keep
        part = pd.DataFrame(
            {
                "profile": median.loc[slot].to_numpy(),
                "expected": expected,
                "spread": spread.loc[slot].to_numpy(),
            },
            index=table.columns,
        ).dropna()
        part = part.reset_index()
        part["slot"] = slot
        rows.append(part)
    out = pd.concat(rows, ignore_index=True)
    if out.empty:
        return pd.DataFrame(columns=columns)
    steps = out["metric"].map(_step).to_numpy(float)
    half = BAND_Z * np.maximum(out["spread"].to_numpy(float), steps)
    out["low"] = out["expected"] - half
    out["high"] = out["expected"] + half
    out["basis"] = "rule"
    if not fitted.empty:
        out = out.merge(fitted, on=["site_id", "metric", "slot"], how="left", suffixes=("", "_f"))
        use = out["expected_f"].notna().to_numpy()
        for col in ("expected", "low", "high"):
            out.loc[use, col] = out.loc[use, f"{col}_f"]
        out.loc[use, "basis"] = "fitted"
    lows = out["metric"].map(lambda m: METRICS[m].minimum if m in METRICS else -np.inf)
    highs = out["metric"].map(lambda m: METRICS[m].maximum if m in METRICS else np.inf)
    out["expected"] = np.clip(out["expected"], lows, highs)
    out["low"] = np.clip(np.minimum(out["low"], out["expected"]), lows, highs)
    out["high"] = np.clip(np.maximum(out["high"], out["expected"]), lows, highs)
    out["time"] = slot_to_utc(pd.DatetimeIndex(out["slot"]), timezone)
    return out[columns].sort_values(["site_id", "metric", "time"]).reset_index(drop=True)


def _fitted(
    table: pd.DataFrame,
    current: pd.Timestamp,
    ahead: pd.DatetimeIndex,
    weeks: int,
    min_weeks: int,
    fit_days: int,
) -> pd.DataFrame:
    """The fitted model's forecasts for the hours ``ahead`` (site_id, metric, slot,
    expected, low, high), empty where the last ``fit_days`` days cannot fit it."""
    empty = pd.DataFrame(columns=["site_id", "metric", "slot", "expected", "low", "high"])
    if fit_days <= 0:
        return empty
    start = current - pd.Timedelta(days=fit_days) - pd.Timedelta(hours=26)
    hours = pd.date_range(max(table.index[0], start), ahead[-1], freq="h")
    full = table.reindex(hours)
    median, _, _ = profile(table, hours, weeks, min_weeks)
    base, dev = forecast_model.deviations(full, median)
    metrics = full.columns.get_level_values("metric")
    train = np.asarray((hours > current - pd.Timedelta(days=fit_days)) & (hours <= current))
    model = forecast_model.fit(dev, base, metrics, hours, train, range(1, len(ahead) + 1))
    origin = dev.copy()
    origin[hours > current] = np.nan  # nothing after now is known
    parts = []
    for h, slot in enumerate(ahead, start=1):
        row = int(hours.searchsorted(slot))  # ``ahead`` lies within ``hours``
        expected, low, high = forecast_model.predict(model, origin, base, metrics, hours, h)
        at = slice(row, row + 1)
        values = {
            name: forecast_model.from_log(base[at] + part[at], metrics)[0]
            for name, part in (("expected", expected), ("low", low), ("high", high))
        }
        frame = pd.DataFrame(values, index=full.columns).reset_index()
        frame["slot"] = slot
        parts.append(frame)
    return pd.concat(parts, ignore_index=True).dropna(subset=["expected"])


def model_predictions(
    table: pd.DataFrame, horizon: int, weeks: int = 4, min_weeks: int = 2, decay: float = 0.7
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """For every hour of ``table`` (an ``hourly_table``): the seasonal-naive prediction
    (the profile) and the model's prediction made ``horizon`` hours earlier (profile plus
    the deviation then, times ``decay`` ** ``horizon``). Used to measure both on history."""
    median, _, _ = profile(table, pd.DatetimeIndex(table.index), weeks, min_weeks)
    deviation = (table - median).shift(horizon).fillna(0.0)
    return median, median + deviation * decay**horizon


# -- free parking places near a point ---------------------------------------------------
def free_places(sites: pd.DataFrame, frame: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    """Free places per parking site over time (site_id, metric "free_spaces", time, value)
    and the number of places: a bay counts one (free when ``bay_occupied`` is 0), a car park
    with an ``occupancy`` % counts its ``capacity`` attribute, ``free_spaces`` counts as is
    (its capacity attribute, if any, adds to the places)."""
    capacity = {
        str(i): float(a.get("capacity", 0) or 0) if isinstance(a, dict) else 0.0
        for i, a in zip(sites["id"], sites["attributes"], strict=True)
    }
    obs = frame[frame["site_id"].astype(str).isin(capacity)]
    parts = []
    bays = obs[obs["metric"] == "bay_occupied"]
    parts.append(bays.assign(value=1.0 - bays["value"]))
    parks = obs[obs["metric"] == "occupancy"]
    cap = parks["site_id"].astype(str).map(capacity).astype(float)
    parts.append(parks.assign(value=cap * (1.0 - parks["value"] / 100.0))[cap > 0])
    parts.append(obs[obs["metric"] == "free_spaces"])
    free = pd.concat(parts, ignore_index=True).assign(metric="free_spaces")
    places = float(bays["site_id"].nunique())
    places += sum(capacity[s] for s in set(parks["site_id"].astype(str)) if capacity[s] > 0)
    places += sum(capacity[s] for s in set(obs[obs["metric"] == "free_spaces"]["site_id"]))
    return free[["site_id", "metric", "time", "value"]], places


@dataclass(frozen=True)
class FreeBays:
    """Expected free parking places near a point at a time, with an 80 % band.

    ``basis`` says what the profile came from: "weekday" (same weekday and hour over the
    previous weeks) or "daily" (same hour on the previous days, while the history is
    shorter than ``min_weeks`` weeks).
    """

    at: datetime
    expected: float
    low: float
    high: float
    places: float
    sites: int
    radius_m: float
    basis: Literal["weekday", "daily"]

    @property
    def words(self) -> str:
        return (
            f"About {self.expected:,.0f} free places (between {self.low:,.0f} and "
            f"{self.high:,.0f}) of {self.places:,.0f} within {self.radius_m:,.0f} m."
        )


def _distance_m(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    r = 6_371_000.0
    p1, p2 = math.radians(lat), np.radians(lats)
    dp, dl = p2 - p1, np.radians(lons) - math.radians(lon)
    a = np.sin(dp / 2) ** 2 + math.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * r * np.arcsin(np.sqrt(a))


def free_bays_forecast(
    sites: pd.DataFrame,
    frame: pd.DataFrame,
    lat: float,
    lon: float,
    radius_m: float,
    at: datetime | pd.Timestamp,
    now: datetime | pd.Timestamp,
    timezone: str,
    weeks: int = 4,
    min_weeks: int = 2,
    decay: float = 0.7,
) -> FreeBays | None:
    """Will there be free bays near here at ``at``? The expected number of free places at
    the parking sites within ``radius_m`` of (``lat``, ``lon``) in the hour of ``at``.

    The free places of those sites are summed per hour (sites silent in an hour count at
    the mean of the others), then forecast like any series: its profile at ``at`` plus the
    deviation now, decaying by ``decay`` per hour ahead. ``frame`` is the parking history
    before ``now``. None when no parking site is that near or nothing is known of them.
    """
    parking = sites[sites["domain"] == METRICS["bay_occupied"].domain]
    if parking.empty:
        return None
    near = parking[
        _distance_m(lat, lon, parking["lat"].to_numpy(), parking["lon"].to_numpy()) <= radius_m
    ]
    moment, target = pd.Timestamp(now), pd.Timestamp(at)
    free, places = free_places(near, frame[frame["time"] <= moment])
    if free.empty or places <= 0:
        return None
    table = hourly_table(free, timezone)
    count = table.notna().sum(axis=1)
    total = (table.mean(axis=1) * table.shape[1]).where(count > 0)
    series = pd.DataFrame({("near", "free_spaces"): total})
    series.columns = pd.MultiIndex.from_tuples(
        cast(pd.MultiIndex, series.columns), names=["site_id", "metric"]
    )
    current = local_slot(pd.DatetimeIndex([moment]), timezone)[0]
    goal = local_slot(pd.DatetimeIndex([target]), timezone)[0]
    basis: Literal["weekday", "daily"] = "weekday"
    slots = pd.DatetimeIndex([goal, current - pd.Timedelta(hours=1), current])
    median, spread, _ = profile(series, slots, weeks, min_weeks)
    if np.isnan(cast(float, median.iloc[0, 0])):
        basis = "daily"
        median, spread = _daily_profile(series.iloc[:, 0], slots)
    med = median.iloc[:, 0]
    if np.isnan(med.iloc[0]):
        return None
    deviation, age = 0.0, 0
    for back, slot in ((0, current), (1, current - pd.Timedelta(hours=1))):
        now_value = series.iloc[:, 0].get(slot, np.nan)
        if np.isfinite(now_value) and np.isfinite(med.iloc[2 - back]):
            deviation, age = float(now_value - med.iloc[2 - back]), back
            break
    lead = max(0.0, (goal - current) / pd.Timedelta(hours=1)) + age
    expected = float(np.clip(med.iloc[0] + deviation * decay**lead, 0, places))
    half = BAND_Z * max(float(np.nan_to_num(cast(float, spread.iloc[0, 0]))), 1.0)
    return FreeBays(
        target.to_pydatetime(),
        expected,
        float(max(0.0, expected - half)),
        float(min(places, expected + half)),
        places,
        int(near["id"].nunique()),
        radius_m,
        basis,
    )


def _daily_profile(series: pd.Series, slots: pd.DatetimeIndex) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Median and spread of the same hour over the previous seven days (at least one)."""
    day = pd.Timedelta(days=1)
    past = np.stack([series.reindex(slots - k * day).to_numpy(float) for k in range(1, 8)])
    enough = np.sum(~np.isnan(past), axis=0) >= 1
    filled = np.where(enough[None, :], past, 0.0)
    median = np.nanmedian(filled, axis=0)
    spread = 1.4826 * np.nanmedian(np.abs(filled - median), axis=0)
    median, spread = np.where(enough, median, np.nan), np.where(enough, spread, np.nan)
    return pd.DataFrame({"v": median}, index=slots), pd.DataFrame({"v": spread}, index=slots)
