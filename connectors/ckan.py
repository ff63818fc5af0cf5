"""CKAN DataStore connector: the rows of one DataStore resource become sites and observations.

National and city open-data portals run CKAN; many publish sensor readings as a
DataStore table (one row per site and time). The source maps the table's columns in
``options``: which column is the site id, its name, the time, the coordinates and which
value columns feed which metric in which unit. Example::

    [sources.ped]
    connector = "ckan"
    url = "https://data.example.org"            # the CKAN site (".../api/3/action" added)
    [sources.ped.options]
    resource_id = "b2ak-..."
    domain = "pedestrians"
    site_field = "Location_ID"
    name_field = "Sensor_Name"
    time_field = "Sensing_Date"
    hour_field = "HourDay"                       # optional: hour of day in its own column
    location_field = "Location"                  # "lat, lon" text; or lat_field + lon_field
    values = { Total_of_Directions = { metric = "pedestrians", unit = "persons/h" } }

``datastore_search`` is paged with ``limit``/``offset`` until ``total`` is reached. The
URL may be the site, its action API (``/api/3/action``), a full action URL (CKAN's
``…/datastore_search`` or DKAN 1's ``…/api/action/datastore/search.json``: used as
given), or a DKAN 2 query URL (``…/api/1/datastore/query/{dataset}/{index}``, answering
``{"results", "count"}``). ``options.mapping`` (``cockpit.mapping``) adds computed fields
the other options may name. The parsing functions are pure (JSON in, frames out).
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cockpit.config import Domain
from cockpit.errors import DataError, ParseError, TooManyPages, UpstreamStatusError
from cockpit.mapping import RecordMapping
from cockpit.model import METRICS, empty_observations, empty_sites, observations_frame, sites_frame
from cockpit.source import (
    Connector,
    Explanation,
    SourceContext,
    explain_rows,
    native_id_text,
    redact_url,
)
from connectors.http import HttpClient, HttpLimits
from connectors.options import MetricName, required_url, source_options
from connectors.parsing import (
    HAS_OFFSET,
    as_float,
    as_floats,
    local_to_utc,
    nanosecond_times,
    utc,
    whole_hours,
)
from connectors.units import canonical_unit_factor

__all__ = [
    "CkanConnector",
    "CkanOptions",
    "DatastorePage",
    "ValueField",
    "observations_from_records",
    "parse_datastore_search",
    "require_fields",
    "sites_from_records",
]

log = logging.getLogger(__name__)

# CKAN's error types and the HTTP status they stand for.
_CKAN_ERRORS: Final = {
    "Authorization Error": 403,
    "Not Found Error": 404,
    "Validation Error": 409,
}
_IDENTIFIER: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ValueField(BaseModel):
    """One value column: the metric it feeds and the unit the portal publishes it in
    (or, for a mapped field, the unit its mapping states)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: MetricName
    unit: str = ""


