"""OpenDataSoft portals (Melbourne, Paris and hundreds more), read as canonical frames.

A portal publishes each sensor network as a dataset of flat records. This connector
reads them through the Explore API v2.1 (``/api/explore/v2.1/catalog/datasets/{id}/
records`` with ODSQL ``select``, ``where``, ``order_by``, ``limit`` <= 100 and
``offset``), switching to ``/exports/json`` when more rows are needed than the records
window allows (``offset + limit <= 10000``) or than ``max_pages`` pages would bring. Older
portals that only answer the Records API v1 (``/api/records/1.0/search``, with its
``nhits`` / ``records[].fields`` envelope) are read with ``api = "v1"``.

Which field is the site id, the name, the time, the value(s) and the position is a
per-dataset mapping under the source's ``options`` (see ``OdsOptions``). A position may
be a ``geo_point_2d`` object ``{lat, lon}``, a ``"lat, lon"`` text, a ``[lat, lon]`` pair
(Records API v1), a GeoJSON Point or two separate fields. A date field plus an hour
field (Melbourne's pedestrian counts: ``sensing_date`` + ``hourday``) is read as the
start of that hour in the city's time zone. Categorical values are mapped to numbers by
the config (Melbourne's bay sensors: ``Present`` = 1, ``Unoccupied`` = 0); a value not
in the map is rejected with a reason, never guessed.

The parse functions (``parse_records``, ``parse_sites``) are pure: JSON in, frames out.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from cockpit.config import Domain
from cockpit.errors import ConfigError, DataError, ParseError, TooManyPages
from cockpit.mapping import RecordMapping
from cockpit.model import (
    METRICS,
    Snapshot,
    empty_observations,
    empty_sites,
    observations_frame,
    sites_frame,
)
from cockpit.source import (
    Connector,
    Explanation,
    SourceContext,
    explain_rows,
    native_id_text,
)
from connectors.http import HttpClient, HttpLimits
from connectors.options import source_options
from connectors.parsing import (
    HAS_OFFSET,
    ISO_START,
    Parsed,
    RefusedRows,
    as_float,
    combine,
    local_to_utc,
    rejected_frame,
    utc,
    whole_hours,
    within_platform_range,
)
from connectors.units import canonical_unit_factor

__all__ = [
    "FieldMap",
    "OdsOptions",
    "OpenDataSoftConnector",
    "ParsedRecords",
    "SitesDataset",
    "ValueMap",
    "parse_records",
    "parse_sites",
]

log = logging.getLogger(__name__)

_FIELD_NAME: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_REJECTED_COLUMNS: Final = ("site_id", "metric", "reason")
# Records API v1 keeps these beside a record's fields; they are read as fields.
_V1_METADATA: Final = ("record_timestamp", "recordid")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldMap(_Strict):
    """Which dataset field holds what. Only ``id`` is required."""

    id: str = Field(min_length=1)
    name: str = ""
    # A datetime field, or a date field completed by ``hour`` (hour of day, 0-23).
    time: str = ""
    hour: str = ""
    # geo_point_2d {lat, lon}, "lat, lon" text, [lat, lon] pair or GeoJSON Point ...
    position: str = ""
    # ... or two numeric fields.
    lat: str = ""
    lon: str = ""

    @model_validator(mode="after")
    def _names(self) -> FieldMap:
        for key, name in self.model_dump().items():
            if name and not _FIELD_NAME.match(name):
                raise ValueError(f"{key} = {name!r} is not a dataset field name")
        if self.hour and not self.time:
            raise ValueError("hour needs a time (date) field")
        if bool(self.lat) != bool(self.lon):
            raise ValueError("lat and lon go together")
        return self

    def selected(self) -> list[str]:
        """The fields this mapping reads, for the API's ``select``."""
        return [n for n in self.model_dump().values() if n]


