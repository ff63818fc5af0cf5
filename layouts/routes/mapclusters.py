"""The clusters of one view of a large map layer: ``/map-clusters/<layer>.json``.

A layer with at least ``SERVER_CLUSTER_SITES`` sites is never sent whole: the browser
(``assets/mapdata.js``) asks for the view it shows, as a zoom and a range of blocks of
``BLOCK_PX`` pixels (``?v=<version>&r=<role>&z=<zoom>&b=<x0>,<y0>,<x1>,<y1>``, plus
``&t=<epoch seconds>`` for a replayed moment, ``&c=typical`` when the map colours its
markers against typical), and gets that view's clusters, with their members' counts per
state (and per word against typical) and extent, and its single sites in the compact form
of ``layouts/routes/mapdata.py`` (with each one's word against typical). An answer
holds a few hundred cells at most, whatever the size of the city.

The layer's index (``cockpit.present.clusters``) is built once per data version, role and
moment through the city's cache; the warmer builds the live ones when a new data version
arrives. Answers are serialized and compressed (brotli and gzip) once per (version, role,
layer, moment, zoom, blocks, colouring) in each process; a public answer by state for the
version it names may be kept by browsers and shared caches for good, one against typical
is asked again (its words follow the clock's hour) and answered 304 while its ETag holds,
and an internal one is never kept in a shared cache.

The page itself carries the first view of each such layer (:func:`first_views`), drawn as
soon as the map is: the first clusters wait neither for the page's callbacks nor for a
round trip, whatever the size of the city.

Access: the index is built for the viewer's role (``viewer_role()``), never for a role
named in the URL; a layer the role may not see answers 404.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import flask
import numpy as np
import pandas as pd
from dash import Dash

from cockpit.city import City, CityView
from cockpit.present.clusters import (
    BLOCK_PX,
    LEVELS,
    MAX_BLOCKS,
    TILE_PX,
    ClusterIndex,
    ViewAnswer,
    ViewRequestError,
    build_index,
)
from cockpit.storage import Journal
from layouts.components.twin_panels import typical_of_sites
from layouts.routes.access import viewer_role
from layouts.routes.mapdata import (
    CLUSTERS_ROUTE,
    CODED,
    FORMAT,
    PLAIN,
    SCALE,
    cluster_url,
    dumps,
    encoded_bodies,
    encoded_response,
    server_clustered,
)
from layouts.routes.replay import ReplayRequestError, replay_moment

__all__ = [
    "COLOURINGS",
    "MAX_ZOOM",
    "TYPICAL_WORDS",
    "CodedTable",
    "ViewAnswers",
    "coded_table",
    "first_views",
    "layer_index",
    "layer_typical",
    "parse_view",
    "register",
    "view_body",
]

# Clusters down to this zoom (80 px cells are about 60 m wide at 17); single sites beyond.
MAX_ZOOM = 17
# Clusters from this many zoom levels above the city's own zoom, as the browser's do.
ZOOMS_OUT = 4
RADIUS_PX = 80
# How the map colours its markers (the cockpit's colour choice): by state, or by each
# site's value against its typical weekday and hour, in these words (assets/map.js).
COLOURINGS = ("state", "typical")
TYPICAL_WORDS = ("below", "typical", "above", "unknown")


def layer_index(city: City, view: CityView, layer_id: str, at: int | None) -> ClusterIndex:
    """The layer's cluster index for ``view`` (made once per version, role and moment)."""

    def make() -> ClusterIndex:
        table = view.layer_table(layer_id, city.config.city.timezone)
        return build_index(
            table["lon"].to_numpy(dtype=float),
            table["lat"].to_numpy(dtype=float),
            table["level"].to_numpy(dtype=object),
            min_zoom=min(max(0, city.config.map.zoom - ZOOMS_OUT), MAX_ZOOM),
            max_zoom=MAX_ZOOM,
            radius=RADIUS_PX,
        )

    return city.remember(view, ("clusters", layer_id, at), make)


@dataclass
class LayerTypical:
    """A layer's sites against typical: each site's word (codes into ``TYPICAL_WORDS``,
    in the layer table's order) and each cluster cell's members per word, by zoom."""

    codes: np.ndarray
    tallies: dict[int, np.ndarray]


