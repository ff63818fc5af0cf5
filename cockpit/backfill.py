"""Filling the history from a platform's own history, in chunks, resuming where it stopped.

``fill_history`` reads a source's observations between two times through its
connector's ``read_window`` (SensorThings ``phenomenonTime`` filters, the NGSI-LD temporal
API, QuantumLeap for NGSI v2, OpenDataSoft records with a time filter, CKAN DataStore, the
demo's recording) one chunk at a time (a day by default), validates them as a refresh
does and appends them to the history. Each completed chunk is recorded with
``HistoryStore.set_mark``, so a backfill that was interrupted (even killed) and started
again continues with the first chunk not yet done. ``city-cockpit backfill`` runs it
from the command line with a progress bar.

The first-start backfill journals its plan (``plan_key``: where it starts) and its holder
(``holder_key``: the machine and process filling it), so that a restart after a crash
resumes the same chunks, and takes over a backfill whose holder process has died
instead of waiting for its lease to expire (``holder_gone``).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pandas as pd

from cockpit.model import validate_observations, validate_sites

if TYPE_CHECKING:
    from cockpit.source import Connector
    from cockpit.storage import HistoryStore

__all__ = [
    "BackfillReport",
    "Chunk",
    "chunk_key",
    "chunks",
    "fill_history",
    "holder_gone",
    "holder_key",
    "plan_key",
    "planned_start",
    "this_holder",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Chunk:
    """One slice of a backfill: ``start <= time < end`` of one source."""

    source: str
    start: datetime
    end: datetime
    index: int  # 0-based position among the backfill's chunks
    total: int
    rows: int = 0  # observations appended (0 for a chunk done before)
    resumed: bool = False  # True when an earlier run had already done it


@dataclass
class BackfillReport:
    """What one backfill of one source did."""

    source: str
    chunks: int = 0
    done_before: int = 0
    rows: int = 0
    rejected: int = 0
    done: list[Chunk] = field(default_factory=list)


def chunks(start: datetime, end: datetime, size: timedelta) -> list[tuple[datetime, datetime]]:
    """``start`` .. ``end`` cut into consecutive slices of ``size`` (the last may be
    shorter)."""
    if size <= timedelta(0):
        raise ValueError("a backfill chunk must be longer than zero")
    out = []
    lo = start
    while lo < end:
        hi = min(lo + size, end)
        out.append((lo, hi))
        lo = hi
    return out


def chunk_key(source: str, start: datetime, size: timedelta) -> str:
    """The history mark recording a completed chunk; its value is the chunk's end."""
    begin = pd.Timestamp(start).tz_convert("UTC").isoformat()
    return f"history-backfill:{source}:{begin}:{int(size.total_seconds())}s"


def plan_key(source: str) -> str:
    """The history mark holding where ``source``'s first-start backfill starts."""
    return f"history-backfill-plan:{source}"


def holder_key(source: str) -> str:
    """The history mark naming the process that fills ``source``'s history."""
    return f"history-backfill-holder:{source}"


def planned_start(history: HistoryStore, source: str, start: datetime) -> tuple[datetime, bool]:
    """Where ``source``'s backfill starts: the start an earlier, unfinished run journaled
    (and True), else ``start``, journaled now (and False). Resuming from the same start
    keeps the chunks, and so the marks of those already done."""
    journaled = history.mark(plan_key(source))
    if journaled:
        return pd.Timestamp(journaled).to_pydatetime(), True
    history.set_mark(plan_key(source), pd.Timestamp(start).isoformat())
    return start, False


def this_holder() -> str:
    """This process, as a backfill holder: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def holder_gone(holder: str | None) -> bool:
    """True when ``holder`` (``host:pid``) was a process on this machine that no longer
    runs. A holder on another machine, or one still running, is not gone."""
    host, _, pid = (holder or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, under another user
        return False
    return False


def _done(history: HistoryStore, key: str, end: datetime) -> bool:
    mark = history.mark(key)
    return mark is not None and pd.Timestamp(mark) >= pd.Timestamp(end)


def fill_history(
    history: HistoryStore,
    connector: Connector,
    start: datetime,
    end: datetime,
    chunk: timedelta = timedelta(days=1),
    progress: Callable[[Chunk], None] | None = None,
    retention_days: float | None = None,
    now: datetime | None = None,
) -> BackfillReport:
    """Append ``connector``'s observations with ``start <= time < end`` to ``history``,
    one ``chunk`` at a time, skipping chunks an earlier run completed.

    ``progress`` is called after every chunk (done now or before). ``retention_days``
    purges the source's observations older than that before ``now`` after each chunk (a
    source kept shorter for privacy). Raises what the connector raises
    (``ConnectorError``); chunks completed until then stay recorded.
    """
    source = connector.source_id
    slices = chunks(start, end, chunk)
    report = BackfillReport(source, chunks=len(slices))
    sites = None
    for index, (lo, hi) in enumerate(slices):
        key = chunk_key(source, lo, chunk)
        if _done(history, key, hi):
            report.done_before += 1
            item = Chunk(source, lo, hi, index, len(slices), 0, resumed=True)
        else:
            if sites is None:
                sites, _ = validate_sites(connector.discover_sites(), connector.context.bbox)
            raw = connector.read_window(sites, lo, hi)
            raw = raw[raw["site_id"].isin(sites["id"])]
            good, bad = validate_observations(raw)
            good = good[(good["time"] >= pd.Timestamp(lo)) & (good["time"] < pd.Timestamp(hi))]
            history.append(good)
            if retention_days is not None:
                moment = pd.Timestamp(now) if now is not None else pd.Timestamp.now(tz="UTC")
                history.purge_source(source, (moment - pd.Timedelta(days=retention_days)))
            history.set_mark(key, pd.Timestamp(hi).isoformat())
            report.rows += len(good)
            report.rejected += len(bad)
            item = Chunk(source, lo, hi, index, len(slices), len(good))
        report.done.append(item)
        if progress is not None:
            progress(item)
    log.info(
        "backfilled %s from %s to %s: %d observations in %d chunks (%d done before)",
        source, start, end, report.rows, report.chunks, report.done_before,
    )  # fmt: skip
    return report
