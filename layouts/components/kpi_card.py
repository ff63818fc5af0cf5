"""A KPI card: the figure, its level in words, what it means, when and where from, and
one click to the data behind it (``/data/<kpi>``, in the card's language)."""

from __future__ import annotations

from datetime import datetime

from dash import dcc, html

from cockpit.city import SourceInfo
from cockpit.present.demo import credit_text
from cockpit.present.i18n import Gettext, format_time, translator
from cockpit.present.kpi_words import figure_words, kpi_in
from cockpit.twin.kpi import Kpi
from layouts.components.html_attrs import html_attrs

__all__ = ["kpi_card", "kpi_strip"]


_SYMBOL = {"ok": "●", "warn": "▲", "alert": "■", "none": "–"}


def _when(at: datetime | None, language: str, timezone: str, pattern: str, _: Gettext) -> str:
    """``at`` on the city's wall clock; "never" for a KPI or source without data yet."""
    return _("never") if at is None else format_time(at, language, timezone, pattern)


def kpi_card(item: Kpi, sources: list[SourceInfo], timezone: str, language: str = "en") -> html.Div:
    """One card in ``language``; ``sources`` are the sources the KPI was computed from."""
    _ = translator(language, "cockpit")
    item = kpi_in(item, language, timezone)
    stale = [s for s in sources if s.stale]
    updated = _when(item.updated, language, timezone, "EEE HH:mm", _)
    footer = [html.Span(_("Updated {time}").format(time=updated), className="cc-updated")]
    if stale:
        newest = max((s.updated for s in stale if s.updated), default=None)
        since = _when(newest, language, timezone, "HH:mm", _)
        footer.append(
            html.Span(_("Stale · last data {time}").format(time=since), className="cc-stale-badge")
        )
    credits = [html.Div(credit_text(s, language), className="cc-credit") for s in sources]
    return html.Div(
        className=f"cc-kpi cc-{item.level}" + (" cc-is-stale" if stale else ""),
        id=f"kpi-{item.key}",
        children=[
            html.Div(item.title, className="cc-kpi-title"),
            html.Div(
                [
                    html.Span(item.display, className="cc-kpi-value"),
                    html.Span(figure_words(item), className="cc-unit"),
                ],
                className="cc-kpi-figure",
            ),
            html.Div(
                [
                    html.Span(
                        _SYMBOL[item.level],
                        className="cc-symbol",
                        **html_attrs({"aria-hidden": "true"}),
                    ),
                    html.Span(item.level_label),
                ],
                className="cc-kpi-level",
            ),
            html.Div(item.detail, className="cc-kpi-detail"),
            html.Div(footer, className="cc-kpi-footer"),
            html.Div(credits, className="cc-kpi-credits"),
            dcc.Link(
                _("Data behind this"),
                href=f"/data/{item.key}?lang={language}",
                className="cc-data-link",
                id=f"kpi-{item.key}-data",
                title=_("Sites, values, sources and licences behind {title}").format(
                    title=item.title
                ),
            ),
        ],
    )


def kpi_strip(
    kpis: list[Kpi], sources: dict[str, SourceInfo], timezone: str, language: str = "en"
) -> list[html.Div]:
    """All KPI cards in ``language``, in the order the city computes them."""
    return [
        kpi_card(k, [sources[s] for s in k.sources if s in sources], timezone, language)
        for k in kpis
    ]
