"""A KPI card: the figure, its level in words, what it means, when and where from, and
one click to the data behind it (``/data/<kpi>``)."""

from __future__ import annotations

from dash import dcc, html

from cockpit.city import SourceInfo
from cockpit.present.timefmt import local_time
from cockpit.twin.kpi import Kpi
from layouts.components.html_attrs import html_attrs

__all__ = ["kpi_card", "kpi_strip"]

_SYMBOL = {"ok": "●", "warn": "▲", "alert": "■", "none": "–"}


def kpi_card(item: Kpi, sources: list[SourceInfo], timezone: str) -> html.Div:
    """One card; ``sources`` are the sources the KPI was computed from."""
    stale = [s for s in sources if s.stale]
    updated = local_time(item.updated, timezone, "%a %H:%M")
    footer = [html.Span(f"Updated {updated}", className="cc-updated")]
    if stale:
        since = local_time(max((s.updated for s in stale if s.updated), default=None), timezone)
        footer.append(html.Span(f"Stale · last data {since}", className="cc-stale-badge"))
    credits = [html.Div(s.credit(), className="cc-credit") for s in sources]
    return html.Div(
        className=f"cc-kpi cc-{item.level}" + (" cc-is-stale" if stale else ""),
        id=f"kpi-{item.key}",
        children=[
            html.Div(item.title, className="cc-kpi-title"),
            html.Div(
                [
                    html.Span(item.display, className="cc-kpi-value"),
                    html.Span(
                        item.figure_label or (item.unit if item.unit != "EAQI band" else ""),
                        className="cc-unit",
                    ),
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
                "Data behind this",
                href=f"/data/{item.key}",
                className="cc-data-link",
                id=f"kpi-{item.key}-data",
                title=f"Sites, values, sources and licences behind {item.title}",
            ),
        ],
    )


def kpi_strip(kpis: list[Kpi], sources: dict[str, SourceInfo], timezone: str) -> list[html.Div]:
    """All KPI cards, in the order the city computes them."""
    return [kpi_card(k, [sources[s] for s in k.sources if s in sources], timezone) for k in kpis]
