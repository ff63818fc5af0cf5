"""How each KPI is computed, read from the code and the city config so it cannot drift.

``kpi_functions()`` names the function in ``cockpit.twin.kpi`` behind each KPI (the
``method`` its domain declares, else the plain aggregation). A
``KpiDefinition`` takes its title and unit from that function (run on empty data), its
method from the function's docstring, its default limits from the function's signature,
the limits in force from the city config (``[kpis.<key>]``), its sources from the
config's layers, and for air quality the bands of ``cockpit.twin.airindex``. The map's state
thresholds and the privacy rule come from the config too. The methodology page renders
only these definitions.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import pandas as pd

from cockpit.auth import may_see
from cockpit.config import CityConfig
from cockpit.domains import domain_of_kpi, kpi_names, kpi_spec
from cockpit.model import METRICS, empty_observations, empty_sites
from cockpit.privacy import PEOPLE_METRICS
from cockpit.twin import airindex, kpi

__all__ = [
    "KpiDefinition",
    "LayerDefinition",
    "Threshold",
    "air_bands",
    "kpi_definitions",
    "kpi_functions",
    "layer_definitions",
    "people_metrics",
]


def kpi_functions() -> dict[str, Callable[..., kpi.Kpi]]:
    """KPI key -> the function of ``cockpit.twin.kpi`` computing it, for every declared
    KPI in the registry's order."""
    return {k: getattr(kpi, kpi_spec(k).method or "aggregate") for k in kpi_names()}


def __getattr__(name: str) -> Any:
    # KPI_FUNCTIONS follows the registry, domains registered later included.
    if name == "KPI_FUNCTIONS":
        return kpi_functions()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# What the warn / alert limits of a calculation mean, in words (levels of
# cockpit.twin.kpi), and their unit where it is not the KPI's own.
_LIMIT_WORDS: Final = {
    "traffic_flow": ("moderate congestion from", "heavy congestion from"),
    "parking_occupancy": ("filling up from", "nearly full from"),
}
_LIMIT_UNITS: Final = {"traffic_flow": "× usual busy-hour flow"}


@dataclass(frozen=True)
class Threshold:
    name: str  # the config key or parameter, e.g. "warn"
    value: float
    unit: str
    meaning: str
    configured: bool  # True when the city config sets it, False for the code's default


@dataclass(frozen=True)
class KpiDefinition:
    """One KPI as the methodology page shows it."""

    key: str
    title: str
    unit: str
    domain: str
    function: str  # e.g. "cockpit.twin.kpi.traffic_flow"
    summary: str  # the docstring's first paragraph
    method: list[str]  # the docstring's further paragraphs
    metrics: list[str]
    sources: list[dict[str, str]]  # name, publisher, licence, origin
    thresholds: list[Threshold] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)  # other defaults, e.g. weeks


@dataclass(frozen=True)
class LayerDefinition:
    """How a map layer colours its sites."""

    id: str
    title: str
    metric: str
    unit: str
    states: list[tuple[str, str]]  # (range, label)


def _clean(text: str) -> str:
    text = re.sub(r"``([^`]+)``", r"\1", text)
    return " ".join(text.split())


def _paragraphs(function: Callable[..., Any]) -> list[str]:
    doc = inspect.getdoc(function) or ""
    paragraphs = [_clean(p) for p in doc.split("\n\n") if p.strip()]
    return [p[:1].upper() + p[1:] for p in paragraphs]


def _empty_kpi(key: str, timezone: str) -> kpi.Kpi:
    """The KPI on no data: its title and unit as the code names them."""
    obs, sites = empty_observations(), empty_sites()
    spec = kpi_spec(key)
    if spec.method == "traffic_flow":
        return kpi.traffic_flow(obs, pd.Series(dtype=float))
    if spec.method == "air_quality":
        return kpi.air_quality(obs, sites)
    if spec.method == "parking_occupancy":
        return kpi.parking_occupancy(obs, sites)
    if spec.method == "footfall":
        return kpi.footfall(obs, obs, timezone)
    return kpi.aggregate(obs, spec)


