"""The viewer's role, read on the server in every callback and route that returns data."""

from __future__ import annotations

import flask

from cockpit.auth import role_from_session

__all__ = ["viewer_role"]


def viewer_role() -> str:
    """The role of the browser making the current request (public when not signed in)."""
    if not flask.has_request_context():
        return "public"
    return role_from_session(flask.session)
