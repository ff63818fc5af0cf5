"""ArcGIS FeatureServer and MapServer layers (ArcGIS Server, Enterprise, Online / Hub),
read as canonical frames.

The source's ``url`` is the layer (``…/FeatureServer/0``); the connector asks its
``/query`` with ``where`` (default ``1=1``), ``outFields``, ``outSR=4326`` and ``f=json``
(Esri JSON: ``features[].attributes`` and ``geometry {x, y}``) or ``f=geojson``
(``features[].properties`` and a GeoJSON geometry, ``[lon, lat]``). Pages follow
``resultOffset`` / ``resultRecordCount`` while the answer says ``exceededTransferLimit``.
An error the server wraps in an HTTP 200 (``{"error": {"code": 400, …}}``) is an
``UpstreamStatusError`` with its code.

Which attribute is the site id, name, time and the value of each metric is the source's
``RecordOptions`` (``connectors.records``) with its ``mapping``; the position is the
feature's geometry (a point, or the mean of a line's or polygon's vertices) unless the
options name fields.
Times in epoch milliseconds (ArcGIS date fields) and texts are both read.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, datetime
from typing import Any, Final, Literal

import pandas as pd
from pydantic import Field

from cockpit.columns import as_number
from cockpit.errors import ParseError, TooManyPages, UpstreamStatusError
from cockpit.model import empty_observations, empty_sites
from cockpit.source import SourceContext
from connectors.http import HttpClient, HttpLimits
from connectors.options import source_options
from connectors.records import (
    MappedConnector,
    MappedRecords,
    RecordOptions,
    in_window,
    latest_start,
    map_records,
)

__all__ = ["ArcGisConnector", "ArcGisOptions", "QueryPage", "parse_query"]

_WGS84: Final = frozenset({4326, None})


class ArcGisOptions(RecordOptions):
    """An ArcGIS source's ``options``: the record mapping and how to query the layer."""

    format: Literal["json", "geojson"] = "json"
    where: str = "1=1"
    page_size: int = Field(default=1000, ge=1, le=32_000)
    # An attribute to order pages by (stable paging); empty: the server's order.
    order_by: str = ""
    # read_latest asks for this many hours back on the time attribute; unset: the layer
    # is the current state (one feature per site).
    latest_hours: float | None = Field(default=None, gt=0)


class QueryPage:
    """One ``/query`` answer: its records, each feature's (lat, lon) and whether more
    pages follow."""

    def __init__(
        self, records: list[Any], positions: list[tuple[float, float] | None], more: bool
    ) -> None:
        self.records = records
        self.positions = positions
        self.more = more


def _mean_point(points: Any) -> tuple[float, float] | None:
    """(lat, lon) mean of [x, y] vertices (any nesting of rings or paths)."""
    flat: list[tuple[float, float]] = []

    def walk(item: Any, depth: int) -> None:
        if depth > 4 or not isinstance(item, list):
            return
        if len(item) >= 2 and all(isinstance(v, int | float) for v in item[:2]):
            flat.append((as_number(item[1]), as_number(item[0])))
            return
        for child in item:
            walk(child, depth + 1)

    walk(points, 0)
    good = [p for p in flat if not (math.isnan(p[0]) or math.isnan(p[1]))]
    if not good:
        return None
    return sum(p[0] for p in good) / len(good), sum(p[1] for p in good) / len(good)


def _esri_position(geometry: Any) -> tuple[float, float] | None:
    if not isinstance(geometry, dict):
        return None
    if "x" in geometry and "y" in geometry:
        lat, lon = as_number(geometry.get("y")), as_number(geometry.get("x"))
        return None if math.isnan(lat) or math.isnan(lon) else (lat, lon)
    for key in ("rings", "paths", "points"):
        if key in geometry:
            return _mean_point(geometry[key])
    return None


def _geojson_position(geometry: Any) -> tuple[float, float] | None:
    if not isinstance(geometry, dict):
        return None
    return _mean_point(geometry.get("coordinates"))


