"""Row-wise targeting rules for one filing: AEO status, risk view, value controls, rule hits.

Mirrors, for the consignments of ONE filing given as plain dicts (rows of the accepted
consignments, goods items and quality frames of :meth:`Clearance.prepare
<smartcustoms.clearance.runner.Clearance.prepare>`), the first half of the batch decision
``Clearance._decide``:

1. :func:`~smartcustoms.aeo.registry.with_aeo_status` (when an operator registry is given);
2. :func:`~smartcustoms.risk.view.build_risk_view` (join, ``hs6``, ``period``,
   ``base_value`` from the dated exchange rates);
3. :meth:`RiskEngine.assess <smartcustoms.risk.engine.RiskEngine.assess>` up to the model:
   :func:`~smartcustoms.risk.value_controls.with_value_controls` (or null value columns),
   the per-consignment summary, :meth:`RuleSet.apply <smartcustoms.risk.rules.RuleSet.apply>`
   and the ``rule_score`` join back onto the view.

Everything Polars-shaped (rate tables, the value reference, watch lists, rule conditions)
is compiled into dicts and closures once, in :class:`SingleRules`; :meth:`SingleRules.evaluate`
makes no Polars call.

It returns ``None`` (the caller clears the filing through the batch path) for:

* a ``matches`` condition whose pattern is outside the translated regex core
  (:mod:`._rust_regex`), or a text tested by one that is not tab / newline / printable
  ASCII;
* a rule referring to a watch list the ruleset lacks, or a field the view lacks;
* values of an unexpected type for their column, NaN floats, naive date-times;
* a consignment without ``filed_at`` (lane selection downstream rejects a null period);
* duplicate consignment ids, duplicate or missing item numbers, duplicate quality rows,
  rows whose keys differ from the first row's;
* a value-reference row that is ambiguous (duplicate key) or not well formed (non-finite
  median, MAD or grid, unsorted grid), when an item falls on it; an exchange rate table
  with two rates for one currency on one day, when a filing uses that currency.

Rule weights are summed left to right in rule order, as the batch's ``_summarise`` does with
a running sum (it used Polars' grouped ``sum``, whose compensated window carries state from
the groups before, so a consignment's score could change in the last bit with its
neighbours in a batch).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import pairwise
from typing import Any, Final

import numpy as np

from smartcustoms.aeo import OperatorRegistry
from smartcustoms.aeo.registry import DEFAULT_OPERATOR_COLUMNS, CertificateStatus
from smartcustoms.clearance.single._rust_regex import text_ok, translate
from smartcustoms.model import columns as c
from smartcustoms.risk._conditions import Condition, FieldKind, Operator
from smartcustoms.risk._ruleset import LANE_ORDER, Rule, RuleSet
from smartcustoms.risk.columns import (
    AEO_STATUS,
    BASE_VALUE,
    DQ_SCORE,
    FORCED_LANE,
    HS6,
    PERIOD,
    RULE_HITS,
    RULE_SCORE,
    UNIT_VALUE,
    VALUE_PERCENTILE,
    VALUE_RATIO,
    VALUE_REF_LEVEL,
    VALUE_REF_MEDIAN,
    VALUE_REF_N,
    VALUE_Z,
    AeoStatus,
)
from smartcustoms.risk.engine import RiskEngine
from smartcustoms.risk.value_controls import (
    _MAD_TO_SD,
    _MIN_SCALE,
    REF_HS,
    REF_LEVEL,
    REF_LOG_MAD,
    REF_LOG_MEDIAN,
    REF_N,
    REF_ORIGIN,
    REF_QUANTILES,
    VALUE_Z_CAP,
    ValueReference,
    ValueRefLevel,
)
from smartcustoms.risk.watchlists import ListKind, WatchList
from smartcustoms.tariff import ExchangeRates

__all__ = [
    "CompiledCondition",
    "Decline",
    "SingleRuleResult",
    "SingleRules",
    "ValueControls",
    "compile_condition",
]

Row = dict[str, Any]
CompiledCondition = Callable[[Row, date], bool]
"""A condition as a function of one view row and its filing day (raises :class:`Decline`)."""

_NO_REFERENCE_COLUMNS: Final = (
    UNIT_VALUE,
    VALUE_REF_MEDIAN,
    VALUE_PERCENTILE,
    VALUE_Z,
    VALUE_RATIO,
    VALUE_REF_LEVEL,
    VALUE_REF_N,
)
_AEO_RANK: Final = {0: AeoStatus.NATIONAL.value, 1: AeoStatus.MRA.value}


class Decline(Exception):  # noqa: N818 - a signal, not an error
    """The fast path cannot give the batch result for this input (the caller falls back)."""


@dataclass(frozen=True)
class SingleRuleResult:
    """What the batch computes for one filing, as rows.

    Attributes:
        view: The risk view after value controls and the ``rule_score`` join, one dict per
            goods item in ``consignment_id`` / ``item_no`` order.
        hits: The rule hits (``RuleHits.hits`` rows; empty without rules).
        consignments: Per consignment (sorted by id): ``consignment_id``,
            ``office_of_arrival``, ``period``, ``aeo_status``, ``value_z``, ``rule_hits``,
            ``rule_score``, ``forced_lane``.
    """

    view: list[Row]
    hits: list[Row]
    consignments: list[Row]


# --- values ------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    """A numeric column value as Polars' ``cast(Float64)`` gives it."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise Decline("not a number")
    out = float(value)
    if math.isnan(out):
        raise Decline("NaN")
    return out


