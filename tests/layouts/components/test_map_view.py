"""The live map made legible in a real headless Chromium (assets/mapview.js with
assets/map.js), one app server: fitted to the data, no overlapping markers, a hull under
sites outside the districts, one-line credits, popups above the controls, a scale bar and
a place search; at 1920×1080 and on a 390×844 phone."""

from __future__ import annotations

from pathlib import Path

import pytest
from dash.testing.composite import DashComposite

from tests.browser import AppServers, own_errors
from wiring.runtime import Runtime

pytestmark = pytest.mark.browser

DESKTOP, PHONE = (1920, 1080), (390, 844)

MAP = "window.dash_clientside.cockpit.maps.slice(-1)[0]"

OVERLAPS = """
const icons = Array.from(document.querySelectorAll('.cc-map .leaflet-marker-pane .cc-marker'));
const r = icons.map(e => e.getBoundingClientRect());
const found = [];
for (let i = 0; i < r.length; i++) for (let j = i + 1; j < r.length; j++) {
  const ax = r[i].left + r[i].width / 2, ay = r[i].top + r[i].height / 2;
  const bx = r[j].left + r[j].width / 2, by = r[j].top + r[j].height / 2;
  const need = Math.max(r[i].width, r[i].height) / 2 + Math.max(r[j].width, r[j].height) / 2;
  if (Math.hypot(ax - bx, ay - by) < need - 0.5) {
    found.push([icons[i].textContent, icons[j].textContent]);
  }
}
return [icons.length, found];
"""


# Controls a visible popup overlaps (their class names); [] when it is clear of them all
# and wholly inside the map.
CLEAR_OF_CONTROLS = """
const popup = document.querySelector('.cc-map .leaflet-popup').getBoundingClientRect();
const m = document.querySelector('.cc-map').getBoundingClientRect();
if (popup.left < m.left || popup.right > m.right || popup.top < m.top
    || popup.bottom > m.bottom) return ['outside the map'];
return Array.from(document.querySelectorAll('.cc-map .leaflet-control')).filter(el => {
  const c = el.getBoundingClientRect();
  return c.width && popup.left < c.right && c.left < popup.right
      && popup.top < c.bottom && c.top < popup.bottom;
}).map(el => el.className);
"""


@pytest.fixture(scope="module")
def runtime(app_server: AppServers) -> Runtime:
    return app_server.city()


@pytest.fixture(scope="module")
def duo(app_server: AppServers, runtime: Runtime) -> DashComposite:
    return app_server.browser(runtime, size=DESKTOP)


def open_map(duo: DashComposite, size: tuple[int, int]) -> None:
    duo.driver.set_window_size(*size)
    duo.driver.get(duo.server_url + "/")
    duo.wait_for_element('.cc-map[data-cc-ready="1"]', timeout=40)
    duo.wait_for_element(".cc-map .leaflet-marker-pane .cc-marker", timeout=20)


def settle(duo: DashComposite) -> None:
    """Wait until the markers are drawn and kept apart after the last move."""
    duo.driver.execute_async_script(
        "const done = arguments[arguments.length - 1]; setTimeout(done, 900);"
    )


def sites(runtime: Runtime) -> list[tuple[float, float]]:
    view = runtime.city.view("public")
    return [(float(a), float(b)) for a, b in zip(view.sites["lat"], view.sites["lon"], strict=True)]


def test_map_functions_on_known_points(duo: DashComposite) -> None:
    open_map(duo, DESKTOP)
    ring = duo.driver.execute_script(
        "return window.dash_clientside.cockpit.mapHullOf("
        "[[0,0],[0,2],[2,2],[2,0],[1,1],[0.5,1.5]]);"
    )
    assert sorted(map(tuple, ring)) == [(0, 0), (0, 2), (2, 0), (2, 2)]
    offsets = duo.driver.execute_script(
        "return window.dash_clientside.cockpit.mapSeparate("
        "[{x: 100, y: 100, r: 15}, {x: 100, y: 100, r: 15}, {x: 300, y: 100, r: 15}], 2);"
    )
    (ax, ay), (bx, by), far = offsets
    assert ((bx - ax) ** 2 + (by - ay) ** 2) ** 0.5 >= 32 - 0.01  # side by side now
    assert far == [0, 0]  # far from both: unmoved


