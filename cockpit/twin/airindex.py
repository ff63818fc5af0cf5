"""The European Air Quality Index (EAQI) of the European Environment Agency.

Six bands per pollutant, from hourly concentrations in µg/m³; a place's index is the
band of its worst pollutant. These are the EEA's bands as published from 2017 until the
2024 revision (e.g. PM2.5 "good" up to 10 µg/m³); a city that wants another index
replaces this table.
"""

from __future__ import annotations

import math
from typing import Final

__all__ = ["BANDS", "INDEX_NAME", "band_label", "band_of"]

INDEX_NAME: Final = "European Air Quality Index (EEA)"
BANDS: Final = ("good", "fair", "moderate", "poor", "very poor", "extremely poor")

# Upper limits of the first five bands, µg/m³; above the last one is "extremely poor".
_LIMITS: Final[dict[str, tuple[float, float, float, float, float]]] = {
    "pm25": (10, 20, 25, 50, 75),
    "pm10": (20, 40, 50, 100, 150),
    "no2": (40, 90, 120, 230, 340),
    "o3": (50, 100, 130, 240, 380),
    "so2": (100, 200, 350, 500, 750),
}


def band_of(metric: str, value: float) -> int | None:
    """Band index 0 (good) .. 5 (extremely poor) of ``value`` µg/m³ of ``metric``,
    or None when the pollutant is not part of the index or the value is missing."""
    limits = _LIMITS.get(metric)
    if limits is None or value is None or math.isnan(value):
        return None
    for band, limit in enumerate(limits):
        if value <= limit:
            return band
    return len(limits)


def band_label(band: int | None) -> str:
    """The band's name, or "no data"."""
    return "no data" if band is None else BANDS[band]
