"""Reading platforms' times and numbers the way every connector reads them.

Times become UTC nanosecond timestamps (the canonical frame's unit); a time that cannot
be read, that does not exist or exists twice in the city's local time (daylight saving
changes), or that lies outside the range a platform can mean, becomes NaT and its row is
rejected with that reason. Numbers become floats; anything that is not a number (null,
booleans, objects, non-numeric text) becomes NaN. ``RefusedRows`` keeps the rows a
connector refused while parsing until its next snapshot counts and explains them.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, TypeVar

import numpy as np
import pandas as pd

from cockpit.model import Snapshot, empty_observations, empty_sites
from cockpit.source import rejection_examples

__all__ = [
    "HAS_OFFSET",
    "ISO_START",
    "PLATFORM_MAX",
    "PLATFORM_MIN",
    "Parsed",
    "RefusedRows",
    "as_float",
    "as_floats",
    "combine",
    "iso_times",
    "iso_utc",
    "local_to_utc",
    "nanosecond_times",
    "rejected_frame",
    "utc",
    "whole_hours",
    "within_platform_range",
]

log = logging.getLogger(__name__)

# A text that starts like an ISO 8601 date ("2026-11-24...").
ISO_START: Final = re.compile(r"^\d{4}-\d{2}-\d{2}")
# A time text that ends with its offset from UTC ("Z", "+10:00", "-0330").
HAS_OFFSET: Final = re.compile(r"(?:Z|[+-]\d\d:?\d\d)$", re.IGNORECASE)
# Outside these bounds a time is a platform error (and would overflow nanosecond frames).
PLATFORM_MIN: Final = pd.Timestamp("1970-01-01", tz="UTC")
PLATFORM_MAX: Final = pd.Timestamp("2200-01-01", tz="UTC")
_NS_MIN: Final = pd.Timestamp.min.tz_localize("UTC")
_NS_MAX: Final = pd.Timestamp.max.tz_localize("UTC")

Times = TypeVar("Times", pd.DatetimeIndex, pd.Series)


def utc(moment: datetime | pd.Timestamp) -> pd.Timestamp:
    """``moment`` as a UTC timestamp; a naive time is read as UTC (the connector interface
    promises UTC, so a naive one is taken at its word rather than refused)."""
    stamp = pd.Timestamp(moment)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def as_float(value: Any) -> float:
    """A JSON number (or numeric text, as some platforms send) as float; NaN otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return math.nan
    try:
        return float(value)
    except (ValueError, OverflowError):
        return math.nan


def as_floats(values: list[Any]) -> np.ndarray:
    """``as_float`` of each value, as a float64 array."""
    return np.fromiter(map(as_float, values), dtype=np.float64, count=len(values))


def whole_hours(hours: np.ndarray) -> np.ndarray:
    """Hours of the day (0 to 23, whole numbers) as floats; NaN for anything else."""
    numbers = np.asarray(hours, dtype=np.float64)
    whole = (numbers >= 0) & (numbers <= 23) & (numbers == np.floor(numbers))
    return np.where(whole, numbers, np.nan)


def local_to_utc(naive: Times, zone: str) -> Times:
    """Naive local times in ``zone`` as UTC; a local time that does not exist or exists
    twice (daylight saving changes) becomes NaT rather than a guess."""
    if isinstance(naive, pd.Series):
        local = naive.dt.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
        return local.dt.tz_convert("UTC")
    return naive.tz_localize(zone, ambiguous="NaT", nonexistent="NaT").tz_convert("UTC")


