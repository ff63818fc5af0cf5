"""FIWARE context brokers: ETSI NGSI-LD and FIWARE NGSI v2, read as canonical frames.

Orion-LD, Scorpio and Stellio speak NGSI-LD; Orion speaks NGSI v2 and keeps no history
itself, so a v2 city's history comes from QuantumLeap. Both carry the FIWARE Smart Data
Models, either *normalized* (each attribute wrapped with its type, unit code and
observation time) or *keyValues* (v2) / *simplified* (NGSI-LD), with bare values. One
mapping turns all four forms into canonical sites and observations:

====================  ==========================================  ===========================
entity type           attributes read                             metrics
====================  ==========================================  ===========================
TrafficFlowObserved   intensity, averageVehicleSpeed              vehicle_flow, speed
AirQualityObserved    pm25, pm10, no2, o3 (with their unitCode)   pm25, pm10, no2, o3
OffStreetParking,     availableSpotNumber (or totalSpotNumber     free_spaces, occupancy
OnStreetParking       minus occupiedSpotNumber), totalSpotNumber
ParkingSpot           status: occupied / free                     bay_occupied
CrowdFlowObserved     peopleCount (or towards + away)             pedestrians
ItemFlowObserved      intensity by itemType, averageSpeed         vehicle_flow / pedestrians
====================  ==========================================  ===========================

A count over an observation period (``intensity``, ``peopleCount``) becomes an hourly
rate with the period the entity states (``dateObservedFrom``/``dateObservedTo`` or an
ISO 8601 interval in ``dateObserved``) or the source's ``options.period_seconds``;
without a period it is rejected, never guessed. An observation's time is the attribute's
own ``observedAt`` (NGSI-LD) or ``timestamp`` metadata (v2), else the start of the
observation period, else ``observationDateTime`` / ``dateModified``. A value whose unit
is missing or unknown is rejected with a reason; the Smart Data Models' documented
defaults (km/h for ``averageVehicleSpeed``) are used where the model fixes the unit.

The parse functions (``parse_entities``, ``parse_ld_temporal``, ``parse_quantumleap``)
are pure: JSON in, frames out, ``ParseError`` for answers that break the protocol.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Final, Literal
from urllib.parse import quote

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cockpit.config import Domain
from cockpit.domains import all_domains
from cockpit.errors import (
    ConfigError,
    DataError,
    ParseError,
    TooManyPages,
    UpstreamStatusError,
)
from cockpit.mapping import RecordMapping
from cockpit.model import (
    METRICS,
    Snapshot,
    empty_observations,
    empty_sites,
    observations_frame,
    sites_frame,
)
from cockpit.source import Connector, SourceContext
from connectors.http import HttpClient, HttpLimits
from connectors.options import source_options
from connectors.parsing import (
    ISO_START,
    PLATFORM_MAX,
    PLATFORM_MIN,
    Parsed,
    RefusedRows,
    as_float,
    combine,
    iso_utc,
    rejected_frame,
    utc,
)
from connectors.units import canonical_unit_factor, normalise_unit

__all__ = [
    "ENTITY_TYPES",
    "EXTRA_UNIT_FACTORS",
    "EntityTypeMap",
    "EntityValue",
    "NgsiLdConnector",
    "NgsiOptions",
    "NgsiV2Connector",
    "ParsedFrames",
    "parse_entities",
    "parse_ld_temporal",
    "parse_quantumleap",
]

log = logging.getLogger(__name__)


class _EntityTypes(Mapping[str, tuple[str, str]]):
    """Entity type -> (domain, kind of site), as the registered domains declare them;
    ItemFlowObserved's domain follows its itemType."""

    def _table(self) -> dict[str, tuple[str, str]]:
        table = {t: (d.name, kind) for d in all_domains() for t, kind in d.entity_types.items()}
        return {**table, "ItemFlowObserved": ("", "counter")}

    def __getitem__(self, key: str) -> tuple[str, str]:
        return self._table()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())


ENTITY_TYPES: Final[Mapping[str, tuple[str, str]]] = _EntityTypes()

# Unit codes the Smart Data Models use that ``connectors.units`` does not list:
# (metric, UN/CEFACT code in lower case) -> factor to the canonical unit.
EXTRA_UNIT_FACTORS: Final[dict[tuple[str, str], float]] = {
    ("speed", "knt"): 1.852,  # knot (ItemFlowObserved of boats)
    ("speed", "hm"): 1.609344,  # mile per hour
}

_ITEM: Final = "*item*"  # placeholder metric: decided by the entity's itemType
_STATUS: Final[dict[str, float]] = {"occupied": 1.0, "free": 0.0}
_LINK_REL: Final = "http://www.w3.org/ns/json-ld#context"
_REJECTED_COLUMNS: Final = ("site_id", "metric", "attr", "reason")


@dataclass(frozen=True)
class _Reading:
    """One attribute of an entity type and the metric it gives."""

    attr: str
    metric: str
    # value: a measurement with a unit; rate: a count over the observation period;
    # occupancy: free spots against capacity; status: a parking spot's state.
    kind: Literal["value", "rate", "occupancy", "status"]
    default_unit: str | None = None
    vehicles_only: bool = False


_PARKING = (
    _Reading("availableSpotNumber", "free_spaces", "value", "count"),
    _Reading("availableSpotNumber", "occupancy", "occupancy"),
)
_READINGS: Final[dict[str, tuple[_Reading, ...]]] = {
    "TrafficFlowObserved": (
        _Reading("intensity", "vehicle_flow", "rate"),
        # The model fixes km/h for this attribute ("Units: Kilometer per hour").
        _Reading("averageVehicleSpeed", "speed", "value", "km/h"),
    ),
    "AirQualityObserved": tuple(_Reading(p, p, "value") for p in ("pm25", "pm10", "no2", "o3")),
    "OffStreetParking": _PARKING,
    "OnStreetParking": _PARKING,
    "ParkingSpot": (_Reading("status", "bay_occupied", "status"),),
    "CrowdFlowObserved": (_Reading("peopleCount", "pedestrians", "rate"),),
    "ItemFlowObserved": (
        _Reading("intensity", _ITEM, "rate"),
        _Reading("averageSpeed", "speed", "value", vehicles_only=True),
    ),
}
_SPEC_FRAME: Final = pd.DataFrame(
    [
        {
            "entity_type": etype,
            "attr": r.attr,
            "metric": r.metric,
            "kind": r.kind,
            "default_unit": r.default_unit,
            "vehicles_only": r.vehicles_only,
        }
        for etype, readings in _READINGS.items()
        for r in readings
    ]
)
_READING_COLUMNS: Final = (
    "site_id",
    "entity_type",
    "attr",
    "value",
    "unit",
    "time",
    "period_s",
    "capacity",
    "item_type",
)


