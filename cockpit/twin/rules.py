"""Alert rules: a condition over one domain's sites and one metric, with a severity,
hysteresis and quiet hours; evaluated over the history like the built-in alerts, and
tested against last week ("would have fired N times").

A rule is a ``Rule``: an id and a ``RuleConfig`` (from ``[alerts.rules.<id>]`` in the city
config, or written on the ``/rules`` page and kept in the journal). Its condition is one
of: a value ``above`` or ``below`` a limit (optionally the running mean over
``mean_hours``), a value against its ``typical`` for the weekday and hour by a factor,
``no_data`` for a number of minutes, a car park ``full_for`` a number of minutes, or a
sensor-``health`` state. Each runs through the open/close state machine of
``cockpit.twin.alerts`` (``episodes``), so an alert of a rule has the same kind of stable
key as the built-in ones (``rule:site:opened``), and the built-in WHO/EU and sensor-health
alerts are rules of this kind too (``builtin_rules``).

Everything here is pure but ``read_observations``, ``evaluate_rules`` and ``backtest``,
which read the history store.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from itertools import pairwise
from typing import Final, Literal
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from cockpit.config import PHONE, AlertsConfig, CityConfig, RuleConfig
from cockpit.errors import WordedError
from cockpit.model import METRICS, empty_observations
from cockpit.storage import HistoryStore, Journal, StoredRule
from cockpit.twin import sensor_health
from cockpit.twin.alerts import (
    PARKING_FULL,
    WEEK,
    Alert,
    Episode,
    air_limits,
    alert_key,
    crowding_limits,
    episodes,
    rolling_mean,
    severity,
    window_start,
)

__all__ = [
    "BACKTEST_DAYS",
    "Backtest",
    "Rule",
    "RuleError",
    "all_rules",
    "backtest",
    "builtin_rules",
    "check_rule",
    "describe",
    "evaluate_rule",
    "evaluate_rules",
    "phone_rules",
    "quiet_until",
    "read_observations",
    "rule_alerts",
    "rule_severity",
    "save_rule",
    "selected_sites",
    "set_enabled",
]

log = logging.getLogger(__name__)

Origin = Literal["builtin", "config", "journal"]
# How far back a rule is tested: "would have fired N times last week".
BACKTEST_DAYS: Final = 7
# Site ids per history query (below SQLite's limit on bound parameters).
CHUNK: Final = 500


class RuleError(WordedError):
    """A rule that cannot be kept: what is wrong with it, for the person writing it."""


@dataclass(frozen=True)
class Rule:
    """One alert rule: its id (part of its alerts' keys), what it says, and where it is
    written (built in, the city config, or the journal)."""

    id: str
    spec: RuleConfig
    origin: Origin = "config"

    @property
    def enabled(self) -> bool:
        return self.spec.enabled


@dataclass(frozen=True)
class Backtest:
    """What a rule would have done over a past window: each alert it would have opened."""

    rule_id: str
    start: datetime
    end: datetime
    alerts: tuple[Alert, ...]

    @property
    def fired(self) -> int:
        """How many times the rule would have fired (alerts opened in the window)."""
        return len(self.alerts)

    @property
    def sites(self) -> int:
        return len({a.site_id for a in self.alerts})


def builtin_rules(config: AlertsConfig) -> list[Rule]:
    """The built-in rules as rules of the same kind as a city's own: one per pollutant
    of the configured air standard (``air.<metric>``, the running mean over the standard's
    averaging period above its limit) and one per sensor-health state
    (``sensor.<state>``), both graded ``auto`` (by how far past the limit); each heard
    on the phone view and by whom ``[alerts.routes]`` names."""
    specs: dict[str, dict[str, object]] = {
        f"air.{limit.metric}": {
            "name": f"{METRICS[limit.metric].label} above the limit",
            "domain": METRICS[limit.metric].domain,
            "metric": limit.metric,
            "when": "above",
            "limit": limit.limit,
            "mean_hours": limit.hours,
            "severity": "auto",
            "hysteresis": config.hysteresis,
            "close_after": config.close_after,
            "basis": limit.basis,
        }
        for limit in air_limits(config).values()
    }
    for state in ("stale", "silent", "flat", "impossible"):
        specs[f"sensor.{state}"] = {
            "name": f"Sensor {state}",
            "domain": "air",  # every domain: see ``selected_sites``
            "when": "health",
            "state": state,
            "severity": "low",
        }
    out = []
    for rule_id, spec in specs.items():
        route = config.routes.get(rule_id)
        if route is not None:
            spec |= {
                "notify": [PHONE, *route.notify],
                "escalate_minutes": route.escalate_minutes,
                "escalate_to": route.escalate_to,
                "quiet_hours": route.quiet_hours,
            }
        out.append(Rule(rule_id, RuleConfig.model_validate(spec), "builtin"))
    return out


def check_rule(rule_id: str, spec: RuleConfig, config: AlertsConfig) -> None:
    """Raises RuleError when ``rule_id`` is not a rule id (lower-case letters, digits,
    ``_ . -``) or taken by a built-in rule, or ``spec`` names a channel the config does
    not have."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]{0,62}", rule_id):
        raise RuleError("a rule id is lower-case letters, digits, '_', '.' or '-' (at most 63)")
    if rule_id.startswith(("air.", "sensor.")) or rule_id in ("parking", "crowding", "congestion"):
        raise RuleError("'{rule}' is the id of a built-in rule", rule=rule_id)
    for name in (*spec.notify, *spec.escalate_to):
        if name != "phone" and name not in config.channels:
            have = ", ".join(["phone", *config.channels])
            raise RuleError(
                "'{channel}' is no channel of this city (have: {have})", channel=name, have=have
            )


