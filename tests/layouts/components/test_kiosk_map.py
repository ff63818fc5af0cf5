"""The kiosk's overview map as SVG text: the city's areas, a mark per measuring place
shaped and coloured by its state, free bays as small dots, stale sources in grey."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pandas as pd
import pytest

from cockpit.city import CityView, SourceInfo
from cockpit.config import CityConfig
from cockpit.model import empty_observations, sites_frame
from layouts.components.kiosk_map import COLOURS, free_bay_colour, overview_svg
from tests.browser import Clock
from tests.conftest import AppServers

NOW = datetime(2025, 5, 13, 2, 0, tzinfo=UTC)
LAT, LON = -37.8136, 144.9631  # the centre of Melbourne, inside the demo basemap


def source(name: str, status: str = "ok") -> SourceInfo:
    return SourceInfo(name, name, "City", "CC BY 4.0", "", "", "live", status, NOW, NOW, 0, "")


def view(**statuses: str) -> CityView:
    """Three pedestrian counters (quiet, busy, crowded), two bays (free, occupied) and one
    counter far outside the city."""
    rows = [
        ("pedestrians:q", "pedestrians", LAT, LON, "ok", "quiet", 10.0),
        ("pedestrians:b", "pedestrians", LAT + 0.002, LON, "warn", "busy", 400.0),
        ("pedestrians:c", "pedestrians", LAT + 0.004, LON, "alert", "crowded", 2_000.0),
        ("pedestrians:far", "pedestrians", -33.86, 151.21, "alert", "crowded", 2_000.0),
        ("parking:free", "parking", LAT, LON + 0.002, "ok", "free", 0.0),
        ("parking:taken", "parking", LAT, LON + 0.004, "alert", "occupied", 1.0),
    ]
    sites = sites_frame(
        [
            {"id": i, "name": i, "domain": d, "lat": lat, "lon": lon, "source": d}
            for i, d, lat, lon, *_ in rows
        ]
    )

    def states(domain: str) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {"site_id": i, "metric": "", "value": v, "unit": "", "time": NOW}
                | {"state": s, "level": lvl}
                for i, d, _, _, lvl, s, v in rows
                if d == domain
            ]
        )

    return CityView(
        version=1,
        role="public",
        generated=NOW,
        sites=sites,
        latest=empty_observations(),
        sources={d: source(d, statuses.get(d, "ok")) for d in ("pedestrians", "parking")},
        kpis=[],
        layers={"pedestrians": states("pedestrians"), "parking": states("parking")},
    )


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
