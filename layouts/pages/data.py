"""``/data/<kpi>``: the data behind one KPI card, one click from the figure.

The sites and values the KPI was computed from, each with its observation time and
origin; every source with publisher, licence, retrieval and observation times; links to
the exports and to the methodology. Counts of people below the minimum group size read
"< k". An unknown KPI gets a short page with a way back, never an error page.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from dash import dcc, html

from cockpit.city import City, CityView, format_value
from cockpit.domains import domain_of_kpi, kpi_names
from cockpit.model import METRICS
from cockpit.present.export import kpi_table
from cockpit.present.timefmt import local_time
from layouts.components.shell import about_nav
from layouts.routes.access import viewer_role
from layouts.routes.downloads import export_links

__all__ = ["MAX_ROWS", "layout"]

# Rows shown on the page; the CSV export holds them all.
MAX_ROWS = 300


def _sources_table(city: City, view: CityView, sources: list[str]) -> html.Table:
    tz = city.config.city.timezone
    rows = []
    for source in sources:
        info = view.sources[source]
        licence: Any = (
            html.A(info.licence, href=info.licence_url) if info.licence_url else info.licence
        )
        rows.append(
            html.Tr(
                [
                    html.Td(info.name),
                    html.Td(info.publisher),
                    html.Td(licence),
                    html.Td(info.origin),
                    html.Td(local_time(info.last_success, tz, "%a %d %b %H:%M:%S")),
                    html.Td(local_time(info.updated, tz, "%a %d %b %H:%M")),
                    html.Td(info.status, className=f"cc-status cc-status-{info.status}"),
                ],
                id=f"data-source-{source}",
            )
        )
    head = ["Source", "Publisher", "Licence", "Origin", "Retrieved", "Observed", "Status"]
    return html.Table(
        [html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody(rows)],
        className="cc-sources",
        id="data-sources",
    )


def _value(row: dict[str, Any], min_group_size: int) -> str:
    if row["suppressed"]:
        return f"{row['value_text']} {row['unit']}"
    return format_value(row["metric"], float(row["value"]), min_group_size)


def layout(city: City, kpi: str | None = None, **_: Any) -> html.Div:
    """The data page of KPI ``kpi`` for the viewer's role."""
    view = city.view(viewer_role())
    config = city.config
    item = next((k for k in view.kpis if k.key == kpi), None)
    if item is None or kpi not in kpi_names():
        return html.Div(
            [
                html.Header(
                    [html.H1("No such figure"), about_nav("data_page", dcc.Link)],
                    className="cc-header",
                ),
                html.P("This cockpit has no figure by that name."),
            ],
            className="cc-page cc-data-page",
        )
    tz = config.city.timezone
    table = kpi_table(view, config, item.key)
    rows = table.to_dict("records")
    body = [
        html.Tr(
            [
                html.Td(r["site_name"]),
                html.Td(METRICS[r["metric"]].label),
                html.Td(_value(r, view.min_group_size), className="cc-data-value"),
                html.Td(local_time(_stamp(r["time"]), tz, "%a %d %b %H:%M")),
                html.Td(r["origin"]),
                html.Td(view.sources[r["source"]].name),
            ],
            id=f"data-row-{r['site_id']}-{r['metric']}",
        )
        for r in rows[:MAX_ROWS]
    ]
    more = (
        html.P(
            f"Showing {MAX_ROWS:,} of {len(rows):,} values; the CSV export holds them all.",
            className="cc-updated",
        )
        if len(rows) > MAX_ROWS
        else None
    )
    domain = domain_of_kpi(item.key).name
    layers = [
        lid for lid, lay in config.layers.items() if lay.domain == domain and lid in view.layers
    ]
    links = [
        html.A(f"{config.layers[lid].title}: {label}", href=url, className="cc-export-link")
        for lid in layers
        for label, url in export_links(lid).items()
    ]
    return html.Div(
        className="cc-page cc-data-page",
        children=[
            html.Header(
                [html.H1(f"Data behind {item.title}"), about_nav("data_page", dcc.Link)],
                className="cc-header",
            ),
            html.Main(
                [
                    html.Section(
                        [
                            html.Div(
                                [
                                    html.Span(item.display, className="cc-kpi-value"),
                                    " ",
                                    html.Span(
                                        item.unit if item.unit != "EAQI band" else "",
                                        className="cc-unit",
                                    ),
                                    " · ",
                                    html.Span(item.level_label),
                                ],
                                id="data-figure",
                            ),
                            html.P(item.detail),
                            html.P(
                                "Newest observation "
                                f"{local_time(item.updated, tz, '%a %d %b %H:%M')}"
                                f" ({tz}).",
                                className="cc-updated",
                            ),
                            dcc.Link(
                                "How this figure is computed",
                                href=f"/methodology#method-{item.key}",
                                id="data-methodology-link",
                            ),
                        ],
                        className="cc-sources-panel",
                    ),
                    html.Section(
                        [
                            html.H2("Sources", className="cc-panel-title"),
                            _sources_table(
                                city, view, [s for s in item.sources if s in view.sources]
                            ),
                        ],
                        className="cc-sources-panel",
                    ),
                    html.Section(
                        [
                            html.H2("Export", className="cc-panel-title"),
                            html.Div([x for link in links for x in (link, " ")], id="data-exports"),
                        ],
                        className="cc-sources-panel",
                    ),
                    html.Section(
                        [
                            html.H2(
                                f"Sites and values ({len(rows):,})", className="cc-panel-title"
                            ),
                            html.Table(
                                [
                                    html.Thead(
                                        html.Tr(
                                            [
                                                html.Th(h)
                                                for h in (
                                                    "Site",
                                                    "Metric",
                                                    "Value",
                                                    "Observed",
                                                    "Origin",
                                                    "Source",
                                                )
                                            ]
                                        )
                                    ),
                                    html.Tbody(body),
                                ],
                                className="cc-sources",
                                id="data-values",
                            ),
                            more,
                        ],
                        className="cc-sources-panel",
                    ),
                ]
            ),
        ],
    )


def _stamp(text: str | None) -> Any:
    return None if text is None else pd.Timestamp(text)
