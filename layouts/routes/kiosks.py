"""``/kiosks``: every kiosk's last contact, for city staff.

Each kiosk reports a heartbeat with each refresh (``Journal.beat``). Staff and
executives see one row per kiosk (each unnamed kiosk its own, by its browser's
instance): its name, screen set, language, the notices it confirms showing, last contact
and its age; a kiosk silent for more than three refresh intervals is flagged. Anyone else
gets a link to sign in and nothing about the kiosks. Server-rendered HTML in the staff
pages' style and the viewer's language (``cockpit`` catalogue, ``?lang=``), every value
escaped.

Only known kiosks report: those in ``[kiosk] ids``, the screens' names, and those staff
register here (a form posting the new id with the CSRF token). A kiosk opened with any
other ``?id=`` works as a generic public kiosk but leaves no heartbeat, so made-up ids
cannot flood this list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

import flask
from dash import Dash

from cockpit.city import City
from cockpit.config import CityConfig
from cockpit.present.i18n import format_number, translator
from cockpit.present.slides import kiosk_id
from cockpit.present.timefmt import local_time
from cockpit.storage import Heartbeat, Journal
from layouts.routes.access import current_viewer
from layouts.routes.security import client_address, csrf_token, valid_csrf

__all__ = ["KioskContact", "contacts", "kiosk_label", "register"]

SILENT_AFTER_INTERVALS = 3
_STAFF = ("staff", "executive")

_PAGE = """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ t.title }} · City Cockpit · {{ city }}</title>
{% for href in css %}<link rel="stylesheet" href="{{ href }}">{% endfor %}</head>
<body><div class="cc-page cc-kiosks">
<header class="cc-header"><h1>{{ t.title }}</h1><span class="cc-asof">{{ city }}</span>
<nav class="cc-nav">{% for href, label in nav %}<a href="{{ href }}">{{ label }}</a>{% endfor %}
{% for code in others %}<a href="?lang={{ code }}" lang="{{ code }}">{{ code | upper }}</a>
{% endfor %}</nav></header>
<main><section class="cc-panel">
<p class="cc-muted">{{ t.intro }} · {{ t.user }}</p>
<table class="cc-table cc-kiosks-table">
<thead><tr><th scope="col">{{ t.kiosk }}</th><th scope="col">{{ t.screen }}</th>
<th scope="col">{{ t.language }}</th><th scope="col">{{ t.notices }}</th>
<th scope="col">{{ t.last }}</th>
<th scope="col">{{ t.age }}</th><th scope="col">{{ t.state }}</th></tr></thead>
<tbody>
{% for k in rows %}<tr class="cc-kiosk-row{% if k.silent %} cc-silent{% endif %}"
data-kiosk="{{ k.kiosk_id }}"><td>{{ k.label }}</td><td>{{ k.screen }}</td>
<td>{{ k.language }}</td>
<td class="cc-kiosk-notices">{{ k.notices|join(", ") or t.no_notices }}</td>
<td>{{ k.last }}</td><td>{{ k.age }}</td>
<td>{% if k.silent %}<strong class="cc-kiosk-silent">■ {{ t.silent }}</strong>
{% else %}<span class="cc-kiosk-ok">● {{ t.reporting }}</span>{% endif %}</td></tr>
{% else %}<tr><td colspan="7">{{ t.none }}</td></tr>{% endfor %}
</tbody></table></section>
<section class="cc-panel">
{% if message %}<p class="cc-status-line cc-kiosks-message" role="status">{{ message }}</p>
{% endif %}
<form method="post" action="{{ action }}" class="cc-form cc-kiosks-register">
<input type="hidden" name="csrf" value="{{ csrf }}">
<div class="cc-field"><label for="cc-kiosk-new">{{ t.register }}</label>
<input id="cc-kiosk-new" name="id" type="text" maxlength="64" required></div>
<button type="submit" class="cc-btn cc-btn-primary">{{ t.register_button }}</button>
</form></section></main></div></body></html>
"""

_SIGN_IN = """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8"><title>{{ t.title }} · City Cockpit</title>
{% for href in css %}<link rel="stylesheet" href="{{ href }}">{% endfor %}</head>
<body><div class="cc-page cc-kiosks"><header class="cc-header"><h1>{{ t.title }}</h1></header>
<main><section class="cc-panel"><p>{{ t.staff_only }} <a href="{{ signin }}">{{ t.sign_in }}</a></p>
</section></main></div></body></html>
"""


def _(message: str) -> str:
    """Marks a message for the catalogue; it is translated where it is shown."""
    return message


# The page's words (msgids of the ``cockpit`` catalogue).
_WORDS = {
    "title": _("Kiosks"),
    "kiosk": _("Kiosk"),
    "screen": _("Screen set"),
    "language": _("Language"),
    "notices": _("Notices shown"),
    "no_notices": _("none"),
    "last": _("Last contact"),
    "age": _("Age"),
    "state": _("State"),
    "silent": _("silent"),
    "reporting": _("reporting"),
    "none": _("No kiosk has reported yet."),
    "register": _("Register a kiosk (letters, digits, dots, dashes, underscores)"),
    "register_button": _("Register"),
    "staff_only": _("This page is for city staff."),
    "sign_in": _("Sign in"),
}


@dataclass(frozen=True)
class KioskContact:
    """One kiosk's last heartbeat, as the status page shows it: ``label`` names it for
    people (an unnamed kiosk by its screen set and its browser's instance)."""

    kiosk_id: str
    screen: str
    language: str
    last: str
    age: str
    age_s: float
    silent: bool
    notices: tuple[int, ...] = ()  # the notices on screen at its last heartbeat (receipt)
    label: str = ""


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


def kiosk_label(kiosk: str, _t: Callable[[str], str] = str) -> str:
    """A kiosk's name for people: its id, or for an unnamed kiosk ("station~a1b2c3d4")
    "Unnamed kiosk a1b2c3d4 (station)"."""
    screen, sep, instance = kiosk.partition("~")
    if not sep:
        return kiosk
    return _t("Unnamed kiosk {instance} ({screen})").format(instance=instance, screen=screen)


def contacts(
    beats: list[Heartbeat],
    now: datetime,
    interval_s: float,
    timezone: str,
    _t: Callable[[str], str] = str,
) -> list[KioskContact]:
    """Each kiosk's last contact and age, one row per kiosk (each unnamed kiosk its
    own); silent after ``SILENT_AFTER_INTERVALS`` refresh intervals without a
    heartbeat. Silent kiosks first, then by id."""
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
                label=kiosk_label(beat.kiosk_id, _t),
            )
        )
    return sorted(out, key=lambda k: (not k.silent, k.kiosk_id))


