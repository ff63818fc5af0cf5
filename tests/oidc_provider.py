"""A real OpenID Connect provider on 127.0.0.1 for the single sign-on tests.

It is ``oidc-provider-mock`` (an Authlib authorization server: discovery, JWKS,
authorization code flow, nonces, end-session), with its users and their groups given
here, plus what a test needs on top, as request hooks on its Flask app:

- PKCE is enforced: an authorization request without an S256 ``code_challenge`` is
  refused, and the token endpoint refuses a code whose ``code_verifier`` does not match.
- ``mode`` turns the provider into a faulty one: ``"foreign-issuer"`` signs ID tokens
  (with its real key) naming another issuer, ``"foreign-audience"`` another client,
  ``"expired"`` an expiry an hour past; ``"forged"`` signs them with another key under
  the same header. The cockpit's own verification must then refuse them.
- Public clients (no secret, PKCE only) may trade codes, as at real providers.
- It records the token and end-session requests it answered, for the tests to read.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import flask
import oidc_provider_mock
from joserfc import jwt
from joserfc.jwk import RSAKey
from werkzeug.serving import make_server

from tests.browser import free_port

__all__ = ["Provider", "running_provider"]


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass
class Provider:
    """A running provider: its issuer URL, its mode and what it was asked."""

    issuer: str
    mode: str = "normal"
    token_requests: list[dict[str, Any]] = field(default_factory=list)
    end_session_requests: list[dict[str, str]] = field(default_factory=list)
    challenges: dict[str, str] = field(default_factory=dict)
    storage: Any = None

    def install(self, app: flask.Flask) -> None:
        app.before_request(self._before)
        app.after_request(self._after)

    def _before(self) -> flask.Response | None:
        request = flask.request
        self.storage = flask.g.oidc_provider_mock_storage
        pkce = request.args.get("code_challenge_method") == "S256" and bool(
            request.args.get("code_challenge")
        )
        if request.path == "/oauth2/authorize" and not pkce:
            return flask.make_response("PKCE with S256 is required", 400)
        if request.path == "/oauth2/token" and request.method == "POST":
            form = request.form.to_dict()
            self.token_requests.append({**form, "authorization": request.authorization})
            challenge = self.challenges.get(form.get("code", ""))
            verifier = form.get("code_verifier", "")
            if challenge is not None and (not verifier or _s256(verifier) != challenge):
                body = {"error": "invalid_grant", "error_description": "PKCE verifier mismatch"}
                return flask.make_response(flask.jsonify(body), 400)
        if request.path == "/oauth2/end_session":
            self.end_session_requests.append(request.values.to_dict())
        return None

    def _after(self, response: flask.Response) -> flask.Response:
        request = flask.request
        if request.path == "/oauth2/authorize" and response.status_code in (302, 303):
            code = parse_qs(urlsplit(response.headers["Location"]).query).get("code", [""])[0]
            if code:
                self.challenges[code] = request.args["code_challenge"]
        spoilt = self.mode in ("foreign-issuer", "foreign-audience", "expired", "forged")
        if request.path == "/oauth2/token" and response.status_code == 200 and spoilt:
            body = json.loads(response.get_data())
            body["id_token"] = self._resigned(body["id_token"])
            response.set_data(json.dumps(body))
        return response

    def _resigned(self, id_token: str) -> str:
        """``id_token`` signed again with the provider's own key, its claims spoilt."""
        header_part, claims_part, _ = id_token.split(".")
        header = json.loads(base64.urlsafe_b64decode(header_part + "=" * (-len(header_part) % 4)))
        claims = json.loads(base64.urlsafe_b64decode(claims_part + "=" * (-len(claims_part) % 4)))
        key = RSAKey.import_key(self.storage.jwk.as_dict(is_private=True))
        if self.mode == "foreign-issuer":
            claims["iss"] = "http://127.0.0.1:1/another-issuer"
        elif self.mode == "foreign-audience":
            claims["aud"] = "another-client"
        elif self.mode == "expired":
            now = int(time.time())
            claims["iat"], claims["exp"] = now - 7200, now - 3600
        elif self.mode == "forged":  # the same header, another key: not the provider's
            key = RSAKey.generate_key(2048)
        return jwt.encode(header, claims, key)


def _allow_public_clients() -> None:
    """Let clients without a secret trade codes (``token_endpoint_auth_method=none``), as
    real providers do for public clients that PKCE protects (the mock allows only
    secrets). PKCE is enforced here for every client either way."""
    grant = oidc_provider_mock._app.AuthorizationCodeGrant
    if "none" not in grant.TOKEN_ENDPOINT_AUTH_METHODS:
        grant.TOKEN_ENDPOINT_AUTH_METHODS = [*grant.TOKEN_ENDPOINT_AUTH_METHODS, "none"]


@contextmanager
def running_provider(users: dict[str, dict[str, Any]]) -> Iterator[Provider]:
    """A provider on a free port of 127.0.0.1 whose users (``sub`` -> claims) can be
    signed in with one click on its authorization page; stopped at the end."""
    _allow_public_clients()
    app = oidc_provider_mock.app(
        require_nonce=True,
        user_claims=[oidc_provider_mock.User(sub=sub, claims=c) for sub, c in users.items()],
    )
    port = free_port()
    provider = Provider(issuer=f"http://127.0.0.1:{port}")
    provider.install(app)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