def selected_sites(rule: Rule, sites: pd.DataFrame) -> pd.DataFrame:
    """The sites ``rule`` watches: its domain's (every domain's for a built-in sensor
    rule), narrowed to its ``sites`` and ``districts`` when it names any."""
    if sites.empty:
        return sites
    spec = rule.spec
    if rule.origin == "builtin" and spec.when == "health":
        chosen = sites
    else:
        chosen = sites[sites["domain"].astype(str) == spec.domain]
    if spec.sites or spec.districts:
        keep = chosen["id"].astype(str).isin(spec.sites)
        if spec.districts and "district" in chosen.columns:
            keep |= chosen["district"].astype(str).isin(spec.districts)
        chosen = chosen[keep]
    return chosen


def rule_severity(rule: Rule, alert: Alert) -> str:
    """The severity of ``rule``'s ``alert``: the rule's own, or for ``auto`` graded by
    how far past its limit the alert is (``cockpit.twin.alerts.severity``)."""
    return severity(alert) if rule.spec.severity == "auto" else rule.spec.severity


def phone_rules(rules: Iterable[Rule]) -> list[Rule]:
    """The city's own enabled rules whose alerts the staff's phone view shows (the
    built-in ones are there already)."""
    return [r for r in rules if r.origin != "builtin" and r.enabled and PHONE in r.spec.notify]


# -- one site's values through the state machine -------------------------------------------


def _series(group: pd.DataFrame) -> pd.Series:
    index = pd.DatetimeIndex(pd.to_datetime(group["time"], utc=True))
    series = pd.Series(group["value"].to_numpy(dtype=float), index=index).sort_index()
    return series[~series.index.duplicated(keep="last")]


def _machine(
    series: pd.Series, limits: np.ndarray, spec: RuleConfig, below: bool = False
) -> list[Episode]:
    """``episodes`` of ``series`` against ``limits``; ``below`` mirrors values about the
    limit (``2·limit − value``), so a value at or under the limit opens and one above
    ``limit × (1 + hysteresis)`` closes; the episodes carry the true values back."""
    values = series.to_numpy(dtype=float)
    if not below:
        return episodes(series.index, values, limits, spec.hysteresis, spec.close_after)
    mirrored = 2 * limits - values
    found = episodes(series.index, mirrored, limits, spec.hysteresis, spec.close_after)
    return [replace(e, peak=2 * e.limit - e.peak, last=2 * e.limit - e.last) for e in found]


def _full_for(series: pd.Series, spec: RuleConfig) -> list[Episode]:
    """Episodes of a car park at or above its limit (default ``PARKING_FULL``) that
    lasted ``minutes``: each opens at its first reading that many minutes in."""
    limit = PARKING_FULL if spec.limit is None else spec.limit
    hold = pd.Timedelta(minutes=spec.minutes or 0)
    out: list[Episode] = []
    for e in _machine(series, np.full(len(series), limit), spec):
        inside = series[series.index >= e.opened + hold]
        if e.closed is not None:
            inside = inside[inside.index < e.closed]
        if inside.empty:
            continue
        out.append(replace(e, opened=inside.index[0]))
    return out


