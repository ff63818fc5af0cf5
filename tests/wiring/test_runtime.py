"""One city's runtime: what ``Runtime.open`` assembles, the warmer that prepares each new
data version's views, and a process killed outright (SIGKILL) losing nothing it had
written.

Each kill test starts a real Python process on a data directory, lets it report what it has
durably written (one line per commit on stdout), kills it with SIGKILL while it is in
the middle of more writes, then opens the same directory again and checks: SQLite's
``integrity_check`` is ``ok`` for history and journal, every source's diskcache snapshot
loads, no count is lower than the last one the process reported, and the notice it
published and the alert it acknowledged before the heavy writes are still there.
The kill point is whatever the process is doing when the parent has read enough lines;
nothing depends on how long anything takes.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cockpit.config import default_config_path, load_config
from cockpit.state.embedded import HistoryStore, SnapshotStore
from cockpit.state.journal import Journal
from wiring.runtime import Runtime

ROOT = Path(__file__).resolve().parents[2]
LINES_BEFORE_KILL = 3  # commits the process reports before the kill lands mid-write
DEADLINE_S = 300  # only a guard against a hung process; no assertion depends on time

# The process under test. argv: mode ("refresh" | "history"), data directory.
CHILD = r"""
import json, sys
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from cockpit.config import default_config_path, load_config
from cockpit.state.journal import Journal, Notice
from wiring.runtime import Runtime

mode, data = sys.argv[1], sys.argv[2]
rt = Runtime.open(load_config(default_config_path()), data)
now = datetime.now(UTC)


def say(**what):
    print(json.dumps(what), flush=True)


if mode == "refresh":
    # The demo city's refresher, refreshing every source over and over.
    while True:
        rt.refresher.refresh_all()
        say(version=rt.store.version(), history=rt.history.count())
else:
    notice = Notice(
        texts={"en": "Swanston Street closed for the parade"},
        severity="warning",
        starts=now - timedelta(hours=1),
        expires=now + timedelta(days=1),
        author="duty",
    )
    notice_id = rt.journal.publish(notice, now)
    rt.journal.acknowledge("parking:CBD", "duty", now, note="towing ordered")
    say(notice=notice_id)
    sites = [f"crash:{i}" for i in range(200)]
    step = 0
    while True:
        # heavy history writes (2,000 rows a commit) with journal writes between them
        times = pd.date_range(now - timedelta(days=2), periods=10, freq="min", tz="UTC")
        start = times + timedelta(minutes=10 * step)
        frame = pd.DataFrame(
            {
                "site_id": np.repeat(sites, len(start)),
                "metric": "pedestrians",
                "time": np.tile(start, len(sites)),
                "value": float(step),
            }
        )
        rt.history.append(frame)
        rt.journal.audit("crash-drill", "write", f"step {step}", "127.0.0.1")
        rt.journal.beat("soak", {"step": step}, now)
        step += 1
        say(history=rt.history.count(), audit=step)
"""


class Child:
    """A process running ``CHILD``, read line by line without blocking forever."""

    def __init__(self, mode: str, data: Path) -> None:
        data.mkdir(parents=True, exist_ok=True)
        self.errors = data.parent / f"{mode}-{len(list(data.parent.glob('*.err')))}.err"
        with self.errors.open("wb") as errors:  # a file: a full pipe would stall the writes
            self.proc = subprocess.Popen(
                [sys.executable, "-c", CHILD, mode, str(data)],
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                stdout=subprocess.PIPE,
                stderr=errors,
            )
        self._buffer = b""
        self.lines: list[dict[str, Any]] = []

    def _read(self, timeout: float) -> str:
        """Read what is there: ``data``, ``quiet`` (nothing within ``timeout``) or ``eof``."""
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            return "quiet"
        chunk = os.read(self.proc.stdout.fileno(), 65536)
        if not chunk:
            return "eof"
        self._buffer += chunk
        *done, self._buffer = self._buffer.split(b"\n")
        self.lines += [json.loads(line) for line in done if line.strip()]
        return "data"

    def wait_for_lines(self, count: int) -> None:
        deadline = time.monotonic() + DEADLINE_S
        while len(self.lines) < count:
            if time.monotonic() > deadline or self._read(1.0) == "eof":
                self.kill()
                err = self.errors.read_text(encoding="utf-8", errors="replace")
                raise AssertionError(f"the process stopped early: {err[-2000:]}")

    def kill(self) -> None:
        """SIGKILL, then keep every whole line it printed before it died."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)
        while self._read(5.0) == "data":
            pass
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def last(self, key: str) -> int:
        return max(int(line[key]) for line in self.lines if key in line)


