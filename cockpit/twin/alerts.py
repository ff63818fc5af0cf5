"""Threshold alerts: air quality above a standard, parking areas nearly full, crowding,
congestion; and how severe each alert is, for the order staff see them in.

Every rule turns a site's history into a series of values and limits and runs one small
state machine over it (``episodes``): an alert opens when a value reaches its limit and
closes only when the value falls below ``limit × (1 − hysteresis)`` or stays below the
limit for ``close_after`` samples in a row, so a value hovering at the limit does not
flap. The evaluation reads nothing but the history window (which starts at a fixed
point of the day), so it needs no state of its own: a restart gives the same alerts
with the same keys. A key (``rule:site:opened``) names an alert for acknowledgements in
the journal.

Air-quality limits come from the WHO 2021 guidelines by default, or from the EU limit
values; each pollutant keeps the averaging period its standard sets (see ``AIR_STANDARDS``).

``severity`` grades an alert by how far past its limit it is (a sensor fault is the
lowest grade: it says nothing about the street), and ``ranked`` orders alerts by it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, cast

import numpy as np
import pandas as pd

from cockpit.config import AlertsConfig, CityConfig
from cockpit.model import METRICS, empty_observations
from cockpit.storage import HistoryStore

__all__ = [
    "AIR_STANDARDS",
    "PARKING_FULL",
    "SEVERITIES",
    "AirLimit",
    "Alert",
    "Episode",
    "air_alerts",
    "air_limits",
    "alert_key",
    "area_occupancy",
    "congestion_alerts",
    "crowding_alerts",
    "crowding_limits",
    "episodes",
    "evaluate",
    "parking_alerts",
    "ranked",
    "rolling_mean",
    "severity",
    "window_start",
]


@dataclass(frozen=True)
class AirLimit:
    """One pollutant's limit in µg/m³ over its averaging period."""

    metric: str
    limit: float
    hours: int  # averaging period: the mean over this many hours is compared
    basis: str  # how people read it, e.g. "24-hour mean, WHO 2021 guideline"


AIR_STANDARDS: Final[dict[str, dict[str, AirLimit]]] = {
    # WHO global air quality guidelines (2021), short-term guideline levels.
    "who2021": {
        "pm25": AirLimit("pm25", 15, 24, "24-hour mean, WHO 2021 guideline"),
        "pm10": AirLimit("pm10", 45, 24, "24-hour mean, WHO 2021 guideline"),
        "no2": AirLimit("no2", 25, 24, "24-hour mean, WHO 2021 guideline"),
        # WHO: maximum daily 8-hour mean; here the running 8-hour mean.
        "o3": AirLimit("o3", 100, 8, "8-hour mean, WHO 2021 guideline"),
    },
    # EU Directive 2008/50/EC limit and target values.
    "eu": {
        # The EU's PM2.5 limit (25 µg/m³) is an annual mean; it is applied to the
        # 24-hour mean here, as a screening level for the day.
        "pm25": AirLimit("pm25", 25, 24, "24-hour mean, EU annual limit value as screening"),
        "pm10": AirLimit("pm10", 50, 24, "24-hour mean, EU limit value"),
        "no2": AirLimit("no2", 200, 1, "1-hour mean, EU limit value"),
        "o3": AirLimit("o3", 120, 8, "8-hour mean, EU target value"),
    },
}

# A rolling mean counts only when 75 % of its hours have a value (the EU's data-capture
# rule for daily and 8-hour means).
COVERAGE: Final = 0.75
# Fewer bays than this in an area make its occupancy too noisy to alert on.
MIN_BAYS: Final = 10


@dataclass(frozen=True)
class Episode:
    """One stretch above a limit: when it opened, when it closed (None: still open)."""

    opened: pd.Timestamp
    closed: pd.Timestamp | None
    peak: float
    last: float  # the newest value seen while open (at closing, the closing value)
    limit: float  # the limit at the newest sample

    @property
    def active(self) -> bool:
        return self.closed is None


