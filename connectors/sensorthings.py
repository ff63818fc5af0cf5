"""OGC SensorThings API (1.0 and 1.1) connector: Things become sites, the Observations of
their Datastreams become canonical observations.

A source says which Datastreams it reads in ``options.streams``; each rule matches a
Datastream by its ObservedProperty name, its name or its ``properties`` (regular
expressions) and names the cockpit metric it feeds. Counting Datastreams (Hamburg's
"Anzahl Kfz" per 15 minutes, bikes per 5 minutes) set ``per_interval = true``: the count
per aggregation interval is turned into a rate per hour. Example::

    [sources.hh-kfz]
    connector = "sensorthings"
    url = "https://iot.hamburg.de/v1.1"
    [sources.hh-kfz.options]
    domain = "traffic"
    kind = "counter"
    things_filter = "Datastreams/properties/layerName eq 'Anzahl_Kfz_Zaehlstelle_15-Min'"
    datastreams_filter = "properties/layerName eq 'Anzahl_Kfz_Zaehlstelle_15-Min'"
    streams = [{ properties = { layerName = "^Anzahl_Kfz_Zaehlstelle_" },
                 metric = "vehicle_flow", per_interval = true }]

The parsing functions are pure (JSON in, frames out) and vectorised, so a page of a
million Observations costs little more than decoding its JSON.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import operator
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from typing import Any, Final
from urllib.parse import parse_qsl, quote, urljoin, urlsplit

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from cockpit.config import Domain
from cockpit.errors import ConfigError, ConnectorError, DataError, ParseError, TooManyPages
from cockpit.mapping import RecordMapping
from cockpit.model import METRICS, empty_observations, empty_sites, observations_frame, sites_frame
from cockpit.source import Connector, SourceContext, native_id_text, redact_url
from connectors.http import HttpClient, HttpLimits
from connectors.options import MetricName, required_url, source_options
from connectors.parsing import as_floats, iso_times, utc
from connectors.units import canonical_unit_factor, normalise_unit

__all__ = [
    "LiveSubscription",
    "SensorThingsConnector",
    "SensorThingsOptions",
    "Stream",
    "StreamRule",
    "duration_seconds",
    "latest_from_datastreams",
    "observation_from_message",
    "observations_from_entities",
    "parse_collection",
    "sites_from_things",
    "streams_from_sites",
]

log = logging.getLogger(__name__)

# Only the members the cockpit needs; keeps answers (and their parse time) small.
_OBSERVATION_SELECT: Final = "phenomenonTime,result"
_DURATION: Final = re.compile(
    r"^P(?:(?P<w>\d+(?:\.\d+)?)W)?(?:(?P<d>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
# Characters left as they are in query values: OData punctuation reads better in logs and
# every server decodes it; spaces become %20 (some OData servers do not read "+").
_QUERY_SAFE: Final = "$(),;:/'@"
_TIME = operator.itemgetter("phenomenonTime")
_RESULT = operator.itemgetter("result")


def duration_seconds(text: Any) -> float | None:
    """Seconds of an ISO 8601 duration without years or months ("PT15M", "P1D").

    Returns None for anything else (months have no fixed length, so they are refused).
    """
    if not isinstance(text, str):
        return None
    match = _DURATION.match(text.strip())
    if not match or not any(match.groupdict().values()):
        return None
    scale = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1}
    seconds = sum(float(v) * scale[k] for k, v in match.groupdict().items() if v)
    return seconds if seconds > 0 else None


class StreamRule(BaseModel):
    """Which Datastreams feed a metric. Every matcher given must match (regex search)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: MetricName
    observed_property: str | None = None
    name: str | None = None
    properties: dict[str, str] = {}
    # The result counts events per aggregation interval; convert it to a rate per hour.
    per_interval: bool = False
    # The aggregation interval (ISO 8601, e.g. "PT15M") when the platform does not say it
    # in the Datastream's properties.aggregationDuration or the Observation's interval.
    interval: str | None = None

    @field_validator("observed_property", "name")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            _compile(value)
        return value

    @field_validator("properties")
    @classmethod
    def _regexes(cls, value: dict[str, str]) -> dict[str, str]:
        for pattern in value.values():
            _compile(pattern)
        return value

    @field_validator("interval")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None and duration_seconds(value) is None:
            raise ValueError(f"{value!r} is not an ISO 8601 duration such as 'PT15M' or 'P1D'")
        return value

    def matches(self, datastream: Mapping[str, Any]) -> bool:
        """True when ``datastream`` (a SensorThings Datastream object) fits every matcher.

        The ObservedProperty may be one object or, on a MultiDatastream, a list under
        ``ObservedProperties``: the rule matches when one of their names does."""
        if self.observed_property is not None:
            names = _observed_names(datastream)
            if not any(re.search(self.observed_property, n) for n in names):
                return False
        checks: list[tuple[str | None, Any]] = [(self.name, datastream.get("name"))]
        props = datastream.get("properties")
        props = props if isinstance(props, dict) else {}
        checks += [(pattern, props.get(key)) for key, pattern in self.properties.items()]
        return all(
            pattern is None or (value is not None and re.search(pattern, str(value)) is not None)
            for pattern, value in checks
        )


