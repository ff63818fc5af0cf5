"""The city's time zone guessed from where its sites are: the zone whose principal
place (the tz database's ``zone.tab``) is nearest to the sites' middle. A guess for
the data officer to confirm; near a border it can be the neighbour's."""

from __future__ import annotations

import math
import re
import zoneinfo
from functools import lru_cache
from pathlib import Path

__all__ = ["nearest_zone"]

_COORD = re.compile(r"^([+-])(\d{2})(\d{2})(\d{2})?([+-])(\d{3})(\d{2})(\d{2})?$")


def _degrees(sign: str, deg: str, minutes: str, seconds: str | None) -> float:
    value = int(deg) + int(minutes) / 60 + (int(seconds) / 3600 if seconds else 0)
    return -value if sign == "-" else value


@lru_cache(maxsize=1)
def _places() -> tuple[tuple[str, float, float], ...]:
    """(zone, lat, lon) of each zone's principal place, or () without the table."""
    # zone.tab names a zone per country (Europe/Copenhagen, not only Europe/Berlin)
    tables = [Path(d) / name for name in ("zone.tab", "zone1970.tab") for d in zoneinfo.TZPATH]
    table = next((t for t in tables if t.is_file()), None)
    if table is None:
        return ()
    places = []
    for line in table.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        parts = line.split("\t")
        match = _COORD.match(parts[1]) if len(parts) >= 3 else None
        if match is None:
            continue
        lat = _degrees(*match.group(1, 2, 3, 4))
        lon = _degrees(*match.group(5, 6, 7, 8))
        places.append((parts[2], lat, lon))
    return tuple(places)


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dlat, dlon = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dlat / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dlon / 2) ** 2
    return 2 * 6371 * math.asin(min(1.0, math.sqrt(a)))


def nearest_zone(lat: float, lon: float) -> tuple[str, float] | None:
    """(zone, km to its principal place) nearest to (lat, lon); None without the tz
    database's table."""
    best: tuple[str, float] | None = None
    for zone, zlat, zlon in _places():
        km = _km(lat, lon, zlat, zlon)
        if best is None or km < best[1]:
            best = (zone, km)
    return best
