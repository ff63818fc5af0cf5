"""Each site's district, read from the demo city's small-areas polygons."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from cockpit.geo import districts_of

AREAS = Path(__file__).resolve().parents[2] / "cities" / "demo-melbourne"
AREAS = AREAS / "clue-small-areas.geojson"


def _square(name: str, west: float, south: float, size: float) -> dict[str, object]:
    ring = [
        [west, south],
        [west + size, south],
        [west + size, south + size],
        [west, south + size],
        [west, south],
    ]
    return {
        "type": "Feature",
        "properties": {"area": name},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


@pytest.fixture
def squares(tmp_path: Path) -> Path:
    """Two neighbouring one-degree squares, "West" and "East"."""
    path = tmp_path / "areas.geojson"
    features = [_square("West", 144.0, -38.0, 1.0), _square("East", 145.0, -38.0, 1.0)]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def _sites(*rows: tuple[str, float, float]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["id", "lat", "lon"])


def test_each_site_gets_the_area_it_lies_in(squares: Path) -> None:
    sites = _sites(("a", -37.5, 144.5), ("b", -37.5, 145.5), ("c", -37.2, 144.1))
    found = districts_of(sites, squares, "area")
    assert found.to_dict() == {"a": "West", "b": "East", "c": "West"}
    assert found.dtype == "string"


def test_a_site_outside_every_area_gets_no_entry(squares: Path) -> None:
    found = districts_of(_sites(("in", -37.5, 144.5), ("sea", -40.0, 150.0)), squares, "area")
    assert list(found.index) == ["in"]


def test_no_sites_give_an_empty_series(squares: Path) -> None:
    found = districts_of(_sites(), squares, "area")
    assert found.empty and found.dtype == "string"


def test_the_demo_city_knows_its_small_areas() -> None:
    # Points near the middles of three of the City of Melbourne's CLUE small areas.
    sites = _sites(
        ("bourke-st", -37.8138, 144.9629),
        ("lygon-st", -37.7960, 144.9664),
        ("fitzroy-gardens", -37.8146, 144.9825),
    )
    found = districts_of(sites, AREAS, "featurenam")
    assert found.to_dict() == {
        "bourke-st": "Melbourne (CBD)",
        "lygon-st": "Carlton",
        "fitzroy-gardens": "East Melbourne",
    }
