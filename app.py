"""City Cockpit's entry point.

``python app.py`` serves the embedded demo city at http://127.0.0.1:8050;
``python app.py --config cities/hamburg.toml --port 8060`` serves another city.
``server`` is the WSGI app for gunicorn (``gunicorn app:server``), built on first use
for the config named by ``CITY_COCKPIT_CONFIG`` (default: the demo city).
"""

from __future__ import annotations

import os
import sys
from typing import Any

from wiring.cli import main, wsgi_server


def __getattr__(name: str) -> Any:
    # Built lazily so that `python app.py` does not build a second app at import.
    if name == "server":
        return wsgi_server(os.environ.get("CITY_COCKPIT_CONFIG"))
    raise AttributeError(name)


if __name__ == "__main__":
    raise SystemExit(main(["run", *sys.argv[1:]]))
