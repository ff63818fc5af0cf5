"""The phone's alert board as components: count, order, place words, small map, route
link, what was done, and which actions staff get."""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import UTC, datetime

import pandas as pd

from cockpit.config import default_config_path, load_config
from cockpit.model import sites_frame
from cockpit.present.i18n import translator
from cockpit.storage import Acknowledgement
from cockpit.twin.alert_handling import Handling, Step, apply, encode
from cockpit.twin.alerts import Alert, ranked
from layouts.components.mobile_alerts import (
    AlertPlace,
    BoardContext,
    Colleague,
    alert_board,
    alert_place,
    board_count,
    city_centre,
    handling_line,
    minimap,
)
from tests.dashtree import components, text_of

T = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)
CENTRE = AlertPlace(-37.8136, 144.9631)
SITES = sites_frame(
    [
        {
            "id": "air:1",
            "name": "Footscray",
            "domain": "air",
            "lat": -37.8043,
            "lon": 144.8733,
            "source": "air",
        },
        {
            "id": "ped:1",
            "name": "Town Hall (West)",
            "domain": "pedestrians",
            "lat": -37.8150,
            "lon": 144.9666,
            "source": "ped",
        },
        {
            "id": "ped:2",
            "name": "Bourke St",
            "domain": "pedestrians",
            "lat": -37.8138,
            "lon": 144.9650,
            "source": "ped",
        },
    ]
).assign(district=["West", "Melbourne", "Melbourne"])
EN = translator("en", "mobile")
TEAM = (Colleague("ana", "Ana Lee"), Colleague("sam", "Sam Ortiz"))


def alert(rule: str, site: str, name: str, value: float, limit: float, metric: str) -> Alert:
    return Alert(
        f"{rule}:{site}",
        rule,
        site,
        name,
        "air",
        metric,
        T,
        None,
        value,
        limit,
        "µg/m³" if metric == "pm10" else "persons/h",
        "24-hour mean, WHO 2021 guideline",
    )


AIR = alert("air.pm10", "air:1", "Footscray", 100, 45, "pm10")
CROWD = alert("crowding", "ped:1", "Town Hall (West)", 900, 800, "pedestrians")
STALE = alert("sensor.stale", "ped:2", "Bourke St", float("nan"), 0, "pedestrians")


