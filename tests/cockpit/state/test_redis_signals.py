"""Live signals across processes over a real Redis on 127.0.0.1 (tests/servers.py): what
one publishes every other hears, once; cities stay apart; a listener whose Redis goes
away comes back when it returns."""

from __future__ import annotations

import queue
from collections.abc import Iterator

import pytest
import redis

from cockpit.live import Signal
from cockpit.state.redis_signals import RedisSignals
from tests.servers import own_redis, redis_prefix, redis_server  # noqa: F401 - fixtures


def _listening(url: str, prefix: str) -> tuple[RedisSignals, queue.Queue[Signal]]:
    signals = RedisSignals(url, prefix)
    heard: queue.Queue[Signal] = queue.Queue()
    signals.subscribe(heard.put)
    assert signals.subscribed.wait(10)
    return signals, heard


@pytest.fixture
def pair(
    redis_server: str,  # noqa: F811
    redis_prefix: str,  # noqa: F811
) -> Iterator[list[tuple[RedisSignals, queue.Queue[Signal]]]]:
    both = [_listening(redis_server, redis_prefix) for _ in range(2)]
    yield both
    for signals, _ in both:
        signals.close()


def test_a_signal_published_by_one_app_server_is_heard_once_by_each(
    pair: list[tuple[RedisSignals, queue.Queue[Signal]]],
) -> None:
    (a, heard_a), (_, heard_b) = pair
    a.publish(Signal("notices", 4, "public"))
    a.publish_version(9, ["internal"])
    assert heard_a.get(timeout=5) == Signal("notices", 4, "public")  # at once, not via Redis
    assert heard_b.get(timeout=5) == Signal("notices", 4, "public")
    assert heard_a.get(timeout=5) == heard_b.get(timeout=5) == Signal("data", 9, "internal")
    with pytest.raises(queue.Empty):
        heard_a.get(timeout=0.5)  # its own message coming back over Redis is not heard twice


def test_cities_on_one_redis_do_not_hear_each_other(
    redis_server: str,  # noqa: F811
    redis_prefix: str,  # noqa: F811
) -> None:
    mine, heard = _listening(redis_server, redis_prefix)
    other = RedisSignals(redis_server, redis_prefix + "other:")
    try:
        other.publish_version(3)
        mine.redis.publish(mine.channel, b"not a signal")  # ignored, the listener lives on
        publisher = RedisSignals(redis_server, redis_prefix)
        publisher.publish_version(5)
        assert heard.get(timeout=5) == Signal("data", 5)
        publisher.close()
    finally:
        other.close()
        mine.close()


def test_a_listener_comes_back_after_its_redis_restarts() -> None:
    with own_redis() as url:
        signals, heard = _listening(url, "cc-test-restart:")
        client = redis.Redis.from_url(url)
        try:
            # Every client of this Redis is dropped, as when it restarts.
            client.client_kill_filter(_type="pubsub")
            publisher = RedisSignals(url, "cc-test-restart:")
            found = None
            for _ in range(60):  # the listener resubscribes within its backoff
                publisher.publish_version(7)
                try:
                    found = heard.get(timeout=0.5)
                    break
                except queue.Empty:
                    continue
            assert found == Signal("data", 7)
            publisher.close()
        finally:
            client.close()
            signals.close()
