"""The twin in 3D: its figures per district and per hexagon against the 2D map's numbers
at the same moment, its callback's role checks, then the page in a real headless Chromium
(WebGL, and the flat fallback where WebGL is missing), one app server for the whole
module."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import flask
import pandas as pd
import pytest
from dash.exceptions import PreventUpdate
from dash.testing.composite import DashComposite
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from cockpit.privacy import masked_label
from cockpit.twin.hexgrid import cells_of
from layouts.components import timemachine as tm
from layouts.pages import twin3d
from tests.a11y import assert_accessible
from tests.browser import AppServers, Clock, own_errors
from tests.dashtree import by_id
from tests.layouts.viewing import viewing
from wiring.runtime import Runtime

# How the 2D map's site values (the text of its GeoJSON) combine per district.
_COMBINE = {"pedestrians": "sum", "parking": "share", "traffic": "mean"}


@pytest.fixture(scope="module")
def runtime(app_server: AppServers, clock: Clock) -> Runtime:
    return app_server.city(clock)


@pytest.fixture(scope="module")
def duo(app_server: AppServers, runtime: Runtime) -> DashComposite:
    return app_server.browser(runtime, size=(1500, 1000))


def map_bounds(runtime: Runtime, layer: str, moment: Any = None) -> dict[str, tuple[float, float]]:
    """The 2D map's figure per district as (low, high): its sites' values, read from the
    map's own GeoJSON properties (text as people see it), combined as the layer's domain
    does; a count the map masks ("< 5") is somewhere from 0 to 5, so its district's sum
    is known within that much (else low == high)."""
    city = runtime.city
    view = city.view("public") if moment is None else city.view_at("public", moment)
    features = view.layer_features(layer, runtime.config.city.timezone)["features"]
    masked = masked_label(view.min_group_size)
    per: dict[str, list[tuple[float, float]]] = {}
    for p in (f["properties"] for f in features if f["properties"]["district"]):
        text = p["value"]
        if text.startswith(masked):
            number = (0.0, float(view.min_group_size))
        elif text in ("occupied", "free"):
            number = (1.0, 1.0) if text == "occupied" else (0.0, 0.0)
        else:
            value = float(text.split(" ")[0].replace(",", ""))
            number = (value, value)
        per.setdefault(p["district"], []).append(number)
    how = _COMBINE[layer]
    out = {}
    for district, values in per.items():
        lows, highs = [v[0] for v in values], [v[1] for v in values]
        if how == "sum":
            out[district] = (sum(lows), sum(highs))
        elif how == "share":
            out[district] = (100 * sum(lows) / len(lows), 100 * sum(highs) / len(highs))
        else:
            out[district] = (sum(lows) / len(lows), sum(highs) / len(highs))
    return out


def map_numbers(runtime: Runtime, layer: str, moment: Any = None) -> dict[str, float]:
    """The 2D map's figure per district where none of its counts is masked."""
    bounds = map_bounds(runtime, layer, moment)
    return {d: low for d, (low, high) in bounds.items() if low == high}


def map_values(runtime: Runtime, layer: str, moment: Any = None) -> pd.DataFrame:
    """The 2D map's sites of ``layer`` with their place and number as (low, high), read
    from the map's own GeoJSON (text as people see it; a masked count "< 5" lies
    anywhere from 0 to 5; a bay is 1 occupied, 0 free)."""
    city = runtime.city
    view = city.view("public") if moment is None else city.view_at("public", moment)
    features = view.layer_features(layer, runtime.config.city.timezone)["features"]
    masked = masked_label(view.min_group_size)
    rows = []
    for f in features:
        text = f["properties"]["value"]
        if text.startswith(masked):
            low, high = 0.0, float(view.min_group_size)
        elif text in ("occupied", "free"):
            low = high = 1.0 if text == "occupied" else 0.0
        else:
            low = high = float(text.split(" ")[0].replace(",", ""))
        lon, lat = f["geometry"]["coordinates"]
        rows.append((f["properties"]["district"], lat, lon, low, high))
    return pd.DataFrame(rows, columns=["district", "lat", "lon", "low", "high"])


