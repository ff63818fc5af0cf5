"""A fifth domain from one module: bike share (docks and bikes available) declared in a
package of its own, named in a city's config, and then seen everywhere a domain is seen:
config validation, an OpenDataSoft source over real HTTP, the map layer, a KPI card, the
kiosk slides and the API. Nothing of City Cockpit is edited for it."""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from cockpit.config import CityConfig, load_config
from cockpit.domains import domain_names, unregister
from cockpit.errors import ConfigError
from cockpit.model import METRICS
from cockpit.present.slides import build_slides, screen_for
from layouts.components.kpi_card import kpi_card
from layouts.routes.mapdata import map_data_url
from tests.browser import T0, Clock, demo_runtime
from tests.city_toml import city_tables
from wiring.app import create_app

PACKAGE = "bikeshare_city"
MODULE = f"{PACKAGE}.bikes"
DATASET = "bike-share-docks"
RECORDS = f"/api/explore/v2.1/catalog/datasets/{DATASET}/records"

# The whole of the fifth domain: one module, written as a city's own package would be.
BIKES_MODULE = '''
"""Bike share: docking stations, their docks and the bikes available to hire."""

from cockpit.domains import Domain, KpiSpec, MapRule, PhoneSummary, SlideSpec
from cockpit.model import Metric

DOMAIN = Domain(
    name="bikes",
    title="Bike share",
    metrics=(
        Metric("bikes_available", "Bikes available", "count", "bikes", 0, 10_000),
        Metric("docks", "Docks", "count", "bikes", 0, 10_000),
    ),
    kpis=(
        # A share: bikes over docks of all stations, so a big station weighs more.
        KpiSpec(
            key="bikes",
            title="Bikes available",
            metrics=("bikes_available",),
            capacity_metric="docks",
            unit="% of docks",
            aggregation="share",
            levels={"ok": "bikes to hire"},
        ),
    ),
    map=MapRule("bikes_available", (3, 10), ("few bikes", "some bikes", "many bikes")),
    slide=SlideSpec(
        question="Can I hire a bike?",
        short="Bikes",
        order=50,
        figure_label="of the docks hold a bike",
    ),
    phone=PhoneSummary(title="Bike share", kpi="bikes"),
    about={
        "title": "How we count hire bikes",
        "what": "{n} docking stations report their bikes and docks.",
        "privacy": "A dock reports a bike, never who rides it.",
    },
    labels={
        "de": {
            "Bike share": "Leihräder",
            "Bikes": "Räder",
            "Can I hire a bike?": "Kann ich ein Rad leihen?",
            "Bikes available": "Verfügbare Räder",
            "of the docks hold a bike": "der Stellplätze haben ein Rad",
            "bikes to hire": "Räder zu leihen",
            "How we count hire bikes": "Wie wir Leihräder zählen",
        }
    },
)
'''

STATIONS = [
    ("st-1", "Flinders Street", -37.8183, 144.9671, 12, 20),
    ("st-2", "Queen Victoria Market", -37.8076, 144.9568, 2, 10),
    ("st-3", "Carlton Gardens", -37.8056, 144.9714, 6, 10),
]


def city_toml(url: str) -> str:
    head = city_tables(
        "Bike town",
        "Australia/Melbourne",
        [144.55, -38.05, 145.40, -37.55],
        (-37.81, 144.96),
        13,
        ["en", "de"],
    )
    return (
        f'domains = ["{MODULE}"]\n\n'
        + head
        + textwrap.dedent(
            f"""
        [sources.bikes]
        connector = "opendatasoft"
        name = "Bike share docks"
        publisher = "Bike town"
        licence = "CC BY 4.0"
        url = "{url}"
        stale_after_seconds = 86400
        backfill_hours = 0
        options = {{ dataset = "{DATASET}", domain = "bikes", kind = "dock", retries = 0, \
fields = {{ id = "station_id", name = "name", time = "updated", lat = "lat", lon = "lon" }}, \
values = {{ bikes_available = {{ field = "bikes", unit = "count" }}, \
docks = {{ field = "docks", unit = "count" }} }} }}

        [layers.bikes]
        domain = "bikes"
        title = "Bike share"
        sources = ["bikes"]
        metric = "bikes_available"
        """
        )
    )


def records() -> dict[str, Any]:
    updated = (T0 - pd.Timedelta(minutes=5)).isoformat()
    results = [
        {"station_id": i, "name": n, "lat": lat, "lon": lon, "bikes": b, "docks": d}
        | {"updated": updated}
        for i, n, lat, lon, b, d in STATIONS
    ]
    return {"total_count": len(results), "results": results}


@pytest.fixture
def bikes_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A package of the city's own, outside City Cockpit, holding the bikes module."""
    root = tmp_path / "site"
    (root / PACKAGE).mkdir(parents=True)
    (root / PACKAGE / "__init__.py").write_text("", encoding="utf-8")
    (root / PACKAGE / "bikes.py").write_text(BIKES_MODULE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(root))
    yield root
    unregister("bikes")
    for name in (MODULE, PACKAGE):
        sys.modules.pop(name, None)


@pytest.fixture
def portal(httpserver: HTTPServer) -> HTTPServer:
    def answer(request: Request) -> Response:
        page = records() if request.args.get("offset", "0") == "0" else {"results": []}
        return Response(json.dumps(page), content_type="application/json; charset=utf-8")

    httpserver.expect_request(RECORDS).respond_with_handler(answer)
    return httpserver


