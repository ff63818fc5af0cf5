"""The map at a past moment for the cockpit's time machine: each layer's compact file,
read from the history for the viewer's own role (``/map-data-at/<layer>.json?t=``)."""

from __future__ import annotations

from datetime import datetime, timedelta

import flask
from dash import Dash

from cockpit.city import City, CityView
from layouts.components.timemachine import valid_anchor
from layouts.routes.access import viewer_role
from layouts.routes.mapdata import cluster_url, compact_layer, server_clustered

__all__ = ["REACH", "ROUTE", "ReplayRequestError", "register", "replay_moment", "replay_urls"]

ROUTE = "/map-data-at/<layer_id>.json"
# How far back the time machine replays, with a day's slack for its 7-day range.
REACH = timedelta(days=8)


class ReplayRequestError(ValueError):
    """A replay request the server cannot answer; ``status`` is its HTTP status."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def replay_urls(view: CityView, moment: datetime) -> dict[str, str]:
    """Each layer's data at ``moment`` (layer id -> URL of the replayed compact file, or
    of the replayed views of a layer clustered on the server)."""
    at = int(moment.timestamp())
    return {
        layer_id: f"{cluster_url(layer_id, view.version, view.role)}&t={at}"
        if server_clustered(view, layer_id)
        else f"/map-data-at/{layer_id}.json?t={at}"
        for layer_id in view.layers
    }


def replay_moment(t: str | None, now: datetime) -> datetime:
    """The moment named by ``t`` (epoch seconds), in ``now``'s time zone.

    Raises ReplayRequestError when ``t`` is no whole number of seconds, lies in the
    future or further back than the replay reaches.
    """
    try:
        at = int(t or "")
    except ValueError:
        raise ReplayRequestError("t must be a time in epoch seconds") from None
    if valid_anchor(at) is None:  # before 1970 or after 2200: no datetime for it
        raise ReplayRequestError("replay reaches back 7 days at most")
    moment = datetime.fromtimestamp(at, now.tzinfo)
    if moment > now or moment < now - REACH:
        raise ReplayRequestError("replay reaches back 7 days at most")
    return moment


def register(app: Dash, city: City) -> None:
    """Add the replayed map-data route for ``city`` to ``app``."""
    tz = city.config.city.timezone

    def replay_layer(layer_id: str) -> flask.Response:
        try:
            moment = replay_moment(flask.request.args.get("t"), city.clock())
        except ReplayRequestError as exc:
            return flask.make_response(str(exc), exc.status)
        view = city.view_at(viewer_role(), moment)
        if layer_id not in view.layers:
            return flask.make_response("no such map layer", 404)
        response = flask.jsonify(compact_layer(view, layer_id, tz))
        response.headers["Cache-Control"] = "private, no-store"
        return response

    app.server.add_url_rule(ROUTE, "replay_layer", replay_layer, methods=["GET"])
