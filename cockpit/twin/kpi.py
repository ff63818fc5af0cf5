"""The cockpit's headline numbers, as pure functions of canonical frames.

Each function takes observation frames (and, where needed, site frames or history) and
returns a ``Kpi``: the value, its unit, a level (ok / warn / alert) with a word for it,
and a sentence that says what the number means. Nothing here reads a store or a clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from cockpit.domains import KpiSpec, all_domains
from cockpit.model import METRICS
from cockpit.twin.airindex import INDEX_NAME, band_label, band_of

__all__ = [
    "CONGESTION_LEVELS",
    "Kpi",
    "Percent",
    "Phrase",
    "Term",
    "When",
    "aggregate",
    "air_quality",
    "footfall",
    "parking_occupancy",
    "traffic_flow",
]


@dataclass(frozen=True)
class Percent:
    """A share (0.06) that a sentence shows as a percentage ("6%", "6 %")."""

    share: float


@dataclass(frozen=True)
class Term:
    """A word or name of the cockpit's own that a sentence shows in the viewer's language."""

    text: str


@dataclass(frozen=True)
class When:
    """A moment a sentence shows on the city's wall clock with a CLDR ``pattern``
    ("EEEE HH:00": "Tuesday 10:00", "Dienstag 10:00"); ``at`` is in the city's time zone."""

    at: datetime
    pattern: str


@dataclass(frozen=True)
class Phrase:
    """A sentence in English with ``{name}`` placeholders and the values that fill them,
    free of any language: numbers (ints, floats), ``Percent``, ``Term``, ``When`` or plain
    text (a site's name). ``cockpit.present.kpi_words`` words it for a viewer."""

    message: str
    values: tuple[tuple[str, object], ...] = ()

    def english(self) -> str:
        """The sentence as the code writes it, in English."""
        return self.message.format(**{k: _english(v) for k, v in self.values})


def _english(value: object) -> str:
    if isinstance(value, Percent):
        return f"{value.share:.0%}"
    if isinstance(value, Term):
        return value.text
    if isinstance(value, When):
        return pd.Timestamp(value.at).strftime(_STRFTIME[value.pattern])
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}"
    return str(value)


# The wall-clock patterns sentences use, as ``strftime`` writes them in English.
_STRFTIME = {"EEEE HH:00": "%A %H:00", "EEEE": "%A"}


@dataclass
class Kpi:
    """One headline figure. ``value`` is None when there is no data to compute it from."""

    key: str
    title: str
    value: float | None
    unit: str
    display: str
    level: str  # ok | warn | alert | none
    level_label: str
    detail: str
    updated: datetime | None = None
    sources: list[str] = field(default_factory=list)
    # What the number is, in words that match it ("% occupied"); empty: the unit says it.
    figure_label: str = ""
    # ``detail`` free of language, for other languages than English; None: ``detail`` as is.
    phrase: Phrase | None = None
    # The displayed figure is the level's word ("Good"), not a number.
    display_is_word: bool = False

    @property
    def figure(self) -> str:
        """The number with its words, as a card shows it ("34 % occupied")."""
        words = self.figure_label or ("" if self.unit == "EAQI band" else self.unit)
        return f"{self.display} {words}".strip()


def _newest(frame: pd.DataFrame) -> datetime | None:
    return None if frame.empty else frame["time"].max().to_pydatetime()


_NO_DATA = Phrase("No current data.")


def _none(key: str, title: str, unit: str) -> Kpi:
    return Kpi(key, title, None, unit, "–", "none", "no data", _NO_DATA.english(), phrase=_NO_DATA)


def _declared(method: str) -> KpiSpec:
    """The KPI a domain declares with the calculation ``method`` (``KpiSpec.method``):
    its key, title, unit and metrics."""
    return next(k for d in all_domains() for k in d.kpis if k.method == method)


