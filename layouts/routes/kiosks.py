"""``/kiosks``: every kiosk's last contact, for city staff.

Each kiosk reports a heartbeat with each refresh (``Journal.beat``). Staff and
executives see every kiosk's id, screen, language, the notices it confirms showing, last
contact and its age; a kiosk silent for more than three refresh intervals is flagged.
Anyone else gets a link to sign in and nothing about the kiosks. Plain server-rendered
HTML, every value escaped.

Only known kiosks report: those in ``[kiosk] ids``, the screens' names, and those staff
register here (a form posting the new id with the CSRF token). A kiosk opened with any
other ``?id=`` works as a generic public kiosk but leaves no heartbeat, so made-up ids
cannot flood this list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

import flask
from dash import Dash

from cockpit.city import City
from cockpit.present.slides import kiosk_id
from cockpit.present.timefmt import local_time
from cockpit.storage import Heartbeat, Journal
from layouts.routes.access import current_viewer
from layouts.routes.security import client_address, csrf_token, valid_csrf

__all__ = ["KioskContact", "contacts", "register"]

SILENT_AFTER_INTERVALS = 3
_STAFF = ("staff", "executive")

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Kiosks · City Cockpit · {{ city }}</title>
<link rel="stylesheet" href="{{ css }}"></head>
<body class="cc-audit-page"><main class="cc-page cc-audit">
<h1>Kiosks</h1>
<p>{{ city }} · times in {{ tz }} · a kiosk is flagged when silent for more than
{{ limit }} seconds · signed in as {{ user }}</p>
<table class="cc-audit-table cc-kiosks-table">
<thead><tr><th>Kiosk</th><th>Screen</th><th>Language</th><th>Notices shown</th>
<th>Last contact</th><th>Age</th><th>State</th></tr></thead>
<tbody>
{% for k in rows %}<tr class="cc-kiosk-row{% if k.silent %} cc-silent{% endif %}"
data-kiosk="{{ k.kiosk_id }}"><td>{{ k.kiosk_id }}</td><td>{{ k.screen }}</td>
<td>{{ k.language }}</td><td class="cc-kiosk-notices">{{ k.notices|join(", ") or "none" }}</td>
<td>{{ k.last }}</td><td>{{ k.age }}</td>
<td>{% if k.silent %}<strong>■ silent</strong>{% else %}● reporting{% endif %}</td></tr>
{% else %}<tr><td colspan="7">No kiosk has reported yet.</td></tr>{% endfor %}
</tbody></table>
{% if message %}<p class="cc-kiosks-message" role="status">{{ message }}</p>{% endif %}
<form method="post" action="{{ action }}" class="cc-kiosks-register">
<input type="hidden" name="csrf" value="{{ csrf }}">
<label for="cc-kiosk-new">Register a kiosk (letters, digits, <code>._-</code>)</label>
<input id="cc-kiosk-new" name="id" maxlength="64" required>
<button type="submit">Register</button>
</form></main></body></html>
"""

_SIGN_IN = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in · City Cockpit</title>
<link rel="stylesheet" href="{{ css }}"></head>
<body class="cc-signin-page"><main class="cc-signin"><h1>Kiosks</h1>
<p>This page is for city staff. <a href="{{ signin }}">Sign in</a></p>
</main></body></html>
"""


@dataclass(frozen=True)
class KioskContact:
    """One kiosk's last heartbeat, as the status page shows it."""

    kiosk_id: str
    screen: str
    language: str
    last: str
    age: str
    age_s: float
    silent: bool
    notices: tuple[int, ...] = ()  # the notices on screen at its last heartbeat (receipt)


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _notice_ids(raw: object) -> tuple[int, ...]:
    """The notice ids a heartbeat lists (whole numbers only)."""
    if not isinstance(raw, list):
        return ()
    return tuple(n for n in raw if isinstance(n, int) and not isinstance(n, bool))


def contacts(
    beats: list[Heartbeat], now: datetime, interval_s: float, timezone: str
) -> list[KioskContact]:
    """Each kiosk's last contact and age; silent after ``SILENT_AFTER_INTERVALS`` refresh
    intervals without a heartbeat. Silent kiosks first, then by id."""
    out = []
    for beat in beats:
        age = max(0.0, (now - beat.time).total_seconds())
        out.append(
            KioskContact(
                kiosk_id=beat.kiosk_id,
                screen=str(beat.info.get("screen", "")),
                language=str(beat.info.get("language", "")),
                last=local_time(beat.time, timezone, "%Y-%m-%d %H:%M:%S"),
                age=_age(age),
                age_s=age,
                silent=age > SILENT_AFTER_INTERVALS * interval_s,
                notices=_notice_ids(beat.info.get("notices")),
            )
        )
    return sorted(out, key=lambda k: (not k.silent, k.kiosk_id))


def register(app: Dash, city: City, journal: Journal) -> None:
    """Add ``/kiosks`` to the app's server."""
    config = city.config
    prefix = app.config.requests_pathname_prefix
    css = f"{prefix}assets/cockpit.css"

    @app.server.route("/kiosks", methods=["GET", "POST"])
    def kiosks() -> flask.Response:
        viewer = current_viewer()
        if not viewer.signed_in or viewer.role not in _STAFF:
            signin = f"{prefix}signin?next={quote(prefix + 'kiosks')}"
            html = flask.render_template_string(_SIGN_IN, css=css, signin=signin)
            return flask.make_response(html, 401)
        message, status = "", 200
        if flask.request.method == "POST":
            message, status = _register(viewer.user)
        interval = config.ui.poll_seconds
        rows = contacts(journal.heartbeats(), city.clock(), interval, config.city.timezone)
        html = flask.render_template_string(
            _PAGE,
            city=config.city.name,
            css=css,
            tz=config.city.timezone,
            limit=f"{SILENT_AFTER_INTERVALS * interval:.0f}",
            user=viewer.user,
            rows=rows,
            message=message,
            csrf=csrf_token(),
            action=f"{prefix}kiosks",
        )
        return flask.make_response(html, status)

    def _register(user: str) -> tuple[str, int]:
        """Register the posted kiosk id for ``user``; the message to show and the status."""
        form = flask.request.form
        if not valid_csrf(form.get("csrf")):
            return "The form had expired. Please try again.", 400
        raw = form.get("id", "")
        new = kiosk_id(raw, "")
        if not new or new != raw.strip():
            return "A kiosk id has 1 to 64 letters, digits, dots, dashes or underscores.", 400
        journal.beat(new, {"registered_by": user}, now=city.clock())
        journal.audit(user, "register kiosk", new, client_address())
        return f"Kiosk {new} registered.", 200
