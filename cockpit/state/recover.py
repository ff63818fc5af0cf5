"""Opening the embedded files when one of them is damaged: moved aside, started afresh.

A SQLite file can be damaged by a disk fault, a copy taken while it was written, or a
WAL file lost on its own. The cockpit then names the file, moves it (with its ``-wal``
and ``-shm`` companions, or the whole snapshot cache folder) aside to
``<name>.damaged-<UTC time>``, logs what was lost and opens an empty one in its place:

- the snapshot cache holds nothing that is not fetched again at the next refresh (its
  sessions end: people sign in again);
- the journal's notices, decisions and audit log are lost until an operator restores
  the moved file; the log says so;
- the history is rebuilt from the sources' backfill where they offer one; until then
  trends and baselines have no history, and ``/health`` says so.

Each store that was recovered carries a ``Recovery`` in its ``recovered`` attribute.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

__all__ = ["Recovery", "open_recovering"]

log = logging.getLogger(__name__)

T = TypeVar("T")

_CONSEQUENCE = {
    "snapshots": "the cache is rebuilt at the next refresh; signed-in users sign in again",
    "journal": (
        "notices, acknowledgements, decisions, kiosk registrations and the audit log start "
        "empty; restore them from the moved file or a backup"
    ),
    "history": (
        "trends, baselines and replay have no history until the backfill has run; restore "
        "the moved file or a backup to keep the old history"
    ),
}


@dataclass(frozen=True)
class Recovery:
    """A damaged file that was moved aside and replaced by an empty one."""

    part: str  # "snapshots", "journal" or "history"
    path: Path
    moved_to: Path
    reason: str

    def message(self) -> str:
        """What an operator reads: which file, why, where it went, what it means."""
        return (
            f"{self.path} was damaged ({self.reason}) and has been moved to {self.moved_to}; "
            f"{_CONSEQUENCE.get(self.part, 'it starts empty')}."
        )


def _move_aside(path: Path, stamp: str) -> Path:
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    shutil.move(str(path), str(target))
    for suffix in ("-wal", "-shm"):
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            shutil.move(str(companion), str(target.with_name(target.name + suffix)))
    return target


def open_recovering(part: str, path: Path, opener: Callable[[], T]) -> T:
    """``opener()``, or, when it finds ``path`` (a SQLite file or the folder holding one)
    damaged, ``opener()`` again after moving ``path`` aside. The store returned carries
    the ``Recovery`` as ``recovered`` (None when nothing was wrong)."""
    try:
        opened = opener()
        recovered: Recovery | None = None
    except sqlite3.DatabaseError as exc:
        if not path.exists():
            raise
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        moved = _move_aside(path, stamp)
        recovered = Recovery(part, path, moved, str(exc))
        log.error("%s", recovered.message())
        opened = opener()
    # A store with __slots__ keeps no note: the log has said it all.
    with contextlib.suppress(AttributeError):
        opened.recovered = recovered  # type: ignore[attr-defined]
    return opened
