"""The public kiosk in a real headless Chromium, against one app server for the module.

The city is the demo city plus an internal source and layer ("staffcount", a second set
of pedestrian counters for staff only), so that every test can check that nothing
internal ever reaches a kiosk, also when a callback is called directly over HTTP.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests
from dash.testing.composite import DashComposite
from selenium.webdriver.common.by import By

from cockpit.auth import hash_password
from cockpit.config import (
    CityConfig,
    KioskScreenConfig,
    LayerConfig,
    UserConfig,
    default_config_path,
    load_config,
)
from cockpit.present.demo import credit_text
from cockpit.present.i18n import format_number
from cockpit.present.kiosk_reports import MAP_REPORTS, kiosk_reports
from cockpit.reports import Report, ReportChange
from cockpit.state.journal import Notice
from layouts.components.kiosk_map import overview_svg
from layouts.pages.kiosk import published_reports, qr_data_uri
from tests.a11y import assert_accessible
from tests.browser import T0, AppServers, Clock, own_errors
from wiring.runtime import Runtime

pytestmark = pytest.mark.browser

INTERNAL_SOURCE = "staffcount"
INTERNAL_NAME = "Staff crowd counters (internal)"
PASSWORD = "kiosk-test-password-1"


def snapshot(duo: DashComposite, path: Path) -> None:
    """A screenshot of one slide, not of two mid-way through their cross-fade."""
    duo.driver.execute_script(
        "const s = document.createElement('style');"
        "s.textContent = '.cc-kiosk .cc-slide { transition: none !important; }';"
        "document.head.appendChild(s);"
    )
    duo.driver.save_screenshot(str(path))


def kiosk_config(poll_seconds: float = 1, reload_hours: float = 6) -> CityConfig:
    """The demo city with an internal pedestrian source and layer, two signed-in users and
    a kiosk that rotates every 3 s and refreshes every ``poll_seconds``."""
    config = load_config(default_config_path())
    config.sources[INTERNAL_SOURCE] = config.sources["pedestrians"].model_copy(
        update={"name": INTERNAL_NAME, "access": "internal", "backfill_hours": 0}
    )
    config.layers[INTERNAL_SOURCE] = LayerConfig(
        domain="pedestrians",
        title="Staff counters",
        sources=[INTERNAL_SOURCE],
        metric="pedestrians",
        thresholds=[250, 1000],
        labels=["quiet", "busy", "crowded"],
        access="internal",
    )
    digest = hash_password(PASSWORD)
    config.access.users = {
        "sam": UserConfig(role="staff", password_hash=digest),
        "erin": UserConfig(role="executive", password_hash=digest),
    }
    config.ui.poll_seconds = poll_seconds
    config.kiosk.rotate_seconds = 3
    config.kiosk.reload_hours = reload_hours
    config.kiosk.languages = ["en", "de"]
    config.kiosk.night_start = "22:00"
    config.kiosk.night_end = "06:00"
    config.kiosk.ids = ["station-3"]  # a kiosk the city knows: it reports
    config.kiosk.screens = {
        "station": KioskScreenConfig(
            title="Flinders Street Station",
            slides=["overview", "parking"],
            languages=[],
            position=[-37.8179, 144.9670],
        )
    }
    return config


def signed_in(base: str, user: str) -> requests.Session:
    """A requests session signed in as ``user`` through the real sign-in form."""
    session = requests.Session()
    form = session.get(f"{base}/signin", timeout=10).text
    token = re.search(r'name="csrf" value="([^"]+)"', form)
    assert token is not None
    answer = session.post(
        f"{base}/signin",
        data={"user": user, "password": PASSWORD, "csrf": token.group(1), "next": "/"},
        timeout=30,
        allow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return session


@pytest.fixture(scope="module")
def runtime(app_server: AppServers, clock: Clock) -> Runtime:
    return app_server.city(clock, kiosk_config())


@pytest.fixture(scope="module")
def duo(app_server: AppServers, runtime: Runtime) -> DashComposite:
    dc = app_server.browser(runtime, size=(1920, 1200))
    viewport(dc, 1920, 1080)
    return dc


def viewport(duo: DashComposite, width: int, height: int) -> None:
    """Make the page exactly ``width`` x ``height`` CSS pixels, like a kiosk screen."""
    duo.driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )


def open_kiosk(duo: DashComposite, path: str = "/kiosk?id=station-3") -> None:
    duo.driver.get(duo.server_url + path)
    duo.wait_for_element("#cc-kiosk .cc-slide.cc-active", timeout=30)


def script(duo: DashComposite, code: str, *args: Any) -> Any:
    return duo.driver.execute_script(code, *args)


def wait_until(check: Any, timeout: float = 15, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


# The smallest computed font size, in px, of each kind of provenance text on any slide.
_FONT_SIZES = """
const out = {};
for (const cls of ['cc-age', 'cc-about', 'cc-k-credit', 'cc-demo-badge']) {
  const sizes = Array.from(document.querySelectorAll('#cc-kiosk .' + cls))
    .map(el => parseFloat(getComputedStyle(el).fontSize));
  if (sizes.length) { out[cls] = Math.min(...sizes); }
}
return out;
"""


def min_font_sizes(duo: DashComposite) -> dict[str, float]:
    return {k: float(v) for k, v in script(duo, _FONT_SIZES).items()}


# Text cut off with an ellipsis anywhere in the provenance lines and the demo badge.
_CUT = """
return Array.from(document.querySelectorAll(
  '#cc-kiosk .cc-k-credit, #cc-kiosk .cc-demo-badge, #cc-kiosk .cc-about, #cc-kiosk .cc-tile'
)).filter(el => el.scrollWidth > el.clientWidth + 1
             || getComputedStyle(el).textOverflow === 'ellipsis')
  .map(el => el.textContent);
