"""Sign-in and sign-out for staff and executives (plain Flask routes, no JavaScript).

The form posts a user name, a password and the session's CSRF token. A good sign-in
starts a fresh session (new id, new token: ``layouts.routes.security.Guard.start_session``);
each attempt is counted per address and per user name at that address before its
password is checked, and after ``[security] signin_attempts`` attempts within
``signin_window_minutes`` the page answers 429 until the window has passed; a good
password gives its attempt back. A few password checks run at once; beyond them the
page answers 429 (``cockpit.ratelimit``). Sign-out is a POST with the token; a GET of
``/signout`` only shows the button. Every sign-in, failed or refused sign-in and
sign-out goes to the audit log with the user name and the client's address.

When the city has an OpenID Connect provider (``[access.oidc]``) the page also offers
"Sign in with <label>" (``layouts.routes.oidc``), and signing out of a session the
provider started continues at the provider's end-session page. The page speaks the
language asked for with ``?lang=`` or the browser's, among the city's languages.
"""

from __future__ import annotations

import math
from urllib.parse import urlencode, urlsplit

import flask
from dash import Dash
from werkzeug.wrappers import Response

from cockpit.auth import authenticate
from cockpit.city import City
from cockpit.present.i18n import Gettext, available_languages, translator
from cockpit.ratelimit import Block
from cockpit.storage import Journal
from cockpit.validate import PASSWORD_MAX, USER_NAME_MAX
from layouts.routes import oidc
from layouts.routes.access import current_viewer
from layouts.routes.security import client_address, csrf_token, guard, valid_csrf

__all__ = ["register", "safe_next", "signin_language"]

_HEAD = """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} · City Cockpit · {{ city }}</title>
<link rel="stylesheet" href="{{ css }}">
<style>
.cc-signin { max-width: 24rem; margin: 8vh auto; padding: 1.5rem 1.75rem;
  background: #fff; border-radius: 8px; box-shadow: 0 1px 4px rgba(27, 42, 65, .15); }
.cc-signin h1 { margin: 0 0 .25rem; }
.cc-signin form { display: flex; flex-direction: column; gap: .4rem; margin-top: 1rem; }
.cc-signin input:not([type=hidden]) { font: inherit; padding: .6rem; min-height: 44px;
  border: 1px solid #8a97a8; border-radius: 4px; }
.cc-signin label { margin-top: .5rem; font-weight: 600; }
.cc-signin button { font: inherit; margin-top: 1rem; min-height: 44px; border: 0;
  border-radius: 4px; background: #1b2a41; color: #fff; cursor: pointer; }
.cc-signin-sso { display: block; margin-top: 1rem; padding: .7rem; min-height: 44px;
  box-sizing: border-box; text-align: center; border: 2px solid #1b2a41; border-radius: 4px;
  color: #1b2a41; font-weight: 600; text-decoration: none; }
.cc-signin-or { margin: 1rem 0 0; text-align: center; color: #4a5668; }
.cc-signin-error { background: #fde8e8; color: #8b1111; padding: .6rem .75rem;
  border-radius: 4px; }
</style></head>
<body class="cc-signin-page"><main class="cc-signin">
"""

_SIGNIN = (
    _HEAD
    + """<h1>{{ _("Sign in") }}</h1><p>{{ city }} · {{ _("City Cockpit for city staff") }}</p>
{% if error %}<p class="cc-signin-error" role="alert">{{ error }}</p>{% endif %}
{% if sso %}<a class="cc-signin-sso" id="cc-signin-sso" href="{{ sso }}">{{ sso_label }}</a>
<p class="cc-signin-or">{{ _("or with a City Cockpit account") }}</p>{% endif %}
<form method="post" action="{{ action }}">
<input type="hidden" name="csrf" value="{{ csrf }}">
<input type="hidden" name="next" value="{{ next }}">
<label for="cc-user">{{ _("User name") }}</label>
<input id="cc-user" name="user" autocomplete="username" required value="{{ user }}">
<label for="cc-password">{{ _("Password") }}</label>
<input id="cc-password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">{{ _("Sign in") }}</button>
</form></main></body></html>
"""
)

