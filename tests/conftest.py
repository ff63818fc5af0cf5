"""Shared test setup: headless Chromium for dash_duo and a demo city on a temporary disk."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from selenium.webdriver.chrome.options import Options

from cockpit.config import CityConfig, default_config_path, load_config

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