def hexagon_bounds(
    runtime: Runtime, layer: str, moment: Any = None
) -> dict[tuple[int, int], tuple[float, float, int]]:
    """The 2D map's figure per hexagon of the city's grid as (low, high, sites): its
    sites' numbers combined as the layer's domain does."""
    sites = map_values(runtime, layer, moment)
    q, r, inside = cells_of(
        sites["lat"].to_numpy(), sites["lon"].to_numpy(), runtime.city.hexagon_grid()
    )
    sites = sites.assign(q=q, r=r)[inside]
    how = _COMBINE[layer]
    out = {}
    for (cq, cr), own in sites.groupby(["q", "r"]):
        low, high = own["low"].sum(), own["high"].sum()
        if how != "sum":
            low, high = low / len(own), high / len(own)
        if how == "share":
            low, high = 100 * low, 100 * high
        out[(int(cq), int(cr))] = (float(low), float(high), len(own))
    return out


def assert_hexagons_match_map(
    cells: list[tuple[int, int]],
    values: list[float],
    sites: list[int],
    bounds: dict[tuple[int, int], tuple[float, float, int]],
) -> None:
    assert sorted(cells) == sorted(bounds)
    for cell, value, count in zip(cells, values, sites, strict=True):
        low, high, expected = bounds[cell]
        assert count == expected, cell
        assert low - 1e-9 <= value <= high + 1e-9, cell
        if low == high:
            assert value == pytest.approx(low), cell


def assert_matches_map(figures: list[Any], bounds: dict[str, tuple[float, float]]) -> None:
    assert {f.district for f in figures} == set(bounds)
    for f in figures:
        low, high = bounds[f.district]
        if low == high:
            assert f.value == pytest.approx(low), f.district
        else:
            assert low <= f.value <= high, f.district


@pytest.mark.parametrize("layer", ["pedestrians", "parking", "traffic"])
def test_district_figures_equal_the_2d_maps_numbers(runtime: Runtime, layer: str) -> None:
    found = runtime.city.districts("public", layer)
    assert found is not None
    _measure, figures = found
    assert_matches_map(figures, map_bounds(runtime, layer))
    if layer != "traffic":  # the demo's intersections lie outside the CLUE areas
        assert len(figures) >= 5


def test_a_replayed_moment_gives_that_moments_figures(runtime: Runtime, clock: Clock) -> None:
    moment = (clock.when - pd.Timedelta(hours=8)).to_pydatetime()
    then = runtime.city.districts("public", "pedestrians", moment)
    now = runtime.city.districts("public", "pedestrians")
    assert then is not None and now is not None
    assert_matches_map(then[1], map_bounds(runtime, "pedestrians", moment))
    assert {f.district: f.value for f in then[1]} != {f.district: f.value for f in now[1]}


def test_more_sites_than_columns_give_hexagons_with_the_maps_numbers(runtime: Runtime) -> None:
    # The demo's 3,309 parking bays are more than its 300 columns.
    found = runtime.city.columns("public", "parking")
    assert found is not None
    _measure, layer = found
    assert not layer.single_sites and layer.size_km == runtime.config.twin.hexagon_km
    assert 10 <= len(layer.figures) <= runtime.config.twin.max_columns
    cells = [(f.q, f.r) for f in layer.figures]
    values, sites = [f.value for f in layer.figures], [f.sites for f in layer.figures]
    assert_hexagons_match_map(cells, values, sites, hexagon_bounds(runtime, "parking"))
    assert sum(sites) == 3_309


