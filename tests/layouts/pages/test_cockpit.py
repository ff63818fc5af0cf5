"""The desktop cockpit: its callbacks over pure functions (a frame's parts by name, the marker
colouring per layer, the map files' URLs, the site panel, polling and the slider), then the
page in a real headless Chromium, one app server for the whole module."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from dash import Dash, dcc, html, no_update
from dash.exceptions import PreventUpdate
from dash.testing.composite import DashComposite
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from cockpit.city import City
from layouts.components import timemachine as tm
from layouts.components.clientside import NAMESPACE
from layouts.pages import cockpit
from layouts.routes.mapdata import map_data_urls
from tests.browser import T0, AppServers, Clock, own_errors
from wiring.runtime import Runtime


@pytest.fixture(scope="module")
def runtime(app_server: AppServers, clock: Clock) -> Runtime:
    rt = app_server.city(clock)
    rt.config.ui.poll_seconds = 1
    return rt


@pytest.fixture(scope="module")
def duo(app_server: AppServers, runtime: Runtime) -> DashComposite:
    return app_server.browser(runtime)


@pytest.mark.browser
def test_cockpit_loads_without_console_errors(
    duo: DashComposite, runtime: Runtime, screenshots: Path
) -> None:
    duo.wait_for_element("#cc-kpis .cc-kpi", timeout=20)
    duo.wait_for_element(".leaflet-container .cc-marker", timeout=20)
    duo.wait_for_element(".cc-area-label", timeout=10)  # the offline basemap is drawn
    # The map no longer waits for the first refresh: the summary is written by it.
    duo.wait_for_element("#cc-summary h2", timeout=20)
    duo.driver.save_screenshot(str(screenshots / "cockpit-desktop.png"))
    assert own_errors(duo, runtime.config) == []


@pytest.mark.browser
def test_kpis_on_screen_equal_computed(duo: DashComposite, runtime: Runtime) -> None:
    view = runtime.city.view("public")
    duo.wait_for_element("#kpi-footfall", timeout=20)
    for item in view.kpis:
        shown = duo.find_element(f"#kpi-{item.key} .cc-kpi-value").text
        assert shown == item.display, item.key
        assert duo.find_element(f"#kpi-{item.key} .cc-kpi-level").text.endswith(item.level_label)
        assert "Updated" in duo.find_element(f"#kpi-{item.key} .cc-kpi-footer").text
    map_updated = duo.find_element("#cc-map-updated").text
    for layer in runtime.config.layers.values():
        assert layer.title in map_updated


@pytest.mark.parametrize("layer", ["traffic", "air", "parking", "pedestrians"])
@pytest.mark.browser
def test_each_layer_has_markers(duo: DashComposite, runtime: Runtime, layer: str) -> None:
    duo.wait_for_element(".leaflet-control-layers-overlays", timeout=20)
    boxes = duo.driver.find_elements(By.CSS_SELECTOR, ".leaflet-control-layers-overlays label")
    titles = {runtime.config.layers[k].title: k for k in runtime.config.layers}
    for label in boxes:
        box = label.find_element(By.TAG_NAME, "input")
        # Only this layer's markers: the others, citizens' reports too, are unticked.
        wanted = titles.get(label.text.strip()) == layer
        if box.is_selected() != wanted:
            box.click()
    duo.wait_for_element(".leaflet-marker-pane .cc-marker", timeout=10)
    markers = duo.driver.find_elements(By.CSS_SELECTOR, ".leaflet-marker-pane .cc-marker")
    assert markers
    # Restore every layer for the next test.
    for label in boxes:
        box = label.find_element(By.TAG_NAME, "input")
        if not box.is_selected():
            box.click()
    assert all(label.find_element(By.TAG_NAME, "input").is_selected() for label in boxes)
    assert own_errors(duo, runtime.config) == []  # unticking a layer breaks nothing


@pytest.mark.browser
def test_clicking_a_site_updates_the_trend(
    duo: DashComposite, runtime: Runtime, screenshots: Path
) -> None:
    duo.wait_for_element(".leaflet-marker-pane .cc-marker[data-site]", timeout=20)
    marker = duo.driver.find_elements(
        By.CSS_SELECTOR, ".leaflet-marker-pane .cc-marker[data-site]"
    )[0]
    site_id = marker.get_attribute("data-site")
    name = runtime.city.view("public").sites.set_index("id").loc[site_id, "name"]
    marker.click()
    duo.wait_for_text_to_equal("#cc-site-detail h3", str(name), timeout=10)
    duo.wait_for_element("#cc-trend .scatterlayer .trace", timeout=10)
    duo.driver.save_screenshot(str(screenshots / "cockpit-trend.png"))


@pytest.mark.browser
def test_numbers_move_without_reload(duo: DashComposite, runtime: Runtime, clock: Clock) -> None:
    before = duo.find_element("#kpi-traffic .cc-kpi-value").text
    marker = duo.driver.execute_script("window.__ccNoReload = 1; return window.__ccNoReload;")
    assert marker == 1
    clock.when = T0 + pd.Timedelta(hours=7)
    runtime.refresher.refresh_all()
    expected = next(k.display for k in runtime.city.view("public").kpis if k.key == "traffic")
    assert expected != before
    # The refresh also recomputes the twin panels of the new hour: allow for a busy machine.
    duo.wait_for_text_to_equal("#kpi-traffic .cc-kpi-value", expected, timeout=45)
    assert duo.driver.execute_script("return window.__ccNoReload;") == 1  # same page, no reload


@pytest.mark.browser
def test_twin_panels_show_baselines_anomalies_targets_and_co2(
    duo: DashComposite, runtime: Runtime, screenshots: Path
) -> None:
    duo.get_logs()  # this test judges its own page only
    duo.driver.get(duo.server_url + "/")  # a fresh page: earlier tests toggled layers
    duo.wait_for_element(".leaflet-marker-pane .cc-marker[data-site]", timeout=30)
    duo.wait_for_element("#cc-summary h2", timeout=30)
    assert duo.find_element("#cc-summary").text.startswith("The city at")
    # KPI cards compare with the same weekday and hour, in numbers and words.
    line = duo.find_element("#kpi-traffic .cc-kpi-baseline").text
    assert "Tuesday" in line and "typical" in line and "veh/h" in line
    duo.wait_for_element("#cc-anomalies li.cc-anomaly", timeout=20)
    assert duo.find_element("#cc-anomalies h2").text == "Unusual today"
    target = duo.find_element("#cc-targets .cc-target").text
    assert "1,300" in target and "2030" in target
    co2 = duo.find_element("#kpi-co2").text
    assert "estimate" in co2.lower() and "g CO₂ per vehicle-km" in co2
    duo.wait_for_element("#cc-health-slot table", timeout=20)
    # Colour by "against typical": markers take below / typical / above / unknown.
    duo._wait_for_callbacks()  # the map's layers have loaded
    duo.find_element("#cc-colour input[value=typical]").click()
    duo.wait_for_element(".leaflet-marker-pane .cc-marker.cc-typical", timeout=20)
    assert duo.find_element("#cc-typical-legend").is_displayed()
    duo.driver.execute_script("window.scrollTo(0, 0);")
    duo.driver.save_screenshot(str(screenshots / "cockpit-twin.png"))
    duo.driver.set_window_size(1920, 1080)
    duo.driver.save_screenshot(str(screenshots / "cockpit-twin-1920.png"))
    duo.driver.set_window_size(1600, 1000)
    duo.find_element("#cc-colour input[value=state]").click()
    duo.wait_for_no_elements(".leaflet-marker-pane .cc-marker.cc-typical", timeout=20)
    assert own_errors(duo, runtime.config) == []


@pytest.mark.browser
def test_trend_shows_a_forecast_band_and_traffic_against_air(
    duo: DashComposite, runtime: Runtime
) -> None:
    from cockpit.twin.crossdomain import pair_sites

    view = runtime.city.view("public")
    pairs = pair_sites(view.sites, runtime.config.twin.max_pair_km)
    site_id = str(pairs["traffic_site"].iloc[0])
    duo.driver.execute_script(
        "window.dash_clientside.set_props('cc-site', {data: arguments[0]});", site_id
    )
    name = str(view.sites.set_index("id").loc[site_id, "name"])
    duo.wait_for_text_to_equal("#cc-site-detail h3", name, timeout=30)
    duo.wait_for_contains_text("#cc-trend .gtitle", "forecast", timeout=30)
    names = duo.driver.execute_script(
        "return document.getElementById('cc-trend').querySelector('.js-plotly-plot')"
        ".data.map(function (t) { return t.name; });"
    )
    assert any(n.endswith("forecast") for n in names)
    assert any(n.endswith("likely range") for n in names)
    duo.wait_for_element("#cc-pair .cc-corr li", timeout=20)
    assert str(pairs["air_name"].iloc[0]) in duo.find_element("#cc-pair h3").text
    assert "correlation" in duo.find_element("#cc-pair .cc-corr").text


@pytest.mark.browser
def test_parking_site_answers_free_bays_at_an_hour(duo: DashComposite, runtime: Runtime) -> None:
    view = runtime.city.view("public")
    site_id = str(view.sites.loc[view.sites["domain"] == "parking", "id"].iloc[0])
    duo.driver.execute_script(
        "window.dash_clientside.set_props('cc-site', {data: arguments[0]});", site_id
    )
    duo.wait_for_element("#cc-park-answer strong", timeout=30)
    assert "free places" in duo.find_element("#cc-park-answer").text
    assert duo.find_element("#cc-park").is_displayed()


@pytest.mark.browser
def test_german_summary_and_header_links(duo: DashComposite, runtime: Runtime) -> None:
    duo.driver.get(f"{duo.server_url}/?lang=de")
    duo.wait_for_element("#cc-summary h2", timeout=30)
    assert duo.find_element("#cc-summary").text.startswith("Die Stadt am")
    assert duo.find_element("#cc-tm-live").text == "Live"
    assert duo.find_element("#cc-nav-signin").get_attribute("href").endswith("/signin?next=/")
    assert duo.driver.find_elements(By.CSS_SELECTOR, "#cc-nav-notices") == []
    assert own_errors(duo, runtime.config) == []
    duo.driver.get(duo.server_url + "/")
    duo.wait_for_element("#cc-summary h2", timeout=30)


# What the German cockpit must not say: English words of the page itself (place names are
# data and may stay as they are).
NOT_GERMAN = (
    "Updated",
    "Data as of",
    "Data behind this",
    "per counted intersection",
    "spaces free",
    "as usual",
    "Sources and credits",
    "Traffic flow",
    "Air quality",
    "Footfall",
    "Parking occupancy",
    "below a typical",
    "above a typical",
    "occupied",
    "Mean over",
    "free places",
    "known state",
    "Pedestrians",
    "stale data",
    "Map updated",
    "Sensor health",
    "Reporting",
    "Publisher",
    "Last data",
    "Every site reports",
    "Needs attention",
    "Targets and climate",
    "target met",
    "not met",
    "Click a site",
    "Mean flow",
    "European Air Quality Index",
    "worst is",
    "persons/h",
    "veh/h",
)
# What the English cockpit says, as it always has.
ENGLISH = (
    "Updated",
    "Data as of",
    "Data behind this",
    "veh/h per counted intersection",
    "Traffic flow",
    "Air quality",
    "Footfall",
    "Parking occupancy",
    "% occupied",
    "Sources and credits",
    "free places of",
    "Sensor health",
)


def _page_text(duo: DashComposite, language: str) -> str:
    """The cockpit's whole text in ``language`` once the map, the KPIs and the panels
    written by the first refresh are shown."""
    duo.driver.get(f"{duo.server_url}/?lang={language}")
    duo.wait_for_element('.cc-map[data-cc-ready="1"]', timeout=30)
    duo.wait_for_element("#kpi-traffic .cc-kpi-baseline", timeout=30)
    duo.wait_for_element("#cc-summary h2", timeout=30)
    duo.wait_for_element("#cc-health-slot table", timeout=30)
    duo.wait_for_element("#cc-targets .cc-panel-title", timeout=30)
    return str(duo.driver.execute_script("return document.body.innerText;"))


def _german_site_panel(duo: DashComposite, screenshots: Path) -> None:
    """A site's popup, side panel and trend chart on the German page say no English."""
    marker = duo.driver.find_elements(
        By.CSS_SELECTOR, ".leaflet-marker-pane .cc-marker[data-site]"
    )[0]
    marker.click()
    duo.wait_for_element(".leaflet-popup .cc-popup-time", timeout=10)
    popup = duo.find_element(".leaflet-popup .cc-popup").text
    assert popup.startswith(duo.find_element(".leaflet-popup .cc-popup-name").text)
    assert "Gemessen" in popup and "Observed" not in popup, popup
    duo.wait_for_element("#cc-site-detail h3", timeout=30)
    duo.wait_for_element("#cc-trend .scatterlayer .trace", timeout=30)
    duo.driver.save_screenshot(str(screenshots / "cockpit-de-site.png"))
    panel = duo.find_element(".cc-side-panel").text.lower()
    assert [words for words in NOT_GERMAN if words.lower() in panel] == [], panel
    assert " at " not in panel, panel
    names = duo.driver.execute_script(
        "return document.getElementById('cc-trend').querySelector('.js-plotly-plot')"
        ".data.map(function (t) { return t.name; });"
    )
    english = ("Vehicle flow", "forecast", "likely range", "Occupancy", "persons/h", "veh/h")
    assert [n for n in names if any(e.lower() in n.lower() for e in english)] == [], names
    # The chart's toolbar speaks German too.
    titles = duo.driver.execute_script(
        "return Array.from(document.querySelectorAll('#cc-trend .modebar-btn'))"
        ".map(function (b) { return b.getAttribute('data-title'); });"
    )
    assert "Achsen zurücksetzen" in titles and "Diagramm als PNG herunterladen" in titles, titles
    assert not {"Reset axes", "Zoom in", "Download plot as a PNG"} & set(titles), titles
    assert not [t for t in titles if t.startswith("Share chart")], titles