class ValueMap(_Strict):
    """The field giving one metric, and its unit or its categories."""

    field: str = Field(min_length=1)
    # The field's unit as the portal states it (e.g. "ug/m3"); converted to canonical.
    unit: str = ""
    # Category -> value in the metric's canonical unit (e.g. Present = 1).
    map: dict[str, float] = {}

    @model_validator(mode="after")
    def _field_name(self) -> ValueMap:
        if not _FIELD_NAME.match(self.field):
            raise ValueError(f"field = {self.field!r} is not a dataset field name")
        return self


class SitesDataset(_Strict):
    """A separate dataset listing the sites (e.g. Melbourne's sensor locations)."""

    dataset: str = Field(min_length=1)
    fields: FieldMap
    where: str = ""
    # Fields copied into each site's attributes (e.g. installation_date).
    attributes: list[str] = []


class OdsOptions(_Strict):
    """An OpenDataSoft source's ``options`` table (the HTTP limits aside)."""

    dataset: str = Field(min_length=1)
    api: Literal["v2.1", "v1"] = "v2.1"
    domain: Domain
    kind: str = "sensor"
    fields: FieldMap
    # metric -> its field; metric names are those of ``cockpit.model.METRICS``.
    values: dict[str, ValueMap] = Field(min_length=1)
    where: str = ""  # an extra ODSQL filter (v1: a ``q`` query)
    # read_latest looks this many hours back; unset: the whole dataset is the current
    # state (e.g. one row per parking bay).
    latest_hours: float | None = Field(default=None, gt=0)
    sites: SitesDataset | None = None
    attributes: list[str] = []
    page_size: int = Field(default=100, ge=1, le=100)
    # The portal's records window: offset + limit may not pass it.
    records_window: int = Field(default=10_000, ge=1)
    # At most this many rows from one export (an export is one answer, held in memory).
    export_limit: int = Field(default=100_000, ge=1)
    timezone: str = ""  # for date-only fields; default: the city's
    # Fields computed from each record (``cockpit.mapping``); the keys above may name them.
    mapping: RecordMapping | None = None

    @model_validator(mode="after")
    def _known(self) -> OdsOptions:
        unknown = [m for m in self.values if m not in METRICS]
        if unknown:
            raise ValueError(f"values names unknown metrics {unknown}; known: {list(METRICS)}")
        for metric_name, value in self.values.items():
            unit = self.unit_of(value)
            if not unit and not value.map:
                raise ValueError(
                    f"values.{metric_name}: give the field's unit (or a map of its categories)"
                )
            if unit:
                try:
                    canonical_unit_factor(metric_name, unit)
                except DataError as exc:
                    raise ValueError(f"values.{metric_name}.unit: {exc}") from None
        if self.api == "v2.1" and self.page_size > 100:
            raise ValueError("the Explore API v2.1 returns at most 100 records a page")
        return self

    def unit_of(self, value: ValueMap) -> str:
        """The unit of a value field: its own, else the one its mapping states."""
        if value.unit or self.mapping is None:
            return value.unit
        return self.mapping.units().get(value.field, "")

    def computed(self, name: str) -> bool:
        """Whether ``name`` is not a dataset field the portal can filter or sort on: a
        mapped field or Records API v1 record metadata."""
        mapped = self.mapping is not None and name in self.mapping.fields
        return mapped or (self.api == "v1" and name in _V1_METADATA)

    @classmethod
    def from_context(cls, context: SourceContext) -> OdsOptions:
        """The options of ``context``'s source; raises ``ConfigError`` naming the bad key."""
        return source_options(cls, context)


# What one answer gave: sites, observations and rejected rows (with a reason).
ParsedRecords = Parsed


# --------------------------------------------------------------------------- records


def _rows(payload: Any, source: str) -> list[Any]:
    """The flat records of any of the answer shapes, as a list (items may be junk)."""
    return [_flat(item) for item in _items(payload, source)]


