"""Helpers the record-shaped connectors share: numbers, times and positions as platforms
serve them, a flat-record mapping, and options read with errors that name the key.

A record is one flat JSON object (an ArcGIS feature's attributes, a Socrata row, a CSV
row). ``RecordMapping`` says which of its fields is the site id, the name, the time, the
position and the value of each metric; ``map_records`` turns a list of records into a
canonical site frame and observation frame and counts the rows it could not read, with
a reason each. Values that cannot be read are NaN and times NaT: the model's validators
then reject them with their reason, never a guess.
"""

from __future__ import annotations

import math
import re
import warnings
from abc import abstractmethod
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from cockpit.config import Domain
from cockpit.errors import DataError
from cockpit.model import (
    METRICS,
    Snapshot,
    empty_observations,
    empty_sites,
    observations_frame,
    sites_frame,
)
from cockpit.source import Connector, SourceContext, native_id_text
from connectors.units import canonical_unit_factor

__all__ = [
    "MappedConnector",
    "MappedRecords",
    "RecordMapping",
    "ValueSpec",
    "as_number",
    "in_window",
    "latest_start",
    "map_records",
    "newest",
    "note_rejections",
    "parse_time",
    "zone",
]

_HAS_OFFSET: Final = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$", re.IGNORECASE)
_MIN_TIME: Final = datetime(1970, 1, 2, tzinfo=UTC)
_MAX_TIME: Final = datetime(2200, 1, 1, tzinfo=UTC)
# Epoch numbers above this are milliseconds (1e11 s is the year 5138).
_EPOCH_MS_FROM: Final = 1e11


def as_number(value: Any) -> float:
    """A number from a JSON number or a numeric text ("12", " 3.5 ", "3,5" with a decimal
    comma, as European CSV files write it); NaN otherwise, and for infinities."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return math.nan
    try:
        number = float(value.strip().replace(",", ".") if isinstance(value, str) else value)
    except (ValueError, OverflowError):
        return math.nan
    return number if math.isfinite(number) else math.nan


def zone(name: str) -> ZoneInfo:
    """The time zone ``name``; raises ``DataError`` for an unknown one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise DataError(f"unknown time zone {name!r}") from exc


def parse_time(value: Any, tz: ZoneInfo, fmt: str = "") -> datetime | None:
    """A UTC time from what platforms serve, or None.

    ``fmt`` is ``"epoch_s"``, ``"epoch_ms"``, a ``strptime`` format, or empty: then a
    number is epoch seconds (milliseconds when it is that large), a numeric text too, and
    any other text is ISO 8601. A time without an offset (or a date alone) is local to
    ``tz``; local times that do not exist or repeat at a DST change give None.
    """
    if value is None or isinstance(value, bool):
        return None
    if fmt in ("", "epoch_s", "epoch_ms") and (
        isinstance(value, int | float) or (isinstance(value, str) and _numeric(value))
    ):
        if fmt == "" and isinstance(value, str) and len(value.strip()) == 8:
            return _local(value.strip(), tz, "%Y%m%d")  # 20240817 is a date, not a second
        number = as_number(value)
        if math.isnan(number):
            return None
        if fmt == "epoch_ms" or (fmt == "" and abs(number) >= _EPOCH_MS_FROM):
            number /= 1000.0
        return _bounded_epoch(number)
    if not isinstance(value, str) or not value.strip() or fmt in ("epoch_s", "epoch_ms"):
        return None
    text = value.strip()
    if fmt:
        return _local(text, tz, fmt)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return _localise(parsed, tz)
    return _bounded(parsed.astimezone(UTC))


def _numeric(text: str) -> bool:
    return bool(re.fullmatch(r"\s*-?\d+(\.\d+)?\s*", text))


def _bounded_epoch(seconds: float) -> datetime | None:
    try:
        return _bounded(datetime.fromtimestamp(seconds, UTC))
    except (OverflowError, OSError, ValueError):
        return None


def _bounded(when: datetime) -> datetime | None:
    return when if _MIN_TIME <= when <= _MAX_TIME else None


def _local(text: str, tz: ZoneInfo, fmt: str) -> datetime | None:
    try:
        parsed = datetime.strptime(text, fmt)
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        return _bounded(parsed.astimezone(UTC))
    return _localise(parsed, tz)


def _localise(naive: datetime, tz: ZoneInfo) -> datetime | None:
    """``naive`` read in ``tz``; None for a wall time that is skipped or repeated."""
    first = naive.replace(tzinfo=tz, fold=0)
    second = naive.replace(tzinfo=tz, fold=1)
    if first.utcoffset() != second.utcoffset():
        return None  # repeated (autumn) or skipped (spring) local hour
    if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != naive:
        return None
    return _bounded(first.astimezone(UTC))


