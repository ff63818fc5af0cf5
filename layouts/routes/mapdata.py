"""Map layers as compact, compressed, versioned files: ``/map-data/<layer>.json?v=<version>``.

A city of tens of thousands of sites cannot ship its map as GeoJSON inside the page:
the page would weigh megabytes and every refresh would send it again. Instead the page
names each layer's data by URL, with the data version in it, and a small loader in the
browser (``assets/mapdata.js``) fetches it and builds the features the map draws. A URL
names one version's data, so the browser keeps it until the version changes.

The file is columnar: coordinates as whole 1e-5 degrees (about a metre) delta-coded
from the previous site, and every text column with few distinct values (states, times,
sources, districts, formatted values) as a list of distinct texts plus one small index
per site. Each layer file is built, serialized and compressed once per data version and
role in each process.

Access: the file is built for the viewer's role (``viewer_role()``), never for a role
named in the URL; a layer the role may not see answers 404. The ``r`` parameter only
keeps a signed-in viewer's files apart from public ones in the browser's cache.
"""

from __future__ import annotations

import gzip
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import flask
import pandas as pd
from dash import MATCH, Dash, Input, Output, State

from cockpit.city import City, CityView
from cockpit.storage import Journal
from layouts.components.clientside import clientside
from layouts.components.map import (
    BASEMAP_ROUTE,
    LAYER_ID,
    MAP_ID,
    SOURCE_ID,
    basemap_file,
    is_cluster_url,
)
from layouts.routes.access import viewer_role

__all__ = [
    "CLUSTERS_ROUTE",
    "SERVER_CLUSTER_SITES",
    "LayerFiles",
    "basemap_response",
    "cluster_url",
    "compact_layer",
    "compact_table",
    "encoded_bodies",
    "is_cluster_url",
    "map_data_url",
    "map_data_urls",
    "register",
    "server_clustered",
]

ROUTE = "/map-data/<layer_id>.json"
# The viewer's current layer files, so that the page can fetch them while it loads.
INDEX = "/map-data.json"
FORMAT = 1
# Coordinates travel as integers of this many degrees (1e-5 degrees is about 1 m).
SCALE = 100_000
# Text columns sent as-is; the others as distinct texts plus indices.
PLAIN = ("id", "name")
CODED = ("district", "value", "metric", "state", "level", "time", "source", "origin", "fetched")


# A map of at least this many sites (all its layers together) is clustered on the server
# (``layouts/routes/mapclusters.py``): the browser asks for the clusters of its view, never
# for every site. Smaller maps travel whole and cluster in the browser, which answers a
# pan without a round trip (the crossover is measured by ``bench/map_scale.py``).
SERVER_CLUSTER_SITES = 20_000
# The clusters of a view of a server-clustered layer; the browser adds the view
# (``&z=<zoom>&b=<blocks>``) to the URL the page names.
CLUSTERS_ROUTE = "/map-clusters/<layer_id>.json"


def map_data_url(layer_id: str, version: int, role: str) -> str:
    """The URL of a layer's data at ``version`` as served to ``role``."""
    return f"/map-data/{layer_id}.json?v={version}&r={role}"


def server_clustered(view: CityView, layer_id: str) -> bool:
    """Whether the layer's map is clustered on the server: the view's map holds enough
    sites, in all its layers together. One map takes one path: small layers clustered in
    the browser beside a large one on the server cost the page's first view their files
    and their clustering (measured by ``bench/map_scale.py``), while on the server each
    is carried in the page like the large one."""
    if layer_id not in view.layers:
        return False
    return sum(len(states) for states in view.layers.values()) >= SERVER_CLUSTER_SITES


def cluster_url(layer_id: str, version: int, role: str) -> str:
    """The URL of a server-clustered layer's views at ``version`` as served to ``role``."""
    return f"/map-clusters/{layer_id}.json?v={version}&r={role}"


def map_data_urls(view: CityView) -> dict[str, str]:
    """Each layer of ``view`` (layer id -> the URL of its data, or of its views when
    the layer is clustered on the server)."""
    return {
        layer_id: (cluster_url if server_clustered(view, layer_id) else map_data_url)(
            layer_id, view.version, view.role
        )
        for layer_id in view.layers
    }


def _deltas(values: pd.Series) -> list[int]:
    ints = (values.astype(float) * SCALE).round().astype("int64")
    # The first delta is the value itself; pandas-stubs do not take a Series to fill from.
    return ints.diff().fillna(ints).astype("int64").tolist()  # type: ignore[arg-type]


