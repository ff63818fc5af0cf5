"""A city config naming one of the domains that ship with City Cockpit but are loaded
only by the cities that have their data."""

from __future__ import annotations

import textwrap
from pathlib import Path

from cockpit.config import CityConfig, load_config
from tests.city_toml import city_tables


def city_with(tmp_path: Path, module: str, domain: str, metric: str, source: str) -> CityConfig:
    """A city naming ``module`` in ``domains``, with ``source`` (a TOML table body) and a
    layer of ``domain`` on ``metric`` that leaves its states to the domain's map rule."""
    path = tmp_path / "city.toml"
    bbox = [-180, -85, 180, 85]
    head = city_tables("Test town", "Europe/Berlin", bbox, (52.5, 13.4), 12, ["en", "de"])
    path.write_text(
        f'domains = ["{module}"]\n\n'
        + head
        + textwrap.dedent(
            f"""
            [sources.s]
            name = "Sensors"
            publisher = "Test town"
            licence = "CC BY 4.0"
            {source}

            [layers.l]
            domain = "{domain}"
            title = "Layer"
            sources = ["s"]
            metric = "{metric}"
            """
        ),
        encoding="utf-8",
    )
    return load_config(path)
