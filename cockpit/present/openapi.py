"""The OpenAPI 3 description of City Cockpit's read-only API (``/api/v1/openapi.json``).

Kept beside the routes in ``layouts.routes.api`` and checked against them by the API tests
(schemathesis): every documented answer, status code and field is what the routes send.
"""

from __future__ import annotations

from typing import Any, Final

from cockpit.model import DOMAINS, METRICS

__all__ = ["openapi_document"]

_NULLABLE_STRING: Final = {"type": "string", "nullable": True}
_NULLABLE_TIME: Final = {"type": "string", "format": "date-time", "nullable": True}
_TIME: Final = {"type": "string", "format": "date-time"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: dict[str, Any], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "type": "object",
        "required": [k for k in properties if k not in optional],
        "properties": properties,
    }


# Who a source is and under which licence it publishes, in its provenance and its listing.
_SOURCE: Final[dict[str, Any]] = {
    "id": {"type": "string"},
    "name": {"type": "string"},
    "publisher": {"type": "string"},
    "licence": {"type": "string"},
    "licence_url": _NULLABLE_STRING,
}

# What every download of observations carries: whom to credit, under which licence, from where.
_ATTRIBUTED: Final[dict[str, Any]] = {
    "attribution": {"type": "string"},
    "license": {"type": "string"},
    "sources": {"type": "array", "items": _ref("Provenance")},
}

_SCHEMAS: Final[dict[str, Any]] = {
    "Error": _object(
        {
            "error": {"type": "string"},
            "detail": {"type": "string"},
            "parameter": {"type": "string"},
        },
        optional=("parameter",),
    ),
    "Provenance": _object(
        {
            **_SOURCE,
            "url": _NULLABLE_STRING,
            "origin": {"type": "string", "description": "measured, replayed or simulated"},
            "status": {"type": "string", "enum": ["ok", "stale", "down"]},
            "fetched": {**_NULLABLE_TIME, "description": "when City Cockpit retrieved it"},
            "observed": {**_NULLABLE_TIME, "description": "newest observation time"},
            "attribution": {"type": "string"},
        }
    ),
    "Site": _object(
        {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "domain": {"type": "string", "enum": list(DOMAINS)},
            "kind": {"type": "string"},
            "lat": {"type": "number"},
            "lon": {"type": "number"},
            "source": {"type": "string"},
            "origin": {"type": "string"},
            "district": {"type": "string"},
        }
    ),
    "Sites": _object(
        {
            "city": {"type": "string"},
            "generated": _TIME,
            "attribution": {"type": "string"},
            "sources": {"type": "array", "items": _ref("Provenance")},
            "sites": {"type": "array", "items": _ref("Site")},
        }
    ),
    "SiteFeature": _object(
        {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"type": "string"},
            "geometry": _object(
                {
                    "type": {"type": "string", "enum": ["Point"]},
                    "coordinates": {
                        "type": "array",
                        "items": {"type": "number"},
                        "minItems": 2,
                        "maxItems": 2,
                    },
                }
            ),
            "properties": _ref("Site"),
        }
    ),
    "SiteCollection": _object(
        {
            "type": {"type": "string", "enum": ["FeatureCollection"]},
            **_ATTRIBUTED,
            "features": {"type": "array", "items": _ref("SiteFeature")},
        }
    ),
    "Observation": _object(
        {
            "site_id": {"type": "string"},
            "site_name": {"type": "string"},
            "metric": {"type": "string", "enum": list(METRICS)},
            "unit": {"type": "string"},
            "time": _TIME,
            "value": {
                "type": "number",
                "nullable": True,
                "description": "null when a count of people is below the minimum group size",
            },
            "display": {"type": "string", "description": 'the value as shown, e.g. "< 5"'},
            "suppressed": {"type": "boolean"},
            "origin": {"type": "string"},
            "source": {"type": "string"},
            "licence": {"type": "string"},
            "fetched": _NULLABLE_TIME,
        }
    ),
    "Observations": _object(
        {
            "city": {"type": "string"},
            "generated": _TIME,
            **_ATTRIBUTED,
            "observations": {"type": "array", "items": _ref("Observation")},
        }
    ),
    "SiteObservations": _object(
        {
            "site": _ref("Site"),
            "from": _TIME,
            "to": _TIME,
            **_ATTRIBUTED,
            "observations": {"type": "array", "items": _ref("Observation")},
        }
    ),
    "Kpi": _object(
        {
            "key": {"type": "string"},
            "title": {"type": "string"},
            "value": {"type": "number", "nullable": True},
            "unit": {"type": "string"},
            "display": {"type": "string"},
            "level": {"type": "string", "enum": ["ok", "warn", "alert", "none"]},
            "level_label": {"type": "string"},
            "detail": {"type": "string"},
            "updated": _NULLABLE_TIME,
            "sources": {"type": "array", "items": _ref("Provenance")},
            "data_url": {"type": "string"},
            "methodology_url": {"type": "string"},
        }
    ),
    "Kpis": _object(
        {
            "city": {"type": "string"},
            "generated": _TIME,
            "kpis": {"type": "array", "items": _ref("Kpi")},
        }
    ),
    "Source": _object(
        {
            **_SOURCE,
            "connector": {"type": "string"},
            "endpoint": {**_NULLABLE_STRING, "description": "without credentials"},
            "access": {"type": "string", "enum": ["public", "internal"]},
            "refresh_seconds": {"type": "number"},
            "retention_days": {"type": "number"},
            "origin": {"type": "string"},
            "status": {"type": "string", "enum": ["ok", "stale", "down"]},
            "last_success": _NULLABLE_TIME,
            "observed": _NULLABLE_TIME,
            "sites": {"type": "object", "additionalProperties": {"type": "integer"}},
            "layers": {"type": "array", "items": {"type": "string"}},
            "attribution": {"type": "string"},
        }
    ),
    "Sources": _object(
        {
            "city": {"type": "string"},
            "sources": {"type": "array", "items": _ref("Source")},
        }
    ),
}