def _observed_names(datastream: Mapping[str, Any]) -> list[str]:
    observed = datastream.get("ObservedProperty")
    many = datastream.get("ObservedProperties")
    items = [observed] + (many if isinstance(many, list) else [])
    return [str(o["name"]) for o in items if isinstance(o, dict) and o.get("name") is not None]


def _compile(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{pattern!r} is not a regular expression ({exc})") from None


class SensorThingsOptions(BaseModel):
    """The ``options`` table of a SensorThings source (besides the HTTP limits)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    domain: Domain
    kind: str = "sensor"
    streams: list[StreamRule] = Field(min_length=1)
    things_filter: str | None = None
    datastreams_filter: str | None = None
    page_size: int = Field(default=100, ge=1, le=10_000)
    # False for servers without $expand: Locations, Datastreams, ObservedProperties and
    # the newest Observations are read through each entity's navigation links. Servers
    # that ignore $expand are followed the same way without saying so.
    expand: bool = True
    # Applied to each Observation (``cockpit.mapping``): a mapped ``result`` or
    # ``phenomenonTime`` replaces the served one (e.g. a status text mapped to a number,
    # or the time taken from ``resultTime``).
    mapping: RecordMapping | None = None
    window_page_size: int = Field(default=1000, ge=1, le=100_000)
    ids_per_request: int = Field(default=50, ge=1, le=500)
    api_key_header: str = "X-API-Key"
    api_key_param: str | None = None
    # e.g. "mqtt://broker:1883", "mqtts://broker:8883", "wss://broker/mqtt". The source's
    # ``push = { mqtt = … }`` takes precedence and is what turns live updates on.
    mqtt_url: str | None = None
    # Topic prefix before "/Datastreams(id)/Observations"; default: the URL's version ("v1.1").
    mqtt_topic_prefix: str | None = None


@dataclass(frozen=True)
class Stream:
    """One Datastream the cockpit reads, and how its results become canonical values.

    ``factor`` turns a result into the metric's canonical unit; it is None when each
    Observation's own interval gives it (``per_interval`` without a known interval) or when
    the unit cannot be converted (``problem`` says why; such values are kept with their
    published unit so the validators reject and count them).
    """

    datastream: int | str
    site_id: str
    metric: str
    unit: str
    factor: float | None
    per_interval: bool = False
    problem: str = ""

    def to_attribute(self) -> dict[str, Any]:
        """The stream as a JSON-friendly dict, kept in the site's ``attributes``."""
        return {
            "id": self.datastream,
            "metric": self.metric,
            "unit": self.unit,
            "factor": self.factor,
            "per_interval": self.per_interval,
            "problem": self.problem,
        }

    @classmethod
    def from_attribute(cls, site_id: str, item: Any) -> Stream | None:
        """The stream stored by ``to_attribute``, or None when ``item`` is not one."""
        if not isinstance(item, dict) or native_id_text(item.get("id")) is None:
            return None
        factor = item.get("factor")
        if item.get("metric") not in METRICS:
            return None
        return cls(
            datastream=item["id"],
            site_id=site_id,
            metric=str(item["metric"]),
            unit=str(item.get("unit") or ""),
            factor=float(factor) if isinstance(factor, int | float) else None,
            per_interval=bool(item.get("per_interval")),
            problem=str(item.get("problem") or ""),
        )

    @property
    def interval_seconds(self) -> float | None:
        """The aggregation interval of a counting stream, when it is known up front."""
        if self.per_interval and self.factor:
            return 3600.0 / self.factor
        return None


# --------------------------------------------------------------------------- parsing


def parse_collection(
    body: Any, source: str, url: str | None = None
) -> tuple[list[Any], str | None]:
    """Split a SensorThings collection answer into (entities, next link or None).

    Raises ``ParseError`` when ``body`` is not an object with a ``value`` array or when
    its ``@iot.nextLink`` is not a string.
    """
    if not isinstance(body, dict):
        raise ParseError(source, f"expected a JSON object, got {type(body).__name__}", url)
    value = body.get("value")
    if not isinstance(value, list):
        keys = ", ".join(sorted(map(str, body))[:8]) or "none"
        raise ParseError(source, f"answer has no 'value' array (keys: {keys})", url)
    link = body.get("@iot.nextLink")
    if link is not None and not isinstance(link, str):
        raise ParseError(source, "'@iot.nextLink' is not a string", url)
    return value, link or None


def _point(geometry: Any) -> tuple[float, float] | None:
    """(lat, lon) of a GeoJSON Point or of a Feature holding one; GeoJSON is [lon, lat]."""
    if isinstance(geometry, dict) and geometry.get("type") == "Feature":
        geometry = geometry.get("geometry")
    if not isinstance(geometry, dict) or geometry.get("type") != "Point":
        return None
    coords = geometry.get("coordinates")
    if not isinstance(coords, list) or len(coords) < 2:
        return None
    lon, lat = coords[0], coords[1]
    if not all(isinstance(c, int | float) and not isinstance(c, bool) for c in (lon, lat)):
        return None
    try:
        return float(lat), float(lon)
    except OverflowError:
        return None


def _location(
    thing: Mapping[str, Any], datastreams: Sequence[Mapping[str, Any]]
) -> tuple[float, float]:
    """The Thing's first Location Point; else a Datastream's observedArea Point; else NaN."""
    locations = thing.get("Locations")
    for location in locations if isinstance(locations, list) else []:
        if isinstance(location, dict) and (point := _point(location.get("location"))):
            return point
    # Some platforms expand no Location but give each Datastream an observedArea Point
    # (Hamburg's bike counting fields): the place the counts were made.
    for datastream in datastreams:
        if point := _point(datastream.get("observedArea")):
            return point
    return math.nan, math.nan


def _units_of(datastream: Mapping[str, Any]) -> list[str]:
    """The unit texts a Datastream states: ``unitOfMeasurement`` as the standard's
    {symbol, name, definition}, as {"unit": …} or as plain text; a MultiDatastream's
    first ``unitOfMeasurements`` entry."""
    uom = datastream.get("unitOfMeasurement")
    many = datastream.get("unitOfMeasurements")
    if uom is None and isinstance(many, list) and many:
        uom = many[0]
    if isinstance(uom, str):
        return [uom.strip()] if uom.strip() else []
    if not isinstance(uom, dict):
        return []
    values = (uom.get(key) for key in ("symbol", "unit", "name", "definition"))
    return [v.strip() for v in values if isinstance(v, str) and v.strip()]


def _conversion(rule: StreamRule, datastream: Mapping[str, Any]) -> tuple[str, float | None, str]:
    """(published unit, factor to the canonical unit or None, problem or "")."""
    units = _units_of(datastream)
    shown = units[0] if units else ""
    target = METRICS[rule.metric].unit
    if rule.per_interval:
        if not any(normalise_unit(u) == "count" for u in units):
            return shown, None, f"unit {shown!r} is not a count"
        if not target.endswith("/h"):
            return shown, None, f"{rule.metric} is not a rate per hour"
        props = datastream.get("properties")
        declared = props.get("aggregationDuration") if isinstance(props, dict) else None
        seconds = duration_seconds(rule.interval) or duration_seconds(declared)
        # A count of vehicles (or bikes, people) per interval becomes a rate per hour:
        # count x 3600 s / interval. Without a declared interval, each Observation's own
        # phenomenonTime interval gives it (factor None).
        return shown, (3600.0 / seconds if seconds else None), ""
    for unit in units:
        try:
            return unit, canonical_unit_factor(rule.metric, unit), ""
        except DataError:
            continue
    return shown, None, f"cannot convert unit {shown!r} to {target} for {rule.metric}"


def _stream(rule: StreamRule, datastream: Mapping[str, Any], site_id: str) -> Stream | None:
    ds_id = datastream.get("@iot.id")
    if not isinstance(ds_id, int | str) or native_id_text(ds_id) is None:
        return None
    unit, factor, problem = _conversion(rule, datastream)
    return Stream(ds_id, site_id, rule.metric, unit, factor, rule.per_interval, problem)


def _scalars(props: Any) -> dict[str, Any]:
    if not isinstance(props, dict):
        return {}
    return {str(k): v for k, v in props.items() if isinstance(v, str | int | float | bool)}


def sites_from_things(
    things: Sequence[Any], options: SensorThingsOptions, source: str, access: str = "public"
) -> pd.DataFrame:
    """Canonical sites from SensorThings Things (with Locations and Datastreams expanded).

    A Thing is a site when at least one of its Datastreams matches a rule; the matched
    streams are kept in ``attributes["datastreams"]`` for the reads that follow. A Thing
    without a usable id or Point gets an empty id or NaN coordinates, so
    ``validate_sites`` rejects it with a reason. Never raises for odd members.
    """
    records: list[dict[str, Any]] = []
    odd = sum(not isinstance(thing, dict) for thing in things)
    if odd:
        log.warning("source %s: ignored %d Thing(s) that are not JSON objects", source, odd)
    for thing in things:
        if not isinstance(thing, dict):
            continue
        native = native_id_text(thing.get("@iot.id"))
        site_id = f"{source}:{native}" if native is not None else ""
        raw = thing.get("Datastreams")
        datastreams = [d for d in raw if isinstance(d, dict)] if isinstance(raw, list) else []
        streams, used = [], []
        for datastream in datastreams:
            rule = next((r for r in options.streams if r.matches(datastream)), None)
            stream = _stream(rule, datastream, site_id) if rule else None
            if stream is not None:
                streams.append(stream)
                used.append(datastream)
        if not streams:
            continue
        if thing.get("Datastreams@iot.nextLink"):
            log.warning("source %s: Thing %s has more Datastreams than one page", source, native)
        lat, lon = _location(thing, used)
        name = thing.get("name")
        records.append(
            {
                "id": site_id,
                "name": name if isinstance(name, str) and name else site_id,
                "domain": options.domain,
                "kind": options.kind,
                "lat": lat,
                "lon": lon,
                "source": source,
                "access": access,
                "origin": "measured",
                "attributes": {
                    "description": str(thing.get("description") or ""),
                    "properties": _scalars(thing.get("properties")),
                    "datastreams": [s.to_attribute() for s in streams],
                },
            }
        )
    return sites_frame(records) if records else empty_sites()


def streams_from_sites(sites: pd.DataFrame) -> list[Stream]:
    """The Datastreams that ``sites_from_things`` stored in the sites' attributes."""
    if sites.empty or "attributes" not in sites.columns:
        return []
    streams: list[Stream] = []
    for site_id, attributes in zip(sites["id"], sites["attributes"], strict=True):
        items = attributes.get("datastreams") if isinstance(attributes, dict) else None
        for item in items if isinstance(items, list) else []:
            if (stream := Stream.from_attribute(str(site_id), item)) is not None:
                streams.append(stream)
    return streams


def _interval_parts(times: list[Any], part: int) -> list[str | None]:
    """Start (part 0) or end (part 2) of each "start/end" interval; an instant is its own end."""
    if part == 2:
        try:
            return [t.rpartition("/")[2] for t in times]
        except AttributeError:
            return [t.rpartition("/")[2] if isinstance(t, str) else None for t in times]
    return [t.partition("/")[0] if isinstance(t, str) and "/" in t else None for t in times]


def _phenomenon_times(
    times: list[Any], with_start: bool
) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex | None]:
    """(end, start or None) of each phenomenonTime; NaT where unreadable.

    Platforms write every time of a Datastream the same way, so the fixed-width form is
    read column-wise in C; anything else goes through pandas' ISO 8601 parser.
    """
    fast = _fixed_width_times(times, with_start)
    if fast is not None:
        return fast
    ends = iso_times(_interval_parts(times, 2))
    return ends, iso_times(_interval_parts(times, 0)) if with_start else None


