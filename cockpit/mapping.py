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
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from cockpit.errors import ConfigError

__all__ = [
    "Expression",
    "FieldSpec",
    "MappedRecord",
    "RecordMapping",
    "TimeSpec",
    "compile_expression",
    "mapping_from_options",
    "resolve_path",
]

_FUNCTIONS: Final = frozenset({"min", "max", "coalesce", "if_null"})
_OPERATORS: Final = (ast.Add, ast.Sub, ast.Mult, ast.Div)
_NAMED_FORMATS: Final = frozenset({"iso", "epoch_s", "epoch_ms"})
_HAS_OFFSET: Final = re.compile(r"(Z|[+-]\d{2}:?\d{2})$", re.IGNORECASE)
_MIN_TIME: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_TIME: Final = datetime(2200, 1, 1, tzinfo=UTC)
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


# ------------------------------------------------------------------------------- times


class TimeSpec(_Strict):
    """How a field's value is a time."""

    # "iso", "epoch_s", "epoch_ms" or a strftime format such as "%d/%m/%Y %H:%M".
    format: str = "iso"
    # Hour of day (0-23) a date-only value stands for, in ``timezone``.
    hour: int | None = Field(default=None, ge=0, le=23)
    # Zone of times without an offset (default: the city's).
    timezone: str = ""

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        if value not in _NAMED_FORMATS and "%" not in value:
            raise ValueError(
                f"format {value!r} is neither 'iso', 'epoch_s', 'epoch_ms' nor a strftime "
                "format such as '%Y-%m-%d %H:%M'"
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
        zone = ZoneInfo(self.timezone or timezone)
        try:
            if self.format in ("epoch_s", "epoch_ms"):
                number = _number(value)
                if number is None:
                    return None
                seconds = number / 1000 if self.format == "epoch_ms" else number
                moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
            elif not isinstance(value, str) or not value.strip():
                return None
            elif self.format == "iso":
                text = value.strip()
                moment = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "zZ" else text)
            else:
                moment = datetime.strptime(value.strip(), self.format)
        except (ValueError, OverflowError):
            return None
        if self.hour is not None and moment.tzinfo is None:
            moment = moment.replace(hour=self.hour, minute=0, second=0, microsecond=0)
        if moment.tzinfo is None:
            local = _localise(moment, zone)
            if local is None:
                return None
            moment = local
        moment = moment.astimezone(UTC)
        return moment if _MIN_TIME <= moment <= _MAX_TIME else None


def _localise(naive: datetime, zone: ZoneInfo) -> datetime | None:
    """``naive`` on ``zone``'s clock; None for an hour that does not exist or exists twice."""
    first, second = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
    if first.utcoffset() != second.utcoffset():
        return None  # the hour of a daylight-saving change
    back = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    return first if back == naive else None


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
            compile_expression(self.expr)
        if self.map and self.time is not None:
            raise ValueError("a field is either a time or mapped by values, not both")
        return self

    @property
    def reads(self) -> list[str]:
        """Field names an expression reads (empty for a path or a constant)."""
        return compile_expression(self.expr)[1] if self.expr else []


@dataclass
class MappedRecord:
    """A record with its mapped fields, and why any field has no value."""

    values: dict[str, Any]
    problems: dict[str, str] = field(default_factory=dict)


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
        ordered = sorted(self.fields.items(), key=lambda item: bool(item[1].expr))
        for name, spec in ordered:
            if spec.expr:
                run, _ = compile_expression(spec.expr)
                try:
                    raw: Any = run(values)
                except KeyError as missing:
                    values[name] = None
                    problems[name] = f"expression reads {missing.args[0]!r}, not in the record"
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
            values[name], problem = _finish(spec, raw, zone)
            if problem:
                problems[name] = problem
        return MappedRecord(values, problems)


def _finish(spec: FieldSpec, raw: Any, zone: str) -> tuple[Any, str]:
    if spec.map:
        if raw is None:
            return None, ""
        key = str(raw).strip().lower()
        lookup = {k.strip().lower(): v for k, v in spec.map.items()}
        if key not in lookup:
            return None, f"value {raw!r} is not in the field's map"
        return lookup[key], ""
    if spec.time is not None:
        if raw is None:
            return None, ""
        moment = spec.time.parse(raw, zone)
        if moment is None:
            return None, f"{raw!r} is not a time in format {spec.time.format!r}"
        return moment.isoformat(), ""
    return raw, ""


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