@pytest.mark.parametrize("layer_id", ["pedestrians", "parking"])
def test_hexagons_and_districts_count_the_same_sites_to_the_same_total(
    runtime: Runtime, layer_id: str
) -> None:
    """Binned into hexagons (fewer columns than sites) or into districts, the same sites
    of the map add up to the same footfall, or the same number of occupied bays."""
    runtime.config.twin.max_columns = 10
    try:
        runtime.city.answers.clear()
        columns = runtime.city.columns("public", layer_id)
        districts = runtime.city.districts("public", layer_id)
    finally:
        runtime.config.twin.max_columns = 300
        runtime.city.answers.clear()
    assert columns is not None and districts is not None
    hexagons, placed = columns[1].figures, districts[1]
    assert not columns[1].single_sites and len(hexagons) <= 10
    sites = map_values(runtime, layer_id)
    inside = cells_of(
        sites["lat"].to_numpy(), sites["lon"].to_numpy(), runtime.city.hexagon_grid()
    )[2]
    assert sum(f.sites for f in hexagons) == int(inside.sum())
    # Every site in a district lies in the districts' box, so in some hexagon.
    assert sum(f.sites for f in placed) == int((sites["district"] != "").sum())
    if layer_id == "parking":  # a share: compare the occupied bays
        total_hex = sum(f.value * f.sites / 100 for f in hexagons)
        total_districts = sum(f.value * f.sites / 100 for f in placed)
    else:
        total_hex = sum(f.value for f in hexagons)
        total_districts = sum(f.value for f in placed)
    outside_districts = sites[inside & (sites["district"] == "").to_numpy()]
    low, high = outside_districts["low"].sum(), outside_districts["high"].sum()
    assert total_districts + low - 1e-6 <= total_hex <= total_districts + high + 1e-6
    if low == high:
        assert total_hex == pytest.approx(total_districts + low)


@pytest.mark.parametrize("layer_id", ["pedestrians", "traffic"])
def test_few_sites_stand_as_their_own_columns_with_the_maps_numbers(
    runtime: Runtime, layer_id: str
) -> None:
    """66 counters, or the intersections that lie outside every district: fewer than 300
    columns, each site its own, wherever it stands in the city."""
    found = runtime.city.columns("public", layer_id)
    assert found is not None
    layer = found[1]
    assert layer.single_sites and layer.outside == 0
    sites = map_values(runtime, layer_id)
    assert len(sites) > 10
    assert len(layer.figures) == len(sites)
    got = sorted(f.value for f in layer.figures)
    for value, low, high in zip(got, sorted(sites["low"]), sorted(sites["high"]), strict=True):
        assert low <= value <= high


def test_a_replayed_moment_gives_that_moments_hexagons(runtime: Runtime, clock: Clock) -> None:
    moment = (clock.when - pd.Timedelta(hours=8)).to_pydatetime()
    then = runtime.city.columns("public", "parking", moment)
    assert then is not None
    layer = then[1]
    bounds = hexagon_bounds(runtime, "parking", moment)
    assert_hexagons_match_map(
        [(f.q, f.r) for f in layer.figures],
        [f.value for f in layer.figures],
        [f.sites for f in layer.figures],
        bounds,
    )
    # The page's callback draws that moment's hexagons.
    shown = twin3d.twin_view(runtime.city, "public", "parking", moment, True, "en", "hexagons")
    meshes = [t for t in shown["figure"].data if t.type == "mesh3d"]
    assert 1 <= len(meshes) <= 4
    assert_hexagons_match_map(
        [(q, r) for t in meshes for q, r in t.meta["cells"]],
        [v for t in meshes for v in t.meta["values"]],
        [n for t in meshes for n in t.meta["sites"]],
        bounds,
    )
    assert shown["moment"].startswith("Replay")


def test_a_layer_the_role_may_not_see_is_not_answered(runtime: Runtime) -> None:
    runtime.config.layers["pedestrians"].access = "internal"
    try:
        runtime.city.answers.clear()
        assert runtime.city.districts("public", "pedestrians") is None
        assert runtime.city.columns("public", "pedestrians") is None
        with pytest.raises(PreventUpdate):
            twin3d.twin_view(runtime.city, "public", "pedestrians", None, True, "en")
        with pytest.raises(PreventUpdate):
            twin3d.twin_view(runtime.city, "public", "pedestrians", None, True, "en", "hexagons")
        with pytest.raises(PreventUpdate):
            twin3d.twin_view(runtime.city, "public", "parking", None, True, "en", "cubes")
        with pytest.raises(PreventUpdate):
            twin3d.twin_view(runtime.city, "public", "no-such-layer", None, True, "en")
    finally:
        runtime.config.layers["pedestrians"].access = "public"
        runtime.city.answers.clear()


