"""Progress toward a KPI's policy target, e.g. "annual mean NO₂ below 20 µg/m³ by 2030".

A target (``[kpis.<name>.target]`` in the city config, ``TargetConfig``) names a metric,
a value, a direction and a year. The current level is the mean over the last
``window_days`` of the city's daily mean (the mean over sites of each site's daily mean).
The starting level is the same mean over the window ending at ``start``, or over the
earliest window in the history. Progress is the share of the way from the starting level
to the target covered so far; "on track" means at or beyond the straight line from the
start to the target at the end of the target year.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Literal

import pandas as pd

from cockpit.config import TargetConfig
from cockpit.model import METRICS

if TYPE_CHECKING:
    from cockpit.config import CityConfig
    from cockpit.storage import HistoryStore

__all__ = ["TargetProgress", "all_targets", "daily_means", "target_progress"]

Status = Literal["met", "on track", "off track", "no data"]


@dataclass(frozen=True)
class TargetProgress:
    """Where a KPI stands against its target. ``progress`` is 0 at the start level and 1
    at the target (None without a start level distinct from the target)."""

    key: str
    label: str
    metric: str
    unit: str
    direction: Literal["below", "above"]
    target: float
    by: int
    current: float | None
    start_value: float | None
    start_date: date | None
    expected_now: float | None
    progress: float | None
    status: Status
    days_covered: int
    window_days: int

    @property
    def words(self) -> str:
        if self.current is None:
            return f"{self.label}: no data yet."
        decimals = METRICS[self.metric].decimals if self.metric in METRICS else 1
        now = f"{self.current:,.{decimals}f} {self.unit}"
        span = f"mean of the last {self.window_days} days"
        if self.days_covered < self.window_days:
            span = f"mean of the {self.days_covered} days with data in the last {self.window_days}"
        return f"{self.label}: now {now} ({span}); {self.status}."


def daily_means(frame: pd.DataFrame, metric: str, timezone: str) -> pd.Series:
    """The city's daily mean of ``metric``: per city day, the mean over sites of each
    site's mean that day. Indexed by date, oldest first."""
    obs = frame[frame["metric"] == metric]
    if obs.empty:
        return pd.Series(dtype=float)
    days = pd.DatetimeIndex(obs["time"]).tz_convert(timezone).date
    per_site = obs.assign(day=days).groupby(["day", "site_id"])["value"].mean()
    return per_site.groupby(level="day").mean().sort_index()


def _mean_over(daily: pd.Series, first: date, last: date) -> tuple[float | None, int]:
    part = daily[(daily.index >= first) & (daily.index <= last)]
    return (float(part.mean()), len(part)) if len(part) else (None, 0)


def target_progress(
    key: str,
    target: TargetConfig,
    frame: pd.DataFrame,
    now: datetime | pd.Timestamp,
    timezone: str = "UTC",
) -> TargetProgress:
    """Progress of one target from ``frame`` (raw observations or hourly means of its
    metric reaching back ``window_days``, and to ``start`` when set)."""
    unit = METRICS[target.metric].unit
    label = target.label or (
        f"{METRICS[target.metric].label} {target.direction} {target.value:g} {unit} by {target.by}"
    )
    today = pd.Timestamp(now).tz_convert(timezone).date()
    window = pd.Timedelta(days=target.window_days - 1)
    daily = daily_means(frame, target.metric, timezone)
    current, covered = _mean_over(daily, (pd.Timestamp(today) - window).date(), today)
    if target.start is not None:
        start_date: date | None = target.start
        start_value, _ = _mean_over(
            daily, (pd.Timestamp(target.start) - window).date(), target.start
        )
    elif len(daily):
        first = daily.index[0]
        start_date = min((pd.Timestamp(first) + window).date(), today)
        start_value, _ = _mean_over(daily, first, start_date)
    else:
        start_date, start_value = None, None
    below = target.direction == "below"
    no_data = TargetProgress(
        key,
        label,
        target.metric,
        unit,
        target.direction,
        target.value,
        target.by,
        None,
        start_value,
        start_date,
        None,
        None,
        "no data",
        0,
        target.window_days,
    )
    if current is None:
        return no_data
    progress = expected = None
    if start_value is not None and start_value != target.value:
        progress = (start_value - current) / (start_value - target.value)
    if start_value is not None and start_date is not None:
        deadline = date(target.by, 12, 31)
        total = (deadline - start_date).days
        gone = (today - start_date).days
        share = 1.0 if total <= 0 else min(1.0, max(0.0, gone / total))
        expected = start_value + (target.value - start_value) * share
    met = current <= target.value if below else current >= target.value
    if met:
        status: Status = "met"
    elif expected is not None and (current <= expected if below else current >= expected):
        status = "on track"
    else:
        status = "off track"
    return replace(
        no_data,
        current=current,
        expected_now=expected,
        progress=progress,
        status=status,
        days_covered=covered,
    )


def all_targets(
    config: CityConfig, history: HistoryStore, now: datetime | pd.Timestamp
) -> list[TargetProgress]:
    """Progress of every KPI target in ``config``, read from the hourly rollups."""
    from cockpit.twin.baseline import read_history

    out = []
    moment = pd.Timestamp(now)
    for key, kpi in config.kpis.items():
        target = kpi.target
        if target is None:
            continue
        days = target.window_days
        if target.start is not None:
            days = max(days, (moment.date() - target.start).days + target.window_days)
        else:  # the earliest window kept is the starting level
            days = max(days, config.storage.rollup_days)
        start = (moment - pd.Timedelta(days=days + 1)).to_pydatetime()
        frame = read_history(
            history, config, [target.metric], start, moment.to_pydatetime(), hourly=True
        )
        out.append(target_progress(key, target, frame, moment, config.city.timezone))
    return out