def _items(payload: Any, source: str) -> list[Any]:
    """The items of any of the answer shapes as served, envelopes and all."""
    if isinstance(payload, dict):
        if isinstance(payload.get("results"), list):  # v2.1 records
            items = payload["results"]
        elif isinstance(payload.get("records"), list):  # v1 search, v2.0 records
            items = payload["records"]
        else:
            message = payload.get("message") or payload.get("error")
            shown = f": {message!r}" if message else ""
            raise ParseError(source, f"not an OpenDataSoft records answer{shown}")
    elif isinstance(payload, list):  # v2.1 / v1 exports
        items = payload
    else:
        raise ParseError(source, f"expected a JSON object or array, got {type(payload).__name__}")
    return list(items)


def _flat(item: Any) -> Any:
    """A record without the v1 / v2.0 envelope (``fields`` / ``record.fields``)."""
    if not isinstance(item, dict):
        return item
    inner = item.get("record")
    if isinstance(inner, dict) and isinstance(inner.get("fields"), dict):
        item = inner
    if isinstance(item.get("fields"), dict):
        flat = dict(item["fields"])
        flat.setdefault("geometry", item.get("geometry"))
        for key in _V1_METADATA:
            if key in item:
                flat.setdefault(key, item[key])
        return flat
    return item


def _total(payload: Any) -> int | None:
    if isinstance(payload, dict):
        for key in ("total_count", "nhits"):
            value = payload.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                return value
    return None


def _latlon(value: Any) -> tuple[float, float]:
    """(lat, lon) of one position value in any of the portal's shapes."""
    if isinstance(value, dict):
        if "lat" in value and "lon" in value:
            return as_float(value["lat"]), as_float(value["lon"])
        coords = value.get("coordinates")
        if value.get("type") == "Point" and isinstance(coords, list) and len(coords) >= 2:
            return as_float(coords[1]), as_float(coords[0])  # GeoJSON is [lon, lat]
    elif isinstance(value, str):
        parts = value.split(",")
        if len(parts) == 2:
            return as_float(parts[0].strip()), as_float(parts[1].strip())
    elif isinstance(value, list) and len(value) == 2:
        return as_float(value[0]), as_float(value[1])  # geo_point_2d pair is [lat, lon]
    return math.nan, math.nan


def _column(frame: pd.DataFrame, field: str) -> pd.Series:
    if field and field in frame.columns:
        return frame[field]
    return pd.Series([None] * len(frame), index=frame.index, dtype="object")


def _require(frame: pd.DataFrame, fields: list[str], source: str, dataset: str) -> None:
    """Raise ``ParseError`` when the answer has none of a mapped field: the schema drifted."""
    if frame.empty:
        return
    missing = [f for f in fields if f and f not in frame.columns]
    if missing:
        seen = ", ".join(sorted(map(str, frame.columns))[:30])
        raise ParseError(
            source, f"dataset {dataset!r} has no field(s) {missing} (fields seen: {seen})"
        )


def _record_times(values: pd.Series, hours: pd.Series | None, timezone: str) -> pd.Series:
    """UTC times from ISO texts; a date with an hour field, or a text without offset, is
    local to ``timezone``. Ambiguous or missing local hours (DST changes) give NaT."""
    text = values.map(lambda v: v if isinstance(v, str) and ISO_START.match(v) else None)
    text = text.astype("object")
    if hours is not None:
        days = text.map(lambda v: v[:10] if isinstance(v, str) else None).astype("object")
        dates = pd.to_datetime(days, errors="coerce", format="%Y-%m-%d")
        hour = whole_hours(hours.map(as_float).astype("float64").to_numpy())
        parsed = local_to_utc(dates + pd.to_timedelta(hour, unit="h"), timezone)
    else:
        aware = text.map(lambda v: isinstance(v, str) and HAS_OFFSET.search(v) is not None)
        parsed = pd.to_datetime(text.where(aware), utc=True, errors="coerce", format="ISO8601")
        naive_text = text.where(~aware & text.notna())
        if naive_text.notna().any():
            naive = pd.to_datetime(naive_text, errors="coerce", format="ISO8601")
            parsed = parsed.where(aware, local_to_utc(naive, timezone))
    return within_platform_range(parsed)


