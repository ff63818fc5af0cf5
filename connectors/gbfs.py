"""GBFS bike share and scooter feeds (v1.0 to v3.0), read as canonical frames.

A system publishes a discovery file (``gbfs.json``) listing its feeds: v1.x/v2.x under
``data.<language>.feeds``, v3.0 under ``data.feeds``. Stations come from
``station_information`` (id, name, position, capacity) joined with ``station_status``
(bikes and docks available, installed/renting/returning, ``last_reported``) on
``station_id``. Free-floating vehicles (``free_bike_status`` up to v2.3,
``vehicle_status`` in v3.0) are counted per square cell of ``grid_m`` metres: each cell
holding a vehicle free to hire (not reserved, not disabled) is a site of kind ``area``.

Times are ``last_reported`` per station (epoch seconds, as a number or text, or RFC 3339
in v3.0), else the feed's ``last_updated``. Each feed's answer is reused until its
``ttl`` (capped by ``max_reuse_s``) runs out. A system without a discovery file is read
by naming its feeds' URLs under ``feeds``.

The parse functions (``parse_discovery``, ``parse_stations``, ``parse_vehicles``) are
pure: JSON in, frames out, ``ParseError`` for an answer that is not the feed.
"""

from __future__ import annotations

import math
import time
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from cockpit.config import Domain
from cockpit.errors import ParseError
from cockpit.model import empty_observations, empty_sites, observations_frame, sites_frame
from cockpit.source import Connector, SourceContext, native_id_text
from connectors.http import HttpClient, HttpLimits
from connectors.options import source_options
from connectors.records import as_number, in_window, newest, parse_time

__all__ = [
    "GbfsConnector",
    "GbfsOptions",
    "parse_discovery",
    "parse_stations",
    "parse_vehicles",
]

_UTC: Final = ZoneInfo("UTC")
_STATION_FEEDS: Final = ("station_information", "station_status")
_VEHICLE_FEEDS: Final = ("vehicle_status", "free_bike_status")
_EARTH_M_PER_DEG: Final = 111_320.0


class GbfsOptions(BaseModel):
    """A GBFS source's ``options`` (the HTTP limits aside); the source's ``url`` is the
    discovery file ``gbfs.json``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    domain: Domain = "bike_share"
    # The feed language of a v1/v2 discovery file; empty: the first one listed.
    language: str = ""
    # Read stations, free-floating vehicles, or both when the system publishes them.
    stations: bool = True
    vehicles: bool = True
    # Side of the square cells free-floating vehicles are counted in, in metres.
    grid_m: float = Field(default=500, ge=50, le=20_000)
    # Feed name -> URL, for a system without a discovery file (or to override one).
    feeds: dict[str, str] = {}
    # At most this long (s) an answer is reused within its ttl.
    max_reuse_s: float = Field(default=60, ge=0)


# --------------------------------------------------------------------------- parsing


def _data(payload: Any, source: str, feed: str, url: str | None) -> dict[str, Any]:
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), dict):
        raise ParseError(source, f"not a GBFS {feed} answer (no data object)", url)
    return payload["data"]


def parse_discovery(
    payload: Any, source: str, language: str = "", url: str | None = None
) -> dict[str, str]:
    """Feed name -> URL from a ``gbfs.json`` of any version; raises ``ParseError``."""
    data = _data(payload, source, "gbfs.json", url)
    feeds = data.get("feeds")
    if feeds is None:  # v1.x / v2.x: one feed list per language
        languages = [k for k, v in data.items() if isinstance(v, dict)]
        if not languages:
            raise ParseError(source, "gbfs.json lists no feeds", url)
        chosen = language if language in languages else languages[0]
        if language and language not in languages:
            raise ParseError(source, f"gbfs.json has no language {language!r}: {languages}", url)
        feeds = data[chosen].get("feeds")
    if not isinstance(feeds, list):
        raise ParseError(source, "gbfs.json feeds is not a list", url)
    found = {
        f["name"]: f["url"]
        for f in feeds
        if isinstance(f, dict) and isinstance(f.get("name"), str) and isinstance(f.get("url"), str)
    }
    if not found:
        raise ParseError(source, "gbfs.json lists no feeds", url)
    return found


def _feed_time(payload: dict[str, Any]) -> datetime | None:
    return parse_time(payload.get("last_updated"), _UTC)


def _name(value: Any) -> str:
    """A station name: text (v1/v2) or localised texts (v3.0, the first one)."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and isinstance(item.get("text"), str):
                return item["text"].strip()
    return ""