def parse_query(payload: Any, source: str, url: str | None = None) -> QueryPage:
    """Records and positions of an Esri JSON or GeoJSON ``/query`` answer.

    Raises ``UpstreamStatusError`` for an error envelope and ``ParseError`` for an answer
    that is neither shape, or whose coordinates are not WGS84 (``outSR`` ignored).
    """
    if not isinstance(payload, dict):
        raise ParseError(source, f"expected a JSON object, got {type(payload).__name__}", url)
    error = payload.get("error")
    if isinstance(error, dict):
        code = error.get("code")
        status = code if isinstance(code, int) and not isinstance(code, bool) else 0
        message = str(error.get("message", ""))[:200]
        raise UpstreamStatusError(source, f"ArcGIS error {code}: {message}", url, status)
    features = payload.get("features")
    if not isinstance(features, list):
        raise ParseError(source, "not an ArcGIS query answer (no features list)", url)
    more = payload.get("exceededTransferLimit") is True
    props = payload.get("properties")
    if isinstance(props, dict) and props.get("exceededTransferLimit") is True:
        more = True
    geojson = payload.get("type") == "FeatureCollection"
    if not geojson:
        ref = payload.get("spatialReference")
        wkid = ref.get("latestWkid", ref.get("wkid")) if isinstance(ref, dict) else None
        if wkid not in _WGS84:
            raise ParseError(source, f"coordinates are in wkid {wkid!r}, not WGS84 (4326)", url)
    records: list[Any] = []
    positions: list[tuple[float, float] | None] = []
    for feature in features:
        if not isinstance(feature, dict):
            records.append(feature)
            positions.append(None)
            continue
        if geojson:
            records.append(feature.get("properties"))
            positions.append(_geojson_position(feature.get("geometry")))
        else:
            records.append(feature.get("attributes"))
            positions.append(_esri_position(feature.get("geometry")))
    return QueryPage(records, positions, more)


class ArcGisConnector(MappedConnector):
    """Reads one ArcGIS layer through its ``/query`` endpoint."""

    def __init__(self, context: SourceContext) -> None:
        super().__init__(context)
        self.options = source_options(ArcGisOptions, context)
        self.http = HttpClient(self.source_id, HttpLimits.from_options(context.config.options))
        url = context.config.url.rstrip("/")
        self.query_url = url if url.endswith("/query") else f"{url}/query"

    def close(self) -> None:
        self.http.close()

    def _params(self, where: str, offset: int) -> dict[str, str]:
        o = self.options
        fields = "*" if not o.fields_read() else ",".join(o.fields_read())
        params = {
            "where": where,
            "outFields": fields,
            "outSR": "4326",
            "returnGeometry": "true",
            "f": o.format,
            "resultOffset": str(offset),
            "resultRecordCount": str(o.page_size),
        }
        if o.order_by:
            params["orderByFields"] = o.order_by
        return params

    def _time_where(self, start: datetime | None, end: datetime | None) -> str:
        o = self.options
        clauses = [f"({o.where})"] if o.where and o.where != "1=1" else []
        served = o.served_time()  # a mapped time is not the server's to filter on
        if served and o.time_format in ("", "auto", "epoch_ms") and not o.hour:
            if start is not None:
                clauses.append(f"{served} >= TIMESTAMP '{start.astimezone(UTC):%Y-%m-%d %H:%M:%S}'")
            if end is not None:
                clauses.append(f"{served} < TIMESTAMP '{end.astimezone(UTC):%Y-%m-%d %H:%M:%S}'")
        return " AND ".join(clauses) or "1=1"

    def _read(self, start: datetime | None, end: datetime | None) -> MappedRecords:
        where = self._time_where(start, end)
        offset, pages = 0, 0
        parts: list[MappedRecords] = []
        while True:
            payload, _ = self.http.get_json(self.query_url, self._params(where, offset))
            page = parse_query(payload, self.source_id, self.query_url)
            pages += 1
            parts.append(
                map_records(
                    page.records,
                    self.options,
                    self.source_id,
                    self.context.timezone,
                    self.context.config.access,
                    page.positions,
                )
            )
            if not page.more or not page.records:
                break
            if pages >= self.http.limits.max_pages:
                raise TooManyPages(self.source_id, f"more than {pages} pages", self.query_url)
            offset += len(page.records)
        sites = [p.sites for p in parts if not p.sites.empty]
        obs = [p.observations for p in parts if not p.observations.empty]
        rejected: Counter[str] = Counter()
        for p in parts:
            rejected.update(p.rejected)
        return MappedRecords(
            pd.concat(sites).drop_duplicates("id").reset_index(drop=True)
            if sites
            else empty_sites(),
            pd.concat(obs, ignore_index=True) if obs else empty_observations(),
            rejected,
        )

    def _latest(self) -> MappedRecords:
        mapped = self._read(latest_start(self.options.latest_hours), None)
        self.rejected = mapped.rejected
        return mapped

    def read_window(self, sites: pd.DataFrame, start: datetime, end: datetime) -> pd.DataFrame:
        """Observations in [start, end): filtered by the server on the time attribute when
        it is a date field, and exactly here."""
        return in_window(self._read(start, end).observations, sites, start, end)
