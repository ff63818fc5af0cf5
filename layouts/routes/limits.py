"""Bounds on what a request may carry, checked before any page or callback reads it.

Size
    Every request body is capped (``MAX_BODY_BYTES``; ``MAX_CALLBACK_BYTES`` for Dash's
    callback endpoint, whose requests carry the page's inputs and stores). A request that
    declares a larger ``Content-Length`` is answered 413 without reading its body; a
    callback request sent in chunks without a length is read up to the limit and answered
    413 beyond it. Notifications platforms post to ``/push/`` may carry up to
    ``MAX_PUSH_BYTES``; a route that takes uploads (a citizen's report with its photo)
    declares its own limit with ``allow_body``. Other routes take no chunked bodies
    (411): their forms and notifications carry their length.

Callback requests
    A POST to ``/_dash-update-component`` must be a JSON object whose nesting is at most
    ``MAX_JSON_DEPTH`` deep (measured without parsing, so a 100,000-deep array cannot
    exhaust the parser's stack), naming a callback the cockpit has, with the inputs and
    states that callback declares (at most ``MAX_CALLBACK_VALUES`` values, counting each
    member of a pattern-matching group), and properties whose type all components share
    (click counts, URL parts, flags, click data) of that type. Anything else is answered
    400 with a short plain message; Dash never sees it. A request for a script of a
    library the cockpit does not have is answered 404.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Final

import flask
from dash import Dash
from dash.exceptions import DependencyException, UnsupportedRelativePath

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_CALLBACK_BYTES",
    "MAX_CALLBACK_VALUES",
    "MAX_JSON_DEPTH",
    "MAX_PUSH_BYTES",
    "BadCallbackRequest",
    "allow_body",
    "body_limit",
    "check_callback_body",
    "install",
    "json_depth",
]

MAX_BODY_BYTES: Final = 256 * 1024
MAX_CALLBACK_BYTES: Final = 4 * 1024 * 1024
MAX_JSON_DEPTH: Final = 64
# A broker's notification carries the entities that changed, a few hundred at most.
MAX_PUSH_BYTES: Final = 1024 * 1024
PUSH_PATH: Final = "/push/"
MAX_CALLBACK_VALUES: Final = 2_000
CALLBACK_PATH: Final = "/_dash-update-component"

# Properties whose type every Dash component agrees on: a value of another type is a
# crafted request, refused here so that no callback has to guess what it means.
_COUNTERS: Final = frozenset({"n_clicks", "n_intervals", "n_submit", "n_blur"})
_TEXTS: Final = frozenset({"pathname", "search", "hash", "href"})
_FLAGS: Final = frozenset({"hidden", "disabled", "is_open", "open"})
_OBJECTS: Final = frozenset({"clickData", "hoverData", "selectedData", "relayoutData"})
_STRING_OR_BRACKET: Final = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
_WILDCARDS: Final = ('["ALL"]', '["ALLSMALLER"]')


_BODY_LIMITS: Final = "CITY_COCKPIT_BODY_LIMITS"


def allow_body(app: Dash, path: str, limit: int) -> None:
    """Let requests to ``path`` (exactly) on ``app``'s server carry up to ``limit`` bytes
    instead of ``MAX_BODY_BYTES``."""
    app.server.config.setdefault(_BODY_LIMITS, {})[path] = limit


def body_limit(app: Dash, path: str) -> int:
    """The most bytes a request to ``path`` on ``app``'s server may carry."""
    callback_path = app.config.routes_pathname_prefix + CALLBACK_PATH.lstrip("/")
    limit = MAX_CALLBACK_BYTES if path == callback_path else MAX_BODY_BYTES
    if path.startswith(PUSH_PATH):
        limit = MAX_PUSH_BYTES
    return int(app.server.config.get(_BODY_LIMITS, {}).get(path, limit))


class BadCallbackRequest(ValueError):
    """A callback request the cockpit refuses; the message says why (safe to show)."""


def json_depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects in the JSON text ``body``.

    Strings are skipped whole, so brackets inside them do not count. The scan reads the
    text once and keeps no stack, whatever the depth."""
    depth = deepest = 0
    for match in _STRING_OR_BRACKET.finditer(body):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        elif token in (b"]", b"}"):
            depth -= 1
    return deepest


def _is_group(dependency: dict[str, Any]) -> bool:
    """True for a dependency whose id matches many components (``ALL``/``ALLSMALLER``)."""
    return any(w in str(dependency.get("id", "")) for w in _WILDCARDS)


def _well_typed(prop: str, value: Any) -> bool:
    """False when ``value`` cannot be ``prop``'s value in any Dash component."""
    if value is None:
        return prop != "pathname"
    if prop in _COUNTERS:
        return (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
            and 0 <= value <= 2**53
        )
    if prop in _TEXTS:
        return isinstance(value, str)
    if prop in _FLAGS:
        return isinstance(value, bool)
    if prop in _OBJECTS:
        return isinstance(value, dict)
    return True


