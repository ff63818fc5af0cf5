"""What the record-shaped connectors (ArcGIS, Socrata, CSV/JSON tables) share: their
record options, read with the one mapping language, and the connector base they build on.

A record is one flat JSON object (an ArcGIS feature's attributes, a Socrata row, a CSV
row). ``RecordOptions`` says which of its fields is the site id, the name, the time, the
position and the value of each metric; its ``mapping`` (``cockpit.mapping``, the language
every connector shares) adds renamed, constant, computed, value-mapped and time-parsed
fields that those options may name. ``map_records`` turns records into a canonical site
frame and observation frame, vectorised over the records, and counts the rows it could
not read, with a reason each. Values that cannot be read are NaN and times NaT: the
model's validators then reject them with their reason, never a guess.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import repeat
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from cockpit.columns import TIME_FORMATS, numbers, parse_times, per_value, repeats
from cockpit.config import Domain
from cockpit.errors import DataError
from cockpit.mapping import RecordMapping, resolve_path
from cockpit.model import (
    METRICS,
    Snapshot,
    empty_observations,
    empty_sites,
    sites_frame,
)
from cockpit.source import Connector, SourceContext, native_id_text
from connectors.units import canonical_unit_factor

__all__ = [
    "MappedConnector",
    "MappedRecords",
    "RecordOptions",
    "ValueSpec",
    "in_window",
    "latest_start",
    "map_records",
    "native_ids",
    "newest",
    "note_rejections",
    "observation_part",
    "site_frame",
    "zone",
]

_UTC_NS: Final = "datetime64[ns, UTC]"


def zone(name: str) -> ZoneInfo:
    """The time zone ``name``; raises ``DataError`` for an unknown one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise DataError(f"unknown time zone {name!r}") from exc


def native_ids(values: pd.Series) -> pd.Series:
    """``native_id_text`` of each value, vectorised (object, None where not an id)."""
    if not repeats(values) and pd.api.types.infer_dtype(values, skipna=False) == "string":
        # All distinct texts: stripped by a C-level map, blanks are no id.
        stripped = [t or None for t in map(str.strip, values.tolist())]
        out = np.empty(len(stripped), dtype=object)
        out[:] = stripped
        return pd.Series(out, index=values.index, dtype="object")
    return per_value(values, native_id_text)


# --------------------------------------------------------------------------- options


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ValueSpec(_Strict):
    """Where one metric's value is: a ``field`` (served or mapped) and its ``unit`` as
    published (a mapped field may state the unit instead)."""

    field: str = Field(min_length=1)
    unit: str = ""


def value_unit(value: ValueSpec, mapping: RecordMapping | None) -> str:
    """The unit of a value: its own, else the one its mapped field states."""
    if value.unit or mapping is None:
        return value.unit
    return mapping.units().get(value.field, "")


def check_value_unit(metric_name: str, unit: str) -> None:
    """Refuses (for the options' validation) a unit the metric cannot be converted from;
    an empty unit is the metric's own."""
    if unit:
        try:
            canonical_unit_factor(metric_name, unit)
        except DataError as exc:
            raise ValueError(f"values.{metric_name}.unit: {exc}") from None


class RecordOptions(_Strict):
    """Which field of a flat record is what. Without an ``id`` field the dataset is one
    site, named by ``site_id``; without position fields every site is at ``location``
    ([lat, lon]) or at the position the platform gives beside the record (a geometry).
    Any field named here may be a field of ``mapping``."""

    domain: Domain
    kind: str = "sensor"
    id: str = ""
    site_id: str = ""
    name: str = ""
    site_name: str = ""
    time: str = ""
    # A second field holding the hour of day (0-23) added to a date in ``time``.
    hour: str = ""
    # "auto" (ISO 8601 or epoch numbers), "iso", "epoch_s", "epoch_ms" or a strptime format.
    time_format: str = "auto"
    # Zone of times without an offset; empty: the city's.
    timezone: str = ""
    lat: str = ""
    lon: str = ""
    location: tuple[float, float] | None = None
    values: dict[str, ValueSpec] = Field(min_length=1)
    # Fields copied into each site's attributes.
    attributes: list[str] = []
    # Renamed, constant, computed, value-mapped and time-parsed fields (cockpit.mapping).
    mapping: RecordMapping | None = None

    @model_validator(mode="after")
    def _check(self) -> RecordOptions:
        if bool(self.id) == bool(self.site_id):
            raise ValueError("give either id (a field) or site_id (one site for the dataset)")
        if bool(self.lat) != bool(self.lon):
            raise ValueError("lat and lon go together")
        if self.hour and not self.time:
            raise ValueError("hour needs a time (date) field")
        if self.time_format not in {*TIME_FORMATS, ""} and "%" not in self.time_format:
            raise ValueError(
                f"time_format {self.time_format!r} is neither 'auto', 'iso', 'epoch_s', "
                "'epoch_ms' nor a strftime format such as '%d/%m/%Y %H:%M'"
            )
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
            unit = self.unit_of(value)
            if not unit and not self._value_mapped(value.field):
                raise ValueError(
                    f"values.{metric_name}: give the field's unit (or a unit in its mapping)"
                )
            check_value_unit(metric_name, unit)
        return self

    def unit_of(self, value: ValueSpec) -> str:
        return value_unit(value, self.mapping)

    def _value_mapped(self, name: str) -> bool:
        """A field mapped by values (``map``): its numbers are in the metric's unit."""
        spec = self.mapping.fields.get(name) if self.mapping is not None else None
        return spec is not None and bool(spec.map)

    def mapped(self, name: str) -> bool:
        """Whether ``name`` is a field of the mapping (not one the platform serves)."""
        return self.mapping is not None and name in self.mapping.fields

    def served_time(self) -> str:
        """The time field when the platform serves it (it may filter and sort on it);
        empty for no time field or a mapped one."""
        return self.time if self.time and not self.mapped(self.time) else ""

    def fields_read(self) -> list[str]:
        """Every record field the options read (for a platform's ``outFields``/``$select``);
        empty (all fields) with a mapping, whose paths and expressions read any field."""
        if self.mapping is not None:
            return []
        names = [self.id, self.name, self.time, self.hour, self.lat, self.lon, *self.attributes]
        names += [v.field for v in self.values.values()]
        return list(dict.fromkeys(n for n in names if n))


