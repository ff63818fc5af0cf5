"""How fresh open screens are when the city pushes, against the polling design.

One gunicorn app server with one event-loop worker (``-k gevent``) serves the demo
city on the server backend (Redis and PostgreSQL on 127.0.0.1: the running services, or
private ones started for the run). This process plays the Celery worker. What changes
the data, at a steady rate (``--via``):

* ``mqtt`` (the default): a platform's broker. The city has one more source, a
  SensorThings traffic counter (the recorded Hamburg station) pushed over MQTT; this
  process publishes its observations on Mosquitto (127.0.0.1: the running broker or a
  private one), and the worker's push subscription takes them in, stores them and
  publishes the new data version on Redis. Freshness counts from the MQTT publish.
* ``refresh``: the worker refreshes a polled source and publishes the new version on
  Redis, exactly as ``cockpit.refresh_due`` does.

Screens, for each step of ``--screens``:

* a few headless Chromium kiosks (``/kiosk``): freshness is the time from the publish
  until the kiosk's refreshed state holds the new version (signal, then its refresh
  callback, as on a real screen);
* the rest lightweight clients of the same transport (``/live`` server-sent events, one
  asyncio task each in this process): freshness is the time until the signal arrives.

Baseline, measured in the same run: polling clients that ask the browsers' poll
callback every ``[ui] poll_seconds`` (the design before push, and what a screen whose
proxy refuses the stream falls back to): freshness until a poll answers the version.

Prints per step ``RESULT screens=… freshness_p50_s=… freshness_p95_s=…
server_rss_mb=… fallback_freshness_s=…``: freshness is when each screen knows the new
version (the stream clients and the kiosks' ``assets/live.js``), like for like with the
polling baseline's median (``fallback``); RSS is the app server's worker with every
screen connected. ``kiosk_figures_*`` adds what both designs then pay alike: the
kiosks' refresh until their figures show the new version (the server builds the view
and the kiosk's slides once per version).

    python bench/push.py [--quick] [--screens 20,200,500] [--rate 1] [--publishes 10]
                         [--via mqtt|refresh]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
import requests
from _common import ROOT, chromium, gunicorn, percentile

from cockpit.config import load_config
from tests.city_toml import pushed_counter
from tests.servers import (
    POSTGRES_DEFAULT,
    REDIS_DEFAULT,
    _postgres_answers,
    _redis_answers,
    mosquitto,
    own_postgres,
    own_redis,
)
from wiring.runtime import Runtime

# In the page: when the kiosk's refreshed state first holds each data version.
RECORD_VERSIONS = """
window.__ccSeen = {};
window.__ccSignal = {};
window.setInterval(function () {
  try {
    var told = (window.dash_clientside.cockpit.liveState.known || {}).data;
    if (told && !(told in window.__ccSignal)) { window.__ccSignal[told] = Date.now() / 1000; }
  } catch (e) { /* no stream yet */ }
  try {
    var data = window.dash_component_api.getLayout('cc-kiosk-state').props.data;
    var v = parseInt(String(data.key || '').split('|')[0], 10);
    if (v && !(v in window.__ccSeen)) { window.__ccSeen[v] = Date.now() / 1000; }
  } catch (e) { /* not rendered yet */ }
}, 25);
"""


def city_config(redis_url: str, prefix: str, dsn: str, schema: str, poll_s: float) -> str:
    """cities/server-example.toml on this run's Redis and PostgreSQL."""
    text = (ROOT / "cities" / "server-example.toml").read_text(encoding="utf-8")
    text = text.replace('"demo-melbourne/', f'"{ROOT / "cities" / "demo-melbourne"}/')
    text = re.sub(r"(?m)^backfill_hours = \d+", "backfill_hours = 0", text)
    text = re.sub(r"(?m)^poll_seconds = \d+", f"poll_seconds = {poll_s:g}", text)
    text = re.sub(r'(?m)^redis_url = ".*"', f'redis_url = "{redis_url}"', text)
    text = re.sub(r'(?m)^redis_prefix = ".*"', f'redis_prefix = "{prefix}"', text)
    text = re.sub(r'(?m)^postgres_dsn = ".*"', f'postgres_dsn = "{dsn}"', text)
    return re.sub(r'(?m)^postgres_schema = ".*"', f'postgres_schema = "{schema}"', text)


