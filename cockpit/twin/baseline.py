"""What is usual for a site, and what is unusual now.

A site's baseline for a moment is the median of its hourly means at the same weekday and
hour (on the city's wall clock) over the previous weeks, with the spread as the median
absolute deviation scaled to a standard deviation (1.4826 × MAD); where the history is
long enough, the same hour of the same weekday 52 weeks earlier is given too.

A value's robust score is ``(value − median) / spread`` (the spread never smaller than a
tenth of the median or one display step of the metric, so a flat history does not turn
every change into an alarm). Markers are "well below" / "typical" / "well above" from
``band_z`` on; a site is unusual (an anomaly) from ``anomaly_z`` on (3.5 by default, the
usual cut-off for the modified z-score).

Everything here is a pure function of canonical observation frames except
``read_history``, which reads them from a history store.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal, cast

import numpy as np
import pandas as pd

from cockpit.domains import all_domains, kpi_names, kpi_spec
from cockpit.model import METRICS, empty_observations

if TYPE_CHECKING:
    from cockpit.config import CityConfig
    from cockpit.storage import HistoryStore

__all__ = [
    "DECISION_METRICS",
    "MAD_SCALE",
    "Anomaly",
    "BeforeAfter",
    "KpiComparison",
    "baselines",
    "before_after",
    "classify",
    "compare_kpi",
    "hourly_table",
    "local_slot",
    "profile",
    "read_history",
    "site_states",
    "todays_anomalies",
]

MAD_SCALE = 1.4826  # MAD × this estimates the standard deviation of normal data
WEEK = pd.Timedelta(days=7)
State = Literal["well below", "typical", "well above", "unknown"]


def count_metrics() -> frozenset[str]:
    """Metrics that count passing people or vehicles: those a domain's noise floor marks
    ``counted``, and those a declared KPI sums."""
    summed = {k.metric for d in all_domains() for k in d.kpis if k.aggregation == "sum"}
    counted = {m for d in all_domains() for m, f in d.noise_floors.items() if f.counted}
    return frozenset(summed | counted)


# -- reading -------------------------------------------------------------------------


def read_history(
    history: HistoryStore,
    config: CityConfig,
    metrics: Iterable[str],
    start: datetime,
    end: datetime,
    hourly: bool = False,
) -> pd.DataFrame:
    """All sources' observations of ``metrics`` with ``start <= time < end``; with
    ``hourly`` the hourly means from the rollups (which reach further back than raw),
    or the raw observations from a history that keeps no rollups."""
    frames = []
    rollups = getattr(history, "source_hourly", None) if hourly else None
    for name in metrics:
        for source in config.sources_for(METRICS[name].domain):
            if rollups is not None:
                frames.append(rollups(source, name, start, end))
            else:
                frames.append(history.source_window(source, name, start, end))
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else empty_observations()


# -- the hourly wall-clock grid all baselines and forecasts work on ---------------------
def local_slot(times: pd.Series | pd.DatetimeIndex, timezone: str) -> pd.DatetimeIndex:
    """UTC times as naive wall-clock hours of the city (the hour they fall in)."""
    index = pd.DatetimeIndex(times)
    return index.tz_convert(timezone).tz_localize(None).floor("h")


def slot_to_utc(slots: pd.DatetimeIndex, timezone: str) -> pd.DatetimeIndex:
    """Naive wall-clock hours back to UTC (a repeated hour counts as its first, a skipped
    hour moves forward)."""
    local = slots.tz_localize(
        timezone, ambiguous=np.ones(len(slots), dtype=bool), nonexistent="shift_forward"
    )
    return local.tz_convert("UTC")


def hourly_table(frame: pd.DataFrame, timezone: str) -> pd.DataFrame:
    """Hourly means as a table: one row per wall-clock hour of the city (naive), one
    column per (site_id, metric), NaN where nothing was observed."""
    if frame.empty:
        return pd.DataFrame(
            index=pd.DatetimeIndex([]),
            columns=pd.MultiIndex.from_tuples([], names=["site_id", "metric"]),
            dtype=float,
        )
    keyed = pd.DataFrame(
        {
            "site_id": frame["site_id"].astype(str).to_numpy(),
            "metric": frame["metric"].astype(str).to_numpy(),
            "slot": local_slot(frame["time"], timezone),
            "value": frame["value"].astype(float).to_numpy(),
        }
    )
    table = keyed.groupby(["slot", "site_id", "metric"], sort=True)["value"].mean()
    wide = table.unstack(["site_id", "metric"])
    full = pd.date_range(wide.index.min(), wide.index.max(), freq="h")
    return wide.reindex(full)


def profile(
    table: pd.DataFrame, slots: pd.DatetimeIndex, weeks: int = 4, min_weeks: int = 2
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """For each of ``slots`` (naive wall-clock hours) and each column of ``table``: the
    median and spread (1.4826 × MAD) of the same weekday and hour in the ``weeks`` weeks
    before, and how many weeks had a value. Median and spread are NaN with fewer than
    ``min_weeks`` weeks."""
    past = np.stack(
        [table.reindex(slots - k * WEEK).to_numpy(dtype=float) for k in range(1, weeks + 1)]
    )
    count = np.sum(~np.isnan(past), axis=0)
    enough = count >= min_weeks
    with np.errstate(all="ignore"):
        filled = np.where(enough[None, :, :], past, 0.0)
        median = np.nanmedian(filled, axis=0)
        spread = MAD_SCALE * np.nanmedian(np.abs(filled - median[None, :, :]), axis=0)
    # Counters report zero when they are down as well as when a street is empty, so a
    # usual count of zero is no baseline: nothing is "far above" a sensor outage.
    metrics = table.columns.get_level_values("metric")
    outage = np.asarray(metrics.isin(list(count_metrics())))[None, :] & (median <= 0)
    enough = enough & ~outage
    median = np.where(enough, median, np.nan)
    spread = np.where(enough, spread, np.nan)

    def frame(values: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(values, index=slots, columns=table.columns)

    return frame(median), frame(spread), frame(count.astype(float))


# -- baselines and states -------------------------------------------------------------
def baselines(
    frame: pd.DataFrame,
    at: datetime | pd.Timestamp,
    timezone: str,
    weeks: int = 4,
    min_weeks: int = 2,
) -> pd.DataFrame:
    """The baseline of every site and metric in ``frame`` for the hour of ``at``.

    Columns: site_id, metric, median, spread, weeks (how many of the previous ``weeks``
    had a value), last_year (the hourly mean 52 weeks earlier, NaN when not in ``frame``).
    Sites with fewer than ``min_weeks`` weeks are left out.
    """
    columns = ["site_id", "metric", "median", "spread", "weeks", "last_year"]
    table = hourly_table(frame, timezone)
    if table.empty:
        return pd.DataFrame(columns=columns)
    slot = local_slot(pd.DatetimeIndex([pd.Timestamp(at)]), timezone)
    median, spread, count = profile(table, slot, weeks, min_weeks)
    last_year = table.reindex(slot - 52 * WEEK)
    out = pd.DataFrame(
        {
            "median": median.iloc[0],
            "spread": spread.iloc[0],
            "weeks": count.iloc[0].astype(int),
            "last_year": last_year.iloc[0].to_numpy(dtype=float),
        }
    )
    out = out[out["median"].notna()].reset_index()
    return out[columns].reset_index(drop=True)


def _floor(median: np.ndarray | pd.Series, metrics: pd.Series) -> np.ndarray:
    step = metrics.map(lambda m: 10.0 ** -METRICS[m].decimals if m in METRICS else 1.0)
    return np.maximum(0.1 * np.abs(np.asarray(median, dtype=float)), step.to_numpy(float))


def robust_z(
    value: np.ndarray | pd.Series,
    median: np.ndarray | pd.Series,
    spread: np.ndarray | pd.Series,
    metrics: pd.Series,
) -> np.ndarray:
    """``(value − median) / spread`` with the spread floored (see the module text)."""
    scale = np.maximum(np.asarray(spread, dtype=float), _floor(median, metrics))
    with np.errstate(all="ignore"):
        return (np.asarray(value, dtype=float) - np.asarray(median, dtype=float)) / scale


def classify(
    value: float | None,
    median: float | None,
    spread: float | None,
    band_z: float = 2.0,
    metric: str = "",
) -> State:
    """ "well below", "typical" or "well above" the baseline (robust score beyond
    ``band_z``), or "unknown" without a value or baseline."""
    if value is None or median is None or spread is None:
        return "unknown"
    if any(not np.isfinite(x) for x in (value, median, spread)):
        return "unknown"
    z = float(
        robust_z(np.array([value]), np.array([median]), np.array([spread]), pd.Series([metric]))[0]
    )
    if z <= -band_z:
        return "well below"
    if z >= band_z:
        return "well above"
    return "typical"


def site_states(
    latest: pd.DataFrame,
    baseline: pd.DataFrame,
    band_z: float = 2.0,
    anomaly_z: float = 3.5,
) -> pd.DataFrame:
    """Each latest observation against its baseline, for colouring markers.

    Columns: site_id, metric, time, value, median, spread, z, state, anomaly (True when
    |z| >= ``anomaly_z``: the site is unusual now). Observations without a baseline get
    state "unknown" and z NaN.
    """
    columns = ["site_id", "metric", "time", "value", "median", "spread", "z", "state", "anomaly"]
    if latest.empty:
        return pd.DataFrame(columns=columns)
    base = baseline[["site_id", "metric", "median", "spread"]].astype(
        {"site_id": str, "metric": str}
    )
    obs = latest[["site_id", "metric", "time", "value"]].astype({"site_id": str, "metric": str})
    merged = obs.merge(base, on=["site_id", "metric"], how="left")
    z = robust_z(merged["value"], merged["median"], merged["spread"], merged["metric"])
    merged["z"] = z
    state = np.where(z <= -band_z, "well below", np.where(z >= band_z, "well above", "typical"))
    merged["state"] = np.where(np.isnan(z), "unknown", state)
    merged["anomaly"] = np.abs(np.nan_to_num(z)) >= anomaly_z
    return merged[columns].reset_index(drop=True)


# -- KPI-level comparison ----------------------------------------------------------------
@dataclass(frozen=True)
class KpiComparison:
    """A KPI now against its typical value for this weekday and hour.

    ``change`` is a fraction (+0.18: 18 % above); ``direction`` "above", "below" or "as
    usual" (within 5 %). ``weekday`` and ``hour`` say which slot (city wall clock).
    """

    key: str
    label: str
    value: float
    typical: float
    change: float
    direction: Literal["above", "below", "as usual"]
    at: datetime
    weekday: int  # Monday 0
    hour: int
    sites: int

    @property
    def slot(self) -> str:
        return f"{_WEEKDAYS[self.weekday]} {self.hour:02d}:00"

    @property
    def words(self) -> str:
        """ "Footfall 18% below a typical Tuesday 10:00" (English; see cockpit.present.summary)."""
        if self.direction == "as usual":
            return f"{self.label} about as usual for a {self.slot}"
        return f"{self.label} {abs(self.change):.0%} {self.direction} a typical {self.slot}"


_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _direction(change: float, tolerance: float = 0.05) -> Literal["above", "below", "as usual"]:
    if abs(change) < tolerance:
        return "as usual"
    return "above" if change > 0 else "below"


def compare_kpi(
    key: str,
    label: str,
    metric: str,
    latest: pd.DataFrame,
    baseline: pd.DataFrame,
    timezone: str,
    how: Literal["sum", "mean"] = "sum",
) -> KpiComparison | None:
    """A city-wide figure (``how`` sum or mean of the latest ``metric`` over the sites
    that have a baseline) against the same sum or mean of their baseline medians. None
    when no site has both."""
    obs = latest[latest["metric"] == metric][["site_id", "time", "value"]]
    base = baseline[baseline["metric"] == metric][["site_id", "median"]]
    both = obs.astype({"site_id": str}).merge(base.astype({"site_id": str}), on="site_id")
    if both.empty:
        return None
    value = float(both["value"].sum() if how == "sum" else both["value"].mean())
    typical = float(both["median"].sum() if how == "sum" else both["median"].mean())
    if typical <= 0:
        return None
    change = value / typical - 1.0
    at = pd.Timestamp(both["time"].max())
    local = at.tz_convert(timezone)
    return KpiComparison(
        key,
        label,
        value,
        typical,
        change,
        _direction(change),
        at.to_pydatetime(),
        local.weekday(),
        local.hour,
        len(both),
    )


# -- anomalies today -------------------------------------------------------------------
@dataclass(frozen=True)
class Anomaly:
    """One site and metric unusual today: its strongest hour against its baseline."""

    site_id: str
    name: str
    domain: str
    metric: str
    time: datetime  # the hour's start, UTC
    value: float
    typical: float
    spread: float
    z: float
    direction: Literal["above", "below"]

    @property
    def words(self) -> str:
        """English: "Swanston St: Pedestrians 2,400 persons/h, far above the usual 800"."""
        m = METRICS.get(self.metric)
        label, unit, decimals = (m.label, m.unit, m.decimals) if m else (self.metric, "", 0)
        return (
            f"{self.name}: {label} {self.value:,.{decimals}f} {unit}, far {self.direction} "
            f"the usual {self.typical:,.{decimals}f}"
        )


def todays_anomalies(
    frame: pd.DataFrame,
    sites: pd.DataFrame,
    now: datetime | pd.Timestamp,
    timezone: str,
    z: float = 3.5,
    weeks: int = 4,
    min_weeks: int = 2,
) -> list[Anomaly]:
    """Sites and metrics whose hourly means were unusual in some hours since the city's
    midnight, up to and including the hour of ``now``, by the count-aware noise floor of
    ``cockpit.twin.anomalies`` (score ``z``, each metric's ``NoiseFloor``, lasting, no
    outages); one entry per site and metric (its strongest hour), strongest first.
    ``frame`` must reach ``weeks`` weeks before midnight; ``sites`` (canonical) gives
    names and domains."""
    moment = pd.Timestamp(now)
    table = hourly_table(frame[frame["time"] <= moment], timezone)
    if table.empty:
        return []
    current = local_slot(pd.DatetimeIndex([moment]), timezone)[0]
    slots = pd.date_range(current.normalize(), current, freq="h")
    median, spread, _ = profile(table, slots, weeks, min_weeks)
    values = table.reindex(slots)
    # Imported here: the noise floor builds on this module's scores.
    from cockpit.twin.anomalies import unusual_hours

    flags = unusual_hours(values, median, spread, z).to_numpy()
    # Only the flagged cells, picked by position (stacking the whole table is slow).
    rows, cols = np.nonzero(flags)
    if not len(rows):
        return []
    long = pd.DataFrame(
        {
            "slot": values.index[rows],
            "site_id": values.columns.get_level_values("site_id")[cols],
            "metric": values.columns.get_level_values("metric")[cols],
            "value": values.to_numpy(dtype=float)[rows, cols],
            "median": median.to_numpy(dtype=float)[rows, cols],
            "spread": spread.to_numpy(dtype=float)[rows, cols],
        }
    ).dropna()
    if long.empty:
        return []
    long["z"] = robust_z(long["value"], long["median"], long["spread"], long["metric"])
    long = long.assign(strength=np.abs(long["z"])).sort_values("strength", ascending=False)
    long = long.drop_duplicates(["site_id", "metric"])
    info = sites.set_index(sites["id"].astype(str)) if not sites.empty else pd.DataFrame()
    utc = slot_to_utc(pd.DatetimeIndex(long["slot"]), timezone)
    out = []
    for (_, row), when in zip(long.iterrows(), utc, strict=True):
        sid = str(row["site_id"])
        name = str(info["name"].get(sid, sid)) if not info.empty else sid
        domain = str(info["domain"].get(sid, "")) if not info.empty else ""
        metric_name = str(row["metric"])
        out.append(
            Anomaly(
                sid,
                name,
                domain or METRICS[metric_name].domain,
                metric_name,
                when.to_pydatetime(),
                float(row["value"]),
                float(row["median"]),
                float(row["spread"]),
                float(row["z"]),
                "above" if row["z"] > 0 else "below",
            )
        )
    return out


# -- before and after a decision ------------------------------------------------------
# KPI key -> the metric a decision's before and after are measured on.
DECISION_METRICS: dict[str, str] = {
    "traffic": "vehicle_flow",
    "footfall": "pedestrians",
    "air": "no2",
    "parking": "bay_occupied",
}


@dataclass(frozen=True)
class BeforeAfter:
    """A metric over some sites before and after a decision, each against the usual for
    the same weekdays and hours in the ``weeks`` weeks before the "before" window.

    ``before_vs_usual`` and ``after_vs_usual`` are fractions (−0.12: 12 % below usual);
    ``effect`` is their difference (after − before), None when a side has no data.
    """

    metric: str
    sites: int
    decision_time: datetime
    days: int
    before_mean: float | None
    after_mean: float | None
    before_vs_usual: float | None
    after_vs_usual: float | None
    effect: float | None
    after_hours: int

    @property
    def words(self) -> str:
        label = METRICS[self.metric].label if self.metric in METRICS else self.metric
        if self.effect is None or self.after_vs_usual is None or self.before_vs_usual is None:
            return f"{label}: not enough history before and after the decision yet."
        return (
            f"{label} after the decision: {_pct(self.after_vs_usual)} against the usual "
            f"(before: {_pct(self.before_vs_usual)}); a change of "
            f"{self.effect * 100:+.0f} percentage points."
        )


def _pct(change: float) -> str:
    if abs(change) < 0.005:
        return "as usual"
    return f"{abs(change):.0%} {'above' if change > 0 else 'below'}"


def before_after(
    frame: pd.DataFrame,
    metric: str,
    site_ids: Iterable[str],
    decision_time: datetime | pd.Timestamp,
    timezone: str,
    days: int = 14,
    weeks: int = 4,
) -> BeforeAfter:
    """Compare ``metric`` (a metric, or a KPI key: its ``KpiSpec.learned_metric``, the one
    a decision's KPI is judged by) at ``site_ids`` in
    the ``days`` days before ``decision_time`` with the ``days`` days after it (or as
    many hours as there are so far).

    The usual value for each weekday and hour is the median over the ``weeks`` weeks
    before the "before" window (the mean over the sites of their hourly means), so both
    windows are judged against the same pre-decision pattern. ``frame`` should hold hourly
    means or raw observations reaching ``days`` + ``weeks`` × 7 days back (the hourly
    rollups do: ``read_history(..., hourly=True)``).
    """
    metric = kpi_spec(metric).learned_metric if metric in kpi_names() else metric
    ids = {str(s) for s in site_ids}
    decided = pd.Timestamp(decision_time)
    obs = frame[(frame["metric"] == metric) & frame["site_id"].astype(str).isin(ids)]
    empty = BeforeAfter(
        metric, len(ids), decided.to_pydatetime(), days, None, None, None, None, None, 0
    )
    if obs.empty:
        return empty
    table = hourly_table(obs, timezone)
    city = table.mean(axis=1)  # the mean over the sites of their hourly means
    d_slot = local_slot(pd.DatetimeIndex([decided]), timezone)[0]
    span = pd.Timedelta(days=days)
    base_start = d_slot - span - weeks * WEEK
    base = city[(city.index >= base_start) & (city.index < d_slot - span)].dropna()
    base_slots = cast(pd.DatetimeIndex, base.index)  # hourly_table is indexed by hour
    usual = base.groupby([base_slots.day_of_week, base_slots.hour]).median()

    def side(lo: pd.Timestamp, hi: pd.Timestamp) -> tuple[float | None, float | None, int]:
        part = city[(city.index >= lo) & (city.index < hi)].dropna()
        if part.empty:
            return None, None, 0
        slots = cast(pd.DatetimeIndex, part.index)
        keys = list(zip(slots.day_of_week, slots.hour, strict=True))
        expected = pd.Series([usual.get(k, np.nan) for k in keys], index=part.index)
        ok = expected.notna()
        if not ok.any() or expected[ok].sum() <= 0:
            return float(part.mean()), None, len(part)
        return (
            float(part.mean()),
            float(part[ok].sum() / expected[ok].sum() - 1.0),
            len(part),
        )

    b_mean, b_vs, _ = side(d_slot - span, d_slot)
    a_mean, a_vs, a_hours = side(d_slot, d_slot + span)
    effect = None if a_vs is None or b_vs is None else a_vs - b_vs
    return BeforeAfter(
        metric,
        len(ids),
        decided.to_pydatetime(),
        days,
        b_mean,
        a_mean,
        b_vs,
        a_vs,
        effect,
        a_hours,
    )
