"""Bounds on what people and their browsers send: text lengths, numbers and names.

The same limits hold on the server whatever a browser form allows, so a crafted
request cannot store a notice no kiosk can carry or crash a callback with a value out
of range. Each check raises ``ValueError`` with a message a person can act on, or, for
the ``*_or_none`` forms, answers None so that a callback can ignore the input.
"""

from __future__ import annotations

import math
from typing import Any, Final

__all__ = [
    "AUDIT_DETAIL_MAX",
    "DECISION_PLACE_MAX",
    "DECISION_WHAT_MAX",
    "KIOSK_ID_MAX",
    "NOTICE_KIOSKS_MAX",
    "NOTICE_LANGUAGES_MAX",
    "NOTICE_TEXT_MAX",
    "PASSWORD_MAX",
    "USER_NAME_MAX",
    "bounded_int_or_none",
    "check_length",
    "clip",
    "finite_or_none",
    "short_name_or_none",
]

NOTICE_TEXT_MAX: Final = 500
NOTICE_LANGUAGES_MAX: Final = 12
# Kiosks and groups one notice may name (none: every kiosk).
NOTICE_KIOSKS_MAX: Final = 200
DECISION_WHAT_MAX: Final = 300
DECISION_PLACE_MAX: Final = 200
USER_NAME_MAX: Final = 100
PASSWORD_MAX: Final = 1_024
KIOSK_ID_MAX: Final = 64
AUDIT_DETAIL_MAX: Final = 300
_NAME_MAX: Final = 64


def check_length(text: str, what: str, limit: int) -> None:
    """Raises ValueError when ``text`` is longer than ``limit`` characters."""
    if len(text) > limit:
        raise ValueError(f"{what} may be at most {limit} characters long, not {len(text)}")


def clip(text: Any, limit: int) -> str:
    """``text`` as a string of at most ``limit`` characters, an ellipsis marking a cut."""
    value = str(text)
    return value if len(value) <= limit else value[: max(0, limit - 1)] + "…"


def finite_or_none(value: Any, low: float, high: float) -> float | None:
    """``value`` as a float when it is a real, finite number within ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    if not math.isfinite(number) or not low <= number <= high:
        return None
    return number


def bounded_int_or_none(value: Any, low: int, high: int) -> int | None:
    """``value`` as an int when it is a whole number within ``[low, high]``."""
    number = finite_or_none(value, low, high)
    if number is None or not number.is_integer():
        return None
    return int(number)


def short_name_or_none(value: Any, limit: int = _NAME_MAX) -> str | None:
    """``value`` when it is a non-empty string of at most ``limit`` printable characters."""
    if not isinstance(value, str) or not value or len(value) > limit:
        return None
    return value if value.isprintable() else None
