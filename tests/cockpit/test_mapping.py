"""The mapping language: safe expressions, paths, times, value maps and config errors."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from cockpit.config import load_config
from cockpit.errors import ConfigError
from cockpit.mapping import RecordMapping, TimeSpec, compile_expression, mapping_from_options
from tests.city_toml import city_tables


def mapping(fields: dict[str, Any], **extra: Any) -> RecordMapping:
    found = mapping_from_options({"mapping": {"fields": fields, **extra}}, "city.toml", "options")
    assert found is not None
    return found


# --------------------------------------------------------------------------- expressions


@pytest.mark.parametrize(
    ("text", "record", "expected"),
    [
        ("100 * (1 - free / total)", {"free": 25, "total": 100}, 75.0),
        ("capacity - occupied", {"capacity": "120", "occupied": 30}, 90.0),
        ("-a + +b", {"a": 1, "b": 3}, 2.0),
        ("min(a, b, 7)", {"a": 9, "b": 8}, 7.0),
        ("max(a, b)", {"a": None, "b": 4}, 4.0),
        ("coalesce(a, b, 0)", {"a": None, "b": None}, 0.0),
        ("if_null(a, 5)", {"a": 2}, 2.0),
        ("a / b", {"a": 1, "b": 0}, None),  # no value rather than an error
        ("a + b", {"a": 1, "b": None}, None),
        ("a * 2", {"a": "full"}, None),  # text that is not a number
        ("a * 2", {"a": True}, None),  # a boolean is not a number
        ("2.5 * 4", {}, 10.0),
    ],
)
def test_expressions_compute_over_the_record(
    text: str, record: dict[str, Any], expected: float | None
) -> None:
    run, _ = compile_expression(text)
    assert run(record) == expected


def test_expression_names_the_fields_it_reads() -> None:
    _, names = compile_expression("100 * (1 - coalesce(free, 0) / max(total, 1))")
    assert names == ["free", "total"]


def test_a_name_not_in_the_record_is_a_key_error_naming_it() -> None:
    run, _ = compile_expression("free / total")
    with pytest.raises(KeyError, match="total"):
        run({"free": 1})


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("record.free", "attribute access"),
        ("().__class__", "attribute access"),
        ("__import__('os').system('true')", "calls only min, max, coalesce or if_null"),
        ("open('x')", "calls only min, max, coalesce or if_null"),
        ("eval('1')", "calls only min, max, coalesce or if_null"),
        ("abs(a)", "calls only min, max, coalesce or if_null"),
        ("min(a, key=b)", "without names"),
        ("a[0]", "indexing"),
        ("a ** 2", "BinOp is not allowed"),
        ("a if b else c", "IfExp is not allowed"),
        ("a < b", "Compare is not allowed"),
        ("[a, b]", "List is not allowed"),
        ("lambda: 1", "Lambda is not allowed"),
        ("'text'", "only numbers"),
        ("True + 1", "only numbers"),
        ("a +", "not an expression"),
        ("", "empty"),
        ("a + " * 200 + "a", "longer than"),
    ],
)
def test_unsafe_or_unknown_expressions_are_refused(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        compile_expression(text)


# --------------------------------------------------------------------------------- paths


def test_paths_constants_renames_and_outer_fields() -> None:
    m = mapping(
        {
            "capacity": "totalcapacity",
            "lat": {"path": "location.coordinates.1"},
            "lon": {"path": "location.coordinates.0"},
            "site": {"const": "town-hall"},
            "level": {"const": 2},
            "stamp": {"path": "$.record_timestamp"},
        }
    )
    record = {"totalcapacity": 300, "location": {"coordinates": [144.96, -37.81]}}
    served = {"fields": record, "record_timestamp": "2024-12-30T00:44:39.551Z"}

    out = m.apply(record, served)

    assert out.problems == {}
    assert out.values["capacity"] == 300
    assert (out.values["lat"], out.values["lon"]) == (-37.81, 144.96)
    assert (out.values["site"], out.values["level"]) == ("town-hall", 2)
    assert out.values["stamp"] == "2024-12-30T00:44:39.551Z"
    assert out.values["totalcapacity"] == 300  # the record's own fields stay


def test_a_missing_path_gives_no_value_and_a_reason() -> None:
    out = mapping({"capacity": "totalcapacity"}).apply({"other": 1})
    assert out.values["capacity"] is None
    assert out.problems == {"capacity": "no 'totalcapacity' in the record"}


def test_expressions_read_mapped_fields_and_report_missing_names() -> None:
    m = mapping(
        {
            "occupancy": {"expr": "100 * (1 - free / total)", "unit": "%"},
            "total": "totalcapacity",
            "broken": {"expr": "free / capacity"},
        }
    )
    out = m.apply({"free": 30, "totalcapacity": 120})
    assert out.values["occupancy"] == 75.0
    assert out.values["broken"] is None
    assert out.problems == {"broken": "expression reads 'capacity', not in the record"}
    assert m.units() == {"occupancy": "%"}


# --------------------------------------------------------------------------------- times


@pytest.mark.parametrize(
    ("spec", "value", "expected"),
    [
        ({"format": "iso"}, "2024-12-30T00:44:39.551Z", "2024-12-30T00:44:39.551000+00:00"),
        ({"format": "iso"}, "2024-07-01T10:00:00+02:00", "2024-07-01T08:00:00+00:00"),
        # a naive local time is on the city's clock (Melbourne: +10:00 in July)
        ({"format": "iso"}, "2024-07-01T10:00:00", "2024-07-01T00:00:00+00:00"),
        ({"format": "epoch_s"}, 1_700_000_000, "2023-11-14T22:13:20+00:00"),
        ({"format": "epoch_ms"}, "1700000000000", "2023-11-14T22:13:20+00:00"),
        ({"format": "%d/%m/%Y %H:%M"}, "01/07/2024 10:30", "2024-07-01T00:30:00+00:00"),
        ({"format": "%Y/%m/%d %H:%M:%S"}, "2017/05/22 09:30:04", "2017-05-21T23:30:04+00:00"),
        # a date only stands for the hour the mapping states, on the local clock
        ({"format": "%Y-%m-%d", "hour": 12}, "2024-07-01", "2024-07-01T02:00:00+00:00"),
        ({"format": "iso", "hour": 0}, "2024-01-15", "2024-01-14T13:00:00+00:00"),
        ({"format": "iso", "timezone": "UTC"}, "2024-07-01T10:00:00", "2024-07-01T10:00:00+00:00"),
    ],
)
def test_times_become_utc(spec: dict[str, Any], value: Any, expected: str) -> None:
    moment = TimeSpec.model_validate(spec).parse(value, "Australia/Melbourne")
    assert moment is not None and moment.isoformat() == expected


@pytest.mark.parametrize(
    ("spec", "value"),
    [
        ({"format": "iso"}, "yesterday"),
        ({"format": "iso"}, 1_700_000_000),
        ({"format": "epoch_s"}, "soon"),
        ({"format": "epoch_ms"}, 1e30),
        ({"format": "%d/%m/%Y"}, "2024-07-01"),
        ({"format": "iso"}, "1850-01-01T00:00:00Z"),  # outside the cockpit's time range
        # the hour clocks skip when daylight saving starts (Melbourne, 6 Oct 2024 02:00)
        ({"format": "iso"}, "2024-10-06T02:30:00"),
        # the hour that happens twice when it ends (Melbourne, 7 Apr 2024 02:00-03:00)
        ({"format": "iso"}, "2024-04-07T02:30:00"),
    ],
)
def test_values_that_are_not_times_give_none(spec: dict[str, Any], value: Any) -> None:
    assert TimeSpec.model_validate(spec).parse(value, "Australia/Melbourne") is None


def test_time_fields_are_written_as_iso_utc_and_bad_ones_named() -> None:
    m = mapping(
        {
            "time": {"path": "$.record_timestamp", "time": "iso"},
            "day": {"path": "date", "time": {"format": "%d/%m/%Y", "hour": 12}},
        },
        timezone="Europe/Berlin",
    )
    out = m.apply({"date": "31/02/2024"}, {"record_timestamp": "2024-01-01T10:00:00Z"})
    assert out.values["time"] == "2024-01-01T10:00:00+00:00"
    assert out.values["day"] is None
    assert out.problems == {"day": "'31/02/2024' is not a time in format '%d/%m/%Y'"}


# ---------------------------------------------------------------------------- value maps


def test_value_maps_match_without_regard_to_case_and_name_strays() -> None:
    m = mapping({"occupancy": {"path": "state", "map": {"FULL": 100, "Open": 0}}})
    assert m.apply({"state": "full"}).values["occupancy"] == 100
    assert m.apply({"state": " OPEN "}).values["occupancy"] == 0
    stray = m.apply({"state": "closed"})
    assert stray.values["occupancy"] is None
    assert stray.problems == {"occupancy": "value 'closed' is not in the field's map"}
    assert m.apply({"state": None}).problems == {}


# -------------------------------------------------------------------------- config errors


@pytest.mark.parametrize(
    ("fields", "key", "reason"),
    [
        ({"occ": {"expr": "a.b"}}, "options.mapping.fields.occ", "attribute access"),
        ({"occ": {"expr": "system(1)"}}, "options.mapping.fields.occ", "calls only min"),
        ({"occ": {"pth": "a"}}, "options.mapping.fields.occ.pth", "unknown key"),
        ({"occ": {"path": "a", "expr": "b"}}, "options.mapping.fields.occ", "exactly one"),
        ({"occ": {}}, "options.mapping.fields.occ", "exactly one"),
        ({"occ": {"path": "a..b"}}, "options.mapping.fields.occ", "empty part"),
        ({"t": {"path": "a", "time": "dd/mm"}}, "options.mapping.fields.t.time.format", "strftime"),
        (
            {"t": {"path": "a", "time": {"hours": 1}}},
            "options.mapping.fields.t.time.hours",
            "unknown",
        ),
        ({"t": {"path": "a", "time": {"hour": 24}}}, "options.mapping.fields.t.time.hour", "23"),
        (
            {"t": {"path": "a", "time": {"timezone": "Mars/Base"}}},
            "options.mapping.fields.t.time.timezone",
            "unknown IANA",
        ),
        ({"s": {"path": "a", "map": {"FULL": "x"}}}, "options.mapping.fields.s.map.FULL", "number"),
        ({"not a name": "a"}, "options.mapping", "plain identifier"),
    ],
)
def test_mistakes_are_config_errors_naming_file_and_key(
    fields: dict[str, Any], key: str, reason: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        mapping(fields)
    assert caught.value.file == "city.toml"
    assert caught.value.key == key
    assert reason in caught.value.reason


def test_no_mapping_is_none() -> None:
    assert mapping_from_options({"dataset": "x"}, "city.toml", "options") is None


CITY = (
    city_tables(
        "Test city", "Australia/Melbourne", [144.55, -38.05, 145.40, -37.55], (-37.81, 144.96), 13
    )
    + """