def _string(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise Decline("not a string")


def _instant(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise Decline("not an aware date-time")
    return value


def _day_of(value: Any) -> date | None:
    """The UTC date of a ``filed_at`` value (``dt.date()``)."""
    instant = _instant(value)
    return None if instant is None else instant.astimezone(UTC).date()


def _typed(kind: FieldKind, value: Any) -> Any:
    """``value`` checked against the column kind (numbers as floats)."""
    if value is None:
        return None
    if kind is FieldKind.NUMBER:
        return _number(value)
    if kind is FieldKind.STRING:
        return _string(value)
    if kind is FieldKind.DATETIME:
        return _instant(value)
    if kind is FieldKind.DATE:
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        raise Decline("not a date")
    if isinstance(value, bool):
        return value
    raise Decline("not a boolean")


# --- watch lists and conditions -----------------------------------------------------------


@dataclass(frozen=True)
class _CompiledList:
    """A watch list as (start, end, values) periods; ``hs`` lists match by prefix."""

    periods: tuple[tuple[date, date | None, frozenset[str], tuple[int, ...]], ...]
    by_prefix: bool

    @classmethod
    def of(cls, watch: WatchList) -> _CompiledList:
        grouped: dict[tuple[date, date | None], set[str]] = {}
        for entry in watch.entries:
            start, end = watch.period_of(entry)
            if end is None or start < end:
                grouped.setdefault((start, end), set()).add(entry.value)
        periods = tuple(
            (start, end, frozenset(values), tuple(sorted({len(v) for v in values})))
            for (start, end), values in grouped.items()
        )
        return cls(periods, watch.kind is ListKind.HS)

    def contains(self, value: str, day: date) -> bool:
        for start, end, values, lengths in self.periods:
            if day < start or (end is not None and day >= end):
                continue
            if self.by_prefix:
                if any(value[:n] in values for n in lengths):
                    return True
            elif value in values:
                return True
        return False


def _prefix_test(prefixes: Sequence[str]) -> Callable[[str], bool]:
    values = frozenset(prefixes)
    lengths = tuple(sorted({len(p) for p in values}))
    return lambda text: any(text[:n] in values for n in lengths)


def _regex_test(pattern: str) -> Callable[[str], bool] | None:
    compiled = translate(pattern)
    if compiled is None:
        return None
    search = compiled.search

    def test(text: str) -> bool:
        if not text_ok(text):
            raise Decline("text outside the regex alphabet")
        return search(text) is not None

    return test


def compile_condition(
    condition: Condition, lists: Mapping[str, WatchList]
) -> CompiledCondition | None:
    """The row-wise form of ``condition.expression`` (``None``: not ported).

    The returned function takes a view row and the filing day and returns what the Polars
    expression gives for that row (never null); it raises :class:`Decline` for a value it
    cannot judge exactly.
    """
    field, op, operand, kind = (
        condition.field,
        condition.operator,
        condition.operand,
        condition.kind,
    )

    def value_of(row: Row) -> Any:
        return _typed(kind, row[field])

    if op is Operator.IS_NULL:
        want_null = bool(operand)
        return lambda row, day: (value_of(row) is None) is want_null
    test = _value_test(op, operand, kind, lists)
    if test is None:
        return None
    if op is Operator.NOT_IN_LIST:
        return lambda row, day: (v := value_of(row)) is not None and not test(v, day)

    def run(row: Row, day: date) -> bool:
        value = value_of(row)
        return value is not None and test(value, day)

    return run


def _value_test(
    op: Operator, operand: Any, kind: FieldKind, lists: Mapping[str, WatchList]
) -> Callable[[Any, date], bool] | None:
    """A test of a non-null value (``None``: not ported)."""
    if op in (Operator.IN_LIST, Operator.NOT_IN_LIST):
        watch = lists.get(operand)
        if watch is None or kind is not FieldKind.STRING:
            return None
        compiled = _CompiledList.of(watch)
        return compiled.contains
    if op is Operator.PREFIX:
        prefix = _prefix_test(operand)
        return lambda v, day: prefix(v)
    if op is Operator.MATCHES:
        regex = _regex_test(operand)
        return None if regex is None else (lambda v, day: regex(v))
    literal = _literal(kind, operand)
    if literal is _UNPORTED:
        return None
    if op in (Operator.IN, Operator.NOT_IN):
        values = frozenset(literal)
        if op is Operator.IN:
            return lambda v, day: v in values
        return lambda v, day: v not in values
    if op is Operator.BETWEEN:
        low, high = literal
        return lambda v, day: low <= v <= high
    compare: dict[Operator, Callable[[Any, Any], bool]] = {
        Operator.EQ: lambda v, x: v == x,
        Operator.NE: lambda v, x: v != x,
        Operator.LT: lambda v, x: v < x,
        Operator.LE: lambda v, x: v <= x,
        Operator.GT: lambda v, x: v > x,
        Operator.GE: lambda v, x: v >= x,
    }
    fn = compare.get(op)
    if fn is None:
        return None
    return lambda v, day: fn(v, literal)


_UNPORTED: Final = object()


def _literal(kind: FieldKind, operand: Any) -> Any:
    """The operand as the values are compared (numbers as floats)."""
    try:
        if isinstance(operand, tuple):
            return tuple(_literal_one(kind, v) for v in operand)
        return _literal_one(kind, operand)
    except Decline:
        return _UNPORTED


def _literal_one(kind: FieldKind, value: Any) -> Any:
    out = _typed(kind, value)
    if out is None:
        raise Decline("null operand")
    return out


@dataclass(frozen=True)
class _CompiledRule:
    rule: Rule
    when: tuple[CompiledCondition, ...]
    any_of: tuple[tuple[CompiledCondition, ...], ...]
    unless: tuple[tuple[CompiledCondition, ...], ...]
    rank: int | None

    def in_force(self, day: date) -> bool:
        return self.rule.is_in_force(day)

    def hits(self, row: Row, day: date) -> bool:
        # ``all``/``any`` over generators, unrolled: the same order and short cuts (a
        # condition that raises Decline raises at the same point), a third of the cost
        for f in self.when:
            if not f(row, day):
                return False
        if self.any_of:
            for group in self.any_of:
                for f in group:
                    if not f(row, day):
                        break
                else:
                    break  # this group holds
            else:
                return False
        for group in self.unless:
            for f in group:
                if not f(row, day):
                    break
            else:
                return False  # an exception holds
        return True


def _compile_rule(rule: Rule, lists: Mapping[str, WatchList]) -> _CompiledRule | None:
    def group(conditions: Sequence[Condition]) -> tuple[CompiledCondition, ...] | None:
        out = [compile_condition(cond, lists) for cond in conditions]
        return None if any(f is None for f in out) else tuple(f for f in out if f is not None)

    when = group(rule.when)
    any_of = [group(g) for g in rule.any_of]
    unless = [group(g) for g in rule.unless]
    if when is None or any(g is None for g in (*any_of, *unless)):
        return None
    return _CompiledRule(
        rule,
        when,
        tuple(g for g in any_of if g is not None),
        tuple(g for g in unless if g is not None),
        LANE_ORDER.index(rule.lane) if rule.lane else None,
    )


# --- reference data ------------------------------------------------------------------------


class _Rates:
    """Exchange-rate lookups as ``rates.factors`` does them (backward as-of per currency)."""

    def __init__(self, rates: ExchangeRates, currency: str) -> None:
        self.to = currency
        scaled = rates._scaled
        table: dict[str, list[tuple[date, int]]] = {}
        for cur, valid_from, rate in scaled.iter_rows():
            table.setdefault(cur, []).append((valid_from, int(rate)))
        self.days: dict[str, list[date]] = {}
        self.rates: dict[str, list[int]] = {}
        self.ambiguous: set[str] = set()
        for cur, rows in table.items():
            rows.sort(key=lambda r: r[0])
            days = [d for d, _ in rows]
            if len(set(days)) != len(days):
                self.ambiguous.add(cur)
            self.days[cur] = days
            self.rates[cur] = [r for _, r in rows]

    def _rate(self, currency: str, day: date) -> int | None:
        if currency in self.ambiguous:
            raise Decline("two rates on one day")
        days = self.days.get(currency)
        if not days:
            return None
        at = bisect.bisect_right(days, day)
        return self.rates[currency][at - 1] if at else None

    def factor(self, currency: str | None, day: date | None) -> float | None:
        """``_num / _den`` as Float64, or ``None`` when a rate is missing."""
        if currency is None or day is None:
            return None
        if currency == self.to:
            return 1.0
        num = self._rate(self.to, day)
        den = self._rate(currency, day)
        if num is None or den is None:
            return None
        return float(num) / float(den)


@dataclass(frozen=True)
class _RefRow:
    level: str | None
    n: int | None
    median: float | None
    log_median: float
    scale: float
    grid: tuple[float, ...]
    ok: bool


class _Reference:
    """The value reference as dict lookups, with per-row precomputed median and scale."""

    def __init__(self, reference: ValueReference) -> None:
        table = reference.table
        medians = table[REF_LOG_MEDIAN].exp().to_list()
        scales = np.maximum(_MAD_TO_SD * table[REF_LOG_MAD].to_numpy(), _MIN_SCALE).tolist()
        self.rows: list[_RefRow] = []
        self.index: dict[str, dict[tuple[str | None, ...], int | None]] = {
            lv.value: {} for lv in ValueRefLevel
        }
        width = reference.n_quantiles
        for k, row in enumerate(table.iter_rows(named=True)):
            grid = row[REF_QUANTILES]
            ok = (
                grid is not None
                and len(grid) == width
                and width >= 2
                and all(g is not None and math.isfinite(g) for g in grid)
                and all(a <= b for a, b in pairwise(grid))
                and row[REF_LOG_MEDIAN] is not None
                and math.isfinite(row[REF_LOG_MEDIAN])
                and medians[k] is not None
                and 0.0 < medians[k] < math.inf
                and math.isfinite(scales[k])
            )
            self.rows.append(
                _RefRow(
                    row[REF_LEVEL],
                    row[REF_N],
                    medians[k],
                    row[REF_LOG_MEDIAN] if ok else math.nan,
                    scales[k] if ok else math.nan,
                    tuple(grid) if ok else (),
                    ok,
                )
            )
            level = row[REF_LEVEL]
            if level not in self.index:
                continue
            key = (
                (row[REF_HS], row[REF_ORIGIN])
                if level == ValueRefLevel.HS6_ORIGIN
                else (row[REF_HS],)
            )
            if any(part is None for part in key):
                continue  # null keys never join
            found = self.index[level]
            found[key] = None if key in found else k  # None: a duplicate key
        self.step = 100.0 / (width - 1) if width >= 2 else math.nan

    def lookup(self, hs6: str | None, origin: str | None) -> int | None:
        hs4 = hs6[:4] if hs6 is not None and len(hs6) >= 4 else None
        keys = (
            (ValueRefLevel.HS6_ORIGIN.value, (hs6, origin)),
            (ValueRefLevel.HS6.value, (hs6,)),
            (ValueRefLevel.HS4.value, (hs4,)),
        )
        for level, key in keys:
            if any(part is None for part in key):
                continue
            table = self.index[level]
            if key in table:
                found = table[key]
                if found is None:
                    raise Decline("duplicate reference key")
                return found
        return None

    def percentile(self, grid: tuple[float, ...], x: float) -> float:
        """``_percentiles`` for one value on a sorted grid."""
        step = self.step
        below = bisect.bisect_left(grid, x)
        upto = bisect.bisect_right(grid, x)
        last = len(grid) - 1
        if upto == below and below == 0:
            return 0.0
        if upto == below and below > last:
            return 100.0
        if upto > below:
            pct = (below + upto - 1) / 2.0 * step
        else:
            k = min(max(below, 1), last)
            left = grid[k - 1]
            span = grid[k] - left
            pct = (k - 1 + ((x - left) / span if span > 0 else 0.0)) * step
        return min(max(pct, 0.0), 100.0)


class _Aeo:
    """``with_aeo_status`` as dict lookups: certificates by operator, partners by type."""

    def __init__(self, registry: OperatorRegistry, home_country: str | Collection[str]) -> None:
        self.homes = frozenset([home_country] if isinstance(home_country, str) else home_country)
        self.certs: dict[str, list[tuple[str, str, date, date | None, bool, date | None]]] = {}
        for op in registry.operators:
            for cert in op.certificates:
                self.certs.setdefault(op.id, []).append(
                    (
                        cert.authority,
                        cert.type.value,
                        cert.valid_from,
                        cert.valid_to,
                        cert.status is CertificateStatus.ACTIVE,
                        cert.status_since,
                    )
                )
        self.partners: dict[tuple[str, str], list[tuple[date, date | None]]] = {}
        for partner in registry.mra_partners:
            for issuer in partner.issuers:
                for kind in partner.scope:
                    self.partners.setdefault((issuer, kind.value), []).append(
                        (partner.effective_from, partner.effective_to)
                    )

    def status(self, row: Row) -> str | None:
        day = _day_of(row[c.FILED_AT])
        if day is None:
            return None
        best: int | None = None
        for column in DEFAULT_OPERATOR_COLUMNS:
            operator = _string(row[column])
            if operator is None:
                continue
            for authority, kind, start, end, active, since in self.certs.get(operator, ()):
                if start > day or (end is not None and day > end):
                    continue
                if not active and not (since is not None and day < since):
                    continue
                if authority in self.homes:
                    return _AEO_RANK[0]
                for p_from, p_to in self.partners.get((authority, kind), ()):
                    if p_from <= day and (p_to is None or day <= p_to):
                        best = 1
        return None if best is None else _AEO_RANK[best]


# --- the stage -----------------------------------------------------------------------------


def _apply_value_controls(view: list[Row], reference: _Reference | None) -> None:
    """``with_value_controls(view, reference)`` row-wise, in place (null columns without one)."""
    if reference is None:
        for row in view:
            for name in _NO_REFERENCE_COLUMNS:
                row[name] = None
        return
    pending: list[tuple[Row, _RefRow, float]] = []
    for row in view:
        mass = _number(row[c.NET_MASS_KG])
        base = _number(row[BASE_VALUE])
        unit = base / mass if mass is not None and base is not None and mass > 0 else None
        origin = _string(row[c.ORIGIN_COUNTRY])
        at = reference.lookup(_string(row[HS6]), origin)
        ref = reference.rows[at] if at is not None else None
        row[UNIT_VALUE] = unit
        row[VALUE_REF_MEDIAN] = ref.median if ref else None
        row[VALUE_REF_N] = ref.n if ref else None
        row[VALUE_REF_LEVEL] = ref.level if ref else None
        row[VALUE_RATIO] = unit / ref.median if unit is not None and ref and ref.median else None
        row[VALUE_Z] = None
        row[VALUE_PERCENTILE] = None
        if ref is not None and unit is not None and math.isfinite(unit) and unit >= 0:
            if not ref.ok:
                raise Decline("malformed reference row")
            pending.append((row, ref, unit))
    if not pending:
        return
    # numpy's log, not math.log: its SIMD loop differs from libm in the last bit
    # for some inputs, and the batch uses it
    units = np.array([u for _, _, u in pending], dtype=np.float64)
    if units.all():
        logs = np.log(units).tolist()
    else:
        with np.errstate(divide="ignore"):
            logs = np.log(units).tolist()
    for (row, ref, _), log_x in zip(pending, logs, strict=True):
        row[VALUE_PERCENTILE] = reference.percentile(ref.grid, log_x)
        z = (log_x - ref.log_median) / ref.scale
        row[VALUE_Z] = min(max(z, -VALUE_Z_CAP), VALUE_Z_CAP)


class ValueControls:
    """``with_value_controls`` with one reference, row-wise (the pipeline's own, for scoring).

    Args:
        reference: The value reference.
    """

    def __init__(self, reference: ValueReference) -> None:
        self._reference = _Reference(reference)

    def apply(self, view: list[Row]) -> None:
        """Set the value-control columns of every row of ``view``, in place.

        Raises:
            Decline: A reference row is malformed.
        """
        _apply_value_controls(view, self._reference)


class SingleRules:
    """Row-wise AEO status, risk view, value controls and targeting rules for one filing.

    Args:
        engine: The risk engine of the clearance runner (its ``rules`` and ``reference``).
        operators: Operator registry for AEO status (``None``: nobody is trusted).
        home_country: Authority whose AEO certificates count as national.
        rates: Exchange rates of the clearance runner.
        currency: The regime currency (comparison currency of ``base_value``).
    """

    def __init__(
        self,
        engine: RiskEngine,
        operators: OperatorRegistry | None,
        home_country: str,
        rates: ExchangeRates,
        currency: str,
    ) -> None:
        self.rules: RuleSet | None = engine.rules
        self._reference = _Reference(engine.reference) if engine.reference is not None else None
        self._aeo = _Aeo(operators, home_country) if operators is not None else None
        self._rates = _Rates(rates, currency)
        self._compiled: list[_CompiledRule] | None = []
        self._fields: frozenset[str] = frozenset()
        if self.rules is not None:
            compiled = [_compile_rule(rule, self.rules.watchlists) for rule in self.rules.rules]
            if all(r is not None for r in compiled):
                self._compiled = [r for r in compiled if r is not None]
            else:
                self._compiled = None  # some rule is not ported: every filing declines
            self._fields = self.rules.required_columns()
        self._by_day: dict[date, list[tuple[int, _CompiledRule]]] = {}

    def _in_force(self, day: date) -> list[tuple[int, _CompiledRule]]:
        """The compiled rules in force on ``day``, with their index (kept per day)."""
        found = self._by_day.get(day)
        if found is None:
            if len(self._by_day) >= 64:  # filings span a few days: keep the memory small
                self._by_day.clear()
            found = [(i, r) for i, r in enumerate(self._compiled or ()) if r.in_force(day)]
            self._by_day[day] = found
        return found

    @property
    def ported(self) -> bool:
        """Whether every rule of the ruleset was compiled (else :meth:`evaluate` declines)."""
        return self._compiled is not None

    def evaluate(
        self,
        consignments: list[dict[str, Any]],
        items: list[dict[str, Any]],
        quality: list[dict[str, Any]],
    ) -> SingleRuleResult | None:
        """The batch's view, hits and consignment summary for one filing, or ``None``.

        Args:
            consignments: The filing's accepted consignment rows (``prepare`` frame rows).
            items: Their goods-item rows.
            quality: Their ``score_quality`` rows.
        """
        if self._compiled is None:
            return None
        try:
            return self._evaluate(consignments, items, quality)
        except Decline:
            return None
        except Exception:  # never raise on bad input: the batch path decides
            return None

    # ------------------------------------------------------------------ steps

    def _evaluate(
        self, consignments: list[Row], items: list[Row], quality: list[Row]
    ) -> SingleRuleResult:
        view = self._view(consignments, items, quality)
        if not view:
            raise Decline("no goods item joins a consignment")
        self._value_controls(view)
        if not view[0].keys() >= self._fields:  # (a frozenset minus keys is a set)
            raise Decline("the view lacks a column the rules read")
        summary = self._summary(view)
        hits = self._apply(view, summary)
        scores = {row[c.CONSIGNMENT_ID]: row[RULE_SCORE] for row in summary}
        for row in view:
            row[RULE_SCORE] = scores[row[c.CONSIGNMENT_ID]]
        return SingleRuleResult(view=view, hits=hits, consignments=summary)

    def _view(self, consignments: list[Row], items: list[Row], quality: list[Row]) -> list[Row]:
        """``build_risk_view`` (with AEO status) for the filing's rows."""
        _same_keys(consignments)
        _same_keys(items)
        _same_keys(quality)
        if not consignments or not items:
            return []
        cons_keys = [k for k in consignments[0] if not k.startswith("_")]
        item_keys = [k for k in items[0] if k == c.CONSIGNMENT_ID or k not in cons_keys]
        by_id: dict[str, Row] = {}
        for cons in consignments:
            cid = _string(cons[c.CONSIGNMENT_ID])
            if cid is None:
                continue  # null keys never join
            if cid in by_id:
                raise Decline("duplicate consignment id")
            by_id[cid] = cons
        scores: dict[str, Any] = {}
        for row in quality:
            cid = row[c.CONSIGNMENT_ID]
            if cid in scores:
                raise Decline("duplicate quality row")
            scores[cid] = row[DQ_SCORE]
        statuses = {cid: self._aeo.status(cons) for cid, cons in by_id.items()} if self._aeo else {}
        view: list[Row] = []
        seen: set[tuple[str, int]] = set()
        for item in items:
            cid = item[c.CONSIGNMENT_ID]
            owner = by_id.get(cid) if isinstance(cid, str) else None
            if owner is None:
                continue
            item_no = item[c.ITEM_NO]
            if not isinstance(item_no, int) or isinstance(item_no, bool) or (cid, item_no) in seen:
                raise Decline("missing or repeated item number")
            seen.add((cid, item_no))
            row = {k: item[k] for k in item_keys}
            for k in cons_keys:
                if k != c.CONSIGNMENT_ID:
                    row[k] = owner[k]
            row[DQ_SCORE] = scores.get(cid)
            row[AEO_STATUS] = statuses.get(cid)
            hs_code = _string(row[c.HS_CODE])
            row[HS6] = None if hs_code is None else hs_code[:6]
            day = _day_of(row[c.FILED_AT])
            if day is None:
                raise Decline("no filing day: lane selection refuses a null period")
            row[PERIOD] = day
            value = _number(row[c.VALUE])
            factor = self._rates.factor(_string(row[c.CURRENCY]), day)
            row[BASE_VALUE] = None if value is None or factor is None else value * factor
            view.append(row)
        view.sort(key=lambda r: (r[c.CONSIGNMENT_ID], r[c.ITEM_NO]))
        return view

    def _value_controls(self, view: list[Row]) -> None:
        """``with_value_controls`` (or the null columns without a reference), in place."""
        _apply_value_controls(view, self._reference)

    def _summary(self, view: list[Row]) -> list[Row]:
        """The per-consignment frame of ``assess`` before the rules join."""
        out: dict[str, Row] = {}
        for row in view:
            cid = row[c.CONSIGNMENT_ID]
            found = out.get(cid)
            z = row[VALUE_Z]
            if found is None:
                out[cid] = {
                    c.CONSIGNMENT_ID: cid,
                    c.OFFICE_OF_ARRIVAL: row[c.OFFICE_OF_ARRIVAL],
                    PERIOD: row[PERIOD],
                    AEO_STATUS: row[AEO_STATUS],
                    VALUE_Z: z,
                    RULE_HITS: [],
                    RULE_SCORE: 0.0,
                    FORCED_LANE: None,
                }
            elif z is not None and (found[VALUE_Z] is None or z < found[VALUE_Z]):
                found[VALUE_Z] = z
        return [out[cid] for cid in sorted(out)]

    def _apply(self, view: list[Row], summary: list[Row]) -> list[Row]:
        """``RuleSet.apply``: the hits rows; fills the summary's rule columns in place."""
        rules = self._compiled
        if self.rules is None or not rules:
            return []
        by_id = {row[c.CONSIGNMENT_ID]: row for row in summary}
        found: dict[str, dict[int, list[int]]] = {}
        for row in view:
            day = _day_of(row[c.FILED_AT])
            if day is None:
                continue  # no rule is in force on a null day
            for index, compiled in self._in_force(day):
                if compiled.hits(row, day):
                    found.setdefault(row[c.CONSIGNMENT_ID], {}).setdefault(index, []).append(
                        row[c.ITEM_NO]
                    )
        hits: list[Row] = []
        for cid in sorted(found):
            weights: list[float] = []
            ranks: list[int] = []
            for index in sorted(found[cid]):
                rule = rules[index].rule
                hits.append(
                    {
                        c.CONSIGNMENT_ID: cid,
                        "rule_id": rule.id,
                        "rule_version": rule.version,
                        "item_nos": sorted(found[cid][index]),
                        "action_lane": rule.lane.value if rule.lane else None,
                        "action_weight": rule.weight,
                        "rule_description": rule.description,
                        "legal_basis": rule.legal_basis,
                    }
                )
                if rule.weight is not None:
                    weights.append(rule.weight)
                if rules[index].rank is not None:
                    ranks.append(rules[index].rank)  # type: ignore[arg-type]
            summary_row = by_id[cid]
            summary_row[RULE_HITS] = [rules[i].rule.id for i in sorted(found[cid])]
            summary_row[RULE_SCORE] = _sum(weights)
            summary_row[FORCED_LANE] = LANE_ORDER[min(ranks)].value if ranks else None
        return hits


def _sum(weights: list[float]) -> float:
    """Left to right in rule order, as ``_summarise`` sums (a running sum's last value)."""
    total = 0.0
    for weight in weights:
        total += weight
    return total


def _same_keys(rows: list[Row]) -> None:
    """Rows of one frame share one key list (else the frame is not what the batch sees)."""
    if rows:
        first = list(rows[0])
        if any(list(row) != first for row in rows[1:]):
            raise Decline("rows of one frame differ in their columns")
