"""``/kiosks``: each kiosk's last contact for city staff, silent ones first and flagged;
the public gets a sign-in link and no kiosk names.

Only known kiosks report and are listed: a flood of made-up ids over real HTTP leaves
no trace, while configured and staff-registered kiosks do.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import requests
from dash import Dash

from cockpit.config import default_config_path, load_config
from cockpit.present.i18n import translator
from cockpit.present.slides import UNNAMED_PER_SCREEN, kiosk_listed, unnamed_id
from cockpit.state.journal import Heartbeat
from layouts.routes.kiosks import SILENT_AFTER_INTERVALS, contacts, kiosk_label
from tests.browser import Clock
from tests.conftest import AppServers
from tests.layouts.pages.test_kiosk import PASSWORD, kiosk_config
from tests.layouts.routes.test_signin import PASSWORDS, Client
from tests.layouts.viewing import signed_in
from wiring.runtime import Runtime

TZ = "Australia/Melbourne"


def test_silent_kiosks_are_flagged_after_three_intervals() -> None:
    now = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
    beats = [
        Heartbeat("a", now - timedelta(seconds=25), {"screen": "default", "language": "en"}),
        Heartbeat("b", now - timedelta(seconds=31), {"screen": "station"}),
        Heartbeat("c", now - timedelta(hours=3), {}),
    ]
    rows = contacts(beats, now, 10, TZ)
    assert [(r.kiosk_id, r.silent) for r in rows] == [("b", True), ("c", True), ("a", False)]
    assert rows[2].age == "25 s" and rows[1].age == "3.0 h" and rows[0].screen == "station"
    assert rows[2].last == "2026-11-24 10:59:35"  # UTC+11 in summer


def test_each_kiosk_confirms_the_notices_it_shows() -> None:
    now = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
    beats = [
        Heartbeat("a", now, {"notices": [4, 9]}),
        Heartbeat("b", now, {"notices": "4"}),  # not a list: nothing confirmed
        Heartbeat("c", now, {"notices": [True, "5", 6]}),  # only whole numbers count
        Heartbeat("d", now, {}),  # an older kiosk page: nothing confirmed
    ]
    rows = {r.kiosk_id: r.notices for r in contacts(beats, now, 10, TZ)}
    assert rows == {"a": (4, 9), "b": (), "c": (6,), "d": ()}


def test_ages_read_in_seconds_minutes_or_hours() -> None:
    now = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
    ages = [119, 120, 7_199, 7_200]
    beats = [Heartbeat(f"k{i}", now - timedelta(seconds=s), {}) for i, s in enumerate(ages)]
    rows = sorted(contacts(beats, now, 3_600, TZ), key=lambda r: r.age_s)
    assert [r.age for r in rows] == ["119 s", "2 min", "120 min", "2.0 h"]
    assert SILENT_AFTER_INTERVALS == 3 and not any(r.silent for r in rows)  # 3 h allowed
    # A clock a little behind the kiosk's never makes a negative age.
    (ahead,) = contacts([Heartbeat("x", now + timedelta(seconds=5), {})], now, 10, TZ)
    assert ahead.age_s == 0 and ahead.age == "0 s"


@pytest.fixture(scope="module")
def runtime(app_server: AppServers, clock: Clock) -> Runtime:
    return app_server.city(clock, kiosk_config(), backfill=False)


@pytest.fixture(scope="module")
def app(app_server: AppServers, runtime: Runtime) -> Dash:
    return app_server.app(runtime)


def test_the_public_gets_a_sign_in_link_and_no_kiosk(
    app: Dash, runtime: Runtime, clock: Clock
) -> None:
    runtime.journal.beat("station-9", {"screen": "station"}, now=clock())
    answer = app.server.test_client().get("/kiosks")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 401 and answer.mimetype == "text/html"
    assert "/signin?next=" in page and "station-9" not in page


@pytest.mark.parametrize("user", ["sam", "erin"])
def test_staff_see_each_kiosk_silent_ones_flagged(
    app: Dash, runtime: Runtime, clock: Clock, user: str
) -> None:
    runtime.journal.beat("station-9", {"screen": "station", "language": "de"}, now=clock())
    runtime.journal.beat("old-kiosk", {"screen": "default"}, now=clock() - timedelta(hours=1))
    answer = signed_in(app.server, user, PASSWORD).get("/kiosks")
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    assert f"signed in as {user}" in page
    assert 'class="cc-kiosk-row cc-silent"\ndata-kiosk="old-kiosk"' in page
    assert 'class="cc-kiosk-row"\ndata-kiosk="station-9"' in page
    assert page.index("old-kiosk") < page.index("station-9")  # silent ones first


OUTPUT = "..cc-kiosk-body.children...cc-kiosk.className...cc-kiosk-state.data.."


def _ask(url: str, kiosk: str, n: int = 1) -> int:
    """A kiosk's refresh request, as its browser sends it, naming itself ``kiosk``."""
    body = {
        "output": OUTPUT,
        "outputs": [
            {"id": "cc-kiosk-body", "property": "children"},
            {"id": "cc-kiosk", "property": "className"},
            {"id": "cc-kiosk-state", "property": "data"},
        ],
        "inputs": [{"id": "cc-kiosk-ask", "property": "data", "value": n}],
        "state": [
            {
                "id": "cc-kiosk-params",
                "property": "data",
                "value": {"screen": "default", "id": kiosk, "lang": "en"},
            },
            {"id": "cc-kiosk-state", "property": "data", "value": {"key": "old"}},
        ],
        "changedPropIds": ["cc-kiosk-ask.data"],
    }
    answer = requests.post(
        url + "/_dash-update-component", json=body, headers={"Connection": "close"}, timeout=30
    )
    return answer.status_code