def _flag(value: Any, default: bool = True) -> bool:
    """A GBFS boolean: true/false, or 1/0 as v1.0 feeds serve them."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("0", "1", "true", "false"):
        return value.strip().lower() in ("1", "true")
    return default


def _count(value: Any) -> float:
    number = as_number(value)
    return number if not math.isnan(number) and number >= 0 else math.nan


def parse_stations(
    information: Any,
    status: Any,
    source: str,
    domain: str = "bike_share",
    access: str = "public",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stations joined with their status: (site frame, observation frame).

    Per installed station: ``hire_bikes`` (``num_bikes_available``, or v3.0's
    ``num_vehicles_available``), ``free_docks``, ``dock_places`` (``capacity``, else the
    sum), ``station_empty`` and ``station_full`` (1 when no bike can be hired, resp.
    returned, counting a station that is not renting, resp. not returning, as such).
    Stations without a status, or not installed, have no observations. Raises
    ``ParseError`` when an answer is not the feed.
    """
    info = _data(information, source, "station_information", None).get("stations")
    stat = _data(status, source, "station_status", None).get("stations")
    if not isinstance(info, list) or not isinstance(stat, list):
        raise ParseError(source, "GBFS station feeds have no stations list")
    fallback = _feed_time(status) if isinstance(status, dict) else None
    sites: dict[str, dict[str, Any]] = {}
    capacity: dict[str, float] = {}
    for station in info:
        if not isinstance(station, dict):
            continue
        native = native_id_text(station.get("station_id"))
        if native is None:
            continue
        site_id = f"{source}:{native}"
        sites[site_id] = {
            "id": site_id,
            "name": _name(station.get("name")) or f"Station {native}",
            "domain": domain,
            "kind": "dock",
            "lat": as_number(station.get("lat")),
            "lon": as_number(station.get("lon")),
            "source": source,
            "access": access,
            "attributes": {
                k: station[k]
                for k in ("short_name", "capacity", "address")
                if isinstance(station.get(k), str | int | float)
                and not isinstance(station.get(k), bool)
            },
        }
        capacity[site_id] = _count(station.get("capacity"))
    rows: list[dict[str, Any]] = []
    for entry in stat:
        if not isinstance(entry, dict):
            continue
        native = native_id_text(entry.get("station_id"))
        site_id = f"{source}:{native}"
        if native is None or site_id not in sites or not _flag(entry.get("is_installed")):
            continue
        when = parse_time(entry.get("last_reported"), _UTC) or fallback
        if when is None:
            continue
        bikes = _count(entry.get("num_bikes_available", entry.get("num_vehicles_available")))
        docks = _count(entry.get("num_docks_available"))
        places = capacity.get(site_id, math.nan)
        if math.isnan(places) and not math.isnan(bikes) and not math.isnan(docks):
            places = bikes + docks
        renting = _flag(entry.get("is_renting"))
        returning = _flag(entry.get("is_returning"))
        values = {
            "hire_bikes": bikes,
            "free_docks": docks,
            "dock_places": places,
            "station_empty": math.nan if math.isnan(bikes) else float(bikes == 0 or not renting),
            "station_full": math.nan if math.isnan(docks) else float(docks == 0 or not returning),
        }
        for metric_name, value in values.items():
            if (
                metric_name == "free_docks"
                and math.isnan(value)
                and "num_docks_available" not in entry
            ):
                continue  # a virtual station without docks
            if metric_name == "station_full" and "num_docks_available" not in entry:
                continue
            rows.append({"site_id": site_id, "metric": metric_name, "time": when, "value": value})
    site_frame = sites_frame(list(sites.values())) if sites else empty_sites()
    return site_frame, observations_frame(rows) if rows else empty_observations()


def _cell(lat: float, lon: float, grid_m: float) -> tuple[int, int]:
    row = math.floor(lat * _EARTH_M_PER_DEG / grid_m)
    width = grid_m / (_EARTH_M_PER_DEG * max(math.cos(math.radians(lat)), 0.01))
    return row, math.floor(lon / width)


def _cell_centre(row: int, col: int, grid_m: float) -> tuple[float, float]:
    lat = (row + 0.5) * grid_m / _EARTH_M_PER_DEG
    width = grid_m / (_EARTH_M_PER_DEG * max(math.cos(math.radians(lat)), 0.01))
    return lat, (col + 0.5) * width


