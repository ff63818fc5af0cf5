"""The mayor's daily brief: what one page (or two) says about a day of the city, in the
reader's language, built from the same facade answers the cockpit shows.

The brief of a day stands at ``[brief] as_of`` on the city's wall clock (07:00): the
places that need attention and each KPI against its typical hour and its target are
those of that moment; "yesterday" is the calendar day before (notable changes against a
usual day, alerts raised and resolved); decisions of the last two weeks come with their
before and after; a map of the sites by state and a sparkline per KPI are drawn from the
same data; every source is credited with its publisher, licence and origin.

``build_brief`` only reads (``City``, ``Journal``); ``cockpit.present.brief_render``
turns a ``Brief`` into HTML and PDF.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import pandas as pd
from babel.dates import format_date, format_datetime
from babel.numbers import format_percent

from cockpit.city import City
from cockpit.domains import kpi_names, kpi_spec
from cockpit.errors import CockpitError
from cockpit.model import METRICS
from cockpit.present.demo import credit_text
from cockpit.present.i18n import Gettext, format_number, locale_of, translator
from cockpit.present.kpi_words import figure_words, kpi_in
from cockpit.present.summary import attention_sentence, target_verdict
from cockpit.present.today import history_start, today_against_usual
from cockpit.storage import Journal
from cockpit.twin.alerts import Alert, severity

__all__ = [
    "DOMAIN",
    "Brief",
    "BriefAlert",
    "BriefDecision",
    "BriefKpi",
    "BriefSite",
    "DayOutsideHistory",
    "brief_days",
    "brief_moment",
    "build_brief",
    "parse_day",
]

# The message catalogue of the brief's own words (``locales/<lang>/LC_MESSAGES/brief.po``).
DOMAIN: Final = "brief"
# Decisions taken this many days before the brief's moment are listed with their effects.
DECISION_DAYS: Final = 14
DECISION_ITEMS: Final = 3


class DayOutsideHistory(CockpitError):
    """A brief was asked for a day the history does not hold (or not a day at all)."""

    def __init__(self, day: str, first: date, last: date) -> None:
        self.day, self.first, self.last = day, first, last
        super().__init__(
            f"no brief for {day!r}: the history holds {first.isoformat()} to {last.isoformat()}"
        )


@dataclass(frozen=True)
class BriefKpi:
    """One KPI of the brief: the cockpit's card in the reader's words, against typical and
    target, with its city-wide figure hour by hour (``spark``) from yesterday's start."""

    key: str
    title: str
    value: float | None
    figure: str
    level: str
    level_label: str
    detail: str
    typical: str
    target: str
    spark: tuple[float | None, ...]


@dataclass(frozen=True)
class BriefAlert:
    """An alert raised or resolved yesterday, as one line."""

    key: str
    severity: str
    line: str


@dataclass(frozen=True)
class BriefDecision:
    """A decision of the log with each of its KPIs before and after, in words."""

    what: str
    place: str
    when: str
    effects: tuple[str, ...]


@dataclass(frozen=True)
class BriefSite:
    """A site on the brief's map: where, and its state's level (ok, warn, alert …)."""

    lon: float
    lat: float
    level: str


@dataclass(frozen=True)
class Brief:
    """Everything the brief of ``day`` says, worded in ``language``."""

    city: str
    day: date
    language: str
    moment: datetime
    title: str
    as_of: str
    attention: tuple[str, ...]
    kpis: tuple[BriefKpi, ...]
    events: tuple[str, ...]
    raised: tuple[BriefAlert, ...]
    resolved: tuple[BriefAlert, ...]
    decisions: tuple[BriefDecision, ...]
    sites: tuple[BriefSite, ...]
    bbox: tuple[float, float, float, float]
    sources: tuple[str, ...]
    generated: str


def brief_days(city: City, now: datetime) -> tuple[date, date]:
    """The first and last day a brief can be made for at ``now``: the days the history
    keeps (``storage.history_days``), up to today on the city's calendar."""
    today = pd.Timestamp(now).tz_convert(city.config.city.timezone).date()
    return today - timedelta(days=city.config.storage.history_days - 1), today