@pytest.fixture
def children() -> Iterator[list[Child]]:
    started: list[Child] = []
    yield started
    for child in started:
        if child.proc.poll() is None:
            child.kill()


def _integrity(path: Path) -> str:
    db = sqlite3.connect(path)
    try:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        db.close()


def test_killed_mid_refresh_keeps_snapshots_and_history(
    tmp_path: Path, children: list[Child]
) -> None:
    data = tmp_path / "data"
    sources = list(load_config(default_config_path()).sources)
    versions, counts = [], []
    for _round in range(3):  # three kills at three different points of the refresh loop
        child = Child("refresh", data)
        children.append(child)
        child.wait_for_lines(LINES_BEFORE_KILL)
        child.kill()
        assert child.proc.returncode == -signal.SIGKILL
        versions.append(child.last("version"))
        counts.append(child.last("history"))

        assert _integrity(data / "history.sqlite") == "ok"
        store = SnapshotStore(data)
        history = HistoryStore(data)
        try:
            assert store.version() >= versions[-1]
            for source in sources:
                snap = store.snapshot(source)
                assert snap is not None and not snap.observations.empty, source
                assert store.status(source).last_success is not None
            assert history.count() >= counts[-1]
        finally:
            store.close()
            history.close()

    # After the last kill the city opens and refreshes as before.
    rt = Runtime.open(load_config(default_config_path()), data)
    try:
        rt.refresher.refresh_all()
        assert rt.city.health()["status"] in ("ok", "stale")
        assert all(rt.store.status(s).failures == 0 for s in sources)
        assert rt.store.version() > versions[-1]
    finally:
        rt.close()


def test_killed_mid_history_and_journal_writes_loses_no_notice_or_acknowledgement(
    tmp_path: Path, children: list[Child]
) -> None:
    data = tmp_path / "data"
    child = Child("history", data)
    children.append(child)
    child.wait_for_lines(1 + LINES_BEFORE_KILL)  # the notice, then heavy writes under way
    child.kill()
    assert child.proc.returncode == -signal.SIGKILL
    notice_id = child.last("notice")
    written, audited = child.last("history"), child.last("audit")

    assert _integrity(data / "history.sqlite") == "ok"
    assert _integrity(data / "journal.sqlite") == "ok"
    history = HistoryStore(data)
    journal = Journal(data)
    try:
        assert history.count() >= written
        notices = {n.id: n for n in journal.notices(include_inactive=True)}
        assert notices[notice_id].texts == {"en": "Swanston Street closed for the parade"}
        assert notices[notice_id].withdrawn is None
        acks = journal.acknowledgements()
        assert acks["parking:CBD"].user == "duty" and acks["parking:CBD"].note == "towing ordered"
        drill = [e for e in journal.audit_log(limit=100_000) if e.actor == "crash-drill"]
        assert len(drill) >= audited
        # the journal takes new writes after the crash
        journal.acknowledge("traffic:hoddle", "duty")
        assert "traffic:hoddle" in journal.acknowledgements()
    finally:
        history.close()
        journal.close()


# -- what Runtime.open assembles, and the warmer -----------------------------------------


@pytest.fixture
def opened(tmp_path: Path) -> Iterator[Runtime]:
    runtime = Runtime.open(default_config_path(), tmp_path)
    yield runtime
    runtime.close()


def _until(check: Any, what: str) -> None:
    """Wait for ``check()`` to hold (the limit only guards against a hang)."""
    deadline = time.monotonic() + 60
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def test_open_assembles_one_connector_per_source_over_one_directory(opened: Runtime) -> None:
    assert set(opened.refresher.connectors) == set(opened.config.sources)
    assert opened.refreshes_in_process  # the demo city keeps its state in embedded files
    assert opened.history.path.parent == opened.store.directory


