"""A KPI in the viewer's language: its title, level word, figure words and detail line.

The twin computes each ``Kpi`` once per data version and role, in English and with its
detail line free of language (``Kpi.phrase``); the words are put into a language here, at
render. Domain words (titles, units, level names) are the registered domains' own labels
(``cockpit.domains``), reached through the ``cockpit`` catalogue's translator.
"""

from __future__ import annotations

from dataclasses import replace

from babel.numbers import format_percent

from cockpit.present.i18n import Gettext, format_number, format_time, locale_of, translator
from cockpit.twin.kpi import Kpi, Percent, Phrase, Term, When

__all__ = ["figure_words", "kpi_in", "phrase_in"]


def kpi_in(item: Kpi, language: str, timezone: str) -> Kpi:
    """``item`` worded in ``language`` (English: ``item`` itself, unchanged), with its
    numbers written the language's way and ``phrase`` spent (None)."""
    if language == "en":
        return item
    _ = translator(language, "cockpit")
    detail = phrase_in(item.phrase, language, timezone, _) if item.phrase else _(item.detail)
    return replace(
        item,
        title=_(item.title),
        display=_display(item, language, _),
        level_label=_(item.level_label),
        figure_label=_(item.figure_label) if item.figure_label else "",
        unit=_(item.unit),
        detail=detail,
        phrase=None,
    )


def figure_words(item: Kpi) -> str:
    """What a card shows beside the number: the figure's words, else its unit (an index
    band says itself in the figure)."""
    return item.figure_label or (item.unit if item.unit != "EAQI band" else "")


def phrase_in(phrase: Phrase, language: str, timezone: str, _: Gettext) -> str:
    """``phrase`` in ``language``: its message translated, its values written for it."""
    values = {name: _value(v, language, timezone, _) for name, v in phrase.values}
    return _(phrase.message).format(**values)


def _value(value: object, language: str, timezone: str, _: Gettext) -> str:
    if isinstance(value, Percent):
        return format_percent(value.share, locale=locale_of(language))
    if isinstance(value, Term):
        return _(value.text)
    if isinstance(value, When):
        return format_time(value.at, language, timezone, value.pattern)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return format_number(value, language)
    return str(value)


def _display(item: Kpi, language: str, _: Gettext) -> str:
    if item.value is None:
        return item.display
    if item.display_is_word:
        return _(item.level_label).capitalize()
    decimals = len(item.display.rpartition(".")[2]) if "." in item.display else 0
    return format_number(item.value, language, decimals)
