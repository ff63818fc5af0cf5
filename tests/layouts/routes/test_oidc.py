"""Single sign-on against a real OpenID Connect provider on 127.0.0.1, over real HTTP.

The provider (``tests.oidc_provider``) enforces PKCE and can be made to sign ID tokens
with another issuer or a past expiry; the cockpit's own verification must refuse them,
as it refuses users whose groups map to no role, forged callbacks and replayed codes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests
from dash import Dash
from flask.sessions import SecureCookieSessionInterface

from cockpit.config import CityConfig, OidcConfig
from tests.browser import AppServers
from tests.layouts.routes.test_signin import PASSWORDS, Client, signin_config
from tests.oidc_provider import Provider, running_provider
from wiring.runtime import Runtime

SECRET_ENV = "CITY_COCKPIT_TEST_OIDC_SECRET"
SECRET = "client secret of the test provider"
USERS = {
    "ana-sub": {"preferred_username": "ana.sso", "groups": ["traffic-officers"]},
    "eve-sub": {"preferred_username": "eve.sso", "groups": ["library", "city-leadership"]},
    "lib-sub": {"preferred_username": "lib.sso", "groups": ["library"]},
}


def sso_config(issuer: str) -> CityConfig:
    """The sign-in tests' city with the provider at ``issuer`` and a group mapping."""
    config = signin_config()
    config.access.oidc = OidcConfig(
        issuer=issuer,
        client_id="city-cockpit",
        client_secret_env=SECRET_ENV,
        roles={"traffic-officers": "staff", "city-leadership": "executive"},
        label="Melbourne ID",
    )
    return config


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    os.environ[SECRET_ENV] = SECRET
    with running_provider(USERS) as running:
        yield running
    del os.environ[SECRET_ENV]


@pytest.fixture(scope="module")
def runtime(app_server: AppServers, provider: Provider) -> Runtime:
    return app_server.city(config=sso_config(provider.issuer), backfill=False)


@pytest.fixture(scope="module")
def app(app_server: AppServers, runtime: Runtime) -> Dash:
    return app_server.app(runtime)


@pytest.fixture(scope="module")
def base(app_server: AppServers, app: Dash) -> str:
    return app_server.url(app)


@pytest.fixture(autouse=True)
def honest_provider(provider: Provider) -> Iterator[None]:
    provider.mode = "normal"
    yield
    provider.mode = "normal"


