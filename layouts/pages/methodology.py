"""``/methodology``: how each KPI is computed, rendered from ``cockpit.present.methodology``.

Nothing on this page is written by hand: formulas come from the KPI functions'
docstrings, limits from their signatures and the city config, bands from the air index
module, so the page changes when the code or the config changes.
"""

from __future__ import annotations

from typing import Any

from dash import html

from cockpit.city import City
from cockpit.present.methodology import (
    KpiDefinition,
    air_bands,
    kpi_definitions,
    layer_definitions,
    people_metrics,
)
from layouts.components.about_page import about_page
from layouts.routes.access import viewer_role

__all__ = ["layout"]


def _table(head: list[str], rows: list[list[Any]], class_name: str = "cc-sources") -> html.Table:
    return html.Table(
        [
            html.Thead(html.Tr([html.Th(h) for h in head])),
            html.Tbody([html.Tr([html.Td(c) for c in row]) for row in rows]),
        ],
        className=class_name,
    )


def _kpi_section(item: KpiDefinition) -> html.Section:
    parts: list[Any] = [
        html.H2(item.title, className="cc-panel-title"),
        html.P(item.summary, className="cc-method-summary"),
        *[html.P(p, className="cc-method-text") for p in item.method],
        html.P(
            f"Unit: {item.unit}. Reads: {', '.join(item.metrics)}. Computed by {item.function}.",
            className="cc-method-meta",
        ),
    ]
    if item.thresholds:
        parts.append(
            _table(
                ["Limit", "Value", "Meaning", "Set by"],
                [
                    [
                        t.name,
                        f"{t.value:g} {t.unit}",
                        f"{t.meaning} {t.value:g}",
                        "city config" if t.configured else "default",
                    ]
                    for t in item.thresholds
                ],
            )
        )
    if item.parameters:
        parts.append(
            html.P(
                "Parameters: " + ", ".join(f"{k} = {v}" for k, v in item.parameters.items()),
                className="cc-method-meta",
            )
        )
    if item.function.endswith(".air_quality"):  # the European Air Quality Index bands
        name, bands, rows = air_bands()
        parts.append(html.H3(name))
        parts.append(_table(["Pollutant (µg/m³)", *bands], [[p, *cells] for p, cells in rows]))
    sources = [f"{s['name']} · {s['publisher']} · {s['licence']}" for s in item.sources]
    parts.append(
        html.Div(["Sources: ", "; ".join(sources) or "none visible"], className="cc-credit")
    )
    parts.append(html.A("Data behind this figure", href=f"/data/{item.key}"))
    return html.Section(parts, id=f"method-{item.key}", className="cc-sources-panel")


def layout(city: City, **_: Any) -> html.Div:
    """The methodology page for the viewer's role."""
    role = viewer_role()
    config = city.config
    sections: list[Any] = [_kpi_section(d) for d in kpi_definitions(config, role)]
    layers = layer_definitions(config, role)
    sections.append(
        html.Section(
            [
                html.H2("Map states", className="cc-panel-title"),
                _table(
                    ["Layer", "Value", "Range", "State"],
                    [
                        [lay.title, f"{lay.metric} ({lay.unit})", span, label]
                        for lay in layers
                        for span, label in lay.states
                    ],
                ),
            ],
            id="method-layers",
            className="cc-sources-panel",
        )
    )
    k = config.privacy.min_group_size
    privacy = (
        f"Counts of people ({', '.join(people_metrics())}) below {k} are shown as "
        f"“< {k}” on screens, in exports and in the API."
        if k
        else "No minimum group size is configured: counts are shown as measured."
    )
    retention = [
        f"{s.name}: kept {s.retention_days or config.storage.history_days:g} days"
        for sid, s in config.sources.items()
        if sid in city.visible_sources(role)
    ]
    sections.append(
        html.Section(
            [
                html.H2("Privacy and retention", className="cc-panel-title"),
                html.P(privacy, id="method-privacy-rule"),
                html.Ul([html.Li(r) for r in retention]),
            ],
            id="method-privacy",
            className="cc-sources-panel",
        )
    )
    return about_page(
        "methodology", f"How the figures are made · {config.city.name}", "cc-methodology", sections
    )
