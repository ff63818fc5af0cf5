"""Plain CSV or JSON files over HTTP — the way many cities publish their counters — read
as canonical frames.

Two layouts:

* ``long``: a row per observation (a site id column, a time, value columns), mapped by
  the ``RecordOptions`` fields (``id`` or ``site_id``, ``time``, ``hour``, ``values``…);
* ``wide``: a row per time and a column per site (``time`` and optional ``hour``
  columns, then one column per site holding ``metric`` in ``unit``); ``columns`` picks
  the site columns (default: all others but ``skip_columns``), ``names_row`` names a row
  holding each site's description (e.g. a second header row starting ``Title``). An
  empty cell is no observation.

Sites get their position from the row's ``lat`` / ``lon`` columns, from a ``sites``
table (another CSV/JSON file with id, name, lat and lon columns, joined on the site id
or column name), or from ``site_locations`` constants in the config. A site found
nowhere keeps no coordinates, and the model's validator rejects it with that reason.

CSV is read as UTF-8 (with or without a BOM), the delimiter sniffed from the header
unless given; JSON is an array of objects, or one under ``records`` (a dotted path).
A file is served with any content type (static hosts send ``text/plain``).
"""

from __future__ import annotations

import csv
import io
import json
import warnings
from datetime import datetime
from typing import Any, Final, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from cockpit.columns import as_number
from cockpit.config import Domain
from cockpit.errors import ParseError
from cockpit.mapping import RecordMapping
from cockpit.model import METRICS
from cockpit.source import SourceContext
from connectors.http import HttpClient, HttpLimits
from connectors.options import source_options
from connectors.records import (
    MappedConnector,
    MappedRecords,
    RecordOptions,
    ValueSpec,
    in_window,
    map_records,
)

__all__ = ["SiteTable", "TableConnector", "TableOptions", "parse_table", "wide_to_long"]

# The rows of a file: a JSON array, or a CSV file as a frame of texts.
Rows = list[Any] | pd.DataFrame

_SITE: Final = "__site__"
_VALUE: Final = "__value__"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SiteLocation(_Strict):
    """One site's position (and name) given in the config."""

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    name: str = ""


class SiteTable(_Strict):
    """A file listing the sites: its URL, format and which columns hold what."""

    url: str = Field(min_length=1)
    format: Literal["csv", "json"] = "csv"
    delimiter: str = Field(default="", max_length=1)
    records: str = ""
    id: str = Field(min_length=1)
    name: str = ""
    lat: str = Field(min_length=1)
    lon: str = Field(min_length=1)


class TableOptions(_Strict):
    """A CSV/JSON source's ``options`` (the HTTP limits aside); the file is the ``url``."""

    format: Literal["csv", "json"] = "csv"
    layout: Literal["long", "wide"] = "long"
    delimiter: str = Field(default="", max_length=1)
    records: str = ""
    domain: Domain
    kind: str = "sensor"
    # long layout: the record mapping
    id: str = ""
    site_id: str = ""
    name: str = ""
    site_name: str = ""
    lat: str = ""
    lon: str = ""
    location: tuple[float, float] | None = None
    values: dict[str, ValueSpec] = {}
    attributes: list[str] = []
    # both layouts: the time
    time: str = Field(min_length=1)
    hour: str = ""
    time_format: str = ""
    timezone: str = ""
    # wide layout: what every site column holds
    metric: str = ""
    unit: str = ""
    columns: list[str] = []
    skip_columns: list[str] = []
    names_row: str = ""
    # where sites are
    sites: SiteTable | None = None
    site_locations: dict[str, SiteLocation] = {}
    # Renamed, constant, computed, value-mapped and time-parsed fields (cockpit.mapping);
    # in the wide layout each site column's value is the field ``__value__``.
    mapping: RecordMapping | None = None

    @model_validator(mode="after")
    def _layout(self) -> TableOptions:
        if self.layout == "wide":
            if self.metric not in METRICS:
                raise ValueError(f"a wide table needs metric, one of {list(METRICS)}")
            if not self.unit:
                raise ValueError("a wide table needs the unit of its site columns")
            if self.values or self.id or self.site_id:
                raise ValueError("a wide table has a column per site: no values, id or site_id")
        self.record_options()  # options that do not hold together raise here
        return self

    def record_options(self) -> RecordOptions:
        """The record options rows are read with (wide rows after ``wide_to_long``)."""
        common: dict[str, Any] = {
            "domain": self.domain,
            "kind": self.kind,
            "time": self.time,
            "hour": self.hour,
            "time_format": self.time_format,
            "timezone": self.timezone,
            "mapping": self.mapping,
        }
        if self.layout == "wide":
            return RecordOptions(
                **common,
                id=_SITE,
                name="__name__",
                values={self.metric: ValueSpec(field=_VALUE, unit=self.unit)},
            )
        return RecordOptions(
            **common,
            id=self.id,
            site_id=self.site_id,
            name=self.name,
            site_name=self.site_name,
            lat=self.lat,
            lon=self.lon,
            location=self.location,
            values=self.values,
            attributes=self.attributes,
        )


