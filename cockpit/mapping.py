"""The mapping language every connector shares: how a platform's record becomes fields.

A source's ``options.mapping`` names output fields and says where each comes from; the
connector then reads the mapped record exactly as it reads a served one, so its own
options (``fields.time``, ``values``, ``site_field`` …) may name a mapped field. Each
field is one of:

- a **path** into the record (``"totalcapacity"``, ``"location.coordinates.1"``), or into
  the item as served around it with ``$.`` (OpenDataSoft v1 ``"$.record_timestamp"``);
  a bare string is a path (a rename);
- a **constant** (``const = -37.81``: one location for a single-site dataset);
- an **expression** over the record's fields (``expr = "100 * (1 - free / total)"``):
  numbers, field names, ``+ - * /``, parentheses, ``min``, ``max`` and ``coalesce``
  (alias ``if_null``). It is parsed with ``ast`` against a whitelist and never evaluated
  by Python; a missing operand or a division by zero gives no value.

Any field may add ``map`` (a served value → a number, e.g. ``FULL = 100``, matched
without regard to case), ``time`` (how its text or number is a time: ``"iso"``,
``"epoch_s"``, ``"epoch_ms"`` or a ``strftime`` format; ``hour`` completes a date-only
value; ``timezone`` is the zone of times without an offset, default the city's) and
``unit`` (the unit its values are in; the connector converts to the metric's unit).

``RecordMapping.apply`` is pure: a record in, the record with its mapped fields out, and
the reasons any field could not be mapped. A mistake in the mapping itself is found when
the config loads and raised as ``ConfigError`` naming the key (``mapping_from_options``).
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from cockpit.columns import TIME_FORMATS, numbers, parse_time, parse_times, per_value
from cockpit.errors import ConfigError

__all__ = [
    "ColumnExpression",
    "Expression",
    "FieldSpec",
    "MappedColumns",
    "MappedRecord",
    "RecordMapping",
    "TimeSpec",
    "compile_column_expression",
    "compile_expression",
    "mapping_from_options",
    "resolve_path",
]

_FUNCTIONS: Final = frozenset({"min", "max", "coalesce", "if_null"})
_OPERATORS: Final = (ast.Add, ast.Sub, ast.Mult, ast.Div)
_MAX_EXPR: Final = 500


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ------------------------------------------------------------------------- expressions

Value = float | None
Expression = Callable[[Mapping[str, Any]], Value]


class _Missing(Exception):
    """An expression names a field the record does not have."""


def _number(value: Any) -> Value:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _arith(op: ast.operator, left: Value, right: Value) -> Value:
    if left is None or right is None:
        return None
    if isinstance(op, ast.Add):
        return left + right
    if isinstance(op, ast.Sub):
        return left - right
    if isinstance(op, ast.Mult):
        return left * right
    return left / right if right != 0 else None


def _call(name: str, args: list[Value]) -> Value:
    present = [a for a in args if a is not None]
    if name in ("coalesce", "if_null"):
        return present[0] if present else None
    if not present:
        return None
    return min(present) if name == "min" else max(present)


def _build(node: ast.AST, text: str) -> Expression:
    """A closure computing ``node``; raises ``ValueError`` for anything off the whitelist."""
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise ValueError(f"only numbers may be written in an expression, not {node.value!r}")
        constant = float(node.value)
        return lambda record: constant
    if isinstance(node, ast.Name):
        name = node.id

        def read(record: Mapping[str, Any]) -> Value:
            if name not in record:
                raise _Missing(name)
            return _number(record[name])

        return read
    if isinstance(node, ast.BinOp) and isinstance(node.op, _OPERATORS):
        left, right, op = _build(node.left, text), _build(node.right, text), node.op
        return lambda record: _arith(op, left(record), right(record))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd | ast.USub):
        operand, negative = _build(node.operand, text), isinstance(node.op, ast.USub)

        def sign(record: Mapping[str, Any]) -> Value:
            value = operand(record)
            return -value if negative and value is not None else value

        return sign
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS:
            shown = ast.get_source_segment(text, node.func) or "?"
            raise ValueError(f"calls only min, max, coalesce or if_null, not {shown!r}")
        if node.keywords or not node.args:
            raise ValueError(f"{node.func.id}() takes one or more values, without names")
        name, args = node.func.id, [_build(a, text) for a in node.args]
        return lambda record: _call(name, [a(record) for a in args])
    if isinstance(node, ast.Attribute):
        raise ValueError("attribute access (a.b) is not allowed; write the field's name")
    if isinstance(node, ast.Subscript):
        raise ValueError("indexing (a[b]) is not allowed; map the nested field by its path")
    shown = type(node).__name__
    raise ValueError(
        f"{shown} is not allowed; use numbers, field names, + - * /, parentheses, "
        "min, max and coalesce"
    )


def _names(tree: ast.AST) -> list[str]:
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    return [n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in called]


def compile_expression(text: str) -> tuple[Expression, list[str]]:
    """(the expression as a function of a record, the field names it reads).

    The function returns a float or None (a missing operand, a value that is not a
    number, a division by zero) and raises ``KeyError`` naming a field the record lacks.
    Raises ``ValueError`` for text that is not a small arithmetic expression.
    """
    if not text.strip():
        raise ValueError("the expression is empty")
    if len(text) > _MAX_EXPR:
        raise ValueError(f"the expression is longer than {_MAX_EXPR} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"not an expression: {exc.msg} in {text!r}") from None
    inner = _build(tree.body, text.strip())

    def run(record: Mapping[str, Any]) -> Value:
        try:
            return inner(record)
        except _Missing as missing:
            raise KeyError(str(missing)) from None

    return run, _names(tree)


# A compiled expression over whole columns: field name -> float array in, float array out.
Floats = Callable[[str], np.ndarray]
ColumnExpression = Callable[[Floats], np.ndarray]


def _column_call(name: str, args: list[np.ndarray]) -> np.ndarray:
    if name in ("coalesce", "if_null"):
        out = args[-1]
        for arg in reversed(args[:-1]):
            out = np.where(np.isnan(arg), out, arg)
        return out
    reduce = np.fmin if name == "min" else np.fmax  # fmin/fmax skip NaN, as min() skips None
    out = args[0]
    for arg in args[1:]:
        out = reduce(out, arg)
    return out


def _column_build(node: ast.AST) -> ColumnExpression:
    """``_build``'s twin over columns (the node was already checked by ``_build``)."""
    if isinstance(node, ast.Constant):
        constant = np.full(1, float(node.value))  # type: ignore[arg-type]  # checked: a number
        return lambda floats: constant  # broadcasts against any column
    if isinstance(node, ast.Name):
        name = node.id
        return lambda floats: floats(name)
    if isinstance(node, ast.BinOp):
        left, right, op = _column_build(node.left), _column_build(node.right), node.op

        def arith(floats: Floats) -> np.ndarray:
            a, b = left(floats), right(floats)
            with np.errstate(divide="ignore", invalid="ignore"):
                if isinstance(op, ast.Add):
                    return np.add(a, b)
                if isinstance(op, ast.Sub):
                    return np.subtract(a, b)
                if isinstance(op, ast.Mult):
                    return np.multiply(a, b)
                return np.where(np.asarray(b) == 0, np.nan, np.divide(a, b))

        return arith
    if isinstance(node, ast.UnaryOp):
        operand, negative = _column_build(node.operand), isinstance(node.op, ast.USub)
        return (lambda floats: -operand(floats)) if negative else operand
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    name, args = node.func.id, [_column_build(a) for a in node.args]
    return lambda floats: _column_call(name, [np.asarray(a(floats), dtype="float64") for a in args])


