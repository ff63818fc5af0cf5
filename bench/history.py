"""Which engine keeps the history: SQLite (``HistoryStore``), DuckDB or partitioned Parquet.

Fills each engine with the same synthetic city: ``--sites`` sites × 5 metrics every 15
minutes for ``--days`` days (1,000 × 5 × 35 days = 16.8 million rows; ``--quick`` uses
50 sites and 3 days), loaded in bulk (not timed), then measures on the full store:

* ``append``: refresh-sized batches (one reading of every site and metric, 5 × sites
  rows) appended the way the cockpit would, each batch one transaction: SQLite through
  ``HistoryStore.append`` (duplicates skipped, hourly rollups updated, retention applied);
  DuckDB ``INSERT OR IGNORE`` into a table keyed like SQLite's; Parquet one new file per
  batch in the day's partition (no duplicate check: Parquet has none);
* ``site_window``: one site's five metrics over the last 24 hours (the trend view), a
  different site each time;
* ``city_hourly``: one metric summed over all sites per hour for the last 7 days (a
  city-wide trend); for SQLite also from the hourly rollups.

Prints the median milliseconds of each and ends with the RESULT line of the engine the
cockpit keeps, chosen by these figures (see docs/twin.md).

    python bench/history.py [--quick] [--sites 1000] [--days 35]
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from cockpit.state.embedded import HistoryStore  # noqa: E402

METRICS = ("vehicle_flow", "speed", "no2", "pm25", "pedestrians")
STEP = 900  # seconds between readings


def day_rows(sites: int, t0: int, steps: int, rng: np.random.Generator) -> pd.DataFrame:
    """``steps`` readings of every site and metric from ``t0`` (epoch seconds)."""
    ids = np.array([f"bench:{i:05d}" for i in range(sites)])
    times = t0 + STEP * np.arange(steps)
    site = np.repeat(np.tile(ids, len(METRICS)), steps)
    metric = np.repeat(np.repeat(np.array(METRICS), sites), steps)
    when = np.tile(times, sites * len(METRICS))
    value = rng.gamma(2.0, 50.0, size=len(when))
    return pd.DataFrame({"site_id": site, "metric": metric, "time": when, "value": value})


def batches(sites: int, t0: int, count: int, rng: np.random.Generator) -> Iterator[pd.DataFrame]:
    for k in range(count):
        yield day_rows(sites, t0 + k * STEP, 1, rng)


def canonical(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["time"] = pd.to_datetime(out["time"], unit="s", utc=True)
    out["unit"] = ""
    return out


def median_ms(run: Callable[[int], Any], repeat: int) -> float:
    times = []
    for i in range(repeat):
        start = time.perf_counter()
        run(i)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


# One metric summed over all sites per hour (the city-wide trend), asked of the SQL engines.
CITY_HOURLY = (
    "SELECT time - time % 3600 AS h, SUM(value) FROM observations"
    " WHERE metric = ? AND time >= ? AND time < ? GROUP BY h ORDER BY h"
)


def _row_count(db: Any, sql: str, params: Sequence[Any]) -> int:
    """How many rows ``sql`` returns on ``db`` (a DB-API or DuckDB connection)."""
    return len(db.execute(sql, params).fetchall())


class Sqlite:
    name = "sqlite"

    def __init__(self, root: Path, days: int) -> None:
        self.store = HistoryStore(root, retention_days=days + 2, rollup_days=400)

    def load(self, frame: pd.DataFrame) -> None:
        # Bulk load (not timed) on its own connection with a large page cache.
        if not hasattr(self, "bulk"):
            self.bulk = sqlite3.connect(self.store.path, isolation_level=None)
            self.bulk.execute("PRAGMA cache_size=-1000000")
        db = self.bulk
        frame = frame.sort_values(["site_id", "metric", "time"])
        rows = zip(
            frame["site_id"].tolist(), frame["metric"].tolist(), frame["time"].tolist(),
            frame["value"].tolist(), strict=True,
        )  # fmt: skip
        db.execute("BEGIN")
        db.executemany("INSERT OR IGNORE INTO observations VALUES (?, ?, ?, ?)", rows)
        db.execute("COMMIT")

    def finish_load(self) -> None:
        db = self.bulk
        db.execute(
            "INSERT OR REPLACE INTO hourly SELECT site_id, metric, time - time % 3600, COUNT(*),"
            " SUM(value), MIN(value), MAX(value) FROM observations"
            " GROUP BY site_id, metric, time - time % 3600"
        )
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()

    def append(self, frame: pd.DataFrame) -> None:
        self.store.append(canonical(frame))

    def path(self) -> Path:
        return self.store.path

    def site_window(self, site: str, lo: int, hi: int) -> int:
        start, end = pd.Timestamp(lo, unit="s", tz="UTC"), pd.Timestamp(hi, unit="s", tz="UTC")
        return len(self.store.window([site], start.to_pydatetime(), end.to_pydatetime()))

    def city_hourly(self, metric: str, lo: int, hi: int) -> int:
        return _row_count(
            self.store._connect(),
            CITY_HOURLY,
            (metric, lo, hi),
        )

    def city_hourly_rollup(self, metric: str, lo: int, hi: int) -> int:
        return _row_count(
            self.store._connect(),
            "SELECT hour, SUM(total / n) FROM hourly WHERE metric = ? AND hour >= ?"
            " AND hour < ? GROUP BY hour ORDER BY hour",
            (metric, lo, hi),
        )

    def size_mb(self, root: Path) -> float:
        self.store.close()
        db = sqlite3.connect(root / "history.sqlite")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
        return sum(p.stat().st_size for p in root.glob("history.sqlite*")) / 1e6


class Duck:
    name = "duckdb"

    def __init__(self, root: Path) -> None:
        import duckdb

        self.db = duckdb.connect(str(root / "history.duckdb"))
        self.db.execute(
            "CREATE TABLE observations (site_id VARCHAR NOT NULL, metric VARCHAR NOT NULL,"
            " time BIGINT NOT NULL, value DOUBLE NOT NULL, PRIMARY KEY (site_id, metric, time))"
        )
        self.root = root

    def path(self) -> Path:
        return self.root / "history.duckdb"

    def load(self, frame: pd.DataFrame) -> None:
        self.db.register("incoming", frame)
        self.db.execute("INSERT OR IGNORE INTO observations SELECT * FROM incoming")
        self.db.unregister("incoming")

    def finish_load(self) -> None:
        self.db.execute("CHECKPOINT")

    def append(self, frame: pd.DataFrame) -> None:
        self.load(frame)

    def site_window(self, site: str, lo: int, hi: int) -> int:
        return _row_count(
            self.db,
            "SELECT site_id, metric, time, value FROM observations WHERE site_id = ?"
            " AND time >= ? AND time < ? ORDER BY time",
            [site, lo, hi],
        )

    def city_hourly(self, metric: str, lo: int, hi: int) -> int:
        return _row_count(
            self.db,
            CITY_HOURLY,
            [metric, lo, hi],
        )

    def size_mb(self, root: Path) -> float:
        self.db.close()
        return sum(p.stat().st_size for p in root.glob("history.duckdb*")) / 1e6


class Parquet:
    name = "parquet"

    def __init__(self, root: Path) -> None:
        self.root = root / "parquet"
        self.root.mkdir()
        self.files = 0

    def path(self) -> Path:
        return self.root

    def _write(self, frame: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        days = frame["time"] // 86400
        for day, part in frame.groupby(days):
            folder = self.root / f"day={int(day)}"
            folder.mkdir(exist_ok=True)
            table = pa.Table.from_pandas(part.reset_index(drop=True), preserve_index=False)
            pq.write_table(table, folder / f"part-{self.files:06d}.parquet")
            self.files += 1

    def load(self, frame: pd.DataFrame) -> None:
        self._write(frame.sort_values(["site_id", "metric", "time"]))

    def finish_load(self) -> None:
        pass

    def append(self, frame: pd.DataFrame) -> None:
        self._write(frame)

    def _dataset(self) -> Any:
        import pyarrow.dataset as ds

        return ds.dataset(self.root, format="parquet", partitioning="hive")

    def site_window(self, site: str, lo: int, hi: int) -> int:
        import pyarrow.dataset as ds

        days = (ds.field("day") >= lo // 86400) & (ds.field("day") <= hi // 86400)
        where = days & (ds.field("site_id") == site) & (ds.field("time") >= lo)
        return self._dataset().to_table(filter=where & (ds.field("time") < hi)).num_rows

    def city_hourly(self, metric: str, lo: int, hi: int) -> int:
        import pyarrow.dataset as ds

        days = (ds.field("day") >= lo // 86400) & (ds.field("day") <= hi // 86400)
        where = days & (ds.field("metric") == metric) & (ds.field("time") >= lo)
        table = self._dataset().to_table(
            filter=where & (ds.field("time") < hi), columns=["time", "value"]
        )
        frame = table.to_pandas()
        return len(frame.groupby(frame["time"] - frame["time"] % 3600)["value"].sum())

    def size_mb(self, root: Path) -> float:
        return sum(p.stat().st_size for p in self.root.rglob("*.parquet")) / 1e6


_OTHER_PROCESS = {
    "sqlite": "import sqlite3, sys; db = sqlite3.connect(sys.argv[1], timeout=5);"
    " db.execute('SELECT COUNT(*) FROM hourly').fetchone()",
    "duckdb": "import duckdb, sys; db = duckdb.connect(sys.argv[1], read_only=True);"
    " db.execute('SELECT COUNT(*) FROM observations').fetchone()",
    "parquet": "import pyarrow.dataset as ds, sys;"
    " ds.dataset(sys.argv[1], format='parquet', partitioning='hive').count_rows()",
}


def other_process_reads(engine: Any) -> bool:
    """Whether a second process can read the store while this one has it open (each
    worker process of the embedded backend reads and writes the same history)."""
    code = _OTHER_PROCESS[engine.name]
    done = subprocess.run(
        [sys.executable, "-c", code, str(engine.path())], capture_output=True, timeout=120
    )
    return done.returncode == 0


def run(engine: Any, root: Path, sites: int, days: int, batches_n: int, repeat: int) -> dict:
    rng = np.random.default_rng(7)
    end = int(time.time()) // 86400 * 86400  # today's UTC midnight: inside every retention
    t0 = end - days * 86400
    start = time.perf_counter()
    for d in range(days):
        engine.load(day_rows(sites, t0 + d * 86400, 86400 // STEP, rng))
    engine.finish_load()
    load_s = time.perf_counter() - start
    appended = 0
    start = time.perf_counter()
    for batch in batches(sites, end, batches_n, rng):
        engine.append(batch)
        appended += len(batch)
    append_s = time.perf_counter() - start
    picks = rng.integers(0, sites, size=repeat)
    hi = end + batches_n * STEP
    window = median_ms(
        lambda i: engine.site_window(f"bench:{picks[i]:05d}", hi - 86400, hi), repeat
    )
    hourly = median_ms(
        lambda i: engine.city_hourly(METRICS[i % len(METRICS)], hi - 7 * 86400, hi), repeat
    )
    out = {
        "engine": engine.name,
        "load_s": load_s,
        "append_rows_per_s": appended / append_s,
        "site_window_ms": window,
        "city_hourly_ms": hourly,
    }
    if isinstance(engine, Sqlite):
        out["city_hourly_rollup_ms"] = median_ms(
            lambda i: engine.city_hourly_rollup(METRICS[i % len(METRICS)], hi - 7 * 86400, hi),
            repeat,
        )
    out["shared"] = other_process_reads(engine)
    out["size_mb"] = engine.size_mb(root)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="50 sites, 3 days")
    parser.add_argument("--sites", type=int, default=1000)
    parser.add_argument("--days", type=int, default=35)
    parser.add_argument("--batches", type=int, default=40, help="refresh batches appended")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument(
        "--engines", default="sqlite,duckdb,parquet", help="comma-separated engines to measure"
    )
    args = parser.parse_args(argv)
    sites, days = (50, 3) if args.quick else (args.sites, args.days)
    if args.quick:
        args.batches, args.repeat = 10, 5
    rows = sites * len(METRICS) * days * (86400 // STEP)
    print(
        f"history: {sites} sites x {len(METRICS)} metrics x {days} days at 15 min = {rows:,} rows"
    )
    print(f"append batches of {sites * len(METRICS):,} rows (one refresh), x{args.batches}")
    results = {}
    for name in args.engines.split(","):
        root = Path(tempfile.mkdtemp(prefix=f"cc-history-{name}-"))
        try:
            engine = make_engine(name, root, days)
            results[name] = run(engine, root, sites, days, args.batches, args.repeat)
        finally:
            shutil.rmtree(root, ignore_errors=True)
        r = results[name]
        extra = (
            f" city_hourly_rollup_ms={r['city_hourly_rollup_ms']:.1f}"
            if "city_hourly_rollup_ms" in r
            else ""
        )
        print(
            f"{name:8s} load_s={r['load_s']:.1f} append_rows_per_s={r['append_rows_per_s']:,.0f}"
            f" site_window_ms={r['site_window_ms']:.2f} city_hourly_ms={r['city_hourly_ms']:.1f}"
            f"{extra} size_mb={r['size_mb']:.0f} second_process_reads={r['shared']}",
            flush=True,
        )
    chosen = choose(results)
    print(f"chosen: {chosen} ({reason(results, chosen)})")
    r = results[chosen]
    city = r.get("city_hourly_rollup_ms", r["city_hourly_ms"])
    print(
        f"RESULT engine={chosen} append_rows_per_s={r['append_rows_per_s']:.0f} "
        f"site_window_ms={r['site_window_ms']:.2f} city_hourly_ms={city:.2f}"
    )
    return 0


def make_engine(name: str, root: Path, days: int) -> Any:
    if name == "sqlite":
        return Sqlite(root, days)
    if name == "duckdb":
        return Duck(root)
    if name == "parquet":
        return Parquet(root)
    raise SystemExit(f"unknown engine {name!r}")


def choose(results: dict[str, dict]) -> str:
    """SQLite stays unless another engine is better at what the cockpit does most (a
    refresh's append and one site's window) without losing the city-wide trend: an
    engine must be at least twice as fast on both to justify a second embedded engine,
    and, like SQLite, let another process read the store while one has it open (every
    worker process of the embedded backend opens the same history)."""
    if "sqlite" not in results:
        return min(results, key=lambda n: results[n]["site_window_ms"])
    base = results["sqlite"]
    city_base = base.get("city_hourly_rollup_ms", base["city_hourly_ms"])
    for name, r in results.items():
        if name == "sqlite" or not r["shared"]:
            continue
        if (
            r["append_rows_per_s"] >= 2 * base["append_rows_per_s"]
            and r["site_window_ms"] <= base["site_window_ms"] / 2
            and r["city_hourly_ms"] <= city_base
        ):
            return name
    return "sqlite"


def reason(results: dict[str, dict], chosen: str) -> str:
    if chosen != "sqlite":
        return "at least twice as fast as SQLite at appends and site windows"
    unshared = [n for n, r in results.items() if not r["shared"]]
    note = f"; {', '.join(unshared)}: no second process can read it" if unshared else ""
    return (
        "no other engine shared by processes was twice as fast at appends and one site's"
        f" window{note}"
    )


if __name__ == "__main__":
    sys.exit(main())
