"""The twin's panels as text-only Dash components in the viewer's language: each site
against its typical value, KPIs against theirs, today's anomalies, targets and the CO₂
estimate, and (over a demo city) the health section and the traffic-against-air panel."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pandas as pd
import pytest
from dash import html

from cockpit.present.i18n import translator
from cockpit.twin.baseline import Anomaly, KpiComparison
from cockpit.twin.climate import Co2Estimate, Co2Factors
from cockpit.twin.panels import Twin
from cockpit.twin.targets import TargetProgress
from layouts.components.twin_panels import (
    add_to_cards,
    anomalies_panel,
    co2_card,
    comparison_line,
    comparison_words,
    health_section,
    pair_panel,
    targets_panel,
    typical_of_sites,
)
from tests.browser import Clock
from tests.conftest import AppServers
from tests.dashtree import by_id, components, text_of
from tests.layouts.components.small_view import view
from wiring.runtime import Runtime

TZ = "Australia/Melbourne"
AT = datetime(2025, 5, 13, 0, 0, tzinfo=UTC)  # Tuesday 10:00 in Melbourne
EN = translator("en", "cockpit")
DE = translator("de", "cockpit")


def compared(change: float, direction: str) -> KpiComparison:
    return KpiComparison(
        key="traffic",
        label="Vehicle flow",
        value=1_000 * (1 + change),
        typical=1_000.0,
        change=change,
        direction=direction,  # type: ignore[arg-type]
        at=AT,
        weekday=1,
        hour=10,
        sites=12,
    )


def anomaly(site_id: str, z: float, direction: str = "above") -> Anomaly:
    return Anomaly(
        site_id=site_id,
        name=f"Counter {site_id}",
        domain="pedestrians",
        metric="pedestrians",
        time=AT,
        value=1_500.0 if direction == "above" else 20.0,
        typical=400.0,
        spread=100.0,
        z=z,
        direction=direction,  # type: ignore[arg-type]
    )


def twin(anomalies: list[Anomaly], states: pd.DataFrame | None = None) -> Twin:
    empty = pd.DataFrame(columns=["site_id", "state", "z"])
    return Twin(AT, pd.DataFrame(), anomalies, empty if states is None else states, {})


def test_each_site_is_marked_by_its_strongest_metric() -> None:
    states = pd.DataFrame(
        {
            "site_id": ["a", "a", "b", "c"],
            "state": ["well above", "well below", "typical", "unknown"],
            "z": [2.5, -3.1, 0.2, float("nan")],
        }
    )
    assert typical_of_sites(twin([], states)) == {"a": "below", "b": "typical"}
    assert typical_of_sites(twin([])) == {}


def test_a_kpi_against_its_typical_value_in_words_and_numbers() -> None:
    assert comparison_words(compared(-0.18, "below"), "en", TZ, EN) == (
        "Vehicle flow 18% below a typical Tuesday 10:00"
    )
    assert comparison_words(compared(0.02, "as usual"), "en", TZ, EN) == (
        "Vehicle flow about as usual for a Tuesday 10:00"
    )
    german = comparison_words(compared(0.25, "above"), "de", TZ, DE)
    assert german == "Verkehrsstärke 25 % über einem typischen Dienstag 10:00"
    line = comparison_line(compared(0.25, "above"), "en", TZ, EN)
    assert (
        text_of(line) == "▲ Vehicle flow 25% above a typical Tuesday 10:00  (typical 1,000 veh/h)"
    )
    (arrow, *_) = line.children
    assert arrow.className == "cc-vs cc-vs-above"


def test_extras_go_into_their_cards_after_the_detail() -> None:
    card = html.Div([html.Div(n) for n in ("title", "figure", "level", "detail", "footer")])
    card.id = "kpi-traffic"
    other = html.Div(["only"], id="kpi-air")
    add_to_cards([card, other], {"traffic": [html.Div("vs typical")]})
    assert [c.children for c in card.children] == [
        "title",
        "figure",
        "level",
        "detail",
        "vs typical",
        "footer",
    ]
    assert other.children == ["only"]


def test_anomalies_shown_only_for_sites_the_viewer_sees_up_to_the_limit() -> None:
    found = [
        anomaly("pedestrians:q", 5.0),
        anomaly("hidden:1", 4.5),  # not in the viewer's sites
        anomaly("pedestrians:b", -4.0, "below"),
        anomaly("pedestrians:c", 3.0),
    ]
    panel = anomalies_panel(twin(found), view(), "en", TZ, EN, limit=2)
    items = [c for c in components(panel) if isinstance(c, html.Li)]
    assert [i.to_plotly_json()["props"]["data-site"] for i in items] == [
        "pedestrians:q",
        "pedestrians:b",
    ]
    assert text_of(items[0]) == (
        "▲ Counter pedestrians:q  Pedestrians 1,500 persons/h at 10:00, far above the usual 400"
    )
    assert "far below the usual 400" in text_of(items[1])
    assert text_of(panel).endswith("and 1 more")
    quiet = anomalies_panel(twin([anomaly("hidden:1", 9.0)]), view(), "de", TZ, DE)
    assert text_of(quiet) == f"{DE('Unusual today')} {DE('Nothing unusual so far today.')}"


def target(progress: float | None, current: float | None = 24.0) -> TargetProgress:
    return TargetProgress(
        key="no2-2030",
        label="Annual mean NO₂",
        metric="no2",
        unit="µg/m³",
        direction="below",
        target=20.0,
        by=2030,
        current=current,
        start_value=30.0,
        start_date=date(2025, 1, 1),
        expected_now=27.0,
        progress=progress,
        status="on track",
        days_covered=365,
        window_days=365,
    )


FACTORS = Co2Factors(g_per_vehicle_km=180, km_per_vehicle=2.5, source="Handbook 4.2")


def test_targets_show_progress_clamped_and_the_co2_estimate() -> None:
    estimate = Co2Estimate(date(2025, 5, 12), 42_000, 105_000, 18.9, 12, 288, FACTORS)
    panel = targets_panel([target(0.6), target(1.7, None)], estimate, "en", TZ, EN)
    first, second = (c for c in components(panel) if isinstance(c, html.Li))
    assert "now 24.0 µg/m³, target below 20.0 µg/m³ by 2030" in text_of(first)
    bars = [c for c in components(panel) if getattr(c, "className", "") == "cc-progress"]
    assert [b.to_plotly_json()["props"]["aria-label"] for b in bars] == [
        "60% of the way",
        "100% of the way",  # past the goal: a full bar, never more
    ]
    assert "now –" in text_of(second)
    co2 = by_id(panel, "kpi-co2")
    assert "≈ 18.9 t CO₂ yesterday" in text_of(co2)
    assert "Estimate from 42,000 vehicles counted at 12 sites." in text_of(co2)
    assert "180 g CO₂ per vehicle-km; 2.5 km driven per counted vehicle. Source: Handbook 4.2." in (
        text_of(co2)
    )


def test_without_targets_or_counts_the_panel_says_so() -> None:
    text = text_of(targets_panel([], None, "en", TZ, EN))
    assert "No KPI targets in this city's configuration." in text
    assert "No vehicle counts for yesterday." in text
    no_source = co2_card(
        Co2Estimate(date(2025, 5, 12), 1, 1, 0.1, 1, 1, replace(FACTORS, source="")),
        "en",
        TZ,
        EN,
    )
    assert "Source:" not in text_of(no_source)


@pytest.fixture(scope="module")
def runtime(app_server: AppServers, clock: Clock) -> Runtime:
    return app_server.city(clock)


def test_the_health_section_is_kept_for_the_quarter_hour(runtime: Runtime) -> None:
    public = runtime.city.view("public")
    section = health_section(runtime.city, public)
    assert section.id == "cc-health" and "Sensor health" in text_of(section)
    assert health_section(runtime.city, public) is section


def test_traffic_against_air_at_the_nearest_station_or_a_word_why_not(
    runtime: Runtime,
) -> None:
    public = runtime.city.view("public")
    pairs = runtime.city.site_pairs("public")
    paired = set(pairs["traffic_site"])
    traffic = [s for s in public.sites["id"] if public.sites.set_index("id").domain[s] == "traffic"]
    # The demo city has traffic sites near an air station and others far from any.
    unpaired = next(s for s in traffic if s not in paired)
    assert text_of(pair_panel(runtime.city, public, unpaired, 24, "en", EN)) == (
        "No air-quality station near this site."
    )
    first = pairs.iloc[0]
    panel = pair_panel(runtime.city, public, str(first["traffic_site"]), 24, "en", EN)
    assert text_of(panel[0]).startswith(f"Traffic here against air at {first['air_name']} (")
    assert by_id(panel, "cc-pair-graph").figure.data  # the flow line at least
    lines = [c for c in components(panel) if isinstance(c, html.Li)]
    assert lines and all("r =" in text_of(li) or "too few" in text_of(li) for li in lines)