def parse_day(text: str, city: City, now: datetime) -> date:
    """``text`` ("2026-11-12") as a day the history holds. Raises DayOutsideHistory for
    anything else."""
    first, last = brief_days(city, now)
    try:
        day = date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        day = None
    if day is None or not first <= day <= last:
        raise DayOutsideHistory(text[:20], first, last)
    return day


def brief_moment(city: City, day: date, now: datetime) -> datetime:
    """The moment the brief of ``day`` stands at: ``day`` at ``[brief] as_of`` on the
    city's clock, or ``now`` when that is still to come."""
    hour, minute = (int(p) for p in city.config.brief.as_of.split(":"))
    zone = ZoneInfo(city.config.city.timezone)
    moment = datetime.combine(day, time(hour, minute), zone)
    return min(moment, now)


def _local_midnight(day: date, timezone: str) -> datetime:
    return datetime.combine(day, time(0), ZoneInfo(timezone))


def build_brief(
    city: City, journal: Journal, day: date, role: str, language: str, now: datetime
) -> Brief:
    """The brief of ``day`` for ``role`` in ``language`` (``now``: the clock, which a
    day still to come would exceed). Raises DayOutsideHistory for a day the history does
    not hold."""
    first, last = brief_days(city, now)
    if not first <= day <= last:
        raise DayOutsideHistory(day.isoformat(), first, last)
    cfg = city.config
    tz = cfg.city.timezone
    _ = translator(language, DOMAIN)
    moment = brief_moment(city, day, now)
    yesterday = _local_midnight(day - timedelta(days=1), tz)
    today = _local_midnight(day, tz)
    view = city.view_at(role, moment)
    local_moment = pd.Timestamp(moment).tz_convert(tz)
    items = cfg.brief.items
    locale = locale_of(language)

    attention = tuple(
        attention_sentence(a, language, tz) for a in city.needs_attention(role, moment, items)
    )
    kpis = _kpis(city, view.kpis, role, moment, yesterday, language, _)
    alerts = city.alerts_at(role, moment)
    raised = [a for a in alerts if yesterday <= a.opened < today]
    resolved = [a for a in alerts if a.closed is not None and yesterday <= a.closed < today]
    places = view.sites[["id", "lon", "lat"]]
    found = [
        BriefSite(float(lon), float(lat), str(level))
        for frame in view.layers.values()
        for lon, lat, level in frame.merge(places, left_on="site_id", right_on="id")[
            ["lon", "lat", "level"]
        ].itertuples(index=False)
    ]
    bbox = cfg.city.bbox
    credits = [credit_text(info, language) for info in view.sources.values()]
    if cfg.map.basemap_attribution:
        credits.append(f"{_('Map')}: {cfg.map.basemap_attribution}")
    return Brief(
        city=cfg.city.name,
        day=day,
        language=language,
        moment=moment,
        title=_("Daily brief for {day}").format(day=format_date(day, "long", locale=locale)),
        as_of=_("{city} as of {when}").format(
            city=cfg.city.name,
            when=format_date(local_moment, "full", locale=locale)
            + format_datetime(local_moment, ", HH:mm", tzinfo=local_moment.tzinfo, locale=locale),
        ),
        attention=attention,
        kpis=kpis,
        events=tuple(
            _events(city, role, yesterday, language, _) + _co2(city, role, moment, language, _)
        ),
        raised=tuple(_alert(a, language, tz, _) for a in _worst(raised)[:items]),
        resolved=tuple(_alert(a, language, tz, _) for a in _worst(resolved)[:items]),
        decisions=tuple(_decisions(city, journal, role, moment, language, _)),
        sites=tuple(found),
        bbox=bbox,
        sources=tuple(credits),
        generated=format_datetime(now, "d MMM y HH:mm zzz", tzinfo=ZoneInfo(tz), locale=locale),
    )


