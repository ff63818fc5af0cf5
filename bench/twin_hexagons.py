"""What the 3D view's hexagons cost a large city: binning its sites on the server, and
the figure the browser gets, from ten thousand to a million sites.

Sites are generated over the demo city's districts (Melbourne's CLUE areas), each with a
parking bay's state (occupied or free), a word against typical for a third of them and
one of three sources; each is given one of the districts' names, as the city's district
lookup (made once per site and kept) would. For each number of sites, in the same run:

* ``hexbin_s``: ``cockpit.twin.hexgrid.columns``: the join of states and sites, binning
  into hexagons of ``twin.hexagon_km`` (widened while more than ``twin.max_columns``)
  and combining each hexagon's sites, as ``City.columns`` does once per data version;
* ``district_s``: the baseline, ``cockpit.twin.districts.district_figures`` over the
  same sites, as ``City.districts`` does (the same combining rule);
* ``figure_kb``: the 3D figure's JSON as Dash sends it (``figure_gz_kb`` gzipped, as
  flask-compress would), with every column's hover text; ``columns`` how many it draws.

Times are the best of the repeats. The figure follows the columns, not the sites: its
size stays flat from the first to the last row. ``--quick`` stops at 300,000 sites.

    python bench/twin_hexagons.py [--quick]
"""

from __future__ import annotations

import argparse
import gzip
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, bench/ comes first on the path, and bench/connectors.py would hide
# the ``connectors`` package: the repository root goes first instead.
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

from cockpit.city import SourceInfo  # noqa: E402
from cockpit.config import default_config_path, load_config  # noqa: E402
from cockpit.geo import district_shapes  # noqa: E402
from cockpit.twin.districts import district_figures, measure_of  # noqa: E402
from cockpit.twin.hexgrid import Grid, HexLayer, columns  # noqa: E402
from layouts.components import twin3d, twin3d_columns  # noqa: E402

T = TypeVar("T")
NOW = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
SOURCES = ("parking-north", "parking-centre", "parking-south")


def synthetic(n: int, grid: Grid, names: list[str], seed: int = 7) -> tuple[pd.DataFrame, ...]:
    """``n`` bay sensors spread over the grid's box: site states, sites, typical words."""
    assert grid.bbox is not None
    west, south, east, north = grid.bbox
    rng = np.random.default_rng(seed)
    ids = np.char.add("bay:", np.arange(n).astype(str)).astype(object)
    occupied = rng.random(n) < 0.6
    states = pd.DataFrame(
        {
            "site_id": ids,
            "metric": "bay_occupied",
            "value": occupied.astype(float),
            "unit": "",
            "time": pd.Timestamp(NOW) - pd.to_timedelta(rng.integers(0, 900, n), unit="s"),
            "state": np.where(occupied, "occupied", "free"),
            "level": "ok",
        }
    )
    sites = pd.DataFrame(
        {
            "id": ids,
            "name": ids,
            "source": np.array(SOURCES, dtype=object)[rng.integers(0, len(SOURCES), n)],
            "lat": rng.uniform(south, north, n),
            "lon": rng.uniform(west, east, n),
            "district": np.array(names, dtype=object)[rng.integers(0, len(names), n)],
        }
    )
    third = ids[: n // 3]
    words = dict(zip(third, rng.choice(["below", "typical", "above"], len(third)), strict=True))
    return states, sites, pd.Series(words)


def best(fn: Callable[[], T], repeats: int) -> tuple[float, T]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    assert out is not None
    return min(times), out


def figure_bytes(ground: twin3d.Ground, layer: HexLayer, measure: object) -> tuple[int, int]:
    """The 3D figure's JSON and its gzipped size, in bytes, with every column's label."""
    info = {
        s: SourceInfo(s, s, "City", "CC BY 4.0", "", "", "simulated", "ok", NOW, NOW, 0.0, "")
        for s in SOURCES
    }
    labels = [
        twin3d.place_label(
            "Hexagon",
            f,
            measure,
            info,
            NOW + timedelta(minutes=5),
            "Australia/Melbourne",
            5,
            "en",
            str,
        )
        for f in layer.figures
    ]
    figure = twin3d_columns.column_figure(ground, layer, labels, "Parking per hexagon", str)
    text = figure.to_json().encode()
    return len(text), len(gzip.compress(text))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="up to 300,000 sites")
    args = parser.parse_args()
    sizes = [10_000, 100_000, 300_000] if args.quick else [10_000, 100_000, 1_000_000]
    repeats = 2 if args.quick else 3

    config = load_config(default_config_path())
    shapes = district_shapes(str(config.resolve(config.map.basemap)), config.map.basemap_label)
    ground = twin3d.ground_of(shapes)
    lats = [v for s in shapes for v in s.lat]
    lons = [v for s in shapes for v in s.lon]
    box = (min(lons), min(lats), max(lons), max(lats))
    grid = Grid((box[1] + box[3]) / 2, (box[0] + box[2]) / 2, config.twin.hexagon_km, box)
    max_columns = config.twin.max_columns
    measure = measure_of("parking", "Parking", "parking", "bay_occupied")
    names = [s.name for s in shapes]

    print(
        f"hexagons of {grid.size_km} km, at most {max_columns} columns, "
        f"{len(names)} districts; best of {repeats}"
    )
    print(
        f"{'sites':>10} {'hexbin_s':>9} {'district_s':>10} {'ratio':>6} "
        f"{'columns':>8} {'km':>5} {'figure_kb':>10} {'figure_gz_kb':>13}"
    )
    row = ""
    for n in sizes:
        states, sites, words = synthetic(n, grid, names)
        typical = words.to_dict()
        hex_s, layer = best(
            lambda st=states, si=sites, ty=typical: columns(st, si, measure, ty, grid, max_columns),
            repeats,
        )
        dist_s, found = best(
            lambda st=states, si=sites, ty=typical: district_figures(st, si, measure, ty),
            repeats,
        )
        assert sum(f.sites for f in layer.figures) == n == sum(f.sites for f in found)
        raw, packed = figure_bytes(ground, layer, measure)
        print(
            f"{n:>10,} {hex_s:>9.2f} {dist_s:>10.2f} {hex_s / dist_s:>6.2f} "
            f"{len(layer.figures):>8} {layer.size_km:>5.2f} {raw / 1024:>10.0f} "
            f"{packed / 1024:>13.0f}"
        )
        row = (
            f"RESULT sites={n} hexbin_s={hex_s:.2f} district_s={dist_s:.2f} "
            f"ratio={hex_s / dist_s:.2f} columns={len(layer.figures)} "
            f"figure_kb={raw / 1024:.0f} figure_gz_kb={packed / 1024:.0f}"
        )
    print(row)


if __name__ == "__main__":
    main()
