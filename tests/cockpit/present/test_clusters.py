"""The server's cluster index: counts, counts per state, extents, zoom levels and the
edges of a view, checked against the sites themselves."""

from __future__ import annotations

import numpy as np
import pytest

from cockpit.present.clusters import (
    BLOCK_PX,
    LEVELS,
    MAX_BLOCKS,
    ViewRequestError,
    block_range,
    build_index,
)

WHOLE_CITY = (144.7, -38.1, 145.3, -37.5)  # west, south, east, north


def city(n: int = 5000, seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    lon = 145.0 + rng.normal(0, 0.05, n)
    lat = -37.8 + rng.normal(0, 0.04, n)
    levels = rng.choice(np.array(LEVELS, dtype=object), n, p=[0.6, 0.2, 0.15, 0.05])
    return lon, lat, levels


def whole(zoom: int) -> tuple[int, int, int, int]:
    return block_range(zoom, *WHOLE_CITY)


@pytest.mark.parametrize("zoom", [8, 9, 10, 11])
def test_a_view_of_the_whole_city_holds_every_site_once(zoom: int) -> None:
    lon, lat, levels = city()
    index = build_index(lon, lat, levels, min_zoom=8, max_zoom=15)
    answer = index.view(zoom, whole(zoom))
    assert answer.level == zoom
    assert int(answer.clusters["count"].sum()) + len(answer.sites) == len(lon)
    per_state = answer.clusters["states"].sum(axis=0)
    for k, name in enumerate(LEVELS):
        singles = int((levels[answer.sites] == name).sum())
        assert per_state[k] + singles == int((levels == name).sum())
    assert (answer.clusters["states"].sum(axis=1) == answer.clusters["count"]).all()


def test_clusters_grow_fewer_and_larger_as_the_map_zooms_out() -> None:
    lon, lat, levels = city()
    index = build_index(lon, lat, levels, min_zoom=8, max_zoom=15)
    counts = [index.view(z, whole(z)).cluster_count for z in (8, 10)]
    assert counts[0] < counts[1]
    assert index.view(8, whole(8)).clusters["count"].max() > 100


def test_a_cluster_holds_its_members_extent_and_their_mean_position() -> None:
    # Two groups far apart: at zoom 12 each is one cluster of its own.
    lon = np.array([145.0, 145.0005, 145.001, 145.2, 145.2004])
    lat = np.array([-37.8, -37.8004, -37.8002, -37.7, -37.7001])
    levels = np.array(["ok", "alert", "alert", "warn", "stale"], dtype=object)
    index = build_index(lon, lat, levels, min_zoom=10, max_zoom=16)
    answer = index.view(12, block_range(12, 144.95, -37.85, 145.25, -37.65))
    assert sorted(answer.clusters["count"].tolist()) == [2, 3]
    big = int(np.argmax(answer.clusters["count"]))
    assert answer.clusters["states"][big].tolist() == [1, 0, 2, 0]
    assert answer.clusters["west"][big] == pytest.approx(145.0, abs=1e-5)
    assert answer.clusters["east"][big] == pytest.approx(145.001, abs=1e-5)
    assert answer.clusters["south"][big] == pytest.approx(-37.8004, abs=1e-5)
    assert answer.clusters["north"][big] == pytest.approx(-37.8, abs=1e-5)
    assert answer.clusters["lon"][big] == pytest.approx(lon[:3].mean(), abs=1e-7)
    assert answer.clusters["lat"][big] == pytest.approx(lat[:3].mean(), abs=1e-6)


def test_a_cell_of_one_site_and_every_site_beyond_max_zoom_come_as_single_sites() -> None:
    lon = np.array([145.0, 145.3])
    lat = np.array([-37.8, -37.7])
    index = build_index(lon, lat, np.array(["ok", "warn"], dtype=object), 10, 14)
    assert index.view(11, whole(11)).sites.tolist() == [0, 1]
    near = block_range(18, 144.999, -37.801, 145.001, -37.799)
    answer = index.view(18, near)
    assert answer.sites.tolist() == [0] and answer.cluster_count == 0


def test_zooms_below_the_index_are_answered_from_its_first_level() -> None:
    lon, lat, levels = city(500)
    index = build_index(lon, lat, levels, min_zoom=9, max_zoom=15)
    answer = index.view(5, whole(5))
    assert answer.level == 9
    assert int(answer.clusters["count"].sum()) + len(answer.sites) == 500


def test_a_view_holds_the_sites_inside_its_blocks_only() -> None:
    lon, lat, levels = city(3000)
    index = build_index(lon, lat, levels, min_zoom=8, max_zoom=14)
    zoom = 16
    blocks = block_range(zoom, 144.995, -37.805, 145.005, -37.795)
    answer = index.view(zoom, blocks)
    scale = (256 << zoom) / BLOCK_PX
    west, east = blocks[0] / scale * 360 - 180, (blocks[2] + 1) / scale * 360 - 180
    inside = (lon >= west) & (lon < east)
    y = 0.5 - np.log(np.tan(np.pi / 4 + np.radians(lat) / 2)) / (2 * np.pi)
    inside &= (y >= blocks[1] / scale) & (y < (blocks[3] + 1) / scale)
    assert answer.sites.tolist() == np.flatnonzero(inside).tolist()
    assert len(answer.sites) > 0


def test_sites_on_a_block_edge_fall_in_one_block_only() -> None:
    zoom = 16
    scale = (256 << zoom) / BLOCK_PX
    edge_lon = 1200 / scale * 360 - 180  # the west edge of block column 1200
    lon = np.array([edge_lon, edge_lon - 1e-6])
    lat = np.array([-37.8, -37.8])
    index = build_index(lon, lat, np.array(["ok", "ok"], dtype=object), 10, 14)
    row = block_range(zoom, edge_lon, -37.8, edge_lon, -37.8)[1]
    east = index.view(zoom, (1200, row, 1200, row))
    west = index.view(zoom, (1199, row, 1199, row))
    assert east.sites.tolist() == [0] and west.sites.tolist() == [1]


def test_block_range_covers_the_viewport() -> None:
    x0, y0, x1, y1 = block_range(12, 144.9, -37.85, 145.1, -37.75)
    assert x0 <= x1 and y0 <= y1
    assert (x0, y0) == block_range(12, 144.9, -37.75, 144.9, -37.75)[:2]


def test_views_out_of_bounds_are_refused() -> None:
    lon, lat, levels = city(100)
    index = build_index(lon, lat, levels, 8, 14)
    with pytest.raises(ViewRequestError):
        index.view(25, (0, 0, 0, 0))
    with pytest.raises(ViewRequestError):
        index.view(12, (5, 5, 4, 5))
    with pytest.raises(ViewRequestError):
        index.view(12, (0, 0, MAX_BLOCKS, 0))


def test_an_empty_layer_answers_nothing() -> None:
    empty = np.zeros(0)
    index = build_index(empty, empty, np.zeros(0, dtype=object), 8, 14)
    answer = index.view(10, whole(10))
    assert answer.cluster_count == 0 and len(answer.sites) == 0


def test_unequal_columns_or_zooms_are_refused() -> None:
    with pytest.raises(ValueError):
        build_index([1.0], [1.0, 2.0], ["ok"], 8, 14)
    with pytest.raises(ValueError):
        build_index([1.0], [1.0], ["ok"], 15, 14)


@pytest.mark.parametrize("zoom", [8, 10, 11, 15])
def test_a_tally_of_other_codes_counts_each_clusters_members(zoom: int) -> None:
    lon, lat, levels = city()
    index = build_index(lon, lat, levels, min_zoom=8, max_zoom=15)
    # Tallied again from the sites' state codes, the counts are the index's own.
    codes = np.array([LEVELS.index(str(level)) for level in levels])
    tallied = index.tally(codes, len(LEVELS))
    box = WHOLE_CITY if zoom < 12 else (144.99, -37.81, 145.01, -37.79)
    answer = index.view(zoom, block_range(zoom, *box))
    assert answer.cluster_count > 0
    assert (tallied[answer.level][answer.cells] == answer.clusters["states"]).all()
    # Any other code: each cluster's counts add up to its size, and to the code's total.
    words = np.random.default_rng(5).integers(0, 3, len(lon))
    other = index.tally(words, 3)[answer.level][answer.cells]
    assert (other.sum(axis=1) == answer.clusters["count"]).all()
    if zoom < 12:  # the whole city is in the view
        for word in range(3):
            singles = int((words[answer.sites] == word).sum())
            assert int(other[:, word].sum()) + singles == int((words == word).sum())


def test_a_tally_refuses_codes_that_do_not_fit() -> None:
    lon, lat, levels = city(50)
    index = build_index(lon, lat, levels, min_zoom=8, max_zoom=15)
    with pytest.raises(ValueError, match="codes for an index"):
        index.tally(np.zeros(49, dtype=int), 3)
    with pytest.raises(ValueError, match=r"within 0\.\.2"):
        index.tally(np.full(50, 3), 3)
