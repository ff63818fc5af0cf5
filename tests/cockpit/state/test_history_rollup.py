"""Hourly rollups of the history: kept longer than raw observations, exact, never shrunk."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from cockpit.model import observations_frame
from cockpit.state.embedded import HistoryStore


def hour_ago(days: float) -> pd.Timestamp:
    """The start of an hour ``days`` before now (the store's retention runs on real time)."""
    return pd.Timestamp(datetime.now(UTC) - timedelta(days=days)).floor("h")


def quarter_hours(site: str, start: pd.Timestamp, values: list[float]) -> pd.DataFrame:
    times = [start + pd.Timedelta(minutes=15 * i) for i in range(len(values))]
    return observations_frame(
        pd.DataFrame({"site_id": site, "metric": "vehicle_flow", "time": times, "value": values})
    )


def test_hourly_means_per_site_metric_and_hour(tmp_path: Path) -> None:
    history = HistoryStore(tmp_path)
    start = hour_ago(1)
    history.append(quarter_hours("traffic:1", start, [100, 200, 300, 400, 50, 50]))
    history.append(quarter_hours("traffic:1", start, [100, 200, 300, 400, 50, 50]))  # again
    history.append(quarter_hours("traffic2:1", start, [7]))
    end = start + pd.Timedelta(hours=3)
    hourly = history.hourly(["traffic:1"], start, end)
    assert hourly["time"].tolist() == [start, start + pd.Timedelta(hours=1)]
    assert hourly["value"].tolist() == [250.0, 50.0]  # offered twice, counted once
    assert str(hourly["time"].dtype) == "datetime64[ns, UTC]"
    source = history.source_hourly("traffic", "vehicle_flow", start, end)
    assert set(source["site_id"]) == {"traffic:1"}
    assert history.hourly(["traffic:1"], start, end, metric="no2").empty
    assert history.hourly([], start, end).empty
    # A late observation in an hour already rolled up updates its mean.
    history.append(quarter_hours("traffic:1", start + pd.Timedelta(minutes=90), [150]))
    assert history.hourly(["traffic:1"], start, end)["value"].tolist() == [250.0, 250 / 3]


def test_rollups_outlive_raw_retention_and_end_at_their_own(tmp_path: Path) -> None:
    history = HistoryStore(tmp_path, retention_days=2, rollup_days=30)
    old, older = hour_ago(10), hour_ago(40)
    history.append(quarter_hours("traffic:1", old, [10, 20, 30, 40]))
    history.append(quarter_hours("traffic:1", older, [10, 20, 30, 40]))
    far = hour_ago(60), hour_ago(0) + pd.Timedelta(hours=1)
    assert history.window(["traffic:1"], *far).empty  # raw rows past their retention
    hourly = history.hourly(["traffic:1"], *far)
    assert hourly["time"].tolist() == [old] and hourly["value"].tolist() == [25.0]
    # Offering part of that hour again (a resumed backfill) never shrinks its rollup.
    history.append(quarter_hours("traffic:1", old, [1000]))
    assert history.hourly(["traffic:1"], *far)["value"].tolist() == [25.0]
    # The whole hour offered again (as many readings: a platform's correction) replaces it.
    history.append(quarter_hours("traffic:1", old, [1, 1, 1, 1]))
    assert history.hourly(["traffic:1"], *far)["value"].tolist() == [1.0]


def test_purging_a_source_purges_its_rollups(tmp_path: Path) -> None:
    history = HistoryStore(tmp_path)
    start = hour_ago(3)
    history.append(quarter_hours("pedestrians:1", start, [5, 5]))
    history.append(quarter_hours("traffic:1", start, [9]))
    assert history.purge_source("pedestrians", start + pd.Timedelta(hours=1)) == 2
    span = start, start + pd.Timedelta(hours=1)
    assert history.hourly(["pedestrians:1"], *span).empty
    assert history.hourly(["traffic:1"], *span)["value"].tolist() == [9.0]


def test_a_history_from_before_rollups_is_rolled_up_when_opened(tmp_path: Path) -> None:
    start = hour_ago(1)
    db = sqlite3.connect(tmp_path / "history.sqlite")
    db.execute(
        "CREATE TABLE observations (site_id TEXT NOT NULL, metric TEXT NOT NULL, time INTEGER"
        " NOT NULL, value REAL NOT NULL, PRIMARY KEY (site_id, metric, time)) WITHOUT ROWID"
    )
    seconds = int(start.timestamp())
    db.executemany(
        "INSERT INTO observations VALUES ('air:1', 'no2', ?, ?)",
        [(seconds, 10.0), (seconds + 1800, 30.0)],
    )
    db.commit()
    db.close()
    history = HistoryStore(tmp_path)
    span = start, start + pd.Timedelta(hours=1)
    assert history.hourly(["air:1"], *span)["value"].tolist() == [pytest.approx(20.0)]
    assert history.window(["air:1"], *span)["value"].tolist() == [10.0, 30.0]
    history.close()
    again = HistoryStore(tmp_path)  # rolled up once only
    assert again.hourly(["air:1"], *span)["value"].tolist() == [pytest.approx(20.0)]
