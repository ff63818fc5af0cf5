"""``aria-*`` and ``data-*`` attributes reach Dash's HTML components as they were given."""

from __future__ import annotations

from dash import html

from layouts.components.html_attrs import html_attrs


def test_attributes_become_keyword_arguments_of_a_component() -> None:
    given = {"aria-label": "Pages", "data-domain": "parking"}
    attrs = html_attrs(given)
    assert attrs == given and attrs is not given  # a copy: the caller's mapping stays theirs
    nav = html.Nav("links", **attrs)
    shown = nav.to_plotly_json()["props"]
    assert shown["aria-label"] == "Pages" and shown["data-domain"] == "parking"


def test_no_attributes_add_nothing() -> None:
    assert html_attrs({}) == {}
    assert html.Span("x", **html_attrs({})).to_plotly_json()["props"] == {"children": "x"}
