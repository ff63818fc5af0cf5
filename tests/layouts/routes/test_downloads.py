"""The export routes over real HTTP on 127.0.0.1: CSV with its metadata sidecar,
GeoJSON and one site's CSV carry licence and attribution, mask small counts of people,
check their query and give the public nothing internal; chart images keep their credit."""

from __future__ import annotations

import csv
import io

import flask
import pandas as pd
import plotly.graph_objects as go
import pytest
import requests

from cockpit.present.export import CSV_COLUMNS
from layouts.routes.downloads import (
    attribution_text,
    download_options,
    error_response,
    export_links,
    with_attribution,
)
from tests.browser import T0, AppServers
from tests.cockpit.present.test_export import parking_internal_config
from tests.cockpit.test_privacy import plant_count
from wiring.runtime import Runtime


@pytest.fixture(scope="module")
def runtime(app_server: AppServers) -> Runtime:
    return app_server.city(config=parking_internal_config())


@pytest.fixture(scope="module")
def small_site(runtime: Runtime) -> str:
    return plant_count(runtime, 3)


@pytest.fixture(scope="module")
def base(app_server: AppServers, runtime: Runtime, small_site: str) -> str:
    return app_server.url(runtime)


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_layer_csv_over_http(base: str, small_site: str) -> None:
    answer = requests.get(f"{base}/export/pedestrians.csv", timeout=30)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in answer.headers["Content-Disposition"]
    assert "describedby" in answer.headers["Link"]
    rows = _rows(answer.text)
    assert {r["licence"] for r in rows} == {"CC BY 4.0"}
    assert next(r["value"] for r in rows if r["site_id"] == small_site) == "< 5"
    sidecar = requests.get(f"{base}/export/pedestrians.csv-metadata.json", timeout=30).json()
    assert sidecar["dc:license"] == ["https://creativecommons.org/licenses/by/4.0/"]
    assert [c["name"] for c in sidecar["tableSchema"]["columns"]] == list(CSV_COLUMNS)


def test_layer_csv_time_range_and_site(base: str, small_site: str) -> None:
    start = (T0 - pd.Timedelta(hours=3)).isoformat()
    answer = requests.get(
        f"{base}/export/pedestrians.csv",
        params={"from": start, "to": T0.isoformat(), "site": small_site},
        timeout=30,
    )
    rows = _rows(answer.text)
    assert {r["site_id"] for r in rows} == {small_site}
    assert len(rows) >= 3  # hourly counts over three hours
    assert all(pd.Timestamp(start) <= pd.Timestamp(r["time"]) < T0 for r in rows)
    bad = requests.get(f"{base}/export/pedestrians.csv", params={"from": "soon"}, timeout=30)
    assert bad.status_code == 400
    assert bad.json()["parameter"] == "from"


def test_geojson_and_site_csv_over_http(base: str, small_site: str) -> None:
    doc = requests.get(f"{base}/export/pedestrians.geojson", timeout=30).json()
    assert doc["type"] == "FeatureCollection" and doc["license"] and doc["attribution"]
    feature = next(f for f in doc["features"] if f["id"] == small_site)
    assert feature["properties"]["observations"][0]["display"] == "< 5"
    site = requests.get(f"{base}/export/site/{small_site}.csv", params={"hours": 24}, timeout=30)
    assert site.status_code == 200
    rows = _rows(site.text)
    assert rows[-1]["value"] == "< 5"
    assert {r["attribution"] for r in rows} == {doc["attribution"]}


def test_public_gets_no_internal_export(base: str, runtime: Runtime) -> None:
    for path in ("/export/parking.csv", "/export/parking.geojson"):
        assert requests.get(base + path, timeout=30).status_code == 404
    bay = str(runtime.city.view("staff").sites.query("source == 'parking'")["id"].iloc[0])
    assert requests.get(f"{base}/export/site/{bay}.csv", timeout=30).status_code == 404


def test_chart_png_keeps_site_and_licence(runtime: Runtime) -> None:
    view = runtime.city.view("public")
    sources = [view.sources["pedestrians"]]
    config = download_options("Bourke Street Mall (North)", sources)
    options = config["toImageButtonOptions"]
    assert options["format"] == "png"
    assert options["filename"] == "bourke-street-mall-north-cc-by-4-0"
    figure = with_attribution(go.Figure(), sources)
    texts = [a.text for a in figure.layout.annotations]
    assert texts == [attribution_text(sources)]
    assert "CC BY 4.0" in texts[0] and "City of Melbourne" in texts[0]


def test_an_unknown_layer_is_a_json_404(base: str) -> None:
    answer = requests.get(f"{base}/export/ferries.csv", timeout=30)
    assert answer.status_code == 404
    assert answer.headers["Content-Type"].startswith("application/json")
    assert answer.json()["error"]


def test_export_links_and_error_bodies() -> None:
    assert export_links("air") == {
        "CSV": "/export/air.csv",
        "GeoJSON": "/export/air.geojson",
        "CSV metadata": "/export/air.csv-metadata.json",
    }
    assert export_links("air", "air:10001")["Site CSV (24 h)"] == (
        "/export/site/air:10001.csv?hours=24"
    )
    with flask.Flask(__name__).test_request_context():
        answer = error_response(400, "bad query", "from: not a time", "from")
        without = error_response(404, "unknown layer", "no layer 'x'")
    assert answer.status_code == 400
    assert answer.get_json() == {
        "error": "bad query",
        "detail": "from: not a time",
        "parameter": "from",
    }
    assert without.status_code == 404 and "parameter" not in without.get_json()
