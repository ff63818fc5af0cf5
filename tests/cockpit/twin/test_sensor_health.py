"""Sensor health on constructed data: stale, silent, flat, impossible, coverage, alerts."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cockpit.config import AlertsConfig
from cockpit.model import observations_frame, sites_frame
from cockpit.state.embedded import HistoryStore
from cockpit.twin.sensor_health import (
    assess,
    coverage,
    flat_since,
    health_alerts,
    impossible_readings,
    read_health,
    reporting_interval,
)

NOW = pd.Timestamp("2026-11-24 12:00", tz="UTC")
RULES = AlertsConfig()  # stale after 3 intervals, silent after 24 h, flat after 8 readings


def site(site_id: str, domain: str) -> dict[str, object]:
    return {
        "id": site_id,
        "name": site_id.title(),
        "domain": domain,
        "lat": 0,
        "lon": 0,
        "source": domain,
    }


def readings(
    site_id: str, metric: str, values: list[float], last: pd.Timestamp, step: str = "1h"
) -> pd.DataFrame:
    times = pd.date_range(end=last, periods=len(values), freq=step)
    return pd.DataFrame({"site_id": site_id, "metric": metric, "time": times, "value": values})


def varied(n: int) -> list[float]:
    return [100.0 + (i * 37) % 50 for i in range(n)]


SITES = sites_frame(
    [
        site("ped:ok", "pedestrians"),
        site("ped:late", "pedestrians"),
        site("ped:gone", "pedestrians"),
        site("ped:never", "pedestrians"),
        site("ped:flat", "pedestrians"),
        site("traffic:fast", "traffic"),
        site("air:bad", "air"),
        site("parking:bay", "parking"),
    ]
)
OBS = observations_frame(
    pd.concat(
        [
            readings("ped:ok", "pedestrians", varied(20), NOW - pd.Timedelta(minutes=30)),
            readings("ped:late", "pedestrians", varied(20), NOW - pd.Timedelta(hours=4)),
            readings("ped:gone", "pedestrians", varied(5), NOW - pd.Timedelta(hours=30)),
            readings("ped:flat", "pedestrians", varied(5) + [42.0] * 9, NOW),
            readings(
                "traffic:fast",
                "vehicle_flow",
                varied(40),
                NOW - pd.Timedelta(minutes=50),
                step="15min",
            ),
            readings("air:bad", "pm10", [20.0] * 3 + [12.0, 14.0, 15.0], NOW),
            readings("air:bad", "pm25", [5.0, 6.0, 7.0, 40.0, 8.0, 9.0], NOW),
            # A bay may rightly stay occupied all day: never "flat".
            readings("parking:bay", "bay_occupied", [1.0] * 20, NOW),
        ],
        ignore_index=True,
    )
)


def by_id() -> dict[str, object]:
    return {h.site_id: h for h in assess(SITES, OBS, NOW.to_pydatetime(), RULES)}


def test_reporting_interval_from_the_gaps() -> None:
    assert reporting_interval(readings("x", "pm10", varied(10), NOW)["time"]) == 3600
    assert reporting_interval(readings("x", "pm10", varied(10), NOW, "15min")["time"]) == 900
    assert reporting_interval(readings("x", "pm10", [1.0, 2.0], NOW)["time"]) == 3600


def test_stale_and_silent_sites() -> None:
    health = by_id()
    assert health["ped:ok"].status == "reporting" and not health["ped:ok"].flagged
    assert health["ped:late"].status == "stale"  # 4 h without a reading, 3 h allowed
    assert health["ped:gone"].status == "silent"  # 30 h
    assert health["ped:never"].status == "silent" and health["ped:never"].last_seen is None
    # 15-minute counts: 50 minutes quiet is more than three intervals.
    assert health["traffic:fast"].interval_s == 900
    assert health["traffic:fast"].status == "stale"


def test_flat_line_only_where_the_metric_varies() -> None:
    health = by_id()
    flat = health["ped:flat"]
    assert flat.problems == ("flat",) and flat.status == "reporting"
    assert flat.since == (NOW - pd.Timedelta(hours=8)).to_pydatetime()
    assert "stuck at 42" in flat.detail
    assert health["parking:bay"].problems == ()
    values = pd.Series([1.0, 2.0, 2.0, 2.0])
    times = pd.Series(pd.date_range(NOW, periods=4, freq="h"))
    assert flat_since(values, times, 3) == times.iloc[1].to_pydatetime()
    assert flat_since(values, times, 4) is None


def test_impossible_values() -> None:
    frame = observations_frame(
        pd.DataFrame(
            {
                "site_id": ["a", "b", "c", "d", "e", "e"],
                "metric": ["pedestrians", "occupancy", "bay_occupied", "pm25", "pm25", "pm10"],
                "time": [NOW] * 6,
                "value": [-3.0, 130.0, 0.5, 5000.0, 60.0, 20.0],
            }
        )
    )
    found = dict(
        zip(
            impossible_readings(frame)["site_id"], impossible_readings(frame)["reason"], strict=True
        )
    )
    assert found == {
        "a": "negative value",
        "b": "above the physical range",
        "c": "bay neither free nor occupied",
        "d": "above the physical range",
        "e": "more PM2.5 than PM10",
    }
    health = by_id()
    assert health["air:bad"].problems == ("impossible",)
    assert "more PM2.5 than PM10" in health["air:bad"].detail


def test_coverage_per_domain() -> None:
    cover = {c.domain: c for c in coverage(list(by_id().values()))}
    ped = cover["pedestrians"]
    assert (ped.sites, ped.reporting, ped.stale, ped.silent, ped.suspect) == (5, 2, 1, 2, 1)
    assert cover["traffic"].stale == 1 and cover["air"].suspect == 1
    assert ped.share_reporting == 0.4
    assert [c.domain for c in coverage(list(by_id().values()))] == [
        "traffic",
        "air",
        "parking",
        "pedestrians",
    ]


def test_alerts_for_flagged_sites_have_stable_keys() -> None:
    start = (NOW - pd.Timedelta(hours=48)).to_pydatetime()
    alerts = health_alerts(list(by_id().values()), start)
    keys = {a.key for a in alerts}
    assert "sensor.stale:ped:late:2026-11-24T09:00Z" in keys  # last 08:00 + 1 h interval
    assert "sensor.silent:ped:never:2026-11-22T12:00Z" in keys
    assert "sensor.flat:ped:flat:2026-11-24T04:00Z" in keys
    assert not any(a.site_id in ("ped:ok", "parking:bay") for a in alerts)
    assert keys == {a.key for a in health_alerts(list(by_id().values()), start)}


def test_read_health_from_the_history_store(tmp_path: Path) -> None:
    history = HistoryStore(tmp_path)
    history.append(OBS)
    health = {h.site_id: h for h in read_health(history, SITES, NOW.to_pydatetime(), RULES)}
    history.close()
    assert health["ped:late"].status == "stale"
    assert health["ped:gone"].status == "silent"  # older than the 24 h read
    assert health["ped:flat"].problems == ("flat",)


def test_read_health_with_latest_readings_agrees(tmp_path: Path) -> None:
    history = HistoryStore(tmp_path)
    # The history lacks the bay: it is judged from its latest reading alone.
    history.append(OBS[OBS["site_id"] != "parking:bay"])
    latest = OBS.sort_values("time").groupby(["site_id", "metric"]).tail(1)
    now = NOW.to_pydatetime()
    full = {h.site_id: h for h in assess(SITES, OBS, now, RULES)}
    quick = {h.site_id: h for h in read_health(history, SITES, now, RULES, latest=latest)}
    history.close()
    assert {k: (h.status, h.problems) for k, h in quick.items()} == {
        k: (h.status, h.problems) for k, h in full.items()
    }
    assert quick["traffic:fast"].interval_s == 900
    assert quick["parking:bay"].interval_s == 3600 and quick["parking:bay"].status == "reporting"
