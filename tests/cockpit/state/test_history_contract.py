"""One contract for the history, held by both backends: the embedded SQLite history and
PostgreSQL (real server on 127.0.0.1, see tests/servers.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from cockpit.model import observations_frame
from cockpit.state.embedded import HistoryStore
from cockpit.state.postgres_history import PostgresHistory
from tests.servers import pg_schema, postgres_server  # noqa: F401 - fixtures


@pytest.fixture(params=["embedded", "postgres"])
def histories(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Opens histories on one backing (``retention_days`` as asked); closes them after."""
    opened: list[Any] = []
    if request.param == "embedded":

        def make(retention_days: float = 3650) -> Any:
            opened.append(HistoryStore(tmp_path, retention_days))
            return opened[-1]
    else:
        dsn = request.getfixturevalue("postgres_server")
        schema = request.getfixturevalue("pg_schema")

        def make(retention_days: float = 3650) -> Any:
            opened.append(PostgresHistory(dsn, retention_days, schema))
            return opened[-1]

    yield make
    for history in opened:
        history.close()


TIMES = pd.date_range("2026-11-24 00:00", periods=4, freq="h", tz="UTC")


def _frame() -> pd.DataFrame:
    return observations_frame(
        [
            {"site_id": "traffic:1", "metric": "vehicle_flow", "time": t, "value": float(i)}
            for i, t in enumerate(TIMES)
        ]
        + [
            {"site_id": "traffic:2", "metric": "vehicle_flow", "time": TIMES[0], "value": 9.0},
            {"site_id": "traffic:1", "metric": "speed", "time": TIMES[0], "value": 50.0},
            {"site_id": "air:1", "metric": "no2", "time": TIMES[0], "value": 20.0},
            # a source whose id sorts right after "traffic" must not leak into its range
            {"site_id": "traffic2:1", "metric": "vehicle_flow", "time": TIMES[0], "value": 7.0},
        ]
    )


def test_appends_once_and_counts(histories: Any) -> None:
    history = histories()
    assert history.count() == 0
    assert history.append(_frame()) == 8
    assert history.append(_frame()) == 8  # offered again: stored once
    assert histories().count() == 8  # another process sees them
    assert history.append(_frame().iloc[0:0]) == 0


def test_window_is_half_open_oldest_first_and_typed(histories: Any) -> None:
    history = histories()
    history.append(_frame().iloc[::-1])
    window = history.window(["traffic:1"], TIMES[1].to_pydatetime(), TIMES[3].to_pydatetime())
    assert window["value"].tolist() == [1.0, 2.0]
    assert str(window["time"].dtype) == "datetime64[ns, UTC]"
    assert window["time"].tolist() == [TIMES[1], TIMES[2]]
    both = history.window(["traffic:1", "traffic:2"], TIMES[0], TIMES[1], metric="vehicle_flow")
    assert sorted(both["value"].tolist()) == [0.0, 9.0]
    assert history.window([], TIMES[0], TIMES[3]).empty
    assert history.window(["nowhere:1"], TIMES[0], TIMES[3]).empty
    assert list(history.window(["nowhere:1"], TIMES[0], TIMES[3]).columns) == list(window.columns)


def test_source_window_reads_one_source_and_metric(histories: Any) -> None:
    history = histories()
    history.append(_frame())
    end = TIMES[3] + pd.Timedelta(1, "s")
    per_source = history.source_window("traffic", "vehicle_flow", TIMES[0], end)
    assert sorted(per_source["site_id"].unique().tolist()) == ["traffic:1", "traffic:2"]
    assert len(per_source) == 5
    assert per_source["time"].is_monotonic_increasing
    assert history.source_window("air", "vehicle_flow", TIMES[0], end).empty


def test_marks_are_set_replaced_and_shared(histories: Any) -> None:
    history = histories()
    assert history.mark("backfill:air") is None
    history.set_mark("backfill:air", "2026-11-24T00:00:00+00:00")
    history.set_mark("backfill:air", "2026-11-25T00:00:00+00:00")
    assert histories().mark("backfill:air") == "2026-11-25T00:00:00+00:00"


def test_drops_rows_past_retention(histories: Any) -> None:
    history = histories(retention_days=1)
    old = datetime.now(UTC) - timedelta(days=3)
    new = datetime.now(UTC) - timedelta(hours=1)
    history.append(
        observations_frame(
            [
                {"site_id": "air:1", "metric": "no2", "time": old, "value": 1.0},
                {"site_id": "air:1", "metric": "no2", "time": new, "value": 2.0},
            ]
        )
    )
    assert history.count() == 1


def test_many_rows_round_trip(histories: Any) -> None:
    history = histories()
    times = pd.date_range("2026-11-01", periods=500, freq="15min", tz="UTC")
    frame = observations_frame(
        {
            "site_id": [f"traffic:{i % 20}" for i in range(len(times))],
            "metric": "vehicle_flow",
            "time": times,
            "value": [float(i) for i in range(len(times))],
        }
    )
    history.append(frame)
    got = history.source_window(
        "traffic", "vehicle_flow", times[0], times[-1] + pd.Timedelta(1, "s")
    )
    assert got["value"].tolist() == [float(i) for i in range(len(times))]


def test_hourly_rollups_summarise_each_hour(histories: Any) -> None:
    history = histories()
    start = pd.Timestamp("2026-11-24 08:00", tz="UTC")
    frame = observations_frame(
        {
            "site_id": ["traffic:1"] * 4 + ["traffic:2"],
            "metric": "vehicle_flow",
            "time": [
                start,
                start + pd.Timedelta(minutes=30),
                start + pd.Timedelta(hours=1),
                start + pd.Timedelta(hours=1, minutes=15),
                start,
            ],
            "value": [100.0, 200.0, 10.0, 30.0, 7.0],
        }
    )
    history.append(frame)
    history.append(frame.iloc[:1])  # part of an hour offered again: the rollup stays whole
    hours = history.hourly(["traffic:1"], start, start + pd.Timedelta(hours=2))
    assert hours["value"].tolist() == [150.0, 20.0]
    assert hours["time"].tolist() == [start, start + pd.Timedelta(hours=1)]
    per_source = history.source_hourly(
        "traffic", "vehicle_flow", start, start + pd.Timedelta(hours=1)
    )
    assert sorted(zip(per_source["site_id"], per_source["value"], strict=True)) == [
        ("traffic:1", 150.0),
        ("traffic:2", 7.0),
    ]
    assert history.hourly([], start, start + pd.Timedelta(hours=2)).empty


def test_purge_source_drops_one_sources_old_rows_and_rollups(histories: Any) -> None:
    history = histories()
    history.append(_frame())
    deleted = history.purge_source("traffic", TIMES[2].to_pydatetime())
    # traffic:1 flow at 00:00 and 01:00, its speed at 00:00, traffic:2 at 00:00; never
    # "traffic2:1", another source whose id only starts alike.
    assert deleted == 4
    assert not history.source_window("traffic2", "vehicle_flow", TIMES[0], TIMES[1]).empty
    left = history.source_window(
        "traffic", "vehicle_flow", TIMES[0], TIMES[3] + pd.Timedelta(1, "s")
    )
    assert left["time"].min() >= TIMES[2]
    assert not history.window(["air:1"], TIMES[0], TIMES[1]).empty  # other sources stay
    assert history.source_hourly("traffic", "vehicle_flow", TIMES[0], TIMES[2]).empty
