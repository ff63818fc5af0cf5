"""The twin per district: one figure of a map layer's measure for each district, with its
state against typical, its newest observation and its sources.

This is what the 3D view of the twin draws (a prism per district, as tall as the figure):
it is made on the server from the same site states the 2D map shows, so its size and
cost follow the number of districts, never the number of sites.

A district's figure combines its sites' values the way the layer's domain combines them
for its KPI (``cockpit.twin.combining``, the rule the 3D view's hexagons share): a sum
for counts that add up (footfall), a mean for intensities, the occupied share in % for
bays, the worst European air quality index band. Its word against typical is the one
most of its sites have among those with a baseline, as the 2D map's clusters say it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from cockpit.domains import Aggregation, get
from cockpit.model import METRICS
from cockpit.twin.airindex import INDEX_NAME
from cockpit.twin.combining import combine, site_numbers

__all__ = [
    "TYPICAL_WORDS",
    "DistrictFigure",
    "Measure",
    "district_figures",
    "measure_of",
    "typical_words",
]

# A baseline state (``cockpit.twin.baseline``) -> the map's word for it: below / typical /
# above (sites without a baseline are "unknown").
TYPICAL_WORDS: Mapping[str, str] = {
    "well below": "below",
    "typical": "typical",
    "well above": "above",
}


@dataclass(frozen=True)
class Measure:
    """What a district's figure of a map layer is: its name, unit and how sites combine."""

    layer: str
    metric: str  # the layer's metric ("eaqi": the air index band of the worst pollutant)
    title: str  # the layer's title ("Pedestrians")
    label: str  # the figure's name ("Pedestrians", "Air quality index")
    unit: str  # "persons/h", "%", "" for the air index band
    aggregation: Aggregation
    decimals: int


@dataclass(frozen=True)
class DistrictFigure:
    """One district's figure of a measure at one moment.

    ``value`` is in the measure's unit; ``sites`` how many sites with a value it combines;
    ``typical`` below / typical / above / unknown; ``observed`` its newest observation and
    ``oldest`` its oldest; ``sources`` the source ids of its sites; ``stale`` whether any
    of them is stale."""

    district: str
    value: float
    sites: int
    typical: str
    observed: datetime
    oldest: datetime
    sources: tuple[str, ...]
    stale: bool


def measure_of(layer_id: str, title: str, domain: str, metric: str) -> Measure:
    """The measure of a map layer (its id, title, domain and metric, as configured)."""
    if metric == "eaqi":
        return Measure(layer_id, metric, title, INDEX_NAME, "", "max", 0)
    spec = next(
        (k for k in get(domain).kpis if metric in k.metrics),
        get(domain).kpi,
    )
    known = METRICS[metric]
    if spec.aggregation == "share":
        return Measure(layer_id, metric, title, spec.title, "%", "share", 0)
    return Measure(
        layer_id, metric, title, known.label, known.unit, spec.aggregation, known.decimals
    )


def typical_words(states: pd.DataFrame) -> dict[str, str]:
    """Each site's word against typical (below / typical / above), from the twin's site
    states (``cockpit.twin.baseline.site_states``): its metric furthest from typical
    decides; sites without a baseline are left out."""
    known = states[states["state"].isin(list(TYPICAL_WORDS))]
    if known.empty:
        return {}
    strongest = known.assign(s=known["z"].abs()).sort_values("s").groupby("site_id").tail(1)
    return {
        str(site): TYPICAL_WORDS[str(state)]
        for site, state in zip(strongest["site_id"], strongest["state"], strict=True)
    }


def district_figures(
    states: pd.DataFrame,
    sites: pd.DataFrame,
    measure: Measure,
    typical: Mapping[str, str],
    stale_sources: set[str] | frozenset[str] = frozenset(),
    stale_sites: set[str] | frozenset[str] = frozenset(),
) -> list[DistrictFigure]:
    """The figure of ``measure`` for every district with at least one site value.

    ``states`` are the layer's site states as the 2D map has them (``site_id``, ``value``,
    ``time``, ``state``; ``cockpit.twin.states.site_states``), ``sites`` the sites with
    their ``district`` and ``source`` (a site without a district is left out), ``typical``
    each site's word against typical (``typical_words``), ``stale_sources`` the ids of the
    sources that are stale and ``stale_sites`` those of sites with a stale stream.
    Districts come in alphabetical order. Raises nothing: no values give no districts."""
    if sites.empty:
        return []
    placed = sites.loc[sites["district"].fillna("").astype(str) != "", ["id", "district", "source"]]
    rows = site_numbers(states, placed, measure.metric, typical, stale_sources, stale_sites)
    if rows.empty:
        return []
    codes, names = pd.factorize(rows["district"].astype(str), sort=True)
    found = combine(codes, rows, measure.aggregation)
    return [
        DistrictFigure(
            district=str(names[code]),
            value=float(found.value[i]),
            sites=int(found.sites[i]),
            typical=found.typical[i],
            observed=found.observed[i].to_pydatetime(),
            oldest=found.oldest[i].to_pydatetime(),
            sources=found.sources[i],
            stale=bool(found.stale[i]),
        )
        for i, code in enumerate(found.codes)
    ]