def _records_frame(
    payload: Any, source: str, mapping: RecordMapping | None = None, timezone: str = "UTC"
) -> tuple[pd.DataFrame, int]:
    """(records as a frame, count of items that were not JSON objects); with a
    ``mapping``, each record carries its mapped fields (``$.`` paths read the item as
    served)."""
    items = _items(payload, source)
    rows = [_flat(item) for item in items]
    records = [r for r in rows if isinstance(r, dict)]
    if mapping is not None:
        records = [
            mapping.apply(_flat(item), item, timezone).values
            for item in items
            if isinstance(_flat(item), dict)
        ]
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    frame.columns = [str(c) for c in frame.columns]
    return frame, len(rows) - len(records)


def _site_frame(
    frame: pd.DataFrame,
    ids: pd.Series,
    fields: FieldMap,
    attributes: list[str],
    source: str,
    domain: str,
    kind: str,
    access: str,
) -> pd.DataFrame:
    if fields.position:
        pairs = _column(frame, fields.position).map(_latlon)
        lat = pairs.map(lambda p: p[0]).astype("float64")
        lon = pairs.map(lambda p: p[1]).astype("float64")
    elif fields.lat:
        lat = _column(frame, fields.lat).map(as_float).astype("float64")
        lon = _column(frame, fields.lon).map(as_float).astype("float64")
    else:
        lat = lon = pd.Series(math.nan, index=frame.index)
    names = _column(frame, fields.name).map(lambda v: v.strip() if isinstance(v, str) else None)
    fallback = kind.replace("_", " ").capitalize() + " " + ids.fillna("")
    extra = [a for a in attributes if a in frame.columns]
    rows = frame[extra].to_dict("records") if extra else [{} for _ in range(len(frame))]
    attrs = pd.Series(
        [{k: v for k, v in row.items() if _plain(v)} for row in rows],
        index=frame.index,
        dtype="object",
    )
    sites = pd.DataFrame(
        {
            "id": source + ":" + ids.fillna(""),
            "name": names.where(names.notna() & (names != ""), fallback),
            "domain": domain,
            "kind": kind,
            "lat": lat,
            "lon": lon,
            "source": source,
            "access": access,
            "attributes": attrs,
        }
    )
    sites = sites[ids.notna()]
    return sites_frame(sites.drop_duplicates("id")) if not sites.empty else empty_sites()


def _plain(value: Any) -> bool:
    """Whether a field value is a plain scalar worth keeping in a site's attributes."""
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, str | int | bool) and value != ""


def parse_sites(
    payload: Any,
    source: str,
    sites: SitesDataset,
    domain: str,
    kind: str = "sensor",
    access: str = "public",
) -> pd.DataFrame:
    """Turn one answer of a sites dataset into a canonical site frame.

    ``payload`` is any records shape (v2.1 records or export, v1 search or download);
    ``sites`` maps its fields. Rows without an id are dropped; positions that cannot be
    read give NaN coordinates, which ``validate_sites`` rejects. Raises ``ParseError`` for
    another shape or when a mapped field is absent from every record.
    """
    frame, _ = _records_frame(payload, source)
    f = sites.fields
    _require(frame, [f.id, f.position, f.lat, f.lon], source, sites.dataset)
    ids = _column(frame, f.id).map(native_id_text).astype("object")
    return _site_frame(frame, ids, f, sites.attributes, source, domain, kind, access)