class CkanOptions(BaseModel):
    """The ``options`` table of a CKAN source (besides the HTTP limits)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    resource_id: str = Field(min_length=1)
    domain: Domain
    kind: str = "sensor"
    site_field: str = Field(min_length=1)
    name_field: str | None = None
    time_field: str = Field(min_length=1)
    # Hour of day (0-23) in its own column, added to the date in ``time_field``.
    hour_field: str | None = None
    # strptime format for times that are not ISO 8601 (e.g. "%Y/%m/%d %H:%M:%S").
    time_format: str | None = None
    # Zone of times without an offset; default: the city's.
    timezone: str | None = None
    lat_field: str | None = None
    lon_field: str | None = None
    # One column holding "lat, lon" text or a {"lat": …, "lon": …} object.
    location_field: str | None = None
    # [lat, lon] of a resource that describes one place.
    location: tuple[float, float] | None = None
    values: dict[str, ValueField] = Field(min_length=1)
    filters: dict[str, Any] = {}
    page_size: int = Field(default=1000, ge=1, le=32_000)
    # read_latest pages back (newest first) until every site was seen or rows get older.
    latest_lookback_hours: float = Field(default=48, gt=0)
    api_key_header: str = "Authorization"
    api_key_param: str | None = None
    # Fields computed from each row (``cockpit.mapping``); the keys above may name them.
    mapping: RecordMapping | None = None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown IANA time zone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _one_location(self) -> CkanOptions:
        given = [
            bool(self.lat_field and self.lon_field),
            bool(self.location_field),
            self.location is not None,
        ]
        if sum(given) != 1:
            raise ValueError(
                "give the coordinates one way: lat_field and lon_field, location_field, "
                "or location = [lat, lon]"
            )
        units = self.mapping.units() if self.mapping is not None else {}
        for name, value in self.values.items():
            if not value.unit and name not in units:
                raise ValueError(f"values.{name}: give the column's unit")
        return self

    def unit_of(self, column: str) -> str:
        """The unit of a value column: its own, else the one its mapping states."""
        unit = self.values[column].unit
        if unit or self.mapping is None:
            return unit
        return self.mapping.units().get(column, "")

    def computed(self, name: str) -> bool:
        """Whether ``name`` is a mapped field rather than a column of the resource."""
        return self.mapping is not None and name in self.mapping.fields

    def served(self, names: Sequence[str]) -> list[str]:
        """The columns among ``names`` the resource itself has (mapped fields left out)."""
        return [n for n in names if not self.computed(n)]

    def mapped(self, records: Sequence[Mapping[str, Any]], zone: str) -> list[dict[str, Any]]:
        """``records`` with their mapped fields (the records themselves without a mapping)."""
        if self.mapping is None:
            return [dict(r) for r in records]
        tz = self.timezone or zone
        return [self.mapping.apply(r, r, tz).values for r in records]

    def site_fields(self) -> list[str]:
        """The columns that describe a site."""
        names = [self.site_field, self.name_field, self.lat_field, self.lon_field]
        return list(dict.fromkeys(n for n in [*names, self.location_field] if n))

    def observation_fields(self) -> list[str]:
        """The columns an observation row needs."""
        names = [self.site_field, self.time_field, self.hour_field, *self.values]
        return list(dict.fromkeys(n for n in names if n))


@dataclass(frozen=True)
class DatastorePage:
    """One ``datastore_search`` answer: its rows, the table's row count and its columns."""

    records: list[dict[str, Any]]
    total: int | None
    fields: list[str] | None


# --------------------------------------------------------------------------- parsing


def parse_datastore_search(body: Any, source: str, url: str | None = None) -> DatastorePage:
    """Read a CKAN action answer ``{"success": …, "result": {"records": …}}``.

    Raises ``UpstreamStatusError`` for ``{"success": false, "error": {…}}`` (the error's
    type and message in the reason) and ``ParseError`` for anything else that is not a
    DataStore answer with a list of record objects.
    """
    if not isinstance(body, dict):
        raise ParseError(source, f"expected a JSON object, got {type(body).__name__}", url)
    if "success" not in body and isinstance(body.get("results"), list):
        return _dkan_query(body, source, url)
    if body.get("success") is False:
        error = body.get("error")
        error = error if isinstance(error, dict) else {}
        kind = str(error.get("__type") or "error")
        detail = error.get("message") or {k: v for k, v in error.items() if k != "__type"}
        reason = f"CKAN refused the request: {kind}: {str(detail)[:200]}"
        raise UpstreamStatusError(source, reason, url, _CKAN_ERRORS.get(kind, 0))
    result = body.get("result")
    if body.get("success") is not True or not isinstance(result, dict):
        raise ParseError(source, "not a CKAN action answer (no success/result)", url)
    records = result.get("records")
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ParseError(source, "result.records is not a list of objects", url)
    total = result.get("total")
    total = total if isinstance(total, int) and not isinstance(total, bool) else None
    raw_fields = result.get("fields")
    fields = None
    if isinstance(raw_fields, list):
        fields = [str(f["id"]) for f in raw_fields if isinstance(f, dict) and "id" in f]
    return DatastorePage(records, total, fields)


