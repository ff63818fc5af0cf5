"""The read-only API under /api/v1: conformance to its own OpenAPI document (schemathesis,
against the live WSGI app in-process), the same role rules as the screens, CORS, JSON
errors and "< k" for small counts of people."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import schemathesis
from dash import Dash
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from cockpit.config import CityConfig, default_config_path, load_config
from cockpit.present.openapi import openapi_document
from layouts.routes.api import kpis_json
from tests.browser import T0, AppServers
from tests.cockpit.test_privacy import plant_count
from tests.layouts.routes.conftest import with_staff
from wiring.runtime import Runtime


def _city() -> CityConfig:
    config = load_config(default_config_path())
    # In this city parking is internal: for staff only.
    config.sources["parking"].access = "internal"
    config.layers["parking"].access = "internal"
    with_staff(config)
    return config


CITY = _city()
PUBLIC_SOURCES = [s for s, cfg in CITY.sources.items() if cfg.access == "public"]
schema = schemathesis.openapi.from_dict(openapi_document(CITY.city.name, PUBLIC_SOURCES))


@pytest.fixture(scope="module")
def runtime(app_server: AppServers) -> Runtime:
    return app_server.city(config=CITY)


@pytest.fixture(scope="module")
def small_site(runtime: Runtime) -> str:
    return plant_count(runtime, 3)


@pytest.fixture(scope="module")
def app(app_server: AppServers, runtime: Runtime, small_site: str) -> Dash:
    return app_server.app(runtime)


@pytest.fixture(scope="module")
def served(app_server: AppServers, app: Dash, runtime: Runtime) -> str:
    runtime.city.view("public")  # built once before the first request
    return app_server.url(app)


@schema.parametrize()
@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
def test_api_conforms_to_its_openapi_document(served: str, case: Any) -> None:
    excluded = []
    if case.path == "/sites/{site_id}/observations":
        # 'from' before 'to' and a window of at most 31 days cannot be said in OpenAPI
        # 3.0; such requests get a documented 400 with the parameter named.
        excluded.append(positive_data_acceptance)
    # A generous timeout: the first answers build the city's view on a shared test machine.
    response = case.call_and_validate(
        base_url=f"{served}/api/v1", excluded_checks=excluded, timeout=60
    )
    assert response.status_code < 500
    # schemathesis keeps headers lower-cased, each with a list of values
    assert response.headers["access-control-allow-origin"] == ["*"]
    if response.status_code == 400:
        assert response.json()["parameter"] in ("from", "to", "domain", "source", "metric")


def test_openapi_lists_every_route(public: FlaskClient) -> None:
    doc = public.get("/api/v1/openapi.json").get_json()
    assert doc == schema.raw_schema  # the document schemathesis tests is the one served
    assert doc["openapi"].startswith("3.")
    assert set(doc["paths"]) == {
        "/sites",
        "/sites.geojson",
        "/sites/{site_id}/observations",
        "/observations/latest",
        "/kpis",
        "/sources",
        "/catalog.jsonld",
        "/openapi.json",
    }
    for path in doc["paths"]:
        if "{" not in path:
            assert public.get("/api/v1" + path).status_code == 200, path


def test_small_counts_read_below_k(public: FlaskClient, small_site: str) -> None:
    latest = public.get("/api/v1/observations/latest?domain=pedestrians").get_json()
    row = next(o for o in latest["observations"] if o["site_id"] == small_site)
    assert row["display"] == "< 5" and row["value"] is None and row["suppressed"] is True
    assert row["licence"] == "CC BY 4.0" and row["fetched"] == T0.isoformat()
    history = public.get(f"/api/v1/sites/{small_site}/observations").get_json()
    assert history["observations"][-1]["display"] == "< 5"
    assert 3.0 not in [o["value"] for o in history["observations"]]
    assert history["sources"][0]["licence"] == "CC BY 4.0"


@pytest.mark.parametrize("key", ["footfall", "parking", "traffic", "air"])
def test_the_kpi_api_masks_people_counts_only(runtime: Runtime, key: str) -> None:
    """With a minimum group size above every KPI's value, only footfall reads "< k"."""
    # A copy: the facade keeps its views. Parking is internal in this city.
    view = copy.copy(runtime.city.view("executive"))
    view.min_group_size = 10_000_000
    row = next(r for r in kpis_json(runtime.city, view) if r["key"] == key)
    original = next(k for k in view.kpis if k.key == key)
    assert original.value is not None, "the demo city has a value for every KPI"
    if key == "footfall":
        assert row["value"] is None and row["display"] == "< 10000000"
    else:
        assert row["value"] == original.value and row["display"] == original.display