_LAYOUT: Final = re.compile(
    r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?)Z"
    r"(?:/(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?)Z)?$"
)


def _fixed_width_times(
    times: list[Any], with_start: bool
) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex | None] | None:
    """The times when all share the first one's fixed-width "…Z" or "…Z/…Z" layout.

    Rows that break the layout are read one by one; returns None when the layout does
    not apply at all (then the general parser reads everything).
    """
    first = times[0] if times else None
    if not isinstance(first, str) or (match := _LAYOUT.match(first)) is None:
        return None
    width = len(first)
    try:
        raw = "".join(times)
        if len(raw) != width * len(times):
            return None
        grid = np.frombuffer(raw.encode("ascii"), dtype=np.uint8).reshape(len(times), width)
    except (TypeError, UnicodeEncodeError):
        return None
    # Every row must have digits where the first has digits and the same separators.
    template = np.frombuffer(first.encode("ascii"), dtype=np.uint8)
    digit = (template >= 48) & (template <= 57)
    lowest = np.where(digit, 48, template).astype(np.uint8)
    # One pass: unsigned wrap-around makes anything below the lowest allowed byte large.
    allowed = np.where(digit, 9, 0).astype(np.uint8)
    good = np.asarray(((grid - lowest) <= allowed).all(axis=1), dtype=bool)
    spans = [match.span(i) for i in (1, 2) if match.group(i) is not None]
    try:
        columns = [_datetime_column(grid, good, a, b) for a, b in spans]
    except ValueError:  # e.g. month 13: let pandas decide row by row
        return None
    end = columns[-1]
    start = columns[0] if with_start and len(columns) == 2 else None
    if with_start and start is None:
        start = np.full(len(times), np.datetime64("NaT", "ns"))
    if not good.all():
        bad = np.flatnonzero(~good)
        odd = [times[i] for i in bad]
        end[bad] = iso_times(_interval_parts(odd, 2)).tz_localize(None).to_numpy()
        if start is not None:
            start[bad] = iso_times(_interval_parts(odd, 0)).tz_localize(None).to_numpy()
    ends = pd.DatetimeIndex(end).tz_localize("UTC")
    return ends, None if start is None else pd.DatetimeIndex(start).tz_localize("UTC")


