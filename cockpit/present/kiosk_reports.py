"""Citizens' reports on a public kiosk: which published reports a kiosk shows, and in
which words.

A kiosk stands in public space, so it shows only what the city already publishes about
a report (its category, the citizen's text as written, the place rounded again to
``[reports] position_m``, the day it was sent, the city's answer): never a report staff
have not published, never a photo, a code, a time of day or anything else about who sent
it. Category and status are in the kiosk's language (the ``reports`` catalogue); the
citizen's text and the city's answer stay as they were written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton

from cockpit.config import CityConfig
from cockpit.present.i18n import locale_of, translator
from cockpit.present.report_words import category_words, status_name
from cockpit.reports import Report, round_position

__all__ = ["MAP_REPORTS", "SLIDE_REPORTS", "KioskReport", "kiosk_reports"]

# Reports listed on the kiosk's reports slide: each must be readable from 3 m.
SLIDE_REPORTS: Final = 3
# Reports marked on the kiosk's overview map.
MAP_REPORTS: Final = 100


@dataclass(frozen=True)
class KioskReport:
    """One published report as a kiosk shows it, every word ready in its language."""

    category: str  # the category's key, e.g. "air_smell" (for the style)
    title: str  # what the category is called, in the kiosk's language
    status: str  # the status's short name ("Published"), in the kiosk's language
    text: str  # the citizen's words, as written
    text_language: str  # the language the citizen wrote in
    place: str  # the public sensor the report is about, by name ("" when none)
    when: str  # the day it was sent, in the kiosk's language
    answer: str  # "Answer: …" when the city answered, else ""
    lat: float | None = None  # the place rounded to ``[reports] position_m``
    lon: float | None = None


def kiosk_reports(
    config: CityConfig,
    reports: Iterable[Report],
    site_names: Mapping[str, str],
    language: str,
    now: datetime,
    limit: int = SLIDE_REPORTS,
) -> tuple[KioskReport, ...]:
    """The published ones of ``reports`` a kiosk shows in ``language`` at ``now``: made
    within the last ``[reports] keep_days`` (not after ``now``), newest first, at most
    ``limit`` of them; none when the city takes no reports. ``site_names`` names the
    *public* sites: a report about any other site names no place. Raises nothing."""
    rules = config.reports
    if not rules.enabled or limit <= 0:
        return ()
    kept_since = now - timedelta(days=rules.keep_days)
    chosen = sorted(
        (r for r in reports if r.public and kept_since <= r.created <= now),
        key=lambda r: (r.created, r.id),
        reverse=True,
    )[:limit]
    _t = translator(language, "reports")
    zone = ZoneInfo(config.city.timezone)
    locale = locale_of(language)
    out = []
    for r in chosen:
        lat, lon = None, None
        if r.lat is not None and r.lon is not None:
            lat, lon = round_position(r.lat, r.lon, rules.position_m)
        out.append(
            KioskReport(
                category=r.category,
                title=category_words(r.category, _t),
                status=status_name(r.status, _t),
                text=r.text,
                text_language=r.language,
                place=site_names.get(r.site_id, "") if r.site_id else "",
                # The day as the language writes it ("23 November", "23. November").
                when=format_skeleton("MMMMd", r.created.astimezone(zone), locale=locale),
                answer=_t("Answer: {answer}").format(answer=r.answer) if r.answer else "",
                lat=lat,
                lon=lon,
            )
        )
    return tuple(out)
