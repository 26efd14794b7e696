"""Conditions of targeting rules: the field catalogue, the operators and their Polars form.

A condition tests one column of the risk view (one row per goods item, consignment columns
joined on). Which operators make sense depends on the column's *kind*, so the loader checks
every condition against a field catalogue built from the canonical schemas
(:data:`~smartcustoms.model.columns.CONSIGNMENT_SCHEMA`,
:data:`~smartcustoms.model.columns.ITEM_SCHEMA`) plus the risk enrichment columns: a typo in a
column name or ``value = { prefix = "61" }`` on a number is caught when the file is loaded, not
when a night batch silently selects nothing.

Null semantics are deliberately simple: a missing value satisfies no condition except
``is_null = true`` (so ``ne``, ``not_in`` and ``not_in_list`` do not catch nulls either).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

import polars as pl

from smartcustoms.model.columns import CONSIGNMENT_SCHEMA, ITEM_SCHEMA
from smartcustoms.risk._matching import prefix_in
from smartcustoms.risk._rulefile import (
    CODE_BAD_REGEX,
    CODE_INVALID,
    CODE_LABEL_COLUMN,
    CODE_LIST_KIND_MISMATCH,
    CODE_TYPE_MISMATCH,
    CODE_UNKNOWN_FIELD,
    CODE_UNKNOWN_LIST,
    CODE_UNKNOWN_OPERATOR,
    RuleFileReader,
)
from smartcustoms.risk.columns import (
    AEO_STATUS,
    BASE_VALUE,
    DQ_SCORE,
    HS6,
    PERIOD,
    UNIT_VALUE,
    VALUE_PERCENTILE,
    VALUE_RATIO,
    VALUE_REF_LEVEL,
    VALUE_REF_MEDIAN,
    VALUE_REF_N,
    VALUE_Z,
    is_label_column,
)

if TYPE_CHECKING:
    from smartcustoms.risk.watchlists import WatchList

__all__ = [
    "ENRICHMENT_FIELDS",
    "OPERATOR_KINDS",
    "Condition",
    "FieldKind",
    "Operator",
    "field_catalogue",
    "kind_of",
    "parse_conditions",
]


class FieldKind(StrEnum):
    """The kinds of column a condition can test; each admits its own operators."""

    STRING = "string"
    NUMBER = "number"
    DATETIME = "datetime"
    DATE = "date"
    BOOLEAN = "boolean"


def kind_of(dtype: pl.DataType) -> FieldKind | None:
    """The :class:`FieldKind` of a Polars dtype (``None``: not usable in a condition)."""
    if dtype == pl.String:
        return FieldKind.STRING
    if dtype.is_numeric():
        return FieldKind.NUMBER
    if isinstance(dtype, pl.Datetime):
        return FieldKind.DATETIME
    if dtype == pl.Date:
        return FieldKind.DATE
    if dtype == pl.Boolean:
        return FieldKind.BOOLEAN
    return None


ENRICHMENT_FIELDS: Final[Mapping[str, FieldKind]] = {
    HS6: FieldKind.STRING,
    BASE_VALUE: FieldKind.NUMBER,
    DQ_SCORE: FieldKind.NUMBER,
    AEO_STATUS: FieldKind.STRING,
    PERIOD: FieldKind.DATE,
    UNIT_VALUE: FieldKind.NUMBER,
    VALUE_RATIO: FieldKind.NUMBER,
    VALUE_Z: FieldKind.NUMBER,
    VALUE_PERCENTILE: FieldKind.NUMBER,
    VALUE_REF_LEVEL: FieldKind.STRING,
    VALUE_REF_MEDIAN: FieldKind.NUMBER,
    VALUE_REF_N: FieldKind.NUMBER,
}
"""Risk-view columns added to the canonical ones by the risk enrichment stages."""


def field_catalogue(
    extra: Mapping[str, FieldKind | pl.DataType] | None = None,
) -> dict[str, FieldKind]:
    """Every column a rule may test, with its kind.

    Args:
        extra: Further columns the caller's risk view carries (a kind, or a Polars dtype -
            ``view.schema`` works); columns of a dtype no condition can test are left out.

    Returns:
        Column name to kind: canonical consignment and item columns, the risk enrichment
        columns, then ``extra``. Label columns are never included, wherever they come from.
    """
    out: dict[str, FieldKind] = {}
    for schema in (CONSIGNMENT_SCHEMA, ITEM_SCHEMA):
        for name, dtype in schema.items():
            kind = kind_of(dtype)
            if kind is not None:
                out[name] = kind
    out.update(ENRICHMENT_FIELDS)
    for name, declared in (extra or {}).items():
        kind = declared if isinstance(declared, FieldKind) else kind_of(declared)
        if kind is not None:
            out[name] = kind
    return {name: kind for name, kind in out.items() if not is_label_column(name)}


class Operator(StrEnum):
    """Condition operators (``field = { operator = operand }`` in a rule file)."""

    EQ = "eq"
    NE = "ne"
    IN = "in"
    NOT_IN = "not_in"
    PREFIX = "prefix"
    IN_LIST = "in_list"
    NOT_IN_LIST = "not_in_list"
    LT = "lt"
    LE = "le"
    GT = "gt"
    GE = "ge"
    BETWEEN = "between"
    IS_NULL = "is_null"
    MATCHES = "matches"


_ALL: Final = frozenset(FieldKind)
_ORDERED: Final = frozenset({FieldKind.NUMBER, FieldKind.DATE, FieldKind.DATETIME})
_TEXT: Final = frozenset({FieldKind.STRING})
_VALUED: Final = frozenset(_ALL - {FieldKind.BOOLEAN})

OPERATOR_KINDS: Final[Mapping[Operator, frozenset[FieldKind]]] = {
    Operator.EQ: _ALL,
    Operator.NE: _ALL,
    Operator.IN: _VALUED,
    Operator.NOT_IN: _VALUED,
    Operator.PREFIX: _TEXT,
    Operator.IN_LIST: _TEXT,
    Operator.NOT_IN_LIST: _TEXT,
    Operator.LT: _ORDERED,
    Operator.LE: _ORDERED,
    Operator.GT: _ORDERED,
    Operator.GE: _ORDERED,
    Operator.BETWEEN: _ORDERED,
    Operator.IS_NULL: _ALL,
    Operator.MATCHES: _TEXT,
}
"""The column kinds each operator accepts."""

_DTYPES: Final[Mapping[FieldKind, pl.DataType]] = {
    FieldKind.STRING: pl.String(),
    FieldKind.NUMBER: pl.Float64(),
    FieldKind.DATETIME: pl.Datetime("us", "UTC"),
    FieldKind.DATE: pl.Date(),
    FieldKind.BOOLEAN: pl.Boolean(),
}
_EXPECTED: Final[Mapping[FieldKind, str]] = {
    FieldKind.STRING: "a string",
    FieldKind.NUMBER: "a number",
    FieldKind.DATETIME: "a date-time (or a date, read as 00:00 UTC)",
    FieldKind.DATE: "a date",
    FieldKind.BOOLEAN: "true or false",
}


@dataclass(frozen=True, slots=True)
class Condition:
    """One test of one column, e.g. ``hs_code`` ``prefix`` ``("8211", "9304")``.

    Attributes:
        field: The risk-view column tested.
        operator: The :class:`Operator`.
        operand: The normalised operand: a scalar (``eq``, ``lt``, ...), a tuple (``in``,
            ``prefix``, ``between``), a bool (``is_null``), a pattern (``matches``) or a
            watch-list id (``in_list``).
        kind: The column's kind (numbers are compared as ``Float64``).
        source: ``file:line`` of the condition.
    """

    field: str
    operator: Operator
    operand: Any
    kind: FieldKind = FieldKind.STRING
    source: str = ""

    def expression(self, lists: Mapping[str, WatchList], day: pl.Expr) -> pl.Expr:
        """The condition as a Boolean Polars expression over the risk view (never null).

        Args:
            lists: Watch lists by id, for ``in_list`` / ``not_in_list``.
            day: ``Date`` expression each row is judged on (watch-list periods).
        """
        column = pl.col(self.field)
        if self.kind is FieldKind.NUMBER:
            column = column.cast(pl.Float64)
        return self._test(column, lists, day).fill_null(False)

    def _lit(self, value: Any) -> pl.Expr:
        return pl.lit(value, dtype=_DTYPES[self.kind])

    def _test(self, column: pl.Expr, lists: Mapping[str, WatchList], day: pl.Expr) -> pl.Expr:
        op, value = self.operator, self.operand
        if op is Operator.IS_NULL:
            return column.is_null() if value else column.is_not_null()
        if op in (Operator.IN, Operator.NOT_IN):
            found = column.is_in(pl.Series(list(value), dtype=_DTYPES[self.kind]).implode())
            return found if op is Operator.IN else ~found
        if op is Operator.PREFIX:
            return prefix_in(column, value)
        if op is Operator.MATCHES:
            return column.str.contains(value)
        if op in (Operator.IN_LIST, Operator.NOT_IN_LIST):
            listed = lists[value].contains(column, day)
            return listed if op is Operator.IN_LIST else column.is_not_null() & ~listed
        if op is Operator.BETWEEN:
            return column.is_between(self._lit(value[0]), self._lit(value[1]), closed="both")
        compare = {
            Operator.EQ: column.eq,
            Operator.NE: column.ne,
            Operator.LT: column.lt,
            Operator.LE: column.le,
            Operator.GT: column.gt,
            Operator.GE: column.ge,
        }[op]
        return compare(self._lit(value))


# --- parsing -------------------------------------------------------------------------------


def parse_conditions(
    reader: RuleFileReader,
    raw: Any,
    steps: Sequence[tuple[str, int | None]],
    catalogue: Mapping[str, FieldKind],
    lists: Mapping[str, WatchList],
) -> tuple[Condition, ...]:
    """Parse one group of conditions (``field = { op = operand, ... }``), ANDed together.

    A value that is not a table is shorthand: a list means ``in``, anything else ``eq``.
    Every problem is recorded on ``reader``; the conditions that parsed are returned.
    """
    where = list(steps)
    if not isinstance(raw, dict):
        reader.add(CODE_INVALID, reader.locate(where), "conditions must be a table of fields")
        return ()
    out: list[Condition] = []
    for field, spec in raw.items():
        line = reader.locate(where, field)
        if is_label_column(field):
            reader.add(
                CODE_LABEL_COLUMN,
                line,
                f"{field!r} carries control outcomes; rules must never read labels",
            )
            continue
        kind = catalogue.get(field)
        if kind is None:
            hint = difflib.get_close_matches(field, list(catalogue), n=1)
            reader.add(
                CODE_UNKNOWN_FIELD,
                line,
                f"unknown field {field!r}" + (f"; did you mean {hint[0]!r}?" if hint else ""),
            )
            continue
        if isinstance(spec, dict):
            if not spec:
                reader.add(CODE_INVALID, line, f"{field}: the table of operators is empty")
            pairs = list(spec.items())
        else:
            pairs = [(Operator.IN.value if isinstance(spec, list) else Operator.EQ.value, spec)]
        for name, operand in pairs:
            parsed = _condition(reader, line, field, kind, name, operand, lists)
            if parsed is not None:
                out.append(parsed)
    return tuple(out)


def _condition(
    reader: RuleFileReader,
    line: int,
    field: str,
    kind: FieldKind,
    name: str,
    operand: Any,
    lists: Mapping[str, WatchList],
) -> Condition | None:
    try:
        op = Operator(name)
    except ValueError:
        hint = difflib.get_close_matches(name, list(Operator), n=1)
        reader.add(
            CODE_UNKNOWN_OPERATOR,
            line,
            f"{field}: unknown operator {name!r}"
            + (
                f"; did you mean {hint[0]!r}?"
                if hint
                else f"; expected one of {', '.join(Operator)}"
            ),
        )
        return None
    if kind not in OPERATOR_KINDS[op]:
        accepted = ", ".join(sorted(OPERATOR_KINDS[op]))
        reader.add(
            CODE_TYPE_MISMATCH,
            line,
            f"{field} is a {kind} field; {op} applies to {accepted} fields",
        )
        return None
    value = _operand(reader, line, field, kind, op, operand, lists)
    if value is None:
        return None
    return Condition(field, op, value, kind, reader.at(line))


def _operand(
    reader: RuleFileReader,
    line: int,
    field: str,
    kind: FieldKind,
    op: Operator,
    raw: Any,
    lists: Mapping[str, WatchList],
) -> Any:
    """The normalised operand, or ``None`` after recording why it is unusable."""

    def mismatch(expected: str) -> None:
        reader.add(CODE_TYPE_MISMATCH, line, f"{field} {op}: expected {expected}, got {raw!r}")

    if op is Operator.IS_NULL:
        if not isinstance(raw, bool):
            mismatch("true or false")
            return None
        return raw
    if op in (Operator.MATCHES, Operator.IN_LIST, Operator.NOT_IN_LIST):
        if not isinstance(raw, str) or not raw:
            mismatch("a non-empty string")
            return None
        if op is Operator.MATCHES:
            return _pattern(reader, line, field, raw)
        return _list_name(reader, line, field, raw, lists)
    if op is Operator.PREFIX:
        values = [raw] if isinstance(raw, str) else raw
        if not isinstance(values, list) or not values:
            mismatch("a string or a non-empty list of strings")
            return None
        if not all(isinstance(v, str) and v for v in values):
            mismatch("non-empty strings")
            return None
        return tuple(dict.fromkeys(values))
    if op in (Operator.IN, Operator.NOT_IN, Operator.BETWEEN):
        if not isinstance(raw, list) or not raw:
            reader.add(CODE_INVALID, line, f"{field} {op}: expected a non-empty list, got {raw!r}")
            return None
        items = [_scalar(kind, v) for v in raw]
        if any(v is None for v in items):
            mismatch(f"a list of {_EXPECTED[kind]} values")
            return None
        if op is not Operator.BETWEEN:
            return tuple(dict.fromkeys(items))
        if len(items) != 2:
            reader.add(CODE_INVALID, line, f"{field} between: expected [low, high], got {raw!r}")
            return None
        if items[0] > items[1]:
            reader.add(CODE_INVALID, line, f"{field} between: {items[0]} is above {items[1]}")
            return None
        return tuple(items)
    value = _scalar(kind, raw)
    if value is None:
        mismatch(_EXPECTED[kind])
    return value


def _scalar(kind: FieldKind, raw: Any) -> Any:
    """``raw`` as a value of ``kind`` (``None`` when it is not one)."""
    if kind is FieldKind.STRING:
        return raw if isinstance(raw, str) else None
    if kind is FieldKind.BOOLEAN:
        return raw if isinstance(raw, bool) else None
    if kind is FieldKind.NUMBER:
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            return None
        return float(raw) if math.isfinite(raw) else None
    if kind is FieldKind.DATE:
        return raw if isinstance(raw, date) and not isinstance(raw, datetime) else None
    if isinstance(raw, datetime):
        return raw.astimezone(UTC) if raw.tzinfo is not None else raw.replace(tzinfo=UTC)
    if isinstance(raw, date):
        return datetime.combine(raw, time(), UTC)
    return None


def _pattern(reader: RuleFileReader, line: int, field: str, pattern: str) -> str | None:
    # Validated by the engine that will run it: Polars' regex dialect has no look-around
    # or back-references, which Python's re would accept.
    try:
        pl.select(pl.lit("", dtype=pl.String).str.contains(pattern))
    except pl.exceptions.PolarsError as exc:
        reason = str(exc).split("\n\nThis error occurred", 1)[0].strip()
        reader.add(CODE_BAD_REGEX, line, f"{field} matches: not a valid pattern: {reason}")
        return None
    return pattern


def _list_name(
    reader: RuleFileReader, line: int, field: str, name: str, lists: Mapping[str, WatchList]
) -> str | None:
    found = lists.get(name)
    if found is None:
        hint = difflib.get_close_matches(name, list(lists), n=1)
        reader.add(
            CODE_UNKNOWN_LIST,
            line,
            f"{field}: unknown watch list {name!r} (not loaded, or its definition has errors)"
            + (f"; did you mean {hint[0]!r}?" if hint else ""),
        )
        return None
    if not found.kind.fits(field):
        reader.warn(
            CODE_LIST_KIND_MISMATCH,
            line,
            f"{field}: watch list {name!r} lists {found.kind} values, not {field} values",
        )
    return name
