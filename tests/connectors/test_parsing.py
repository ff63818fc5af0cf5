"""How connectors read platforms' times and numbers."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from cockpit.model import (
    Snapshot,
    empty_observations,
    empty_sites,
    observations_frame,
    sites_frame,
)
from connectors.parsing import (
    HAS_OFFSET,
    ISO_START,
    PLATFORM_MAX,
    PLATFORM_MIN,
    Parsed,
    RefusedRows,
    as_float,
    as_floats,
    combine,
    iso_times,
    iso_utc,
    local_to_utc,
    nanosecond_times,
    rejected_frame,
    utc,
    whole_hours,
    within_platform_range,
)

MELBOURNE = "Australia/Melbourne"


def test_utc_reads_a_naive_time_as_utc_and_converts_an_aware_one() -> None:
    assert utc(datetime(2026, 11, 24, 10, 0)) == pd.Timestamp("2026-11-24 10:00", tz="UTC")
    aware = datetime(2026, 11, 24, 10, 0, tzinfo=timezone(timedelta(hours=11)))
    assert utc(aware) == pd.Timestamp("2026-11-23 23:00", tz="UTC")
    assert str(utc(pd.Timestamp("2026-01-01", tz=MELBOURNE)).tz) == "UTC"


@pytest.mark.parametrize(
    ("value", "number"),
    [(3, 3.0), (2.5, 2.5), ("12.5", 12.5), (" 7 ", 7.0), ("1e3", 1000.0)],
)
def test_numbers_and_numeric_text_are_floats(value: object, number: float) -> None:
    assert as_float(value) == number


@pytest.mark.parametrize("value", [None, True, False, "n/a", "", [1], {"v": 1}, "1e999999"])
def test_anything_else_is_nan(value: object) -> None:
    result = as_float(value)
    assert math.isnan(result) or (math.isinf(result) and value == "1e999999")


def test_as_floats_gives_a_float_array() -> None:
    found = as_floats([1, "2", None, True])
    assert found.dtype == np.float64
    assert found[:2].tolist() == [1.0, 2.0] and np.isnan(found[2:]).all()


def test_whole_hours_of_the_day_only() -> None:
    found = whole_hours(np.array([0, 23, 12.0, 24, -1, 1.5, np.nan]))
    assert found[:3].tolist() == [0.0, 23.0, 12.0]
    assert np.isnan(found[3:]).all()


def test_patterns() -> None:
    assert ISO_START.match("2026-11-24T10:00") and not ISO_START.match("24/11/2026")
    for text in ("2026-11-24T10:00Z", "2026-11-24T10:00z", "2026-11-24T10:00+11:00", "x-0330"):
        assert HAS_OFFSET.search(text), text
    assert not HAS_OFFSET.search("2026-11-24T10:00")


def test_local_times_across_daylight_saving_changes_become_nat() -> None:
    naive = pd.DatetimeIndex(
        [
            "2026-11-24 10:30",  # AEDT, UTC+11
            "2026-10-04 02:30",  # clocks jump from 02:00 to 03:00: never happened
            "2026-04-05 02:30",  # clocks go back from 03:00 to 02:00: happened twice
        ]
    )
    found = local_to_utc(naive, MELBOURNE)
    assert found[0] == pd.Timestamp("2026-11-23 23:30", tz="UTC")
    assert found[1:].isna().all()
    as_series = local_to_utc(pd.Series(naive), MELBOURNE)
    assert isinstance(as_series, pd.Series)
    assert as_series.iloc[0] == found[0] and as_series.iloc[1:].isna().all()


def test_nanosecond_times_drop_what_does_not_fit() -> None:
    index = pd.DatetimeIndex(
        [datetime(1, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)]
    ).as_unit("us")
    found = nanosecond_times(index)
    assert found.unit == "ns" and found.isna().tolist() == [True, False]


def test_iso_times_read_every_iso_form_and_nothing_else() -> None:
    found = iso_times(
        [
            "2026-11-24T10:00:00Z",
            "2026-11-24T21:00:00+11:00",
            "2026-11-24T10:00:00",  # naive: UTC
            "0001-01-01T00:00:00Z",  # does not fit in nanoseconds
            "yesterday",
            None,
        ]
    )
    ten = pd.Timestamp("2026-11-24 10:00", tz="UTC")
    assert list(found[:3]) == [ten, ten, ten]
    assert found[3:].isna().all() and found.unit == "ns"


def test_iso_times_of_mixed_offsets_and_junk_are_read_one_by_one() -> None:
    found = iso_times(["2026-11-24T10:00:00+01:00", "2026-11-24T10:00:00Z", "2026-13-45", None])
    assert found[0] == pd.Timestamp("2026-11-24 09:00", tz="UTC")
    assert found[1] == pd.Timestamp("2026-11-24 10:00", tz="UTC")
    assert found[2:].isna().all()


def test_iso_utc_keeps_platform_times_only() -> None:
    values = pd.Series(
        ["2026-11-24T10:00:00Z", "1960-01-01T00:00:00Z", "2300-01-01T00:00:00Z", 17, "x"]
    )
    found = iso_utc(values)
    assert str(found.dtype) == "datetime64[ns, UTC]"
    assert found.iloc[0] == pd.Timestamp("2026-11-24 10:00", tz="UTC")
    assert found.iloc[1:].isna().all()


def test_within_platform_range_bounds() -> None:
    inside = pd.Series([PLATFORM_MIN, PLATFORM_MAX, PLATFORM_MAX + pd.Timedelta(seconds=1)])
    found = within_platform_range(inside)
    assert found.notna().tolist() == [True, True, False]
    assert within_platform_range(pd.Series([], dtype="datetime64[ns, UTC]")).empty


COLUMNS = ("site_id", "metric", "reason")


def _refused(*rows: tuple[str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(COLUMNS))


def test_rejected_frames_join_in_their_columns() -> None:
    empty = rejected_frame([], COLUMNS)
    assert empty.empty and list(empty.columns) == list(COLUMNS)
    joined = rejected_frame(
        [_refused(("a", "pm10", "no time")), _refused(), _refused(("b", "o3", "unit ppt"))],
        COLUMNS,
    )
    assert joined["site_id"].tolist() == ["a", "b"] and list(joined.index) == [0, 1]


def _snapshot() -> Snapshot:
    return Snapshot(
        source="air",
        sites=empty_sites(),
        observations=empty_observations(),
        fetched_at=datetime(2026, 11, 24, tzinfo=UTC),
        rejected=1,
        notes=["rejected 1 site(s): coordinates outside the city"],
    )


def test_refused_rows_are_logged_then_counted_by_the_next_snapshot(
    caplog: pytest.LogCaptureFixture,
) -> None:
    refused = RefusedRows("air", COLUMNS, "reading")
    refused.note(_refused(("a", "pm10", "no time"), ("b", "pm10", "no time")))
    refused.note(_refused())  # nothing refused: nothing noted
    refused.note(_refused(("c", "o3", "unit ppt")))
    assert "source air: rejected 2 reading(s): no time" in caplog.text
    snap = refused.count_into(_snapshot())
    assert snap.rejected == 4
    assert snap.notes[1:] == ["rejected 2 reading(s): no time", "rejected 1 reading(s): unit ppt"]
    again = refused.count_into(_snapshot())  # counted once only
    assert again.rejected == 1 and len(again.notes) == 1


def test_each_reason_counted_keeps_its_first_row_as_an_example() -> None:
    refused = RefusedRows("air", COLUMNS, "reading")
    refused.note(_refused(("a", "pm10", "no time"), ("b", "pm10", "no time")))
    snap = refused.count_into(_snapshot())
    example = snap.examples["rejected 2 reading(s): no time"]
    assert example["site_id"] == "a" and "reason" not in example


def test_clear_forgets_rows_refused_before_a_snapshot() -> None:
    refused = RefusedRows("air", COLUMNS, "row")
    refused.note(_refused(("a", "pm10", "no time")))
    refused.clear()
    assert refused.count_into(_snapshot()).rejected == 1


def test_only_the_latest_batches_are_kept() -> None:
    refused = RefusedRows("air", COLUMNS, "row")
    for n in range(RefusedRows.KEEP + 10):
        refused.note(_refused((f"s{n}", "pm10", "no time")))
    assert refused.count_into(_snapshot()).rejected == 1 + RefusedRows.KEEP + 1


def _site(site_id: str, name: str) -> dict[str, object]:
    return {
        "id": site_id,
        "name": name,
        "domain": "air",
        "lat": -37.8,
        "lon": 144.9,
        "source": "air",
    }


def test_answers_combine_with_each_site_once() -> None:
    first = Parsed(
        sites_frame([_site("air:1", "first name"), _site("air:2", "two")]),
        observations_frame(
            [{"site_id": "air:1", "metric": "pm10", "time": PLATFORM_MIN, "value": 1.0}]
        ),
        _refused(("air:9", "pm10", "no time")),
    )
    second = Parsed(
        sites_frame([_site("air:1", "later name")]),
        observations_frame(
            [{"site_id": "air:1", "metric": "pm10", "time": PLATFORM_MAX, "value": 2.0}]
        ),
        _refused(),
    )
    combined = combine([first, second], COLUMNS)
    assert combined.sites["id"].tolist() == ["air:1", "air:2"]
    assert combined.sites["name"].tolist()[0] == "first name"
    assert combined.observations["value"].tolist() == [1.0, 2.0]
    assert combined.rejected["site_id"].tolist() == ["air:9"]


def test_no_answers_combine_to_empty_frames() -> None:
    empty = combine([], COLUMNS)
    assert empty.sites.empty and empty.observations.empty and empty.rejected.empty
    assert list(empty.rejected.columns) == list(COLUMNS)