@pytest.mark.browser
@pytest.mark.parametrize("size", [(1920, 1080), (1366, 768)])
def test_the_german_cockpit_shows_no_english_words(
    duo: DashComposite, runtime: Runtime, screenshots: Path, size: tuple[int, int]
) -> None:
    width, height = size
    duo.driver.set_window_size(width, height)
    try:
        text = _page_text(duo, "de")
        duo.driver.execute_script("window.scrollTo(0, 0);")
        duo.driver.save_screenshot(str(screenshots / f"cockpit-de-{width}.png"))
        # The longer German words cut nothing off the first screen either.
        screen = duo.driver.execute_script("return window.innerHeight;")
        assert _box(duo, "#cc-kpis")["bottom"] <= screen
        assert _box(duo, "#cc-map")["bottom"] <= screen
        lowered = text.lower()
        english = [words for words in NOT_GERMAN if words.lower() in lowered]
        assert english == [], text
        if width == 1920:
            _german_site_panel(duo, screenshots)
        # Card titles are written in capitals by the style sheet, as innerText says them.
        for words in ("Verkehrsfluss", "Luftqualität", "Parkplatzbelegung", "Aktualisiert"):
            assert words.lower() in lowered
        assert own_errors(duo, runtime.config) == []
        lowered = _page_text(duo, "en").lower()
        assert [words for words in ENGLISH if words.lower() not in lowered] == [], lowered
    finally:
        duo.driver.set_window_size(1600, 1000)
        duo.driver.get(duo.server_url + "/")
        duo.wait_for_element("#cc-summary h2", timeout=30)