"""


_LAYOUT_PROBLEMS = """
const out = [];
const doc = document.documentElement;
if (doc.scrollWidth > window.innerWidth || doc.scrollHeight > window.innerHeight) {
  out.push('page scrolls: ' + doc.scrollWidth + 'x' + doc.scrollHeight);
}
document.querySelectorAll('#cc-kiosk .cc-slide').forEach(s => {
  const main = s.querySelector('.cc-slide-main');
  for (const el of [s, main]) {
    if (el && el.scrollHeight > el.clientHeight + 1) {
      out.push(s.dataset.slide + '/' + s.dataset.lang + ' overflows by '
               + (el.scrollHeight - el.clientHeight) + 'px');
    }
  }
});
return out;
"""

# Text of every element's own text nodes, except names (places, sources, the city).
_TEXTS = """
const out = new Set();
const root = document.getElementById('cc-kiosk');
root.querySelectorAll('*').forEach(el => {
  if (el.closest('.cc-name, .cc-k-credit, .cc-clock, .cc-k-credits')) { return; }
  let text = '';
  el.childNodes.forEach(n => { if (n.nodeType === 3) { text += n.textContent; } });
  text = text.trim();
  if (/[A-Za-zÄÖÜäöüß]{2,}/.test(text)) { out.add(text); }
});
root.querySelectorAll('img[alt]').forEach(img => out.add(img.alt));
return Array.from(out);
"""


def test_kiosk_landscape_fits_and_is_clean(
    duo: DashComposite, runtime: Runtime, screenshots: Path
) -> None:
    open_kiosk(duo)
    assert script(duo, "return [window.innerWidth, window.innerHeight];") == [1920, 1080]
    snapshot(duo, screenshots / "kiosk-landscape.png")
    assert script(duo, _LAYOUT_PROBLEMS) == []
    # Headline figures are at least 64 px high at 1080p.
    for slide in duo.driver.find_elements(By.CSS_SELECTOR, ".cc-slide .cc-answer"):
        size = float(
            script(duo, "return parseFloat(getComputedStyle(arguments[0]).fontSize)", slide)
        )
        assert size >= 64
    active = duo.find_element(".cc-slide.cc-active .cc-question")
    assert float(script(duo, "return arguments[0].getBoundingClientRect().height", active)) >= 64
    # Age, provenance and "how this data is collected" stay readable at 1080p.
    assert min_font_sizes(duo) == {
        "cc-age": 32.0,
        "cc-about": 30.0,
        "cc-k-credit": 26.0,
        "cc-demo-badge": 32.0,
    }
    # Dark theme, and nothing that needs a pointer.
    bg = script(duo, "return getComputedStyle(document.getElementById('cc-kiosk')).backgroundColor")
    assert sum(int(c) for c in re.findall(r"\d+", bg)[:3]) < 100
    assert duo.driver.find_elements(By.CSS_SELECTOR, "#cc-kiosk button, #cc-kiosk input") == []
    assert duo.driver.find_elements(By.CSS_SELECTOR, "#cc-kiosk [title]") == []
    assert own_errors(duo, runtime.config) == []
    assert_accessible(duo.driver, "#cc-kiosk")


def test_every_domain_slide_answers_with_its_age(duo: DashComposite, runtime: Runtime) -> None:
    open_kiosk(duo)
    view = runtime.city.view("public")
    for key in ("air", "pedestrians", "parking", "traffic"):
        slide = duo.find_element(f'.cc-slide[data-slide="{key}"][data-lang="en"]')
        assert slide.find_element(By.CSS_SELECTOR, ".cc-answer").get_attribute("textContent")
        age = slide.find_element(By.CSS_SELECTOR, ".cc-age-text").get_attribute("textContent")
        assert age.startswith("Updated "), age
        credits = slide.find_element(By.CSS_SELECTOR, ".cc-k-credits").get_attribute("textContent")
        assert credit_text(view.sources[key], "en") in credits
        badge = slide.find_element(By.CSS_SELECTOR, ".cc-demo-badge").get_attribute("textContent")
        assert badge == "Demo: replayed and simulated data"
    german = duo.find_element('.cc-slide[data-slide="air"][data-lang="de"] .cc-k-credits')
    assert "wiedergegeben; 10 Orte simuliert" in german.get_attribute("textContent")
    assert "simulated" not in german.get_attribute("textContent")
    # Every overview tile says what its number counts.
    tiles = duo.driver.find_elements(
        By.CSS_SELECTOR, '.cc-slide[data-slide="overview"][data-lang="en"] .cc-tile'
    )
    units = [
        t.find_element(By.CSS_SELECTOR, ".cc-tile-unit").get_attribute("textContent") for t in tiles
    ]
    assert len(units) == 4 and "free places" in units and all(units)
    # The figures are the public KPIs, formatted for the language.
    kpis = {k.key: k for k in view.kpis}
    footfall = duo.find_element('.cc-slide[data-slide="pedestrians"][data-lang="de"] .cc-figure')
    assert format_number(kpis["footfall"].value or 0, "de") in footfall.get_attribute("textContent")


def test_slides_rotate_by_themselves_with_an_indicator(duo: DashComposite) -> None:
    open_kiosk(duo, "/kiosk/station?id=platform-1")
    slides = duo.driver.find_elements(By.CSS_SELECTOR, ".cc-slide")
    # The station's screen set: two slides, in English then German.
    plan = [(s.get_attribute("data-slide"), s.get_attribute("data-lang")) for s in slides]
    assert plan == [("overview", "en"), ("parking", "en"), ("overview", "de"), ("parking", "de")]

    def showing() -> tuple[str, str]:
        el = duo.find_element(".cc-slide.cc-active")
        return el.get_attribute("data-slide"), el.get_attribute("data-lang")

    seen = {showing()}
    wait_until(lambda: seen.add(showing()) or len(seen) == 4, 20, "all four slides")
    # The indicator: the active slide's own dot, its number, and a running progress bar.
    active = duo.find_element(".cc-slide.cc-active")
    dots = active.find_elements(By.CSS_SELECTOR, ".cc-dot")
    assert len(dots) == 2 and len(active.find_elements(By.CSS_SELECTOR, ".cc-dot-on")) == 1
    time.sleep(1.0)
    bar = duo.find_element(".cc-slide.cc-active .cc-progress-bar")
    assert float(script(duo, "return arguments[0].getBoundingClientRect().width", bar)) > 0
    # The QR caption follows the language of the slide showing.
    lang = duo.find_element("#cc-kiosk").get_attribute("data-lang")
    captions = duo.driver.find_elements(By.CSS_SELECTOR, ".cc-qr-caption [data-kiosk-lang]")
    shown = [c.get_attribute("data-kiosk-lang") for c in captions if c.is_displayed()]
    assert shown == [lang]


def test_portrait_screen_fits(duo: DashComposite, runtime: Runtime, screenshots: Path) -> None:
    viewport(duo, 1080, 1920)
    try:
        open_kiosk(duo)
        assert script(duo, "return [window.innerWidth, window.innerHeight];") == [1080, 1920]
        assert script(duo, _LAYOUT_PROBLEMS) == []
        # Read from a few metres: age, provenance and "how this data is collected" are
        # at least 40 px on every slide, and nothing is cut off.
        assert min(min_font_sizes(duo).values()) >= 40
        assert set(min_font_sizes(duo)) == {"cc-age", "cc-about", "cc-k-credit", "cc-demo-badge"}
        assert script(duo, _CUT) == []
        # The free half of a counting slide: today against usual, as a picture.
        chart = duo.find_element(
            '.cc-slide[data-slide="pedestrians"][data-lang="en"] .cc-today img'
        )
        assert chart.get_attribute("alt").startswith("Today so far:")
        assert "notices" not in {
            s.get_attribute("data-slide") for s in duo.find_elements(".cc-slide")
        }  # no notice: no empty notices slide
        snapshot(duo, screenshots / "kiosk-portrait.png")
        assert own_errors(duo, runtime.config) == []
    finally:
        viewport(duo, 1920, 1080)


def test_portrait_station_answers_parking_for_where_it_stands(
    duo: DashComposite, runtime: Runtime, screenshots: Path
) -> None:
    viewport(duo, 1080, 1920)
    try:
        open_kiosk(duo, "/kiosk/station?id=platform-1")
        assert script(duo, _LAYOUT_PROBLEMS) == []
        parking = '.cc-slide[data-slide="parking"][data-lang="en"]'
        label = duo.find_element(f"{parking} .cc-figure-label").get_attribute("textContent")
        assert label == "free parking spaces within 500 m of here"
        here = duo.find_element(f"{parking} .cc-nearby-map")
        assert here.get_attribute("alt") == "You are here: Flinders Street Station"
        size = script(
            duo, "const r = arguments[0].getBoundingClientRect(); return [r.width, r.height];", here
        )
        assert size[0] >= 300 and size[1] >= 150, size
        units = [
            u.get_attribute("textContent")
            for u in duo.driver.find_elements(By.CSS_SELECTOR, f"{parking} .cc-item-unit")
        ]
        assert units and all(u.endswith("min walk") for u in units)
        # Show the parking slide alone for the picture.
        script(
            duo,
            "document.querySelectorAll('.cc-slide').forEach(s => {"
            " if (!(s.dataset.slide === 'parking' && s.dataset.lang === 'en')) { s.remove(); } });",
        )
        time.sleep(0.5)
        snapshot(duo, screenshots / "kiosk-portrait-station-parking.png")
        assert own_errors(duo, runtime.config) == []
    finally:
        viewport(duo, 1920, 1080)


def test_german_changes_every_visible_string(
    duo: DashComposite, runtime: Runtime, screenshots: Path
) -> None:
    open_kiosk(duo, "/kiosk?lang=en")
    english = set(script(duo, _TEXTS))
    assert {s.get_attribute("data-lang") for s in duo.find_elements(".cc-slide")} == {"en"}
    open_kiosk(duo, "/kiosk?lang=de")
    german = set(script(duo, _TEXTS))
    assert {s.get_attribute("data-lang") for s in duo.find_elements(".cc-slide")} == {"de"}
    assert "Ist die Luft heute gut?" in german and "Is the air good today?" in english
    assert len(english) > 25
    assert english & german == set()
    duo.wait_for_element('.cc-slide.cc-active[data-lang="de"]')
    snapshot(duo, screenshots / "kiosk-de.png")
    assert own_errors(duo, runtime.config) == []


def test_qr_code_opens_the_citizen_page(duo: DashComposite) -> None:
    open_kiosk(duo)
    qr = duo.find_element("#cc-kiosk-qr")
    payload = qr.get_attribute("data-payload")
    assert payload == duo.server_url.rstrip("/") + "/c"
    assert qr.get_attribute("src") == qr_data_uri(payload)
    assert qr.size["width"] >= 200
    decoded = decode_qr(qr.screenshot_as_png)
    assert decoded == payload


def decode_qr(png: bytes) -> str:
    """The text of the QR code in a PNG screenshot (zxing-cpp)."""
    import io

    import zxingcpp
    from PIL import Image

    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)).convert("L"))
    assert found, "no QR code found in the screenshot"
    return str(found[0].text)


def refresh_request(params: Any, state: Any = None) -> dict[str, Any]:
    """The kiosk's refresh callback as the browser posts it, with ``params`` as the
    kiosk's parameters and ``state`` (default: a forged key) as what it shows."""
    return {
        "output": "..cc-kiosk-body.children...cc-kiosk.className...cc-kiosk-state.data..",
        "outputs": [
            {"id": "cc-kiosk-body", "property": "children"},
            {"id": "cc-kiosk", "property": "className"},
            {"id": "cc-kiosk-state", "property": "data"},
        ],
        "inputs": [{"id": "cc-kiosk-ask", "property": "data", "value": 7}],
        "state": [
            {"id": "cc-kiosk-params", "property": "data", "value": params},
            {
                "id": "cc-kiosk-state",
                "property": "data",
                "value": {"key": "forged"} if state is None else state,
            },
        ],
        "changedPropIds": ["cc-kiosk-ask.data"],
    }


