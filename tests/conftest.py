"""Shared test setup: headless Chromium options, the demo config, a pinned clock and the
one app-server factory every browser and HTTP test module uses."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.chrome.options import Options

from cockpit.config import CityConfig, default_config_path, load_config
from tests.browser import T0, AppServers, Clock

SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-output" / "screenshots"


def pytest_setup_options() -> Options:
    """Chromium flags for a closed network and a root user (dash_duo calls this hook)."""
    options = Options()
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1600,1000",
    ):
        options.add_argument(flag)
    options.binary_location = os.environ.get("DASH_TEST_CHROMEPATH", "/usr/bin/chromium")
    options.set_capability("goog:loggingPrefs", {"browser": "SEVERE"})
    return options


@pytest.fixture
def demo_config() -> CityConfig:
    """The demo city's config, freshly loaded (tests may change it)."""
    return load_config(default_config_path())


@pytest.fixture
def screenshots() -> Path:
    """Folder where browser tests keep their screenshots."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture(scope="module")
def clock() -> Clock:
    """The module's replay clock, pinned at ``T0`` until a test moves it."""
    return Clock(T0)


@pytest.fixture(scope="module")
def app_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AppServers]:
    """The one factory for a test module's cities and app servers (see ``AppServers``):
    ``runtime = app_server.city(clock)``, then ``app_server.browser(runtime)`` or
    ``app_server.url(runtime)``; everything stops after the module."""
    servers = AppServers(request, tmp_path_factory)
    yield servers
    servers.close()
