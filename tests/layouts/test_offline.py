"""A kiosk survives the network: its server process is stopped under a real headless
Chromium and started again on the same port.

The app runs in a child process (one per start), on a data directory the test shares,
so that the test can publish a notice while the server is down and see it arrive when
the server is back. The kiosk reloads itself every few seconds here (``reload_hours``
is tiny), but only while its server answers.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from dash.testing.browser import Browser
from selenium.webdriver.common.by import By

from cockpit.state.journal import Journal, Notice
from tests.browser import free_port

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
RELOAD_HOURS = 6 / 3600  # a full reload every 6 seconds

# The child process: the kiosk test city (see tests.layouts.pages.test_kiosk.kiosk_config),
# read once at the real time, served by werkzeug until the process is killed.
_SERVER = """
import sys
from werkzeug.serving import make_server
from wiring.runtime import Runtime
from wiring.app import create_app
from tests.layouts.pages.test_kiosk import kiosk_config

port, data_dir, reload_hours = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
runtime = Runtime.open(kiosk_config(poll_seconds=1, reload_hours=reload_hours), data_dir)
runtime.refresher.refresh_due()
app = create_app(runtime, start_refresher=False)
make_server("127.0.0.1", port, app.server, threaded=True).serve_forever()
"""


class AppProcess:
    """The cockpit in a child process on a fixed port, stopped and started at will."""

    def __init__(self, port: int, data_dir: Path, log: Path) -> None:
        self.port = port
        self.data_dir = data_dir
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.url = f"http://127.0.0.1:{port}"

    def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "CITY_COCKPIT_SECRET_KEY": "k" * 32}
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    _SERVER,
                    str(self.port),
                    str(self.data_dir),
                    str(RELOAD_HOURS),
                ],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            try:
                if requests.get(f"{self.url}/health", timeout=10).status_code in (200, 503):
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise AssertionError("the cockpit did not start:\n" + self.log.read_text()[-3000:])

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=30)
            self.process = None

    def reachable(self) -> bool:
        try:
            requests.get(f"{self.url}/health", timeout=2)
        except requests.ConnectionError:
            return False
        return True


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppProcess]:
    folder = tmp_path_factory.mktemp("offline")
    app = AppProcess(free_port(), folder / "data", folder / "server.log")
    app.start()
    yield app
    app.stop()


@pytest.fixture(scope="module")
def chrome(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Browser]:
    with Browser(
        browser="chrome",
        headless=True,
        options=request.config.hook.pytest_setup_options(),
        download_path=str(tmp_path_factory.mktemp("download")),
        percy_run=False,
    ) as br:
        br.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1920, "height": 1080, "deviceScaleFactor": 1, "mobile": False},
        )
        yield br


def wait_until(check: Any, timeout: float, what: str, log: Path | None = None) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except Exception:  # the page may be reloading right now
            value = None
        if value:
            return value
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-4000:] if log else ""
    raise AssertionError(f"timed out waiting for {what}\n{tail}")


def own_logs(br: Browser) -> list[dict[str, Any]]:
    """Console errors since the last call, less map tiles (there is no internet here)."""
    return [e for e in br.get_logs() if "tile.openstreetmap.org" not in e["message"]]


def kiosk_class(br: Browser) -> str:
    return str(br.driver.find_element(By.ID, "cc-kiosk").get_attribute("class"))


def active_slide(br: Browser) -> str:
    el = br.driver.find_element(By.CSS_SELECTOR, ".cc-slide.cc-active")
    return f"{el.get_attribute('data-slide')}/{el.get_attribute('data-lang')}"


def test_kiosk_stays_offline_and_recovers(
    server: AppProcess, chrome: Browser, screenshots: Path
) -> None:
    chrome.driver.get(f"{server.url}/kiosk?id=platform-9")
    wait_until(
        lambda: chrome.driver.find_elements(By.CSS_SELECTOR, ".cc-slide.cc-active"), 30, "the kiosk"
    )
    assert "cc-offline" not in kiosk_class(chrome)
    assert own_logs(chrome) == []
    chrome.driver.execute_script("window.ccProbe = 1;")
    slides = len(chrome.driver.find_elements(By.CSS_SELECTOR, ".cc-slide"))

    server.stop()
    assert not server.reachable()
    wait_until(lambda: "cc-offline" in kiosk_class(chrome), 15, "the offline marker")
    marker = chrome.driver.find_element(By.CSS_SELECTOR, ".cc-offline-marker")
    assert marker.is_displayed() and marker.text.startswith(("Offline", "Offline:"))
    # The last screen stays and keeps rotating; no reload into an error page, although
    # a reload is due (every 6 s) while the server is away.
    seen = {active_slide(chrome)}
    deadline = time.monotonic() + 9
    while time.monotonic() < deadline:
        seen.add(active_slide(chrome))
        time.sleep(0.3)
    assert len(seen) >= 2
    assert len(chrome.driver.find_elements(By.CSS_SELECTOR, ".cc-slide")) == slides
    assert chrome.driver.execute_script("return window.ccProbe;") == 1
    chrome.driver.save_screenshot(str(screenshots / "kiosk-offline.png"))

    # While the server is down, staff publish a notice; it shows once the server is back.
    journal = Journal(server.data_dir)
    now = datetime.now(UTC)
    journal.publish(
        Notice(
            {"en": "Bus replacement on line 86 tonight", "de": "Ersatzbus auf Linie 86 heute"},
            "info",
            now - timedelta(minutes=1),
            now + timedelta(hours=2),
            "sam",
        ),
        now=now,
    )
    journal.close()
    server.start()
    wait_until(
        lambda: (
            "cc-offline" not in kiosk_class(chrome)
            and chrome.driver.find_elements(By.CSS_SELECTOR, ".cc-banner")
        ),
        60,
        "the kiosk back online with the new notice",
        server.log,
    )
    banner = chrome.driver.find_element(By.CSS_SELECTOR, ".cc-banner").get_attribute("textContent")
    assert "Bus replacement on line 86 tonight" in banner
    chrome.get_logs()  # drain: the requests that failed while the server was away
    # Once back, the console stays clean (the failed requests while away are the only
    # messages, and they were drained above).
    time.sleep(3)
    assert own_logs(chrome) == []


def test_kiosk_reloads_itself_while_online(server: AppProcess, chrome: Browser) -> None:
    chrome.driver.get(f"{server.url}/kiosk?id=platform-9")
    wait_until(
        lambda: chrome.driver.find_elements(By.CSS_SELECTOR, ".cc-slide.cc-active"), 30, "the kiosk"
    )
    chrome.driver.execute_script("window.ccProbe = 1;")
    wait_until(
        lambda: chrome.driver.execute_script("return window.ccProbe === undefined;"),
        20,
        "a full reload",
    )
    wait_until(
        lambda: chrome.driver.find_elements(By.CSS_SELECTOR, ".cc-slide.cc-active"),
        30,
        "the kiosk after the reload",
    )