def _dkan_query(body: dict[str, Any], source: str, url: str | None) -> DatastorePage:
    """A DKAN 2 datastore query answer ``{"results": […], "count": n, "schema": …}``."""
    records = body["results"]
    if not all(isinstance(r, dict) for r in records):
        raise ParseError(source, "results is not a list of objects", url)
    total = body.get("count")
    total = total if isinstance(total, int) and not isinstance(total, bool) else None
    fields = None
    schema = body.get("schema")
    if isinstance(schema, dict):
        for table in schema.values():
            if isinstance(table, dict) and isinstance(table.get("fields"), dict):
                fields = [str(name) for name in table["fields"]]
                break
    return DatastorePage(records, total, fields)


def require_fields(
    page: DatastorePage, needed: Sequence[str], source: str, url: str | None
) -> None:
    """Raise ``ParseError`` naming the columns of ``needed`` that the resource lacks.

    The resource's columns come from ``fields`` (or the first record's keys); a page with
    neither says nothing and passes.
    """
    known = (
        page.fields
        if page.fields is not None
        else (list(page.records[0]) if page.records else None)
    )
    if known is None:
        return
    missing = [name for name in needed if name not in known]
    if missing:
        shown = ", ".join(known[:12])
        raise ParseError(
            source, f"the resource has no column {missing} (columns: {shown}); check options", url
        )


def _coordinates(record: Mapping[str, Any], options: CkanOptions) -> tuple[float, float]:
    if options.location is not None:
        return options.location
    if options.location_field:
        value = record.get(options.location_field)
        if isinstance(value, str) and value.count(",") == 1:
            lat, lon = value.split(",")
            return as_float(lat.strip()), as_float(lon.strip())
        if isinstance(value, dict):
            return as_float(value.get("lat")), as_float(value.get("lon"))
        return math.nan, math.nan
    return as_float(record.get(options.lat_field or "")), as_float(
        record.get(options.lon_field or "")
    )


def sites_from_records(
    records: Sequence[Mapping[str, Any]], options: CkanOptions, source: str, access: str = "public"
) -> pd.DataFrame:
    """Canonical sites from DataStore rows, one per distinct site id (the first row wins).

    Rows without a site id or with unreadable coordinates give sites that
    ``validate_sites`` rejects with a reason. Never raises for odd values.
    """
    seen: dict[str, dict[str, Any]] = {}
    for record in records:
        native = native_id_text(record.get(options.site_field))
        site_id = f"{source}:{native}" if native is not None else ""
        if site_id in seen:
            continue
        lat, lon = _coordinates(record, options)
        name = record.get(options.name_field) if options.name_field else None
        text = str(name).strip() if isinstance(name, str | int | float) else ""
        seen[site_id] = {
            "id": site_id,
            "name": text or native,  # portals serve names with stray spaces
            "domain": options.domain,
            "kind": options.kind,
            "lat": lat,
            "lon": lon,
            "source": source,
            "access": access,
            "origin": "measured",
            "attributes": {"resource_id": options.resource_id},
        }
    return sites_frame(list(seen.values())) if seen else empty_sites()