# --------------------------------------------------------------------------- mapping


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_FIELD: Final = re.compile(r"^[^\x00-\x1f]{1,200}$")


class ValueSpec(_Strict):
    """Where one metric's value is: a ``field`` (or ``fields``, added up: e.g. the two
    directions of a counter), its ``unit`` as published, or a ``map`` of categories."""

    field: str = ""
    fields: list[str] = []
    unit: str = ""
    map: dict[str, float] = {}

    @model_validator(mode="after")
    def _check(self) -> ValueSpec:
        if bool(self.field) == bool(self.fields):
            raise ValueError("give either field or fields")
        if not self.unit and not self.map:
            raise ValueError("give the field's unit (or a map of its categories)")
        return self

    def names(self) -> list[str]:
        """The record fields this value reads."""
        return [self.field] if self.field else list(self.fields)


class RecordMapping(_Strict):
    """Which field of a flat record is what. Without an ``id`` field the dataset is one
    site, named by ``site_id``; without position fields every site is at ``location``
    ([lat, lon]) or at the position the platform gives beside the record (a geometry)."""

    domain: Domain
    kind: str = "sensor"
    id: str = ""
    site_id: str = ""
    name: str = ""
    site_name: str = ""
    time: str = ""
    # A second field holding the hour of day (0-23) added to a date in ``time``.
    hour: str = ""
    # "epoch_s", "epoch_ms" or a strptime format; empty: ISO 8601 or epoch numbers.
    time_format: str = ""
    # Zone of times without an offset; empty: the city's.
    timezone: str = ""
    lat: str = ""
    lon: str = ""
    location: tuple[float, float] | None = None
    values: dict[str, ValueSpec] = Field(min_length=1)
    # Fields copied into each site's attributes.
    attributes: list[str] = []

    @model_validator(mode="after")
    def _check(self) -> RecordMapping:
        if bool(self.id) == bool(self.site_id):
            raise ValueError("give either id (a field) or site_id (one site for the dataset)")
        if bool(self.lat) != bool(self.lon):
            raise ValueError("lat and lon go together")
        if self.hour and not self.time:
            raise ValueError("hour needs a time (date) field")
        if self.timezone:
            try:
                zone(self.timezone)
            except DataError as exc:
                raise ValueError(str(exc)) from None
        if self.location is not None:
            lat, lon = self.location
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise ValueError("location is [lat, lon] in WGS84 degrees")
        for metric_name, value in self.values.items():
            if metric_name not in METRICS:
                raise ValueError(f"values names unknown metric {metric_name!r}")
            if value.unit:
                try:
                    canonical_unit_factor(metric_name, value.unit)
                except DataError as exc:
                    raise ValueError(f"values.{metric_name}.unit: {exc}") from None
        return self

    def fields_read(self) -> list[str]:
        """Every record field the mapping reads (for a platform's ``outFields``/``$select``)."""
        names = [self.id, self.name, self.time, self.hour, self.lat, self.lon, *self.attributes]
        names += [n for v in self.values.values() for n in v.names()]
        return list(dict.fromkeys(n for n in names if n))


@dataclass
class MappedRecords:
    """Sites and observations read from records, and why rows were dropped (counts)."""

    sites: pd.DataFrame
    observations: pd.DataFrame
    rejected: Counter[str] = field(default_factory=Counter)


def _numbers(values: pd.Series) -> pd.Series:
    """``as_float`` of each value, vectorised: numbers and numeric texts, NaN otherwise."""
    raw = values.to_numpy(dtype=object)
    if any(type(v) is bool for v in raw):
        values = values.where(pd.Series([type(v) is not bool for v in raw], index=values.index))
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    missing = numbers.isna().to_numpy()
    if missing.any():
        # Texts to_numeric refuses but as_float reads ("3,5", " 12 ").
        retry = [i for i in np.flatnonzero(missing) if isinstance(raw[i], str) and raw[i].strip()]
        if retry:
            fixed = [as_number(raw[i]) for i in retry]
            array = numbers.to_numpy(dtype="float64", copy=True)
            array[np.asarray(retry, dtype=np.intp)] = fixed
            numbers = pd.Series(array, index=values.index)
    return numbers.where(np.isfinite(numbers))


