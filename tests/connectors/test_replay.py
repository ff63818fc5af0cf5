"""The demo city's connector against the raw Melbourne files it replays: values checked one
by one against the shipped CSVs, the seeded parking simulator, and site origins.

Raw values are read here with the ``csv`` module, independently of the connector's own
pandas parsing. Replay times are pinned with ``connector.clock_now``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from cockpit.config import CityConfig, default_config_path, load_config
from cockpit.model import OBSERVATION_COLUMNS
from cockpit.source import Connector, SourceContext, build_connector

TZ = "Australia/Melbourne"
DATA = default_config_path().parent / "demo-melbourne"
NO2_PPB_TO_UGM3 = 46.0055 / 24.45
O3_PPB_TO_UGM3 = 47.9982 / 24.45


@pytest.fixture(scope="module")
def config() -> CityConfig:
    return load_config(default_config_path())


def melbourne(text: str) -> pd.Timestamp:
    """A Melbourne wall-clock time as a tz-aware timestamp."""
    return pd.Timestamp(text, tz=TZ)


def replay(config: CityConfig, source: str, now: pd.Timestamp) -> Connector:
    """The demo connector for ``source`` with its replay clock pinned to ``now``."""
    connector = build_connector(SourceContext.from_city(config, source, {}))
    connector.clock_now = lambda: now  # type: ignore[attr-defined]
    return connector


def rows(name: str, delimiter: str = ",", skip: int = 0) -> Iterator[dict[str, str]]:
    """Rows of a shipped CSV file as dicts of text."""
    with (DATA / name).open(encoding="utf-8-sig", newline="") as handle:
        for _ in range(skip):
            handle.readline()
        yield from csv.DictReader(handle, delimiter=delimiter)


def latest_value(snapshot_obs: pd.DataFrame, site_id: str, metric: str) -> pd.Series:
    """The one row of ``site_id``'s ``metric`` in a latest-observation frame."""
    match = snapshot_obs[(snapshot_obs["site_id"] == site_id) & (snapshot_obs["metric"] == metric)]
    assert len(match) == 1, f"{site_id} {metric}: {len(match)} rows"
    return match.iloc[0]


# --- pedestrians ----------------------------------------------------------------------------

PEDESTRIAN_COUNTS = "pedestrian-counts-hourly-wide_May_2025.csv"


def pedestrian_count(sensor: str, date: str, hour: int) -> float:
    """The recorded count of ``sensor`` (its column name) for ``hour`` of ``date`` (d/m/Y)."""
    for row in rows(PEDESTRIAN_COUNTS):
        if row["Date"] == date and int(row["Hour"]) == hour:
            return float(row[sensor])
    raise AssertionError(f"no row for {date} hour {hour}")


def pedestrian_site(sensor: str) -> str:
    """The site id the connector gives a sensor: its location id in the locations file."""
    for row in rows("pedestrian-counting-system-sensor-locations.csv", delimiter=";"):
        if row["sensor_description"] == sensor:
            return f"pedestrians:{row['location_id']}"
    raise AssertionError(f"no location for {sensor}")


@pytest.mark.parametrize(
    "sensor", ["Melbourne Central", "Princes Bridge", "Southern Cross Station"]
)
def test_pedestrian_count_plays_at_the_same_weekday_and_hour(
    config: CityConfig, sensor: str
) -> None:
    # The recording's Tuesday 13 May 2025, Hour 7 (07:00-08:00), is stamped 08:00. Six
    # 28-day laps later it plays on Tuesday 28 October 2025 at 08:00 (now daylight saving).
    now = melbourne("2025-10-28 08:20")
    snapshot = replay(config, "pedestrians", now).snapshot(now.to_pydatetime())
    row = latest_value(snapshot.observations, pedestrian_site(sensor), "pedestrians")
    assert row["time"] == melbourne("2025-10-28 08:00")
    assert row["value"] == pedestrian_count(sensor, "13/05/2025", 7)
    assert row["unit"] == "persons/h"


