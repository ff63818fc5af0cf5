"""Sign-in and sign-out for staff and executives (plain Flask routes, no JavaScript).

The form posts a user name and password; on success the signed session cookie holds the
user and role. Every sign-in and failed sign-in goes to the audit log.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import flask
from dash import Dash

from cockpit.auth import authenticate
from cockpit.runtime import Runtime

__all__ = ["register"]

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · City Cockpit · {{ city }}</title>
<link rel="stylesheet" href="{{ css }}"></head>
<body class="cc-signin-page"><main class="cc-signin">
<h1>Sign in</h1><p>{{ city }} · City Cockpit for city staff</p>
{% if error %}<p class="cc-signin-error" role="alert">{{ error }}</p>{% endif %}
<form method="post" action="{{ action }}">
<input type="hidden" name="next" value="{{ next }}">
<label for="cc-user">User name</label>
<input id="cc-user" name="user" autocomplete="username" required value="{{ user }}">
<label for="cc-password">Password</label>
<input id="cc-password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form></main></body></html>
"""


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to return to after sign-in; anything else (another host, a scheme,
    ``//evil``) becomes ``default``, so the form cannot redirect off the cockpit."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    parts = urlsplit(target)
    return default if parts.scheme or parts.netloc else target


def register(app: Dash, runtime: Runtime) -> None:
    """Add ``/signin`` and ``/signout`` to the app's server."""
    server: flask.Flask = app.server
    config = runtime.config
    prefix = app.config.requests_pathname_prefix

    def page(error: str = "", user: str = "", next_url: str = "/", status: int = 200):  # type: ignore[no-untyped-def]
        html = flask.render_template_string(
            _PAGE,
            city=config.city.name,
            css=f"{prefix}assets/cockpit.css",
            action=f"{prefix}signin",
            error=error,
            user=user,
            next=next_url,
        )
        return flask.make_response(html, status)

    @server.route("/signin", methods=["GET", "POST"])
    def signin() -> flask.Response:
        if flask.request.method == "GET":
            return page(next_url=safe_next(flask.request.args.get("next")))
        form = flask.request.form
        user = form.get("user", "").strip()[:100]
        next_url = safe_next(form.get("next"))
        address = flask.request.remote_addr or ""
        viewer = authenticate(config, user, form.get("password", ""))
        if viewer is None:
            runtime.journal.audit(user or "(empty)", "sign-in failed", "", address)
            return page("User name or password is wrong.", user, next_url, 401)
        flask.session.clear()
        flask.session["user"] = viewer.user
        flask.session["role"] = viewer.role
        runtime.journal.audit(viewer.user, "sign-in", viewer.role, address)
        return flask.redirect(next_url, 303)

    @server.route("/signout", methods=["POST", "GET"])
    def signout() -> flask.Response:
        user = str(flask.session.get("user", ""))
        if user:
            runtime.journal.audit(user, "sign-out", "", flask.request.remote_addr or "")
        flask.session.clear()
        return flask.redirect(safe_next(flask.request.args.get("next")), 303)
