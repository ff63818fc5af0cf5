"""Moving a city's embedded data (history and journal files) to the server backends, on a
real PostgreSQL on 127.0.0.1 (see tests/servers.py): afterwards the server answers as the
embedded files did, a second move changes nothing, and the files stay as they were."""

from __future__ import annotations

import hashlib
import re
import socket
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from cockpit.config import BackendConfig, CityConfig, default_config_path, load_config
from cockpit.errors import ConfigError, MoveError
from cockpit.model import observations_frame
from cockpit.reports import Report
from cockpit.state import open_journal
from cockpit.state.embedded import HistoryStore
from cockpit.state.journal import Decision, Journal, Notice
from cockpit.state.move import KINDS, MoveStep, move_embedded_data
from cockpit.state.postgres_history import PostgresHistory
from cockpit.state.postgres_journal import PostgresJournal
from cockpit.state.redis_store import BackendUnavailable
from cockpit.storage import Delivery, StoredRule
from tests.servers import pg_schema, postgres_server  # noqa: F401 - fixtures
from wiring.cli import main

ROOT = Path(__file__).resolve().parents[3]
# The history drops raw rows by the clock, so its days are counted back from now.
NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
FIRST_DAY = NOW - timedelta(days=5)
SITES = {"traffic:1": "vehicle_flow", "traffic:2": "vehicle_flow", "air:1": "no2"}
MARK = "history-backfill:traffic:2026-11-01T00:00:00+00:00:86400s"
T = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)  # the journal's clock


def _fill_history(directory: Path) -> None:
    """Five days of observations appended a day at a time with two days' retention: the
    first days' raw rows are gone, only their hourly rollups remain."""
    history = HistoryStore(directory, retention_days=2)
    try:
        for day in range(5):
            times = pd.date_range(FIRST_DAY + timedelta(days=day), periods=72, freq="20min")
            history.append(
                observations_frame(
                    [
                        {"site_id": site, "metric": metric, "time": t, "value": i / 3 + n}
                        for n, (site, metric) in enumerate(SITES.items())
                        for i, t in enumerate(times)
                    ]
                )
            )
        history.set_mark(MARK, "2026-11-02T00:00:00+00:00")
    finally:
        history.close()


def _notice(hours: int, severity: str = "info", **texts: str) -> Notice:
    return Notice(
        texts=texts,
        severity=severity,
        starts=T,
        expires=T + timedelta(hours=hours),
        author="sam",
    )


def _fill_journal(directory: Path) -> None:
    journal = Journal(directory)
    try:
        first = journal.publish(_notice(2, en="Road closed", de="Straße gesperrt"), now=T)
        journal.publish(_notice(5, "warning", en="Heat warning"), now=T + timedelta(minutes=1))
        journal.publish(_notice(1, "emergency", en="Evacuate"), now=T + timedelta(minutes=2))
        journal.withdraw(first, "erin", now=T + timedelta(minutes=3))
        journal.acknowledge("air:pm10:cbd", "sam", now=T, note="checked")
        journal.acknowledge("parking:cbd", "erin", now=T + timedelta(minutes=1))
        journal.acknowledge("air:pm10:cbd", "kim", now=T + timedelta(minutes=2))  # renewed
        for kiosk in ("station-b", "station-a", "library"):
            journal.beat(kiosk, {"screen": "map", "lang": "en"}, now=T)
        for i in range(23):
            journal.audit(
                f"user{i % 3}", "sign_in", f"attempt {i}", "127.0.0.1", now=T + timedelta(seconds=i)
            )
        for i, status in enumerate(("received", "published")):
            journal.file_report(
                Report(
                    code=f"AAAA-BBB{i + 2}",
                    category="sensor_wrong",
                    text=f"Zähler {i} zeigt 0",
                    created=T + timedelta(minutes=i),
                    lat=-37.8136,
                    lon=144.9631,
                    status=status,
                    photo=b"\xff\xd8 cleaned pixels \xff\xd9" if i else None,
                )
            )
        for i, what in enumerate(("Bus lane opened", "Speed limit 30", "Car-free Sunday")):
            journal.record_decision(
                Decision(
                    what=what,
                    place="Swanston St",
                    effective=T + timedelta(days=min(i, 1)),  # two of one moment
                    author="exec",
                    kpis=["traffic"],
                ),
                now=T,
            )
        for rule_id in ("no2-ring", "crowd-cbd"):
            journal.put_rule(StoredRule(rule_id, f'{{"name": "{rule_id}"}}', T, "exec"))
        journal.enqueue(
            [
                Delivery(f"alert:ops:{i}", "ops", "alert", (f"a{i}",), "no2-ring", "{}", T, T)
                for i in range(3)
            ]
        )
        sent = journal.outbox(limit=1)[0]
        journal.delivery_done(sent.id, T + timedelta(minutes=1))
    finally:
        journal.close()


