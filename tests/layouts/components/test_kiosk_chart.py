"""The kiosk's small pictures: today against usual, and the free parking around it."""

from __future__ import annotations

from urllib.parse import unquote

from cockpit.present.slides import Nearby
from cockpit.present.today import TodayCurve
from layouts.components.kiosk_chart import data_uri, nearby_svg, today_svg


def test_parking_around_the_kiosk_marks_where_it_stands() -> None:
    nearby = Nearby(
        here="Flinders <Street>",
        position=(-37.8179, 144.967),
        radius_m=700,
        free=((0.0, 100.0), (5_000.0, 0.0)),  # the second lies outside the picture
        taken=((-100.0, -50.0),),
    )
    svg = nearby_svg(nearby, "You are here: Flinders <Street>", "free", "taken")
    assert "You are here: Flinders &lt;Street&gt;" in svg and "<Street>" not in svg
    assert svg.count('r="9"') == 1  # the free bay inside; the one outside is left out
    assert svg.count('r="4"') == 1  # the taken bay
    assert unquote(data_uri(svg).split(",", 1)[1]) == svg


def test_today_against_usual_draws_a_bar_per_hour_so_far() -> None:
    curve = TodayCurve(today=(10.0, 20.0, *([None] * 22)), usual=tuple([15.0] * 24), hour_now=1)
    svg = today_svg(curve, "today", "usual")
    assert svg.count("<rect") == 2 + 1  # two hours so far, and the legend's square
    assert "<polyline" in svg and ">usual<" in svg and ">today<" in svg
