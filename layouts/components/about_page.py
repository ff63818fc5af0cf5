"""The frame of a page about the data (catalogue, methodology): its title, the links to
the other pages about the data, and its sections."""

from __future__ import annotations

from typing import Any

from dash import html

from layouts.components.shell import about_nav

__all__ = ["about_page"]


def about_page(current: str, title: str, class_name: str, sections: list[Any]) -> html.Div:
    """The page ``current`` (a page key) headed by ``title``, with ``sections`` below."""
    return html.Div(
        className=f"cc-page {class_name}",
        children=[
            html.Header([html.H1(title), about_nav(current)], className="cc-header"),
            html.Main(sections),
        ],
    )