def _datetime_column(grid: np.ndarray, good: np.ndarray, a: int, b: int) -> np.ndarray:
    """Columns a:b of the byte grid parsed as UTC datetime64[ns]; NaT in rows not ``good``.

    numpy wraps years outside 1678-2261 around silently in nanoseconds, so those rows are
    kept out of the conversion and become NaT.
    """
    digits = grid[:, a : a + 4].astype(np.int64) - 48
    year = digits @ np.array([1000, 100, 10, 1], dtype=np.int64)
    usable = good & (year >= 1678) & (year <= 2261)
    text = np.ascontiguousarray(grid[:, a:b]).view(f"S{b - a}").ravel()
    if not usable.all():
        filler = text[np.argmax(usable)] if usable.any() else b"1970-01-01"
        text = np.where(usable, text, filler)
    parsed = text.astype("datetime64[ns]")
    return np.where(usable, parsed, np.datetime64("NaT", "ns"))


def _parse_results(results: list[Any]) -> np.ndarray:
    """Results as float64; null, booleans, objects and non-numeric text become NaN."""
    if set(map(type, results)) <= {int, float}:
        try:
            return np.asarray(results, dtype=np.float64)
        except OverflowError:
            pass
    return as_floats(results)


def _columns(observations: Sequence[Any]) -> tuple[list[Any], list[Any]]:
    """(phenomenonTime, result) of each Observation; a missing member becomes None."""
    try:
        return list(map(_TIME, observations)), list(map(_RESULT, observations))
    except (KeyError, TypeError, IndexError):
        dicts = [o if isinstance(o, dict) else {} for o in observations]
        return [o.get("phenomenonTime") for o in dicts], [o.get("result") for o in dicts]


