"""Numbers and times as platforms serve them, read one value at a time or a column at once.

The mapping language (``cockpit.mapping``) and the record-shaped connectors read served
values through these functions, so a value reads the same whichever connector meets it.

A time format is ``"auto"`` (ISO 8601 text, or an epoch number: seconds, milliseconds
when that large; a plain ``20240817`` is a date), ``"iso"`` (ISO 8601 text only),
``"epoch_s"``, ``"epoch_ms"``, or a ``strftime`` format. A time without an offset (or a
date alone) is local to the given zone, at ``hour`` o'clock for a date when one is given;
local times that do not exist or happen twice at a daylight-saving change give no time,
and so do times outside 1970-01-02 … 2200-01-01 (a platform error, or a 0 for "none").
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

__all__ = [
    "TIME_FORMATS",
    "as_number",
    "numbers",
    "parse_time",
    "parse_times",
    "per_value",
]

TIME_FORMATS: Final = frozenset({"auto", "iso", "epoch_s", "epoch_ms"})
_HAS_OFFSET: Final = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$", re.IGNORECASE)
_NUMERIC: Final = re.compile(r"\s*-?\d+(\.\d+)?\s*")
MIN_TIME: Final = datetime(1970, 1, 2, tzinfo=UTC)
MAX_TIME: Final = datetime(2200, 1, 1, tzinfo=UTC)
# Epoch numbers above this are milliseconds (1e11 s is the year 5138).
_EPOCH_MS_FROM: Final = 1e11
_UTC_NS: Final = "datetime64[ns, UTC]"


def as_number(value: Any) -> float:
    """A number from a JSON number or a numeric text ("12", " 3.5 ", "3,5" with a decimal
    comma, as European CSV files write it); NaN otherwise, and for infinities and
    booleans."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return math.nan
    try:
        number = float(value.strip().replace(",", ".") if isinstance(value, str) else value)
    except (ValueError, OverflowError):
        return math.nan
    return number if math.isfinite(number) else math.nan


def numbers(values: pd.Series) -> pd.Series:
    """``as_number`` of each value, vectorised (float64, NaN where not a number)."""
    if values.dtype.kind in "fiu":
        out = values.astype("float64")
        return out.where(np.isfinite(out))
    raw = values.to_numpy(dtype=object)
    if values.dtype == object and any(type(v) is bool for v in raw):
        values = values.where(pd.Series([type(v) is not bool for v in raw], index=values.index))
    converted = pd.to_numeric(values, errors="coerce")
    if converted.dtype == object:  # pragma: no cover - to_numeric coerces to numbers
        converted = converted.map(as_number)
    numbers_ = converted.astype("float64")
    missing = numbers_.isna().to_numpy()
    if missing.any():
        # Texts to_numeric refuses but as_number reads ("3,5", " 12 ").
        retry = [i for i in np.flatnonzero(missing) if isinstance(raw[i], str) and raw[i].strip()]
        if retry:
            array = numbers_.to_numpy(dtype="float64", copy=True)
            array[np.asarray(retry, dtype=np.intp)] = [as_number(raw[i]) for i in retry]
            numbers_ = pd.Series(array, index=values.index)
    return numbers_.where(np.isfinite(numbers_))


def per_value(values: pd.Series, func: Callable[[Any], Any]) -> pd.Series:
    """``values.map(func)``, calling ``func`` once per distinct value (ids, dates and
    states repeat over many rows); values that cannot be hashed are mapped one by one."""
    raw = values.to_numpy(dtype=object)
    if any(type(v) is bool for v in raw):  # True == 1 would share 1's result
        return values.map(func).astype("object")
    try:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    except TypeError:
        return values.map(func).astype("object")
    mapped = np.empty(len(uniques) + 1, dtype=object)
    mapped[:] = [func(u) for u in uniques] + [func(None)]
    return pd.Series(mapped[codes], index=values.index, dtype="object")


# --------------------------------------------------------------------------- one value


def parse_time(value: Any, tz: ZoneInfo, fmt: str = "auto", hour: int | None = None) -> datetime | None:
    """``value`` as an aware UTC time in format ``fmt`` (see the module), or None."""
    if value is None or isinstance(value, bool):
        return None
    fmt = "auto" if fmt == "" else fmt
    is_number = isinstance(value, int | float) or (
        isinstance(value, str) and _NUMERIC.fullmatch(value) is not None
    )
    if fmt in ("auto", "epoch_s", "epoch_ms") and is_number:
        if fmt == "auto" and isinstance(value, str) and len(value.strip()) == 8:
            return _strptime(value.strip(), tz, "%Y%m%d", hour)  # 20240817 is a date
        number = as_number(value)
        if math.isnan(number):
            return None
        if fmt == "epoch_ms" or (fmt == "auto" and abs(number) >= _EPOCH_MS_FROM):
            number /= 1000.0
        try:
            return _bounded(datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=number))
        except OverflowError:
            return None
    if not isinstance(value, str) or not value.strip() or fmt in ("epoch_s", "epoch_ms"):
        return None
    text = value.strip()
    if fmt not in ("auto", "iso"):
        return _strptime(text, tz, fmt, hour)
    try:
        parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1] in "zZ" else text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return _localise(_at_hour(parsed, hour), tz)
    return _bounded(parsed.astimezone(UTC))


def _at_hour(naive: datetime, hour: int | None) -> datetime:
    return naive if hour is None else naive.replace(hour=hour, minute=0, second=0, microsecond=0)


def _bounded(when: datetime) -> datetime | None:
    return when if MIN_TIME <= when <= MAX_TIME else None