def parse_records(
    payload: Any,
    source: str,
    options: OdsOptions,
    timezone: str = "UTC",
    access: str = "public",
) -> ParsedRecords:
    """Turn one answer of the observation dataset into canonical frames.

    ``payload`` is any records shape (v2.1 records or export, v1 search or download);
    ``options`` maps its fields; ``timezone`` is the city's, for dates without an offset.
    Returns ``ParsedRecords``: the sites the records name (first row per id: ask for
    newest first), the observations in canonical units, and the rows refused with a
    reason. Raises ``ParseError`` for another shape or when a mapped field is absent from
    every record (a drifted schema).
    """
    tz = options.timezone or timezone
    frame, junk = _records_frame(payload, source, options.mapping, tz)
    f = options.fields
    needed = [f.id, f.time, f.hour, f.position, f.lat, f.lon]
    needed += [v.field for v in options.values.values()]
    _require(frame, needed, source, options.dataset)
    rejected: list[pd.DataFrame] = []
    if junk:
        rejected.append(
            pd.DataFrame(
                {"site_id": [""] * junk, "metric": "", "reason": "record is not an object"}
            )
        )
    if frame.empty:
        return ParsedRecords(
            empty_sites(), empty_observations(), rejected_frame(rejected, _REJECTED_COLUMNS)
        )
    ids = _column(frame, f.id).map(native_id_text).astype("object")
    site_ids = (source + ":" + ids.fillna("")).astype("object")
    no_id = ids.isna()
    if no_id.any():
        rejected.append(
            pd.DataFrame(
                {"site_id": "", "metric": "", "reason": ["record without an id"] * int(no_id.sum())}
            )
        )
    times = (
        _record_times(_column(frame, f.time), _column(frame, f.hour) if f.hour else None, tz)
        if f.time
        else pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]")
    )
    parts: list[pd.DataFrame] = []
    for metric_name, spec in options.values.items():
        raw = _column(frame, spec.field)
        canonical = METRICS[metric_name].unit
        if spec.map:
            lookup = {k.strip().lower(): v for k, v in spec.map.items()}
            value = raw.map(
                lambda v, lookup=lookup: (
                    lookup.get(v.strip().lower(), math.nan) if isinstance(v, str) else math.nan
                )
            ).astype("float64")
            unmapped = raw.notna() & value.isna() & ~no_id
            if unmapped.any():
                rejected.append(
                    pd.DataFrame(
                        {
                            "site_id": site_ids[unmapped],
                            "metric": metric_name,
                            "reason": f"{spec.field} value is not in options.values."
                            f"{metric_name}.map",
                        }
                    )
                )
            keep = ~no_id & ~unmapped
        else:
            value = raw.map(as_float).astype("float64")
            value = value * canonical_unit_factor(metric_name, options.unit_of(spec))
            keep = ~no_id
        parts.append(
            pd.DataFrame(
                {
                    "site_id": site_ids[keep],
                    "metric": metric_name,
                    "time": times[keep],
                    "value": value[keep],
                    "unit": canonical,
                }
            )
        )
    observations = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    sites = _site_frame(
        frame, ids, f, options.attributes, source, options.domain, options.kind, access
    )
    return ParsedRecords(
        sites,
        observations_frame(observations) if not observations.empty else empty_observations(),
        rejected_frame(rejected, _REJECTED_COLUMNS),
    )


def _newest(observations: pd.DataFrame) -> pd.DataFrame:
    if observations.empty:
        return observations
    ordered = observations.sort_values("time", na_position="first", kind="stable")
    return ordered.drop_duplicates(["site_id", "metric"], keep="last").reset_index(drop=True)


# --------------------------------------------------------------------------- connector


def _and(*clauses: str) -> str:
    parts = [c for c in clauses if c]
    if len(parts) <= 1:
        return parts[0] if parts else ""
    return " AND ".join(f"({c})" for c in parts)


