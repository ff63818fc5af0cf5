"""``/kiosks``: each kiosk's last contact for city staff, silent ones first and flagged;
the public gets a sign-in link and no kiosk names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from dash import Dash

from cockpit.state.journal import Heartbeat
from layouts.routes.kiosks import SILENT_AFTER_INTERVALS, contacts
from tests.browser import Clock
from tests.conftest import AppServers
from tests.layouts.pages.test_kiosk import PASSWORD, kiosk_config
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
