"""Sensor health: which sites report, which went quiet, and which report nonsense.

From a window of observations, each site is ``reporting``, ``stale`` (nothing within
``stale_factor`` × its reporting interval) or ``silent`` (nothing for ``silent_hours``),
and may carry problems: a ``flat`` line (the same value ``flat_readings`` times in a row
for a metric that normally varies) or ``impossible`` values (negative counts, occupancy
above 100 %, a bay neither free nor occupied, concentrations beyond physical range, more
PM2.5 than PM10). ``coverage`` sums this per domain; ``health_alerts`` turns flagged sites
into alerts with stable keys, like ``cockpit.twin.alerts``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import numpy as np
import pandas as pd

from cockpit.config import AlertsConfig
from cockpit.model import DOMAINS, METRICS, empty_observations
from cockpit.storage import HistoryStore
from cockpit.twin.alerts import Alert, alert_key

__all__ = [
    "STATUSES",
    "VARYING_METRICS",
    "DomainCoverage",
    "SiteHealth",
    "assess",
    "coverage",
    "flat_since",
    "health_alerts",
    "impossible_readings",
    "read_health",
    "reporting_interval",
]

STATUSES: Final = ("reporting", "stale", "silent")
# Metrics whose readings change from one to the next when the sensor works (a parking
# bay's 0/1 may rightly stay the same for hours).
VARYING_METRICS: Final = frozenset(
    {"vehicle_flow", "speed", "pm25", "pm10", "no2", "o3", "occupancy", "pedestrians"}
)
# Highest values a sensor can truly read; above them the sensor is wrong, not the air.
PHYSICAL_MAXIMUM: Final = {"occupancy": 100.0, "bay_occupied": 1.0} | {
    m: METRICS[m].maximum for m in ("pm25", "pm10", "no2", "o3", "speed", "vehicle_flow")
}
# PM2.5 is part of PM10: more PM2.5 than PM10 (beyond instruments' noise) is impossible.
PM_TOLERANCE: Final = 10.0
DEFAULT_INTERVAL_S: Final = 3600.0
# Site ids per history query (below SQLite's limit on bound parameters).
CHUNK: Final = 500


@dataclass(frozen=True)
class SiteHealth:
    """One site's health at one moment."""

    site_id: str
    name: str
    domain: str
    status: str  # reporting | stale | silent
    last_seen: datetime | None
    interval_s: float  # the site's usual time between readings
    problems: tuple[str, ...] = ()  # "flat", "impossible"
    since: datetime | None = None  # when the first problem began
    detail: str = ""

    @property
    def flagged(self) -> bool:
        return self.status != "reporting" or bool(self.problems)


@dataclass(frozen=True)
class DomainCoverage:
    """How many of a domain's sites report, are stale, are silent or look wrong."""

    domain: str
    sites: int
    reporting: int
    stale: int
    silent: int
    suspect: int  # reporting but flat or impossible

    @property
    def share_reporting(self) -> float:
        return self.reporting / self.sites if self.sites else 0.0


def reporting_interval(times: pd.Series) -> float:
    """A site's usual seconds between readings (median gap), or an hour when unknown."""
    stamps = pd.Series(pd.to_datetime(times, utc=True).unique()).sort_values()
    if len(stamps) < 3:
        return DEFAULT_INTERVAL_S
    gaps = stamps.diff().dropna().dt.total_seconds()
    gaps = gaps[gaps > 0]
    return float(gaps.median()) if not gaps.empty else DEFAULT_INTERVAL_S


def flat_since(values: pd.Series, times: pd.Series, readings: int) -> datetime | None:
    """When the newest run of equal values began, if it is ``readings`` long or longer."""
    if len(values) < readings:
        return None
    v = values.to_numpy(dtype=float)
    run = 1
    for i in range(len(v) - 1, 0, -1):
        if v[i - 1] != v[i]:
            break
        run += 1
    if run < readings:
        return None
    return pd.Timestamp(times.iloc[len(v) - run]).to_pydatetime()