def _codes(values: Sequence[str], codes: np.ndarray) -> Any:
    """A string column where row i holds ``values[codes[i]]``, built without a Python loop."""
    index: dict[str, int] = {}
    remap = np.array([index.setdefault(v, len(index)) for v in values], dtype=np.int64)
    categorical = pd.Categorical.from_codes(remap[codes], categories=pd.Index(list(index)))
    return categorical.astype("string")


def _normalise(
    times: list[Any], results: list[Any], codes: np.ndarray, streams: Sequence[Stream]
) -> pd.DataFrame:
    """The vectorised core: row i is an Observation of ``streams[codes[i]]``."""
    if len(times) == 0:
        return empty_observations()
    own = np.array([s.factor is None and s.per_interval and not s.problem for s in streams])
    ends, starts = _phenomenon_times(times, with_start=bool(own[codes].any()))
    raw = _parse_results(results)
    factor = np.array([np.nan if s.factor is None else s.factor for s in streams])[codes]
    if starts is not None:
        factor = np.where(own[codes], _hourly_factors(starts, ends), factor)
    convertible = ~np.isnan(factor)
    with np.errstate(over="ignore"):  # a result near the float limit: inf, refused later
        value = np.where(convertible, raw * np.where(convertible, factor, 1.0), raw)
    units = [METRICS[s.metric].unit for s in streams] + [s.unit for s in streams]
    unit_codes = np.where(convertible, codes, codes + len(streams))
    frame = pd.DataFrame(
        {
            "site_id": _codes([s.site_id for s in streams], codes),
            "metric": _codes([s.metric for s in streams], codes),
            "time": ends,
            "value": value,
            "unit": _codes(units, unit_codes),
        }
    )
    return observations_frame(frame)


def _hourly_factors(starts: pd.DatetimeIndex, ends: pd.DatetimeIndex) -> np.ndarray:
    """3600 / interval length per Observation, or NaN for an instant or a broken interval.

    Platforms often end an interval one second early (22:00:00/21:59:59 for a day), so
    intervals of a minute or more are rounded to whole minutes.
    """
    seconds = (ends - starts).total_seconds().to_numpy(dtype=np.float64, na_value=np.nan)
    seconds = np.where(seconds >= 60, np.round(seconds / 60) * 60, seconds)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(seconds > 0, 3600.0 / np.where(seconds > 0, seconds, 1.0), np.nan)


def observations_from_entities(observations: Sequence[Any], stream: Stream) -> pd.DataFrame:
    """Canonical observations of one Datastream from its Observation objects.

    ``phenomenonTime`` may be an instant or a "start/end" interval (the end is used);
    ``result`` may be a number, a numeric string or null. Values are converted to the
    metric's canonical unit; unreadable times or results give NaT/NaN rows that
    ``validate_observations`` rejects with a reason. Never raises for odd members.
    """
    times, results = _columns(observations)
    return _normalise(times, results, np.zeros(len(times), dtype=np.int64), [stream])


def latest_from_datastreams(
    datastreams: Sequence[Any], streams: Mapping[str, Stream]
) -> pd.DataFrame:
    """Canonical observations from Datastreams with their newest Observations expanded.

    ``streams`` maps a Datastream's ``@iot.id`` (as text) to its ``Stream``; Datastreams
    not in it are ignored. Never raises for odd members.
    """
    times: list[Any] = []
    results: list[Any] = []
    codes: list[int] = []
    order: list[Stream] = []
    for datastream in datastreams:
        if not isinstance(datastream, dict):
            continue
        stream = streams.get(native_id_text(datastream.get("@iot.id")) or "")
        observations = datastream.get("Observations")
        if stream is None or not isinstance(observations, list):
            continue
        t, r = _columns(observations)
        times += t
        results += r
        codes += [len(order)] * len(t)
        order.append(stream)
    return _normalise(times, results, np.asarray(codes, dtype=np.int64), order)


def observation_from_message(payload: bytes | str, stream: Stream) -> pd.DataFrame:
    """Canonical observation from an MQTT message (one Observation entity as JSON).

    Raises ``ParseError`` when the payload is not a JSON object.
    """
    try:
        body = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ParseError(stream.site_id.split(":")[0], f"MQTT message is not JSON ({exc})") from exc
    if not isinstance(body, dict):
        raise ParseError(stream.site_id.split(":")[0], "MQTT message is not a JSON object")
    return observations_from_entities([body], stream)


# --------------------------------------------------------------------------- requests


def _literal(native: int | str) -> str:
    """An ``@iot.id`` as an OData literal: numbers bare, strings quoted ('' escapes ')."""
    if isinstance(native, int) and not isinstance(native, bool):
        return str(native)
    return "'" + str(native).replace("'", "''") + "'"


