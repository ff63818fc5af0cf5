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
from itertools import repeat
from typing import Any, Final
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from cockpit.columns import as_number, numbers, parse_time, parse_times
from cockpit.config import Domain
from cockpit.errors import ParseError
from cockpit.mapping import RecordMapping, resolve_path
from cockpit.model import (
    METRICS,
    empty_observations,
    empty_sites,
    observations_frame,
    sites_frame,
)
from cockpit.source import Connector, SourceContext
from connectors.http import HttpClient, HttpLimits
from connectors.options import MetricName, source_options
from connectors.records import (
    ValueSpec,
    check_value_unit,
    in_window,
    native_ids,
    newest,
    observation_part,
    site_frame,
    value_unit,
)
from connectors.units import canonical_unit_factor

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
    # Metrics read from each station's joined information and status fields (served or
    # mapped), replacing the built-in reading of the same metric. Unit: the value's, else
    # its mapped field's, else the metric's own.
    values: dict[MetricName, ValueSpec] = {}
    # Renamed, constant, computed, value-mapped and time-parsed fields (cockpit.mapping).
    mapping: RecordMapping | None = None

    @model_validator(mode="after")
    def _units(self) -> GbfsOptions:
        for metric_name, value in self.values.items():
            check_value_unit(metric_name, self.unit_of(value))
        return self

    def unit_of(self, value: ValueSpec) -> str:
        return value_unit(value, self.mapping)


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


def _counts(values: pd.Series) -> np.ndarray:
    """``_count`` of each value, vectorised."""
    out = numbers(values).to_numpy(dtype="float64", copy=True)
    out[out < 0] = math.nan
    return out


_FLAGS: Final = {True: True, False: False, "1": True, "0": False, "true": True, "false": False}


def _flags(values: list[Any], default: bool) -> np.ndarray:
    """``_flag`` of each value, vectorised (1/0 and 1.0/0.0 hash as True/False)."""
    series = pd.Series(values, dtype="object")
    found = series.map(_FLAGS)
    unknown = found.isna() & series.notna()
    if unknown.any():
        found[unknown] = series[unknown].map(lambda v: _flag(v, default))
    return found.fillna(default).astype(bool).to_numpy()


def _column(rows: list[dict[str, Any]], key: str) -> pd.Series:
    values = np.empty(len(rows), dtype=object)
    values[:] = list(map(dict.get, rows, repeat(key)))  # C-level, no frame per row
    return pd.Series(values, dtype="object")


def _station_ids(rows: list[dict[str, Any]]) -> np.ndarray:
    return native_ids(_column(rows, "station_id")).to_numpy(dtype=object)