def layer_typical(
    city: City, view: CityView, layer_id: str, moment: datetime | None
) -> LayerTypical:
    """The layer's words against typical for ``view`` at ``moment`` (None: live), made
    once per version, role, moment and clock hour (the baselines are per hour)."""
    at = None if moment is None else int(moment.timestamp())
    hour = int(city.clock().timestamp()) // 3600

    def make() -> LayerTypical:
        words = typical_of_sites(city.twin_at(moment, view.role))
        ids = view.layer_table(layer_id, city.config.city.timezone)["id"].astype(str)
        unknown = TYPICAL_WORDS.index("unknown")
        code_of = {word: k for k, word in enumerate(TYPICAL_WORDS)}
        codes = np.fromiter(
            (code_of.get(words.get(i, "unknown"), unknown) for i in ids),
            dtype=np.int64,
            count=len(ids),
        )
        index = layer_index(city, view, layer_id, at)
        return LayerTypical(codes, index.tally(codes, len(TYPICAL_WORDS)))

    return city.remember(view, ("clusters-typical", layer_id, at, hour), make)


def parse_view(args: Any) -> tuple[int, tuple[int, int, int, int]]:
    """The zoom and blocks of a request's ``z`` and ``b`` arguments; ValueError if
    they are not whole numbers (one zoom, four blocks)."""
    zoom = int(args.get("z", ""))
    parts = [int(p) for p in args.get("b", "").split(",")]
    if len(parts) != 4:
        raise ValueError("b names four blocks: x0,y0,x1,y1")
    return zoom, (parts[0], parts[1], parts[2], parts[3])


@dataclass
class CodedTable:
    """A layer's table ready to be cut into views: positions as whole ``SCALE`` steps,
    each text column as codes into its distinct texts (made once per index)."""

    x: np.ndarray
    y: np.ndarray
    plain: dict[str, np.ndarray]
    coded: dict[str, tuple[np.ndarray, np.ndarray]]  # name -> (texts, codes)

    @classmethod
    def of(cls, table: pd.DataFrame) -> CodedTable:
        coded = {}
        for name in CODED:
            codes, texts = pd.factorize(table[name].astype(str), sort=False)
            coded[name] = (np.asarray(texts, dtype=object), codes)
        return cls(
            x=(table["lon"].to_numpy(dtype=float) * SCALE).round().astype(np.int64),
            y=(table["lat"].to_numpy(dtype=float) * SCALE).round().astype(np.int64),
            plain={name: table[name].astype(str).to_numpy(dtype=object) for name in PLAIN},
            coded=coded,
        )

    def compact(self, rows: np.ndarray, layer_id: str, version: int) -> dict[str, Any]:
        """``rows`` in the compact form of ``layouts.routes.mapdata.compact_table``."""
        columns: dict[str, Any] = {name: self.plain[name][rows].tolist() for name in PLAIN}
        for name, (texts, codes) in self.coded.items():
            used, local = np.unique(codes[rows], return_inverse=True)
            # Texts in order of first use, as ``pd.factorize`` gives them.
            first = np.full(len(used), len(rows), dtype=np.int64)
            np.minimum.at(first, local, np.arange(len(rows)))
            order = np.argsort(first, kind="stable")
            rank = np.empty_like(order)
            rank[order] = np.arange(len(order))
            columns[name] = {
                "keys": texts[used[order]].tolist(),
                "codes": rank[local].tolist(),
            }
        x, y = self.x[rows], self.y[rows]
        return {
            "format": FORMAT,
            "layer": layer_id,
            "version": version,
            "n": len(rows),
            "scale": SCALE,
            "x": np.diff(x, prepend=0).tolist(),
            "y": np.diff(y, prepend=0).tolist(),
            "columns": columns,
        }


def coded_table(city: City, view: CityView, layer_id: str, at: int | None) -> CodedTable:
    """The layer's :class:`CodedTable` for ``view`` (made once per version, role and
    moment)."""
    return city.remember(
        view,
        ("clusters-table", layer_id, at),
        lambda: CodedTable.of(view.layer_table(layer_id, city.config.city.timezone)),
    )


def view_body(
    city: City,
    view: CityView,
    layer_id: str,
    answer: ViewAnswer,
    at: int | None = None,
    typical: LayerTypical | None = None,
) -> dict[str, Any]:
    """A view's answer as JSON: ``clusters`` (columns ``lon``, ``lat``, ``count``,
    ``states`` per ``levels``, ``bounds`` as [west, south, east, north]) and ``sites``
    (the single sites, in the compact form). With ``typical``, clusters also count their
    members per ``typical_words`` (column ``typical``) and each single site carries its
    word (column ``typical`` of the sites)."""
    found = answer.clusters
    clusters: dict[str, Any] = {"lon": [], "lat": [], "count": [], "states": [], "bounds": []}
    if answer.cluster_count:
        edges = np.column_stack([found[k] for k in ("west", "south", "east", "north")])
        clusters = {
            "lon": np.round(found["lon"], 5).tolist(),
            "lat": np.round(found["lat"], 5).tolist(),
            "count": found["count"].tolist(),
            "states": found["states"].tolist(),
            "bounds": np.round(edges.astype(np.float64), 5).tolist(),
        }
    sites = coded_table(city, view, layer_id, at).compact(answer.sites, layer_id, view.version)
    found_body = {
        "layer": layer_id,
        "version": view.version,
        "zoom": answer.zoom,
        "levels": list(LEVELS),
        "clusters": clusters,
        "sites": sites,
    }
    if typical is not None:
        _add_typical(found_body, answer, typical)
    return found_body


