"""``/live`` over real HTTP and in headless Chromium: each screen hears only the signals
its role may hear; a notice or a new data version reaches the page at once, although
its poll is set to five minutes; a kiosk confirms the notices it shows in its heartbeat;
a dropped stream comes back by itself; a screen whose proxy refuses the stream polls."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import flask
import pytest
import requests
from dash.testing.composite import DashComposite
from selenium.webdriver.common.by import By

from cockpit.live import LocalSignals, Screens, Signal, SignallingJournal, data_signal
from cockpit.storage import Notice
from layouts.routes import live
from tests.browser import AppServers, Clock
from tests.layouts.pages.test_kiosk import kiosk_config, open_kiosk, signed_in, wait_until
from wiring.runtime import Runtime

POLL_SECONDS = 300  # far longer than any wait below: what arrives was pushed
KIOSK = "station-3"


@pytest.fixture(scope="module", autouse=True)
def quick_pings() -> Iterator[None]:
    """Pings every second, so a stream whose screen went away ends soon."""
    before = live.PING_SECONDS
    live.PING_SECONDS = 1.0
    yield
    live.PING_SECONDS = before


@pytest.fixture(scope="module")
def runtime(app_server: AppServers, clock: Clock) -> Runtime:
    return app_server.city(clock, kiosk_config(poll_seconds=POLL_SECONDS), backfill=False)


@pytest.fixture(scope="module")
def base(app_server: AppServers, runtime: Runtime) -> str:
    return app_server.url(runtime)


@pytest.fixture(scope="module")
def duo(app_server: AppServers, runtime: Runtime) -> DashComposite:
    return app_server.browser(runtime)


class EventStream:
    """The events of one ``/live`` stream, read over real HTTP."""

    def __init__(self, session: requests.Session, url: str) -> None:
        self.answer = session.get(url, stream=True, timeout=(5, 10))
        self.answer.raise_for_status()
        self.lines = self.answer.iter_lines(decode_unicode=True)

    def next(self, skip_pings: bool = True) -> tuple[str, dict[str, Any]]:
        kind, data = "", {}
        for line in self.lines:
            if line.startswith("event: "):
                kind = line[len("event: ") :]
            elif line.startswith("data: "):
                data = json.loads(line[len("data: ") :])
            elif line == "" and kind:
                if kind == "ping" and skip_pings:
                    kind = ""
                    continue
                return kind, data
        raise AssertionError("the stream ended")

    def close(self) -> None:
        self.answer.close()


def _notice(clock: Clock, text: str, severity: str = "emergency") -> Notice:
    now = clock().to_pydatetime()
    # Approved at once, as an executive's emergency is.
    return Notice(
        {"en": text}, severity, now - timedelta(minutes=1), now + timedelta(hours=1), "sam",
        approved_by="sam",
    )  # fmt: skip


def test_each_stream_hears_only_what_its_role_may_hear(base: str, runtime: Runtime) -> None:
    public = EventStream(requests.Session(), f"{base}/live")
    staff = EventStream(signed_in(base, "sam"), f"{base}/live")
    kiosk_of_staff = EventStream(signed_in(base, "sam"), f"{base}/live?kiosk=1")
    try:
        hellos = [s.next() for s in (public, staff, kiosk_of_staff)]
        assert [h[0] for h in hellos] == ["hello"] * 3
        assert [h[1]["role"] for h in hellos] == ["public", "staff", "public"]
        assert hellos[0][1]["data"] == runtime.city.version()
        runtime.signals.publish(Signal("journal", 1000, "internal"))  # an acknowledgement
        runtime.signals.publish(data_signal(2000, ["internal"]))  # an internal source
        runtime.signals.publish(Signal("notices", 1001, "public"))
        assert staff.next() == ("journal", {"version": 1000})
        assert staff.next() == ("data", {"version": 2000})
        assert staff.next() == ("notices", {"version": 1001})
        for screen in (public, kiosk_of_staff):
            assert screen.next() == ("notices", {"version": 1001})  # nothing staff-only before
        assert public.next(skip_pings=False)[0] == "ping"
    finally:
        for screen in (public, staff, kiosk_of_staff):
            screen.close()


def test_a_full_app_server_tells_the_screen_to_poll_and_a_stream_ends_in_time() -> None:
    screens = Screens(LocalSignals(), limit=1)
    first = live.stream(screens, "public", {"data": 3}, ping_s=0.01, lifetime_s=0.05)
    assert next(first).endswith('event: hello\ndata: {"role":"public","data":3}\n\n')
    second = live.stream(screens, "public", {})
    assert "event: busy" in next(second) and list(second) == []
    rest = list(first)  # pings until its time is up, then the stream ends
    assert rest and all("event: ping" in event for event in rest)
    assert screens.count() == 0  # its mailbox went with it


def test_thread_workers_send_screens_to_polling_event_loop_workers_hold_them() -> None:
    assert live.streams_hold_threads({"SERVER_SOFTWARE": "gunicorn/23.0.0"})  # no gevent here
    assert not live.streams_hold_threads({"SERVER_SOFTWARE": "Werkzeug/3.1"})
    assert not live.streams_hold_threads({})


def test_a_stream_is_text_event_stream_that_no_proxy_buffers(base: str) -> None:
    answer = requests.get(f"{base}/live", stream=True, timeout=(5, 10))
    try:
        assert answer.status_code == 200
        assert answer.headers["Content-Type"].startswith("text/event-stream")
        assert answer.headers["X-Accel-Buffering"] == "no"
        assert "no-store" in answer.headers["Cache-Control"]
    finally:
        answer.close()


def _live(duo: DashComposite) -> dict[str, Any]:
    found: dict[str, Any] = duo.driver.execute_script(
        "return ((window.dash_clientside || {}).cockpit || {}).liveState || {}"
    )
    return found


@pytest.mark.browser
def test_an_emergency_reaches_the_kiosk_at_once_and_its_heartbeat_confirms_it(
    duo: DashComposite, runtime: Runtime, clock: Clock
) -> None:
    open_kiosk(duo, f"/kiosk?id={KIOSK}")
    wait_until(lambda: _live(duo).get("live"), 15, "the kiosk's live stream")
    # Published the way the notices page publishes: through the journal that tells.
    journal = SignallingJournal(runtime.journal, runtime.signals)
    notice_id = journal.publish(_notice(clock, "Flood warning: leave the riverbank now."))
    try:
        takeover = duo.wait_for_element(".cc-emergency", timeout=10)
        assert "Flood warning" in takeover.text
        assert _live(duo)["signals"] >= 1

        def confirmed() -> bool:
            beats = {b.kiosk_id: b for b in runtime.journal.heartbeats()}
            return KIOSK in beats and notice_id in beats[KIOSK].info.get("notices", [])

        wait_until(confirmed, 10, "the kiosk's receipt in its heartbeat")
    finally:
        journal.withdraw(notice_id, "sam")
    wait_until(
        lambda: not duo.driver.find_elements(By.CSS_SELECTOR, ".cc-emergency"), 10, "withdrawn"
    )
    beat = {b.kiosk_id: b for b in runtime.journal.heartbeats()}[KIOSK]
    assert notice_id not in beat.info["notices"]


@pytest.mark.browser
def test_a_new_data_version_reaches_the_cockpit_at_once(
    duo: DashComposite, runtime: Runtime
) -> None:
    duo.driver.get(duo.server_url + "/")
    duo.wait_for_element("#cc-map", timeout=30)
    wait_until(lambda: _live(duo).get("live"), 15, "the cockpit's live stream")
    before = runtime.city.version()
    runtime.refresher.refresh("air")  # new data, as a refresh or a pushed observation brings
    after = runtime.city.version()
    assert after > before
    shown = "return window.dash_component_api.getLayout('cc-version').props.data"
    wait_until(lambda: duo.driver.execute_script(shown) == after, 10, "the new version")


@pytest.mark.browser
def test_a_page_left_behind_gives_its_stream_back(duo: DashComposite, runtime: Runtime) -> None:
    # A browser holds six connections to one server: streams kept open by the pages it
    # left (the back-forward cache keeps them alive) would leave the next page waiting.
    assert runtime.screens is not None
    for visit in range(8):
        duo.driver.get(f"{duo.server_url}/?visit={visit}")
        duo.wait_for_element("#cc-map", timeout=30)
        wait_until(lambda: _live(duo).get("live"), 15, f"visit {visit}'s live stream")
    # The server hears a stream is gone at its next ping (every second here).
    wait_until(lambda: runtime.screens.count() == 1, 10, "one stream, the page's own")


@pytest.mark.browser
def test_the_phone_view_listens_and_the_methodology_page_does_not(duo: DashComposite) -> None:
    duo.driver.get(duo.server_url + "/m")
    wait_until(lambda: _live(duo).get("live"), 15, "the phone view's live stream")
    duo.driver.get(duo.server_url + "/methodology")  # a page with nothing to refresh
    duo.wait_for_element("h1", timeout=30)
    time.sleep(1.5)  # three rounds of the page's watch
    assert _live(duo) and not _live(duo).get("opened")


@pytest.mark.browser
def test_a_dropped_stream_comes_back_and_catches_up(
    duo: DashComposite, runtime: Runtime, clock: Clock
) -> None:
    open_kiosk(duo, f"/kiosk?id={KIOSK}")
    wait_until(lambda: _live(duo).get("live"), 15, "the kiosk's live stream")
    opened = _live(duo)["opened"]
    assert runtime.screens is not None and runtime.screens.drop_all() >= 1
    # Written straight into the journal, as another app process would: the watch of
    # the shared versions tells the screens.
    notice_id = runtime.journal.publish(_notice(clock, "Tram stop moved", "warning"))
    try:
        wait_until(
            lambda: _live(duo).get("live") and _live(duo)["opened"] > opened, 20, "reconnected"
        )
        banner = duo.wait_for_element(".cc-banner", timeout=10)
        assert "Tram stop moved" in banner.text
    finally:
        runtime.journal.withdraw(notice_id, "sam")


@pytest.mark.browser
def test_a_screen_whose_proxy_refuses_the_stream_polls_by_itself(
    app_server: AppServers, runtime: Runtime, clock: Clock
) -> None:
    app = app_server.app(runtime)

    @app.server.before_request
    def proxy_refuses_streams() -> flask.Response | None:
        if flask.request.path == "/live":
            return flask.make_response("no streams through this proxy", 502)
        return None

    dc = app_server.browser(app)
    open_kiosk(dc, f"/kiosk?id={KIOSK}")
    notice_id = runtime.journal.publish(_notice(clock, "Smog warning", "warning"))
    try:
        banner = dc.wait_for_element(".cc-banner", timeout=30)
        assert "Smog warning" in banner.text
        state = _live(dc)
        assert not state["live"] and state["failures"] >= 1 and state["signals"] == 0
        assert dc.driver.find_element(By.TAG_NAME, "html").get_attribute("data-live") == "off"
    finally:
        runtime.journal.withdraw(notice_id, "sam")