@dataclass
class MappedRecords:
    """Sites and observations read from records, and why rows were dropped (counts)."""

    sites: pd.DataFrame
    observations: pd.DataFrame
    rejected: Counter[str] = field(default_factory=Counter)


class _Columns:
    """The records' fields as columns, each built once: served fields, dotted and ``$.``
    paths, then the mapping's fields over them."""

    def __init__(
        self,
        frame: pd.DataFrame | None,
        dicts: list[dict[str, Any]] | None,
        outer: list[Any] | None,
    ) -> None:
        self.frame, self.dicts, self.outer = frame, dicts, outer
        self.size = len(frame) if frame is not None else len(dicts or [])
        self.index = pd.RangeIndex(self.size)
        self.mapped: dict[str, pd.Series] = {}
        self.problems: dict[str, pd.Series] = {}
        self._served: dict[str, pd.Series | None] = {}

    def served(self, path: str) -> pd.Series | None:
        """A served field's (or a path's) values; None when no record has it."""
        if path not in self._served:
            self._served[path] = self._read(path)
        return self._served[path]

    def _read(self, path: str) -> pd.Series | None:
        frame, dicts = self.frame, self.dicts
        if frame is not None and path in frame.columns:
            return frame[path]
        if dicts is not None and not path.startswith("$.") and "." not in path:
            values = list(map(dict.get, dicts, repeat(path)))  # C-level, no frame per row
            if all(v is None for v in values) and not any(path in d for d in dicts):
                return None
            return _objects(values)
        if "." not in path:
            return None
        rows: Iterable[Any] = (
            dicts if dicts is not None else frame.to_dict("records") if frame is not None else []
        )
        outer: Iterable[Any] = self.outer if self.outer is not None else rows
        pairs = [resolve_path(path, r, o) for r, o in zip(rows, outer, strict=False)]
        if not any(found for found, _ in pairs):
            return None
        return _objects([v for _, v in pairs])

    def __call__(self, name: str) -> pd.Series:
        """A field's values (a mapped field's, else the served one's; all None if absent)."""
        found = self.mapped.get(name)
        if found is None:
            found = self.served(name)
        if found is None:
            return pd.Series(None, index=self.index, dtype="object")
        return found

    def problem(self, name: str) -> pd.Series | None:
        """Why a mapped field has no value per record ("" where it has one)."""
        return self.problems.get(name)


def _objects(values: list[Any]) -> pd.Series:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return pd.Series(out, dtype="object")


