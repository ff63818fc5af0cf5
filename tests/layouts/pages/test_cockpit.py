"""The cockpit's callbacks over pure functions: a frame's parts by name, the marker
colouring per layer, the map files' URLs, the site panel, polling and the slider."""

from __future__ import annotations

from typing import Any

import pytest
from dash import Dash, dcc, html, no_update
from dash.exceptions import PreventUpdate

from cockpit.city import City
from layouts.components import timemachine as tm
from layouts.components.clientside import NAMESPACE
from layouts.pages import cockpit
from layouts.routes.mapdata import map_data_urls
from tests.browser import demo_runtime_fixture
from wiring.app import create_app
from wiring.runtime import Runtime

runtime = demo_runtime_fixture(backfill=False)


@pytest.fixture(scope="module")
def city(runtime: Runtime) -> City:
    return runtime.city


@pytest.fixture(scope="module")
def app(runtime: Runtime) -> Dash:
    return create_app(runtime, start_refresher=False)


def _frame(city: City, **given: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "role": "public",
        "offset": 0,
        "anchor": tm.anchor_for(city.clock()),
        "colour": "state",
        "language": "en",
        "store_layers": list(city.view("public").layers),
        "layer_count": len(city.view("public").layers),
        "recolour": False,
    }
    return cockpit.cockpit_frame(city, **{**arguments, **given})


def test_a_frame_holds_every_part_the_page_shows_by_name(city: City) -> None:
    frame = _frame(city)
    assert list(frame["parts"]) == [name for name in cockpit.FRAME_OUTPUTS if name != "shown"] + [
        "shown"
    ]
    assert frame["offset"] == 0
    assert frame["parts"]["shown"] == 0
    assert frame["parts"]["moment"] == "Live"
    assert frame["parts"]["typical_legend"] == {"display": "none"}


def test_live_frame_names_the_live_map_files_of_the_layers_on_the_page(city: City) -> None:
    view = city.view("public")
    layers = list(view.layers)
    frame = _frame(city, store_layers=[layers[0], "no-such-layer"])
    assert frame["urls"] == {layers[0]: map_data_urls(view)[layers[0]]}


def test_colouring_by_state_leaves_every_layer_hideout_unsent(city: City) -> None:
    frame = _frame(city, layer_count=3, recolour=False)
    assert frame["parts"]["hideouts"] == [no_update] * 3


def test_recolouring_sends_every_layer_the_same_hideout(city: City) -> None:
    frame = _frame(city, colour="typical", layer_count=2, recolour=True)
    first, second = frame["parts"]["hideouts"]
    assert first == second
    assert first["colour"] == "typical"
    assert isinstance(first["typical"], dict)
    assert frame["parts"]["typical_legend"] == {"display": "block"}


def test_live_frames_are_copies_so_one_browser_cannot_change_another(city: City) -> None:
    _frame(city, layer_count=5)
    again = cockpit.live_frame(city, city.view("public"), "en", "state")
    assert len(again["hideouts"]) == 1
    assert "shown" not in again


def test_a_replayed_frame_reads_the_history_files_of_its_moment(city: City) -> None:
    anchor = tm.anchor_for(city.clock())
    frame = _frame(city, offset=-60, anchor=anchor)
    moment = tm.moment_of(anchor, -60)
    assert moment is not None
    at = int(moment.timestamp())
    assert frame["offset"] == -60
    assert frame["parts"]["shown"] == -60
    assert frame["parts"]["moment"].startswith("Replay")
    assert all(url.endswith(f".json?t={at}") for url in frame["urls"].values())
    assert all(url.startswith("/map-data-at/") for url in frame["urls"].values())


@pytest.mark.parametrize(
    ("clicked", "expected"),
    [
        ({"properties": {"id": "air:1", "name": "Town hall"}}, "air:1"),
        ({"properties": {"id": 7}}, "7"),
        ({"properties": {"id": "c1", "cluster": True}}, None),
        ({"properties": {}}, None),
        ({}, None),
        (None, None),
    ],
)
def test_a_click_picks_a_site_never_a_cluster(
    clicked: dict[str, Any] | None, expected: str | None
) -> None:
    assert cockpit.clicked_site(clicked) == expected


def test_the_side_panel_of_an_unknown_site_says_so(city: City) -> None:
    panel = cockpit.trend_panel(city, "public", "nowhere:0", "24h", None, "en", False)
    assert panel["detail"] == ["This site is not available."]
    assert panel["park"] == {"display": "none"}
    assert panel["pair"] == []


def test_the_side_panel_of_a_site_shows_its_trend_and_details(city: City) -> None:
    sites = city.view("public").sites
    site = sites[sites["domain"] != "parking"].iloc[0]
    panel = cockpit.trend_panel(city, "public", str(site["id"]), "24h", None, "en", False)
    assert set(panel) == {"chart", "detail", "park", "pair"}
    assert isinstance(panel["chart"], dcc.Graph)
    assert panel["chart"].id == "cc-trend"
    assert isinstance(panel["detail"][0], html.H3)
    assert panel["park"] == {"display": "none"}


def test_a_parking_site_opens_the_free_bays_question(city: City) -> None:
    sites = city.view("public").sites
    site = sites[sites["domain"] == "parking"].iloc[0]
    panel = cockpit.trend_panel(city, "public", str(site["id"]), "7d", None, "en", False)
    assert panel["park"] == {"display": "flex"}


def test_poll_sends_the_version_only_when_it_changed(city: City) -> None:
    assert cockpit.poll(city, 1, None) == city.version()
    with pytest.raises(PreventUpdate):
        cockpit.poll(city, 2, city.version())


def test_new_data_re_anchors_the_time_machine_unless_it_replays(city: City) -> None:
    assert cockpit.re_anchor(city, 1, 0) == tm.anchor_for(city.clock())
    with pytest.raises(PreventUpdate):
        cockpit.re_anchor(city, 1, -15)


def test_the_slider_range_is_named_by_its_properties(city: City) -> None:
    anchor = tm.anchor_for(city.clock())
    got = cockpit.slider_range(city, "7d", anchor, None)
    assert set(got) == {"min", "step", "marks"}
    assert (got["min"], got["step"]) == (-7 * 24 * 60, 60)


def _callbacks(app: Dash) -> list[dict[str, Any]]:
    return app._callback_list  # what Dash sends as /_dash-dependencies


def test_the_browser_shows_a_frame_in_the_order_of_its_part_names(app: Dash) -> None:
    [shows] = [
        c
        for c in _callbacks(app)
        if (c.get("clientside_function") or {}).get("function_name") == "showFrame"
    ]
    assert shows["clientside_function"]["namespace"] == NAMESPACE
    expected = [str(o) for o in cockpit.FRAME_OUTPUTS.values()]
    # Dash names a multi-output callback "..a.b...c.d.." and its pattern-matching ids as JSON.
    assert shows["output"].strip(".").split("...") == [
        e.replace(" ", "") if e.startswith("{") else e for e in expected
    ]
    assert shows["state"][-1] == {"id": "cc-frame-parts", "property": "data"}


def test_the_page_hands_the_browser_its_frame_part_names(app: Dash, city: City) -> None:
    with app.server.test_request_context("/"):
        page = cockpit.layout(city)
    stores = [c for c in page.children if getattr(c, "id", None) == "cc-frame-parts"]
    assert [s.data for s in stores] == [list(cockpit.FRAME_OUTPUTS)]
