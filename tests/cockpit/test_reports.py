"""The report model's privacy rules: positions rounded to fixed cells, texts cleaned and
bounded, codes that read aloud well, moderation that keeps a report valid, open data that
carries nothing about who sent it."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cockpit.reports import (
    CODE_ALPHABET,
    REDACTED,
    REPORT_TEXT_MAX,
    Report,
    ReportChange,
    changed,
    check_report,
    clean_text,
    new_code,
    normal_code,
    open_data_row,
    round_position,
)

T = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)


def report(**fields: object) -> Report:
    base = Report(
        code="K7QM-4T2P", category="sensor_wrong", text="Counter shows 0", created=T, lat=-37.8,
        lon=144.96,
    )  # fmt: skip
    return replace(base, **fields)  # type: ignore[arg-type]


def metres_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat = math.radians((a[0] + b[0]) / 2)
    dy = (a[0] - b[0]) * 111_320
    dx = (a[1] - b[1]) * 111_320 * math.cos(lat)
    return math.hypot(dx, dy)


@given(
    lat=st.floats(min_value=-80, max_value=80),
    lon=st.floats(min_value=-179, max_value=179),
    metres=st.sampled_from([50.0, 100.0, 250.0]),
)
def test_a_rounded_position_is_within_its_cell_and_is_the_cells_centre(
    lat: float, lon: float, metres: float
) -> None:
    rounded = round_position(lat, lon, metres)
    # Within the cell: at most half a diagonal away.
    assert metres_between((lat, lon), rounded) <= metres * 0.75
    # Rounding the rounded position gives it back: every report of one cell shares it.
    assert round_position(*rounded, metres) == rounded


def test_two_doorsteps_in_one_block_share_a_position_and_the_next_block_does_not() -> None:
    door = round_position(-37.81362, 144.96305, 100)
    neighbour = round_position(-37.81370, 144.96320, 100)  # about 15 m away
    assert door == neighbour
    far = round_position(-37.81362 + 0.002, 144.96305, 100)  # about 220 m north
    assert far != door
    assert door != (-37.81362, 144.96305)


@pytest.mark.parametrize(
    "lat, lon, metres",
    [(91.0, 0.0, 100), (0.0, 181.0, 100), (math.nan, 0.0, 100), (0.0, math.inf, 100), (0, 0, 0)],
)
def test_impossible_positions_are_refused(lat: float, lon: float, metres: float) -> None:
    with pytest.raises(ValueError):
        round_position(lat, lon, metres)


def test_text_is_cleaned_of_control_characters_and_contact_details() -> None:
    text = "Bad smell\x00 here\n\n call me +49 170 1234567 or ana.b@example.org\u202e!"
    cleaned = clean_text(text)
    assert "\x00" not in cleaned and "\u202e" not in cleaned and "\n" not in cleaned
    assert "1234567" not in cleaned and "example.org" not in cleaned
    assert cleaned.count(REDACTED) == 2
    assert cleaned.startswith("Bad smell here call me")


def test_numbers_that_are_not_phone_numbers_stay() -> None:
    assert clean_text("Car park shows 120 free, 0 really") == "Car park shows 120 free, 0 really"


def test_over_long_text_is_refused() -> None:
    with pytest.raises(ValueError, match=str(REPORT_TEXT_MAX)):
        clean_text("x" * (REPORT_TEXT_MAX + 1))


def test_codes_are_unambiguous_and_typed_codes_are_recognised() -> None:
    codes = {new_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert len(code) == 9 and code[4] == "-"
        assert set(code.replace("-", "")) <= set(CODE_ALPHABET)
        assert normal_code(code.lower().replace("-", " ")) == code
    assert not {"0", "O", "1", "I", "L"} & set(CODE_ALPHABET)
    for bad in ("", "K7QM-4T2", "K7QM-4T2O", "../../etc", None, 12345678, "K" * 40):
        assert normal_code(bad) is None


@pytest.mark.parametrize(
    "bad, reason",
    [
        (report(category="ufo"), "category"),
        (report(status="deleted"), "status"),
        (report(text="   "), "few words"),
        (report(text="x" * (REPORT_TEXT_MAX + 1)), "at most"),
        (report(lat=None, lon=None), "needs a place"),
        (report(lon=None), "both"),
        (report(code="nope"), "not a report code"),
        (report(link="mail:someone"), "link"),
    ],
)
def test_unusable_reports_are_refused(bad: Report, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        check_report(bad)


def test_a_report_about_a_sensor_needs_no_position() -> None:
    check_report(report(lat=None, lon=None, site_id="ped:12"))


def test_moderation_publishes_answers_merges_and_links() -> None:
    later = datetime(2026, 11, 24, 11, 0, tzinfo=UTC)
    published = changed(report(), ReportChange(status="published", answer="Thanks!"), later)
    assert published.public and published.answer == "Thanks!" and published.updated == later
    merged = changed(published, ReportChange(merged_into="AAAA-BBBB"), later)
    assert merged.status == "merged" and merged.merged_into == "AAAA-BBBB" and not merged.public
    linked = changed(report(), ReportChange(link="health:ped:12"), later)
    assert linked.link == "health:ped:12" and linked.status == "received"
    with pytest.raises(ValueError, match="itself"):
        changed(report(), ReportChange(merged_into="K7QM-4T2P"), later)
    with pytest.raises(ValueError, match="status"):
        changed(report(), ReportChange(status="gone"), later)


def test_open_data_carries_no_photo_code_time_or_fine_position() -> None:
    row = open_data_row(
        report(photo=b"\xff\xd8", has_photo=True, lat=-37.81362, lon=144.96305), 100
    )
    assert set(row) == {"category", "text", "answer", "status", "date", "site_id", "lat", "lon"}
    assert row["date"] == "2026-11-24"
    assert (row["lat"], row["lon"]) == round_position(-37.81362, 144.96305, 100)
