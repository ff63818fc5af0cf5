"""Canonical data of City Cockpit: sites, observations and the metric registry.

Every connector turns a platform's answers into these two frames; the store, the
KPIs and the layouts read nothing else. Frames are pandas DataFrames with fixed
columns and dtypes; ``sites_frame`` and ``observations_frame`` build them and
``validate_observations`` / ``validate_sites`` split the good rows from the rejected
ones, with a reason per rejected row.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal, cast

import numpy as np
import pandas as pd

from cockpit.errors import DataError

__all__ = [
    "ACCESS_LEVELS",
    "DOMAINS",
    "METRICS",
    "OBSERVATION_COLUMNS",
    "ORIGINS",
    "SITE_COLUMNS",
    "Metric",
    "Snapshot",
    "empty_observations",
    "empty_sites",
    "metric",
    "observations_frame",
    "sites_frame",
    "validate_observations",
    "validate_sites",
]

log = logging.getLogger(__name__)

# The domains and metrics the cockpit knows: filled by ``cockpit.domains.register`` (which
# ``import cockpit`` runs for the built-in domains), never written here.
DOMAINS: Final[list[str]] = []
ACCESS_LEVELS: Final = ("public", "internal")
# measured: read live from a platform; replayed: a real recording shifted to now;
# simulated: made by a seeded simulator. Shown to users wherever a value is shown.
ORIGINS: Final = ("measured", "replayed", "simulated")


@dataclass(frozen=True)
class Metric:
    """One quantity the cockpit knows, in its canonical unit; ``people`` marks counts of
    people, which small-group suppression protects."""

    name: str
    label: str
    unit: str
    domain: str
    minimum: float
    maximum: float
    decimals: int = 0
    people: bool = False


METRICS: Final[dict[str, Metric]] = {}

SITE_COLUMNS: Final[dict[str, str]] = {
    "id": "string",
    "name": "string",
    "domain": "string",
    "kind": "string",
    "lat": "float64",
    "lon": "float64",
    "source": "string",
    "access": "string",
    "origin": "string",
    "attributes": "object",
}
OBSERVATION_COLUMNS: Final[dict[str, str]] = {
    "site_id": "string",
    "metric": "string",
    "time": "datetime64[ns, UTC]",
    "value": "float64",
    "unit": "string",
}


def metric(name: str) -> Metric:
    """Return the registered metric ``name``; raises ``DataError`` if it is unknown."""
    try:
        return METRICS[name]
    except KeyError:
        raise DataError(f"unknown metric {name!r}; known: {', '.join(METRICS)}") from None


# The dtypes of SITE_COLUMNS and OBSERVATION_COLUMNS, which pandas-stubs take by name only
# as literals.
_ColumnDtype = Literal["string", "float64", "object", "datetime64[ns, UTC]"]


def _typed(frame: pd.DataFrame, columns: dict[str, str], what: str) -> pd.DataFrame:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{what} frame lacks columns {missing}")
    out = frame[list(columns)].copy()
    for col, name in columns.items():
        dtype = cast(_ColumnDtype, name)
        if dtype.startswith("datetime64"):
            out[col] = pd.to_datetime(out[col], utc=True).astype(dtype)
        else:
            out[col] = out[col].astype(dtype)
    return out.reset_index(drop=True)


def empty_sites() -> pd.DataFrame:
    """An empty site frame with the canonical columns and dtypes."""
    return _typed(pd.DataFrame({c: [] for c in SITE_COLUMNS}), SITE_COLUMNS, "site")


def empty_observations() -> pd.DataFrame:
    """An empty observation frame with the canonical columns and dtypes."""
    return _typed(pd.DataFrame({c: [] for c in OBSERVATION_COLUMNS}), OBSERVATION_COLUMNS, "obs")


def sites_frame(records: list[dict[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """Build a canonical site frame from records or a frame.

    Missing optional columns get defaults (``access`` public, ``origin`` measured,
    ``attributes`` {}); raises ``DataError`` when a required column is absent.
    """
    frame = pd.DataFrame(records) if not isinstance(records, pd.DataFrame) else records.copy()
    if frame.empty:
        return empty_sites()
    defaults: dict[str, Any] = {"access": "public", "origin": "measured", "kind": "sensor"}
    for col, value in defaults.items():
        if col not in frame.columns:
            frame[col] = value
    if "attributes" not in frame.columns:
        # A column of dicts: pandas-stubs allow only scalars in a list.
        frame["attributes"] = [{} for _ in range(len(frame))]  # type: ignore[assignment]
    return _typed(frame, SITE_COLUMNS, "site")


def observations_frame(records: list[dict[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """Build a canonical observation frame; ``unit`` defaults to the metric's canonical unit."""
    frame = pd.DataFrame(records) if not isinstance(records, pd.DataFrame) else records.copy()
    if frame.empty:
        return empty_observations()
    if "unit" not in frame.columns:
        frame["unit"] = frame["metric"].map(lambda m: METRICS[m].unit if m in METRICS else "")
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce")
    return _typed(frame, OBSERVATION_COLUMNS, "observation")


