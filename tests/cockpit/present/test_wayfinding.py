"""Distance and direction in words, and the route link."""

from __future__ import annotations

import pytest

from cockpit.present.wayfinding import (
    bearing_deg,
    compass,
    distance_m,
    distance_words,
    place_words,
    route_url,
)

# Flinders Street Station and Melbourne Central, about 980 m apart, north-north-west.
FLINDERS = (-37.8183, 144.9671)
CENTRAL = (-37.8102, 144.9628)


def test_distance_and_bearing_on_known_points() -> None:
    assert distance_m(*FLINDERS, *CENTRAL) == pytest.approx(980, abs=30)
    assert bearing_deg(0, 0, 1, 0) == pytest.approx(0)
    assert bearing_deg(0, 0, 0, 1) == pytest.approx(90)
    assert bearing_deg(0, 0, -1, 0) == pytest.approx(180)
    assert bearing_deg(0, 0, 0, -1) == pytest.approx(270)
    assert compass(bearing_deg(*FLINDERS, *CENTRAL)) == "NW"  # 337.2 degrees


@pytest.mark.parametrize(
    ("bearing", "point"),
    [
        (0, "N"),
        (22.4, "N"),
        (22.6, "NE"),
        (90, "E"),
        (135, "SE"),
        (200, "S"),
        (250, "W"),
        (300, "NW"),
        (338, "N"),
        (359.9, "N"),
    ],
)
def test_eight_compass_points(bearing: float, point: str) -> None:
    assert compass(bearing) == point


def test_distances_read_in_metres_then_kilometres_with_the_languages_decimal_sign() -> None:
    assert distance_words(3, "en") == "10 m"
    assert distance_words(847, "en") == "850 m"
    assert distance_words(1234, "en") == "1.2 km"
    assert distance_words(1234, "de") == "1,2 km"
    assert distance_words(9605, "en") == "9.6 km"
    assert distance_words(12_600, "en") == "13 km"
    assert distance_words(1_250_000, "en") == "1,250 km"


def test_place_words_say_how_far_and_which_way() -> None:
    assert place_words(*FLINDERS, *CENTRAL, "en") == "980 m NW"
    assert place_words(0, 0, 0.0108, 0.0108, "en") == "1.7 km NE"
    assert place_words(0, 0, 0.0108, 0.0108, "de") == "1,7 km NO"
    assert place_words(0, 0, 0.0001, 0, "en") == "here"
    assert place_words(0, 0, 0.0001, 0, "de") == "hier"


def test_route_links() -> None:
    walk = route_url(-37.81, 144.96, -37.82, 144.97)
    assert walk.startswith("https://www.openstreetmap.org/directions?engine=fossgis_osrm_foot")
    assert "route=-37.82000%2C144.97000%3B-37.81000%2C144.96000" in walk
    assert route_url(-37.81, 144.96, None, None).endswith("#map=17/-37.81000/144.96000")
