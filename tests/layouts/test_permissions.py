"""Public is public: every callback and every route, asked directly over HTTP the way a
curious visitor could, refuses internal data and forbidden actions.

The city is the demo plus one internal source and layer ("Works depot air monitors",
sites named "Depot Quokka …") and two users. The sweep is generic: it reads the app's
callbacks from ``/_dash-dependencies`` and its routes from the Flask URL map, so every
callback and route added to the cockpit is covered without changing this file.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dash
import pandas as pd
import pytest
import requests
from dash import Dash

from cockpit.auth import hash_password
from cockpit.config import CityConfig, LayerConfig, SourceConfig, UserConfig, load_config
from cockpit.config import default_config_path as demo_path
from cockpit.state.journal import Decision
from tests.browser import T0, AppServers
from wiring.runtime import Runtime

DEMO_DIR = demo_path().parent / "demo-melbourne"
INTERNAL_SOURCE = "depots"
INTERNAL_PREFIX = "Depot Quokka"
# Text that only internal data contains: site names, the source's name and publisher.
INTERNAL_TEXT = (INTERNAL_PREFIX, "Works depot air monitors", "City works depots")
PASSWORDS = {"sam": "staff password 1234", "eve": "executive password 5678"}
AUDIT_MARKER = "audit-marker-Xyzzy"


def internal_city(folder: Path) -> CityConfig:
    """The demo city with an internal copy of the air stations, renamed, and two users:
    ``sam`` (staff) and ``eve`` (executive), passwords in ``PASSWORDS``."""
    config = load_config(demo_path())
    stations = pd.read_csv(DEMO_DIR / "epa-vic_air-monitoring-stations.csv")
    stations["location_name"] = INTERNAL_PREFIX + " " + stations["location_name"]
    stations_file = folder / "depot-stations.csv"
    stations.to_csv(stations_file, index=False)
    config.sources[INTERNAL_SOURCE] = SourceConfig(
        connector="melbourne-replay",
        name="Works depot air monitors",
        publisher="City works depots",
        licence="for city staff only",
        access="internal",
        backfill_hours=0,
        stale_after_seconds=7200,
        options={
            "dataset": "air",
            "recorded": "2024",
            "recorded_station": 10001,
            "files": {
                "stations": str(stations_file),
                "series": str(DEMO_DIR / "epa-vic_alphington_hourly_2024.csv"),
            },
        },
    )
    config.layers[INTERNAL_SOURCE] = LayerConfig(
        domain="air",
        title="Works depots",
        sources=[INTERNAL_SOURCE],
        metric="eaqi",
        access="internal",
    )
    config.access.users = {
        "sam": UserConfig(role="staff", password_hash=hash_password(PASSWORDS["sam"])),
        "eve": UserConfig(role="executive", password_hash=hash_password(PASSWORDS["eve"])),
    }
    return config


def client() -> requests.Session:
    """A requests session that keeps no idle connection (and server thread) open."""
    session = requests.Session()
    session.headers["Connection"] = "close"
    return session


def sign_in(base: str, user: str, password: str) -> requests.Session:
    """A requests session signed in through the real form (CSRF token and all)."""
    session = client()
    page = session.get(base + "/signin", timeout=10).text
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token, "the sign-in form carries a CSRF token"
    answer = session.post(
        base + "/signin",
        data={"user": user, "password": password, "csrf": token.group(1)},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 303, answer.text
    return session


# -- the generic sweep ----------------------------------------------------------------


def _walk_ids(node: Any, found: dict[str, tuple[Any, dict[str, Any]]]) -> None:
    """Every component id in a layout (JSON), with its props."""
    if isinstance(node, dict):
        props = node.get("props")
        if isinstance(props, dict) and "id" in props and "type" in node:
            found[json.dumps(props["id"], sort_keys=True)] = (props["id"], props)
        for value in node.values():
            _walk_ids(value, found)
    elif isinstance(node, list):
        for value in node:
            _walk_ids(value, found)


def _matches(pattern: dict[str, Any], concrete: Any) -> bool:
    if not isinstance(concrete, dict) or set(pattern) != set(concrete):
        return False
    return all(isinstance(v, list) or concrete[k] == v for k, v in pattern.items())


def _parse_id(text: str) -> Any:
    return json.loads(text) if text.startswith("{") else text


def _split_output(output: str) -> list[tuple[Any, str]]:
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    out = []
    for part in parts:
        ident, prop = part.rsplit(".", 1)
        # "prop@hash" marks allow_duplicate outputs; the browser sends the bare prop.
        out.append((_parse_id(ident.replace("\\.", ".")), prop.split("@", 1)[0]))
    return out


def _stringify(ident: Any) -> str:
    if isinstance(ident, dict):
        return (
            "{" + ",".join(f"{json.dumps(k)}:{json.dumps(ident[k])}" for k in sorted(ident)) + "}"
        )
    return str(ident)


class Sweep:
    """Builds and sends crafted callback requests for one signed-in (or public) client."""

    def __init__(self, base: str, session: requests.Session, internal_id: str) -> None:
        self.base = base
        self.session = session
        self.internal_id = internal_id
        self.ids: dict[str, tuple[Any, dict[str, Any]]] = {}

    def candidates(self, prop: str, layout_value: Any) -> list[Any]:
        if prop in ("n_clicks", "n_intervals", "n_submit", "n_clicks_timestamp"):
            return [layout_value, 1, 2]
        site = self.internal_id
        return [
            layout_value,
            site,
            {"properties": {"id": site, "name": site}, "id": site},
            {"id": site, "site": site, "site_id": site, "source": INTERNAL_SOURCE},
            INTERNAL_SOURCE,
            [site],
        ]

    def _spec(self, ident: Any, prop: str, choice: int) -> Any:
        """The request entry for one input/state: concrete ids for patterns."""
        if isinstance(ident, dict) and any(isinstance(v, list) for v in ident.values()):
            wildcard = next(v[0] for v in ident.values() if isinstance(v, list))
            matching = [(i, p) for i, p in self.ids.values() if _matches(ident, i)]
            entries = []
            for concrete, props in matching:
                values = self.candidates(prop, props.get(prop))
                entries.append(
                    {"id": concrete, "property": prop, "value": values[choice % len(values)]}
                )
            return entries if wildcard != "MATCH" else (entries[:1] or [None])[0]
        props = self.ids.get(json.dumps(ident, sort_keys=True), (ident, {}))[1]
        values = self.candidates(prop, props.get(prop))
        return {"id": ident, "property": prop, "value": values[choice % len(values)]}

    def _output(self, ident: Any, prop: str) -> Any:
        if isinstance(ident, dict) and any(isinstance(v, list) for v in ident.values()):
            wildcard = next(v[0] for v in ident.values() if isinstance(v, list))
            found = [
                {"id": i, "property": prop} for i, _ in self.ids.values() if _matches(ident, i)
            ]
            return found if wildcard != "MATCH" else (found[:1] or [None])[0]
        return {"id": ident, "property": prop}

    def requests_for(self, callback: dict[str, Any], pathnames: list[str]) -> Iterator[dict]:
        no_output = bool(callback.get("no_output"))
        outputs = (
            [] if no_output else [self._output(i, p) for i, p in _split_output(callback["output"])]
        )
        many = no_output or callback["output"].startswith("..")
        sent: set[str] = set()
        for choice in range(6):
            inputs = [
                self._spec(_parse_id(i["id"]), i["property"], choice) for i in callback["inputs"]
            ]
            state = [
                self._spec(_parse_id(s["id"]), s["property"], choice) for s in callback["state"]
            ]
            paths = (
                pathnames if any(i["property"] == "pathname" for i in callback["inputs"]) else [""]
            )
            for path in paths:
                filled = [_with_path(entry, path, choice, self.internal_id) for entry in inputs]
                changed = [
                    f"{_stringify(e['id'])}.{e['property']}"
                    for entry in filled
                    for e in (entry if isinstance(entry, list) else [entry])
                    if e
                ]
                body = {
                    "output": callback["output"],
                    "outputs": outputs if many else outputs[0],
                    "inputs": filled,
                    "changedPropIds": changed,
                    "state": state,
                }
                key = json.dumps(body, sort_keys=True, default=str)
                if key not in sent:  # the same question once
                    sent.add(key)
                    yield body

    def post(self, body: dict[str, Any]) -> requests.Response:
        return self.session.post(self.base + "/_dash-update-component", json=body, timeout=60)


def _with_path(entry: Any, path: str, choice: int, site: str) -> Any:
    """A page address, and a query string naming internal things on odd choices."""
    if isinstance(entry, dict) and entry.get("property") == "pathname" and path:
        return {**entry, "value": path}
    if isinstance(entry, dict) and entry.get("property") == "search":
        query = f"?site={site}&source={INTERNAL_SOURCE}&layer={INTERNAL_SOURCE}"
        return {**entry, "value": query if choice % 2 else ""}
    return entry


def _pathnames(internal_id: str) -> list[str]:
    """Every registered page's path, templates filled with internal names."""
    paths = {"/"}
    for page in dash.page_registry.values():
        template = page.get("path_template")
        if template:
            for fill in (internal_id, INTERNAL_SOURCE):
                paths.add(re.sub(r"<[^>]+>", fill, template))
        else:
            paths.add(page["path"])
    return sorted(paths)