@pytest.fixture
def embedded(tmp_path: Path) -> Path:
    """A city's embedded data directory, written by the real history and journal."""
    directory = tmp_path / "embedded"
    _fill_history(directory)
    _fill_journal(directory)
    return directory


@pytest.fixture
def config(postgres_server: str, pg_schema: str) -> CityConfig:  # noqa: F811 - fixtures
    """The demo city switched to the server backend, in this test's own schema."""
    backend = BackendConfig(
        kind="server",
        redis_url="redis://127.0.0.1:6379/0",  # not contacted: the move needs no Redis
        postgres_dsn=postgres_server,
        postgres_schema=pg_schema,
    )
    return load_config(default_config_path()).model_copy(update={"backend": backend})


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    # Rows of one time may come in any site order.
    return frame.sort_values(["time", "site_id", "metric"]).reset_index(drop=True)


def _answers(history: Any, journal: Any) -> dict[str, Any]:
    """What the app reads from a history and a journal."""
    sites, start, end = list(SITES), NOW - timedelta(days=30), NOW + timedelta(days=1)
    return {
        "window": _sorted(history.window(sites, start, end)),
        "hourly": _sorted(history.hourly(sites, start, end)),
        "count": history.count(),
        "mark": history.mark(MARK),
        "notices": journal.notices(include_inactive=True),
        "active notices": journal.notices(T + timedelta(minutes=30)),
        "acknowledgements": list(journal.acknowledgements().items()),
        "heartbeats": journal.heartbeats(),
        "audit": journal.audit_log(limit=-1),
        "decisions": journal.decisions(),
        "rules": journal.rules(),
        # moved messages get new ids on the server
        "outbox": [replace(d, id=0) for d in journal.outbox(limit=-1)],
        "reports": [journal.report(r.code, photo=True) for r in journal.reports(limit=-1)],
    }


def _embedded_answers(directory: Path) -> dict[str, Any]:
    history, journal = HistoryStore(directory, retention_days=2), Journal(directory)
    try:
        return _answers(history, journal)
    finally:
        history.close()
        journal.close()


def _server_answers(config: CityConfig, directory: Path) -> dict[str, Any]:
    backend = config.backend
    history = PostgresHistory(backend.postgres_dsn, schema=backend.postgres_schema)
    journal = open_journal(config, directory)
    try:
        return _answers(history, journal)
    finally:
        history.close()
        journal.close()


def _assert_same(expected: dict[str, Any], got: dict[str, Any]) -> None:
    assert list(got) == list(expected)
    for key, value in expected.items():
        if isinstance(value, pd.DataFrame):
            pd.testing.assert_frame_equal(got[key], value, obj=key)
        else:
            assert got[key] == value, key


def _server_journal(config: CityConfig) -> PostgresJournal:
    return PostgresJournal(config.backend.postgres_dsn, config.backend.postgres_schema)


def _journal_version(config: CityConfig) -> int:
    journal = _server_journal(config)
    try:
        return journal.version()
    finally:
        journal.close()


