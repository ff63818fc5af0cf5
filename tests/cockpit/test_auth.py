"""Roles, users and permissions from the city config; password hashes; the CLI helper."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from cockpit.auth import (
    ROLES,
    Viewer,
    authenticate,
    groups_from_claims,
    hash_password,
    may_do,
    may_see,
    role_for_claims,
    role_for_groups,
    role_from_session,
    user_from_claims,
)
from cockpit.config import DEFAULT_ACTIONS, CityConfig, OidcConfig, UserConfig, load_config
from cockpit.errors import ConfigError
from tests.cockpit.test_config import write_variant
from wiring import cli

PASSWORD = "correct horse battery"


@pytest.fixture
def city(demo_config: CityConfig) -> CityConfig:
    demo_config.access.users = {
        "sam": UserConfig(role="staff", password_hash=hash_password(PASSWORD)),
        "eve": UserConfig(role="executive", password_hash_env="CC_EVE_HASH"),
    }
    return demo_config


def test_the_right_password_signs_in_with_the_configured_role(city: CityConfig) -> None:
    assert authenticate(city, "sam", PASSWORD, environ={}) == Viewer("sam", "staff")


@pytest.mark.parametrize(
    ("user", "password"), [("sam", "wrong"), ("sam", ""), ("nobody", PASSWORD), ("", "")]
)
def test_wrong_password_or_unknown_user_is_refused(
    city: CityConfig, user: str, password: str
) -> None:
    assert authenticate(city, user, password, environ={}) is None


def test_a_hash_from_the_environment(city: CityConfig) -> None:
    environ = {"CC_EVE_HASH": hash_password("executive secret")}
    assert authenticate(city, "eve", "executive secret", environ) == Viewer("eve", "executive")
    # The variable missing or holding garbage: nobody signs in as eve.
    assert authenticate(city, "eve", "executive secret", {}) is None
    assert authenticate(city, "eve", "executive secret", {"CC_EVE_HASH": "garbage"}) is None


def test_hashes_are_argon2id_and_salted() -> None:
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)
    assert first.startswith("$argon2id$") and first != second
    assert PasswordHasher().verify(first, PASSWORD)


def test_who_may_see_what() -> None:
    assert all(may_see(role, "public") for role in ROLES)
    assert not may_see("public", "internal")
    assert may_see("staff", "internal") and may_see("executive", "internal")
    assert not may_see("staff", "secret")  # an unknown level is never shown


def test_default_actions(city: CityConfig) -> None:
    assert may_do(city, "staff", "acknowledge_alert")
    assert may_do(city, "staff", "publish_notice")
    assert not may_do(city, "staff", "write_decision")
    assert not may_do(city, "staff", "read_audit")
    assert may_do(city, "executive", "read_audit") and may_do(city, "executive", "write_decision")
    assert not any(may_do(city, "public", action) for action in DEFAULT_ACTIONS)
    assert not may_do(city, "executive", "launch_rockets")


def test_actions_follow_the_city_config(tmp_path: Path) -> None:
    path = write_variant(
        tmp_path,
        "[kpis.parking]",
        '[access.actions]\npublish_notice = ["executive"]\nread_audit = ["staff", "executive"]\n\n'
        "[kpis.parking]",
    )
    config = load_config(path)
    assert not may_do(config, "staff", "publish_notice")
    assert may_do(config, "executive", "publish_notice")
    assert may_do(config, "staff", "read_audit")
    assert may_do(config, "staff", "acknowledge_alert")  # not named: the default stands


def test_an_unknown_action_name_is_a_config_error(tmp_path: Path) -> None:
    path = write_variant(
        tmp_path,
        "[kpis.parking]",
        '[access.actions]\npublish_notices = ["staff"]\n\n[kpis.parking]',
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.key == "access.actions.publish_notices"
    assert "unknown action" in caught.value.reason and "publish_notice" in caught.value.reason


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ('[access.actions]\nread_audit = ["mayor"]', "access.actions.read_audit[0]"),
        ('[access.users.kiosk]\nrole = "public"\npassword_hash = "x"', "access.users.kiosk.role"),
        ("[security]\nsignin_attempts = 0", "security.signin_attempts"),
        ("[security]\nsession_hours = -1", "security.session_hours"),
    ],
)
def test_bad_access_and_security_settings_are_config_errors(
    tmp_path: Path, section: str, key: str
) -> None:
    path = write_variant(tmp_path, "[kpis.parking]", f"{section}\n\n[kpis.parking]")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.key == key


def test_unknown_session_roles_count_as_public() -> None:
    assert role_from_session({}) == "public"
    assert role_from_session({"role": "admin"}) == "public"
    assert role_from_session({"role": "staff"}) == "staff"
    assert not Viewer("", "staff").signed_in and Viewer("sam", "staff").signed_in


def test_hash_password_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert cli.main(["hash-password", "--password-stdin"]) == 0
    printed = capsys.readouterr().out.strip()
    assert PasswordHasher().verify(printed, "a long enough password")
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert cli.main(["hash-password", "--password-stdin"]) == 2
    assert "at least 12 characters" in capsys.readouterr().err


def test_unknown_users_cost_a_full_hash_check() -> None:
    """The stand-in hash for unknown users is a real one with today's parameters, so a
    wrong user name takes as long as a wrong password."""
    from cockpit.auth import _DUMMY_HASH

    hasher = PasswordHasher()
    assert hasher.verify(_DUMMY_HASH, "city-cockpit: no such user")
    assert not hasher.check_needs_rehash(_DUMMY_HASH)


# -- single sign-on: the provider's claims to a City Cockpit role -----------------------


def sso(groups_claim: str = "groups") -> OidcConfig:
    return OidcConfig(
        issuer="https://login.example.org",
        client_id="city-cockpit",
        groups_claim=groups_claim,
        roles={"traffic": "staff", "mayor": "executive"},
    )


@pytest.mark.parametrize(
    ("claims", "role"),
    [
        ({"groups": ["traffic"]}, "staff"),
        ({"groups": ["library", "mayor", "traffic"]}, "executive"),  # the highest wins
        ({"groups": "mayor"}, "executive"),  # a single group as a string
        ({"groups": ["library"]}, None),  # mapped to nothing: no role
        ({"groups": []}, None),
        ({}, None),
        ({"groups": {"traffic": True}}, None),  # not a list of names
        ({"groups": ["Traffic"]}, None),  # names are exact
    ],
)
def test_the_groups_claim_maps_to_the_highest_role(claims: dict[str, object], role: str) -> None:
    assert role_for_claims(sso(), claims) == role


def test_a_nested_groups_claim_is_followed_through_dots() -> None:
    claims = {"realm_access": {"roles": ["offline_access", "traffic"]}, "groups": ["mayor"]}
    oidc = sso("realm_access.roles")
    assert groups_from_claims(oidc, claims) == ["offline_access", "traffic"]
    assert role_for_claims(oidc, claims) == "staff"
    assert groups_from_claims(oidc, {"realm_access": "traffic"}) == []


def test_the_user_name_comes_from_the_configured_claim_then_email_then_sub() -> None:
    oidc = sso()
    assert user_from_claims(oidc, {"preferred_username": "ana", "sub": "1"}) == "ana"
    assert user_from_claims(oidc, {"preferred_username": " ", "email": "a@x.org"}) == "a@x.org"
    assert user_from_claims(oidc, {"sub": "f81d4fae"}) == "f81d4fae"


def test_a_role_from_the_provider_is_checked_like_a_local_one(city: CityConfig) -> None:
    role = role_for_groups(sso(), ["traffic"])
    assert role == "staff"
    assert may_do(city, role, "acknowledge_alert") and not may_do(city, role, "read_audit")
    assert may_see(role, "internal")