def map_records(
    records: Iterable[Any] | pd.DataFrame,
    options: RecordOptions,
    source: str,
    timezone: str,
    access: str = "public",
    positions: Iterable[tuple[float, float] | None] | None = None,
    outer: list[Any] | None = None,
) -> MappedRecords:
    """Map flat records to canonical frames (vectorised over the records).

    ``positions`` gives each record's (lat, lon) from beside it (e.g. an ArcGIS feature's
    geometry), used when the options name no position fields; ``outer`` each record's
    item as served, for the mapping's ``$.`` paths. Items that are not objects, have no
    site id or no time, and values that cannot be read, are counted in ``rejected`` by
    reason; kept values are in the metric's canonical unit.
    """
    tz = zone(options.timezone or timezone)
    rejected: Counter[str] = Counter()
    if isinstance(records, pd.DataFrame):
        frame = records.reset_index(drop=True)
        if frame.empty:
            return MappedRecords(empty_sites(), empty_observations(), rejected)
        beside = list(positions) if positions is not None else None
        columns = _Columns(frame, None, outer)
    else:
        items = list(records)
        if set(map(type, items)) == {dict}:  # the usual answer: no row by row check
            keep = list(range(len(items)))
        else:
            keep = [i for i, r in enumerate(items) if isinstance(r, dict)]
        if len(keep) < len(items):
            rejected["record is not a JSON object"] = len(items) - len(keep)
        if not keep:
            return MappedRecords(empty_sites(), empty_observations(), rejected)
        whole = len(keep) == len(items)
        dicts: list[dict[str, Any]] = items if whole else [items[i] for i in keep]
        beside = None
        if positions is not None:
            listed = list(positions)
            beside = listed if whole else [listed[i] for i in keep]
        if outer is not None and not whole:
            outer = [outer[i] for i in keep]
        columns = _Columns(None, dicts, outer)
    index = columns.index
    if options.mapping is not None:
        mapped = options.mapping.apply_columns(columns.served, index, tz.key)
        columns.mapped, columns.problems = mapped.values, mapped.problems

    if options.site_id:
        natives = pd.Series(options.site_id, index=index, dtype="object")
    else:
        natives = native_ids(columns(options.id))
    ok = natives.notna().to_numpy().copy()
    if not ok.all():
        rejected[f"no site id in {options.id}"] = int((~ok).sum())
    if not options.time:
        times = pd.Series(pd.Timestamp.now(tz="UTC"), index=index).astype(_UTC_NS)
    elif options.hour:
        times = _hour_times(columns(options.time), columns(options.hour), options.time_format, tz)
    else:
        times = parse_times(columns(options.time), options.time_format, tz)
    has_time = times.notna().to_numpy()
    timeless = ok & ~has_time
    if timeless.any():
        rejected[f"no usable time in {options.time}"] = int(timeless.sum())
    ok &= has_time
    # Ids per distinct native id (sites repeat over many rows), each site's first row.
    codes, uniques = pd.factorize(natives.where(ok, None).to_numpy(dtype=object))
    names = np.array([f"{source}:{u}" for u in uniques] + [""], dtype=object)
    site_ids = names[codes]
    seen, first = np.unique(codes, return_index=True)
    first = np.sort(first[seen >= 0])
    site_text = pd.array(site_ids, dtype="string")
    time_values = times.to_numpy(dtype="datetime64[ns]")  # UTC; not one object per row
    parts: list[pd.DataFrame] = []
    for metric_name, spec in options.values.items():
        values, reasons = _values(columns, spec, options.unit_of(spec), metric_name)
        finite = values.notna().to_numpy()
        bad = ok & ~finite
        if bad.any():
            for reason, n in reasons[bad].value_counts().items():
                rejected[str(reason)] += int(n)
        good = ok & finite
        parts.append(
            observation_part(
                site_text[good], metric_name, time_values[good], values.to_numpy()[good]
            )
        )
    obs = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    sites = _sites(columns, options, site_ids, natives, first, source, access, beside)
    return MappedRecords(sites, obs if not obs.empty else empty_observations(), rejected)


def observation_part(
    site_ids: Any, metric_name: str, times: np.ndarray, values: np.ndarray
) -> pd.DataFrame:
    """Canonical observations of one metric: ``site_ids`` (texts), ``times`` (UTC
    nanoseconds, naive) and ``values`` in the metric's canonical unit; the dtypes are
    set column by column (constant texts broadcast, not converted row by row)."""
    index = pd.RangeIndex(len(values))
    return pd.DataFrame(
        {
            "site_id": pd.Series(pd.array(site_ids, dtype="string"), index=index),
            "metric": pd.Series(metric_name, index=index, dtype="string"),
            "time": pd.Series(times, index=index).dt.tz_localize("UTC").astype(_UTC_NS),
            "value": pd.Series(values, index=index, dtype="float64"),
            "unit": pd.Series(METRICS[metric_name].unit, index=index, dtype="string"),
        }
    )


