"""``/audit``: the audit log for executives only; the public is sent to sign in, staff
are refused; entries newest first, as text."""

from __future__ import annotations

from datetime import timedelta

import pytest
from dash import Dash

from tests.browser import Clock
from tests.conftest import AppServers
from tests.layouts.pages.test_kiosk import PASSWORD, kiosk_config
from tests.layouts.viewing import signed_in
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
    assert page.index("withdrew notice") < page.index("published notice")
    assert "10.0.0.7" in page
