"""One viewer's requests: a request context for calling a page's layout directly, and a
signed-in Flask test client for a route."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import flask
from flask.testing import FlaskClient

__all__ = ["signed_in", "viewing"]


@contextmanager
def viewing(server: flask.Flask, role: str = "public", user: str = "") -> Iterator[None]:
    """Inside: a request to ``server`` from ``user`` signed in as ``role`` (public: no one
    signed in), as the sign-in route leaves the session."""
    with server.test_request_context("/"):
        if role != "public":
            flask.session["user"] = user or role
            flask.session["role"] = role
        yield


def signed_in(server: flask.Flask, user: str, password: str) -> FlaskClient:
    """A Flask test client of ``server`` signed in as ``user`` through ``/signin``, as a
    browser signs in: the form's CSRF token, then the post."""
    client = server.test_client()
    form = client.get("/signin").get_data(as_text=True)
    found = re.search(r'name="csrf" value="([^"]+)"', form)
    assert found, "/signin carries a CSRF token"
    answer = client.post(
        "/signin", data={"user": user, "password": password, "csrf": found.group(1), "next": "/"}
    )
    assert answer.status_code == 303, answer.get_data(as_text=True)[:200]
    return client
