"""Latest snapshots, statuses, the data version and refresh leases in Redis.

``RedisSnapshotStore`` answers exactly like the embedded ``SnapshotStore`` but keeps
its state in one Redis shared by every app server and Celery worker of a city: the
data version is one counter every browser poll reads, a lease is one ``SET NX PX``
key, and a snapshot with its status is written in one transaction.

Values are pickled: the Redis of a city is the cockpit's own store, never reachable by
viewers, so only City Cockpit processes write what it reads back.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, cast

import redis

from cockpit.errors import BackendUnavailable
from cockpit.model import Snapshot
from cockpit.storage import SourceStatus

__all__ = ["BackendUnavailable", "RedisCache", "RedisSnapshotStore"]


_RENEW_LEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""


def _dump(value: Any) -> bytes:
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def _load(raw: bytes | str | None) -> Any:
    # redis-py types replies as bytes or str; the client never decodes them, so bytes.
    return None if raw is None else pickle.loads(cast(bytes, raw))  # our own values only


class RedisCache:
    """The part of ``diskcache.Cache`` that layouts use through ``store.cache`` (sessions,
    sign-in limits), over Redis, so every app server of a city shares it."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.redis = client
        self.prefix = prefix

    def _key(self, key: str) -> str:
        return f"{self.prefix}cache:{key}"

    @staticmethod
    def _px(expire: float | None) -> int | None:
        return None if expire is None else max(1, int(expire * 1000))

    def get(self, key: str, default: Any = None) -> Any:
        raw = self.redis.get(self._key(key))
        return default if raw is None else _load(raw)

    def set(self, key: str, value: Any, expire: float | None = None) -> bool:
        return bool(self.redis.set(self._key(key), _dump(value), px=self._px(expire)))

    def add(self, key: str, value: Any, expire: float | None = None) -> bool:
        """Set ``key`` only when it is missing; True when this call set it."""
        return bool(self.redis.set(self._key(key), _dump(value), nx=True, px=self._px(expire)))

    def delete(self, key: str) -> bool:
        return bool(self.redis.delete(self._key(key)))

    def incr(self, key: str, delta: int = 1, default: int = 0) -> int:
        # Counters are kept as plain integers (Redis INCR), not pickled.
        if default:
            self.redis.set(self._key(key), default, nx=True)
        return int(self.redis.incrby(self._key(key), delta))

    @contextmanager
    def transact(self) -> Iterator[None]:
        """Read-modify-write sequences inside run one at a time across all processes."""
        with self.redis.lock(self._key("transact"), timeout=30, blocking_timeout=30):
            yield

    def close(self) -> None:
        """Closed with its store."""


class RedisSnapshotStore:
    """The ``SnapshotStore`` interface over Redis; ``prefix`` separates cities (and tests)."""

    def __init__(self, url: str, prefix: str = "city-cockpit:") -> None:
        self.url = url
        self.prefix = prefix
        self.redis = redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5)
        try:
            self.redis.ping()
        except redis.RedisError as exc:
            raise BackendUnavailable(f"Redis at {_safe(url)} cannot be reached: {exc}") from None
        # diskcache-like shared values for the web layer (sessions, sign-in limits).
        self.cache = RedisCache(self.redis, prefix)
        # Compare-and-extend in one step: a lease that lapsed and was taken by another
        # process is never extended by the one that lost it.
        self._renew_script = self.redis.register_script(_RENEW_LEASE)

    def _key(self, name: str) -> str:
        return self.prefix + name

    def close(self) -> None:
        self.redis.close()

    # -- data version ------------------------------------------------------------------
    def version(self) -> int:
        """The current data version; browsers compare it to skip unchanged refreshes."""
        raw = self.redis.get(self._key("version"))
        return int(raw) if raw is not None else 0

    def _bump(self, pipe: Any = None) -> None:
        (pipe or self.redis).incr(self._key("version"))

    # -- leases ------------------------------------------------------------------------
    def claim(self, key: str, ttl_s: float, owner: str = "") -> bool:
        """Take the lease ``key`` for ``ttl_s`` seconds; False if someone else holds it."""
        ms = max(1, int(ttl_s * 1000))
        value = owner or str(os.getpid())
        return bool(self.redis.set(self._key(f"lease:{key}"), value, nx=True, px=ms))

    def renew(self, key: str, ttl_s: float, owner: str) -> bool:
        """Extend ``owner``'s lease ``key`` to ``ttl_s`` seconds; False when not held."""
        ms = max(1, int(ttl_s * 1000))
        return bool(self._renew_script(keys=[self._key(f"lease:{key}")], args=[owner, ms]))

    def release(self, key: str) -> None:
        self.redis.delete(self._key(f"lease:{key}"))

    # -- snapshots and statuses --------------------------------------------------------
    def snapshot(self, source: str) -> Snapshot | None:
        """The last good snapshot of ``source``, or None before the first."""
        snap: Snapshot | None = _load(self.redis.get(self._key(f"snapshot:{source}")))
        return snap

    def status(self, source: str) -> SourceStatus:
        status: SourceStatus | None = _load(self.redis.get(self._key(f"status:{source}")))
        return status or SourceStatus(source=source)

    def _update_status(
        self, source: str, change: Callable[[SourceStatus], None], extra: dict[str, bytes]
    ) -> None:
        """Read-modify-write the status of ``source`` atomically (optimistic, retried)."""
        status_key = self._key(f"status:{source}")

        def apply(pipe: redis.client.Pipeline) -> None:
            status = _load(pipe.get(status_key)) or SourceStatus(source=source)
            change(status)
            pipe.multi()
            for key, value in extra.items():
                pipe.set(key, value)
            pipe.set(status_key, _dump(status))
            self._bump(pipe)

        self.redis.transaction(apply, status_key)

    def put_snapshot(self, snapshot: Snapshot) -> None:
        """Store a good snapshot and mark the source refreshed; bumps the data version."""

        payload = {self._key(f"snapshot:{snapshot.source}"): _dump(snapshot)}
        self._update_status(snapshot.source, lambda s: s.refreshed(snapshot), payload)

    def record_failure(self, source: str, reason: str, when: datetime | None = None) -> None:
        """Note a failed refresh. The last good snapshot stays; the source turns stale."""
        moment = when or datetime.now(UTC)
        self._update_status(source, lambda s: s.failed(reason, moment), {})

    # -- small shared values -----------------------------------------------------------
    def get(self, key: str, default: Any = None) -> Any:
        raw = self.redis.get(self._key(f"value:{key}"))
        return default if raw is None else _load(raw)

    def set(self, key: str, value: Any) -> None:
        pipe = self.redis.pipeline()
        pipe.set(self._key(f"value:{key}"), _dump(value))
        self._bump(pipe)
        pipe.execute()

    def clear(self) -> int:
        """Delete every key under this store's prefix (tests, decommissioning a city)."""
        removed = 0
        for batch in _batches(self.redis.scan_iter(match=self.prefix + "*", count=500), 500):
            removed += int(self.redis.delete(*batch))
        return removed


def _batches(items: Any, size: int) -> Any:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _safe(url: str) -> str:
    """``url`` without a password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