def test_the_page_offers_only_the_layers_the_role_may_see(runtime: Runtime) -> None:
    server = flask.Flask(__name__)
    server.secret_key = "test"
    runtime.config.layers["pedestrians"].access = "internal"
    try:
        runtime.city.answers.clear()
        with viewing(server):
            public = by_id(twin3d.layout(runtime.city), twin3d.MEASURE_ID)
        with viewing(server, "staff"):
            staff = by_id(twin3d.layout(runtime.city), twin3d.MEASURE_ID)
    finally:
        runtime.config.layers["pedestrians"].access = "public"
        runtime.city.answers.clear()
    assert "pedestrians" not in [o["value"] for o in public.options]
    assert public.value != "pedestrians"
    assert "pedestrians" in [o["value"] for o in staff.options]


def graph_traces(duo: DashComposite) -> list[dict[str, Any]]:
    return duo.driver.execute_script(
        "var g = document.querySelector('#cc-3d-graph .js-plotly-plot');"
        "return g && g.data ? g.data.map(function (t) {"
        " return {type: t.type, name: t.name, text: t.text, z: t.z ? Array.from(t.z) : null};"
        "}) : [];"
    )


def wait_for_traces(duo: DashComposite, kind: str) -> list[dict[str, Any]]:
    WebDriverWait(duo.driver, 40).until(
        lambda _d: any(t["type"] == kind for t in graph_traces(duo))
    )
    return [t for t in graph_traces(duo) if t["type"] == kind]


def choose_measure(duo: DashComposite, title: str) -> None:
    """Tick the measure ``title`` (a layer's title as the page shows it)."""
    WebDriverWait(duo.driver, 20).until(
        lambda _d: duo.driver.find_elements(By.CSS_SELECTOR, "#cc-3d-measure label")
    )
    for label in duo.driver.find_elements(By.CSS_SELECTOR, "#cc-3d-measure label"):
        if label.text.strip() == title:
            label.click()
            return
    raise AssertionError(f"no measure {title!r}")


def shown_number(text: str) -> float:
    found = re.search(r"Pedestrians: ([\d,]+) persons/h", text)
    assert found, text
    return float(found.group(1).replace(",", ""))


@pytest.mark.browser
def test_the_3d_view_draws_in_webgl_with_the_maps_numbers(
    duo: DashComposite, runtime: Runtime, screenshots: Path
) -> None:
    duo.driver.get(duo.server_url + "/twin3d")
    choose_measure(duo, "Pedestrians")
    WebDriverWait(duo.driver, 40).until(
        lambda _d: "Pedestrians" in duo.find_element("#cc-3d-caption").text
    )
    assert duo.driver.execute_script(
        "return !!document.createElement('canvas').getContext('webgl')"
    )
    prisms = wait_for_traces(duo, "mesh3d")
    duo.wait_for_element("#cc-3d-graph canvas", timeout=20)  # drawn by WebGL
    assert {p["name"] for p in prisms} == set(map_bounds(runtime, "pedestrians"))
    expected = map_numbers(runtime, "pedestrians")
    assert expected
    for prism in prisms:
        if prism["name"] in expected:
            assert shown_number(prism["text"]) == pytest.approx(expected[prism["name"]])
    assert (
        "persons/h" in duo.find_element("#cc-3d-caption").text
        or duo.find_element("#cc-3d-caption").text
    )
    duo.driver.save_screenshot(str(screenshots / "twin3d-webgl.png"))
    assert_accessible(duo.driver)
    assert own_errors(duo, runtime.config) == []


def hover_text(duo: DashComposite) -> str:
    """Plotly's hover label on the graph, after moving the real mouse over points of it
    until one is over a district ("" when none is)."""
    canvas = duo.find_element("#cc-3d-graph .gl-container canvas")
    width, height = canvas.size["width"], canvas.size["height"]
    for fy in (0.5, 0.45, 0.55, 0.4, 0.6):
        for fx in (0.5, 0.45, 0.55, 0.4, 0.6, 0.35, 0.65):
            ActionChains(duo.driver).move_to_element_with_offset(
                canvas, int((fx - 0.5) * width), int((fy - 0.5) * height)
            ).perform()
            try:
                WebDriverWait(duo.driver, 1.5).until(
                    lambda _d: duo.driver.execute_script(
                        "var h = document.querySelector('#cc-3d-graph .hovertext');"
                        "return h ? h.textContent : '';"
                    )
                )
            except TimeoutException:
                continue
            return str(
                duo.driver.execute_script(
                    "return document.querySelector('#cc-3d-graph .hovertext').textContent;"
                )
            )
    return ""


