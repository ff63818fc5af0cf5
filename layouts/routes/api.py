"""The read-only JSON API under ``/api/v1/`` (Flask routes on the app's server).

Same role rules as the screens: the session's role (public when not signed in) decides
which sources, sites and values an answer holds. Counts of people below the minimum
group size read "< k" with a null value. Answers allow any origin (CORS ``*``) so that
others can reuse the city's open data; a wrong query parameter is a 400 with a JSON
error naming it. ``/api/v1/openapi.json`` describes every route (``cockpit.present.openapi``).
"""

from __future__ import annotations

from typing import Any, Final

import flask
import pandas as pd
from dash import Dash
from werkzeug.exceptions import MethodNotAllowed

from cockpit.city import City, CityView
from cockpit.domains import kpi_spec
from cockpit.model import DOMAINS, METRICS
from cockpit.present.dcat import catalogue_entries, dcat_catalog
from cockpit.present.export import (
    QueryError,
    iso,
    observation_table,
    provenance,
    sites_table,
    time_range,
)
from cockpit.present.openapi import openapi_document
from cockpit.privacy import kpi_suppressed, masked_label
from cockpit.storage import Journal
from layouts.routes.access import viewer_role
from layouts.routes.downloads import error_response

__all__ = ["PREFIX", "register"]

PREFIX: Final = "/api/v1"
MAX_SITE_DAYS: Final = 31.0


def _filtered(city: City, view: CityView, args: Any) -> pd.DataFrame:
    """The view's sites, narrowed by ``domain`` and ``source``; raises ``QueryError``."""
    sites = view.sites
    domain = args.get("domain")
    if domain is not None:
        if domain not in DOMAINS:
            raise QueryError("domain", f"expected one of {', '.join(DOMAINS)}")
        sites = sites[sites["domain"] == domain]
    source = args.get("source")
    if source is not None:
        if source not in view.sources:
            raise QueryError("source", f"expected one of {', '.join(view.sources)}")
        sites = sites[sites["source"] == source]
    return sites


def _observations(table: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {
            "site_id": r["site_id"],
            "site_name": r["site_name"],
            "metric": r["metric"],
            "unit": r["unit"],
            "time": r["time"],
            "value": None if pd.isna(r["value"]) else float(r["value"]),
            "display": r["value_text"],
            "suppressed": bool(r["suppressed"]),
            "origin": r["origin"],
            "source": r["source"],
            "licence": r["licence"],
            "fetched": r["fetched"],
        }
        for r in table.to_dict("records")
    ]


def _credits(city: City, view: CityView, sources: list[str]) -> dict[str, Any]:
    infos = [view.sources[s] for s in sources if s in view.sources]
    return {
        "attribution": "; ".join(i.credit() for i in infos),
        "license": "; ".join(
            f"{i.name}: {i.licence}" + (f" <{i.licence_url}>" if i.licence_url else "")
            for i in infos
        ),
        "sources": [provenance(i, city.config) for i in infos],
    }


def kpis_json(city: City, view: CityView) -> list[dict[str, Any]]:
    """The view's KPIs with their sources' provenance and links to the data behind them."""
    out = []
    for item in view.kpis:
        value, display = item.value, item.display
        if kpi_suppressed(kpi_spec(item.key).metrics, value, view.min_group_size):
            value, display = None, masked_label(view.min_group_size)  # footfall of a few
        out.append(
            {
                "key": item.key,
                "title": item.title,
                "value": value,
                "unit": item.unit,
                "display": display,
                "level": item.level,
                "level_label": item.level_label,
                "detail": item.detail,
                "updated": iso(item.updated),
                "sources": [
                    provenance(view.sources[s], city.config)
                    for s in item.sources
                    if s in view.sources
                ],
                "data_url": f"/data/{item.key}",
                "methodology_url": f"/methodology#method-{item.key}",
            }
        )
    return out


