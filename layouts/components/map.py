"""The live map: an offline basemap of the city, optional tiles, one clustered layer per
domain with markers coloured (and shaped) by state, a legend and attributions."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from functools import lru_cache
from html import escape
from pathlib import Path
from typing import Any

import dash_leaflet as dl
from dash import dcc, html

from cockpit.config import CityConfig
from cockpit.domains import get as get_domain
from cockpit.present.i18n import Gettext, locale_of
from cockpit.twin.airindex import BANDS
from layouts.components.clientside import js_function
from layouts.components.html_attrs import html_attrs

__all__ = [
    "BASEMAP_ROUTE",
    "CLUSTERS_PREFIX",
    "LAYER_ID",
    "MAP_ID",
    "REPORTS_LAYER_ID",
    "SOURCE_ID",
    "attribution",
    "basemap_file",
    "city_map",
    "credits_of",
    "is_cluster_url",
    "legend",
    "map_words",
    "map_words_store",
]

MAP_ID = "cc-map"
# The citizens' reports layer: its own overlay, loaded from its route once per page.
REPORTS_LAYER_ID = "cc-reports-layer"
LAYER_ID = "cc-layer"
# Stores holding each layer's data URL (see layouts/mapdata.py and assets/mapdata.js),
# set by the cockpit's frame with ``set_props``, never as a callback output.
SOURCE_ID = "cc-layer-src"

# The basemap travels as its own file, which the browser keeps, not inside the page.
BASEMAP_ROUTE = "/map-basemap.json"


def _english(message: str) -> str:
    return message


# A large layer's URL names its views, clustered on the server (layouts/routes/mapclusters.py),
# instead of a file of all its sites.
CLUSTERS_PREFIX = "/map-clusters/"


def is_cluster_url(url: str) -> bool:
    """Whether ``url`` names a layer clustered on the server (its views, not a file)."""
    return url.startswith(CLUSTERS_PREFIX)


@lru_cache(maxsize=8)
def basemap_file(path: str) -> tuple[bytes, str]:
    """The basemap GeoJSON at ``path`` and a digest of it, which its URL carries."""
    body = Path(path).read_bytes()
    return body, hashlib.sha256(body).hexdigest()[:16]


def _basemap_url(config: CityConfig) -> str:
    _, digest = basemap_file(str(config.resolve(config.map.basemap)))
    return f"{BASEMAP_ROUTE}?h={digest}"


def city_map(
    config: CityConfig,
    data_credits: list[str],
    map_id: str,
    urls: dict[str, str],
    first: dict[str, dict[str, Any]] | None = None,
    _: Gettext = _english,
    reports_url: str | None = None,
) -> dl.Map:
    """The map of the layers in ``urls`` (layer id -> URL of its compact data,
    ``layouts.routes.mapdata``): the browser loads each after the page, from a URL it may cache.
    A layer whose URL names server clusters (:func:`is_cluster_url`) is not clustered in
    the browser: it loads the clusters of the view shown each time the view changes, and
    is drawn from the start with its first view, if ``first`` (layer id -> GeoJSON,
    ``layouts.routes.mapclusters.first_views``) holds it.
    Tiles come from the config; the bundled basemap keeps the city visible when no tile
    can be loaded. Layer names and the credits' line are worded by ``_`` (the viewer's
    translator; default English). With ``reports_url`` (``layouts.routes.reports``),
    citizens' reports are one more overlay, their markers and popups drawn from text.
    """
    children: list[Any] = []
    if config.map.tile_url:
        # Its credit is listed with the others (``credits_of``), behind one line.
        children.append(dl.TileLayer(url=config.map.tile_url, attribution=""))
    if config.map.basemap:
        children.append(
            dl.GeoJSON(
                url=_basemap_url(config),
                style=js_function("areaStyle"),
                onEachFeature=js_function("areaLabel"),
                hideout={"label": config.map.basemap_label},
                interactive=False,
                id=f"{map_id}-basemap",
            )
        )
    overlays = [
        dl.Overlay(
            dl.GeoJSON(
                id={"type": LAYER_ID, "layer": layer_id},
                data=(first or {}).get(layer_id, {"type": "FeatureCollection", "features": []}),
                cluster=not is_cluster_url(urls[layer_id]),
                zoomToBoundsOnClick=True,
                # Clusters are indexed from a few zoom levels above the city's own zoom,
                # not from the whole world, down to street level (zoom 15; single sites
                # from 16): each level indexes every site of a 50,000-site city again.
                # An 80 px radius (Leaflet.markercluster's) keeps the city view readable.
                superClusterOptions={
                    "radius": 80,
                    "maxZoom": 15,
                    "minZoom": max(0, config.map.zoom - 4),
                },
                pointToLayer=js_function("pointToLayer"),
                clusterToLayer=js_function("clusterToLayer"),
                onEachFeature=js_function("onEachFeature"),
            ),
            name=_(layer.title),
            checked=True,
        )
        for layer_id, layer in config.layers.items()
        if layer_id in urls
    ]
    if reports_url:
        overlays.append(
            dl.Overlay(
                dl.GeoJSON(
                    id=REPORTS_LAYER_ID,
                    url=reports_url,
                    pointToLayer=js_function("reportToLayer"),
                    onEachFeature=js_function("reportPopup"),
                ),
                name=_("Citizen reports"),
                checked=True,
            )
        )
    # The control keeps the names of the layers shown (its ``overlays``); without an id
    # and a first list it could not, and unticking a layer failed in the browser.
    children.append(
        dl.LayersControl(
            overlays,
            id=f"{map_id}-layers",
            overlays=[overlay.name for overlay in overlays],
            # Layers load in any order; the list shows them by name, the same every time.
            sortLayers=True,
            collapsed=False,
            position="topright",
        )
    )
    children.extend(
        dcc.Store(id={"type": SOURCE_ID, "layer": layer_id}, data=url)
        for layer_id, url in urls.items()
    )
    children.append(
        dl.AttributionControl(
            prefix=attribution(credits_of(config, data_credits), _("© Sources and credits")),
            position="bottomright",
        )
    )
    # A metric scale bar; the place search, the fit to the data, the hull under the
    # districts and the markers kept apart are added in the browser (assets/mapview.js).
    children.append(dl.ScaleControl(position="bottomleft", imperial=False))
    return dl.Map(
        id=map_id,
        center=list(config.map.center),
        zoom=config.map.zoom,
        children=children,
        attributionControl=False,
        className="cc-map",
    )


def credits_of(config: CityConfig, data_credits: list[str]) -> list[str]:
    """What the attribution credits: Leaflet, the tiles (when the city has a tile
    server), the basemap and every data source shown."""
    tiles = config.map.tile_attribution if config.map.tile_url else ""
    return [c for c in ("Leaflet", tiles, config.map.basemap_attribution, *data_credits) if c]


def attribution(credits: list[str], summary: str = "© Sources and credits") -> str:
    """The attribution as one short line that opens to the full credits: a ``<details>``
    element (keyboard and screen-reader friendly, no script), whose closed line takes
    little of the map and no clicks meant for it. Leaflet reads it as HTML, so every
    credit is escaped."""
    listed = "".join(f"<li>{escape(c)}</li>" for c in credits)
    return (
        f'<details class="cc-credits"><summary>{escape(summary)}</summary>'
        f"<ul>{listed}</ul></details>"
    )


# The English words of the map files' wall-clock times ("Tue 24 Nov 10:30").
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def map_words(
    config: CityConfig,
    layer_ids: list[str],
    origins: Iterable[tuple[str, str]],
    language: str,
    _: Gettext = _english,
) -> dict[str, str]:
    """The popups' words in ``language``, by their English words in the map files
    (which are the same for every language): the layers' metric names and states, the
    sources' ``origins`` as (English, worded) pairs, weekday and month abbreviations,
    units, "Observed", and the number signs as "{decimal}" and "{group}". English: empty
    (the files' own words are shown)."""
    if language == "en":
        return {}
    found: dict[str, str] = {"Observed": _("Observed"), "sites": _("sites")}
    for layer_id in layer_ids:
        layer = config.layers[layer_id]
        domain = get_domain(layer.domain)
        found.update({m.label: _(m.label) for m in domain.metrics})
        found.update({m.unit: _(m.unit) for m in domain.metrics})
        states = BANDS if layer.metric == "eaqi" else tuple(layer.labels)
        found.update({s: _(s) for s in (*states, "stale", "no data")})
    found.update(dict(origins))
    names = locale_of(language)
    # Numbers in the files are written the English way ("2,480.5"): their signs, here.
    symbols = names.number_symbols.get("latn", {})
    found.update({"{decimal}": symbols.get("decimal", "."), "{group}": symbols.get("group", ",")})
    found.update({day: names.days["format"]["abbreviated"][i] for i, day in enumerate(_WEEKDAYS)})
    found.update(
        {month: names.months["format"]["abbreviated"][i + 1] for i, month in enumerate(_MONTHS)}
    )
    return {english: said for english, said in found.items() if said and said != english}


def map_words_store(map_id: str, words: dict[str, str]) -> html.Div:
    """The popups' words for the browser (``assets/map.js`` reads ``<map_id>-words``),
    kept out of sight and out of the page's text."""
    return html.Div(json.dumps(words, ensure_ascii=False), id=f"{map_id}-words", hidden=True)


_LEVEL_WORDS = {"ok": "●", "warn": "▲", "alert": "■", "stale": "?"}


def legend(config: CityConfig, layer_ids: list[str], _: Gettext = _english) -> html.Div:
    """What each colour and symbol means, per layer, in words (``_``: the viewer's
    translator; default English)."""
    rows = []
    for layer_id in layer_ids:
        layer = config.layers[layer_id]
        if layer.metric == "eaqi":
            states = [
                ("ok", _("good / fair")),
                ("warn", _("moderate")),
                ("alert", _("poor or worse")),
            ]
        else:
            n = len(layer.labels)
            levels = ["ok"] if n == 1 else ["ok", *(["warn"] * (n - 2)), "alert"]
            states = list(zip(levels, map(_, layer.labels), strict=True))
        items = [
            html.Span(
                [html.Span(_LEVEL_WORDS[lvl], className=f"cc-swatch cc-{lvl}"), label],
                className="cc-legend-item",
            )
            for lvl, label in states
        ]
        rows.append(html.Div([html.Strong(_(layer.title)), *items], className="cc-legend-row"))
    rows.append(
        html.Div(
            [html.Span("?", className="cc-swatch cc-stale"), _("stale data")],
            className="cc-legend-row",
        )
    )
    return html.Div(rows, className="cc-legend", **html_attrs({"aria-label": _("Map legend")}))
