"""The facade's one cache: answers by data version, role and question, one eviction rule."""

from __future__ import annotations

import threading
import time

from cockpit.twin.answers import Answers


class Ticks:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Maker:
    """Counts its calls; answers with the call number."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> int:
        self.calls += 1
        return self.calls


def test_an_answer_is_made_once_per_version_and_role() -> None:
    answers, make = Answers(), Maker()
    assert answers.get(1, "public", "q", make) == 1
    assert answers.get(1, "public", "q", make) == 1
    assert answers.get(1, "staff", "q", make) == 2  # roles never share an answer
    assert answers.get(2, "public", "q", make) == 3  # new data: a new answer
    assert make.calls == 3
    assert (answers.hits, answers.misses) == (1, 3)


def test_kept_gives_the_newest_answer_of_any_version_and_never_makes_one() -> None:
    answers = Answers()
    assert answers.kept("public", "q") is None
    answers.get(1, "public", "q", lambda: "first")
    answers.get(3, "public", "q", lambda: "third")
    assert answers.kept("public", "q") == "third"
    assert answers.kept("staff", "q") is None  # roles never share an answer
    assert len(answers) == 1


def test_a_new_version_replaces_the_older_answer() -> None:
    answers = Answers()
    answers.get(1, "public", "q", lambda: "old")
    answers.get(2, "public", "q", lambda: "new")
    assert len(answers) == 1
    assert answers.peek(1, "public", "q") is None
    assert answers.peek(2, "public", "q") == "new"
    # an answer asked at an older version than the one kept is the kept one
    assert answers.get(1, "public", "q", lambda: "older") == "new"


def test_reuse_s_keeps_an_answer_across_versions_for_that_long() -> None:
    ticks = Ticks()
    answers, make = Answers(clock=ticks), Maker()
    assert answers.get(1, "public", "slow", make, reuse_s=60) == 1
    ticks.now += 59
    assert answers.get(2, "public", "slow", make, reuse_s=60) == 1
    ticks.now += 1
    assert answers.get(3, "public", "slow", make, reuse_s=60) == 2
    assert make.calls == 2


def test_background_gives_the_old_answer_while_a_new_one_is_made() -> None:
    ticks = Ticks()
    answers = Answers(clock=ticks)
    release, started = threading.Event(), threading.Event()

    def slow() -> str:
        started.set()
        assert release.wait(10)
        return "fresh"

    answers.get(1, "public", "board", lambda: "first", reuse_s=60, background=True)
    ticks.now += 61
    assert answers.get(2, "public", "board", slow, reuse_s=60, background=True) == "first"
    assert started.wait(10)
    # while it is being made, nobody waits and nobody starts a second one
    assert answers.get(2, "public", "board", slow, reuse_s=60, background=True) == "first"
    release.set()
    for _ in range(200):
        if answers.peek(2, "public", "board") == "fresh":
            break
        time.sleep(0.01)
    assert answers.get(2, "public", "board", slow, reuse_s=60, background=True) == "fresh"


def test_a_failed_background_answer_leaves_the_old_one() -> None:
    ticks = Ticks()
    answers = Answers(clock=ticks)
    answers.get(1, "public", "board", lambda: "first", reuse_s=1, background=True)
    ticks.now += 2

    def broken() -> str:
        raise RuntimeError("history unavailable")

    assert answers.get(2, "public", "board", broken, reuse_s=1, background=True) == "first"
    for _ in range(200):
        if ("public", "board") not in answers._busy:
            break
        time.sleep(0.01)
    assert answers.peek(1, "public", "board") == "first"


def test_one_maker_at_a_time_per_question() -> None:
    answers = Answers()
    calls: list[int] = []
    gate = threading.Event()

    def make() -> int:
        calls.append(1)
        gate.wait(0.2)
        return 42

    results: list[int] = []
    threads = [
        threading.Thread(target=lambda: results.append(answers.get(1, "public", "q", make)))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join(10)
    assert results == [42] * 8
    assert len(calls) == 1


def test_the_least_recently_asked_are_dropped_beyond_size() -> None:
    answers = Answers(size=3)
    for q in ("a", "b", "c"):
        answers.get(1, "public", q, lambda q=q: q)
    answers.get(1, "public", "a", lambda: "again")  # asked again: now the most recent
    answers.get(1, "public", "d", lambda: "d")
    assert len(answers) == 3
    assert answers.peek(1, "public", "b") is None
    assert answers.peek(1, "public", "a") == "a"


def test_roles_behind_names_roles_whose_answer_is_older() -> None:
    answers = Answers()
    answers.get(1, "staff", "view", lambda: 1)
    answers.get(1, "public", "view", lambda: 1)
    answers.get(2, "public", "view", lambda: 2)
    answers.get(1, "public", "other", lambda: 1)
    assert answers.roles_behind(2, "view") == ["staff"]
    assert answers.roles_behind(1, "view") == []
