"""City Cockpit's pages in one table: address, name, title, who may open them from the
navigation, and the function that builds each. Dash's page registry
(:func:`register_pages`) and the cockpit's navigation (``layouts.components.shell``) are
both built from it; adding a page is adding a row.

A row names its layout function as ``"module:function"``, imported when the pages are
registered, so that the navigation reads the table without importing every page.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal, Protocol

import dash

from cockpit.auth import ROLES, Viewer
from cockpit.city import City
from cockpit.storage import Journal

__all__ = [
    "PAGES",
    "SIGNED_IN",
    "Page",
    "PageSources",
    "about_pages",
    "nav_pages",
    "register_pages",
]

# Roles that sign in (every role but the public).
SIGNED_IN: tuple[str, ...] = tuple(role for role in ROLES if role != "public")


class PageSources(Protocol):
    """What the pages read: the city, and for some pages the journal too."""

    @property
    def city(self) -> City: ...

    @property
    def journal(self) -> Journal: ...


@dataclass(frozen=True)
class Page:
    """One page of City Cockpit.

    ``key`` names it in Dash's page registry and gives its navigation link the id
    ``cc-nav-<key>``. ``path`` may hold path variables (``/data/<kpi>``). ``layout`` is
    ``"module:function"``, called with what the page ``reads`` (the city, or the city and
    the journal) and the address's variables and query; None for a page a server route
    answers (it is only linked).
    ``title`` may name the city as ``{city}``; None keeps Dash's default. ``roles`` may
    see its link in the navigation, labelled ``nav`` (None: not linked), in ``nav_order``.
    ``about`` labels its link in the header of the pages about the data (the cockpit,
    the methodology, the catalogue and the data behind a figure), in table order.
    """

    key: str
    path: str
    name: str
    layout: str | None
    reads: Literal["city", "journal"] = "city"
    title: str | None = None
    roles: tuple[str, ...] = ROLES
    nav: str | None = None
    nav_order: int = 0
    about: str | None = None

    @property
    def is_dash_page(self) -> bool:
        """True when Dash renders the page (its links then keep the viewer's language)."""
        return self.layout is not None

    def layout_for(self, sources: PageSources) -> Callable[..., Any]:
        """The page's layout function bound to what it reads from ``sources``.

        Raises ValueError for a page a server route answers, and ImportError or
        AttributeError when ``layout`` names no function.
        """
        if self.layout is None:
            raise ValueError(f"page {self.key!r} is answered by a server route, not by Dash")
        module, _, function = self.layout.partition(":")
        build = getattr(importlib.import_module(module), function)
        if self.reads == "city":
            return partial(build, sources.city)
        return partial(build, sources.city, sources.journal)


PAGES: tuple[Page, ...] = (
    Page("cockpit", "/", "Cockpit", "layouts.pages.cockpit:layout", about="Cockpit"),
    Page(
        "twin3d",
        "/twin3d",
        "3D twin",
        "layouts.pages.twin3d:layout",
        title="3D twin · City Cockpit · {city}",
        nav="3D twin",
        nav_order=0,
    ),
    Page(
        "methodology",
        "/methodology",
        "Methodology",
        "layouts.pages.methodology:layout",
        title="Methodology · City Cockpit · {city}",
        about="Methodology",
    ),
    Page(
        "catalogue",
        "/catalogue",
        "Open data",
        "layouts.pages.catalogue:layout",
        title="Open data · City Cockpit · {city}",
        about="Open data catalogue",
    ),
    Page(
        "data_page",
        "/data/<kpi>",
        "Data behind a figure",
        "layouts.pages.data:layout",
        title="Data · City Cockpit · {city}",
    ),
    Page(
        "mobile",
        "/m",
        "Staff view",
        "layouts.pages.mobile:layout",
        reads="journal",
        title="City Cockpit · {city} · Staff",
    ),
    Page(
        "citizen",
        "/c",
        "Your city",
        "layouts.pages.citizen:layout",
        reads="journal",
        title="{city} · City Cockpit",
    ),
    Page(
        "kiosk",
        "/kiosk",
        "Kiosk",
        "layouts.pages.kiosk:default_layout",
        reads="journal",
        title="{city} · City Cockpit",
    ),
    Page(
        "kiosk-screen",
        "/kiosk/<screen>",
        "Kiosk screen",
        "layouts.pages.kiosk:screen_layout",
        reads="journal",
        title="{city} · City Cockpit",
    ),
    Page(
        "notices",
        "/notices",
        "Notices",
        "layouts.pages.notices:page",
        reads="journal",
        roles=SIGNED_IN,
        nav="Notices",
        nav_order=1,
    ),
    Page(
        "decisions",
        "/decisions",
        "Decisions",
        "layouts.pages.decisions:page",
        reads="journal",
        roles=SIGNED_IN,
        nav="Decisions",
        nav_order=2,
    ),
    Page("kiosks", "/kiosks", "Kiosks", None, roles=SIGNED_IN, nav="Kiosks", nav_order=3),
    Page(
        "rules",
        "/rules",
        "Alert rules",
        "layouts.pages.rules:page",
        reads="journal",
        title="Alert rules · City Cockpit · {city}",
        roles=SIGNED_IN,
        nav="Alert rules",
        nav_order=4,
    ),
    Page(
        "reports",
        "/reports",
        "Citizen reports",
        None,
        roles=SIGNED_IN,
        nav="Citizen reports",
        nav_order=5,
    ),
)


def register_pages(sources: PageSources, pages: tuple[Page, ...] | None = None) -> None:
    """Register every Dash page of ``pages`` (the page table) in Dash's page registry,
    each reading from ``sources``."""
    city_name = sources.city.config.city.name
    for page in PAGES if pages is None else pages:
        if not page.is_dash_page:
            continue
        where = {"path_template": page.path} if "<" in page.path else {"path": page.path}
        titled = {"title": page.title.format(city=city_name)} if page.title else {}
        dash.register_page(
            page.key, name=page.name, layout=page.layout_for(sources), **where, **titled
        )


def nav_pages(viewer: Viewer, pages: tuple[Page, ...] | None = None) -> list[Page]:
    """The pages of ``pages`` (the page table) linked in the navigation for ``viewer``, in
    navigation order: those whose roles hold the viewer's, signed-in pages only for a
    viewer who signed in."""
    return sorted(
        (
            page
            for page in (PAGES if pages is None else pages)
            if page.nav
            and viewer.role in page.roles
            and (viewer.signed_in or "public" in page.roles)
        ),
        key=lambda page: page.nav_order,
    )


def about_pages(current: str, pages: tuple[Page, ...] | None = None) -> list[Page]:
    """The pages of ``pages`` (the page table) linked from the header of the pages about
    the data, in table order, except the page ``current`` (a key) itself."""
    return [
        page for page in (PAGES if pages is None else pages) if page.about and page.key != current
    ]
