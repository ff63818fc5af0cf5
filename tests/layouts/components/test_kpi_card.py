"""A KPI card says its figure, its level in words and with a shape, when it was updated,
where it comes from and when its sources are stale, and links to the data behind it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pandas as pd
import pytest
from dash import dcc

from cockpit.city import SourceInfo
from cockpit.model import empty_sites, observations_frame, sites_frame
from cockpit.twin import kpi as twin_kpi
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
    assert isinstance(link, dcc.Link) and link.href == "/data/parking?lang=en"
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


# --- in German: every word of each domain's card, the numbers written the German way -----

# Tuesday 13 May 2025, 08:00 in Melbourne.
AT = pd.Timestamp("2025-05-13 08:00", tz=TZ)
WEEK = pd.Timedelta(weeks=1)


def observed(*rows: tuple[str, str, pd.Timestamp, float]) -> pd.DataFrame:
    return observations_frame(
        [{"site_id": s, "metric": m, "time": t, "value": v} for s, m, t, v in rows]
    )


def stations() -> pd.DataFrame:
    return sites_frame(
        [
            {
                "id": "air:1",
                "name": "Alfred Place",
                "domain": "air",
                "kind": "station",
                "lat": -37.8,
                "lon": 144.9,
                "source": "air",
            },
            {
                "id": "air:2",
                "name": "Brunswick",
                "domain": "air",
                "kind": "station",
                "lat": -37.7,
                "lon": 144.9,
                "source": "air",
            },
        ]
    )


def domain_kpis() -> dict[str, Kpi]:
    """One KPI of each built-in domain, computed by the twin from small frames."""
    traffic = twin_kpi.traffic_flow(
        observed(*[(f"t{i}", "vehicle_flow", AT, 1_200.0 + i) for i in range(3)]),
        pd.Series({"t0": 2_000.0, "t1": 2_000.0, "t2": 2_000.0}),
    )
    air = twin_kpi.air_quality(
        observed(("air:1", "pm25", AT, 8.0), ("air:2", "no2", AT, 30.0)), stations()
    )
    bays = [(f"b{i}", "bay_occupied", AT, 1.0 if i < 1_000 else 0.0) for i in range(2_400)]
    parking = twin_kpi.parking_occupancy(observed(*bays), empty_sites())
    footfall = twin_kpi.footfall(
        observed(("p1", "pedestrians", AT, 940.0)),
        observed(("p1", "pedestrians", AT - WEEK, 1_000.0)),
        TZ,
    )
    return {k.key: replace(k, sources=["bays"]) for k in (traffic, air, parking, footfall)}


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        (
            "traffic",
            [
                "Verkehrsfluss",
                "1.201",
                "Fz/h je Zählstelle",
                "mäßig",
                "Mittel über 3 Zählstellen; die typische bei 60\u00a0% ihrer üblichen"
                " Spitzenstunde.",
            ],
        ),
        (
            "air",
            [
                "Luftqualität",
                "Gut",
                "gut",
                "Europäischer Luftqualitätsindex (EUA): am schlechtesten ist NO₂ 30 µg/m³"
                " an Brunswick.",
            ],
        ),
        (
            "parking",
            [
                "Parkplatzbelegung",
                "42",
                "% belegt",
                "Plätze frei",
                "1.400 freie Plätze von 2.400 mit bekanntem Zustand.",
            ],
        ),
        (
            "footfall",
            [
                "Passantenfrequenz",
                "940",
                "Personen/h an allen Zählern zusammen",
                "wie üblich",
                "6\u00a0% unter einem üblichen Dienstag 08:00.",
            ],
        ),
    ],
)
def test_each_domains_card_in_german(key: str, shown: list[str]) -> None:
    item = domain_kpis()[key]
    card = kpi_card(item, [BAYS], TZ, "de")
    text = text_of(card)
    for words in [*shown, "Aktualisiert Di. 08:00", "Daten dazu"]:
        assert words in text, (words, text)
    assert "Updated" not in text and "Data behind this" not in text
    link = by_id(card, f"kpi-{key}-data")
    assert link.title.startswith("Standorte, Werte, Quellen")
    assert link.href == f"/data/{key}?lang=de"  # the data behind it, in German too
    stale = replace(BAYS, status="stale", updated=datetime(2025, 5, 12, 21, 30, tzinfo=UTC))
    assert "Veraltet · letzte Daten 07:30" in text_of(kpi_card(item, [stale], TZ, "de"))


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        (
            "traffic",
            [
                "Traffic flow",
                "1,201",
                "veh/h per counted intersection",
                "moderate",
                "Mean over 3 counted sites; the typical one at 60% of its usual busy-hour flow.",
            ],
        ),
        (
            "air",
            [
                "Air quality",
                "Good",
                "European Air Quality Index (EEA): worst is NO₂ 30 µg/m³ at Brunswick.",
            ],
        ),
        (
            "parking",
            ["Parking occupancy", "% occupied", "1,400 free places of 2,400 with a known state."],
        ),
        ("footfall", ["Footfall", "persons/h at all counters together", "6% below a typical"]),
    ],
)
def test_each_domains_card_in_english_is_as_before(key: str, shown: list[str]) -> None:
    item = domain_kpis()[key]
    for language in ("en", "xx"):  # a language without a catalogue reads as English
        text = text_of(kpi_card(item, [BAYS], TZ, language))
        for words in [*shown, "Updated Tue 08:00", "Data behind this"]:
            assert words in text, (language, words, text)