[sources.parking]
connector = "opendatasoft"
name = "Parking"
publisher = "City"
licence = "CC BY 4.0"
url = "https://data.example.org"

[sources.parking.options]
dataset = "bays"
domain = "parking"

[sources.parking.options.mapping.fields]
occupancy = { exr = "100 * (1 - free / total)" }

[layers.parking]
domain = "parking"
title = "Parking"
sources = ["parking"]
metric = "occupancy"
thresholds = [85]
labels = ["free", "full"]
"""
)


def test_a_typo_in_a_source_mapping_fails_when_the_city_loads(tmp_path: Path) -> None:
    bad = tmp_path / "city.toml"
    bad.write_text(CITY, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(bad)
    assert caught.value.file == str(bad)
    assert caught.value.key == "sources.parking.options.mapping.fields.occupancy.exr"
    assert "unknown key" in caught.value.reason


# ------------------------------------------------------------------- over columns


def test_a_mapping_over_columns_gives_what_it_gives_record_by_record() -> None:
    import pandas as pd

    mapping = RecordMapping.model_validate(
        {
            "fields": {
                "capacity": "totalcapacity",
                "lat": {"const": -37.81},
                "occupancy": {"expr": "100 * (1 - free / capacity)", "unit": "%"},
                "worst": {"expr": "max(occupancy, coalesce(spare, 0))"},
                "state": {"path": "status", "map": {"FULL": 100, "open": 0}},
                "seen": {"path": "when", "time": {"format": "%d/%m/%Y", "hour": 12}},
            }
        }
    )
    records = [
        {"totalcapacity": 200, "free": "50", "status": "full", "when": "31/05/2025"},
        {"totalcapacity": 0, "free": 0, "status": "closed", "when": "soon", "spare": 7},
        {"totalcapacity": None, "free": 3, "status": None, "when": None},
    ]
    index = pd.RangeIndex(len(records))

    def column(name: str) -> pd.Series | None:
        if not any(name in r for r in records):
            return None
        return pd.Series([r.get(name) for r in records], dtype="object")

    columns = mapping.apply_columns(column, index, "Australia/Melbourne")
    for i, record in enumerate(records):
        one = mapping.apply(record, record, "Australia/Melbourne")
        for name in mapping.fields:
            got, expected = columns.values[name].iloc[i], one.values[name]
            if name == "seen" and expected is not None:
                assert got == pd.Timestamp(expected), (i, name)
            elif expected is None or (isinstance(expected, float) and math.isnan(expected)):
                assert pd.isna(got), (i, name, got)
            else:
                assert float(got) == float(expected), (i, name, got, expected)
            assert bool(columns.problems[name].iloc[i]) == (name in one.problems), (i, name)
