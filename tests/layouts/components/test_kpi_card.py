"""A KPI card says its figure, its level in words and with a shape, when it was updated,
where it comes from and when its sources are stale, and links to the data behind it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from dash import dcc

from cockpit.city import SourceInfo
from cockpit.twin.kpi import Kpi
from layouts.components.kpi_card import kpi_card, kpi_strip
from tests.dashtree import by_id, components, text_of

TZ = "Australia/Melbourne"
NOON = datetime(2025, 5, 13, 2, 0, tzinfo=UTC)  # Tuesday 12:00 in Melbourne

PARKING = Kpi(
    key="parking",
    title="Parking occupancy",
    value=91.0,
    unit="%",
    display="91",
    level="warn",
    level_label="filling up",
    detail="912 of 1,002 places occupied.",
    updated=NOON,
    sources=["bays", "carparks"],
)
BAYS = SourceInfo(
    id="bays",
    name="On-street parking bays",
    publisher="City of Melbourne",
    licence="CC BY 4.0",
    licence_url="https://creativecommons.org/licenses/by/4.0/",
    url="https://data.melbourne.vic.gov.au/",
    origin="May 2025, replayed",
    status="ok",
    updated=NOON,
    last_success=NOON,
    age_s=60.0,
    error="",
)


def classes(card: object) -> set[str]:
    return set(str(getattr(card, "className", "")).split())


def test_a_card_shows_figure_level_time_credit_and_a_link_to_its_data() -> None:
    card = kpi_card(PARKING, [BAYS], TZ)
    assert card.id == "kpi-parking"
    assert classes(card) == {"cc-kpi", "cc-warn"}
    text = text_of(card)
    for shown in (
        "Parking occupancy",
        "91",
        "%",
        "filling up",
        "912 of 1,002 places occupied.",
        "Updated Tue 12:00",  # local time of the city
        "On-street parking bays · City of Melbourne · CC BY 4.0 · May 2025, replayed",
    ):
        assert shown in text, shown
    assert "Stale" not in text
    # The level has a shape as well as a colour; the shape is hidden from screen readers.
    symbol = next(c for c in components(card) if getattr(c, "className", "") == "cc-symbol")
    assert symbol.children == "▲" and symbol.to_plotly_json()["props"]["aria-hidden"] == "true"
    link = by_id(card, "kpi-parking-data")
    assert isinstance(link, dcc.Link) and link.href == "/data/parking"
    assert "Parking occupancy" in link.title


def test_a_stale_source_is_said_with_the_time_of_its_last_data() -> None:
    stale = replace(BAYS, status="stale", updated=datetime(2025, 5, 13, 0, 30, tzinfo=UTC))
    card = kpi_card(PARKING, [stale], TZ)
    assert "cc-is-stale" in classes(card)
    assert "Stale · last data 10:30" in text_of(card)


def test_the_air_band_is_not_written_as_a_unit_and_no_data_is_a_dash() -> None:
    air = Kpi("air", "Air quality", None, "EAQI band", "–", "none", "no data", "No current data.")
    card = kpi_card(air, [], TZ)
    unit = next(c for c in components(card) if getattr(c, "className", "") == "cc-unit")
    assert unit.children == ""
    assert "Updated never" in text_of(card)
    assert "cc-none" in classes(card) and "–" in text_of(card)


def test_the_strip_keeps_the_citys_order_and_only_known_sources() -> None:
    air = replace(PARKING, key="air", title="Air quality", sources=["air", "gone"])
    strip = kpi_strip(
        [air, PARKING], {"bays": BAYS, "air": replace(BAYS, id="air", name="EPA")}, TZ
    )
    assert [card.id for card in strip] == ["kpi-air", "kpi-parking"]
    assert "EPA · City of Melbourne" in text_of(strip[0])
    assert "On-street parking bays" in text_of(strip[1])