def test_callbacks_never_answer_with_internal_data(duo: DashComposite, runtime: Runtime) -> None:
    base = duo.server_url.rstrip("/")
    internal = runtime.city.view("executive")
    public = runtime.city.view("public")
    assert INTERNAL_SOURCE in internal.sources and INTERNAL_SOURCE not in public.sources
    staff_total = next(k for k in internal.kpis if k.key == "footfall").value
    public_total = next(k for k in public.kpis if k.key == "footfall").value
    assert staff_total != public_total
    request = refresh_request(
        {
            "screen": "default",
            "id": "probe",
            "lang": "en",
            "role": "executive",
            "sources": [INTERNAL_SOURCE],
            "layer": INTERNAL_SOURCE,
        }
    )
    for who in (None, "erin"):
        session = signed_in(base, who) if who else requests.Session()
        answer = session.post(f"{base}/_dash-update-component", json=request, timeout=60)
        assert answer.status_code == 200, answer.text[:500]
        text = answer.text
        assert INTERNAL_SOURCE not in text and INTERNAL_NAME not in text
        assert format_number(public_total or 0, "en") in text
        assert format_number(staff_total or 0, "en") not in text
        picture = session.get(f"{base}/kiosk-map.svg", timeout=30).text
        assert picture == overview_svg(runtime.config, public)
        assert picture != overview_svg(runtime.config, internal)
    # Nonsense parameters still get the public default screen, never an error.
    request["state"] = [
        {"id": "cc-kiosk-params", "property": "data", "value": {"screen": 5, "id": {"a": 1}}},
        {"id": "cc-kiosk-state", "property": "data", "value": "garbage"},
    ]
    answer = requests.post(f"{base}/_dash-update-component", json=request, timeout=60)
    assert answer.status_code == 200
    assert "Is the air good today?" in answer.text and INTERNAL_SOURCE not in answer.text


