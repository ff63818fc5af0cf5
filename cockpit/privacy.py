"""Privacy by design: small counts of people are never shown as they are.

A count of people below the city's minimum group size (``privacy.min_group_size``, k)
could single someone out, so screens, exports and the API show it as "< k" instead.
Only metrics that count people are concerned (``PEOPLE_METRICS``); vehicle flows,
pollutant concentrations and parking bays are not about persons.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Set
from typing import Final

import pandas as pd

from cockpit.model import METRICS

__all__ = [
    "PEOPLE_METRICS",
    "counts_people",
    "kpi_suppressed",
    "mask_frame",
    "masked_label",
    "suppressed",
]


class _PeopleMetrics(Set[str]):
    """The registered metrics whose value is a number of persons (``Metric.people``)."""

    def __contains__(self, name: object) -> bool:
        found = METRICS.get(name) if isinstance(name, str) else None
        return found is not None and found.people

    def __iter__(self) -> Iterator[str]:
        return iter([n for n, m in METRICS.items() if m.people])

    def __len__(self) -> int:
        return sum(1 for m in METRICS.values() if m.people)


# Metrics whose value is a number of persons, as their domains declare them.
PEOPLE_METRICS: Final = _PeopleMetrics()


def counts_people(metric: str) -> bool:
    """True when ``metric`` counts persons (and so falls under the minimum group size)."""
    return metric in PEOPLE_METRICS


def suppressed(metric: str, value: float, min_group_size: int) -> bool:
    """True when ``value`` of ``metric`` must not be shown: a count of people below
    ``min_group_size`` (0 turns the rule off). Missing values are not suppressed."""
    if min_group_size <= 0 or not counts_people(metric):
        return False
    return not math.isnan(value) and value < min_group_size


def kpi_suppressed(metrics: Iterable[str], value: float | None, min_group_size: int) -> bool:
    """True when a KPI computed from ``metrics`` must not show ``value``: the KPI counts
    people (every metric it reads does) and ``value`` is below ``min_group_size``. A KPI
    that reads no people count (air quality, parking, traffic) is never masked."""
    read = list(metrics)
    if value is None or not read or not all(counts_people(m) for m in read):
        return False
    return suppressed(read[0], float(value), min_group_size)


def masked_label(min_group_size: int) -> str:
    """What is shown instead of a suppressed count, e.g. "< 5"."""
    return f"< {min_group_size}"


def mask_frame(observations: pd.DataFrame, min_group_size: int) -> pd.DataFrame:
    """A copy of ``observations`` (canonical columns) where suppressed values are removed.

    ``value`` becomes NaN where suppressed, ``suppressed`` says which rows, and
    ``value_text`` holds the text to show ("< k" or the plain number), so no export or
    API answer can carry the original small count.
    """
    out = observations.copy()
    flags = [
        suppressed(str(m), float(v), min_group_size)
        for m, v in zip(out["metric"], out["value"], strict=True)
    ]
    out["suppressed"] = pd.array(flags, dtype="bool")
    out["value"] = out["value"].astype(float).mask(out["suppressed"])
    label = masked_label(min_group_size)
    out["value_text"] = [
        label if flag else ("" if math.isnan(v) else _plain(v))
        for flag, v in zip(flags, out["value"], strict=True)
    ]
    return out


def _plain(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)
