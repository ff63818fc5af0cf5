"""``/audit``: who signed in, failed to sign in or changed something, when and from where.

Only roles granted ``read_audit`` in the city config (executives by default) may read
it: a public visitor is sent to sign in, a signed-in role without the grant gets 403.
The page is plain server-rendered HTML; every entry is escaped text. ``?kind=`` shows
only one kind of entry (``sign-in failed``, ``publish notice``...), and the page counts
the refusals of the last day, of which the log keeps only samples.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import flask
from dash import Dash
from werkzeug.wrappers import Response

from cockpit.auth import may_do
from cockpit.city import City
from cockpit.present.timefmt import local_time
from cockpit.storage import Journal
from layouts.routes.access import current_viewer

__all__ = ["register"]

_LIMIT = 500
# Kinds offered as filters even before the newest entries hold one of them.
_KINDS = (
    "sign-in",
    "sign-in failed",
    "sign-in refused",
    "publish notice",
    "record decision",
    "file report",
    "moderate report",
)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Audit log · City Cockpit · {{ city }}</title>
<link rel="stylesheet" href="{{ css }}">
<style>
.cc-audit { max-width: 72rem; margin: 0 auto; padding: 1.5rem; }
.cc-audit nav { margin-bottom: 1rem; }
.cc-audit-table { width: 100%; border-collapse: collapse; background: #fff; }
.cc-audit-table th, .cc-audit-table td { text-align: left; padding: .4rem .6rem;
  border-bottom: 1px solid #d5dbe3; vertical-align: top; overflow-wrap: anywhere; }
.cc-audit-table th { background: #1b2a41; color: #fff; }
</style></head>
<body class="cc-audit-page"><main class="cc-page cc-audit">
<nav><a href="{{ home }}">Cockpit</a> · <a href="{{ signout }}">Sign out</a></nav>
<h1>Audit log</h1>
<p>{{ city }} · the newest {{ rows|length }} entries{% if kind %} of kind
<strong>{{ kind }}</strong> (<a href="{{ here }}">all kinds</a>){% endif %}, times in {{ tz }} ·
signed in as {{ user }}</p>
<nav class="cc-audit-kinds" aria-label="Kinds of entry">Show only:
{% for k in kinds %}<a href="{{ here }}?kind={{ k|urlencode }}">{{ k }}</a>{% if not loop.last %} ·
{% endif %}{% endfor %}</nav>
{% if refusals %}<p class="cc-audit-refusals">Refused in the last 24 hours (the log keeps
samples only): {% for action, n in refusals %}{{ action }} {{ n }}{% if not loop.last %},
{% endif %}{% endfor %}</p>{% endif %}
<table class="cc-audit-table">
<thead><tr><th>Time</th><th>Who</th><th>What</th><th>Detail</th><th>From</th></tr></thead>
<tbody>
{% for row in rows %}<tr><td>{{ row.time }}</td><td>{{ row.actor }}</td>
<td>{{ row.action }}</td><td>{{ row.detail }}</td><td>{{ row.address }}</td></tr>
{% else %}<tr><td colspan="5">Nothing recorded yet.</td></tr>{% endfor %}
</tbody></table></main></body></html>
"""

_FORBIDDEN = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Not allowed · City Cockpit</title>
<link rel="stylesheet" href="{{ css }}"></head>
<body class="cc-signin-page"><main class="cc-signin"><h1>Not allowed</h1>
<p>Your role may not read the audit log.</p><p><a href="{{ home }}">Back to the cockpit</a></p>
</main></body></html>
"""


def register(app: Dash, city: City, journal: Journal) -> None:
    """Add ``/audit`` to the app's server."""
    server: flask.Flask = app.server
    config = city.config
    prefix = app.config.requests_pathname_prefix
    css = f"{prefix}assets/cockpit.css"

    @server.route("/audit")
    def audit() -> Response:
        viewer = current_viewer()
        if not viewer.signed_in:
            return flask.redirect(f"{prefix}signin?next={quote(prefix + 'audit')}", 303)
        if not may_do(config, viewer.role, "read_audit"):
            html = flask.render_template_string(_FORBIDDEN, css=css, home=prefix)
            return flask.make_response(html, 403)
        tz = config.city.timezone
        kind = flask.request.args.get("kind", "")[:64] or None
        refusals = journal.refusals(city.clock() - timedelta(hours=24))
        kinds = sorted({e.action for e in journal.audit_log(_LIMIT)} | set(_KINDS))
        rows = [
            {
                "time": local_time(event.time, tz, "%Y-%m-%d %H:%M:%S"),
                "actor": event.actor,
                "action": event.action,
                "detail": event.detail,
                "address": event.address,
            }
            for event in journal.audit_log(_LIMIT, action=kind)
        ]
        html = flask.render_template_string(
            _PAGE,
            city=config.city.name,
            css=css,
            home=prefix,
            signout=f"{prefix}signout",
            tz=tz,
            user=viewer.user,
            rows=rows,
            kind=kind or "",
            kinds=kinds,
            here=f"{prefix}audit",
            refusals=sorted(refusals.items()),
        )
        return flask.make_response(html, 200)