def test_pedestrian_day_replays_value_by_value(config: CityConfig) -> None:
    connector = replay(config, "pedestrians", melbourne("2025-10-29 01:00"))
    sites = connector.discover_sites()
    site_id = pedestrian_site("Melbourne Central")
    window = connector.read_window(
        sites, melbourne("2025-10-28 00:30"), melbourne("2025-10-29 00:30")
    )
    day = window[window["site_id"] == site_id].sort_values("time")
    # Hours 0..23 of Tuesday 13 May are stamped 01:00 .. 24:00 of Tuesday 28 October.
    expected_times = [melbourne("2025-10-28 00:00") + pd.Timedelta(hours=h + 1) for h in range(24)]
    assert day["time"].tolist() == expected_times
    assert day["value"].tolist() == [
        pedestrian_count("Melbourne Central", "13/05/2025", h) for h in range(24)
    ]


def test_pedestrian_counts_around_the_lap_boundary(config: CityConfig) -> None:
    """Lap 6 of the 28-day recording starts on Thursday 16 October 2025 00:00. The hour
    before it replays Wednesday 28 May's last hour (Hour 23, stamped 00:00); the hours
    after it replay Thursday 1 May from Hour 0 (stamped 01:00)."""
    connector = replay(config, "pedestrians", melbourne("2025-10-16 04:00"))
    sites = connector.discover_sites()
    site_id = pedestrian_site("Melbourne Central")
    window = connector.read_window(
        sites, melbourne("2025-10-15 21:30"), melbourne("2025-10-16 03:30")
    )
    night = window[window["site_id"] == site_id].sort_values("time")
    recorded = [("28/05/2025", h) for h in (21, 22, 23)] + [("01/05/2025", h) for h in (0, 1, 2)]
    expected = [pedestrian_count("Melbourne Central", d, h) for d, h in recorded]
    stamps = ["2025-10-15 22:00", "2025-10-15 23:00", "2025-10-16 00:00"]
    stamps += ["2025-10-16 01:00", "2025-10-16 02:00", "2025-10-16 03:00"]
    assert night["time"].tolist() == [melbourne(s) for s in stamps]
    assert night["value"].tolist() == expected


def test_pedestrian_sites_are_replayed(config: CityConfig) -> None:
    sites = replay(config, "pedestrians", melbourne("2025-10-28 08:20")).discover_sites()
    assert len(sites) > 50
    assert set(sites["origin"]) == {"replayed"}
    assert set(sites["domain"]) == {"pedestrians"}


# --- traffic --------------------------------------------------------------------------------

SCATS = "vicroads-scats_oct2006_15min_volumes.csv"


def scats_volume(site: str, date: str, interval: int) -> int:
    """Vehicles counted at SCATS ``site`` on ``date`` in 15-minute ``interval`` (V00..V95),
    summed over the intersection's approaches."""
    approaches = [r for r in rows(SCATS, skip=1) if r["SCATS Number"] == site and r["Date"] == date]
    assert len(approaches) >= 2, f"{site} {date}: {len(approaches)} approaches"
    return sum(int(r[f"V{interval:02d}"]) for r in approaches)


@pytest.mark.parametrize(
    ("site", "interval", "stamp"),
    [
        ("0970", 32, "08:15"),  # Warrigal Rd / High Street Rd, 08:00-08:15
        ("4821", 70, "17:45"),  # Victoria St / Burnley St, 17:30-17:45
    ],
)
def test_scats_volume_times_four_is_the_flow_at_the_end_of_the_quarter(
    config: CityConfig, site: str, interval: int, stamp: str
) -> None:
    # Tuesday 10 October 2006 plays 244 laps of 28 days later, on Tuesday 24 June 2025.
    played_day = pd.Timestamp("2006-10-10") + pd.Timedelta(days=28 * 244)
    assert played_day == pd.Timestamp("2025-06-24")
    played = melbourne(f"2025-06-24 {stamp}")
    now = played + pd.Timedelta(minutes=5)
    snapshot = replay(config, "traffic", now).snapshot(now.to_pydatetime())
    row = latest_value(snapshot.observations, f"traffic:{site}", "vehicle_flow")
    assert row["time"] == played
    assert row["value"] == 4 * scats_volume(site, "10/10/2006", interval)
    assert row["unit"] == "veh/h"