def _box(duo: DashComposite, selector: str) -> dict[str, float]:
    return duo.driver.execute_script(
        "var r = document.querySelector(arguments[0]).getBoundingClientRect();"
        "return {top: r.top, bottom: r.bottom, left: r.left, right: r.right};",
        selector,
    )


@pytest.mark.browser
@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)])
def test_the_first_screen_holds_the_kpis_the_map_and_what_needs_attention(
    duo: DashComposite, runtime: Runtime, screenshots: Path, size: tuple[int, int]
) -> None:
    width, height = size
    duo.driver.set_window_size(width, height)
    try:
        duo.driver.get(duo.server_url + "/")
        duo.wait_for_element("#cc-attention .cc-attention-item", timeout=30)
        duo.wait_for_element("#cc-summary h2", timeout=30)
        duo.wait_for_element(".leaflet-container .cc-marker", timeout=30)
        screen = duo.driver.execute_script("return window.innerHeight;")
        assert _box(duo, "#cc-kpis")["bottom"] <= screen
        assert _box(duo, "#cc-map")["bottom"] <= screen  # the whole map, not its top
        assert _box(duo, "#cc-attention")["bottom"] <= screen
        duo.driver.save_screenshot(str(screenshots / f"cockpit-first-screen-{width}.png"))
        # Below the fold nothing is cut: every table fits its panel.
        duo.wait_for_element("#cc-health-slot table", timeout=30)
        cut = duo.driver.execute_script(
            "return Array.from(document.querySelectorAll('main table')).filter(function (t) {"
            "  var box = t.parentElement.getBoundingClientRect();"
            "  return t.getBoundingClientRect().right > box.right + 1; }).length;"
        )
        assert cut == 0
        duo.driver.execute_script("document.getElementById('cc-health-slot').scrollIntoView();")
        duo.driver.save_screenshot(str(screenshots / f"cockpit-lower-{width}.png"))
        assert own_errors(duo, runtime.config) == []
    finally:
        duo.driver.set_window_size(1600, 1000)