def compile_column_expression(text: str) -> ColumnExpression:
    """The expression ``text`` over whole columns: given ``floats(name)`` (a field's
    values as a float array, NaN where not a number; raising ``KeyError`` for a field the
    records lack) it returns the values (NaN where ``compile_expression`` gives None).
    Raises ``ValueError`` like ``compile_expression``."""
    compile_expression(text)  # the whitelist
    return _column_build(ast.parse(text.strip(), mode="eval").body)


# ------------------------------------------------------------------------------- times


class TimeSpec(_Strict):
    """How a field's value is a time."""

    # "iso", "auto" (ISO text or epoch number), "epoch_s", "epoch_ms" or a strftime format
    # such as "%d/%m/%Y %H:%M".
    format: str = "iso"
    # Hour of day (0-23) a date-only value stands for, in ``timezone``.
    hour: int | None = Field(default=None, ge=0, le=23)
    # Zone of times without an offset (default: the city's).
    timezone: str = ""

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        if value not in TIME_FORMATS and "%" not in value:
            raise ValueError(
                f"format {value!r} is neither 'iso', 'auto', 'epoch_s', 'epoch_ms' nor a "
                "strftime format such as '%Y-%m-%d %H:%M'"
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown IANA time zone {value!r}") from None
        return value

    def parse(self, value: Any, timezone: str) -> datetime | None:
        """``value`` as an aware UTC time, or None when it is not one in this format."""
        return parse_time(value, ZoneInfo(self.timezone or timezone), self.format, self.hour)

    def parse_column(self, values: pd.Series, timezone: str) -> pd.Series:
        """``parse`` of each value, vectorised (UTC, NaT where it is not a time)."""
        return parse_times(values, self.format, ZoneInfo(self.timezone or timezone), self.hour)


# ------------------------------------------------------------------------------ fields


def resolve_path(path: str, record: Any, outer: Any = None) -> tuple[bool, Any]:
    """(found, value) of a dotted ``path`` in ``record``; ``$.`` starts from ``outer``
    (the item as served). Numeric parts index lists."""
    current = outer if path.startswith("$.") else record
    parts = path[2:].split(".") if path.startswith("$.") else path.split(".")
    for part in parts:
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif (
            isinstance(current, list)
            and part.lstrip("-").isdigit()
            and -len(current) <= int(part) < len(current)
        ):
            current = current[int(part)]
        else:
            return False, None
    return True, current


class FieldSpec(_Strict):
    """Where one mapped field comes from, and how its value is read."""

    path: str = ""
    const: float | str | None = None
    expr: str = ""
    unit: str = ""
    map: dict[str, float] = {}
    time: TimeSpec | None = None
    # Compiled once when the config loads, never per record.
    _expression: Expression | None = PrivateAttr(default=None)
    _columns: ColumnExpression | None = PrivateAttr(default=None)
    _reads: list[str] = PrivateAttr(default_factory=list)
    _lookup: dict[str, float] = PrivateAttr(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"path": data}
        if isinstance(data, dict) and isinstance(data.get("time"), str):
            return {**data, "time": {"format": data["time"]}}
        return data

    @model_validator(mode="after")
    def _one_origin(self) -> FieldSpec:
        given = [bool(self.path), self.const is not None, bool(self.expr)]
        if sum(given) != 1:
            raise ValueError("give exactly one of path, const or expr")
        if self.path:
            parts = self.path.removeprefix("$.").split(".")
            if not all(parts):
                raise ValueError(f"path {self.path!r} has an empty part")
        if self.expr:
            self._expression, self._reads = compile_expression(self.expr)
            self._columns = compile_column_expression(self.expr)
        if self.map and self.time is not None:
            raise ValueError("a field is either a time or mapped by values, not both")
        self._lookup = {k.strip().lower(): v for k, v in self.map.items()}
        return self

    @property
    def reads(self) -> list[str]:
        """Field names an expression reads (empty for a path or a constant)."""
        return list(self._reads)

    def finish(self, raw: Any, zone: str) -> tuple[Any, str]:
        """(the field's value from ``raw`` after its map or time, why it has none)."""
        if self.map:
            if raw is None:
                return None, ""
            key = str(raw).strip().lower()
            if key not in self._lookup:
                return None, f"value {raw!r} is not in the field's map"
            return self._lookup[key], ""
        if self.time is not None:
            if raw is None:
                return None, ""
            moment = self.time.parse(raw, zone)
            if moment is None:
                return None, f"{raw!r} is not a time in format {self.time.format!r}"
            return moment.isoformat(), ""
        return raw, ""


@dataclass
class MappedRecord:
    """A record with its mapped fields, and why any field has no value."""

    values: dict[str, Any]
    problems: dict[str, str] = field(default_factory=dict)


@dataclass
class MappedColumns:
    """Mapped fields over many records: field -> its values (a time field as UTC
    timestamps, a mapped or computed one as floats), and field -> why each record's value
    is missing ("" where it is not)."""

    values: dict[str, pd.Series]
    problems: dict[str, pd.Series]


# A record field's values over many records, or None when no record has the field.
Column = Callable[[str], "pd.Series | None"]


class RecordMapping(_Strict):
    """A source's ``options.mapping``: output field name → ``FieldSpec``."""

    fields: dict[str, FieldSpec] = Field(min_length=1)
    # Zone of times without an offset for every field (default: the city's).
    timezone: str = ""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return TimeSpec._known_zone(value)

    @model_validator(mode="after")
    def _known_names(self) -> RecordMapping:
        for name in self.fields:
            if not name.isidentifier():
                raise ValueError(f"fields.{name}: a mapped field's name is a plain identifier")
        return self

    def units(self) -> dict[str, str]:
        """Mapped field → the unit its values are in, for fields that state one."""
        return {name: spec.unit for name, spec in self.fields.items() if spec.unit}

    def ordered(self) -> list[tuple[str, FieldSpec]]:
        """Paths and constants first, then expressions in the order written."""
        return sorted(self.fields.items(), key=lambda item: bool(item[1].expr))

    def apply(
        self, record: Mapping[str, Any], outer: Any = None, timezone: str = "UTC"
    ) -> MappedRecord:
        """``record`` with every mapped field set (None where it could not be mapped).

        Paths and constants are read first, then expressions in the order written, so an
        expression may read a mapped field as well as the record's own. ``outer`` is the
        item as served (for ``$.`` paths); ``timezone`` the city's. Never raises for odd
        values: each field that gets no value has its reason in ``problems``.
        """
        values = dict(record)
        problems: dict[str, str] = {}
        zone = self.timezone or timezone
        for name, spec in self.ordered():
            if spec._expression is not None:
                absent = [n for n in spec._reads if n not in values]
                # A field the record lacks reads as empty (coalesce may stand in for it),
                # as it does over columns where other records have the field.
                seen = {**values, **dict.fromkeys(absent)} if absent else values
                raw: Any = spec._expression(seen)
                if raw is None and absent:
                    values[name] = None
                    problems[name] = f"expression reads {absent[0]!r}, not in the record"
                    continue
                if raw is None:
                    problems[name] = "expression has no value (a field is empty or not a number)"
            elif spec.path:
                found, raw = resolve_path(spec.path, record, outer if outer is not None else record)
                if not found:
                    values[name] = None
                    problems[name] = f"no {spec.path!r} in the record"
                    continue
            else:
                raw = spec.const
            values[name], problem = spec.finish(raw, zone)
            if problem:
                problems[name] = problem
        return MappedRecord(values, problems)

    def apply_columns(self, column: Column, index: pd.Index, timezone: str) -> MappedColumns:
        """``apply`` over many records at once (vectorised).

        ``column(path)`` gives a record field's (or a path's, or a ``$.`` path's) values
        over the records, None when no record has it; ``index`` is the records' index.
        Mapped fields are seen by later expressions and by ``column`` users through the
        returned ``values``.
        """
        zone = self.timezone or timezone
        values: dict[str, pd.Series] = {}
        problems: dict[str, pd.Series] = {}
        floats_cache: dict[str, np.ndarray] = {}

        def floats(name: str) -> np.ndarray:
            if name not in floats_cache:
                found = values.get(name)
                if found is None:
                    found = column(name)
                if found is None:
                    raise KeyError(name)
                floats_cache[name] = numbers(found).to_numpy(dtype="float64")
            return floats_cache[name]

        none = pd.Series("", index=index, dtype="object")
        for name, spec in self.ordered():
            reason = none
            if spec._columns is not None:
                try:
                    result = np.broadcast_to(spec._columns(floats), (len(index),))
                except KeyError as missing:
                    values[name] = pd.Series(np.nan, index=index)
                    problems[name] = pd.Series(
                        f"expression reads {missing.args[0]!r}, not in the record",
                        index=index,
                        dtype="object",
                    )
                    continue
                raw = pd.Series(result, index=index, dtype="float64")
                reason = none.where(
                    raw.notna(), "expression has no value (a field is empty or not a number)"
                )
                # A mapped operand without a value says why (e.g. a value not in its map).
                for read in reversed(spec.reads):
                    inner = problems.get(read)
                    if inner is not None:
                        reason = reason.where((reason == "") | (inner == ""), read + ": " + inner)
            elif spec.path:
                found = column(spec.path)
                if found is None:
                    values[name] = pd.Series(None, index=index, dtype="object")
                    problems[name] = pd.Series(
                        f"no {spec.path!r} in the record", index=index, dtype="object"
                    )
                    continue
                raw = found
            else:
                raw = pd.Series([spec.const] * len(index), index=index, dtype="object")
            values[name], extra = _finish_column(spec, raw, zone)
            floats_cache.pop(name, None)
            problems[name] = reason.where(reason != "", extra)
        return MappedColumns(values, problems)


def _finish_column(spec: FieldSpec, raw: pd.Series, zone: str) -> tuple[pd.Series, pd.Series]:
    """(the values after the field's map or time, why each is missing)."""
    none = pd.Series("", index=raw.index, dtype="object")
    present = raw.notna()
    if spec.map:
        lookup = spec._lookup
        keys = per_value(raw, lambda v: str(v).strip().lower() if v is not None else None)
        mapped = keys.map(lambda k: lookup.get(k, math.nan) if k is not None else math.nan)
        out = mapped.astype("float64")
        missing = present & out.isna()
        reasons = none.copy()
        if missing.any():
            reasons[missing] = raw[missing].map(lambda v: f"value {v!r} is not in the field's map")
        return out, reasons
    if spec.time is not None:
        parsed = spec.time.parse_column(raw, zone)
        missing = present & parsed.isna()
        reasons = none.copy()
        if missing.any():
            fmt = spec.time.format
            reasons[missing] = raw[missing].map(lambda v: f"{v!r} is not a time in format {fmt!r}")
        return parsed, reasons
    return raw, none


def mapping_from_options(options: Mapping[str, Any], file: str, key: str) -> RecordMapping | None:
    """The ``mapping`` table of a source's ``options``, or None when there is none.

    ``file`` and ``key`` (e.g. ``sources.parking.options``) name where it stands in the
    config; raises ``ConfigError`` with the full dotted key and the reason otherwise.
    """
    raw = options.get("mapping")
    if raw is None:
        return None
    try:
        return RecordMapping.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        where = f"{key}.mapping" + (f".{loc}" if loc else "")
        reason = str(first["msg"]).removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            reason = "unknown key (check its spelling)"
        raise ConfigError(file, where, reason) from None