def test_notice_banner_appears_within_a_refresh(
    duo: DashComposite, runtime: Runtime, clock: Clock
) -> None:
    open_kiosk(duo)
    assert duo.driver.find_elements(By.CSS_SELECTOR, ".cc-banner") == []
    now = clock().to_pydatetime()
    notice_id = runtime.journal.publish(
        Notice(
            texts={"en": "Smog warning: avoid exercise outside", "de": "Smogwarnung: Sport meiden"},
            severity="warning",
            starts=now - timedelta(minutes=1),
            expires=now + timedelta(hours=3),
            author="sam",
        ),
        now=now,
    )
    try:
        duo.wait_for_element(".cc-banner.cc-sev-warning", timeout=10)
        texts = script(
            duo,
            "return Array.from(document.querySelectorAll('.cc-banner-text'))"
            ".map(e => e.textContent)",
        )
        assert "Smog warning: avoid exercise outside" in texts
        assert "Smogwarnung: Sport meiden" in texts
        notices = duo.find_element('.cc-slide[data-slide="notices"][data-lang="en"]')
        assert "Smog warning" in notices.get_attribute("textContent")
    finally:
        runtime.journal.withdraw(notice_id, "sam", now=now)
    wait_until(lambda: not duo.driver.find_elements(By.CSS_SELECTOR, ".cc-banner"), 10, "no banner")


