"""The kiosk's overview map as SVG text: the city's areas, a mark per measuring place
shaped and coloured by its state, free bays as small dots, stale sources in grey."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cockpit.city import CityView
from cockpit.config import CityConfig
from layouts.components.kiosk_map import COLOURS, free_bay_colour, overview_svg
from tests.browser import Clock
from tests.conftest import AppServers
from tests.layouts.components.small_view import view


def test_each_state_has_its_own_shape_and_colour(demo_config: CityConfig) -> None:
    svg = overview_svg(demo_config, view())
    assert svg.count('<circle cx="') >= 2
    assert svg.count(f'fill="{COLOURS["ok"]}"') == 1  # the quiet counter
    assert svg.count('<polygon points="') == 1 and f'fill="{COLOURS["warn"]}"' in svg
    assert svg.count(f'fill="{COLOURS["alert"]}"') == 1  # crowded; the far one is left out
    assert "<rect x=" in svg


def test_bays_are_dots_when_free_and_left_out_when_occupied(demo_config: CityConfig) -> None:
    svg = overview_svg(demo_config, view())
    assert svg.count(f'fill="{free_bay_colour()}"') == 1
    assert 'r="2.6"' in svg


def test_a_stale_source_turns_its_marks_grey(demo_config: CityConfig) -> None:
    svg = overview_svg(demo_config, view(pedestrians="stale"))
    assert svg.count(f'fill="{COLOURS["stale"]}"') == 3
    assert f'fill="{COLOURS["warn"]}"' not in svg
    assert svg.count(f'fill="{free_bay_colour()}"') == 1  # parking is fresh


def test_without_a_basemap_the_picture_frames_the_sites(demo_config: CityConfig) -> None:
    with_areas = overview_svg(demo_config, view())
    assert '<path d="M' in with_areas
    demo_config.map.basemap = ""
    # Three places (quiet, busy, a free bay): the picture spans them, the others are left out.
    bare = overview_svg(demo_config, replace(view(), sites=view().sites.iloc[[0, 1, 4]]))
    assert '<path d="M' not in bare
    assert bare.count("<circle") == 2 and bare.count("<polygon") == 1 and "<rect x=" not in bare


@pytest.mark.parametrize(
    "rows", [[0, 1, 2], [0], [0, 4]], ids=["one-street", "one-site", "one-row"]
)
def test_sites_on_one_line_still_make_a_picture(demo_config: CityConfig, rows: list[int]) -> None:
    # Counters along one street share a longitude (or a latitude): the picture still has a
    # width and a height, and every place is drawn inside it.
    demo_config.map.basemap = ""
    svg = overview_svg(demo_config, replace(view(), sites=view().sites.iloc[rows]))
    width, height = (float(v) for v in svg.split('viewBox="0 0 ')[1].split('"')[0].split())
    assert width > 0 and height > 0
    assert svg.count("<circle") + svg.count("<polygon") + svg.count("<rect x=") == len(rows)


@pytest.fixture(scope="module")
def public(app_server: AppServers, clock: Clock) -> tuple[CityConfig, CityView]:
    runtime = app_server.city(clock, backfill=False)
    return runtime.config, runtime.city.view("public")


def test_overview_map_is_a_picture_of_public_places(public: tuple[CityConfig, CityView]) -> None:
    config, city_view = public
    svg = overview_svg(config, city_view, title="The city & its <sensors>")
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "<title>The city &amp; its &lt;sensors&gt;</title>" in svg
    assert svg.count("<polygon") + svg.count("<rect") > 2  # warn and alert marks
