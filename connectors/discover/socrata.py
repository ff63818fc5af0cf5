"""Socrata (SODA) recognised by its dataset addresses (``/resource/xxxx-xxxx.json``,
``/api/views/xxxx-xxxx``) or its ``X-SODA2-*`` headers; a portal's root lists its
datasets through the catalog API on the same host."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from connectors.discover.collection import about, from_plan, titled
from connectors.discover.found import Collection, Discovery
from connectors.discover.plan import Plan, plan_records
from connectors.discover.probe import Answer, Probe

__all__ = ["ROOTS", "recognise"]

_ID = r"[a-z0-9]{4}-[a-z0-9]{4}"
_DATASET = re.compile(rf"/(?:resource|api/views|api/id|d|dataset/[^/]+)/({_ID})(?:[./]|$)")
ROOTS = ("/api/catalog/v1?limit=20",)
PLATFORM = "Socrata (SODA)"


def _dataset_id(url: str) -> str | None:
    match = _DATASET.search(urlsplit(url).path)
    return match.group(1) if match else None


def recognise(answer: Answer, probe: Probe) -> Discovery | None:
    dataset = _dataset_id(answer.url)
    tail = re.search(rf"/({_ID})/?$", urlsplit(answer.url).path)
    # a dataset's page (/<category>/<name>/xxxx-xxxx): its SODA resource says
    if (
        dataset is None
        and tail is not None
        and answer.data is None
        and isinstance(probe.json(f"/resource/{tail.group(1)}.json", {"$limit": 1}), list)
    ):
        dataset = tail.group(1)
        found = Discovery(answer.url, PLATFORM, f"dataset page of /resource/{dataset}")
        found.collections.extend(dataset_collection(probe, dataset))
        return found
    headers = {k.lower() for k in answer.headers}
    soda = any(h.startswith("x-soda2-") or h == "x-socrata-requestid" for h in headers)
    if dataset is not None and (
        soda or isinstance(answer.data, list) or "/resource/" in answer.url
    ):
        found = Discovery(answer.url, PLATFORM, f"dataset address /resource/{dataset}")
        found.collections.extend(dataset_collection(probe, dataset))
        return found
    data = answer.data
    if isinstance(data, dict) and isinstance(data.get("results"), list) and "resultSetSize" in data:
        found = Discovery(answer.url, PLATFORM, "catalog API answer (results, resultSetSize)")
        for item in data["results"][:10]:
            resource = item.get("resource", {}) if isinstance(item, dict) else {}
            ident = resource.get("id")
            if isinstance(ident, str) and re.fullmatch(_ID, ident):
                found.collections.extend(dataset_collection(probe, ident))
        return found
    return None


def dataset_collection(probe: Probe, dataset: str) -> list[Collection]:
    meta = probe.json(f"/api/views/{dataset}.json") or {}
    rows = probe.json(f"/resource/{dataset}.json", {"$limit": 200}) or []
    rows = [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []
    title = str(meta.get("name") or dataset)
    hints = f"{title} {meta.get('description') or ''} {meta.get('category') or ''}"
    plan = plan_records(rows, hints=hints, domain=probe.domain)
    parts = plan.by_domain()
    return [
        _source(probe, dataset, meta, rows, titled(title, part, len(parts)), part) for part in parts
    ]


def _source(
    probe: Probe, dataset: str, meta: dict[str, Any], rows: list[Any], title: str, plan: Plan
) -> Collection:
    options: dict[str, Any] = {"dataset": dataset, "domain": plan.domain or ""}
    if plan.id:
        options["id"] = plan.id
    else:
        options["site_id"] = dataset
    if plan.name:
        options["name"] = plan.name
    if plan.time:
        options["time"] = plan.time
    if plan.time_format:
        options["time_format"] = plan.time_format
    if plan.lat:
        options["lat"], options["lon"] = plan.lat, plan.lon
    elif plan.position:
        options["position"] = plan.position
    options["values"] = plan.values()
    options["floating"] = plan.naive
    source = {
        "connector": "socrata",
        **about(
            title,
            str(meta.get("attribution") or ""),
            str((meta.get("license") or {}).get("name") or ""),
        ),
        "url": probe.origin,
        "options": options,
    }
    return from_plan(title, "dataset", plan, source, rows[0] if rows else None)