def nanosecond_times(index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """``index`` in UTC nanoseconds; times that do not fit (e.g. year 0001) become NaT."""
    inside = (index >= _NS_MIN) & (index <= _NS_MAX)
    return pd.DatetimeIndex(index.where(inside)).as_unit("ns")


def iso_times(texts: list[str | None]) -> pd.DatetimeIndex:
    """UTC times of ISO 8601 texts (a naive one is UTC); anything unreadable or outside
    nanosecond range becomes NaT."""
    try:
        boxed = pd.Index(texts, dtype=object)
        parsed = pd.DatetimeIndex(
            pd.to_datetime(boxed, format="ISO8601", utc=True, errors="coerce")
        )
    except (ValueError, TypeError, OverflowError):
        # Values pandas cannot coerce together are read one by one.
        parsed = pd.DatetimeIndex([_one_time(t) for t in texts], tz="UTC")
    return nanosecond_times(parsed)


def _one_time(text: str | None) -> Any:
    if text is None:
        return pd.NaT
    try:
        stamp = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    except (ValueError, TypeError, OverflowError):
        return pd.NaT
    return stamp if isinstance(stamp, pd.Timestamp) else pd.NaT


def iso_utc(values: pd.Series) -> pd.Series:
    """UTC times of a column of ISO 8601 texts (a naive one is UTC); NaT for anything
    that is not such a text or lies outside ``PLATFORM_MIN``..``PLATFORM_MAX``."""
    ok = values.map(lambda v: isinstance(v, str) and ISO_START.match(v) is not None)
    text = values.where(ok, None).astype("object")
    parsed = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
    return within_platform_range(parsed)


def within_platform_range(parsed: pd.Series) -> pd.Series:
    """UTC nanosecond times, NaT outside ``PLATFORM_MIN``..``PLATFORM_MAX`` (bounded
    first: a year like 2300 parses, but does not fit in nanoseconds)."""
    inside = parsed.where((parsed >= PLATFORM_MIN) & (parsed <= PLATFORM_MAX))
    return inside.astype("datetime64[ns, UTC]") if len(inside) else inside


def rejected_frame(frames: list[pd.DataFrame], columns: Sequence[str]) -> pd.DataFrame:
    """Frames of refused rows as one frame of ``columns`` (site, reason, ...), empty when
    there are none."""
    keep = [f for f in frames if not f.empty]
    if not keep:
        return pd.DataFrame({c: pd.Series([], dtype="object") for c in columns})
    return pd.concat(keep, ignore_index=True)[list(columns)]


@dataclass(frozen=True)
class Parsed:
    """What one platform answer gave: canonical sites and observations, and the rows
    refused (each with a ``reason``)."""

    sites: pd.DataFrame
    observations: pd.DataFrame
    rejected: pd.DataFrame


def combine(parts: Sequence[Parsed], columns: Sequence[str]) -> Parsed:
    """The answers of several pages or queries as one: each site once (the first seen),
    every observation, every refused row (in ``columns``)."""
    sites = [p.sites for p in parts if not p.sites.empty]
    obs = [p.observations for p in parts if not p.observations.empty]
    return Parsed(
        pd.concat(sites, ignore_index=True).drop_duplicates("id").reset_index(drop=True)
        if sites
        else empty_sites(),
        pd.concat(obs, ignore_index=True) if obs else empty_observations(),
        rejected_frame([p.rejected for p in parts], columns),
    )


class RefusedRows:
    """The rows one connector refused while parsing (each with a ``reason``), logged as
    they come and kept until the next snapshot counts them and names the reasons."""

    # Batches kept between snapshots at the most; older ones were logged already.
    KEEP: Final = 50

    def __init__(self, source_id: str, columns: Sequence[str], what: str) -> None:
        self.source_id = source_id
        self.columns = tuple(columns)
        self.what = what  # "row", "reading": what a person calls one refused item
        self._frames: list[pd.DataFrame] = []

    def note(self, rejected: pd.DataFrame) -> None:
        """Log each reason of ``rejected`` and keep its rows for the next snapshot."""
        if rejected.empty:
            return
        for reason, n in rejected["reason"].value_counts().items():
            log.warning("source %s: rejected %d %s(s): %s", self.source_id, n, self.what, reason)
        self._frames = [*self._frames[-self.KEEP :], rejected]

    def clear(self) -> None:
        self._frames = []

    def count_into(self, snap: Snapshot) -> Snapshot:
        """``snap`` with the rows refused since ``clear`` added to its count and notes;
        forgets them."""
        refused = rejected_frame(self._frames, self.columns)
        self._frames = []
        if not refused.empty:
            snap.rejected += len(refused)
            counts = refused["reason"].value_counts()
            snap.notes.extend(
                f"rejected {n} {self.what}(s): {reason}" for reason, n in counts.items()
            )
            snap.examples.update(rejection_examples(self.what, refused, f"{self.what}(s)"))
        return snap
