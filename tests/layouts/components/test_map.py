"""The cockpit's map as Dash components: one clustered overlay per layer whose data URL
is given, the basemap from its own cached file, credits escaped, and a legend in words."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import dash_leaflet as dl
from dash import dcc

from cockpit.config import CityConfig
from cockpit.present.i18n import translator
from layouts.components.clientside import js_function
from layouts.components.map import (
    BASEMAP_ROUTE,
    LAYER_ID,
    REPORTS_LAYER_ID,
    SOURCE_ID,
    basemap_file,
    city_map,
    legend,
    map_words,
)
from tests.dashtree import components, text_of

URLS = {"parking": "/map-data/parking.json?v=3", "air": "/map-data/air.json?v=3"}


def of(node: Any, kind: type) -> list[Any]:
    return [c for c in components(node) if isinstance(c, kind)]


def test_one_overlay_and_one_data_store_per_layer_given(demo_config: CityConfig) -> None:
    built = city_map(demo_config, [], "m", URLS)
    assert isinstance(built, dl.Map) and built.id == "m"
    assert list(built.center) == list(demo_config.map.center)
    (control,) = of(built, dl.LayersControl)
    titles = {demo_config.layers[k].title for k in URLS}
    assert set(control.overlays) == titles  # the traffic and pedestrian layers are left out
    layers = [g for g in of(built, dl.GeoJSON) if isinstance(g.id, dict)]
    assert {g.id["layer"] for g in layers} == set(URLS)
    assert all(g.id["type"] == LAYER_ID and g.cluster for g in layers)
    # The data arrives after the page, from each layer's URL: the page carries none.
    assert all(g.data == {"type": "FeatureCollection", "features": []} for g in layers)
    stores = {s.id["layer"]: s.data for s in of(built, dcc.Store) if s.id["type"] == SOURCE_ID}
    assert stores == URLS


def test_the_basemap_is_its_own_file_named_by_its_digest(demo_config: CityConfig) -> None:
    body, digest = basemap_file(str(demo_config.resolve(demo_config.map.basemap)))
    assert body.startswith(b"{") and digest == hashlib.sha256(body).hexdigest()[:16]
    built = city_map(demo_config, [], "m", {})
    (basemap,) = [g for g in of(built, dl.GeoJSON) if g.id == "m-basemap"]
    assert basemap.url == f"{BASEMAP_ROUTE}?h={digest}"
    assert basemap.interactive is False
    (tiles,) = of(built, dl.TileLayer)
    assert tiles.url == demo_config.map.tile_url


def test_without_tiles_or_basemap_the_map_still_has_its_controls(demo_config: CityConfig) -> None:
    demo_config.map.tile_url = ""
    demo_config.map.basemap = ""
    built = city_map(demo_config, [], "m", {"parking": URLS["parking"]})
    assert not of(built, dl.TileLayer)
    assert [g.id for g in of(built, dl.GeoJSON)] == [{"type": LAYER_ID, "layer": "parking"}]


def test_credits_name_leaflet_the_basemap_and_each_source_escaped(demo_config: CityConfig) -> None:
    built = city_map(demo_config, ["Counts © <b>Melbourne</b> & friends"], "m", URLS)
    (attribution,) = of(built, dl.AttributionControl)
    prefix = attribution.prefix
    assert prefix.startswith('<details class="cc-credits"><summary>© Sources and credits</summary>')
    parts = re.findall(r"<li>(.*?)</li>", prefix)
    assert parts[0] == "Leaflet"
    assert parts[1] == demo_config.map.tile_attribution  # the tiles credited here, once
    assert parts[2] == demo_config.map.basemap_attribution.replace("&", "&amp;")
    assert parts[3] == "Counts © &lt;b&gt;Melbourne&lt;/b&gt; &amp; friends"
    assert [t.attribution for t in of(built, dl.TileLayer)] == [""]
    assert "<b>" not in prefix


def test_the_map_has_a_metric_scale_bar(demo_config: CityConfig) -> None:
    built = city_map(demo_config, [], "m", URLS)
    (scale,) = of(built, dl.ScaleControl)
    assert scale.imperial is False and scale.position == "bottomleft"


def test_the_legend_says_each_state_in_words_with_its_symbol(demo_config: CityConfig) -> None:
    shown = legend(demo_config, ["pedestrians", "parking", "air"])
    rows = [text_of(row) for row in shown.children]
    assert rows == [
        "Pedestrians ● quiet ▲ busy ■ crowded",
        f"{demo_config.layers['parking'].title} ● free ■ occupied",
        f"{demo_config.layers['air'].title} ● good / fair ▲ moderate ■ poor or worse",
        "? stale data",
    ]
    assert shown.to_plotly_json()["props"]["aria-label"] == "Map legend"


GERMAN = translator("de", "cockpit")


def test_in_german_the_layer_names_credits_and_legend_are_german(demo_config: CityConfig) -> None:
    built = city_map(demo_config, [], "m", URLS, None, GERMAN)
    names = [o.name for o in of(built, dl.Overlay)]
    assert sorted(names) == ["Luftqualität", "Parken"]
    (control,) = of(built, dl.LayersControl)
    assert sorted(control.overlays) == ["Luftqualität", "Parken"]
    (attribution,) = of(built, dl.AttributionControl)
    assert "<summary>© Quellen und Nachweise</summary>" in attribution.prefix
    shown = legend(demo_config, ["traffic", "pedestrians", "parking", "air"], GERMAN)
    assert [text_of(row) for row in shown.children] == [
        "Verkehr ● flüssig ▲ mäßig ■ dicht",
        "Fußgänger ● ruhig ▲ belebt ■ voll",
        "Parken ● frei ■ belegt",
        "Luftqualität ● gut / ausreichend ▲ mäßig ■ schlecht oder schlechter",
        "? veraltete Daten",
    ]
    assert shown.to_plotly_json()["props"]["aria-label"] == "Kartenlegende"


def test_the_popups_words_in_german_by_their_english_words(demo_config: CityConfig) -> None:
    origins = [("May 2025, replayed", "Mai 2025, wiedergegeben")]
    words = map_words(demo_config, ["traffic", "air"], origins, "de", GERMAN)
    assert words["Observed"] == "Gemessen"
    assert words["Vehicle flow"] == "Verkehrsstärke"
    assert words["moderate"] == "mäßig" and words["heavy"] == "dicht"
    assert words["very poor"] == "sehr schlecht"
    assert words["May 2025, replayed"] == "Mai 2025, wiedergegeben"
    assert words["Tue"] == "Di." and words["Nov"] == "Nov."
    assert words["veh/h"] == "Fz/h"
    assert (words["{decimal}"], words["{group}"]) == (",", ".")
    assert "PM10" not in words  # a word the same in both languages is left out
    # English popups keep the map files' own words.
    assert map_words(demo_config, ["traffic"], origins, "en") == {}


def test_citizen_reports_are_one_more_overlay_when_given(demo_config: CityConfig) -> None:
    built = city_map(demo_config, [], "m", URLS, None, GERMAN, "/reports/layer.geojson?lang=de")
    names = sorted(o.name for o in of(built, dl.Overlay))
    assert names == ["Bürgermeldungen", "Luftqualität", "Parken"]
    (reports,) = [g for g in of(built, dl.GeoJSON) if g.id == REPORTS_LAYER_ID]
    assert reports.url == "/reports/layer.geojson?lang=de"
    assert reports.pointToLayer == js_function("reportToLayer")
    assert "reports" not in str(city_map(demo_config, [], "m", URLS).to_plotly_json())