def _gaps(times: pd.DatetimeIndex, minutes: float, now: pd.Timestamp) -> list[Episode]:
    """Episodes of no data: each silence longer than ``minutes`` opens ``minutes`` after
    the last reading and closes at the next one (still open when none came by ``now``).
    Values are the silence's length in minutes."""
    hold = pd.Timedelta(minutes=minutes)
    out: list[Episode] = []
    stamps = list(times.sort_values().unique())
    for before, after in pairwise(stamps):
        if after - before > hold:
            length = (after - before).total_seconds() / 60
            out.append(Episode(before + hold, after, length, length, minutes))
    if stamps and now - stamps[-1] > hold:
        length = (now - stamps[-1]).total_seconds() / 60
        out.append(Episode(stamps[-1] + hold, None, length, length, minutes))
    return out


def evaluate_rule(
    rule: Rule,
    observations: pd.DataFrame,
    sites: pd.DataFrame,
    config: AlertsConfig,
    start: datetime,
    now: datetime,
) -> list[Alert]:
    """The alerts of ``rule`` over ``observations`` (which reach back far enough before
    ``start``: ``mean_hours``, or the typical's weeks) at ``sites`` from ``start`` to
    ``now``; a health rule judges the sites' health at ``now``. Open and closed alerts,
    in site order."""
    spec = rule.spec
    chosen = selected_sites(rule, sites)
    begin, moment = pd.Timestamp(start), pd.Timestamp(now)
    names = dict(zip(chosen["id"].astype(str), chosen["name"].astype(str), strict=True))
    if spec.when == "health":
        health = sensor_health.assess(chosen, observations, now, config)
        grade = "" if spec.severity == "auto" else spec.severity
        return [
            replace(a, rule=rule.id, key=alert_key(rule.id, a.site_id, a.opened), grade=grade)
            for a in sensor_health.health_alerts(health, start)
            if a.rule == f"sensor.{spec.state}"
        ]
    obs = observations
    if spec.metric:
        obs = obs[obs["metric"] == spec.metric]
    obs = obs[obs["site_id"].astype(str).isin(list(names))]
    groups = {str(s): g for s, g in obs.groupby("site_id", sort=True)}
    out: list[Alert] = []
    for site_id in sorted(names):
        group = groups.get(site_id)
        found: list[Episode]
        if spec.when == "no_data":
            times = (
                pd.DatetimeIndex(pd.to_datetime(group["time"], utc=True))
                if group is not None
                else pd.DatetimeIndex([], tz="UTC")
            )
            if times.empty:
                found = [Episode(begin, None, math.nan, math.nan, spec.minutes or 0)]
            else:
                found = [
                    e
                    for e in _gaps(times, spec.minutes or 0, moment)
                    if e.closed is None or e.closed > begin
                ]
                found = [replace(e, opened=max(e.opened, begin)) for e in found]
        elif group is None:
            continue
        else:
            series = _series(group)
            if spec.mean_hours > 1:
                series = rolling_mean(series, spec.mean_hours)
            recent = series[series.index >= begin]
            if recent.empty:
                continue
            if spec.when in ("above", "below"):
                limits = np.full(len(recent), float(spec.limit or 0))
                found = _machine(recent, limits, spec, below=spec.when == "below")
            elif spec.when == "typical":
                typical = crowding_limits(
                    series,
                    pd.DatetimeIndex(recent.index),
                    config,
                    factor=spec.factor,
                    minimum=spec.minimum,
                )
                found = _machine(recent, typical.to_numpy(), spec)
            else:  # full_for
                found = _full_for(recent, spec)
        out += _alerts(rule, site_id, names[site_id], found)
    return out


def _alerts(rule: Rule, site_id: str, name: str, found: Iterable[Episode]) -> list[Alert]:
    spec = rule.spec
    metric = METRICS.get(spec.metric)
    unit = "min" if spec.when == "no_data" else metric.unit if metric else ""
    return [
        Alert(
            key=alert_key(rule.id, site_id, e.opened),
            rule=rule.id,
            site_id=site_id,
            site_name=name,
            domain=spec.domain,
            metric=spec.metric,
            opened=pd.Timestamp(e.opened).to_pydatetime(),
            closed=None if e.closed is None else pd.Timestamp(e.closed).to_pydatetime(),
            value=float(e.last),
            limit=float(e.limit),
            unit=unit,
            basis=spec.basis or describe(spec),
            grade="" if spec.severity == "auto" else spec.severity,
        )
        for e in found
    ]


