"""How far and which way a place is, in words a person reads at a glance ("1.2 km NE"),
and a link that routes there.

Distances are great-circle (haversine) distances; the direction is the initial compass
bearing rounded to one of eight points. Numbers use the language's decimal sign and
digit grouping (``cockpit.present.i18n.format_number``).
"""

from __future__ import annotations

import math
from urllib.parse import quote

from cockpit.present.i18n import format_number, translator

__all__ = [
    "bearing_deg",
    "compass",
    "distance_m",
    "distance_words",
    "place_words",
    "route_url",
]

EARTH_RADIUS_M = 6_371_000.0
# Eight compass points, clockwise from north (msgids of the ``mobile`` catalogue).
POINTS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Metres between two points on the Earth (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, a)))


def bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The initial bearing from the first point to the second, degrees clockwise from
    north in [0, 360)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    x = math.sin(dl) * math.cos(p2)
    y = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return (math.degrees(math.atan2(x, y)) + 360.0) % 360.0


def compass(bearing: float) -> str:
    """The nearest of the eight compass points ("N", "NE", …) to ``bearing`` degrees."""
    return POINTS[int(((bearing % 360) + 22.5) // 45) % 8]


def distance_words(metres: float, language: str) -> str:
    """ "40 m", "850 m", "1.2 km", "12 km" (below 1 km to 10 m, then to 100 m, from 10 km
    to the kilometre), with the language's decimal sign."""
    if metres < 1000:
        return f"{format_number(max(10.0, round(metres, -1)), language)} m"
    km = metres / 1000
    if km < 10:
        return f"{format_number(round(km, 1), language, 1)} km"
    return f"{format_number(round(km), language)} km"


def place_words(lat_from: float, lon_from: float, lat: float, lon: float, language: str) -> str:
    """How far and which way (lat, lon) is from (lat_from, lon_from): "1.2 km NE";
    "here" (translated) within 25 m."""
    _ = translator(language, "mobile")
    metres = distance_m(lat_from, lon_from, lat, lon)
    if metres < 25:
        return _("here")
    direction = _(compass(bearing_deg(lat_from, lon_from, lat, lon)))
    return f"{distance_words(metres, language)} {direction}"


def route_url(lat: float, lon: float, lat_from: float | None, lon_from: float | None) -> str:
    """A walking route on OpenStreetMap to (lat, lon) from (lat_from, lon_from), or the
    place itself on the map when the start is unknown."""
    to = f"{lat:.5f},{lon:.5f}"
    if lat_from is None or lon_from is None:
        return f"https://www.openstreetmap.org/?mlat={lat:.5f}&mlon={lon:.5f}#map=17/{lat:.5f}/{lon:.5f}"
    route = quote(f"{lat_from:.5f},{lon_from:.5f};{to}", safe="")
    return f"https://www.openstreetmap.org/directions?engine=fossgis_osrm_foot&route={route}"
