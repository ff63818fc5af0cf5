"""What a public kiosk shows, as pure functions of a public ``CityView`` and the time.

A kiosk answers a passer-by's everyday questions ("Is the air good today?", "Where can I
park?") on slides that rotate by themselves, one language per rotation. Everything here
is plain data (``Slide``) in the viewer's language, from the ``kiosk`` message catalogue;
``layouts.pages.kiosk`` turns it into components. Nothing here reads a store, a session or a
clock: callers pass the view (always the *public* one), the notices and ``now``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from cockpit.city import CityView, SourceInfo
from cockpit.config import CityConfig
from cockpit.domains import Domain, all_domains
from cockpit.domains import get as get_domain
from cockpit.model import METRICS
from cockpit.present.demo import credit_text, demo_badge
from cockpit.present.i18n import format_number, format_time, translator
from cockpit.present.kiosk_reports import MAP_REPORTS, SLIDE_REPORTS, KioskReport, kiosk_reports
from cockpit.present.today import TodayCurve
from cockpit.present.wayfinding import distance_words
from cockpit.reports import Report
from cockpit.storage import Notice
from cockpit.twin.airindex import BANDS, band_of
from cockpit.twin.kpi import Kpi

__all__ = [
    "DEFAULT_SCREEN",
    "UNNAMED_PER_SCREEN",
    "Freshness",
    "Heading",
    "Item",
    "Nearby",
    "Screen",
    "Slide",
    "age_text",
    "all_slides",
    "build_slides",
    "domain_slides",
    "emergency_notice",
    "freshness",
    "heading",
    "is_night",
    "kiosk_id",
    "kiosk_listed",
    "local_time",
    "metres_between",
    "rotation_plan",
    "screen_for",
    "shown_slides",
    "slide_at",
    "unnamed_id",
]

DEFAULT_SCREEN = "default"
_ID = re.compile(r"[^A-Za-z0-9_.-]")


def domain_slides() -> tuple[str, ...]:
    """One slide per registered domain, in the order their slide specs give."""
    ordered = sorted(all_domains(), key=lambda d: d.slide.order)
    return tuple(d.name for d in ordered)


def all_slides() -> tuple[str, ...]:
    """Every slide a kiosk can show: the overview, the domains' slides, the citizens'
    published reports, the notices."""
    return ("overview", *domain_slides(), "reports", "notices")


def __getattr__(name: str) -> tuple[str, ...]:
    # DOMAIN_SLIDES and SLIDES follow the registry, domains registered later included.
    if name == "DOMAIN_SLIDES":
        return domain_slides()
    if name == "SLIDES":
        return all_slides()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _(message: str) -> str:
    """Marks a message for the catalogue; it is translated where it is shown."""
    return message


# The passer-by's question the slides other than the domains' answer (English msgids of
# the kiosk catalogue); each domain declares its own (``Domain.slide``).
QUESTIONS = {
    "overview": _("The city right now"),
    "notices": _("News from the city"),
    "reports": _("What citizens reported"),
}
_BAND_WORDS = {
    "good": _("Good"),
    "fair": _("Fair"),
    "moderate": _("Moderate"),
    "poor": _("Poor"),
    "very poor": _("Very poor"),
    "extremely poor": _("Extremely poor"),
}
_AIR_ADVICE = (
    _("Yes. Enjoy being outside."),
    _("Yes. The air is fine for everyone."),
    _("Mostly. People with asthma may want to take it easy."),
    _("Not today. Consider less strenuous activity outside."),
    _("No. Everyone should reduce strenuous activity outside."),
    _("No. Avoid strenuous activity outside."),
)
_TRAFFIC_WORDS = {"ok": _("Moving freely"), "warn": _("Slow in places"), "alert": _("Congested")}
_CROWD_WORDS = {
    "busier than usual": _("Busier than usual"),
    "quieter than usual": _("Quieter than usual"),
    "as usual": _("As busy as usual"),
}


@dataclass(frozen=True)
class Screen:
    """One kiosk screen set: which slides, in which languages, how fast."""

    id: str
    title: str
    slides: tuple[str, ...]
    languages: tuple[str, ...]
    rotate_seconds: float
    reload_hours: float
    # Where the screen stands (lat, lon) and its name: slides then answer for there.
    position: tuple[float, float] | None = None
    place: str = ""


def screen_for(config: CityConfig, screen_id: str | None, language: str | None = None) -> Screen:
    """The screen set ``screen_id`` of ``config.kiosk.screens`` (the default set for None
    or an unknown id: a kiosk never shows an error page). ``language`` (e.g. from
    ``?lang=``) pins one language when the city offers it."""
    kiosk = config.kiosk
    entry = kiosk.screens.get(screen_id or "")
    # A city that takes no reports has no reports slide, even where a screen names it.
    known = tuple(s for s in all_slides() if s != "reports" or config.reports.enabled)
    slides = tuple(s for s in (entry.slides if entry else []) if s in known) or known
    offered = tuple((entry.languages if entry else []) or kiosk.languages or config.city.languages)
    offered = offered or ("en",)
    if language and language in (*offered, *config.city.languages):
        offered = (language,)
    position = (entry.position[0], entry.position[1]) if entry and entry.position else None
    title = (entry.title if entry else "") or config.city.name
    return Screen(
        id=screen_id if entry and screen_id else DEFAULT_SCREEN,
        title=title,
        slides=slides,
        languages=offered,
        rotate_seconds=kiosk.rotate_seconds,
        reload_hours=kiosk.reload_hours,
        position=position,
        place=(entry.place if entry else "") or (title if position else ""),
    )


# A kiosk opened without a name (``/kiosk/station``) reports as ``<screen>~<instance>``,
# its browser's own random instance, so that two unnamed kiosks are two rows on /kiosks;
# at most this many per screen set are recorded, so made-up instances cannot flood it.
UNNAMED_PER_SCREEN = 50
_INSTANCE = re.compile(r"[a-z0-9]{8,16}")


def unnamed_id(screen_id: str, instance: object) -> str | None:
    """The id an unnamed kiosk showing ``screen_id`` reports as, from its browser's
    ``instance`` (8–16 lower-case letters and digits); None for anything else."""
    if not isinstance(instance, str) or not _INSTANCE.fullmatch(instance):
        return None
    return f"{screen_id}~{instance}"


def kiosk_listed(config: CityConfig, kiosk: str, registered: Collection[str]) -> bool:
    """True when ``kiosk`` is one the city knows: configured (``[kiosk] ids``), a screen's
    name or the default screen, ``registered`` already, or an unnamed kiosk of a known
    screen set while that set has fewer than ``UNNAMED_PER_SCREEN`` of them. Only these
    are recorded and listed; an id made up in a URL is not."""
    known = {*config.kiosk.ids, *config.kiosk.screens, DEFAULT_SCREEN}
    if kiosk in known or kiosk in registered:
        return True
    screen, sep, instance = kiosk.partition("~")
    if not sep or screen not in {*config.kiosk.screens, DEFAULT_SCREEN}:
        return False
    if unnamed_id(screen, instance) is None:
        return False
    return sum(1 for r in registered if r.startswith(f"{screen}~")) < UNNAMED_PER_SCREEN


def kiosk_id(raw: object, default: str) -> str:
    """A kiosk's id from its URL (``?id=station-3``): letters, digits, ``._-``, at most
    64 characters; ``default`` when nothing usable is left."""
    text = _ID.sub("", raw if isinstance(raw, str) else "")[:64]
    return text or default


def rotation_plan(screen: Screen) -> list[tuple[str, str]]:
    """(slide, language) in showing order: every slide in one language, then the next."""
    return [(slide, lang) for lang in screen.languages for slide in screen.slides]


def slide_at(screen: Screen, epoch_seconds: float) -> tuple[str, str]:
    """The (slide, language) showing at ``epoch_seconds``; kiosks with the same plan and
    a set clock show the same slide at the same time (the browser uses the same rule)."""
    plan = rotation_plan(screen)
    return plan[int(epoch_seconds // screen.rotate_seconds) % len(plan)]


def _clock(text: str) -> time | None:
    try:
        return time.fromisoformat(text) if text else None
    except ValueError:
        return None


def is_night(local: time, start: str, end: str) -> bool:
    """True between ``start`` and ``end`` ("HH:MM", local), also across midnight; never
    when either is empty or unreadable."""
    begin, finish = _clock(start), _clock(end)
    if begin is None or finish is None or begin == finish:
        return False
    if begin < finish:
        return begin <= local < finish
    return local >= begin or local < finish


@dataclass(frozen=True)
class Freshness:
    """How old a figure is: its newest observation, whether it is past its source's
    stale limit (or the source's last refresh failed), and the words for it."""

    updated: datetime | None
    stale: bool
    text: str


def age_text(
    updated: datetime | None, now: datetime, stale: bool, language: str, timezone: str
) -> str:
    """ "Updated 10:30, 5 min ago" for current data; "Last updated 08:00" for data past
    its limit (with the weekday when older than 20 hours); "Waiting for data" without."""
    _t = translator(language, "kiosk")
    if updated is None:
        return _t("Waiting for the first data")
    seconds = max(0.0, (now - updated).total_seconds())
    pattern = "EEE HH:mm" if seconds > 20 * 3600 else "HH:mm"
    when = format_time(updated, language, timezone, pattern)
    if stale:
        return _t("Last updated {time}").format(time=when)
    minutes = int(seconds // 60)
    if minutes < 1:
        return _t("Updated {time}, just now").format(time=when)
    if minutes < 120:
        age = _t("{n} min").format(n=format_number(minutes, language))
    else:
        age = _t("{n} h").format(n=format_number(minutes // 60, language))
    return _t("Updated {time}, {age} ago").format(time=when, age=age)


def freshness(
    config: CityConfig,
    sources: list[SourceInfo],
    updated: datetime | None,
    now: datetime,
    language: str,
) -> Freshness:
    """The age of a figure computed from ``sources`` whose newest observation is
    ``updated``: stale when older than the strictest source's ``stale_after_seconds`` or
    when a source's last refresh failed (its last good value is still shown)."""
    limits = [config.sources[s.id].stale_after_seconds for s in sources if s.id in config.sources]
    limit = min(limits) if limits else 600.0
    failed = any(s.status != "ok" and s.updated is not None for s in sources)
    old = updated is not None and (now - updated).total_seconds() > limit
    stale = failed or old
    return Freshness(updated, stale, age_text(updated, now, stale, language, config.city.timezone))


@dataclass(frozen=True)
class Item:
    """One line of a slide's list: a label, a value and a level (ok|warn|alert|none);
    ``unit`` says what the value counts ("free places")."""

    label: str
    value: str
    level: str = "none"
    unit: str = ""


@dataclass(frozen=True)
class Nearby:
    """The free parking around a kiosk that knows where it stands: where it stands
    (``here``, the place's name), and each free bay within ``radius_m`` as
    (metres east, metres north) of it, for the small map."""

    here: str
    position: tuple[float, float]
    radius_m: float
    free: tuple[tuple[float, float], ...]
    taken: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Slide:
    """One slide in one language, ready to draw: every string is already translated."""

    key: str
    language: str
    index: int  # position within its language's rotation (0-based)
    count: int  # slides per language
    question: str
    answer: str = ""  # the headline: a word or a number
    level: str = "none"  # ok | warn | alert | none
    figure: str = ""  # a second big number, e.g. "1,485"
    figure_label: str = ""  # what the figure counts
    lines: tuple[str, ...] = ()
    items: tuple[Item, ...] = ()
    age: Freshness | None = None
    stale_label: str = ""
    credits: tuple[str, ...] = ()
    about: str = ""  # "How this data is collected" caption
    about_path: str = ""  # e.g. "/about/air"
    tile: Item | None = None  # the overview's tile for this slide, with its unit
    demo: str = ""  # "Demo: replayed and simulated data" when a figure is not live
    usual: str = ""  # today so far against usual, in words
    chart: TodayCurve | None = None  # today against usual, hour by hour
    chart_title: str = ""
    chart_legend: tuple[str, str] = ("", "")  # (today, usual)
    nearby: Nearby | None = None  # free parking around the kiosk
    nearby_title: str = ""
    # Citizens' published reports: listed on the reports slide, marked on the overview map.
    reports: tuple[KioskReport, ...] = ()


def _placed(key: str, lang: str, pos: tuple[int, int], question: str, **content: Any) -> Slide:
    """The slide ``key`` in ``lang`` asking ``question``, at ``pos`` (its index, and the
    count of slides) in its language's rotation."""
    return Slide(key=key, language=lang, index=pos[0], count=pos[1], question=question, **content)


def _kpi(view: CityView, key: str) -> Kpi | None:
    return next((k for k in view.kpis if k.key == key), None)


def _domain_sources(config: CityConfig, view: CityView, domain: str) -> list[SourceInfo]:
    return [view.sources[s] for s in config.sources_for(domain) if s in view.sources]


def _domain_latest(config: CityConfig, view: CityView, domain: str) -> pd.DataFrame:
    ids = view.sites.loc[view.sites["source"].isin(config.sources_for(domain)), "id"]
    return view.latest[view.latest["site_id"].isin(ids)]


@dataclass(frozen=True)
class _Answer:
    """A domain slide's answer before it is dated and credited."""

    answer: str
    level: str = "none"
    figure: str = ""
    figure_label: str = ""
    lines: tuple[str, ...] = ()
    items: tuple[Item, ...] = ()
    items_title: str = ""
    tile: Item | None = None
    nearby: Nearby | None = None


@dataclass(frozen=True)
class _Where:
    """What a slide's content knows about the screen: where it stands, if it says."""

    position: tuple[float, float] | None = None
    place: str = ""


_EARTH_M = 6_371_000.0


def metres_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    """The distance in metres between two (lat, lon) points (haversine)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * _EARTH_M * math.asin(math.sqrt(h))


def _offsets(
    frame: pd.DataFrame, position: tuple[float, float]
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Each row's (metres east, metres north, metres away) from ``position``."""
    lat0, lon0 = position
    north = (frame["lat"].astype(float) - lat0) * math.pi / 180 * _EARTH_M
    east = (
        (frame["lon"].astype(float) - lon0)
        * math.pi
        / 180
        * _EARTH_M
        * math.cos(math.radians(lat0))
    )
    return east, north, (east**2 + north**2) ** 0.5


def _unit(kpi_unit: str, lang: str) -> str:
    """A KPI's unit in words a passer-by reads, in ``lang``."""
    _t = translator(lang, "kiosk")
    return _t(_UNITS[kpi_unit]) if kpi_unit in _UNITS else kpi_unit


_UNITS = {
    "persons/h": _("people per hour"),
    "veh/h": _("vehicles per hour"),
}


def _air(
    view: CityView, config: CityConfig, lang: str, domain: Domain, where: _Where
) -> _Answer | None:
    _t = translator(lang, "kiosk")
    obs = _domain_latest(config, view, domain.name)
    obs = obs[obs["metric"].isin(list(domain.kpi.metrics))]
    bands = [band_of(str(m), float(v)) for m, v in zip(obs["metric"], obs["value"], strict=True)]
    rated = [(b, i) for i, b in enumerate(bands) if b is not None]
    if not rated:
        return None
    band, row = max(rated)
    worst = obs.iloc[row]
    names = view.sites.set_index("id")["name"]
    metric = METRICS[str(worst["metric"])]
    level = "ok" if band <= 1 else "warn" if band == 2 else "alert"
    value = format_number(float(worst["value"]), lang)
    word = _t(_BAND_WORDS[BANDS[band]])
    nearest = _nearest_station(obs.iloc[[i for _, i in rated]], bands, view, where, lang)
    return _Answer(
        answer=word,
        level=level,
        tile=Item(_t(domain.slide.short), word, level, _t("air quality index")),
        lines=(
            _t(_AIR_ADVICE[band]),
            *nearest,
            _t("Highest reading: {pollutant} {value} µg/m³ at {station}").format(
                pollutant=metric.label, value=value, station=names.get(worst["site_id"], "")
            ),
            _t("{n} measuring stations, European Air Quality Index").format(
                n=format_number(obs["site_id"].nunique(), lang)
            ),
        ),
    )


def _nearest_station(
    rated: pd.DataFrame, bands: list[int | None], view: CityView, where: _Where, lang: str
) -> tuple[str, ...]:
    """For a screen that knows where it stands: the nearest station's own index and its
    distance, as one line (none otherwise). A station's index is its worst pollutant's."""
    if where.position is None or rated.empty:
        return ()
    _t = translator(lang, "kiosk")
    band_of_row = [b for b in bands if b is not None]
    worst = (
        rated.assign(band=band_of_row)
        .groupby("site_id")["band"]
        .max()
        .rename("band")
        .reset_index()
        .merge(view.sites[["id", "name", "lat", "lon"]], left_on="site_id", right_on="id")
    )
    if worst.empty:
        return ()
    _, _, away = _offsets(worst, where.position)
    near = worst.assign(away=away).sort_values("away", kind="stable").iloc[0]
    return (
        _t("Nearest station: {station}, {distance} from here: {word}").format(
            station=near["name"],
            distance=distance_words(float(near["away"]), lang),
            word=_t(_BAND_WORDS[BANDS[int(near["band"])]]).lower(),
        ),
    )


_Content = Callable[[CityView, CityConfig, str, Domain, _Where], _Answer | None]


def _counted(answer: Callable[[Kpi, float, int, str], _Answer]) -> _Content:
    """A slide's content drawn by ``answer`` from the domain's headline KPI (when it has a
    value), that value, and how many of the domain's places report now; its tile says
    the answer and the figure with its unit."""

    def content(
        view: CityView, config: CityConfig, lang: str, domain: Domain, where: _Where
    ) -> _Answer | None:
        item = _kpi(view, domain.kpi.key)
        if item is None or item.value is None:
            return None
        places = _domain_latest(config, view, domain.name)["site_id"].nunique()
        found = answer(item, item.value, places, lang)
        _t = translator(lang, "kiosk")
        figure = found.figure or format_number(item.value, lang)
        unit = f"{figure} {_unit(item.unit, lang)}" if found.figure else _unit(item.unit, lang)
        tile = Item(_t(domain.slide.short), found.answer, found.level, unit)
        return replace(found, tile=tile)

    return content


def _crowds(item: Kpi, value: float, places: int, lang: str) -> _Answer:
    _t = translator(lang, "kiosk")
    word = _CROWD_WORDS.get(item.level_label)
    return _Answer(
        answer=_t(word) if word else format_number(value, lang),
        level=item.level,
        figure=format_number(value, lang) if word else "",
        figure_label=_t("people walking past per hour"),
        lines=(
            _t("Counted at {n} places in the city").format(n=format_number(places, lang)),
            _t("The sensors count crowds, not people: no images are stored."),
        ),
    )


# Parking near a kiosk: what a walk of a few minutes reaches, and the map's radius.
NEAR_M = 500.0
NEAR_MAP_M = 700.0
_WALK_M_PER_MIN = 80.0


def _free_bays(
    view: CityView, config: CityConfig, lang: str, domain: Domain, where: _Where
) -> _Answer | None:
    _t = translator(lang, "kiosk")
    obs = _domain_latest(config, view, domain.name)
    bays = obs[obs["metric"] == domain.map.metric]
    if bays.empty:
        return None
    free = bays.assign(free=(bays["value"] < 0.5).astype(int)).merge(
        view.sites[["id", "district", "lat", "lon"]], left_on="site_id", right_on="id"
    )
    total = int(free["free"].sum())
    share = total / len(free) if len(free) else 0.0
    level = "ok" if share >= 0.15 else "warn" if share >= 0.05 else "alert"
    city_line = _t("{share} % of {n} street parking bays are free").format(
        share=format_number(share * 100, lang), n=format_number(len(free), lang)
    )
    free_places = _t("free places")
    tile = Item(_t(domain.slide.short), format_number(total, lang), level, free_places)
    if where.position is not None:
        return _free_near(free, where, lang, tile, city_line)
    by_area = (
        free[free["district"].fillna("") != ""].groupby("district")["free"].agg(["sum", "count"])
    )
    top = by_area.sort_values("sum", ascending=False, kind="stable").head(4)
    return _Answer(
        answer=format_number(total, lang),
        level=level,
        figure_label=_t("free parking spaces on the street"),
        lines=(city_line,),
        items=tuple(
            Item(
                str(area),
                _t("{free} of {n}").format(
                    free=format_number(int(row["sum"]), lang),
                    n=format_number(int(row["count"]), lang),
                ),
                "ok" if row["sum"] else "alert",
                free_places,
            )
            for area, row in top.iterrows()
        ),
        items_title=_t("Most free spaces"),
        tile=tile,
    )


def _free_near(free: pd.DataFrame, where: _Where, lang: str, tile: Item, city_line: str) -> _Answer:
    """Parking answered for the kiosk's own place: free bays within a short walk, the
    nearest areas with free bays by distance, and the bays for the small map."""
    _t = translator(lang, "kiosk")
    assert where.position is not None
    east, north, away = _offsets(free, where.position)
    free = free.assign(east=east, north=north, away=away)
    near = free[free["away"] <= NEAR_M]
    count = int(near["free"].sum())
    level = "ok" if count >= 5 else "warn" if count else "alert"
    areas = (
        free[(free["free"] == 1) & (free["district"].fillna("") != "")]
        .groupby("district")
        .agg(nearest=("away", "min"), n=("free", "sum"))
        .sort_values("nearest", kind="stable")
        .head(3)
    )
    items = tuple(
        Item(
            str(area),
            _t("{n} free").format(n=format_number(int(row["n"]), lang)),
            "ok",
            _t("{m} m, {min} min walk").format(
                m=format_number(_rounded(row["nearest"]), lang),
                min=format_number(max(1, math.ceil(row["nearest"] / _WALK_M_PER_MIN)), lang),
            ),
        )
        for area, row in areas.iterrows()
    )
    shown = free[free["away"] <= NEAR_MAP_M]
    points = list(zip(shown["east"].round(1), shown["north"].round(1), strict=True))
    is_free = shown["free"].tolist()
    nearby = Nearby(
        here=where.place,
        position=where.position,
        radius_m=NEAR_MAP_M,
        free=tuple(p for p, f in zip(points, is_free, strict=True) if f),
        taken=tuple(p for p, f in zip(points, is_free, strict=True) if not f),
    )
    return _Answer(
        answer=format_number(count, lang),
        level=level,
        figure_label=_t("free parking spaces within {m} m of here").format(
            m=format_number(NEAR_M, lang)
        ),
        lines=(city_line,),
        items=items,
        items_title=_t("Nearest free spaces"),
        tile=tile,
        nearby=nearby,
    )


def _rounded(metres: float) -> int:
    """A walking distance as people say it: to 10 m, to 50 m beyond 500 m."""
    step = 50 if metres > 500 else 10
    return int(max(step, round(metres / step) * step))


def _congestion(item: Kpi, value: float, sites: int, lang: str) -> _Answer:
    _t = translator(lang, "kiosk")
    known = item.level in _TRAFFIC_WORDS and item.level_label != "no baseline yet"
    return _Answer(
        answer=_t(_TRAFFIC_WORDS[item.level]) if known else format_number(value, lang),
        level=item.level if known else "none",
        figure=format_number(value, lang) if known else "",
        figure_label=_t("vehicles per hour at {n} counting points").format(
            n=format_number(sites, lang)
        ),
        lines=(_t("Counted by the sensors at traffic lights."),),
    )


def _figure(
    view: CityView, config: CityConfig, lang: str, domain: Domain, where: _Where
) -> _Answer | None:
    """A domain's headline KPI as it is: the figure, its level word and the slide's lines."""
    _t = translator(lang, "kiosk")
    spec = domain.kpi
    item = _kpi(view, spec.key)
    if item is None or item.value is None:
        return None
    value = format_number(item.value, lang, spec.decimals)
    return _Answer(
        answer=value,
        level=item.level,
        figure_label=_t(domain.slide.figure_label or _t(spec.title)),
        lines=(_t(item.level_label).capitalize(), *(_t(line) for line in domain.slide.lines)),
        tile=Item(_t(domain.slide.short), value, item.level, _unit(item.unit, lang)),
    )


# How a slide draws its answer, by the name a domain's ``SlideSpec.content`` gives.
_DOMAIN_CONTENT: dict[str, _Content] = {
    "air_index": _air,
    "crowds": _counted(_crowds),
    "free_bays": _free_bays,
    "congestion": _counted(_congestion),
    "": _figure,
}


def _usual_words(curve: TodayCurve | None, lang: str) -> str:
    """Today so far against usual in words: "Today so far: 12 % more than usual"."""
    change = curve.change if curve is not None else None
    if change is None:
        return ""
    _t = translator(lang, "kiosk")
    percent = format_number(abs(change) * 100, lang)
    if abs(change) < 0.05:
        return _t("Today so far: about as usual")
    if change > 0:
        return _t("Today so far: {p} % more than usual").format(p=percent)
    return _t("Today so far: {p} % less than usual").format(p=percent)


def _domain_slide(
    config: CityConfig,
    view: CityView,
    key: str,
    lang: str,
    now: datetime,
    pos: tuple[int, int],
    where: _Where | None = None,
    curve: TodayCurve | None = None,
) -> Slide:
    _t = translator(lang, "kiosk")
    domain = get_domain(key)
    sources = _domain_sources(config, view, key)
    item = _kpi(view, domain.kpi.key)
    make = _DOMAIN_CONTENT.get(domain.slide.content, _figure)
    content = make(view, config, lang, domain, where or _Where())
    age = freshness(config, sources, item.updated if item else None, now, lang)
    if content is None:
        # Never an empty tile: say plainly that the figure is on its way.
        content = _Answer(
            answer="–",
            lines=(_t("This figure will appear as soon as its sensors report."),),
            tile=Item(_t(domain.slide.short), "–", "none", _t("waiting for data")),
        )
    lines = content.lines
    if content.items_title and content.items:
        lines = (*lines, content.items_title)
    chart = curve if curve is not None and not age.stale else None
    return _placed(
        key,
        lang,
        pos,
        _t(domain.slide.question),
        answer=content.answer,
        level="none" if age.stale else content.level,
        figure=content.figure,
        figure_label=content.figure_label,
        lines=lines,
        items=content.items,
        age=age,
        stale_label=_t("Not current") if age.stale else "",
        credits=tuple(credit_text(s, lang) for s in sources),
        about=_t("How this data is collected"),
        about_path=f"/about/{key}",
        tile=content.tile,
        demo=demo_badge(view, lang, [s.id for s in sources]),
        usual=_usual_words(chart, lang),
        chart=chart,
        chart_title=_t("Today against usual") if chart else "",
        chart_legend=(_t("today"), _t("usual")) if chart else ("", ""),
        nearby=content.nearby,
        nearby_title=_t("Free parking around you") if content.nearby else "",
    )


def _overview(
    config: CityConfig,
    view: CityView,
    lang: str,
    now: datetime,
    pos: tuple[int, int],
    answered: Mapping[str, Slide] | None = None,
    reports: tuple[KioskReport, ...] = (),
) -> Slide:
    """The overview in ``lang``: a tile per domain, from the domain slides ``answered``
    already in this language (made here for those missing), and the citizens' published
    ``reports`` for its map."""
    _t = translator(lang, "kiosk")
    key = "overview"
    items, ages = [], []
    for name in domain_slides():
        slide = (answered or {}).get(name) or _domain_slide(config, view, name, lang, now, pos)
        short = _t(get_domain(name).slide.short)
        items.append(slide.tile or Item(short, slide.answer, slide.level))
        if slide.age is not None:
            ages.append(slide.age)
    dated = [a for a in ages if a.updated is not None]
    oldest = min(dated, key=lambda a: a.updated or now) if dated else None
    stale = any(a.stale for a in ages)
    age = Freshness(
        oldest.updated if oldest else None,
        stale,
        age_text(oldest.updated if oldest else None, now, stale, lang, config.city.timezone),
    )
    return _placed(
        key,
        lang,
        pos,
        _t(QUESTIONS[key]),
        items=tuple(items),
        lines=(_t("Coloured marks show where the city measures."),),
        reports=reports,
        age=age,
        stale_label=_t("Not current") if stale else "",
        credits=_overview_credits(view, lang),
        demo=demo_badge(view, lang),
    )


def _overview_credits(view: CityView, lang: str) -> tuple[str, ...]:
    """The overview's one line of provenance: who publishes the figures (each domain's
    slide names its source, licence and origin in full)."""
    if not view.sources:
        return ()
    _t = translator(lang, "kiosk")
    publishers = list(dict.fromkeys(s.publisher for s in view.sources.values() if s.publisher))
    return (
        _t("Data: {publishers}. Sources, licences and origins on each slide.").format(
            publishers=", ".join(publishers)
        ),
    )


def _notices_slide(notices: list[Notice], lang: str, pos: tuple[int, int], timezone: str) -> Slide:
    _t = translator(lang, "kiosk")
    key = "notices"
    shown = [n for n in notices if n.severity != "emergency"]
    items = tuple(
        Item(
            n.text(lang),
            _t("until {time}").format(time=format_time(n.expires, lang, timezone, "EEE HH:mm")),
            "alert" if n.severity == "warning" else "ok",
        )
        for n in shown
    )
    return _placed(
        key,
        lang,
        pos,
        _t(QUESTIONS[key]),
        answer="" if items else _t("No notices at the moment."),
        items=items,
    )


def _reports_slide(
    config: CityConfig, reports: tuple[KioskReport, ...], lang: str, pos: tuple[int, int]
) -> Slide:
    """The newest of the citizens' published ``reports`` (already in ``lang``), and how a
    passer-by reads them all and the city's answers: the QR code's citizen page."""
    _t = translator(lang, "kiosk")
    key = "reports"
    metres = format_number(config.reports.position_m, lang)
    return _placed(
        key,
        lang,
        pos,
        _t(QUESTIONS[key]),
        reports=reports,
        lines=(
            _t(
                "Scan the QR code to follow every report and the city's answers, "
                "or to report something yourself."
            ),
        ),
        credits=(
            _t("Published by city staff after review. Places rounded to about {metres} m.").format(
                metres=metres
            ),
        ),
    )


def shown_slides(
    screen: Screen, notices: list[Notice], reports: Collection[KioskReport] = ()
) -> tuple[str, ...]:
    """The slides of ``screen`` worth showing now: the notices slide only while there
    is a notice (an emergency takes the whole screen instead), the reports slide only
    while there is a report to show (``kiosk_reports``)."""
    listed = any(n.severity != "emergency" for n in notices)
    empty = {"notices"} if not listed else set()
    empty |= {"reports"} if not reports else set()
    return tuple(s for s in screen.slides if s not in empty) or screen.slides[:1]


def build_slides(
    config: CityConfig,
    view: CityView,
    notices: list[Notice],
    screen: Screen,
    now: datetime,
    curves: Mapping[str, TodayCurve] | None = None,
    reports: Collection[Report] = (),
) -> list[Slide]:
    """Every slide of ``screen`` worth showing (``shown_slides``) in every one of its
    languages, in rotation order; ``curves`` gives a domain's today against usual,
    ``reports`` the citizens' reports (only the published ones within their keep period
    are shown: ``kiosk_reports``).

    ``view`` must be the public view: nothing here filters by role. Raises nothing for
    missing data; a slide without data says that it is waiting for it.
    """
    out: list[Slide] = []
    names = _public_site_names(view)
    shown = {
        lang: kiosk_reports(config, reports, names, lang, now, MAP_REPORTS)
        for lang in screen.languages
    }
    keys = shown_slides(screen, notices, shown[screen.languages[0]])
    count = len(keys)
    where = _Where(screen.position, screen.place)
    for lang in screen.languages:
        mapped = shown[lang]
        # Each domain is answered once per language; the overview's tiles reuse them.
        answered = {
            key: _domain_slide(
                config,
                view,
                key,
                lang,
                now,
                (keys.index(key), count),
                where,
                (curves or {}).get(key),
            )
            for key in keys
            if key not in ("overview", "notices", "reports")
        }
        for slide_key in keys:
            pos = (keys.index(slide_key), count)
            if slide_key == "overview":
                out.append(_overview(config, view, lang, now, pos, answered, mapped))
            elif slide_key == "notices":
                out.append(_notices_slide(notices, lang, pos, config.city.timezone))
            elif slide_key == "reports":
                out.append(_reports_slide(config, mapped[:SLIDE_REPORTS], lang, pos))
            else:
                out.append(answered[slide_key])
    return out


def _public_site_names(view: CityView) -> dict[str, str]:
    """The public view's sites by id, by name (a report names only a public sensor)."""
    sites = view.sites
    if sites.empty or "name" not in sites.columns:
        return {}
    return dict(zip(sites["id"].astype(str), sites["name"].astype(str), strict=True))


def emergency_notice(notices: list[Notice]) -> Notice | None:
    """The newest active emergency notice, which takes over the whole kiosk."""
    return next((n for n in notices if n.severity == "emergency"), None)


def local_time(now: datetime, timezone: str) -> time:
    """``now`` on the city's wall clock."""
    return now.astimezone(ZoneInfo(timezone)).time()


@dataclass(frozen=True)
class Heading:
    """Texts around the slides, in one language: offline marker, QR caption…"""

    language: str
    offline: str
    qr: str
    notice: str
    emergency: str


def heading(language: str) -> Heading:
    """The kiosk's fixed texts in ``language``."""
    _t = translator(language, "kiosk")
    return Heading(
        language=language,
        offline=_t("Offline: showing the last data received"),
        qr=_t("Continue on your phone"),
        notice=_t("Notice"),
        emergency=_t("Emergency notice"),
    )