def _leaks(text: str, sent: str, internal_ids: list[str]) -> list[str]:
    found = [t for t in INTERNAL_TEXT if t in text]
    found += [i for i in internal_ids if i in text and i not in sent]
    if AUDIT_MARKER in text:
        found.append(AUDIT_MARKER)
    return found


def _journal_state(runtime: Runtime) -> tuple[Any, ...]:
    journal = runtime.journal
    return (
        journal.version(),
        len(journal.notices(include_inactive=True)),
        len(journal.acknowledgements()),
        len(journal.decisions()),
        [(r.id, r.spec) for r in journal.rules()],
    )


# -- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def runtime(app_server: AppServers, tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    folder = tmp_path_factory.mktemp("city")
    rt = app_server.city(config=internal_city(folder), backfill=False, data_dir=folder / "data")
    rt.journal.audit("eve", AUDIT_MARKER, "planted", "127.0.0.1")
    return rt


@pytest.fixture(scope="module")
def app(app_server: AppServers, runtime: Runtime) -> Dash:
    return app_server.app(runtime)


@pytest.fixture(scope="module")
def base(app_server: AppServers, app: Dash) -> str:
    return app_server.url(app)


@pytest.fixture(scope="module")
def internal_ids(runtime: Runtime) -> list[str]:
    snap = runtime.store.snapshot(INTERNAL_SOURCE)
    assert snap is not None and not snap.sites.empty
    return list(snap.sites["id"])