def context(**changes: object) -> BoardContext:
    config = load_config(default_config_path())
    base = BoardContext(
        sites=SITES,
        acks={},
        may_act=True,
        colleagues=TEAM,
        you=None,
        centre=CENTRE,
        basemap=str(config.resolve(config.map.basemap)),
        language="en",
        timezone="UTC",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_the_count_names_each_grade() -> None:
    found = ranked([STALE, CROWD, AIR])
    assert board_count(found, EN, "en") == "3 open alerts: 1 critical, 1 moderate, 1 low"
    assert board_count([AIR], EN, "en") == "1 open alert: 1 critical"
    many = [STALE] * 1234
    assert board_count(many, EN, "en") == "1,234 open alerts: 1,234 low"
    assert board_count([], EN, "en") == "No alerts right now."


def test_cards_in_order_with_place_distance_map_and_route() -> None:
    board = alert_board(ranked([STALE, CROWD, AIR]), context(), EN)
    cards = [
        c
        for c in components(board)
        if getattr(c, "className", "") and str(c.className).startswith("m-alert ")
    ]
    keys = [c.to_plotly_json()["props"]["data-key"] for c in cards]
    assert keys == [AIR.key, CROWD.key, STALE.key]
    air = text_of(cards[0])
    assert "critical" in air and "Footscray" in air
    assert "8.0 km W from the city centre" in air  # Footscray lies west of the centre
    routes = [c.href for c in components(cards[0]) if getattr(c, "className", "") == "m-route"]
    assert routes and "mlat=-37.80430" in routes[0]
    # From where the viewer stands, the route starts there.
    near = alert_board([CROWD], context(you=AlertPlace(-37.8183, 144.9671)), EN)
    text = text_of(near)
    assert "370 m N" in text and "city centre" not in text
    route = next(c.href for c in components(near) if getattr(c, "className", "") == "m-route")
    assert "directions" in route and "-37.81830%2C144.96710" in route


def test_the_public_reads_no_actions_and_no_names() -> None:
    steps = apply(Handling(), Step("acknowledge", "sam", T, "on my way"), {"sam", "ana"})
    acks = {AIR.key: Acknowledgement(AIR.key, "sam", T, encode(steps))}
    public = alert_board([AIR], context(may_act=False, acks=acks, colleagues=()), EN)
    text = text_of(public)
    assert "Acknowledged by staff at Tue 10:30" in text
    assert "Sam" not in text and "on my way" not in text
    ids = [getattr(c, "id", None) for c in components(public)]
    assert not any(isinstance(i, dict) and i.get("type") in ("m-act", "m-note") for i in ids)


def test_staff_get_note_acknowledge_resolve_assign_and_undo() -> None:
    fresh = alert_board([AIR], context(), EN)
    actions = {
        (i["action"], i["to"])
        for c in components(fresh)
        if isinstance(i := getattr(c, "id", None), dict) and i.get("type") == "m-act"
    }
    assert actions == {("acknowledge", ""), ("resolve", ""), ("assign", "ana"), ("assign", "sam")}
    steps = apply(Handling(), Step("assign", "sam", T, "bring a meter", "ana"), {"sam", "ana"})
    acks = {AIR.key: Acknowledgement(AIR.key, "sam", T, encode(steps))}
    handled = alert_board([AIR], context(acks=acks), EN)
    text = text_of(handled)
    assert "Assigned to Ana Lee by Sam Ortiz at Tue 10:30: bring a meter" in text
    actions = {
        (i["action"], i["to"])
        for c in components(handled)
        if isinstance(i := getattr(c, "id", None), dict) and i.get("type") == "m-act"
    }
    assert ("undo", "") in actions and ("assign", "ana") not in actions
    resolved = apply(steps, Step("resolve", "ana", T), {"sam", "ana"})
    acks = {AIR.key: Acknowledgement(AIR.key, "ana", T, encode(resolved))}
    done = alert_board([AIR], context(acks=acks), EN)
    actions = {
        i["action"]
        for c in components(done)
        if isinstance(i := getattr(c, "id", None), dict) and i.get("type") == "m-act"
    }
    assert actions == {"undo"}
    assert handling_line(resolved, {"ana": "Ana Lee"}, True, EN, "en", "UTC") == (
        "Resolved by Ana Lee at Tue 10:30"
    )


def test_the_centre_is_where_most_sites_are() -> None:
    assert city_centre(SITES, (0.0, 0.0)) == AlertPlace(-37.8138, 144.9650)
    assert city_centre(SITES.iloc[0:0], (1.0, 2.0)) == AlertPlace(1.0, 2.0)


def test_places_of_sites_and_areas() -> None:
    assert alert_place(AIR, SITES) == AlertPlace(-37.8043, 144.8733)
    area = replace(CROWD, site_id="area:Melbourne")
    place = alert_place(area, SITES)
    assert place is not None and place.lat == pd.Series([-37.8150, -37.8138]).mean()
    assert alert_place(replace(CROWD, site_id="city"), SITES) is None


def test_the_small_map_draws_districts_the_place_and_the_viewer() -> None:
    config = load_config(default_config_path())
    uri = minimap(
        AlertPlace(-37.8136, 144.9631),
        AlertPlace(-37.8183, 144.9671),
        str(config.resolve(config.map.basemap)),
    )
    svg = base64.b64decode(uri.split(",", 1)[1]).decode()
    assert svg.count("<polygon") >= 1  # the centre's districts
    assert 'fill="#D55E00"' in svg and 'stroke="#0072B2"' in svg
    far = base64.b64decode(
        minimap(AlertPlace(0, 0), None, str(config.resolve(config.map.basemap))).split(",", 1)[1]
    ).decode()
    assert "<polygon" not in far and "#0072B2" not in far
    # Far out, the city is drawn small beside the place, so the map says where it lies.
    basemap = str(config.resolve(config.map.basemap))
    out = minimap(AlertPlace(-37.78, 145.30), None, basemap, anchor=AlertPlace(-37.8136, 144.9631))
    assert "<polygon" in base64.b64decode(out.split(",", 1)[1]).decode()
