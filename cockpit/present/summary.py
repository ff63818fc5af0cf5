"""The city now in a few plain sentences, in the viewer's language.

``city_summary`` turns the KPIs, their comparison with a typical hour, today's anomalies,
target progress and the CO₂ estimate into short sentences ("Footfall is 18% below a
typical Tuesday 10:00."). Messages are English in the code and translated in the
``summary`` catalogue (``cockpit/present/locales/<lang>/LC_MESSAGES/summary.po``); numbers,
percentages, weekdays and times are formatted for the language with Babel. Site names come
from the platforms and stay as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import pandas as pd
from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.numbers import format_percent

from cockpit.domains import kpi_names, kpi_spec
from cockpit.model import METRICS
from cockpit.present.i18n import format_number, translator
from cockpit.twin.attention import AttentionItem
from cockpit.twin.baseline import Anomaly, KpiComparison
from cockpit.twin.climate import Co2Estimate
from cockpit.twin.kpi import Kpi
from cockpit.twin.targets import TargetProgress

__all__ = ["attention_sentence", "city_summary", "summary_languages", "target_verdict"]

# Words that come from the KPIs and metrics, marked here so the catalogue has them.
_WORDS = (
    "Footfall",
    "Traffic flow",
    "Parking occupancy",
    "Air quality",
    "good",
    "fair",
    "moderate",
    "poor",
    "very poor",
    "extremely poor",
    *(m.label for m in METRICS.values()),
)


def summary_languages() -> list[str]:
    """The languages a summary can be given in (those with any catalogue, and English)."""
    from cockpit.present.i18n import available_languages

    return available_languages()


def _locale(language: str) -> Locale:
    if not isinstance(language, str):  # a crafted request: English
        return Locale.parse("en")
    try:
        return Locale.parse(language)
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def _percent(fraction: float, language: str) -> str:
    """A share in the language's way ("18%", "18 %")."""
    return format_percent(abs(fraction), locale=_locale(language))


def _comparison(c: KpiComparison, language: str, timezone: str, _: Callable[[str], str]) -> str:
    hour = pd.Timestamp(c.at).tz_convert(timezone).floor("h")
    weekday = format_datetime(hour, "EEEE", tzinfo=hour.tzinfo, locale=_locale(language))
    time = format_datetime(hour, "HH:mm", tzinfo=hour.tzinfo, locale=_locale(language))
    label = _(c.label)
    if c.direction == "as usual":
        return _("{label} is about as usual for a {weekday} at {time}.").format(
            label=label, weekday=weekday, time=time
        )
    message = (
        _("{label} is {percent} below a typical {weekday} at {time}.")
        if c.direction == "below"
        else _("{label} is {percent} above a typical {weekday} at {time}.")
    )
    return message.format(
        label=label, percent=_percent(c.change, language), weekday=weekday, time=time
    )


def _kpi(k: Kpi, language: str, _: Callable[[str], str]) -> str | None:
    if k.value is None:
        return None
    method = kpi_spec(k.key).method if k.key in kpi_names() else ""
    if method == "air_quality":
        return _("Air quality is {band}.").format(band=_(k.level_label))
    if method == "parking_occupancy":
        return _("{share} of parking places are occupied.").format(
            share=_percent(k.value / 100, language)
        )
    return None


def _anomalies(
    found: Sequence[Anomaly], language: str, _: Callable[[str], str], named: int = 3
) -> list[str]:
    if not found:
        return [_("Nothing unusual today.")]
    if len(found) == 1:
        out = [_("One place is unusual today.")]
    else:
        out = [
            _("{count} places are unusual today.").format(count=format_number(len(found), language))
        ]
    for item in found[:named]:
        metric = METRICS.get(item.metric)
        label = _(metric.label) if metric else item.metric
        decimals = metric.decimals if metric else 0
        message = (
            _("{site}: {metric} {value}, far above the usual {typical}.")
            if item.direction == "above"
            else _("{site}: {metric} {value}, far below the usual {typical}.")
        )
        out.append(
            message.format(
                site=item.name,
                metric=label,
                value=format_number(item.value, language, decimals),
                typical=format_number(item.typical, language, decimals),
            )
        )
    return out


