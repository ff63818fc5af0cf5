"""A panel of sensor health for the desktop cockpit: coverage per domain, flagged sites.

``health_panel`` takes what ``cockpit.twin.sensor_health`` found and returns plain Dash
components (a table and a list; text only), styled by the cockpit's own classes.
"""

from __future__ import annotations

from dash import html
from dash.development.base_component import Component

from cockpit.domains import domain_names
from cockpit.domains import get as get_domain
from cockpit.present.timefmt import local_time
from cockpit.twin.sensor_health import DomainCoverage, SiteHealth
from layouts.components.html_attrs import html_attrs

__all__ = ["health_panel"]

_PROBLEMS = {"flat": "flat line", "impossible": "impossible values", "stale_stream": "stale stream"}


def _title(domain: str) -> str:
    return get_domain(domain).title if domain in domain_names() else domain


def _describe(site: SiteHealth, timezone: str) -> str:
    parts = []
    if site.status != "reporting":
        seen = local_time(site.last_seen, timezone, "%a %H:%M")
        parts.append(f"{site.status} (last reading {seen})")
    parts += [_PROBLEMS.get(p, p) for p in site.problems]
    if site.detail:
        parts.append(site.detail)
    return "; ".join(parts)


def health_panel(
    coverage: list[DomainCoverage],
    health: list[SiteHealth],
    timezone: str,
    limit: int = 12,
    panel_id: str = "cc-health",
) -> html.Section:
    """Sites reporting, late (stale), silent and suspect per domain, then up to
    ``limit`` flagged sites (silent and stale first)."""
    head = html.Tr(
        [
            html.Th(h, scope="col")
            for h in ("Domain", "Sites", "Reporting", "Late", "Silent", "Suspect")
        ]
    )
    rows = [
        html.Tr(
            [
                html.Th(_title(c.domain), scope="row"),
                html.Td(f"{c.sites:,}"),
                html.Td(f"{c.reporting:,} ({c.share_reporting:.0%})"),
                html.Td(f"{c.stale:,}"),
                html.Td(f"{c.silent:,}"),
                html.Td(f"{c.suspect:,}"),
            ]
        )
        for c in coverage
    ]
    order = {"silent": 0, "stale": 1, "reporting": 2}
    flagged = sorted(
        (h for h in health if h.flagged), key=lambda h: (order.get(h.status, 3), h.name)
    )
    items = [
        html.Li([html.Strong(h.name), html.Span(f" — {_describe(h, timezone)}")])
        for h in flagged[:limit]
    ]
    more = len(flagged) - limit
    listing: list[Component] = (
        [html.Ul(items, className="cc-health-sites")]
        if items
        else [html.P("Every site reports as expected.")]
    )
    if more > 0:
        listing.append(html.P(f"and {more:,} more"))
    return html.Section(
        [
            html.H2("Sensor health", className="cc-panel-title", id=f"{panel_id}-title"),
            html.Table([html.Thead(head), html.Tbody(rows)], className="cc-sources"),
            *listing,
        ],
        id=panel_id,
        className="cc-sources-panel",
        **html_attrs({"aria-labelledby": f"{panel_id}-title"}),
    )
