"""The viewer of a request, read from its signed session: public unless a user is
signed in with a role the cockpit knows."""

from __future__ import annotations

import flask
import pytest

from cockpit.auth import Viewer
from layouts.routes.access import current_viewer, viewer_role

SERVER = flask.Flask(__name__)
SERVER.secret_key = "only for these tests"


def test_outside_a_request_the_viewer_is_public() -> None:
    assert current_viewer() == Viewer()
    assert viewer_role() == "public"


@pytest.mark.parametrize(
    ("session", "user", "role"),
    [
        ({}, "", "public"),
        ({"user": "sam", "role": "staff"}, "sam", "staff"),
        ({"user": "erin", "role": "executive"}, "erin", "executive"),
        ({"role": "staff"}, "", "public"),  # a role without a user grants nothing
        ({"user": "sam", "role": "admin"}, "", "public"),  # a role the cockpit lacks
        ({"user": "sam"}, "", "public"),
    ],
)
def test_the_session_names_the_viewer(session: dict[str, str], user: str, role: str) -> None:
    with SERVER.test_request_context("/"):
        flask.session.update(session)
        assert current_viewer() == Viewer(user=user, role=role)
        assert viewer_role() == role