class OpenDataSoftConnector(Connector):
    """One dataset of an OpenDataSoft portal, optionally with a sites dataset.

    Options: see ``OdsOptions``. Credentials: ``api_key``, sent as the header
    ``Authorization: Apikey <key>`` (never in the URL, so it cannot leak into logs).
    """

    def __init__(self, context: SourceContext) -> None:
        super().__init__(context)
        self.options = OdsOptions.from_context(context)
        if not context.config.url:
            raise ConfigError(f"[sources.{self.source_id}]", "url", "the portal's URL is required")
        self.base_url = context.config.url.rstrip("/")
        self.timezone = self.options.timezone or context.timezone or "UTC"
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"[sources.{self.source_id}]", "options.timezone", f"unknown {self.timezone!r}"
            ) from None
        key = context.secret("api_key")
        headers = {"Authorization": f"Apikey {key}"} if key else {}
        self.http = HttpClient(
            self.source_id, HttpLimits.from_options(context.config.options), headers, (key or "",)
        )
        self._reuse_s = max(1.0, min(30.0, context.config.refresh_seconds / 2))
        self._pending: tuple[float, pd.DataFrame] | None = None
        self._refused = RefusedRows(self.source_id, _REJECTED_COLUMNS, "row")

    def close(self) -> None:
        """Close the HTTP session."""
        self.http.close()

    # ---- requests

    def _records_url(self, dataset: str) -> str:
        if self.options.api == "v1":
            return f"{self.base_url}/api/records/1.0/search/"
        return f"{self.base_url}/api/explore/v2.1/catalog/datasets/{dataset}/records"

    def _export_url(self, dataset: str) -> str:
        if self.options.api == "v1":
            return f"{self.base_url}/api/records/1.0/download/"
        return f"{self.base_url}/api/explore/v2.1/catalog/datasets/{dataset}/exports/json"

    def _query(
        self, dataset: str, select: list[str], where: str, order_by: list[tuple[str, bool]]
    ) -> dict[str, str]:
        """The query parameters of either API; ``order_by`` is (field, descending)."""
        if self.options.api == "v1":
            params = {"dataset": dataset, "timezone": "UTC"}
            if where:
                params["q"] = where
            if order_by:
                # v1 sorts descending by default; a leading minus sorts ascending.
                params["sort"] = ",".join(f if desc else f"-{f}" for f, desc in order_by)
            return params
        params = {"select": ", ".join(dict.fromkeys(select)), "timezone": "UTC"}
        if where:
            params["where"] = where
        if order_by:
            params["order_by"] = ", ".join(f"{f} {'DESC' if d else 'ASC'}" for f, d in order_by)
        return params

    def _paging(self, offset: int, limit: int) -> dict[str, str]:
        if self.options.api == "v1":
            return {"start": str(offset), "rows": str(limit)}
        return {"offset": str(offset), "limit": str(limit)}

    def _fetch(self, dataset: str, params: dict[str, str]) -> Iterator[Any]:
        """Every page of a query: records pages while the window allows, else one export.

        Raises ``TooManyPages`` when paging runs past ``max_pages`` (a total that keeps
        growing, or a portal ignoring ``offset``).
        """
        url = self._records_url(dataset)
        size = self.options.page_size
        limits = self.http.limits
        payload, _ = self.http.get_json(url, {**params, **self._paging(0, size)})
        total = _total(payload)
        if total is not None and self._needs_export(total):
            log.info("source %s: %d rows: reading the export of %s", self.source_id, total, dataset)
            yield from self._export(dataset, params)
            return
        yield payload
        offset, pages = 0, 1
        while True:
            got = _page_len(payload)
            offset += got
            if (
                got == 0
                or (total is not None and offset >= total)
                or (total is None and got < size)
            ):
                return
            if pages >= limits.max_pages:
                raise TooManyPages(self.source_id, f"more than {pages} pages of {size}", url)
            limit = min(size, self.options.records_window - offset)
            if limit <= 0:
                raise TooManyPages(
                    self.source_id, f"past the records window of {self.options.records_window}", url
                )
            payload, _ = self.http.get_json(url, {**params, **self._paging(offset, limit)})
            total = _total(payload) if _total(payload) is not None else total
            pages += 1
            yield payload

    def _needs_export(self, total: int) -> bool:
        pages = math.ceil(total / self.options.page_size)
        return total > self.options.records_window or pages > self.http.limits.max_pages

    def _export(self, dataset: str, params: dict[str, str]) -> Iterator[Any]:
        query = {**params}
        if self.options.api == "v1":
            query["format"] = "json"
            query["rows"] = str(self.options.export_limit)
        else:
            query["limit"] = str(self.options.export_limit)
        payload, _ = self.http.get_json(self._export_url(dataset), query)
        yield payload

    # ---- reads

    def _time_order(self) -> list[tuple[str, bool]]:
        f = self.options.fields
        names = [name for name in (f.time, f.hour) if name]
        if any(self.options.computed(n) for n in names):
            return []  # the portal cannot sort on it; the rows are sorted here
        return [(name, True) for name in names]

    def _time_filter(self, start: datetime | None, end: datetime | None) -> str:
        """An ODSQL (or v1 ``q``) filter on the time field for [start, end); none for a
        time the portal does not know as a field (it is filtered here)."""
        f = self.options.fields
        if not f.time or (start is None and end is None):
            return ""
        if self.options.computed(f.time) or (f.hour and self.options.computed(f.hour)):
            return ""
        v1 = self.options.api == "v1"
        clauses: list[str] = []
        if f.hour:  # a date field: compare local dates, the exact hours are cut later
            tz = ZoneInfo(self.timezone)
            if start is not None:
                day = utc(start).tz_convert(tz).strftime("%Y/%m/%d" if v1 else "%Y-%m-%d")
                clauses.append(f"{f.time} >= {day}" if v1 else f"{f.time} >= date'{day}'")
            if end is not None:
                day = utc(end).tz_convert(tz).strftime("%Y/%m/%d" if v1 else "%Y-%m-%d")
                clauses.append(f"{f.time} <= {day}" if v1 else f"{f.time} <= date'{day}'")
        else:
            fmt = "%Y-%m-%dT%H:%M:%S" if v1 else "%Y-%m-%dT%H:%M:%SZ"
            if start is not None:
                when = utc(start).strftime(fmt)
                clauses.append(f"{f.time} >= {when}" if v1 else f"{f.time} >= date'{when}'")
            if end is not None:
                when = utc(end).strftime(fmt)
                clauses.append(f"{f.time} < {when}" if v1 else f"{f.time} < date'{when}'")
        return " AND ".join(clauses)

    def _read_records(self, start: datetime | None, end: datetime | None) -> ParsedRecords:
        o = self.options
        select = [*o.fields.selected(), *(v.field for v in o.values.values()), *o.attributes]
        if o.mapping is not None:
            select = ["*"]  # mapped fields read fields the mapping names by path or expression
        elif o.api == "v1":
            select = [name for name in select if name not in _V1_METADATA]
        where = _and(o.where, self._time_filter(start, end))
        params = self._query(o.dataset, select, where, self._time_order())
        parts = [
            parse_records(page, self.source_id, o, self.timezone, self.context.config.access)
            for page in self._fetch(o.dataset, params)
        ]
        return _combine(parts)

    def _latest_records(self) -> ParsedRecords:
        hours = self.options.latest_hours
        start = datetime.now(UTC) - timedelta(hours=hours) if hours else None
        records = self._read_records(start, None)
        self._refused.note(records.rejected)
        return records

    def discover_sites(self) -> pd.DataFrame:
        """The sites: from the sites dataset when configured, else from the latest records.

        Returns a canonical site frame. Raises ``ConnectorError``.
        """
        sites_ds = self.options.sites
        if sites_ds is None:
            records = self._latest_records()
            self._pending = (time.monotonic(), records.observations)
            return records.sites
        select = [*sites_ds.fields.selected(), *sites_ds.attributes]
        params = self._query(sites_ds.dataset, select, sites_ds.where, [])
        frames = [
            parse_sites(
                page,
                self.source_id,
                sites_ds,
                self.options.domain,
                self.options.kind,
                self.context.config.access,
            )
            for page in self._fetch(sites_ds.dataset, params)
        ]
        frames = [f for f in frames if not f.empty]
        if not frames:
            return empty_sites()
        return pd.concat(frames, ignore_index=True).drop_duplicates("id").reset_index(drop=True)

    def read_latest(self, sites: pd.DataFrame) -> pd.DataFrame:
        """The newest observation per site and metric (within ``latest_hours`` if set).

        Reuses the rows ``discover_sites`` just read when it read the same query.
        Raises ``ConnectorError``.
        """
        pending, self._pending = self._pending, None
        if pending is not None and time.monotonic() - pending[0] <= self._reuse_s:
            observations = pending[1]
        else:
            observations = self._latest_records().observations
        return _newest(observations[observations["site_id"].isin(sites["id"])])

    def read_window(self, sites: pd.DataFrame, start: datetime, end: datetime) -> pd.DataFrame:
        """Observations of ``sites`` with ``start <= time < end``.

        Filters on the portal (ODSQL ``where``) and again exactly here. Raises
        ``ConnectorError``.
        """
        records = self._read_records(start, end)
        self._refused.note(records.rejected)
        obs = records.observations
        lo, hi = utc(start), utc(end)
        keep = obs["site_id"].isin(sites["id"]) & (obs["time"] >= lo) & (obs["time"] < hi)
        obs = obs[keep].drop_duplicates(["site_id", "metric", "time"], keep="first")
        return obs.sort_values(["site_id", "metric", "time"]).reset_index(drop=True)

    def explain(self, limit: int = 5) -> list[Explanation]:
        """The first ``limit`` records of the latest query, as served, as mapped and why
        each was kept or dropped. Raises ``ConnectorError``."""
        o = self.options
        hours = o.latest_hours
        start = datetime.now(UTC) - timedelta(hours=hours) if hours else None
        select = [*o.fields.selected(), *(v.field for v in o.values.values()), *o.attributes]
        if o.mapping is not None:
            select = ["*"]
        elif o.api == "v1":
            select = [name for name in select if name not in _V1_METADATA]
        params = self._query(o.dataset, select, _and(o.where, self._time_filter(start, None)), [])
        payload, _ = self.http.get_json(
            self._records_url(o.dataset), {**params, **self._paging(0, min(limit, o.page_size))}
        )
        out = []
        for item in _items(payload, self.source_id)[:limit]:
            flat = _flat(item)
            mapped, problems = None, []
            if o.mapping is not None and isinstance(flat, dict):
                result = o.mapping.apply(flat, item, o.timezone or self.timezone)
                mapped = result.values
                problems = [f"mapping {k}: {v}" for k, v in result.problems.items()]
            parsed = parse_records(
                [item], self.source_id, o, self.timezone, self.context.config.access
            )
            problems += [str(r) for r in parsed.rejected["reason"].unique()]
            out.append(
                explain_rows(
                    item, mapped, parsed.sites, parsed.observations, self.context, problems
                )
            )
        return out

    def snapshot(self, now: datetime | None = None) -> Snapshot:
        """``Connector.snapshot``, also counting rows refused while parsing."""
        self._refused.clear()
        return self._refused.count_into(super().snapshot(now))


def _page_len(payload: Any) -> int:
    if isinstance(payload, dict):
        for key in ("results", "records"):
            if isinstance(payload.get(key), list):
                return len(payload[key])
        return 0
    return len(payload) if isinstance(payload, list) else 0


def _combine(parts: list[ParsedRecords]) -> ParsedRecords:
    return combine(parts, _REJECTED_COLUMNS)
