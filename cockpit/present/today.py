"""Today against usual: a domain's city-wide figure hour by hour since midnight, beside
the usual figure for the same weekday and hour, for the kiosk's small chart.

Pure functions of hourly means (``City.hourly_metric``); nothing here reads a store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd

__all__ = ["TodayCurve", "history_start", "today_against_usual"]


@dataclass(frozen=True)
class TodayCurve:
    """Hour by hour (local hours 0–23): today's figure so far (None for hours without a
    value yet) and the usual one (median of the same weekday's hour in earlier weeks)."""

    today: tuple[float | None, ...]
    usual: tuple[float | None, ...]
    hour_now: int

    @property
    def change(self) -> float | None:
        """Today so far against usual over the hours both have, as a fraction (0.12 is
        12 % more); None without such hours or with a usual of zero."""
        pairs = [
            (t, u)
            for t, u in zip(self.today, self.usual, strict=True)
            if t is not None and u is not None
        ]
        usual = sum(u for _, u in pairs)
        if not pairs or usual <= 0:
            return None
        return sum(t for t, _ in pairs) / usual - 1


def history_start(now: datetime, timezone: str, weeks: int) -> datetime:
    """Where the hourly history for ``today_against_usual`` must start: local midnight
    ``weeks`` weeks before today."""
    local = pd.Timestamp(now).tz_convert(ZoneInfo(timezone)).normalize()
    return (local - timedelta(weeks=weeks)).tz_convert("UTC").to_pydatetime()


def today_against_usual(
    hourly: pd.DataFrame, now: datetime, timezone: str, weeks: int, aggregation: str = "sum"
) -> TodayCurve | None:
    """Today's curve and the usual one from ``hourly`` means (columns ``site_id``,
    ``time``, ``value``) of one metric. Each hour's city figure is the ``aggregation``
    ("sum" or "mean") over the sites that reported; the usual is the median of that
    figure at the same local hour on the same weekday over the ``weeks`` before. None
    when today has no hour yet."""
    if hourly.empty:
        return None
    tz = ZoneInfo(timezone)
    local_now = pd.Timestamp(now).tz_convert(tz)
    midnight = local_now.normalize()
    times = pd.to_datetime(hourly["time"], utc=True).dt.tz_convert(tz).dt.floor("h")
    per_hour = hourly.assign(hour=times).groupby("hour")["value"]
    city = per_hour.sum() if aggregation == "sum" else per_hour.mean()
    today: list[float | None] = [None] * 24
    usual: list[float | None] = [None] * 24
    for hour in range(24):
        at = midnight + timedelta(hours=hour)
        if at <= local_now and at in city.index:
            today[hour] = float(city[at])
        earlier = [at - timedelta(weeks=w) for w in range(1, weeks + 1)]
        found = [float(city[e]) for e in earlier if e in city.index]
        if found:
            usual[hour] = float(pd.Series(found).median())
    if all(t is None for t in today):
        return None
    return TodayCurve(tuple(today), tuple(usual), int(local_now.hour))