def describe(spec: RuleConfig, _: Callable[[str], str] = str) -> str:
    """What ``spec`` compares, in words (its alerts' basis when it does not say), in the
    language of ``_`` (English without one)."""
    label = _(METRICS[spec.metric].label) if spec.metric in METRICS else _("a reading")
    if spec.when in ("above", "below"):
        if spec.mean_hours > 1:
            template = (
                _("{hours}-hour mean of {metric} at or above {limit}")
                if spec.when == "above"
                else _("{hours}-hour mean of {metric} at or below {limit}")
            )
        else:
            template = (
                _("{metric} at or above {limit}")
                if spec.when == "above"
                else _("{metric} at or below {limit}")
            )
        return template.format(hours=spec.mean_hours, metric=label, limit=f"{spec.limit:g}")
    if spec.when == "typical":
        return _("{metric} at {factor} × its usual for the weekday and hour").format(
            metric=label, factor=f"{spec.factor:g}"
        )
    if spec.when == "no_data":
        return _("no reading for {minutes} minutes").format(minutes=f"{spec.minutes:g}")
    if spec.when == "full_for":
        return _("full for {minutes} minutes").format(minutes=f"{spec.minutes:g}")
    return _("sensor {state}").format(state=_(str(spec.state)))


# -- reading the history -----------------------------------------------------------------


def _lead(rule: Rule, config: AlertsConfig) -> pd.Timedelta:
    """How far before a window's start a rule needs readings."""
    spec = rule.spec
    if spec.when == "typical":
        return config.crowding_weeks * WEEK + pd.Timedelta(hours=spec.mean_hours)
    if spec.when == "health":
        return pd.Timedelta(hours=config.silent_hours)
    return pd.Timedelta(hours=spec.mean_hours)


def read_observations(
    rule: Rule,
    history: HistoryStore,
    sites: pd.DataFrame,
    config: AlertsConfig,
    start: datetime,
    end: datetime,
) -> pd.DataFrame:
    """The readings ``rule`` needs to be evaluated from ``start`` to ``end``: its metric
    (every metric, for no data and health) at the sites it watches, from its lead
    before ``start`` on (a health rule: the last ``silent_hours`` before ``end``)."""
    ids = [str(i) for i in selected_sites(rule, sites)["id"]] if not sites.empty else []
    if rule.spec.when == "health":  # health is of now: the last ``silent_hours`` only
        begin = (pd.Timestamp(end) - _lead(rule, config)).to_pydatetime()
    else:
        begin = (pd.Timestamp(start) - _lead(rule, config)).to_pydatetime()
    metric = rule.spec.metric or None
    frames = [
        history.window(ids[i : i + CHUNK], begin, end, metric=metric)
        for i in range(0, len(ids), CHUNK)
    ]
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else empty_observations()


def rule_alerts(
    rule: Rule,
    config: CityConfig,
    history: HistoryStore,
    sites: pd.DataFrame,
    start: datetime,
    now: datetime,
) -> list[Alert]:
    """``rule``'s alerts from ``start`` to ``now``, read from ``history``."""
    end = pd.Timestamp(now).to_pydatetime() + timedelta(seconds=1)
    obs = read_observations(rule, history, sites, config.alerts, start, end)
    return evaluate_rule(rule, obs, sites, config.alerts, start, now)


def evaluate_rules(
    rules: Iterable[Rule],
    config: CityConfig,
    history: HistoryStore,
    sites: pd.DataFrame,
    now: datetime,
) -> list[Alert]:
    """The alerts of the enabled ``rules`` over the alert window before ``now`` (as
    ``cockpit.twin.alerts.evaluate``), open ones first, newest first."""
    start = window_start(now, config.alerts.window_hours).to_pydatetime()
    out: list[Alert] = []
    for rule in rules:
        if rule.enabled:
            out += rule_alerts(rule, config, history, sites, start, now)
    return sorted(out, key=lambda a: (not a.active, -a.opened.timestamp(), a.key))


