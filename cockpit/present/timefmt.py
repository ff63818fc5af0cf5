"""Times as the city's people read them: in the city's time zone."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

__all__ = ["local_time"]


def local_time(when: datetime | None, timezone: str, fmt: str = "%H:%M") -> str:
    """``when`` (UTC) shown in ``timezone``; "never" for None."""
    if when is None:
        return "never"
    return pd.Timestamp(when).tz_convert(timezone).strftime(fmt)