def _language(config: CityConfig) -> str:
    """The page's language: ``?lang=`` when the city offers it, else the browser's
    preferred one among the city's."""
    languages = list(config.city.languages) or ["en"]
    asked = flask.request.args.get("lang", "")
    if asked in languages:
        return asked
    return flask.request.accept_languages.best_match(languages) or languages[0]


def register(app: Dash, city: City, journal: Journal) -> None:
    """Add ``/kiosks`` to the app's server."""
    config = city.config
    prefix = app.config.requests_pathname_prefix
    css = [f"{prefix}assets/cockpit.css", f"{prefix}assets/staff.css"]

    @app.server.route("/kiosks", methods=["GET", "POST"])
    def kiosks() -> flask.Response:
        viewer = current_viewer()
        lang = _language(config)
        _t = translator(lang, "cockpit")
        words = {k: _t(v) for k, v in _WORDS.items()}
        if not viewer.signed_in or viewer.role not in _STAFF:
            signin = f"{prefix}signin?next={quote(prefix + 'kiosks')}"
            html = flask.render_template_string(
                _SIGN_IN, css=css, signin=signin, lang=lang, t=words
            )
            return flask.make_response(html, 401)
        message, status = "", 200
        if flask.request.method == "POST":
            message, status = _register(viewer.user, _t)
        interval = config.ui.poll_seconds
        rows = contacts(journal.heartbeats(), city.clock(), interval, config.city.timezone, _t)
        words["intro"] = _t(
            "Times in {tz}; a kiosk is flagged when silent for more than {s} seconds"
        ).format(tz=config.city.timezone, s=format_number(SILENT_AFTER_INTERVALS * interval, lang))
        words["user"] = _t("signed in as {user}").format(user=viewer.user)
        nav = [
            (f"{prefix}?lang={lang}", _t("Cockpit")),
            (f"{prefix}notices?lang={lang}", _t("Public notices")),
            (f"{prefix}signout", _t("Sign out")),
        ]
        html = flask.render_template_string(
            _PAGE,
            lang=lang,
            others=[c for c in config.city.languages if c != lang],
            city=config.city.name,
            css=css,
            nav=nav,
            t=words,
            rows=rows,
            message=message,
            csrf=csrf_token(),
            action=f"{prefix}kiosks?lang={lang}",
        )
        return flask.make_response(html, status)

    def _register(user: str, _t: Callable[[str], str]) -> tuple[str, int]:
        """Register the posted kiosk id for ``user``; the message to show and the status."""
        form = flask.request.form
        if not valid_csrf(form.get("csrf")):
            return _t("The form had expired. Please try again."), 400
        raw = form.get("id", "")
        new = kiosk_id(raw, "")
        if not new or new != raw.strip():
            return _t("A kiosk id has 1 to 64 letters, digits, dots, dashes or underscores."), 400
        journal.beat(new, {"registered_by": user}, now=city.clock())
        journal.audit(user, "register kiosk", f"kiosk {new}", client_address())
        return _t("Kiosk {id} registered.").format(id=new), 200