def test_the_kpi_api_answers_air_quality_under_the_city_rule(public: FlaskClient) -> None:
    rows = {r["key"]: r for r in public.get("/api/v1/kpis").get_json()["kpis"]}
    assert rows["air"]["value"] is not None and not rows["air"]["display"].startswith("<")


def test_public_sees_public_sources_only(
    public: FlaskClient, staff: FlaskClient, runtime: Runtime
) -> None:
    bay = str(runtime.city.view("staff").sites.query("source == 'parking'")["id"].iloc[0])
    for client, sees_parking in ((public, False), (staff, True)):
        sources = {s["id"] for s in client.get("/api/v1/sources").get_json()["sources"]}
        assert ("parking" in sources) is sees_parking
        sites = client.get("/api/v1/sites").get_json()["sites"]
        assert any(s["source"] == "parking" for s in sites) is sees_parking
        geo = client.get("/api/v1/sites.geojson").get_json()
        assert any(f["properties"]["source"] == "parking" for f in geo["features"]) is (
            sees_parking
        )
        latest = client.get("/api/v1/observations/latest").get_json()["observations"]
        assert any(o["source"] == "parking" for o in latest) is sees_parking
        kpis = {k["key"]: k for k in client.get("/api/v1/kpis").get_json()["kpis"]}
        assert bool(kpis["parking"]["sources"]) is sees_parking
        status = client.get(f"/api/v1/sites/{bay}/observations").status_code
        assert status == (200 if sees_parking else 404)
        catalog = client.get("/api/v1/catalog.jsonld").get_data(as_text=True)
        assert ("dataset-parking" in catalog) is sees_parking
    assert public.get("/api/v1/sites?source=parking").status_code == 400
    assert staff.get("/api/v1/sites?source=parking").status_code == 200


def test_bad_parameters_answer_400_naming_them(public: FlaskClient, small_site: str) -> None:
    for url, parameter in [
        ("/api/v1/sites?domain=weather", "domain"),
        ("/api/v1/observations/latest?metric=noise", "metric"),
        (f"/api/v1/sites/{small_site}/observations?from=last-week", "from"),
        (
            f"/api/v1/sites/{small_site}/observations?from=2026-11-24T10:00Z&to=2026-11-23T10:00Z",
            "from",
        ),
        (
            f"/api/v1/sites/{small_site}/observations?from=2026-01-01T00:00Z&to=2026-11-23T10:00Z",
            "to",
        ),
    ]:
        answer = public.get(url)
        assert answer.status_code == 400, url
        body = answer.get_json()
        assert body["parameter"] == parameter and body["detail"] and body["error"] == "bad request"
    missing = public.get("/api/v1/no-such-route")
    assert missing.status_code == 404 and missing.get_json()["error"] == "not found"


def test_cors_is_open_on_the_public_api(public: FlaskClient) -> None:
    answer = public.get("/api/v1/sites", headers={"Origin": "https://reuse.example.org"})
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert "Cookie" in answer.headers["Vary"]
    preflight = public.options("/api/v1/kpis", headers={"Origin": "https://reuse.example.org"})
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"


def test_kpis_link_to_their_data_and_method(public: FlaskClient) -> None:
    kpis = public.get("/api/v1/kpis").get_json()["kpis"]
    for item in kpis:
        assert item["data_url"] == f"/data/{item['key']}"
        assert item["methodology_url"] == f"/methodology#method-{item['key']}"
    footfall = next(k for k in kpis if k["key"] == "footfall")
    assert footfall["sources"][0]["publisher"] == "City of Melbourne"
