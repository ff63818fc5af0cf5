"""Building blocks for browser tests: a pinned replay clock, a demo-city runtime and one
app server with a headless Chromium per test module."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from dash import Dash
from dash.testing.application_runners import BaseDashRunner
from dash.testing.composite import DashComposite
from werkzeug.serving import BaseWSGIServer, make_server

from cockpit.config import CityConfig, default_config_path, load_config
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
    rt = Runtime.open(cfg, data_dir, clock=lambda: clock().to_pydatetime())
    for connector in rt.refresher.connectors.values():
        connector.clock_now = clock  # type: ignore[attr-defined]
    rt.refresher.refresh_due()
    if backfill:
        rt.refresher.backfill()
    return rt


def demo_runtime_fixture(backfill: bool = True) -> Any:
    """A module-scoped ``runtime`` fixture: the demo city at ``T0``, closed after the
    module. Use as ``runtime = demo_runtime_fixture()`` in a test module."""

    @pytest.fixture(scope="module")
    def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
        rt = demo_runtime(tmp_path_factory.mktemp("data"), Clock(T0), backfill=backfill)
        yield rt
        rt.close()

    return runtime


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


def own_errors(duo: DashComposite, config: CityConfig) -> list[dict[str, Any]]:
    """Browser console errors, less failed tile requests (there is no internet here)."""
    tile_host = config.map.tile_url.split("/")[2] if config.map.tile_url else "\0"
    return [e for e in duo.get_logs() if tile_host not in e.get("message", "")]
