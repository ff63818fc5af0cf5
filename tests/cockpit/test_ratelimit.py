"""Sign-in attempts reserved per address and per user at an address in the city's
diskcache, atomically across threads and processes; password checks capped."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from cockpit.ratelimit import Block, HashSlots, Reservation, SignInLimiter, WindowLimiter
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


def test_a_user_at_an_address_is_blocked_after_the_allowed_attempts(
    store: SnapshotStore,
) -> None:
    clock = FakeTime()
    limiter = SignInLimiter(store.cache, attempts=3, window_s=600, clock=clock)
    for _ in range(3):
        assert isinstance(limiter.reserve("ana", "10.0.0.1"), Reservation)
        clock.now += 10
    block = limiter.reserve("ANA ", "10.0.0.1")  # same name, other spelling
    assert isinstance(block, Block) and block.scope in ("pair", "address")
    assert block.retry_after_s == 600 - 30  # the first attempt leaves the window then
    assert limiter.failures("ana", "10.0.0.1") == {"address": 3, "pair": 3}


def test_a_user_name_alone_is_never_locked_from_everywhere(store: SnapshotStore) -> None:
    """Wrong passwords for ana from many addresses do not lock ana out of her own."""
    limiter = SignInLimiter(store.cache, attempts=3, window_s=600, clock=FakeTime())
    for n in range(10):
        for _ in range(3):
            limiter.failed("ana", f"203.0.113.{n}")
    assert limiter.blocked("ana", "198.51.100.1") is None
    assert isinstance(limiter.reserve("ana", "198.51.100.1"), Reservation)


def test_an_address_is_blocked_for_every_user(store: SnapshotStore) -> None:
    limiter = SignInLimiter(store.cache, attempts=3, window_s=600, clock=FakeTime())
    for n in range(3):
        limiter.failed(f"user{n}", "192.0.2.7")
    block = limiter.blocked("someone-else", "192.0.2.7")
    assert block is not None and block.scope == "address"
    assert limiter.blocked("someone-else", "192.0.2.8") is None


def test_attempts_leave_the_window(store: SnapshotStore) -> None:
    clock = FakeTime()
    limiter = SignInLimiter(store.cache, attempts=2, window_s=60, clock=clock)
    limiter.failed("ana", "a")
    clock.now += 30
    limiter.failed("ana", "a")
    assert limiter.blocked("ana", "a") is not None
    clock.now += 31  # the first attempt is now 61 s old
    assert limiter.blocked("ana", "a") is None
    assert limiter.failures("ana", "a") == {"address": 1, "pair": 1}


def test_a_good_password_gives_its_attempt_back(store: SnapshotStore) -> None:
    limiter = SignInLimiter(store.cache, attempts=3, window_s=600, clock=FakeTime())
    limiter.failed("ana", "a")
    good = limiter.reserve("ana", "a")
    assert isinstance(good, Reservation)
    limiter.release(good)
    # The user's failures at that address are forgotten; the address keeps its failure.
    assert limiter.failures("ana", "a") == {"address": 1, "pair": 0}


def test_a_cancelled_attempt_is_not_counted(store: SnapshotStore) -> None:
    limiter = SignInLimiter(store.cache, attempts=3, window_s=600, clock=FakeTime())
    limiter.failed("ana", "a")
    unchecked = limiter.reserve("ana", "a")
    assert isinstance(unchecked, Reservation)
    limiter.cancel(unchecked)
    assert limiter.failures("ana", "a") == {"address": 1, "pair": 1}


def test_reservations_from_many_threads_never_exceed_the_limit(store: SnapshotStore) -> None:
    limiter = SignInLimiter(store.cache, attempts=5, window_s=600)
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda _: limiter.reserve("ana", "10.9.9.9"), range(40)))
    assert sum(isinstance(a, Reservation) for a in answers) == 5


def test_reservations_from_many_processes_never_exceed_the_limit(tmp_path: Path) -> None:
    code = (
        "import sys; from cockpit.state.embedded import SnapshotStore;"
        "from cockpit.ratelimit import Block, HashSlots, Reservation, SignInLimiter, Reservation;"
        "s = SnapshotStore(sys.argv[1]); l = SignInLimiter(s.cache, attempts=5, window_s=900);"
        "n = sum(isinstance(l.reserve('ana', '198.51.100.1'), Reservation) for _ in range(10));"
        "print(n); s.close()"
    )
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE
        )
        for _ in range(4)
    ]
    granted = [int(run.communicate(timeout=120)[0]) for run in runs]
    assert sum(granted) == 5
    here = SnapshotStore(tmp_path)
    try:
        limiter = SignInLimiter(here.cache, attempts=5, window_s=900)
        assert limiter.failures("ana", "198.51.100.1") == {"address": 5, "pair": 5}
    finally:
        here.close()


def test_counts_expire_from_the_cache(store: SnapshotStore) -> None:
    limiter = SignInLimiter(store.cache, attempts=2, window_s=600)
    limiter.failed("ana", "a")
    keys = [k for k in store.cache.iterkeys() if str(k).startswith("signin-attempts:")]
    assert len(keys) == 2
    for key in keys:
        _, expires = store.cache.get(key, expire_time=True)
        assert expires is not None


def test_hash_slots_cap_checks_running_at_once() -> None:
    slots = HashSlots(slots=2, wait_s=0.05)
    release = threading.Event()
    outcomes: list[bool] = []

    def check() -> None:
        with slots.slot() as got:
            outcomes.append(got)
            if got:
                release.wait(10)

    first = [threading.Thread(target=check) for _ in range(2)]
    for thread in first:
        thread.start()
    while slots.busy < 2:
        time.sleep(0.01)
    check()  # a third finds no free slot within its wait
    release.set()
    for thread in first:
        thread.join()
    assert sorted(outcomes) == [False, True, True]
    assert slots.most_busy == 2 and slots.busy == 0


@pytest.mark.parametrize(("attempts", "window"), [(0, 60), (3, 0)])
def test_nonsense_limits_are_refused(store: SnapshotStore, attempts: int, window: float) -> None:
    with pytest.raises(ValueError):
        SignInLimiter(store.cache, attempts=attempts, window_s=window)
    with pytest.raises(ValueError):
        HashSlots(slots=0)


def test_a_window_limit_counts_per_key_and_frees_as_the_window_slides(
    store: SnapshotStore,
) -> None:
    clock = FakeTime()
    limiter = WindowLimiter(store.cache, "reports", 3, 3600, salt="s3cret", clock=clock)
    assert [limiter.take("phone-a") for _ in range(3)] == [None, None, None]
    wait = limiter.take("phone-a")
    assert wait == 3600  # nothing counted for the refused one
    assert limiter.take("phone-b") is None
    clock.now += 1800
    assert limiter.take("phone-a") == 1800
    clock.now += 1800
    assert limiter.take("phone-a") is None


def test_a_window_limit_keeps_no_key_in_the_clear_and_holds_across_threads(
    store: SnapshotStore,
) -> None:
    limiter = WindowLimiter(store.cache, "reports", 5, 3600, salt="s3cret", clock=FakeTime())
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: limiter.take("10.0.0.7"), range(40)))
    assert answers.count(None) == 5
    assert not [k for k in store.cache.iterkeys() if "10.0.0.7" in str(k)]
    with pytest.raises(ValueError):
        WindowLimiter(store.cache, "x", 0, 3600)
