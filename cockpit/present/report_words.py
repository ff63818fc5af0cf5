"""Citizens' reports in people's words: what each category and status is called, and the
published reports as the public reads them (the citizen page's list, the public layer),
in every language of the city (the ``reports`` catalogue)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Final
from zoneinfo import ZoneInfo

from babel.dates import format_date

from cockpit.present.i18n import locale_of, translator
from cockpit.reports import Report

__all__ = ["category_words", "public_items", "status_name", "status_words"]


def _(message: str) -> str:
    """Marks a message for the catalogue; it is translated where it is shown."""
    return message


_CATEGORY_WORDS: Final = {
    "sensor_wrong": _("A sensor or counter looks wrong"),
    "parking_wrong": _("Parking shown wrongly (e.g. full but shown free)"),
    "air_smell": _("Bad air or a smell here"),
    "other": _("Something else"),
}
# A status's short name, in the staff's list.
_STATUS_NAMES: Final = {
    "received": _("Received"),
    "published": _("Published"),
    "merged": _("Merged"),
    "closed": _("Closed"),
}
_STATUS_WORDS: Final = {
    "received": _("Received, not reviewed yet"),
    "published": _("Published on the city's map"),
    "merged": _("Merged with report {code}"),
    "closed": _("Closed"),
}


def category_words(category: str, _t: Callable[[str], str]) -> str:
    """What ``category`` is called for people, in ``_t``'s language."""
    return _t(_CATEGORY_WORDS.get(category, _CATEGORY_WORDS["other"]))


def status_name(status: str, _t: Callable[[str], str]) -> str:
    """A status's short name ("Published"), in ``_t``'s language."""
    return _t(_STATUS_NAMES.get(status, status))


def status_words(report: Report, _t: Callable[[str], str]) -> str:
    """The report's status for people, in ``_t``'s language."""
    return _t(_STATUS_WORDS[report.status]).format(code=report.merged_into)


def public_items(
    reports: Iterable[Report], language: str, timezone: str, site_names: dict[str, str]
) -> list[dict[str, Any]]:
    """The published ones of ``reports`` as the public reads them in ``language``: the
    category's words, the text, the city's answer, the day it was sent, the sensor's
    name (from ``site_names``) and the rounded place; never the code, the photo or the
    time of day."""
    _t = translator(language, "reports")
    return [
        {
            "category": r.category,
            "title": category_words(r.category, _t),
            "text": r.text,
            "answer": _t("Answer: {answer}").format(answer=r.answer) if r.answer else "",
            "date": format_date(
                r.created.astimezone(ZoneInfo(timezone)).date(), "long", locale_of(language)
            ),
            "site": site_names.get(r.site_id, ""),
            "lat": r.lat,
            "lon": r.lon,
        }
        for r in reports
        if r.public
    ]
