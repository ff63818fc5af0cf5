"""Reading a collection's records without knowing them: each field's kind (number, time,
date, position, text), its range, and which fields look like the site's id, name, time
and position. Pure functions over lists of JSON-like records."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Final

from connectors.discover.found import FieldInfo

__all__ = [
    "hour_field",
    "id_field",
    "lat_lon_fields",
    "name_field",
    "number",
    "position_field",
    "position_of",
    "profile",
    "time_field",
    "time_format",
]

_ISO = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$"
)
_LAT_NAMES = re.compile(r"^(lat|latitude|breite|breitengrad|y_?wgs84|geo_?lat)$", re.I)
_LON_NAMES = re.compile(r"^(lon|lng|long|longitude|laenge|längengrad|x_?wgs84|geo_?lon)$", re.I)
_TIME_NAMES = re.compile(
    r"(time|date|datum|zeit|updated|timestamp|observ|reported|received|measured|stamp|^ts$)",
    re.I,
)
_ID_NAMES = re.compile(r"(^id$|_id$|^id_|id$|code$|^objectid$|^fid$|number$|nummer$)", re.I)
_NAME_NAMES = re.compile(r"(name|title|titel|bezeichnung|description|descript|label)", re.I)
_HOUR_NAMES = re.compile(r"^(hour|hourday|hour_of_day|stunde|time|hr)$", re.I)
# strptime formats tried on dates that are not ISO 8601, most specific first.
_FORMATS = (
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M:%S %p",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%Y/%m/%d",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
)


def number(value: Any) -> float | None:
    """``value`` as a finite number (numbers and numeric texts), else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        text = value.strip()
        if not text or not re.fullmatch(r"[-+]?\d+([.,]\d+)?([eE][-+]?\d+)?", text):
            return None
        try:
            result = float(text.replace(",", "."))
        except ValueError:
            return None
        return result if math.isfinite(result) else None
    return None


def position_of(value: Any) -> tuple[float, float] | None:
    """(lat, lon) of a position value: ``{lat, lon}``, ``{latitude, longitude}``,
    ``{x, y}``, a GeoJSON Point, or a ``"lat, lon"`` text; None otherwise. A bare pair of
    numbers is ambiguous and is not read here."""
    if isinstance(value, dict):
        keys = {k.lower(): v for k, v in value.items()}
        for la, lo in (("lat", "lon"), ("latitude", "longitude"), ("lat", "lng"), ("y", "x")):
            if la in keys and lo in keys:
                lat, lon = number(keys[la]), number(keys[lo])
                if lat is not None and lon is not None and abs(lat) <= 90 and abs(lon) <= 180:
                    return lat, lon
        coords = keys.get("coordinates")
        if keys.get("type") == "Point" and isinstance(coords, list) and len(coords) >= 2:
            lon_, lat_ = number(coords[0]), number(coords[1])
            if lat_ is not None and lon_ is not None and abs(lat_) <= 90:
                return lat_, lon_
        return None
    if isinstance(value, str):
        match = re.fullmatch(r"\s*\(?\s*([-+]?\d+\.\d+)\s*,\s*([-+]?\d+\.\d+)\s*\)?\s*", value)
        if match:
            lat, lon = float(match.group(1)), float(match.group(2))
            if abs(lat) <= 90 and abs(lon) <= 180:
                return lat, lon
    return None


def time_format(values: Sequence[str]) -> str | None:
    """ "iso" when every text is ISO 8601, else the first strptime format that reads every
    text (a day-first format only when a day over 12 shows it), else None."""
    texts = [v.strip() for v in values if isinstance(v, str) and v.strip()]
    if not texts:
        return None
    if all(_ISO.match(t) for t in texts):
        return "iso"
    for fmt in _FORMATS:
        try:
            parsed = [datetime.strptime(t, fmt) for t in texts]
        except ValueError:
            continue
        if fmt.startswith("%m/%d") and not any(p.month != p.day for p in parsed):
            continue
        return fmt
    return None


def _is_date_only(values: Sequence[str], fmt: str) -> bool:
    if fmt == "iso":
        return all(len(v.strip()) == 10 for v in values)
    return "%H" not in fmt and "%I" not in fmt


def _naive(values: Sequence[str], fmt: str) -> bool:
    if fmt != "iso":
        return True
    return any(_ISO.match(v.strip()) and not _ISO.match(v.strip()).group(1) for v in values)  # type: ignore[union-attr]


def profile(records: Sequence[Any], declared: dict[str, str] | None = None) -> list[FieldInfo]:
    """Each top-level field of ``records`` (dicts) with its kind, a sample and, for
    numbers, the range seen. ``declared`` gives a platform's own type per field (e.g.
    ArcGIS ``esriFieldTypeDate``, CKAN ``timestamp``), which wins for times."""
    declared = declared or {}
    names: dict[str, None] = {}
    for record in records:
        if isinstance(record, dict):
            names.update(dict.fromkeys(record))
    out: list[FieldInfo] = []
    for name in names:
        values = [r.get(name) for r in records if isinstance(r, dict)]
        present = [v for v in values if v not in (None, "")]
        info = FieldInfo(name, "empty", present[0] if present else None)
        out.append(info)
        if not present:
            continue
        if declared.get(name, "").lower() in ("esrifieldtypedate", "date_epoch_ms"):
            info.kind = "time"
            info.unit = "epoch_ms"
            continue
        if all(isinstance(v, bool) for v in present):
            info.kind = "bool"
            continue
        if all(position_of(v) is not None for v in present):
            info.kind = "position"
            continue
        numbers = [number(v) for v in present]
        if all(n is not None for n in numbers):
            found = [n for n in numbers if n is not None]
            info.kind = "number"
            info.low, info.high = min(found), max(found)
            if _TIME_NAMES.search(name) and info.low > 9e11 and info.high < 1e13:
                info.kind, info.unit = "time", "epoch_ms"
            elif _TIME_NAMES.search(name) and info.low > 9e8 and info.high < 4e9:
                info.kind, info.unit = "time", "epoch_s"
            continue
        texts = [v for v in present if isinstance(v, str)]
        if len(texts) == len(present):
            fmt = time_format(texts)
            if fmt is not None:
                info.kind = "date" if _is_date_only(texts, fmt) else "time"
                info.unit = fmt
                if info.kind == "time" and _naive(texts, fmt):
                    info.unit = fmt + " (no zone)" if fmt != "iso" else "iso (no zone)"
                continue
            info.kind = "text"
            continue
        info.kind = "object"
    return out


