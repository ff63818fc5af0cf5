"""Every browser function the app names is in assets/ under the one namespace, and no
callback carries its JavaScript inline."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from dash import Dash
from dash._utils import to_json

from layouts.components.clientside import NAMESPACE, clientside, js_function
from layouts.pages import cockpit
from tests.browser import AppServers
from wiring.app import create_app
from wiring.runtime import Runtime

ASSETS = Path(__file__).resolve().parents[3] / "assets"


@pytest.fixture(scope="module")
def runtime(app_server: AppServers) -> Runtime:
    return app_server.city(backfill=False)


def namespace_functions(source: str) -> set[str]:
    """The names each ``Object.assign(cockpit, {...})`` in ``source`` adds (its keys)."""
    source = re.sub(r"/\*.*?\*/|//[^\n]*", "", source, flags=re.S)
    names: set[str] = set()
    for opening in re.finditer(r"Object\.assign\(cockpit,\s*\{", source):
        depth, expecting = 1, True
        for i in range(opening.end(), len(source)):
            char = source[i]
            if expecting and depth == 1:
                key = re.match(r"\s*(\w+)\s*:", source[i:])
                if key:
                    names.add(key.group(1))
                expecting = False
            if char in "{([":
                depth += 1
            elif char in "})]":
                depth -= 1
                if depth == 0:
                    break
            elif char == "," and depth == 1:
                expecting = True
    return names


def defined() -> set[str]:
    return set().union(*(namespace_functions(p.read_text()) for p in ASSETS.glob("*.js")))


@pytest.fixture(scope="module")
def app(runtime: Runtime) -> Dash:
    return create_app(runtime, start_refresher=False)


def test_the_namespace_parser_reads_keys_at_the_top_level_only() -> None:
    source = "Object.assign(cockpit, {a: f, b: function (x) { var y = {c: 1}; return y; }});"
    assert namespace_functions(source) == {"a", "b"}


def test_the_assets_share_one_namespace_root() -> None:
    for path in ASSETS.glob("*.js"):
        text = path.read_text()
        if "dash_clientside" in text:
            assert "dc.cockpit = dc.cockpit || {}" in text, path.name
        # The older per-file namespaces are gone.
        for old in ("cityCockpitKiosk", "cityCockpitMapData", "cc_mobile", "window.cityCockpit"):
            assert old not in text, (path.name, old)


def test_every_clientside_callback_names_a_function_in_the_assets(app: Dash) -> None:
    named = [c["clientside_function"] for c in app._callback_list if c.get("clientside_function")]
    assert named
    functions = defined()
    for function in named:
        assert function["namespace"] == NAMESPACE
        assert function["function_name"] in functions
    # Inline JavaScript would be registered under Dash's private namespace, as a script.
    assert app._inline_scripts == []


def test_every_map_function_the_cockpit_names_is_in_the_assets(app: Dash, runtime: Runtime) -> None:
    with app.server.test_request_context("/"):
        layout = to_json(cockpit.layout(runtime.city))
    variables = set(re.findall(r'"variable":\s*"([\w.]+)"', layout))
    assert variables
    prefix = f"dash_clientside.{NAMESPACE}."
    for variable in variables:
        assert variable.startswith(prefix)
        assert variable.removeprefix(prefix) in defined()


def test_python_names_the_functions_in_the_one_namespace() -> None:
    assert clientside("showFrame").namespace == NAMESPACE
    assert js_function("pointToLayer") == {"variable": "dash_clientside.cockpit.pointToLayer"}
