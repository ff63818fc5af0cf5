"""The README's worked configs, one per platform at least, are valid sources: each
builds its connector with the options (and its mapping) as written."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from cockpit.config import SourceConfig
from cockpit.domains import load_domain_module, unregister
from cockpit.mapping import mapping_from_options
from cockpit.source import SourceContext, build_connector

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(autouse=True)
def domains() -> Iterator[None]:
    for module in ("bike_share", "cycling"):
        load_domain_module(f"cockpit.domains.{module}")
    yield
    for name in ("bike_share", "cycling"):
        unregister(name)


def sources() -> dict[str, dict[str, object]]:
    found: dict[str, dict[str, object]] = {}
    for block in re.findall(r"```toml\n(.*?)```", README.read_text(encoding="utf-8"), re.S):
        found.update(tomllib.loads(block).get("sources", {}))
    return found


def test_every_new_platform_has_a_worked_config() -> None:
    connectors = {s["connector"] for s in sources().values()}
    assert connectors >= {
        "sensorthings",
        "ngsi-ld",
        "opendatasoft",
        "ckan",
        "gbfs",
        "table",
        "arcgis",
        "socrata",
    }


@pytest.mark.parametrize("source_id", sorted(sources()))
def test_the_worked_config_builds_its_connector(source_id: str) -> None:
    config = SourceConfig.model_validate(sources()[source_id])
    mapping_from_options(config.options, "README.md", f"sources.{source_id}.options")
    connector = build_connector(SourceContext(source_id, config))
    connector.close()