def register(app: Dash, city: City, journal: Journal) -> None:
    """Add the ``/api/v1`` routes, their CORS headers and JSON errors to the server."""
    server: flask.Flask = app.server
    config = city.config
    endpoints: set[str] = set()

    def route(rule: str) -> Any:
        def wrap(view_function: Any) -> Any:
            endpoints.add(view_function.__name__)
            return server.route(PREFIX + rule)(view_function)

        return wrap

    def bad(exc: QueryError) -> flask.Response:
        return error_response(400, "bad request", exc.reason, exc.parameter)

    @server.before_request
    def api_not_found() -> flask.Response | None:
        # Paths under /api/ that name no route get a JSON 404, not the Dash page.
        path = flask.request.path
        under_api = path.startswith(PREFIX + "/") or path == PREFIX
        wrong_method = isinstance(flask.request.routing_exception, MethodNotAllowed)
        if under_api and not wrong_method and flask.request.endpoint not in endpoints:
            return error_response(404, "not found", "no such API route")
        return None

    @server.after_request
    def api_cors(response: flask.Response) -> flask.Response:
        path = flask.request.path
        if path.startswith(PREFIX) or path.startswith("/export/"):
            response.headers["Access-Control-Allow-Origin"] = "*"
            response.headers["Access-Control-Allow-Methods"] = "GET, OPTIONS"
            # Answers depend on the signed-in role: caches must keep them apart.
            response.headers["Vary"] = "Cookie"
        return response

    @route("/openapi.json")
    def api_openapi() -> flask.Response:
        public = [s for s, cfg in config.sources.items() if cfg.access == "public"]
        return flask.jsonify(openapi_document(config.city.name, public, PREFIX))

    @route("/catalog.jsonld")
    def api_catalog() -> flask.Response:
        view = city.view(viewer_role())
        body = dcat_catalog(city, view, flask.request.url_root)
        response = flask.make_response(flask.json.dumps(body))
        response.headers["Content-Type"] = "application/ld+json"
        return response

    @route("/sources")
    def api_sources() -> flask.Response:
        view = city.view(viewer_role())
        return flask.jsonify({"city": config.city.name, "sources": catalogue_entries(city, view)})

    @route("/sites")
    def api_sites() -> flask.Response:
        view = city.view(viewer_role())
        try:
            sites = _filtered(city, view, flask.request.args)
        except QueryError as exc:
            return bad(exc)
        ids = set(sites["id"])
        rows = [s for s in sites_table(view) if s["id"] in ids]
        credits = _credits(city, view, sorted(set(sites["source"])))
        return flask.jsonify(
            {
                "city": config.city.name,
                "generated": iso(city.clock()),
                "attribution": credits["attribution"],
                "sources": credits["sources"],
                "sites": rows,
            }
        )

    @route("/sites.geojson")
    def api_sites_geojson() -> flask.Response:
        view = city.view(viewer_role())
        try:
            sites = _filtered(city, view, flask.request.args)
        except QueryError as exc:
            return bad(exc)
        ids = set(sites["id"])
        features = [
            {
                "type": "Feature",
                "id": s["id"],
                "geometry": {"type": "Point", "coordinates": [s["lon"], s["lat"]]},
                "properties": s,
            }
            for s in sites_table(view)
            if s["id"] in ids
        ]
        body = {
            "type": "FeatureCollection",
            **_credits(city, view, sorted(set(sites["source"]))),
            "features": features,
        }
        response = flask.make_response(flask.json.dumps(body))
        response.headers["Content-Type"] = "application/geo+json"
        return response

    @route("/observations/latest")
    def api_latest() -> flask.Response:
        view = city.view(viewer_role())
        args = flask.request.args
        try:
            sites = _filtered(city, view, args)
            metric = args.get("metric")
            if metric is not None and metric not in METRICS:
                raise QueryError("metric", f"expected one of {', '.join(METRICS)}")
        except QueryError as exc:
            return bad(exc)
        obs = view.latest[view.latest["site_id"].isin(sites["id"])]
        if metric is not None:
            obs = obs[obs["metric"] == metric]
        table = observation_table(view, obs)
        return flask.jsonify(
            {
                "city": config.city.name,
                "generated": iso(city.clock()),
                **_credits(city, view, sorted(set(sites["source"]))),
                "observations": _observations(table),
            }
        )

    @route("/sites/<path:site_id>/observations")
    def api_site_observations(site_id: str) -> flask.Response:
        role = viewer_role()
        view = city.view(role)
        row = [s for s in sites_table(view) if s["id"] == site_id]
        if not row:
            return error_response(404, "not found", "no such site for this viewer")
        args = flask.request.args
        try:
            window = time_range(
                args.get("from"),
                args.get("to"),
                city.clock(),
                config.city.timezone,
                24,
                MAX_SITE_DAYS,
            )
        except QueryError as exc:
            return bad(exc)
        obs = city.observations(view.role, [site_id], window.start, window.end)
        table = observation_table(view, obs)
        return flask.jsonify(
            {
                "site": row[0],
                "from": iso(window.start),
                "to": iso(window.end),
                **_credits(city, view, [row[0]["source"]]),
                "observations": _observations(table),
            }
        )

    @route("/kpis")
    def api_kpis() -> flask.Response:
        view = city.view(viewer_role())
        return flask.jsonify(
            {
                "city": config.city.name,
                "generated": iso(city.clock()),
                "kpis": kpis_json(city, view),
            }
        )
