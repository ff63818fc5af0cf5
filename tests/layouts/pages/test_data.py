"""``/data/<kpi>``: the sites, values, sources and licences behind one KPI card, with its
exports and a link to how it is computed; small counts of people masked; an unknown
figure answered with a short page."""

from __future__ import annotations

import pytest
from dash import Dash, dcc, html

from layouts.pages import data
from tests.browser import Clock
from tests.conftest import AppServers
from tests.dashtree import by_id, components, text_of
from tests.layouts.pages.test_kiosk import INTERNAL_NAME, INTERNAL_SOURCE, kiosk_config
from tests.layouts.viewing import viewing
from wiring.runtime import Runtime


@pytest.fixture(scope="module")
def runtime(app_server: AppServers, clock: Clock) -> Runtime:
    return app_server.city(clock, kiosk_config(), backfill=False)


@pytest.fixture(scope="module")
def app(app_server: AppServers, runtime: Runtime) -> Dash:
    return app_server.app(runtime)


def page(
    app: Dash, runtime: Runtime, kpi: str | None, role: str = "public", lang: object = None
) -> html.Div:
    with viewing(app.server, role):
        return data.layout(runtime.city, kpi=kpi, lang=lang)


def test_the_parking_figure_with_its_sources_values_and_exports(
    app: Dash, runtime: Runtime
) -> None:
    shown = page(app, runtime, "parking")
    item = next(k for k in runtime.city.view("public").kpis if k.key == "parking")
    assert text_of(shown).startswith(f"Data behind {item.title}")
    assert item.display in text_of(by_id(shown, "data-figure"))
    sources = by_id(shown, "data-sources")
    for source in item.sources:
        info = runtime.city.view("public").sources[source]
        row = by_id(sources, f"data-source-{source}")
        assert info.name in text_of(row) and info.licence in text_of(row)
    values = [c for c in components(by_id(shown, "data-values")) if isinstance(c, html.Tr)]
    assert 0 < len(values) - 1 <= data.MAX_ROWS  # a header row, then the values
    hrefs = {getattr(c, "href", "") for c in components(by_id(shown, "data-exports"))}
    assert "/export/parking.csv" in hrefs
    link = by_id(shown, "data-methodology-link")
    assert isinstance(link, dcc.Link) and link.href == "/methodology#method-parking"


def test_small_counts_of_people_are_masked(app: Dash, runtime: Runtime) -> None:
    k = runtime.config.privacy.min_group_size
    assert k > 0
    values = by_id(page(app, runtime, "footfall"), "data-values")
    cells = [
        text_of(c) for c in components(values) if getattr(c, "className", "") == "cc-data-value"
    ]
    assert cells
    for cell in cells:
        number = cell.split()[0].replace(",", "")
        assert cell.startswith("<") or float(number) >= k


def test_public_viewers_never_see_internal_sites(app: Dash, runtime: Runtime) -> None:
    public = text_of(page(app, runtime, "footfall"))
    assert INTERNAL_NAME not in public and f"{INTERNAL_SOURCE}:" not in str(
        page(app, runtime, "footfall")
    )
    staff = page(app, runtime, "footfall", "staff")
    assert INTERNAL_NAME in text_of(by_id(staff, "data-sources"))


def test_an_unknown_figure_gets_a_short_page_not_an_error(app: Dash, runtime: Runtime) -> None:
    for kpi in ("ferries", None, "<script>"):
        text = text_of(page(app, runtime, kpi))
        assert "No such figure" in text and "This cockpit has no figure by that name." in text


def test_the_page_speaks_the_language_of_the_card_it_was_opened_from(
    app: Dash, runtime: Runtime
) -> None:
    assert "de" in runtime.config.city.languages
    english = page(app, runtime, "footfall", lang="en")
    german = page(app, runtime, "footfall", lang="de")
    text = text_of(german)
    assert text.startswith("Daten zu Passantenfrequenz")
    for words in (
        "Methodik",
        "Offene-Daten-Katalog",
        "Quellen",
        "Herausgeber",
        "Lizenz",
        "Messorte und Werte",
        "Messort",
        "Wert",
    ):
        assert words in text, words
    for words in ("Data behind", "Sources", "Publisher", "Sites and values", "Newest observation"):
        assert words not in text, words
    link = by_id(german, "data-methodology-link")
    assert link.children == "Wie diese Kennzahl berechnet wird"

    # The same rows, in the same order; only their words differ.
    def rows(shown: html.Div) -> list[str]:
        return [c.id for c in components(by_id(shown, "data-values")) if getattr(c, "id", None)]

    assert rows(english) and rows(english) == rows(german)
    # Numbers the German way, units in German: "2.365 Personen/h".
    values = [
        text_of(c) for c in components(german) if getattr(c, "className", "") == "cc-data-value"
    ]
    assert any("." in v and v.endswith("Personen/h") for v in values), values
    # An unoffered or crafted language reads as the city's first.
    for asked in ("xx", "<b>", 3, None):
        assert text_of(page(app, runtime, "footfall", lang=asked)).startswith("Data behind")
    assert "Keine solche Kennzahl" in text_of(page(app, runtime, "ferries", lang="de"))
