"""The headline KPIs and the European AQI bands, each on small
hand-built frames whose answers are worked out in the comments."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from cockpit.config import CityConfig
from cockpit.domains import KpiSpec
from cockpit.model import empty_observations, empty_sites, observations_frame, sites_frame
from cockpit.twin import kpi
from cockpit.twin.airindex import BANDS, band_label, band_of

TZ = "Australia/Melbourne"
# Tuesday 13 May 2025, 08:00 in Melbourne (AEST, UTC+10) = Monday 22:00 UTC.
NOW = pd.Timestamp("2025-05-13 08:00", tz=TZ)
HOUR = pd.Timedelta(hours=1)
WEEK = pd.Timedelta(weeks=1)


def frame(*rows: tuple[str, str, pd.Timestamp, float]) -> pd.DataFrame:
    """Observations from (site_id, metric, time, value) rows, in canonical units."""
    return observations_frame(
        [{"site_id": s, "metric": m, "time": t, "value": v} for s, m, t, v in rows]
    )


def counts(when: pd.Timestamp, **per_site: float) -> list[tuple[str, str, pd.Timestamp, float]]:
    """Pedestrian counts of several sensors at one time."""
    return [(s, "pedestrians", when, v) for s, v in per_site.items()]


# --- footfall -------------------------------------------------------------------------------


def test_footfall_sums_current_sensors_against_four_weeks() -> None:
    latest = frame(
        *counts(NOW, a=300, b=200),
        ("c", "pedestrians", NOW - 0.5 * HOUR, 100),  # 07:30, within the hour: counted
        ("d", "pedestrians", NOW - 2 * HOUR, 5_000),  # 06:00, silent for 2 h: left out
    )
    # Now: a + b + c = 300 + 200 + 100 = 600 persons/h.
    history = frame(
        # 1 week ago: a, b, c = 200 + 200 + 100 = 500 -> 600 / 500 = 1.2
        *counts(NOW - WEEK, a=200, b=200),
        ("c", "pedestrians", NOW - WEEK - 0.5 * HOUR, 100),
        # 2 weeks ago only a and b reported: now (300 + 200) / then (250 + 250) = 1.0
        *counts(NOW - 2 * WEEK, a=250, b=250),
        # 3 weeks ago: (300 + 200 + 100) / (240 + 160 + 100) = 1.2
        *counts(NOW - 3 * WEEK, a=240, b=160),
        ("c", "pedestrians", NOW - 3 * WEEK - 0.5 * HOUR, 100),
        # 4 weeks ago: nothing. The silent sensor d has history that would change
        # week 1's ratio if it were counted.
        ("d", "pedestrians", NOW - 2 * HOUR - WEEK, 100),
    )
    result = kpi.footfall(latest, history, TZ)
    # Median of the ratios (1.2, 1.0, 1.2) is 1.2: 20 % above usual.
    assert result.key == "footfall"
    assert result.value == 600
    assert result.unit == "persons/h"
    assert result.display == "600"
    assert result.detail == "20% above a typical Tuesday 08:00."
    assert result.level == "ok"
    assert result.level_label == "busier than usual"
    assert result.updated == NOW.to_pydatetime()


def test_footfall_below_usual() -> None:
    latest = frame(*counts(NOW, a=80))
    history = frame(*[row for k in range(1, 5) for row in counts(NOW - k * WEEK, a=100)])
    result = kpi.footfall(latest, history, TZ)
    # 80 / 100 = 0.8 in each of the four weeks: 20 % below.
    assert result.value == 80
    assert result.detail == "20% below a typical Tuesday 08:00."
    assert result.level == "ok"
    assert result.level_label == "quieter than usual"


def test_footfall_about_as_usual_and_much_busier() -> None:
    history = frame(*[row for k in range(1, 5) for row in counts(NOW - k * WEEK, a=1_000)])
    usual = kpi.footfall(frame(*counts(NOW, a=1_020)), history, TZ)
    # 1020 / 1000 - 1 = 2 %: under the 5 % that is worth a word.
    assert usual.detail == "About as usual for a Tuesday 08:00."
    assert usual.level_label == "as usual"
    busy = kpi.footfall(frame(*counts(NOW, a=1_600)), history, TZ)
    # 1600 / 1000 - 1 = 60 %: over 50 % raises a warning.
    assert busy.detail == "60% above a typical Tuesday 08:00."
    assert busy.level == "warn"
    assert busy.display == "1,600"


def test_footfall_without_baseline() -> None:
    result = kpi.footfall(frame(*counts(NOW, a=120, b=30)), empty_observations(), TZ)
    assert result.value == 150
    assert result.level == "ok"
    assert result.level_label == "no baseline yet"
    assert result.detail == "No earlier Tuesdays in the history yet."


def test_footfall_without_data() -> None:
    result = kpi.footfall(empty_observations(), empty_observations(), TZ)
    assert result.value is None
    assert result.level == "none"
    assert result.display == "–"


def test_footfall_compares_the_same_local_hour_across_daylight_saving() -> None:
    """Melbourne left daylight saving on Sunday 6 April 2025; the Tuesday before and the
    Tuesday after are one week apart in wall-clock time but 169 hours apart in UTC."""
    now = pd.Timestamp("2025-04-08 08:00", tz=TZ)  # AEST, 2025-04-07 22:00 UTC
    latest = frame(*counts(now, a=120))
    history = frame(
        *counts(pd.Timestamp("2025-04-01 08:00", tz=TZ), a=100),  # AEDT, 21:00 UTC
        *counts(pd.Timestamp("2025-04-01 09:00", tz=TZ), a=240),  # AEDT, 22:00 UTC
    )
    result = kpi.footfall(latest, history, TZ, weeks=1)
    # Tuesday 08:00 against Tuesday 08:00: 120 / 100 = 1.2.
    assert result.detail == "20% above a typical Tuesday 08:00."


# --- parking --------------------------------------------------------------------------------


def bays(occupied: int, free: int) -> list[tuple[str, str, pd.Timestamp, float]]:
    """Bay states: ``occupied`` bays at 1 and ``free`` bays at 0."""
    states = [1.0] * occupied + [0.0] * free
    return [(f"bay:{i}", "bay_occupied", NOW, v) for i, v in enumerate(states)]


def car_parks(**capacity: Any) -> pd.DataFrame:
    """Car park sites with a ``capacity`` attribute (None: the platform gives none)."""
    records = []
    for site_id, cap in capacity.items():
        attributes = {} if cap is None else {"capacity": cap}
        records.append(
            {
                "id": site_id,
                "name": site_id,
                "domain": "parking",
                "lat": -37.81,
                "lon": 144.96,
                "source": "parking",
                "attributes": attributes,
            }
        )
    return sites_frame(records)


def test_parking_counts_bays() -> None:
    result = kpi.parking_occupancy(frame(*bays(3, 1)), empty_sites())
    # 3 of 4 bays occupied = 75 %.
    assert result.value == 75
    assert result.display == "75"
    assert result.unit == "%"
    assert result.level == "ok"
    assert result.level_label == "spaces free"
    assert result.detail == "1 free place of 4 with a known state."
    assert result.updated == NOW.to_pydatetime()


def test_parking_weighs_car_parks_by_capacity() -> None:
    sites = car_parks(p1=200, p2="100", p3=None)
    latest = frame(
        *bays(1, 1),
        ("p1", "occupancy", NOW, 90.0),  # 90 % of 200 = 180 occupied
        ("p2", "occupancy", NOW, 50.0),  # 50 % of 100 = 50 occupied
        ("p3", "occupancy", NOW, 100.0),  # no capacity: left out
    )
    result = kpi.parking_occupancy(latest, sites)
    # Occupied 1 + 180 + 50 = 231 of 2 + 200 + 100 = 302 places: 76.49 %, 71 free.
    assert result.value == pytest.approx(100 * 231 / 302)
    assert result.display == "76"
    assert result.detail == "71 free places of 302 with a known state."
    assert result.figure == "76 % occupied"  # the number says what it is


@pytest.mark.parametrize(
    ("occupied", "level", "label"),
    [
        (16, "ok", "spaces free"),  # 80 %
        (17, "warn", "filling up"),  # 85 %: at the warn limit
        (18, "warn", "filling up"),  # 90 %
        (19, "alert", "nearly full"),  # 95 %: at the alert limit
        (20, "alert", "nearly full"),  # 100 %
    ],
)
def test_parking_levels(demo_config: CityConfig, occupied: int, level: str, label: str) -> None:
    limits = demo_config.kpis["parking"]
    assert (limits.warn, limits.alert) == (85, 95)
    latest = frame(*bays(occupied, 20 - occupied))
    result = kpi.parking_occupancy(latest, empty_sites(), warn=limits.warn, alert=limits.alert)
    assert result.value == 100 * occupied / 20
    assert (result.level, result.level_label) == (level, label)


def test_parking_without_data() -> None:
    assert kpi.parking_occupancy(empty_observations(), empty_sites()).value is None
    # A car park without capacity gives no place with a known state either.
    only = frame(("p3", "occupancy", NOW, 60.0))
    result = kpi.parking_occupancy(only, car_parks(p3=None))
    assert result.value is None
    assert result.level == "none"
    assert result.level_label == "no data"


# --- traffic --------------------------------------------------------------------------------


def flows(**per_site: float) -> pd.DataFrame:
    return frame(*[(s, "vehicle_flow", NOW, v) for s, v in per_site.items()])


def test_traffic_mean_per_intersection_and_congestion_index() -> None:
    latest = flows(s1=600, s2=900, s3=1_500, s4=400)
    reference = pd.Series({"s1": 1_000.0, "s2": 1_000.0, "s3": 2_000.0, "s4": 0.0})
    result = kpi.traffic_flow(latest, reference)
    # Mean (600 + 900 + 1500 + 400) / 4 = 850 veh/h per intersection, not the sum 3,400
    # that is a flow nowhere. Loads 0.6, 0.9, 0.75 (s4 has no usable reference); the
    # median 0.75 lies between warn 0.6 and alert 0.85: moderate.
    assert result.value == 850
    assert result.display == "850"
    assert result.figure == "850 veh/h per counted intersection"
    assert result.level == "warn"
    assert result.level_label == "moderate"
    assert result.detail == (
        "Mean over 4 counted sites; the typical one at 75% of its usual busy-hour flow."
    )


@pytest.mark.parametrize(
    ("flow", "level", "label"),
    [
        (590, "ok", "light"),  # 0.59
        (600, "warn", "moderate"),  # 0.60: at the warn limit
        (849, "warn", "moderate"),  # 0.849
        (850, "alert", "heavy"),  # 0.85: at the alert limit
        (1_200, "alert", "heavy"),  # 1.2
    ],
)
def test_traffic_levels_at_limits(flow: float, level: str, label: str) -> None:
    result = kpi.traffic_flow(flows(s1=flow), pd.Series({"s1": 1_000.0}), warn=0.6, alert=0.85)
    assert (result.level, result.level_label) == (level, label)


def test_traffic_without_reference() -> None:
    result = kpi.traffic_flow(flows(s1=600, s2=900), pd.Series(dtype="float64"))
    assert result.value == 750
    assert result.level == "ok"
    assert result.level_label == "no baseline yet"
    assert result.detail == "Mean over 2 counted sites."


def test_traffic_without_data() -> None:
    result = kpi.traffic_flow(empty_observations(), pd.Series({"s1": 1_000.0}))
    assert result.value is None
    assert result.level == "none"


# --- air ------------------------------------------------------------------------------------

STATIONS = sites_frame(
    [
        {"id": i, "name": n, "domain": "air", "lat": la, "lon": lo, "source": "air"}
        for i, n, la, lo in [
            ("air:10001", "Alphington", -37.7784, 145.0306),
            ("air:10239", "Melbourne CBD", -37.8074, 144.97),
        ]
    ]
)


def test_air_quality_worst_band_over_stations_and_pollutants() -> None:
    latest = frame(
        ("air:10001", "no2", NOW, 95.0),  # 90 < 95 <= 120: moderate
        ("air:10001", "pm25", NOW, 8.0),  # <= 10: good
        ("air:10239", "pm10", NOW, 30.0),  # 20 < 30 <= 40: fair
        ("air:10239", "o3", NOW, 60.0),  # 50 < 60 <= 100: fair
    )
    result = kpi.air_quality(latest, STATIONS)
    assert result.key == "air"
    assert result.value == 3  # band 3 of 6
    assert result.unit == "EAQI band"
    assert result.display == "Moderate"
    assert result.level == "warn"
    assert result.level_label == "moderate"
    assert result.detail == (
        "European Air Quality Index (EEA): worst is NO₂ 95 µg/m³ at Alphington."
    )


@pytest.mark.parametrize(
    ("metric", "value", "band", "level"),
    [
        ("pm25", 8.0, 1, "ok"),  # good
        ("pm10", 35.0, 2, "ok"),  # fair
        ("pm25", 40.0, 4, "alert"),  # 25 < 40 <= 50: poor
        ("pm25", 60.0, 5, "alert"),  # 50 < 60 <= 75: very poor
        ("o3", 400.0, 6, "alert"),  # above 380: extremely poor
    ],
)
def test_air_quality_levels(metric: str, value: float, band: int, level: str) -> None:
    # Alphington's NO₂ of 1 µg/m³ is good and lower than every value tried here.
    latest = frame(("air:10239", metric, NOW, value), ("air:10001", "no2", NOW, 1.0))
    result = kpi.air_quality(latest, STATIONS)
    assert result.value == band
    assert result.level == level
    assert result.detail.endswith("at Melbourne CBD.")


def test_air_quality_without_data() -> None:
    assert kpi.air_quality(empty_observations(), STATIONS).value is None
    # A flow is not a pollutant.
    result = kpi.air_quality(flows(s1=100), STATIONS)
    assert result.value is None
    assert result.level_label == "no data"


# --- European AQI bands ---------------------------------------------------------------------

LIMITS = {
    "pm25": (10, 20, 25, 50, 75),
    "pm10": (20, 40, 50, 100, 150),
    "no2": (40, 90, 120, 230, 340),
    "o3": (50, 100, 130, 240, 380),
}


@pytest.mark.parametrize("pollutant", sorted(LIMITS))
def test_band_edges(pollutant: str) -> None:
    """Each upper limit still belongs to its band; just above it starts the next one."""
    assert band_of(pollutant, 0.0) == 0
    for band, limit in enumerate(LIMITS[pollutant]):
        assert band_of(pollutant, float(limit)) == band
        assert band_of(pollutant, limit + 0.001) == band + 1
    assert band_of(pollutant, 10_000.0) == 5


def test_band_of_unknown_pollutant_or_missing_value() -> None:
    assert band_of("co", 1.0) is None
    assert band_of("no2", float("nan")) is None
    assert band_label(None) == "no data"
    assert [band_label(b) for b in range(6)] == list(BANDS)
    assert band_label(2) == "moderate"


# --- a declared KPI's plain aggregation -----------------------------------------------------


def declared(aggregation: str, **more: Any) -> KpiSpec:
    return KpiSpec("k", "Declared", ("free_spaces",), "count", aggregation, **more)  # type: ignore[arg-type]


# Two car parks' newest free spaces: a 40, b 10 (a's older 90 is not the latest).
PARKS = (
    ("a", "free_spaces", NOW - HOUR, 90),
    ("a", "free_spaces", NOW, 40),
    ("b", "free_spaces", NOW, 10),
)


@pytest.mark.parametrize(
    ("aggregation", "value", "display"),
    [("sum", 50.0, "50"), ("mean", 25.0, "25"), ("max", 40.0, "40")],
)
def test_a_declared_kpi_aggregates_each_sites_newest_value(
    aggregation: str, value: float, display: str
) -> None:
    item = kpi.aggregate(frame(*PARKS), declared(aggregation))

    assert (item.key, item.title, item.unit) == ("k", "Declared", "count")
    assert (item.value, item.display, item.level, item.level_label) == (value, display, "ok", "ok")
    assert item.updated == NOW


def test_a_declared_share_weighs_each_site_by_its_capacity() -> None:
    # a: 40 of 100 (capacity), b: 10 of 20; c has no capacity and is left out:
    # (40 + 10) / (100 + 20) = 41.67 %.
    latest = frame(
        *PARKS,
        ("c", "free_spaces", NOW, 5),
        ("a", "occupancy", NOW, 100),
        ("b", "occupancy", NOW, 20),
    )
    spec = declared("share", capacity_metric="occupancy", decimals=1)

    item = kpi.aggregate(latest, spec)

    assert item.value == pytest.approx(100 * 50 / 120)
    assert item.display == "41.7"
    assert kpi.aggregate(frame(*PARKS), spec).value is None  # no capacity known


def test_a_declared_share_without_capacity_is_the_share_of_ones() -> None:
    latest = frame(("a", "free_spaces", NOW, 1), ("b", "free_spaces", NOW, 0))

    assert kpi.aggregate(latest, declared("share")).value == 50.0


@pytest.mark.parametrize(
    ("warn", "alert", "level", "label"),
    [(None, None, "ok", "ok"), (30, 60, "warn", "high"), (20, 50, "alert", "very high")],
)
def test_a_declared_kpi_takes_its_level_from_its_limits(
    warn: float | None, alert: float | None, level: str, label: str
) -> None:
    item = kpi.aggregate(frame(*PARKS), declared("sum"), warn=warn, alert=alert)

    assert (item.level, item.level_label) == (level, label)


def test_a_declared_kpi_without_data_has_no_value() -> None:
    item = kpi.aggregate(empty_observations(), declared("sum"))

    assert (item.value, item.level, item.display) == (None, "none", "–")