def test_scats_site_with_null_island_coordinates_is_rejected(config: CityConfig) -> None:
    # One of site 4266's four approach rows in the file has latitude and longitude 0.
    coords = [
        (float(r["NB_LATITUDE"]), float(r["NB_LONGITUDE"]))
        for r in rows(SCATS, skip=1)
        if r["SCATS Number"] == "4266"
    ]
    assert (0.0, 0.0) in coords
    now = melbourne("2025-06-24 08:20")
    connector = replay(config, "traffic", now)
    assert "traffic:4266" in set(connector.discover_sites()["id"])
    snapshot = connector.snapshot(now.to_pydatetime())
    assert "traffic:4266" not in set(snapshot.sites["id"])
    assert "traffic:4266" not in set(snapshot.observations["site_id"])
    assert snapshot.rejected == 1
    assert snapshot.notes == ["rejected 1 site(s): coordinates outside the city"]
    assert set(snapshot.sites["origin"]) == {"replayed"}


# --- air ------------------------------------------------------------------------------------


def alphington(when: str) -> dict[str, str]:
    """Alphington's recorded hourly row at local time ``when`` (``YYYY-mm-dd HH:MM:SS``)."""
    for row in rows("epa-vic_alphington_hourly_2024.csv"):
        if row["datetime_local"] == when:
            return row
    raise AssertionError(f"no Alphington row at {when}")


def test_alphington_no2_ppb_is_converted_to_ugm3(config: CityConfig) -> None:
    # Tuesday 14 May 2024 08:00 plays one 364-day lap later, on Tuesday 13 May 2025 08:00.
    recorded = alphington("2024-05-14 08:00:00")
    now = melbourne("2025-05-13 08:20")
    snapshot = replay(config, "air", now).snapshot(now.to_pydatetime())
    obs = snapshot.observations
    no2 = latest_value(obs, "air:10001", "no2")
    assert no2["time"] == melbourne("2025-05-13 08:00")
    assert no2["value"] == pytest.approx(float(recorded["NO2"]) * NO2_PPB_TO_UGM3, rel=1e-12)
    assert no2["unit"] == "µg/m³"
    o3 = latest_value(obs, "air:10001", "o3")
    assert o3["value"] == pytest.approx(float(recorded["O3"]) * O3_PPB_TO_UGM3, rel=1e-12)
    # Particles are recorded in µg/m³ already.
    assert latest_value(obs, "air:10001", "pm10")["value"] == float(recorded["PM10"])
    assert latest_value(obs, "air:10001", "pm25")["value"] == float(recorded["PM25"])


def test_air_station_origins(config: CityConfig) -> None:
    min_lon, min_lat, max_lon, max_lat = config.city.bbox
    inside = {
        f"air:{r['location_id']}"
        for r in rows("epa-vic_air-monitoring-stations.csv")
        if min_lon <= float(r["longitude"]) <= max_lon
        and min_lat <= float(r["latitude"]) <= max_lat
    }
    sites = replay(config, "air", melbourne("2025-05-13 08:20")).discover_sites()
    assert set(sites["id"]) == inside
    origins = dict(zip(sites["id"], sites["origin"], strict=True))
    assert origins.pop("air:10001") == "replayed"
    assert set(origins.values()) == {"simulated"}


# --- parking --------------------------------------------------------------------------------

BAYS = "on-street-parking-bay-sensors.csv"


def test_parking_sites_are_the_real_bays_and_simulated(config: CityConfig) -> None:
    kerbside_ids = {f"parking:{r['KerbsideID']}" for r in rows(BAYS)}
    assert len(kerbside_ids) == 3_309
    now = melbourne("2025-08-05 15:30")
    snapshot = replay(config, "parking", now).snapshot(now.to_pydatetime())
    assert set(snapshot.sites["id"]) == kerbside_ids
    assert set(snapshot.sites["origin"]) == {"simulated"}
    assert snapshot.rejected == 0
    assert set(snapshot.observations["site_id"]) == kerbside_ids
    assert set(snapshot.observations["value"]) == {0.0, 1.0}
    assert list(snapshot.observations.columns) == list(OBSERVATION_COLUMNS)