def _filters(sources: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "name": "domain",
            "in": "query",
            "required": False,
            "description": "only sites of this domain",
            "schema": {"type": "string", "enum": list(DOMAINS)},
        },
        {
            "name": "source",
            "in": "query",
            "required": False,
            "description": "only sites of this source (see /sources; signed-in staff may "
            "also name internal sources)",
            "schema": {"type": "string", "enum": sources},
        },
    ]


def _json(schema: str, description: str, media: str = "application/json") -> dict[str, Any]:
    return {"description": description, "content": {media: {"schema": _ref(schema)}}}


_BAD = _json("Error", "A query parameter is wrong; the answer names it.")
_MISSING = _json("Error", "No such site for this viewer.")


def _get(
    summary: str, ok: dict[str, Any], parameters: list[dict[str, Any]] | None = None, **errors: Any
) -> dict[str, Any]:
    responses = {"200": ok, **{code.removeprefix("s"): body for code, body in errors.items()}}
    operation: dict[str, Any] = {"summary": summary, "responses": responses}
    if parameters:
        operation["parameters"] = parameters
    return {"get": operation}


def openapi_document(city: str, sources: list[str], server_url: str = "/api/v1") -> dict[str, Any]:
    """The OpenAPI 3.0 document of the API as served for ``city`` at ``server_url``;
    ``sources`` are the ids of the city's public sources."""
    filters = _filters(sources)
    free_json = {
        "description": "A JSON document",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": f"City Cockpit API · {city}",
            "version": "1.0.0",
            "description": (
                "Read-only open data of the city's cockpit: sites, latest observations, "
                "KPIs and sources, each with source, licence and times. Anonymous callers "
                "get public sources only; counts of people below the city's minimum group "
                'size read "< k" (value null). CORS is open (Access-Control-Allow-Origin: *).'
            ),
            "license": {"name": "Data: each source's own licence (see /sources)"},
        },
        "servers": [{"url": server_url}],
        "paths": {
            "/sites": _get("Sites", _json("Sites", "Visible sites"), filters, s400=_BAD),
            "/sites.geojson": _get(
                "Sites as GeoJSON",
                _json("SiteCollection", "Visible sites", "application/geo+json"),
                filters,
                s400=_BAD,
            ),
            "/sites/{site_id}/observations": _get(
                "One site's observations between from and to (default: the last day)",
                _json("SiteObservations", "The site's observations, oldest first"),
                [
                    {
                        "name": "site_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "minLength": 1, "example": "pedestrians:1"},
                    },
                    {
                        "name": "from",
                        "in": "query",
                        "required": False,
                        "description": "ISO 8601 start (without offset: the city's time)",
                        "schema": {"type": "string", "format": "date-time"},
                    },
                    {
                        "name": "to",
                        "in": "query",
                        "required": False,
                        "description": "ISO 8601 end (default: now); 'from' must be "
                        "earlier, and the window at most 31 days long, else 400",
                        "schema": {"type": "string", "format": "date-time"},
                    },
                ],
                s400=_BAD,
                s404=_MISSING,
            ),
            "/observations/latest": _get(
                "Each visible site's latest observations",
                _json("Observations", "Latest observations"),
                [
                    *filters,
                    {
                        "name": "metric",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "enum": list(METRICS)},
                    },
                ],
                s400=_BAD,
            ),
            "/kpis": _get("The headline KPIs", _json("Kpis", "KPIs with their sources")),
            "/sources": _get("The catalogue of sources", _json("Sources", "Visible sources")),
            "/catalog.jsonld": _get(
                "The catalogue as DCAT-AP 3 JSON-LD",
                {
                    "description": "A dcat:Catalog",
                    "content": {"application/ld+json": {"schema": {"type": "object"}}},
                },
            ),
            "/openapi.json": _get("This document", free_json),
        },
        "components": {"schemas": _SCHEMAS},
    }
