"""How the cockpit's answers travel compressed: brotli when the browser takes it, else gzip.

Pages, callback answers, scripts and map data are compressed by flask-compress. Scripts
and stylesheets are the same bytes for every visitor: Dash names its component scripts
with their package version and each asset with its modification time (``?m=...``), so
each one is compressed once per process and then only copied out. Compressing a
megabyte of scripts again for every new browser cost a first visit hundreds of
milliseconds of server time. Everything else (pages, callback answers) is compressed per
answer, never kept: it differs by viewer and by data version.
"""

from __future__ import annotations

import threading

import flask
import flask_compress

__all__ = ["StaticBodies", "install_compression", "static_key"]

# Fixed for the life of the process: the installed packages' scripts (Dash names the
# eager ones with their version, the lazily loaded ones by file) and fingerprinted assets.
_SUITES = "/_dash-component-suites/"
_ASSETS = "/assets/"


def static_key(request: flask.Request) -> str:
    """The key a compressed answer is kept under: its path for a file whose content is
    fixed while the process runs, else "" (never kept)."""
    if request.method != "GET":
        return ""
    if request.path.startswith(_SUITES) or (
        request.path.startswith(_ASSETS) and "m" in request.args
    ):
        return request.full_path
    return ""


class StaticBodies:
    """flask-compress's cache, holding only keys of :func:`static_key` files (the
    algorithm and ``;`` come first: a key ending in ``;`` names an answer not kept)."""

    def __init__(self, keep: int = 256) -> None:
        self.keep = keep
        self._lock = threading.Lock()
        self._bodies: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        if key.endswith(";"):
            return None
        with self._lock:
            return self._bodies.get(key)

    def set(self, key: str, value: bytes) -> None:
        if key.endswith(";"):
            return
        with self._lock:
            if key not in self._bodies and len(self._bodies) >= self.keep:
                return  # a bounded set of files; anything past it is compressed each time
            self._bodies[key] = value


def install_compression(server: flask.Flask) -> None:
    """Compress ``server``'s answers (brotli, else gzip), keeping static files' bodies."""
    server.config["COMPRESS_ALGORITHM"] = ["br", "gzip"]
    server.config["COMPRESS_MIN_SIZE"] = 500
    # Files streamed from assets/ stay as they are: compressing a stream never closes
    # the file behind it (one open file per request, a leak under load).
    server.config["COMPRESS_STREAMS"] = False
    server.config["COMPRESS_CACHE_BACKEND"] = StaticBodies
    server.config["COMPRESS_CACHE_KEY"] = static_key
    flask_compress.Compress(server)