def compact_layer(view: CityView, layer_id: str, timezone: str) -> dict[str, Any]:
    """The layer of ``view`` in the compact columnar form ``assets/mapdata.js`` reads.

    Decoded, site ``i`` is the same feature ``CityView.layer_features`` gives: position
    from the running sums of ``x``/``y`` over ``scale``, and each property either
    ``columns[name][i]`` or ``columns[name].keys[columns[name].codes[i]]``.
    """
    return compact_table(view.layer_table(layer_id, timezone), layer_id, view.version)


def compact_table(table: pd.DataFrame, layer_id: str, version: int) -> dict[str, Any]:
    """Rows of a layer's table (``CityView.layer_table``) in the compact form."""
    columns: dict[str, Any] = {name: table[name].astype(str).tolist() for name in PLAIN}
    for name in CODED:
        codes, keys = pd.factorize(table[name].astype(str), sort=False)
        columns[name] = {"keys": [str(k) for k in keys], "codes": codes.tolist()}
    return {
        "format": FORMAT,
        "layer": layer_id,
        "version": version,
        "n": len(table),
        "scale": SCALE,
        "x": _deltas(table["lon"]),
        "y": _deltas(table["lat"]),
        "columns": columns,
    }


def dumps(data: dict[str, Any]) -> bytes:
    try:
        import orjson
    except ImportError:  # orjson is optional: the standard library gives the same JSON
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    return orjson.dumps(data)


class LayerFiles:
    """Serialized and compressed layer files, kept per (version, role, layer)."""

    def __init__(self, city: City, keep: int = 16) -> None:
        self.city = city
        self.keep = keep
        self._lock = threading.Lock()
        self._files: OrderedDict[tuple[int, str, str], dict[str, bytes]] = OrderedDict()

    def get(self, role: str, layer_id: str) -> tuple[int, dict[str, bytes]] | None:
        """The current version and the layer's file as plain, gzip and (if brotli is
        installed) br bytes; None when ``role`` may not see the layer."""
        view = self.city.view(role)
        if layer_id not in view.layers:
            return None
        key = (view.version, role, layer_id)
        with self._lock:
            found = self._files.get(key)
        if found is None:
            plain = dumps(compact_layer(view, layer_id, self.city.config.city.timezone))
            found = encoded_bodies(plain)
            with self._lock:
                self._files[key] = found
                while len(self._files) > self.keep:
                    self._files.popitem(last=False)
        return view.version, found

    def warm(self, roles: list[str]) -> None:
        """Build the layer files of ``roles`` at the current version ahead of requests."""
        for role in roles:
            view = self.city.view(role)
            for layer_id in view.layers:
                if not server_clustered(view, layer_id):
                    self.get(role, layer_id)


def encoded_bodies(plain: bytes) -> dict[str, bytes]:
    """``plain`` as it may travel: as is, gzip and (brotli comes with flask-compress) br,
    each made once so that every request after the first only copies it out."""
    found = {"identity": plain, "gzip": gzip.compress(plain, 6)}
    try:
        import brotli
    except ImportError:  # flask-compress without brotli: gzip serves every browser
        return found
    found["br"] = brotli.compress(plain, quality=5)
    return found


def encoding_for(accepted: str, available: dict[str, bytes]) -> str:
    offered = {p.split(";")[0].strip().lower() for p in accepted.split(",")}
    for name in ("br", "gzip"):
        if name in offered and name in available:
            return name
    return "identity"


def encoded_response(bodies: dict[str, bytes], etag: str) -> flask.Response:
    """JSON ``bodies`` (by content encoding) in the encoding the request accepts, under
    ``etag``; 304 when the browser already holds that tag."""
    request = flask.request
    if request.if_none_match.contains(etag):
        response = flask.make_response("", 304)
    else:
        encoding = encoding_for(request.headers.get("Accept-Encoding", ""), bodies)
        response = flask.make_response(bodies[encoding])
        response.mimetype = "application/json"
        if encoding != "identity":
            response.headers["Content-Encoding"] = encoding
    response.headers["ETag"] = f'"{etag}"'
    return response


def layer_response(files: LayerFiles, layer_id: str) -> flask.Response:
    """The answer of the map-data route for the current viewer."""
    role = viewer_role()
    found = files.get(role, layer_id)
    if found is None:
        return flask.make_response("no such map layer", 404)
    version, bodies = found
    request = flask.request
    response = encoded_response(bodies, f"{layer_id}-{version}-{role}")
    response.headers["Vary"] = "Accept-Encoding, Cookie"
    asked = request.args.get("v", "")
    if role != "public" or request.args.get("r") != role:
        # Internal data never rests in a shared cache; a URL naming another role is
        # answered for the viewer's own role and not kept.
        response.headers["Cache-Control"] = "private, no-store"
    elif asked == str(version):
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    else:
        response.headers["Cache-Control"] = "no-cache"
    return response


