"""Served numbers and times read one value at a time and a whole column at once: both
ways give the same answer, including for the odd values platforms serve."""

from __future__ import annotations

import math
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from cockpit.columns import as_number, numbers, parse_time, parse_times, per_value

ODD_NUMBERS: list[Any] = [
    "12",
    " 3.5 ",
    "3,5",
    7,
    2.5,
    True,
    False,
    None,
    "",
    "n/a",
    "inf",
    float("nan"),
    "1e3",
]
ODD_TIMES: list[Any] = [
    "2024-03-31T01:30:00",  # before the spring change in Berlin
    "2024-03-31T02:30:00",  # does not exist in Berlin
    "2024-10-27T02:30:00",  # happens twice in Berlin
    "2024-08-17T10:00:00Z",
    "2024-08-17T10:00:00+02:00",
    " 2024-08-17T10:00:00Z ",
    "2024-08-17",
    "20240817",
    1_723_888_800,
    "1723888800",
    1_723_888_800_000,
    0,
    True,
    None,
    "",
    "soon",
]


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


@pytest.mark.parametrize("repeat", [1, 40])  # 40: long enough to read distinct values once
def test_numbers_of_a_column_are_as_number_of_each(repeat: int) -> None:
    values = ODD_NUMBERS * repeat
    column = numbers(pd.Series(values, dtype="object")).tolist()
    assert all(_same(c, as_number(v)) for c, v in zip(column, values, strict=True))


def test_numbers_of_arrow_texts() -> None:
    texts = pd.Series(["1", "2.5", None, "x"] * 20, dtype="str")
    assert numbers(texts).tolist()[:4][:2] == [1.0, 2.5]
    assert math.isnan(numbers(texts).tolist()[3])


@pytest.mark.parametrize("fmt", ["auto", "iso", "epoch_s", "epoch_ms", "%Y-%m-%d"])
@pytest.mark.parametrize("repeat", [1, 40])
def test_times_of_a_column_are_parse_time_of_each(fmt: str, repeat: int) -> None:
    zone = ZoneInfo("Europe/Berlin")
    values = ODD_TIMES * repeat
    column = parse_times(pd.Series(values, dtype="object"), fmt, zone)
    for got, value in zip(column.tolist(), values, strict=True):
        expected = parse_time(value, zone, fmt)
        if expected is None:
            assert pd.isna(got), (fmt, value, got)
        else:
            assert got == pd.Timestamp(expected), (fmt, value, got)


def test_a_date_stands_for_the_stated_hour() -> None:
    zone = ZoneInfo("Australia/Melbourne")
    column = parse_times(pd.Series(["2025-05-31"]), "%Y-%m-%d", zone, hour=12)
    assert column.iloc[0] == pd.Timestamp("2025-05-31T02:00:00Z")
    assert parse_time("2025-05-31", zone, "%Y-%m-%d", 12) == column.iloc[0]


def test_per_value_keeps_true_apart_from_one() -> None:
    out = per_value(pd.Series([True, 1, 1.0, "1"], dtype="object"), repr)
    assert out.tolist() == ["True", "1", "1.0", "'1'"]
