"""``/brief/<day>.pdf`` and ``.html``: the daily brief of a day in the history for staff
and executives; the public is told to sign in (401), a role without ``read_brief`` is
refused (403), a day outside the history is not found (404), a language the city does
not offer is a bad request (400)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pypdf
import pytest
from dash import Dash

from cockpit.config import DEFAULT_ACTIONS
from cockpit.storage import Decision
from tests.browser import Clock
from tests.conftest import AppServers
from tests.layouts.pages.test_kiosk import INTERNAL_NAME, PASSWORD, kiosk_config
from tests.layouts.viewing import signed_in
from wiring.runtime import Runtime


@pytest.fixture(scope="module")
def runtime(app_server: AppServers, clock: Clock) -> Runtime:
    return app_server.city(clock, kiosk_config())


@pytest.fixture(scope="module")
def app(app_server: AppServers, runtime: Runtime) -> Dash:
    return app_server.app(runtime)


def test_the_public_must_sign_in(app: Dash) -> None:
    for path in ("/brief/2026-11-24.pdf", "/brief/2026-11-24.html?lang=de"):
        answer = app.server.test_client().get(path)
        assert answer.status_code == 401
        assert "sign in" in answer.get_data(as_text=True)
        assert b"%PDF" not in answer.get_data()


def test_a_role_without_the_grant_is_refused(app: Dash, runtime: Runtime) -> None:
    actions = runtime.config.access.actions
    actions["read_brief"] = ["executive"]
    try:
        answer = signed_in(app.server, "sam", PASSWORD).get("/brief/2026-11-24.pdf")
    finally:
        actions["read_brief"] = list(DEFAULT_ACTIONS["read_brief"])
    assert answer.status_code == 403
    assert "may not read the daily brief" in answer.get_data(as_text=True)


def test_staff_download_the_pdf(app: Dash) -> None:
    answer = signed_in(app.server, "sam", PASSWORD).get("/brief/2026-11-24.pdf")
    assert answer.status_code == 200
    assert answer.mimetype == "application/pdf"
    assert answer.headers["Content-Disposition"] == (
        'attachment; filename="brief-2026-11-24-en.pdf"'
    )
    assert "no-store" in answer.headers["Cache-Control"]
    text = pypdf.PdfReader(io.BytesIO(answer.get_data())).pages[0].extract_text()
    assert "Daily brief for November 24, 2026" in text
    # Staff see the internal counters: the brief credits their source.
    assert INTERNAL_NAME in " ".join(text.split())


def test_executives_read_the_german_html(app: Dash) -> None:
    answer = signed_in(app.server, "erin", PASSWORD).get("/brief/2026-11-23.html?lang=de")
    assert answer.status_code == 200 and answer.mimetype == "text/html"
    page = answer.get_data(as_text=True)
    assert "Tagesbericht für den 23. November 2026" in page
    assert "Braucht Aufmerksamkeit" in page


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/brief/2026-11-25.pdf", 404, "the history holds"),  # tomorrow
        ("/brief/2026-10-01.pdf", 404, "the history holds"),  # before the history
        ("/brief/24-11-2026.pdf", 404, "no brief for"),
        ("/brief/2026-11-24.docx", 404, ".pdf or .html"),
        ("/brief/2026-11-24.pdf?lang=fr", 400, "not in 'fr'"),
    ],
)
def test_wrong_requests_say_why(app: Dash, path: str, status: int, words: str) -> None:
    answer = signed_in(app.server, "erin", PASSWORD).get(path)
    assert answer.status_code == status
    assert words in answer.get_data(as_text=True)


def test_a_decision_logged_meanwhile_is_in_the_next_download(app: Dash, runtime: Runtime) -> None:
    executive = signed_in(app.server, "erin", PASSWORD)
    before = executive.get("/brief/2026-11-24.html").get_data(as_text=True)
    assert "No decision logged in the last two weeks." in before
    effective = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    runtime.journal.record_decision(
        Decision("Loading zone moved", "Flinders Lane", effective, "erin", ["traffic"]),
        now=effective,
    )
    after = executive.get("/brief/2026-11-24.html").get_data(as_text=True)
    assert "Loading zone moved" in after