@pytest.mark.browser
def test_a_place_that_needs_attention_opens_on_the_map(
    duo: DashComposite, runtime: Runtime
) -> None:
    duo.driver.get(duo.server_url + "/")
    duo.wait_for_element("#cc-attention .cc-attend-link", timeout=30)
    duo.wait_for_element('.cc-map[data-cc-ready="1"]', timeout=30)  # fitted to the sites
    first = runtime.city.needs_attention("public")[0]
    items = duo.driver.find_elements(By.CSS_SELECTOR, "#cc-attention .cc-attention-item")
    assert 1 <= len(items) <= 3
    assert items[0].get_attribute("data-site") == first.site_id
    assert first.name in items[0].text and "usual" in items[0].text
    assert not _map_centre_near(duo, first.site_id)  # not there before the click
    items[0].find_element(By.CSS_SELECTOR, "a").click()
    duo.wait_for_text_to_equal("#cc-site-detail h3", first.name, timeout=30)
    # The map flew to the place: its centre is the site's position.
    WebDriverWait(duo.driver, 20).until(lambda _driver: _map_centre_near(duo, first.site_id))


def _map_centre_near(duo: DashComposite, site_id: str) -> bool:
    """The site's own marker lies at the centre of the map (within 40 px)."""
    return bool(
        duo.driver.execute_script(
            "var m = document.querySelector("
            "  '.leaflet-marker-pane .cc-marker[data-site=\"' + arguments[0] + '\"]');"
            "if (!m) { return false; }"
            "var a = m.getBoundingClientRect();"
            "var b = document.querySelector('#cc-map').getBoundingClientRect();"
            "var dx = (a.left + a.right - b.left - b.right) / 2;"
            "var dy = (a.top + a.bottom - b.top - b.bottom) / 2;"
            "return Math.abs(dx) < 40 && Math.abs(dy) < 40;",
            site_id,
        )
    )


