"""How the sites of one place (a district, a hexagon, a single site) combine into one
figure of a map layer's measure, for all places at once.

The rule is the layer's domain's own for its KPI: a sum for counts that add up
(footfall), a mean for intensities (traffic flow at the typical intersection), the
occupied share in % for places that are free or taken (bays), the worst for health
limits (the European air quality index band, 1 good … 6 extremely poor). A place's word
against typical is the one most of its sites have among those with a baseline, as the 2D
map's clusters say it. Every step is one vectorised pass over the sites, so a million
sites combine in about a second whatever the number of places.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cockpit.domains import Aggregation
from cockpit.twin.airindex import BANDS

__all__ = ["WORDS", "Combined", "combine", "site_numbers"]

# The words against typical a place can have; "unknown" when none of its sites has a
# baseline. Ties go to the first of below / typical / above, as the 2D map's clusters.
WORDS = ("below", "typical", "above", "unknown")


@dataclass(frozen=True)
class Combined:
    """The figures of the places that have at least one site value, by place code
    (ascending). Arrays are aligned: ``value`` in the measure's unit, ``sites`` how many
    site values each combines, ``typical`` its word (``WORDS``), ``observed`` and
    ``oldest`` its newest and oldest observation (UTC), ``sources`` its sites' source
    ids (sorted), ``stale`` whether any of its sources or site streams is stale."""

    codes: np.ndarray
    value: np.ndarray
    sites: np.ndarray
    typical: tuple[str, ...]
    observed: pd.DatetimeIndex
    oldest: pd.DatetimeIndex
    sources: tuple[tuple[str, ...], ...]
    stale: np.ndarray

    def __len__(self) -> int:
        return len(self.codes)


def site_numbers(
    states: pd.DataFrame,
    sites: pd.DataFrame,
    metric: str,
    typical: Mapping[str, str],
    stale_sources: set[str] | frozenset[str] = frozenset(),
    stale_sites: set[str] | frozenset[str] = frozenset(),
) -> pd.DataFrame:
    """The layer's site states (``site_id``, ``value``, ``time``, ``state``) joined to
    ``sites`` (``id``, ``source`` and whatever else ``sites`` carries, e.g. ``district``,
    ``lat``, ``lon``, ``name``), one row per site with a number to combine: ``number``
    (the value, or for ``metric`` "eaqi" the air index band its state names), ``word``
    (its word against typical from ``typical``, else "unknown"), ``when`` (UTC) and
    ``stale`` (its source or its stream is stale). Sites without a number are left out."""
    if states.empty or sites.empty:
        return pd.DataFrame(columns=["site_id", "number", "word", "when", "stale", "source"])
    joined = states.merge(sites, left_on="site_id", right_on="id", how="inner")
    joined = joined[joined["value"].notna()]
    if metric == "eaqi":
        bands = {label: i + 1 for i, label in enumerate(BANDS)}
        number = joined["state"].map(bands).astype(float)
    else:
        number = joined["value"].astype(float)
    ids = joined["site_id"].astype(str)
    source = joined["source"].astype(str)
    word = ids.map(pd.Series(dict(typical), dtype=object)).astype(object)
    joined = joined.assign(
        site_id=ids,
        source=source,
        number=number.to_numpy(),
        word=word.where(word.notna(), "unknown").to_numpy(),
        when=pd.to_datetime(joined["time"], utc=True),
        stale=(source.isin(list(stale_sources)) | ids.isin(list(stale_sites))).to_numpy(),
    )
    return joined[joined["number"].notna()].reset_index(drop=True)


def combine(codes: np.ndarray, rows: pd.DataFrame, how: Aggregation) -> Combined:
    """The figure of each place from ``rows`` (``site_numbers``), each row's place given
    by ``codes`` (non-negative integers aligned with ``rows``), combined by ``how``.
    Raises ``ValueError`` when ``codes`` and ``rows`` differ in length."""
    codes = np.asarray(codes, dtype=np.int64)
    if len(codes) != len(rows):
        raise ValueError(f"{len(codes)} place codes for {len(rows)} sites")
    if not len(rows):
        empty = pd.DatetimeIndex([], tz="UTC")
        none = np.array([], dtype=np.int64)
        return Combined(none, np.array([]), none, (), empty, empty, (), np.array([], bool))
    places, inverse = np.unique(codes, return_inverse=True)
    n = len(places)
    numbers = rows["number"].to_numpy(dtype=float)
    count = np.bincount(inverse, minlength=n)
    if how == "max":
        value = np.full(n, -np.inf)
        np.maximum.at(value, inverse, numbers)
    else:
        total = np.bincount(inverse, weights=numbers, minlength=n)
        value = total if how == "sum" else total / count
        if how == "share":
            value = 100.0 * value
    return Combined(
        codes=places,
        value=value,
        sites=count,
        typical=_majority(inverse, rows["word"], n),
        observed=_extreme(inverse, rows["when"], n, np.maximum),
        oldest=_extreme(inverse, rows["when"], n, np.minimum),
        sources=_sources(inverse, rows["source"], n),
        stale=np.bincount(inverse, weights=rows["stale"].to_numpy(dtype=float), minlength=n) > 0,
    )


def _majority(inverse: np.ndarray, words: pd.Series, n: int) -> tuple[str, ...]:
    """Each place's word most of its sites have among below / typical / above."""
    known = {w: i for i, w in enumerate(WORDS)}
    index = words.map(known).fillna(len(WORDS) - 1).to_numpy(dtype=np.int64)
    counts = np.bincount(inverse * len(WORDS) + index, minlength=n * len(WORDS))
    counts = counts.reshape(n, len(WORDS))[:, :3]
    best = np.where(counts.max(axis=1) > 0, counts.argmax(axis=1), len(WORDS) - 1)
    return tuple(WORDS[i] for i in best)


def _extreme(inverse: np.ndarray, when: pd.Series, n: int, pick: np.ufunc) -> pd.DatetimeIndex:
    ns = pd.DatetimeIndex(when).as_unit("ns").asi8
    start = np.iinfo(np.int64).min if pick is np.maximum else np.iinfo(np.int64).max
    out = np.full(n, start, dtype=np.int64)
    pick.at(out, inverse, ns)
    return pd.to_datetime(out, utc=True)


def _sources(inverse: np.ndarray, source: pd.Series, n: int) -> tuple[tuple[str, ...], ...]:
    """Each place's source ids, sorted (a city has a few sources, so a place × source
    table is small)."""
    which, ids = pd.factorize(source, sort=True)
    seen = np.bincount(inverse * len(ids) + which, minlength=n * len(ids)).reshape(n, len(ids))
    names = np.asarray(ids, dtype=object)
    return tuple(tuple(str(s) for s in names[row > 0]) for row in seen)