def parse_table(
    body: bytes,
    fmt: str,
    source: str,
    delimiter: str = "",
    records: str = "",
    url: str | None = None,
) -> Rows:
    """The rows of a JSON file (a list) or a CSV file (a frame of texts, an empty cell
    being ""); raises ``ParseError``."""
    if fmt == "json":
        try:
            payload: Any = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(source, f"the file is not valid JSON ({exc})", url) from exc
        for key in [k for k in records.split(".") if k]:
            if not isinstance(payload, dict) or key not in payload:
                raise ParseError(source, f"the JSON file has no {records!r}", url)
            payload = payload[key]
        if not isinstance(payload, list):
            raise ParseError(source, "the JSON file holds no array of records", url)
        return payload
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(source, f"the CSV file is not UTF-8 ({exc.reason})", url) from exc
    if not text.strip():
        raise ParseError(source, "the CSV file is empty", url)
    first = text.split("\n", 1)[0]
    sep = delimiter or max((";", ",", "\t"), key=first.count)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            frame = pd.read_csv(
                io.StringIO(text),
                sep=sep,
                dtype=str,
                keep_default_na=False,
                skip_blank_lines=True,
                engine="c",
            )
    except (ValueError, csv.Error, pd.errors.ParserError, Warning) as exc:
        raise ParseError(source, f"the CSV file cannot be read ({exc})", url) from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _require(rows: Rows, fields: list[str], source: str, url: str | None) -> None:
    """``ParseError`` when no row has a mapped field: the file is not the one configured."""
    if isinstance(rows, pd.DataFrame):
        seen = {str(c) for c in rows.columns}
    else:
        dicts = [r for r in rows if isinstance(r, dict)]
        if not dicts:
            return
        seen = set().union(*(map(str, r.keys()) for r in dicts[:50]))
    missing = [f for f in fields if f and f not in seen]
    if missing:
        shown = ", ".join(sorted(seen)[:20])
        raise ParseError(source, f"the file has no column(s) {missing} (seen: {shown})", url)


def wide_to_long(rows: Rows, options: TableOptions) -> pd.DataFrame:
    """One record per (row, site column) holding a value; a ``names_row`` row names sites."""
    frame = rows if isinstance(rows, pd.DataFrame) else _frame(rows)
    time_keys = [k for k in (options.time, options.hour) if k and k in frame.columns]
    names: dict[str, str] = {}
    if options.names_row and options.time in frame.columns:
        stamps = frame[options.time].map(lambda v: v.strip() if isinstance(v, str) else v)
        titled = stamps == options.names_row
        if titled.any():
            row = frame[titled].iloc[-1]
            names = {str(k).strip(): str(v).strip() for k, v in row.items() if k not in time_keys}
            frame = frame[~titled]
    skip = {c.strip() for c in options.skip_columns}
    wanted = {c.strip() for c in options.columns}
    sites = [
        c
        for c in frame.columns
        if c not in time_keys
        and str(c).strip()
        and str(c).strip() not in skip
        and (not wanted or str(c).strip() in wanted)
    ]
    if not sites or frame.empty:
        return pd.DataFrame(columns=[*time_keys, _SITE, _VALUE, "__name__"])
    long = frame.melt(id_vars=time_keys, value_vars=sites, var_name=_SITE, value_name=_VALUE)
    values = long[_VALUE]
    empty = values.isna() | values.map(lambda v: isinstance(v, str) and not v.strip())
    long = long[~empty.astype(bool)].reset_index(drop=True)
    long[_SITE] = long[_SITE].astype(str).str.strip()
    long["__name__"] = long[_SITE].map(lambda k: names.get(k, "")).astype("object")
    return long


