"""Per-stream freshness: streams older than their source's stale limit are set apart."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from cockpit.model import observations_frame, sites_frame
from cockpit.twin.freshness import split_stale_streams, stale_detail

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    sites = sites_frame(
        [
            {"id": "air:a", "name": "A", "domain": "air", "lat": 0.0, "lon": 0.0, "source": "air"},
            {"id": "air:b", "name": "B", "domain": "air", "lat": 0.0, "lon": 0.0, "source": "air"},
            {"id": "bay:1", "name": "1", "domain": "parking", "lat": 0, "lon": 0, "source": "bays"},
        ]
    )
    latest = observations_frame(
        [
            {"site_id": "air:a", "metric": "pm25", "time": "2026-06-01T11:30Z", "value": 8},
            # this station's NO2 analyser died two years ago; its PM2.5 still reports
            {"site_id": "air:a", "metric": "no2", "time": "2024-05-30T09:00Z", "value": 300},
            {"site_id": "air:b", "metric": "pm25", "time": "2026-06-01T09:59Z", "value": 12},
            {"site_id": "bay:1", "metric": "bay_occupied", "time": "2025-01-01T00:00Z", "value": 1},
        ]
    )
    return sites, latest


def test_streams_older_than_their_source_limit_are_stale() -> None:
    sites, latest = frames()

    fresh, stale = split_stale_streams(latest, sites, {"air": 7200}, NOW)

    assert list(zip(stale["site_id"], stale["metric"], strict=True)) == [
        ("air:a", "no2"),
        ("air:b", "pm25"),  # 2 h 1 min old, over the 2 h limit
    ]
    assert stale["limit_s"].tolist() == [7200.0, 7200.0]
    # a source without a limit keeps every stream (the bays' state may be months old)
    assert set(zip(fresh["site_id"], fresh["metric"], strict=True)) == {
        ("air:a", "pm25"),
        ("bay:1", "bay_occupied"),
    }


def test_nothing_is_stale_without_limits_or_rows() -> None:
    sites, latest = frames()
    fresh, stale = split_stale_streams(latest, sites, {}, NOW)
    assert fresh.equals(latest) and stale.empty and "limit_s" in stale.columns
    fresh, stale = split_stale_streams(latest.iloc[0:0], sites, {"air": 60}, NOW)
    assert fresh.empty and stale.empty


def test_stale_detail_names_each_stream_in_local_time() -> None:
    sites, latest = frames()
    _, stale = split_stale_streams(latest, sites, {"air": 7200, "bays": 1800}, NOW)

    details = stale_detail(stale, "Europe/Berlin")

    assert details == {
        "air:a": "no2 last reading 2024-05-30 11:00, older than the 2 h limit",
        "air:b": "pm25 last reading 2026-06-01 11:59, older than the 2 h limit",
        "bay:1": "bay_occupied last reading 2025-01-01 01:00, older than the 30 min limit",
    }
