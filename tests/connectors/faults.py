"""Faults a real platform shows, served from a real HTTP server on 127.0.0.1.

Each connector's tests parametrize over ``TRANSPORT_FAULTS`` and call ``serve_fault``
for the path the connector will request, then assert the typed error that comes out.
Protocol-specific faults (a drifted schema, paging that never ends, bad values) live in
each connector's own test module.
"""

from __future__ import annotations

import dataclasses
import socket
import time

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from cockpit.errors import (
    ConnectorError,
    FetchError,
    ParseError,
    ResponseTooLarge,
    UpstreamStatusError,
)
from connectors.http import HttpLimits

# Small limits so fault tests finish quickly; retries stay on to prove they are bounded.
TEST_LIMITS = HttpLimits(
    connect_timeout_s=0.5,
    read_timeout_s=0.4,
    retries=2,
    backoff_s=0.01,
    max_retry_after_s=0.2,
    max_bytes=64 * 1024,
    max_pages=5,
)
# The same limits as a source's ``options`` table in a city config.
TEST_OPTIONS = dataclasses.asdict(TEST_LIMITS)

# kind -> the error class a connector must raise for it
TRANSPORT_FAULTS: dict[str, type[ConnectorError]] = {
    "timeout": FetchError,
    "500": UpstreamStatusError,
    "502": UpstreamStatusError,
    "503": UpstreamStatusError,
    "429": UpstreamStatusError,
    "truncated-json": ParseError,
    "html-200": ParseError,
    "wrong-content-type": ParseError,
    "too-large": ResponseTooLarge,
}


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def serve_fault(server: HTTPServer, path: str, kind: str, good_body: bytes = b"{}") -> None:
    """Make every request to ``path`` on ``server`` fail the way ``kind`` names.

    ``good_body`` is a valid answer of the protocol; ``truncated-json`` cuts it in half.
    """
    if kind == "timeout":

        def slow(_request: Request) -> Response:
            time.sleep(TEST_LIMITS.read_timeout_s * 3)
            return Response(good_body, content_type="application/json")

        server.expect_request(path).respond_with_handler(slow)
    elif kind in ("500", "502", "503"):
        server.expect_request(path).respond_with_data("error", status=int(kind))
    elif kind == "429":
        server.expect_request(path).respond_with_data(
            "slow down", status=429, headers={"Retry-After": "1"}
        )
    elif kind == "truncated-json":
        server.expect_request(path).respond_with_data(
            good_body[: max(1, len(good_body) // 2)], content_type="application/json"
        )
    elif kind == "html-200":
        server.expect_request(path).respond_with_data(
            "<html><body>Maintenance</body></html>", content_type="text/html"
        )
    elif kind == "wrong-content-type":
        server.expect_request(path).respond_with_data(good_body, content_type="text/plain")
    elif kind == "too-large":
        big = b'{"value": [' + b'{"a": 1},' * (TEST_LIMITS.max_bytes // 8) + b'{"a": 1}]}'
        server.expect_request(path).respond_with_data(big, content_type="application/json")
    else:
        raise ValueError(f"unknown fault {kind!r}")
