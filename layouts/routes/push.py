"""The endpoint NGSI brokers post their notifications to: ``POST /push/ngsi/<source>``.

The route is thin: it reads the body (at most ``limits.MAX_PUSH_BYTES``, a length
required) and hands it with the request's headers to the runtime's receiver, which
believes a notification only with the source's shared secret or HMAC signature and
stores its observations like polled ones. Answers: 200 with ``{"stored": n}``; 401
without the proof of origin, 403 with a wrong one, 404 for a source that takes no
notifications, 400 for a body that is not a notification, 413 past the size limit.
Nothing the answer says reveals stored data.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import cast

import flask
from dash import Dash

from cockpit.errors import PushRefused
from layouts.routes.limits import PUSH_PATH

__all__ = ["PUSH_PREFIX", "register"]

log = logging.getLogger(__name__)

PUSH_PREFIX = PUSH_PATH

# source id, body, request headers -> observations kept; raises ``PushRefused``.
Receiver = Callable[[str, bytes, Mapping[str, str]], int]


def register(app: Dash, receive: Receiver) -> None:
    """Add the notification endpoint to ``app``'s server, answered by ``receive``."""
    server: flask.Flask = app.server

    @server.route(f"{PUSH_PREFIX}ngsi/<source>", methods=["POST"])
    def ngsi_notification(source: str) -> flask.Response:
        request = flask.request
        try:
            # Headers, not a dict: names are matched whatever their case.
            headers = cast(Mapping[str, str], request.headers)
            stored = receive(source, request.get_data(cache=False), headers)
        except PushRefused as exc:
            log.warning(
                "notification for %s from %s refused (%d): %s",
                source, request.remote_addr, exc.status, exc.reason,
            )  # fmt: skip
            response = flask.make_response(exc.reason, exc.status)
            response.mimetype = "text/plain"
            return response
        return flask.jsonify({"stored": stored})