def by_kind(fields: Iterable[FieldInfo], *kinds: str) -> list[FieldInfo]:
    return [f for f in fields if f.kind in kinds]


# Which time a record's value holds, best first: when it was measured; when the row
# was last confirmed (a state still true then, so it is not judged stale); any other
# time; when a state began, or the record was made (older than the value's truth).
_TIME_TIERS: Final = (
    re.compile(r"observ|measur|sensing|phenomenon|reading|messung|zeitpunkt", re.I),
    re.compile(r"updated|reported|modified|last|aktualis|refresh", re.I),
    re.compile(r"^(?!.*(status|created|start|install|first|record_timestamp|begin)).*$", re.I),
)


def time_field(fields: Sequence[FieldInfo]) -> FieldInfo | None:
    """The field most likely the observation's time: a time (or date) field named as
    one, a measured time before a last-confirmed one, both before when a state began or
    a record was made (``_TIME_TIERS``); fields in their served order otherwise."""
    candidates = by_kind(fields, "time") or by_kind(fields, "date")
    if not candidates:
        return None

    def rank(info: FieldInfo) -> tuple[int, int]:
        named = 0 if _TIME_NAMES.search(info.name) else 1
        tier = next(
            (i for i, tier in enumerate(_TIME_TIERS) if tier.search(info.name)), len(_TIME_TIERS)
        )
        return named, tier

    return sorted(candidates, key=rank)[0]


def hour_field(fields: Sequence[FieldInfo], time: FieldInfo | None) -> FieldInfo | None:
    """An hour-of-day field (whole numbers 0-23) completing a date-only ``time``."""
    if time is None or time.kind != "date":
        return None
    for info in fields:
        if (
            info.kind == "number"
            and _HOUR_NAMES.match(info.name)
            and info.low is not None
            and info.high is not None
            and info.low >= 0
            and info.high <= 23
        ):
            return info
    return None


def lat_lon_fields(fields: Sequence[FieldInfo]) -> tuple[FieldInfo, FieldInfo] | None:
    """Two number fields named for latitude and longitude whose values fit them."""
    lat = next((f for f in fields if f.kind == "number" and _LAT_NAMES.match(f.name)), None)
    lon = next((f for f in fields if f.kind == "number" and _LON_NAMES.match(f.name)), None)
    if lat is None or lon is None or lat.low is None or lat.high is None:
        return None
    if lon.low is None or lon.high is None or not (lat.low >= -90 and lat.high <= 90):
        return None
    return lat, lon


def position_field(fields: Sequence[FieldInfo]) -> FieldInfo | None:
    """A field holding whole positions (an object, a GeoJSON Point or "lat, lon" text)."""
    return next((f for f in fields if f.kind == "position"), None)


def id_field(
    fields: Sequence[FieldInfo], records: Sequence[Any], per_site: bool = False
) -> FieldInfo | None:
    """The field naming the site: named like an id, a text or whole number, and repeating
    less than the rows do (a row per observation repeats it, a row per site does not).
    Row counters (``_id``, ``OBJECTID`` over a log) are passed over when another fits;
    ``per_site`` (every row at its own place) asks for an id no two rows share."""
    scored: list[tuple[int, FieldInfo]] = []
    for info in fields:
        if info.kind not in ("text", "number") or not _ID_NAMES.search(info.name):
            continue
        values = [r.get(info.name) for r in records if isinstance(r, dict)]
        if info.kind == "number" and any(
            (n := number(v)) is not None and not float(n).is_integer() for v in values
        ):
            continue
        distinct = len({str(v) for v in values})
        name = info.name.lower()
        score = 0
        if any(v in (None, "") for v in values):
            score += 6  # a site id is never missing
        if name in ("_id", "id", "objectid", "fid", "recordid"):
            score += 2  # a row number unless nothing else names the site
        if re.search(r"(site|sensor|station|location|counter|device|kerbside|zaehl)", name):
            score -= 2
        if distinct == len(values) and len(values) > 1:
            score += 1
        elif per_site:
            score += 4
        if distinct <= 1 and len(values) > 1:
            score += 4
        scored.append((score, info))
    if not scored:
        return None
    return sorted(scored, key=lambda item: item[0])[0][1]


def name_field(fields: Sequence[FieldInfo], avoid: Iterable[str] = ()) -> FieldInfo | None:
    """A text field naming the site for people."""
    skip = set(avoid)
    for info in fields:
        if info.kind == "text" and info.name not in skip and _NAME_NAMES.search(info.name):
            return info
    return None
