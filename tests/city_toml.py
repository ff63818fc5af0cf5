"""Tables of a test city's TOML file: ``[city]`` and ``[map]``, and the pushed counter."""

from __future__ import annotations

import json
from collections.abc import Sequence

__all__ = ["city_tables", "pushed_counter"]


def city_tables(
    name: str,
    timezone: str,
    bbox: Sequence[float],
    center: tuple[float, float],
    zoom: int,
    languages: Sequence[str] = (),
) -> str:
    """``[city]`` (its name, zone, bounding box and, when given, languages) and ``[map]``
    (its centre and zoom) as TOML text, ending with a blank line."""
    lines = [
        "[city]",
        f"name = {json.dumps(name)}",
        f"timezone = {json.dumps(timezone)}",
        f"bbox = {json.dumps(list(bbox))}",
    ]
    if languages:
        lines.append(f"languages = {json.dumps(list(languages))}")
    lines += ["", "[map]", f"center = {json.dumps(list(center))}", f"zoom = {zoom}", "", ""]
    return "\n".join(lines)


def pushed_counter(
    mqtt_port: int, topic_prefix: str, refresh_seconds: int | None = None, layer: bool = True
) -> str:
    """``[sources.hh]``: the recorded Hamburg counting station's SensorThings source with
    its observations pushed over MQTT (QoS 1) on 127.0.0.1:``mqtt_port``. Its server
    (127.0.0.1:9) never answers: only the safety-net poll asks it. With ``layer``, a
    traffic layer of it."""
    push = f'{{ mqtt = "mqtt://127.0.0.1:{mqtt_port}", qos = 1, topic_prefix = "{topic_prefix}" }}'
    lines = [
        "[sources.hh]",
        'connector = "sensorthings"',
        'name = "Hamburg traffic counts"',
        'publisher = "Freie und Hansestadt Hamburg"',
        'licence = "dl-de/by-2-0"',
        'url = "http://127.0.0.1:9/v1.1"',
        "backfill_hours = 0",
        *([f"refresh_seconds = {refresh_seconds}"] if refresh_seconds else []),
        f"push = {push}",
        "[sources.hh.options]",
        'domain = "traffic"',
        'kind = "counter"',
        'streams = [{ properties = { layerName = "^Anzahl_Kfz_Zaehlstelle_" }, '
        'metric = "vehicle_flow", per_interval = true }]',
        "",
    ]
    if layer:
        lines += [
            "[layers.traffic]",
            'domain = "traffic"',
            'title = "Traffic"',
            'sources = ["hh"]',
            'metric = "vehicle_flow"',
            "",
        ]
    return "\n".join(lines)