def test_emergency_takes_over_the_screen(
    duo: DashComposite, runtime: Runtime, clock: Clock, screenshots: Path
) -> None:
    open_kiosk(duo)
    now = clock().to_pydatetime()
    texts = {
        "en": "Flood warning: leave the riverbank now.",
        "de": "Hochwasserwarnung: Verlassen Sie sofort das Flussufer.",
    }
    start, end = now - timedelta(minutes=1), now + timedelta(hours=1)
    # Waiting for its second approval, or meant for other kiosks: no takeover here.
    waiting = runtime.journal.publish(Notice(texts, "emergency", start, end, "sam"), now=now)
    elsewhere = runtime.journal.publish(
        Notice(
            texts, "emergency", start, end, "erin", kiosks=("kiosk:town-hall",), approved_by="erin"
        ),
        now=now,
    )
    time.sleep(3)  # three refreshes
    assert duo.driver.find_elements(By.CSS_SELECTOR, ".cc-emergency") == []
    runtime.journal.withdraw(waiting, "sam", now=now)
    runtime.journal.withdraw(elsewhere, "erin", now=now)
    notice_id = runtime.journal.publish(
        Notice(texts, "emergency", start, end, "sam", kiosks=("kiosk:station-3",)), now=now
    )
    assert runtime.journal.approve(notice_id, "erin", now=now)
    try:
        takeover = duo.wait_for_element(".cc-emergency", timeout=10)
        shown = [p.text for p in takeover.find_elements(By.CSS_SELECTOR, ".cc-emergency-text")]
        assert shown == list(texts.values())
        rect = script(
            duo,
            "const r = arguments[0].getBoundingClientRect();"
            "return [r.left, r.top, r.width, r.height];",
            takeover,
        )
        assert rect == [0, 0, 1920, 1080]
        snapshot(duo, screenshots / "kiosk-emergency.png")
        assert_accessible(duo.driver, "#cc-kiosk")
        # Withdrawn: the kiosk is back to its slides within a refresh.
        runtime.journal.withdraw(notice_id, "sam", now=now)
        wait_until(
            lambda: not duo.driver.find_elements(By.CSS_SELECTOR, ".cc-emergency"), 10, "withdrawn"
        )
        # Expired: an emergency ends by itself at its expiry time.
        notice_id = runtime.journal.publish(
            Notice(
                texts, "emergency", now, now + timedelta(minutes=20), "erin", approved_by="erin"
            ),
            now=now,
        )
        duo.wait_for_element(".cc-emergency", timeout=10)
        clock.when = T0 + pd.Timedelta(minutes=21)
        wait_until(
            lambda: not duo.driver.find_elements(By.CSS_SELECTOR, ".cc-emergency"), 10, "expired"
        )
    finally:
        clock.when = T0
        runtime.journal.withdraw(notice_id, "sam", now=now)
    wait_until(lambda: not duo.driver.find_elements(By.CSS_SELECTOR, ".cc-emergency"), 10, "end")