def parse_stations(
    information: Any,
    status: Any,
    source: str,
    domain: str = "bike_share",
    access: str = "public",
    options: GbfsOptions | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stations joined with their status: (site frame, observation frame), vectorised.

    Per installed station: ``hire_bikes`` (``num_bikes_available``, or v3.0's
    ``num_vehicles_available``), ``free_docks``, ``dock_places`` (``capacity``, else the
    sum), ``station_empty`` and ``station_full`` (1 when no bike can be hired, resp.
    returned, counting a station that is not renting, resp. not returning, as such).
    ``options.values`` (with ``options.mapping``) replaces or adds metrics read from each
    station's joined record (its information and status fields). Stations without a
    status, or not installed, have no observations. Raises ``ParseError`` when an answer
    is not the feed.
    """
    info = _data(information, source, "station_information", None).get("stations")
    stat = _data(status, source, "station_status", None).get("stations")
    if not isinstance(info, list) or not isinstance(stat, list):
        raise ParseError(source, "GBFS station feeds have no stations list")
    fallback = _feed_time(status) if isinstance(status, dict) else None
    infos = [s for s in info if isinstance(s, dict)]
    natives = _station_ids(infos)
    known = np.array([n is not None for n in natives], dtype=bool)
    if not known.all():
        infos = [s for s, k in zip(infos, known, strict=True) if k]
        natives = natives[known]
    first = ~pd.Series(natives, dtype="object").duplicated().to_numpy()
    site_ids = np.array([f"{source}:{n}" for n in natives], dtype=object)
    sites = _station_sites(infos, natives, site_ids, first, source, domain, access)
    capacities = _counts(_column(infos, "capacity"))
    row_of = dict(zip(site_ids[first].tolist(), np.flatnonzero(first).tolist(), strict=True))

    states = [e for e in stat if isinstance(e, dict)]
    own = _station_ids(states)
    state_ids = np.array([f"{source}:{n}" for n in own], dtype=object)
    info_rows = np.array([row_of.get(i, -1) for i in state_ids.tolist()], dtype=np.intp)
    keep = np.array([n is not None for n in own], dtype=bool) & (info_rows >= 0)
    keep &= _flags([e.get("is_installed") for e in states], True)
    states = [e for e, k in zip(states, keep, strict=True) if k]
    state_ids, info_rows = state_ids[keep], info_rows[keep]
    if not states:
        return sites, empty_observations()
    times = parse_times(_column(states, "last_reported"), "auto", _UTC)
    if fallback is not None:
        times = times.fillna(pd.Timestamp(fallback))
    timed = times.notna().to_numpy()
    bikes = _counts(_column(states, "num_bikes_available"))
    if np.isnan(bikes).any():  # v3.0 counts vehicles
        bikes = np.where(np.isnan(bikes), _counts(_column(states, "num_vehicles_available")), bikes)
    docks = _counts(_column(states, "num_docks_available"))
    has_docks = np.fromiter(
        map(dict.__contains__, states, repeat("num_docks_available")), bool, len(states)
    )
    places = capacities[info_rows]
    summed = np.isnan(places)
    places[summed] = bikes[summed] + docks[summed]
    renting = _flags([e.get("is_renting") for e in states], True)
    returning = _flags([e.get("is_returning") for e in states], True)
    with np.errstate(invalid="ignore"):
        empty = np.where(np.isnan(bikes), np.nan, ((bikes == 0) | ~renting).astype(float))
        full = np.where(np.isnan(docks), np.nan, ((docks == 0) | ~returning).astype(float))
    metrics: dict[str, tuple[np.ndarray, np.ndarray]] = {
        "hire_bikes": (bikes, timed),
        "free_docks": (docks, timed & (has_docks | ~np.isnan(docks))),
        "dock_places": (places, timed),
        "station_empty": (empty, timed),
        "station_full": (full, timed & has_docks),
    }
    if options is not None and options.values:
        joined = _Joined(states, infos, info_rows)
        for metric_name, values in _configured(joined, options).items():
            metrics[metric_name] = (values, timed)
    time_values = times.to_numpy(dtype="datetime64[ns]")  # UTC; not one object per row
    site_text = pd.array(state_ids, dtype="string")
    parts = [
        observation_part(site_text[rows], metric_name, time_values[rows], values[rows])
        for metric_name, (values, rows) in metrics.items()
        if rows.any()
    ]
    if not parts:
        return sites, empty_observations()
    return sites, pd.concat(parts, ignore_index=True)


def _station_sites(
    infos: list[dict[str, Any]],
    natives: np.ndarray,
    site_ids: np.ndarray,
    first: np.ndarray,
    source: str,
    domain: str,
    access: str,
) -> pd.DataFrame:
    """The site frame of each station's first information entry."""
    if not first.any():
        return empty_sites()
    chosen = infos if first.all() else [s for s, f in zip(infos, first, strict=True) if f]
    served = _column(chosen, "name")
    if pd.api.types.infer_dtype(served, skipna=False) == "string":  # v1/v2: plain texts
        texts = list(map(str.strip, served.tolist()))
    else:  # v3.0: localised texts
        texts = [_name(v) for v in served.tolist()]
    names = [t or f"Station {n}" for t, n in zip(texts, natives[first].tolist(), strict=True)]
    attributes = _attributes(chosen, ("short_name", "capacity", "address"))
    return site_frame(
        site_ids[first],
        names,
        numbers(_column(chosen, "lat")).to_numpy(),
        numbers(_column(chosen, "lon")).to_numpy(),
        attributes,
        domain=domain,
        kind="dock",
        source=source,
        access=access,
    )


_PLAIN: Final = frozenset({str, int, float})


def _dicts(names: list[str], columns: list[list[Any]]) -> list[dict[str, Any]]:
    """A dict per row of ``columns`` under ``names`` (dict displays: no zip per row)."""
    if len(names) == 1:
        (a,), (k,) = columns, names
        return [{k: x} for x in a]
    if len(names) == 2:
        (a, b), (k, m) = columns, names
        return [{k: x, m: y} for x, y in zip(a, b, strict=True)]
    if len(names) == 3:
        (a, b, c), (k, m, o) = columns, names
        return [{k: x, m: y, o: z} for x, y, z in zip(a, b, c, strict=True)]
    return [dict(zip(names, v, strict=True)) for v in zip(*columns, strict=True)]


def _attributes(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """Each row's ``keys`` holding a text or a number, as its site attributes (built per
    pattern of present keys, not key by key)."""
    columns = [list(map(dict.get, rows, repeat(k))) for k in keys]
    masks = [
        np.ones(len(rows), bool)
        if set(map(type, col)) <= _PLAIN
        else np.fromiter((type(v) in _PLAIN for v in col), bool, len(rows))
        for col in columns
    ]
    pattern = np.zeros(len(rows), dtype=np.int64)
    for bit, mask in enumerate(masks):
        pattern |= mask.astype(np.int64) << bit
    codes = np.unique(pattern)
    if len(codes) == 1:  # every row alike (the usual feed): no row picking
        present = [i for i in range(len(keys)) if int(codes[0]) >> i & 1]
        if not present:
            return [{} for _ in range(len(rows))]
        return _dicts([keys[i] for i in present], [columns[i] for i in present])
    out: list[dict[str, Any]] = [{} for _ in range(len(rows))]
    for code in codes.tolist():
        present = [i for i in range(len(keys)) if code >> i & 1]
        if not present:
            continue
        rows_of = np.flatnonzero(pattern == code).tolist()
        picked = [[columns[i][r] for r in rows_of] for i in present]
        for r, made in zip(rows_of, _dicts([keys[i] for i in present], picked), strict=True):
            out[r] = made
    return out


class _Joined:
    """Each kept status entry joined with its station's information (status wins), as
    columns for the mapping language."""

    def __init__(
        self, states: list[dict[str, Any]], infos: list[dict[str, Any]], info_rows: np.ndarray
    ) -> None:
        self.states, self.infos, self.info_rows = states, infos, info_rows
        self.index = pd.RangeIndex(len(states))

    def __call__(self, path: str) -> pd.Series | None:
        top = path.split(".")[0]
        if any(top in e for e in self.states):
            rows: list[Any] = self.states
        elif any(top in s for s in self.infos):
            rows = [self.infos[i] for i in self.info_rows]
        else:
            return None
        if "." not in path:
            return _column(rows, path)
        values = np.empty(len(rows), dtype=object)
        values[:] = [resolve_path(path, r)[1] for r in rows]
        return pd.Series(values, dtype="object")


def _configured(joined: _Joined, options: GbfsOptions) -> dict[str, np.ndarray]:
    """Metric -> values of ``options.values``, read from the joined records after the
    mapping, in the metric's canonical unit."""
    mapped: dict[str, pd.Series] = {}
    if options.mapping is not None:
        mapped = options.mapping.apply_columns(joined, joined.index, "UTC").values
    out: dict[str, np.ndarray] = {}
    for metric_name, spec in options.values.items():
        raw = mapped.get(spec.field)
        if raw is None:
            raw = joined(spec.field)
        if raw is None:
            raw = pd.Series(None, index=joined.index, dtype="object")
        unit = options.unit_of(spec) or METRICS[metric_name].unit
        factor = canonical_unit_factor(metric_name, unit)
        out[metric_name] = numbers(raw).to_numpy(dtype="float64") * factor
    return out


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
                    info, status, self.source_id, self.options.domain, access, self.options
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
