"""OGC SensorThings API recognised by its service root (``value`` listing ``Things``,
``Datastreams`` … by ``name`` and ``url``) or an entity set (``value`` of entities with
``@iot.id``). Datastreams are grouped by ObservedProperty; each group is proposed as a
stream rule, and each domain found as one source."""

from __future__ import annotations

import re
from typing import Any

from connectors.discover.collection import about, slug
from connectors.discover.fields import number, position_of, profile
from connectors.discover.found import Collection, Discovery, Guess
from connectors.discover.metrics import domain_of, guess_metric
from connectors.discover.probe import Answer, Probe
from connectors.units import normalise_unit

__all__ = ["ROOTS", "recognise"]

ROOTS = ("/v1.1", "/v1.0", "/FROST-Server/v1.1", "/FROST-Server/v1.0")
PLATFORM = "OGC SensorThings API"
_VERSION = re.compile(r"^(.*?/v1\.[01])(?:/|$)")
_THINGS = "Locations,Datastreams($expand=ObservedProperty)"


def _stem(name: str) -> str:
    """A Datastream name's words before the first one holding a digit (a station's code):
    "Fahrradaufkommen an Zählfeld J_52.1_1_I im 5-Min-Intervall" -> "Fahrradaufkommen an
    Zählfeld ", shared by every counting field; a name without such a word is whole."""
    words = name.split(" ")
    for index, word in enumerate(words):
        if any(c.isdigit() for c in word):
            return " ".join(words[:index]) + " " if index else name
    return name


def _escape(text: str) -> str:
    """``text`` as a regular expression matching itself (spaces left readable)."""
    return re.escape(text).replace("\\ ", " ")


def _root(answer: Answer) -> str | None:
    data = answer.data
    if not isinstance(data, dict) or not isinstance(data.get("value"), list):
        return None
    items = [v for v in data["value"] if isinstance(v, dict)]
    names = {str(v.get("name")) for v in items if "url" in v}
    url = answer.url.split("?", 1)[0]
    if {"Things", "Datastreams"} & names:
        return url.rstrip("/")
    if items and any("@iot.id" in v or "@iot.selfLink" in v for v in items):
        match = _VERSION.match(url)
        return match.group(1) if match else url.rsplit("/", 1)[0]
    return None


def _unit(datastream: dict[str, Any]) -> str:
    unit = datastream.get("unitOfMeasurement")
    if isinstance(unit, dict):
        for key in ("symbol", "unit", "name"):
            if isinstance(unit.get(key), str) and unit[key]:
                return str(unit[key])
        return ""
    return str(unit or "")


def _property(datastream: dict[str, Any]) -> str:
    prop = datastream.get("ObservedProperty")
    if isinstance(prop, dict) and prop.get("name"):
        return str(prop["name"])
    props = datastream.get("ObservedProperties")
    if isinstance(props, list) and props and isinstance(props[0], dict):
        return str(props[0].get("name") or "")
    return ""


def _things(probe: Probe, root: str) -> tuple[list[dict[str, Any]], bool]:
    """Things with their Locations and Datastreams, and whether ``$expand`` worked."""
    page = probe.json(f"{root}/Things", {"$top": 100, "$expand": _THINGS}) or {}
    things = [t for t in page.get("value") or [] if isinstance(t, dict)]
    expanded = any(isinstance(t.get("Datastreams"), list) for t in things)
    if expanded or not things:
        return things, True
    # navigation links only: followed by their standard paths on this host (a server
    # often names itself by another host name in its links)
    for thing in things[:25]:
        ident = _literal(thing.get("@iot.id"))
        for nav in ("Datastreams", "Locations"):
            thing[nav] = (probe.json(f"{root}/Things({ident})/{nav}") or {}).get("value") or []
        for stream in thing["Datastreams"]:
            if isinstance(stream, dict) and "ObservedProperty" not in stream:
                link = f"{root}/Datastreams({_literal(stream.get('@iot.id'))})/ObservedProperty"
                stream["ObservedProperty"] = probe.json(link) or {}
    return things, False


def _position(thing: dict[str, Any]) -> tuple[float, float] | None:
    for location in thing.get("Locations") or []:
        if isinstance(location, dict):
            where = position_of(location.get("location"))
            if where is not None:
                return where
    for stream in thing.get("Datastreams") or []:
        if isinstance(stream, dict):
            where = position_of(stream.get("observedArea"))
            if where is not None:
                return where
    return None


def _literal(ident: Any) -> str:
    """An entity id as the URL and filter syntax write it: numbers bare, texts quoted."""
    return str(ident) if isinstance(ident, int) else f"'{ident}'"