PUSHED_SOURCE = "hh"
PUSHED_STREAM = 26598  # the recorded Hamburg counting station's vehicle count


class BrokerFeed:
    """Observations of the pushed counter published on the broker, one connection kept;
    each publish waits until the worker has stored it and returns (version, sent at)."""

    def __init__(self, port: int, topic_prefix: str, worker: Runtime) -> None:
        import paho.mqtt.client as mqtt

        from cockpit.model import Snapshot, empty_observations
        from connectors.sensorthings import SensorThingsOptions, sites_from_things
        from tests.connectors.test_sensorthings import OPTIONS, kfz_observation, kfz_thing

        self.worker = worker
        self.topic = f"{topic_prefix}/Datastreams({PUSHED_STREAM})/Observations"
        self.observation = kfz_observation()
        sites = sites_from_things(
            [kfz_thing()], SensorThingsOptions.model_validate(OPTIONS), PUSHED_SOURCE
        )
        now = datetime.now(UTC)
        worker.store.put_snapshot(Snapshot(PUSHED_SOURCE, sites, empty_observations(), now))
        self.stored = threading.Event()
        worker.refresher.new_data_hooks.append(
            lambda source: self.stored.set() if source == PUSHED_SOURCE else None
        )
        worker.push.tick()  # the worker takes the subscription's lease, once for the city
        subscription = worker.push.held[PUSHED_SOURCE].subscription
        if not subscription.wait_subscribed(timeout=20):  # type: ignore[attr-defined]
            raise RuntimeError("the worker did not subscribe on the broker")
        self.client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.count = 0

    def publish(self) -> tuple[int, float]:
        self.count += 1
        end = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
        end += timedelta(seconds=self.count)  # each one newer than the last
        observation = {
            **self.observation,
            "phenomenonTime": f"{(end - timedelta(minutes=15)).isoformat()}/{end.isoformat()}",
            "result": 100 + self.count,
        }
        self.stored.clear()
        sent = time.time()
        self.client.publish(self.topic, json.dumps(observation), qos=1).wait_for_publish(10)
        if not self.stored.wait(timeout=10):
            raise RuntimeError("a published observation was not stored")
        return self.worker.store.version(), sent

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Arrivals:
    """When each screen first knew each version (screen -> version -> epoch seconds)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: dict[str, dict[int, float]] = {}

    def note(self, screen: str, version: int, when: float) -> None:
        with self.lock:
            self.seen.setdefault(screen, {}).setdefault(version, when)

    def freshness(self, published: dict[int, float], screens: list[str]) -> list[float]:
        """Per screen and published version: seconds until the screen knew it or any
        later version (a screen told only of a newer one is as fresh)."""
        out = []
        with self.lock:
            for screen in screens:
                known = sorted(self.seen.get(screen, {}).items())
                for version, at in published.items():
                    later = [when for v, when in known if v >= version and when >= at - 0.001]
                    if later:
                        out.append(max(0.0, min(later) - at))
        return out


class SseScreens:
    """Lightweight screens: one asyncio task per ``/live`` stream, all in one thread."""

    def __init__(self, base: str, arrivals: Arrivals) -> None:
        host, port = base.split("//", 1)[1].split(":")
        self.host, self.port = host, int(port)
        self.arrivals = arrivals
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.hellos = 0
        self.tasks: list[asyncio.Future[Any]] = []

    async def _screen(self, name: str) -> None:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        # HTTP/1.0: the answer is the bare stream, no chunked framing to undo.
        writer.write(f"GET /live HTTP/1.0\r\nHost: {self.host}\r\n\r\n".encode())
        await writer.drain()
        try:
            while (await reader.readline()).strip():  # status line and headers
                pass
            kind = ""
            while line := await reader.readline():
                text = line.decode().rstrip("\n")
                if text.startswith("event: "):
                    kind = text[7:]
                elif text.startswith("data: ") and kind:
                    data = json.loads(text[6:])
                    if kind == "hello":
                        self.hellos += 1
                    elif kind == "data":
                        self.arrivals.note(name, int(data["version"]), time.time())
                elif not text:
                    kind = ""
        finally:
            writer.close()

    def open(self, names: list[str], timeout: float = 120) -> None:
        start = self.hellos
        for name in names:
            self.tasks.append(asyncio.run_coroutine_threadsafe(self._screen(name), self.loop))
        deadline = time.monotonic() + timeout
        while self.hellos - start < len(names):
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {self.hellos - start} of {len(names)} streams opened")
            time.sleep(0.05)

    def close_all(self) -> None:
        for task in self.tasks:
            task.cancel()
        self.tasks = []
        time.sleep(0.5)

    def stop(self) -> None:
        self.close_all()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def poll_answer(session: requests.Session, base: str, seen: int) -> int:
    """The version the browsers' poll callback answers (``seen`` when unchanged)."""
    body = {
        "output": "cc-version.data",
        "outputs": {"id": "cc-version", "property": "data"},
        "inputs": [{"id": "cc-tick", "property": "n_intervals", "value": 1}],
        "state": [{"id": "cc-version", "property": "data", "value": seen}],
        "changedPropIds": ["cc-tick.n_intervals"],
    }
    answer = session.post(f"{base}/_dash-update-component", json=body, timeout=60)
    if answer.status_code == 204:
        return seen
    answer.raise_for_status()
    return int(answer.json()["response"]["cc-version"]["data"])


