"""How the cockpit's server protects its users: sessions, CSRF, headers and errors.

Sessions
    Flask's signed session cookie carries the user, the role, a session id and a CSRF
    token. It is ``HttpOnly`` (no script reads it), ``SameSite=Lax`` (other sites'
    pages cannot send it with their POSTs, images or scripts) and ``Secure`` whenever
    the request came over HTTPS or ``[security] https = true``. A sign-in lasts
    ``[security] session_hours``. Each sign-in gets a new session id, registered in
    the city's diskcache with that lifetime; a cookie whose id is not registered (signed
    out, expired, or the user removed from the config or given another role) counts as
    public. So signing out ends the session on the server, not only in one browser.
    A user signed in through the city's OpenID Connect provider has no entry under
    ``[access.users]``: the server keeps the provider's groups (and the ID token, for
    signing out at the provider) with the session id instead, and the session counts as
    public as soon as the config's ``[access.oidc] roles`` map those groups to another
    role or none.

CSRF
    Plain forms (``/signin``, ``/signout``) carry a random token kept in the session and
    checked with ``valid_csrf``. Dash's callbacks post JSON to ``/_dash-update-component``
    and Dash has no place for a token header, so every state-changing request (any
    method but GET, HEAD and OPTIONS) must come from the cockpit's own origin: a browser
    says where a request comes from in ``Sec-Fetch-Site`` and ``Origin``, which a page
    cannot forge; a request marked cross-site (or, from browsers too old to send
    ``Sec-Fetch-Site``, one with another ``Origin`` or ``null``) is refused with 403.
    A cross-site page also cannot send ``application/json`` without a CORS preflight
    the cockpit never grants, and ``SameSite=Lax`` keeps the session cookie off
    cross-site POSTs, so three independent walls stand in the way.
    Clients that are not browsers send neither header; they carry no victim's cookie,
    so there is nothing to forge for them.

Headers
    Every response carries a Content-Security-Policy: scripts only from the cockpit
    itself plus Dash's own inline scripts by hash (``app.csp_hashes()``), so an injected
    ``<script>`` or ``onerror=`` never runs. ``style-src`` allows ``'unsafe-inline'``:
    Plotly and Leaflet write ``<style>`` elements and style attributes at run time; a
    style cannot run code, so this keeps script protection whole. Images may come from
    the map's tile server and ``data:`` URIs (Leaflet and Plotly use them). Pages may
    be framed only by ``[security] frame_ancestors`` (none by default, with
    ``X-Frame-Options: DENY`` for old browsers). Forms post to the cockpit only, and to
    the OpenID Connect provider's origin (sign-out continues there). ``nosniff``, a
    referrer policy that sends other sites the origin only (tile servers ask for one),
    and HSTS when the
    request came over HTTPS (``request.is_secure``; with ``trusted_proxies`` set, the
    proxy's ``X-Forwarded-Proto`` counts). Responses to signed-in users (other than
    scripts, styles and images, the same for everyone) are ``Cache-Control: private,
    no-store`` so that no shared cache keeps internal data.

Errors
    An unexpected error answers 500 with a short plain message; the stack trace goes to
    the server's log only, never to a browser. Dash's debug mode stays off unless the
    cockpit is started with ``--debug``.
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final
from urllib.parse import urlsplit

import flask
from dash import Dash
from flask.sessions import SecureCookieSessionInterface
from werkzeug.exceptions import InternalServerError
from werkzeug.middleware.proxy_fix import ProxyFix

from cockpit.auth import Viewer, role_for_groups
from cockpit.city import City
from cockpit.config import CityConfig
from cockpit.ratelimit import HashSlots, SignInLimiter
from cockpit.storage import Journal

__all__ = [
    "ERROR_MESSAGE",
    "Guard",
    "ProviderSession",
    "client_address",
    "content_security_policy",
    "csrf_token",
    "guard",
    "register",
    "valid_csrf",
]

log = logging.getLogger(__name__)

ERROR_MESSAGE: Final = (
    "Something went wrong on the City Cockpit server. Please try again in a moment; "
    "the operators can find the details in the server's log."
)
_SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
_SAME_SITE: Final = frozenset({"same-origin", "none"})
_EXTENSION: Final = "city_cockpit_guard"
_SESSION_KEY: Final = "session-id:"
# Code, styles and images, the same for every viewer: cacheable whoever signed in.
_STATIC_PATHS: Final = ("/assets/", "/_dash-component-suites/", "/_favicon.ico")


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie, ``Secure`` also whenever the request itself is HTTPS."""

    def get_cookie_secure(self, app: flask.Flask) -> bool:
        configured = bool(app.config["SESSION_COOKIE_SECURE"])
        return configured or (flask.has_request_context() and flask.request.is_secure)


