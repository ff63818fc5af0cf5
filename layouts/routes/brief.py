"""The daily brief of any day in the history, for city staff and executives.

Routes (plain Flask, the role checked on every request):

- ``/brief/<YYYY-MM-DD>.pdf?lang=de`` the brief as an A4 PDF (a download);
- ``/brief/<YYYY-MM-DD>.html?lang=de`` the same brief as the e-mail's HTML.

A public viewer gets 401 (sign in first), a role without ``read_brief`` 403, a day the
history does not hold 404, a language the city does not offer 400; each with a line
saying why.
"""

from __future__ import annotations

import flask
from dash import Dash

from cockpit.auth import may_do
from cockpit.city import City
from cockpit.present.brief import DayOutsideHistory, build_brief, parse_day
from cockpit.present.brief_render import brief_filename, brief_html, brief_pdf
from cockpit.storage import Journal
from layouts.routes.access import viewer_role

__all__ = ["brief_url", "register"]


def brief_url(prefix: str, day: str, language: str, extension: str = "pdf") -> str:
    """Where the brief of ``day`` (ISO date) in ``language`` is downloaded."""
    return f"{prefix}brief/{day}.{extension}?lang={language}"


def _plain(text: str, status: int) -> flask.Response:
    response = flask.make_response(text + "\n", status)
    response.mimetype = "text/plain"
    response.headers["Cache-Control"] = "no-store"
    return response


def register(app: Dash, city: City, journal: Journal) -> None:
    """Add ``/brief/<day>.pdf`` and ``/brief/<day>.html`` to the app's server."""
    server: flask.Flask = app.server
    config = city.config

    @server.route("/brief/<day>.<extension>")
    def brief(day: str, extension: str) -> flask.Response:
        role = viewer_role()
        if role == "public":
            return _plain("The daily brief is for city staff: sign in first.", 401)
        if not may_do(config, role, "read_brief"):
            return _plain("Your role may not read the daily brief.", 403)
        if extension not in ("pdf", "html"):
            return _plain("The brief comes as .pdf or .html.", 404)
        language = flask.request.args.get("lang", config.city.languages[0])
        if language not in config.city.languages:
            offered = ", ".join(config.city.languages)
            return _plain(f"The brief is written in {offered}; not in {language[:20]!r}.", 400)
        now = city.clock()
        try:
            chosen = parse_day(day, city, now)
        except DayOutsideHistory as exc:
            return _plain(str(exc), 404)

        def make() -> tuple[str, str, bytes]:
            found = build_brief(city, journal, chosen, role, language, now)
            html = brief_html(found, config)
            pdf = brief_pdf(html) if extension == "pdf" else b""
            return brief_filename(found, extension), html, pdf

        # Made once per data version, role, day, language and form: a second click (or a
        # colleague's) costs nothing; new data, a new decision or the next hour make it anew.
        hour = int(now.timestamp()) // 3600
        question = ("brief", chosen.isoformat(), language, extension, hour, journal.version())
        name, html, pdf = city.remember(city.view(role), question, make)
        if extension == "html":
            response = flask.make_response(html)
            response.mimetype = "text/html"
        else:
            response = flask.make_response(pdf)
            response.mimetype = "application/pdf"
            response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        # A brief holds internal figures: no shared cache may keep it.
        response.headers["Cache-Control"] = "private, no-store"
        return response