def pollers(
    base: str, count: int, every_s: float, arrivals: Arrivals, stop: threading.Event
) -> list[threading.Thread]:
    """``count`` polling screens, each at its own phase, as browsers opened at random."""

    def run(name: str) -> None:
        session = requests.Session()
        stop.wait(random.uniform(0, every_s))
        seen = -1
        while not stop.is_set():
            try:
                seen = poll_answer(session, base, seen)
                arrivals.note(name, seen, time.time())
            except requests.RequestException:
                pass
            stop.wait(every_s)

    threads = [threading.Thread(target=run, args=(f"poll{i}",), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    return threads


def worker_rss_mb(master: psutil.Process) -> float:
    return sum(c.memory_info().rss for c in master.children(recursive=True)) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="20 and 200 screens, < 1 min")
    parser.add_argument("--screens", default="20,200,500", help="open screens per step")
    parser.add_argument("--browsers", type=int, default=3, help="Chromium kiosks among them")
    parser.add_argument("--rate", type=float, default=0.5, help="publishes per second")
    parser.add_argument("--publishes", type=int, default=12, help="publishes per step")
    parser.add_argument("--poll", type=float, default=10.0, help="[ui] poll_seconds")
    parser.add_argument("--pollers", type=int, default=10, help="polling baseline screens")
    parser.add_argument(
        "--via", choices=("mqtt", "refresh"), default="mqtt", help="what changes the data"
    )
    args = parser.parse_args()
    if args.quick:
        args.rate = 1.0
        args.screens, args.browsers, args.publishes = "20,200", 1, 4
    steps = [int(n) for n in args.screens.split(",")]

    began = time.monotonic()
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        redis_url = (
            REDIS_DEFAULT if _redis_answers(REDIS_DEFAULT) else stack.enter_context(own_redis())
        )
        dsn = (
            POSTGRES_DEFAULT
            if _postgres_answers(POSTGRES_DEFAULT)
            else stack.enter_context(own_postgres())
        )
        prefix, schema = f"cc-bench:{uuid.uuid4().hex[:8]}:", f"cc_bench_{uuid.uuid4().hex[:8]}"
        config_file = work / "city.toml"
        text = city_config(redis_url, prefix, dsn, schema, args.poll)
        if args.via == "mqtt":
            broker = stack.enter_context(mosquitto())
            topics = f"cc-bench-{uuid.uuid4().hex[:8]}/v1.1"
            text += "\n" + pushed_counter(broker, topics, refresh_seconds=3600, layer=False)
        config_file.write_text(text, "utf-8")
        config = load_config(config_file)
        worker = Runtime.open(config, work / "worker-data")  # plays the Celery worker
        stack.callback(_clean, worker, prefix, schema)
        worker.refresher.refresh_due()
        sources = [s for s in config.sources if s != PUSHED_SOURCE]
        feed = None
        if args.via == "mqtt":
            feed = BrokerFeed(broker, topics, worker)
            stack.callback(feed.close)

        def change(i: int) -> tuple[int, float]:
            """New data (the i-th change of a step) told to the screens: (version, at)."""
            if feed is not None:
                return feed.publish()
            source = sources[i % len(sources)]
            worker.refresher.refresh(source)
            version = worker.store.version()
            at = time.time()
            worker.signals.publish_version(version, [config.sources[source].access])
            return version, at

        # Chromium starts while the app server boots.
        launcher = stack.enter_context(ThreadPoolExecutor(1))
        starting = launcher.submit(lambda: [kiosk_browser() for _ in range(args.browsers)])
        base, proc = stack.enter_context(
            gunicorn(
                config_file,
                work / "data",
                1,
                max(steps) + 200,
                work / "gunicorn.log",
                worker_class="gevent",
                # Open streams end at their next ping; screens reconnect to a new worker.
                env_extra={"GUNICORN_CMD_ARGS": "--graceful-timeout 3"},
            )
        )
        master = psutil.Process(proc.pid)
        requests.get(f"{base}/kiosk", timeout=60)  # the first page builds the views
        idle_rss = worker_rss_mb(master)

        arrivals = Arrivals()
        stop = threading.Event()
        polling = pollers(base, args.pollers, args.poll, arrivals, stop)

        browsers = starting.result()
        for driver in browsers:
            stack.callback(driver.quit)
            driver.get(f"{base}/kiosk")
        for driver in browsers:
            deadline = time.monotonic() + 60
            while not driver.execute_script(
                "return !!(((window.dash_clientside || {}).cockpit || {}).liveState || {}).live"
            ):
                if time.monotonic() > deadline:
                    raise RuntimeError("a kiosk's live stream did not open")
                time.sleep(0.2)
            driver.execute_script(RECORD_VERSIONS)
        # One publish first, not measured: the app server's first new version (its
        # warmer learns which views to prepare) is not the steady state.
        change(0)
        time.sleep(2)
        sse = SseScreens(base, arrivals)
        stack.callback(sse.stop)
        all_published: dict[int, float] = {}
        print(
            f"new data: {'observations published on Mosquitto' if feed else 'worker refreshes'}"
            f"; server: 1 gunicorn gevent worker, idle RSS {idle_rss:.0f} MB; "
            f"{args.browsers} Chromium kiosks; polling baseline {args.pollers} screens "
            f"every {args.poll:g} s"
        )
        results = []
        for step, screens in enumerate(steps):
            names = [f"s{step}-{i}" for i in range(max(0, screens - len(browsers)))]
            sse.open(names)
            time.sleep(0.5)
            rss = worker_rss_mb(master)
            threads = sum(c.num_threads() for c in master.children(recursive=True))
            published: dict[int, float] = {}
            for i in range(args.publishes):
                version, at = change(i)
                published[version] = at
                rss = max(rss, worker_rss_mb(master))
                time.sleep(max(0.0, 1 / args.rate - 0.05))
            time.sleep(1.5)
            all_published.update(published)
            pushed = arrivals.freshness(published, names)
            in_browsers = _browser_freshness(browsers, "__ccSeen", published)
            told = _browser_freshness(browsers, "__ccSignal", published)
            results.append(
                (screens, pushed, in_browsers, told, rss, threads, len(names), len(published))
            )
            sse.close_all()
        problems = [
            line
            for line in (work / "gunicorn.log").read_text(errors="replace").splitlines()
            if "Error" in line or "Traceback" in line or "WARNING" in line
        ]
        if problems:
            print(f"app server log: {len(problems)} problem lines, e.g. {problems[:3]}")
        # Every polling screen polls once more after the last publish.
        time.sleep(max(0.0, args.poll - (time.time() - max(all_published.values()))))
        stop.set()
        for thread in polling:
            thread.join(args.poll + 60)
        load = os.getloadavg()[0]
        print(
            f"measured in {time.monotonic() - began:.0f} s; machine load {load:.1f} "
            f"on {os.cpu_count()} CPUs"
        )
        polled = arrivals.freshness(all_published, [f"poll{i}" for i in range(args.pollers)])
        fallback = percentile(polled, 50)
        print(
            f"polling baseline: {len(polled)} samples, p50 {fallback:.2f} s, "
            f"p95 {percentile(polled, 95):.2f} s"
        )
        for screens, pushed, in_browsers, told, rss, threads, clients, count in results:
            # Like for like with the polling baseline: when each screen knows the version.
            combined = pushed + told
            p50, p95 = percentile(combined, 50), percentile(combined, 95)
            missed = clients * count - len(pushed)
            print(
                f"  {screens} screens ({threads} server threads): stream clients p95 "
                f"{percentile(pushed, 95):.3f} s ({len(pushed)} samples, {missed} missing); "
                f"Chromium kiosks know it p50 {percentile(told, 50):.2f} s, show its figures "
                f"p50 {percentile(in_browsers, 50):.2f} s p95 {percentile(in_browsers, 95):.2f} s "
                f"({len(in_browsers)} samples); push/polling p50 "
                f"{(p50 / fallback if fallback else 0):.3f}"
            )
            print(
                f"RESULT screens={screens} freshness_p50_s={p50:.3f} freshness_p95_s={p95:.3f} "
                f"server_rss_mb={rss:.0f} fallback_freshness_s={fallback:.2f} "
                f"kiosk_figures_p50_s={percentile(in_browsers, 50):.2f} "
                f"kiosk_figures_p95_s={percentile(in_browsers, 95):.2f} server_threads={threads}"
            )


def kiosk_browser() -> Any:
    """A headless Chromium as a kiosk: the screen's one foreground page, never throttled."""
    return chromium(
        "1280,800",
        "--disable-background-timer-throttling",
        "--disable-renderer-backgrounding",
        "--disable-backgrounding-occluded-windows",
    )


def _browser_freshness(
    browsers: list[Any], record: str, published: dict[int, float]
) -> list[float]:
    """Seconds from each publish until each browser's ``record`` held it (or a later one)."""
    out = []
    for driver in browsers:
        found = driver.execute_script(f"return window.{record} || {{}}")
        for version, at in published.items():
            later = [t for v, t in found.items() if int(v) >= version and t >= at - 0.001]
            if later:
                out.append(max(0.0, min(later) - at))
    return out


def _clean(runtime: Runtime, prefix: str, schema: str) -> None:
    """Remove the run's Redis keys and PostgreSQL schema."""
    import psycopg

    store: Any = runtime.store
    store.clear()
    dsn = runtime.config.backend.postgres_dsn
    runtime.close()
    with psycopg.connect(dsn, autocommit=True) as db:
        db.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