@pytest.mark.browser
def test_hovering_a_prism_tells_the_2d_maps_number(
    duo: DashComposite, runtime: Runtime, screenshots: Path
) -> None:
    wait_for_traces(duo, "mesh3d")
    text = hover_text(duo)
    duo.driver.save_screenshot(str(screenshots / "twin3d-hover.png"))
    assert text, "no district under the mouse"
    district = next(d for d in map_bounds(runtime, "pedestrians") if text.startswith(d))
    expected = map_numbers(runtime, "pedestrians")
    if district in expected:
        assert shown_number(text) == pytest.approx(expected[district])
    assert "Observed" in text and "Pedestrian Counting System" in text


@pytest.mark.browser
def test_a_chosen_moment_changes_the_heights(
    duo: DashComposite, runtime: Runtime, screenshots: Path
) -> None:
    before = {p["name"]: max(p["z"]) for p in wait_for_traces(duo, "mesh3d")}
    for _ in range(4):
        duo.find_element("#cc-3d-tm-back").click()
    # Four steps of 15 minutes back from the anchor the page opened with; the label
    # comes with the figure of its moment.
    moment = tm.moment_of(tm.anchor_for(runtime.city.clock()), -4 * tm.RANGES["24h"][1])
    label = tm.moment_label(moment, runtime.config.city.timezone, "en", str)
    WebDriverWait(duo.driver, 40).until(
        lambda _d: duo.find_element("#cc-3d-tm-label").text == label
    )
    WebDriverWait(duo.driver, 40).until(
        lambda _d: {p["name"]: max(p["z"]) for p in wait_for_traces(duo, "mesh3d")} != before
    )
    duo.driver.save_screenshot(str(screenshots / "twin3d-replay.png"))
    # Live and replayed prisms share one scale: heights keep the figures' proportions.
    after = {p["name"]: max(p["z"]) for p in wait_for_traces(duo, "mesh3d")}
    live = runtime.city.districts("public", "pedestrians")
    then = runtime.city.districts("public", "pedestrians", moment)
    assert live is not None and then is not None
    now_values = {f.district: f.value for f in live[1]}
    then_values = {f.district: f.value for f in then[1]}
    common = sorted(set(now_values) & set(then_values) & set(before) & set(after))
    assert common
    # The scale is the tallest district now, unless the moment has a taller one.
    top_now = max(now_values.values())
    top_then = max(top_now, *then_values.values())
    for district in common:
        assert after[district] * now_values[district] * top_then == pytest.approx(
            before[district] * then_values[district] * top_now, rel=1e-6, abs=1e-9
        )
    assert own_errors(duo, runtime.config) == []


@pytest.mark.browser
def test_without_webgl_the_districts_are_flat(
    duo: DashComposite, runtime: Runtime, screenshots: Path
) -> None:
    added = duo.driver.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument",
        {
            "source": "var g = HTMLCanvasElement.prototype.getContext;"
            "HTMLCanvasElement.prototype.getContext = function (k) {"
            " return /webgl/.test(k) ? null : g.apply(this, arguments); };"
        },
    )
    duo.driver.get(duo.server_url + "/twin3d?lang=de")
    choose_measure(duo, "Fußgänger")
    WebDriverWait(duo.driver, 40).until(
        lambda _d: "Fußgänger" in duo.find_element("#cc-3d-caption").text
    )
    flat = wait_for_traces(duo, "scatter")
    assert not [t for t in graph_traces(duo) if t["type"] in ("mesh3d", "scatter3d")]
    assert "WebGL" in duo.find_element("#cc-3d-caption").text
    assert {t["name"] for t in flat if t["name"]} >= set(map_bounds(runtime, "pedestrians"))
    duo.driver.save_screenshot(str(screenshots / "twin3d-flat-de.png"))
    assert own_errors(duo, runtime.config) == []
    # WebGL again for the pages opened after this one.
    duo.driver.execute_cdp_cmd(
        "Page.removeScriptToEvaluateOnNewDocument", {"identifier": added["identifier"]}
    )