def _iso(stamp: pd.Timestamp) -> str:
    return stamp.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _encode(params: Mapping[str, Any]) -> str:
    return "&".join(
        f"{quote(str(k), safe='$@')}={quote(str(v), safe=_QUERY_SAFE)}" for k, v in params.items()
    )


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _credentials(
    context: SourceContext, options: SensorThingsOptions
) -> tuple[dict[str, str], dict[str, str], tuple[str, ...]]:
    """(headers, query parameters, secrets) from the credentials the config names."""
    headers: dict[str, str] = {}
    params: dict[str, str] = {}
    token, api_key = context.secret("token"), context.secret("api_key")
    user, password = context.secret("username"), context.secret("password")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if api_key and options.api_key_param:
        params[options.api_key_param] = api_key
    elif api_key:
        headers[options.api_key_header] = api_key
    basic = ""
    if user and password and not token:
        basic = base64.b64encode(f"{user}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {basic}"
    secrets = tuple(s for s in (token, api_key, password, basic) if s)
    return headers, params, secrets


class SensorThingsConnector(Connector):
    """Reads one OGC SensorThings API service (FROST-Server, iot.hamburg.de, ...).

    ``SourceConfig.url`` is the service root with its version (".../v1.1"); the
    options are ``SensorThingsOptions`` plus the ``HttpLimits`` keys. Raises
    ``ConfigError`` for wrong options and ``ConnectorError`` subclasses when reading fails.
    """

    def __init__(self, context: SourceContext) -> None:
        super().__init__(context)
        self.options = source_options(SensorThingsOptions, context)
        self.base_url = required_url(context, "the service root").rstrip("/")
        headers, self._auth_params, secrets = _credentials(context, self.options)
        self.http = HttpClient(
            self.source_id, HttpLimits.from_options(context.config.options), headers, secrets
        )

    def close(self) -> None:
        """Close the HTTP session."""
        self.http.close()

    def _shown(self, url: str) -> str:
        return redact_url(url, self.http.secrets)

    def _with_auth(self, url: str) -> str:
        present = {k for k, _ in parse_qsl(urlsplit(url).query, keep_blank_values=True)}
        missing = {k: v for k, v in self._auth_params.items() if k not in present}
        if not missing:
            return url
        return f"{url}{'&' if '?' in url else '?'}{_encode(missing)}"

    def _pages(self, url: str, params: Mapping[str, Any]) -> Iterator[list[Any]]:
        """The entity pages of one collection, following ``@iot.nextLink``.

        Relative links resolve against the page just read; a link to another host is a
        ``ParseError`` (it would carry the source's credentials away); more pages than
        ``max_pages`` raise ``TooManyPages``.
        """
        origin = _origin(url)
        next_url: str | None = self._with_auth(f"{url}?{_encode(params)}")
        pages = 0
        while next_url is not None:
            pages += 1
            if pages > self.http.limits.max_pages:
                raise TooManyPages(
                    self.source_id,
                    f"more than {self.http.limits.max_pages} pages (raise max_pages or "
                    "narrow the filter)",
                    self._shown(url),
                )
            body, _ = self.http.get_json(next_url)
            values, link = parse_collection(body, self.source_id, self._shown(next_url))
            yield values
            if link is None:
                return
            resolved = urljoin(next_url, link)
            if _origin(resolved) != origin:
                raise ParseError(
                    self.source_id, "@iot.nextLink points to another host", self._shown(next_url)
                )
            next_url = self._with_auth(resolved)

    def discover_sites(self) -> pd.DataFrame:
        """Things with their Locations and Datastreams, as a canonical site frame.

        Raises ``ConnectorError`` subclasses when the platform cannot be read.
        """
        inner = ["$expand=ObservedProperty"]
        if self.options.datastreams_filter:
            inner.insert(0, f"$filter={self.options.datastreams_filter}")
        params: dict[str, Any] = {"$top": self.options.page_size}
        if self.options.expand:
            params["$expand"] = f"Locations,Datastreams({';'.join(inner)})"
        if self.options.things_filter:
            params["$filter"] = self.options.things_filter
        things = list(chain.from_iterable(self._pages(f"{self.base_url}/Things", params)))
        things = [self._completed(t) if isinstance(t, dict) else t for t in things]
        return sites_from_things(things, self.options, self.source_id, self.context.config.access)

    def _link(self, entity: Mapping[str, Any], member: str, collection: str) -> str | None:
        """The navigation link of ``entity``'s ``member``, or the standard path to it (also
        for a link to another host, which would carry the source's credentials away)."""
        link = entity.get(f"{member}@iot.navigationLink")
        if isinstance(link, str) and link:
            resolved = urljoin(self.base_url + "/", link)
            if _origin(resolved) == _origin(self.base_url):
                return resolved
        native = entity.get("@iot.id")
        if not isinstance(native, int | str) or native_id_text(native) is None:
            return None
        return f"{self.base_url}/{collection}({_literal(native)})/{member}"

    def _members(self, entity: Mapping[str, Any], member: str, collection: str) -> list[Any]:
        url = self._link(entity, member, collection)
        if url is None:
            return []
        params: dict[str, Any] = {}
        if member == "Datastreams" and self.options.datastreams_filter:
            params["$filter"] = self.options.datastreams_filter
        split = urlsplit(url)
        if split.query:  # a link with its own query keeps it
            params = {**dict(parse_qsl(split.query)), **params}
            url = url.split("?", 1)[0]
        return list(chain.from_iterable(self._pages(url, params)))

    def _one(self, entity: Mapping[str, Any], member: str, collection: str) -> Any:
        url = self._link(entity, member, collection)
        if url is None:
            return None
        body, _ = self.http.get_json(self._with_auth(url))
        return body if isinstance(body, dict) else None

    def _completed(self, thing: dict[str, Any]) -> dict[str, Any]:
        """``thing`` with its Locations, Datastreams and their ObservedProperties, read
        through navigation links where the answer did not expand them."""
        thing = dict(thing)
        if isinstance(thing.get("Datastreams"), list) and self.options.expand:
            return thing  # the server expanded what was asked
        if not isinstance(thing.get("Datastreams"), list):
            thing["Datastreams"] = self._members(thing, "Datastreams", "Things")
            thing.pop("Datastreams@iot.nextLink", None)  # every page was read
        if not isinstance(thing.get("Locations"), list):
            thing["Locations"] = self._members(thing, "Locations", "Things")
        wants_property = any(r.observed_property is not None for r in self.options.streams)
        streams = []
        for datastream in thing["Datastreams"]:
            if not isinstance(datastream, dict):
                continue
            known = "ObservedProperty" in datastream or "ObservedProperties" in datastream
            if wants_property and not known:
                datastream = dict(datastream)
                if "ObservedProperties@iot.navigationLink" in datastream:
                    many = self._members(datastream, "ObservedProperties", "MultiDatastreams")
                    datastream["ObservedProperties"] = many
                else:
                    datastream["ObservedProperty"] = self._one(
                        datastream, "ObservedProperty", "Datastreams"
                    )
            streams.append(datastream)
        thing["Datastreams"] = streams
        return thing

    def read_latest(self, sites: pd.DataFrame) -> pd.DataFrame:
        """The newest Observation of each Datastream of ``sites``.

        Asks ``Datastreams?$filter=@iot.id eq …&$expand=Observations($orderby=phenomenonTime
        desc;$top=1)`` for a few dozen Datastreams per request. Raises ``ConnectorError``
        subclasses when the platform cannot be read.
        """
        streams = {native_id_text(s.datastream) or "": s for s in streams_from_sites(sites)}
        if not streams:
            return empty_observations()
        expand = f"Observations($select={_OBSERVATION_SELECT};$orderby=phenomenonTime desc;$top=1)"
        if self.options.mapping is not None:
            expand = "Observations($orderby=phenomenonTime desc;$top=1)"
        found: list[Any] = []
        chunk = self.options.ids_per_request
        items = list(streams.values())
        if not self.options.expand:
            return latest_from_datastreams(self._mapped(self._newest_each(items)), streams)
        for i in range(0, len(items), chunk):
            part = items[i : i + chunk]
            params = {
                "$filter": " or ".join(f"@iot.id eq {_literal(s.datastream)}" for s in part),
                "$expand": expand,
                "$top": len(part),
            }
            for page in self._pages(f"{self.base_url}/Datastreams", params):
                found += page
        # A server that ignored $expand answered Datastreams without Observations.
        bare = {
            native_id_text(d.get("@iot.id")) or ""
            for d in found
            if isinstance(d, dict) and not isinstance(d.get("Observations"), list)
        }
        missing = [s for key, s in streams.items() if key in bare]
        return latest_from_datastreams(self._mapped([*found, *self._newest_each(missing)]), streams)

    def _map_observations(self, observations: list[Any]) -> list[Any]:
        """Observations with the source's mapping applied (as served without one)."""
        mapping = self.options.mapping
        if mapping is None:
            return observations
        tz = self.context.timezone
        return [mapping.apply(o, o, tz).values if isinstance(o, dict) else o for o in observations]

    def _mapped(self, datastreams: list[Any]) -> list[Any]:
        if self.options.mapping is None:
            return datastreams
        out = []
        for d in datastreams:
            if isinstance(d, dict) and isinstance(d.get("Observations"), list):
                d = {**d, "Observations": self._map_observations(d["Observations"])}
            out.append(d)
        return out

    def _newest_each(self, streams: Sequence[Stream]) -> list[dict[str, Any]]:
        """Datastreams with their newest Observation, one request per Datastream."""
        out = []
        for stream in streams:
            path = quote(f"Datastreams({_literal(stream.datastream)})/Observations", safe="()/'")
            params = {"$orderby": "phenomenonTime desc", "$top": 1}
            url = self._with_auth(f"{self.base_url}/{path}?{_encode(params)}")
            body, _ = self.http.get_json(url)
            values, _ = parse_collection(body, self.source_id, self._shown(url))
            out.append({"@iot.id": stream.datastream, "Observations": values[:1]})
        return out

    def read_window(self, sites: pd.DataFrame, start: datetime, end: datetime) -> pd.DataFrame:
        """Observations of ``sites`` whose time (an interval's end) is in [start, end).

        One paged ``Datastreams(id)/Observations?$filter=phenomenonTime ge … and
        phenomenonTime lt …&$orderby=phenomenonTime asc`` per Datastream. Raises
        ``ConnectorError`` subclasses when the platform cannot be read.
        """
        lo, hi = utc(start), utc(end)
        frames = []
        for stream in streams_from_sites(sites):
            # An interval that ends inside the window may start before it.
            widen = pd.Timedelta(seconds=stream.interval_seconds or 0)
            params = {
                "$filter": f"phenomenonTime ge {_iso(lo - widen)} and phenomenonTime lt {_iso(hi)}",
                "$orderby": "phenomenonTime asc",
                "$top": self.options.window_page_size,
                "$select": _OBSERVATION_SELECT,
            }
            if self.options.mapping is not None:
                params.pop("$select")  # the mapping may read any member
            path = quote(f"Datastreams({_literal(stream.datastream)})/Observations", safe="()/'")
            pages = self._pages(f"{self.base_url}/{path}", params)
            entities = self._map_observations(list(chain.from_iterable(pages)))
            frame = observations_from_entities(entities, stream)
            frame = frame[(frame["time"] >= lo) & (frame["time"] < hi)]
            if not frame.empty:
                frames.append(frame)
        if not frames:
            return empty_observations()
        return pd.concat(frames, ignore_index=True)

    def subscribe(
        self, sites: pd.DataFrame, on_observations: Callable[[pd.DataFrame], None]
    ) -> LiveSubscription:
        """Receive new Observations of ``sites`` over MQTT as they are made: one topic
        ``<prefix>/Datastreams(<id>)/Observations`` per Datastream.

        The broker is the source's ``push.mqtt`` (with its ``qos``), else
        ``options.mqtt_url`` (QoS 1). ``on_observations`` gets a canonical observation
        frame per message, called from the MQTT client's thread. Raises ``ConfigError``
        when neither is set. Call ``close()`` on the result to stop.
        """
        push = self.context.config.push
        url = push.mqtt if push and push.mqtt else self.options.mqtt_url
        if not url:
            raise ConfigError(
                "city config",
                f"sources.{self.source_id}.push.mqtt",
                "live updates need the platform's MQTT broker URL",
            )
        prefix = (
            (push.topic_prefix if push else None)
            or self.options.mqtt_topic_prefix
            or self.base_url.rsplit("/", 1)[-1]
        )
        topics = {
            f"{prefix}/Datastreams({_literal(s.datastream)})/Observations": s
            for s in streams_from_sites(sites)
        }
        user, password = self.context.secret("username"), self.context.secret("password")
        qos = push.qos if push else 1
        return LiveSubscription(url, topics, on_observations, user, password, qos)


class LiveSubscription:
    """Observations the platform pushes over MQTT, handed on as canonical frames.

    Connects in the background; a lost connection is retried with a growing delay
    (1 s doubling to ``MAX_RECONNECT_S``) and every topic is subscribed again on each
    connect, at the stated ``qos`` (1 by default: at least once; the history stores an
    observation once however often it arrives). ``close`` stops.
    """

    MAX_RECONNECT_S: Final = 60

    def __init__(
        self,
        url: str,
        topics: Mapping[str, Stream],
        on_observations: Callable[[pd.DataFrame], None],
        username: str | None = None,
        password: str | None = None,
        qos: int = 1,
    ) -> None:
        import paho.mqtt.client as mqtt  # optional dependency: only live updates need it

        parts = urlsplit(url)
        websocket = parts.scheme in ("ws", "wss")
        secure = parts.scheme in ("mqtts", "wss")
        default_port = {"mqtt": 1883, "mqtts": 8883, "ws": 80, "wss": 443}.get(parts.scheme, 1883)
        self.topics = dict(topics)
        self.qos = qos
        self.url = url
        self.connects = 0  # connections made, the first included
        self._on_observations = on_observations
        self._subscribed = threading.Event()
        self._client = mqtt.Client(
            callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
            transport="websockets" if websocket else "tcp",
        )
        if websocket:
            self._client.ws_set_options(path=parts.path or "/mqtt")
        if secure:
            self._client.tls_set()
        if username:
            self._client.username_pw_set(username, password)
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
        self._client.on_disconnect = self._on_disconnect
        self._client.reconnect_delay_set(min_delay=1, max_delay=self.MAX_RECONNECT_S)
        self._client.connect_async(parts.hostname or "localhost", parts.port or default_port)
        self._client.loop_start()

    def wait_subscribed(self, timeout: float) -> bool:
        """Block until the broker confirmed the subscriptions; False after ``timeout`` s."""
        return self._subscribed.wait(timeout)

    def renew(self) -> None:
        """Nothing to renew: the broker keeps the subscription while connected."""

    def close(self) -> None:
        """Disconnect and stop the client's thread."""
        self._client.disconnect()
        self._client.loop_stop()

    def _on_connect(self, client: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.warning("MQTT connection to %s refused: %s", redact_url(self.url), reason)
            return
        self.connects += 1
        if self.connects > 1:
            log.info("MQTT connection to %s is back: subscribing again", redact_url(self.url))
        if self.topics:
            client.subscribe([(topic, self.qos) for topic in self.topics])

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self._subscribed.clear()
        if reason.is_failure:
            log.warning(
                "MQTT connection to %s lost (%s): reconnecting", redact_url(self.url), reason
            )

    def _on_subscribe(self, _c: Any, _u: Any, _mid: Any, _codes: Any, _p: Any) -> None:
        self._subscribed.set()

    def _on_message(self, _c: Any, _u: Any, message: Any) -> None:
        stream = self.topics.get(message.topic)
        if stream is None:
            return
        try:
            frame = observation_from_message(message.payload, stream)
        except ConnectorError as exc:
            log.warning("dropped an MQTT message on %s: %s", message.topic, exc)
            return
        try:
            self._on_observations(frame)
        except Exception:
            # A failing receiver must not stop the client's thread.
            log.exception("MQTT observations from %s could not be handled", message.topic)