def _row_times(
    texts: list[Any], hours: list[Any] | None, options: CkanOptions, zone: str
) -> pd.DatetimeIndex:
    """UTC times of the rows: ISO 8601 (or ``time_format``) text, plus an hour column.

    Times without an offset are in ``zone``; a local time that does not exist or exists
    twice (daylight saving changes) becomes NaT, as does anything unreadable.
    """
    strings = [t if isinstance(t, str) else None for t in texts]
    fmt = options.time_format or "ISO8601"
    if options.time_format and "%z" in options.time_format:
        aware = np.array([s is not None for s in strings], dtype=bool)
    else:
        aware = np.array(
            [s is not None and bool(HAS_OFFSET.search(s)) for s in strings], dtype=bool
        )
    try:
        naive = [None if a else s for s, a in zip(strings, aware, strict=True)]
        boxed = pd.Index(naive, dtype=object)
        local = pd.DatetimeIndex(pd.to_datetime(boxed, format=fmt, errors="coerce"))
        if local.tz is not None:
            local = local.tz_localize(None)
        if hours is not None:
            local = local + pd.to_timedelta(whole_hours(as_floats(hours)), unit="h")
        local = nanosecond_times(local_to_utc(local, zone))
        offset = [s if a else None for s, a in zip(strings, aware, strict=True)]
        aware_utc = nanosecond_times(
            pd.DatetimeIndex(
                pd.to_datetime(
                    pd.Index(offset, dtype=object), format=fmt, errors="coerce", utc=True
                )
            )
        )
    except (ValueError, TypeError, OverflowError):
        # Last resort for values pandas cannot even coerce: the rows get no time and are
        # rejected with that reason.
        return pd.DatetimeIndex([pd.NaT] * len(texts), tz="UTC").as_unit("ns")
    return local.where(~aware, aware_utc)


def _factor(field: str, value: ValueField, unit: str, source: str) -> tuple[float, str]:
    """(factor to the canonical unit, unit of the output rows)."""
    try:
        return canonical_unit_factor(value.metric, unit), METRICS[value.metric].unit
    except DataError as exc:
        # Kept with the published unit so the validators reject and count the rows.
        log.warning("source %s: column %s: %s", source, field, exc)
        return math.nan, unit


def observations_from_records(
    records: Sequence[Mapping[str, Any]], options: CkanOptions, source: str, zone: str = "UTC"
) -> pd.DataFrame:
    """Canonical observations from DataStore rows: one per row and value column.

    Values are numbers or numeric text; null or other text gives NaN, an unreadable time
    NaT, a unit that cannot be converted keeps its published unit: ``validate_observations``
    rejects all of these with a reason. Never raises for odd values.
    """
    if not records:
        return empty_observations()
    tz = options.timezone or zone
    site_ids = [
        f"{source}:{n}" if (n := native_id_text(r.get(options.site_field))) is not None else ""
        for r in records
    ]
    hours = [r.get(options.hour_field) for r in records] if options.hour_field else None
    times = _row_times([r.get(options.time_field) for r in records], hours, options, tz)
    frames = []
    for field, value in options.values.items():
        factor, unit = _factor(field, value, options.unit_of(field), source)
        raw = as_floats([r.get(field) for r in records])
        frames.append(
            pd.DataFrame(
                {
                    "site_id": site_ids,
                    "metric": value.metric,
                    "time": times,
                    "value": raw if math.isnan(factor) else raw * factor,
                    "unit": unit,
                }
            )
        )
    return observations_frame(pd.concat(frames, ignore_index=True))


# --------------------------------------------------------------------------- requests


_DKAN2_QUERY: Final = re.compile(r"/api/1/datastore/query(/[^/?#]+){1,2}$")
_FULL_ACTION: Final = re.compile(
    r"/api(/\d+)?/action/(datastore_search|datastore/search(\.json)?)$"
)


def _action_url(url: str) -> str:
    """The URL to query: a full action or DKAN 2 query URL as given, else the site's (or
    the action API's) ``datastore_search``."""
    base = url.rstrip("/")
    if _FULL_ACTION.search(base) or _DKAN2_QUERY.search(base) or base.endswith("/datastore_search"):
        return base
    if base.endswith("/api/3/action") or base.endswith("/api/action"):
        return f"{base}/datastore_search"
    return f"{base}/api/3/action/datastore_search"


def _is_dkan2(url: str) -> bool:
    return bool(_DKAN2_QUERY.search(url))


def _sort_key(field: str) -> str:
    return field if _IDENTIFIER.match(field) else '"' + field.replace('"', '""') + '"'


