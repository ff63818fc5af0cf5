"""``/live``: the stream of live signals every open screen listens to (server-sent events).

A screen opens ``/live`` once; the first event, ``hello``, tells it the stream works
(a proxy that buffers or refuses the stream never lets it arrive, and the screen keeps
polling). Then each signal its role may hear arrives as one event, ``data``,
``notices`` or ``journal``, with the version it reached, and a ``ping`` event keeps
the connection open through proxies every ``PING_SECONDS``. The role is the viewer's,
read from the session when the stream opens, exactly as in callbacks; a kiosk
(``?kiosk=1``) always listens as the public. Nothing but versions travels: a screen that
hears a signal runs its usual refresh callbacks once (``assets/live.js``).

Each open stream waits on its own mailbox (``cockpit.live.Screens``), never on a thread
of its own when the app server runs an event-loop worker (``gunicorn -k gevent``). Under
gunicorn's thread workers the stream answers ``busy`` at once and the screens poll.
"""

from __future__ import annotations

import logging
import random
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import flask
from dash import Dash

from cockpit.live import Screens, sse_event
from layouts.routes.access import viewer_role

__all__ = ["PING_SECONDS", "ROUTE", "drop_streams", "register", "stream", "streams_hold_threads"]

log = logging.getLogger(__name__)

ROUTE = "/live"
PING_SECONDS = 15.0
# A stream is closed after about this long and the screen reconnects (with the session
# read afresh: a signed-out staff screen becomes a public one), spread so that screens
# opened together do not all come back together.
STREAM_SECONDS = 600.0
RETRY_MS = 2000
SCREENS_KEY = "city_cockpit_screens"


def stream(
    screens: Screens,
    role: str,
    versions: dict[str, int],
    ping_s: float | None = None,
    lifetime_s: float | None = None,
) -> Iterator[str]:
    """The events of one screen of ``role``: ``hello`` with the current ``versions``,
    then each signal it may hear, pings between; ends after about ``lifetime_s``."""
    box = screens.open(role)
    if box is None:  # this app server holds all the screens it may: poll instead
        yield sse_event("busy", {}, retry_ms=60_000)
        return
    ping_s = PING_SECONDS if ping_s is None else ping_s
    lifetime_s = STREAM_SECONDS if lifetime_s is None else lifetime_s
    ends = time.monotonic() + lifetime_s * random.uniform(0.8, 1.0)
    try:
        yield sse_event("hello", {"role": role, **versions}, retry_ms=RETRY_MS)
        while time.monotonic() < ends and not box.closed:
            news = box.take(ping_s)
            if not news:
                yield sse_event("ping", {})
                continue
            for kind, version in news.items():
                yield sse_event(kind, {"version": version})
    finally:
        screens.close(box)


def register(app: Dash, screens: Screens, versions: Callable[[], dict[str, int]]) -> None:
    """Add ``/live`` to ``app``'s server; ``versions()`` gives the current data and
    journal versions for the ``hello`` event."""
    server: flask.Flask = app.server
    versions = _shortly_kept(versions, 0.25)
    server.extensions[SCREENS_KEY] = screens  # to end every stream at once (drop_streams)

    @server.route(ROUTE)
    def live() -> flask.Response:
        if streams_hold_threads(flask.request.environ):
            # A few threads serve every page here: a stream each would starve them.
            return _event_stream(iter([sse_event("busy", {}, retry_ms=60_000)]))
        kiosk = flask.request.args.get("kiosk") == "1"
        role = "public" if kiosk else viewer_role()
        try:
            current = dict(versions())
        except Exception:  # a store down for a moment: the screen still hears what comes
            log.exception("live: the versions could not be read")
            current = {}
        return _event_stream(stream(screens, role, current))


def _event_stream(events: Iterator[str]) -> flask.Response:
    response = flask.Response(events, mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache, no-store"
    response.headers["X-Accel-Buffering"] = "no"  # nginx: pass events on at once
    return response


def streams_hold_threads(environ: dict[str, Any]) -> bool:
    """True under gunicorn's thread workers (``sync``, ``gthread``), where each open
    stream would hold one of the few threads that serve the pages: screens there are
    told to poll. The event-loop worker (``-k gevent``) and the development server
    (a thread per request, as many as asked) hold streams."""
    if not str(environ.get("SERVER_SOFTWARE", "")).startswith("gunicorn"):
        return False
    monkey = sys.modules.get("gevent.monkey")
    return not (monkey is not None and monkey.is_module_patched("socket"))


def _shortly_kept(
    read: Callable[[], dict[str, int]], seconds: float
) -> Callable[[], dict[str, int]]:
    """``read`` answered from memory for ``seconds``: hundreds of screens reconnecting at
    once (an app server restarted) ask the stores once, not once each."""
    lock = threading.Lock()
    kept: list[Any] = [0.0, {}]

    def versions() -> dict[str, int]:
        with lock:
            if time.monotonic() - kept[0] > seconds:
                kept[1] = read()
                kept[0] = time.monotonic()
            return dict(kept[1])

    return versions


def drop_streams(app: Dash) -> int:
    """End every open stream of ``app`` now (before a server stops: no answer is left
    waiting for its next ping); the screens reconnect by themselves. Returns how many."""
    screens = app.server.extensions.get(SCREENS_KEY)
    return screens.drop_all() if screens is not None else 0
