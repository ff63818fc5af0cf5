"""The daily brief as HTML (the e-mail's body and the ``.html`` download), as plain text
(the e-mail's alternative) and as an A4 PDF.

The PDF is the same HTML laid out by WeasyPrint (HTML and CSS to PDF, no browser): the
sparklines and the map are inline SVG (``cockpit.present.brief_figures``), which it draws
as vectors. Text is escaped by Jinja2's autoescaping; only the SVG made here is marked
safe.
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime
from pathlib import Path
from typing import Final

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from cockpit.city import City
from cockpit.config import CityConfig
from cockpit.notify import BriefMail
from cockpit.present.brief import DOMAIN, Brief, build_brief
from cockpit.present.brief_figures import LEVEL_COLOURS, basemap_rings, site_map_svg, sparkline_svg
from cockpit.present.i18n import translator
from cockpit.storage import Journal

__all__ = [
    "brief_email_html",
    "brief_filename",
    "brief_html",
    "brief_mail",
    "brief_pdf",
    "brief_text",
]

# The role the mailed brief is made for: the mayor's desk sees every site.
MAIL_ROLE: Final = "executive"


_TEMPLATES: Final = Path(__file__).resolve().parent / "templates"
_ENV: Final = Environment(
    loader=FileSystemLoader(_TEMPLATES), autoescape=select_autoescape(default=True)
)


def _pictures(brief: Brief, config: CityConfig) -> tuple[list[tuple[str, str]], tuple[str, str]]:
    """The sparklines and the map as SVG, each with the words that say what it shows."""
    _ = translator(brief.language, DOMAIN)
    sparks = []
    for k in brief.kpis:
        words = _("{kpi} since yesterday 00:00").format(kpi=k.title)
        sparks.append((sparkline_svg(k.spark, label=words), words))
    rings = basemap_rings(config.resolve(config.map.basemap)) if config.map.basemap else []
    sites = [(s.lon, s.lat, s.level) for s in brief.sites]
    words = _("Map of the sites coloured by state")
    return sparks, (site_map_svg(sites, rings, brief.bbox, label=words), words)


def _render(brief: Brief, sparks: list[Markup], picture: Markup) -> str:
    _ = translator(brief.language, DOMAIN)
    css = Markup((_TEMPLATES / "brief.css").read_text(encoding="utf-8"))
    return _ENV.get_template("brief.html").render(
        b=brief, _=_, css=css, sparks=sparks, map=picture, colours=LEVEL_COLOURS
    )


def brief_html(brief: Brief, config: CityConfig) -> str:
    """The brief as one self-contained HTML document (styles and pictures inline, as
    SVG): the download, and what WeasyPrint lays out."""
    sparks, (picture, _words) = _pictures(brief, config)
    return _render(brief, [Markup(svg) for svg, _ in sparks], Markup(picture))


def brief_email_html(brief: Brief, config: CityConfig) -> tuple[str, tuple[tuple[str, bytes], ...]]:
    """The brief as an e-mail's HTML: the same document with each picture as a PNG
    (CairoSVG) referred to by ``cid:``, since most mail readers show no inline SVG.
    Returns the HTML and the pictures as (content id, PNG bytes)."""
    import cairosvg  # imported on first use: it loads Cairo

    sparks, (picture, words) = _pictures(brief, config)
    images: list[tuple[str, bytes]] = []
    tags: list[Markup] = []
    for n, (svg, label) in enumerate([*sparks, (picture, words)]):
        cid = f"brief-{brief.day.isoformat()}-{n}@city-cockpit"
        images.append((cid, cairosvg.svg2png(bytestring=svg.encode(), scale=2)))
        size = re.search(r'width="(\d+)" height="(\d+)"', svg)
        width, height = size.groups() if size else ("", "")
        tags.append(
            Markup('<img src="cid:{}" alt="{}" width="{}" height="{}">').format(
                cid, label, width, height
            )
        )
    return _render(brief, tags[:-1], tags[-1]), tuple(images)


def brief_text(brief: Brief) -> str:
    """The brief as plain text, for mail readers that show no HTML."""
    _ = translator(brief.language, DOMAIN)
    lines = [f"{brief.title} — {brief.city}", brief.as_of, "", _("Needs attention")]
    lines += [f"- {line}" for line in brief.attention] or ["-"]
    lines += ["", _("Key figures against typical and target")]
    for k in brief.kpis:
        extra = "; ".join(x for x in (k.typical, k.target) if x)
        lines.append(f"- {k.title}: {k.figure} ({k.level_label}){'; ' + extra if extra else ''}")
    lines += ["", _("Yesterday"), *(f"- {e}" for e in brief.events)]
    lines += ["", f"{_('Alerts raised yesterday')} ({len(brief.raised)})"]
    lines += [f"- {a.line}" for a in brief.raised]
    lines += ["", f"{_('Alerts resolved yesterday')} ({len(brief.resolved)})"]
    lines += [f"- {a.line}" for a in brief.resolved]
    lines += ["", _("Decisions and their effect")]
    lines += [f"- {d.what}, {d.place} ({d.when}): {'; '.join(d.effects)}" for d in brief.decisions]
    lines += ["", f"{_('Sources and licences')}:", *(f"- {s}" for s in brief.sources)]
    return "\n".join(lines) + "\n"


def brief_filename(brief: Brief, extension: str) -> str:
    """``brief-2026-11-12-de.pdf``: the day and the language in the file's name."""
    return f"brief-{brief.day.isoformat()}-{brief.language}.{extension}"


def brief_pdf(html: str) -> bytes:
    """The brief's HTML laid out on A4 pages as PDF bytes (WeasyPrint)."""
    from weasyprint import HTML  # imported on first use: it loads Pango and fonts

    # WeasyPrint reports CSS it skips through logging; the brief's CSS is its own.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    pdf: bytes = HTML(string=html).write_pdf()
    return pdf


def brief_mail(city: City, journal: Journal, day: date, language: str, now: datetime) -> BriefMail:
    """The brief of ``day`` in ``language`` as the recipients' e-mail: subject, HTML,
    plain text and the PDF. Raises DayOutsideHistory for a day the history lacks."""
    found = build_brief(city, journal, day, MAIL_ROLE, language, now)
    html, images = brief_email_html(found, city.config)
    return BriefMail(
        subject=f"{found.title} · {found.city}",
        html=html,
        text=brief_text(found),
        pdf=brief_pdf(brief_html(found, city.config)),
        filename=brief_filename(found, "pdf"),
        images=images,
    )
