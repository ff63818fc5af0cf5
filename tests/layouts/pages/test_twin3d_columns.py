"""What the 3D page says under its columns, and what hovering one tells: a site or a
hexagon, how wide, how many sites, widened or left out, and small counts of people
masked as everywhere else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cockpit.city import SourceInfo
from cockpit.twin.districts import measure_of
from cockpit.twin.hexgrid import HexFigure, HexLayer
from layouts.components import twin3d
from layouts.pages.twin3d_columns import column_caption

NOW = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
PEDESTRIANS = measure_of("pedestrians", "Pedestrians", "pedestrians", "pedestrians")
PARKING = measure_of("parking", "Parking", "parking", "bay_occupied")


def figure(value: float, sites: int = 1, name: str = "") -> HexFigure:
    return HexFigure(
        0, 0, 0.0, 0.0, name, value, sites, "typical", NOW - timedelta(minutes=7), NOW,
        ("ped",), False,
    )  # fmt: skip


def test_few_sites_are_said_to_be_one_column_each() -> None:
    layer = HexLayer((figure(10.0, name="Town Hall"), figure(20.0)), 0.5, True, 0)
    text = column_caption(layer, PEDESTRIANS, 300, 0.5, True, "en")
    assert text.startswith("Height: Pedestrians per site; colour: against typical.")
    assert "hexagon" not in text


def test_binned_sites_say_how_many_went_into_how_many_hexagons() -> None:
    layer = HexLayer(tuple(figure(50.0, sites=400) for _ in range(3)), 0.5, False, 0)
    text = column_caption(layer, PARKING, 300, 0.5, True, "en")
    assert text.startswith(
        "1,200 sites are more than 300 columns: Parking occupancy per hexagon 0.5 km across"
        " (share of its places), in 3 hexagons"
    )
    assert "widened" not in text
    german = column_caption(layer, PARKING, 300, 0.5, True, "de")
    assert german.startswith("1.200 Standorte sind mehr als 300 Säulen")
    assert "0,5 km" in german


def test_widened_hexagons_and_sites_left_out_are_said() -> None:
    layer = HexLayer((figure(1.0, sites=900),), 1.125, False, 12)
    text = column_caption(layer, PARKING, 1, 0.5, False, "en")
    assert "per hexagon 1.12 km across" in text  # 0.5 km widened twice, as babel rounds it
    assert "Hexagons widened from 0.5 km to draw at most 1." in text
    assert "No 3D in this browser (no WebGL): drawn flat." in text
    assert "12 sites outside the city's area are left out." in text
    assert "Drag to rotate" not in text


def test_no_data_is_said() -> None:
    text = column_caption(HexLayer((), 0.5, True, 0), PEDESTRIANS, 300, 0.5, True, "en")
    assert text.endswith("No site has data at this moment.")


def test_a_small_count_of_people_reads_masked_in_a_columns_hover() -> None:
    info = {"ped": SourceInfo("ped", "Counters", "City", "CC BY 4.0", "", "", "live", "ok",
                              NOW, NOW, 0.0, "")}  # fmt: skip
    small = twin3d.place_label(
        "Hexagon 0.5 km across", figure(3.0, sites=2), PEDESTRIANS, info, NOW, "UTC", 5, "en", str
    )
    assert "Pedestrians: &lt; 5 persons/h (2 sites)" in small  # Plotly reads HTML
    assert "3 persons/h" not in small
    assert "Observed Mon 23:23, 7 min before the moment shown" in small
    assert "Counters (" in small
    large = twin3d.place_label(
        "Town Hall", figure(1240.0), PEDESTRIANS, info, NOW, "UTC", 5, "en", str
    )
    assert large.startswith("<b>Town Hall</b>") and "1,240 persons/h (1 sites)" in large