def check_view(duo: DashComposite, runtime: Runtime, size: tuple[int, int], shot: Path) -> None:
    open_map(duo, size)
    settle(duo)
    # Fitted to the data: every site lies within the opening view.
    outside = duo.driver.execute_script(
        f"const b = {MAP}.getBounds(); return arguments[0].filter(p => !b.contains(p)).length;",
        [list(p) for p in sites(runtime)],
    )
    assert outside == 0
    count, overlapping = duo.driver.execute_script(OVERLAPS)
    assert count > 5 and overlapping == []
    # Every site lies on the hull drawn under the districts (none on blank grey).
    uncovered = duo.driver.execute_script(
        """
        const ring = window.dash_clientside.cockpit.mapHull;
        function inside(p) {
          let c = false;
          for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
            const a = ring[i], b = ring[j];
            if ((a[0] > p[0]) !== (b[0] > p[0]) &&
                p[1] < (b[1] - a[1]) * (p[0] - a[0]) / (b[0] - a[0]) + a[1]) c = !c;
          }
          return c;
        }
        return arguments[0].filter(p => !inside(p)).length;
        """,
        [list(p) for p in sites(runtime)],
    )
    assert uncovered == 0
    assert duo.find_element(".cc-map .cc-hull")
    # The credits are one line, opening on demand; a scale bar in metres.
    credits = duo.find_element(".cc-map .leaflet-control-attribution")
    assert credits.size["height"] < 30
    assert duo.find_element(".cc-map .leaflet-control-scale-line").text.endswith(("m", "km"))
    duo.driver.save_screenshot(str(shot))


def test_desktop_map_is_legible(duo: DashComposite, runtime: Runtime, screenshots: Path) -> None:
    check_view(duo, runtime, DESKTOP, screenshots / "map-desktop.png")
    assert own_errors(duo, runtime.config) == []


def test_phone_map_is_legible(duo: DashComposite, runtime: Runtime, screenshots: Path) -> None:
    check_view(duo, runtime, PHONE, screenshots / "map-phone.png")


def test_search_finds_a_district_and_opens_a_site(
    duo: DashComposite, runtime: Runtime, screenshots: Path
) -> None:
    open_map(duo, DESKTOP)
    duo.wait_for_element(".cc-map .cc-area-label", timeout=20)  # the districts are drawn
    field = duo.find_element(".cc-map .cc-place-search input")
    field.click()
    options = duo.driver.execute_script(
        "return Array.from(document.querySelectorAll('.cc-place-search option')).map(o => o.value);"
    )
    assert "Carlton" in options
    field.send_keys("Carlton\n")
    settle(duo)
    centre = duo.driver.execute_script(f"const c = {MAP}.getCenter(); return [c.lat, c.lng];")
    assert -37.81 < centre[0] < -37.79 and 144.96 < centre[1] < 144.98  # Carlton
    view = runtime.city.view("public")
    site = view.sites[view.sites["domain"] == "air"].iloc[0]
    field.clear()
    field.send_keys(f"{site['name']}\n")
    duo.wait_for_contains_text(".cc-map .leaflet-popup .cc-popup-name", str(site["name"]), 20)
    settle(duo)
    assert duo.driver.execute_script(CLEAR_OF_CONTROLS) == []
    # A popup opened under the layer list (top right) is moved clear of it.
    duo.driver.execute_script(
        f"const m = {MAP}; const c = m.getContainer().getBoundingClientRect();"
        "const ll = m.containerPointToLatLng([c.width - 60, 40]);"
        "L.popup().setLatLng(ll).setContent('probe').openOn(m);"
    )
    settle(duo)
    assert duo.driver.execute_script(CLEAR_OF_CONTROLS) == []
    assert duo.find_element(".cc-map .leaflet-popup-content").text == "probe"
    duo.driver.save_screenshot(str(screenshots / "map-search.png"))
