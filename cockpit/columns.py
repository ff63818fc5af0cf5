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
    "repeats",
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


def repeats(values: pd.Series) -> bool:
    """Whether values repeat enough that reading each distinct one once pays (judged on
    a sample: factorizing distinct texts costs more than it saves)."""
    if len(values) <= 64:
        return False
    sample = values.iloc[:: max(1, len(values) // 512)]
    try:
        return sample.nunique(dropna=False) * 2 <= len(sample)
    except TypeError:  # unhashable values
        return False


def _no_bools(values: pd.Series) -> bool:
    """Whether no value is a boolean (``True == 1`` would share 1's distinct value)."""
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind in ("string", "integer", "floating", "mixed-integer-float", "empty", "decimal"):
        return True
    return not any(type(v) is bool for v in values.to_numpy(dtype=object))


def _arrow_floats(values: pd.Series) -> pd.Series | None:
    """Texts held by Arrow (pandas' ``str`` dtype) cast to floats in C++; None when one
    of them is not a plain number."""
    if getattr(values.dtype, "storage", None) != "pyarrow":
        return None
    import pyarrow as pa  # present whenever pandas keeps texts in Arrow
    import pyarrow.compute as pc

    try:
        cast = pc.cast(pa.array(values.array), pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    return pd.Series(cast.to_numpy(zero_copy_only=False), index=values.index, dtype="float64")


def _numbers_each(values: pd.Series) -> pd.Series:
    raw = values.to_numpy(dtype=object)
    if any(type(v) is bool for v in raw):
        values = values.where(pd.Series([type(v) is not bool for v in raw], index=values.index))
    converted = pd.to_numeric(values.astype("object"), errors="coerce")
    numbers_ = pd.Series(converted, index=values.index).astype("float64")
    missing = numbers_.isna().to_numpy()
    if missing.any():
        # Texts to_numeric refuses but as_number reads ("3,5", " 12 ").
        retry = [i for i in np.flatnonzero(missing) if isinstance(raw[i], str) and raw[i].strip()]
        if retry:
            array = numbers_.to_numpy(dtype="float64", copy=True)
            array[np.asarray(retry, dtype=np.intp)] = [as_number(raw[i]) for i in retry]
            numbers_ = pd.Series(array, index=values.index)
    return numbers_


def numbers(values: pd.Series) -> pd.Series:
    """``as_number`` of each value, vectorised (float64, NaN where not a number); each
    distinct value is read once."""
    if values.dtype.kind in "fiu":
        floats = values.astype("float64")
        return floats.where(np.isfinite(floats))
    out = _arrow_floats(values)
    if out is None and repeats(values) and _no_bools(values):
        try:
            codes, uniques = pd.factorize(values, use_na_sentinel=True)
        except TypeError:
            codes = None
        if codes is not None:
            each = _numbers_each(pd.Series(np.asarray(uniques, dtype=object), dtype="object"))
            table = np.append(each.to_numpy(dtype="float64"), np.nan)
            out = pd.Series(table[codes], index=values.index, dtype="float64")
    if out is None:
        out = _numbers_each(values)
    return out.where(np.isfinite(out))


def per_value(values: pd.Series, func: Callable[[Any], Any]) -> pd.Series:
    """``values.map(func)``, calling ``func`` once per distinct value (ids, dates and
    states repeat over many rows); values that cannot be hashed are mapped one by one."""
    if not _no_bools(values):  # True == 1 would share 1's result
        return values.astype("object").map(func).astype("object")
    try:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    except TypeError:
        return values.astype("object").map(func).astype("object")
    mapped = np.empty(len(uniques) + 1, dtype=object)
    mapped[:] = [func(u) for u in np.asarray(uniques, dtype=object)] + [func(None)]
    return pd.Series(mapped[codes], index=values.index, dtype="object")


# --------------------------------------------------------------------------- one value


def parse_time(
    value: Any, tz: ZoneInfo, fmt: str = "auto", hour: int | None = None
) -> datetime | None:
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
    # Texts with and without offsets mixed (or padded): each group on its own.
    out = pd.Series(pd.NaT, index=text.index, dtype=_UTC_NS)
    text = text.astype("object").map(lambda v: v.strip() if isinstance(v, str) else v)
    aware = text.str.contains(_HAS_OFFSET, regex=True).fillna(False).astype(bool)
    if aware.any():
        shown = text[aware].str.replace(r"[zZ]$", "+00:00", regex=True)
        out[aware] = _as_utc(pd.to_datetime(shown, utc=True, errors="coerce", format="ISO8601"))
    if (~aware).any():
        naive = pd.to_datetime(text[~aware], errors="coerce", format="ISO8601")
        out[~aware] = _localised(naive, tz, hour)
    return out


def parse_times(raw: pd.Series, fmt: str, tz: ZoneInfo, hour: int | None = None) -> pd.Series:
    """``parse_time`` of each value, vectorised (UTC, NaT where unusable); each distinct
    value is read once."""
    if not isinstance(raw.dtype, pd.DatetimeTZDtype) and repeats(raw):
        try:
            codes, uniques = pd.factorize(raw, use_na_sentinel=True)
        except TypeError:
            codes = None
        # (True and 1 share a distinct value: neither is a time, 1970-01-01 is refused.)
        if codes is not None and len(uniques) * 2 <= len(raw):
            once = _parse_times(pd.Series(np.asarray(uniques, dtype=object)), fmt, tz, hour)
            table = np.append(once.to_numpy(dtype="datetime64[ns]"), np.datetime64("NaT", "ns"))
            return pd.Series(table[codes], index=raw.index).dt.tz_localize("UTC")
    return _parse_times(raw, fmt, tz, hour)


def _parse_times(raw: pd.Series, fmt: str, tz: ZoneInfo, hour: int | None) -> pd.Series:
    fmt = "auto" if fmt == "" else fmt
    if fmt in ("auto", "iso") and pd.api.types.infer_dtype(raw, skipna=True) == "string":
        # Texts only (the usual answer): ISO 8601 at once, the rest looked at one by one.
        out = _iso_texts(raw, tz, hour)
        rest = out.isna().to_numpy() & raw.notna().to_numpy()
        if rest.any():
            out[rest] = _parse_each_kind(raw[rest], fmt, tz, hour)
        return out
    return _parse_each_kind(raw, fmt, tz, hour)


def _parse_each_kind(raw: pd.Series, fmt: str, tz: ZoneInfo, hour: int | None) -> pd.Series:
    """Texts and numbers mixed: each kind read its way."""
    out = pd.Series(pd.NaT, index=raw.index, dtype=_UTC_NS)
    if raw.empty:
        return out
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        return _as_utc(raw.dt.tz_convert("UTC"))
    values = raw.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(raw, skipna=True) == "string":
        is_text = raw.notna().to_numpy()  # blank texts give no time below
    else:
        is_text = np.fromiter((isinstance(v, str) for v in values), bool, len(values))
    if fmt in ("auto", "iso"):
        if is_text.any():
            out[is_text] = _iso_texts(raw[is_text], tz, hour)
            padded = is_text & out.isna().to_numpy()
            if padded.any():  # texts with spaces around them
                out[padded] = _iso_texts(raw[padded].str.strip(), tz, hour)
    elif fmt not in ("epoch_s", "epoch_ms") and is_text.any():
        text = raw[is_text]
        if "%z" in fmt or "%Z" in fmt:
            out[is_text] = _as_utc(pd.to_datetime(text, format=fmt, errors="coerce", utc=True))
        else:
            out[is_text] = _localised(pd.to_datetime(text, format=fmt, errors="coerce"), tz, hour)
    if fmt not in ("auto", "epoch_s", "epoch_ms"):
        return out
    # Epoch numbers, and numeric texts ISO 8601 did not read.
    rest = out.isna().to_numpy() & (raw.notna().to_numpy())
    if fmt == "auto" and rest.any():
        texts = rest & is_text
        numeric = np.fromiter(
            (isinstance(v, str) and _NUMERIC.fullmatch(v) is not None for v in values[texts]),
            bool,
            int(texts.sum()),
        )
        rest[np.flatnonzero(texts)[~numeric]] = False
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