@dataclass(frozen=True)
class Alert:
    """An alert for one site (or area), open or closed within the window."""

    key: str
    rule: str  # e.g. "air.pm25", "parking", "crowding", "sensor.stale"
    site_id: str  # a site id, "area:<district>" or "city"
    site_name: str
    domain: str
    metric: str
    opened: datetime
    closed: datetime | None
    value: float  # the newest evaluated value (e.g. the 24-hour mean)
    limit: float
    unit: str
    basis: str  # what was compared, e.g. "24-hour mean, WHO 2021 guideline"
    # The severity its rule sets (one of ``SEVERITIES``); "" grades it by how far past
    # its limit it is (``severity``).
    grade: str = ""

    @property
    def active(self) -> bool:
        return self.closed is None


def alert_key(rule: str, site_id: str, opened: datetime) -> str:
    """The stable name of an alert: rule, site and the minute it opened (UTC)."""
    return f"{rule}:{site_id}:{pd.Timestamp(opened).tz_convert('UTC'):%Y-%m-%dT%H:%MZ}"


def window_start(now: datetime, hours: float) -> pd.Timestamp:
    """Where the evaluation window starts: ``hours`` before the start of ``now``'s UTC day.

    Anchored to the day, so evaluations during one day run over the same samples from
    the same start and agree on when each alert opened.
    """
    return pd.Timestamp(now).tz_convert("UTC").floor("D") - pd.Timedelta(hours=hours)


def episodes(
    times: Iterable[pd.Timestamp],
    values: Iterable[float],
    limits: Iterable[float],
    hysteresis: float,
    close_after: int,
) -> list[Episode]:
    """Run the open/close state machine over samples; NaN values or limits are skipped.

    Opens at the first value ``>= limit``; an open episode closes at a value below
    ``limit × (1 − hysteresis)``, or at the ``close_after``-th value in a row below the
    limit. A value at or above the limit resets that count.
    """
    out: list[Episode] = []
    opened: pd.Timestamp | None = None
    peak = last = lim = math.nan
    below = 0
    for t, v, limit in zip(times, values, limits, strict=True):
        if math.isnan(v) or math.isnan(limit):
            continue
        if opened is None:
            if v >= limit:
                opened, peak, last, lim, below = t, v, v, limit, 0
            continue
        peak, last, lim = max(peak, v), v, limit
        if v < limit * (1 - hysteresis):
            below = close_after
        elif v < limit:
            below += 1
        else:
            below = 0
        if below >= close_after:
            out.append(Episode(opened, t, peak, v, limit))
            opened = None
    if opened is not None:
        out.append(Episode(opened, None, peak, last, lim))
    return out


def rolling_mean(series: pd.Series, hours: int) -> pd.Series:
    """The running mean over the past ``hours`` at each sample of a time-indexed series
    (hourly values); NaN where fewer than 75 % of the hours have a value."""
    series = series.sort_index()
    if hours <= 1:
        return series.astype(float)
    window = series.rolling(f"{hours}h", closed="right")
    need = math.ceil(COVERAGE * hours)
    return window.mean().where(window.count() >= need)


def air_limits(config: AlertsConfig) -> dict[str, AirLimit]:
    """The configured standard's limits, with the config's per-pollutant overrides."""
    limits = dict(AIR_STANDARDS[config.air_standard])
    for metric_name, value in config.air_limits.items():
        base = limits[metric_name]
        limits[metric_name] = AirLimit(
            metric_name, float(value), base.hours, f"{base.hours}-hour mean, city limit"
        )
    return limits


def _alerts(
    rule: str, site_id: str, name: str, metric_name: str, basis: str, found: list[Episode]
) -> list[Alert]:
    """The alerts of ``found`` episodes, in the metric's domain and canonical unit."""
    domain, unit = METRICS[metric_name].domain, METRICS[metric_name].unit
    return [
        Alert(
            key=alert_key(rule, site_id, e.opened),
            rule=rule,
            site_id=site_id,
            site_name=name,
            domain=domain,
            metric=metric_name,
            opened=e.opened.to_pydatetime(),
            closed=None if e.closed is None else e.closed.to_pydatetime(),
            value=float(e.last),
            limit=float(e.limit),
            unit=unit,
            basis=basis,
        )
        for e in found
    ]


