"""Single sign-on through the city's OpenID Connect provider (``[access.oidc]``).

``/signin/oidc`` sends the browser to the provider with the authorization code flow:
a random ``state`` (against forged callbacks), a ``nonce`` (against replayed ID tokens)
and a PKCE ``code_challenge`` (S256), all three kept on the server in the city's shared
cache for ten minutes under a marker in the session (Authlib's Flask client).
``/signin/oidc/callback`` trades the code for tokens and verifies the ID token: its
signature against the provider's JWKS, the issuer named in the config (which the
provider's discovery document must name too), the audience (our client id), its expiry
and the nonce. The user's role follows from the groups claim through
``[access.oidc] roles``; a user whose groups map to no role, a token that fails a check,
a forged or reused callback are refused with a clear page, logged and audited, and no
session starts. A good sign-in starts the same server-side session as a local one
(``layouts.routes.security.Guard.start_session``), so every role check that follows is
the same. Signing out ends the local session and sends the browser to the provider's
``end_session_endpoint`` (RP-initiated logout) with the ID token as the hint.

Register at the provider ``<cockpit>/signin/oidc/callback`` as the redirect URI and
``<cockpit>/`` as the post-logout redirect URI.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import flask
import requests
from authlib.integrations.base_client.errors import MismatchingStateError, OAuthError
from authlib.integrations.flask_client import OAuth
from authlib.integrations.flask_client.apps import FlaskOAuth2App
from dash import Dash
from joserfc.errors import JoseError
from werkzeug.wrappers import Response

from cockpit.auth import Viewer, groups_from_claims, role_for_groups, user_from_claims
from cockpit.city import City
from cockpit.config import OidcConfig
from cockpit.storage import Journal
from layouts.routes.security import ProviderSession, client_address, guard

__all__ = ["ProviderSignIn", "SignInRefused", "end_session_url", "provider_client", "register"]

log = logging.getLogger(__name__)

_EXTENSION: Final = "city_cockpit_oidc"
_CLIENT_NAME: Final = "city"
_TIMEOUT_S: Final = 10
_FLOW_S: Final = 600
_NEXT: Final = "oidc-next"

# Renders the sign-in page: (error message, HTTP status) -> response.
SignInPage = Callable[[str, int], flask.Response]


class SignInRefused(Exception):
    """A sign-in through the provider that must not start a session.

    ``reason`` goes to the log and the audit trail; ``message`` (English, translated
    for the page) tells the person what happened; ``status`` is the page's HTTP status.
    """

    def __init__(self, reason: str, message: str, status: int, user: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.message = message
        self.status = status
        self.user = user


@dataclass(frozen=True)
class ProviderSignIn:
    """A verified sign-in: who, with which role, and what the server keeps of it."""

    viewer: Viewer
    provider: ProviderSession


def provider_client(app: Dash, city: City) -> FlaskOAuth2App | None:
    """The app's Authlib client for ``[access.oidc]`` (made once), or None when the city
    has no provider. The client secret is read from the environment here."""
    server: flask.Flask = app.server
    oidc = city.config.access.oidc
    if oidc is None:
        return None
    existing = server.extensions.get(_EXTENSION)
    if isinstance(existing, FlaskOAuth2App):
        return existing
    secret = os.environ.get(oidc.client_secret_env, "") if oidc.client_secret_env else ""
    if oidc.client_secret_env and not secret:
        log.warning(
            "$%s (access.oidc.client_secret_env) is not set: asking the provider as a "
            "public client",
            oidc.client_secret_env,
        )
    oauth = OAuth(server, cache=city.shared_cache())
    client = oauth.register(
        _CLIENT_NAME,
        client_id=oidc.client_id,
        client_secret=secret or None,
        server_metadata_url=oidc.discovery_url,
        client_kwargs={
            "scope": " ".join(oidc.scopes),
            "code_challenge_method": "S256",
            "token_endpoint_auth_method": "client_secret_basic" if secret else "none",
            "default_timeout": _TIMEOUT_S,
        },
    )
    assert isinstance(client, FlaskOAuth2App)
    # A started sign-in (state, nonce, verifier) is kept this long, not Authlib's hour.
    client.framework.expires_in = _FLOW_S
    server.extensions[_EXTENSION] = client
    return client


def _metadata(client: FlaskOAuth2App, oidc: OidcConfig) -> dict[str, Any]:
    """The provider's discovery document, refused unless it names the configured issuer
    (OpenID Connect Discovery 1.0, section 4.3)."""
    try:
        metadata = dict(client.load_server_metadata())
    except (requests.RequestException, ValueError) as exc:
        client.server_metadata.pop("_loaded_at", None)
        raise SignInRefused(
            f"provider unreachable: {exc}",
            "The sign-in service could not be reached. Please try again in a moment.",
            502,
        ) from exc
    if metadata.get("issuer") != oidc.issuer:
        client.server_metadata.pop("_loaded_at", None)
        raise SignInRefused(
            f"discovery names issuer {metadata.get('issuer')!r}, expected {oidc.issuer!r}",
            "The sign-in service did not identify itself as expected, so nobody can be "
            "signed in through it. Please tell the cockpit's operators.",
            502,
        )
    return metadata


def _verified(client: FlaskOAuth2App, oidc: OidcConfig) -> ProviderSignIn:
    """The callback's code traded for tokens and the ID token verified; raises
    ``SignInRefused`` for anything that must not start a session."""
    _metadata(client, oidc)
    claims_options = {
        "iss": {"essential": True, "value": oidc.issuer},
        "aud": {"essential": True, "value": oidc.client_id},
    }
    try:
        token = client.authorize_access_token(
            claims_options=claims_options, leeway=oidc.leeway_seconds
        )
    except MismatchingStateError as exc:
        raise SignInRefused(
            "unknown or reused state",
            "This sign-in link had expired or was already used. Please sign in again.",
            400,
        ) from exc
    except OAuthError as exc:
        raise SignInRefused(
            f"provider refused: {exc.error} {exc.description or ''}".strip(),
            "The sign-in service did not sign you in. Please sign in again.",
            400,
        ) from exc
    except JoseError as exc:
        raise SignInRefused(
            f"ID token refused: {type(exc).__name__}: {exc}",
            "The sign-in service's answer could not be verified, so you were not signed "
            "in. Please try again; if it keeps happening, tell the cockpit's operators.",
            401,
        ) from exc
    except (requests.RequestException, ValueError) as exc:
        raise SignInRefused(
            f"provider unreachable or its answer unreadable: {exc}",
            "The sign-in service could not be reached. Please try again in a moment.",
            502,
        ) from exc
    claims = token.get("userinfo")
    if not claims or not token.get("id_token"):
        raise SignInRefused(
            "no ID token in the provider's answer",
            "The sign-in service's answer could not be verified, so you were not signed "
            "in. Please try again; if it keeps happening, tell the cockpit's operators.",
            401,
        )
    user = user_from_claims(oidc, claims)
    groups = groups_from_claims(oidc, claims)
    role = role_for_groups(oidc, groups)
    if role is None:
        raise SignInRefused(
            f"no role for groups {groups}",
            "Your account has no role in City Cockpit. Ask the cockpit's operators to "
            "give your group access.",
            403,
            user,
        )
    return ProviderSignIn(
        Viewer(user=user, role=role), ProviderSession(groups=groups, id_token=token["id_token"])
    )


def end_session_url(app: Dash, city: City, provider: ProviderSession) -> str | None:
    """Where to send a user the provider signed in after the local session ended: the
    provider's ``end_session_endpoint`` with the ID token as hint and the cockpit's home
    page to come back to; None when the provider has no such endpoint or cannot be
    reached (the local session has ended either way)."""
    client = provider_client(app, city)
    if client is None:
        return None
    try:
        metadata = client.load_server_metadata()
    except (requests.RequestException, ValueError):
        log.warning("the sign-in service could not be reached to sign out there")
        return None
    if not metadata.get("end_session_endpoint"):
        return None
    home = flask.request.host_url.rstrip("/") + app.config.requests_pathname_prefix
    result = client.create_logout_url(
        post_logout_redirect_uri=home,
        id_token_hint=provider.id_token,
        client_id=client.client_id,
    )
    return str(result["url"])


def register(
    app: Dash,
    city: City,
    journal: Journal,
    page: SignInPage,
    safe_next: Callable[[str | None], str],
) -> None:
    """Add ``/signin/oidc`` and ``/signin/oidc/callback`` when the city has a provider.
    ``page(message, status)`` renders the sign-in page with a refusal (``message`` in
    English, translated there); ``safe_next`` keeps the return path local."""
    oidc = city.config.access.oidc
    if oidc is None:
        return
    server: flask.Flask = app.server
    prefix = app.config.requests_pathname_prefix
    security = guard(app, city)

    def refused(refusal: SignInRefused) -> flask.Response:
        log.warning("single sign-on refused: %s", refusal.reason)
        who = refusal.user or "(single sign-on)"
        journal.audit(who, "sign-in refused", refusal.reason[:300], client_address())
        return page(refusal.message, refusal.status)

    @server.route("/signin/oidc", methods=["GET"])
    def signin_oidc() -> Response:
        client = provider_client(app, city)
        assert client is not None  # registered only with [access.oidc]
        try:
            _metadata(client, oidc)
        except SignInRefused as refusal:
            return refused(refusal)
        flask.session[_NEXT] = safe_next(flask.request.args.get("next"))
        callback = flask.request.host_url.rstrip("/") + f"{prefix}signin/oidc/callback"
        response: Response = client.authorize_redirect(callback)
        return response

    @server.route("/signin/oidc/callback", methods=["GET"])
    def signin_oidc_callback() -> Response:
        client = provider_client(app, city)
        assert client is not None
        next_url = safe_next(flask.session.get(_NEXT))
        try:
            found = _verified(client, oidc)
        except SignInRefused as refusal:
            return refused(refusal)
        security.start_session(found.viewer, found.provider)
        role = f"{found.viewer.role} (single sign-on)"
        journal.audit(found.viewer.user, "sign-in", role, client_address())
        return flask.redirect(next_url, 303)
