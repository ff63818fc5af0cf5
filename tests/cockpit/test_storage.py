"""Every state backend answers the core's protocols: the embedded SQLite and diskcache
stores, Redis and PostgreSQL (real servers on 127.0.0.1, see tests/servers.py), each
opened for real, checked as a ``runtime_checkable`` instance and method by method against
the protocol's signature (names, kinds, defaults and types of parameters, and results)."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cockpit import storage
from cockpit.state.embedded import HistoryStore as EmbeddedHistory
from cockpit.state.embedded import SnapshotStore as EmbeddedSnapshots
from cockpit.state.journal import Journal as EmbeddedJournal
from cockpit.state.postgres_history import PostgresHistory
from cockpit.state.postgres_journal import PostgresJournal
from cockpit.state.redis_store import RedisSnapshotStore
from cockpit.storage import HistoryStore, Journal, SharedCache, SnapshotStore
from tests.servers import (  # noqa: F401 - fixtures
    pg_schema,
    postgres_server,
    redis_prefix,
    redis_server,
)

# (protocol, backend class, how a test opens one)
Opener = Callable[[pytest.FixtureRequest, Path], Any]


def _embedded_snapshots(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    return EmbeddedSnapshots(tmp_path)


def _redis_snapshots(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    url = request.getfixturevalue("redis_server")
    return RedisSnapshotStore(url, request.getfixturevalue("redis_prefix"))


def _embedded_history(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    return EmbeddedHistory(tmp_path)


def _postgres_history(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    dsn = request.getfixturevalue("postgres_server")
    return PostgresHistory(dsn, 35, request.getfixturevalue("pg_schema"))


def _embedded_journal(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    return EmbeddedJournal(tmp_path)


def _postgres_journal(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    dsn = request.getfixturevalue("postgres_server")
    return PostgresJournal(dsn, request.getfixturevalue("pg_schema"))


BACKENDS: list[tuple[type, type, Opener]] = [
    (SnapshotStore, EmbeddedSnapshots, _embedded_snapshots),
    (SnapshotStore, RedisSnapshotStore, _redis_snapshots),
    (HistoryStore, EmbeddedHistory, _embedded_history),
    (HistoryStore, PostgresHistory, _postgres_history),
    (Journal, EmbeddedJournal, _embedded_journal),
    (Journal, PostgresJournal, _postgres_journal),
]
IDS = [f"{proto.__name__}-{cls.__name__}" for proto, cls, _ in BACKENDS]


def members(protocol: type) -> dict[str, Any]:
    """The public methods and properties a protocol declares."""
    return {
        name: value
        for name, value in vars(protocol).items()
        if not name.startswith("_") and (callable(value) or isinstance(value, property))
    }


def hints(function: Any) -> dict[str, Any]:
    """The resolved annotations of ``function``."""
    return typing.get_type_hints(function, vars(storage) | vars(inspect.getmodule(function)))


def differences(protocol: type, cls: type) -> list[str]:
    """How ``cls``'s methods depart from ``protocol``'s: missing methods, parameters the
    protocol passes that the method does not take (by name, kind, default or type), extra
    parameters without a default, another result type. Empty when it conforms."""
    found: list[str] = []
    for name, wanted in members(protocol).items():
        if isinstance(wanted, property):
            continue  # an attribute: checked on an instance
        have = getattr(cls, name, None)
        if not callable(have):
            found.append(f"{name}: missing")
            continue
        want_sig, have_sig = inspect.signature(wanted), inspect.signature(have)
        want_hints, have_hints = hints(wanted), hints(have)
        taken = dict(have_sig.parameters)
        for param in want_sig.parameters.values():
            other = taken.pop(param.name, None)
            if other is None:
                found.append(f"{name}: no parameter {param.name!r}")
            elif other.kind != param.kind:
                found.append(f"{name}({param.name}): {other.kind} is not {param.kind}")
            elif other.default != param.default:
                found.append(f"{name}({param.name}): default {other.default!r}")
            elif want_hints.get(param.name) != have_hints.get(param.name):
                found.append(f"{name}({param.name}): type {have_hints.get(param.name)}")
        for extra in taken.values():
            if extra.default is inspect.Parameter.empty and extra.kind not in (
                inspect.Parameter.VAR_POSITIONAL,
                inspect.Parameter.VAR_KEYWORD,
            ):
                found.append(f"{name}: extra parameter {extra.name!r} without a default")
        if want_hints.get("return") != have_hints.get("return"):
            found.append(f"{name}: returns {have_hints.get('return')}")
    return found


@pytest.fixture(params=BACKENDS, ids=IDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[type, type, Any]]:
    """A protocol, a backend class and an instance of it, opened on its real engine."""
    protocol, cls, opener = request.param
    opened = opener(request, tmp_path)
    try:
        yield protocol, cls, opened
    finally:
        opened.close()


def test_each_backend_is_an_instance_of_its_protocol(backend: tuple[type, type, Any]) -> None:
    protocol, cls, opened = backend
    assert type(opened) is cls
    assert isinstance(opened, protocol)
    for name, member in members(protocol).items():
        assert hasattr(opened, name), name
        if not isinstance(member, property):
            assert callable(getattr(opened, name)), name


def test_each_backend_method_takes_what_its_protocol_passes(
    backend: tuple[type, type, Any],
) -> None:
    protocol, cls, _ = backend
    assert differences(protocol, cls) == []


def test_each_snapshot_store_shares_a_cache_of_expiring_values(
    backend: tuple[type, type, Any],
) -> None:
    protocol, _, opened = backend
    if protocol is not SnapshotStore:
        return
    cache: SharedCache = opened.cache
    for name in members(SharedCache):
        assert callable(getattr(cache, name)), name
    with cache.transact():
        cache.set("session:1", "ana", expire=60)
    assert cache.get("session:1") == "ana"
    cache.delete("session:1")
    assert cache.get("session:1", "gone") == "gone"


def test_the_protocols_declare_what_the_cockpit_calls() -> None:
    assert set(members(SnapshotStore)) == {
        "cache",
        "claim",
        "close",
        "put_snapshot",
        "record_failure",
        "release",
        "renew",
        "snapshot",
        "status",
        "version",
    }
    assert set(members(HistoryStore)) == {
        "append",
        "close",
        "hourly",
        "mark",
        "purge_source",
        "set_mark",
        "source_hourly",
        "source_window",
        "window",
    }
    assert set(members(Journal)) == {
        "acknowledge",
        "acknowledgements",
        "approve",
        "audit",
        "audit_log",
        "beat",
        "change_report",
        "close",
        "decisions",
        "delivery_done",
        "enqueue",
        "file_report",
        "heartbeats",
        "notices",
        "outbox",
        "publish",
        "purge_reports",
        "put_rule",
        "record_decision",
        "refusals",
        "report",
        "reports",
        "rules",
        "version",
        "withdraw",
    }


class _Partial:
    """A history that forgot most of its methods."""

    def window(self, site_ids: list[str], start: datetime, end: datetime) -> None:
        """Lacks ``metric`` and returns no frame."""

    def close(self) -> None:
        """Closes nothing."""


def test_a_class_that_departs_from_a_protocol_is_told_apart() -> None:
    assert not isinstance(_Partial(), HistoryStore)
    found = differences(HistoryStore, _Partial)
    assert "append: missing" in found
    assert "window: no parameter 'metric'" in found
    assert any(f.startswith("window: returns") for f in found)
    assert not any(f.startswith("close") for f in found)


def test_the_records_keep_their_values() -> None:
    when = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    notice = storage.Notice({"en": "Road closed"}, "warning", when, when, "sam")
    assert notice.text("de") == "Road closed"
    with pytest.raises(ValueError, match="expire after"):
        storage.check_notice(notice)
    status = storage.SourceStatus("air")
    status.failed("HTTP 503", when)
    assert (status.failures, status.fetches, status.last_error) == (1, 1, "HTTP 503")
    assert status.state(when, 600) == "down"
