"""The API's OpenAPI document: complete, self-consistent and about the city it serves.

Whether the served API answers as the document says is checked over real HTTP in
tests/layouts/routes/test_api.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import schemathesis

from cockpit.model import DOMAINS, METRICS
from cockpit.present.openapi import openapi_document

DOC = openapi_document("Melbourne (demo)", ["parking", "air"], server_url="/city/api/v1")


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every mapping in the document, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def test_it_is_an_openapi_3_document_for_the_city() -> None:
    assert DOC["openapi"].startswith("3.0")
    assert DOC["info"]["title"] == "City Cockpit API · Melbourne (demo)"
    assert DOC["servers"] == [{"url": "/city/api/v1"}]
    schemathesis.openapi.from_dict(DOC)  # raises on a document it cannot read


def test_every_reference_names_a_schema_that_exists() -> None:
    schemas = DOC["components"]["schemas"]
    refs = [node["$ref"] for node in _walk(DOC) if "$ref" in node]
    assert refs
    for ref in refs:
        assert ref.startswith("#/components/schemas/")
        assert ref.removeprefix("#/components/schemas/") in schemas, ref


def test_every_schema_requires_only_properties_it_has() -> None:
    for name, schema in DOC["components"]["schemas"].items():
        assert set(schema.get("required", [])) <= set(schema.get("properties", {})), name


def test_every_path_is_a_read_with_an_answer_and_its_path_parameters() -> None:
    # Which paths there are, and that each answers, is checked against the served API.
    assert "/sites/{site_id}/observations" in DOC["paths"]
    for path, item in DOC["paths"].items():
        assert list(item) == ["get"], path  # the API is read-only
        operation = item["get"]
        assert "200" in operation["responses"] and operation["summary"]
        in_path = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
        assert in_path == set(re.findall(r"{(\w+)}", path)), path


def test_filters_offer_the_public_sources_domains_and_metrics() -> None:
    params = {p["name"]: p for p in DOC["paths"]["/observations/latest"]["get"]["parameters"]}
    assert params["source"]["schema"]["enum"] == ["parking", "air"]
    assert params["domain"]["schema"]["enum"] == list(DOMAINS)
    assert params["metric"]["schema"]["enum"] == list(METRICS)
    assert not any(p["required"] for p in params.values())


def test_wrong_queries_and_unknown_sites_are_documented_errors() -> None:
    observations = DOC["paths"]["/sites/{site_id}/observations"]["get"]["responses"]
    for code in ("400", "404"):
        schema = observations[code]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/Error"}


def test_the_default_server_is_the_api_root() -> None:
    assert openapi_document("X", [])["servers"] == [{"url": "/api/v1"}]
