"""How long ``python app.py`` takes to answer its first page, with a warm history.

Prepares a data directory once (the demo city refreshed and its history backfilled, as
after a first run), then measures in the same run, each the median of a few starts:

* ``cold_start_s``: from starting ``python app.py --data-dir D --port P`` to the first
  200 answer on ``/`` (the page with the city's data in it);
* baselines: ``python -c "import dash"``, and a bare Dash app's start to its first 200.

Target: ``cold_start_s`` at most 3 s.

    python bench/coldstart.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

import requests  # noqa: E402

from bench.synthetic_city import free_port  # noqa: E402

BARE_APP = """
import sys
from dash import Dash, html
app = Dash(__name__)
app.layout = html.Div("ready")
app.run(host="127.0.0.1", port=int(sys.argv[1]))
"""


def prepare(data_dir: Path) -> None:
    """A data directory as a first run leaves it: snapshots, a backfilled history and
    what serving the first page kept in it."""
    script = (
        "from wiring.runtime import Runtime\n"
        "from cockpit.config import default_config_path\n"
        f"rt = Runtime.open(default_config_path(), {str(data_dir)!r})\n"
        "rt.refresher.refresh_due(); rt.refresher.backfill()\n"
        "rt.city.view('public'); rt.close()\n"
    )
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True, capture_output=True)


def until_200(argv: list[str], port: int, timeout_s: float = 120) -> float:
    """Seconds from starting ``argv`` until ``/`` on ``port`` answers 200."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - started < timeout_s:
            try:
                if requests.get(f"http://127.0.0.1:{port}/", timeout=30).status_code == 200:
                    return time.perf_counter() - started
            except requests.ConnectionError:
                time.sleep(0.02)
        raise SystemExit(f"{argv} did not answer within {timeout_s} s")
    finally:
        proc.terminate()
        proc.wait(30)


def import_dash_s() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import dash"], check=True)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    runs = 2 if args.quick else 5
    with tempfile.TemporaryDirectory(prefix="cc-coldstart-") as tmp:
        data_dir = Path(tmp)
        prepare(data_dir)
        imports = statistics.median(import_dash_s() for _ in range(runs))
        bare = []
        cockpit = []
        for _ in range(runs):
            port = free_port()
            bare.append(until_200([sys.executable, "-c", BARE_APP, str(port)], port))
            port = free_port()
            argv = [sys.executable, "app.py", "--data-dir", str(data_dir), "--port", str(port)]
            cockpit.append(until_200(argv, port))
    cold, bare_s = statistics.median(cockpit), statistics.median(bare)
    print(f"python -c 'import dash':        {imports:.2f} s")
    print(f"bare Dash app, first 200:       {bare_s:.2f} s")
    print(f"python app.py, first 200 on /:  {cold:.2f} s  ratio to bare app {cold / bare_s:.2f}")
    print(f"RESULT cold_start_s={cold:.2f} import_dash_s={imports:.2f} bare_app_s={bare_s:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
