"""``/catalogue``: one row per source the viewer may see, with publisher, licence link,
endpoint, exports and health; internal sources for signed-in staff only."""

from __future__ import annotations

import pytest
from dash import Dash, html

from layouts.pages import catalogue
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


def page(app: Dash, runtime: Runtime, role: str = "public") -> html.Div:
    with viewing(app.server, role):
        return catalogue.layout(runtime.city)


def test_public_rows_credit_each_public_source_and_link_its_licence(
    app: Dash, runtime: Runtime
) -> None:
    shown = page(app, runtime)
    public = [s for s, cfg in runtime.config.sources.items() if cfg.access == "public"]
    rows = [c.id for c in components(shown) if str(getattr(c, "id", "")).startswith("source-")]
    assert sorted(rows) == sorted(f"source-{s}" for s in public)
    assert f"source-{INTERNAL_SOURCE}" not in rows
    assert INTERNAL_NAME not in text_of(shown)
    for source in public:
        info = runtime.city.view("public").sources[source]
        row = by_id(shown, f"source-{source}")
        assert info.name in text_of(row) and info.publisher in text_of(row)
        licence = by_id(row, f"licence-{source}")
        if info.licence_url:
            (link,) = [c for c in components(licence) if isinstance(c, html.A)]
            assert (link.children, link.href) == (info.licence, info.licence_url)
        else:
            assert text_of(licence) == info.licence


def test_each_row_links_its_layers_exports(app: Dash, runtime: Runtime) -> None:
    row = by_id(page(app, runtime), "source-parking")
    hrefs = [c.href for c in components(row) if isinstance(c, html.A) and c.href.startswith("/")]
    assert "/export/parking.csv" in hrefs and "/export/parking.geojson" in hrefs
    assert not any(h.endswith("csv-metadata.json") for h in hrefs)
    assert "every " in text_of(row) and " s" in text_of(row)  # the refresh interval


def test_the_page_points_developers_to_dcat_and_the_api(app: Dash, runtime: Runtime) -> None:
    hrefs = {c.href for c in components(page(app, runtime)) if isinstance(c, html.A)}
    assert {"/api/v1/catalog.jsonld", "/api/v1/openapi.json", "/api/v1/sources"} <= hrefs
    assert runtime.config.city.name in text_of(page(app, runtime))


def test_staff_see_internal_sources_marked_as_such(app: Dash, runtime: Runtime) -> None:
    row = by_id(page(app, runtime, "staff"), f"source-{INTERNAL_SOURCE}")
    assert INTERNAL_NAME in text_of(row) and "(internal)" in text_of(row)


def test_published_citizen_reports_are_listed_as_open_data(app: Dash, runtime: Runtime) -> None:
    section = by_id(page(app, runtime), "cc-catalogue-reports")
    hrefs = {c.href for c in components(section) if isinstance(c, html.A)}
    assert hrefs == {"/reports/published.csv", "/reports/published.geojson"}
    words = text_of(section)
    assert "No photo, report code, name or device" in words and "about 100 m" in words
    client = app.server.test_client()
    for href in hrefs:
        assert client.get(href).status_code == 200
