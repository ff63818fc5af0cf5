"""The sensor health panel: coverage per domain in a table, then the flagged sites,
silent ones first, as text a person reads."""

from __future__ import annotations

from datetime import UTC, datetime

from dash import html

from cockpit.twin.sensor_health import DomainCoverage, SiteHealth, coverage
from layouts.components.health_panel import health_panel
from tests.dashtree import components, text_of

TZ = "Australia/Melbourne"
SEEN = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)  # Tuesday 09:00 in Melbourne


def site(name: str, status: str = "reporting", *problems: str, detail: str = "") -> SiteHealth:
    return SiteHealth(
        site_id=f"pedestrians:{name}",
        name=name,
        domain="pedestrians",
        status=status,
        last_seen=SEEN,
        interval_s=3600,
        problems=problems,
        detail=detail,
    )


HEALTH = [
    site("Bourke St"),
    site("Elizabeth St", "stale"),
    site("Flinders St", "silent"),
    site("Collins St", "reporting", "flat"),
    site("Swanston St", "reporting", "impossible", detail="value 250000 above 100000"),
]


def test_coverage_per_domain_in_a_table_with_headers() -> None:
    panel = health_panel(coverage(HEALTH), HEALTH, TZ)
    (table,) = [c for c in components(panel) if isinstance(c, html.Table)]
    heads = [c for c in components(table) if isinstance(c, html.Th)]
    assert [h.children for h in heads if h.scope == "col"] == [
        "Domain",
        "Sites",
        "Reporting",
        "Late",
        "Silent",
        "Suspect",
    ]
    (row,) = [c for c in components(table) if isinstance(c, html.Tr)][1:]
    assert text_of(row) == "Pedestrians 5 3 (60%) 1 1 2"
    assert panel.to_plotly_json()["props"]["aria-labelledby"] == "cc-health-title"


def test_flagged_sites_silent_first_with_what_is_wrong() -> None:
    panel = health_panel(coverage(HEALTH), HEALTH, TZ)
    items = [text_of(c) for c in components(panel) if isinstance(c, html.Li)]
    assert items == [
        "Flinders St  — silent (last reading Tue 09:00)",
        "Elizabeth St  — stale (last reading Tue 09:00)",
        "Collins St  — flat line",
        "Swanston St  — impossible values; value 250000 above 100000",
    ]


def test_beyond_the_limit_the_rest_are_counted() -> None:
    text = text_of(health_panel(coverage(HEALTH), HEALTH, TZ, limit=3))
    assert "Sensor health" in text
    assert "Flinders St" in text and "Collins St" in text
    assert "Swanston St" not in text and "and 1 more" in text


def test_a_quiet_city_says_every_site_reports() -> None:
    quiet = [site("Bourke St")]
    text = text_of(health_panel(coverage(quiet), quiet, TZ))
    assert "Every site reports as expected." in text
    other = DomainCoverage("ferries", 2, 2, 0, 0, 0)  # a domain the registry does not know
    assert "ferries 2" in text_of(health_panel([other], [], "UTC", panel_id="x"))


def test_in_german_every_word_and_number_is_german() -> None:
    panel = health_panel(coverage(HEALTH), HEALTH, TZ, limit=3, language="de")
    heads = [c.children for c in components(panel) if isinstance(c, html.Th) and c.scope == "col"]
    assert heads == ["Bereich", "Standorte", "Meldend", "Verspätet", "Stumm", "Verdächtig"]
    rows = [c for c in components(panel) if isinstance(c, html.Tr)][1:]
    assert [text_of(r) for r in rows] == ["Fußgänger 5 3 (60\u00a0%) 1 1 2"]
    items = [text_of(c) for c in components(panel) if isinstance(c, html.Li)]
    assert items == [
        "Flinders St  — stumm (letzter Messwert Di. 09:00)",
        "Elizabeth St  — veraltet (letzter Messwert Di. 09:00)",
        "Collins St  — gleichbleibender Wert",
    ]
    text = text_of(panel)
    assert "Zustand der Sensoren" in text and "und 1 weitere" in text
    quiet = [site("Bourke St")]
    quiet_text = text_of(health_panel(coverage(quiet), quiet, TZ, language="de"))
    assert "Jeder Standort meldet wie erwartet." in quiet_text
