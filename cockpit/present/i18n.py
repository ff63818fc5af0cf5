"""User-facing text in the viewer's language, from gettext message catalogues.

Messages are written in English in the code (``_("Is the air good today?")``) and
translated in ``cockpit/present/locales/<lang>/LC_MESSAGES/<domain>.po``, one domain per view
(``kiosk``, ``mobile``, ``cockpit``…). Catalogues are read once with Babel; English needs
no catalogue. Numbers and times are formatted for the language with Babel too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

from cockpit.domains import translation

__all__ = [
    "LOCALES",
    "Gettext",
    "available_languages",
    "format_number",
    "format_time",
    "locale_of",
    "translator",
    "untranslated",
    "use_city_texts",
]

# A message in the code's English to the viewer's language (what ``translator`` gives).
Gettext = Callable[[str], str]

# The city's own words in its other languages (its config's [translations]); one city per
# process, set when its runtime opens.
_CITY_TEXTS: dict[str, dict[str, str]] = {}

LOCALES = Path(__file__).resolve().parent / "locales"
_TAG = re.compile(r"[A-Za-z]{2,3}(?:[_-][A-Za-z0-9]{2,8})?")


def available_languages() -> list[str]:
    """Languages with at least one catalogue, plus English (the code's own language)."""
    found = {p.name for p in LOCALES.iterdir() if p.is_dir()} if LOCALES.is_dir() else set()
    return sorted(found | {"en"})


@lru_cache(maxsize=64)
def _catalogue(language: str, domain: str) -> dict[str, str]:
    path = LOCALES / language / "LC_MESSAGES" / f"{domain}.po"
    if language == "en" or not path.is_file():
        return {}
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language, domain=domain)
    return {
        str(m.id): str(m.string)
        for m in catalog
        if m.id and isinstance(m.id, str) and m.string and not m.fuzzy
    }


def translator(language: str, domain: str) -> Callable[[str], str]:
    """A ``gettext``-like function for ``language`` and ``domain``. The city's own words
    come from its config's translations first; a message an existing catalogue lacks is
    looked up in the registered city domains' own labels, and stays in English when none
    has it, so a missing translation never hides information. Anything that is not a
    language tag (from a crafted request) reads as English."""
    language = language if _is_tag(language) else "en"
    table = _catalogue(language, domain)
    city = _CITY_TEXTS.get(language, {})

    def gettext(message: str) -> str:
        found = city.get(message) or table.get(message)
        if found is None and table:
            found = translation(language, message)
        return found or message

    return gettext


def use_city_texts(translations: Mapping[str, Mapping[str, str]]) -> None:
    """Make ``translations`` (language → the city's English words → its words in that
    language) the city's own words for every ``translator``."""
    _CITY_TEXTS.clear()
    _CITY_TEXTS.update({lang: dict(table) for lang, table in translations.items()})


def untranslated(texts: Iterable[str], language: str, domain: str = "cockpit") -> list[str]:
    """Those of ``texts`` a viewer in ``language`` would read in English: neither the
    city's translations (where a name may stay as it is), nor a catalogue, nor a
    domain's labels give them (none for English)."""
    if language == "en":
        return []
    _ = translator(language, domain)
    kept = _CITY_TEXTS.get(language, {})
    return [text for text in texts if text not in kept and _(text) == text]


def _is_tag(language: object) -> bool:
    """True for a plausible language tag ("en", "de", "pt_BR"), never a path."""
    return isinstance(language, str) and bool(_TAG.fullmatch(language))


def locale_of(language: str) -> Locale:
    """Babel's locale for ``language``; English for anything it does not know."""
    return _locale(language)


def _locale(language: str) -> Locale:
    if not _is_tag(language):
        return Locale.parse("en")
    try:
        return Locale.parse(language)
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def format_number(value: float, language: str, decimals: int = 0) -> str:
    """``value`` with the language's digit grouping and decimal sign (1,240.5 / 1.240,5)."""
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(value, format=pattern, locale=_locale(language))


def format_time(when: datetime | None, language: str, timezone: str, pattern: str = "HH:mm") -> str:
    """A time on the city's wall clock, in the language's words ("Tue 10:30" / "Di. 10:30")."""
    if when is None:
        return "–"
    return format_datetime(when, pattern, tzinfo=ZoneInfo(timezone), locale=_locale(language))
