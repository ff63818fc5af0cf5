"""Every registered callback and every route, fed generated input: never a 500, never a
stack trace.

The callbacks are read from the app's own callback map, so a callback added later is
fuzzed without touching this file. Each request is shaped as Dash's renderer shapes it
(the declared inputs and states, pattern-matched ids made concrete), and the values come
from hypothesis: numbers out of range, NaN and infinities, wrong types, odd strings,
nested lists and objects. Requests go through the whole server (middleware included)
with Flask's test client. The API under /api/v1 is fuzzed by schemathesis in
``tests/layouts/routes/test_api.py``.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest
from dash import Dash
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cockpit.auth import hash_password
from cockpit.config import UserConfig, default_config_path, load_config
from layouts.routes import live
from tests.browser import AppServers
from wiring.runtime import Runtime

EXAMPLES = 40

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(["", "en", "de", "default", "traffic", "pedestrians", "1e308", "NaN"]),
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
_KEYS = st.sampled_from(["key", "beat", "id", "screen", "lang", "lat", "lon", "t", "layer"])
_OBJECTS = st.dictionaries(st.one_of(_KEYS, st.text(max_size=8)), _JSON, max_size=5)
_BY_PROPERTY = {
    "n_clicks": st.one_of(st.none(), st.integers(), st.floats(), st.text(max_size=5)),
    "n_intervals": st.one_of(st.none(), st.integers(), st.floats(), st.text(max_size=5)),
    "data": st.one_of(_JSON, _OBJECTS),
    "clickData": st.one_of(_JSON, _OBJECTS),
    "pathname": st.one_of(
        st.sampled_from(["/", "/kiosk", "/kiosk/default", "/m", "/data/traffic", "/notices"]),
        st.text(max_size=20).map(lambda t: "/" + t),
    ),
    "search": st.one_of(st.none(), st.text(max_size=30).map(lambda t: "?" + t)),
}


def _value(prop: str) -> st.SearchStrategy[Any]:
    return st.one_of(_BY_PROPERTY.get(prop, _JSON), _JSON)


def _concrete(dep_id: Any, draw: Any) -> Any:
    """A component id as the renderer sends it: wildcards replaced by values."""
    if isinstance(dep_id, str) and dep_id.startswith("{"):
        dep_id = json.loads(dep_id)
    if not isinstance(dep_id, dict):
        return dep_id
    out = {}
    for key, value in dep_id.items():
        if isinstance(value, list):  # ["ALL"], ["MATCH"], ["ALLSMALLER"]
            out[key] = draw(
                st.one_of(
                    st.text(max_size=20),
                    st.integers(),
                    st.sampled_from(["traffic", "pedestrians", "parking", "air", "1"]),
                )
            )
        else:
            out[key] = value
    return out


def _is_group(dep: dict[str, Any]) -> bool:
    return any(w in str(dep["id"]) for w in ('["ALL"]', '["ALLSMALLER"]'))


def _prop_id(dep_id: Any, prop: str) -> str:
    if isinstance(dep_id, dict):
        dep_id = json.dumps(dep_id, sort_keys=True, separators=(",", ":"))
    return f"{dep_id}.{prop}"


def _entries(deps: list[dict[str, Any]], draw: Any) -> list[Any]:
    out: list[Any] = []
    for dep in deps:
        prop = dep["property"]
        if _is_group(dep):
            count = draw(st.integers(min_value=0, max_value=3))
            out.append(
                [
                    {
                        "id": _concrete(dep["id"], draw),
                        "property": prop,
                        "value": draw(_value(prop)),
                    }
                    for _ in range(count)
                ]
            )
        else:
            entry = {"id": _concrete(dep["id"], draw), "property": prop}
            if draw(st.booleans()) or prop not in ("id",):
                entry["value"] = draw(_value(prop))
            out.append(entry)
    return out


def _outputs(key: str, draw: Any) -> Any:
    multi = key.startswith("..") and key.endswith("..")
    parts = key[2:-2].split("...") if multi else [key.split("@", 1)[0]]
    outputs = []
    for part in parts:
        dep_id, _, prop = part.rpartition(".")
        outputs.append({"id": _concrete(dep_id, draw), "property": prop.split("@", 1)[0]})
    return outputs if multi else outputs[0]


def _body(key: str, callback: dict[str, Any], draw: Any) -> dict[str, Any]:
    inputs = _entries(callback["inputs"], draw)
    state = _entries(callback["state"], draw)
    changed: list[str] = []
    for item in inputs:
        for member in item if isinstance(item, list) else [item]:
            if draw(st.booleans()):
                changed.append(_prop_id(member["id"], member["property"]))
    return {
        "output": key,
        "outputs": _outputs(key, draw),
        "inputs": inputs,
        "state": state,
        "changedPropIds": changed,
    }


PASSWORD = "fuzzing executive 4321"


@pytest.fixture(scope="module")
def runtime(app_server: AppServers) -> Runtime:
    config = load_config(default_config_path())
    config.access.users = {
        "eve": UserConfig(role="executive", password_hash=hash_password(PASSWORD))
    }
    return app_server.city(config=config, backfill=False)


@pytest.fixture(scope="module")
def app(app_server: AppServers, runtime: Runtime) -> Dash:
    built = app_server.app(runtime)
    built.server.test_client().get("/")  # Dash completes its callback map on first use
    return built


def _server_callbacks(app: Dash) -> dict[str, dict[str, Any]]:
    return {k: cb for k, cb in app.callback_map.items() if "callback" in cb}


def _check(answer: Any, what: str) -> None:
    text = answer.get_data().decode("utf-8", "replace")
    assert answer.status_code != 500, f"{what} answered 500"
    assert "Traceback" not in text and 'File "' not in text, what


def test_every_server_callback_is_fuzzed(app: Dash) -> None:
    keys = set(_server_callbacks(app))
    assert len(keys) >= 15
    assert any("cc-frame" in k for k in keys) and any("cc-kiosk-body" in k for k in keys)
    assert any("_pages_location" in str(cb["inputs"]) for cb in app.callback_map.values())


@pytest.mark.parametrize("index", range(24))
def test_a_callback_never_answers_500(app: Dash, index: int) -> None:
    callbacks = sorted(_server_callbacks(app).items())
    if index >= len(callbacks):
        assert index >= len(callbacks)  # fewer callbacks than slots: nothing to fuzz here
        return
    key, callback = callbacks[index]
    client: FlaskClient = app.server.test_client()
    statuses: list[int] = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=st.data())
    def fuzz(data: st.DataObject) -> None:
        body = _body(key, callback, data.draw)
        raw = json.dumps(body, allow_nan=True)
        answer = client.post("/_dash-update-component", data=raw, content_type="application/json")
        _check(answer, f"callback {key} with {raw[:300]}")
        statuses.append(answer.status_code)

    fuzz()
    # The generated requests reach the callback itself, not only the request checks (a
    # public visitor's publishing callbacks answer 403 themselves).
    assert {200, 204, 403} & set(statuses), f"{key}: only {sorted(set(statuses))}"


def _executive(app: Dash) -> FlaskClient:
    client: FlaskClient = app.server.test_client()
    form = client.get("/signin").get_data(as_text=True)
    token = re.search(r'name="csrf" value="([^"]+)"', form)
    assert token
    answer = client.post(
        "/signin", data={"user": "eve", "password": PASSWORD, "csrf": token.group(1)}
    )
    assert answer.status_code == 303
    return client


@pytest.mark.parametrize(
    "page", ["cc-notice-list", "cc-decision-list", "cc-rule-list", "cc-rule-test-result"]
)
def test_publishing_callbacks_signed_in_never_answer_500(app: Dash, page: str) -> None:
    """The notice, decision and alert-rule callbacks as an executive, who may use them."""
    key, callback = next((k, cb) for k, cb in _server_callbacks(app).items() if page in k)
    client = _executive(app)
    statuses: list[int] = []

    @settings(
        max_examples=150,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=st.data())
    def fuzz(data: st.DataObject) -> None:
        raw = json.dumps(_body(key, callback, data.draw), allow_nan=True)
        answer = client.post("/_dash-update-component", data=raw, content_type="application/json")
        _check(answer, f"callback {key} with {raw[:300]}")
        statuses.append(answer.status_code)

    fuzz()
    assert {200, 204} & set(statuses), f"{key}: only {sorted(set(statuses))}"


_PLACEHOLDER = re.compile(r"<(?:[^:>]+:)?([^>]+)>")


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_no_route_answers_500(app: Dash, data: st.DataObject) -> None:
    rules = sorted(
        r.rule
        for r in app.server.url_map.iter_rules()
        if "GET" in (r.methods or ()) and not r.rule.startswith("/api/v1")
    )
    rule = data.draw(st.sampled_from(rules))
    segment = st.one_of(
        st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20),
        st.sampled_from(["traffic", "pedestrians", "parking", "air", "default", "..", "%00"]),
    )
    # A segment is one path segment: no "/", and no "?" or "#" that would end the path.
    path = _PLACEHOLDER.sub(lambda _: re.sub(r"[/?#]", "_", data.draw(segment)) or "x", rule)
    query = data.draw(
        st.dictionaries(
            st.one_of(
                st.sampled_from(["t", "lang", "id", "from", "to", "kind", "next", "layer"]),
                st.text(max_size=8),
            ),
            st.one_of(
                st.text(max_size=20),
                st.sampled_from(["1e308", "-1e308", "NaN", "inf", "99999999999", "-1", ""]),
            ),
            max_size=4,
        )
    )
    client: FlaskClient = app.server.test_client()
    if rule == live.ROUTE:  # a stream that goes on for minutes: its opening event
        answer = client.get(path, query_string=query, buffered=False)
        try:
            assert answer.status_code == 200, f"GET {path} {query}"
            assert next(iter(answer.response)).startswith(b"retry:"), f"GET {path} {query}"
        finally:
            answer.close()
        return
    answer = client.get(path, query_string=query)
    _check(answer, f"GET {path} {query}")


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    search=st.dictionaries(st.text(min_size=1, max_size=10), st.text(max_size=10), max_size=4),
    path=st.sampled_from(
        [
            "/",
            "/kiosk",
            "/kiosk/default",
            "/m",
            "/data/traffic",
            "/notices",
            "/decisions",
            "/methodology",
            "/catalogue",
            "/nothing",
        ]
    ),
)
def test_the_page_router_takes_any_query(app: Dash, search: dict[str, str], path: str) -> None:
    """The page router callback with unexpected query keys, as a browser would send it."""
    from urllib.parse import urlencode

    router = next(
        (k, cb)
        for k, cb in app.callback_map.items()
        if "callback" in cb and "_pages_location" in str(cb["inputs"])
    )
    key, callback = router
    values = {"pathname": path, "search": "?" + urlencode(search), "hash": ""}

    def entry(dep: dict[str, Any]) -> dict[str, Any]:
        return {"id": dep["id"], "property": dep["property"], "value": values.get(dep["property"])}

    body = {
        "output": key,
        "outputs": _outputs(key, lambda s: "x"),
        "inputs": [entry(d) for d in callback["inputs"]],
        "state": [entry(d) for d in callback["state"]],
        "changedPropIds": ["_pages_location.pathname"],
    }
    answer = app.server.test_client().post("/_dash-update-component", json=body)
    _check(answer, f"router {path} {search}")


@pytest.mark.parametrize(
    "t", ["1e308", "-1e308", "NaN", "inf", "-inf", "99999999999999", "-5", "", "x", "0"]
)
@pytest.mark.parametrize("layer", ["traffic", "pedestrians", "nothing"])
def test_replayed_map_data_takes_any_time(app: Dash, layer: str, t: str) -> None:
    answer = app.server.test_client().get(f"/map-data-at/{layer}.json", query_string={"t": t})
    _check(answer, f"/map-data-at/{layer}.json?t={t}")
    assert answer.status_code in (200, 400, 404)


def _call(app: Dash, output: str, inputs: list[Any], state: list[Any]) -> Any:
    callback = app.callback_map[output]
    body = {
        "output": output,
        "outputs": _outputs(output, lambda s: "x"),
        "inputs": [
            {"id": d["id"], "property": d["property"], "value": v}
            for d, v in zip(callback["inputs"], inputs, strict=True)
        ],
        "state": [
            {"id": d["id"], "property": d["property"], "value": v}
            for d, v in zip(callback["state"], state, strict=True)
        ],
        "changedPropIds": [f"{callback['inputs'][0]['id']}.{callback['inputs'][0]['property']}"],
    }
    raw = json.dumps(body, allow_nan=True)
    return app.server.test_client().post(
        "/_dash-update-component", data=raw, content_type="application/json"
    )


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 1e308, -(2**70), "7", [1], {}])
def test_the_cockpit_frame_takes_no_crafted_moment(app: Dash, bad: Any) -> None:
    """Anchor and offset out of range, not finite or of the wrong type: the live frame."""
    cases = ((bad, -15, 15), (1_795_000_000, bad, 15), (bad, bad, bad), (1_795_000_000, -15, bad))
    for anchor, offset, step in cases:
        for playing in (False, True):  # playing also prepares the moments ahead
            state = [anchor, [], [], "en", playing, step]
            answer = _call(app, "cc-frame.data", [1, offset, "state"], state)
            _check(answer, f"frame anchor={anchor} offset={offset} step={step}")
            assert answer.status_code in (200, 204, 400)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -1, 2**80, "x", [1], {"a": 1}, None])
def test_a_kiosk_asking_oddly_still_gets_a_screen(app: Dash, bad: Any) -> None:
    output = "..cc-kiosk-body.children...cc-kiosk.className...cc-kiosk-state.data.."
    answer = _call(app, output, [bad], [{"screen": bad, "id": bad, "lang": bad}, bad])
    _check(answer, f"kiosk ask={bad}")
    assert answer.status_code in (200, 204)
