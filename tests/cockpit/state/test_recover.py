"""Damaged embedded files on a real disk: named, moved aside, started afresh, reported."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import requests

from cockpit.config import default_config_path, load_config
from cockpit.state.journal import Journal
from tests.browser import T0, AppServers, Clock, demo_runtime
from wiring.runtime import Runtime


def _damage(path: Path) -> None:
    """Overwrite everything after SQLite's 100-byte header with junk: the file still says
    it is a database, but its schema page is unreadable."""
    size = path.stat().st_size
    with path.open("r+b") as handle:
        handle.seek(100)
        handle.write(b"\xa5" * min(size - 100, 64 * 1024))


def _city(folder: Path) -> Runtime:
    config = load_config(default_config_path())
    return demo_runtime(folder, Clock(T0), config=config, backfill=False)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A city's data folder, filled once and closed."""
    runtime = _city(tmp_path)
    runtime.journal.audit("eve", "sign-in", "executive", "10.0.0.1")
    runtime.close()
    return tmp_path


@pytest.mark.parametrize(
    ("part", "relative"),
    [
        ("journal", "journal.sqlite"),
        ("history", "history.sqlite"),
        ("snapshots", "snapshots/cache.db"),
    ],
)
def test_a_damaged_file_is_moved_aside_and_named(
    folder: Path, part: str, relative: str, caplog: pytest.LogCaptureFixture
) -> None:
    damaged = folder / relative
    _damage(damaged)
    with caplog.at_level(logging.ERROR, logger="cockpit.state.recover"):
        runtime = _city(folder)
    try:
        moved = [p for p in folder.rglob("*.damaged-*") if not p.name.endswith(("-wal", "-shm"))]
        moved = [p for p in moved if p.parent == folder]  # the file, or the cache folder
        assert len(moved) == 1
        message = caplog.records[-1].getMessage()
        target = folder / ("snapshots" if part == "snapshots" else relative)
        assert str(target) in message and str(moved[0]) in message
        stores = {
            "journal": runtime.journal,
            "history": runtime.history,
            "snapshots": runtime.store,
        }
        assert stores[part].recovered.part == part  # type: ignore[attr-defined]
        # The cockpit works on: a fresh file in place, refreshed data in it.
        runtime.journal.audit("sam", "sign-in", "staff", "10.0.0.2")
        assert runtime.journal.audit_log(1)[0].actor == "sam"
        assert runtime.city.view("public").kpis
    finally:
        runtime.close()


def test_health_names_the_damaged_part_and_answers_503_without_history(
    app_server: AppServers, folder: Path
) -> None:
    _damage(folder / "history.sqlite")
    runtime = app_server.city(backfill=False, data_dir=folder)
    answer = app_server.app(runtime).server.test_client().get("/health")
    assert answer.status_code == 503
    report = answer.get_json()
    assert set(report["damaged"]) == {"history"}
    assert report["damaged"]["history"] == ""  # the public learns no file names


def test_health_is_200_when_only_the_cache_was_rebuilt(
    app_server: AppServers, folder: Path
) -> None:
    _damage(folder / "snapshots" / "cache.db")
    runtime = app_server.city(backfill=False, data_dir=folder)
    answer = app_server.app(runtime).server.test_client().get("/health")
    assert answer.status_code == 200
    assert set(answer.get_json()["damaged"]) == {"snapshots"}


def test_an_intact_file_is_left_alone(folder: Path) -> None:
    journal = Journal(folder)
    try:
        assert journal.audit_log(1)[0].actor == "eve"
    finally:
        journal.close()
    runtime = _city(folder)
    try:
        assert runtime.journal.recovered is None  # type: ignore[attr-defined]
        assert not list(folder.rglob("*.damaged-*"))
    finally:
        runtime.close()


def test_a_history_damaged_while_serving_answers_503_not_500(
    app_server: AppServers, folder: Path
) -> None:
    runtime = app_server.city(backfill=False, data_dir=folder)
    site = str(runtime.city.view("public").sites["id"].iloc[0])
    base = app_server.url(runtime)
    assert requests.get(base + "/health", timeout=30).status_code == 200
    _damage(folder / "history.sqlite")
    paths = [
        "/api/v1/kpis",
        "/api/v1/observations/latest",
        f"/api/v1/sites/{site}/observations",
        f"/export/site/{site}.csv",
    ]
    statuses = {p: requests.get(base + p, timeout=30).status_code for p in paths}
    assert 500 not in statuses.values(), statuses
    assert 503 in statuses.values(), statuses  # the history is read and found damaged
    health = requests.get(base + "/health", timeout=30)
    assert health.status_code == 503
    assert "storage" in health.json()["damaged"]