def _series(group: pd.DataFrame) -> pd.Series:
    """One site's values indexed by UTC time, sorted, one value per time."""
    index = pd.DatetimeIndex(pd.to_datetime(group["time"], utc=True))
    series = pd.Series(group["value"].to_numpy(dtype=float), index=index).sort_index()
    return series[~series.index.duplicated(keep="last")]


def _episodes_over(
    series: pd.Series, begin: pd.Timestamp, limit: float, config: AlertsConfig
) -> list[Episode]:
    """The episodes of ``series`` from ``begin`` on against one fixed ``limit``."""
    series = series[series.index >= begin]
    return episodes(
        series.index,
        series.to_numpy(),
        np.full(len(series), limit),
        config.hysteresis,
        config.close_after,
    )


def _names(sites: pd.DataFrame) -> dict[str, str]:
    if sites.empty:
        return {}
    return dict(zip(sites["id"].astype(str), sites["name"].astype(str), strict=True))


def air_alerts(
    observations: pd.DataFrame, sites: pd.DataFrame, config: AlertsConfig, start: datetime
) -> list[Alert]:
    """Alerts where a pollutant's running mean reaches the standard's limit.

    ``observations`` must reach back one averaging period before ``start`` so the first
    means in the window are complete; the state machine runs from ``start`` on.
    """
    names = _names(sites)
    begin = pd.Timestamp(start)
    out: list[Alert] = []
    for metric_name, limit in air_limits(config).items():
        obs = observations[observations["metric"] == metric_name]
        for site_id, group in obs.groupby("site_id", sort=True):
            series = _series(group)
            found = _episodes_over(rolling_mean(series, limit.hours), begin, limit.limit, config)
            out += _alerts(
                f"air.{metric_name}",
                str(site_id),
                names.get(str(site_id), str(site_id)),
                metric_name,
                limit.basis,
                found,
            )
    return out


def area_occupancy(bays: pd.DataFrame, districts: pd.Series) -> pd.DataFrame:
    """Hourly share of occupied bays (percent) per area and for the whole city.

    ``bays`` are ``bay_occupied`` observations (1 occupied, 0 free); ``districts`` maps a
    bay's site id to its area. Each bay keeps its last state of an hour and holds it for
    up to three hours without a new reading. Returns a frame indexed by the hour's end
    with one column per area (at least ``MIN_BAYS`` bays) and ``city``.
    """
    if bays.empty:
        return pd.DataFrame()
    hour = bays["time"].dt.floor("h") + pd.Timedelta(hours=1)
    grid = (
        bays.assign(hour=hour)
        .sort_values("time")
        .pivot_table(index="hour", columns="site_id", values="value", aggfunc="last")
    )
    full = pd.date_range(grid.index.min(), grid.index.max(), freq="h")
    grid = grid.reindex(full).ffill(limit=3)
    areas = districts.reindex(grid.columns).fillna("")
    out: dict[str, pd.Series] = {}
    for area in sorted({str(a) for a in areas if a}):
        columns = grid.columns[(areas == area).to_numpy()]
        if len(columns) >= MIN_BAYS:
            out[area] = grid[columns].mean(axis=1) * 100
    out["city"] = grid.mean(axis=1) * 100
    return pd.DataFrame(out)


def parking_alerts(
    bays: pd.DataFrame,
    occupancy: pd.DataFrame,
    sites: pd.DataFrame,
    config: AlertsConfig,
    start: datetime,
) -> list[Alert]:
    """Alerts where an area (or the city) has its bays, or a car park its spaces, above
    ``parking_occupancy`` percent full."""
    begin = pd.Timestamp(start)
    limit = config.parking_occupancy
    out: list[Alert] = []
    districts = (
        sites.set_index("id")["district"].astype(str)
        if "district" in sites.columns and not sites.empty
        else pd.Series(dtype=str)
    )
    shares = area_occupancy(bays, districts)
    for area in shares.columns:
        found = _episodes_over(shares[area], begin, limit, config)
        area_id = "city" if area == "city" else f"area:{area}"
        name = "All on-street bays" if area == "city" else str(area)
        basis = "share of on-street bays occupied, hourly"
        out += _alerts("parking", area_id, name, "occupancy", basis, found)
    names = _names(sites)
    for site_id, group in occupancy.groupby("site_id", sort=True):
        found = _episodes_over(_series(group), begin, limit, config)
        name = names.get(str(site_id), str(site_id))
        out += _alerts("parking", str(site_id), name, "occupancy", "occupancy", found)
    return out