def parse_vehicles(
    payload: Any,
    source: str,
    grid_m: float = 500,
    domain: str = "bike_share",
    access: str = "public",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Free-floating vehicles free to hire, counted per grid cell: (sites, observations).

    Reads ``data.bikes`` (``free_bike_status``, v1.x-v2.x) or ``data.vehicles``
    (``vehicle_status``, v3.0); reserved or disabled vehicles and vehicles parked at a
    station are not counted. The observation time is the feed's ``last_updated``.
    Raises ``ParseError`` when the answer is not the feed or carries no time.
    """
    data = _data(payload, source, "vehicle status", None)
    vehicles = data.get("vehicles", data.get("bikes"))
    if not isinstance(vehicles, list):
        raise ParseError(source, "GBFS vehicle feed has no bikes/vehicles list")
    when = _feed_time(payload)
    if when is None:
        raise ParseError(source, "GBFS vehicle feed has no usable last_updated")
    counts: dict[tuple[int, int], int] = {}
    for vehicle in vehicles:
        if not isinstance(vehicle, dict) or vehicle.get("station_id"):
            continue
        if _flag(vehicle.get("is_reserved"), False) or _flag(vehicle.get("is_disabled"), False):
            continue
        lat, lon = as_number(vehicle.get("lat")), as_number(vehicle.get("lon"))
        if math.isnan(lat) or math.isnan(lon) or abs(lat) > 89 or abs(lon) > 180:
            continue
        key = _cell(lat, lon, grid_m)
        counts[key] = counts.get(key, 0) + 1
    sites, rows = [], []
    for (row, col), n in sorted(counts.items()):
        lat, lon = _cell_centre(row, col, grid_m)
        site_id = f"{source}:cell:{row}:{col}"
        sites.append(
            {
                "id": site_id,
                "name": f"Area {row}/{col} ({grid_m:.0f} m)",
                "domain": domain,
                "kind": "area",
                "lat": lat,
                "lon": lon,
                "source": source,
                "access": access,
                "attributes": {"grid_m": grid_m},
            }
        )
        rows.append({"site_id": site_id, "metric": "parked_vehicles", "time": when, "value": n})
    return (
        sites_frame(sites) if sites else empty_sites(),
        observations_frame(rows) if rows else empty_observations(),
    )


# --------------------------------------------------------------------------- connector


class GbfsConnector(Connector):
    """Reads a GBFS system: docking stations and free-floating vehicles."""

    def __init__(self, context: SourceContext) -> None:
        super().__init__(context)
        self.options = source_options(GbfsOptions, context)
        self.http = HttpClient(self.source_id, HttpLimits.from_options(context.config.options))
        self._cache: dict[str, tuple[float, Any]] = {}
        self._latest = empty_observations()

    def close(self) -> None:
        self.http.close()

    def _get(self, url: str) -> Any:
        """The answer at ``url``, reused within its ``ttl`` (capped by ``max_reuse_s``)."""
        now = time.monotonic()
        cached = self._cache.get(url)
        if cached is not None and cached[0] > now:
            return self._cache[url][1]
        payload, _ = self.http.get_json(url)
        ttl = as_number(payload.get("ttl")) if isinstance(payload, dict) else math.nan
        reuse = min(ttl, self.options.max_reuse_s) if not math.isnan(ttl) else 0.0
        if reuse > 0:
            self._cache[url] = (now + reuse, payload)
        return payload

    def _feeds(self) -> dict[str, str]:
        feeds: dict[str, str] = {}
        url = self.context.config.url
        if url:
            feeds = parse_discovery(self._get(url), self.source_id, self.options.language, url)
        feeds.update(self.options.feeds)
        if not feeds:
            raise ParseError(self.source_id, "no GBFS feeds: give the gbfs.json url or feeds")
        return feeds

    def _read(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        feeds = self._feeds()
        access = self.context.config.access
        site_parts, obs_parts = [], []
        if self.options.stations and all(f in feeds for f in _STATION_FEEDS):
            info = self._get(feeds["station_information"])
            status = self._get(feeds["station_status"])
            try:
                sites, obs = parse_stations(
                    info, status, self.source_id, self.options.domain, access
                )
            except ParseError as exc:
                raise ParseError(self.source_id, exc.reason, feeds["station_status"]) from None
            site_parts.append(sites)
            obs_parts.append(obs)
        vehicle_feed = next((f for f in _VEHICLE_FEEDS if f in feeds), None)
        if self.options.vehicles and vehicle_feed is not None:
            payload = self._get(feeds[vehicle_feed])
            try:
                sites, obs = parse_vehicles(
                    payload, self.source_id, self.options.grid_m, self.options.domain, access
                )
            except ParseError as exc:
                raise ParseError(self.source_id, exc.reason, feeds[vehicle_feed]) from None
            site_parts.append(sites)
            obs_parts.append(obs)
        if not site_parts:
            raise ParseError(
                self.source_id,
                f"the system lists none of the feeds read: {sorted(feeds)}",
                self.context.config.url or None,
            )
        sites = pd.concat([s for s in site_parts if not s.empty] or [empty_sites()])
        obs = pd.concat([o for o in obs_parts if not o.empty] or [empty_observations()])
        return sites.reset_index(drop=True), obs.reset_index(drop=True)

    def discover_sites(self) -> pd.DataFrame:
        """Stations and the cells holding vehicles now. Raises ``ConnectorError``."""
        sites, self._latest = self._read()
        return sites

    def read_latest(self, sites: pd.DataFrame) -> pd.DataFrame:
        """The current state per station and cell (the feeds hold no history)."""
        latest, self._latest = self._latest, empty_observations()
        if latest.empty:
            _, latest = self._read()
        return newest(latest[latest["site_id"].isin(sites["id"])])

    def read_window(self, sites: pd.DataFrame, start: datetime, end: datetime) -> pd.DataFrame:
        """GBFS publishes only the present: the current state when it falls in the window."""
        _, latest = self._read()
        return in_window(latest, sites, start, end)
