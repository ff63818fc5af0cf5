"""Live signals across every app server and worker of a city, over Redis pub/sub.

``RedisSignals`` hands a published signal to this process's listeners at once and
publishes it on the city's channel (``<prefix>live``); one listener thread per process
subscribes to the channel and hands on what the other processes published. When Redis
goes away the thread reconnects with backoff and jitter; signals published meanwhile are
lost, and the screens' safety-net poll (and ``cockpit.live.VersionWatch``) catch up.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import uuid
from collections.abc import Callable, Iterable

import redis

from cockpit.live import Listener, LocalSignals, Signal, data_signal

__all__ = ["RedisSignals"]

log = logging.getLogger(__name__)


class RedisSignals:
    """The ``Signals`` of a city on the Redis at ``url``; ``prefix`` separates cities."""

    def __init__(self, url: str, prefix: str) -> None:
        self.url = url
        self.channel = f"{prefix}live"
        self.origin = uuid.uuid4().hex  # this process: its own messages are not heard twice
        self.local = LocalSignals()
        self.redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.subscribed = threading.Event()  # set while the channel is subscribed

    def publish(self, signal: Signal) -> None:
        self.local.deliver(signal)
        message = json.dumps({"origin": self.origin, "signal": signal.as_json()})
        try:
            self.redis.publish(self.channel, message)
        except redis.RedisError as exc:  # screens elsewhere catch up by their poll
            log.warning("a live signal could not be published on Redis: %s", exc)

    def publish_version(self, version: int, access: Iterable[str] = ()) -> None:
        self.publish(data_signal(version, access))

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        unsubscribe = self.local.subscribe(listener)
        self._start()
        return unsubscribe

    def _start(self) -> None:
        with self._lock:
            if self._thread and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._listen, name="city-cockpit-live-redis", daemon=True
            )
            self._thread.start()

    def _listen(self) -> None:
        failures = 0
        while not self._stop.is_set():
            client = redis.Redis.from_url(self.url, socket_connect_timeout=5)
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(self.channel)
                self.subscribed.set()
                failures = 0
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message is not None:
                        self._hear(message.get("data"))
            except redis.RedisError as exc:
                self.subscribed.clear()
                failures += 1
                delay = min(30.0, 0.5 * 2 ** min(failures, 6)) * random.uniform(0.5, 1.5)
                log.warning("live signals: Redis lost (%s); again in %.1f s", exc, delay)
                self._stop.wait(delay)
            finally:
                self.subscribed.clear()
                pubsub.close()
                client.close()

    def _hear(self, data: object) -> None:
        try:
            raw = json.loads(data)  # type: ignore[arg-type]
            if raw.get("origin") == self.origin:
                return
            signal = Signal.from_json(raw["signal"])
        except (TypeError, ValueError, KeyError, AttributeError):
            log.warning("live signals: ignored a message that is not a signal")
            return
        self.local.deliver(signal)

    def close(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
            self._thread = None
        self.local.close()
        self.redis.close()