def _listed(page: str) -> set[str]:
    return set(re.findall(r'data-kiosk="([^"]+)"', page))


def test_made_up_kiosk_ids_are_served_but_not_recorded(proxied_base: str, proxied: Runtime) -> None:
    proxied.config.kiosk.ids = ["station-3"]
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(lambda n: _ask(proxied_base, f"fake-{n}", n + 1), range(300)))
    assert set(statuses) == {200}  # each was served a kiosk screen
    assert _ask(proxied_base, "station-3") == 200
    page = requests.get(proxied_base + "/kiosk?id=fake-unknown", timeout=30)
    assert page.status_code == 200
    beats = {b.kiosk_id for b in proxied.journal.heartbeats()}
    assert "station-3" in beats
    assert not any(k.startswith("fake-") for k in beats)
    staff = Client(proxied_base, "10.60.0.1")
    staff.sign_in("sam", PASSWORDS["sam"])
    listed = _listed(staff.get("/kiosks").text)
    assert "station-3" in listed and not any(k.startswith("fake-") for k in listed)


def test_staff_register_a_kiosk_which_then_reports(proxied_base: str, proxied: Runtime) -> None:
    assert _ask(proxied_base, "library-2") == 200
    assert "library-2" not in {b.kiosk_id for b in proxied.journal.heartbeats()}
    staff = Client(proxied_base, "10.60.0.2")
    staff.sign_in("sam", PASSWORDS["sam"])
    token = staff.token("/kiosks")
    refused = staff.post("/kiosks", {"id": "bad id <b>", "csrf": token})
    assert refused.status_code == 400 and "bad id" not in _listed(refused.text)
    assert staff.post("/kiosks", {"id": "library-2"}).status_code == 400  # no token
    done = staff.post("/kiosks", {"id": "library-2", "csrf": token})
    assert done.status_code == 200 and "library-2" in _listed(done.text)
    assert proxied.journal.audit_log(1)[0].action == "register kiosk"
    assert _ask(proxied_base, "library-2", 2) == 200
    beat = next(b for b in proxied.journal.heartbeats() if b.kiosk_id == "library-2")
    assert beat.info["screen"] == "default"  # the kiosk itself now reports
    # The public can neither see nor register kiosks.
    public = Client(proxied_base, "10.60.0.3")
    assert public.post("/kiosks", {"id": "x", "csrf": public.token()}).status_code == 401


def test_known_kiosks_are_configured_screens_or_registered() -> None:
    config = load_config(default_config_path())
    config.kiosk.ids = ["station-3"]
    assert kiosk_listed(config, "station-3", set())
    assert kiosk_listed(config, "default", set())
    assert kiosk_listed(config, "library-2", {"library-2"})
    assert not kiosk_listed(config, "fake-1", {"library-2"})


def test_each_unnamed_kiosk_is_its_own_row() -> None:
    config = load_config(default_config_path())
    now = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
    first, second = unnamed_id("station", "a1b2c3d4"), unnamed_id("station", "ffee0011")
    assert first == "station~a1b2c3d4" and second == "station~ffee0011"
    assert unnamed_id("station", "../x") is None and unnamed_id("station", 7) is None
    # Unnamed kiosks of a known screen set report, up to a bound per set.
    assert kiosk_listed(config, "station~a1b2c3d4", set())
    assert not kiosk_listed(config, "nowhere~a1b2c3d4", set())
    assert not kiosk_listed(config, "station~A!", set())
    full = {f"station~{i:08d}" for i in range(UNNAMED_PER_SCREEN)}
    assert not kiosk_listed(config, "station~newcomer1", full)
    assert kiosk_listed(config, "station~00000003", full)  # already known: still reports
    beats = [Heartbeat(k, now, {"screen": "station"}) for k in (first, second)]
    rows = contacts(beats, now, 10, TZ, translator("de", "cockpit"))
    assert [r.label for r in rows] == [
        "Unbenannter Kiosk a1b2c3d4 (station)",
        "Unbenannter Kiosk ffee0011 (station)",
    ]
    assert kiosk_label("station-3") == "station-3"


def test_the_staff_page_is_translated_and_styled(app: Dash, runtime: Runtime, clock: Clock) -> None:
    runtime.journal.beat("station~a1b2c3d4", {"screen": "station", "language": "de"}, now=clock())
    client = signed_in(app.server, "sam", PASSWORD)
    german = client.get("/kiosks?lang=de").get_data(as_text=True)
    assert '<html lang="de">' in german and "Letzter Kontakt" in german
    assert "Unbenannter Kiosk a1b2c3d4 (station)" in german and "angemeldet als sam" in german
    assert 'class="cc-header"' in german and "assets/staff.css" in german
    english = client.get("/kiosks").get_data(as_text=True)
    assert '<html lang="en">' in english and "Last contact" in english
