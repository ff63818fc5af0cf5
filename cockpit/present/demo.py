"""Saying plainly when figures are not measured live: the demo badge, a source's origin
in the viewer's language, and how many of a domain's places are simulated.

A figure is *measured* when read live from a platform, *replayed* when it is a real
recording shifted to now, and *simulated* when a seeded simulator made it
(``cockpit.model.ORIGINS``). Every public screen that shows a replayed or simulated
figure carries one badge saying so, in the viewer's language, and the credits and the
"how this data is collected" pages say which places are simulated.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from babel import Locale, UnknownLocaleError

from cockpit.city import CityView, SourceInfo
from cockpit.config import CityConfig
from cockpit.present.i18n import format_number, translator

__all__ = [
    "SiteOrigins",
    "credit_text",
    "demo_badge",
    "is_demo",
    "origin_text",
    "site_origins",
]

# The catalogue whose words these are: every public view reads them from there.
CATALOGUE = "kiosk"


def _(message: str) -> str:
    """Marks a message for the catalogue; it is translated where it is shown."""
    return message


_BADGE = _("Demo: replayed and simulated data")
_ORIGINS = (
    # (pattern of ``cockpit.city``'s English origin, its words as a message)
    (re.compile(r"^simulated \(from (?P<recorded>.+)\)$"), _("simulated (from {recorded})")),
    (re.compile(r"^simulated$"), _("simulated")),
    (
        re.compile(r"^(?:(?P<recorded>.+), )?replayed; (?P<n>\d+) sites simulated$"),
        _("{recorded}, replayed; {n} places simulated"),
    ),
    (re.compile(r"^(?:(?P<recorded>.+), )?replayed$"), _("{recorded}, replayed")),
    (re.compile(r"^measured$"), _("measured")),
)
_NOT_LIVE = ("replayed", "simulated")


def is_demo(sources: Iterable[SourceInfo], sites_origins: Iterable[str] = ()) -> bool:
    """True when any of ``sources`` (or any site origin in ``sites_origins``) is replayed
    or simulated rather than measured live."""
    if any(o in _NOT_LIVE for o in sites_origins):
        return True
    return any(word in s.origin for s in sources for word in _NOT_LIVE)


def demo_badge(view: CityView, language: str, sources: Iterable[str] | None = None) -> str:
    """The badge "Demo: replayed and simulated data" in ``language`` when any figure of
    ``view`` (or of its ``sources``, by id) is replayed or simulated; empty otherwise."""
    ids = set(view.sources) if sources is None else set(sources)
    infos = [info for sid, info in view.sources.items() if sid in ids]
    # The sources' own words say it almost always; the sites are read only otherwise.
    if not is_demo(infos):
        origins = view.sites.loc[view.sites["source"].isin(list(ids)), "origin"].astype(str)
        if not is_demo([], origins.unique()):
            return ""
    return translator(language, CATALOGUE)(_BADGE)


_MONTH_YEAR = re.compile(r"^(?P<month>[A-Z][a-z]+) (?P<year>\d{4})$")
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def _recorded(text: str, language: str) -> str:
    """When a recording was made ("May 2025") in ``language``: a month and year in the
    language's words, other phrases from the catalogue when it has them."""
    found = _MONTH_YEAR.match(text)
    if found and found["month"] in _MONTHS:
        try:
            names = Locale.parse(language).months["format"]["wide"]
        except (UnknownLocaleError, ValueError, TypeError):
            return text
        return f"{names[_MONTHS.index(found['month']) + 1]} {found['year']}"
    return translator(language, CATALOGUE)(text)


def origin_text(origin: str, language: str) -> str:
    """A source's origin ("2024, replayed; 10 sites simulated") in ``language``; an
    origin of another shape stays as it is."""
    _t = translator(language, CATALOGUE)
    for pattern, message in _ORIGINS:
        found = pattern.match(origin)
        if found is None:
            continue
        parts = found.groupdict()
        recorded = _recorded(parts.get("recorded") or "", language)
        text = _t(message)
        if not recorded:
            text = text.replace("{recorded}, ", "")
        n = parts.get("n")
        return text.format(
            recorded=recorded, n=format_number(int(n), language) if n is not None else ""
        )
    return origin


def credit_text(info: SourceInfo, language: str) -> str:
    """One line naming the source, its publisher, licence and origin in ``language``."""
    name = translator(language, "cockpit")(info.name)
    return " · ".join([name, info.publisher, info.licence, origin_text(info.origin, language)])


@dataclass(frozen=True)
class SiteOrigins:
    """How many of a domain's public places there are, and how many are simulated."""

    total: int
    simulated: int


def site_origins(config: CityConfig, view: CityView, domain: str) -> SiteOrigins:
    """The places of ``domain`` in ``view`` (which must be the public view for a public
    page) and how many of them are simulated."""
    sites = view.sites[view.sites["source"].isin(config.sources_for(domain))]
    return SiteOrigins(len(sites), int((sites["origin"].astype(str) == "simulated").sum()))