def attention_sentence(item: AttentionItem, language: str, timezone: str) -> str:
    """One sentence for a place that needs attention: the place, what was counted, when,
    and its size against usual ("Swanston St: 2,400 persons/h pedestrians at 14:00, 60 %
    above the usual 1,500.")."""
    _ = translator(language, "summary")
    metric = METRICS.get(item.metric)
    label = _(metric.label) if metric else item.metric
    unit = metric.unit if metric else ""
    decimals = metric.decimals if metric else 0
    moment = pd.Timestamp(item.time).tz_convert(timezone)
    message = (
        _("{site}: {metric} {value} {unit} at {time}, {percent} above the usual {typical}.")
        if item.direction == "above"
        else _("{site}: {metric} {value} {unit} at {time}, {percent} below the usual {typical}.")
    )
    if item.change >= 2:  # "23 times the usual" reads better than "2,210 % above"
        message = _("{site}: {metric} {value} {unit} at {time}, {times} times the usual {typical}.")
    return message.format(
        times=format_number(item.change + 1, language),
        site=item.name,
        metric=label,
        value=format_number(item.value, language, decimals),
        unit=_(unit),
        time=format_datetime(moment, "HH:mm", tzinfo=moment.tzinfo, locale=_locale(language)),
        percent=_percent(item.change, language),
        typical=format_number(item.typical, language, decimals),
    )


def _target(t: TargetProgress, language: str, _: Callable[[str], str]) -> str | None:
    if t.current is None:
        return None
    decimals = METRICS[t.metric].decimals if t.metric in METRICS else 1
    # "On track" beside a value still above a "below" target read as a contradiction: the
    # words say first whether the target is met, then how the way to it goes.
    message = {
        "met": _("{label}: target met, now {value} {unit}."),
        "on track": _("{label}: not met yet, now {value} {unit}; ahead of the path to {by}."),
        "off track": _("{label}: not met, now {value} {unit}; behind the path to {by}."),
    }[t.status]
    return message.format(
        label=_(t.label),
        value=format_number(t.current, language, decimals),
        unit=_(t.unit),
        by=t.by,
    )


def target_verdict(t: TargetProgress, _: Callable[[str], str]) -> str:
    """A target's status in words that agree with its figure: met, or not met and how
    the way to it goes ("not met yet · ahead of the path to 2030")."""
    if t.status == "met":
        return _("target met")
    if t.status == "on track":
        return _("not met yet · ahead of the path to {by}").format(by=t.by)
    if t.status == "off track":
        return _("not met · behind the path to {by}").format(by=t.by)
    return _("no data")


def _co2(e: Co2Estimate, language: str, _: Callable[[str], str]) -> str:
    day = format_date(e.day, "long", locale=_locale(language))
    return _("Road traffic emitted an estimated {tonnes} t of CO₂ on {day}.").format(
        tonnes=format_number(e.tonnes, language, 1), day=day
    )


def city_summary(
    kpis: Sequence[Kpi],
    comparisons: Sequence[KpiComparison],
    anomalies: Sequence[Anomaly],
    now: datetime,
    timezone: str,
    language: str,
    targets: Sequence[TargetProgress] = (),
    co2: Co2Estimate | None = None,
    named: int = 3,
) -> list[str]:
    """Sentences describing the city at ``now`` in ``language``: the time, each KPI
    against its typical hour (or its level where there is no comparison), today's
    anomalies (how many, and the ``named`` strongest; a screen that lists them as
    "needs attention" names none here), target progress and the CO₂ estimate."""
    _ = translator(language, "summary")
    moment = pd.Timestamp(now).tz_convert(timezone)
    when = format_datetime(moment, "EEEE HH:mm", tzinfo=moment.tzinfo, locale=_locale(language))
    out = [_("The city at {when}.").format(when=when)]
    compared = {c.key for c in comparisons}
    out += [_comparison(c, language, timezone, _) for c in comparisons]
    for k in kpis:
        if k.key not in compared and (line := _kpi(k, language, _)):
            out.append(line)
    out += _anomalies(anomalies, language, _, named)
    out += [line for t in targets if (line := _target(t, language, _))]
    if co2 is not None:
        out.append(_co2(co2, language, _))
    return out