def test_stale_and_failed_sources_keep_their_last_value(
    duo: DashComposite, runtime: Runtime, clock: Clock
) -> None:
    open_kiosk(duo)
    air = '.cc-slide[data-slide="air"][data-lang="en"]'
    answer = duo.find_element(f"{air} .cc-answer").get_attribute("textContent")
    runtime.store.record_failure("air", "upstream refused the connection", clock())
    try:
        wait_until(
            lambda: duo.driver.find_elements(By.CSS_SELECTOR, f"{air} .cc-k-is-stale"),
            10,
            "stale marker",
        )
        age = duo.find_element(f"{air} .cc-age-text").get_attribute("textContent")
        updated = runtime.city.view("public").sources["air"].updated
        hhmm = pd.Timestamp(updated).tz_convert(runtime.config.city.timezone).strftime("%H:%M")
        assert age == f"Last updated {hhmm}"
        assert duo.find_element(f"{air} .cc-answer").get_attribute("textContent") == answer
        assert "upstream refused" not in script(duo, "return document.body.textContent")
    finally:
        runtime.refresher.refresh("air")
    # Time passing beyond a source's stale limit marks it too (parking: 30 min).
    clock.when = T0 + pd.Timedelta(minutes=45)
    try:
        parking = '.cc-slide[data-slide="parking"][data-lang="en"]'
        wait_until(
            lambda: duo.driver.find_elements(By.CSS_SELECTOR, f"{parking} .cc-k-is-stale"),
            10,
            "parking stale",
        )
        assert duo.find_element(f"{parking} .cc-answer").get_attribute("textContent") != "–"
    finally:
        clock.when = T0


def test_night_mode_dims_the_screen(duo: DashComposite, clock: Clock) -> None:
    open_kiosk(duo)
    assert "cc-night" not in duo.find_element("#cc-kiosk").get_attribute("class")
    clock.when = T0.tz_convert("Australia/Melbourne").replace(hour=23).tz_convert("UTC")
    try:
        duo.wait_for_element("#cc-kiosk.cc-night", timeout=10)
        assert "brightness" in script(
            duo, "return getComputedStyle(document.getElementById('cc-kiosk')).filter"
        )
    finally:
        clock.when = T0
    wait_until(
        lambda: "cc-night" not in duo.find_element("#cc-kiosk").get_attribute("class"), 10, "day"
    )


def test_heartbeats_and_the_staff_kiosk_page(
    duo: DashComposite, runtime: Runtime, clock: Clock
) -> None:
    open_kiosk(duo, "/kiosk?id=station-3")
    wait_until(
        lambda: any(b.kiosk_id == "station-3" for b in runtime.journal.heartbeats()), 10, "beat"
    )
    beat = next(b for b in runtime.journal.heartbeats() if b.kiosk_id == "station-3")
    assert beat.info["screen"] == "default"
    assert beat.info["language"] in ("en", "de")
    assert beat.info["version"] == runtime.city.version()
    runtime.journal.beat("old-kiosk", {"screen": "station"}, now=clock() - timedelta(minutes=10))

    base = duo.server_url.rstrip("/")
    public = requests.get(f"{base}/kiosks", timeout=10)
    assert public.status_code == 401
    assert "/signin?next=" in public.text
    assert "station-3" not in public.text and "old-kiosk" not in public.text
    for user in ("sam", "erin"):
        page = signed_in(base, user).get(f"{base}/kiosks", timeout=10)
        assert page.status_code == 200
        rows = dict(re.findall(r'<tr class="([^"]+)"\s+data-kiosk="([^"]+)"', page.text))
        by_id = {kiosk: cls for cls, kiosk in rows.items()}
        assert "cc-silent" in by_id["old-kiosk"]
        assert "cc-silent" not in by_id["station-3"]


def test_about_pages_are_public_and_translated(duo: DashComposite, runtime: Runtime) -> None:
    base = duo.server_url.rstrip("/")
    for domain in ("pedestrians", "traffic", "air", "parking"):
        english = requests.get(f"{base}/about/{domain}", timeout=10)
        german = requests.get(f"{base}/about/{domain}?lang=de", timeout=10)
        assert english.status_code == german.status_code == 200
        assert '<html lang="en">' in english.text and '<html lang="de">' in german.text
        for source in runtime.config.sources_for(domain):
            cfg = runtime.config.sources[source]
            if cfg.access == "public":
                assert cfg.publisher in english.text and cfg.licence in english.text
        assert INTERNAL_NAME not in english.text and INTERNAL_NAME not in german.text
        assert "What is measured" in english.text and "Was gemessen wird" in german.text
        assert len(english.content) < 10_000
    crowds = requests.get(f"{base}/about/pedestrians", timeout=10).text
    assert "count crowds, not people" in crowds and "no images are stored" in crowds
    assert requests.get(f"{base}/about/secrets", timeout=10).status_code == 404


