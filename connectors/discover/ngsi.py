"""FIWARE brokers recognised by their answers: NGSI-LD (``@context``, ``urn:ngsi-ld:``
ids, ``Property``/``GeoProperty`` attributes, ``/ngsi-ld/v1/types``) and NGSI v2 (Orion's
``/version`` and ``/v2`` answers, entities with ``{type, value, metadata}`` attributes).
Entity types the cockpit reads as presets are proposed as they are; any other type gets
an ``entity_types`` mapping by its attributes' names, units and values."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from connectors.discover.collection import about, slug
from connectors.discover.fields import position_of, profile, time_field
from connectors.discover.found import Collection, Discovery, Guess
from connectors.discover.metrics import best_guesses, domain_of, guess_metric, main_domain
from connectors.discover.probe import Answer, Probe
from connectors.ngsi import ENTITY_TYPES

__all__ = ["ROOTS", "recognise"]

ROOTS = ("/ngsi-ld/v1/types", "/v2/entities?limit=100", "/version")
LD = "/ngsi-ld/v1"
_GEO = ("location", "geometry", "position")
_NOT_VALUES = ("dateObserved", "dateModified", "dateCreated", "observationDateTime", "refDevice")


def _is_entity(item: Any) -> bool:
    return (
        isinstance(item, dict)
        and isinstance(item.get("id"), str)
        and isinstance(item.get("type"), str)
    )


def _ld(items: list[dict[str, Any]]) -> bool:
    for item in items:
        if "@context" in item:
            return True
        if any(isinstance(v, dict) and v.get("type") in ("Property", "GeoProperty", "Relationship")
               for v in item.values()):  # fmt: skip
            return True
    return False


def _base(url: str) -> str:
    path = urlsplit(url).path
    for marker in (LD, "/v2/", "/v2", "/version"):
        if marker in path:
            return path.split(marker, 1)[0]
    return path.rstrip("/")


def recognise(answer: Answer, probe: Probe) -> Discovery | None:
    data = answer.data
    base = _base(answer.url)
    if isinstance(data, dict) and isinstance(data.get("typeList"), list):
        found = Discovery(answer.url, "NGSI-LD broker", "EntityTypeList")
        for etype in data["typeList"][:12]:
            entities = probe.json(f"{base}{LD}/entities", {"type": str(etype), "limit": 100}) or []
            _add(found, probe, "ngsi-ld", base, str(etype), [e for e in entities if _is_entity(e)])
        return found
    if isinstance(data, dict) and ("orion" in data or "entities_url" in data):
        entities = probe.json(f"{base}/v2/entities", {"limit": 100}) or []
        return _from_entities(
            answer.url, probe, base, [e for e in entities if _is_entity(e)], False
        )
    if isinstance(data, list) and data and all(_is_entity(e) for e in data[:20]):
        path = urlsplit(answer.url).path
        ld = LD in path or ("/v2/" not in path and _ld(data[:20]))
        return _from_entities(answer.url, probe, base, data, ld)
    return None


def _from_entities(url: str, probe: Probe, base: str, entities: list[Any], ld: bool) -> Discovery:
    platform = "NGSI-LD broker" if ld else "NGSI v2 broker (Orion)"
    found = Discovery(url, platform, "entities with id, type and attributes")
    by_type: dict[str, list[dict[str, Any]]] = {}
    for entity in entities:
        by_type.setdefault(entity["type"], []).append(entity)
    for etype, items in by_type.items():
        _add(found, probe, "ngsi-ld" if ld else "ngsi-v2", base, etype, items)
    return found


def _attr(value: Any) -> tuple[Any, str, bool]:
    """(bare value, unit code, normalized form) of one attribute in any form."""
    if isinstance(value, dict) and "value" in value:
        unit = value.get("unitCode") or ""
        meta = value.get("metadata")
        if isinstance(meta, dict) and isinstance(meta.get("unitCode"), dict):
            unit = meta["unitCode"].get("value") or unit
        return value["value"], str(unit or ""), True
    return value, "", False


def _add(
    found: Discovery, probe: Probe, connector: str, base: str, etype: str, items: list[Any]
) -> None:
    flat: list[dict[str, Any]] = []
    units: dict[str, str] = {}
    normalized = False
    positions: list[tuple[float, float]] = []
    for entity in items:
        row: dict[str, Any] = {}
        for key, raw in entity.items():
            if key in ("id", "type", "@context"):
                continue
            value, unit, norm = _attr(raw)
            normalized = normalized or norm
            if unit:
                units[key] = unit
            row[key] = value
        flat.append(row)
        where = next((position_of(row.get(k)) for k in _GEO if position_of(row.get(k))), None)
        if where is not None:
            positions.append(where)
    fields = profile(flat)
    guesses: list[Guess] = []
    for info in fields:
        if info.kind != "number" or info.name in _NOT_VALUES:
            continue
        guess = guess_metric(info.name, units.get(info.name, ""), info.low, info.high, hints=etype)
        if guess is not None:
            guesses.append(guess)
    preset = etype in ENTITY_TYPES
    if probe.domain:
        guesses = [g for g in guesses if domain_of(g.metric) == probe.domain]
    guesses = best_guesses(guesses)
    domain = ENTITY_TYPES[etype][0] if preset and ENTITY_TYPES[etype][0] else main_domain(guesses)
    guesses = [g for g in guesses if domain and domain_of(g.metric) == domain]
    options: dict[str, Any] = {"types": [etype]}
    if not normalized:
        options["form"] = "keyValues" if connector == "ngsi-v2" else "simplified"
    checks: list[str] = []
    if not preset and guesses and domain:
        when = time_field(fields)
        options["entity_types"] = {
            etype: {
                "domain": domain,
                "kind": slug(etype, "sensor"),
                **({"time": when.name} if when is not None else {}),
                "values": {
                    g.field: {
                        "metric": g.metric,
                        **({"unit": g.unit} if not units.get(g.field) else {}),
                    }
                    for g in guesses
                },
            }
        }
        for g in guesses:
            if not g.unit_stated:
                checks.append(f"{g.field}: no unitCode; {g.unit} assumed for {g.metric}")
    elif preset:
        checks.append(f"{etype} is read by the cockpit's preset for this Smart Data Model")
    usable = bool(domain) and (preset or bool(guesses))
    found.collections.append(
        Collection(
            title=etype,
            kind="entity type",
            domain=domain if usable else None,
            source={
                "connector": connector,
                **about(f"{etype} entities"),
                "url": probe.origin + base,
                "options": options,
            }
            if usable
            else {},
            fields=fields,
            guesses=guesses,
            sample=items[0] if items else None,
            positions=positions,
            sites=len(items),
            checks=checks,
        )
    )
