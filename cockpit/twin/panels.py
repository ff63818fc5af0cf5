"""What the pages ask of the twin, computed from the history for a set of sites.

Each function reads only the hours it needs from the history (``cockpit.storage.
HistoryStore``) and returns plain data; the ``City`` keeps the answers per data version
and role, and the pages turn them into words and components.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
from threadpoolctl import threadpool_limits

from cockpit.config import CityConfig
from cockpit.domains import all_domains
from cockpit.model import METRICS, empty_observations
from cockpit.storage import HistoryStore
from cockpit.twin import alerts as alert_rules
from cockpit.twin import baseline, climate, forecast, sensor_health, targets
from cockpit.twin import rules as city_rules
from cockpit.twin.alerts import Alert
from cockpit.twin.sensor_health import DomainCoverage, SiteHealth

__all__ = [
    "KPI_METRICS",
    "TWIN_METRICS",
    "Board",
    "Twin",
    "alert_board",
    "city_forecast",
    "forecast_history",
    "forecast_metrics",
    "forecast_of",
    "free_bays",
    "hourly_metric",
    "site_forecast",
    "slot_history",
    "targets_and_co2",
    "twin_baselines",
    "twin_of",
]

# The metrics whose sites get a baseline (parking bays change too rarely to have one).
TWIN_METRICS = ("vehicle_flow", "pedestrians", "pm25", "pm10", "no2", "o3")
# KPI key -> (metric, how the sites combine, as the KPI's own figure does). Footfall
# compares itself (cockpit.twin.kpi).
KPI_METRICS: dict[str, tuple[str, str]] = {
    "traffic": ("vehicle_flow", "mean"),
    "air": ("pm10", "mean"),
}
# Site ids per history read: keeps each query's parameter list short.
CHUNK = 500
PARKING_CHUNK = 900


@dataclass
class Twin:
    """Baselines and anomalies for one role at one moment."""

    at: datetime
    baselines: pd.DataFrame
    anomalies: list[baseline.Anomaly]
    states: pd.DataFrame  # baseline.site_states of the view's latest values
    comparisons: dict[str, baseline.KpiComparison]


@dataclass(frozen=True)
class Board:
    """Alerts and sensor health for one role at one data version."""

    alerts: list[Alert]  # open ones only, threshold alerts before sensor alerts
    health: list[SiteHealth]
    coverage: list[DomainCoverage]


def slot_history(
    history: HistoryStore,
    timezone: str,
    sites: pd.DataFrame,
    at: datetime,
    weeks: int,
    metrics: tuple[str, ...],
) -> pd.DataFrame:
    """Hourly means of ``metrics`` from the city's midnight to the hour of ``at``, today
    and on the same weekday of the previous ``weeks`` weeks: all that today's baselines
    and anomalies need, without reading the weeks in between. Reads each site's rollups
    by key, for the sites of ``sites`` whose domain has the metric."""
    local = pd.Timestamp(at).tz_convert(timezone)
    midnight = local.normalize().tz_convert("UTC").to_pydatetime()
    end = pd.Timestamp(at).floor("h").to_pydatetime() + timedelta(hours=1)
    frames = []
    for metric in metrics:
        ids = list(sites.loc[sites["domain"] == METRICS[metric].domain, "id"].astype(str))
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            for k in range(weeks + 1):
                shift = timedelta(weeks=k)
                frames.append(history.hourly(chunk, midnight - shift, end - shift, metric=metric))
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else empty_observations()


def twin_baselines(
    history: HistoryStore, config: CityConfig, sites: pd.DataFrame, at: datetime
) -> tuple[pd.DataFrame, list[baseline.Anomaly]]:
    """Each site's typical value for the hour of ``at`` and today's anomalies so far."""
    cfg = config.twin
    tz = config.city.timezone
    hour = pd.Timestamp(at).floor("h")
    frame = slot_history(history, tz, sites, at, cfg.baseline_weeks, TWIN_METRICS)
    base = baseline.baselines(frame, hour, tz, cfg.baseline_weeks, cfg.min_weeks)
    anomalies = baseline.todays_anomalies(
        frame, sites, at, tz, cfg.anomaly_z, cfg.baseline_weeks, cfg.min_weeks
    )
    return base, anomalies


def twin_of(
    config: CityConfig,
    latest: pd.DataFrame,
    at: datetime,
    base: pd.DataFrame,
    anomalies: list[baseline.Anomaly],
) -> Twin:
    """The twin of ``latest`` values against the baselines ``base``."""
    cfg = config.twin
    tz = config.city.timezone
    states = baseline.site_states(latest, base, cfg.band_z, cfg.anomaly_z)
    comparisons = {}
    for key, (metric, how) in KPI_METRICS.items():
        label = METRICS[metric].label
        found = baseline.compare_kpi(key, label, metric, latest, base, tz, how)  # type: ignore[arg-type]
        if found is not None:
            comparisons[key] = found
    return Twin(at, base, anomalies, states, comparisons)


def alert_board(
    config: CityConfig,
    history: HistoryStore,
    sites: pd.DataFrame,
    latest: pd.DataFrame,
    now: datetime,
    own_rules: Sequence[city_rules.Rule] = (),
) -> Board:
    """Open alerts and sensor health of ``sites`` at ``now``: the built-in alerts' and
    those of ``own_rules`` (the city's rules shown on the phone view)."""
    rules = config.alerts
    threshold = [a for a in alert_rules.evaluate(config, history, sites, now) if a.active]
    if own_rules:
        found = city_rules.evaluate_rules(own_rules, config, history, sites, now)
        threshold += [a for a in found if a.active]
    health = sensor_health.read_health(history, sites, now, rules, latest=latest)
    start = alert_rules.window_start(now, rules.window_hours).to_pydatetime()
    sensors = sensor_health.health_alerts(health, start)
    return Board(threshold + sensors, health, sensor_health.coverage(health))


def hourly_metric(
    history: HistoryStore,
    config: CityConfig,
    metric: str,
    start: datetime,
    end: datetime,
    site_ids: set[str],
) -> pd.DataFrame:
    """Hourly means of ``metric`` at ``site_ids`` with ``start <= time < end``."""
    frame = baseline.read_history(history, config, [metric], start, end, hourly=True)
    return frame[frame["site_id"].isin(site_ids)]


def targets_and_co2(
    history: HistoryStore,
    config: CityConfig,
    visible_sources: set[str],
    site_ids: set[str],
    now: datetime,
) -> tuple[list[targets.TargetProgress], climate.Co2Estimate | None]:
    """KPI target progress and yesterday's road-traffic CO₂ estimate. Targets are
    city-wide figures of ``visible_sources``: a target over another source is left out;
    the CO₂ estimate counts the vehicles at ``site_ids``."""
    found = [
        t
        for t in targets.all_targets(config, history, now)
        if set(config.sources_for(METRICS[t.metric].domain)) <= visible_sources
    ]
    tz = config.city.timezone
    local = pd.Timestamp(now).tz_convert(tz).normalize()
    start = (local - pd.Timedelta(days=1)).tz_convert("UTC").to_pydatetime()
    frame = hourly_metric(history, config, "vehicle_flow", start, now, site_ids)
    days = climate.co2_per_day(frame, tz, climate.Co2Factors.from_config(config.twin))
    yesterday = (local - pd.Timedelta(days=1)).date()
    return found, next((d for d in days if d.day == yesterday), None)


def site_forecast(
    history: HistoryStore, config: CityConfig, site_id: str, now: datetime
) -> pd.DataFrame | None:
    """The next hours of one site (``cockpit.twin.forecast``), or None without history."""
    start, end = _forecast_span(config, now)
    frame = history.hourly([site_id], start, end)
    if frame.empty:
        return None
    return forecast_of(frame, config, now)


def forecast_metrics(domains: Sequence[str]) -> tuple[str, ...]:
    """The metrics of ``domains`` whose sites get a forecast: all but the 0/1 state of a
    single place (a parking bay's occupied or not), whose street around it is what the
    trend shows instead."""
    states = {
        k.metric
        for d in all_domains()
        for k in d.kpis
        if k.aggregation == "share" and not k.capacity_metric
    }
    wanted = set(domains)
    return tuple(
        m.name for d in all_domains() if d.name in wanted for m in d.metrics if m.name not in states
    )


def forecast_history(
    history: HistoryStore, config: CityConfig, latest: pd.DataFrame, now: datetime
) -> pd.DataFrame:
    """The hours a forecast at ``now`` reads of every site and metric of ``latest`` (a
    view's newest values) that gets one (``forecast_metrics``)."""
    start, end = _forecast_span(config, now)
    domains = {METRICS[m].domain for m in latest["metric"].unique() if m in METRICS}
    frames = []
    for metric in forecast_metrics(sorted(domains)):
        ids = sorted(latest.loc[latest["metric"] == metric, "site_id"].astype(str).unique())
        for i in range(0, len(ids), CHUNK):
            frames.append(history.hourly(ids[i : i + CHUNK], start, end, metric=metric))
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else empty_observations()


def forecast_of(frame: pd.DataFrame, config: CityConfig, now: datetime) -> pd.DataFrame:
    """``cockpit.twin.forecast.forecast`` of ``frame`` at ``now`` with the city's twin
    settings."""
    cfg = config.twin
    return forecast.forecast(
        frame,
        now,
        config.city.timezone,
        cfg.forecast_hours,
        cfg.baseline_weeks,
        cfg.min_weeks,
        cfg.forecast_decay,
        cfg.forecast_fit_days,
    )


def city_forecast(
    history: HistoryStore, config: CityConfig, latest: pd.DataFrame, now: datetime
) -> pd.DataFrame:
    """The next hours of every site and metric of ``latest`` (a view's newest values)
    that gets a forecast (``forecast_history``), from one model fitted on all of them:
    the city-wide deviation is one of its inputs, and it learns from every site's hours,
    as ``bench/forecast.py`` measures it. Sites without enough history have no rows."""
    frame = forecast_history(history, config, latest, now)
    # One core: the fit runs beside the requests of the same process, which keep the
    # other (and one core spends less CPU on it than all of them do).
    with threadpool_limits(limits=1):
        return forecast_of(frame, config, now)


def _forecast_span(config: CityConfig, now: datetime) -> tuple[datetime, datetime]:
    """The hours a forecast at ``now`` reads: the profile's weeks and the fit's days."""
    cfg = config.twin
    start = now - timedelta(weeks=cfg.baseline_weeks, days=cfg.forecast_fit_days + 2)
    return start, now + timedelta(minutes=1)


def free_bays(
    history: HistoryStore,
    config: CityConfig,
    sites: pd.DataFrame,
    lat: float,
    lon: float,
    radius_m: float,
    at: datetime,
    now: datetime,
) -> forecast.FreeBays | None:
    """Free places expected at ``at`` within ``radius_m`` of a point, from the parking
    history of ``sites`` (``cockpit.twin.forecast.free_bays_forecast``)."""
    cfg = config.twin
    parking = METRICS["bay_occupied"].domain
    ids = list(sites.loc[sites["domain"] == parking, "id"].astype(str))
    start = now - timedelta(weeks=cfg.baseline_weeks, days=1)
    frames = [
        history.hourly(ids[i : i + PARKING_CHUNK], start, now + timedelta(minutes=1))
        for i in range(0, len(ids), PARKING_CHUNK)
    ]
    frames = [f for f in frames if not f.empty]
    frame = pd.concat(frames, ignore_index=True) if frames else empty_observations()
    return forecast.free_bays_forecast(
        sites,
        frame,
        lat,
        lon,
        radius_m,
        at,
        now,
        config.city.timezone,
        cfg.baseline_weeks,
        cfg.min_weeks,
        cfg.forecast_decay,
    )