class EntityValue(BaseModel):
    """An attribute (served or mapped) of a configured entity type and the metric it feeds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: str
    # The attribute's unit when the broker sends no unitCode (e.g. "CEL", "km/h", "%").
    unit: str = ""

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str) -> str:
        if value not in METRICS:
            raise ValueError(f"unknown metric {value!r}; expected one of {list(METRICS)}")
        return value


class EntityTypeMap(BaseModel):
    """How any entity type (a Smart Data Model or a city's own) becomes sites and
    observations: its domain, kind of site, and which attributes feed which metrics,
    with a ``mapping`` (``cockpit.mapping``) for values computed from its attributes.
    A type named here is read this way even when it is one of ``ENTITY_TYPES``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    domain: Domain
    kind: str = "sensor"
    values: dict[str, EntityValue] = Field(min_length=1)
    mapping: RecordMapping | None = None
    # The attribute holding the observation time when values carry none of their own
    # (e.g. BikeHireDockingStation's observationDate); default: observationDateTime or
    # dateModified.
    time: str = ""


class NgsiOptions(BaseModel):
    """A broker source's ``options`` table (the HTTP limits of ``HttpLimits`` aside)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Any entity type mapped by config: type name -> how it is read.
    entity_types: dict[str, EntityTypeMap] = {}
    # Entity types to read; each is one of ``ENTITY_TYPES`` or of ``entity_types``
    # (default: the built-in ones, and the configured ones when any are configured).
    types: list[str] = Field(default_factory=list)
    # normalized, or keyValues (v2) / simplified (NGSI-LD): both names work for both.
    form: Literal["normalized", "keyValues", "simplified"] = "normalized"
    # NGSI-LD @context sent in the Link header (the Smart Data Models' context, usually).
    context: str = ""
    # NGSI-LD: application/ld+json gets the @context inline in every entity.
    accept: Literal["application/json", "application/ld+json"] = "application/json"
    tenant: str = ""  # NGSILD-Tenant (LD) or Fiware-Service (v2)
    service_path: str = ""  # Fiware-ServicePath (v2 only)
    query: str = ""  # the broker's q filter, passed as is
    page_size: int = Field(default=100, ge=1, le=1000)
    # Where history lives when not at ``url``: the temporal API (LD) or QuantumLeap (v2).
    history_url: str = ""
    history_form: Literal["normalized", "temporalValues"] = "temporalValues"
    # QuantumLeap: one request per type and attribute, or per entity and attribute.
    history_by: Literal["type", "entity"] = "type"
    history_page_size: int = Field(default=1000, ge=1, le=10_000)
    # Length of the counting period when entities state none (e.g. 900 for 15 minutes).
    period_seconds: float | None = Field(default=None, gt=0)
    # attribute -> unit code, for brokers that send values without a unitCode.
    units: dict[str, str] = {}
    # ItemFlowObserved itemType (lower case) -> metric of its intensity.
    item_types: dict[str, Literal["vehicle_flow", "pedestrians"]] = {
        "vehicle": "vehicle_flow",
        "car": "vehicle_flow",
        "people": "pedestrians",
        "person": "pedestrians",
        "pedestrian": "pedestrians",
    }
    # An attribute naming the site when entities are one per observation (e.g. refDevice).
    site_attribute: str = ""

    @field_validator("types")
    @classmethod
    def _known_types(cls, value: list[str], info: Any) -> list[str]:
        known = [*ENTITY_TYPES, *info.data.get("entity_types", {})]
        unknown = [t for t in value if t not in known]
        if unknown:
            raise ValueError(
                f"unknown entity types {unknown}; known: {known}; map another type under "
                "options.entity_types.<Type> (domain, kind, values)"
            )
        return value

    @model_validator(mode="after")
    def _default_types(self) -> NgsiOptions:
        if not self.types:
            default = list(self.entity_types) or list(ENTITY_TYPES)
            object.__setattr__(self, "types", default)
        return self

    def readable(self, etype: str) -> bool:
        """Whether entities of ``etype`` are read (built in or configured)."""
        return etype in self.entity_types or etype in ENTITY_TYPES

    def attributes_of(self, etype: str) -> list[str]:
        """The attributes read from entities of ``etype``, served ones only."""
        custom = self.entity_types.get(etype)
        if custom is None:
            return list(dict.fromkeys(r.attr for r in _READINGS[etype]))
        mapped = custom.mapping.fields if custom.mapping is not None else {}
        names = [n for n in custom.values if n not in mapped]
        if custom.mapping is not None:
            for spec in custom.mapping.fields.values():
                if spec.path and not spec.path.startswith("$."):
                    names.append(spec.path.split(".")[0])
                names += spec.reads
        return list(dict.fromkeys(names))

    @field_validator("item_types")
    @classmethod
    def _lower_items(cls, value: dict[str, str]) -> dict[str, str]:
        return {k.lower(): v for k, v in value.items()}

    @classmethod
    def from_context(cls, context: SourceContext) -> NgsiOptions:
        """The options of ``context``'s source; raises ``ConfigError`` naming the bad key."""
        return source_options(cls, context)


# What one answer gave; ``rejected`` has columns site_id, metric, attr and reason.
ParsedFrames = Parsed


def _reject(site_id: str, reason: str, attr: str = "", metric: str = "") -> dict[str, str]:
    return {"site_id": site_id, "metric": metric, "attr": attr, "reason": reason}


# --------------------------------------------------------------------------- attributes


@dataclass(frozen=True)
class _Attr:
    value: Any
    unit: str | None
    observed: str | None


def _compact(name: str) -> str:
    """An attribute or type name without the vocabulary URI a broker may expand it to."""
    if name.startswith(("http://", "https://")):
        return re.split(r"[/#]", name.rstrip("/#"))[-1]
    return name


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _plain(value: Any) -> Any:
    """A JSON-LD typed value ({"@type": "DateTime", "@value": ...}) as its bare value."""
    if isinstance(value, dict) and "@value" in value:
        return value["@value"]
    return value


def _meta(metadata: Any, name: str) -> Any:
    item = metadata.get(name) if isinstance(metadata, dict) else None
    return item.get("value") if isinstance(item, dict) else item


_WRAPPER_HINTS: Final = frozenset({"unitCode", "observedAt", "metadata"})


def _attribute(raw: Any) -> _Attr:
    """(value, unit code, observation time) of one attribute in any of the four forms."""
    # NGSI-LD multi-attribute: the default instance is the one without a datasetId.
    instances = isinstance(raw, list) and raw and all(isinstance(i, dict) for i in raw)
    if instances and any("value" in i or "object" in i for i in raw):
        raw = next((i for i in raw if "datasetId" not in i), raw[0])
    if isinstance(raw, dict):
        if "value" in raw and ("type" in raw or not _WRAPPER_HINTS.isdisjoint(raw)):
            metadata = raw.get("metadata")
            unit = raw.get("unitCode", _meta(metadata, "unitCode"))
            observed = raw.get("observedAt") or _meta(metadata, "timestamp")
            return _Attr(_plain(raw["value"]), _text(unit), _text(_plain(observed)))
        if raw.get("type") == "Relationship" and "object" in raw:
            return _Attr(raw["object"], None, _text(raw.get("observedAt")))
        if isinstance(raw.get("languageMap"), dict):
            first = next(iter(raw["languageMap"].values()), None)
            return _Attr(first, None, None)
    return _Attr(_plain(raw), None, None)


def _pairs(coords: Any, out: list[tuple[float, float]], depth: int = 0) -> None:
    if depth > 6 or not isinstance(coords, list):
        return
    if len(coords) >= 2 and all(
        isinstance(c, int | float) and not isinstance(c, bool) for c in coords[:2]
    ):
        lon, lat = as_float(coords[0]), as_float(coords[1])
        if math.isfinite(lon) and math.isfinite(lat):
            out.append((lon, lat))
        return
    for item in coords:
        _pairs(item, out, depth + 1)


def _position(geo: Any) -> tuple[float, float]:
    """(lat, lon) of a GeoJSON geometry ([lon, lat] order) or an NGSI v2 "lat, lon" text.

    Lines and polygons give the mean of their vertices, a marker position for the map.
    """
    if isinstance(geo, str):
        parts = geo.split(",")
        if len(parts) == 2:
            return as_float(parts[0].strip()), as_float(parts[1].strip())
        return math.nan, math.nan
    if not isinstance(geo, dict):
        return math.nan, math.nan
    points: list[tuple[float, float]] = []
    _pairs(geo.get("coordinates"), points)
    if not points:
        return math.nan, math.nan
    unique = list(dict.fromkeys(points))
    return (
        float(np.mean([p[1] for p in unique])),
        float(np.mean([p[0] for p in unique])),
    )


def _timestamp(text: Any) -> pd.Timestamp | None:
    """An ISO 8601 text as a UTC timestamp (naive means UTC, as NGSI says), else None."""
    if not isinstance(text, str) or not ISO_START.match(text):
        return None
    try:
        stamp = pd.Timestamp(text)
    except (ValueError, TypeError, OverflowError):
        return None
    if stamp is pd.NaT:
        return None
    stamp = utc(stamp)
    return stamp if PLATFORM_MIN <= stamp <= PLATFORM_MAX else None


def _period(attrs: Mapping[str, _Attr]) -> tuple[str | None, float]:
    """(start text, length in seconds) of the entity's observation period."""
    start = _text(attrs["dateObservedFrom"].value) if "dateObservedFrom" in attrs else None
    end = _text(attrs["dateObservedTo"].value) if "dateObservedTo" in attrs else None
    observed = _text(attrs["dateObserved"].value) if "dateObserved" in attrs else None
    if observed and "/" in observed:
        first, _, last = observed.partition("/")
        start, end = start or first, end or last
    elif observed:
        start = start or observed
    a, b = _timestamp(start), _timestamp(end)
    seconds = (b - a).total_seconds() if a is not None and b is not None else math.nan
    return start, seconds if seconds > 0 else math.nan


def _name(attrs: Mapping[str, _Attr], native: str) -> str:
    name = _text(attrs["name"].value) if "name" in attrs else None
    if name:
        return name
    address = attrs["address"].value if "address" in attrs else None
    if isinstance(address, dict):
        street = _text(address.get("streetAddress"))
        if street:
            return street
    return native.rsplit(":", 1)[-1] or native


# --------------------------------------------------------------------------- entities


def _entity_list(payload: Any, source: str, what: str) -> list[Any]:
    if isinstance(payload, list):
        return payload
    if isinstance(payload, dict):
        # NGSI v2 errors are {"error", "description"}; NGSI-LD ones are ProblemDetails.
        detail = payload.get("description") or payload.get("detail") or payload.get("title")
        if detail is not None or "error" in payload:
            raise ParseError(source, f"broker answered an error instead of {what}: {detail!r}")
    raise ParseError(source, f"expected a JSON array of {what}, got {type(payload).__name__}")


def _known_entities(
    payload: Any,
    source: str,
    what: str,
    rejected: list[dict[str, str]],
    options: NgsiOptions,
) -> Iterator[tuple[dict[str, Any], str, str]]:
    """(compacted entity, id, type) of each entity of a type the cockpit reads, built in
    or configured (the query may have asked for others); an entity that cannot be read is
    refused in ``rejected``."""
    for raw in _entity_list(payload, source, what):
        head = _entity_head(raw)
        if isinstance(head, str):
            rejected.append(_reject("", head))
        elif options.readable(head[2]):
            yield head


def _entity_head(raw: Any) -> tuple[dict[str, Any], str, str] | str:
    """(compacted entity, id, type) or the reason the entity cannot be read."""
    if not isinstance(raw, dict):
        return "entity is not a JSON object"
    entity = {_compact(str(k)): v for k, v in raw.items()}
    eid, etype = entity.get("id"), entity.get("type")
    if isinstance(etype, list):  # NGSI-LD allows several types
        names = [_compact(t) for t in etype if isinstance(t, str)]
        etype = next((t for t in names if t in ENTITY_TYPES), names[0] if names else None)
    if not isinstance(eid, str) or not eid or not isinstance(etype, str):
        return "entity without a text id and type"
    return entity, eid, _compact(etype)


def _synthesised(etype: str, attrs: dict[str, _Attr]) -> None:
    """Fill attributes a model allows to be stated another way (in place)."""
    if etype == "CrowdFlowObserved" and "peopleCount" not in attrs:
        towards, away = attrs.get("peopleCountTowards"), attrs.get("peopleCountAway")
        if towards is not None and away is not None:
            total = as_float(towards.value) + as_float(away.value)
            attrs["peopleCount"] = _Attr(total, towards.unit, towards.observed)
    if etype in ("OffStreetParking", "OnStreetParking") and "availableSpotNumber" not in attrs:
        spots, occupied = attrs.get("totalSpotNumber"), attrs.get("occupiedSpotNumber")
        if spots is not None and occupied is not None:
            free = as_float(spots.value) - as_float(occupied.value)
            attrs["availableSpotNumber"] = _Attr(free, None, occupied.observed)


def parse_entities(
    payload: Any,
    source: str,
    options: NgsiOptions | None = None,
    access: str = "public",
) -> ParsedFrames:
    """Turn one broker answer (a JSON array of entities) into canonical frames.

    ``payload`` is an NGSI-LD or NGSI v2 entity list in normalized or keyValues /
    simplified form; ``source`` prefixes every site id. Returns ``ParsedFrames``: sites,
    their current observations in canonical units, and the readings refused with a
    reason. Raises ``ParseError`` when the answer is not an entity list.
    """
    opts = options or NgsiOptions()
    sites: list[dict[str, Any]] = []
    readings: list[dict[str, Any]] = []
    rejected: list[dict[str, str]] = []
    for entity, eid, etype in _known_entities(payload, source, "entities", rejected, opts):
        attrs = {k: _attribute(v) for k, v in entity.items() if k not in ("id", "type", "@context")}
        custom = opts.entity_types.get(etype)
        if custom is None:
            _synthesised(etype, attrs)
        elif custom.mapping is not None:
            _mapped_attributes(custom.mapping, attrs, entity)
        native = eid
        if opts.site_attribute and opts.site_attribute in attrs:
            native = _text(attrs[opts.site_attribute].value) or eid
        site_id = f"{source}:{native}"
        start, period_s = _period(attrs)
        time_keys: tuple[str, ...] = ("observationDateTime", "dateModified")
        if custom is not None and custom.time:
            time_keys = (custom.time, *time_keys)
        fallback = next(
            (_text(attrs[k].value) for k in time_keys if k in attrs and _text(attrs[k].value)),
            None,
        )
        item_type = _text(attrs["itemType"].value) if "itemType" in attrs else None
        item_metric = opts.item_types.get(item_type.lower()) if item_type else None
        capacity = (
            as_float(attrs["totalSpotNumber"].value) if "totalSpotNumber" in attrs else math.nan
        )
        domain, kind = ENTITY_TYPES[etype] if custom is None else (custom.domain, custom.kind)
        if etype == "ItemFlowObserved" and custom is None:
            domain = METRICS[item_metric].domain if item_metric else ""
        lat, lon = (
            _position(attrs["location"].value) if "location" in attrs else (math.nan, math.nan)
        )
        names = list(custom.values) if custom is not None else opts.attributes_of(etype)
        present = [n for n in names if n in attrs]
        if not present:
            reason = f"{etype} has none of the attributes {', '.join(names)}"
            rejected.append(_reject(site_id, reason))
        units = {n: unit for n in present if (unit := attrs[n].unit)}
        for name in present:
            readings.append(
                {
                    "site_id": site_id,
                    "entity_type": etype,
                    "attr": name,
                    "value": attrs[name].value,
                    "unit": attrs[name].unit,
                    "time": attrs[name].observed or start or fallback,
                    "period_s": period_s,
                    "capacity": capacity,
                    "item_type": item_type,
                }
            )
        attributes: dict[str, Any] = {"entity_type": etype, "entity_id": eid}
        if math.isfinite(capacity):
            attributes["capacity"] = capacity
        if math.isfinite(period_s):
            attributes["period_s"] = period_s
        if units:
            attributes["units"] = units
        if item_type:
            attributes["item_type"] = item_type
        address = attrs["address"].value if "address" in attrs else None
        if isinstance(address, dict):
            parts = [_text(address.get(k)) for k in ("streetAddress", "addressLocality")]
            attributes["address"] = ", ".join(p for p in parts if p)
        sites.append(
            {
                "id": site_id,
                "name": _name(attrs, native),
                "domain": domain,
                "kind": kind,
                "lat": lat,
                "lon": lon,
                "source": source,
                "access": access,
                "attributes": attributes,
            }
        )
    observations, refused = _to_observations(_readings_frame(readings), opts)
    site_frame = sites_frame(sites).drop_duplicates("id").reset_index(drop=True)
    return ParsedFrames(
        site_frame,
        observations,
        rejected_frame([pd.DataFrame(rejected), refused], _REJECTED_COLUMNS),
    )


def _mapped_attributes(mapping: RecordMapping, attrs: dict[str, _Attr], raw: Any) -> None:
    """Add the mapping's fields to ``attrs`` (in place), computed over the attributes'
    bare values; each takes the time of the first attribute it reads that has one."""
    bare = {name: attr.value for name, attr in attrs.items()}
    mapped = mapping.apply(bare, raw)
    units = mapping.units()
    for name, spec in mapping.fields.items():
        sources = spec.reads or ([spec.path.split(".")[0]] if spec.path else [])
        observed = next(
            (attrs[s].observed for s in sources if s in attrs and attrs[s].observed), None
        )
        unit = units.get(name) or next(
            (attrs[s].unit for s in sources if s in attrs and attrs[s].unit), None
        )
        attrs[name] = _Attr(mapped.values.get(name), unit, observed)


def _spec_frame(options: NgsiOptions) -> pd.DataFrame:
    """The readings table: the built-in types' and the configured ones'."""
    if not options.entity_types:
        return _SPEC_FRAME
    rows = [
        {
            "entity_type": etype,
            "attr": attr,
            "metric": value.metric,
            "kind": "value",
            "default_unit": value.unit or None,
            "vehicles_only": False,
        }
        for etype, custom in options.entity_types.items()
        for attr, value in custom.values.items()
    ]
    builtin = _SPEC_FRAME[~_SPEC_FRAME["entity_type"].isin(list(options.entity_types))]
    return pd.concat([builtin, pd.DataFrame(rows)], ignore_index=True)


def _readings_frame(rows: list[dict[str, Any]] | dict[str, list[Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame({c: pd.Series([], dtype="object") for c in _READING_COLUMNS})
    return frame


def _factor(metric: str, unit: str) -> float | str:
    """The factor to ``metric``'s canonical unit, or the reason there is none."""
    try:
        return canonical_unit_factor(metric, unit)
    except DataError as exc:
        extra = EXTRA_UNIT_FACTORS.get((metric, unit.strip().lower()))
        return extra if extra is not None else str(exc)


def _fill(values: pd.Series, other: pd.Series | Any) -> pd.Series:
    return values.where(values.notna(), other)


def _to_observations(
    readings: pd.DataFrame, options: NgsiOptions
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Readings (one row per attribute value) to canonical observations and rejects.

    Columns in: those of ``_READING_COLUMNS``. Conversion is vectorised: unit factors are
    looked up once per (metric, unit) pair.
    """
    if readings.empty:
        return empty_observations(), rejected_frame([], _REJECTED_COLUMNS)
    df = readings.merge(_spec_frame(options), on=["entity_type", "attr"], how="inner")
    if df.empty:
        return empty_observations(), rejected_frame([], _REJECTED_COLUMNS)
    item_metric = pd.Series(
        [
            options.item_types.get(t.lower()) if isinstance(t, str) else None
            for t in df["item_type"]
        ],
        index=df.index,
        dtype="object",
    )
    by_item = df["metric"] == _ITEM
    df["metric"] = df["metric"].where(~by_item, item_metric)
    df = df[~(df["vehicles_only"].astype(bool) & (item_metric != "vehicle_flow"))]
    item_metric = item_metric[df.index]
    df = df.reset_index(drop=True)
    item_metric = item_metric.reset_index(drop=True)
    reasons = pd.Series([None] * len(df), dtype="object")
    reasons[df["metric"].isna()] = "item type has no cockpit metric (see options.item_types)"

    kind = df["kind"]
    value = df["value"].map(as_float).astype("float64")
    status = kind == "status"
    status_value = df["value"].map(
        lambda v: _STATUS.get(v.strip().lower(), math.nan) if isinstance(v, str) else math.nan
    )
    value = value.where(~status, status_value.astype("float64"))
    reasons[status & status_value.isna() & reasons.isna()] = (
        "parking status is neither occupied nor free"
    )

    unit = _fill(df["unit"], df["attr"].map(options.units))
    unit = _fill(unit, df["default_unit"]).astype("object")
    canonical = df["metric"].map({m: spec.unit for m, spec in METRICS.items()})

    rate = kind == "rate"
    countlike = pd.Series(
        [not isinstance(u, str) or normalise_unit(u) == "count" for u in unit], dtype=bool
    )
    as_count = rate & countlike
    period = pd.to_numeric(df["period_s"], errors="coerce").astype("float64")
    if options.period_seconds:
        period = period.fillna(options.period_seconds)
    reasons[as_count & ~(period > 0) & reasons.isna()] = (
        "no observation period: a count cannot become an hourly rate"
    )
    value = value.where(~as_count, value * 3600.0 / period)
    unit = unit.where(~as_count, canonical)

    occupancy = kind == "occupancy"
    capacity = pd.to_numeric(df["capacity"], errors="coerce").astype("float64")
    reasons[occupancy & ~(capacity > 0) & reasons.isna()] = (
        "no capacity (totalSpotNumber): occupancy cannot be computed"
    )
    value = value.where(~occupancy, 100.0 * (capacity - value) / capacity)
    unit = unit.where(~(occupancy | status), canonical)
    reasons[unit.isna() & reasons.isna()] = "no unit given (set options.units for the attribute)"

    usable = reasons.isna()
    keys = df["metric"].astype(str) + "|" + unit.astype(str)
    factors: dict[str, float | str] = {}
    for key in keys[usable].unique():
        metric_name, _, unit_text = key.partition("|")
        factors[key] = _factor(metric_name, unit_text)
    looked_up = [factors.get(k, math.nan) for k in keys]
    unit_errors = usable & pd.Series([isinstance(f, str) for f in looked_up], dtype=bool)
    reasons[unit_errors] = pd.Series(looked_up, dtype="object")[unit_errors]
    factor = pd.Series(
        [f if isinstance(f, float | int) else math.nan for f in looked_up], dtype="float64"
    )

    good = reasons.isna()
    observations = observations_frame(
        pd.DataFrame(
            {
                "site_id": df.loc[good, "site_id"].astype(str),
                "metric": df.loc[good, "metric"].astype(str),
                "time": iso_utc(df.loc[good, "time"]),
                "value": (value * factor.astype("float64"))[good],
                "unit": canonical[good],
            }
        )
    )
    rejected = pd.DataFrame(
        {
            "site_id": df.loc[~good, "site_id"],
            "metric": df.loc[~good, "metric"].fillna(""),
            "attr": df.loc[~good, "attr"],
            "reason": reasons[~good],
        }
    )
    return observations, rejected_frame([rejected], _REJECTED_COLUMNS)


# --------------------------------------------------------------------------- history


def _site_lookup(sites: pd.DataFrame | None) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """(site id -> attributes, entity id -> site id) from a canonical site frame."""
    attributes: dict[str, dict[str, Any]] = {}
    by_entity: dict[str, str] = {}
    if sites is None or sites.empty:
        return attributes, by_entity
    for site_id, attrs in zip(sites["id"], sites["attributes"], strict=True):
        attrs = attrs if isinstance(attrs, dict) else {}
        attributes[str(site_id)] = attrs
        entity_id = attrs.get("entity_id")
        if isinstance(entity_id, str):
            by_entity[entity_id] = str(site_id)
    return attributes, by_entity


def _series_frame(
    site_id: str,
    etype: str,
    attr: str,
    times: list[Any],
    values: list[Any],
    units: list[Any] | Any,
    site: Mapping[str, Any],
) -> pd.DataFrame:
    site_units = site.get("units")
    fallback = site_units.get(attr) if isinstance(site_units, dict) else None
    n = len(times)
    unit_col = units if isinstance(units, list) else [units] * n
    return pd.DataFrame(
        {
            "site_id": [site_id] * n,
            "entity_type": [etype] * n,
            "attr": [attr] * n,
            "value": pd.Series(values, dtype="object"),
            "unit": pd.Series([u if u else fallback for u in unit_col], dtype="object"),
            "time": pd.Series(times, dtype="object"),
            "period_s": [as_float(site.get("period_s"))] * n,
            "capacity": [as_float(site.get("capacity"))] * n,
            "item_type": [site.get("item_type")] * n,
        }
    )


def _history_result(frames: list[pd.DataFrame], options: NgsiOptions) -> ParsedFrames:
    keep = [f for f in frames if not f.empty]
    readings = pd.concat(keep, ignore_index=True) if keep else _readings_frame([])
    observations, rejected = _to_observations(readings, options)
    return ParsedFrames(empty_sites(), observations, rejected)


def parse_ld_temporal(
    payload: Any,
    source: str,
    sites: pd.DataFrame | None = None,
    options: NgsiOptions | None = None,
) -> ParsedFrames:
    """Turn an NGSI-LD temporal API answer into canonical observations.

    ``payload`` is one temporal entity or an array of them, in the normalized temporal
    form (each attribute an array of instances with ``observedAt``) or the
    ``temporalValues`` form (``{"values": [[value, observedAt], ...]}``). ``sites`` (from
    ``discover_sites``) supplies what history does not repeat: units, counting period,
    capacity. Returns ``ParsedFrames`` with an empty site frame; raises ``ParseError``
    when the answer is not temporal entities.
    """
    opts = options or NgsiOptions()
    entities = [payload] if isinstance(payload, dict) and "id" in payload else payload
    site_attrs, by_entity = _site_lookup(sites)
    frames: list[pd.DataFrame] = []
    rejected: list[dict[str, str]] = []
    for entity, eid, etype in _known_entities(
        entities, source, "temporal entities", rejected, opts
    ):
        site_id = by_entity.get(eid, f"{source}:{eid}")
        site = site_attrs.get(site_id, {})
        for attr in opts.attributes_of(etype):
            times, values, units = _temporal_instances(entity.get(attr))
            if times:
                frames.append(_series_frame(site_id, etype, attr, times, values, units, site))
    result = _history_result(frames, opts)
    extra = rejected_frame([pd.DataFrame(rejected), result.rejected], _REJECTED_COLUMNS)
    return ParsedFrames(result.sites, result.observations, extra)


def _temporal_instances(raw: Any) -> tuple[list[Any], list[Any], list[Any]]:
    """(times, values, units) of one temporal attribute in either representation."""
    times: list[Any] = []
    values: list[Any] = []
    units: list[Any] = []
    if isinstance(raw, dict) and isinstance(raw.get("values"), list):
        unit = _text(raw.get("unitCode"))
        for pair in raw["values"]:
            if isinstance(pair, list) and len(pair) >= 2:
                values.append(_plain(pair[0]))
                times.append(_plain(pair[1]))
                units.append(unit)
        return times, values, units
    instances = raw if isinstance(raw, list) else [raw] if isinstance(raw, dict) else []
    for item in instances:
        if isinstance(item, dict) and ("value" in item or "object" in item):
            attr = _attribute(item)
            values.append(attr.value)
            times.append(attr.observed)
            units.append(attr.unit)
    return times, values, units


def parse_quantumleap(
    payload: Any,
    source: str,
    entity_type: str,
    attr: str,
    sites: pd.DataFrame | None = None,
    options: NgsiOptions | None = None,
) -> ParsedFrames:
    """Turn a QuantumLeap answer for one attribute into canonical observations.

    ``payload`` is the ``/v2/types/{type}/attrs/{attr}`` shape (``entities`` with
    ``index`` and ``values``), or the ``/v2/entities/{id}/attrs/{attr}`` shape (with or
    without QuantumLeap's older ``data`` envelope). ``sites`` supplies units, counting
    periods and capacities. Returns ``ParsedFrames`` with an empty site frame; raises
    ``ParseError`` for another shape or index/values arrays of different lengths.
    """
    opts = options or NgsiOptions()
    if not opts.readable(entity_type):
        raise ParseError(source, f"entity type {entity_type!r} is not one the cockpit reads")
    if not isinstance(payload, dict):
        raise ParseError(
            source, f"expected a QuantumLeap JSON object, got {type(payload).__name__}"
        )
    if isinstance(payload.get("entities"), list):
        series = payload["entities"]
    elif isinstance(payload.get("data"), dict):
        series = [payload["data"]]
    elif "index" in payload and "values" in payload:
        series = [payload]
    else:
        raise ParseError(source, "not a QuantumLeap answer (no entities, data or index/values)")
    site_attrs, by_entity = _site_lookup(sites)
    frames: list[pd.DataFrame] = []
    for item in series:
        if not isinstance(item, dict):
            raise ParseError(source, "QuantumLeap series is not a JSON object")
        eid, index, values = item.get("entityId"), item.get("index"), item.get("values")
        if not isinstance(eid, str) or not isinstance(index, list) or not isinstance(values, list):
            raise ParseError(source, "QuantumLeap series lacks entityId, index or values")
        if len(index) != len(values):
            raise ParseError(
                source,
                f"QuantumLeap series {eid!r} has {len(index)} times but {len(values)} values",
            )
        site_id = by_entity.get(eid, f"{source}:{eid}")
        site = site_attrs.get(site_id, {})
        frames.append(_series_frame(site_id, entity_type, attr, index, values, None, site))
    return _history_result(frames, opts)


# --------------------------------------------------------------------------- connectors


def _newest(observations: pd.DataFrame) -> pd.DataFrame:
    """The newest observation per site and metric (rows without a time are kept last)."""
    if observations.empty:
        return observations
    ordered = observations.sort_values("time", na_position="first", kind="stable")
    return ordered.drop_duplicates(["site_id", "metric"], keep="last").reset_index(drop=True)


def _count(headers: Mapping[str, str], name: str) -> int | None:
    text = headers.get(name, "")
    return int(text) if text.strip().isdigit() else None


def _iso(moment: datetime) -> str:
    stamp = pd.Timestamp(moment)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


class _NgsiConnector(Connector):
    """What NGSI-LD and NGSI v2 share: options, paging, entity reuse and reject counts."""

    api_root: ClassVar[str]
    count_header: ClassVar[str]

    def __init__(self, context: SourceContext) -> None:
        super().__init__(context)
        self.options = NgsiOptions.from_context(context)
        if not context.config.url:
            raise ConfigError(f"[sources.{self.source_id}]", "url", "the broker's URL is required")
        self.base_url = self._root(context.config.url)
        self.history_url = self._root(self.options.history_url) if self.options.history_url else ""
        token = context.secret("token")
        headers = self._headers()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.http = HttpClient(
            self.source_id,
            HttpLimits.from_options(context.config.options),
            headers,
            (token or "",),
        )
        # A broker's entity answer holds both sites and values: reuse it for read_latest
        # when that follows discover_sites within the same refresh.
        self._reuse_s = max(1.0, min(30.0, context.config.refresh_seconds / 2))
        self._pending: tuple[float, pd.DataFrame] | None = None
        self._refused = RefusedRows(self.source_id, _REJECTED_COLUMNS, "reading")

    @classmethod
    def _root(cls, url: str) -> str:
        url = url.rstrip("/")
        return url.removesuffix(cls.api_root).rstrip("/")

    def _headers(self) -> dict[str, str]:
        raise NotImplementedError

    def _entity_params(self, entity_type: str) -> dict[str, str]:
        raise NotImplementedError

    def close(self) -> None:
        """Close the HTTP session."""
        self.http.close()

    def _pages(self, url: str, params: dict[str, str], page_size: int) -> Iterator[Any]:
        """Each page of a limit/offset query, stopping at the broker's count header or
        a short page; raises ``TooManyPages`` past ``max_pages``."""
        offset = 0
        for page in range(self.http.limits.max_pages + 1):
            if page == self.http.limits.max_pages:
                raise TooManyPages(
                    self.source_id,
                    f"more than {page} pages of {page_size} (offset {offset})",
                    url,
                )
            query = {**params, "limit": str(page_size), "offset": str(offset)}
            payload, headers = self.http.get_json(url, query)
            yield payload
            size = len(payload) if isinstance(payload, list) else 0
            total = _count(headers, self.count_header)
            offset += size
            if size == 0 or (total is not None and offset >= total):
                return
            if total is None and size < page_size:
                return

    def _read_entities(self) -> ParsedFrames:
        url = f"{self.base_url}{self.api_root}/entities"
        parts: list[ParsedFrames] = []
        for entity_type in self.options.types:
            for page in self._pages(url, self._entity_params(entity_type), self.options.page_size):
                parts.append(
                    parse_entities(page, self.source_id, self.options, self.context.config.access)
                )
        return _combine(parts)

    def discover_sites(self) -> pd.DataFrame:
        """Every entity of the configured types as a site.

        Returns a canonical site frame whose attributes keep what history needs (entity
        id and type, units, capacity, counting period). Raises ``ConnectorError``.
        """
        frames = self._read_entities()
        self._refused.note(frames.rejected)
        self._pending = (time.monotonic(), frames.observations)
        return frames.sites

    def read_latest(self, sites: pd.DataFrame) -> pd.DataFrame:
        """The entities' current values for ``sites`` as canonical observations.

        Reuses the answer ``discover_sites`` just read, else queries the broker again.
        Raises ``ConnectorError``.
        """
        pending, self._pending = self._pending, None
        if pending is not None and time.monotonic() - pending[0] <= self._reuse_s:
            observations = pending[1]
        else:
            frames = self._read_entities()
            self._refused.note(frames.rejected)
            observations = frames.observations
        observations = observations[observations["site_id"].isin(sites["id"])]
        return _newest(observations)

    def snapshot(self, now: datetime | None = None) -> Snapshot:
        """``Connector.snapshot``, also counting readings refused while parsing."""
        self._refused.clear()
        return self._refused.count_into(super().snapshot(now))

    def subscribe(
        self, sites: pd.DataFrame, on_observations: Callable[[pd.DataFrame], None]
    ) -> BrokerSubscription:
        """Register a subscription on the broker that notifies the source's
        ``push.notify_url`` of every change to entities of the configured types, with the
        shared secret in ``push.secret_header``. Notifications come back through the
        cockpit's endpoint and ``read_notification``; ``on_observations`` is not called.

        Returns the subscription (``renew`` extends it, ``close`` deletes it). Raises
        ``ConfigError`` without ``push.notify_url`` or with its secret unset,
        ``ConnectorError`` when the broker refuses.
        """
        push = self.context.config.push
        if push is None or not push.notify_url or not push.secret_env:
            raise ConfigError(
                "city config", f"sources.{self.source_id}.push.notify_url", "is required"
            )
        secret = self.context.environ.get(push.secret_env, "")
        if not secret:
            raise ConfigError(
                "environment", push.secret_env, f"holds no secret for {self.source_id}'s push"
            )
        header = {push.secret_header: secret} if push.signature == "secret" else {}
        return BrokerSubscription(self, push.notify_url, header, push.renew_seconds * 2)

    def subscription_body(
        self, notify_url: str, headers: dict[str, str], expires: datetime
    ) -> dict[str, Any]:
        """The broker's subscription request for ``notify_url`` until ``expires``."""
        raise NotImplementedError

    def expiry_body(self, expires: datetime) -> dict[str, Any]:
        """The PATCH that moves a subscription's expiry to ``expires``."""
        raise NotImplementedError

    def read_notification(self, body: Any, sites: pd.DataFrame) -> pd.DataFrame:
        """The observations of one broker notification (``{"subscriptionId": …, "data":
        [entities]}``, NGSI-LD adding ``"type": "Notification"``) for ``sites``, newest
        per site and metric. Readings the parser refuses are logged and left out.

        Raises ``ParseError`` when ``body`` is not a notification.
        """
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise ParseError(self.source_id, "a notification is an object with a data list")
        if "type" in body and body["type"] != "Notification":
            raise ParseError(self.source_id, f"a notification's type is {body['type']!r}")
        frames = parse_entities(
            body["data"], self.source_id, self.options, self.context.config.access
        )
        for reason, count in frames.rejected["reason"].value_counts().items():
            log.warning("source %s: notification reading refused %d times: %s",
                        self.source_id, count, reason)  # fmt: skip
        observations = frames.observations
        return _newest(observations[observations["site_id"].isin(sites["id"])])

    def _types_of(self, sites: pd.DataFrame) -> list[str]:
        seen = {a.get("entity_type") for a in sites["attributes"] if isinstance(a, dict)}
        return [t for t in self.options.types if t in seen]

    def _window(
        self, parts: list[ParsedFrames], sites: pd.DataFrame, start: datetime, end: datetime
    ) -> pd.DataFrame:
        frames = _combine(parts)
        self._refused.note(frames.rejected)
        obs = frames.observations
        lo, hi = pd.Timestamp(_iso(start)), pd.Timestamp(_iso(end))
        keep = obs["site_id"].isin(sites["id"]) & (obs["time"] >= lo) & (obs["time"] < hi)
        obs = obs[keep].drop_duplicates(["site_id", "metric", "time"], keep="last")
        return obs.sort_values(["site_id", "metric", "time"]).reset_index(drop=True)


def _combine(parts: list[ParsedFrames]) -> ParsedFrames:
    return combine(parts, _REJECTED_COLUMNS)


class BrokerSubscription:
    """A subscription the cockpit holds on an NGSI broker: registered when made, its
    expiry moved forward by ``renew`` (registered afresh when the broker lost it, after
    a restart without persistence), deleted by ``close``.

    Raises ``ConnectorError`` (from ``HttpClient.send``) when the broker refuses.
    """

    def __init__(
        self,
        connector: _NgsiConnector,
        notify_url: str,
        headers: dict[str, str],
        lifetime_s: float,
    ) -> None:
        self.connector = connector
        self.notify_url = notify_url
        self._headers = headers
        self.lifetime = timedelta(seconds=lifetime_s)
        self.collection = f"{connector.base_url}{connector.api_root}/subscriptions"
        self.location = ""
        self._register()

    def _register(self) -> None:
        body = self.connector.subscription_body(
            self.notify_url, self._headers, datetime.now(UTC) + self.lifetime
        )
        _, headers = self.connector.http.send("POST", self.collection, body)
        where = headers.get("Location", "")
        if not where:
            raise ParseError(self.connector.source_id, "the broker named no subscription")
        name = where.rstrip("/").rsplit("/", 1)[-1]
        self.location = f"{self.collection}/{quote(name, safe=':')}"
        log.info("source %s: subscribed at the broker (%s)", self.connector.source_id, name)

    def renew(self) -> None:
        body = self.connector.expiry_body(datetime.now(UTC) + self.lifetime)
        status, _ = self.connector.http.send("PATCH", self.location, body, missing_ok=True)
        if status == 404:
            log.warning("source %s: the broker lost the subscription; subscribing again",
                        self.connector.source_id)  # fmt: skip
            self._register()

    def close(self) -> None:
        if self.location:
            self.connector.http.send("DELETE", self.location, missing_ok=True)
            log.info("source %s: subscription deleted at the broker", self.connector.source_id)
            self.location = ""


class NgsiLdConnector(_NgsiConnector):
    """An ETSI NGSI-LD broker (Orion-LD, Scorpio, Stellio) and its temporal API.

    Options: see ``NgsiOptions``. Credentials: ``token`` (sent as a Bearer token).
    """

    api_root = "/ngsi-ld/v1"
    count_header = "NGSILD-Results-Count"

    def _headers(self) -> dict[str, str]:
        headers: dict[str, str] = {"Accept": self.options.accept}
        if self.options.context:
            headers["Link"] = (
                f'<{self.options.context}>; rel="{_LINK_REL}"; type="application/ld+json"'
            )
        if self.options.tenant:
            headers["NGSILD-Tenant"] = self.options.tenant
        return headers

    def subscription_body(
        self, notify_url: str, headers: dict[str, str], expires: datetime
    ) -> dict[str, Any]:
        """NGSI-LD: one subscription to every configured type; the secret travels as
        ``receiverInfo``, which the broker sends as headers with each notification."""
        endpoint: dict[str, Any] = {"uri": notify_url, "accept": "application/json"}
        if headers:
            endpoint["receiverInfo"] = [{"key": k, "value": v} for k, v in headers.items()]
        body: dict[str, Any] = {
            "type": "Subscription",
            "description": f"City Cockpit: {self.source_id}",
            "entities": [{"type": t} for t in self.options.types],
            "notification": {
                "endpoint": endpoint,
                "format": "normalized" if self.options.form == "normalized" else "keyValues",
            },
            "expiresAt": _iso(expires),
        }
        if self.options.query:
            body["q"] = self.options.query
        return body

    def expiry_body(self, expires: datetime) -> dict[str, Any]:
        return {"expiresAt": _iso(expires)}

    def _entity_params(self, entity_type: str) -> dict[str, str]:
        params = {"type": entity_type, "count": "true"}
        if self.options.form != "normalized":
            params["format"] = "simplified"
        if self.options.query:
            params["q"] = self.options.query
        return params

    def read_window(self, sites: pd.DataFrame, start: datetime, end: datetime) -> pd.DataFrame:
        """Observations of ``sites`` with ``start <= time < end`` from the temporal API.

        Queries ``/ngsi-ld/v1/temporal/entities`` per entity type with
        ``timerel=between``, paging by limit/offset. Raises ``ConnectorError``.
        """
        url = f"{self.history_url or self.base_url}{self.api_root}/temporal/entities"
        parts: list[ParsedFrames] = []
        for entity_type in self._types_of(sites):
            params = {
                "type": entity_type,
                "attrs": ",".join(self.options.attributes_of(entity_type)),
                "timerel": "between",
                "timeAt": _iso(start),
                "endTimeAt": _iso(end),
                "count": "true",
            }
            if self.options.history_form == "temporalValues":
                params["format"] = "temporalValues"
            for page in self._pages(url, params, self.options.page_size):
                parts.append(parse_ld_temporal(page, self.source_id, sites, self.options))
        return self._window(parts, sites, start, end)


class NgsiV2Connector(_NgsiConnector):
    """A FIWARE NGSI v2 broker (Orion), with history from QuantumLeap.

    Options: see ``NgsiOptions``; ``history_url`` is QuantumLeap's base URL. Credentials:
    ``token`` (sent as a Bearer token).
    """

    api_root = "/v2"
    count_header = "Fiware-Total-Count"

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.options.tenant:
            headers["Fiware-Service"] = self.options.tenant
        if self.options.service_path:
            headers["Fiware-ServicePath"] = self.options.service_path
        return headers

    def subscription_body(
        self, notify_url: str, headers: dict[str, str], expires: datetime
    ) -> dict[str, Any]:
        """NGSI v2: one subscription to every configured type, notified through
        ``httpCustom`` so that the secret header goes with each notification."""
        subject: dict[str, Any] = {
            "entities": [{"idPattern": ".*", "type": t} for t in self.options.types]
        }
        if self.options.query:
            subject["condition"] = {"expression": {"q": self.options.query}}
        form = "normalized" if self.options.form == "normalized" else "keyValues"
        return {
            "description": f"City Cockpit: {self.source_id}",
            "subject": subject,
            "notification": {
                "httpCustom": {"url": notify_url, "headers": headers},
                "attrsFormat": form,
            },
            "expires": _iso(expires),
        }

    def expiry_body(self, expires: datetime) -> dict[str, Any]:
        return {"expires": _iso(expires)}

    def _entity_params(self, entity_type: str) -> dict[str, str]:
        key_values = self.options.form != "normalized"
        params = {"type": entity_type, "options": "count,keyValues" if key_values else "count"}
        if self.options.query:
            params["q"] = self.options.query
        return params

    def _ql_series(self, url: str, params: dict[str, str]) -> Iterator[Any]:
        """Pages of one QuantumLeap query; its 404 means "no records", not an error."""
        page_size = self.options.history_page_size
        offset = 0
        for page in range(self.http.limits.max_pages + 1):
            if page == self.http.limits.max_pages:
                raise TooManyPages(self.source_id, f"more than {page} QuantumLeap pages", url)
            query = {**params, "limit": str(page_size), "offset": str(offset)}
            try:
                payload, _ = self.http.get_json(url, query)
            except UpstreamStatusError as exc:
                if exc.status == 404:
                    return
                raise
            yield payload
            size = _ql_size(payload)
            offset += page_size
            if size < page_size:
                return

    def read_window(self, sites: pd.DataFrame, start: datetime, end: datetime) -> pd.DataFrame:
        """Observations of ``sites`` with ``start <= time < end`` from QuantumLeap.

        Without ``options.history_url`` there is no v2 history: returns an empty frame
        and logs why. Raises ``ConnectorError`` when QuantumLeap cannot be read.
        """
        if not self.history_url:
            log.warning(
                "source %s: no options.history_url (QuantumLeap): no history", self.source_id
            )
            return empty_observations()
        window = {"fromDate": _iso(start), "toDate": _iso(end)}
        parts: list[ParsedFrames] = []
        for entity_type in self._types_of(sites):
            attrs = self.options.attributes_of(entity_type)
            for attr in attrs:
                for url, params in self._ql_requests(sites, entity_type, attr, window):
                    for page in self._ql_series(url, params):
                        parts.append(
                            parse_quantumleap(
                                page, self.source_id, entity_type, attr, sites, self.options
                            )
                        )
        return self._window(parts, sites, start, end)

    def _ql_requests(
        self, sites: pd.DataFrame, entity_type: str, attr: str, window: dict[str, str]
    ) -> Iterator[tuple[str, dict[str, str]]]:
        if self.options.history_by == "type":
            yield f"{self.history_url}/v2/types/{quote(entity_type)}/attrs/{quote(attr)}", window
            return
        for attributes in sites["attributes"]:
            if not isinstance(attributes, dict) or attributes.get("entity_type") != entity_type:
                continue
            entity_id = attributes.get("entity_id")
            if isinstance(entity_id, str):
                path = f"/v2/entities/{quote(entity_id, safe=':')}/attrs/{quote(attr)}"
                yield f"{self.history_url}{path}", {**window, "type": entity_type}


def _ql_size(payload: Any) -> int:
    """How many points one QuantumLeap page held (the longest series)."""
    if not isinstance(payload, dict):
        return 0
    series = payload.get("entities")
    if not isinstance(series, list):
        data = payload.get("data")
        series = [data if isinstance(data, dict) else payload]
    sizes = [
        len(s["values"])
        for s in series
        if isinstance(s, dict) and isinstance(s.get("values"), list)
    ]
    return max(sizes, default=0)