def _sweep(base: str, session: requests.Session, internal_ids: list[str]) -> dict[str, list]:
    """Every server callback with every kind of crafted input; leaks per callback."""
    sweep = Sweep(base, session, internal_ids[0])
    deps = session.get(base + "/_dash-dependencies", timeout=30).json()
    layout = session.get(base + "/_dash-layout", timeout=30).json()
    _walk_ids(layout, sweep.ids)
    pathnames = _pathnames(internal_ids[0])
    router = [c for c in deps if "_pages_content.children" in c["output"]]
    for callback, path in itertools.product(router, pathnames):
        for body in sweep.requests_for(callback, [path]):
            answer = sweep.post(body)
            if answer.ok:
                _walk_ids(answer.json(), sweep.ids)
            break
    leaks: dict[str, list] = {}
    sent = 0
    for callback in deps:
        if callback.get("clientside_function"):
            continue
        for body in sweep.requests_for(callback, pathnames):
            answer = sweep.post(body)
            sent += 1
            assert answer.status_code in (200, 204, 400, 403, 500), answer.status_code
            assert "Traceback" not in answer.text
            found = _leaks(answer.text, json.dumps(body), internal_ids)
            if found:
                leaks.setdefault(callback["output"], []).extend(found)
    leaks["(requests sent)"] = [sent]
    return leaks


@pytest.fixture(scope="module")
def staff_sweep(
    base: str, runtime: Runtime, internal_ids: list[str]
) -> tuple[dict[str, list], Any, Any]:
    """One sweep as staff: the leaks found, and the decisions and alert rules in the
    journal before and after."""

    def executive_records() -> Any:
        return len(runtime.journal.decisions()), [(r.id, r.spec) for r in runtime.journal.rules()]

    before = executive_records()
    leaks = _sweep(base, sign_in(base, "sam", PASSWORDS["sam"]), internal_ids)
    return leaks, before, executive_records()


def test_sweep_finds_internal_data_for_staff(staff_sweep: tuple[dict[str, list], Any, Any]) -> None:
    """The sweep can see a leak: signed in as staff, internal sites do come back."""
    leaks = dict(staff_sweep[0])
    sent = leaks.pop("(requests sent)")[0]
    assert sent > 10
    shown = {t for found in leaks.values() for t in found}
    assert INTERNAL_PREFIX in shown
    assert AUDIT_MARKER not in shown  # staff may not read the audit log


def test_no_callback_gives_a_public_visitor_internal_data(
    base: str, runtime: Runtime, internal_ids: list[str]
) -> None:
    before = _journal_state(runtime)
    leaks = _sweep(base, client(), internal_ids)
    leaks.pop("(requests sent)")
    assert leaks == {}
    assert _journal_state(runtime) == before  # no action took effect


