"""Fixtures the route tests share: the sign-in tests' city behind one trusted proxy."""

from __future__ import annotations

import pytest

from tests.conftest import AppServers
from tests.layouts.routes.test_signin import signin_config
from wiring.runtime import Runtime


@pytest.fixture(scope="module")
def proxied(app_server: AppServers) -> Runtime:
    """The sign-in tests' city, behind one trusted proxy, served over real HTTP."""
    return app_server.city(config=signin_config(), backfill=False)


@pytest.fixture(scope="module")
def proxied_base(app_server: AppServers, proxied: Runtime) -> str:
    return app_server.url(proxied)
