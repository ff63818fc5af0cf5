"""The ``[city]`` and ``[map]`` tables of a test city's TOML file."""

from __future__ import annotations

import json
from collections.abc import Sequence

__all__ = ["city_tables"]


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
