"""The brief's SVG pictures: a sparkline keeps gaps as gaps and marks the last value; the
map draws the basemap and only the sites inside it, worst levels on top."""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree import ElementTree

from cockpit.config import default_config_path, load_config
from cockpit.present.brief_figures import (
    LEVEL_COLOURS,
    basemap_rings,
    site_map_svg,
    sparkline_svg,
)

SVG = "{http://www.w3.org/2000/svg}"


def parsed(svg: str) -> ElementTree.Element:
    return ElementTree.fromstring(svg)  # well-formed, or this raises


def test_a_gap_splits_the_line() -> None:
    root = parsed(sparkline_svg([1.0, 2.0, None, 3.0, 5.0, 4.0], label="Footfall <today>"))
    lines = root.findall(f"{SVG}polyline")
    assert [len(line.get("points", "").split()) for line in lines] == [2, 3]
    assert root.findtext(f"{SVG}title") == "Footfall <today>"
    (dot,) = root.findall(f"{SVG}circle")
    last_x = float(lines[-1].get("points", "").split()[-1].split(",")[0])
    assert float(dot.get("cx", "0")) == last_x


def test_the_line_spans_its_own_range() -> None:
    root = parsed(sparkline_svg([10.0, 20.0], width=100, height=30))
    (line,) = root.findall(f"{SVG}polyline")
    (x0, y0), (x1, y1) = (tuple(map(float, p.split(","))) for p in line.get("points", "").split())
    assert (x0, x1) == (3.0, 97.0)
    assert (y0, y1) == (27.0, 3.0)  # the lowest value at the bottom, the highest on top


def test_too_few_values_draw_an_empty_frame() -> None:
    for values in ([], [None, None], [4.0]):
        assert parsed(sparkline_svg(values)).findall(f"{SVG}polyline") == []


def test_the_map_keeps_the_sites_inside_the_basemap() -> None:
    config = load_config(default_config_path())
    rings = basemap_rings(config.resolve(config.map.basemap))
    assert len(rings) >= 10  # the CLUE small areas
    inside = [(144.963, -37.814, "ok"), (144.965, -37.812, "alert"), (144.96, -37.81, "stale")]
    outside = [(145.31, -37.77, "alert")]  # Mooroolbark, far east of the centre
    root = parsed(site_map_svg(inside + outside, rings, config.city.bbox, label="Sites"))
    assert len(root.findall(f"{SVG}polygon")) == len(rings)
    fills = [c.get("fill") for c in root.findall(f"{SVG}circle")]
    assert fills == ["#8a94a3", LEVEL_COLOURS["ok"], LEVEL_COLOURS["alert"]]


def test_without_a_basemap_the_bbox_frames_the_map(tmp_path: Path) -> None:
    assert basemap_rings(tmp_path / "missing.geojson") == []
    (tmp_path / "broken.geojson").write_text("{not json", encoding="utf-8")
    assert basemap_rings(tmp_path / "broken.geojson") == []
    svg = site_map_svg([(10.0, 50.0, "warn")], [], (9.0, 49.0, 11.0, 51.0), width=200)
    root = parsed(svg)
    (dot,) = root.findall(f"{SVG}circle")
    assert float(dot.get("cx", "0")) == 100.0
    assert re.search(r'height="(\d+)"', svg)
