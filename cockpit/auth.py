"""Roles, users, and who may see or do what.

Three roles: ``public`` (no sign-in: kiosks, citizens), ``staff`` and ``executive``.
Sources and layers are ``public`` or ``internal``; internal data is for signed-in roles
only. Actions (acknowledge an alert, publish a notice…) are granted to roles in the city
config. Every read of the ``City`` and every action takes the viewer's role, so these
checks run on the server for each callback and route, whatever a page's menu shows.

Passwords are kept only as argon2id hashes (``city-cockpit hash-password`` makes one).
Users signed in through the city's OpenID Connect provider (``[access.oidc]``) get their
role from the provider's groups claim through the config's mapping (``role_for_claims``)
and are then the same ``Viewer`` as a local user, checked the same way.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from cockpit.config import DEFAULT_ACTIONS, CityConfig, OidcConfig

__all__ = [
    "ROLES",
    "Viewer",
    "authenticate",
    "groups_from_claims",
    "hash_password",
    "may_do",
    "may_see",
    "role_for_claims",
    "role_for_groups",
    "role_from_session",
    "user_from_claims",
]

ROLES: Final = ("public", "staff", "executive")

_hasher = PasswordHasher()
# Verified against when the user is unknown, so a wrong name costs as long as a wrong
# password and sign-in timing does not reveal which names exist.
# It is the hash of "city-cockpit: no such user" with the hasher's parameters, written
# out so that importing this module does not spend a second hashing.
_DUMMY_HASH: Final = (
    "$argon2id$v=19$m=65536,t=3,p=4$CDtsQ3bAwlH5UCMJPlk8bQ$"
    "GH/PwxaVUx80MpB7i5fYXYf5ZUFb9aSqO3J+bYlbjB0"
)


@dataclass(frozen=True)
class Viewer:
    """Who is asking: a user name ("" when not signed in) and a role."""

    user: str = ""
    role: str = "public"

    @property
    def signed_in(self) -> bool:
        return bool(self.user) and self.role != "public"


def may_see(role: str, access: str) -> bool:
    """True when ``role`` may see data whose access level is ``access``."""
    if access == "public":
        return True
    return access == "internal" and role in ("staff", "executive")


def may_do(config: CityConfig, role: str, action: str) -> bool:
    """True when the city config grants ``action`` to ``role`` (public never acts)."""
    allowed = config.access.actions.get(action, DEFAULT_ACTIONS.get(action, []))
    return role != "public" and role in allowed


def role_from_session(session: Mapping[str, Any]) -> str:
    """The viewer's role from a signed session; anything unknown counts as public."""
    role = session.get("role", "public")
    return role if role in ROLES else "public"


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``, for a user entry in the city config."""
    return _hasher.hash(password)


def _stored_hash(config: CityConfig, user: str, environ: Mapping[str, str]) -> str:
    entry = config.access.users.get(user)
    if entry is None:
        return ""
    if entry.password_hash_env:
        return environ.get(entry.password_hash_env, "")
    return entry.password_hash


def authenticate(
    config: CityConfig, user: str, password: str, environ: Mapping[str, str] | None = None
) -> Viewer | None:
    """The signed-in ``Viewer`` when ``password`` matches ``user``'s hash, else None."""
    stored = _stored_hash(config, user, os.environ if environ is None else environ)
    try:
        _hasher.verify(stored or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if not stored:
        return None
    return Viewer(user=user, role=config.access.users[user].role)


def groups_from_claims(oidc: OidcConfig, claims: Mapping[str, Any]) -> list[str]:
    """The provider's groups for a user from ID-token ``claims``: the list (or single
    string) under ``oidc.groups_claim``, followed through dots for a nested claim such as
    ``realm_access.roles``. Anything else (missing, a number, a map) gives no groups."""
    value: Any = claims
    for part in oidc.groups_claim.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [g for g in value if isinstance(g, str)]
    return []


def role_for_groups(oidc: OidcConfig, groups: list[str]) -> str | None:
    """The highest role the config maps any of ``groups`` to, or None when it maps none
    (such a user has no role in City Cockpit and is not signed in)."""
    mapped = {oidc.roles[g] for g in groups if g in oidc.roles}
    for role in reversed(ROLES):
        if role in mapped:
            return role
    return None


def role_for_claims(oidc: OidcConfig, claims: Mapping[str, Any]) -> str | None:
    """``role_for_groups`` of the groups in ID-token ``claims``."""
    return role_for_groups(oidc, groups_from_claims(oidc, claims))


def user_from_claims(oidc: OidcConfig, claims: Mapping[str, Any]) -> str:
    """The user's name from ID-token ``claims``: ``oidc.user_claim``, else the e-mail
    address, else the subject (always present in a valid ID token)."""
    for key in (oidc.user_claim, "email", "sub"):
        value = claims.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""
