"""Answers travel compressed (brotli when the browser takes it, else gzip), and the
scripts and assets that are the same for every visitor are compressed once per process."""

from __future__ import annotations

import brotli
import flask
import flask_compress.flask_compress as compress_module
import pytest

from wiring.compression import StaticBodies, install_compression, static_key

SCRIPT = "var cockpit = 1;\n" * 400


@pytest.fixture
def app() -> flask.Flask:
    server = flask.Flask(__name__)
    install_compression(server)
    served = {"page": 0}

    @server.route("/_dash-component-suites/dash_leaflet/dash_leaflet.v1.js")
    def script() -> flask.Response:
        return flask.Response(SCRIPT, mimetype="application/javascript")

    @server.route("/page")
    def page() -> flask.Response:
        served["page"] += 1
        return flask.Response(f"<p>{served['page']}</p>" * 200, mimetype="text/html")

    return server


@pytest.fixture
def compressions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    done: list[str] = []
    original = compress_module._compress_data

    def counted(app: flask.Flask, data: bytes, algorithm: str) -> bytes:
        done.append(algorithm)
        return original(app, data, algorithm)

    monkeypatch.setattr(compress_module, "_compress_data", counted)
    return done


def test_brotli_when_taken_else_gzip(app: flask.Flask) -> None:
    client = app.test_client()
    url = "/_dash-component-suites/dash_leaflet/dash_leaflet.v1.js"
    br = client.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert br.headers["Content-Encoding"] == "br"
    assert brotli.decompress(br.data).decode() == SCRIPT
    gz = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert gz.headers["Content-Encoding"] == "gzip"
    plain = client.get(url, headers={"Accept-Encoding": ""})
    assert "Content-Encoding" not in plain.headers and plain.text == SCRIPT


def test_a_script_is_compressed_once_a_page_every_time(
    app: flask.Flask, compressions: list[str]
) -> None:
    client = app.test_client()
    url = "/_dash-component-suites/dash_leaflet/dash_leaflet.v1.js"
    first = [client.get(url, headers={"Accept-Encoding": "br"}).data for _ in range(3)]
    assert compressions == ["br"] and first[0] == first[1] == first[2]
    pages = [client.get("/page", headers={"Accept-Encoding": "br"}) for _ in range(2)]
    assert compressions == ["br", "br", "br"]
    # Each page answer is its own, never one kept from before.
    assert brotli.decompress(pages[0].data) != brotli.decompress(pages[1].data)


def test_only_files_fixed_for_the_process_are_kept() -> None:
    app = flask.Flask(__name__)
    cases = {
        "/_dash-component-suites/dash/dcc/async-slider.js": True,
        "/assets/map.js?m=1796404596.65": True,
        "/assets/map.js": False,  # no fingerprint: the file may change
        "/_dash-layout": False,
        "/map-clusters/parking.json?v=3&r=public&z=12&b=1,2,3,4": False,
    }
    for path, kept in cases.items():
        with app.test_request_context(path):
            assert bool(static_key(flask.request)) is kept, path
    with app.test_request_context("/assets/map.js?m=1", method="POST"):
        assert static_key(flask.request) == ""
    bodies = StaticBodies(keep=1)
    bodies.set("br;", b"page")
    assert bodies.get("br;") is None
    bodies.set("br;/a.js", b"a")
    bodies.set("br;/b.js", b"b")  # past the bound: not kept
    assert bodies.get("br;/a.js") == b"a" and bodies.get("br;/b.js") is None