_SIGNOUT = (
    _HEAD
    + """<h1>{{ _("Sign out") }}</h1>
{% if user %}<p>{{ _("Signed in as {user}.").format(user=user) }}</p>
<form method="post" action="{{ action }}">
<input type="hidden" name="csrf" value="{{ csrf }}">
<input type="hidden" name="next" value="{{ next }}">
<button type="submit">{{ _("Sign out") }}</button>
</form>{% else %}<p>{{ _("You are not signed in.") }}
<a href="{{ home }}">{{ _("Back to the cockpit") }}</a></p>
{% endif %}</main></body></html>
"""
)


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to return to after sign-in; anything else (another host, a scheme,
    ``//evil``) becomes ``default``, so the form cannot redirect off the cockpit."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(c) < 32 for c in target):
        return default
    parts = urlsplit(target)
    return default if parts.scheme or parts.netloc else target


def signin_language(languages: list[str]) -> str:
    """The sign-in page's language: ``?lang=`` when the city offers it, else the
    browser's preference among the city's languages, else the city's first."""
    offered = [lang for lang in languages if lang in available_languages()] or ["en"]
    asked = flask.request.args.get("lang", "")
    if asked in offered:
        return asked
    return flask.request.accept_languages.best_match(offered) or offered[0]


def _minutes(seconds: int, _: Gettext) -> str:
    n = max(1, math.ceil(seconds / 60))
    return _("1 minute") if n == 1 else _("{n} minutes").format(n=n)


# Why a sign-in is refused for a while, by the scope of the block.
_TOO_MANY = {
    "pair": "Too many failed sign-ins for this user name from this address. "
    "Please wait {wait} and try again.",
    "address": "Too many failed sign-ins from this address. Please wait {wait} and try again.",
}


def register(app: Dash, city: City, journal: Journal) -> None:
    """Add ``/signin`` and ``/signout`` to the app's server."""
    server: flask.Flask = app.server
    config = city.config
    prefix = app.config.requests_pathname_prefix
    security = guard(app, city)

    languages = list(config.city.languages) or ["en"]

    def page(
        error: str = "",
        user: str = "",
        next_url: str = "/",
        status: int = 200,
        retry_after_s: int = 0,
    ) -> flask.Response:
        """The sign-in page; ``error`` is in English and shown in the page's language,
        its ``{wait}`` the time left of ``retry_after_s``."""
        lang = signin_language(languages)
        _: Gettext = translator(lang, "signin")
        sso = ""
        if config.access.oidc is not None:
            query = "" if next_url == "/" else "?" + urlencode({"next": next_url})
            sso = f"{prefix}signin/oidc{query}"
        html = flask.render_template_string(
            _SIGNIN,
            _=_,
            lang=lang,
            sso=sso,
            sso_label=_("Sign in with {label}").format(
                label=_(config.access.oidc.label) if config.access.oidc else ""
            ),
            title=_("Sign in"),
            city=config.city.name,
            css=f"{prefix}assets/cockpit.css",
            action=f"{prefix}signin",
            csrf=csrf_token(),
            error=_(error).format(wait=_minutes(retry_after_s, _)) if error else "",
            user=user,
            next=next_url,
        )
        return flask.make_response(html, status)

    @server.route("/signin", methods=["GET", "POST"])
    def signin() -> Response:
        if flask.request.method == "GET":
            return page(next_url=safe_next(flask.request.args.get("next")))
        form = flask.request.form
        user = form.get("user", "").strip()[:USER_NAME_MAX]
        next_url = safe_next(form.get("next"))
        address = client_address()
        if not valid_csrf(form.get("csrf")):
            journal.audit(user or "(empty)", "sign-in refused", "no CSRF token", address)
            return page("The form had expired. Please sign in again.", user, next_url, 400)
        password = form.get("password", "")
        reserved = security.limiter.reserve(user, address)
        if isinstance(reserved, Block):
            journal.audit(
                user or "(empty)",
                "sign-in refused",
                f"too many failures ({reserved.scope})",
                address,
            )
            response = page(
                _TOO_MANY["pair" if reserved.scope == "pair" else "address"],
                user,
                next_url,
                429,
                reserved.retry_after_s,
            )
            response.headers["Retry-After"] = str(reserved.retry_after_s)
            return response
        if len(password) > PASSWORD_MAX:  # wrong without being hashed
            journal.audit(user or "(empty)", "sign-in failed", "over-long", address)
            return page("User name or password is wrong.", user, next_url, 401)
        with security.hash_slots.slot() as checking:
            if not checking:
                security.limiter.cancel(reserved)
                journal.audit(user or "(empty)", "sign-in refused", "server busy", address)
                response = page(
                    "The server is busy signing others in. Please try again in a moment.",
                    user,
                    next_url,
                    429,
                )
                response.headers["Retry-After"] = "5"
                return response
            viewer = authenticate(config, user, password)
        if viewer is None:
            journal.audit(user or "(empty)", "sign-in failed", "", address)
            return page("User name or password is wrong.", user, next_url, 401)
        security.limiter.release(reserved)
        security.start_session(viewer)
        journal.audit(viewer.user, "sign-in", viewer.role, address)
        return flask.redirect(next_url, 303)

    @server.route("/signout", methods=["GET", "POST"])
    def signout() -> Response:
        viewer = current_viewer()
        next_url = safe_next(flask.request.values.get("next"))
        if flask.request.method == "GET" or not valid_csrf(flask.request.form.get("csrf")):
            lang = signin_language(languages)
            _: Gettext = translator(lang, "signin")
            html = flask.render_template_string(
                _SIGNOUT,
                _=_,
                lang=lang,
                title=_("Sign out"),
                city=config.city.name,
                css=f"{prefix}assets/cockpit.css",
                action=f"{prefix}signout",
                home=prefix,
                csrf=csrf_token() if viewer.signed_in else "",
                user=viewer.user,
                next=next_url,
            )
            return flask.make_response(html, 200 if flask.request.method == "GET" else 400)
        provider = security.provider_session()
        if viewer.signed_in:
            how = "single sign-on" if provider is not None else ""
            journal.audit(viewer.user, "sign-out", how, client_address())
        security.end_session()
        at_provider = oidc.end_session_url(app, city, provider) if provider else None
        return flask.redirect(at_provider or next_url, 303)

    def refusal_page(message: str, status: int) -> flask.Response:
        return page(message, status=status)

    oidc.register(app, city, journal, refusal_page, safe_next)