def impossible_readings(observations: pd.DataFrame) -> pd.DataFrame:
    """The readings no working sensor can give, with a ``reason`` each."""
    obs = observations
    value = obs["value"].astype(float)
    reasons = pd.Series("", index=obs.index, dtype=object)
    reasons[value < 0] = "negative value"
    high = obs["metric"].map(PHYSICAL_MAXIMUM).astype(float)
    reasons[(reasons == "") & (value > high)] = "above the physical range"
    bay = (obs["metric"] == "bay_occupied") & ~value.isin([0.0, 1.0])
    reasons[(reasons == "") & bay] = "bay neither free nor occupied"
    pm = obs[obs["metric"].isin(["pm25", "pm10"])]
    if not pm.empty:
        wide = pm.pivot_table(index=["site_id", "time"], columns="metric", values="value")
        if {"pm25", "pm10"} <= set(wide.columns):
            bad = wide[wide["pm25"] > wide["pm10"] + PM_TOLERANCE].index
            key = pd.MultiIndex.from_frame(obs[["site_id", "time"]])
            rows = (obs["metric"] == "pm25") & key.isin(bad)
            reasons[(reasons == "") & np.asarray(rows)] = "more PM2.5 than PM10"
    bad_rows = reasons != ""
    return obs[bad_rows].assign(reason=reasons[bad_rows]).reset_index(drop=True)


def _intervals(stamps: pd.DataFrame) -> pd.Series:
    """Each site's median seconds between distinct reading times (an hour when unknown)."""
    gaps = stamps.groupby("site_id", sort=False)["time"].diff().dt.total_seconds()
    gaps = gaps[gaps > 0]
    median = gaps.groupby(stamps.loc[gaps.index, "site_id"], sort=False).median()
    counts = stamps.groupby("site_id", sort=False).size()
    return median.where(counts.reindex(median.index) >= 3).reindex(counts.index)


def assess(
    sites: pd.DataFrame, observations: pd.DataFrame, now: datetime, rules: AlertsConfig
) -> list[SiteHealth]:
    """The health of every site in ``sites`` from ``observations`` (a window of their
    readings, any metrics, ideally ``silent_hours`` long or longer) at ``now``."""
    moment = pd.Timestamp(now).tz_convert("UTC")
    obs = observations.sort_values(["site_id", "time"], kind="stable")
    stamps = obs[["site_id", "time"]].drop_duplicates()
    last = stamps.groupby("site_id", sort=False)["time"].max()
    intervals = _intervals(stamps).fillna(DEFAULT_INTERVAL_S)
    problems: dict[str, list[tuple[str, datetime, str]]] = {}
    varying = obs[obs["metric"].isin(list(VARYING_METRICS))]
    for (site_id, metric_name), readings in varying.groupby(["site_id", "metric"], sort=True):
        began = flat_since(readings["value"], readings["time"], rules.flat_readings)
        if began is not None and not any(p == "flat" for p, _, _ in problems.get(str(site_id), [])):
            value = float(readings["value"].iloc[-1])
            text = f"{METRICS[str(metric_name)].label} stuck at {value:g}"
            problems.setdefault(str(site_id), []).append(("flat", began, text))
    wrong = impossible_readings(obs) if not obs.empty else obs
    for site_id, bad in wrong.groupby("site_id", sort=True) if not wrong.empty else []:
        when = pd.Timestamp(bad["time"].min()).to_pydatetime()
        text = f"{bad['reason'].iloc[0]} ({len(bad)} readings)"
        problems.setdefault(str(site_id), []).append(("impossible", when, text))
    out: list[SiteHealth] = []
    for site_id, name, domain in zip(sites["id"], sites["name"], sites["domain"], strict=True):
        site_id = str(site_id)
        if site_id not in last.index:
            out.append(SiteHealth(site_id, str(name), str(domain), "silent", None, 0.0))
            continue
        interval = float(intervals[site_id])
        seen = pd.Timestamp(last[site_id])
        age = (moment - seen).total_seconds()
        if age > rules.silent_hours * 3600:
            status = "silent"
        elif age > rules.stale_factor * interval:
            status = "stale"
        else:
            status = "reporting"
        found = problems.get(site_id, [])
        out.append(
            SiteHealth(
                site_id,
                str(name),
                str(domain),
                status,
                seen.to_pydatetime(),
                interval,
                tuple(p for p, _, _ in found),
                min((w for _, w, _ in found), default=None),
                "; ".join(t for _, _, t in found),
            )
        )
    return out


