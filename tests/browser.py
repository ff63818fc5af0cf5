"""Building blocks for browser tests: a pinned replay clock, a demo-city runtime and one
app server with a headless Chromium per test module."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from dash import Dash
from dash.testing.application_runners import ThreadedRunner
from dash.testing.composite import DashComposite

from cockpit.config import CityConfig, default_config_path, load_config
from cockpit.runtime import Runtime

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
        ThreadedRunner() as server,
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