@pytest.mark.browser
def test_play_steps_through_the_day_in_3d(duo: DashComposite, runtime: Runtime) -> None:
    duo.driver.get(duo.server_url + "/twin3d")
    choose_measure(duo, "Pedestrians")
    wait_for_traces(duo, "mesh3d")
    duo.find_element("#cc-3d-tm-play").click()
    seen: list[str] = []

    def stepped(_d: Any) -> bool:
        label = duo.find_element("#cc-3d-tm-label").text
        if label.startswith("Replay") and label not in seen:
            seen.append(label)
        return len(seen) >= 3

    # Each step waits for its moment's figure (cc-3d-tm-shown) before the next.
    WebDriverWait(duo.driver, 90).until(stepped)
    duo.find_element("#cc-3d-tm-play").click()  # pause
    heights = {p["name"]: max(p["z"]) for p in wait_for_traces(duo, "mesh3d")}
    assert heights
    assert own_errors(duo, runtime.config) == []


@pytest.mark.browser
def test_the_cockpits_time_machine_stays_its_own_beside_the_3d_page(
    duo: DashComposite, runtime: Runtime
) -> None:
    # The 3D page's callbacks are registered on the same app: none of them may answer
    # the cockpit's time bar, data version or language, or the console shows errors.
    duo.driver.get(duo.server_url + "/")
    duo.wait_for_element(".leaflet-container .cc-marker", timeout=40)
    duo.find_element("#cc-tm-back").click()
    WebDriverWait(duo.driver, 40).until(
        lambda _d: duo.find_element("#cc-tm-label").text.startswith("Replay")
    )
    duo.find_element("#cc-tm-live").click()
    WebDriverWait(duo.driver, 40).until(lambda _d: duo.find_element("#cc-tm-label").text == "Live")
    assert duo.driver.find_elements(By.ID, "cc-3d-tm-slider") == []
    assert own_errors(duo, runtime.config) == []


def choose_shape(duo: DashComposite, title: str) -> None:
    """Tick how the page draws the layer: "Districts" or "Hexagons" (or their German)."""
    WebDriverWait(duo.driver, 20).until(
        lambda _d: duo.driver.find_elements(By.CSS_SELECTOR, "#cc-3d-shape label")
    )
    for label in duo.driver.find_elements(By.CSS_SELECTOR, "#cc-3d-shape label"):
        if label.text.strip() == title:
            label.click()
            return
    raise AssertionError(f"no shape {title!r}")


def column_traces(duo: DashComposite, kind: str) -> list[dict[str, Any]]:
    """The graph's traces of ``kind`` that carry columns, with what each column shows."""
    traces = duo.driver.execute_script(
        "var g = document.querySelector('#cc-3d-graph .js-plotly-plot');"
        "return g && g.data ? g.data.filter(function (t) { return t.meta && t.meta.cells; })"
        ".map(function (t) { var x = t.x;"  # numpy arrays travel as base64 float64
        " var n = x.length !== undefined ? x.length : atob(x.bdata).length / 8;"
        " return {type: t.type, meta: t.meta, n: n}; }) : [];"
    )
    return [t for t in traces if t["type"] == kind]


def wait_for_columns(duo: DashComposite, kind: str, caption: str) -> list[dict[str, Any]]:
    WebDriverWait(duo.driver, 40).until(
        lambda _d: caption in duo.find_element("#cc-3d-caption").text and column_traces(duo, kind)
    )
    return column_traces(duo, kind)


def shown_hexagons(traces: list[dict[str, Any]]) -> tuple[list, list, list]:
    cells = [(int(q), int(r)) for t in traces for q, r in t["meta"]["cells"]]
    values = [float(v) for t in traces for v in t["meta"]["values"]]
    sites = [int(n) for t in traces for n in t["meta"]["sites"]]
    return cells, values, sites


