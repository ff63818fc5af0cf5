"""Per-stream freshness: which of a view's latest observations are too old to count.

A source can be live while one of its streams (a site's metric) died long ago: its
newest observation is still the "latest" value. A stream whose newest observation is
older than its source's stream limit (``stream_stale_after_seconds``) leaves the KPIs
and the alerts, and is named in sensor health; it stays on the map, drawn stale with
its time, so a person sees how old it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import pandas as pd

__all__ = ["split_stale_streams", "stale_detail"]


def split_stale_streams(
    latest: pd.DataFrame,
    sites: pd.DataFrame,
    limits: Mapping[str, float],
    now: datetime,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(fresh, stale) rows of ``latest`` (a canonical observation frame).

    ``limits`` maps a source id to its stale limit in seconds; a row is stale when its
    time is more than its site's source's limit before ``now``. Rows of sites whose
    source has no limit, and rows without a time, count as fresh (the validators
    already refuse rows without a time). The stale rows carry ``limit_s``.
    """
    if latest.empty or sites.empty or not limits:
        return latest, latest.iloc[0:0].assign(limit_s=pd.Series(dtype="float64"))
    source = latest["site_id"].map(dict(zip(sites["id"], sites["source"], strict=True)))
    limit = source.map(dict(limits)).astype("float64")
    age = (pd.Timestamp(now) - latest["time"]).dt.total_seconds()
    stale = (age > limit).fillna(False).astype(bool)
    fresh = latest[~stale].reset_index(drop=True)
    return fresh, latest[stale].assign(limit_s=limit[stale]).reset_index(drop=True)


def stale_detail(rows: pd.DataFrame, timezone: str) -> dict[str, str]:
    """Site id -> what a person reads about its stale streams, e.g.
    "pm25 last reading 2024-03-01 10:00, older than the 2 h limit"."""
    out: dict[str, str] = {}
    for site_id, own in rows.groupby("site_id", sort=True):
        parts = []
        for _, row in own.sort_values("metric").iterrows():
            when = pd.Timestamp(row["time"]).tz_convert(timezone).strftime("%Y-%m-%d %H:%M")
            hours = float(row["limit_s"]) / 3600
            limit = f"{hours:g} h" if hours >= 1 else f"{float(row['limit_s']) / 60:g} min"
            parts.append(f"{row['metric']} last reading {when}, older than the {limit} limit")
        out[str(site_id)] = "; ".join(parts)
    return out
