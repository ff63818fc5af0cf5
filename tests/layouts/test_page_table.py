"""One page table drives both Dash's page registry and the navigation: a row added to
the table is a page the router serves and a link the viewers it names see."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dash
import pytest
from dash import Dash, dcc, html

from cockpit.auth import Viewer
from layouts import page_table
from layouts.components.shell import about_nav, nav_links
from layouts.page_table import PAGES, SIGNED_IN, Page, nav_pages, register_pages
from tests.browser import AppServers
from wiring.app import create_app
from wiring.runtime import Runtime


@pytest.fixture(scope="module")
def runtime(app_server: AppServers) -> Runtime:
    return app_server.city(backfill=False)


PUBLIC = Viewer()
STAFF = Viewer(user="sam", role="staff")


def echo(city: Any, **query: Any) -> html.Div:
    """A page for the test: the city's name and the query it was opened with."""
    return html.Div(f"{city.config.city.name} {sorted(query.items())}", id="echo")


EXTRA = Page(
    "echo-for-test",
    "/echo-for-test",
    "Echo",
    f"{__name__}:echo",
    title="Echo · {city}",
    roles=SIGNED_IN,
    nav="Echo",
    nav_order=9,
)


@pytest.fixture(scope="module")
def app(runtime: Runtime) -> Dash:
    return create_app(runtime, start_refresher=False)


@pytest.fixture
def extra_row(monkeypatch: pytest.MonkeyPatch) -> Iterator[Page]:
    monkeypatch.setattr(page_table, "PAGES", (*PAGES, EXTRA))
    yield EXTRA
    dash.page_registry.pop(EXTRA.key, None)


def _links(nav: html.Nav) -> list[tuple[str, str]]:
    return [(c.id, c.href) for c in nav.children if isinstance(c, html.A)]


def test_the_registry_holds_the_tables_dash_pages(app: Dash, runtime: Runtime) -> None:
    dash_pages = [p for p in PAGES if p.is_dash_page]
    assert {p.key for p in dash_pages} <= set(dash.page_registry)
    assert "kiosks" not in dash.page_registry  # a server route answers it
    city = runtime.config.city.name
    for page in dash_pages:
        entry = dash.page_registry[page.key]
        assert entry["name"] == page.name
        if "<" in page.path:
            assert entry["path_template"] == page.path
        else:
            assert entry["path"] == page.path
        if page.title:
            assert entry["title"] == page.title.format(city=city)


def test_a_public_viewer_is_offered_the_3d_twin_and_signing_in() -> None:
    assert [p.key for p in nav_pages(PUBLIC)] == ["twin3d"]
    assert _links(nav_links(PUBLIC, "en", str)) == [
        ("cc-nav-twin3d", "/twin3d"),
        ("cc-nav-signin", "/signin?next=/"),
    ]


def test_a_signed_in_viewer_sees_the_staff_pages_in_nav_order() -> None:
    keys = ["twin3d", "notices", "decisions", "kiosks", "rules", "reports"]
    assert [p.key for p in nav_pages(STAFF)] == keys
    assert _links(nav_links(STAFF, "de", str)) == [
        ("cc-nav-twin3d", "/twin3d?lang=de"),
        ("cc-nav-notices", "/notices?lang=de"),
        ("cc-nav-decisions", "/decisions?lang=de"),
        ("cc-nav-kiosks", "/kiosks"),  # a server route keeps no language
        ("cc-nav-rules", "/rules?lang=de"),
        ("cc-nav-reports", "/reports"),
        ("cc-nav-signout", "/signout"),
    ]


def test_a_role_the_row_does_not_name_gets_no_link() -> None:
    executives_only = Page("board", "/board", "Board", None, roles=("executive",), nav="Board")
    assert nav_pages(STAFF, (executives_only,)) == []
    assert nav_pages(Viewer(user="eve", role="executive"), (executives_only,)) == [executives_only]


def test_a_row_added_to_the_table_is_a_page_and_a_link(
    app: Dash, runtime: Runtime, extra_row: Page
) -> None:
    register_pages(runtime)
    entry = dash.page_registry[extra_row.key]
    assert entry["path"] == "/echo-for-test"
    assert entry["title"] == f"Echo · {runtime.config.city.name}"
    with app.server.test_request_context("/"):
        page = entry["layout"](lang="de")
    assert page.children == f"{runtime.config.city.name} [('lang', 'de')]"
    assert ("cc-nav-echo-for-test", "/echo-for-test") in _links(nav_links(STAFF, "en", str))
    assert "cc-nav-echo-for-test" not in dict(_links(nav_links(PUBLIC, "en", str)))
    answer = app.server.test_client().get(
        "/_dash-layout", headers={"Referer": "http://localhost/echo-for-test"}
    )
    assert f"{runtime.config.city.name} []" in answer.get_data(as_text=True)


def test_a_page_a_route_answers_has_no_layout(runtime: Runtime) -> None:
    [kiosks] = [p for p in PAGES if p.key == "kiosks"]
    with pytest.raises(ValueError, match="server route"):
        kiosks.layout_for(runtime)


def _hrefs(nav: html.Nav) -> list[str]:
    return [c.href for c in nav.children if not isinstance(c, str)]


def test_the_pages_about_the_data_link_each_other_from_the_table() -> None:
    about = [p for p in PAGES if p.about]
    assert [p.key for p in about] == ["cockpit", "methodology", "catalogue"]
    assert _hrefs(about_nav("data_page")) == ["/", "/methodology", "/catalogue"]
    assert _hrefs(about_nav("methodology")) == ["/", "/catalogue"]
    nav = about_nav("catalogue", dcc.Link)
    assert [type(c) for c in nav.children] == [dcc.Link, str, dcc.Link]
    assert [c.children for c in nav.children if not isinstance(c, str)] == [
        "Cockpit",
        "Methodology",
    ]