WEEK: Final = pd.Timedelta(weeks=1)


def crowding_limits(
    series: pd.Series,
    times: pd.DatetimeIndex,
    config: AlertsConfig,
    factor: float | None = None,
    minimum: float | None = None,
) -> pd.Series:
    """The crowding limit at each of ``times`` from the same weekday and hour of the
    previous ``crowding_weeks`` weeks: the largest of factor × median, median + mads ×
    MAD (scaled to a standard deviation) and the minimum. NaN with fewer than two weeks.
    ``factor`` and ``minimum`` replace the crowding ones (congestion uses its own)."""
    series = series.sort_index()
    series = series[~series.index.duplicated(keep="last")]
    past = np.vstack(
        [
            series.reindex(
                times - k * WEEK, method="nearest", tolerance=pd.Timedelta(minutes=30)
            ).to_numpy(dtype=float)
            for k in range(1, config.crowding_weeks + 1)
        ]
    )
    enough = np.sum(~np.isnan(past), axis=0) >= 2
    with np.errstate(all="ignore"):
        filled = np.where(enough, past, 0.0)
        median = np.nanmedian(filled, axis=0)
        mad = 1.4826 * np.nanmedian(np.abs(filled - median), axis=0)
    limit = np.maximum.reduce(
        [
            median * (config.crowding_factor if factor is None else factor),
            median + config.crowding_mads * mad,
            np.full(len(times), config.crowding_minimum if minimum is None else minimum),
        ]
    )
    return pd.Series(np.where(enough, limit, np.nan), index=times)


def crowding_alerts(
    counts: pd.DataFrame, sites: pd.DataFrame, config: AlertsConfig, start: datetime
) -> list[Alert]:
    """Alerts where a pedestrian count is far above its usual for the weekday and hour.

    ``counts`` must reach back ``crowding_weeks`` weeks before ``start``.
    """
    return _above_usual(
        counts,
        sites,
        config,
        start,
        ("crowding", "pedestrians", "hourly count against the usual for the weekday and hour"),
        config.crowding_factor,
        config.crowding_minimum,
    )


def congestion_alerts(
    flows: pd.DataFrame, sites: pd.DataFrame, config: AlertsConfig, start: datetime
) -> list[Alert]:
    """Alerts where an intersection's vehicle flow is far above its usual for the weekday
    and hour (``congestion_factor`` × usual, at least ``congestion_minimum`` veh/h).
    Hourly means are compared, so a single busy quarter hour opens nothing.

    ``flows`` must reach back ``crowding_weeks`` weeks before ``start``.
    """
    if flows.empty:
        return []
    hourly = cast(
        pd.DataFrame,
        flows.assign(time=pd.to_datetime(flows["time"], utc=True).dt.floor("h"))
        .groupby(["site_id", "time"], as_index=False)["value"]
        .mean(),
    )
    return _above_usual(
        hourly,
        sites,
        config,
        start,
        ("congestion", "vehicle_flow", "hourly flow against the usual for the weekday and hour"),
        config.congestion_factor,
        config.congestion_minimum,
    )


def _above_usual(
    counts: pd.DataFrame,
    sites: pd.DataFrame,
    config: AlertsConfig,
    start: datetime,
    rule: tuple[str, str, str],
    factor: float,
    minimum: float,
) -> list[Alert]:
    """Alerts of ``rule`` (name, metric, basis) where a site's values reach the limit
    ``crowding_limits`` gives with ``factor`` and ``minimum``."""
    name_of, metric_name, basis = rule
    names = _names(sites)
    begin = pd.Timestamp(start)
    out: list[Alert] = []
    for site_id, group in counts.groupby("site_id", sort=True):
        series = _series(group)
        recent = series[series.index >= begin]
        if recent.empty:
            continue
        limits = crowding_limits(
            series, pd.DatetimeIndex(recent.index), config, factor=factor, minimum=minimum
        )
        found = episodes(
            recent.index,
            recent.to_numpy(),
            limits.to_numpy(),
            config.hysteresis,
            config.close_after,
        )
        out += _alerts(
            name_of, str(site_id), names.get(str(site_id), str(site_id)), metric_name, basis, found
        )
    return out