def test_a_moved_city_answers_on_the_server_as_it_did_embedded(
    embedded: Path, config: CityConfig, tmp_path: Path
) -> None:
    expected = _embedded_answers(embedded)
    # The scenario holds: hours whose raw rows were dropped are still in the rollups.
    assert expected["hourly"]["time"].min() < expected["window"]["time"].min() - timedelta(days=1)
    assert any(n.withdrawn for n in expected["notices"])
    version = _journal_version(config)
    steps: list[MoveStep] = []

    report = move_embedded_data(embedded, config, progress=steps.append, batch_rows=7)

    _assert_same(expected, _server_answers(config, tmp_path / "unused"))
    assert _journal_version(config) > version  # running app servers re-read the journal
    counts = {
        "observations": expected["count"],
        "hourly": len(expected["hourly"]),
        "marks": 2,  # the backfill's and the history's own "rollup:v1"
        "notices": len(expected["notices"]),
        "acknowledgements": len(expected["acknowledgements"]),
        "heartbeats": len(expected["heartbeats"]),
        "audit_events": len(expected["audit"]),
        "decisions": len(expected["decisions"]),
        "alert_rules": 2,
        "outbox": 3,
        "reports": len(expected["reports"]),
    }
    assert {kind: getattr(report, kind).rows for kind in KINDS} == counts
    assert {kind: getattr(report, kind).added for kind in KINDS} == {**counts, "marks": 1}
    assert {s.kind: s.done for s in steps} == counts  # the last batch of each kind
    assert all(s.done <= s.total == counts[s.kind] and 0 < s.rows <= 7 for s in steps)
    assert len([s for s in steps if s.kind == "audit_events"]) == 4  # 23 events, 7 a batch


def test_moving_twice_changes_nothing(embedded: Path, config: CityConfig, tmp_path: Path) -> None:
    first = move_embedded_data(embedded, config, batch_rows=50)
    once, version = _server_answers(config, tmp_path), _journal_version(config)

    again = move_embedded_data(embedded, config, batch_rows=50)

    _assert_same(once, _server_answers(config, tmp_path))
    assert _journal_version(config) == version
    assert [getattr(again, kind).rows for kind in KINDS] == [
        getattr(first, kind).rows for kind in KINDS
    ]
    assert [getattr(again, kind).added for kind in KINDS] == [0] * len(KINDS)


def test_what_is_written_on_the_server_after_the_move_gets_new_ids(
    embedded: Path, config: CityConfig, tmp_path: Path
) -> None:
    expected = _embedded_answers(embedded)
    move_embedded_data(embedded, config)
    server = _server_journal(config)
    try:
        nid = server.publish(_notice(3, en="New on the server"), now=T)
        did = server.record_decision(
            Decision(what="Tram priority", place="Bourke St", effective=T, author="exec"), now=T
        )
        server.audit("sam", "sign_in", now=T)
        assert nid == max(n.id for n in expected["notices"]) + 1
        assert did == max(d.id for d in expected["decisions"]) + 1
        assert server.audit_log(limit=1)[0].id == expected["audit"][0].id + 1
        assert server.notices(include_inactive=True)[1:] == expected["notices"]
    finally:
        server.close()


def test_the_embedded_files_are_left_as_they_were(embedded: Path, config: CityConfig) -> None:
    def digests() -> dict[str, str]:
        return {
            name: hashlib.sha256((embedded / name).read_bytes()).hexdigest()
            for name in ("history.sqlite", "journal.sqlite")
        }

    before, answers = digests(), _embedded_answers(embedded)

    move_embedded_data(embedded, config, batch_rows=50)

    assert digests() == before
    _assert_same(answers, _embedded_answers(embedded))


def test_a_directory_with_only_a_journal_moves_the_journal(
    embedded: Path, config: CityConfig
) -> None:
    (embedded / "history.sqlite").unlink()

    report = move_embedded_data(embedded, config)

    assert report.observations.rows == report.hourly.rows == report.marks.rows == 0
    assert report.audit_events.added == 23
    assert not (embedded / "history.sqlite").exists()


