"""``/data/<kpi>``: the data behind one KPI card, one click from the figure, in the
language of the card it was opened from (``?lang=``).

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
from cockpit.present.i18n import Gettext, format_number, format_time, translator
from cockpit.present.kpi_words import kpi_in
from layouts.components.page_language import page_language
from layouts.components.shell import about_nav
from layouts.routes.access import viewer_role
from layouts.routes.downloads import export_links

__all__ = ["MAX_ROWS", "layout"]

# Rows shown on the page; the CSV export holds them all.
MAX_ROWS = 300


# The times on the page: weekday, day, month and time on the city's wall clock.
_WHEN = "EEE dd MMM HH:mm"


def _sources_table(
    city: City, view: CityView, sources: list[str], language: str, _: Gettext
) -> html.Table:
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
                    html.Td(_(info.origin)),
                    html.Td(_when(info.last_success, language, tz, _WHEN + ":ss", _)),
                    html.Td(_when(info.updated, language, tz, _WHEN, _)),
                    html.Td(_(info.status), className=f"cc-status cc-status-{info.status}"),
                ],
                id=f"data-source-{source}",
            )
        )
    head = ["Source", "Publisher", "Licence", "Origin", "Retrieved", "Observed", "Status"]
    return html.Table(
        [html.Thead(html.Tr([html.Th(_(h)) for h in head])), html.Tbody(rows)],
        className="cc-sources",
        id="data-sources",
    )


def _value(row: dict[str, Any], min_group_size: int, language: str, _: Gettext) -> str:
    """A value as ``format_value`` writes it, in ``language``."""
    metric = METRICS[row["metric"]]
    if row["suppressed"]:
        return f"{row['value_text']} {_(row['unit'])}"
    if language == "en":
        return format_value(row["metric"], float(row["value"]), min_group_size)
    if row["metric"] == "bay_occupied":
        return _("occupied") if float(row["value"]) >= 0.5 else _("free")
    return f"{format_number(float(row['value']), language, metric.decimals)} {_(metric.unit)}"


def _when(at: Any, language: str, timezone: str, pattern: str, _: Gettext) -> str:
    return _("never") if at is None else format_time(at, language, timezone, pattern)


def layout(city: City, kpi: str | None = None, lang: object = None, **__: Any) -> html.Div:
    """The data page of KPI ``kpi`` for the viewer's role, in ``lang`` when the city
    offers it (else its first language)."""
    view = city.view(viewer_role())
    config = city.config
    language = page_language({"lang": lang if isinstance(lang, str) else ""}, config.city.languages)
    _ = translator(language, "cockpit")
    item = next((k for k in view.kpis if k.key == kpi), None)
    if item is None or kpi not in kpi_names():
        return html.Div(
            [
                html.Header(
                    [html.H1(_("No such figure")), about_nav("data_page", dcc.Link, language)],
                    className="cc-header",
                ),
                html.P(_("This cockpit has no figure by that name.")),
            ],
            className="cc-page cc-data-page",
        )
    tz = config.city.timezone
    item = kpi_in(item, language, tz)
    table = kpi_table(view, config, item.key)
    rows = table.to_dict("records")
    body = [
        html.Tr(
            [
                html.Td(r["site_name"]),
                html.Td(_(METRICS[r["metric"]].label)),
                html.Td(_value(r, view.min_group_size, language, _), className="cc-data-value"),
                html.Td(_when(_stamp(r["time"]), language, tz, _WHEN, _)),
                html.Td(_(r["origin"])),
                html.Td(view.sources[r["source"]].name),
            ],
            id=f"data-row-{r['site_id']}-{r['metric']}",
        )
        for r in rows[:MAX_ROWS]
    ]
    more = (
        html.P(
            _("Showing {shown} of {total} values; the CSV export holds them all.").format(
                shown=format_number(MAX_ROWS, language), total=format_number(len(rows), language)
            ),
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
                [
                    html.H1(_("Data behind {title}").format(title=item.title)),
                    about_nav("data_page", dcc.Link, language),
                ],
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
                                _("Newest observation {when} ({timezone}).").format(
                                    when=_when(item.updated, language, tz, _WHEN, _),
                                    timezone=tz,
                                ),
                                className="cc-updated",
                            ),
                            dcc.Link(
                                _("How this figure is computed"),
                                href=f"/methodology#method-{item.key}",
                                id="data-methodology-link",
                            ),
                        ],
                        className="cc-sources-panel",
                    ),
                    html.Section(
                        [
                            html.H2(_("Sources"), className="cc-panel-title"),
                            _sources_table(
                                city,
                                view,
                                [s for s in item.sources if s in view.sources],
                                language,
                                _,
                            ),
                        ],
                        className="cc-sources-panel",
                    ),
                    html.Section(
                        [
                            html.H2(_("Export"), className="cc-panel-title"),
                            html.Div([x for link in links for x in (link, " ")], id="data-exports"),
                        ],
                        className="cc-sources-panel",
                    ),
                    html.Section(
                        [
                            html.H2(
                                _("Sites and values ({count})").format(
                                    count=format_number(len(rows), language)
                                ),
                                className="cc-panel-title",
                            ),
                            html.Table(
                                [
                                    html.Thead(
                                        html.Tr(
                                            [
                                                html.Th(_(h))
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