# Site ids per history query (below SQLite's limit on bound parameters).
CHUNK: Final = 500


def _read(
    history: HistoryStore,
    sites: pd.DataFrame,
    config: CityConfig,
    metric_name: str,
    start: pd.Timestamp,
    end: datetime,
) -> pd.DataFrame:
    """``metric_name`` readings of ``sites`` from the sources of the metric's domain
    between ``start`` and ``end``."""
    sources = config.sources_for(METRICS[metric_name].domain)
    own: pd.Series | list[str] = (
        sites.loc[sites["source"].isin(sources), "id"] if not sites.empty else []
    )
    ids = [str(i) for i in own]
    begin = start.to_pydatetime()
    frames = [
        history.window(ids[i : i + CHUNK], begin, end, metric=metric_name)
        for i in range(0, len(ids), CHUNK)
    ]
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else empty_observations()


def evaluate(
    config: CityConfig, history: HistoryStore, sites: pd.DataFrame, now: datetime
) -> list[Alert]:
    """All threshold alerts of ``sites`` (the viewer's sites) over the window before
    ``now``, open ones first, newest first."""
    rules = config.alerts
    start = window_start(now, rules.window_hours)
    end = pd.Timestamp(now).to_pydatetime() + timedelta(seconds=1)
    out: list[Alert] = []
    longest = max(a.hours for a in air_limits(rules).values())
    air = pd.concat(
        [
            _read(history, sites, config, m, start - pd.Timedelta(hours=longest), end)
            for m in air_limits(rules)
        ],
        ignore_index=True,
    )
    out += air_alerts(air, sites, rules, start.to_pydatetime())
    lead = start - pd.Timedelta(hours=3)
    bays = _read(history, sites, config, "bay_occupied", lead, end)
    occupancy = _read(history, sites, config, "occupancy", start, end)
    out += parking_alerts(bays, occupancy, sites, rules, start.to_pydatetime())
    back = start - rules.crowding_weeks * WEEK - pd.Timedelta(hours=1)
    counts = _read(history, sites, config, "pedestrians", back, end)
    out += crowding_alerts(counts, sites, rules, start.to_pydatetime())
    flows = _read(history, sites, config, "vehicle_flow", back, end)
    out += congestion_alerts(flows, sites, rules, start.to_pydatetime())
    return sorted(out, key=lambda a: (not a.active, -a.opened.timestamp(), a.key))


# -- severity ----------------------------------------------------------------------------
# From the most to the least severe; an alert's grade is its index in reverse.
SEVERITIES: Final = ("critical", "high", "moderate", "low")
# Parking at or above this share occupied is full, not nearly full.
PARKING_FULL: Final = 98.0


def severity(alert: Alert) -> str:
    """How severe ``alert`` is, one of ``SEVERITIES``: by how far its value is past its
    limit (air twice the limit is critical, 1.25 × high; crowding and congestion 1.5 ×
    high; a full car park high), a sensor fault always low; an alert whose rule sets
    its severity (``grade``) has that one. Raises nothing."""
    if alert.grade in SEVERITIES:
        return alert.grade
    if alert.rule.startswith("sensor.") or math.isnan(alert.value) or alert.limit <= 0:
        return "low"
    ratio = alert.value / alert.limit
    if alert.rule.startswith("air."):
        return "critical" if ratio >= 2 else "high" if ratio >= 1.25 else "moderate"
    if alert.rule == "parking":
        return "high" if alert.value >= PARKING_FULL else "moderate"
    return "high" if ratio >= 1.5 else "moderate"


def ranked(alerts: Iterable[Alert]) -> list[Alert]:
    """``alerts`` the most severe first; within a grade, the furthest past its limit,
    then the newest."""

    def order(a: Alert) -> tuple[int, float, float, str]:
        past = a.value / a.limit if a.limit > 0 and not math.isnan(a.value) else 0.0
        return (SEVERITIES.index(severity(a)), -past, -a.opened.timestamp(), a.key)

    return sorted(alerts, key=order)