def test_open_takes_a_config_path_and_keeps_data_where_told(tmp_path: Path) -> None:
    runtime = Runtime.open(str(default_config_path()), tmp_path / "data")
    try:
        assert runtime.config.city.name == load_config(default_config_path()).city.name
        runtime.refresher.refresh_due()
        assert runtime.city.version() > 0
    finally:
        runtime.close()
    assert (tmp_path / "data").is_dir() and any((tmp_path / "data").iterdir())


def test_a_bad_config_is_a_config_error(tmp_path: Path) -> None:
    from cockpit.errors import ConfigError

    bad = tmp_path / "city.toml"
    bad.write_text("[city]\nname = 'X'\n")
    with pytest.raises(ConfigError, match=r"city\.timezone"):
        Runtime.open(bad, tmp_path / "data")
    assert not (tmp_path / "data").exists()


def test_the_warmer_prepares_each_new_version_once(opened: Runtime) -> None:
    seen: list[list[str]] = []
    opened.warm_hooks.append(seen.append)
    opened.city.view("public")  # a role served at the current version
    opened.start_warmer(every_s=0.01)
    first = opened._warmer
    opened.start_warmer(every_s=0.01)
    assert opened._warmer is first  # starting twice keeps one thread
    opened.refresher.refresh_due()
    version = opened.city.version()
    _until(lambda: opened.warmed_version == version, "the warmer saw the new version")
    assert seen and "public" in seen[-1]
    calls = len(seen)
    opened.stop_warmer()
    assert opened._warmer is None
    assert len(seen) == calls  # nothing more once stopped


def test_a_failed_warm_up_is_logged_and_tried_again(
    opened: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    failures = [RuntimeError("a view could not be built")]

    def hook(roles: list[str]) -> None:
        if failures:
            raise failures.pop()

    opened.warm_hooks.append(hook)
    opened.refresher.refresh_due()
    opened.start_warmer(every_s=0.01)
    try:
        version = opened.city.version()
        _until(lambda: opened.warmed_version == version, "the second try succeeded")
    finally:
        opened.stop_warmer()
    assert "preparing the views of a new data version failed" in caplog.text


def test_the_runtimes_delivery_worker_sends_a_rule_written_in_the_browser(
    tmp_path: Path,
) -> None:
    """From the journal's rule to an e-mail received, through the runtime's own worker
    thread, the city's sites and history (the demo's, at its recorded week)."""
    from aiosmtpd.controller import Controller

    from cockpit.config import ChannelConfig, RuleConfig
    from cockpit.twin.rules import save_rule
    from tests.browser import T0, Clock, demo_runtime
    from tests.cockpit.test_notify import Mailbox, free_port, text

    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    config = load_config(default_config_path())
    config.alerts.smtp = config.alerts.smtp.model_copy(update={"port": port})
    config.alerts.channels = {"ops": ChannelConfig(kind="email", to=["ops@city.example"])}
    config.brief.recipients = {}  # the rule's mail alone reaches this mailbox
    runtime = demo_runtime(tmp_path, Clock(T0), config)
    try:
        station = str(runtime.city.view("executive").sites.query("domain == 'air'")["id"].iloc[0])
        spec = RuleConfig(
            name="Any PM10 at one station",
            domain="air",
            metric="pm10",
            when="above",
            limit=0.5,
            sites=[station],
            notify=["phone", "ops"],
        )
        save_rule(runtime.journal, config, "pm10-any", spec, "max")
        runtime.notify.start(tick_s=0.2)
        deadline = time.monotonic() + DEADLINE_S  # a guard against a hung worker only
        while not box.mails and time.monotonic() < deadline:
            time.sleep(0.2)
        (mail,) = box.mails
        assert mail["Subject"].endswith(f"Any PM10 at one station at {_name(runtime, station)}")
        assert "(limit 0.5)" in text(mail)
        (sent,) = runtime.journal.outbox()
        assert (sent.channel, sent.status, sent.rule) == ("ops", "sent", "pm10-any")
    finally:
        runtime.close()
        controller.stop()


def _name(runtime: Runtime, site_id: str) -> str:
    sites = runtime.city.view("executive").sites
    return str(sites.loc[sites["id"] == site_id, "name"].iloc[0])