def basemap_response(city: City) -> flask.Response:
    """The city's offline basemap: the same public file for every viewer."""
    config = city.config
    if not config.map.basemap:
        return flask.make_response("this city has no basemap", 404)
    body, digest = basemap_file(str(config.resolve(config.map.basemap)))
    response = flask.make_response(body)
    response.mimetype = "application/json"
    response.headers["ETag"] = f'"{digest}"'
    if flask.request.args.get("h") == digest:
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    else:
        response.headers["Cache-Control"] = "no-cache"
    return response


# The cockpit page's lazily loaded scripts (the clustered layers, its slider and
# dropdowns): the renderer asks for them only once it reaches those components.
LAZY_SCRIPTS = (
    "dash_leaflet/async-GeoJSON.js",
    "dash/dcc/async-slider.js",
    "dash/dcc/async-dropdown.js",
)


# Of those, the one the map layers need, loaded with the page's own scripts: its webpack
# chunk registers itself, and the layers never wait for it.
EAGER_MAP_SCRIPT = LAZY_SCRIPTS[0]


def _cache_assets(response: flask.Response) -> flask.Response:
    """Dash names each asset with its modification time (``?m=...``): such a URL never
    changes content, so browsers may keep it for a year."""
    request = flask.request
    if request.path.startswith("/assets/") and "m" in request.args and response.status_code == 200:
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


def register(app: Dash, city: City, journal: Journal) -> Callable[[list[str]], None]:
    """Add the map-data route, the loader callback and asset caching to ``app``; returns
    what prepares the layer files of a new data version (for the roles given) before
    browsers ask for them."""
    files = LayerFiles(city)
    server: flask.Flask = app.server

    def map_data(layer_id: str) -> flask.Response:
        return layer_response(files, layer_id)

    def map_data_index() -> flask.Response:
        view = city.view(viewer_role())
        urls = [url for url in map_data_urls(view).values() if not is_cluster_url(url)]
        response = flask.jsonify({"version": view.version, "urls": urls})
        response.headers["Cache-Control"] = "no-store"
        return response

    def preload(response: flask.Response) -> flask.Response:
        # The cockpit page names its layer files and lazy scripts in Link headers: the
        # browser fetches them while it still loads the page's scripts.
        if flask.request.path != "/" or response.status_code != 200:
            return response
        response.headers.extend(
            (
                "Link",
                f"<{app.get_relative_path('/_dash-component-suites/' + path)}>; "
                "rel=preload; as=script",
            )
            for path in LAZY_SCRIPTS
        )
        view = city.ready_view(viewer_role())  # never delays the page to build it
        if view is not None:
            response.headers.extend(
                ("Link", f"<{url}>; rel=preload; as=fetch; crossorigin")
                for url in map_data_urls(view).values()
                if not is_cluster_url(url)
            )
        return response

    server.add_url_rule(ROUTE, "map_data", map_data, methods=["GET"])
    server.add_url_rule(INDEX, "map_data_index", map_data_index, methods=["GET"])
    server.add_url_rule(
        BASEMAP_ROUTE, "map_basemap", lambda: basemap_response(city), methods=["GET"]
    )
    server.after_request(preload)
    server.after_request(_cache_assets)
    # The map layers' lazily loaded component runs with the page's scripts: the first
    # view the page carries is drawn when the map is, not one script fetch later.
    app.config.external_scripts.append(
        app.get_relative_path("/_dash-component-suites/" + EAGER_MAP_SCRIPT)
    )
    app.clientside_callback(
        clientside("loadLayer"),
        Output({"type": LAYER_ID, "layer": MATCH}, "data"),
        Output({"type": LAYER_ID, "layer": MATCH}, "superClusterOptions"),
        # Whether the browser clusters the layer follows its URL's kind: a layer crossing
        # the threshold switches between the two paths without a page reload.
        Output({"type": LAYER_ID, "layer": MATCH}, "cluster"),
        Input({"type": SOURCE_ID, "layer": MATCH}, "data"),
        # A layer clustered on the server loads the clusters of each new view, in the
        # map's colouring (by state or against typical).
        Input(MAP_ID, "center"),
        Input(MAP_ID, "zoom"),
        Input({"type": LAYER_ID, "layer": MATCH}, "hideout"),
        State({"type": LAYER_ID, "layer": MATCH}, "superClusterOptions"),
        State(MAP_ID, "id"),
        # The first view the page carried, which the map need not ask for again.
        State({"type": LAYER_ID, "layer": MATCH}, "data"),
    )
    return files.warm
