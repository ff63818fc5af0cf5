"""A source as connector tests configure it: the platform's URL, its options on top of
the fast test limits, and the city's frame of reference."""

from __future__ import annotations

from typing import Any

from cockpit.config import SourceConfig
from cockpit.source import SourceContext
from tests.connectors.faults import TEST_OPTIONS


def source_context(
    source_id: str,
    connector: str,
    url: str,
    about: tuple[str, str, str],
    options: dict[str, Any] | None = None,
    credentials: dict[str, str] | None = None,
    environ: dict[str, str] | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    timezone: str = "UTC",
) -> SourceContext:
    """The context of source ``source_id`` read by ``connector`` at ``url``; ``about`` is
    its (name, publisher, licence)."""
    name, publisher, licence = about
    config = SourceConfig(
        connector=connector,
        name=name,
        publisher=publisher,
        licence=licence,
        url=url,
        credentials=credentials or {},
        options={**TEST_OPTIONS, **(options or {})},
    )
    return SourceContext(source_id, config, bbox=bbox, timezone=timezone, environ=environ or {})
