"""The cockpit's time machine in a real headless Chromium: replayed markers are the
history's values at the chosen moment; "live" returns to now; play advances."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dash.testing.composite import DashComposite
from selenium.webdriver.common.keys import Keys

from cockpit.present.i18n import format_time
from layouts.components.timemachine import anchor_for
from tests.browser import T0, AppServers, Clock, own_errors
from wiring.runtime import Runtime

pytestmark = pytest.mark.browser

THUMB = "#cc-tm-slider [role=slider]"


@pytest.fixture(scope="module")
def runtime(app_server: AppServers, clock: Clock) -> Runtime:
    return app_server.city(clock)


@pytest.fixture(scope="module")
def duo(app_server: AppServers, runtime: Runtime) -> DashComposite:
    dc = app_server.browser(runtime)
    dc.wait_for_element(".leaflet-marker-pane .cc-marker[data-site]", timeout=30)
    # The map has fitted itself to the sites: the single markers from here on stay single.
    dc.wait_for_element('.cc-map[data-cc-ready="1"]', timeout=30)
    # Close in on a traffic site, so that traffic sites are single markers beside the rest.
    view = runtime.city.view("public")
    site = view.sites[view.sites["domain"] == "traffic"].iloc[0]
    dc.driver.execute_script(
        "var m = window.dash_clientside.cockpit.maps[0]; m._ccUserMoved = true;"
        "m.setView([arguments[0], arguments[1]], 15, {animate: false});",
        float(site["lat"]),
        float(site["lon"]),
    )
    dc.wait_for_element(f'.cc-marker[data-site="{site["id"]}"]', timeout=30)
    return dc


def _titles(duo: DashComposite) -> dict[str, str]:
    """Each unclustered marker's site id -> its tooltip ("name: value (state)")."""
    script = """
        var out = {};
        document.querySelectorAll('.leaflet-marker-pane .cc-marker[data-site]')
            .forEach(function (el) { out[el.dataset.site] = el.getAttribute('title'); });
        return out;
    """
    found: dict[str, str] = duo.driver.execute_script(script)
    return found


def _expected(runtime: Runtime, moment: datetime | None) -> dict[str, str]:
    """What each site's tooltip must say at ``moment`` (None: live), from the city."""
    city = runtime.city
    view = city.view("public") if moment is None else city.view_at("public", moment)
    out = {}
    for layer_id in view.layers:
        table = view.layer_table(layer_id, city.config.city.timezone)
        for row in table.itertuples(index=False):
            out[row.id] = f"{row.name}: {row.value} ({row.state})"
    return out


def _offset(duo: DashComposite) -> int:
    return int(float(duo.find_element(THUMB).get_attribute("aria-valuenow")))


def _wait_titles(duo: DashComposite, wanted: dict[str, str], sites: list[str]) -> None:
    def matches() -> bool:
        shown = _titles(duo)
        return all(shown.get(s) == wanted[s] for s in sites)

    deadline = time.monotonic() + 60
    while not matches() and time.monotonic() < deadline:
        time.sleep(0.2)
    shown = _titles(duo)
    assert {s: shown.get(s) for s in sites} == {s: wanted[s] for s in sites}


def test_slider_replays_recorded_values(
    duo: DashComposite, runtime: Runtime, screenshots: Path
) -> None:
    live = _expected(runtime, None)
    shown = _titles(duo)
    single = sorted(s for s in shown if s in live and not s.startswith("parking:"))
    # A few single markers of each kind the fitted map shows, traffic among them.
    sites = [s for kind in ("traffic:", "air:", "pedestrians:")
             for s in [x for x in single if x.startswith(kind)][:4]]  # fmt: skip
    assert sites, "no single markers on the map"
    assert {s: shown[s] for s in sites} == {s: live[s] for s in sites}
    thumb = duo.find_element(THUMB)
    thumb.click()
    for _ in range(12):  # 12 steps of 15 minutes: three hours back
        thumb.send_keys(Keys.ARROW_LEFT)
    duo.wait_for_contains_text("#cc-tm-label", "Replay", timeout=60)
    offset = _offset(duo)
    assert offset == -180
    anchor = anchor_for(T0.to_pydatetime())
    moment = datetime.fromtimestamp(anchor, UTC) + timedelta(minutes=offset)
    label = "Replay: " + format_time(moment, "en", runtime.config.city.timezone, "EEE d MMM HH:mm")
    duo.wait_for_text_to_equal("#cc-tm-label", label, timeout=60)
    past = _expected(runtime, moment)
    changed = [s for s in sites if past.get(s) and past[s] != live[s]]
    assert changed, "the recorded values three hours ago should differ from now"
    _wait_titles(duo, past, [s for s in sites if s in past])
    # Straight from the history store: the traffic sites' last counts at that moment.
    shown = _titles(duo)
    traffic = [s for s in sites if s.startswith("traffic:") and s in past]
    assert traffic
    for site in traffic:
        recorded = runtime.history.window(
            [site], moment - timedelta(hours=1), moment + timedelta(seconds=1), "vehicle_flow"
        )
        assert f": {recorded['value'].iloc[-1]:,.0f} veh/h (" in shown[site]
    assert "Replay" in duo.find_element("#cc-tm-label").text
    duo.driver.save_screenshot(str(screenshots / "cockpit-timemachine.png"))
    assert own_errors(duo, runtime.config) == []


def test_live_returns_to_now(duo: DashComposite, runtime: Runtime) -> None:
    duo.find_element("#cc-tm-back").click()
    duo.wait_for_contains_text("#cc-tm-label", "Replay", timeout=60)
    duo.find_element("#cc-tm-live").click()
    duo.wait_for_text_to_equal("#cc-tm-label", "Live", timeout=60)
    assert _offset(duo) == 0
    live = _expected(runtime, None)
    shown = _titles(duo)
    single = sorted(s for s in shown if s in live and not s.startswith("parking:"))
    # A few single markers of each kind the fitted map shows, traffic among them.
    sites = [s for kind in ("traffic:", "air:", "pedestrians:")
             for s in [x for x in single if x.startswith(kind)][:4]]  # fmt: skip
    _wait_titles(duo, live, sites)


def test_play_advances_the_slider(duo: DashComposite, runtime: Runtime) -> None:
    duo.find_element("#cc-tm-play").click()
    duo.wait_for_contains_text("#cc-tm-label", "Replay", timeout=60)
    first = _offset(duo)
    assert first < 0
    deadline = time.monotonic() + 60
    while _offset(duo) <= first and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _offset(duo) > first
    duo.find_element("#cc-tm-play").click()  # pause
    paused = _offset(duo)
    time.sleep(2.5)
    assert _offset(duo) == paused
    duo.find_element("#cc-tm-live").click()
    duo.wait_for_text_to_equal("#cc-tm-label", "Live", timeout=60)
    assert own_errors(duo, runtime.config) == []