def _hour_times(days: pd.Series, hours: pd.Series, fmt: str, tz: ZoneInfo) -> pd.Series:
    """A date column plus an hour-of-day column, read in ``tz`` (each distinct date and
    each distinct date and hour once)."""
    day_codes, day_values = pd.factorize(days, use_na_sentinel=True)
    texts = [v.strip()[:10] if isinstance(v, str) else None for v in np.asarray(day_values, object)]
    dates = pd.to_datetime(
        pd.Series(texts, dtype="object"), format=fmt if "%" in fmt else "%Y-%m-%d", errors="coerce"
    ).to_numpy(dtype="datetime64[ns]")
    hour = numbers(hours).to_numpy()
    good = (day_codes >= 0) & (hour >= 0) & (hour <= 23) & (hour == np.floor(hour))
    keys = np.where(
        good, day_codes.astype("int64") * 24 + np.where(good, hour, 0).astype("int64"), -1
    )
    key_codes, unique_keys = pd.factorize(keys)
    unique_keys = np.asarray(unique_keys, dtype="int64")
    valid = unique_keys >= 0
    naive = np.full(len(unique_keys), np.datetime64("NaT"), dtype="datetime64[ns]")
    naive[valid] = dates[unique_keys[valid] // 24] + (unique_keys[valid] % 24).astype(
        "timedelta64[h]"
    )
    local = pd.Series(naive).dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    utc = local.dt.tz_convert("UTC").to_numpy(dtype="datetime64[ns]")
    return pd.Series(utc[key_codes], index=days.index).dt.tz_localize("UTC")


def _values(
    columns: _Columns, spec: ValueSpec, unit: str, metric_name: str
) -> tuple[pd.Series, pd.Series]:
    """(canonical values, reason where a value is NaN) of one metric over the records."""
    raw = columns(spec.field)
    values = numbers(raw)
    if unit:
        values = values * canonical_unit_factor(metric_name, unit)
    mapped = columns.problem(spec.field)
    reasons = pd.Series(f"no number in {spec.field}", index=values.index, dtype="object")
    if mapped is not None:
        reasons = mapped.where(mapped != "", reasons)
    return values, reasons


def _sites(
    columns: _Columns,
    options: RecordOptions,
    site_ids: np.ndarray,
    natives: pd.Series,
    first: np.ndarray,
    source: str,
    access: str,
    beside: list[tuple[float, float] | None] | None,
) -> pd.DataFrame:
    """The site frame of each site's first record (column by column)."""
    if first.size == 0:
        return empty_sites()
    n = first.size
    if options.lat:
        lat = numbers(columns(options.lat)).to_numpy()[first]
        lon = numbers(columns(options.lon)).to_numpy()[first]
    elif options.location is not None:
        lat, lon = np.full(n, options.location[0]), np.full(n, options.location[1])
    elif beside is not None:
        chosen = [beside[i] for i in first]
        lat = np.array([p[0] if p else math.nan for p in chosen], dtype="float64")
        lon = np.array([p[1] if p else math.nan for p in chosen], dtype="float64")
    else:
        lat = lon = np.full(n, math.nan)
    fallback = f"{options.kind.replace('_', ' ').capitalize()} "
    own = natives.to_numpy(dtype=object)[first]
    if options.name:
        raw = columns(options.name).to_numpy(dtype=object)[first]
        names = [v.strip() if isinstance(v, str) else "" for v in raw]
    else:
        names = [""] * n
    names = [
        name or options.site_name or f"{fallback}{native}"
        for name, native in zip(names, own, strict=True)
    ]
    if options.attributes:
        picked = {a: columns(a).to_numpy(dtype=object)[first] for a in options.attributes}
        attributes = [
            {
                a: picked[a][k]
                for a in options.attributes
                if isinstance(picked[a][k], str | int | float)
                and not isinstance(picked[a][k], bool)
            }
            for k in range(n)
        ]
    else:
        attributes = [{} for _ in range(n)]
    return site_frame(
        site_ids[first], names, lat, lon, attributes,
        domain=options.domain, kind=options.kind, source=source, access=access,
    )  # fmt: skip


def site_frame(
    ids: Any,
    names: Any,
    lat: Any,
    lon: Any,
    attributes: list[dict[str, Any]],
    **constants: str,
) -> pd.DataFrame:
    """A canonical site frame from its columns; ``constants`` (domain, kind, source,
    access) are the same for every site and broadcast, not converted site by site."""
    index = pd.RangeIndex(len(attributes))
    texts = {k: pd.Series(v, index=index, dtype="string") for k, v in constants.items()}
    frame = pd.DataFrame(
        {
            "id": pd.Series(pd.array(np.asarray(ids, dtype=object), dtype="string"), index=index),
            "name": pd.Series(
                pd.array(np.asarray(names, dtype=object), dtype="string"), index=index
            ),
            "domain": texts["domain"],
            "kind": texts["kind"],
            "lat": pd.Series(lat, index=index, dtype="float64"),
            "lon": pd.Series(lon, index=index, dtype="float64"),
            "source": texts["source"],
            "access": texts["access"],
            "origin": pd.Series("measured", index=index, dtype="string"),
        }
    )
    # A column of dicts: pandas-stubs allow only scalars in a list.
    frame["attributes"] = attributes  # type: ignore[assignment]
    return sites_frame(frame)


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