def footfall(latest: pd.DataFrame, history: pd.DataFrame, timezone: str, weeks: int = 4) -> Kpi:
    """Pedestrians per hour over all counting sensors now, against the same weekday and
    hour in the previous ``weeks`` weeks of ``history``.

    ``latest`` holds each sensor's newest ``pedestrians`` observation; sensors more than an
    hour behind the newest are left out, so a silent sensor does not count as zero. For
    each past week the change is measured on the sensors reporting both then and now; the
    typical change is the median over the weeks.
    """
    spec = _declared("footfall")
    key, title, unit = spec.key, spec.title, spec.unit
    obs = latest[latest["metric"] == spec.metric]
    if obs.empty:
        return _none(key, title, unit)
    newest = obs["time"].max()
    now = obs[obs["time"] >= newest - pd.Timedelta(hours=1)]
    total = float(now["value"].sum())
    local = newest.tz_convert(timezone)
    when = When(local.to_pydatetime(), "EEEE HH:00")
    ratios = []
    past = history[history["metric"] == spec.metric]
    for k in range(1, weeks + 1):
        # k weeks earlier on the city's wall clock, so "Tuesday 08:00" stays 08:00 across
        # a daylight-saving change.
        wall = now["time"].dt.tz_convert(timezone).dt.tz_localize(None) - pd.Timedelta(weeks=k)
        earlier = wall.dt.tz_localize(timezone, ambiguous=True, nonexistent="shift_forward")
        then = now.assign(time=earlier.dt.tz_convert("UTC").astype(now["time"].dtype))
        both = then.merge(past, on=["site_id", "time"], suffixes=("_now", "_then"))
        if not both.empty and both["value_then"].sum() > 0:
            ratios.append(both["value_now"].sum() / both["value_then"].sum())
    display = f"{total:,.0f}"
    if not ratios:
        phrase = Phrase(
            "No earlier {weekday}s in the history yet.",
            (("weekday", When(local.to_pydatetime(), "EEEE")),),
        )
        return Kpi(
            key,
            title,
            total,
            unit,
            display,
            "ok",
            "no baseline yet",
            phrase.english(),
            newest.to_pydatetime(),
            figure_label=spec.figure_label,
            phrase=phrase,
        )
    change = float(pd.Series(ratios).median()) - 1.0
    if abs(change) < 0.05:
        phrase = Phrase("About as usual for a {when}.", (("when", when),))
    else:
        phrase = Phrase(
            "{pct} above a typical {when}." if change > 0 else "{pct} below a typical {when}.",
            (("pct", Percent(abs(change))), ("when", when)),
        )
    level = "warn" if change > 0.5 else "ok"
    label = (
        "busier than usual"
        if change > 0.15
        else ("quieter than usual" if change < -0.15 else "as usual")
    )
    return Kpi(
        key,
        title,
        total,
        unit,
        display,
        level,
        label,
        phrase.english(),
        newest.to_pydatetime(),
        figure_label=spec.figure_label,
        phrase=phrase,
    )


def parking_occupancy(
    latest: pd.DataFrame, sites: pd.DataFrame, warn: float = 85, alert: float = 95
) -> Kpi:
    """Occupied share of the parking places with a known state, in %.

    Bays count one place each (``bay_occupied`` 1/0); car parks with an ``occupancy`` % and
    a ``capacity`` attribute count their capacity. Places with no current state are left
    out of both the numerator and the denominator.
    """
    spec = _declared("parking_occupancy")
    bay_metric, park_metric = spec.metrics
    bays = latest[latest["metric"] == bay_metric]
    occupied = float(bays["value"].sum())
    known = float(len(bays))
    parks = latest[latest["metric"] == park_metric]
    if not parks.empty:
        capacity = sites.set_index("id")["attributes"].map(
            lambda a: float(a.get("capacity", 0) or 0) if isinstance(a, dict) else 0.0
        )
        cap = parks["site_id"].map(capacity).fillna(0.0)
        occupied += float((parks["value"] / 100.0 * cap).sum())
        known += float(cap.sum())
    if known == 0:
        return _none(spec.key, spec.title, spec.unit)
    share = 100.0 * occupied / known
    level = "alert" if share >= alert else "warn" if share >= warn else "ok"
    label = spec.levels[level]
    free = round(known - occupied)
    phrase = Phrase(
        "{free} free place of {known} with a known state."
        if free == 1
        else "{free} free places of {known} with a known state.",
        (("free", free), ("known", int(known))),
    )
    return Kpi(
        spec.key,
        spec.title,
        share,
        spec.unit,
        f"{share:.0f}",
        level,
        label,
        phrase.english(),
        _newest(pd.concat([bays, parks])),
        figure_label=spec.figure_label,
        phrase=phrase,
    )


CONGESTION_LEVELS = ("light", "moderate", "heavy")


def traffic_flow(
    latest: pd.DataFrame, reference: pd.Series, warn: float = 0.6, alert: float = 0.85
) -> Kpi:
    """Vehicles per hour at the counting sites, combined as the KPI declares (for the
    traffic domain: the mean per counted intersection), and a congestion level.

    ``reference`` maps site id to that site's usual busy flow (veh/h; e.g. the 95th
    percentile of its history). The congestion index is the median over sites of flow
    divided by reference: below ``warn`` light, below ``alert`` moderate, else heavy.
    Without speeds this is a load proxy, not a travel-time measure, and is named so.
    """
    spec = _declared("traffic_flow")
    key, title, unit = spec.key, spec.title, spec.unit
    obs = latest[latest["metric"] == spec.metric]
    if obs.empty:
        return _none(key, title, unit)
    flow = _combine(obs["value"].astype(float), spec.aggregation)
    how = _COUNTED[spec.aggregation]
    counted = (("n", len(obs)),)
    ref = obs["site_id"].map(reference).astype(float)
    loads = (obs["value"] / ref)[ref > 0]
    if loads.empty:
        plain = Phrase(f"{how}.", counted)
        return Kpi(
            key,
            title,
            flow,
            unit,
            f"{flow:,.0f}",
            "ok",
            "no baseline yet",
            plain.english(),
            _newest(obs),
            figure_label=spec.figure_label,
            phrase=plain,
        )
    index = float(loads.median())
    level = "alert" if index >= alert else "warn" if index >= warn else "ok"
    label = spec.levels[level]
    phrase = Phrase(
        f"{how}; the typical one at {{index}} of its usual busy-hour flow.",
        (*counted, ("index", Percent(index))),
    )
    return Kpi(
        key,
        title,
        flow,
        unit,
        f"{flow:,.0f}",
        level,
        label,
        phrase.english(),
        _newest(obs),
        figure_label=spec.figure_label,
        phrase=phrase,
    )


