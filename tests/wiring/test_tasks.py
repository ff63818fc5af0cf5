"""The city past one machine, on 127.0.0.1: two gunicorn app servers (event-loop
workers, as deployed for live screens) and one Celery worker (with beat) sharing Redis
and PostgreSQL.

Browsers' polls on either app server see the same data version; each source is read
once per interval in total (its ``fetches`` counter); a worker killed with SIGKILL and
started again loses no history and refreshing goes on. A notice published on one app
server, and a worker's new data version, reach a browser on each at once.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from cockpit.config import load_config
from cockpit.state.postgres_history import PostgresHistory
from cockpit.state.postgres_journal import PostgresJournal
from cockpit.state.redis_store import RedisSnapshotStore
from tests.browser import free_port
from tests.notices_calls import NOTICE_OUTPUTS, button_id, notices_body
from tests.servers import pg_schema, postgres_server, redis_prefix, redis_server  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
INTERVAL = 3  # seconds between refreshes of each source in this test


STAFF, SECOND = "sam", "erin"
PASSWORDS = {STAFF: "two-servers-one-notice-7", SECOND: "a-second-pair-of-eyes-8"}


def _config_text(redis_url: str, prefix: str, dsn: str, schema: str) -> str:
    """cities/server-example.toml pointed at the test's servers, refreshing every few
    seconds, with a short backfill, absolute paths to the demo's data files, screens
    that poll only every five minutes and one staff member."""
    from cockpit.auth import hash_password

    text = (ROOT / "cities" / "server-example.toml").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^poll_seconds = \d+", "poll_seconds = 300", text)
    for user, password in PASSWORDS.items():
        hashed = hash_password(password)
        text += f'\n[access.users.{user}]\nrole = "staff"\npassword_hash = "{hashed}"\n'
    text = text.replace('"demo-melbourne/', f'"{ROOT / "cities" / "demo-melbourne"}/')
    text = re.sub(r"(?m)^refresh_seconds = \d+", f"refresh_seconds = {INTERVAL}", text)
    text = re.sub(r"(?m)^backfill_hours = \d+", "backfill_hours = 2", text)
    text = re.sub(r'(?m)^redis_url = ".*"', f'redis_url = "{redis_url}"', text)
    text = re.sub(r'(?m)^redis_prefix = ".*"', f'redis_prefix = "{prefix}"', text)
    text = re.sub(r'(?m)^postgres_dsn = ".*"', f'postgres_dsn = "{dsn}"', text)
    return re.sub(r'(?m)^postgres_schema = ".*"', f'postgres_schema = "{schema}"', text)


class Processes:
    """Processes this test started, each in its own process group, stopped at the end."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, *argv: str) -> subprocess.Popen[bytes]:
        with (self.logs / f"{name}.log").open("ab") as log:
            proc = subprocess.Popen(
                list(argv),
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: the pool's children die with it
            )
        self.started.append(proc)
        return proc

    @staticmethod
    def kill(proc: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
        if proc.poll() is None:
            os.killpg(proc.pid, sig)
        proc.wait(30)

    def stop_all(self) -> None:
        for proc in self.started:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.started:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(15)


def _poll(base: str, seen: int) -> int:
    """The version a browser's poll callback answers on app server ``base``."""
    payload = {
        "output": "cc-version.data",
        "outputs": {"id": "cc-version", "property": "data"},
        "inputs": [{"id": "cc-tick", "property": "n_intervals", "value": 1}],
        "state": [{"id": "cc-version", "property": "data", "value": seen}],
        "changedPropIds": ["cc-tick.n_intervals"],
    }
    answer = requests.post(f"{base}/_dash-update-component", json=payload, timeout=30)
    if answer.status_code == 204:
        return seen
    answer.raise_for_status()
    return int(answer.json()["response"]["cc-version"]["data"])


def _answers(base: str) -> bool:
    """Whether the app server at ``base`` answers /health (503 while no data is in)."""
    return requests.get(f"{base}/health", timeout=5).status_code in (200, 503)


def _wait_for(check: Callable[[], Any], what: str, seconds: float) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            found = check()
        except (requests.RequestException, OSError):
            found = None
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def cluster(
    tmp_path: Path,
    redis_server: str,  # noqa: F811
    redis_prefix: str,  # noqa: F811
    postgres_server: str,  # noqa: F811
    pg_schema: str,  # noqa: F811
) -> Iterator[dict[str, Any]]:
    config_file = tmp_path / "city.toml"
    config_file.write_text(
        _config_text(redis_server, redis_prefix, postgres_server, pg_schema), encoding="utf-8"
    )
    config = load_config(config_file)
    env = {
        **os.environ,
        "CITY_COCKPIT_CONFIG": str(config_file),
        "CITY_COCKPIT_DATA": str(tmp_path / "data"),
        "CITY_COCKPIT_SECRET_KEY": "test-secret-key-for-both-app-servers",
        "PYTHONPATH": str(ROOT),
        # Only Redis carries a change from one app server to the other's screens.
        "CITY_COCKPIT_LIVE_WATCH_SECONDS": "3600",
    }
    procs = Processes(env, tmp_path)
    worker_argv = [
        str(BIN / "celery"),
        "-A",
        "wiring.tasks",
        "worker",
        "--beat",
        "--concurrency=2",
        "--loglevel=INFO",
        f"--schedule={tmp_path / 'beat-schedule'}",
        "--without-gossip",
        "--without-mingle",
    ]
    ports = [free_port(), free_port()]
    for i, port in enumerate(ports):
        procs.start(
            f"app{i}",
            str(BIN / "gunicorn"),
            "--no-control-socket",
            "-w",
            "1",
            "-k",
            "gevent",
            "--worker-connections",
            "1000",
            "-b",
            f"127.0.0.1:{port}",
            "app:server",
        )
    store = RedisSnapshotStore(redis_server, redis_prefix)
    history = PostgresHistory(postgres_server, 35, pg_schema)
    try:
        yield {
            "procs": procs,
            "worker_argv": worker_argv,
            "bases": [f"http://127.0.0.1:{p}" for p in ports],
            "redis": (redis_server, redis_prefix),
            "store": store,
            "history": history,
            "sources": list(config.sources),
            "logs": tmp_path,
        }
    finally:
        procs.stop_all()
        store.close()
        history.close()


def _fetches(store: RedisSnapshotStore, sources: list[str]) -> dict[str, int]:
    return {s: store.status(s).fetches for s in sources}


def test_two_app_servers_one_worker_share_one_city(cluster: dict[str, Any]) -> None:
    procs: Processes = cluster["procs"]
    store: RedisSnapshotStore = cluster["store"]
    history: PostgresHistory = cluster["history"]
    sources: list[str] = cluster["sources"]
    a, b = cluster["bases"]

    # The app servers serve but never read the platforms: nothing arrives until a worker runs.
    for base in (a, b):
        _wait_for(lambda base=base: _answers(base), base, 45)
    assert _fetches(store, sources) == dict.fromkeys(sources, 0)
    assert requests.get(f"{a}/health", timeout=5).json()["status"] == "down"

    worker = procs.start("worker", *cluster["worker_argv"])
    _wait_for(lambda: all(_fetches(store, sources).values()), "first refreshes", 45)
    _wait_for(lambda: history.count() > 0, "history", 30)

    # Both app servers answer the browsers' poll with the one shared data version.
    def same_version() -> bool:
        before = store.version()
        seen = (_poll(a, -1), _poll(b, -1))
        return seen[0] == seen[1] == before == store.version()

    _wait_for(same_version, "both app servers on one version", 20)
    assert _poll(a, store.version()) == store.version()  # unchanged: 204, nothing sent

    # Each source is read at most once per interval in total (never once per app server),
    # and it keeps being read (a busy machine may run a refresh late, never twice).
    start_counts, started = _fetches(store, sources), time.monotonic()
    time.sleep(4 * INTERVAL)
    end_counts, elapsed = _fetches(store, sources), time.monotonic() - started
    expected = elapsed / INTERVAL
    for source in sources:
        reads = end_counts[source] - start_counts[source]
        assert 1 <= reads <= expected + 1.5, (source, reads, expected)

    # Killing the worker outright loses no history; a new worker carries on.
    before_kill = history.count()
    newest = {s: store.status(s).newest_observation for s in sources}
    procs.kill(worker)
    stopped_counts = _fetches(store, sources)
    assert history.count() >= before_kill
    time.sleep(INTERVAL)
    assert _fetches(store, sources) == stopped_counts  # nobody else refreshes
    procs.start("worker-again", *cluster["worker_argv"])
    _wait_for(
        lambda: all(n > stopped_counts[s] for s, n in _fetches(store, sources).items()),
        "refreshes by the new worker",
        45,
    )
    assert history.count() >= before_kill
    for source in sources:
        kept = history.source_window(
            source, _metric(store, source), _day_before(newest[source]), newest[source] + _second()
        )
        assert not kept.empty, source
    _wait_for(same_version, "both app servers on one version after the restart", 20)


def _chromium() -> Any:
    from selenium import webdriver

    from tests.conftest import pytest_setup_options

    return webdriver.Chrome(options=pytest_setup_options())


def _signed_in(base: str, user: str) -> requests.Session:
    session = requests.Session()
    form = session.get(f"{base}/signin", timeout=30).text
    token = re.search(r'name="csrf" value="([^"]+)"', form)
    assert token is not None
    signin = {"user": user, "password": PASSWORDS[user], "csrf": token.group(1), "next": "/"}
    assert session.post(f"{base}/signin", data=signin, allow_redirects=False).status_code == 303
    return session


def _notices_call(
    session: requests.Session, base: str, text: str, trigger: Any, draft: str | None = None
) -> dict[str, Any]:
    """One call of the notices page's callback, as the page's buttons make it: ``trigger``
    is ``"cc-notice-preview"``, ``"cc-notice-publish"`` or a notice id to approve."""
    approve: list[dict[str, Any]] = []
    pressed: Any = trigger
    if isinstance(trigger, int):
        pressed = button_id("cc-notice-approve", trigger)
        approve = [{"id": pressed, "property": "n_clicks", "value": 1}]
    body = notices_body(
        pressed,
        texts={"en": text},
        severity="emergency",
        starts="2000-01-01T00:00",
        expires="2100-01-01T00:00",
        draft=draft,
        approve=approve,
    )
    answer = session.post(f"{base}/_dash-update-component", json=body, timeout=30)
    assert answer.status_code == 200, answer.text[:300]
    found = answer.json()["response"]
    names = ("listing", "status", "preview", "hidden", "draft")
    return {n: found.get(i, {}).get(p) for n, (i, p) in zip(names, NOTICE_OUTPUTS, strict=True)}


def _publish_notice(base: str, text: str) -> None:
    """On the app server at ``base``, as people do it on the notices page: one staff
    member previews and publishes an emergency, a second one approves it."""
    author = _signed_in(base, STAFF)
    previewed = _notices_call(author, base, text, "cc-notice-preview")
    assert previewed["draft"], previewed
    published = _notices_call(author, base, text, "cc-notice-publish", previewed["draft"])
    assert "approval" in str(published["status"]), published["status"]
    # The listing offers its author to withdraw it: that button names the notice.
    buttons = re.findall(
        r'"type": ?"cc-notice-withdraw", ?"id": ?(\d+)|'
        r'"id": ?(\d+), ?"type": ?"cc-notice-withdraw"',
        json.dumps(published["listing"]),
    )
    assert buttons, "the published notice is not listed"
    notice_id = max(int(a or b) for a, b in buttons)
    approved = _notices_call(_signed_in(base, SECOND), base, text, notice_id)
    assert "approved" in str(approved["status"]), approved["status"]


@pytest.mark.browser
def test_one_publish_reaches_a_browser_on_each_app_server(cluster: dict[str, Any]) -> None:
    from cockpit.state.redis_signals import RedisSignals

    a, b = cluster["bases"]
    store: RedisSnapshotStore = cluster["store"]
    for base in (a, b):
        _wait_for(lambda base=base: _answers(base), base, 45)
    browsers = []
    try:
        for base in (a, b):
            driver = _chromium()
            browsers.append(driver)
            driver.get(f"{base}/kiosk")
        live = "return !!(((window.dash_clientside || {}).cockpit || {}).liveState || {}).live"
        for driver in browsers:
            _wait_for(lambda d=driver: d.execute_script(live), "a live kiosk", 45)

        # A notice published on app server A (its screens poll every five minutes and
        # B reads no shared version by itself): both kiosks show it, by Redis alone.
        _publish_notice(a, "Evacuate the riverbank now.")
        takeover = "const e = document.querySelector('.cc-emergency'); return e && e.textContent"
        for driver in browsers:
            shown = _wait_for(lambda d=driver: d.execute_script(takeover), "the notice", 20)
            assert "Evacuate the riverbank now." in shown

        # A worker's new data version (a failed refresh bumps it too), told as a
        # worker's refresh tells it: both browsers hear it through their app server.
        store.record_failure("air", "the platform did not answer")
        worker_signals = RedisSignals(*cluster["redis"])
        worker_signals.publish_version(store.version(), ["public"])
        worker_signals.close()
        known = "var s = window.dash_clientside.cockpit.liveState; return s.known && s.known.data"
        for driver in browsers:
            _wait_for(
                lambda d=driver: d.execute_script(known) == store.version(), "the version", 20
            )
    finally:
        for driver in browsers:
            driver.quit()


def _metric(store: RedisSnapshotStore, source: str) -> str:
    snap = store.snapshot(source)
    assert snap is not None
    return str(snap.observations["metric"].iloc[0])


def _day_before(when: Any) -> Any:
    from datetime import timedelta

    return when - timedelta(days=1)


def _second() -> Any:
    from datetime import timedelta

    return timedelta(seconds=1)


def test_server_example_config_is_valid_and_schedules_each_source() -> None:
    from wiring.tasks import beat_schedule

    config = load_config(ROOT / "cities" / "server-example.toml")
    assert config.backend.kind == "server"
    assert config.backend.redis_url.startswith("redis://")
    assert config.backend.postgres_dsn.startswith("postgresql://")
    schedule = beat_schedule(config)
    assert set(schedule) == {"deliver"} | {f"refresh:{s}" for s in config.sources}
    assert schedule["deliver"]["task"] == "cockpit.deliver"
    for source, cfg in config.sources.items():
        entry = schedule[f"refresh:{source}"]
        assert entry["task"] == "cockpit.refresh_due"
        assert entry["args"] == (source,)
        assert entry["schedule"].total_seconds() == cfg.refresh_seconds


def test_a_pushed_source_is_polled_at_its_safety_net_interval(tmp_path: Path) -> None:
    from tests.cockpit.test_push import write_city
    from wiring.tasks import beat_schedule

    config = load_config(write_city(tmp_path, "ld", "http://127.0.0.1:9"))
    source = config.sources["vll"]
    assert source.push is not None and source.refresh_seconds != source.push.poll_seconds
    entry = beat_schedule(config)["refresh:vll"]
    assert entry["schedule"].total_seconds() == source.push.poll_seconds
    assert entry["options"] == {"expires": source.push.poll_seconds}


def test_runtime_opens_the_server_backend_and_leaves_refreshing_to_workers(
    tmp_path: Path,
    redis_server: str,  # noqa: F811
    redis_prefix: str,  # noqa: F811
    postgres_server: str,  # noqa: F811
    pg_schema: str,  # noqa: F811
) -> None:
    from wiring.app import create_app
    from wiring.runtime import Runtime

    config_file = tmp_path / "city.toml"
    config_file.write_text(
        _config_text(redis_server, redis_prefix, postgres_server, pg_schema), encoding="utf-8"
    )
    runtime = Runtime.open(config_file, tmp_path / "data")
    try:
        assert isinstance(runtime.store, RedisSnapshotStore)
        assert isinstance(runtime.history, PostgresHistory)
        assert isinstance(runtime.journal, PostgresJournal)
        assert runtime.journal.schema == pg_schema
        assert not (tmp_path / "data" / "journal.sqlite").exists()
        assert runtime.store.prefix == redis_prefix
        assert not runtime.refreshes_in_process
        create_app(runtime)  # asked to start the refresher: the server backend declines
        assert runtime.refresher._thread is None
        runtime.refresher.refresh("air")  # what a worker does, seen by every process
        other = RedisSnapshotStore(redis_server, redis_prefix)  # another process's view
        assert other.status("air").fetches == 1
        other.close()
        assert runtime.history.count() > 0
    finally:
        runtime.close()


# -- the tasks themselves, on the embedded demo city --------------------------------------


@pytest.fixture
def worker_city(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The demo city at ``T0`` as this process's worker runtime."""
    from tests.browser import T0, Clock, demo_runtime
    from wiring import tasks

    runtime = demo_runtime(tmp_path, Clock(T0), backfill=False)
    monkeypatch.setattr(tasks, "_runtime", runtime)
    monkeypatch.setattr(tasks, "_runtime_pid", os.getpid())
    yield runtime
    runtime.close()


def test_a_worker_keeps_one_runtime_per_process(worker_city: Any) -> None:
    from wiring import tasks

    assert tasks.runtime() is worker_city
    assert tasks.runtime() is worker_city


def test_refresh_due_reads_a_source_once_per_lease(worker_city: Any) -> None:
    from wiring.tasks import refresh_due

    worker_city.store.release("refresh:air")  # the opening refresh's lease has run out
    before = worker_city.store.status("air").fetches
    assert refresh_due.run("air") == ["air"]
    assert refresh_due.run("air") == []  # a duplicated beat finds the lease taken
    assert worker_city.store.status("air").fetches == before + 1


def test_a_worker_tells_every_app_server_of_its_new_data(worker_city: Any) -> None:
    from cockpit.live import Signal
    from wiring.tasks import refresh_due

    heard: list[Signal] = []
    worker_city.signals.subscribe(heard.append)
    worker_city.store.release("refresh:air")
    assert refresh_due.run("air") == ["air"]
    access = worker_city.config.sources["air"].access
    expected = "public" if access == "public" else "internal"
    assert heard == [Signal("data", worker_city.store.version(), expected)]
    assert refresh_due.run("air") == []  # nothing read: nothing told
    assert len(heard) == 1


def test_catch_up_reads_only_the_gap_of_sources_that_missed_intervals(
    worker_city: Any,
) -> None:
    from wiring.tasks import catch_up

    now = worker_city.refresher.clock()
    since = {
        "air": (now - timedelta(days=3)).isoformat(),
        "parking": (now - timedelta(seconds=30)).isoformat(),  # within two intervals
        "trams": (now - timedelta(hours=1)).isoformat(),  # not a source of this city
    }
    rows = worker_city.history.count()
    added = catch_up.run(since)
    assert set(added) == {"air"}
    assert added["air"] > 0
    assert rows < worker_city.history.count() <= rows + added["air"]  # duplicates are kept once
    assert catch_up.run(since) == {}  # another worker holds the catch-up lease


def test_the_celery_app_uses_the_city_broker_and_late_acknowledgement() -> None:
    from wiring.tasks import make_celery

    config = load_config(ROOT / "cities" / "server-example.toml")
    celery = make_celery(config)
    assert celery.conf.broker_url == (config.backend.broker_url or config.backend.redis_url)
    assert celery.conf.task_acks_late and celery.conf.task_reject_on_worker_lost
    assert celery.conf.worker_prefetch_multiplier == 1
    for source, cfg in config.sources.items():
        assert celery.conf.beat_schedule[f"refresh:{source}"]["options"] == {
            "expires": float(cfg.refresh_seconds)
        }


def test_an_embedded_city_has_no_shared_last_successes() -> None:
    from cockpit.config import default_config_path
    from wiring.tasks import last_successes

    assert last_successes(load_config(default_config_path())) == {}