def validate_observations(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split observations into (good, rejected); ``rejected`` has a ``reason`` column.

    A row is rejected for an unknown metric, a unit other than the canonical one, a
    missing time, a missing (NaN) value, or a value outside the metric's range.
    """
    reasons = pd.Series(pd.NA, index=frame.index, dtype="string")
    known = frame["metric"].isin(list(METRICS))
    reasons[~known] = "unknown metric"
    canonical_unit = frame["metric"].map({m.name: m.unit for m in METRICS.values()})
    reasons[known & (frame["unit"] != canonical_unit)] = "unit is not canonical"
    reasons[reasons.isna() & frame["time"].isna()] = "no time"
    values = frame["value"].to_numpy(dtype="float64", na_value=np.nan)
    reasons[reasons.isna() & ~np.isfinite(values)] = "value missing or not finite"
    lo = frame["metric"].map({m.name: m.minimum for m in METRICS.values()}).astype("float64")
    hi = frame["metric"].map({m.name: m.maximum for m in METRICS.values()}).astype("float64")
    out_of_range = (frame["value"] < lo) | (frame["value"] > hi)
    reasons[reasons.isna() & out_of_range.fillna(False)] = "value outside the metric's range"
    bad = reasons.notna()
    rejected = frame[bad].assign(reason=reasons[bad])
    return frame[~bad].reset_index(drop=True), rejected.reset_index(drop=True)


def validate_sites(
    frame: pd.DataFrame, bbox: tuple[float, float, float, float] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split sites into (good, rejected); ``bbox`` is (min_lon, min_lat, max_lon, max_lat).

    A site is rejected for a missing id, an unknown domain, coordinates that are not
    WGS84 numbers, or coordinates outside the city's bounding box (this is also how
    swapped latitude and longitude are caught).
    """
    reasons = pd.Series(pd.NA, index=frame.index, dtype="string")
    reasons[frame["id"].isna() | (frame["id"] == "")] = "no id"
    reasons[reasons.isna() & ~frame["domain"].isin(list(DOMAINS))] = "unknown domain"
    lat, lon = frame["lat"], frame["lon"]
    bad_coords = lat.isna() | lon.isna() | (lat.abs() > 90) | (lon.abs() > 180)
    reasons[reasons.isna() & bad_coords] = "coordinates missing or not WGS84"
    if bbox is not None:
        min_lon, min_lat, max_lon, max_lat = bbox
        outside = ~lon.between(min_lon, max_lon) | ~lat.between(min_lat, max_lat)
        reasons[reasons.isna() & outside] = "coordinates outside the city"
    reasons[reasons.isna() & ~frame["access"].isin(list(ACCESS_LEVELS))] = "unknown access"
    reasons[reasons.isna() & frame["id"].duplicated()] = "duplicate id"
    bad = reasons.notna()
    rejected = frame[bad].assign(reason=reasons[bad])
    return frame[~bad].reset_index(drop=True), rejected.reset_index(drop=True)


@dataclass
class Snapshot:
    """What one read of a source gave: its sites and their latest observations.

    ``fetched_at`` is when the cockpit read it (UTC); ``rejected`` counts rows the
    validators refused, so a person can see that a platform sends bad data.
    """

    source: str
    sites: pd.DataFrame
    observations: pd.DataFrame
    fetched_at: datetime
    rejected: int = 0
    notes: list[str] = field(default_factory=list)
    # One rejected row per note that counts rejected rows (note -> the row, as read).
    examples: dict[str, dict[str, Any]] = field(default_factory=dict)