def test_parking_simulation_is_deterministic(config: CityConfig) -> None:
    now = melbourne("2025-08-05 15:30")
    first = replay(config, "parking", now)
    second = replay(config, "parking", now)
    a = first.read_latest(first.discover_sites()).sort_values("site_id", ignore_index=True)
    b = second.read_latest(second.discover_sites()).sort_values("site_id", ignore_index=True)
    pd.testing.assert_frame_equal(a, b)
    # Another seed gives another city.
    reseeded = config.model_copy(deep=True)
    reseeded.sources["parking"].options["seed"] = 7
    other = replay(reseeded, "parking", now)
    c = other.read_latest(other.discover_sites()).sort_values("site_id", ignore_index=True)
    assert (a["value"] != c["value"]).any()


def test_parking_share_at_the_snapshot_hour_matches_the_real_snapshot(config: CityConfig) -> None:
    raw = list(rows(BAYS))
    real_share = sum(r["Status_Description"] == "Present" for r in raw) / len(raw)
    assert real_share == pytest.approx(1_751 / 3_309)
    # The file was exported on Tuesday 5 August 2025 at 15:19 (its newest "Lastupdated").
    exported = max(pd.Timestamp(r["Lastupdated"]) for r in raw).tz_convert(TZ)
    assert (exported.day_name(), exported.hour) == ("Tuesday", 15)
    connector = replay(config, "parking", exported)
    sites = connector.discover_sites()
    shares = []
    for week in range(8):
        start = melbourne(f"{pd.Timestamp('2025-08-05') + pd.Timedelta(weeks=week):%Y-%m-%d} 15:00")
        hour = connector.read_window(sites, start, start + pd.Timedelta(hours=1))
        # Each bay may change once an hour: exactly one state per bay in the hour.
        assert len(hour) == len(sites) and hour["site_id"].is_unique
        shares.append(hour["value"].mean())
    # Averaged over eight Tuesdays, within three percentage points of the real share.
    assert sum(shares) / len(shares) == pytest.approx(real_share, abs=0.03)


@pytest.mark.parametrize(
    ("source", "weeks"),
    [("pedestrians", 4), ("traffic", 4), ("air", 52)],
)
def test_recordings_loop_after_whole_weeks(config: CityConfig, source: str, weeks: int) -> None:
    """May 2025 and October 2006 play four-week laps, 2024 a 52-week lap: one lap later
    the same wall-clock time shows the same values."""
    now = melbourne("2025-05-13 08:20")
    later = melbourne(f"{pd.Timestamp('2025-05-13') + pd.Timedelta(weeks=weeks):%Y-%m-%d} 08:20")
    a = replay(config, source, now).snapshot(now.to_pydatetime()).observations
    b = replay(config, source, later).snapshot(later.to_pydatetime()).observations
    key = ["site_id", "metric"]
    a = a.sort_values(key, ignore_index=True)
    b = b.sort_values(key, ignore_index=True)
    assert len(a) > 0
    pd.testing.assert_frame_equal(a.drop(columns="time"), b.drop(columns="time"))
    # Each value plays at the same local weekday and time of day, one lap apart.
    local_a = a["time"].dt.tz_convert(TZ)
    local_b = b["time"].dt.tz_convert(TZ)
    assert (local_a.dt.strftime("%a %H:%M") == local_b.dt.strftime("%a %H:%M")).all()


def test_data_folder_is_the_one_the_config_names(config: CityConfig) -> None:
    files = config.sources["pedestrians"].options["files"]
    assert config.resolve(files["counts"]) == DATA / PEDESTRIAN_COUNTS
    assert isinstance(DATA, Path) and DATA.is_dir()
