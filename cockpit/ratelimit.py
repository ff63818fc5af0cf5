"""Failed sign-ins counted per user name and per address, shared by every process.

A guessing attacker gets ``attempts`` wrong passwords per user name and per address
within a sliding window of ``window_s`` seconds; after that the sign-in page answers
429 until the oldest failure leaves the window. Counting both ways stops one address
trying many names and many addresses trying one name.

Counters live in the city's ``SnapshotStore`` diskcache (``City.shared_cache()``), so
all workers of one cockpit (gunicorn processes, threads) share them without a server,
and they survive a restart. Each key expires with its window, so the cache never keeps
more than the failures of the last window.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["Block", "SharedCache", "SignInLimiter"]

_PREFIX = "signin-failures:"


class SharedCache(Protocol):
    """What the limiter needs of a cache shared by all workers: ``diskcache.Cache`` or
    the Redis backend's cache."""

    def get(self, key: str, default: Any = None) -> Any: ...
    def set(self, key: str, value: Any, expire: float | None = None) -> Any: ...
    def delete(self, key: str) -> Any: ...
    def transact(self) -> AbstractContextManager[Any]: ...


@dataclass(frozen=True)
class Block:
    """Why sign-in is refused for now, and for how long."""

    scope: str  # "user" or "address"
    retry_after_s: int


class SignInLimiter:
    """Sliding-window counts of failed sign-ins in a diskcache shared across processes."""

    def __init__(
        self,
        cache: SharedCache,
        attempts: int = 5,
        window_s: float = 15 * 60,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if attempts < 1 or window_s <= 0:
            raise ValueError("attempts must be at least 1 and the window positive")
        self.cache = cache
        self.attempts = attempts
        self.window_s = window_s
        self.clock = clock

    @staticmethod
    def _keys(user: str, address: str) -> dict[str, str]:
        # User names compare case-insensitively here, so "Ana" and "ana" share a count.
        return {
            "user": f"{_PREFIX}user:{user.strip().lower()[:100]}",
            "address": f"{_PREFIX}address:{address[:64]}",
        }

    def _recent(self, key: str, now: float) -> list[float]:
        times: list[float] = self.cache.get(key, default=[]) or []
        return [t for t in times if now - t < self.window_s]

    def blocked(self, user: str, address: str) -> Block | None:
        """A ``Block`` when ``user`` or ``address`` has used up its failures, else None."""
        now = self.clock()
        for scope, key in self._keys(user, address).items():
            recent = self._recent(key, now)
            if len(recent) >= self.attempts:
                wait = min(recent) + self.window_s - now
                return Block(scope, max(1, int(wait + 0.999)))
        return None

    def failed(self, user: str, address: str) -> None:
        """Count one failed sign-in for ``user`` and for ``address``."""
        now = self.clock()
        with self.cache.transact():
            for key in self._keys(user, address).values():
                recent = [*self._recent(key, now), now][-self.attempts :]
                self.cache.set(key, recent, expire=self.window_s)

    def succeeded(self, user: str) -> None:
        """Forget ``user``'s failures after a good sign-in (the address keeps its count,
        so one known password cannot reset a guessing address)."""
        self.cache.delete(self._keys(user, "")["user"])

    def failures(self, user: str, address: str) -> dict[str, int]:
        """Failures in the window per scope (for the audit log and tests)."""
        now = self.clock()
        return {s: len(self._recent(k, now)) for s, k in self._keys(user, address).items()}