def _newest(probe: Probe, root: str, stream_id: Any) -> dict[str, Any] | None:
    literal = _literal(stream_id)
    params = {
        "$filter": f"@iot.id eq {literal}",
        "$expand": "Observations($orderby=phenomenonTime desc;$top=1)",
    }
    page = probe.json(f"{root}/Datastreams", params) or {}
    for stream in page.get("value") or []:
        observations = stream.get("Observations") if isinstance(stream, dict) else None
        if isinstance(observations, list) and observations:
            return observations[0] if isinstance(observations[0], dict) else None
    link = f"{root}/Datastreams({literal})/Observations"
    page = probe.json(link, {"$orderby": "phenomenonTime desc", "$top": 1}) or {}
    values = page.get("value") or []
    return values[0] if values and isinstance(values[0], dict) else None


def recognise(answer: Answer, probe: Probe) -> Discovery | None:
    root = _root(answer)
    if root is None:
        return None
    found = Discovery(answer.url, PLATFORM, "service root or entity set (value, @iot.id)")
    things, expanded = _things(probe, root)
    if not expanded:
        found.notes.append("the server gave no expanded Datastreams: navigation links followed")
    groups: dict[str, dict[str, Any]] = {}
    for thing in things:
        where = _position(thing)
        for stream in thing.get("Datastreams") or []:
            if not isinstance(stream, dict):
                continue
            prop = _property(stream) or f"name:{_stem(str(stream.get('name') or ''))}"
            group = groups.setdefault(
                prop, {"streams": [], "unit": _unit(stream), "things": {}, "sample": stream}
            )
            group["streams"].append(stream)
            group["things"][str(thing.get("@iot.id"))] = where
    by_domain: dict[str, list[tuple[str, dict[str, Any], Guess, dict[str, Any]]]] = {}
    for prop, group in groups.items():
        stream = group["sample"]
        props = stream.get("properties") if isinstance(stream.get("properties"), dict) else {}
        hints = " ".join([str(stream.get("name") or ""), str(stream.get("description") or ""),
                          *(str(v) for v in props.values() if isinstance(v, str))])  # fmt: skip
        unit = group["unit"]
        counts = normalise_unit(unit) == "count" or str(stream.get("observationType", "")).endswith(
            "CountObservation"
        )
        interval = bool(props.get("aggregationDuration")) or counts
        newest = _newest(probe, root, stream.get("@iot.id"))
        value = number((newest or {}).get("result"))
        label = prop.removeprefix("name:")
        stated = "" if counts else unit
        # the property's name, then the Datastream's, then its description and properties
        guess = guess_metric(label, stated, value, value, hints=hints)
        if guess is None:
            named = f"{label} {stream.get('name') or ''}"
            guess = guess_metric(named, stated, value, value, hints=hints)
        if guess is not None:
            guess.field = label
        if prop.startswith("name:"):  # no ObservedProperty served: the Datastream's name
            stem = prop[5:]
            whole = not stem.endswith(" ")
            rule: dict[str, Any] = {"name": f"^{_escape(stem)}{'$' if whole else ''}"}
        else:
            rule = {"observed_property": f"^{_escape(prop)}$"}
        if guess is not None and probe.domain and domain_of(guess.metric) != probe.domain:
            guess = None
        if guess is None:
            found.notes.append(
                f"ObservedProperty {prop!r} ({unit or 'no unit'}): no metric proposed"
            )
            continue
        rule["metric"] = guess.metric
        if counts and interval:
            rule["per_interval"] = True
        by_domain.setdefault(domain_of(guess.metric), []).append(
            (prop, rule, guess, {**group, "newest": newest})
        )
    for domain, entries in by_domain.items():
        positions: dict[str, tuple[float, float]] = {}
        for _, _, _, group in entries:
            positions.update({k: v for k, v in group["things"].items() if v is not None})
        checks = []
        for prop, rule, guess, _ in entries:
            if rule.get("per_interval"):
                checks.append(f"{prop!r}: counts per interval, turned into a rate per hour")
            elif not guess.unit_stated:
                checks.append(f"{prop!r}: no unit stated; {guess.unit} assumed")
        options: dict[str, Any] = {
            "domain": domain,
            "kind": "sensor",
            "streams": [rule for _, rule, _, _ in entries],
        }
        if not expanded:
            options["expand"] = False
        title = ", ".join(prop.removeprefix("name:").strip() for prop, _, _, _ in entries)
        sample = entries[0][3]["newest"]
        found.collections.append(
            Collection(
                title=title,
                kind="datastreams",
                domain=domain,
                source={
                    "connector": "sensorthings",
                    **about(f"{slug(domain)} ({title})"),
                    "url": root,
                    "options": options,
                },
                fields=profile([sample] if sample else []),
                guesses=[g for _, _, g, _ in entries],
                sample={"datastream": entries[0][3]["sample"].get("name"), "newest": sample},
                positions=list(positions.values()),
                sites=sum(len(e[3]["things"]) for e in entries),
                checks=checks,
            )
        )
    return found
