"""Map clusters computed on the server: a grid index over the sites of one map layer.

A large city cannot send every site to each browser and cluster there: the time to the
first clusters would grow with the city. Instead the sites of a layer are indexed once
per data version and role (and replayed moment) into a pyramid of square grid cells in
Web Mercator, ``radius`` screen pixels wide at each zoom level from ``min_zoom`` to
``max_zoom``. A cell at zoom ``z - 1`` is exactly four cells at zoom ``z``, so each
level is summed from the one below it, not from the sites again. Every cell keeps its
members' count, their count per state level (so that a cluster's colour follows its
members), the mean position of its members and their extent (so that clicking a cluster
zooms to it).

A view (a zoom and a range of blocks of ``BLOCK_PX`` pixels at that zoom) is answered
from the cells inside it: at most a few hundred per view whatever the size of the city.
Cells with one member, and every site once the view is closer than ``max_zoom``, are
answered as single sites (their positions in the layer's table).

Pure numpy: no clustering library is installed where the cockpit runs (pysupercluster
and h3 are absent), and a grid pyramid is all a view needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

__all__ = [
    "BLOCK_PX",
    "LEVELS",
    "ClusterIndex",
    "ViewAnswer",
    "block_range",
    "build_index",
]

# The state levels a cluster counts, in the order of its counts' columns.
LEVELS = ("ok", "warn", "alert", "stale")
# Views are asked for in whole blocks of this many screen pixels, so that a small pan
# asks for the same view again and many screens on one view share one answer.
BLOCK_PX = 512
TILE_PX = 256
# The most blocks one view may span (a 4 x 4 block view is 2048 px square).
MAX_BLOCKS = 16
# Beyond ``max_zoom`` single sites are sent; a view holding more than this many falls
# back to the clusters of ``max_zoom`` so that its answer stays small.
MAX_SITES = 2000

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


class ViewRequestError(ValueError):
    """A view the index does not answer (a zoom or a block range out of bounds)."""


def _mercator(lon: Floats, lat: Floats) -> tuple[Floats, Floats]:
    """Longitude and latitude as Web Mercator world fractions (0..1, y down)."""
    x = (np.asarray(lon, dtype=np.float64) + 180.0) / 360.0
    phi = np.radians(np.clip(np.asarray(lat, dtype=np.float64), -85.05112878, 85.05112878))
    y = 0.5 - np.log(np.tan(np.pi / 4 + phi / 2)) / (2 * np.pi)
    return np.clip(x, 0.0, 1.0 - 1e-12), np.clip(y, 0.0, 1.0 - 1e-12)


def _unmercator_lat(y: Floats) -> Floats:
    return np.degrees(np.arctan(np.sinh(np.pi * (1 - 2 * np.asarray(y)))))


@dataclass
class _Level:
    """The occupied cells of one zoom level, sorted by ``key = row * width + column``."""

    width: int
    cells_per_world: float
    keys: Ints
    count: npt.NDArray[np.int32]
    states: npt.NDArray[np.int32]  # (cells, len(LEVELS))
    x: Floats  # mean Mercator x of the members
    y: Floats
    west: npt.NDArray[np.float32]
    south: npt.NDArray[np.float32]
    east: npt.NDArray[np.float32]
    north: npt.NDArray[np.float32]
    member: npt.NDArray[np.int32]  # one member (the only one when count == 1)
    # Each cell's position in the level one zoom out (empty at ``min_zoom``).
    parent: npt.NDArray[np.int32]

    def nbytes(self) -> int:
        arrays = (self.keys, self.count, self.states, self.x, self.y, self.member, self.parent)
        return sum(a.nbytes for a in (*arrays, self.west, self.south, self.east, self.north))


@dataclass
class ViewAnswer:
    """The clusters and single sites of one view.

    ``clusters`` columns: ``lon``, ``lat`` (members' mean position), ``count``,
    ``states`` (counts per ``LEVELS``), ``west``/``south``/``east``/``north`` (members'
    extent); ``sites``: positions of single sites in the indexed table; ``cells``: the
    clusters' cells in zoom ``level`` (to read other counts, see :meth:`ClusterIndex.tally`).
    """

    zoom: int
    level: int
    clusters: dict[str, np.ndarray] = field(default_factory=dict)
    sites: Ints = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    cells: Ints = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def cluster_count(self) -> int:
        return len(self.clusters.get("count", ()))


@dataclass
class ClusterIndex:
    """A layer's sites indexed for views (build with :func:`build_index`)."""

    n: int
    radius: int
    min_zoom: int
    max_zoom: int
    lon: npt.NDArray[np.float32]
    lat: npt.NDArray[np.float32]
    x: Floats
    y: Floats
    levels: dict[int, _Level]
    # Members of the cells of ``max_zoom`` in key order, and where each cell's start.
    order: npt.NDArray[np.int32]
    starts: Ints

    def nbytes(self) -> int:
        """Memory held by the index's arrays, in bytes."""
        own = sum(a.nbytes for a in (self.lon, self.lat, self.x, self.y, self.order, self.starts))
        return own + sum(level.nbytes() for level in self.levels.values())

    def view(self, zoom: int, blocks: tuple[int, int, int, int]) -> ViewAnswer:
        """The clusters and single sites in ``blocks`` (first column, first row, last
        column, last row of ``BLOCK_PX`` blocks, inclusive) at ``zoom``.

        Zooms below ``min_zoom`` are answered from ``min_zoom``'s cells, zooms above
        ``max_zoom`` with single sites. Raises ViewRequestError for a zoom outside
        0..24, a reversed range or one of more than ``MAX_BLOCKS`` blocks.
        """
        if not 0 <= zoom <= 24:
            raise ViewRequestError(f"zoom {zoom} is outside 0..24")
        bx0, by0, bx1, by1 = blocks
        side = (TILE_PX << zoom) // BLOCK_PX or 1
        if not (0 <= bx0 <= bx1 < max(side, 1) and 0 <= by0 <= by1 < max(side, 1)):
            raise ViewRequestError(f"blocks {blocks} are not a range of zoom {zoom}'s blocks")
        if (bx1 - bx0 + 1) * (by1 - by0 + 1) > MAX_BLOCKS:
            raise ViewRequestError(f"a view spans at most {MAX_BLOCKS} blocks")
        scale = (TILE_PX << zoom) / BLOCK_PX  # blocks per world side
        box = (bx0 / scale, by0 / scale, (bx1 + 1) / scale, (by1 + 1) / scale)
        if self.n == 0:
            return ViewAnswer(zoom, min(max(zoom, self.min_zoom), self.max_zoom))
        if zoom > self.max_zoom:
            sites = self._sites_in(box)
            if len(sites) <= MAX_SITES:
                return ViewAnswer(zoom, zoom, sites=sites)
        level_zoom = min(max(zoom, self.min_zoom), self.max_zoom)
        return self._clusters_in(zoom, level_zoom, box)

    def _cells_in(self, level: _Level, box: tuple[float, float, float, float]) -> Ints:
        cpw = level.cells_per_world
        c0, r0 = int(box[0] * cpw), int(box[1] * cpw)
        # The box's far edge is exclusive: a cell starting exactly on it is outside.
        c1 = int(np.ceil(box[2] * cpw)) - 1
        r1 = int(np.ceil(box[3] * cpw)) - 1
        rows = np.arange(r0, r1 + 1, dtype=np.int64)
        lo = np.searchsorted(level.keys, rows * level.width + c0, "left")
        hi = np.searchsorted(level.keys, rows * level.width + c1, "right")
        if not len(rows):
            return np.zeros(0, dtype=np.int64)
        return np.concatenate([np.arange(a, b) for a, b in zip(lo, hi, strict=True)])

    def _clusters_in(self, zoom: int, level_zoom: int, box: tuple[float, ...]) -> ViewAnswer:
        level = self.levels[level_zoom]
        cells = self._cells_in(level, box)  # type: ignore[arg-type]
        single = level.count[cells] == 1
        many = cells[~single]
        clusters = {
            "lon": level.x[many] * 360.0 - 180.0,
            "lat": _unmercator_lat(level.y[many]),
            "count": level.count[many],
            "states": level.states[many],
            "west": level.west[many],
            "south": level.south[many],
            "east": level.east[many],
            "north": level.north[many],
        }
        sites = np.sort(level.member[cells[single]].astype(np.int64))
        return ViewAnswer(zoom, level_zoom, clusters, sites, many)

    def tally(self, codes: npt.ArrayLike, size: int) -> dict[int, npt.NDArray[np.int32]]:
        """Each cell's members counted per code: ``codes`` holds one code in
        ``0..size - 1`` per indexed site (e.g. its word against typical); the answer maps
        each zoom level to a (cells, ``size``) array, read for a view with
        ``tally[answer.level][answer.cells]``. Costs one pass over the sites and one over
        each level's cells, not a new index. Raises ValueError for codes of another
        length or out of range."""
        code_a = np.asarray(codes, dtype=np.int64)
        if len(code_a) != self.n:
            raise ValueError(f"{len(code_a)} codes for an index of {self.n} sites")
        if self.n and (code_a.min() < 0 or code_a.max() >= size):
            raise ValueError(f"codes must lie within 0..{size - 1}")
        top = self.levels[self.max_zoom]
        cells = len(top.keys)
        # The cell of each site, in the order of ``order`` (members grouped by cell).
        cell_of = np.repeat(np.arange(cells), np.diff(np.append(self.starts, self.n)))
        flat = cell_of * size + code_a[self.order]
        counts = np.bincount(flat, minlength=cells * size).reshape(cells, size)
        found = {self.max_zoom: counts.astype(np.int32)}
        for zoom in range(self.max_zoom, self.min_zoom, -1):
            parent = self.levels[zoom].parent
            outer = len(self.levels[zoom - 1].keys)
            child = found[zoom]
            found[zoom - 1] = (
                np.column_stack(
                    [np.bincount(parent, weights=child[:, k], minlength=outer) for k in range(size)]
                )
                .astype(np.int32)
                .reshape(outer, size)
            )
        return found

    def _sites_in(self, box: tuple[float, float, float, float]) -> Ints:
        level = self.levels[self.max_zoom]
        cells = self._cells_in(level, box)
        if not len(cells):
            return np.zeros(0, dtype=np.int64)
        ends = np.append(self.starts[1:], len(self.order))
        members = np.concatenate(
            [self.order[a:b] for a, b in zip(self.starts[cells], ends[cells], strict=True)]
        ).astype(np.int64)
        x, y = self.x[members], self.y[members]
        inside = (x >= box[0]) & (x < box[2]) & (y >= box[1]) & (y < box[3])
        return np.sort(members[inside])


def block_range(
    zoom: int, west: float, south: float, east: float, north: float
) -> tuple[int, int, int, int]:
    """The blocks covering a viewport (degrees) at ``zoom``: what a browser asks for."""
    x, y = _mercator(np.array([west, east]), np.array([north, south]))
    scale = (TILE_PX << zoom) / BLOCK_PX
    top = max(int(scale) - 1, 0)
    cols = np.clip((x * scale).astype(np.int64), 0, top)
    rows = np.clip((y * scale).astype(np.int64), 0, top)
    return int(cols[0]), int(rows[0]), int(cols[1]), int(rows[1])


def _reduce(
    keys: Ints,
    count: np.ndarray,
    states: np.ndarray,
    sx: Floats,
    sy: Floats,
    bounds: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    member: np.ndarray,
) -> tuple[Ints, Ints, Ints, tuple[np.ndarray, ...]]:
    """Rows with equal ``keys`` summed: (sort order, unique keys, starts, sums)."""
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    unique, starts = np.unique(sorted_keys, return_index=True)
    west, south, east, north = bounds
    sums = (
        np.add.reduceat(count[order], starts),
        np.add.reduceat(states[order], starts, axis=0),
        np.add.reduceat(sx[order], starts),
        np.add.reduceat(sy[order], starts),
        np.minimum.reduceat(west[order], starts),
        np.minimum.reduceat(south[order], starts),
        np.maximum.reduceat(east[order], starts),
        np.maximum.reduceat(north[order], starts),
        member[order][starts],
    )
    return order, unique, starts, sums


def build_index(
    lon: npt.ArrayLike,
    lat: npt.ArrayLike,
    levels: npt.ArrayLike,
    min_zoom: int,
    max_zoom: int,
    radius: int = 80,
) -> ClusterIndex:
    """Index sites at ``lon``/``lat`` (degrees) with their state ``levels`` (texts of
    ``LEVELS``; any other text counts as ``stale``) for zooms ``min_zoom``..``max_zoom``
    with cells ``radius`` pixels wide. Raises ValueError for unequal lengths or a zoom
    range that is empty or outside 0..22.
    """
    lon_a = np.asarray(lon, dtype=np.float64)
    lat_a = np.asarray(lat, dtype=np.float64)
    level_texts = np.asarray(levels, dtype=object)
    if not (len(lon_a) == len(lat_a) == len(level_texts)):
        raise ValueError("lon, lat and levels must have the same length")
    if not 0 <= min_zoom <= max_zoom <= 22:
        raise ValueError(f"zoom range {min_zoom}..{max_zoom} must lie within 0..22")
    n = len(lon_a)
    x, y = _mercator(lon_a, lat_a)
    codes = np.full(n, LEVELS.index("stale"), dtype=np.int8)
    for code, name in enumerate(LEVELS):
        codes[level_texts == name] = code
    states = np.zeros((n, len(LEVELS)), dtype=np.int32)
    states[np.arange(n), codes] = 1

    cpw = (TILE_PX << max_zoom) / radius
    width = int(np.ceil(cpw))
    col = (x * cpw).astype(np.int64)
    row = (y * cpw).astype(np.int64)
    lon32, lat32 = lon_a.astype(np.float32), lat_a.astype(np.float32)
    order, keys, starts, sums = _reduce(
        row * width + col,
        np.ones(n, dtype=np.int32),
        states,
        x,
        y,
        (lon32, lat32, lon32, lat32),
        np.arange(n, dtype=np.int32),
    )
    built: dict[int, _Level] = {}
    zoom = max_zoom
    while True:
        count, cell_states, sx, sy, west, south, east, north, member = sums
        level = built[zoom] = _Level(
            width,
            cpw,
            keys,
            count.astype(np.int32),
            cell_states.astype(np.int32),
            sx / count,
            sy / count,
            west,
            south,
            east,
            north,
            member.astype(np.int32),
            np.zeros(0, dtype=np.int32),
        )
        if zoom == min_zoom:
            break
        # The parent of cell (row, column) is (row // 2, column // 2): floor(floor(a)/2)
        # is floor(a/2), and a level's cells per world side halve with each zoom out.
        parent_cpw = cpw / 2
        parent_width = int(np.ceil(parent_cpw))
        parent_keys = (keys // width // 2) * parent_width + (keys % width) // 2
        _, keys, _, sums = _reduce(
            parent_keys, count, cell_states, sx, sy, (west, south, east, north), member
        )
        level.parent = np.searchsorted(keys, parent_keys).astype(np.int32)
        cpw, width, zoom = parent_cpw, parent_width, zoom - 1
    return ClusterIndex(
        n=n,
        radius=radius,
        min_zoom=min_zoom,
        max_zoom=max_zoom,
        lon=lon32,
        lat=lat32,
        x=x,
        y=y,
        levels=built,
        order=order.astype(np.int32),
        starts=starts.astype(np.int64),
    )
