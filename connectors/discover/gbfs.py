"""GBFS (bike share, v1.0-3.0) recognised by a ``gbfs.json`` discovery file (``data``
with ``feeds``, per language before v3) or by a feed answer (``data.stations``,
``data.bikes`` or ``data.vehicles`` with ``last_updated`` and ``ttl``)."""

from __future__ import annotations

from typing import Any

from cockpit.domains import registry
from connectors.discover.collection import about
from connectors.discover.fields import number, profile
from connectors.discover.found import Collection, Discovery, Guess
from connectors.discover.probe import Answer, Probe

__all__ = ["ROOTS", "recognise"]

ROOTS = ("/gbfs.json", "/gbfs/gbfs.json", "/gbfs/2.3/gbfs.json", "/gbfs/v3/gbfs.json")
PLATFORM = "GBFS (bike share)"


def _feeds(data: Any) -> dict[str, str]:
    if not isinstance(data, dict):
        return {}
    feeds = data.get("feeds")
    if feeds is None:
        langs = [
            v for v in data.values() if isinstance(v, dict) and isinstance(v.get("feeds"), list)
        ]
        feeds = langs[0]["feeds"] if langs else []
    return {
        str(f.get("name")): str(f.get("url"))
        for f in feeds
        if isinstance(f, dict) and f.get("name") and f.get("url")
    }


def _siblings(answer: Answer, probe: Probe, data: dict[str, Any]) -> dict[str, str]:
    """The feeds beside a feed answered without its discovery file: station information
    and status, or free-floating vehicles, at the same folder."""
    url = answer.url.split("?", 1)[0]
    folder, _, file = url.rpartition("/")
    suffix = ".json" if file.endswith(".json") else ""
    if "vehicles" in data or "bikes" in data:
        return {"free_bike_status" if "bikes" in data else "vehicle_status": url}
    feeds = {}
    for name in ("station_information", "station_status"):
        candidate = f"{folder}/{name}{suffix}"
        feeds[name] = url if file.startswith(name) else candidate
        if feeds[name] != url and not probe.get(candidate).ok:
            del feeds[name]
    return feeds


def recognise(answer: Answer, probe: Probe) -> Discovery | None:
    body = answer.data
    if not isinstance(body, dict) or "ttl" not in body or "data" not in body:
        return None
    feeds = _feeds(body["data"])
    data = body["data"] if isinstance(body["data"], dict) else {}
    if not feeds and not any(k in data for k in ("stations", "bikes", "vehicles")):
        return None
    found = Discovery(answer.url, PLATFORM, f"GBFS {body.get('version', '1.x')} answer")
    options: dict[str, Any] = {}
    if not feeds:  # a feed without its discovery file
        feeds = _siblings(answer, probe, data)
        options["feeds"] = feeds
    stations = probe.json(feeds["station_information"]) if "station_information" in feeds else None
    status = probe.json(feeds["station_status"]) if "station_status" in feeds else None
    rows = ((stations or {}).get("data") or {}).get("stations") or []
    positions = []
    for row in rows:
        lat, lon = number(row.get("lat")), number(row.get("lon"))
        if lat is not None and lon is not None:
            positions.append((lat, lon))
    vehicles_feed = feeds.get("vehicle_status") or feeds.get("free_bike_status")
    checks = []
    if vehicles_feed and not probe.get(vehicles_feed).ok:
        options["vehicles"] = False
        checks.append(f"the vehicles feed listed does not answer ({vehicles_feed}): left out")
        vehicles_feed = None
    if "station_information" in feeds and (stations is None or status is None):
        options["stations"] = False
        checks.append("the station feeds listed do not both answer: left out")
    if not positions and vehicles_feed:
        checks.append("free-floating vehicles only: counted per cell of grid_m metres")
        vehicles = probe.json(vehicles_feed) or {}
        items = (
            (vehicles.get("data") or {}).get("vehicles")
            or (vehicles.get("data") or {}).get("bikes")
            or []
        )
        for item in items:
            lat, lon = number(item.get("lat")), number(item.get("lon"))
            if lat is not None and lon is not None:
                positions.append((lat, lon))
    status_rows = ((status or {}).get("data") or {}).get("stations") or []
    sample = status_rows[0] if status_rows else (rows[0] if rows else None)
    guesses = [
        Guess(
            "num_bikes_available / num_vehicles_available",
            "hire_bikes",
            "count",
            "GBFS station_status",
        ),
        Guess("num_docks_available", "free_docks", "count", "GBFS station_status"),
    ]
    system = probe.json(feeds["system_information"]) if "system_information" in feeds else None
    info = (system or {}).get("data") or {}
    name = info.get("name")
    if isinstance(name, list):  # v3: localised texts
        name = next((n.get("text") for n in name if isinstance(n, dict)), "")
    source = {
        "connector": "gbfs",
        **about(
            str(name or "Bike share"),
            str(info.get("operator") or ""),
            str(info.get("license_url") or ""),
        ),
        # without a discovery file the feeds are named under options, and the url is none
        "url": "" if "feeds" in options else answer.url,
        "options": options,
    }
    found.collections.append(
        Collection(
            title=str(name or "bike share system"),
            kind="feed",
            domain="bike_share",
            source=source,
            fields=profile(status_rows[:50] or rows[:50]),
            guesses=guesses,
            sample=sample,
            positions=positions,
            sites=len(rows) or len(positions),
            checks=checks,
            layer_metric=registry.get("bike_share").map.metric,
        )
    )
    return found