@pytest.fixture
def config(bikes_package: Path, portal: HTTPServer, tmp_path: Path) -> CityConfig:
    path = tmp_path / "bike-town.toml"
    path.write_text(city_toml(portal.url_for("/")), encoding="utf-8")
    return load_config(path)


def test_without_its_module_the_domain_is_unknown(tmp_path: Path) -> None:
    path = tmp_path / "bike-town.toml"
    path.write_text(city_toml("http://127.0.0.1:9/").replace(f'"{MODULE}"', ""), encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    assert caught.value.key == "layers.bikes.domain"
    assert "unknown domain 'bikes'" in caught.value.reason
    assert "bikes" not in domain_names()


def test_a_missing_domain_module_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "bike-town.toml"
    path.write_text(city_toml("http://127.0.0.1:9/"), encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    assert caught.value.key == "domains"
    assert MODULE in caught.value.reason


def test_the_config_accepts_the_domain_and_its_map_rule(config: CityConfig) -> None:
    assert "bikes" in domain_names()
    assert {"bikes_available", "docks"} <= set(METRICS)
    layer = config.layers["bikes"]
    assert (layer.domain, layer.metric) == ("bikes", "bikes_available")
    # The layer names no states: the domain's map rule gives them.
    assert layer.thresholds == [3, 10]
    assert layer.labels == ["few bikes", "some bikes", "many bikes"]


def test_the_domain_is_seen_from_source_to_screen(config: CityConfig, tmp_path: Path) -> None:
    runtime = demo_runtime(tmp_path / "data", Clock(T0), config=config, backfill=False)
    try:
        # The connector read the portal over HTTP and mapped it into the domain.
        snap = runtime.store.snapshot("bikes")
        assert snap is not None
        assert set(snap.sites["domain"]) == {"bikes"}
        assert sorted(snap.sites["id"]) == ["bikes:st-1", "bikes:st-2", "bikes:st-3"]
        assert set(snap.sites["kind"]) == {"dock"}
        obs = snap.observations
        assert set(obs["metric"]) == {"bikes_available", "docks"}
        assert sorted(obs.loc[obs["metric"] == "bikes_available", "value"]) == [2, 6, 12]

        view = runtime.city.view("public")

        # The map layer: each station's state by the domain's map rule.
        states = view.layers["bikes"].set_index("site_id")
        by_name = dict(zip(view.sites["id"], view.sites["name"], strict=True))
        named = {by_name[i]: s for i, s in states["state"].items()}
        assert named == {
            "Flinders Street": "many bikes",
            "Queen Victoria Market": "few bikes",
            "Carlton Gardens": "some bikes",
        }

        # The KPI: a share of docks, 20 of 40 docks hold a bike.
        item = next(k for k in view.kpis if k.key == "bikes")
        assert (item.title, item.unit, item.display, item.level) == (
            "Bikes available",
            "% of docks",
            "50",
            "ok",
        )
        assert item.sources == ["bikes"]
        card = kpi_card(item, [view.sources["bikes"]], config.city.timezone)
        assert card.id == "kpi-bikes"
        assert "Bikes available" in str(card) and "50" in str(card)

        # The kiosk: its slide, in English and in the domain's own German.
        screen = screen_for(config, None)
        assert "bikes" in screen.slides
        slides = build_slides(config, view, [], screen, T0.to_pydatetime())
        english = next(s for s in slides if s.key == "bikes" and s.language == "en")
        german = next(s for s in slides if s.key == "bikes" and s.language == "de")
        assert (english.question, english.answer) == ("Can I hire a bike?", "50")
        assert english.figure_label == "of the docks hold a bike"
        assert german.question == "Kann ich ein Rad leihen?"
        overview = next(s for s in slides if s.key == "overview" and s.language == "en")
        assert ("Bikes", "50") in {(i.label, i.value) for i in overview.items}

        # The API and the map data, over the app's own routes.
        client = create_app(runtime, start_refresher=False).server.test_client()
        answer = client.get("/api/v1/kpis")
        assert answer.status_code == 200
        kpis = {k["key"]: k for k in answer.get_json()["kpis"]}
        assert kpis["bikes"]["value"] == pytest.approx(50.0)
        assert kpis["bikes"]["sources"][0]["id"] == "bikes"
        sites = client.get("/api/v1/sites?domain=bikes")
        assert sites.status_code == 200
        assert {s["domain"] for s in sites.get_json()["sites"]} == {"bikes"}
        assert len(sites.get_json()["sites"]) == 3
        data = client.get(map_data_url("bikes", view.version, "public"))
        assert data.status_code == 200
        layer = json.loads(data.get_data())
        assert layer["n"] == 3
        assert set(layer["columns"]["state"]["keys"]) == {"many bikes", "few bikes", "some bikes"}

        # The kiosk slide's "how this data is collected" page.
        assert english.about_path == "/about/bikes"
        about = client.get("/about/bikes?lang=de").get_data(as_text=True)
        assert "Wie wir Leihräder zählen" in about
        assert "3 docking stations report their bikes and docks." in about
        assert "Bike share docks" in about  # the public source
    finally:
        runtime.close()
