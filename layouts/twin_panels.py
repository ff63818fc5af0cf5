"""The digital twin in the cockpit: what is typical, what is unusual, what comes next.

``twin_at`` computes, for a view of the city (live or replayed), each site's value against
its typical value for that weekday and hour, the KPIs against theirs, and today's
anomalies (``cockpit.baseline``). It reads only the hours it needs from the history's
hourly rollups (the same hours of the previous weeks), and keeps the result per role
and hour. The panel functions turn the results into text-only Dash components
in the viewer's language.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from dash import html

from cockpit import baseline
from cockpit.city import City, CityView
from cockpit.i18n import format_number, format_time
from cockpit.model import METRICS, empty_observations

__all__ = [
    "KPI_METRICS",
    "TWIN_METRICS",
    "Twin",
    "anomalies_panel",
    "comparison_words",
    "slot_history",
    "twin_at",
    "typical_of_sites",
    "with_baselines",
]

Gettext = Callable[[str], str]

# The metrics whose sites get a baseline (parking bays change too rarely to have one).
TWIN_METRICS = ("vehicle_flow", "pedestrians", "pm25", "pm10", "no2", "o3")
# KPI key -> (metric, how the sites add up). Footfall compares itself (cockpit.kpi).
KPI_METRICS: dict[str, tuple[str, str]] = {
    "traffic": ("vehicle_flow", "sum"),
    "air": ("pm10", "mean"),
}
# baseline state -> the map's word for it (also the marker's CSS class, cc-<word>)
TYPICAL_CLASS = {"well below": "below", "typical": "typical", "well above": "above"}


@dataclass
class Twin:
    """Baselines and anomalies for one role at one moment."""

    at: datetime
    baselines: pd.DataFrame
    anomalies: list[baseline.Anomaly]
    states: pd.DataFrame  # baseline.site_states of the view's latest values
    comparisons: dict[str, baseline.KpiComparison]


def slot_history(
    city: City, sites: pd.DataFrame, at: datetime, weeks: int, metrics: tuple[str, ...]
) -> pd.DataFrame:
    """Hourly means of ``metrics`` from the city's midnight to the hour of ``at``, today
    and on the same weekday of the previous ``weeks`` weeks: all that today's baselines
    and anomalies need, without reading the weeks in between. Reads each site's rollups
    by key, for the sites of ``sites`` whose domain has the metric."""
    tz = city.config.city.timezone
    local = pd.Timestamp(at).tz_convert(tz)
    midnight = local.normalize().tz_convert("UTC").to_pydatetime()
    end = pd.Timestamp(at).floor("h").to_pydatetime() + timedelta(hours=1)
    frames = []
    for metric in metrics:
        ids = list(sites.loc[sites["domain"] == METRICS[metric].domain, "id"].astype(str))
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            for k in range(weeks + 1):
                shift = timedelta(weeks=k)
                frames.append(
                    city.history.hourly(chunk, midnight - shift, end - shift, metric=metric)
                )
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else empty_observations()


_cache: dict[tuple[int, str, int], tuple[pd.DataFrame, list[baseline.Anomaly]]] = {}
_lock = threading.Lock()


def twin_at(city: City, view: CityView, moment: datetime | None = None) -> Twin:
    """The twin for ``view`` (live, or replayed at ``moment``)."""
    cfg = city.config.twin
    tz = city.config.city.timezone
    at = moment or city.clock()
    hour = pd.Timestamp(at).floor("h")
    key = (id(city), view.role, int(hour.timestamp()))
    with _lock:
        found = _cache.get(key)
    if found is None:
        frame = slot_history(city, view.sites, at, cfg.baseline_weeks, TWIN_METRICS)
        base = baseline.baselines(frame, hour, tz, cfg.baseline_weeks, cfg.min_weeks)
        anomalies = baseline.todays_anomalies(
            frame, view.sites, at, tz, cfg.anomaly_z, cfg.baseline_weeks, cfg.min_weeks
        )
        found = (base, anomalies)
        with _lock:
            if len(_cache) > 32:
                _cache.pop(next(iter(_cache)))
            _cache[key] = found
    base, anomalies = found
    states = baseline.site_states(view.latest, base, cfg.band_z, cfg.anomaly_z)
    comparisons = {}
    for key_, (metric, how) in KPI_METRICS.items():
        label = METRICS[metric].label
        found_cmp = baseline.compare_kpi(key_, label, metric, view.latest, base, tz, how)  # type: ignore[arg-type]
        if found_cmp is not None:
            comparisons[key_] = found_cmp
    return Twin(at, base, anomalies, states, comparisons)


def typical_of_sites(twin: Twin) -> dict[str, str]:
    """Each site's marker word against typical: below, typical or above (its strongest
    metric decides); sites without a baseline are left out."""
    known = twin.states[twin.states["state"] != "unknown"]
    if known.empty:
        return {}
    strongest = known.assign(s=known["z"].abs()).sort_values("s").groupby("site_id").tail(1)
    return {
        str(r.site_id): TYPICAL_CLASS.get(str(r.state), "unknown")
        for r in strongest.itertuples(index=False)
    }


def with_baselines(layers: dict[str, dict[str, Any]], typical: dict[str, str]) -> None:
    """Add each marker's word against typical (``typical``) to its GeoJSON properties."""
    for collection in layers.values():
        for feature in collection.get("features", []):
            props = feature["properties"]
            props["typical"] = typical.get(str(props["id"]), "unknown")