@pytest.mark.browser
def test_hexagons_draw_in_a_few_meshes_with_the_maps_numbers(
    duo: DashComposite, runtime: Runtime, screenshots: Path
) -> None:
    duo.driver.get(duo.server_url + "/twin3d")
    choose_measure(duo, "Parking")
    choose_shape(duo, "Hexagons")
    meshes = wait_for_columns(duo, "mesh3d", "3,309 sites are more than 300 columns")
    duo.wait_for_element("#cc-3d-graph canvas", timeout=20)
    assert 1 <= len(meshes) <= 4  # every hexagon in one mesh per colour
    cells, values, sites = shown_hexagons(meshes)
    assert len(cells) >= 10
    assert_hexagons_match_map(cells, values, sites, hexagon_bounds(runtime, "parking"))
    # Every column of a mesh is 12 corners: nothing else is drawn in it.
    assert sum(t["n"] for t in meshes) == 12 * len(cells)
    caption = duo.find_element("#cc-3d-caption").text
    assert "0.5 km across (share of its places)" in caption
    text = hover_text(duo)
    duo.driver.save_screenshot(str(screenshots / "twin3d-hexagons.png"))
    assert text.startswith("Hexagon 0.5 km across"), text
    assert "Parking occupancy:" in text and "%" in text
    assert "Observed" in text and "On-street parking bay sensors" in text
    assert own_errors(duo, runtime.config) == []


@pytest.mark.browser
def test_a_city_with_few_sites_shows_each_site_as_a_column(
    duo: DashComposite, runtime: Runtime, screenshots: Path
) -> None:
    duo.driver.get(duo.server_url + "/twin3d")
    choose_measure(duo, "Pedestrians")
    choose_shape(duo, "Hexagons")
    meshes = wait_for_columns(duo, "mesh3d", "Pedestrians per site")
    names = sorted(n for t in meshes for n in t["meta"]["names"])
    assert names == sorted(map_values_names(runtime, "pedestrians"))
    duo.driver.save_screenshot(str(screenshots / "twin3d-site-columns.png"))
    # Back to districts: the prisms again, one per district with data.
    choose_shape(duo, "Districts")
    prisms = wait_for_traces(duo, "mesh3d")
    WebDriverWait(duo.driver, 40).until(
        lambda _d: (
            {p["name"] for p in wait_for_traces(duo, "mesh3d")}
            == set(map_bounds(runtime, "pedestrians"))
        )
    )
    assert prisms
    assert own_errors(duo, runtime.config) == []


def map_values_names(runtime: Runtime, layer: str) -> list[str]:
    view = runtime.city.view("public")
    features = view.layer_features(layer, runtime.config.city.timezone)["features"]
    return [f["properties"]["name"] for f in features]


@pytest.mark.browser
def test_without_webgl_the_hexagons_are_flat(
    duo: DashComposite, runtime: Runtime, screenshots: Path
) -> None:
    added = duo.driver.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument",
        {
            "source": "var g = HTMLCanvasElement.prototype.getContext;"
            "HTMLCanvasElement.prototype.getContext = function (k) {"
            " return /webgl/.test(k) ? null : g.apply(this, arguments); };"
        },
    )
    try:
        duo.driver.get(duo.server_url + "/twin3d?lang=de")
        choose_measure(duo, "Parken")
        choose_shape(duo, "Sechsecke")
        flat = wait_for_columns(duo, "scatter", "Sechseck")
        assert not [t for t in graph_traces(duo) if t["type"] in ("mesh3d", "scatter3d")]
        assert "kein WebGL" in duo.find_element("#cc-3d-caption").text
        cells, values, sites = shown_hexagons(flat)
        assert_hexagons_match_map(cells, values, sites, hexagon_bounds(runtime, "parking"))
        duo.driver.save_screenshot(str(screenshots / "twin3d-hexagons-flat-de.png"))
        assert own_errors(duo, runtime.config) == []
    finally:
        # WebGL again for the pages opened after this one.
        duo.driver.execute_cdp_cmd(
            "Page.removeScriptToEvaluateOnNewDocument", {"identifier": added["identifier"]}
        )
