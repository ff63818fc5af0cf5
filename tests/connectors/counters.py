"""Record mappings of the cycle counters in the fixtures, as their sources' ``options``
state them: Edinburgh's hourly CSV (a row per counter and hour, two channels added up by the
mapping) and
Seattle's Spokane St. Bridge rows (one counter, a total per hour)."""

from __future__ import annotations

from typing import Any, Final

__all__ = ["EDINBURGH_HOURLY", "SPOKANE_BRIDGE"]

EDINBURGH_HOURLY: Final[dict[str, Any]] = {
    "domain": "cycling",
    "id": "counter_id",
    "time": "date",
    "time_format": "%d/%m/%Y",
    "hour": "time",
    "values": {"cyclists": {"field": "both_ways"}},
    # The counter's two directions added up (the mapping language's expression).
    "mapping": {"fields": {"both_ways": {"expr": "channel_1 + channel_2", "unit": "cyclists/h"}}},
}
SPOKANE_BRIDGE: Final[dict[str, Any]] = {
    "domain": "cycling",
    "site_id": "spokane-st-bridge",
    "location": [47.5714, -122.3487],
    "time": "date",
    "values": {"cyclists": {"field": "spokane_st_bridge_total", "unit": "cyclists/h"}},
}
