"""The twin's 3D figure: a prism per district with data, as tall as its figure and
coloured against typical; the outlines of every district on the ground; the flat figure
for a browser without WebGL; the hover words in each language."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest

from cockpit.city import SourceInfo
from cockpit.config import default_config_path, load_config
from cockpit.geo import district_shapes
from cockpit.present.i18n import translator
from cockpit.twin.districts import DistrictFigure, measure_of
from layouts.components import twin3d

NOW = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def ground() -> twin3d.Ground:
    config = load_config(default_config_path())
    return twin3d.ground_of(
        district_shapes(str(config.resolve(config.map.basemap)), config.map.basemap_label)
    )


def figure(district: str, value: float, typical: str, stale: bool = False) -> DistrictFigure:
    return DistrictFigure(
        district, value, 3, typical, NOW - timedelta(minutes=20), NOW, ("ped",), stale
    )


FIGURES = [
    figure("Carlton", 800.0, "typical"),
    figure("Docklands", 3_200.0, "above"),
    figure("Melbourne (CBD)", 24_000.0, "below"),
    figure("Kensington", 0.0, "unknown"),
]


def test_a_prism_per_district_with_data_and_the_outlines_on_the_ground(
    ground: twin3d.Ground,
) -> None:
    fig = twin3d.prism_figure(ground, FIGURES, {}, "Pedestrians per district", str)
    prisms = [t for t in fig.data if t.type == "mesh3d"]
    assert [t.name for t in prisms] == [f.district for f in FIGURES]
    outlines = [t for t in fig.data if t.type == "scatter3d"]
    assert len(outlines) == 1
    assert set(z for z in outlines[0].z if z is not None) == {0.0}
    rings = sum(len(s.rings) for s in ground.shapes.values())
    assert list(outlines[0].x).count(None) == rings  # every district's outline, once


def test_heights_are_proportional_to_the_figures(ground: twin3d.Ground) -> None:
    fig = twin3d.prism_figure(ground, FIGURES, {}, "", str)
    tops = {t.name: max(t.z) for t in fig.data if t.type == "mesh3d"}
    floors = {t.name: min(t.z) for t in fig.data if t.type == "mesh3d"}
    assert set(floors.values()) == {0.0}
    tallest = tops["Melbourne (CBD)"]
    assert tallest == pytest.approx(twin3d.TALLEST * ground.width_km)
    for item in FIGURES:
        assert tops[item.district] / tallest == pytest.approx(item.value / 24_000.0)


def test_colours_are_the_2d_maps_against_typical(ground: twin3d.Ground) -> None:
    fig = twin3d.prism_figure(ground, FIGURES, {}, "", str)
    colours = {t.name: t.color for t in fig.data if t.type == "mesh3d"}
    css = (Path(__file__).resolve().parents[3] / "assets" / "cockpit.css").read_text("utf-8")
    for item in FIGURES:
        assert colours[item.district] == twin3d.TYPICAL_COLOURS[item.typical]
        assert f".cc-{item.typical} {{ background: {colours[item.district]}" in css


def test_a_prism_is_closed_floor_roof_and_walls(ground: twin3d.Ground) -> None:
    fig = twin3d.prism_figure(ground, FIGURES[:1], {}, "", str)
    mesh = fig.data[0]
    shape = ground.shapes["Carlton"]
    walls = sum(len([1 for a, b in pairwise(r) if a != b]) for r in shape.rings)
    assert len(mesh.i) == 2 * len(shape.triangles) + 2 * walls
    assert max(max(mesh.i), max(mesh.j), max(mesh.k)) < len(mesh.x) == 2 * len(shape.lon)


def test_the_flat_figure_fills_every_district_and_writes_the_figures(
    ground: twin3d.Ground,
) -> None:
    values = {f.district: f"{f.value:,.0f}" for f in FIGURES}
    fig = twin3d.flat_figure(ground, FIGURES, {}, values, "", str)
    assert not [t for t in fig.data if t.type in ("mesh3d", "scatter3d")]  # no WebGL
    filled = [t for t in fig.data if t.fill == "toself"]
    assert {t.name for t in filled} == set(ground.shapes)
    colours = {t.name: t.fillcolor for t in filled}
    assert colours["Docklands"] == twin3d.TYPICAL_COLOURS["above"]
    assert colours["Parkville"] == twin3d.GROUND  # no data there
    written = next(t for t in fig.data if t.mode == "text")
    assert sorted(written.text) == sorted(values.values())


@pytest.mark.parametrize("language", ["en", "de"])
def test_hover_words_name_figure_age_and_source(language: str) -> None:
    _ = translator(language, "cockpit")
    measure = measure_of("pedestrians", "Pedestrians", "pedestrians", "pedestrians")
    info = SourceInfo(
        "ped",
        "Counters <b>",
        "City",
        "CC BY 4.0",
        "",
        "",
        "May 2025, replayed",
        "ok",
        NOW,
        NOW,
        0,
        "",
    )
    text = twin3d.district_label(
        figure("Carlton", 2_410.0, "above", stale=True),
        measure,
        {"ped": info},
        NOW,
        "Australia/Melbourne",
        5,
        language,
        _,
    )
    number = "2,410 persons/h" if language == "en" else "2.410 Personen/h"
    assert number in text
    assert "Counters &lt;b&gt;" in text  # names are escaped
    assert ("20 min" in text) and ("10:10" in text)
    if language == "de":
        for english in ("well above typical", "Observed", "sites", "stale"):
            assert english not in text, english


def test_small_counts_of_people_are_masked() -> None:
    measure = measure_of("pedestrians", "Pedestrians", "pedestrians", "pedestrians")
    assert (
        twin3d.figure_words(figure("x", 3.0, "typical"), measure, 5, "en", str) == "< 5 persons/h"
    )


def test_a_reference_keeps_one_scale_across_moments(ground: twin3d.Ground) -> None:
    fig = twin3d.prism_figure(ground, FIGURES, {}, "", str, reference=48_000.0)
    tops = {t.name: max(t.z) for t in fig.data if t.type == "mesh3d"}
    # Half the reference stands half as tall as the tallest prism may be.
    assert tops["Melbourne (CBD)"] == pytest.approx(twin3d.TALLEST * ground.width_km / 2)
    smaller = twin3d.prism_figure(ground, FIGURES, {}, "", str, reference=1.0)
    assert max(smaller.data[2].z) == pytest.approx(twin3d.TALLEST * ground.width_km)


def test_every_word_of_the_3d_twin_has_german() -> None:
    from babel.messages.extract import extract_from_file

    root = Path(__file__).resolve().parents[3]
    german = translator("de", "cockpit")
    found = set()
    for path in (
        "layouts/components/twin3d.py",
        "layouts/pages/twin3d.py",
        "layouts/components/twin3d_columns.py",
        "layouts/pages/twin3d_columns.py",
    ):
        for _line, text, _c, _ctx in extract_from_file("python", str(root / path)):
            if isinstance(text, str):
                found.add(text)
    found |= set(twin3d._TYPICAL_TEXT.values())
    found |= set(twin3d.HOW.values())
    assert len(found) > 10
    same = {"Cockpit"}  # German says it the same way
    for message in sorted(found - same):
        assert german(message) != message, f"no German for {message!r}"