def _defaults(function: Callable[..., Any]) -> dict[str, Any]:
    return {
        name: p.default
        for name, p in inspect.signature(function).parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def kpi_definitions(config: CityConfig, role: str = "public") -> list[KpiDefinition]:
    """Every KPI the cockpit computes, with the limits and sources in force for ``config``
    (sources limited to those ``role`` may see)."""
    out = []
    for key, function in kpi_functions().items():
        spec = kpi_spec(key)
        empty = _empty_kpi(key, config.city.timezone)
        conf = config.kpis.get(key)
        defaults = _defaults(function)
        thresholds = []
        for i, name in enumerate(("warn", "alert")):
            default = getattr(spec, name)
            if name not in defaults or default is None:
                continue
            configured = getattr(conf, name, None) if conf else None
            words = _LIMIT_WORDS.get(spec.method, ("warn from", "alert from"))[i]
            thresholds.append(
                Threshold(
                    name,
                    float(configured if configured is not None else default),
                    _LIMIT_UNITS.get(spec.method, empty.unit),
                    words,
                    configured is not None,
                )
            )
        paragraphs = _paragraphs(function)
        domain = domain_of_kpi(key).name
        sources = [
            {
                "id": s,
                "name": config.sources[s].name,
                "publisher": config.sources[s].publisher,
                "licence": config.sources[s].licence,
            }
            for s in config.sources_for(domain)
            if may_see(role, config.sources[s].access)
        ]
        out.append(
            KpiDefinition(
                key=key,
                title=(conf.title if conf and conf.title else empty.title),
                unit=empty.unit,
                domain=domain,
                function=f"{function.__module__}.{function.__name__}",
                summary=paragraphs[0] if paragraphs else "",
                method=paragraphs[1:],
                metrics=[METRICS[m].label for m in spec.metrics],
                sources=sources,
                thresholds=thresholds,
                parameters={k: v for k, v in defaults.items() if k not in ("warn", "alert")},
            )
        )
    return out


def air_bands() -> tuple[str, list[str], list[tuple[str, list[str]]]]:
    """The air-quality index: its name, band names, and per pollutant the upper limit of
    each band in µg/m³ (the last band is open-ended)."""
    rows = []
    for metric, limits in airindex._LIMITS.items():
        label = METRICS[metric].label if metric in METRICS else metric.upper()
        cells = [f"≤ {v:g}" for v in limits] + [f"> {limits[-1]:g}"]
        rows.append((label, cells))
    return airindex.INDEX_NAME, list(airindex.BANDS), rows


def layer_definitions(config: CityConfig, role: str = "public") -> list[LayerDefinition]:
    """How each map layer ``role`` may see turns a value into a state."""
    out = []
    for layer_id, layer in config.layers.items():
        if not may_see(role, layer.access):
            continue
        if layer.metric == "eaqi":
            out.append(
                LayerDefinition(
                    layer_id,
                    layer.title,
                    "worst pollutant's band",
                    "EAQI band",
                    [(f"band {i + 1}", b) for i, b in enumerate(airindex.BANDS)],
                )
            )
            continue
        unit = METRICS[layer.metric].unit
        bounds = [None, *layer.thresholds, None]
        states = []
        for i, label in enumerate(layer.labels):
            lo, hi = bounds[i], bounds[i + 1]
            if lo is None and hi is None:
                span = "any value"
            elif lo is None:
                span = f"below {hi:g}"
            elif hi is None:
                span = f"{lo:g} and above"
            else:
                span = f"{lo:g} to below {hi:g}"
            states.append((span, label))
        out.append(
            LayerDefinition(layer_id, layer.title, METRICS[layer.metric].label, unit, states)
        )
    return out


def people_metrics() -> list[str]:
    """Labels of the metrics that count people (the privacy rule applies to them)."""
    return sorted(METRICS[m].label for m in PEOPLE_METRICS if m in METRICS)
