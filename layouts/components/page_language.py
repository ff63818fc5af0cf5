"""The document's language: ``<html lang>`` on every Dash page, in the viewer's language.

A page's language is its address's ``?lang=`` when the city offers that language, else
the city's first language. Dash writes the ``<html>`` tag of its index page itself, with
no ``lang``; ``install`` adds it on the server (so the first paint, screen readers and
axe see it at once) and lists the offered languages on the tag (the default first), from
which ``assets/a11y.js`` keeps ``lang`` in step when the page changes address without a
reload.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import flask
from dash import Dash

from cockpit.present.i18n import available_languages

__all__ = ["install", "page_language"]


def page_language(args: Mapping[str, str], languages: Sequence[str]) -> str:
    """The language of a page whose query is ``args``, for a city offering ``languages``
    (the first is its default; "en" when none). Raises nothing: an unknown or crafted
    ``lang`` reads as the default."""
    offered = _offered(languages)
    asked = args.get("lang", "")
    return asked if asked in offered else offered[0]


def _offered(languages: Sequence[str]) -> list[str]:
    return [lang for lang in languages if lang in available_languages()] or ["en"]


def _with_lang(index: str, language: str, offered: Sequence[str]) -> str:
    tag = f'<html lang="{language}" data-languages="{" ".join(offered)}">'
    return index.replace("<html>", tag, 1)


def install(app: Dash, languages: Sequence[str]) -> None:
    """Serve ``app``'s index page with ``<html lang="…">`` for the requested language."""
    render = app.interpolate_index
    offered = _offered(languages)

    def interpolate_index(**kwargs: Any) -> str:
        index = render(**kwargs)
        args = flask.request.args if flask.has_request_context() else {}
        return _with_lang(index, page_language(args, languages), offered)

    app.interpolate_index = interpolate_index  # type: ignore[method-assign,assignment]
