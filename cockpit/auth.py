"""Roles, and who may see which source.

Three roles: ``public`` (no sign-in: kiosks, citizens), ``staff`` and ``executive``.
Sources and layers are ``public`` or ``internal``; internal data is for signed-in roles
only. Every read of the ``City`` takes the viewer's role, so this check runs on the
server for each callback and route, whatever a page's menu shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

__all__ = ["ROLES", "may_see", "role_from_session"]

ROLES: Final = ("public", "staff", "executive")


def may_see(role: str, access: str) -> bool:
    """True when ``role`` may see data whose access level is ``access``."""
    if access == "public":
        return True
    return access == "internal" and role in ("staff", "executive")


def role_from_session(session: Mapping[str, Any]) -> str:
    """The viewer's role from a signed session; anything unknown counts as public."""
    role = session.get("role", "public")
    return role if role in ROLES else "public"