def _slot(at: datetime, language: str, timezone: str) -> str:
    return format_time(at, language, timezone, "EEEE HH:00")


def comparison_words(item: baseline.KpiComparison, language: str, timezone: str, _: Gettext) -> str:
    """ "Vehicle flow 18% below a typical Tuesday 10:00", in the viewer's language."""
    slot = _slot(item.at, language, timezone)
    if item.direction == "as usual":
        return _("{label} about as usual for a {slot}").format(label=_(item.label), slot=slot)
    pct = format_number(abs(item.change) * 100, language)
    text = (
        _("{label} {pct}% above a typical {slot}")
        if item.direction == "above"
        else _("{label} {pct}% below a typical {slot}")
    )
    return text.format(label=_(item.label), pct=pct, slot=slot)


def comparison_line(
    item: baseline.KpiComparison, language: str, timezone: str, _: Gettext
) -> html.Div:
    """The KPI card's line against its baseline: numbers and words."""
    m = METRICS[KPI_METRICS[item.key][0]]
    typical = format_number(item.typical, language, m.decimals)
    return html.Div(
        [
            html.Span(
                "▼" if item.direction == "below" else "▲" if item.direction == "above" else "●",
                className=f"cc-vs cc-vs-{item.direction.replace(' ', '-')}",
                **{"aria-hidden": "true"},
            ),
            html.Span(comparison_words(item, language, timezone, _)),
            html.Span(
                _(" (typical {typical} {unit})").format(typical=typical, unit=m.unit),
                className="cc-typical-figure",
            ),
        ],
        className="cc-kpi-baseline",
    )


def add_to_cards(cards: list[Any], extras: dict[str, list[Any]]) -> list[Any]:
    """Insert ``extras`` (KPI key -> components) into the KPI cards, after the detail."""
    for card in cards:
        key = str(getattr(card, "id", "")).removeprefix("kpi-")
        more = extras.get(key)
        if more:
            children = list(card.children)
            children[4:4] = more  # title, figure, level, detail, then ours
            card.children = children
    return cards


def anomalies_panel(
    twin: Twin, view: CityView, language: str, timezone: str, _: Gettext, limit: int = 8
) -> list[Any]:
    """Today's unusual sites, strongest first, as text."""
    visible = set(view.sites["id"].astype(str))
    found = [a for a in twin.anomalies if a.site_id in visible]
    title = html.H2(_("Unusual today"), className="cc-panel-title", id="cc-anomalies-title")
    if not found:
        return [title, html.P(_("Nothing unusual so far today."), className="cc-muted")]
    items = []
    for a in found[:limit]:
        m = METRICS.get(a.metric)
        label, unit, dec = (m.label, m.unit, m.decimals) if m else (a.metric, "", 0)
        words = (
            _("{label} {value} {unit} at {time}, far above the usual {typical}")
            if a.direction == "above"
            else _("{label} {value} {unit} at {time}, far below the usual {typical}")
        )
        items.append(
            html.Li(
                [
                    html.Span(
                        "▲" if a.direction == "above" else "▼",
                        className=f"cc-vs cc-vs-{a.direction}",
                        **{"aria-hidden": "true"},
                    ),
                    html.Strong(a.name),
                    html.Span(
                        " "
                        + words.format(
                            label=_(label),
                            value=format_number(a.value, language, dec),
                            unit=unit,
                            time=format_time(a.time, language, timezone),
                            typical=format_number(a.typical, language, dec),
                        )
                    ),
                ],
                className="cc-anomaly",
                **{"data-site": a.site_id},
            )
        )
    more = len(found) - limit
    tail = [html.P(_("and {n} more").format(n=more), className="cc-muted")] if more > 0 else []
    return [title, html.Ul(items, className="cc-anomalies"), *tail]
