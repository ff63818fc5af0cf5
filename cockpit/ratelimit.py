"""Sign-in attempts limited per address and per user name at an address, shared by every
process, a cap on password checks running at once, and plain sliding-window limits
(``WindowLimiter``: citizens' reports per device and per address).

Counting
    A guessing attacker gets ``attempts`` wrong passwords per address (whatever the user
    names) and per user name from one address, within a sliding window of ``window_s``
    seconds; after that the sign-in page answers 429 until the oldest attempt leaves the
    window. A user name is not limited on its own: five wrong passwords typed elsewhere
    do not lock its owner out (anyone could otherwise lock any account).

    Each attempt is *reserved* before its password is checked: ``reserve`` counts it and
    answers, in one transaction, whether it may go ahead, so forty attempts sent at once
    get exactly ``attempts`` checks, however many threads or processes answer them. A
    good password gives its reservation back (``release``).

    Counts live in the city's shared cache (``City.shared_cache()``: diskcache, whose
    transactions hold across processes, or the Redis backend's cache under a Redis lock),
    so all workers of one cockpit share them and they survive a restart. Each key expires
    with its window.

Password checks
    An argon2 check takes tens of MiB of memory for a fraction of a second. ``HashSlots``
    lets at most a few run at once in a process; a sign-in that cannot get a slot within a
    short wait is answered 429, so a flood of sign-ins from many addresses costs bounded
    memory.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from cockpit.storage import SharedCache

__all__ = ["Block", "HashSlots", "Reservation", "SignInLimiter", "WindowLimiter"]

_PREFIX = "signin-attempts:"


@dataclass(frozen=True)
class Block:
    """Why sign-in is refused for now, and for how long."""

    scope: str  # "address" or "pair" (this user name from this address)
    retry_after_s: int


@dataclass(frozen=True)
class Reservation:
    """One counted attempt, to be given back if its password was right."""

    user: str
    address: str
    token: str


class SignInLimiter:
    """Sliding-window counts of sign-in attempts in a cache shared across processes."""

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
        name = user.strip().lower()[:100]
        return {
            "address": f"{_PREFIX}address:{address[:64]}",
            "pair": f"{_PREFIX}pair:{address[:64]}:{name}",
        }

    def _recent(self, key: str, now: float) -> list[tuple[float, str]]:
        entries = self.cache.get(key, default=[]) or []
        return [(t, tok) for t, tok in entries if now - t < self.window_s]

    def _block(self, user: str, address: str, now: float) -> Block | None:
        for scope, key in self._keys(user, address).items():
            recent = self._recent(key, now)
            if len(recent) >= self.attempts:
                wait = min(t for t, _ in recent) + self.window_s - now
                return Block(scope, max(1, int(wait + 0.999)))
        return None

    def blocked(self, user: str, address: str) -> Block | None:
        """A ``Block`` when ``address``, or ``user`` at ``address``, has used up its
        attempts, else None. Only a hint: ``reserve`` is the check that counts."""
        return self._block(user, address, self.clock())

    def reserve(self, user: str, address: str) -> Reservation | Block:
        """Count one attempt for ``user`` at ``address`` before its password is checked;
        a ``Block`` (and nothing counted) when the attempts are used up."""
        now = self.clock()
        token = secrets.token_hex(8)
        with self.cache.transact():
            block = self._block(user, address, now)
            if block is not None:
                return block
            for key in self._keys(user, address).values():
                kept = [*self._recent(key, now), (now, token)][-self.attempts :]
                self.cache.set(key, kept, expire=self.window_s)
        return Reservation(user, address, token)

    def release(self, reservation: Reservation) -> None:
        """Give back a reservation whose password was right; the user's earlier failures
        at that address are forgotten too (the address keeps its other attempts, so one
        known password cannot reset a guessing address)."""
        self._forget(reservation, forget_pair=True)

    def cancel(self, reservation: Reservation) -> None:
        """Give back a reservation whose password was never checked."""
        self._forget(reservation, forget_pair=False)

    def _forget(self, reservation: Reservation, forget_pair: bool) -> None:
        keys = self._keys(reservation.user, reservation.address)
        now = self.clock()
        with self.cache.transact():
            for scope, key in keys.items():
                if scope == "pair" and forget_pair:
                    self.cache.delete(key)
                    continue
                kept = [e for e in self._recent(key, now) if e[1] != reservation.token]
                self.cache.set(key, kept, expire=self.window_s)

    def failed(self, user: str, address: str) -> None:
        """Count one failed attempt for ``user`` at ``address`` (as ``reserve`` does, even
        past the limit)."""
        now = self.clock()
        with self.cache.transact():
            for key in self._keys(user, address).values():
                kept = [*self._recent(key, now), (now, secrets.token_hex(8))][-self.attempts :]
                self.cache.set(key, kept, expire=self.window_s)

    def failures(self, user: str, address: str) -> dict[str, int]:
        """Attempts counted in the window per scope (for the audit log and tests)."""
        now = self.clock()
        return {s: len(self._recent(k, now)) for s, k in self._keys(user, address).items()}


class HashSlots:
    """At most ``slots`` password checks at once in this process; ``wait_s`` is how long
    one waits for a slot before it is refused."""

    def __init__(self, slots: int = 4, wait_s: float = 5.0) -> None:
        if slots < 1 or wait_s < 0:
            raise ValueError("slots must be at least 1 and the wait not negative")
        self.slots = slots
        self.wait_s = wait_s
        self._semaphore = threading.BoundedSemaphore(slots)
        self._lock = threading.Lock()
        self.busy = 0
        self.most_busy = 0  # the most checks seen running at once (for tests and benches)
        self.checks = 0  # slots granted, ever

    @contextmanager
    def slot(self) -> Iterator[bool]:
        """Yields True while holding a slot, or False when none came free in time (the
        caller then refuses the attempt without checking the password)."""
        if not self._semaphore.acquire(timeout=self.wait_s):
            yield False
            return
        with self._lock:
            self.busy += 1
            self.checks += 1
            self.most_busy = max(self.most_busy, self.busy)
        try:
            yield True
        finally:
            with self._lock:
                self.busy -= 1
            self._semaphore.release()


class WindowLimiter:
    """At most ``limit`` actions per key in a sliding window of ``window_s`` seconds,
    counted in a cache shared across processes.

    Keys (a device's token, a network address) are kept only as hashes salted with
    ``salt`` (a secret shared by the city's processes) that expire with their window, so
    the count says nothing about who sent what once the window has passed."""

    def __init__(
        self,
        cache: SharedCache,
        name: str,
        limit: int,
        window_s: float,
        salt: str = "",
        clock: Callable[[], float] = time.time,
    ) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("limit must be at least 1 and the window positive")
        self.cache = cache
        self.name = name
        self.salt = salt
        self.limit = limit
        self.window_s = window_s
        self.clock = clock

    def _key(self, key: str) -> str:
        digest = hashlib.sha256(f"{self.salt}\0{self.name}\0{key}".encode()).hexdigest()[:32]
        return f"window:{self.name}:{digest}"

    def take(self, key: str) -> int | None:
        """Count one action of ``key``: None when it may go ahead, else the seconds to
        wait before the next one may (nothing counted)."""
        now = self.clock()
        cache_key = self._key(key)
        with self.cache.transact():
            recent = [
                t for t in self.cache.get(cache_key, default=[]) or [] if now - t < self.window_s
            ]
            if len(recent) >= self.limit:
                return max(1, int(min(recent) + self.window_s - now + 0.999))
            self.cache.set(cache_key, [*recent, now], expire=self.window_s)
        return None