@pytest.fixture(scope="module")
def city(runtime: Runtime) -> City:
    return runtime.city


@pytest.fixture(scope="module")
def app(app_server: AppServers, runtime: Runtime) -> Dash:
    return app_server.app(runtime)


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


def test_a_frame_names_what_needs_attention_and_the_summary_in_short_lines(city: City) -> None:
    parts = _frame(city)["parts"]
    found = city.needs_attention("public")
    assert 1 <= len(found) <= 3
    text = str(parts["attention"])
    assert "Needs attention" in text
    for item in found:
        assert item.site_id in text and item.name in text
    assert "far above" not in str(parts["summary"])  # named above, only counted here


def test_a_faulty_sensor_is_sensor_healths_never_an_anomaly(
    city: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = city.needs_attention("public")[0]
    monkeypatch.setattr(city, "faulty_sites", lambda role, moment=None: {first.site_id})
    assert first.site_id not in {i.site_id for i in city.needs_attention("public")}
    view = city.view("public")
    lines = {"sources": [], "as_of": "", "map_updated": ""}
    parts = cockpit._frame(city, view, None, "state", "en", lines)
    assert first.site_id not in str(parts["attention"])
    assert first.site_id not in str(parts["anomalies"])


def test_a_needs_attention_link_centres_the_map_and_opens_the_site(city: City) -> None:
    item = city.needs_attention("public")[0]
    out = cockpit.attend_site(city, "public", item.site_id)
    assert out["site"] == item.site_id
    assert out["viewport"]["center"] == [pytest.approx(item.lat), pytest.approx(item.lon)]
    assert out["viewport"]["zoom"] == cockpit.ATTEND_ZOOM
    with pytest.raises(PreventUpdate):
        cockpit.attend_site(city, "public", "nowhere:0")


def test_a_replayed_frame_is_whole_at_its_moment(city: City) -> None:
    anchor = tm.anchor_for(city.clock())
    # Two days back: every source but parking (a day of history here) has data then.
    frame = _frame(city, offset=-2 * 24 * 60, anchor=anchor)
    moment = tm.moment_of(anchor, -2 * 24 * 60)
    assert moment is not None
    parts = frame["parts"]
    when = pd.Timestamp(moment).tz_convert(city.config.city.timezone)
    assert f"{when:%H:%M}" in str(parts["summary"])  # the summary is at the moment
    assert "No Parking occupancy history at this moment." in str(parts["kpis"])
    assert "No Traffic flow history" not in str(parts["kpis"])
    live_targets, _ = city.targets_and_co2("public")
    then_targets, then_co2 = city.targets_and_co2("public", moment)
    assert then_co2 is None or then_co2.day == (when - pd.Timedelta(days=1)).date()
    assert city.targets_and_co2("public", moment + pd.Timedelta(hours=1)) == (
        then_targets,
        then_co2,
    )
    assert [t.key for t in then_targets] == [t.key for t in live_targets]
    assert "Needs attention" in str(parts["attention"])


def test_a_parking_bay_trend_is_the_occupied_share_around_it(city: City) -> None:
    sites = city.view("public").sites
    site = sites[sites["domain"] == "parking"].iloc[0]
    panel = cockpit.trend_panel(city, "public", str(site["id"]), "24h", None, "en", False)
    figure = panel["chart"].figure
    names = [trace.name for trace in figure.data]
    assert names == ["Occupancy (%)"]
    values = [v for trace in figure.data for v in trace.y]
    assert values and all(0 <= v <= 100 for v in values)
    assert any(0 < v < 100 for v in values)  # a share of many bays, not a 0/1 step
    assert "within 150 m" in figure.layout.title.text


def test_charts_keep_their_toolbar_off_the_title(city: City) -> None:
    sites = city.view("public").sites
    site = sites[sites["domain"] != "parking"].iloc[0]
    panel = cockpit.trend_panel(city, "public", str(site["id"]), "24h", None, "en", False)
    assert panel["chart"].config["displayModeBar"] == "hover"


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


def test_a_playing_replay_prepares_its_next_moments(city: City) -> None:
    anchor = tm.anchor_for(city.clock())
    ahead = cockpit.moments_ahead(anchor, -60, 15)
    assert ahead == [
        tm.moment_of(anchor, -45),
        tm.moment_of(anchor, -30),
        tm.moment_of(anchor, -15),
    ]
    assert cockpit.moments_ahead(anchor, -15, 15) == []  # live is never prepared
    assert cockpit.moments_ahead(anchor, 0, 15) == []
    assert cockpit.moments_ahead(anchor, -60, 7) == []  # no slider steps by 7 minutes
    thread = city.prepare_moments("public", ahead[:1])
    assert thread is not None
    thread.join(120)
    moment = ahead[0]
    assert moment is not None
    kept = city.answers.peek(city.version(), "public", ("view-at", int(moment.timestamp())))
    assert kept is not None and kept.generated == moment


def test_panels_are_rendered_once_per_view_and_language(
    city: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    view = city.view("public")
    made: list[str] = []
    strip = cockpit.kpi_strip

    def counted(*args: Any) -> Any:
        made.append(args[-1])
        return strip(*args)

    monkeypatch.setattr(cockpit, "kpi_strip", counted)
    german = cockpit._panels(city, view, "de")
    english = cockpit._panels(city, view, "en")
    assert cockpit._panels(city, view, "de") == german
    assert made.count("de") <= 1 and made.count("en") <= 1  # each language made once
    assert german["as_of"].startswith("Datenstand ") and english["as_of"].startswith("Data as of")
    assert "Aktualisiert" in str(german["kpis"]) and "Updated" not in str(german["kpis"])
    assert "Updated" in str(english["kpis"]) and "per counted intersection" in str(english["kpis"])
    frame = cockpit.live_frame(city, view, "de", "state")
    for english_words in ("Updated", "Data behind this", "Sensor health", "Traffic flow"):
        assert english_words not in str(frame), english_words


def test_the_header_says_when_the_data_is_from_in_the_viewers_words(city: City) -> None:
    view = city.view("public")
    # The module's clock stands on Tuesday 24 November (a browser test moves its hour).
    english, german = cockpit._as_of(city, view, "en"), cockpit._as_of(city, view, "de")
    assert re.fullmatch(r"Data as of Tue 24 Nov \d\d:\d\d", english), english
    assert re.fullmatch(r"Datenstand Di\. 24\. Nov\. \d\d:\d\d", german), german
    assert english[-5:] == german[-5:]
    assert cockpit.map_updated(city, view, "de").startswith("Karte aktualisiert: Verkehr ")
