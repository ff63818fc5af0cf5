"""ArcGIS Server / ArcGIS Online layers recognised by their REST addresses
(``…/FeatureServer[/n]``, ``…/MapServer[/n]``) or by the service's own description
(``currentVersion`` with ``layers`` or ``fields``). Each layer is queried once with
``outSR=4326``: Esri JSON first, GeoJSON when the server answers only that."""

from __future__ import annotations

import re
from typing import Any

from connectors.discover.collection import about, from_plan, titled
from connectors.discover.found import Collection, Discovery
from connectors.discover.plan import Plan, plan_records
from connectors.discover.probe import Answer, Probe

__all__ = ["recognise"]

_SERVICE = re.compile(r"^(.*/(?:FeatureServer|MapServer))(?:/(\d+))?(?:/query)?/?$", re.I)
PLATFORM = "ArcGIS REST (FeatureServer / MapServer)"
_MAX_LAYERS = 8


def _esri_point(geometry: Any) -> tuple[float, float] | None:
    if not isinstance(geometry, dict):
        return None
    x, y = geometry.get("x"), geometry.get("y")
    if isinstance(x, int | float) and isinstance(y, int | float):
        return float(y), float(x)
    if geometry.get("type") == "Point":
        coords = geometry.get("coordinates")
        if isinstance(coords, list) and len(coords) >= 2:
            return float(coords[1]), float(coords[0])
    return None


def recognise(answer: Answer, probe: Probe) -> Discovery | None:
    path = answer.url.split("?", 1)[0]
    match = _SERVICE.match(path)
    data = answer.data if isinstance(answer.data, dict) else {}
    described = "currentVersion" in data and ("layers" in data or "fields" in data)
    if match is None and not described:
        return None
    service = match.group(1) if match else path.rstrip("/")
    found = Discovery(answer.url, PLATFORM, "ArcGIS REST address or service description")
    if match and match.group(2) is not None:
        layers = [(int(match.group(2)), "")]
    else:
        info = data if "layers" in data else probe.json(service, {"f": "json"}) or {}
        layers = [
            (int(item["id"]), str(item.get("name") or ""))
            for item in info.get("layers", [])
            if isinstance(item, dict) and isinstance(item.get("id"), int)
        ][:_MAX_LAYERS]
        if not layers:
            found.notes.append("the service lists no layers")
    for number, name in layers:
        found.collections.extend(layer_collection(probe, f"{service}/{number}", name))
    return found if found.collections or described else None


def layer_collection(probe: Probe, layer: str, name: str) -> list[Collection]:
    meta = probe.json(layer, {"f": "json"}) or {}
    query = {"where": "1=1", "outFields": "*", "outSR": 4326, "resultRecordCount": 200}
    fmt = "json"
    answer = probe.json(f"{layer}/query", {**query, "f": "json"})
    if not isinstance(answer, dict) or "features" not in answer:
        fmt = "geojson"
        answer = probe.json(f"{layer}/query", {**query, "f": "geojson"})
    if not isinstance(answer, dict) or not isinstance(answer.get("features"), list):
        return []
    features = [f for f in answer["features"] if isinstance(f, dict)]
    key = "attributes" if fmt == "json" else "properties"
    records = [f.get(key) or {} for f in features]
    declared = {
        str(f.get("name")): str(f.get("type"))
        for f in (answer.get("fields") or meta.get("fields") or [])
        if isinstance(f, dict)
    }
    title = str(meta.get("name") or name or layer.rstrip("/").split("/")[-3])
    hints = f"{title} {meta.get('description') or ''} {answer.get('displayFieldName') or ''}"
    beside = [_esri_point(f.get("geometry")) for f in features]
    plan = plan_records(
        records, declared, hints=hints, positions_beside=beside, domain=probe.domain
    )
    object_id = next((n for n, t in declared.items() if t == "esriFieldTypeOID"), "")
    name_field = plan.name or str(answer.get("displayFieldName") or meta.get("displayField") or "")
    parts = plan.by_domain()
    return [
        _source(
            layer,
            titled(title, part, len(parts)),
            part,
            fmt,
            object_id,
            name_field,
            meta,
            records,
            any(beside),
        )
        for part in parts
    ]


def _source(
    layer: str,
    title: str,
    plan: Plan,
    fmt: str,
    object_id: str,
    name_field: str,
    meta: dict[str, Any],
    records: list[Any],
    geometry: bool,
) -> Collection:
    options: dict[str, Any] = {"domain": plan.domain or ""}
    if fmt == "geojson":
        options["format"] = "geojson"
    site = plan.id or object_id
    if site:
        options["id"] = site
    else:
        options["site_id"] = title
    if name_field and name_field != site:
        options["name"] = name_field
    if plan.time:
        options["time"] = plan.time
    if plan.time_format:
        options["time_format"] = plan.time_format
    if plan.lat and not geometry:
        options["lat"], options["lon"] = plan.lat, plan.lon
    options["values"] = plan.values()
    source = {
        "connector": "arcgis",
        **about(title, "", str(meta.get("copyrightText") or "")),
        "url": layer,
        "options": options,
    }
    return from_plan(title, "layer", plan, source, records[0] if records else None)
