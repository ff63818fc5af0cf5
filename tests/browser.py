"""Building blocks for browser and HTTP tests: a pinned replay clock, a demo-city runtime
and ``AppServers``, the one factory behind the ``app_server`` fixture (tests/conftest.py)
that opens a module's city, serves it on 127.0.0.1 and drives it with headless Chromium."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from dash import Dash
from dash.testing.application_runners import BaseDashRunner
from dash.testing.composite import DashComposite
from werkzeug.serving import BaseWSGIServer, make_server

from cockpit.config import CityConfig, default_config_path, load_config
from layouts.routes.live import drop_streams
from wiring.app import create_app
from wiring.runtime import Runtime

# Replay time pinned so that the figures on screen can be recomputed exactly.
T0 = pd.Timestamp("2026-11-24 10:30", tz="Australia/Melbourne").tz_convert("UTC")


class Clock:
    """A settable clock shared by the runtime and the replay connectors."""

    def __init__(self, when: pd.Timestamp) -> None:
        self.when = when

    def __call__(self) -> pd.Timestamp:
        return self.when


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def demo_runtime(
    data_dir: Path, clock: Clock, config: CityConfig | None = None, backfill: bool = True
) -> Runtime:
    """The demo city (or ``config``) refreshed once at ``clock``'s time, history filled."""
    cfg = config or load_config(default_config_path())
    parking = cfg.sources.get("parking")
    if parking is not None and parking.connector == "melbourne-replay":
        # The demo keeps four weeks of simulated parking (a minute to fill); a day of it is
        # enough here and keeps each module's start quick (the replay then shows parking's
        # missing history).
        parking.backfill_hours = min(parking.backfill_hours, 24)
    rt = Runtime.open(cfg, data_dir, clock=lambda: clock().to_pydatetime())
    for connector in rt.refresher.connectors.values():
        connector.clock_now = clock  # type: ignore[attr-defined]
    rt.refresher.refresh_due()
    if backfill:
        rt.refresher.backfill()
    return rt


class WerkzeugRunner(BaseDashRunner):  # type: ignore[misc]
    """Serves a Dash app with werkzeug in a thread and stops it cleanly.

    Dash's own ThreadedRunner stops its server by raising inside every thread it started,
    which can interrupt a request still being answered; this one stops accepting, then
    lets answers in flight finish.
    """

    def __init__(self) -> None:
        super().__init__(keep_open=False, stop_timeout=10, host="127.0.0.1")
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self, app: Dash, port: int | None = None, **_: Any) -> None:
        self.port = port or free_port()
        self._server = make_server("127.0.0.1", self.port, app.server, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.started = True

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(self.stop_timeout)
        self.started = False


@contextmanager
def browser(
    request: pytest.FixtureRequest,
    app: Dash,
    download_dir: Path,
    size: tuple[int, int] = (1600, 1000),
    **options: Any,
) -> Iterator[DashComposite]:
    """``app`` served on a free 127.0.0.1 port with a headless Chromium of ``size``."""
    with (
        WerkzeugRunner() as server,
        DashComposite(
            server=server,
            browser="chrome",
            headless=True,
            options=request.config.hook.pytest_setup_options(),
            download_path=str(download_dir),
            percy_run=False,
            **options,
        ) as dc,
    ):
        dc.start_server(app, port=free_port())
        dc.driver.set_window_size(*size)
        yield dc


@contextmanager
def serve(app: Dash) -> Iterator[str]:
    """``app`` on a free 127.0.0.1 port in a thread, stopped cleanly: requests still
    being answered finish before the server goes."""
    server = make_server("127.0.0.1", free_port(), app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
        wait_for_idle_server()
        server.server_close()


def wait_for_idle_server(limit_s: float = 10) -> None:
    """Wait (at most ``limit_s``) until no request of a test server is still being
    answered, so that stopping the server interrupts nothing."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if not [t for t in threading.enumerate() if "process_request_thread" in t.name]:
            return
        time.sleep(0.05)


class AppServers:
    """A test module's cities and app servers, all stopped and closed after the module
    in reverse order (servers before the runtimes they serve).

    ``city`` opens a runtime, ``app`` builds its Dash app (to add request hooks),
    ``url`` serves it over plain HTTP and ``browser`` serves it to a headless Chromium.
    """

    def __init__(self, request: pytest.FixtureRequest, tmp: pytest.TempPathFactory) -> None:
        self._request = request
        self._tmp = tmp
        self._stack = ExitStack()

    def city(
        self,
        clock: Clock | None = None,
        config: CityConfig | None = None,
        backfill: bool = True,
        data_dir: Path | None = None,
    ) -> Runtime:
        """The demo city (or ``config``) refreshed once at ``clock``'s time (default
        ``T0``), history filled unless ``backfill`` is false; closed after the module."""
        folder = data_dir or self._tmp.mktemp("data")
        runtime = demo_runtime(folder, clock or Clock(T0), config, backfill=backfill)
        self._stack.callback(runtime.close)
        return runtime

    def app(self, runtime: Runtime) -> Dash:
        """The cockpit's Dash app over ``runtime``, without a refresher thread."""
        return create_app(runtime, start_refresher=False)

    def url(self, served: Runtime | Dash) -> str:
        """``served`` (a runtime or its app) on a free port: its base URL."""
        app = served if isinstance(served, Dash) else self.app(served)
        url = self._stack.enter_context(serve(app))
        self._stack.callback(drop_streams, app)  # a live stream left open ends before the stop
        return url

    def browser(
        self, served: Runtime | Dash, size: tuple[int, int] = (1600, 1000), **options: Any
    ) -> DashComposite:
        """``served`` on a free port with a headless Chromium of ``size``; at the end the
        browser leaves the app and answers in flight finish before the server stops."""
        app = served if isinstance(served, Dash) else self.app(served)
        download = self._tmp.mktemp("download")
        dc = self._stack.enter_context(browser(self._request, app, download, size, **options))
        self._stack.callback(wait_for_idle_server)
        self._stack.callback(drop_streams, app)  # the page has gone: end its live stream
        self._stack.callback(dc.driver.get, "about:blank")  # no more polling
        return dc

    def close(self) -> None:
        self._stack.close()


def own_errors(duo: DashComposite, config: CityConfig) -> list[dict[str, Any]]:
    """Browser console errors, less failed tile requests (there is no internet here)."""
    tile_host = config.map.tile_url.split("/")[2] if config.map.tile_url else "\0"
    return [e for e in duo.get_logs() if tile_host not in e.get("message", "")]
