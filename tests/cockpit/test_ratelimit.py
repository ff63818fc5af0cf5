"""Failed sign-ins counted per user name and per address in the city's diskcache."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cockpit.ratelimit import SignInLimiter
from cockpit.state.embedded import SnapshotStore

ROOT = Path(__file__).resolve().parents[2]


class FakeTime:
    """Seconds since the epoch, moved by hand."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SnapshotStore]:
    opened = SnapshotStore(tmp_path)
    yield opened
    opened.close()


def test_a_user_is_blocked_after_the_allowed_failures(store: SnapshotStore) -> None:
    clock = FakeTime()
    limiter = SignInLimiter(store.cache, attempts=3, window_s=600, clock=clock)
    for n in range(3):
        assert limiter.blocked("ana", f"10.0.0.{n}") is None
        limiter.failed("ana", f"10.0.0.{n}")
        clock.now += 10
    block = limiter.blocked("ana", "10.0.0.9")
    assert block is not None and block.scope == "user"
    assert block.retry_after_s == 600 - 30  # the first failure leaves the window then
    assert limiter.blocked("ANA ", "10.0.0.9") is not None  # same name, other spelling
    assert limiter.blocked("ben", "10.0.0.9") is None


def test_an_address_is_blocked_for_every_user(store: SnapshotStore) -> None:
    limiter = SignInLimiter(store.cache, attempts=3, window_s=600, clock=FakeTime())
    for n in range(3):
        limiter.failed(f"user{n}", "192.0.2.7")
    block = limiter.blocked("someone-else", "192.0.2.7")
    assert block is not None and block.scope == "address"
    assert limiter.blocked("someone-else", "192.0.2.8") is None


def test_failures_leave_the_window(store: SnapshotStore) -> None:
    clock = FakeTime()
    limiter = SignInLimiter(store.cache, attempts=2, window_s=60, clock=clock)
    limiter.failed("ana", "a")
    clock.now += 30
    limiter.failed("ana", "a")
    assert limiter.blocked("ana", "a") is not None
    clock.now += 31  # the first failure is now 61 s old
    assert limiter.blocked("ana", "a") is None
    assert limiter.failures("ana", "a") == {"user": 1, "address": 1}


def test_a_good_sign_in_clears_the_user_but_not_the_address(store: SnapshotStore) -> None:
    limiter = SignInLimiter(store.cache, attempts=2, window_s=600, clock=FakeTime())
    limiter.failed("ana", "a")
    limiter.failed("ana", "a")
    limiter.succeeded("ana")
    assert limiter.failures("ana", "a") == {"user": 0, "address": 2}
    assert limiter.blocked("ana", "b") is None
    assert limiter.blocked("ana", "a") is not None


def test_counts_expire_from_the_cache(store: SnapshotStore) -> None:
    limiter = SignInLimiter(store.cache, attempts=2, window_s=600)
    limiter.failed("ana", "a")
    keys = [k for k in store.cache.iterkeys() if str(k).startswith("signin-failures:")]
    assert len(keys) == 2
    for key in keys:
        _, expires = store.cache.get(key, expire_time=True)
        assert expires is not None


def test_counts_are_shared_across_processes(tmp_path: Path) -> None:
    """Failures counted by another worker process block here too."""
    code = (
        "import sys; from cockpit.state.embedded import SnapshotStore;"
        "from cockpit.ratelimit import SignInLimiter;"
        "s = SnapshotStore(sys.argv[1]); l = SignInLimiter(s.cache, attempts=5, window_s=900);"
        "[l.failed('ana', '198.51.100.1') for _ in range(5)]; s.close()"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=ROOT, check=True, timeout=60)
    here = SnapshotStore(tmp_path)
    try:
        limiter = SignInLimiter(here.cache, attempts=5, window_s=900)
        block = limiter.blocked("ana", "203.0.113.5")
        assert block is not None and block.scope == "user"
        assert limiter.failures("x", "198.51.100.1")["address"] == 5
    finally:
        here.close()


@pytest.mark.parametrize(("attempts", "window"), [(0, 60), (3, 0)])
def test_nonsense_limits_are_refused(store: SnapshotStore, attempts: int, window: float) -> None:
    with pytest.raises(ValueError):
        SignInLimiter(store.cache, attempts=attempts, window_s=window)