def test_a_directory_without_embedded_data_is_a_typed_error(
    tmp_path: Path, config: CityConfig
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(MoveError, match="no embedded data") as caught:
        move_embedded_data(empty, config)
    assert str(empty) in str(caught.value)
    assert list(empty.iterdir()) == []  # nothing was created there
    with pytest.raises(MoveError, match="no embedded data"):
        move_embedded_data(tmp_path / "missing", config)
    assert not (tmp_path / "missing").exists()


def test_a_config_without_the_server_backend_is_a_typed_error(embedded: Path) -> None:
    config = load_config(default_config_path())
    with pytest.raises(ConfigError) as caught:
        move_embedded_data(embedded, config)
    assert caught.value.key == "backend.kind"
    assert caught.value.file == config.file


def test_an_unreachable_server_is_a_typed_error_naming_it_without_the_password(
    embedded: Path, config: CityConfig
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dsn = f"postgresql://postgres:s3cret-word@127.0.0.1:{port}/test"
    backend = config.backend.model_copy(update={"postgres_dsn": dsn})
    with pytest.raises(BackendUnavailable, match="cannot be reached") as caught:
        move_embedded_data(embedded, config.model_copy(update={"backend": backend}))
    message = str(caught.value)
    assert "host=127.0.0.1" in message and f"port={port}" in message
    assert "s3cret-word" not in message
    assert "\n" not in message


def test_a_server_journal_already_in_use_is_not_overwritten(
    embedded: Path, config: CityConfig
) -> None:
    server = _server_journal(config)
    try:
        nid = server.publish(_notice(1, en="Written on the server first"), now=T)
        with pytest.raises(MoveError, match="notices ids 1 are taken"):
            move_embedded_data(embedded, config)
        assert [n.texts for n in server.notices(include_inactive=True)] == [
            {"en": "Written on the server first"}
        ]
        assert nid == 1
    finally:
        server.close()


def _config_file(tmp_path: Path, dsn: str, schema: str) -> Path:
    """cities/server-example.toml pointed at the test's PostgreSQL schema."""
    text = (ROOT / "cities" / "server-example.toml").read_text(encoding="utf-8")
    text = text.replace('"demo-melbourne/', f'"{ROOT / "cities" / "demo-melbourne"}/')
    text = re.sub(r'(?m)^postgres_dsn = ".*"', f'postgres_dsn = "{dsn}"', text)
    text = re.sub(r'(?m)^postgres_schema = ".*"', f'postgres_schema = "{schema}"', text)
    path = tmp_path / "server.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_move_data_command_end_to_end(
    embedded: Path,
    tmp_path: Path,
    postgres_server: str,  # noqa: F811 - fixture
    pg_schema: str,  # noqa: F811 - fixture
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = _config_file(tmp_path, postgres_server, pg_schema)
    expected = _embedded_answers(embedded)

    assert main(["move-data", "--config", str(path), "--from", str(embedded)]) == 0

    out = capsys.readouterr().out
    assert f"moved {embedded} to PostgreSQL" in out
    assert f"schema {pg_schema}" in out
    assert "  audit events: 23 copied, 23 of them new" in out
    assert f"  observations: {expected['count']:,} copied" in out
    _assert_same(expected, _server_answers(load_config(path), tmp_path))

    assert main(["move-data", "--config", str(path), "--from", str(embedded)]) == 0
    assert "  audit events: 23 copied, 0 of them new" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("config_name", "directory_name", "said"),
    [
        ("server", "empty", "city-cockpit: "),
        ("demo", "embedded", "city-cockpit: config error: "),
    ],
)
def test_move_data_command_fails_with_one_line(
    embedded: Path,
    tmp_path: Path,
    postgres_server: str,  # noqa: F811 - fixture
    pg_schema: str,  # noqa: F811 - fixture
    capsys: pytest.CaptureFixture[str],
    config_name: str,
    directory_name: str,
    said: str,
) -> None:
    (tmp_path / "empty").mkdir()
    path = _config_file(tmp_path, postgres_server, pg_schema)
    if config_name == "demo":
        path = default_config_path()

    code = main(["move-data", "--config", str(path), "--from", str(tmp_path / directory_name)])

    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith(said) and err.count("\n") == 1


def test_a_journal_from_before_notices_named_kiosks_moves(
    tmp_path: Path, config: CityConfig
) -> None:
    directory = tmp_path / "old"
    directory.mkdir()
    old = sqlite3.connect(directory / "journal.sqlite")
    start = int(T.timestamp())
    old.executescript(
        "CREATE TABLE notices (id INTEGER PRIMARY KEY AUTOINCREMENT, created INTEGER NOT NULL,"
        " author TEXT NOT NULL, severity TEXT NOT NULL, starts INTEGER NOT NULL,"
        " expires INTEGER NOT NULL, texts TEXT NOT NULL, withdrawn INTEGER, withdrawn_by TEXT);"
        f"INSERT INTO notices VALUES (1, {start}, 'sam', 'emergency', {start}, {start + 3600},"
        ' \'{"en": "Go"}\', NULL, NULL);'
    )
    old.commit()
    old.close()
    report = move_embedded_data(directory, config)
    assert report.notices.added == 1
    journal = _server_journal(config)
    try:
        (moved,) = journal.notices(T + timedelta(minutes=1))
    finally:
        journal.close()
    assert moved.kiosks == () and moved.approved_by == "sam" and moved.shown_on("any", "default")