def _add_typical(found: dict[str, Any], answer: ViewAnswer, typical: LayerTypical) -> None:
    """The words against typical of a view's clusters and single sites added to its body."""
    found["typical_words"] = list(TYPICAL_WORDS)
    counts: list[list[int]] = []
    if answer.cluster_count:
        counts = typical.tallies[answer.level][answer.cells].tolist()
    found["clusters"]["typical"] = counts
    codes = typical.codes[answer.sites]
    found["sites"]["columns"]["typical"] = {
        "keys": list(TYPICAL_WORDS),
        "codes": codes.tolist(),
    }


class ViewAnswers:
    """Serialized, compressed view answers, the most recent ``keep`` of them."""

    def __init__(self, city: City, keep: int = 512) -> None:
        self.city = city
        self.keep = keep
        self._lock = threading.Lock()
        self._bodies: OrderedDict[tuple[Any, ...], dict[str, bytes]] = OrderedDict()

    def get(
        self,
        view: CityView,
        layer_id: str,
        at: int | None,
        zoom: int,
        blocks: tuple[int, int, int, int],
        colour: str = "state",
        moment: datetime | None = None,
    ) -> dict[str, bytes]:
        """The view's answer, for the map's ``colour`` (one of ``COLOURINGS``) at
        ``moment`` (``at`` in epoch seconds; None: live), as plain, gzip and br bytes.
        Raises ViewRequestError for a view out of bounds."""
        hour = int(self.city.clock().timestamp()) // 3600 if colour == "typical" else None
        key = (view.version, view.role, layer_id, at, zoom, blocks, colour, hour)
        with self._lock:
            found = self._bodies.get(key)
            if found is not None:
                self._bodies.move_to_end(key)
                return found
        answer = layer_index(self.city, view, layer_id, at).view(zoom, blocks)
        typical = layer_typical(self.city, view, layer_id, moment) if colour == "typical" else None
        plain = dumps(view_body(self.city, view, layer_id, answer, at, typical))
        found = encoded_bodies(plain)
        with self._lock:
            self._bodies[key] = found
            while len(self._bodies) > self.keep:
                self._bodies.popitem(last=False)
        return found

    def warm(self, roles: list[str]) -> None:
        """Build the live cluster indexes of ``roles`` at the current version, and the
        first views the page carries."""
        for role in roles:
            view = self.city.view(role)
            for layer_id in view.layers:
                if server_clustered(view, layer_id):
                    layer_index(self.city, view, layer_id, None)
                    coded_table(self.city, view, layer_id, None)
            first_views(self.city, view)


# The first view the page carries: the blocks around the city's centre covering a map of
# this many pixels (at most 4 x 3 blocks), a little larger than most maps are drawn, so
# that the browser's own first view usually lies within it and is not asked for again.
FIRST_VIEW_PX = (1536, 1024)


def first_blocks(
    centre: tuple[float, float], zoom: int, size: tuple[int, int] = FIRST_VIEW_PX
) -> tuple[int, int, int, int]:
    """The blocks around ``centre`` (lat, lon) covering ``size`` pixels at ``zoom``, as
    ``assets/mapdata.js`` asks for a map of that size."""
    lat, lon = centre
    world = TILE_PX << zoom
    x = (lon + 180.0) / 360.0 * world
    phi = np.radians(max(-85.05112878, min(85.05112878, lat)))
    y = (0.5 - np.log(np.tan(np.pi / 4 + phi / 2)) / (2 * np.pi)) * world
    last = max(world // BLOCK_PX - 1, 0)

    def block(v: float) -> int:
        return int(max(0, min(last, v // BLOCK_PX)))

    w, h = size
    found = (block(x - w / 2), block(y - h / 2), block(x + w / 2), block(y + h / 2))
    if (found[2] - found[0] + 1) * (found[3] - found[1] + 1) > MAX_BLOCKS:
        raise ValueError(f"a first view of {size} px spans more than {MAX_BLOCKS} blocks")
    return found


def view_features(found: dict[str, Any]) -> list[dict[str, Any]]:
    """A view's answer (:func:`view_body`) as the GeoJSON features the map draws, the same
    ones ``decodeView`` of ``assets/mapdata.js`` makes in the browser."""
    sites = found["sites"]
    columns = sites["columns"]
    names = list(columns)
    texts = {
        name: spec if isinstance(spec, list) else [spec["keys"][c] for c in spec["codes"]]
        for name, spec in columns.items()
    }
    scale = sites["scale"]
    xs = np.cumsum(np.asarray(sites["x"], dtype=np.int64)) / scale
    ys = np.cumsum(np.asarray(sites["y"], dtype=np.int64)) / scale
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [float(xs[i]), float(ys[i])]},
            "properties": {name: texts[name][i] for name in names},
        }
        for i in range(sites["n"])
    ]
    clusters, levels = found["clusters"], found["levels"]
    for i, count in enumerate(clusters["count"]):
        props: dict[str, Any] = {"cluster": True, "point_count": count}
        props["bounds"] = clusters["bounds"][i]
        props.update(zip(levels, clusters["states"][i], strict=True))
        features.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "Point",
                    "coordinates": [clusters["lon"][i], clusters["lat"][i]],
                },
                "properties": props,
            }
        )
    return features


