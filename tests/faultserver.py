"""A platform on 127.0.0.1 that serves recorded answers and fails on command.

``FaultServer`` is a real threaded HTTP server (werkzeug) on its own port: it answers
each configured path with a recorded answer, counts every request it gets, and can be
switched at any time to one of the faults a real platform shows:

* ``slow``: answers only after ``slow_s`` seconds (beyond a connector's read timeout);
* ``500``: an HTTP 500 with a text body;
* ``garbage``: HTTP 200, ``application/json``, bytes that are not JSON;
* ``stop()``: the port closes (connection refused) until ``start()`` opens it again.

One server per source lets a test fail one source while the others keep answering.
The answers here are City of Melbourne's, from tests/fixtures/opendatasoft/built/ (see
its PROVENANCE.md): the parking bay sensors and the pedestrian counts with their sensor
locations, as the OpenDataSoft Explore API v2.1 pages them.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from werkzeug import Request, Response
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

__all__ = [
    "FAULTS",
    "ODS_V21",
    "FaultServer",
    "microclimate_routes",
    "ods_pages",
    "parking_routes",
    "pedestrian_routes",
]

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "opendatasoft" / "built"
ODS_V21 = "/api/explore/v2.1/catalog/datasets"
FAULTS = ("slow", "500", "garbage", "stopped")
GARBAGE = b'\x00\xff{"results": [<<not json>>'

Handler = Callable[[Request], Response]


class _QuietHandler(WSGIRequestHandler):
    """Requests are counted, not printed."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class FaultServer:
    """Recorded answers by path on ``http://127.0.0.1:<port>``, with switchable faults."""

    def __init__(self, routes: dict[str, Handler], slow_s: float = 2.0) -> None:
        self.routes = routes
        self.slow_s = slow_s
        self.fault = "ok"
        self.requests: Counter[str] = Counter()
        self.times: list[tuple[float, str]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def set_fault(self, fault: str) -> None:
        """Fail from now on as ``fault`` names (``ok`` to answer normally again)."""
        if fault not in ("ok", *FAULTS):
            raise ValueError(f"unknown fault {fault!r}; known: ok, {', '.join(FAULTS)}")
        if fault == "stopped":
            self.stop()
        elif not self.running:
            self.start()
        self.fault = fault

    def heal(self) -> None:
        self.set_fault("ok")

    def start(self) -> None:
        """Listen (again, on the same port once it had one)."""
        if self._server is not None:
            return
        self._stopping.clear()
        server = make_server(
            "127.0.0.1", self.port, self._wsgi, threaded=True, request_handler=_QuietHandler
        )
        server.daemon_threads = True
        self.port = server.server_port
        self._server = server
        self._thread = threading.Thread(
            target=_serve, args=(server,), name=f"fault-server-{self.port}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Close the port: requests are refused until ``start``."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()  # slow answers still waiting end now
        server.shutdown()
        server.server_close()
        if self._thread:
            self._thread.join(10)

    def total(self) -> int:
        with self._lock:
            return sum(self.requests.values())

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with self._lock:
            self.requests[request.path] += 1
            self.times.append((time.monotonic(), request.path))
        return self._answer(request)(environ, start_response)

    def _answer(self, request: Request) -> Response:
        handler = self.routes.get(request.path)
        if handler is None:
            return Response("not found", status=404, content_type="text/plain")
        fault = self.fault
        if fault == "500":
            return Response("internal error", status=500, content_type="text/plain")
        if fault == "garbage":
            return Response(GARBAGE, content_type="application/json; charset=utf-8")
        if fault == "slow":
            self._stopping.wait(self.slow_s)
        return handler(request)


def _serve(server: BaseWSGIServer) -> None:
    try:
        server.serve_forever()
    except SystemExit:  # dash's test runner stops every thread started after its own
        server.server_close()


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


def ods_pages(
    pages: list[dict[str, Any]], change: Callable[[dict[str, Any]], None] | None = None
) -> Handler:
    """Answer ``?offset=&limit=`` with the recorded page starting at that offset.

    ``change``, when given, may alter each answer before it is sent (data that moves).
    """
    by_offset: dict[int, dict[str, Any]] = {}
    offset = 0
    for page in pages:
        by_offset[offset] = page
        offset += len(page["results"])
    total = offset

    def handler(request: Request) -> Response:
        page = by_offset.get(int(request.args.get("offset", "0")), {"results": []})
        answer = {**page, "total_count": total}
        if change is not None:
            answer = json.loads(json.dumps(answer))
            change(answer)
        return Response(json.dumps(answer), content_type="application/json; charset=utf-8")

    return handler


def _stem_pages(stem: str, limit: int | None = None) -> list[dict[str, Any]]:
    found = [
        _load(f"{stem}_page{n}.json")
        for n in range(1, 10)
        if (FIXTURES / f"{stem}_page{n}.json").exists()
    ]
    return found[:limit] if limit else found


def parking_routes(
    one_page: bool = False, change: Callable[[dict[str, Any]], None] | None = None
) -> dict[str, Handler]:
    """The on-street parking bay sensors (124 bays in two pages, or the first 100 in one)."""
    pages = _stem_pages("parking-bay-sensors_v2.1", 1 if one_page else None)
    return {f"{ODS_V21}/on-street-parking-bay-sensors/records": ods_pages(pages, change)}


def pedestrian_routes() -> dict[str, Handler]:
    """Hourly pedestrian counts (three pages) and the counters' locations (two pages)."""
    return {
        f"{ODS_V21}/pedestrian-counting-system-monthly-counts-per-hour/records": ods_pages(
            _stem_pages("pedestrian-counts_v2.1")
        ),
        f"{ODS_V21}/pedestrian-counting-system-sensor-locations/records": ods_pages(
            _stem_pages("sensor-locations_v2.1")
        ),
    }


def microclimate_routes(
    change: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Handler]:
    """Microclimate sensors' particle readings (one page)."""
    page = _load("microclimate-sensors-data_v2.1_records.json")
    return {f"{ODS_V21}/microclimate-sensors-data/records": ods_pages([page], change)}


# Source options for the answers above, in the shape a city's TOML gives them.
PARKING_OPTIONS: dict[str, Any] = {
    "dataset": "on-street-parking-bay-sensors",
    "domain": "parking",
    "kind": "bay",
    "fields": {"id": "kerbsideid", "time": "lastupdated", "position": "location"},
    "values": {
        "bay_occupied": {"field": "status_description", "map": {"Present": 1, "Unoccupied": 0}}
    },
}
PEDESTRIAN_OPTIONS: dict[str, Any] = {
    "dataset": "pedestrian-counting-system-monthly-counts-per-hour",
    "domain": "pedestrians",
    "kind": "counter",
    "fields": {
        "id": "location_id",
        "name": "sensor_name",
        "time": "sensing_date",
        "hour": "hourday",
        "position": "location",
    },
    "values": {"pedestrians": {"field": "pedestriancount", "unit": "persons/h"}},
    "sites": {
        "dataset": "pedestrian-counting-system-sensor-locations",
        "fields": {"id": "location_id", "name": "sensor_description", "position": "location"},
        "where": "status = 'A'",
    },
}
MICROCLIMATE_OPTIONS: dict[str, Any] = {
    "dataset": "microclimate-sensors-data",
    "domain": "air",
    "kind": "station",
    "fields": {
        "id": "device_id",
        "name": "sensorlocation",
        "time": "received_at",
        "position": "latlong",
    },
    "values": {
        "pm25": {"field": "pm25", "unit": "ug/m3"},
        "pm10": {"field": "pm10", "unit": "ug/m3"},
    },
}

# Which recorded answers each kind of source reads, and the layer it feeds.
ODS_SOURCES: dict[str, tuple[dict[str, Any], str, str, str]] = {
    # source id: (options, layer domain, layer metric, title)
    "parking": (PARKING_OPTIONS, "parking", "bay_occupied", "On-street parking bay sensors"),
    "pedestrians": (PEDESTRIAN_OPTIONS, "pedestrians", "pedestrians", "Pedestrian counts"),
    "air": (MICROCLIMATE_OPTIONS, "air", "eaqi", "Microclimate sensors"),
}
# metric -> (thresholds, labels) of its map layer
LAYER_STATES: dict[str, tuple[list[float], list[str]]] = {
    "bay_occupied": ([0.5], ["free", "occupied"]),
    "pedestrians": ([250, 1000], ["quiet", "busy", "crowded"]),
    "eaqi": ([], []),
}


def toml_value(value: Any) -> str:
    """``value`` as a TOML value (inline tables and arrays)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, dict):
        items = ", ".join(f"{json.dumps(str(k))} = {toml_value(v)}" for k, v in value.items())
        return "{ " + items + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def ods_city_toml(
    urls: dict[str, str],
    refresh_seconds: float = 60,
    stale_after_seconds: float = 3600,
    poll_seconds: float = 1,
    http: dict[str, Any] | None = None,
) -> str:
    """A Melbourne city config whose sources (ids from ``ODS_SOURCES``) are OpenDataSoft
    connectors reading ``urls[source]``; ``http`` adds connector limits (timeouts,
    retries)."""
    lines = [
        "[city]",
        'name = "Melbourne (fault drill)"',
        'timezone = "Australia/Melbourne"',
        "bbox = [144.55, -38.05, 145.40, -37.55]",
        "[map]",
        "center = [-37.81, 144.96]",
        "zoom = 14",
        "[ui]",
        f"poll_seconds = {poll_seconds}",
    ]
    for source, url in urls.items():
        options, _, _, title = ODS_SOURCES[source]
        lines += [
            f"[sources.{source}]",
            'connector = "opendatasoft"',
            f"name = {toml_value(title)}",
            'publisher = "City of Melbourne"',
            'licence = "CC BY 4.0"',
            f"url = {toml_value(url)}",
            f"refresh_seconds = {refresh_seconds}",
            f"stale_after_seconds = {stale_after_seconds}",
            "backfill_hours = 0",
            f"options = {toml_value({**options, **(http or {})})}",
        ]
    for source in urls:
        _, domain, metric, title = ODS_SOURCES[source]
        lines += [
            f"[layers.{source}]",
            f'domain = "{domain}"',
            f"title = {toml_value(title)}",
            f'sources = ["{source}"]',
            f'metric = "{metric}"',
            f"thresholds = {toml_value(LAYER_STATES[metric][0])}",
            f"labels = {toml_value(LAYER_STATES[metric][1])}",
        ]
    return "\n".join(lines) + "\n"
