"""What a domain of the city is, declared once, and the registry that holds every domain.

A domain (traffic, air, parking, pedestrians, …) is one ``Domain`` value in one module:
its metrics in their canonical units, its KPIs with default thresholds and how they
aggregate, how a site's value becomes a state on the map, the kiosk's question and
slide, the phone view's summary and its words in every language the cockpit speaks.
Config validation, connectors, the twin, the kiosk, the phone view and the API read it
here; adding a domain is adding one module and naming it in the city's config.

Registering a domain also registers its metrics and its name in ``cockpit.model``, the
canonical data's own tables, so that frames validated there know the domain too.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Literal

from cockpit import model
from cockpit.errors import ConfigError
from cockpit.model import Metric

__all__ = [
    "AGGREGATIONS",
    "Aggregation",
    "Domain",
    "KpiSpec",
    "MapRule",
    "NoiseFloor",
    "PhoneSummary",
    "SlideSpec",
    "all_domains",
    "domain_names",
    "domain_of_kpi",
    "get",
    "kpi_names",
    "kpi_spec",
    "load_domain_module",
    "load_domain_modules",
    "noise_floor",
    "register",
    "translation",
    "unregister",
]

Aggregation = Literal["mean", "share", "sum", "max"]
AGGREGATIONS: Final = ("mean", "share", "sum", "max")


@dataclass(frozen=True)
class KpiSpec:
    """One headline figure of a domain.

    ``aggregation`` says how the sites' latest values of ``metrics[0]`` become one number:

    - ``"sum"`` adds them up, for flows and counts that add across places (vehicles or
      people per hour over all counting sites: the city's total is the sum);
    - ``"share"`` divides the sum of the values by the sum of what they could reach, in %
      (occupied bays of all bays with a known state; bikes available of all docks):
      a share weighs each place by its size, which a mean of percentages would not;
    - ``"mean"`` averages them, for intensities that do not add (a concentration, a
      speed): the typical site, not a total;
    - ``"max"`` takes the worst site, for health limits where one bad place matters
      (air quality: the worst European Air Quality Index band over all stations).

    ``metrics`` are the metrics the KPI reads (exports and the methodology page list
    them); ``figure_label`` is what the number is, shown beside it in words that match
    it ("% occupied", "veh/h per counted intersection"; empty: the unit);
    ``baseline_metric`` is the one whose usual value the twin learns (default: the
    first). ``capacity_metric`` is the denominator of a share (e.g. ``docks``); without it a
    share is the mean of 0/1 values in % (one place per site). ``warn`` and ``alert``
    are the default ascending limits on the value (a city's ``[kpis.<key>]`` overrides
    them); ``levels`` names each level for people. ``method`` names a calculation of
    ``cockpit.twin.kpi`` that refines the plain aggregation (e.g. the traffic congestion
    index against each site's usual flow); empty: the plain aggregation is the KPI.
    """

    key: str
    title: str
    metrics: tuple[str, ...]
    unit: str
    aggregation: Aggregation
    warn: float | None = None
    alert: float | None = None
    method: str = ""
    capacity_metric: str = ""
    baseline_metric: str = ""
    decimals: int = 0
    figure_label: str = ""
    levels: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({"ok": "ok", "warn": "high", "alert": "very high"})
    )

    @property
    def metric(self) -> str:
        """The metric the KPI aggregates: the first of ``metrics``."""
        return self.metrics[0]

    @property
    def learned_metric(self) -> str:
        """The metric whose usual value the twin learns for this KPI."""
        return self.baseline_metric or self.metrics[0]


@dataclass(frozen=True)
class NoiseFloor:
    """How big a change of one metric must be before it deserves a person's attention.

    ``volume`` is the metric's smallest level that matters (in its unit): it is added to
    both the value and its usual level before they are compared, so 20 people where 13
    are usual at night (a ratio of 1.5) weigh as (20 + 50) / (13 + 50) ≈ 1.1, while 1,500
    where 1,000 are usual stay 1.5. ``change`` is the smallest relative change, measured
    that way, that is worth telling (0.3: 30 % above or below usual). ``hours`` is how
    many consecutive hours the change must last, so one odd reading is not an event.
    """

    volume: float = 0.0
    change: float = 0.3
    hours: int = 2
    # The metric counts passing people or vehicles: a zero where many usually pass is a
    # sensor outage (sensor health's), and a usual zero is no baseline.
    counted: bool = False


@dataclass(frozen=True)
class MapRule:
    """How a site's latest value becomes a state on the map.

    The value of ``metric`` is cut at the ascending ``thresholds`` into ``labels`` (one
    more label than thresholds); the first state is calm (ok), the last urgent (alert),
    those between warn. A city's layer may give its own thresholds and labels; these are
    the defaults for a layer that leaves them out. ``metric = "eaqi"`` colours a site by
    the European Air Quality Index band of its worst pollutant instead.
    """

    metric: str
    thresholds: tuple[float, ...] = ()
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class SlideSpec:
    """The kiosk's slide for a domain: the passer-by's ``question``, a ``short`` name for
    the slide's tab, its place in the rotation (``order``, ascending) and how its answer
    is drawn: ``content`` names a presenter of ``cockpit.present.slides`` (empty: the
    domain's headline KPI as the answer, ``figure_label`` under it, then its level word
    and ``lines``)."""

    question: str
    short: str
    order: int = 100
    content: str = ""
    figure_label: str = ""
    lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class PhoneSummary:
    """The phone view's line for a domain: its ``title`` and the KPI that sums it up."""

    title: str
    kpi: str


@dataclass(frozen=True)
class Domain:
    """One domain of the city, declared once: its ``metrics`` (canonical units), its
    ``kpis``, its ``map`` rule, its kiosk ``slide``, its ``phone`` summary and its words.

    ``labels`` maps a language code to translations of this domain's English words
    (question, names, titles, level words): ``{"de": {"Where can I park?": "…"}}``.
    """

    name: str
    title: str
    metrics: tuple[Metric, ...]
    kpis: tuple[KpiSpec, ...]
    map: MapRule
    slide: SlideSpec
    phone: PhoneSummary
    labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # Platform entity types read as this domain -> the kind of site they are
    # (e.g. FIWARE ``{"BikeHireDockingStation": "dock"}``).
    entity_types: Mapping[str, str] = field(default_factory=dict)
    # What its data is, in a few words for a data catalogue ("hourly counts of …").
    description: str = ""
    # EU data themes (DCAT-AP's controlled vocabulary): (code, label) pairs.
    themes: tuple[tuple[str, str], ...] = ()
    # The public "how this data is collected" page: its "title", "what" (may name the
    # number of sites as {n}) and "privacy" texts, in English; ``labels`` translate them.
    about: Mapping[str, str] = field(default_factory=dict)
    # Per metric name: what a change must reach to be unusual (``NoiseFloor``); a metric
    # left out gets the default floor.
    noise_floors: Mapping[str, NoiseFloor] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"domain name {self.name!r} must be a plain identifier")
        own = {m.name for m in self.metrics}
        for m in self.metrics:
            if m.domain != self.name:
                raise ValueError(f"metric {m.name!r} names domain {m.domain!r}, not {self.name!r}")
        for k in self.kpis:
            if k.aggregation not in AGGREGATIONS:
                raise ValueError(f"KPI {k.key!r}: aggregation must be one of {AGGREGATIONS}")
            for name in k.metrics:
                if name not in own and name not in model.METRICS:
                    raise ValueError(f"KPI {k.key!r} reads unknown metric {name!r}")
        if self.phone.kpi not in {k.key for k in self.kpis}:
            raise ValueError(f"phone summary names KPI {self.phone.kpi!r}, not one of this domain")

    @property
    def counts_people(self) -> bool:
        """True when one of the domain's metrics counts persons."""
        return any(m.people for m in self.metrics)

    @property
    def metric_names(self) -> tuple[str, ...]:
        """Names of this domain's metrics, in their declared order."""
        return tuple(m.name for m in self.metrics)

    @property
    def kpi(self) -> KpiSpec:
        """The domain's headline KPI: the one the phone view and the kiosk show."""
        return next(k for k in self.kpis if k.key == self.phone.kpi)


_REGISTRY: dict[str, Domain] = {}


def register(domain: Domain) -> Domain:
    """Add ``domain`` (and its metrics) to the registry and return it.

    Registering the same value again is a no-op; another domain under a taken name, a
    metric another domain owns or a KPI key another domain uses raises ``ValueError``.
    """
    known = _REGISTRY.get(domain.name)
    if known is not None:
        if known == domain:
            return domain
        raise ValueError(f"domain {domain.name!r} is already registered")
    for m in domain.metrics:
        owner = model.METRICS.get(m.name)
        if owner is not None and owner != m:
            raise ValueError(f"metric {m.name!r} already belongs to domain {owner.domain!r}")
    keys = {k.key for d in _REGISTRY.values() for k in d.kpis}
    for k in domain.kpis:
        if k.key in keys:
            raise ValueError(f"KPI {k.key!r} is already declared by another domain")
    _REGISTRY[domain.name] = domain
    for m in domain.metrics:
        model.METRICS[m.name] = m
    if domain.name not in model.DOMAINS:
        model.DOMAINS.append(domain.name)
    return domain


def unregister(name: str) -> None:
    """Remove the domain ``name`` and its metrics (a no-op for an unknown name); for a
    process that loads another city's domains, and for tests."""
    domain = _REGISTRY.pop(name, None)
    if domain is None:
        return
    for m in domain.metrics:
        model.METRICS.pop(m.name, None)
    if name in model.DOMAINS:
        model.DOMAINS.remove(name)


def get(name: str) -> Domain:
    """The registered domain ``name``; raises ``KeyError`` naming the known ones."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown domain {name!r}; known: {', '.join(_REGISTRY)}") from None


def all_domains() -> tuple[Domain, ...]:
    """Every registered domain, in the order they were registered."""
    return tuple(_REGISTRY.values())


def domain_names() -> tuple[str, ...]:
    """Names of the registered domains, in registration order."""
    return tuple(_REGISTRY)


def kpi_names() -> tuple[str, ...]:
    """Keys of every domain's KPIs, in registration order."""
    return tuple(k.key for d in _REGISTRY.values() for k in d.kpis)


def kpi_spec(key: str) -> KpiSpec:
    """The KPI declared under ``key``; raises ``KeyError`` when no domain declares it."""
    for d in _REGISTRY.values():
        for k in d.kpis:
            if k.key == key:
                return k
    raise KeyError(f"unknown KPI {key!r}; known: {', '.join(kpi_names())}")


def domain_of_kpi(key: str) -> Domain:
    """The domain that declares the KPI ``key``; raises ``KeyError`` when none does."""
    for d in _REGISTRY.values():
        if any(k.key == key for k in d.kpis):
            return d
    raise KeyError(f"unknown KPI {key!r}; known: {', '.join(kpi_names())}")


def noise_floor(metric: str) -> NoiseFloor:
    """The noise floor the domain owning ``metric`` declares for it, else the default."""
    for d in _REGISTRY.values():
        found = d.noise_floors.get(metric)
        if found is not None:
            return found
    return NoiseFloor()


def translation(language: str, message: str) -> str | None:
    """A domain's own translation of ``message`` into ``language``, or None."""
    for d in _REGISTRY.values():
        found = d.labels.get(language, {}).get(message)
        if found:
            return found
    return None


def load_domain_module(path: str, file: str = "", key: str = "domains") -> tuple[Domain, ...]:
    """Import the module ``path`` (e.g. ``"mycity.bikes"``) and register the domains it
    declares: its ``DOMAIN`` (one) or ``DOMAINS`` (several).

    Raises ``ConfigError`` (naming the config ``file`` and ``key``) when the module cannot be
    imported or declares no domain, and for a domain that clashes with a registered one.
    """
    try:
        module = importlib.import_module(path)
    except ImportError as exc:
        raise ConfigError(
            file or path, key, f"cannot import the domain module {path!r}: {exc}"
        ) from None
    found: Iterable[object] = getattr(module, "DOMAINS", ()) or (getattr(module, "DOMAIN", None),)
    domains = tuple(d for d in found if isinstance(d, Domain))
    if not domains:
        raise ConfigError(file or path, key, f"{path}: the module declares no DOMAIN = Domain(...)")
    try:
        return tuple(register(d) for d in domains)
    except ValueError as exc:
        raise ConfigError(file or path, key, f"{path}: {exc}") from None


def load_domain_modules(
    paths: Iterable[str], file: str = "", key: str = "domains"
) -> tuple[Domain, ...]:
    """``load_domain_module`` for each of ``paths``, in order."""
    return tuple(d for p in paths for d in load_domain_module(p, file, key))