def _strptime(text: str, tz: ZoneInfo, fmt: str, hour: int | None) -> datetime | None:
    try:
        parsed = datetime.strptime(text, fmt)
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        return _bounded(parsed.astimezone(UTC))
    return _localise(_at_hour(parsed, hour), tz)


def _localise(naive: datetime, tz: ZoneInfo) -> datetime | None:
    """``naive`` read in ``tz``; None for a wall time that is skipped or repeated."""
    first = naive.replace(tzinfo=tz, fold=0)
    second = naive.replace(tzinfo=tz, fold=1)
    if first.utcoffset() != second.utcoffset():
        return None  # repeated (autumn) or skipped (spring) local hour
    if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != naive:
        return None
    return _bounded(first.astimezone(UTC))


# ------------------------------------------------------------------------------ columns


def _as_utc(parsed: pd.Series) -> pd.Series:
    out = pd.to_datetime(parsed, utc=True, errors="coerce")
    return out.where((out >= MIN_TIME) & (out <= MAX_TIME))


def _localised(naive: pd.Series, tz: ZoneInfo, hour: int | None) -> pd.Series:
    """Naive wall times read in ``tz``; skipped or repeated hours give NaT."""
    if naive.empty:
        return pd.Series(pd.NaT, index=naive.index, dtype=_UTC_NS)
    if hour is not None:
        naive = naive.dt.normalize() + pd.Timedelta(hours=hour)
    local = naive.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    return _as_utc(local.dt.tz_convert("UTC"))


def _iso_texts(text: pd.Series, tz: ZoneInfo, hour: int | None) -> pd.Series:
    """ISO 8601 texts to UTC: with an offset as given, without one local to ``tz``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            parsed = pd.to_datetime(text, errors="coerce", format="ISO8601")
    except (ValueError, TypeError, Warning):
        parsed = None
    if parsed is not None and isinstance(parsed.dtype, pd.DatetimeTZDtype):
        return _as_utc(parsed.dt.tz_convert("UTC"))
    if parsed is not None and parsed.dtype.kind == "M":
        return _localised(parsed, tz, hour)  # every text without an offset
    # Texts with and without offsets mixed: each group on its own.
    out = pd.Series(pd.NaT, index=text.index, dtype=_UTC_NS)
    aware = text.str.contains(_HAS_OFFSET, regex=True).fillna(False).astype(bool)
    if aware.any():
        shown = text[aware].str.replace(r"[zZ]$", "+00:00", regex=True)
        out[aware] = _as_utc(pd.to_datetime(shown, utc=True, errors="coerce", format="ISO8601"))
    if (~aware).any():
        naive = pd.to_datetime(text[~aware], errors="coerce", format="ISO8601")
        out[~aware] = _localised(naive, tz, hour)
    return out


def parse_times(
    raw: pd.Series, fmt: str, tz: ZoneInfo, hour: int | None = None
) -> pd.Series:
    """``parse_time`` of each value, vectorised (UTC, NaT where unusable)."""
    fmt = "auto" if fmt == "" else fmt
    out = pd.Series(pd.NaT, index=raw.index, dtype=_UTC_NS)
    if raw.empty:
        return out
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        return _as_utc(raw.dt.tz_convert("UTC"))
    values = raw.to_numpy(dtype=object)
    is_text = np.fromiter(
        (isinstance(v, str) and v != "" and not v.isspace() for v in values), bool, len(values)
    )
    numeric_text = is_text & np.fromiter(
        (isinstance(v, str) and _NUMERIC.fullmatch(v) is not None for v in values),
        bool,
        len(values),
    )
    if fmt in ("auto", "iso"):
        texts = is_text & ~numeric_text if fmt == "auto" else is_text
    else:
        texts = is_text if fmt not in ("epoch_s", "epoch_ms") else np.zeros(len(values), bool)
    if texts.any():
        text = raw[texts]
        if fmt in ("auto", "iso"):
            out[texts] = _iso_texts(text, tz, hour)
            padded = texts & out.isna().to_numpy()
            if padded.any():  # texts with spaces around them
                out[padded] = _iso_texts(raw[padded].str.strip(), tz, hour)
        elif "%z" in fmt or "%Z" in fmt:
            out[texts] = _as_utc(pd.to_datetime(text, format=fmt, errors="coerce", utc=True))
        else:
            out[texts] = _localised(pd.to_datetime(text, format=fmt, errors="coerce"), tz, hour)
    if fmt not in ("auto", "epoch_s", "epoch_ms"):
        return out
    rest = out.isna().to_numpy() & (~is_text | numeric_text)
    if fmt == "auto" and numeric_text.any():  # 20240817 is ISO's basic date
        dated = numeric_text & np.fromiter(
            (isinstance(v, str) and len(v.strip()) == 8 for v in values), bool, len(values)
        )
        if dated.any():
            days = pd.to_datetime(raw[dated].str.strip(), format="%Y%m%d", errors="coerce")
            out[dated] = _localised(days, tz, hour)
            rest &= ~dated
    if rest.any():
        seconds = numbers(raw[rest])
        if fmt == "epoch_ms":
            seconds = seconds / 1000.0
        elif fmt == "auto":
            seconds = seconds.where(seconds.abs() < _EPOCH_MS_FROM, seconds / 1000.0)
        seconds = seconds.where(seconds.abs() < _EPOCH_MS_FROM)
        epoch = seconds.notna()
        if epoch.any():
            parsed = pd.to_datetime(seconds[epoch], unit="s", utc=True, errors="coerce")
            out[epoch[epoch].index] = _as_utc(parsed)
    return out
