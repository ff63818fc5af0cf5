"""What ``discover`` found, written for people: a listing to read, and a draft city
config (TOML, with comments saying what was recognised and what to check) that
``check-config`` accepts as it stands."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from typing import Any

from cockpit.domains import registry
from cockpit.model import METRICS
from connectors.discover.collection import slug
from connectors.discover.found import Collection, Discovery
from connectors.discover.metrics import SHIPPED_DOMAINS, module_of
from connectors.discover.zones import nearest_zone

__all__ = ["draft_toml", "listing"]

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _short(value: Any, limit: int = 160) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def listing(found: Discovery) -> str:
    """The platform, and per collection its fields (kind, unit, range), a sample record,
    the proposed domain and mapping, and what to check."""
    lines = [f"{found.url}: {found.platform} ({found.evidence})"]
    lines += [f"  note: {note}" for note in found.notes]
    for number, item in enumerate(found.collections, 1):
        lines.append(f"[{number}] {item.kind} {item.title!r}: {item.sites} site(s)")
        for info in item.fields[:30]:
            extra = f" {info.unit}" if info.unit else ""
            if info.low is not None:
                extra += f" {info.low:g}..{info.high:g}"
            lines.append(f"      {info.name}: {info.kind}{extra}  e.g. {_short(info.sample, 60)}")
        if item.sample is not None:
            lines.append(f"    sample: {_short(item.sample)}")
        if item.domain and item.source:
            lines.append(
                f"    proposed: domain {item.domain}, connector {item.source['connector']}"
            )
            for guess in item.guesses:
                unit = f" in {guess.unit}" if guess.unit else ""
                lines.append(f"      {guess.metric}{unit} <- {guess.field} ({guess.why})")
        else:
            lines.append("    proposed: nothing (no field matched a metric the cockpit knows)")
        lines += [f"    CHECK: {check}" for check in item.checks]
    return "\n".join(lines)


def _key(name: str) -> str:
    return name if _BARE.match(name) else json.dumps(name, ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return (
            repr(float(value))
            if isinstance(value, float) and not value.is_integer()
            else str(value)
        )
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(str(k))} = {_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(str(value))


def _bbox(positions: list[tuple[float, float]]) -> tuple[list[float], list[float], int]:
    if not positions:
        return [-180.0, -90.0, 180.0, 90.0], [0.0, 0.0], 2
    lats = [p[0] for p in positions]
    lons = [p[1] for p in positions]
    pad_lat = max(0.02, (max(lats) - min(lats)) * 0.2)
    pad_lon = max(0.02, (max(lons) - min(lons)) * 0.2)
    box = [
        round(max(-180.0, min(lons) - pad_lon), 4),
        round(max(-90.0, min(lats) - pad_lat), 4),
        round(min(180.0, max(lons) + pad_lon), 4),
        round(min(90.0, max(lats) + pad_lat), 4),
    ]
    center = [round((box[1] + box[3]) / 2, 5), round((box[0] + box[2]) / 2, 5)]
    span = max(box[2] - box[0], box[3] - box[1])
    zoom = max(2, min(16, round(math.log2(360 / max(span, 1e-3)))))
    return box, center, zoom


def _layer(item: Collection, source_id: str) -> list[str]:
    assert item.domain is not None
    domain = registry.get(item.domain)
    metrics = [g.metric for g in item.guesses if g.metric in METRICS]
    rule = domain.map
    if item.layer_metric:
        metrics = [item.layer_metric]
    lines = [f"[layers.{_key(source_id)}]", f"domain = {_value(item.domain)}"]
    lines.append(f"title = {_value(item.title[:60] or domain.title)}")
    lines.append(f"sources = [{_value(source_id)}]")
    if rule.metric in metrics or (rule.metric == "eaqi" and metrics) or not metrics:
        lines.append(f"metric = {_value(rule.metric)}")
        if rule.metric != "eaqi" and not rule.labels:
            lines += ["thresholds = [1]", 'labels = ["low", "high"]  # CHECK']
        return lines
    metric = metrics[0]
    seen = [g.high for g in item.guesses if g.metric == metric and g.high]
    top = max(seen) if seen else METRICS[metric].maximum
    lines.append(f"metric = {_value(metric)}")
    lines.append(f"thresholds = [{top / 3:g}, {2 * top / 3:g}]  # CHECK: the limits between states")
    lines.append('labels = ["low", "medium", "high"]')
    return lines


def draft_toml(
    found: Discovery,
    timezone: str = "",
    name: str = "",
    location: tuple[float, float] | None = None,
) -> str:
    """A city config for the collections that got a domain and a mapping. ``timezone``
    is the city's (empty: UTC, marked to check), ``name`` its name, ``location`` the
    (lat, lon) of a dataset that states no place of its own."""
    usable = [c for c in found.collections if c.domain and c.source]
    for item in usable:
        wide = item.source.get("options", {}).get("layout") == "wide"
        if not item.positions and location is not None and not wide:
            item.source["options"]["location"] = list(location)
            item.positions = [location]
            item.checks = [c for c in item.checks if not c.startswith("no coordinates")]
    positions = [p for c in usable for p in c.positions]
    box, center, zoom = _bbox(positions)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        f"# Draft City Cockpit config: written by `city-cockpit discover` on {stamp}",
        f"# from {found.url}",
        f"# recognised: {found.platform} ({found.evidence})",
        "# Read every line marked CHECK, then run `city-cockpit check-config THIS_FILE`",
        "# (and `--explain SOURCE` to follow a source's first records).",
        "",
    ]
    extra = sorted({c.domain for c in usable if c.domain in SHIPPED_DOMAINS})
    if extra:
        out.append(f"domains = [{', '.join(_value(module_of(d)) for d in extra)}]")
        out.append("")
    naive = any(c.naive_times for c in usable)
    zone_line = f"timezone = {_value(timezone)}"
    if not timezone:
        zone = nearest_zone(center[0], center[1]) if positions else None
        if zone is not None:
            zone_line = (
                f"timezone = {_value(zone[0])}  # CHECK: guessed: the zone whose main place "
                f"is nearest the sites ({zone[1]:.0f} km)"
            )
        else:
            zone_line = 'timezone = "UTC"  # CHECK: the city\'s IANA zone'
    if naive:
        zone_line += ("; " if "#" in zone_line else "  # ") + "times without a zone are read on it"
    out += [
        "[city]",
        f"name = {_value(name or 'CHECK: the city')}",
        zone_line,
        "# min_lon, min_lat, max_lon, max_lat: the places seen, with a margin "
        f"({len(positions)} places)",
        f"bbox = {_value(box)}" + ("" if positions else "  # CHECK: no place was found"),
        "",
        "[map]",
        f"center = {_value(center)}",
        f"zoom = {zoom}",
        "",
    ]
    if not usable:
        out.append("# CHECK: nothing found here maps to a metric the cockpit knows")
    taken: set[str] = set()
    for item in usable:
        source_id = slug(item.title)
        while source_id in taken:
            source_id += "_2"
        taken.add(source_id)
        out.append(f"# {item.kind} {item.title!r}: {item.sites} site(s), domain {item.domain}")
        for guess in item.guesses:
            out.append(f"#   {guess.metric} <- {guess.field} ({guess.why})")
        out += [f"# CHECK: {check}" for check in item.checks]
        if not item.positions and item.source["options"].get("layout") != "wide":
            out.append(
                "# CHECK: no place found for its sites: give options.location = [lat, lon] "
                "(or discover --location LAT,LON)"
            )
        source = dict(item.source)
        options = source.pop("options", {})
        out.append(f"[sources.{_key(source_id)}]")
        out += [f"{_key(k)} = {_value(v)}" for k, v in source.items() if v != ""]
        out.append("")
        out.append(f"[sources.{_key(source_id)}.options]")
        out += [f"{_key(k)} = {_value(v)}" for k, v in options.items()]
        out.append("")
        out += _layer(item, source_id)
        out.append("")
    return "\n".join(out)
