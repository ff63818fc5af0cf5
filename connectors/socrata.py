"""Socrata (SODA 2.x) datasets — data.seattle.gov, data.cityofnewyork.us, data.sfgov.org
and many more — read as canonical frames.

The source's ``url`` is the portal (``https://data.seattle.gov``) and ``dataset`` the
four-by-four id; rows come from ``/resource/<id>.json`` paged by ``$limit`` / ``$offset``
and ordered by ``$order`` (the time field, then ``:id`` so pages are stable). A window is
a ``$where`` on the time field; Socrata's "floating" timestamps carry no zone, so the
window is written in the city's local time unless ``floating = false``. The newest state
is the first page ordered newest first (within ``latest_hours`` when set).

An application token raises Socrata's rate limits: ``credentials = { app_token =
"MY_SODA_TOKEN" }`` names the environment variable holding it, sent as the
``X-App-Token`` header and never shown. Values are texts in SODA answers ("12"); they
are read as numbers. A position is two fields, a ``location`` column (``{latitude,
longitude}``) or a ``point`` column (GeoJSON), named by ``position``.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any, Final

import pandas as pd
from pydantic import Field, field_validator

from cockpit.columns import as_number
from cockpit.errors import ParseError, TooManyPages
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
    zone,
)

__all__ = ["SocrataConnector", "SocrataOptions", "parse_rows", "position_of"]

_DATASET_ID: Final = r"^[a-z0-9]{4}-[a-z0-9]{4}$"


class SocrataOptions(RecordOptions):
    """A Socrata source's ``options``: the dataset, the record mapping and the query."""

    dataset: str = Field(pattern=_DATASET_ID)
    # A location or point column holding the position (instead of lat / lon fields).
    position: str = ""
    # An extra SoQL filter, e.g. "counter_id = '15'".
    where: str = ""
    page_size: int = Field(default=1000, ge=1, le=50_000)
    latest_hours: float | None = Field(default=None, gt=0)
    # The time column is a floating timestamp (local, no zone): windows in local time.
    floating: bool = True

    @field_validator("where")
    @classmethod
    def _one_clause(cls, value: str) -> str:
        if ";" in value:
            raise ValueError("a SoQL filter has no ';'")
        return value


def parse_rows(payload: Any, source: str, url: str | None = None) -> list[Any]:
    """The rows of a ``/resource`` answer; raises ``ParseError`` for an error object or
    anything else than an array."""
    if isinstance(payload, list):
        return payload
    if isinstance(payload, dict) and (payload.get("error") or payload.get("message")):
        message = str(payload.get("message", payload.get("error")))[:200]
        raise ParseError(source, f"Socrata answered an error: {message}", url)
    raise ParseError(source, f"expected a JSON array of rows, got {type(payload).__name__}", url)


def position_of(value: Any) -> tuple[float, float] | None:
    """(lat, lon) of a Socrata ``location`` (``{latitude, longitude}``) or ``point``
    (GeoJSON ``{"type": "Point", "coordinates": [lon, lat]}``) value."""
    if not isinstance(value, dict):
        return None
    if "latitude" in value and "longitude" in value:
        lat, lon = as_number(value.get("latitude")), as_number(value.get("longitude"))
    else:
        coords = value.get("coordinates")
        if value.get("type") != "Point" or not isinstance(coords, list) or len(coords) < 2:
            return None
        lat, lon = as_number(coords[1]), as_number(coords[0])
    return None if math.isnan(lat) or math.isnan(lon) else (lat, lon)


class SocrataConnector(MappedConnector):
    """Reads one Socrata dataset through SODA."""

    def __init__(self, context: SourceContext) -> None:
        super().__init__(context)
        self.options = source_options(SocrataOptions, context)
        token = context.secret("app_token")
        self.http = HttpClient(
            self.source_id,
            HttpLimits.from_options(context.config.options),
            headers={"X-App-Token": token} if token else None,
            secrets=(token,) if token else (),
        )
        base = context.config.url.rstrip("/")
        self.rows_url = f"{base}/resource/{self.options.dataset}.json"

    def close(self) -> None:
        self.http.close()

    def _stamp(self, when: datetime) -> str:
        if self.options.floating:
            local = when.astimezone(zone(self.options.timezone or self.context.timezone))
            return local.replace(tzinfo=None).strftime("%Y-%m-%dT%H:%M:%S")
        return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _where(self, start: datetime | None, end: datetime | None) -> str:
        o = self.options
        clauses = [f"({o.where})"] if o.where else []
        served = o.served_time()  # a mapped time is not the server's to filter on
        if served and not o.hour:
            if start is not None:
                clauses.append(f"{served} >= '{self._stamp(start)}'")
            if end is not None:
                clauses.append(f"{served} < '{self._stamp(end)}'")
        return " AND ".join(clauses)

    def _map(self, rows: list[Any]) -> MappedRecords:
        positions = None
        if self.options.position:
            positions = [
                position_of(r.get(self.options.position)) if isinstance(r, dict) else None
                for r in rows
            ]
        return map_records(
            rows,
            self.options,
            self.source_id,
            self.context.timezone,
            self.context.config.access,
            positions,
        )

    def _fetch(
        self, start: datetime | None, end: datetime | None, newest_first: bool, one_page: bool
    ) -> MappedRecords:
        o = self.options
        params: dict[str, str] = {"$limit": str(o.page_size)}
        served = o.served_time()
        if served:
            params["$order"] = f"{served} DESC,:id" if newest_first else f"{served},:id"
        else:
            params["$order"] = ":id"
        where = self._where(start, end)
        if where:
            params["$where"] = where
        rows: list[Any] = []
        offset, pages = 0, 0
        while True:
            payload, _ = self.http.get_json(self.rows_url, {**params, "$offset": str(offset)})
            page = parse_rows(payload, self.source_id, self.rows_url)
            rows.extend(page)
            pages += 1
            if one_page or len(page) < o.page_size:
                break
            if pages >= self.http.limits.max_pages:
                raise TooManyPages(self.source_id, f"more than {pages} pages", self.rows_url)
            offset += len(page)
        return self._map(rows)

    def _latest(self) -> MappedRecords:
        start = latest_start(self.options.latest_hours)
        # Newest first on the server needs a time it serves; else every row is read.
        served = bool(self.options.served_time())
        mapped = self._fetch(start, None, newest_first=True, one_page=served)
        self.rejected = mapped.rejected
        return mapped

    def read_window(self, sites: pd.DataFrame, start: datetime, end: datetime) -> pd.DataFrame:
        """Observations in [start, end): a ``$where`` on the server, exact here."""
        mapped = self._fetch(start, end, newest_first=False, one_page=False)
        return in_window(mapped.observations, sites, start, end)
