"""Fixtures the route tests share: the sign-in tests' city behind one trusted proxy, and
the public and a staff member (``with_staff``) asking a module's ``app``."""

from __future__ import annotations

from typing import Final

import pytest
from dash import Dash
from flask.testing import FlaskClient

from cockpit.auth import hash_password
from cockpit.config import CityConfig, UserConfig
from tests.conftest import AppServers
from tests.layouts.routes.test_signin import signin_config
from tests.layouts.viewing import signed_in
from wiring.runtime import Runtime

STAFF_PASSWORD: Final = "kerbside-7-bluestone"


def with_staff(config: CityConfig) -> CityConfig:
    """``config`` with the staff member ``ana`` (password ``STAFF_PASSWORD``)."""
    config.access.users["ana"] = UserConfig(
        role="staff", password_hash=hash_password(STAFF_PASSWORD)
    )
    return config


@pytest.fixture(scope="module")
def proxied(app_server: AppServers) -> Runtime:
    """The sign-in tests' city, behind one trusted proxy, served over real HTTP."""
    return app_server.city(config=signin_config(), backfill=False)


@pytest.fixture(scope="module")
def proxied_base(app_server: AppServers, proxied: Runtime) -> str:
    return app_server.url(proxied)


@pytest.fixture
def public(app: Dash) -> FlaskClient:
    """The public, asking the module's ``app``."""
    return app.server.test_client()


@pytest.fixture
def staff(app: Dash) -> FlaskClient:
    """``ana`` of ``with_staff``, signed in to the module's ``app``."""
    return signed_in(app.server, "ana", STAFF_PASSWORD)
