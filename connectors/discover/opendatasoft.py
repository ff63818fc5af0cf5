"""OpenDataSoft portals recognised by their API addresses (Explore v2.0/v2.1,
Records v1) and answers (``total_count`` with ``results``; ``nhits`` with
``parameters`` and ``records``), a dataset page (``/explore/dataset/<id>``) or the
portal's root (its catalog on the same host). Field types and units come from the
dataset's schema where the portal gives it."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from connectors.discover.collection import about, from_plan, titled
from connectors.discover.found import Collection, Discovery, FieldInfo
from connectors.discover.plan import Plan, plan_records
from connectors.discover.probe import Answer, Probe

__all__ = ["ROOTS", "recognise"]

V21 = "/api/explore/v2.1/catalog/datasets"
ROOTS = (f"{V21}?limit=20",)
PLATFORM = "OpenDataSoft"
_DATASET = re.compile(r"/(?:explore/dataset|catalog/datasets)/([A-Za-z0-9_\-.]+)")
_MAX = 8


def _v1_flat(item: Any) -> dict[str, Any]:
    """A v1 record as the connector reads it: its fields, geometry and record metadata."""
    if not isinstance(item, dict):
        return {}
    flat = dict(item.get("fields") or {})
    flat.setdefault("geometry", item.get("geometry"))
    for key in ("record_timestamp", "recordid"):
        if key in item:
            flat.setdefault(key, item[key])
    return flat


def recognise(answer: Answer, probe: Probe) -> Discovery | None:
    data = answer.data
    path = urlsplit(answer.url).path
    if isinstance(data, dict) and "nhits" in data and isinstance(data.get("records"), list):
        found = Discovery(answer.url, f"{PLATFORM} (Records API v1)", "nhits, parameters, records")
        dataset = str((data.get("parameters") or {}).get("dataset") or "")
        if not dataset:
            dataset = parse_qs(urlsplit(answer.url).query).get("dataset", [""])[0]
        if isinstance(dataset, list):
            dataset = dataset[0]
        found.collections.extend(v1_collection(probe, dataset, data))
        return found
    explore = "/api/explore/v2" in path
    match = _DATASET.search(path)
    if isinstance(data, dict) and explore and isinstance(data.get("results"), list):
        found = Discovery(answer.url, f"{PLATFORM} (Explore API v2.1)", "total_count, results")
        if match:  # a dataset's records
            found.collections.extend(v21_collection(probe, match.group(1)))
            return found
        for item in data["results"][:_MAX]:  # the catalog
            if isinstance(item, dict) and item.get("dataset_id"):
                found.collections.extend(v21_collection(probe, str(item["dataset_id"]), item))
        return found
    if match and explore and isinstance(data, list):  # a dataset's export
        found = Discovery(answer.url, f"{PLATFORM} (Explore API v2.1)", "dataset export")
        found.collections.extend(v21_collection(probe, match.group(1)))
        return found
    if match and (explore or "/explore/dataset/" in path):
        meta = probe.json(f"{V21}/{match.group(1)}")
        if not isinstance(meta, dict):  # no schema served: the records say it
            page = probe.json(f"{V21}/{match.group(1)}/records", {"limit": 1})
            meta = {} if isinstance(page, dict) and isinstance(page.get("results"), list) else None
        if isinstance(meta, dict):
            found = Discovery(answer.url, f"{PLATFORM} (Explore API v2.1)", "dataset address")
            found.collections.extend(v21_collection(probe, match.group(1), meta))
            return found
    return None


def _schema(meta: dict[str, Any]) -> tuple[dict[str, str], dict[str, str], str]:
    types: dict[str, str] = {}
    units: dict[str, str] = {}
    words = []
    for item in meta.get("fields") or []:
        if not isinstance(item, dict) or not item.get("name"):
            continue
        name = str(item["name"])
        types[name] = str(item.get("type") or "")
        unit = (item.get("annotations") or {}).get("unit")
        if isinstance(unit, str) and unit:
            units[name] = unit
        words.append(str(item.get("label") or ""))
    default = (meta.get("metas") or {}).get("default") or {}
    hints = " ".join([str(meta.get("dataset_id") or ""), str(default.get("title") or ""), *words])
    return types, units, hints


def v21_collection(
    probe: Probe, dataset: str, meta: dict[str, Any] | None = None
) -> list[Collection]:
    if not meta or "fields" not in meta:
        meta = probe.json(f"{V21}/{dataset}") or meta or {}
    page = probe.json(f"{V21}/{dataset}/records", {"limit": 100}) or {}
    records = [r for r in page.get("results") or [] if isinstance(r, dict)]
    types, units, hints = _schema(meta)
    if not records:  # no record to read: list the schema the portal describes
        plan = plan_records([], types, units, f"{dataset} {hints}", domain=probe.domain)
        plan.fields = [FieldInfo(n, t or "?", unit=units.get(n, "")) for n, t in types.items()]
        plan.checks.insert(0, "the portal gave no record to read: fields listed from its schema")
        return _collections(probe, dataset, "v2.1", meta, plan, records)
    plan = plan_records(records, types, units, f"{dataset} {hints}", domain=probe.domain)
    return _collections(probe, dataset, "v2.1", meta, plan, records)


def v1_collection(probe: Probe, dataset: str, data: dict[str, Any]) -> list[Collection]:
    records = [_v1_flat(r) for r in data.get("records") or []]
    plan = plan_records(records, hints=dataset, domain=probe.domain)
    return _collections(probe, dataset, "v1", {}, plan, records)


def _collections(
    probe: Probe, dataset: str, api: str, meta: dict[str, Any], plan: Plan, records: list[Any]
) -> list[Collection]:
    parts = plan.by_domain()
    return [_collection(probe, dataset, api, meta, part, records, len(parts)) for part in parts]


def _collection(
    probe: Probe,
    dataset: str,
    api: str,
    meta: dict[str, Any],
    plan: Plan,
    records: list[Any],
    parts: int = 1,
) -> Collection:
    default = (meta.get("metas") or {}).get("default") or {}
    fields: dict[str, str] = {"id": plan.id or "site"}
    if plan.name:
        fields["name"] = plan.name
    if plan.time:
        fields["time"] = plan.time
    if plan.hour:
        fields["hour"] = plan.hour
    if plan.lat:
        fields["lat"], fields["lon"] = plan.lat, plan.lon
    elif plan.position:
        fields["position"] = plan.position
    options: dict[str, Any] = {"dataset": dataset, "domain": plan.domain or ""}
    if api != "v2.1":
        options["api"] = api
    options["fields"] = fields
    options["values"] = plan.values()
    if not plan.id:  # one site for the whole dataset
        options["mapping"] = {"fields": {"site": {"const": dataset}}}
    title = titled(str(default.get("title") or dataset), plan, parts)
    source = {
        "connector": "opendatasoft",
        **about(title, str(default.get("publisher") or ""), str(default.get("license") or "")),
        "url": probe.origin,
        "options": options,
    }
    return from_plan(title, "dataset", plan, source, records[0] if records else None)
