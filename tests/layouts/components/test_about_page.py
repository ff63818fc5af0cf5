"""A page about the data is headed by its title and links to the other pages about the
data, never to itself, above its own sections."""

from __future__ import annotations

from dash import html

from layouts.components.about_page import about_page
from layouts.page_table import about_pages


def test_about_page_heads_its_sections_with_title_and_links_to_the_others() -> None:
    section = html.Section("Sources", id="s")
    page = about_page(
        "catalogue", "Open data catalogue · Melbourne", "cc-catalogue-page", [section]
    )
    assert page.className == "cc-page cc-catalogue-page"
    header, main = page.children
    assert header.className == "cc-header"
    title, nav = header.children
    assert title.children == "Open data catalogue · Melbourne"
    hrefs = [link.href for link in nav.children if isinstance(link, html.A)]
    assert hrefs == [p.path for p in about_pages("catalogue")]
    assert "/catalogue" not in hrefs
    assert main.children == [section]
