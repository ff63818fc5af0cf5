"""Unit conversion to the canonical units of ``cockpit.model.METRICS``.

Platforms name units by symbol ("µg/m³"), by name ("microgram per cubic metre"), by
UCUM code ("ug/m3") or by UN/CEFACT code ("GQ", as the FIWARE Smart Data Models do).
A unit that is not listed here is rejected, never guessed.
"""

from __future__ import annotations

import logging
import re

import numpy as np
import pandas as pd

from cockpit.errors import DataError
from cockpit.model import metric

__all__ = ["PPB_TO_UGM3", "canonical_unit_factor", "convert", "normalise_unit"]

log = logging.getLogger(__name__)

# ppb -> µg/m³ at 25 °C and 1013.25 hPa (molar volume 24.45 L/mol): factor = M / 24.45.
# This is an assumption about the air's temperature and pressure; the EU's air-quality
# directive reports at 20 °C (factors about 1.7 % higher), WHO guidelines at 25 °C.
PPB_TO_UGM3: dict[str, float] = {
    "no2": 46.0055 / 24.45,  # 1.88
    "o3": 47.9982 / 24.45,  # 1.96
    "so2": 64.066 / 24.45,
    "co": 28.010 / 24.45,
}

_ALIASES: dict[str, str] = {
    # concentration
    "µg/m³": "ug/m3",
    "μg/m³": "ug/m3",
    "µg/m3": "ug/m3",
    "μg/m3": "ug/m3",
    "ug/m3": "ug/m3",
    "ug/m^3": "ug/m3",
    "ug.m-3": "ug/m3",
    "gq": "ug/m3",
    "microgram per cubic meter": "ug/m3",
    "microgram per cubic metre": "ug/m3",
    "micrograms per cubic meter": "ug/m3",
    "microgramspercubicmeter": "ug/m3",
    "mg/m3": "mg/m3",
    "mg/m³": "mg/m3",
    "gp": "mg/m3",
    "milligram per cubic metre": "mg/m3",
    "ppb": "ppb",
    "61": "ppb",
    "part per billion": "ppb",
    "parts per billion": "ppb",
    "ppm": "ppm",
    "59": "ppm",
    "part per million": "ppm",
    "parts per million": "ppm",
    # flow and counts
    "veh/h": "veh/h",
    "vehicles/h": "veh/h",
    "vehicles per hour": "veh/h",
    "kfz/h": "veh/h",
    "e50": "veh/h",
    "1/h": "per/h",
    "/h": "per/h",
    "h-1": "per/h",
    "{count}/h": "per/h",
    "count": "count",
    "c62": "count",
    "1": "count",
    "{count}": "count",
    "anzahl": "count",
    "persons/h": "persons/h",
    "persons per hour": "persons/h",
    "pedestrians/h": "persons/h",
    "%": "%",
    "p1": "%",
    "percent": "%",
    "percentage": "%",
    # speed
    "km/h": "km/h",
    "kmh": "km/h",
    "km/hr": "km/h",
    "kilometre per hour": "km/h",
    "kilometer per hour": "km/h",
    "m/s": "m/s",
    "mts": "m/s",
    "metre per second": "m/s",
    "meter per second": "m/s",
    # weather and noise
    "°c": "degC",
    "degc": "degC",
    "cel": "degC",
    "celsius": "degC",
    "degree celsius": "degC",
    "mm/h": "mm/h",
    "mm/hr": "mm/h",
    "millimetre per hour": "mm/h",
    "db(a)": "dBA",
    "dba": "dBA",
    "db": "dBA",
    "2n": "dBA",
    "cyclists/h": "per/h",
    "bicycles/h": "per/h",
    "bikes/h": "per/h",
    "cyclists/day": "per/d",
    "bicycles/day": "per/d",
    "/d": "per/d",
    "1/d": "per/d",
}

# (metric, normalised unit) -> factor to the canonical unit
_FACTORS: dict[tuple[str, str], float] = {
    **{(m, "ug/m3"): 1.0 for m in ("pm25", "pm10", "no2", "o3")},
    **{(m, "mg/m3"): 1000.0 for m in ("pm25", "pm10", "no2", "o3")},
    **{(m, "ppb"): f for m, f in PPB_TO_UGM3.items()},
    **{(m, "ppm"): f * 1000 for m, f in PPB_TO_UGM3.items()},
    ("vehicle_flow", "veh/h"): 1.0,
    ("vehicle_flow", "per/h"): 1.0,
    ("pedestrians", "persons/h"): 1.0,
    ("pedestrians", "per/h"): 1.0,
    ("speed", "km/h"): 1.0,
    ("speed", "m/s"): 3.6,
    ("occupancy", "%"): 1.0,
    ("free_spaces", "count"): 1.0,
    ("bay_occupied", "count"): 1.0,
    ("air_temperature", "degC"): 1.0,
    ("wind_speed", "m/s"): 1.0,
    ("wind_speed", "km/h"): 1 / 3.6,
    ("precipitation", "mm/h"): 1.0,
    ("laeq", "dBA"): 1.0,
    ("cyclists", "per/h"): 1.0,
    ("cyclists_daily", "per/d"): 1.0,
    **{(m, "count"): 1.0 for m in ("hire_bikes", "free_docks", "dock_places", "parked_vehicles")},
}


def normalise_unit(unit: str | None) -> str | None:
    """A platform's unit spelling mapped to one key, or None if it is not known."""
    if unit is None:
        return None
    text = re.sub(r"\s+", " ", str(unit).strip().lower())
    text = text.rsplit("#", 1)[-1] if text.startswith("http") else text
    return _ALIASES.get(text)


def canonical_unit_factor(metric_name: str, unit: str | None) -> float:
    """The factor turning ``unit`` into ``metric_name``'s canonical unit.

    Raises ``DataError`` for an unknown metric or a unit that cannot be converted.
    """
    canonical = metric(metric_name).unit
    if unit == canonical:
        return 1.0
    key = normalise_unit(unit)
    if key is None or (metric_name, key) not in _FACTORS:
        raise DataError(f"cannot convert {unit!r} to {canonical} for {metric_name}")
    return _FACTORS[(metric_name, key)]


def convert(values: pd.Series | np.ndarray | float, metric_name: str, unit: str | None) -> object:
    """``values`` in ``unit`` converted to ``metric_name``'s canonical unit.

    Raises ``DataError`` (with the reason logged by the caller) when the unit is unknown.
    """
    return values * canonical_unit_factor(metric_name, unit)
