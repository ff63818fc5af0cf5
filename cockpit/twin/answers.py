"""The facade's one cache: each answer kept by (data version, role, question).

Every question a page asks of the ``City`` (a view, the twin at a moment, the alert board,
a forecast, a rendered panel) is answered once per data version and role, and kept here
under one rule: each (role, question) keeps only its newest answer, and at most ``size``
of them are kept, the least recently asked dropped first. An answer of an older data
version is given again only when the question says so:

- ``reuse_s``: it is still good for that many seconds after it was made (slow reads of
  weeks of history that new minutes of data hardly change);
- ``background``: once too old, it is still given while a fresh one is made in a
  background thread (one at a time per question), so that no request waits for it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["Answers"]

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass
class _Entry:
    version: int
    made: float  # time.monotonic() when made
    value: Any


class Answers:
    """Answers by (data version, role, question); see the module's rule."""

    def __init__(self, size: int = 256, clock: Callable[[], float] = time.monotonic) -> None:
        self.size = size
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[str, Hashable], _Entry] = OrderedDict()
        self._makers: dict[tuple[str, Hashable], threading.Lock] = {}
        self._busy: set[tuple[str, Hashable]] = set()
        # How often each question was answered from here and how often made (for tests
        # and for the operators' curiosity).
        self.hits = 0
        self.misses = 0

    def get(
        self,
        version: int,
        role: str,
        question: Hashable,
        make: Callable[[], T],
        reuse_s: float = 0.0,
        background: bool = False,
    ) -> T:
        """The answer to ``question`` for ``role`` at data ``version``, made by ``make()``
        when there is none that may be given (one maker at a time per question)."""
        slot = (role, question)
        with self._lock:
            entry = self._usable(slot, version, reuse_s)
            if entry is not None:
                return entry.value  # type: ignore[no-any-return]
            old = self._entries.get(slot)
            if background and old is not None:
                if slot not in self._busy:
                    self._busy.add(slot)
                    threading.Thread(
                        target=self._remake,
                        args=(slot, version, make),
                        name="city-cockpit-answer",
                        daemon=True,
                    ).start()
                self.hits += 1
                return old.value  # type: ignore[no-any-return]
            maker = self._makers.setdefault(slot, threading.Lock())
        with maker:
            with self._lock:
                entry = self._usable(slot, version, reuse_s)
                if entry is not None:
                    return entry.value  # type: ignore[no-any-return]
                self.misses += 1
            value = make()
            self._keep(slot, version, value)
        return value

    def peek(self, version: int, role: str, question: Hashable) -> Any | None:
        """The answer kept for ``role`` and ``question`` at ``version``, else None (never
        makes one)."""
        with self._lock:
            entry = self._entries.get((role, question))
            return entry.value if entry is not None and entry.version == version else None

    def kept(self, role: str, question: Hashable) -> Any | None:
        """The newest answer kept for ``role`` and ``question`` at any data version, else
        None (never makes one)."""
        with self._lock:
            entry = self._entries.get((role, question))
            return entry.value if entry is not None else None

    def roles_behind(self, version: int, question: Hashable) -> list[str]:
        """The roles whose answer to ``question`` is kept from a data version before
        ``version`` (and none yet at it), alphabetically."""
        with self._lock:
            return sorted(
                role
                for (role, q), entry in self._entries.items()
                if q == question and entry.version < version
            )

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    # -- the rule ------------------------------------------------------------------------
    def _usable(self, slot: tuple[str, Hashable], version: int, reuse_s: float) -> _Entry | None:
        entry = self._entries.get(slot)
        if entry is None:
            return None
        if entry.version >= version or self._clock() - entry.made < reuse_s:
            self._entries.move_to_end(slot)
            self.hits += 1
            return entry
        return None

    def _keep(self, slot: tuple[str, Hashable], version: int, value: Any) -> None:
        with self._lock:
            old = self._entries.get(slot)
            if old is not None and old.version > version:
                return  # a newer answer was kept meanwhile
            self._entries[slot] = _Entry(version, self._clock(), value)
            self._entries.move_to_end(slot)
            while len(self._entries) > self.size:
                dropped, _ = self._entries.popitem(last=False)
                self._makers.pop(dropped, None)

    def _remake(self, slot: tuple[str, Hashable], version: int, make: Callable[[], Any]) -> None:
        try:
            self._keep(slot, version, make())
        except Exception:  # the previous answer stays; the next request tries again
            log.exception("making a fresh answer for %s failed", slot[1])
        finally:
            with self._lock:
                self._busy.discard(slot)
