"""The app factory: the only place where the city runtime meets Dash and Flask."""

from __future__ import annotations

import importlib
import logging
import os
import secrets
import sqlite3
from functools import partial
from pathlib import Path

import flask
from dash import Dash

from cockpit.auth import may_see
from cockpit.city import City, overall_status
from cockpit.live import SignallingJournal
from layouts.components import page_language
from layouts.components.shell import shell
from layouts.page_table import register_pages
from layouts.pages import cockpit
from layouts.routes import limits, live, push, replay
from layouts.routes.access import viewer_role
from wiring.compression import install_compression
from wiring.runtime import Runtime

__all__ = ["create_app"]

log = logging.getLogger(__name__)

ASSETS = Path(__file__).resolve().parent.parent / "assets"

# Each feature module adds its routes and callbacks with ``register(app, city, journal)``;
# what it returns, if anything, prepares a new data version before browsers ask for it.
# The pages themselves come from the page table (``layouts/page_table.py``).
FEATURES = (
    "layouts.routes.security",
    "layouts.routes.signin",
    "layouts.routes.audit",
    "layouts.routes.api",
    "layouts.routes.downloads",
    "layouts.routes.brief",
    "layouts.pages.mobile",
    "layouts.pages.kiosk",
    "layouts.pages.citizen",
    "layouts.routes.about",
    "layouts.routes.kiosks",
    "layouts.routes.reports",
    "layouts.routes.mapdata",
    "layouts.routes.mapclusters",
    "layouts.pages.notices",
    "layouts.pages.decisions",
    "layouts.pages.rules",
    "layouts.pages.twin3d",
)


def _damaged_parts(runtime: Runtime) -> dict[str, str]:
    """The stores found damaged at start-up and started afresh: part -> what happened."""
    found = {}
    for store in (runtime.store, runtime.history, runtime.journal):
        recovery = getattr(store, "recovered", None)
        if recovery is not None:
            found[recovery.part] = recovery.message()
    return found


def _forecasts(city: City, roles: list[str]) -> None:
    """Make the hour's forecast (``City.forecasts``; kept per hour) of each of ``roles``
    whose viewers look at forecasts (``City.forecast_roles``)."""
    wanted = city.forecast_roles()
    for role in roles:
        if role in wanted:
            city.forecasts(role)


def _watch_seconds(runtime: Runtime) -> float:
    """How often this process reads the shared versions for its screens: often on the
    embedded backend (the only way another process's change arrives), seldom on the
    server backend (Redis carries the signals; the watch is a safety net).
    ``CITY_COCKPIT_LIVE_WATCH_SECONDS`` overrides it."""
    default = 0.5 if runtime.refreshes_in_process else 5.0
    try:
        return float(os.environ.get("CITY_COCKPIT_LIVE_WATCH_SECONDS", default))
    except ValueError:
        log.warning("CITY_COCKPIT_LIVE_WATCH_SECONDS is not a number; using %s", default)
        return default


def create_app(runtime: Runtime, start_refresher: bool = True) -> Dash:
    """A Dash app serving ``runtime``'s city; starts its refresher thread (embedded
    backend) and its push subscription holder unless told not to.

    Routes: ``/`` the cockpit, ``/health`` the sources' status as JSON,
    ``/push/ngsi/<source>`` the notifications of NGSI brokers.
    """
    config = runtime.config
    app = Dash(
        __name__,
        title=f"City Cockpit · {config.city.name}",
        update_title=None,  # type: ignore[arg-type]  # None keeps the title; Dash types it str
        assets_folder=str(ASSETS),
        use_pages=True,
        pages_folder="",
        serve_locally=True,
        # Otherwise Dash renders every page's layout, with data, on the first request to
        # check callback ids: seconds before the first visitor sees a page.
        suppress_callback_exceptions=True,
    )
    page_language.install(app, config.city.languages)
    server: flask.Flask = app.server
    server.secret_key = os.environ.get("CITY_COCKPIT_SECRET_KEY") or secrets.token_hex(32)
    server.config["SESSION_COOKIE_HTTPONLY"] = True
    server.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    # Pages, callback answers, scripts and map data travel compressed (brotli, else gzip).
    install_compression(server)

    city = runtime.city
    # Every notice, acknowledgement and decision written through a page is told at once
    # to the screens of every app server (``/live``).
    journal = SignallingJournal(runtime.journal, runtime.signals)
    register_pages(runtime)
    # The renderer's first request gets the page being opened, not an empty container.
    app.layout = lambda: shell(app)
    cockpit.register_callbacks(app, city)
    replay.register(app, city)
    push.register(app, runtime.push.receive)
    live.register(
        app,
        runtime.start_live(_watch_seconds(runtime)),
        lambda: {"data": city.version(), "journal": runtime.journal.version()},
    )
    warm_hooks = []
    for name in FEATURES:
        warm = importlib.import_module(name).register(app, city, journal)
        if warm is not None:
            warm_hooks.append(warm)
    # After the security guard: a cross-site request is refused as such before its body
    # is read or judged.
    limits.install(app)
    # New data versions are prepared (views, layer files) before browsers ask for them;
    # last, once per clock hour, the city's forecast for the roles that look at forecasts
    # (one model fitted over every site in a few seconds), so a click only reads it.
    runtime.warm_hooks.extend(warm_hooks)
    runtime.warm_hooks.append(partial(_forecasts, city))
    if warm_hooks:
        runtime.start_warmer()

    # What a request found damaged while serving (the newest only), for /health.
    seen_damage: list[str] = []

    @server.route("/health")
    def health() -> flask.Response:
        role = viewer_role()
        report = city.health(role)
        for source_id, entry in list(report["sources"].items()):
            if not may_see(role, config.sources[source_id].access):
                del report["sources"][source_id]
            elif role == "public":
                entry.pop("last_error", None)
        # The overall status speaks of the sources this viewer may see, no others.
        report["status"] = overall_status(report["sources"].values())
        damaged = _damaged_parts(runtime)
        if seen_damage:  # a request met a damaged file since start-up
            damaged["storage"] = seen_damage[-1]
        if damaged:  # operators read the files' names; the public only which parts
            report["damaged"] = damaged if role != "public" else dict.fromkeys(damaged, "")
        lost_history = "history" in damaged or "storage" in damaged
        status = 503 if report["status"] == "down" or lost_history else 200
        return flask.make_response(flask.jsonify(report), status)

    def damaged_database(error: sqlite3.DatabaseError) -> flask.Response:
        folder = getattr(runtime.store, "directory", "the data folder")
        seen_damage[:] = [f"a database file in {folder} is damaged ({error})"]
        log.error(
            "a database file in %s is damaged (%s): stop the cockpit and check "
            "history.sqlite, journal.sqlite and snapshots/; a restart moves a damaged "
            "file aside and starts it afresh",
            folder,
            error,
        )
        response = flask.make_response(
            "Part of City Cockpit's stored data is damaged. The operators have been told.", 503
        )
        response.mimetype = "text/plain"
        return response

    server.register_error_handler(sqlite3.DatabaseError, damaged_database)

    if start_refresher and runtime.refreshes_in_process:
        runtime.refresher.start()
        runtime.notify.start()
    if start_refresher:  # with either backend: one process of all holds each one
        runtime.push.start()
    return app
