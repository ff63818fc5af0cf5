"""Request size, JSON depth and callback shape limits, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import requests
from dash import Dash

from layouts.routes.limits import (
    MAX_BODY_BYTES,
    MAX_CALLBACK_BYTES,
    MAX_CALLBACK_VALUES,
    MAX_JSON_DEPTH,
    MAX_PUSH_BYTES,
    PUSH_PATH,
    BadCallbackRequest,
    body_limit,
    check_callback_body,
    json_depth,
)
from tests.browser import AppServers
from tests.notices_calls import notices_body
from wiring.runtime import Runtime

CALLBACK = "/_dash-update-component"
VERSION_CALL = {
    "output": "cc-version.data",
    "outputs": {"id": "cc-version", "property": "data"},
    "inputs": [{"id": "cc-tick", "property": "n_intervals", "value": 1}],
    "state": [{"id": "cc-version", "property": "data", "value": None}],
    "changedPropIds": ["cc-tick.n_intervals"],
}


@pytest.fixture(scope="module")
def runtime(app_server: AppServers) -> Runtime:
    return app_server.city(backfill=False)


@pytest.fixture(scope="module")
def app(app_server: AppServers, runtime: Runtime) -> Dash:
    return app_server.app(runtime)


@pytest.fixture(scope="module")
def base(app_server: AppServers, app: Dash) -> str:
    url = app_server.url(app)
    requests.get(url + "/", timeout=30)  # Dash completes its callback map on first use
    return url


def _post(base: str, body: bytes | str, path: str = CALLBACK) -> requests.Response:
    headers = {"Content-Type": "application/json", "Connection": "close"}
    return requests.post(base + path, data=body, headers=headers, timeout=30)


def _raw_request(base: str, head: str, body: bytes) -> int:
    """Send ``head`` and ``body`` on a plain socket and return the answer's status: the
    body may be far shorter than the length it declares."""
    parts = urlsplit(base)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(head.encode() + b"\r\n" + body)
        answer = sock.recv(4096).decode("latin-1")
    return int(answer.split(" ", 2)[1])


def test_a_valid_callback_request_is_answered(base: str) -> None:
    answer = _post(base, json.dumps(VERSION_CALL))
    assert answer.status_code in (200, 204)


def test_a_huge_declared_body_is_refused_before_it_is_read(base: str) -> None:
    head = (
        f"POST {CALLBACK} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {400 * 1024 * 1024}\r\nConnection: close\r\n"
    )
    assert _raw_request(base, head, b'{"output": "') == 413


def test_parallel_oversized_callback_bodies_are_all_refused(base: str) -> None:
    body = b'{"output": "' + b"x" * (MAX_CALLBACK_BYTES + 1) + b'"}'
    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(lambda _: _post(base, body).status_code, range(24)))
    assert statuses == [413] * 24


def test_a_chunked_body_without_a_length_is_cut_off(base: str) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"output": "'
        for _ in range(MAX_CALLBACK_BYTES // 65536 + 2):
            yield b"x" * 65536
        yield b'"}'

    answer = requests.post(
        base + CALLBACK,
        data=chunks(),
        headers={"Content-Type": "application/json", "Connection": "close"},
        timeout=30,
    )
    assert answer.status_code == 413


def _concrete(rule: str) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: f"x{m.group(1)}", rule)


def test_every_route_refuses_a_body_over_the_limit(app: Dash, base: str) -> None:
    rules = sorted({_concrete(r.rule) for r in app.server.url_map.iter_rules()})
    assert "/signin" in rules and "/api/v1/kpis" in rules
    for path in rules:
        if path == CALLBACK:
            continue
        # Platforms' notifications (/push/) and citizens' reports with a photo (/report)
        # have their own, larger limits.
        limit = body_limit(app, path)
        if path.startswith(PUSH_PATH):
            assert limit == MAX_PUSH_BYTES
        elif path != "/report":
            assert limit == MAX_BODY_BYTES
        body = b"a" * (limit + 1)
        for method in ("POST", "GET"):
            answer = requests.request(
                method, base + path, data=body, headers={"Connection": "close"}, timeout=30
            )
            assert answer.status_code == 413, (method, path, answer.status_code)


def test_a_sign_in_form_within_the_limit_is_still_read(base: str) -> None:
    answer = requests.post(
        base + "/signin", data={"user": "x", "password": "y"}, timeout=30, allow_redirects=False
    )
    assert answer.status_code == 400  # no CSRF token: read and refused, not 413


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"a": ' * 100_000 + "1" + "}" * 100_000, "nested too deeply"),
        ("[1, 2, 3]", "not a JSON object"),
        ("not json", "not JSON"),
        ('{"output": "cc-nothing.children", "inputs": []}', "no such callback"),
        ('{"output": 7, "inputs": []}', "no such callback"),
        ('{"output": "cc-kiosk-ask.data", "inputs": []}', "no such callback"),  # in the browser
        ('{"output": "cc-version.data", "inputs": []}', "inputs do not match"),
        ('{"output": "cc-version.data", "inputs": "x", "state": []}', "inputs do not match"),
        (
            json.dumps({**VERSION_CALL, "inputs": [{"id": "cc-tick", "property": 5}]}),
            "inputs do not match",
        ),
        (json.dumps({**VERSION_CALL, "state": [1]}), "states do not match"),
        (
            json.dumps({**VERSION_CALL, "state": [{"id": "cc-other", "property": "data"}]}),
            "states do not match",
        ),
        (
            json.dumps(
                {
                    **VERSION_CALL,
                    "inputs": [{"id": "cc-tick", "property": "n_intervals", "value": -1}],
                }
            ),
            "n_intervals has a value of the wrong type",
        ),
        (json.dumps({**VERSION_CALL, "changedPropIds": [{}]}), "changed properties"),
        (json.dumps({**VERSION_CALL, "outputs": 3}), "outputs do not match"),
    ],
)
def test_malformed_callback_requests_are_refused_with_400(base: str, body: str, why: str) -> None:
    answer = _post(base, body)
    assert answer.status_code == 400
    assert why in answer.text
    assert "Traceback" not in answer.text


def test_too_many_pattern_matched_values_are_refused(base: str) -> None:
    members = [
        {"id": {"type": "cc-notice-withdraw", "id": n}, "property": "n_clicks", "value": 1}
        for n in range(MAX_CALLBACK_VALUES + 1)
    ]
    body = notices_body(None, withdraw=members)
    answer = _post(base, json.dumps(body))
    assert answer.status_code == 400
    assert "too many values" in answer.text


def test_json_depth_counts_brackets_outside_strings_only() -> None:
    assert json_depth(b'{"a": [1, {"b": "[[[[{"}]}') == 3
    assert json_depth(b'"\\"[["') == 0
    assert json_depth(b"[" * 10 + b"]" * 10) == 10


def test_check_callback_body_accepts_the_declared_shape() -> None:
    callback_map = {
        "cc-version.data": {
            "inputs": [{"id": "cc-tick"}],
            "state": [{"id": "cc-version"}],
            "callback": print,
        }
    }
    assert check_callback_body(json.dumps(VERSION_CALL).encode(), callback_map)["output"]
    deep = b'{"output": ' + b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1) + b"}"
    with pytest.raises(BadCallbackRequest, match="too deeply"):
        check_callback_body(deep, callback_map)


def test_a_chunked_body_to_another_route_needs_a_length(base: str) -> None:
    answer = requests.post(base + "/signin", data=iter([b"user=a&", b"password=b"]), timeout=30)
    assert answer.status_code == 411
