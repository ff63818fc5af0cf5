"""``/audit``: the audit log for executives only; the public is sent to sign in, staff
are refused; entries newest first, as text.

The audit view under a flood of refused actions, over real HTTP with parallel clients.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from dash import Dash

from cockpit.storage import REFUSALS_KEPT_PER_HOUR
from cockpit.validate import AUDIT_DETAIL_MAX
from tests.browser import Clock
from tests.conftest import AppServers
from tests.layouts.pages.test_kiosk import PASSWORD, kiosk_config
from tests.layouts.routes.test_signin import PASSWORDS, Client
from tests.layouts.viewing import signed_in
from tests.notices_calls import button_id, notices_body
from wiring.runtime import Runtime


@pytest.fixture(scope="module")
def runtime(app_server: AppServers, clock: Clock) -> Runtime:
    return app_server.city(clock, kiosk_config(), backfill=False)


@pytest.fixture(scope="module")
def app(app_server: AppServers, runtime: Runtime) -> Dash:
    return app_server.app(runtime)


def test_the_public_is_sent_to_sign_in_first(app: Dash) -> None:
    answer = app.server.test_client().get("/audit")
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith("/signin?next=/audit")


def test_staff_may_not_read_it(app: Dash) -> None:
    answer = signed_in(app.server, "sam", PASSWORD).get("/audit")
    assert answer.status_code == 403
    assert answer.mimetype == "text/html"
    assert "Your role may not read the audit log." in answer.get_data(as_text=True)


def test_executives_read_the_newest_entries_as_text(
    app: Dash, runtime: Runtime, clock: Clock
) -> None:
    now = clock()
    runtime.journal.audit("sam", "published notice", "<b>Road closed</b>", "10.0.0.7", now=now)
    runtime.journal.audit(
        "erin", "withdrew notice", "1", "10.0.0.8", now=now + timedelta(seconds=1)
    )
    answer = signed_in(app.server, "erin", PASSWORD).get("/audit")
    assert answer.status_code == 200 and answer.mimetype == "text/html"
    page = answer.get_data(as_text=True)
    assert "signed in as erin" in page
    assert "&lt;b&gt;Road closed&lt;/b&gt;" in page and "<b>Road closed" not in page
    entries = page[page.index('<table class="cc-audit-table">') :]  # after the kinds' links
    assert entries.index("withdrew notice") < entries.index("published notice")
    assert "10.0.0.7" in page


FLOOD = 200


def _refused_withdrawal(url: str, n: int) -> int:
    """An anonymous request to withdraw a notice, its id 5 kB of text."""
    notice_id = f"{n}-" + "x" * 5000
    trigger = button_id("cc-notice-withdraw", notice_id)
    body = notices_body(trigger, withdraw=[{"id": trigger, "property": "n_clicks", "value": 1}])
    answer = requests.post(
        url + "/_dash-update-component",
        json=body,
        headers={"Connection": "close", "X-Forwarded-For": f"10.77.{n // 250}.{n % 250}"},
        timeout=30,
    )
    return answer.status_code


def test_a_flood_of_refused_actions_does_not_bury_the_log(
    proxied_base: str, proxied: Runtime
) -> None:
    executive = Client(proxied_base, "10.76.0.1")
    assert executive.sign_in("eve", PASSWORDS["eve"]).status_code == 303
    before = proxied.journal.refusals(proxied.city.clock()).get("notice refused", 0)
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(lambda n: _refused_withdrawal(proxied_base, n), range(FLOOD)))
    assert set(statuses) == {403}
    counted = proxied.journal.refusals(proxied.city.clock())["notice refused"]
    assert counted - before == FLOOD
    stored = proxied.journal.audit_log(5000, action="notice refused")
    assert len(stored) <= REFUSALS_KEPT_PER_HOUR
    assert all(len(e.detail) <= AUDIT_DETAIL_MAX for e in stored)

    page = executive.get("/audit")
    assert page.status_code == 200
    # The executive's own sign-in is still among the newest entries shown.
    assert "10.76.0.1" in page.text
    assert f"notice refused {counted}" in page.text
    assert page.text.count("x" * (AUDIT_DETAIL_MAX + 1)) == 0


def test_the_audit_view_filters_by_kind(proxied_base: str, proxied: Runtime) -> None:
    proxied.journal.audit("ana", "publish notice", "notice 99: info", "10.75.0.9")
    executive = Client(proxied_base, "10.75.0.1")
    executive.sign_in("eve", PASSWORDS["eve"])
    only = executive.get("/audit?kind=publish%20notice")
    assert only.status_code == 200
    assert "notice 99: info" in only.text
    assert "10.75.0.1" not in only.text  # the sign-in is another kind
    everything = executive.get("/audit")
    assert "10.75.0.1" in everything.text and "notice 99: info" in everything.text
    assert 'href="/audit?kind=publish%20notice"' in everything.text