def _hourly_city(city: City, role: str, key: str, start: datetime, end: datetime) -> pd.Series:
    """A KPI's city-wide figure per hour between ``start`` and ``end``: the sum of its
    sites for a summed KPI, else their mean (in % for a share of 0/1 places)."""
    spec = kpi_spec(key)
    if spec.metric not in METRICS:
        return pd.Series(dtype=float)
    frame = city.hourly_metric(role, spec.metric, start, end)
    if frame.empty:
        return pd.Series(dtype=float)
    grouped = frame.groupby("time")["value"]
    series = grouped.sum() if spec.aggregation == "sum" else grouped.mean()
    if spec.aggregation == "share" and not spec.capacity_metric and series.max() <= 1:
        series = series * 100
    return series.sort_index()


def _spark(city: City, role: str, key: str, start: datetime, end: datetime) -> tuple:
    series = _hourly_city(city, role, key, start, end)
    first = pd.Timestamp(start).tz_convert("UTC")
    hours = pd.date_range(first, pd.Timestamp(end).tz_convert("UTC"), freq="h", inclusive="left")
    if series.empty:
        return ()
    series.index = pd.to_datetime(series.index, utc=True)
    full = series.reindex(hours)
    return tuple(None if pd.isna(v) else float(v) for v in full)


def _kpis(
    city: City,
    kpis: list,
    role: str,
    moment: datetime,
    since: datetime,
    language: str,
    _: Gettext,
) -> tuple[BriefKpi, ...]:
    tz = city.config.city.timezone
    twin = city.twin_at(moment, role)
    found, _co2 = city.targets_and_co2(role, moment)
    targets = {t.key: t for t in found}
    out = []
    for item in kpis:
        if item.key not in kpi_names():
            continue
        worded = kpi_in(item, language, tz)
        typical = ""
        comparison = twin.comparisons.get(item.key)
        if comparison is not None:
            decimals = METRICS[kpi_spec(item.key).metric].decimals
            typical = _("typical {typical}, {change} ({direction})").format(
                typical=format_number(comparison.typical, language, decimals),
                change=_signed(comparison.change, language),
                direction=_(comparison.direction),
            )
        target = ""
        progress = targets.get(item.key)
        if progress is not None:
            decimals = METRICS[progress.metric].decimals if progress.metric in METRICS else 1
            sign = "≤" if progress.direction == "below" else "≥"
            target = _("target {sign} {value} {unit} by {by}: {verdict}").format(
                sign=sign,
                value=format_number(progress.target, language, decimals),
                unit=_(progress.unit),
                by=progress.by,
                verdict=target_verdict(progress, _),
            )
        out.append(
            BriefKpi(
                key=item.key,
                title=worded.title,
                value=item.value,
                figure=f"{worded.display} {figure_words(worded)}".strip(),
                level=item.level,
                level_label=worded.level_label,
                detail=worded.detail,
                typical=typical,
                target=target,
                spark=_spark(city, role, item.key, since, moment),
            )
        )
    return tuple(out)


def _events(city: City, role: str, yesterday: datetime, language: str, _: Gettext) -> list[str]:
    """Yesterday against a usual day of the same weekday, per KPI that adds up or
    averages over hours, with its busiest hour."""
    cfg = city.config
    tz = cfg.city.timezone
    weeks = cfg.twin.baseline_weeks
    end = yesterday + timedelta(days=1) - timedelta(seconds=1)
    weekday = format_date(yesterday, "EEEE", locale=locale_of(language))
    out = []
    visible = {k.key for k in city.view(role).kpis}
    for key in kpi_names():
        spec = kpi_spec(key)
        if key not in visible or spec.aggregation == "max" or spec.metric not in METRICS:
            continue
        frame = city.hourly_metric(role, spec.metric, history_start(end, tz, weeks), end)
        aggregation = "sum" if spec.aggregation == "sum" else "mean"
        curve = today_against_usual(frame, end, tz, weeks, aggregation)
        if curve is None or curve.change is None:
            continue
        values = [(h, v) for h, v in enumerate(curve.today) if v is not None]
        peak_hour, peak = max(values, key=lambda hv: hv[1])
        scale = 100 if spec.aggregation == "share" and peak <= 1 else 1
        unit = spec.figure_label or spec.unit
        change = curve.change
        words = (
            _("as usual")
            if abs(change) < 0.05
            else _("{percent} above usual").format(percent=_signed(change, language, False))
            if change > 0
            else _("{percent} below usual").format(percent=_signed(change, language, False))
        )
        out.append(
            _(
                "{title} yesterday: {words} for a {weekday}; highest at {hour}:00 ({value} {unit})."
            ).format(
                title=_(spec.title),
                words=words,
                weekday=weekday,
                hour=f"{peak_hour:02d}",
                value=format_number(peak * scale, language, spec.decimals),
                unit=_(unit),
            )
        )
    return out


