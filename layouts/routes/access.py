"""The viewer, read on the server in every callback and route that returns data."""

from __future__ import annotations

import flask

from cockpit.auth import Viewer, role_from_session

__all__ = ["current_viewer", "viewer_role"]


def current_viewer() -> Viewer:
    """The signed-in user and role of the current request (public when not signed in)."""
    if not flask.has_request_context():
        return Viewer()
    role = role_from_session(flask.session)
    user = str(flask.session.get("user", "")) if role != "public" else ""
    return Viewer(user=user, role=role if user else "public")


def viewer_role() -> str:
    """The role of the browser making the current request (public when not signed in)."""
    return current_viewer().role
