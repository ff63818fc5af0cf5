"""What ``discover`` found at a URL: the platform, and each collection of records it
serves (a dataset, a layer, an entity type, a group of Datastreams) with the source a
draft config would give it."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as _field
from typing import Any

__all__ = ["Collection", "Discovery", "FieldInfo", "Guess"]


@dataclass
class FieldInfo:
    """One field of a collection's records: its kind, unit, a sample and the range of
    the numbers seen."""

    name: str
    kind: str  # number, text, time, date, position, bool, object, empty
    sample: Any = None
    unit: str = ""
    low: float | None = None
    high: float | None = None


@dataclass
class Guess:
    """A metric proposed for a field: why, and how sure (names and unit agree, or only one)."""

    field: str
    metric: str
    unit: str
    why: str
    unit_stated: bool = True
    # served state text -> number, for a field of words (e.g. "Present" -> 1)
    map: dict[str, float] = _field(default_factory=dict)
    # the largest value seen (for the draft's map thresholds)
    high: float | None = None
    # the field's own name says the metric (not only the dataset's title)
    by_name: bool = True


@dataclass
class Collection:
    """One thing served at the URL that can become a source.

    ``source`` is the ``[sources.<id>]`` table proposed (connector, url, options);
    ``positions`` the (lat, lon) of the sites seen, ``checks`` what the data officer
    should look at before trusting the draft.
    """

    title: str
    kind: str  # "dataset", "layer", "entity type", "datastreams", "feed", "file"
    domain: str | None
    source: dict[str, Any]
    fields: list[FieldInfo] = _field(default_factory=list)
    guesses: list[Guess] = _field(default_factory=list)
    sample: Any = None
    positions: list[tuple[float, float]] = _field(default_factory=list)
    sites: int = 0
    checks: list[str] = _field(default_factory=list)
    naive_times: bool = False
    # the metric the map colours sites by (default: the domain's map rule, else a guess)
    layer_metric: str = ""

    @property
    def usable(self) -> bool:
        """Whether the collection got a domain and at least one metric."""
        return self.domain is not None and bool(self.source)


@dataclass
class Discovery:
    """The platform recognised at ``url`` and its collections."""

    url: str
    platform: str
    evidence: str
    collections: list[Collection] = _field(default_factory=list)
    notes: list[str] = _field(default_factory=list)