def _signed(fraction: float, language: str, sign: bool = True) -> str:
    """A change as the language writes a percentage ("+12%", "+12 %"; unsigned: "12%")."""
    text = format_percent(abs(fraction), locale=locale_of(language))
    if not sign or round(fraction * 100) == 0:
        return text
    return ("+" if fraction > 0 else "−") + text


def _co2(city: City, role: str, moment: datetime, language: str, _: Gettext) -> list[str]:
    """Yesterday's road-traffic CO₂ estimate (``City.targets_and_co2``), when there is one."""
    _targets, estimate = city.targets_and_co2(role, moment)
    if estimate is None:
        return []
    tonnes = format_number(estimate.tonnes, language, 1)
    line = _("Road traffic emitted an estimated {tonnes} t of CO₂ yesterday (an estimate).")
    return [line.format(tonnes=tonnes)]


def _worst(alerts: list[Alert]) -> list[Alert]:
    order = ("critical", "high", "moderate", "low")
    return sorted(alerts, key=lambda a: (order.index(severity(a)), a.opened, a.key))


def _alert(alert: Alert, language: str, timezone: str, _: Gettext) -> BriefAlert:
    locale = locale_of(language)
    zone = ZoneInfo(timezone)
    opened = format_datetime(alert.opened, "HH:mm", tzinfo=zone, locale=locale)
    closed = (
        format_datetime(alert.closed, "HH:mm", tzinfo=zone, locale=locale)
        if alert.closed is not None
        else _("still open")
    )
    metric = METRICS.get(alert.metric)
    label = _(metric.label) if metric else alert.metric
    decimals = metric.decimals if metric else 1
    value = "" if alert.value != alert.value else format_number(alert.value, language, decimals)
    limit = "" if alert.limit != alert.limit else format_number(alert.limit, language, decimals)
    line = _("{site}: {metric} {value} {unit} (limit {limit}), {opened}–{closed}").format(
        site=alert.site_name,
        metric=label,
        value=value,
        unit=_(alert.unit),
        limit=limit,
        opened=opened,
        closed=closed,
    )
    return BriefAlert(alert.key, severity(alert), line)


def _decisions(
    city: City, journal: Journal, role: str, moment: datetime, language: str, _: Gettext
) -> list[BriefDecision]:
    since = moment - timedelta(days=DECISION_DAYS)
    tz = city.config.city.timezone
    locale = locale_of(language)
    chosen = sorted(
        (d for d in journal.decisions() if since <= d.effective <= moment),
        key=lambda d: d.effective,
        reverse=True,
    )[:DECISION_ITEMS]
    out = []
    for decision in chosen:
        effects = []
        for key, effect in city.decision_effects(role, decision, until=moment):
            title = _(kpi_spec(key).title) if key in kpi_names() else key
            if effect.before_vs_usual is None or effect.after_vs_usual is None:
                effects.append(_("{kpi}: not enough data yet").format(kpi=title))
                continue
            effects.append(
                _("{kpi}: {before} against usual before, {after} after").format(
                    kpi=title,
                    before=_signed(effect.before_vs_usual, language),
                    after=_signed(effect.after_vs_usual, language),
                )
            )
        out.append(
            BriefDecision(
                decision.what,
                decision.place,
                format_datetime(
                    decision.effective,
                    "d MMM HH:mm",
                    tzinfo=ZoneInfo(tz),
                    locale=locale,
                ),
                tuple(effects),
            )
        )
    return out