def test_kiosks_asking_together_share_one_rendering(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from layouts.pages import kiosk

    renders: list[str] = []

    def slow_render(
        city: Any, screen: Any, state: Any, now: Any, host: str, kiosk_id: str = ""
    ) -> list[Any]:
        renders.append(state.key)
        time.sleep(0.2)  # long enough for every kiosk to ask meanwhile
        return [state.key]

    monkeypatch.setattr(kiosk, "render_body", slow_render)
    bodies = kiosk.BodyCache(city=None)  # type: ignore[arg-type]
    screen = type("S", (), {"id": "default", "languages": ["en"]})()
    state = type("K", (), {"key": "v7", "notices": ()})()
    answers: list[Any] = []
    askers = [
        threading.Thread(target=lambda: answers.append(bodies.body(screen, state, None, "h")))  # type: ignore[arg-type]
        for _ in range(8)
    ]
    for asker in askers:
        asker.start()
    for asker in askers:
        asker.join()
    assert renders == ["v7"]
    assert answers == [["v7"]] * 8


# Keep showing one slide: the rotation shows slide floor(now / period) % count, so a
# period of now / (k + 0.5) holds the k-th slide for far longer than a test runs.
_HOLD = """
const root = document.getElementById('cc-kiosk');
const slides = Array.from(root.querySelectorAll('.cc-slide'));
const k = slides.findIndex(
  s => s.dataset.slide === arguments[0] && s.dataset.lang === arguments[1]);
if (k < 0) { return false; }
root.setAttribute('data-rotate-ms', String(Date.now() / (k + 0.5)));
return true;
"""


def hold(duo: DashComposite, key: str, lang: str) -> Any:
    """Show the slide ``key`` in ``lang`` and keep it showing; its element."""
    assert script(duo, _HOLD, key, lang), f"no {key} slide in {lang}"
    return duo.wait_for_element(f'.cc-slide.cc-active[data-slide="{key}"][data-lang="{lang}"]')


_MAP_LOADED = """
const img = document.querySelector(
  '.cc-slide[data-slide="overview"][data-lang="' + arguments[0] + '"] img.cc-k-map');
return img && img.complete && img.naturalWidth > 0 ? img.getAttribute('src') : '';
"""

PUBLISHED_TEXT = "Car park on Flinders Lane shows free spaces but is full"
RECEIVED_TEXT = "Not reviewed yet: the counter at my door is broken"


def test_published_reports_on_the_kiosk_map_and_slide(
    duo: DashComposite, runtime: Runtime, clock: Clock, screenshots: Path
) -> None:
    journal, now = runtime.journal, clock().to_pydatetime()
    published = Report(
        "KQ7M-4T2P", "parking_wrong", PUBLISHED_TEXT, now, -37.8165, 144.9640, language="en"
    )
    received = Report("ZX9C-8V7B", "sensor_wrong", RECEIVED_TEXT, now, -37.8100, 144.9550)
    # Two older ones with the longest text a citizen may write: the slide still fits.
    long_text = ("The footpath counter near the station seems to count twice. " * 17)[:1000]
    older = [
        Report(code, "sensor_wrong", long_text, now, -37.8200 + n / 100, 144.9500, language="en")
        for n, code in enumerate(("PP2A-3B4C", "PP5D-6E7F"))
    ]
    for n, report in enumerate(older):
        journal.file_report(report, now=now - timedelta(days=2 + n))
    journal.file_report(published, now=now - timedelta(hours=3))
    journal.file_report(received, now=now - timedelta(hours=1))
    answer = "Thank you, the sensor was reset"
    journal.change_report(published.code, ReportChange(status="published", answer=answer), now=now)
    for report in older:
        journal.change_report(
            report.code, ReportChange(status="published", answer=long_text), now=now
        )
    base = duo.server_url.rstrip("/")
    try:
        # Public is public: whoever asks (staff may moderate the received one), the kiosk's
        # map and slides hold only the published report.
        expected = overview_svg(
            runtime.config,
            runtime.city.view("public"),
            reports=kiosk_reports(
                runtime.config,
                published_reports(runtime.city, journal, now),
                {},
                "en",
                now,
                MAP_REPORTS,
            ),
        )
        assert expected.count("<polygon points=") > 0 and "cc-k-reports-layer" in expected
        for session in (requests.Session(), signed_in(base, "sam")):
            picture = session.get(f"{base}/kiosk-map.svg?v=1", timeout=30).text
            assert picture == expected
            layer = picture[picture.index("cc-k-reports-layer") :]
            assert layer.count("<polygon") == 3  # the received report is not on it
            params = {"screen": "default", "id": "probe", "lang": "en", "role": "staff"}
            refreshed = session.post(
                f"{base}/_dash-update-component", json=refresh_request(params), timeout=60
            )
            assert refreshed.status_code == 200 and PUBLISHED_TEXT in refreshed.text
            assert RECEIVED_TEXT not in refreshed.text and "ZX9C-8V7B" not in refreshed.text
            assert "KQ7M-4T2P" not in refreshed.text  # a citizen's code is theirs to share
        for lang, (width, height) in [
            ("en", (1920, 1080)),
            ("de", (1920, 1080)),
            ("en", (1080, 1920)),
            ("de", (1080, 1920)),
        ]:
            viewport(duo, width, height)
            shape = "landscape" if width > height else "portrait"
            open_kiosk(duo, f"/kiosk?id=station-3&lang={lang}")
            # The overview map: the reports' layer, with its legend entry.
            overview = hold(duo, "overview", lang)
            src = wait_until(lambda lang=lang: script(duo, _MAP_LOADED, lang), 15, "the map")
            snapshot(duo, screenshots / f"kiosk-reports-map-{lang}-{shape}.png")
            assert script(duo, _LAYOUT_PROBLEMS) == []
            assert "&r=" in src
            legend = overview.find_element(By.CSS_SELECTOR, ".cc-k-legend-reports").text
            assert legend == {"en": "◆ citizens' report", "de": "◆ Bürgermeldung"}[lang]
            assert_accessible(duo.driver, "#cc-kiosk")
            # The reports slide: category, the citizen's words, the city's answer.
            slide = hold(duo, "reports", lang)
            snapshot(duo, screenshots / f"kiosk-reports-slide-{lang}-{shape}.png")
            question = slide.find_element(By.CSS_SELECTOR, ".cc-question").text
            assert (
                question
                == {
                    "en": "What citizens reported",
                    "de": "Was Bürgerinnen und Bürger melden",
                }[lang]
            )
            assert script(duo, _LAYOUT_PROBLEMS) == []
            items = slide.find_elements(By.CSS_SELECTOR, ".cc-k-report")
            assert len(items) == 3  # newest first
            title = items[0].find_element(By.CSS_SELECTOR, ".cc-k-report-title").text
            assert (
                title
                == {
                    "en": "Parking shown wrongly (e.g. full but shown free)",
                    "de": "Parken falsch angezeigt (z. B. voll, aber als frei gezeigt)",
                }[lang]
            )
            text = items[0].find_element(By.CSS_SELECTOR, ".cc-k-report-text")
            assert text.text == f"“{PUBLISHED_TEXT}”" and text.get_attribute("lang") == "en"
            reply = items[0].find_element(By.CSS_SELECTOR, ".cc-k-report-answer").text
            assert reply == {"en": "Answer: ", "de": "Antwort: "}[lang] + answer
            follow = slide.find_element(By.CSS_SELECTOR, ".cc-lines").text
            assert ("QR code" if lang == "en" else "QR-Code") in follow
            # Readable from 3 m, and nothing that needs a finger.
            size = script(duo, "return parseFloat(getComputedStyle(arguments[0]).fontSize)", text)
            assert float(size) >= 36
            assert duo.driver.find_elements(By.CSS_SELECTOR, "#cc-kiosk a, #cc-kiosk button") == []
            assert_accessible(duo.driver, "#cc-kiosk")
            assert RECEIVED_TEXT not in duo.driver.page_source
            assert own_errors(duo, runtime.config) == []
    finally:
        journal.change_report(published.code, ReportChange(status="closed"), now=now)
        for code in (received.code, *(r.code for r in older)):
            journal.change_report(code, ReportChange(status="closed"), now=now)
        viewport(duo, 1920, 1080)
    # Closed, the reports leave the kiosk: no slide, no layer, no legend entry.
    open_kiosk(duo, "/kiosk?id=station-3&lang=en")
    assert duo.driver.find_elements(By.CSS_SELECTOR, '.cc-slide[data-slide="reports"]') == []
    assert duo.driver.find_elements(By.CSS_SELECTOR, ".cc-k-legend-reports") == []
    assert "cc-k-reports-layer" not in requests.get(f"{base}/kiosk-map.svg", timeout=30).text


def test_a_journal_that_cannot_read_reports_leaves_the_kiosk_without_them(
    duo: DashComposite, runtime: Runtime, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = clock().to_pydatetime()
    shown = Report("BRKN-2345", "other", PUBLISHED_TEXT, now, -37.8165, 144.9640)
    runtime.journal.file_report(shown, now=now - timedelta(hours=1))
    runtime.journal.change_report(shown.code, ReportChange(status="published"), now=now)

    def broken(*_args: Any, **_kwargs: Any) -> list[Report]:
        raise OSError("disk gone")

    monkeypatch.setattr(runtime.journal, "reports", broken)
    assert published_reports(runtime.city, runtime.journal, runtime.city.clock()) == ()
    base = duo.server_url.rstrip("/")
    params = {"screen": "default", "id": "probe", "lang": "en"}
    page = requests.post(f"{base}/_dash-update-component", json=refresh_request(params), timeout=60)
    assert page.status_code == 200 and "Is the air good today?" in page.text
    assert "What citizens reported" not in page.text and PUBLISHED_TEXT not in page.text
    picture = requests.get(f"{base}/kiosk-map.svg?v=2", timeout=30)
    assert picture.status_code == 200 and "cc-k-reports-layer" not in picture.text
    monkeypatch.undo()
    runtime.journal.change_report(shown.code, ReportChange(status="closed"), now=now)
