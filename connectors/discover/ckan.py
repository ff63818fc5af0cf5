"""CKAN and DKAN recognised by the action API's envelope (``help``, ``success``,
``result``). A site or its action API lists its packages (``package_search``) and the
DataStore resources in them are read with ``datastore_search``; a ``datastore_search``
address (CKAN's or DKAN 1's ``datastore/search.json``) is read as given."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cockpit.model import METRICS
from connectors.discover.collection import about, from_plan, titled
from connectors.discover.found import Collection, Discovery
from connectors.discover.plan import Plan, plan_records
from connectors.discover.probe import Answer, Probe

__all__ = ["ROOTS", "recognise"]

ROOTS = (
    "/api/3/action/package_search?rows=20",
    "/api/action/package_search?rows=20",
    "/api/1/metastore/schemas/dataset/items",
)
PLATFORM = "CKAN / DKAN (action API)"
_SEARCH = re.compile(r"/(datastore_search|datastore/search(\.json)?)$")
_MAX_RESOURCES = 8


def _envelope(data: Any) -> bool:
    return isinstance(data, dict) and "success" in data and "result" in data


_DKAN2_QUERY = re.compile(r"/api/1/datastore/query/([^/?#]+)(?:/([^/?#]+))?/?$")
_DKAN2_ITEMS = "/api/1/metastore/schemas/dataset/items"


def _dkan2(answer: Answer, probe: Probe) -> Discovery | None:
    """DKAN 2: a datastore query answer (results, count, schema) or the metastore's
    dataset list, each dataset's first distribution read through the datastore query."""
    path = urlsplit(answer.url).path
    data = answer.data
    query = _DKAN2_QUERY.search(path)
    if query and isinstance(data, dict) and isinstance(data.get("results"), list):
        found = Discovery(answer.url, "DKAN 2 (datastore query)", "results, count, schema")
        resource = "/".join(g for g in query.groups() if g)
        url = answer.url.split("?", 1)[0]
        found.collections.extend(resource_collection(probe, url, resource, {}, data))
        return found
    if path.endswith(_DKAN2_ITEMS) and isinstance(data, list):
        found = Discovery(answer.url, "DKAN 2 (metastore)", "a list of dataset items")
        base = answer.url.split(_DKAN2_ITEMS, 1)[0]
        for item in data[:_MAX_RESOURCES]:
            if isinstance(item, dict) and item.get("identifier"):
                url = f"{base}/api/1/datastore/query/{item['identifier']}/0"
                body = probe.json(url, {"limit": 200})
                if isinstance(body, dict) and isinstance(body.get("results"), list):
                    ident = f"{item['identifier']}/0"
                    package = {"title": item.get("title"), "notes": item.get("description")}
                    found.collections.extend(resource_collection(probe, url, ident, package, body))
        return found
    return None


def recognise(answer: Answer, probe: Probe) -> Discovery | None:
    if not _envelope(answer.data):
        return _dkan2(answer, probe)
    result = answer.data["result"]
    path = urlsplit(answer.url).path
    found = Discovery(answer.url, PLATFORM, "action API envelope (help, success, result)")
    if isinstance(result, dict) and isinstance(result.get("records"), list):
        action = answer.url.split("?", 1)[0]
        resource = str(
            result.get("resource_id")
            or parse_qs(urlsplit(answer.url).query).get("resource_id", [""])[0]
        )
        found.collections.extend(resource_collection(probe, action, resource, {}, result))
        return found
    base = path.rsplit("/action/", 1)[0] + "/action" if "/action/" in path else "/api/3/action"
    search = f"{base}/datastore/search.json" if "/api/action" in base and "/3/" not in base else ""
    action = search or f"{base}/datastore_search"
    packages: list[Any] = []
    if isinstance(result, dict) and isinstance(result.get("results"), list):
        packages = result["results"]
    elif isinstance(result, dict) and isinstance(result.get("resources"), list):
        packages = [result]
    for package in packages:
        if not isinstance(package, dict):
            continue
        for resource in package.get("resources") or []:
            if len(found.collections) >= _MAX_RESOURCES:
                return found
            if isinstance(resource, dict) and resource.get("datastore_active"):
                found.collections.extend(
                    resource_collection(
                        probe,
                        probe.origin + action,
                        str(resource.get("id")),
                        package,
                        None,
                        resource,
                    )
                )
    if not found.collections:
        found.notes.append("no DataStore resource found (only files: try the file's URL)")
    return found


def resource_collection(
    probe: Probe,
    action: str,
    resource_id: str,
    package: dict[str, Any],
    result: dict[str, Any] | None,
    resource: dict[str, Any] | None = None,
) -> list[Collection]:
    if result is None:
        data = probe.json(action, {"resource_id": resource_id, "limit": 200})
        result = data.get("result") if _envelope(data) else {}
    result = result or {}
    rows = result.get("records") if "records" in result else result.get("results")
    records = [r for r in rows or [] if isinstance(r, dict)]
    declared = {
        str(f.get("id")): str(f.get("type"))
        for f in result.get("fields") or []
        if isinstance(f, dict)
    }
    resource = resource or {}
    title = str(resource.get("name") or package.get("title") or resource_id)
    hints = " ".join(
        str(x or "")
        for x in (
            title,
            resource_id,
            package.get("title"),
            package.get("notes"),
            resource.get("description"),
        )
    )
    plan = plan_records(records, declared, hints=hints, domain=probe.domain)
    parts = plan.by_domain()
    return [
        _source(action, resource_id, package, titled(title, p, len(parts)), p, records)
        for p in parts
    ]


def _source(
    action: str,
    resource_id: str,
    package: dict[str, Any],
    title: str,
    plan: Plan,
    records: list[Any],
) -> Collection:
    options: dict[str, Any] = {"resource_id": resource_id, "domain": plan.domain or ""}
    mapping: dict[str, Any] = {}
    if plan.id:
        options["site_field"] = plan.id
    else:
        options["site_field"] = "site"
        mapping["site"] = {"const": resource_id}
    if plan.name:
        options["name_field"] = plan.name
    options["time_field"] = plan.time or "CHECK_time_field"
    if plan.hour:
        options["hour_field"] = plan.hour
    if plan.time_format:
        options["time_format"] = plan.time_format
    if plan.lat:
        options["lat_field"], options["lon_field"] = plan.lat, plan.lon
    elif plan.position:
        options["location_field"] = plan.position
    else:  # no place in the rows: the officer gives it (--location, or by hand)
        options["location"] = [0.0, 0.0]
    values: dict[str, Any] = {}
    for g in plan.guesses:
        if g.map:  # state texts: a mapped field holding the number
            unit = METRICS[g.metric].unit  # the map gives numbers in the metric's own unit
            mapping[f"{g.field}_value"] = {"path": g.field, "map": g.map, "unit": unit}
            values[f"{g.field}_value"] = {"metric": g.metric}
        else:
            values[g.field] = {"metric": g.metric, **({"unit": g.unit} if g.unit else {})}
    options["values"] = values
    if mapping:
        options["mapping"] = {"fields": mapping}
    organisation = (
        package.get("organization") if isinstance(package.get("organization"), dict) else {}
    )
    source = {
        "connector": "ckan",
        **about(
            title,
            str((organisation or {}).get("title") or ""),
            str(package.get("license_title") or ""),
        ),
        "url": action,
        "options": options,
    }
    return from_plan(title, "DataStore resource", plan, source, records[0] if records else None)
