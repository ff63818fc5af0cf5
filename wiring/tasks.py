"""Refresh and backfill work for the server backend, run by Celery workers.

With ``[backend] kind = "server"`` the web processes only serve; Celery workers read
the platforms. Celery beat sends ``refresh_due`` for each source once per its refresh
interval; the worker that gets it takes the source's lease in Redis (so a duplicated
beat or a second beat process still reads the platform once) and stores the snapshot
in Redis and the observations in PostgreSQL. When a worker starts it fills history
(backfill, once per city) and catches up on the time it was away, so a killed and
restarted worker loses no history the platform can still give.

Run, with the city config named by ``CITY_COCKPIT_CONFIG``::

    celery -A wiring.tasks worker --beat --loglevel=INFO       # one machine
    celery -A wiring.tasks worker --loglevel=INFO               # more workers
    celery -A wiring.tasks beat                                 # exactly one beat
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import datetime, timedelta
from typing import Any

from celery import Celery
from celery.signals import worker_ready

from cockpit.config import CityConfig, default_config_path, load_config
from cockpit.errors import CockpitError

__all__ = ["app", "catch_up", "make_celery", "refresh_due", "run_backfill"]

log = logging.getLogger(__name__)

_runtime: Any = None
_runtime_pid: int | None = None
_runtime_lock = threading.Lock()


def _config_path() -> str:
    return str(os.environ.get("CITY_COCKPIT_CONFIG") or default_config_path())


def runtime() -> Any:
    """This worker process's ``Runtime`` (opened on first use, after the fork)."""
    global _runtime, _runtime_pid
    with _runtime_lock:
        if _runtime is None or _runtime_pid != os.getpid():
            from wiring.runtime import Runtime

            _runtime = Runtime.open(_config_path())
            _runtime_pid = os.getpid()
        return _runtime


def beat_schedule(config: CityConfig) -> dict[str, dict[str, Any]]:
    """One beat entry per source, at the source's refresh interval (a pushed source's
    slower safety-net poll)."""
    return {
        # Alerts to the rules' channels: plan and send every quarter minute (one
        # worker of all at a time: a lease).
        "deliver": {
            "task": "cockpit.deliver",
            "schedule": timedelta(seconds=15),
            "options": {"expires": 15.0},
        }
    } | {
        f"refresh:{source}": {
            "task": "cockpit.refresh_due",
            "schedule": timedelta(seconds=cfg.poll_seconds),
            "args": (source,),
            # A refresh that waited a whole interval in the queue is stale: drop it.
            "options": {"expires": float(cfg.poll_seconds)},
        }
        for source, cfg in config.sources.items()
    }


def make_celery(config: CityConfig) -> Celery:
    """A Celery app for ``config``'s city: Redis as broker, one beat entry per source."""
    broker = config.backend.broker_url or config.backend.redis_url or "redis://127.0.0.1:6379/0"
    celery = Celery("city_cockpit", broker=broker)
    celery.conf.update(
        beat_schedule=beat_schedule(config),
        task_ignore_result=True,
        task_acks_late=True,  # a task whose worker died is run again
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": 600},
        timezone="UTC",
    )
    return celery


def _load_config() -> CityConfig:
    try:
        return load_config(_config_path())
    except CockpitError:
        # Celery imports this module to find the app: a bad config stops the worker as it
        # starts, with the ConfigError (file, key and reason) in its log.
        log.exception("city config cannot be read")
        raise


CONFIG = _load_config()
app = make_celery(CONFIG)


@app.task(name="cockpit.refresh_due")
def refresh_due(source: str | None = None) -> list[str]:
    """Read ``source`` (or every source that is due) if this worker gets the lease."""
    rt = runtime()
    if source is None:
        # Each stored change reaches every app server's screens through the runtime's
        # new-data hook (``Runtime.open``), not at their next poll.
        return list(rt.refresher.refresh_due())
    interval = rt.config.sources[source].poll_seconds
    # Half an interval: a duplicate of this beat is absorbed, the next beat is not.
    if not rt.store.claim(f"refresh:{source}", max(0.5, interval / 2)):
        return []
    rt.refresher.refresh(source)
    return [source]


@app.task(name="cockpit.deliver")
def deliver() -> tuple[int, int]:
    """Plan the rules' new messages and send those due: (planned, sent)."""
    return runtime().notify.run_once()


@app.task(name="cockpit.backfill")
def run_backfill() -> None:
    """Fill history with each source's recent past, once per city (marks in history)."""
    runtime().refresher.backfill()


@app.task(name="cockpit.catch_up")
def catch_up(since: dict[str, str]) -> dict[str, int]:
    """Read the window each source's history missed while no worker ran: from its last
    good refresh before this worker started (``since``: source -> ISO time) to now.
    Sources without a backfill window, or refreshed within two intervals, are skipped."""
    rt = runtime()
    now = rt.refresher.clock()
    added: dict[str, int] = {}
    for source, when in since.items():
        cfg = rt.config.sources.get(source)
        last = datetime.fromisoformat(when)
        if cfg is None or not cfg.backfill_hours:
            continue
        if (now - last).total_seconds() < 2 * cfg.refresh_seconds:
            continue
        if not rt.store.claim(f"catch-up:{source}", ttl_s=max(60, cfg.refresh_seconds)):
            continue
        earliest = now - timedelta(hours=cfg.backfill_hours)
        start = max(last - timedelta(seconds=cfg.refresh_seconds), earliest)
        connector = rt.refresher.connectors[source]
        try:
            frame = connector.read_window(connector.discover_sites(), start, now)
        except CockpitError as exc:
            log.warning("catching up on %s failed: %s", source, exc)
            continue
        added[source] = rt.history.append(frame)
        log.info("caught up on %s: %d observations since %s", source, added[source], start)
    return added


def last_successes(config: CityConfig) -> dict[str, str]:
    """Each source's last good refresh (ISO time), read from the shared store."""
    if config.backend.kind != "server":
        return {}
    from cockpit.state import redis_prefix
    from cockpit.state.redis_store import RedisSnapshotStore

    store = RedisSnapshotStore(config.backend.redis_url, redis_prefix(config))
    try:
        found = {s: store.status(s).last_success for s in config.sources}
    finally:
        store.close()
    return {s: when.isoformat() for s, when in found.items() if when is not None}


@worker_ready.connect
def _on_worker_ready(sender: Any = None, **_: Any) -> None:
    """A starting worker notes where history stopped, then asks for fresh data, the gap
    since it stopped and (once per city) the past."""
    since = last_successes(CONFIG)
    for source in CONFIG.sources:
        app.send_task("cockpit.refresh_due", args=(source,))
    if since:
        app.send_task("cockpit.catch_up", args=(since,))
    app.send_task("cockpit.backfill")