def client_address() -> str:
    """The requesting client's address (the proxy's word for it with trusted proxies)."""
    return (flask.request.remote_addr or "") if flask.has_request_context() else ""


def csrf_token() -> str:
    """This browser session's CSRF token, made on first use; put it in every form."""
    token = flask.session.get("csrf")
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        flask.session["csrf"] = token
    return token


def valid_csrf(sent: str | None) -> bool:
    """True when ``sent`` is this session's CSRF token (compared in constant time)."""
    token = flask.session.get("csrf")
    return isinstance(token, str) and bool(sent) and hmac.compare_digest(token, str(sent))


def _source_of(url: str) -> str:
    """A CSP source for a tile URL template: its scheme and host, ``{s}`` as ``*``."""
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0]
    if scheme not in ("http", "https") or not host:
        return ""
    if "{" in host:  # a subdomain template such as {s}.tile.example.org
        host = "*." + host.split(".", 1)[-1]
    return f"{scheme}://{host}"


def content_security_policy(config: CityConfig, script_hashes: list[str]) -> str:
    """The cockpit's Content-Security-Policy for ``config``'s map and framing rules."""
    tiles = _source_of(config.map.tile_url) if config.map.tile_url else ""
    ancestors = " ".join(config.security.frame_ancestors) or "'none'"
    # Signing out posts a form that continues at the provider's end-session page; browsers
    # hold a form's redirects to form-action too.
    provider = _source_of(config.access.oidc.issuer) if config.access.oidc else ""
    directives = {
        "default-src": "'self'",
        "script-src": " ".join(["'self'", *script_hashes]),
        "style-src": "'self' 'unsafe-inline'",
        "img-src": " ".join(p for p in ("'self'", "data:", "blob:", tiles) if p),
        "font-src": "'self' data:",
        "connect-src": "'self'",
        "worker-src": "'self' blob:",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": " ".join(p for p in ("'self'", provider) if p),
        "frame-ancestors": ancestors,
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


@dataclass(frozen=True)
class ProviderSession:
    """What the server keeps of a sign-in through the OpenID Connect provider: the
    provider's groups (the role follows from them and the config) and the ID token,
    the hint the provider wants when the user signs out there."""

    groups: list[str]
    id_token: str


@dataclass
class Guard:
    """One app's session registry, sign-in limiter and security settings."""

    app: Dash
    city: City

    def __post_init__(self) -> None:
        security = self.city.config.security
        self.lifetime = timedelta(hours=security.session_hours)
        self.limiter = SignInLimiter(
            self.city.shared_cache(),
            attempts=security.signin_attempts,
            window_s=security.signin_window_minutes * 60,
        )
        # A few argon2 checks at once per process: each takes tens of MiB.
        self.hash_slots = HashSlots(slots=4, wait_s=5.0)

    @property
    def cache(self) -> Any:
        return self.city.shared_cache()

    # -- sessions ---------------------------------------------------------------------
    def start_session(self, viewer: Viewer, provider: ProviderSession | None = None) -> None:
        """Sign ``viewer`` in: a fresh session (new id, new CSRF token), registered on the
        server for the session's lifetime. Nothing of the session before survives.
        ``provider`` is given for a user the OpenID Connect provider signed in."""
        flask.session.clear()
        session_id = secrets.token_urlsafe(32)
        kept: str | dict[str, Any] = viewer.user
        if provider is not None:
            kept = {"user": viewer.user, "groups": provider.groups, "id_token": provider.id_token}
        self.cache.set(_SESSION_KEY + session_id, kept, expire=self.lifetime.total_seconds())
        flask.session.permanent = True
        flask.session["sid"] = session_id
        flask.session["user"] = viewer.user
        flask.session["role"] = viewer.role
        if provider is not None:
            flask.session["via"] = "oidc"
        flask.session["csrf"] = secrets.token_urlsafe(32)

    def provider_session(self) -> ProviderSession | None:
        """The provider's side of the current session when the OpenID Connect provider
        signed its user in (None for a local or no sign-in)."""
        session_id = flask.session.get("sid")
        if flask.session.get("via") != "oidc" or not isinstance(session_id, str):
            return None
        kept = self.cache.get(_SESSION_KEY + session_id)
        if not isinstance(kept, dict):
            return None
        return ProviderSession(groups=list(kept.get("groups", [])), id_token=kept["id_token"])

    def end_session(self) -> None:
        """Sign out: the session id is forgotten on the server and the cookie cleared."""
        session_id = flask.session.get("sid")
        if isinstance(session_id, str):
            self.cache.delete(_SESSION_KEY + session_id)
        flask.session.clear()

    def _check_session(self) -> None:
        """Drop a signed-in session that the server no longer knows or whose user's
        role changed in the config: the request then runs as public."""
        if "user" not in flask.session:  # no read marks the session: no Vary: Cookie
            return
        user = flask.session.get("user")
        session_id = flask.session.get("sid")
        kept = self.cache.get(_SESSION_KEY + session_id) if isinstance(session_id, str) else None
        if flask.session.get("via") == "oidc":
            oidc = self.city.config.access.oidc
            role = None
            if oidc is not None and isinstance(kept, dict) and kept.get("user") == user:
                role = role_for_groups(oidc, list(kept.get("groups", [])))
            if role is None or role != flask.session.get("role"):
                flask.session.clear()
            return
        entry = self.city.config.access.users.get(str(user))
        if kept != user or entry is None or entry.role != flask.session.get("role"):
            flask.session.clear()

    # -- requests ---------------------------------------------------------------------
    def _same_origin(self) -> bool:
        request = flask.request
        site = request.headers.get("Sec-Fetch-Site")
        if site is not None:  # the browser's own word; a proxy rewriting Host cannot spoil it
            return site.lower() in _SAME_SITE
        origin = request.headers.get("Origin")
        if origin is None:
            return True
        parts = urlsplit(origin)
        return bool(parts.netloc) and parts.netloc.lower() == request.host.lower()

    def before_request(self) -> flask.Response | None:
        if flask.request.method not in _SAFE_METHODS and not self._same_origin():
            log.warning(
                "refused cross-site %s %s from %s (Origin %r)",
                flask.request.method,
                flask.request.path,
                client_address(),
                flask.request.headers.get("Origin"),
            )
            return _plain("This request came from another site and was refused.", 403)
        self._check_session()
        return None

    def after_request(self, response: flask.Response) -> flask.Response:
        config = self.city.config
        headers = response.headers
        headers["Content-Security-Policy"] = content_security_policy(
            config, list(self.app.csp_hashes())
        )
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        headers["Permissions-Policy"] = "camera=(), microphone=(), payment=(), geolocation=(self)"
        if not config.security.frame_ancestors:
            headers["X-Frame-Options"] = "DENY"
        if flask.request.is_secure:
            headers["Strict-Transport-Security"] = "max-age=31536000"
        static = flask.request.path.startswith(_STATIC_PATHS)
        if "user" in flask.session and not static:
            headers["Cache-Control"] = "private, no-store"
        return response


def _plain(text: str, status: int) -> flask.Response:
    response = flask.make_response(text, status)
    response.mimetype = "text/plain"
    return response


def _server_error(error: InternalServerError) -> flask.Response:
    # Flask has already logged the exception with its stack trace; the browser gets
    # a fixed message that names no file, no line and no value.
    return _plain(ERROR_MESSAGE, 500)


def _secret_key(city: City) -> str:
    """``$CITY_COCKPIT_SECRET_KEY``, else one random key kept in the city's data folder,
    so that every worker process of one cockpit signs sessions with the same key."""
    configured = os.environ.get("CITY_COCKPIT_SECRET_KEY")
    if configured:
        return configured
    cache = city.shared_cache()
    cache.add("session-secret-key", secrets.token_hex(32))
    return str(cache.get("session-secret-key"))


def guard(app: Dash, city: City) -> Guard:
    """The app's ``Guard``, installed on its server on first call (idempotent)."""
    server: flask.Flask = app.server
    existing = server.extensions.get(_EXTENSION)
    if isinstance(existing, Guard):
        return existing
    security = city.config.security
    if security.trusted_proxies:
        n = security.trusted_proxies
        server.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            server.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n
        )
    server.secret_key = _secret_key(city)
    server.session_interface = _SessionInterface()
    server.config.update(
        SESSION_COOKIE_NAME="city_cockpit_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=security.https,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=security.session_hours),
        SESSION_REFRESH_EACH_REQUEST=False,
    )
    found = Guard(app, city)
    server.before_request(found.before_request)
    server.after_request(found.after_request)
    server.register_error_handler(InternalServerError, _server_error)
    server.extensions[_EXTENSION] = found
    return found


def register(app: Dash, city: City, journal: Journal) -> None:
    """Install sessions, CSRF and same-origin checks, security headers and the plain
    500 page on ``app``'s server."""
    guard(app, city)