def coverage(health: list[SiteHealth]) -> list[DomainCoverage]:
    """Per domain (in the cockpit's domain order): sites, reporting, stale, silent, suspect."""
    out = []
    for domain in DOMAINS:
        own = [h for h in health if h.domain == domain]
        if not own:
            continue
        out.append(
            DomainCoverage(
                domain,
                len(own),
                sum(h.status == "reporting" for h in own),
                sum(h.status == "stale" for h in own),
                sum(h.status == "silent" for h in own),
                sum(h.status == "reporting" and bool(h.problems) for h in own),
            )
        )
    return out


def health_alerts(health: list[SiteHealth], window_start: datetime) -> list[Alert]:
    """An alert for each flagged site: ``sensor.stale``, ``sensor.silent``,
    ``sensor.flat`` or ``sensor.impossible``. A quiet site's alert opened when its next
    reading was due (at the window's start for a site never seen in it)."""
    out: list[Alert] = []
    begin = pd.Timestamp(window_start).to_pydatetime()
    for h in health:
        rules: list[tuple[str, datetime, str]] = []
        if h.status != "reporting":
            opened = (
                begin
                if h.last_seen is None
                else (
                    pd.Timestamp(h.last_seen) + pd.Timedelta(seconds=h.interval_s)
                ).to_pydatetime()
            )
            rules.append((f"sensor.{h.status}", opened, "no reading"))
        for problem in h.problems:
            rules.append((f"sensor.{problem}", h.since or begin, h.detail))
        for rule, opened, basis in rules:
            out.append(
                Alert(
                    key=alert_key(rule, h.site_id, opened),
                    rule=rule,
                    site_id=h.site_id,
                    site_name=h.name,
                    domain=h.domain,
                    metric="",
                    opened=opened,
                    closed=None,
                    value=float("nan"),
                    limit=float("nan"),
                    unit="",
                    basis=basis,
                )
            )
    return out


def read_health(
    history: HistoryStore,
    sites: pd.DataFrame,
    now: datetime,
    rules: AlertsConfig,
    latest: pd.DataFrame | None = None,
) -> list[SiteHealth]:
    """``assess`` over the last ``silent_hours`` of ``sites``' readings.

    Without ``latest`` every reading of the window is read from the history store. With
    ``latest`` (the newest observation per site and metric, as in a ``CityView``), only
    the metrics that normally vary are read from the history (for flat lines and the
    reporting interval); sites with no such metric (e.g. parking bays) are judged by
    their latest reading, with an hourly reporting interval, and only sites missing
    from both are looked up in the history. That keeps thousands of bays cheap.
    """
    end = pd.Timestamp(now).to_pydatetime() + timedelta(seconds=1)
    start = end - timedelta(hours=rules.silent_hours)
    ids = [str(i) for i in sites["id"]] if not sites.empty else []
    if latest is None:
        return assess(sites, _window(history, ids, start, end), now, rules)
    frames: list[pd.DataFrame] = []
    for name in sorted(VARYING_METRICS):
        own = [str(i) for i in sites.loc[sites["domain"] == METRICS[name].domain, "id"]]
        frames.append(_window(history, own, start, end, name))
    fixed = latest[~latest["metric"].isin(list(VARYING_METRICS))]
    frames.append(fixed[fixed["site_id"].isin(ids) & (fixed["time"] >= pd.Timestamp(start))])
    frames = [f for f in frames if not f.empty]
    obs = pd.concat(frames, ignore_index=True) if frames else empty_observations()
    obs = obs[obs["site_id"].isin(ids)]
    missing = sorted(set(ids) - set(obs["site_id"].astype(str)))
    if missing:
        found = _window(history, missing, start, end)
        obs = pd.concat([obs, found], ignore_index=True) if not found.empty else obs
    return assess(sites, obs.reset_index(drop=True), now, rules)


def _window(
    history: HistoryStore,
    ids: list[str],
    start: datetime,
    end: datetime,
    metric: str | None = None,
) -> pd.DataFrame:
    frames = [
        history.window(ids[i : i + CHUNK], start, end, metric=metric)
        for i in range(0, len(ids), CHUNK)
    ]
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else empty_observations()