def backtest(
    rule: Rule,
    config: CityConfig,
    history: HistoryStore,
    sites: pd.DataFrame,
    now: datetime,
    days: int = BACKTEST_DAYS,
) -> Backtest:
    """What ``rule`` would have done over the ``days`` before ``now``, from the history:
    the alerts it would have opened then (one already open at the window's start counts
    as opened there). A health rule is judged at each reading's time only for no data;
    for its other states, at ``now``."""
    end = pd.Timestamp(now).to_pydatetime()
    start = end - timedelta(days=days)
    probe = rule
    if rule.spec.when == "health" and rule.spec.state in ("stale", "silent"):
        # Past staleness is silence longer than the limit: judged as no data.
        minutes = (
            config.alerts.silent_hours * 60
            if rule.spec.state == "silent"
            else config.alerts.stale_factor * sensor_health.DEFAULT_INTERVAL_S / 60
        )
        spec = rule.spec.model_copy(update={"when": "no_data", "minutes": minutes, "state": None})
        probe = Rule(rule.id, spec, rule.origin)
    found = rule_alerts(probe, config, history, sites, start, end)
    opened = tuple(a for a in found if start <= a.opened <= end)
    return Backtest(rule.id, start, end, opened)


# -- quiet hours ---------------------------------------------------------------------------


def _hhmm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def quiet_until(spec: RuleConfig, when: datetime, timezone: str) -> datetime | None:
    """When the quiet hours around ``when`` end (an aware datetime), or None when ``when``
    is not in ``spec``'s quiet hours (local time of ``timezone``). "22:00-07:00" spans
    midnight; a start equal to its end is never quiet."""
    if not spec.quiet_hours:
        return None
    first, last = (_hhmm(t) for t in spec.quiet_hours.split("-"))
    if first == last:
        return None
    local = when.astimezone(ZoneInfo(timezone))
    now = local.time().replace(second=0, microsecond=0)
    today = local.replace(hour=last.hour, minute=last.minute, second=0, microsecond=0)
    if first < last:
        return today if first <= now < last else None
    if now >= first:
        return today + timedelta(days=1)
    if now < last:
        return today
    return None


# -- the city's rule book: built in, in the config, written in the browser ------------------


def all_rules(config: CityConfig, journal: Journal) -> list[Rule]:
    """Every rule of the city: the built-in ones, the config's, and those written on the
    ``/rules`` page, which replace a config rule of the same id (that is how a config
    rule is disabled in the browser). A stored rule the config no longer accepts (a
    channel removed) is left out, and logged."""
    out = {r.id: r for r in builtin_rules(config.alerts)}
    for rule_id, spec in config.alerts.rules.items():
        out[rule_id] = Rule(rule_id, spec, "config")
    for stored in journal.rules():
        try:
            spec = RuleConfig.model_validate_json(stored.spec)
            check_rule(stored.id, spec, config.alerts)
        except ValueError as exc:
            log.warning("stored alert rule %s is left out: %s", stored.id, exc)
            continue
        out[stored.id] = Rule(stored.id, spec, "journal")
    return list(out.values())


def save_rule(
    journal: Journal,
    config: CityConfig,
    rule_id: str,
    spec: RuleConfig,
    user: str,
    address: str = "",
    now: datetime | None = None,
) -> None:
    """Keep ``spec`` as the rule ``rule_id`` in the journal, and audit who changed it
    (``rule saved``, with the rule as JSON). Raises RuleError for a rule ``check_rule``
    refuses."""
    check_rule(rule_id, spec, config.alerts)
    when = now or datetime.now(UTC)
    text = spec.model_dump_json()
    journal.put_rule(StoredRule(rule_id, text, when, user))
    journal.audit(user, "rule saved", f"{rule_id} {text}", address, when)


def set_enabled(
    journal: Journal,
    config: CityConfig,
    rule_id: str,
    enabled: bool,
    user: str,
    address: str = "",
    now: datetime | None = None,
) -> Rule:
    """Enable or disable the city's rule ``rule_id`` (a config rule gets a stored copy),
    audited as ``rule enabled`` / ``rule disabled``. Returns the rule as it is now.
    Raises RuleError for no such rule, or a built-in one (always on)."""
    rules = {r.id: r for r in all_rules(config, journal)}
    rule = rules.get(rule_id)
    if rule is None:
        raise RuleError("no rule '{rule}'", rule=rule_id)
    if rule.origin == "builtin":
        raise RuleError("'{rule}' is a built-in rule and always on", rule=rule_id)
    spec = rule.spec.model_copy(update={"enabled": enabled})
    when = now or datetime.now(UTC)
    journal.put_rule(StoredRule(rule_id, spec.model_dump_json(), when, user))
    journal.audit(user, "rule enabled" if enabled else "rule disabled", rule_id, address, when)
    return Rule(rule_id, spec, "journal")