def test_staff_cannot_take_executive_actions(staff_sweep: tuple[dict[str, list], Any, Any]) -> None:
    _, before, after = staff_sweep
    assert after == before  # write_decision and manage_rules are for executives only


def _route_urls(runtime: Runtime, app_rules: list[tuple[str, set[str]]], ids: list[str]) -> list:
    urls = []
    for rule, methods in app_rules:
        if "GET" not in methods or rule.startswith(("/_dash-component-suites", "/assets")):
            continue
        fills = [ids[0], INTERNAL_SOURCE, *runtime.config.kiosk.screens, "main"]
        if "<" in rule:
            urls += [re.sub(r"<[^>]+>", fill, rule) for fill in fills]
        else:
            urls.append(rule)
    return urls


def _text(session: requests.Session, url: str) -> str:
    """The answer's text; of an event stream (``/live``, open for minutes), its opening
    event, which is all a screen is told before anything changes."""
    with session.get(url, timeout=30, allow_redirects=False, stream=True) as answer:
        if not answer.headers.get("Content-Type", "").startswith("text/event-stream"):
            return answer.text
        opening = b""
        for chunk in answer.iter_content(chunk_size=None):
            opening += chunk
            if b"\n\n" in opening:
                return opening.decode()
        return opening.decode()


@pytest.fixture(scope="module")
def rules(app: Dash) -> list[tuple[str, set[str]]]:
    """The URL map of the server under test: every plain route the cockpit has."""
    return [(r.rule, set(r.methods or ())) for r in app.server.url_map.iter_rules()]


def test_no_route_gives_a_public_visitor_internal_data(
    base: str, runtime: Runtime, internal_ids: list[str], rules: list
) -> None:
    urls = _route_urls(runtime, rules, internal_ids)
    assert "/health" in urls and "/audit" in urls
    for path in urls:
        text = _text(requests.Session(), base + path)
        assert not _leaks(text, path, internal_ids), path
        assert "Traceback" not in text, path


def test_no_route_gives_staff_the_audit_log(
    base: str, runtime: Runtime, internal_ids: list[str], rules: list
) -> None:
    staff = sign_in(base, "sam", PASSWORDS["sam"])
    for path in _route_urls(runtime, rules, internal_ids):
        assert AUDIT_MARKER not in _text(staff, base + path), path
    health = staff.get(base + "/health", timeout=10).json()
    assert INTERNAL_SOURCE in health["sources"]  # staff do see internal sources


def test_audit_page_is_for_executives_only(base: str) -> None:
    public = requests.get(base + "/audit", allow_redirects=False, timeout=10)
    assert public.status_code == 303
    assert public.headers["Location"].endswith("/signin?next=/audit")
    staff = sign_in(base, "sam", PASSWORDS["sam"]).get(base + "/audit", timeout=10)
    assert staff.status_code == 403 and AUDIT_MARKER not in staff.text
    executive = sign_in(base, "eve", PASSWORDS["eve"]).get(base + "/audit", timeout=10)
    assert executive.status_code == 200
    assert AUDIT_MARKER in executive.text
    assert "sign-in" in executive.text and "sam" in executive.text


def test_public_health_hides_internal_sources(base: str) -> None:
    report = requests.get(base + "/health", timeout=10).json()
    assert INTERNAL_SOURCE not in report["sources"]


def test_public_health_status_ignores_internal_sources(base: str, runtime: Runtime) -> None:
    key = f"status:{INTERNAL_SOURCE}"
    kept = runtime.store.cache.get(key)
    runtime.store.cache.delete(key)  # the internal source has never answered: down
    try:
        public = requests.get(base + "/health", timeout=10)
        assert public.status_code == 200
        assert public.json()["status"] != "down"
        staff = sign_in(base, "sam", PASSWORDS["sam"]).get(base + "/health", timeout=10)
        assert staff.status_code == 503
        assert staff.json()["status"] == "down"
        assert staff.json()["sources"][INTERNAL_SOURCE]["status"] == "down"
    finally:
        runtime.store.cache.set(key, kept)


def test_a_decision_journal_entry_is_not_made_by_a_public_sweep(runtime: Runtime) -> None:
    """The journal the sweeps watch does record decisions (so the check can fail)."""
    before = _journal_state(runtime)
    runtime.journal.record_decision(
        Decision(what="test", place="x", effective=T0.to_pydatetime(), author="eve")
    )
    assert _journal_state(runtime) != before
