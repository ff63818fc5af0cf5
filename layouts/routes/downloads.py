"""Export what is on screen: CSV and GeoJSON of a layer or a site, with their licence.

Routes (plain Flask, role-checked like every data route):

- ``/export/<layer>.csv?from=&to=&site=`` the layer's latest values, or its history
  between ``from`` and ``to`` (ISO 8601; without an offset, the city's local time);
- ``/export/<layer>.csv-metadata.json`` the CSV's W3C CSVW sidecar (licence, publisher,
  provenance, columns), linked from the CSV with ``Link: rel="describedby"``;
- ``/export/<layer>.geojson?site=`` the layer's sites with their latest values;
- ``/export/site/<site_id>.csv?hours=24`` one site's last hours.

Every CSV row carries source, publisher, licence, origin and retrieval time; GeoJSON has
top-level ``attribution``, ``license`` and ``sources`` members. Charts export to PNG
from Plotly's own modebar: ``download_options`` puts the site and the licence into the
file name, ``with_attribution`` onto the picture.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import flask
import pandas as pd
import plotly.graph_objects as go
from dash import Dash

from cockpit.city import City, CityView, SourceInfo
from cockpit.present.export import (
    QueryError,
    csv_text,
    csvw_metadata,
    geojson,
    layer_latest,
    observation_table,
    parse_hours,
    time_range,
)
from cockpit.storage import Journal
from layouts.routes.access import viewer_role

__all__ = [
    "attribution_text",
    "download_options",
    "export_links",
    "register",
    "with_attribution",
]

# Longest windows an export may ask for: a layer's history is large, one site's is not.
MAX_LAYER_DAYS = 7.0
MAX_SITE_HOURS = 24.0 * 31


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def attribution_text(sources: list[SourceInfo]) -> str:
    """One line crediting each source: name, publisher, licence, origin."""
    return "Source: " + "; ".join(s.credit() for s in sources) if sources else ""


def with_attribution(figure: go.Figure, sources: list[SourceInfo]) -> go.Figure:
    """``figure`` with its sources' credit and licence written under the plot, so a PNG
    downloaded from the chart keeps them."""
    text = attribution_text(sources)
    if text:
        figure.add_annotation(
            text=text,
            xref="paper",
            yref="paper",
            x=0,
            y=-0.32,
            xanchor="left",
            yanchor="top",
            showarrow=False,
            font={"size": 10, "color": "#555"},
            name="cc-attribution",
        )
        figure.update_layout(margin={"b": 90})
    return figure


def download_options(site_name: str, sources: list[SourceInfo]) -> dict[str, Any]:
    """The ``dcc.Graph`` config keys by which "download as PNG" names the site and the
    licence (for ``layouts.components.chart_config.chart_config``)."""
    licences = "-".join(sorted({_slug(s.licence) for s in sources})) or "licence-unknown"
    return {
        "toImageButtonOptions": {
            "format": "png",
            "filename": f"{_slug(site_name) or 'site'}-{licences}",
            "scale": 2,
        },
    }


def export_links(layer_id: str, site_id: str | None = None) -> dict[str, str]:
    """Relative URLs of a layer's (or one site's) exports, for links on pages."""
    links = {
        "CSV": f"/export/{layer_id}.csv",
        "GeoJSON": f"/export/{layer_id}.geojson",
        "CSV metadata": f"/export/{layer_id}.csv-metadata.json",
    }
    if site_id:
        links["Site CSV (24 h)"] = f"/export/site/{site_id}.csv?hours=24"
    return links


def error_response(status: int, error: str, detail: str, parameter: str = "") -> flask.Response:
    """A JSON error: ``{"error", "detail"[, "parameter"]}``."""
    body = {"error": error, "detail": detail}
    if parameter:
        body["parameter"] = parameter
    return flask.make_response(flask.jsonify(body), status)


def _sources(view: CityView, table: pd.DataFrame, fallback: list[str]) -> list[SourceInfo]:
    ids = sorted(set(table["source"])) if not table.empty else fallback
    return [view.sources[s] for s in ids if s in view.sources]


def _layer_or_404(city: City, view: CityView, layer_id: str) -> flask.Response | None:
    if layer_id not in city.config.layers or layer_id not in view.layers:
        return error_response(404, "not found", f"no layer {layer_id!r} for this viewer")
    return None


def _filename(city: City, *parts: str) -> str:
    return "-".join(_slug(p) for p in [city.config.city.name, *parts] if p)


def register(app: Dash, city: City, journal: Journal) -> None:
    """Add the export routes to the app's server."""
    server: flask.Flask = app.server
    config = city.config

    def layer_table(layer_id: str) -> tuple[CityView, pd.DataFrame]:
        view = city.view(viewer_role())
        args = flask.request.args
        site = args.get("site")
        layer = config.layers[layer_id]
        ids = list(view.sites.loc[view.sites["source"].isin(layer.sources), "id"])
        if site and site not in ids:
            raise QueryError("site", f"no site {site!r} in this layer for this viewer")
        if "from" in args or "to" in args:
            window = time_range(
                args.get("from"),
                args.get("to"),
                city.clock(),
                config.city.timezone,
                config.ui.trend_hours,
                MAX_LAYER_DAYS,
            )
            obs = city.observations(view.role, [site] if site else ids, window.start, window.end)
        else:
            obs = layer_latest(view, config, layer_id)
            if site:
                obs = obs[obs["site_id"] == site]
        return view, observation_table(view, obs)

    def csv_response(text: str, filename: str, metadata_url: str | None) -> flask.Response:
        response = flask.make_response(text)
        response.headers["Content-Type"] = "text/csv; charset=utf-8"
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
        if metadata_url:
            response.headers["Link"] = (
                f'<{metadata_url}>; rel="describedby"; type="application/csvw+json"'
            )
        return response

    def layer_download(
        layer_id: str, answer: Callable[[CityView, pd.DataFrame, str], flask.Response]
    ) -> flask.Response:
        """``answer`` for the layer's observation table for this viewer and the download's
        file name (without extension), or the 404 or 400 answer."""
        view = city.view(viewer_role())
        missing = _layer_or_404(city, view, layer_id)
        if missing is not None:
            return missing
        try:
            view, table = layer_table(layer_id)
        except QueryError as exc:
            return error_response(400, "bad request", exc.reason, exc.parameter)
        return answer(view, table, _filename(city, layer_id, f"{city.clock():%Y%m%dT%H%M}"))

    @server.route("/export/<layer_id>.csv")
    def export_layer_csv(layer_id: str) -> flask.Response:
        def answer(_: CityView, table: pd.DataFrame, name: str) -> flask.Response:
            metadata = f"/export/{layer_id}.csv-metadata.json"
            return csv_response(csv_text(table), name, metadata)

        return layer_download(layer_id, answer)

    @server.route("/export/<layer_id>.csv-metadata.json")
    def export_layer_metadata(layer_id: str) -> flask.Response:
        view = city.view(viewer_role())
        missing = _layer_or_404(city, view, layer_id)
        if missing is not None:
            return missing
        layer = config.layers[layer_id]
        infos = [view.sources[s] for s in layer.sources if s in view.sources]
        body = csvw_metadata(
            f"/export/{layer_id}.csv", f"{config.city.name}: {layer.title}", infos, config
        )
        response = flask.make_response(flask.jsonify(body))
        response.headers["Content-Type"] = "application/csvm+json"
        return response

    @server.route("/export/<layer_id>.geojson")
    def export_layer_geojson(layer_id: str) -> flask.Response:
        def answer(view: CityView, table: pd.DataFrame, name: str) -> flask.Response:
            layer = config.layers[layer_id]
            body = geojson(
                table,
                _sources(view, table, layer.sources),
                config,
                f"{config.city.name}: {layer.title}",
            )
            response = flask.make_response(flask.jsonify(body))
            response.headers["Content-Type"] = "application/geo+json"
            response.headers["Content-Disposition"] = f'attachment; filename="{name}.geojson"'
            return response

        return layer_download(layer_id, answer)

    @server.route("/export/site/<path:site_id>.csv")
    def export_site_csv(site_id: str) -> flask.Response:
        role = viewer_role()
        view = city.view(role)
        if site_id not in set(view.sites["id"]):
            return error_response(404, "not found", f"no site {site_id!r} for this viewer")
        try:
            hours = parse_hours(
                flask.request.args.get("hours"), config.ui.trend_hours, MAX_SITE_HOURS
            )
        except QueryError as exc:
            return error_response(400, "bad request", exc.reason, exc.parameter)
        table = observation_table(view, city.series(role, site_id, hours))
        return csv_response(csv_text(table), _filename(city, site_id, f"{hours:g}h"), None)
