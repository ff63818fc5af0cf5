"""Answers in the shapes of the GBFS, CSV, ArcGIS and Socrata connectors' real servers,
scaled up, and the work each connector does on them; ``bench/connectors.py`` times them.

Each answer repeats the rows of a recorded answer (tests/fixtures/, see the PROVENANCE
files there) with fresh ids or times, so the sizes grow and the shapes stay real:
Nice Ride's GBFS v1.0 stations, Edinburgh's hourly counter CSV, Konstanz's ArcGIS
car parks (Esri JSON) and data.seattle.gov's bike counter (SODA).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pandas as pd

from cockpit.domains import load_domain_module
from connectors.arcgis import ArcGisOptions, parse_query
from connectors.gbfs import parse_stations
from connectors.records import map_records
from connectors.socrata import SocrataOptions, parse_rows
from connectors.table import TableOptions, parse_table
from tests.connectors.counters import EDINBURGH_HOURLY, SPOKANE_BRIDGE

__all__ = ["Case", "cases", "dropped"]

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"


def dropped(parse: Callable[[], Any]) -> Callable[[], None]:
    """The bare parse as the baseline: the bytes decoded, then the decoded objects let go
    inside the timing, as ``normalize`` lets its decoded answer go inside its own."""

    def run() -> None:
        parse()

    return run


@dataclass(frozen=True)
class Case:
    """One connector's answer: ``parse`` is the bare parse of its bytes (the baseline:
    the same bytes decoded by orjson, or pandas' C CSV reader, and let go), ``normalize``
    the bytes to canonical frames; ``check`` asserts the frames are right."""

    name: str
    size: int
    parse: Callable[[], Any]
    normalize: Callable[[], Any]
    check: Callable[[Any], None]


def _load(path: str) -> Any:
    return json.loads((FIXTURES / path).read_text(encoding="utf-8"))


def _gbfs(count: int) -> Case:
    info = _load("gbfs/real/niceride-mpls_v1.0_station_information.json")
    status = _load("gbfs/real/niceride-mpls_v1.0_station_status.json")
    stations, states = info["data"]["stations"], status["data"]["stations"]
    info["data"]["stations"] = [
        {**stations[i % len(stations)], "station_id": str(i)} for i in range(count)
    ]
    status["data"]["stations"] = [
        {**states[i % len(states)], "station_id": str(i)} for i in range(count)
    ]
    bodies = orjson.dumps(info), orjson.dumps(status)

    def normalize() -> Any:
        return parse_stations(orjson.loads(bodies[0]), orjson.loads(bodies[1]), "b")

    def check(frames: Any) -> None:
        sites, obs = frames
        assert len(sites) == count and obs["metric"].eq("hire_bikes").sum() > count * 0.9

    return Case(
        "gbfs",
        sum(map(len, bodies)),
        dropped(lambda: (orjson.loads(bodies[0]), orjson.loads(bodies[1]))),
        normalize,
        check,
    )


def _table(count: int) -> Case:
    source = FIXTURES / "csv" / "edinburgh_bike-counter-15-middle-meadow-walk_hourly-long_2012.csv"
    rows = list(csv.DictReader(io.StringIO(source.read_text(encoding="utf-8"))))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    for i in range(count):
        writer.writerow({**rows[i % len(rows)], "counter_id": str(i // len(rows))})
    body = out.getvalue().encode()
    options = TableOptions.model_validate(EDINBURGH_HOURLY)

    def normalize() -> Any:
        return map_records(
            parse_table(body, "csv", "c"), options.record_options(), "c", "Europe/London"
        )

    def check(mapped: Any) -> None:
        assert len(mapped.observations) + sum(mapped.rejected.values()) == count

    return Case(
        "table",
        len(body),
        dropped(lambda: pd.read_csv(io.BytesIO(body), dtype=str)),
        normalize,
        check,
    )


def _arcgis(count: int) -> Case:
    answer = _load("arcgis/konstanz_mapserver_parkleitsystem_query_f-json.json")
    features = answer["features"]
    answer["features"] = [
        {
            **features[i % len(features)],
            "attributes": {**features[i % len(features)]["attributes"], "OBJECTID": i},
        }
        for i in range(count)
    ]
    body = orjson.dumps(answer)
    options = ArcGisOptions.model_validate(
        {
            "domain": "parking",
            "id": "OBJECTID",
            "name": "name",
            "time": "updated",
            "values": {"free_spaces": {"field": "real_fcap", "unit": "count"}},
        }
    )

    def normalize() -> Any:
        page = parse_query(orjson.loads(body), "p")
        return map_records(page.records, options, "p", "Europe/Berlin", positions=page.positions)

    def check(mapped: Any) -> None:
        assert len(mapped.sites) == len(mapped.observations) == count

    return Case("arcgis", len(body), dropped(lambda: orjson.loads(body)), normalize, check)


def _socrata(count: int) -> Case:
    rows = _load("socrata/seattle_spokane-st-bridge-bike-counter_v6y4-2gyc_2014-01.json")
    hours = pd.date_range("2014-01-01", periods=count, freq="h").strftime("%Y-%m-%dT%H:%M:%S.000")
    body = orjson.dumps([{**rows[i % len(rows)], "date": hours[i]} for i in range(count)])
    options = SocrataOptions.model_validate({"dataset": "v6y4-2gyc", **SPOKANE_BRIDGE})

    def normalize() -> Any:
        return map_records(parse_rows(orjson.loads(body), "s"), options, "s", "America/Los_Angeles")

    def check(mapped: Any) -> None:
        assert len(mapped.observations) + sum(mapped.rejected.values()) == count

    return Case("socrata", len(body), dropped(lambda: orjson.loads(body)), normalize, check)


def cases(count: int) -> list[Case]:
    """The four connectors' cases with ``count`` records each."""
    for module in ("cockpit.domains.bike_share", "cockpit.domains.cycling"):
        load_domain_module(module)
    return [_gbfs(count), _table(count), _arcgis(count), _socrata(count)]
