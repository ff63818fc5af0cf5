"""The page shell the Dash renderer asks for first (``/_dash-layout``), holding the page
being opened, and the navigation between pages, built from the page table.

With Dash pages the renderer first gets an empty page container, mounts it, and only then
asks the server, through the pages router callback, for the page at its address: a second
round trip and a second render before anyone sees the city. The renderer's request
carries the page's address in its ``Referer`` (same origin; City Cockpit's referrer
policy keeps path and query there), so the shell can hold that page already, with the
container's ``dcc.Location`` set to the same path and query: the router then has nothing
to do. Without a usable address, or when building the page fails, the shell is the plain
one and the router fills it as before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import flask
from dash import Dash, dcc, html, page_container

# Dash's own routing, so that a page held in the shell is the page its router would give.
from dash._pages import _parse_query_string, _path_to_page

from cockpit.auth import Viewer
from cockpit.present.i18n import translator
from layouts.components.html_attrs import html_attrs
from layouts.page_table import about_pages, nav_pages

__all__ = ["about_nav", "nav_links", "opening_address", "page_shell", "shell"]

# Links in the dark header of the pages about the data.
_ABOUT_LINK = {"color": "#ffffff", "marginLeft": "1rem"}

log = logging.getLogger(__name__)


def nav_links(viewer: Viewer, language: str, _: Callable[[str], str]) -> html.Nav:
    """The navigation for ``viewer``: a link to each page of the page table the viewer's
    role may open (Dash pages in the viewer's ``language``), then signing in or out."""
    query = f"?lang={language}" if language != "en" else ""
    links: list[Any] = [
        html.A(
            _(page.nav or page.name),
            href=page.path + (query if page.is_dash_page else ""),
            id=f"cc-nav-{page.key}",
        )
        for page in nav_pages(viewer)
    ]
    if viewer.signed_in:
        links += [
            html.Span(viewer.user, className="cc-nav-user"),
            html.A(_("Sign out"), href="/signout", id="cc-nav-signout"),
        ]
    else:
        links.append(html.A(_("Sign in"), href="/signin?next=/", id="cc-nav-signin"))
    return html.Nav(links, className="cc-nav", **html_attrs({"aria-label": _("Pages")}))


def about_nav(current: str, link: Callable[..., Any] = html.A, language: str = "en") -> html.Nav:
    """The header links of a page about the data (``current``, a page key) to the others,
    as ``link`` components (``html.A``, or ``dcc.Link`` to stay in the page), named in
    ``language``."""
    _ = translator(language, "cockpit")
    links: list[Any] = []
    for page in about_pages(current):
        links += [" · ", link(_(page.about or page.name), href=page.path, style=_ABOUT_LINK)]
    return html.Nav(links[1:])


def opening_address(referrer: str | None, host_url: str) -> tuple[str, str] | None:
    """The path and query (``"?a=b"`` or ``""``) of the page being opened, from the
    renderer's ``Referer``; None when it names no page of this server."""
    if not referrer:
        return None
    page, here = urlsplit(referrer), urlsplit(host_url)
    if (page.scheme, page.netloc) != (here.scheme, here.netloc) or not page.path:
        return None
    return page.path, f"?{page.query}" if page.query else ""


def page_shell(app: Dash, pathname: str, search: str) -> html.Div | None:
    """The page container holding the page at ``pathname`` and ``search``, as the pages
    router would fill it; None for an address that is no page (the router answers it)."""
    page, variables = _path_to_page(app.strip_relative_path(pathname))
    if not page:
        return None
    arguments = {**(variables or {}), **_parse_query_string(search)}
    layout = page["layout"]
    content = layout(**arguments) if callable(layout) else layout
    title = page["title"]
    if callable(title):
        title = title(**(variables or {}))
    location, content_id, store, dummy = (child.id for child in page_container.children)
    return html.Div(
        [
            html.Div(
                [
                    dcc.Location(
                        id=location, refresh="callback-nav", pathname=pathname, search=search
                    ),
                    html.Div(content, id=content_id, disable_n_clicks=True),
                    dcc.Store(id=store, data={"title": title}),
                    html.Div(id=dummy, disable_n_clicks=True),
                ]
            )
        ]
    )


def _never_stored(response: flask.Response) -> flask.Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def shell(app: Dash) -> Any:
    """The layout served to each renderer: the page being opened when its address is
    known, else the plain page container."""
    request = flask.request
    # The answer depends on the page being opened and on the viewer: never kept.
    flask.after_this_request(_never_stored)
    address = opening_address(request.referrer, request.host_url)
    if address is not None:
        try:
            held = page_shell(app, *address)
        except Exception:  # the router will build it again and report what failed
            log.exception("page %s could not be built into the shell", address[0])
            held = None
        if held is not None:
            return held
    return html.Div([page_container])
