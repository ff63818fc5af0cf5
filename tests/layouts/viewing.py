"""A request of one viewer, for calling a page's layout or a route's helper directly."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import flask

__all__ = ["viewing"]


@contextmanager
def viewing(server: flask.Flask, role: str = "public", user: str = "") -> Iterator[None]:
    """Inside: a request to ``server`` from ``user`` signed in as ``role`` (public: no one
    signed in), as the sign-in route leaves the session."""
    with server.test_request_context("/"):
        if role != "public":
            flask.session["user"] = user or role
            flask.session["role"] = role
        yield