def first_views(city: City, view: CityView) -> dict[str, dict[str, Any]]:
    """The first view of each server-clustered layer of ``view`` at the city's zoom, as
    GeoJSON the page carries (layer id -> a FeatureCollection whose ``view`` names the
    URL, zoom and blocks it answers: ``assets/mapdata.js`` does not ask for it again)."""
    config = city.config.map
    lat, lon = config.center
    zoom, blocks = config.zoom, first_blocks((lat, lon), config.zoom)

    def make(layer_id: str) -> dict[str, Any]:
        answer = layer_index(city, view, layer_id, None).view(zoom, blocks)
        return {
            "type": "FeatureCollection",
            "features": view_features(view_body(city, view, layer_id, answer)),
            "view": {
                "url": cluster_url(layer_id, view.version, view.role),
                "z": zoom,
                "b": list(blocks),
            },
        }

    return {
        layer_id: city.remember(view, ("clusters-first", layer_id), partial(make, layer_id))
        for layer_id in view.layers
        if server_clustered(view, layer_id)
    }


def _error(message: str, status: int) -> flask.Response:
    response = flask.make_response(message, status)
    response.headers["Cache-Control"] = "no-store"
    return response


def clusters_response(city: City, answers: ViewAnswers, layer_id: str) -> flask.Response:
    """The answer of the clusters route for the current viewer."""
    request = flask.request
    role = viewer_role()
    at: int | None = None
    moment: datetime | None = None
    if "t" in request.args:
        try:
            moment = replay_moment(request.args.get("t"), city.clock())
        except ReplayRequestError as exc:
            return _error(str(exc), exc.status)
        at = int(moment.timestamp())
    view = city.view(role) if moment is None else city.view_at(role, moment)
    if layer_id not in view.layers:
        return _error("no such map layer", 404)
    colour = request.args.get("c", "state")
    if colour not in COLOURINGS:
        return _error(f"c is one of {', '.join(COLOURINGS)}", 400)
    try:
        zoom, blocks = parse_view(request.args)
        bodies = answers.get(view, layer_id, at, zoom, blocks, colour, moment)
    except (ValueError, ViewRequestError) as exc:
        return _error(str(exc), 400)
    etag = f"{layer_id}-{view.version}-{role}-{at}-{zoom}-{'.'.join(map(str, blocks))}"
    if colour == "typical":  # the words follow the clock's hour, not only the data
        etag += f"-typical-{int(city.clock().timestamp()) // 3600}"
    response = encoded_response(bodies, etag)
    response.headers["Vary"] = "Accept-Encoding, Cookie"
    if role != "public" or request.args.get("r") != role:
        # Internal data never rests in a shared cache.
        response.headers["Cache-Control"] = "private, no-store"
    elif request.args.get("v") == str(view.version) and colour == "state":
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    else:
        # Another version's URL, or words that change with the hour: asked again, and
        # answered 304 while the ETag holds.
        response.headers["Cache-Control"] = "no-cache"
    return response


def register(app: Dash, city: City, _journal: Journal) -> Callable[[list[str]], None]:
    """Add the clusters route to ``app``; returns what builds the cluster indexes of a
    new data version (for the roles given) before browsers ask for them."""
    answers = ViewAnswers(city)
    server: flask.Flask = app.server
    server.add_url_rule(
        CLUSTERS_ROUTE,
        "map_clusters",
        lambda layer_id: clusters_response(city, answers, layer_id),
        methods=["GET"],
    )
    return answers.warm