def _frame(rows: list[Any]) -> pd.DataFrame:
    dicts = [r for r in rows if isinstance(r, dict)]
    if not dicts:
        return pd.DataFrame()
    frame = pd.DataFrame.from_records(dicts)
    frame.columns = [str(c) for c in frame.columns]
    return frame


class TableConnector(MappedConnector):
    """Reads one CSV or JSON file over HTTP (and its sites file, if any)."""

    def __init__(self, context: SourceContext) -> None:
        super().__init__(context)
        self.options = source_options(TableOptions, context)
        self.records = self.options.record_options()
        self.http = HttpClient(self.source_id, HttpLimits.from_options(context.config.options))

    def close(self) -> None:
        self.http.close()

    def _rows(self) -> Rows:
        o = self.options
        url = self.context.config.url
        body, _ = self.http.get_bytes(url)
        rows = parse_table(body, o.format, self.source_id, o.delimiter, o.records, url)
        if isinstance(rows, pd.DataFrame) and rows.empty:
            raise ParseError(self.source_id, "the CSV file holds a header and no rows", url)
        read = self.records
        needed = [f for f in (o.time, o.hour) if not read.mapped(f)]
        needed += read.fields_read() if o.layout == "long" else []
        _require(rows, needed, self.source_id, url)
        return wide_to_long(rows, o) if o.layout == "wide" else rows

    def _site_positions(self) -> dict[str, tuple[float, float, str]]:
        """Site key -> (lat, lon, name) from the sites file and the config's constants."""
        found: dict[str, tuple[float, float, str]] = {}
        table = self.options.sites
        if table is not None:
            body, _ = self.http.get_bytes(table.url)
            rows = parse_table(
                body, table.format, self.source_id, table.delimiter, table.records, table.url
            )
            _require(rows, [table.id, table.lat, table.lon], self.source_id, table.url)
            listed = rows.to_dict("records") if isinstance(rows, pd.DataFrame) else rows
            for row in listed:
                if not isinstance(row, dict):
                    continue
                key = str(row.get(table.id, "")).strip()
                lat, lon = _number(row.get(table.lat)), _number(row.get(table.lon))
                if key and lat is not None and lon is not None:
                    name = row.get(table.name) if table.name else ""
                    found.setdefault(key, (lat, lon, str(name or "").strip()))
        for key, where in self.options.site_locations.items():
            found[key.strip()] = (where.lat, where.lon, where.name)
        return found

    def _latest(self) -> MappedRecords:
        """The whole file, mapped (a file is its newest state). Raises ``ConnectorError``."""
        rows = self._rows()
        places = self._site_positions()
        mapping = self.records
        positions: list[tuple[float, float] | None] | None = None
        if places and not mapping.lat and not mapping.mapped(mapping.id):
            keys: list[Any]
            if mapping.site_id:
                keys = [mapping.site_id] * len(rows)
            elif isinstance(rows, pd.DataFrame):
                keys = [str(k).strip() for k in rows[mapping.id].tolist()]
            else:
                keys = [
                    str(r.get(mapping.id, "")).strip() if isinstance(r, dict) else None
                    for r in rows
                ]
            found = [places.get(k) if k is not None else None for k in keys]
            positions = [(p[0], p[1]) if p else None for p in found]
        mapped = map_records(
            rows,
            mapping,
            self.source_id,
            self.context.timezone,
            self.context.config.access,
            positions,
        )
        if places and not mapped.sites.empty:
            prefix = f"{self.source_id}:"
            site_keys = mapped.sites["id"].str.slice(len(prefix))
            named = site_keys.map(lambda k: places.get(str(k), (0, 0, ""))[2])
            mapped.sites["name"] = named.where(named != "", mapped.sites["name"]).astype("string")
        self.rejected = mapped.rejected
        return mapped

    def read_window(self, sites: pd.DataFrame, start: datetime, end: datetime) -> pd.DataFrame:
        """Observations in [start, end): the file is read whole and cut here."""
        return in_window(self._latest().observations, sites, start, end)


def _number(value: Any) -> float | None:
    number = as_number(value)
    return None if number != number else number
