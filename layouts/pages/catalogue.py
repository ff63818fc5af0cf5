"""``/catalogue``: the city's open-data catalogue, one row per source the viewer may see.

Publisher, licence, protocol, endpoint (secrets removed), refresh interval, last
success, sites per domain and health; internal sources appear for signed-in staff only.
Each row links to its exports; the page links to the DCAT-AP catalogue and the API.
"""

from __future__ import annotations

from typing import Any

from dash import html

from cockpit.city import City
from cockpit.present.dcat import REPORTS_PATH, catalogue_entries
from cockpit.present.timefmt import local_time
from layouts.components.about_page import about_page
from layouts.routes.access import viewer_role
from layouts.routes.downloads import export_links

__all__ = ["layout"]


_HEAD = [
    "Source",
    "Publisher",
    "Licence",
    "Protocol",
    "Endpoint",
    "Refresh",
    "Last success",
    "Sites",
    "Health",
    "Exports",
]


def _row(entry: dict[str, Any], timezone: str) -> html.Tr:
    licence: Any = entry["licence"]
    if entry["licence_url"]:
        licence = html.A(entry["licence"], href=entry["licence_url"])
    sites = ", ".join(f"{n:,} {domain}" for domain, n in entry["sites"].items()) or "none"
    last = entry["last_success"]
    links = [
        html.A(label, href=url, className="cc-export-link")
        for layer in entry["layers"]
        for label, url in export_links(layer).items()
        if label != "CSV metadata"
    ]
    name = [entry["name"]]
    if entry["access"] == "internal":
        name.append(html.Span(" (internal)", className="cc-internal"))
    return html.Tr(
        [
            html.Td(name),
            html.Td(entry["publisher"]),
            html.Td(licence, id=f"licence-{entry['id']}"),
            html.Td(entry["connector"]),
            html.Td(html.Code(entry["endpoint"] or "–")),
            html.Td(f"every {entry['refresh_seconds']:g} s"),
            html.Td(local_time(last, timezone, "%a %d %b %H:%M") if last else "never"),
            html.Td(sites),
            html.Td(entry["status"], className=f"cc-status cc-status-{entry['status']}"),
            html.Td([x for link in links for x in (link, " ")]),
        ],
        id=f"source-{entry['id']}",
    )


def layout(city: City, **_: Any) -> html.Div:
    """The catalogue page for the viewer's role."""
    view = city.view(viewer_role())
    config = city.config
    entries = catalogue_entries(city, view)
    table = html.Table(
        [
            html.Thead(html.Tr([html.Th(h) for h in _HEAD])),
            html.Tbody([_row(e, config.city.timezone) for e in entries]),
        ],
        className="cc-sources cc-catalogue",
        id="cc-catalogue",
    )
    sections = [
        html.Section(
            [
                html.H2("Sources", className="cc-panel-title"),
                table,
                html.P(
                    "Times are retrieval times in the city's time zone; each "
                    "export carries its source, licence and times.",
                    className="cc-updated",
                ),
            ],
            className="cc-sources-panel",
        ),
        html.Section(
            [
                html.H2("For developers", className="cc-panel-title"),
                html.Ul(
                    [
                        html.Li(
                            html.A(
                                "DCAT-AP 3 catalogue (JSON-LD)",
                                href="/api/v1/catalog.jsonld",
                            )
                        ),
                        html.Li(
                            html.A(
                                "API description (OpenAPI 3)",
                                href="/api/v1/openapi.json",
                            )
                        ),
                        html.Li(html.A("Sources as JSON", href="/api/v1/sources")),
                    ]
                ),
            ],
            className="cc-sources-panel",
        ),
    ]
    if config.reports.enabled:
        rules = config.reports
        sections.append(
            html.Section(
                [
                    html.H2("Citizen reports", className="cc-panel-title"),
                    html.P(
                        "What citizens reported from the citizen page and the city published,"
                        " with the city's answer: category, text, status, day and a place"
                        f" rounded to about {rules.position_m:g} m. No photo, report code,"
                        " name or device is ever part of it. Under "
                        f"{rules.licence}; reports are deleted after {rules.keep_days:g} days."
                    ),
                    html.Ul(
                        [
                            html.Li(html.A("Published reports (CSV)", href=f"{REPORTS_PATH}.csv")),
                            html.Li(
                                html.A(
                                    "Published reports (GeoJSON)", href=f"{REPORTS_PATH}.geojson"
                                )
                            ),
                        ]
                    ),
                ],
                className="cc-sources-panel",
                id="cc-catalogue-reports",
            )
        )
    return about_page(
        "catalogue", f"Open data catalogue · {config.city.name}", "cc-catalogue-page", sections
    )
