"""What the load and soak benchmarks share: a gunicorn-served city on 127.0.0.1 and a
client that sends exactly the requests a browser's Dash renderer sends.

``DashClient`` reads ``/_dash-dependencies`` and the page's content (the Dash pages
callback), then replays the server-side callbacks the renderer would fire: the poll
interval's callback every poll, and every callback whose input a response changed
(the cockpit's refresh after a new data version, the map layer files it then loads).
Clientside callbacks run in the browser and cost the server nothing, so they are not
sent, but the map-data files they fetch are.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from selenium import webdriver
from selenium.webdriver.chrome.options import Options

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))

__all__ = [
    "ROOT",
    "DashClient",
    "Timings",
    "chromium",
    "free_port",
    "gunicorn",
    "percentile",
]

CHROMEDRIVER = "/usr/bin/chromedriver"
HEADLESS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def chromium(window: str = "1600,1000", *flags: str) -> webdriver.Chrome:
    """A fresh headless Chromium (empty cache) of ``window`` size, with Debian's driver.

    dash[testing] allows selenium 3.141 to 4.2; the two name the driver differently.
    """
    options = Options()
    for flag in (*HEADLESS, f"--window-size={window}", *flags):
        options.add_argument(flag)
    options.binary_location = os.environ.get("DASH_TEST_CHROMEPATH", "/usr/bin/chromium")
    try:
        from selenium.webdriver.chrome.service import Service

        driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    except TypeError:  # selenium 3 has no ``service`` argument
        driver = webdriver.Chrome(executable_path=CHROMEDRIVER, options=options)
    driver.set_script_timeout(60)
    return driver


def percentile(values: list[float], pct: float) -> float:
    """The ``pct`` percentile (nearest rank) of ``values``; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


@dataclass
class Timings:
    """Latencies (ms) per request label, and errors, from many client threads."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    reconnects: list[str] = field(default_factory=list)

    def add(self, label: str, ms: float) -> None:
        self.latencies.setdefault(label, []).append(ms)  # list.append is atomic

    def count(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    def all(self) -> list[float]:
        return [x for v in self.latencies.values() for x in v]


@contextmanager
def gunicorn(
    config: Path,
    data: Path,
    workers: int,
    threads: int,
    log: Path,
    worker_class: str = "gthread",
    env_extra: dict[str, str] | None = None,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``gunicorn app:server`` for ``config`` on a free 127.0.0.1 port; yields its base
    URL and the master process, once ``/health`` answers. ``worker_class`` ``gevent``
    serves each request on a greenlet (``threads`` is then the connections per worker)."""
    port = free_port()
    env = {
        **os.environ,
        "CITY_COCKPIT_CONFIG": str(config),
        "CITY_COCKPIT_DATA": str(data),
        "CITY_COCKPIT_SECRET_KEY": "bench-secret-key-shared-by-the-workers",
        "PYTHONPATH": str(ROOT),
        **(env_extra or {}),
    }
    per_worker = (
        ["--threads", str(threads)]
        if worker_class == "gthread"
        else ["--worker-connections", str(threads)]
    )
    argv = [
        str(BIN / "gunicorn"),
        "--workers",
        str(workers),
        *per_worker,
        "--worker-class",
        worker_class,
        "--bind",
        f"127.0.0.1:{port}",
        "--timeout",
        "120",
        "--log-level",
        "warning",
        "app:server",
    ]
    with log.open("ab") as out:
        proc = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {log.read_text()[-2000:]}")
            try:
                if requests.get(f"{base}/health", timeout=5).status_code in (200, 503):
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not answer within 120 s")
            time.sleep(0.2)
        yield base, proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(30)


def _key(component_id: Any) -> str:
    """The id as Dash writes it in callback specs (dict ids as sorted JSON)."""
    if isinstance(component_id, dict):
        return json.dumps(component_id, sort_keys=True, separators=(",", ":"))
    return str(component_id)