def _per_value(values: pd.Series, func: Callable[[Any], Any]) -> pd.Series:
    """``values.map(func)``, calling ``func`` once per distinct value (ids and dates
    repeat over many rows); values that cannot be hashed are mapped one by one."""
    raw = values.to_numpy(dtype=object)
    if any(type(v) is bool for v in raw):  # True == 1 would share 1's result
        return values.map(func).astype("object")
    try:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    except TypeError:
        return values.map(func).astype("object")
    mapped = np.array([func(u) for u in uniques] + [func(None)], dtype=object)
    return pd.Series(mapped[codes], index=values.index, dtype="object")


def _as_utc(parsed: pd.Series) -> pd.Series:
    out = pd.to_datetime(parsed, utc=True, errors="coerce")
    return out.where((out >= _MIN_TIME) & (out <= _MAX_TIME))


def _localised(naive: pd.Series, tz: ZoneInfo) -> pd.Series:
    """Naive wall times read in ``tz``; skipped or repeated hours give NaT."""
    if naive.empty:
        return pd.Series(pd.NaT, index=naive.index, dtype="datetime64[ns, UTC]")
    local = naive.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    return _as_utc(local.dt.tz_convert("UTC"))


def _iso_texts(text: pd.Series, tz: ZoneInfo) -> pd.Series:
    """ISO 8601 texts to UTC: with an offset as given, without one local to ``tz``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            parsed = pd.to_datetime(text, errors="coerce", format="ISO8601")
    except (ValueError, TypeError, Warning):
        parsed = None
    if parsed is not None and isinstance(parsed.dtype, pd.DatetimeTZDtype):
        return _as_utc(parsed.dt.tz_convert("UTC"))
    if parsed is not None and parsed.dtype.kind == "M":
        return _localised(parsed, tz)  # every text without an offset
    # Texts with and without offsets mixed: each group on its own.
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]")
    aware = text.str.contains(_HAS_OFFSET, regex=True).fillna(False).astype(bool)
    if aware.any():
        shown = text[aware].str.replace(r"[zZ]$", "+00:00", regex=True)
        out[aware] = _as_utc(pd.to_datetime(shown, utc=True, errors="coerce", format="ISO8601"))
    if (~aware).any():
        naive = pd.to_datetime(text[~aware], errors="coerce", format="ISO8601")
        out[~aware] = _localised(naive, tz)
    return out


def _times(raw: pd.Series, fmt: str, tz: ZoneInfo) -> pd.Series:
    """``parse_time`` of each value, vectorised (UTC, NaT where unusable)."""
    out = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns, UTC]")
    if raw.empty:
        return out
    values = raw.to_numpy(dtype=object)
    is_text = np.fromiter(
        (isinstance(v, str) and not v.isspace() and v != "" for v in values), bool, len(values)
    )
    if fmt not in ("epoch_s", "epoch_ms") and is_text.any():
        text = raw[is_text]
        if fmt:
            if "%z" in fmt or "%Z" in fmt:
                parsed = pd.to_datetime(text, format=fmt, errors="coerce", utc=True)
                out[is_text] = _as_utc(parsed)
            else:
                out[is_text] = _localised(pd.to_datetime(text, format=fmt, errors="coerce"), tz)
        else:
            # ISO 8601 (a plain 20240817 is ISO's basic date); the rest tried as epoch texts.
            out[is_text] = _iso_texts(text, tz)
            padded = is_text & out.isna().to_numpy()
            if padded.any():  # texts with spaces around them
                out[padded] = _iso_texts(raw[padded].str.strip(), tz)
        if fmt:
            return out
    # Epoch numbers (and numeric texts): seconds, or milliseconds when that large.
    rest = out.isna().to_numpy()
    if rest.any():
        numbers = _numbers(raw[rest])
        seconds = numbers / 1000.0 if fmt == "epoch_ms" else numbers
        if fmt == "":
            seconds = seconds.where(seconds.abs() < _EPOCH_MS_FROM, seconds / 1000.0)
        seconds = seconds.where(seconds.abs() < _EPOCH_MS_FROM)
        epoch = seconds.notna()
        if epoch.any():
            parsed = pd.to_datetime(seconds[epoch], unit="s", utc=True, errors="coerce")
            out[epoch[epoch].index] = _as_utc(parsed)
    return out


def _hour_times(days: pd.Series, hours: pd.Series, fmt: str, tz: ZoneInfo) -> pd.Series:
    """A date column plus an hour-of-day column, read in ``tz``."""
    text = _per_value(days, lambda v: v.strip()[:10] if isinstance(v, str) else None)
    dates = pd.to_datetime(text, format=fmt or "%Y-%m-%d", errors="coerce")
    hour = _numbers(hours)
    hour = hour.where((hour >= 0) & (hour <= 23) & (hour == np.floor(hour)))
    return _localised(dates + pd.to_timedelta(hour, unit="h"), tz)


def map_records(
    records: Iterable[Any] | pd.DataFrame,
    mapping: RecordMapping,
    source: str,
    timezone: str,
    access: str = "public",
    positions: Iterable[tuple[float, float] | None] | None = None,
) -> MappedRecords:
    """Map flat records to canonical frames (vectorised over the records).

    ``positions`` gives each record's (lat, lon) from beside it (e.g. an ArcGIS feature's
    geometry), used when the mapping names no position fields. Items that are not
    objects, have no site id or no time, and values that cannot be read, are counted in
    ``rejected`` by reason; kept values are in the metric's canonical unit.
    """
    tz = zone(mapping.timezone or timezone)
    rejected: Counter[str] = Counter()
    if isinstance(records, pd.DataFrame):
        frame = records.reset_index(drop=True)
        beside = list(positions) if positions is not None else [None] * len(frame)
        keep = list(range(len(frame)))
        if frame.empty:
            return MappedRecords(empty_sites(), empty_observations(), rejected)
        index = pd.RangeIndex(len(frame))

        def column(name: str) -> pd.Series:
            if name in frame.columns:
                return frame[name].astype("object")
            return pd.Series(None, index=index, dtype="object")

        def record(i: int) -> dict[str, Any]:
            return {str(k): v for k, v in frame.iloc[i].items()}

    else:
        items = list(records)
        beside = list(positions) if positions is not None else [None] * len(items)
        keep = [i for i, r in enumerate(items) if isinstance(r, dict)]
        if len(keep) < len(items):
            rejected["record is not a JSON object"] = len(items) - len(keep)
        if not keep:
            return MappedRecords(empty_sites(), empty_observations(), rejected)
        dicts: list[dict[str, Any]] = [items[i] for i in keep]
        index = pd.RangeIndex(len(dicts))

        def column(name: str) -> pd.Series:
            return pd.Series([d.get(name) for d in dicts], index=index, dtype="object")

        def record(i: int) -> dict[str, Any]:
            return dicts[i]

    if mapping.site_id:
        natives = pd.Series(mapping.site_id, index=index, dtype="object")
    else:
        natives = _per_value(column(mapping.id), native_id_text)
    ok = natives.notna()
    if (~ok).any():
        rejected[f"no site id in {mapping.id}"] = int((~ok).sum())
    if not mapping.time:
        times = pd.Series(pd.Timestamp.now(tz="UTC"), index=index).astype("datetime64[ns, UTC]")
    elif mapping.hour:
        times = _hour_times(column(mapping.time), column(mapping.hour), mapping.time_format, tz)
    else:
        times = _times(column(mapping.time), mapping.time_format, tz)
    timeless = ok & times.isna()
    if timeless.any():
        rejected[f"no usable time in {mapping.time}"] = int(timeless.sum())
    ok &= times.notna()
    site_ids = source + ":" + natives.where(ok, "").astype(str)
    parts: list[pd.DataFrame] = []
    for metric_name, spec in mapping.values.items():
        values, reasons = _values(column, index, spec, metric_name)
        bad = ok & values.isna()
        for reason, n in reasons[bad].value_counts().items():
            rejected[str(reason)] += int(n)
        good = ok & values.notna()
        parts.append(
            pd.DataFrame(
                {
                    "site_id": site_ids[good],
                    "metric": metric_name,
                    "time": times[good],
                    "value": values[good],
                    "unit": METRICS[metric_name].unit,
                }
            )
        )
    obs = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    first = (~site_ids.duplicated()) & ok
    sites = [
        _site(record(int(i)), mapping, site_ids[i], natives[i], source, access, beside[keep[i]])
        for i in np.flatnonzero(first.to_numpy())
    ]
    return MappedRecords(
        sites_frame(sites) if sites else empty_sites(),
        observations_frame(obs) if not obs.empty else empty_observations(),
        rejected,
    )


def _values(
    column: Callable[[str], pd.Series], index: pd.Index, spec: ValueSpec, metric_name: str
) -> tuple[pd.Series, pd.Series]:
    """(canonical values, reason where a value is NaN) of one metric over the records."""
    if spec.map:
        raw = column(spec.field)
        keys = raw.map(lambda v: v.strip() if isinstance(v, str) else native_id_text(v))
        values = keys.map(lambda k: spec.map.get(k, math.nan) if k is not None else math.nan)
        reasons = raw.map(lambda v: f"value {str(v)[:40]!r} of {spec.field} not in the map")
        return values.astype("float64"), reasons
    factor = canonical_unit_factor(metric_name, spec.unit)
    total = pd.Series(0.0, index=index)
    reasons = pd.Series("", index=index, dtype="object")
    for name in spec.names():
        numbers = _numbers(column(name))
        reasons = reasons.where((reasons != "") | numbers.notna(), f"no number in {name}")
        total = total + numbers
    return total * factor, reasons


def _site(
    record: dict[str, Any],
    mapping: RecordMapping,
    site_id: str,
    native: str,
    source: str,
    access: str,
    beside: tuple[float, float] | None,
) -> dict[str, Any]:
    if mapping.lat:
        lat, lon = as_number(record.get(mapping.lat)), as_number(record.get(mapping.lon))
    elif mapping.location is not None:
        lat, lon = mapping.location
    elif beside is not None:
        lat, lon = beside
    else:
        lat = lon = math.nan
    raw_name = record.get(mapping.name) if mapping.name else None
    name = raw_name.strip() if isinstance(raw_name, str) and raw_name.strip() else ""
    fallback = f"{mapping.kind.replace('_', ' ').capitalize()} {native}"
    attributes = {
        a: record[a]
        for a in mapping.attributes
        if isinstance(record.get(a), str | int | float) and not isinstance(record.get(a), bool)
    }
    return {
        "id": site_id,
        "name": name or mapping.site_name or fallback,
        "domain": mapping.domain,
        "kind": mapping.kind,
        "lat": lat,
        "lon": lon,
        "source": source,
        "access": access,
        "attributes": attributes,
    }


def note_rejections(snap: Snapshot, rejected: Counter[str]) -> Snapshot:
    """``snap`` also counting the rows the mapping refused, with a note per reason."""
    for reason, n in rejected.most_common():
        snap.rejected += n
        snap.notes.append(f"rejected {n} row(s): {reason}")
    return snap


def newest(observations: pd.DataFrame) -> pd.DataFrame:
    """The newest observation per site and metric."""
    if observations.empty:
        return observations
    ordered = observations.sort_values("time")
    return ordered.groupby(["site_id", "metric"], sort=False).tail(1).reset_index(drop=True)


def in_window(
    observations: pd.DataFrame, sites: pd.DataFrame, start: datetime, end: datetime
) -> pd.DataFrame:
    """Observations of ``sites`` with ``start <= time < end``, sorted."""
    lo, hi = _utc(start), _utc(end)
    obs = observations
    keep = obs["site_id"].isin(sites["id"]) & (obs["time"] >= lo) & (obs["time"] < hi)
    obs = obs[keep].drop_duplicates(["site_id", "metric", "time"], keep="first")
    return obs.sort_values(["site_id", "metric", "time"]).reset_index(drop=True)


def _utc(when: datetime) -> pd.Timestamp:
    stamp = pd.Timestamp(when)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def latest_start(hours: float | None) -> datetime | None:
    """The start of the newest state read ``hours`` back from now; ``None``: all of it."""
    return datetime.now(UTC) - timedelta(hours=hours) if hours else None


class MappedConnector(Connector):
    """A connector whose newest state is one read of mapped records (``_latest``).

    The sites are found with their observations: ``discover_sites`` keeps those for the
    next ``read_latest``, which then asks the platform nothing more. ``snapshot`` also
    counts the rows the mapping refused (``rejected``, set by ``_latest``).
    """

    def __init__(self, context: SourceContext) -> None:
        super().__init__(context)
        self._pending: pd.DataFrame | None = None
        self.rejected: Counter[str] = Counter()

    @abstractmethod
    def _latest(self) -> MappedRecords:
        """The newest state, setting ``rejected``. Raises ``ConnectorError``."""

    def snapshot(self, now: datetime | None = None) -> Snapshot:
        """``Connector.snapshot``, also counting the rows the mapping refused."""
        self.rejected = Counter()
        return note_rejections(super().snapshot(now), self.rejected)

    def discover_sites(self) -> pd.DataFrame:
        """The sites of the newest state. Raises ``ConnectorError``."""
        mapped = self._latest()
        self._pending = mapped.observations
        return mapped.sites if not mapped.sites.empty else empty_sites()

    def read_latest(self, sites: pd.DataFrame) -> pd.DataFrame:
        """The newest value per site and metric. Raises ``ConnectorError``."""
        pending, self._pending = self._pending, None
        obs = pending if pending is not None else self._latest().observations
        if obs.empty:
            return empty_observations()
        return newest(obs[obs["site_id"].isin(sites["id"])])
