"""The document's language from the address, and Dash's index page carrying it."""

from __future__ import annotations

from dash import Dash, html

from layouts.components import page_language
from layouts.components.page_language import page_language as language_of


def test_an_offered_language_is_taken_anything_else_is_the_default() -> None:
    assert language_of({"lang": "de"}, ["en", "de"]) == "de"
    assert language_of({}, ["en", "de"]) == "en"
    assert language_of({"lang": "fr"}, ["en", "de"]) == "en"  # not offered
    assert language_of({"lang": '"><script>'}, ["de", "en"]) == "de"  # crafted
    assert language_of({"lang": "de"}, []) == "en"
    assert language_of({"lang": "xx"}, ["xx"]) == "en"  # no catalogue for it


def test_the_index_page_names_its_language_and_the_offered_ones() -> None:
    app = Dash(__name__)
    app.layout = html.Div()
    page_language.install(app, ["en", "de"])
    client = app.server.test_client()
    german = client.get("/?lang=de").get_data(as_text=True)
    assert '<html lang="de" data-languages="en de">' in german
    plain = client.get("/").get_data(as_text=True)
    assert '<html lang="en" data-languages="en de">' in plain
    assert plain.count("<html") == 1