def _split_outputs(spec: str) -> list[tuple[str, str]]:
    """``"..a.x...b.y.."`` or ``"a.x"`` -> [(id, prop), ...]."""
    parts = spec[2:-2].split("...") if spec.startswith("..") else [spec]
    return [tuple(p.rsplit(".", 1)) for p in parts]  # type: ignore[misc]


def _map_urls(value: Any) -> Iterator[str]:
    """Map layer file URLs anywhere in a callback's answer (the browser fetches them)."""
    if isinstance(value, str) and value.startswith("/map-data/"):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _map_urls(item)
    elif isinstance(value, list):
        for item in value:
            yield from _map_urls(item)


def _matches(pattern: str, component_id: Any) -> bool:
    if not pattern.startswith("{") or not isinstance(component_id, dict):
        return pattern == component_id
    want = json.loads(pattern)
    if set(want) != set(component_id):
        return False
    return all(
        isinstance(v, list) or component_id[k] == v for k, v in want.items()
    )  # ALL / MATCH / ALLSMALLER match any value


class DashClient:
    """One simulated browser tab on ``path`` (e.g. ``/`` or ``/kiosk?id=k1``)."""

    def __init__(self, base: str, path: str, timings: Timings, label: str) -> None:
        self.base = base
        self.path = path
        self.timings = timings
        self.label = label
        self.session = requests.Session()
        self.props: dict[str, dict[str, Any]] = {}  # id key -> props
        self.ids: dict[str, Any] = {}  # id key -> id
        self.deps: list[dict[str, Any]] = []
        self.tick = ""
        self.n = 0
        self.fetched: set[str] = set()

    def close(self) -> None:
        self.session.close()

    # -- requests ------------------------------------------------------------------
    def _send(self, label: str, method: str, url: str, **kw: Any) -> requests.Response | None:
        started = time.perf_counter()
        try:
            try:
                answer = self.session.request(method, self.base + url, timeout=60, **kw)
            except requests.ConnectionError:
                # A kept-alive connection the server closed as the request left: a browser
                # sends the request again on a new connection, and so does this client.
                self.timings.reconnects.append(label)
                answer = self.session.request(method, self.base + url, timeout=60, **kw)
        except requests.RequestException as exc:
            self.timings.errors.append(f"{label}: {type(exc).__name__}: {str(exc)[-160:]}")
            return None
        self.timings.add(label, (time.perf_counter() - started) * 1000)
        if answer.status_code not in (200, 204, 304):
            self.timings.errors.append(f"{label}: HTTP {answer.status_code}")
            return None
        return answer

    def open(self) -> bool:
        """Load the page as a browser does: HTML, then the layout holding the page and
        the dependencies."""
        if self._send(f"{self.label} page", "GET", self.path) is None:
            return False
        # The renderer's request names the page (Referer); the layout then holds it.
        page = {"Referer": self.base + self.path}
        layout = self._send("_dash-layout", "GET", "/_dash-layout", headers=page)
        deps = self._send("_dash-dependencies", "GET", "/_dash-dependencies")
        if layout is None or deps is None:
            return False
        self._walk(layout.json())
        self.deps = deps.json()
        if "pathname" not in self.props.get("_pages_location", {}):
            # An empty page container: the pages router fills it.
            path, _, query = self.path.partition("?")
            self.props.setdefault("_pages_location", {}).update(
                {"pathname": path, "search": f"?{query}" if query else ""}
            )
            self.ids["_pages_location"] = "_pages_location"
            self._fire_for({"_pages_location.pathname", "_pages_location.search"})
        ticks = [
            item["id"]
            for dep in self.deps
            for item in dep["inputs"]
            if item["property"] == "n_intervals"
            and isinstance(item["id"], str)
            and item["id"] in self.props
            and not self.props[item["id"]].get("disabled")
        ]
        # the page's refresh interval: the cockpit's or the kiosk's, else the first one
        known = [t for t in ticks if t in ("cc-tick", "cc-kiosk-tick")]
        self.tick = (known or ticks or [""])[0]
        return bool(self.tick)

    def poll(self) -> None:
        """One tick of the page's interval, and whatever the renderer fires after it."""
        self.n += 1
        self.props[self.tick]["n_intervals"] = self.n
        self._fire_for({f"{self.tick}.n_intervals"})

    # -- the renderer's work -------------------------------------------------------
    def _walk(self, node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                self._walk(item)
            return
        if not isinstance(node, dict) or "props" not in node:
            return
        props = node["props"]
        if "id" in props:
            key = _key(props["id"])
            self.ids[key] = props["id"]
            self.props[key] = {k: v for k, v in props.items() if k != "children"}
        self._walk(props.get("children"))
        for value in props.values():  # components inside other props
            if isinstance(value, dict | list) and value is not props.get("children"):
                self._walk(value)

    def _resolve(self, spec_id: str, prop: str) -> list[dict[str, Any]] | dict[str, Any]:
        if spec_id.startswith("{"):
            return [
                {"id": self.ids[k], "property": prop, "value": self.props[k].get(prop)}
                for k in self.ids
                if _matches(spec_id, self.ids[k])
            ]
        return {"id": spec_id, "property": prop, "value": self.props.get(spec_id, {}).get(prop)}

    def _fire_for(self, changed: set[str], depth: int = 0) -> None:
        """Fire the callbacks whose inputs ``changed``. A clientside callback runs in the
        browser: its outputs are taken to change to its trigger's value (what the
        kiosk's ``ask`` returns) so that the server callbacks after it are sent."""
        if depth > 6:
            return
        for dep in self.deps:
            names = {f"{i['id']}.{i['property']}" for i in dep["inputs"]}
            hit = sorted(names & changed)
            if not hit:
                continue
            if not dep.get("clientside_function"):
                self._fire(dep, self._label(dep), trigger=hit[0], depth=depth)
                continue
            trigger_id, trigger_prop = hit[0].rsplit(".", 1)
            value = self.props.get(trigger_id, {}).get(trigger_prop)
            after = set()
            for out_id, prop in _split_outputs(dep["output"]):
                if not out_id.startswith("{"):
                    self.props.setdefault(out_id, {})[prop] = value
                    after.add(f"{out_id}.{prop}")
            self._fire_for(after, depth + 1)

    def _label(self, dep: dict[str, Any]) -> str:
        first = _split_outputs(dep["output"])[0][0]
        return {
            "_pages_content": "pages-content",
            "cc-kpis": "cockpit refresh",
            "cc-trend": "cockpit trend",
            "cc-kiosk-body": "kiosk refresh",
            "cc-version": "cockpit poll",
            "cc-frame": "cockpit frame",
        }.get(first, first)

    def _fire(self, dep: dict[str, Any], label: str, trigger: str, depth: int = 0) -> None:
        outputs = [self._outputs(i, p) for i, p in _split_outputs(dep["output"])]
        payload = {
            "output": dep["output"],
            "outputs": outputs if dep["output"].startswith("..") else outputs[0],
            "inputs": [self._resolve(i["id"], i["property"]) for i in dep["inputs"]],
            "state": [self._resolve(s["id"], s["property"]) for s in dep["state"]],
            "changedPropIds": [trigger],
        }
        answer = self._send(label, "POST", "/_dash-update-component", json=payload)
        if answer is None or answer.status_code == 204:
            return
        changed: set[str] = set()
        for key, props in answer.json().get("response", {}).items():
            if "children" in props:
                self._walk(props["children"])
            self.props.setdefault(key, {}).update(
                {k: v for k, v in props.items() if k != "children"}
            )
            for prop, value in props.items():
                changed.add(f"{key}.{prop}")
                for url in _map_urls(value):
                    self._map_data(url)
        self._fire_for(changed, depth + 1)

    def _outputs(self, spec_id: str, prop: str) -> Any:
        if spec_id.startswith("{"):
            return [
                {"id": self.ids[k], "property": prop}
                for k in self.ids
                if _matches(spec_id, self.ids[k])
            ]
        return {"id": spec_id, "property": prop}

    def _map_data(self, url: str) -> None:
        if url in self.fetched:  # the browser keeps a version's file
            return
        self.fetched.add(url)
        self._send("map-data", "GET", url, headers={"Accept-Encoding": "gzip, br"})
