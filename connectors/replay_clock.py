"""Replaying a recording as if it were live.

A recording made in the past plays so that its weekday and hour fall on the same
weekday and hour now: the shift is a whole number of weeks, counted in the city's wall
clock time. The recording loops: its playable length (the "cycle") is the largest whole
number of weeks it covers, so every lap keeps weekdays aligned.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["ReplayClock"]

WEEK = pd.Timedelta(days=7)


@dataclass(frozen=True)
class ReplayClock:
    """Maps between recording time and replay time for one recording.

    ``start`` is the first recorded wall-clock time (tz-naive, in ``timezone``);
    ``cycle`` the playable length, a whole number of weeks.
    """

    start: pd.Timestamp
    cycle: pd.Timedelta
    timezone: str

    @classmethod
    def for_recording(cls, first: pd.Timestamp, last: pd.Timestamp, timezone: str) -> ReplayClock:
        """Clock for a recording spanning wall-clock times ``first`` .. ``last`` (tz-naive).

        Raises ``ValueError`` when the recording is shorter than one week.
        """
        start = first.floor("D")
        weeks = int((last - start) // WEEK)
        if weeks < 1:
            raise ValueError("a replayed recording must cover at least one whole week")
        return cls(start=start, cycle=weeks * WEEK, timezone=timezone)

    def _wall(self, when: pd.Timestamp) -> pd.Timestamp:
        return when.tz_convert(self.timezone).tz_localize(None)

    def lap(self, when: pd.Timestamp) -> int:
        """Which lap of the recording plays at ``when`` (tz-aware)."""
        return int((self._wall(when) - self.start) // self.cycle)

    def recorded_at(self, when: pd.Timestamp) -> pd.Timestamp:
        """The recorded wall-clock time that plays at ``when`` (tz-aware)."""
        return self._wall(when) - self.lap(when) * self.cycle

    def played_at(self, recorded: pd.Series | pd.DatetimeIndex, lap: int) -> pd.Series:
        """UTC times at which recorded wall-clock times play in lap ``lap``.

        Wall-clock times that do not exist on the replay day (a daylight-saving gap) move
        forward; repeated ones take the first occurrence.
        """
        wall = pd.Series(pd.DatetimeIndex(recorded) + lap * self.cycle)
        local = wall.dt.tz_localize(
            self.timezone,
            ambiguous=np.ones(len(wall), dtype=bool),
            nonexistent="shift_forward",
        )
        return local.dt.tz_convert("UTC")

    def in_recording(self, recorded: pd.Series) -> pd.Series:
        """Mask of recorded times that lie inside the playable cycle."""
        return (recorded >= self.start) & (recorded < self.start + self.cycle)

    def laps_between(self, start: pd.Timestamp, end: pd.Timestamp) -> range:
        """Laps that overlap the replay window ``start`` .. ``end`` (tz-aware)."""
        return range(self.lap(start), self.lap(end) + 1)