class CkanConnector(Connector):
    """Reads one CKAN DataStore resource through ``datastore_search``.

    ``SourceConfig.url`` is the CKAN site (or its ``/api/3/action`` URL); the options are
    ``CkanOptions`` plus the ``HttpLimits`` keys. The credential ``api_key`` (a CKAN API
    token) goes in the ``Authorization`` header, or in ``options.api_key_param``. Raises
    ``ConfigError`` for wrong options and ``ConnectorError`` subclasses when reading fails.
    """

    def __init__(self, context: SourceContext) -> None:
        super().__init__(context)
        self.options = source_options(CkanOptions, context)
        self.url = _action_url(required_url(context, "the CKAN site URL"))
        self.dkan2 = _is_dkan2(self.url)
        api_key = context.secret("api_key")
        headers: dict[str, str] = {}
        self._auth_params: dict[str, str] = {}
        if api_key and self.options.api_key_param:
            self._auth_params[self.options.api_key_param] = api_key
        elif api_key:
            headers[self.options.api_key_header] = api_key
        limits = HttpLimits.from_options(context.config.options)
        self.http = HttpClient(self.source_id, limits, headers, (api_key or "",))

    def close(self) -> None:
        """Close the HTTP session."""
        self.http.close()

    def _pages(self, params: Mapping[str, Any], needed: Sequence[str]) -> Iterator[DatastorePage]:
        """Pages of ``datastore_search`` by ``offset`` until ``total`` rows were read.

        Raises ``TooManyPages`` past ``max_pages`` and ``ParseError`` when the resource
        lacks a column of ``needed``.
        """
        offset, pages = 0, 0
        limit = self.options.page_size
        while True:
            pages += 1
            shown = redact_url(self.url, self.http.secrets)
            if pages > self.http.limits.max_pages:
                raise TooManyPages(
                    self.source_id,
                    f"more than {self.http.limits.max_pages} pages of {limit} rows "
                    "(raise max_pages or page_size, or add filters)",
                    shown,
                )
            query: dict[str, Any]
            if self.dkan2:
                query = {"limit": limit, "offset": offset, "count": "true", "schema": "true"}
                query.update(_dkan2_sorts(params.get("sort", "")))
                query.update(self._auth_params)
                for i, (name, value) in enumerate(self.options.filters.items()):
                    query[f"conditions[{i}][property]"] = name
                    query[f"conditions[{i}][value]"] = str(value)
            else:
                query = {
                    "resource_id": self.options.resource_id,
                    "limit": limit,
                    "offset": offset,
                    **params,
                    **self._auth_params,
                }
            if self.options.filters and not self.dkan2:
                query["filters"] = json.dumps(self.options.filters, separators=(",", ":"))
            body, _ = self.http.get_json(self.url, params=query)
            page = parse_datastore_search(body, self.source_id, shown)
            if pages == 1:
                require_fields(page, self.options.served(needed), self.source_id, shown)
            yield page
            offset += len(page.records)
            done = page.total is not None and offset >= page.total
            if not page.records or done or (page.total is None and len(page.records) < limit):
                return

    def _newest_first(self) -> dict[str, str]:
        keys = [self.options.time_field, self.options.hour_field]
        if any(k and self.options.computed(k) for k in keys):
            return {}  # the resource cannot sort on a mapped field; every page is read
        return {"sort": ", ".join(f"{_sort_key(k)} desc" for k in keys if k)}

    def discover_sites(self) -> pd.DataFrame:
        """One site per distinct site id of the resource, as a canonical site frame.

        Raises ``ConnectorError`` subclasses when the portal cannot be read.
        """
        fields = self.options.site_fields()
        params = {
            "fields": ",".join(fields),
            "distinct": "true",
            "sort": _sort_key(self.options.site_field),
        }
        if self.dkan2 or self.options.mapping is not None:
            # Whole rows: DKAN 2 has no distinct, and mapped fields read other columns.
            params = {} if self.options.computed(self.options.site_field) else params
            params.pop("fields", None)
            params.pop("distinct", None)
        records = [r for page in self._pages(params, fields) for r in page.records]
        records = self.options.mapped(records, self.context.timezone)
        return sites_from_records(records, self.options, self.source_id, self.context.config.access)

    def _observations(self, records: list[dict[str, Any]]) -> pd.DataFrame:
        return observations_from_records(
            self.options.mapped(records, self.context.timezone),
            self.options,
            self.source_id,
            self.context.timezone,
        )

    def explain(self, limit: int = 5) -> list[Explanation]:
        """The first ``limit`` rows of the resource (newest first), as served, as mapped
        and why each was kept or dropped. Raises ``ConnectorError``."""
        o = self.options
        needed = [*o.site_fields(), *o.observation_fields()]
        page = next(self._pages(self._newest_first(), list(dict.fromkeys(needed))), None)
        out = []
        tz = o.timezone or self.context.timezone
        for record in (page.records if page else [])[:limit]:
            mapped, problems = None, []
            row = dict(record)
            if o.mapping is not None:
                result = o.mapping.apply(record, record, tz)
                mapped = row = result.values
                problems = [f"mapping {k}: {v}" for k, v in result.problems.items()]
            sites = sites_from_records([row], o, self.source_id, self.context.config.access)
            observations = observations_from_records([row], o, self.source_id, tz)
            out.append(explain_rows(record, mapped, sites, observations, self.context, problems))
        return out

    def read_latest(self, sites: pd.DataFrame) -> pd.DataFrame:
        """The newest row per site and metric, reading the resource newest first.

        Stops when every site of ``sites`` was seen or rows are older than
        ``latest_lookback_hours``. Raises ``ConnectorError`` subclasses.
        """
        wanted = set(sites["id"].astype(str)) if not sites.empty else set()
        oldest = pd.Timestamp(
            datetime.now(UTC) - timedelta(hours=self.options.latest_lookback_hours)
        )
        frames = []
        for page in self._pages(self._newest_first(), self.options.observation_fields()):
            frame = self._observations(page.records)
            frames.append(frame)
            seen = set(pd.concat(frames)["site_id"].dropna().astype(str))
            if wanted <= seen or (frame["time"].notna().any() and frame["time"].min() < oldest):
                break
        frame = pd.concat(frames, ignore_index=True) if frames else empty_observations()
        if frame.empty:
            return empty_observations()
        # The first row per (site, metric) is the newest: the pages are sorted newest first,
        # and rows without a time sort last so they never hide a dated value.
        frame = frame.sort_values("time", ascending=False, na_position="last", kind="stable")
        latest = frame.drop_duplicates(["site_id", "metric"], keep="first")
        return latest.reset_index(drop=True)

    def read_window(self, sites: pd.DataFrame, start: datetime, end: datetime) -> pd.DataFrame:
        """Rows of ``sites`` with ``start <= time < end``, reading newest first.

        ``datastore_search`` filters only on equality, so the pages are read newest first
        and reading stops at the first page that reaches back before ``start``. Raises
        ``ConnectorError`` subclasses.
        """
        lo, hi = utc(start), utc(end)
        wanted = set(sites["id"].astype(str)) if not sites.empty else set()
        frames = []
        for page in self._pages(self._newest_first(), self.options.observation_fields()):
            frame = self._observations(page.records)
            frames.append(frame[(frame["time"] >= lo) & (frame["time"] < hi)])
            if frame["time"].notna().any() and frame["time"].min() < lo:
                break
        frames = [f for f in frames if not f.empty]
        if not frames:
            return empty_observations()
        frame = pd.concat(frames, ignore_index=True)
        frame = frame[frame["site_id"].isin(wanted)].sort_values("time", kind="stable")
        return frame.reset_index(drop=True)


def _dkan2_sorts(sort: str) -> dict[str, str]:
    """CKAN's ``sort`` text ("a desc, b desc") as DKAN 2 ``sorts[i][property|order]``."""
    out: dict[str, str] = {}
    for i, part in enumerate(p.strip() for p in sort.split(",") if p.strip()):
        name, _, order = part.rpartition(" ") if " " in part else (part, "", "asc")
        out[f"sorts[{i}][property]"] = name.strip('"')
        out[f"sorts[{i}][order]"] = order.lower() if order.lower() in ("asc", "desc") else "asc"
    return out