def _same_id(sent: Any, declared: Any) -> bool:
    """True when the sent component id fits the declared one: the same string, or for a
    pattern (a JSON object) the same keys with the fixed values equal and each wildcard
    a string or a number."""
    if isinstance(declared, str) and declared.startswith("{"):
        try:
            declared = json.loads(declared)
        except ValueError:
            return False
    if not isinstance(declared, dict):
        return sent == declared
    if not isinstance(sent, dict) or set(sent) != set(declared):
        return False
    for key, pattern in declared.items():
        value = sent[key]
        if isinstance(pattern, list):  # a wildcard
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                return False
        elif value != pattern:
            return False
    return True


def _count_values(sent: Any, declared: list[dict[str, Any]], where: str) -> int:
    if not isinstance(sent, list) or len(sent) != len(declared):
        raise BadCallbackRequest(f"{where} do not match the callback")
    count = 0
    for item, dependency in zip(sent, declared, strict=True):
        members = item if _is_group(dependency) else [item]
        if not isinstance(members, list):
            raise BadCallbackRequest(f"{where} do not match the callback")
        for member in members:
            if not isinstance(member, dict) or not isinstance(member.get("property"), str):
                raise BadCallbackRequest(f"{where} do not match the callback")
            if not _same_id(member.get("id"), dependency.get("id")):
                raise BadCallbackRequest(f"{where} do not match the callback")
            if member["property"] == "id" and member.get("value", member["id"]) != member["id"]:
                raise BadCallbackRequest("an id property differs from its component's id")
            if not _well_typed(member["property"], member.get("value")):
                raise BadCallbackRequest(f"{member['property']} has a value of the wrong type")
        count += len(members)
    return count


def check_callback_body(body: bytes, callback_map: dict[str, Any]) -> dict[str, Any]:
    """The parsed callback request ``body``, checked against ``callback_map``.

    Raises ``BadCallbackRequest`` for text nested deeper than ``MAX_JSON_DEPTH``, text
    that is not a JSON object, an unknown callback, inputs or states that do not match
    the callback's declaration, or more than ``MAX_CALLBACK_VALUES`` values."""
    # Counting brackets runs in C: only a body with enough of them is scanned for depth.
    brackets = body.count(b"[") + body.count(b"{")
    if brackets > MAX_JSON_DEPTH and json_depth(body) > MAX_JSON_DEPTH:
        raise BadCallbackRequest("the request is nested too deeply")
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise BadCallbackRequest("the request is not JSON") from exc
    if not isinstance(parsed, dict):
        raise BadCallbackRequest("the request is not a JSON object")
    output = parsed.get("output")
    callback = callback_map.get(output) if isinstance(output, str) else None
    if callback is None or "callback" not in callback:  # unknown, or run in the browser
        raise BadCallbackRequest("no such callback")
    outputs = parsed.get("outputs", [])
    if not isinstance(outputs, list | dict):
        raise BadCallbackRequest("the outputs do not match the callback")
    changed = parsed.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(isinstance(c, str) for c in changed):
        raise BadCallbackRequest("the changed properties are not a list of names")
    count = _count_values(parsed.get("inputs"), callback["inputs"], "the inputs")
    count += _count_values(parsed.get("state", []), callback["state"], "the states")
    if count > MAX_CALLBACK_VALUES:
        raise BadCallbackRequest("the request carries too many values")
    return parsed


def _plain(text: str, status: int) -> flask.Response:
    response = flask.make_response(text, status)
    response.mimetype = "text/plain"
    return response


def _too_large(limit: int) -> flask.Response:
    return _plain(f"The request is larger than {limit // 1024} KiB.", 413)


def install(app: Dash) -> None:
    """Cap every request's size on ``app``'s server and check callback requests."""
    server: flask.Flask = app.server
    server.config["MAX_CONTENT_LENGTH"] = MAX_CALLBACK_BYTES
    callback_path = app.config.routes_pathname_prefix + CALLBACK_PATH.lstrip("/")

    def before_request() -> flask.Response | None:
        request = flask.request
        is_callback = request.path == callback_path
        limit = body_limit(app, request.path)
        if request.path in server.config.get(_BODY_LIMITS, {}):
            request.max_content_length = limit
        if (request.content_length or 0) > limit:
            return _too_large(limit)
        chunked = request.content_length is None and "chunked" in request.headers.get(
            "Transfer-Encoding", ""
        )
        if chunked and not is_callback:
            return _plain("Please send the request's Content-Length.", 411)
        if not is_callback or request.method != "POST":
            return None
        # One byte over the limit is read, so that a body without a length that runs
        # past the limit is told apart from one that ends exactly on it.
        request.max_content_length = limit + 1
        body = request.get_data(cache=True)
        if len(body) > limit:
            return _too_large(limit)
        try:
            check_callback_body(body, app.callback_map)
        except BadCallbackRequest as exc:
            return _plain(f"Bad callback request: {exc}.", 400)
        return None

    def unknown_library(_error: DependencyException) -> flask.Response:
        return _plain("No such file.", 404)

    def foreign_path(_error: UnsupportedRelativePath) -> flask.Response:
        return _plain("Bad callback request: the page's path is not the cockpit's.", 400)

    server.register_error_handler(DependencyException, unknown_library)
    server.register_error_handler(UnsupportedRelativePath, foreign_path)
    # After Dash's own set-up hook, which completes ``callback_map`` on the first request.
    server.before_request(before_request)