# How a flow KPI's sites were combined, for its detail line.
_COUNTED = {
    "sum": "Total over {n} counted sites",
    "mean": "Mean over {n} counted sites",
    "max": "Busiest of {n} counted sites",
    "share": "Share over {n} counted sites",
}


def _combine(values: pd.Series, aggregation: str) -> float:
    """The sites' values combined as a KPI's ``aggregation`` says (a share: the mean)."""
    if aggregation == "sum":
        return float(values.sum())
    if aggregation == "max":
        return float(values.max())
    return float(values.mean())


def air_quality(latest: pd.DataFrame, sites: pd.DataFrame) -> Kpi:
    """The worst band of the European Air Quality Index over all stations and pollutants.

    ``value`` is the band number 1 (good) .. 6 (extremely poor); ``detail`` names the
    pollutant, its concentration and the station that set it.
    """
    spec = _declared("air_quality")
    key, title, unit = spec.key, spec.title, spec.unit
    obs = latest[latest["metric"].isin(list(spec.metrics))]
    if obs.empty:
        return _none(key, title, unit)
    bands = [band_of(m, v) for m, v in zip(obs["metric"], obs["value"], strict=True)]
    obs = obs.assign(band=pd.array(bands, dtype="Int64")).dropna(subset=["band"])
    if obs.empty:
        return _none(key, title, unit)
    worst = obs.sort_values(["band", "value"]).iloc[-1]
    band = int(worst["band"])
    names = sites.set_index("id")["name"]
    station = names.get(worst["site_id"], worst["site_id"])
    pollutant = METRICS[str(worst["metric"])]
    level = "ok" if band <= 1 else "warn" if band == 2 else "alert"
    label = band_label(band)
    phrase = Phrase(
        "{index}: worst is {pollutant} {value} {unit} at {station}.",
        (
            ("index", Term(INDEX_NAME)),
            ("pollutant", Term(pollutant.label)),
            ("value", f"{worst['value']:.0f}"),  # as the index's bands: whole µg/m³
            ("unit", pollutant.unit),
            ("station", str(station)),
        ),
    )
    return Kpi(
        key,
        title,
        float(band + 1),
        unit,
        label.capitalize(),
        level,
        label,
        phrase.english(),
        _newest(obs),
        figure_label=spec.figure_label,
        phrase=phrase,
        display_is_word=True,
    )


_HOW = {
    "sum": "Sum over {n} sites.",
    "mean": "Mean over {n} sites.",
    "share": "Share over {n} sites.",
    "max": "Highest of {n} sites.",
}


def aggregate(
    latest: pd.DataFrame,
    spec: KpiSpec,
    warn: float | None = None,
    alert: float | None = None,
) -> Kpi:
    """A domain's KPI as its declaration says: the sites' latest values of
    ``spec.metric`` aggregated by ``spec.aggregation`` (see ``KpiSpec``).

    A share is the sum of the values over the sum of each site's ``capacity_metric`` in %
    (sites without a capacity left out), or the mean of 0/1 values in % without one. The
    level is ``alert`` from ``alert`` up, ``warn`` from ``warn`` up, else ``ok``; no
    limits: always ``ok``. No observation (or no capacity for a share): no value.
    """
    obs = latest[latest["metric"] == spec.metric]
    if obs.empty:
        return _none(spec.key, spec.title, spec.unit)
    obs = obs.sort_values("time").groupby("site_id", sort=False).tail(1)
    values = obs["value"].astype(float)
    if spec.aggregation == "share":
        if spec.capacity_metric:
            caps = latest[latest["metric"] == spec.capacity_metric]
            cap = obs["site_id"].map(caps.groupby("site_id")["value"].last()).astype(float)
            known = cap > 0
            if not known.any():
                return _none(spec.key, spec.title, spec.unit)
            value = 100.0 * float(values[known].sum()) / float(cap[known].sum())
        else:
            value = 100.0 * float(values.mean())
    elif spec.aggregation == "mean":
        value = float(values.mean())
    elif spec.aggregation == "max":
        value = float(values.max())
    else:
        value = float(values.sum())
    level = (
        "alert"
        if alert is not None and value >= alert
        else "warn"
        if warn is not None and value >= warn
        else "ok"
    )
    # The count as plain digits, as this line has always written it.
    phrase = Phrase(_HOW[spec.aggregation], (("n", str(len(obs))),))
    return Kpi(
        spec.key,
        spec.title,
        value,
        spec.unit,
        f"{value:,.{spec.decimals}f}",
        level,
        spec.levels.get(level, level),
        phrase.english(),
        _newest(obs),
        figure_label=spec.figure_label,
        phrase=phrase,
    )