def authorize(client: Client, sub: str, next_url: str = "/") -> str:
    """Start single sign-on and pick ``sub`` on the provider's page: the callback URL
    the provider sends the browser back to (not yet followed)."""
    start = client.get(f"/signin/oidc?next={next_url}")
    assert start.status_code == 302, start.text
    at_provider = start.headers["Location"]
    answer = client.http.post(at_provider, data={"sub": sub}, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def callback(client: Client, url: str) -> requests.Response:
    return client.http.get(url, allow_redirects=False, timeout=10)


def test_the_sign_in_page_offers_the_provider_in_the_viewers_language(
    base: str, provider: Provider
) -> None:
    client = Client(base, "10.7.0.1")
    answer = client.get("/signin?next=/m")
    # Signing out posts a form that continues at the provider: the only other origin.
    assert f"form-action 'self' {provider.issuer};" in answer.headers["Content-Security-Policy"]
    page = answer.text
    assert 'href="/signin/oidc?next=%2Fm"' in page
    assert "Sign in with Melbourne ID" in page
    german = client.get("/signin?lang=de").text
    assert "Anmelden mit Melbourne ID" in german and 'lang="de"' in german
    browser_german = client.get("/signin", headers={"Accept-Language": "de-DE,de;q=0.9"}).text
    assert "Anmelden mit Melbourne ID" in browser_german


def test_the_flow_uses_pkce_state_and_nonce(base: str, app: Dash, provider: Provider) -> None:
    client = Client(base, "10.7.0.2")
    start = client.get("/signin/oidc")
    url = urlsplit(start.headers["Location"])
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert f"{url.scheme}://{url.netloc}" == provider.issuer
    assert query["response_type"] == "code" and query["client_id"] == "city-cockpit"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert len(query["state"]) >= 20 and len(query["nonce"]) >= 20
    assert query["redirect_uri"] == f"{base}/signin/oidc/callback"
    assert set(query["scope"].split()) == {"openid", "profile", "email"}
    # The verifier and nonce stay on the server: the session cookie holds neither.
    cookie = client.http.cookies["city_cockpit_session"]
    serializer = SecureCookieSessionInterface().get_signing_serializer(app.server)
    assert serializer is not None
    session = serializer.loads(cookie)
    marker = f"_state_city_{query['state']}"
    assert set(session[marker]) == {"exp"}
    assert session[marker]["exp"] - time.time() <= 600  # a started sign-in lasts 10 minutes
    assert query["nonce"] not in repr(session)


def test_a_staff_member_signs_in_through_the_provider(
    base: str, provider: Provider, runtime: Runtime
) -> None:
    client = Client(base, "10.7.0.3")
    assert client.get("/kiosks").status_code == 401
    landed = callback(client, authorize(client, "ana-sub", "/m"))
    assert landed.status_code == 303 and landed.headers["Location"] == "/m"
    assert client.role() == "staff"
    assert client.get("/kiosks").status_code == 200  # a page for signed-in staff only
    sent = provider.token_requests[-1]
    assert sent["grant_type"] == "authorization_code" and sent["code_verifier"]
    # The client secret, read from the environment, goes to the provider only.
    auth = sent["authorization"]
    assert (auth.type, auth.username, auth.password) == ("basic", "city-cockpit", SECRET)
    assert SECRET not in client.get("/signin").text + client.get("/").text
    entry = runtime.journal.audit_log(1)[0]
    assert (entry.actor, entry.action, entry.address) == ("ana.sso", "sign-in", "10.7.0.3")
    assert entry.detail == "staff (single sign-on)"


def test_the_highest_mapped_group_gives_the_role(base: str) -> None:
    client = Client(base, "10.7.0.4")
    callback(client, authorize(client, "eve-sub"))
    assert client.role() == "executive"


def test_a_group_that_maps_to_no_role_is_refused_audited_and_gets_no_session(
    base: str, runtime: Runtime
) -> None:
    client = Client(base, "10.7.0.5")
    answer = callback(client, authorize(client, "lib-sub"))
    assert answer.status_code == 403
    assert "Your account has no role in City Cockpit." in answer.text
    assert client.role() == "public"
    entry = runtime.journal.audit_log(1)[0]
    assert (entry.actor, entry.action) == ("lib.sso", "sign-in refused")
    assert "no role for groups ['library']" in entry.detail


def test_the_refusal_speaks_german_to_a_german_browser(base: str) -> None:
    client = Client(base, "10.7.0.6")
    client.http.headers["Accept-Language"] = "de"
    answer = callback(client, authorize(client, "lib-sub"))
    assert answer.status_code == 403
    assert "Ihr Konto hat keine Rolle im City Cockpit." in answer.text


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        (
            "foreign-issuer",
            "ID token refused: InvalidClaimError: invalid_claim: Invalid claim: 'iss'",
        ),
        (
            "foreign-audience",
            "ID token refused: InvalidClaimError: invalid_claim: Invalid claim: 'aud'",
        ),
        ("expired", "ID token refused: ExpiredTokenError"),
        ("forged", "ID token refused: BadSignatureError"),
    ],
)
def test_an_id_token_from_another_issuer_expired_or_forged_is_refused(
    base: str,
    provider: Provider,
    runtime: Runtime,
    mode: str,
    reason: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = Client(base, "10.7.0.7")
    url = authorize(client, "ana-sub")
    provider.mode = mode
    answer = callback(client, url)
    assert answer.status_code == 401
    assert "could not be verified, so you were not signed in" in answer.text
    assert client.role() == "public"
    entry = runtime.journal.audit_log(1)[0]
    assert entry.action == "sign-in refused" and reason in entry.detail
    logged = [r.getMessage() for r in caplog.records if r.name == "layouts.routes.oidc"]
    assert any(m.startswith("single sign-on refused: " + reason) for m in logged)


def test_a_callback_the_browser_did_not_start_is_refused(base: str, runtime: Runtime) -> None:
    # Login CSRF: the attacker starts a sign-in and makes the victim's browser finish it.
    attacker, victim = Client(base, "10.7.0.8"), Client(base, "10.7.0.9")
    url = authorize(attacker, "ana-sub")
    answer = callback(victim, url)
    assert answer.status_code == 400
    assert "expired or was already used" in answer.text
    assert victim.role() == "public"
    assert runtime.journal.audit_log(1)[0].detail == "unknown or reused state"
    # A made-up state in the attacker's own browser fares no better.
    forged = url.replace("state=", "state=forged")
    assert callback(attacker, forged).status_code == 400
    assert attacker.role() == "public"


def test_a_replayed_code_is_refused(base: str, provider: Provider, runtime: Runtime) -> None:
    client = Client(base, "10.7.0.10")
    url = authorize(client, "ana-sub")
    assert callback(client, url).status_code == 303
    assert callback(client, url).status_code == 400  # its state is spent
    # The same code with a fresh state of this browser: the provider refuses it.
    code = parse_qs(urlsplit(url).query)["code"][0]
    other = authorize(Client(base, "10.7.0.11"), "ana-sub")
    fresh_start = client.get("/signin/oidc")
    state = parse_qs(urlsplit(fresh_start.headers["Location"]).query)["state"][0]
    replay = f"{other.split('?')[0]}?code={code}&state={state}"
    answer = callback(client, replay)
    assert answer.status_code == 400
    assert "did not sign you in" in answer.text
    assert runtime.journal.audit_log(1)[0].detail.startswith("provider refused: invalid_grant")


def test_sign_out_ends_the_session_and_continues_at_the_provider(
    base: str, provider: Provider, runtime: Runtime
) -> None:
    client = Client(base, "10.7.0.12")
    callback(client, authorize(client, "ana-sub"))
    answer = client.post("/signout", {"csrf": client.token("/signout")})
    assert answer.status_code == 303
    target = urlsplit(answer.headers["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == (
        f"{provider.issuer}/oauth2/end_session"
    )
    query = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert query["post_logout_redirect_uri"] == f"{base}/"
    assert query["id_token_hint"].count(".") == 2
    assert client.role() == "public"
    at_provider = client.http.get(answer.headers["Location"], timeout=10)
    assert at_provider.status_code == 200
    assert provider.end_session_requests[-1]["id_token_hint"] == query["id_token_hint"]
    entry = runtime.journal.audit_log(1)[0]
    assert (entry.actor, entry.action, entry.detail) == ("ana.sso", "sign-out", "single sign-on")


def test_a_changed_group_mapping_ends_the_session(base: str, runtime: Runtime) -> None:
    client = Client(base, "10.7.0.13")
    callback(client, authorize(client, "ana-sub"))
    assert client.role() == "staff"
    oidc = runtime.config.access.oidc
    assert oidc is not None
    oidc.roles = {"traffic-officers": "executive", "city-leadership": "executive"}
    try:
        assert client.role() == "public"  # signed in as staff; the config says otherwise now
    finally:
        oidc.roles = {"traffic-officers": "staff", "city-leadership": "executive"}


def test_local_users_still_sign_in_beside_the_provider(base: str) -> None:
    client = Client(base, "10.7.0.14")
    assert client.sign_in("sam", PASSWORDS["sam"]).status_code == 303
    assert client.role() == "staff"
    answer = client.post("/signout", {"csrf": client.token("/signout")})
    assert answer.headers["Location"] == "/"  # a local user signs out locally only


def test_a_provider_naming_another_issuer_is_refused_before_the_browser_goes_there(
    base: str, provider: Provider, runtime: Runtime
) -> None:
    oidc = runtime.config.access.oidc
    assert oidc is not None
    oidc.issuer = f"{provider.issuer}/realms/staff"  # the discovery document says otherwise
    try:
        client = Client(base, "10.7.0.15")
        answer = client.get("/signin/oidc")
        assert answer.status_code == 502
        assert "did not identify itself as expected" in answer.text
        assert "Location" not in answer.headers
        entry = runtime.journal.audit_log(1)[0]
        assert entry.action == "sign-in refused"
        assert entry.detail.startswith(f"discovery names issuer '{provider.issuer}'")
    finally:
        oidc.issuer = provider.issuer
    assert Client(base, "10.7.0.16").get("/signin/oidc").status_code == 302


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil"])
def test_the_return_path_after_single_sign_on_stays_on_the_cockpit(base: str, target: str) -> None:
    client = Client(base, "10.7.0.17")
    landed = callback(client, authorize(client, "ana-sub", quote(target, safe="")))
    assert landed.status_code == 303 and landed.headers["Location"] == "/"
    assert client.role() == "staff"


def test_a_sign_in_started_on_one_app_server_finishes_on_another(
    app_server: AppServers, runtime: Runtime, base: str
) -> None:
    # Two app servers of one city share its cache (sessions, the signing key and the
    # started sign-ins), as the workers of one cockpit behind a load balancer do.
    other = app_server.url(app_server.app(runtime))
    client = Client(base, "10.7.0.18")
    url = authorize(client, "eve-sub")
    assert url.startswith(f"{base}/signin/oidc/callback?")
    landed = callback(client, other + url.removeprefix(base))  # cookies are per host
    assert landed.status_code == 303
    assert client.role() == "executive"
    assert Client(other, "10.7.0.18").role() == "public"  # another browser: nobody


def test_a_public_client_signs_in_with_pkce_alone(
    app_server: AppServers, runtime: Runtime, provider: Provider
) -> None:
    oidc = runtime.config.access.oidc
    assert oidc is not None
    oidc.client_secret_env = ""  # a public client: no secret at all
    try:
        public_app = app_server.url(app_server.app(runtime))
        client = Client(public_app, "10.7.0.19")
        callback(client, authorize(client, "ana-sub"))  # the client is made on first use
    finally:
        oidc.client_secret_env = SECRET_ENV
    assert client.role() == "staff"
    sent = provider.token_requests[-1]
    assert sent["authorization"] is None
    assert sent["client_id"] == "city-cockpit" and sent["code_verifier"]
