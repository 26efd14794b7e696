"""Lane selection under inspection capacity, with random exploration and AEO benefits.

Selectivity is how a risk-managed administration releases most consignments at once and
controls the few that matter (Revised Kyoto Convention, General Annex, Chapter 6; WCO
Immediate Release Guidelines). :func:`select_lanes` turns scores into lanes for a batch, one
office of arrival x period (a day) at a time, under a :class:`~smartcustoms.risk.policy.
LanePolicy`:

1. **rule-forced lanes** first: a rule forcing red, yellow or blue always gets its lane, even
   past capacity (that excess is reported as ``exceeded_by_rules``); a rule forcing green
   exempts the consignment from selection;
2. **red**: budget = min(capacity left, round(rate x consignments of the period) - already
   in the lane) - forced red. At least ``random_share`` of it (rounded up) is drawn at random
   among the consignments not forced, each weighted by its AEO weight (weight 0: never
   drawn); the rest goes to the top by priority: risk (``RISK_SCORE``, or ``RULE_SCORE``
   when no row has a model score), expected revenue, or the policy's mix, each multiplied by
   the AEO weight;
3. **yellow** the same way among those left;
4. **blue** (post-clearance audit): the next by expected revenue (risk when no row has one),
   up to its rate; no capacity unless the policy states one; no random share;
5. everything else **green**.

Capacity and rates are cumulative per office and period across calls: ``used`` (the
:attr:`Selection.usage` of earlier calls) says what is already taken and how many
consignments were already seen, so a long file selected chunk by chunk - or across runs -
never plans more controls than the office can do, and a chunk's rate target is the day's
target minus what earlier chunks took. The random share is cumulative in the same way.

The result is deterministic for a seed and does not depend on the order of the input rows:
rows are sorted by (office, period, consignment id) and each group draws from its own
generator seeded by BLAKE2b(seed, office, period) through NumPy's ``SeedSequence`` and PCG64.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from smartcustoms.errors import InvalidInputError, Problem
from smartcustoms.model.columns import CONSIGNMENT_ID, OFFICE_OF_ARRIVAL
from smartcustoms.risk.columns import (
    AEO_STATUS,
    EXPECTED_REVENUE,
    FORCED_LANE,
    IS_RANDOM_PICK,
    LANE,
    PERIOD,
    PRIORITY,
    RISK_SCORE,
    RULE_SCORE,
    SELECTION_BASIS,
    AeoStatus,
    Lane,
)
from smartcustoms.risk.policy import LanePolicy, OfficePolicy

__all__ = [
    "BY_DEFAULT",
    "BY_RANDOM",
    "BY_RULE",
    "BY_SCORE",
    "CAPACITY",
    "CODE_DUPLICATE_ID",
    "CODE_INVALID_COLUMN",
    "CODE_MISSING_COLUMN",
    "CODE_MISSING_VALUE",
    "CODE_UNKNOWN_VALUE",
    "COUNT",
    "EXCEEDED_BY_RULES",
    "USAGE_SCHEMA",
    "USED_BEFORE",
    "Selection",
    "SelectionBasis",
    "select_lanes",
]

# --- report and usage columns -------------------------------------------------------------
CAPACITY: Final = "capacity"
"""Capacity of the lane per period (null: unlimited)."""
USED_BEFORE: Final = "used_before"
"""Consignments already in the lane for the office and period before this call."""
BY_RULE: Final = "by_rule"
"""Consignments put in the lane by a rule forcing it."""
BY_SCORE: Final = "by_score"
"""Consignments put in the lane by their priority."""
BY_RANDOM: Final = "by_random"
"""Consignments put in the lane by the random exploration share."""
BY_DEFAULT: Final = "by_default"
"""Consignments left in the green lane because nothing selected them."""
EXCEEDED_BY_RULES: Final = "exceeded_by_rules"
"""Rule-forced consignments beyond the capacity left (capacity is exceeded only this way)."""
COUNT: Final = "count"
"""Usage: consignments in the lane for the office and period so far (every basis)."""

CODE_MISSING_COLUMN: Final = "selection.missing_column"
"""A required column of the candidates (or of ``used``) is absent."""
CODE_INVALID_COLUMN: Final = "selection.invalid_column"
"""A column has a dtype selection cannot read (``period`` must be a Date)."""
CODE_MISSING_VALUE: Final = "selection.missing_value"
"""A consignment id, office or period is null."""
CODE_DUPLICATE_ID: Final = "selection.duplicate_id"
"""A consignment id appears more than once (selection is one row per consignment)."""
CODE_UNKNOWN_VALUE: Final = "selection.unknown_value"
"""A forced lane or AEO status is not one of the known values."""


class SelectionBasis(StrEnum):
    """Why a consignment got its lane (the ``selection_basis`` column).

    * ``rule`` - a targeting rule forced the lane;
    * ``score`` - its priority ranked it within the budget;
    * ``random`` - drawn by the random exploration share;
    * ``default`` - nothing selected it: green.
    """

    RULE = "rule"
    SCORE = "score"
    RANDOM = "random"
    DEFAULT = "default"


@dataclass(frozen=True, slots=True)
class Selection:
    """The outcome of :func:`select_lanes`.

    Attributes:
        decisions: The candidates (input row order) plus ``lane``, ``is_random_pick``,
            ``selection_basis`` and ``priority`` (the ranking quantity: risk or expected
            revenue times the AEO weight; for a ``mix`` strategy, the larger of
            ``risk share / rank by risk`` and ``revenue share / rank by revenue``, ranks
            counted from 1 within the office and period, which orders rows as the budget
            split reaches them).
        report: One row per office x period x lane of this call: ``capacity``,
            ``used_before``, ``by_rule``, ``by_score``, ``by_random``, ``by_default``,
            ``exceeded_by_rules``.
        usage: Cumulative use per office x period x lane (``count``, ``by_rule``,
            ``by_random``), earlier usage included: pass it as ``used`` to the next call.
        score_column: The column risk ranking used (``risk_score``, or ``rule_score`` when
            no consignment had a model score).
        notes: Plain-words remarks on how the selection was made (fallbacks, periods
            outside the policy's dates).
    """

    decisions: pl.DataFrame
    report: pl.DataFrame
    usage: pl.DataFrame
    score_column: str
    notes: tuple[str, ...] = ()


_LANES: Final = (Lane.RED, Lane.YELLOW, Lane.BLUE, Lane.GREEN)  # array code = index
_GREEN: Final = 3
_BASES: Final = (
    SelectionBasis.RULE,
    SelectionBasis.SCORE,
    SelectionBasis.RANDOM,
    SelectionBasis.DEFAULT,
)
_RULE, _SCORE, _RANDOM, _DEFAULT = 0, 1, 2, 3
_NO_LIMIT: Final = np.iinfo(np.int64).max // 4
_EPS: Final = 1e-9  # absorbs binary float error in rate x count before rounding

USAGE_SCHEMA: Final = pl.Schema(
    {
        OFFICE_OF_ARRIVAL: pl.String(),
        PERIOD: pl.Date(),
        LANE: pl.String(),
        COUNT: pl.Int64(),
        BY_RULE: pl.Int64(),
        BY_RANDOM: pl.Int64(),
    }
)
"""Columns of lane usage (the ``used`` argument and :attr:`Selection.usage`)."""
_REPORT_SCHEMA: Final = pl.Schema(
    {
        OFFICE_OF_ARRIVAL: pl.String(),
        PERIOD: pl.Date(),
        LANE: pl.String(),
        CAPACITY: pl.Int64(),
        USED_BEFORE: pl.Int64(),
        BY_RULE: pl.Int64(),
        BY_SCORE: pl.Int64(),
        BY_RANDOM: pl.Int64(),
        BY_DEFAULT: pl.Int64(),
        EXCEEDED_BY_RULES: pl.Int64(),
    }
)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def select_lanes(
    candidates: pl.DataFrame,
    policy: LanePolicy,
    *,
    seed: int,
    used: pl.DataFrame | None = None,
) -> Selection:
    """Choose a lane for every consignment under the policy's capacity, rates and shares.

    Args:
        candidates: One row per consignment: ``consignment_id``, ``office_of_arrival``,
            ``period`` (Date) and ``rule_score`` are required; ``risk_score`` (0-1),
            ``expected_revenue``, ``forced_lane`` (a :class:`~smartcustoms.risk.columns.Lane`
            value) and ``aeo_status`` (an :class:`~smartcustoms.risk.columns.AeoStatus`
            value) are null when absent.
        policy: Capacity, expected rates, random share, strategy and AEO weights per office.
        seed: Seed of the random exploration (and of tie-breaks between equal priorities).
        used: Usage from earlier calls (:attr:`Selection.usage`: ``office_of_arrival``,
            ``period``, ``lane``, ``count``, ``by_rule``, ``by_random``), so capacity and
            rates hold across chunks and runs.

    Returns:
        The decisions, the per-office, period and lane report, and the updated usage.

    Raises:
        InvalidInputError: A required column is missing or unreadable, a key is null, a
            consignment id repeats, or a forced lane or AEO status is unknown; every problem
            is listed.
    """
    frame, score_column, notes = _prepare(candidates)
    usage_before = _prepare_used(used)
    if frame.height == 0:
        return _empty(candidates, usage_before, score_column, notes)
    run = _Run(frame, policy, seed, usage_before)
    notes = notes + run.policy_notes()
    lane, basis, is_random, report = run.select()
    rows = frame["_row"].to_numpy()
    decisions = candidates.with_columns(
        _to_input_order(lane, rows, _LANES).alias(LANE),
        pl.Series(IS_RANDOM_PICK, _scatter(is_random, rows)),
        _to_input_order(basis, rows, _BASES).alias(SELECTION_BASIS),
        pl.Series(PRIORITY, _scatter(run.priority(), rows)),
    )
    return Selection(
        decisions=decisions,
        report=report,
        usage=_next_usage(usage_before, report),
        score_column=score_column,
        notes=notes,
    )


# --- input --------------------------------------------------------------------------------

_REQUIRED: Final = (CONSIGNMENT_ID, OFFICE_OF_ARRIVAL, PERIOD, RULE_SCORE)
_FLOATS: Final = (RISK_SCORE, RULE_SCORE, EXPECTED_REVENUE)
_STRINGS: Final = (CONSIGNMENT_ID, OFFICE_OF_ARRIVAL, FORCED_LANE, AEO_STATUS)


def _prepare(candidates: pl.DataFrame) -> tuple[pl.DataFrame, str, tuple[str, ...]]:
    """Validate, normalise dtypes, sort by (office, period, id); add ``_row`` (input index)."""
    problems = [
        Problem(CODE_MISSING_COLUMN, name, f"candidates need a {name!r} column")
        for name in _REQUIRED
        if name not in candidates.columns
    ]
    if problems:
        _raise("candidates cannot be selected", problems)
    schema = candidates.schema
    if schema[PERIOD] not in (pl.Date(), pl.Null()):
        problems.append(
            Problem(CODE_INVALID_COLUMN, PERIOD, f"{PERIOD} must be a Date, not {schema[PERIOD]}")
        )
    exprs: list[pl.Expr] = []
    for name in _FLOATS:
        if name in schema and not (schema[name].is_numeric() or schema[name] == pl.Null()):
            problems.append(
                Problem(CODE_INVALID_COLUMN, name, f"{name} must be numeric, not {schema[name]}")
            )
        elif name in schema:
            exprs.append(pl.col(name).cast(pl.Float64).fill_nan(None))
        else:
            exprs.append(pl.lit(None, pl.Float64).alias(name))
    for name in _STRINGS:
        exprs.append(pl.col(name).cast(pl.String) if name in schema else pl.lit(None, pl.String))
        exprs[-1] = exprs[-1].alias(name)
    if problems:
        _raise("candidates cannot be selected", problems)
    try:
        frame = candidates.select(
            *exprs,
            pl.col(PERIOD).cast(pl.Date),
            pl.int_range(pl.len(), dtype=pl.Int64).alias("_row"),
        )
    except pl.exceptions.PolarsError as exc:
        _raise("candidates cannot be selected", [Problem(CODE_INVALID_COLUMN, "", str(exc))])
    problems.extend(_value_problems(frame))
    if problems:
        _raise("candidates cannot be selected", problems)
    # Groups only need to be contiguous, not in any order, so an integer group key (office
    # dictionary id, day) replaces two string sort keys; within a group rows follow the
    # consignment id, which is what makes the draws independent of the input order.
    group = (
        pl.col(OFFICE_OF_ARRIVAL).cast(pl.Categorical).to_physical().cast(pl.Int64) * (1 << 32)
    ) + (pl.col(PERIOD).cast(pl.Int32).cast(pl.Int64))
    frame = frame.with_columns(group.alias("_group")).sort("_group", CONSIGNMENT_ID)
    notes: list[str] = []
    score_column = RISK_SCORE
    if frame.height and frame[RISK_SCORE].null_count() == frame.height:
        score_column = RULE_SCORE
        notes.append("no consignment has a risk score: ranked by rule score")
    elif frame[RISK_SCORE].null_count():
        notes.append(
            f"{frame[RISK_SCORE].null_count()} consignments have no risk score: ranked as 0"
        )
    if frame.height and frame[EXPECTED_REVENUE].null_count() == frame.height:
        notes.append(f"no consignment has an expected revenue: revenue ranking uses {score_column}")
    return frame, score_column, tuple(notes)


def _value_problems(frame: pl.DataFrame) -> list[Problem]:
    problems: list[Problem] = []
    for name in (CONSIGNMENT_ID, OFFICE_OF_ARRIVAL, PERIOD):
        nulls = frame[name].null_count()
        if nulls:
            problems.append(Problem(CODE_MISSING_VALUE, name, f"{nulls} rows have no {name}"))
    repeated = frame.height - frame[CONSIGNMENT_ID].n_unique()
    if repeated:
        problems.append(
            Problem(
                CODE_DUPLICATE_ID,
                CONSIGNMENT_ID,
                f"{repeated} consignment ids repeat; selection takes one row per consignment",
            )
        )
    for name, allowed in ((FORCED_LANE, Lane), (AEO_STATUS, AeoStatus)):
        values = {m.value for m in allowed}
        present = frame[name].drop_nulls().unique()
        unknown = present.filter(~present.is_in(sorted(values)))
        if unknown.len():
            problems.append(
                Problem(
                    CODE_UNKNOWN_VALUE,
                    name,
                    f"unknown {name} values {sorted(unknown.to_list())[:5]};"
                    f" expected one of {', '.join(sorted(values))}",
                )
            )
    return problems


def _prepare_used(used: pl.DataFrame | None) -> pl.DataFrame:
    if used is None:
        return pl.DataFrame(schema=USAGE_SCHEMA)
    missing = [name for name in USAGE_SCHEMA if name not in used.columns]
    if missing:
        _raise(
            "used cannot be read",
            [
                Problem(CODE_MISSING_COLUMN, f"used.{m}", f"used needs a {m!r} column")
                for m in missing
            ],
        )
    try:
        frame = used.select(pl.col(name).cast(dtype) for name, dtype in USAGE_SCHEMA.items())
    except pl.exceptions.PolarsError as exc:
        _raise("used cannot be read", [Problem(CODE_INVALID_COLUMN, "used", str(exc))])
    unknown = frame.filter(~pl.col(LANE).is_in([lane.value for lane in Lane]))[LANE].unique()
    if unknown.len():
        _raise(
            "used cannot be read",
            [Problem(CODE_UNKNOWN_VALUE, f"used.{LANE}", f"unknown lanes {unknown.to_list()}")],
        )
    keys = [OFFICE_OF_ARRIVAL, PERIOD, LANE]
    summed = frame.group_by(keys).agg(pl.col(COUNT, BY_RULE, BY_RANDOM).fill_null(0).sum())
    return _sorted_usage(summed)


def _sorted_usage(usage: pl.DataFrame) -> pl.DataFrame:
    """Usage in its canonical column order and row order (office, period, lane)."""
    lane_order = pl.col(LANE).replace_strict(
        {lane.value: i for i, lane in enumerate(_LANES)}, default=len(_LANES), return_dtype=pl.Int8
    )
    return (
        usage.select(USAGE_SCHEMA.names())
        .cast(USAGE_SCHEMA)
        .sort(OFFICE_OF_ARRIVAL, PERIOD, lane_order)
    )


def _raise(message: str, problems: Sequence[Problem]) -> None:
    raise InvalidInputError(f"{message}: {problems[0].message}", tuple(problems))


# --- the selection ------------------------------------------------------------------------


class _Run:
    """Arrays of one call, rows sorted by (office, period, id); ``g`` is the group index."""

    def __init__(
        self, frame: pl.DataFrame, policy: LanePolicy, seed: int, used: pl.DataFrame
    ) -> None:
        n = frame.height
        self.n = n
        first = (pl.col("_group") != pl.col("_group").shift(1)).fill_null(True)
        self.starts: IntArray = np.flatnonzero(frame.select(first).to_series().to_numpy())
        self.sizes: IntArray = np.diff(np.append(self.starts, n))
        self.groups = len(self.starts)
        self.g: IntArray = np.repeat(np.arange(self.groups, dtype=np.int64), self.sizes)
        self.keys = frame.select(OFFICE_OF_ARRIVAL, PERIOD)[self.starts.tolist()]
        offices: list[str] = self.keys[OFFICE_OF_ARRIVAL].to_list()
        periods: list[date] = self.keys[PERIOD].to_list()
        self.policy = policy
        by_office = {o: policy.for_office(o) for o in set(offices)}
        self.office_policies: list[OfficePolicy] = [by_office[o] for o in offices]
        self.periods = periods

        # One generator per office x period: the draws of a group depend on nothing else.
        self.u: FloatArray = np.empty(n)
        self.tie: FloatArray = np.empty(n)
        for i, (office, period) in enumerate(zip(offices, periods, strict=True)):
            rng = _group_rng(seed, office, period)
            lo, hi = self.starts[i], self.starts[i] + self.sizes[i]
            self.u[lo:hi] = rng.random(hi - lo)
            self.tie[lo:hi] = rng.random(hi - lo)

        pols = self.office_policies
        national = frame[AEO_STATUS].eq(AeoStatus.NATIONAL.value).fill_null(False).to_numpy()
        mra = frame[AEO_STATUS].eq(AeoStatus.MRA.value).fill_null(False).to_numpy()
        w_nat = np.array([p.national_weight for p in pols])[self.g]
        w_mra = np.array([p.mra_weight for p in pols])[self.g]
        self.weight: FloatArray = np.where(national, w_nat, np.where(mra, w_mra, 1.0))

        all_null_risk = frame[RISK_SCORE].null_count() == n
        risk_col = RULE_SCORE if all_null_risk else RISK_SCORE
        risk = frame[risk_col].fill_null(0.0).to_numpy().astype(np.float64)
        revenue_s = frame[EXPECTED_REVENUE]
        revenue = (
            risk if revenue_s.null_count() == n else revenue_s.fill_null(0.0).to_numpy()
        ).astype(np.float64)
        self.p_risk: FloatArray = risk * self.weight
        self.p_revenue: FloatArray = revenue * self.weight
        with np.errstate(divide="ignore"):
            # Efraimidis-Spirakis: the k largest u^(1/w) are a weighted sample without
            # replacement; in logs, log(u)/w (weight 0: -inf, never drawn).
            draw_key = np.where(
                self.weight > 0, np.log(self.u) / np.maximum(self.weight, 1e-300), -np.inf
            )
        self.order_random = self._order(draw_key)
        self.order_risk = self._order(self.p_risk, self.tie)
        self.order_revenue = self._order(self.p_revenue, self.tie)
        self.drawable: BoolArray = self.weight > 0

        forced_s = frame[FORCED_LANE]
        self.forced: IntArray = (
            forced_s.replace_strict(
                {lane.value: i for i, lane in enumerate(_LANES)}, default=-1, return_dtype=pl.Int64
            )
            .fill_null(-1)
            .to_numpy()
        )
        self.used = self._used_by_group(used)

    def _used_by_group(self, used: pl.DataFrame) -> dict[str, IntArray]:
        """``count``/``by_rule``/``by_random`` before this call, per lane code, per group."""
        keys = self.keys.with_row_index("_g")
        joined = keys.join(used, on=[OFFICE_OF_ARRIVAL, PERIOD], how="inner")
        out: dict[str, IntArray] = {}
        for column in (COUNT, BY_RULE, BY_RANDOM):
            table = np.zeros((len(_LANES), self.groups), dtype=np.int64)
            for code, lane in enumerate(_LANES):
                part = joined.filter(pl.col(LANE) == lane.value)
                table[code, part["_g"].to_numpy()] = part[column].to_numpy()
            out[column] = table
        return out

    def policy_notes(self) -> tuple[str, ...]:
        """Remarks on periods outside the policy's effective dates."""
        outside = sorted({p for p in self.periods if not self.policy.is_in_force(p)})
        if not outside:
            return ()
        return (
            f"policy {self.policy.id} v{self.policy.version} is not in force on"
            f" {', '.join(str(p) for p in outside[:3])}{' ...' if len(outside) > 3 else ''}",
        )

    def _order(self, key: FloatArray, tie: FloatArray | None = None) -> IntArray:
        """Row positions by group, then ``key`` (then ``tie``) descending."""
        # Polars' multi-key arg sort is several times faster than np.lexsort on 1 M rows.
        columns = {"g": self.g, "k": key} if tie is None else {"g": self.g, "k": key, "t": tie}
        order = pl.DataFrame(columns).select(
            pl.arg_sort_by(list(columns), descending=[False] + [True] * (len(columns) - 1))
        )
        return order.to_series().to_numpy().astype(np.int64)

    def _take(self, order: IntArray, eligible: BoolArray, k: IntArray) -> BoolArray:
        """Per group, the first ``k[g]`` eligible rows of ``order`` (a within-group ranking)."""
        in_order = eligible[order]
        seen = np.cumsum(in_order, dtype=np.int64)
        before = np.concatenate(([0], seen))[self.starts]
        # ``order`` keeps the groups contiguous and in place, so g[order] == g.
        chosen = in_order & (seen - before[self.g] <= k[self.g])
        mask = np.zeros(self.n, dtype=np.bool_)
        mask[order[chosen]] = True
        return mask

    def _count(self, mask: BoolArray) -> IntArray:
        return np.bincount(self.g[mask], minlength=self.groups).astype(np.int64)

    def select(
        self,
    ) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.int8], BoolArray, pl.DataFrame]:
        """Run the lanes in order; return lane codes, basis codes, random flags, report."""
        lane = np.full(self.n, _GREEN, dtype=np.int8)
        basis = np.full(self.n, _DEFAULT, dtype=np.int8)
        is_random = np.zeros(self.n, dtype=np.bool_)
        taken = self.forced >= 0
        lane[taken] = self.forced[taken].astype(np.int8)
        basis[taken] = _RULE
        seen_before = self.used[COUNT].sum(axis=0)
        seen = seen_before + self.sizes
        pols = self.office_policies
        frames: list[pl.DataFrame] = []
        for code, which in enumerate(_LANES[:3]):
            capacity_values = [p.capacity(which) for p in pols]
            capacity = np.array([_NO_LIMIT if c is None else c for c in capacity_values])
            rate = np.array([p.rate(which) for p in pols])
            used_before = self.used[COUNT][code]
            forced = self._count(self.forced == code)
            remaining = np.maximum(capacity - used_before, 0)
            # The day's target so far, minus what earlier calls already put in the lane.
            target = np.maximum(_round_half_up(rate * seen) - used_before, 0)
            budget = np.maximum(np.minimum(remaining, target) - forced, 0)
            exceeded = np.maximum(forced - remaining, 0)
            by_random = np.zeros(self.groups, dtype=np.int64)
            if which is not Lane.BLUE:
                share = np.array([p.random_share for p in pols])
                unforced_before = used_before - self.used[BY_RULE][code]
                want = np.ceil(share * (unforced_before + budget) - _EPS).astype(np.int64)
                k = np.clip(want - self.used[BY_RANDOM][code], 0, budget)
                drawn = self._take(self.order_random, ~taken & self.drawable, k)
                lane[drawn], basis[drawn], is_random[drawn] = code, _RANDOM, True
                taken |= drawn
                by_random = self._count(drawn)
            left = budget - by_random
            if which is Lane.BLUE:
                by_risk = np.zeros(self.groups, dtype=np.int64)
            else:
                risk_share = np.array([p.risk_share for p in pols])
                k = _round_half_up(risk_share * left)
                picked = self._take(self.order_risk, ~taken, k)
                lane[picked], basis[picked] = code, _SCORE
                taken |= picked
                by_risk = self._count(picked)
            picked = self._take(self.order_revenue, ~taken, left - by_risk)
            lane[picked], basis[picked] = code, _SCORE
            taken |= picked
            by_score = by_risk + self._count(picked)
            frames.append(
                self._report(
                    which, capacity_values, used_before, forced, by_score, by_random, exceeded
                )
            )
        green_rule = self._count(self.forced == _GREEN)
        zeros = np.zeros(self.groups, dtype=np.int64)
        green = self._report(
            Lane.GREEN,
            [None] * self.groups,
            self.used[COUNT][_GREEN],
            green_rule,
            zeros,
            zeros,
            zeros,
        ).with_columns(pl.Series(BY_DEFAULT, self._count(basis == _DEFAULT)))
        frames.append(green)
        report = pl.concat(frames).sort(OFFICE_OF_ARRIVAL, PERIOD, "_lane").drop("_lane")
        return lane, basis, is_random, report

    def _report(
        self,
        which: Lane,
        capacity: Sequence[int | None],
        used_before: IntArray,
        by_rule: IntArray,
        by_score: IntArray,
        by_random: IntArray,
        exceeded: IntArray,
    ) -> pl.DataFrame:
        return self.keys.with_columns(
            pl.lit(which.value).alias(LANE),
            pl.Series(CAPACITY, list(capacity), dtype=pl.Int64),
            pl.Series(USED_BEFORE, used_before),
            pl.Series(BY_RULE, by_rule),
            pl.Series(BY_SCORE, by_score),
            pl.Series(BY_RANDOM, by_random),
            pl.lit(0, pl.Int64).alias(BY_DEFAULT),
            pl.Series(EXCEEDED_BY_RULES, exceeded),
            pl.lit(_LANES.index(which), pl.Int8).alias("_lane"),
        )

    def priority(self) -> FloatArray:
        """The ranking quantity per row (see :attr:`Selection.decisions`)."""
        risk_share = np.array([p.risk_share for p in self.office_policies])[self.g]
        out = np.where(risk_share >= 1.0, self.p_risk, self.p_revenue)
        mixed = (risk_share > 0.0) & (risk_share < 1.0)
        if mixed.any():
            # The budget split takes the top share x k of each list, so a row at rank r of
            # a list is reached when k >= r / share: sorting by the larger share / rank
            # interleaves the two lists as the split does.
            mixed_rank = np.maximum(
                risk_share / self._rank(self.order_risk),
                (1.0 - risk_share) / self._rank(self.order_revenue),
            )
            out = np.where(mixed, mixed_rank, out)
        return out

    def _rank(self, order: IntArray) -> FloatArray:
        """1 for the top of its group in ``order``, 2 for the next, and so on."""
        rank = np.empty(self.n, dtype=np.float64)
        rank[order] = np.arange(self.n) - self.starts[self.g] + 1
        return rank


def _group_rng(seed: int, office: str, period: date) -> np.random.Generator:
    digest = hashlib.blake2b(
        f"{seed}\x1f{office}\x1f{period.isoformat()}".encode(), digest_size=16
    ).digest()
    words = np.frombuffer(digest, dtype=np.uint32).tolist()
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(words)))


def _round_half_up(values: FloatArray) -> IntArray:
    return np.floor(values + 0.5 + _EPS).astype(np.int64)


def _scatter(values: npt.NDArray[np.generic], rows: IntArray) -> npt.NDArray[np.generic]:
    out = np.empty_like(values)
    out[rows] = values
    return out


def _to_input_order(
    codes: npt.NDArray[np.int8], rows: IntArray, names: Sequence[StrEnum]
) -> pl.Series:
    labels = pl.Series([m.value for m in names], dtype=pl.String)
    return labels.gather(pl.Series(_scatter(codes, rows)).cast(pl.UInt32))


def _next_usage(before: pl.DataFrame, report: pl.DataFrame) -> pl.DataFrame:
    keys = [OFFICE_OF_ARRIVAL, PERIOD, LANE]
    now = report.select(
        *keys,
        (pl.col(USED_BEFORE) + pl.col(BY_RULE) + pl.col(BY_SCORE) + pl.col(BY_RANDOM))
        .add(pl.col(BY_DEFAULT))
        .alias(COUNT),
        pl.col(BY_RULE),
        pl.col(BY_RANDOM),
    )
    prior = before.join(now.select(keys), on=keys, how="inner").select(
        *keys, pl.col(BY_RULE).alias("_rule"), pl.col(BY_RANDOM).alias("_random")
    )
    now = (
        now.join(prior, on=keys, how="left")
        .with_columns(
            (pl.col(BY_RULE) + pl.col("_rule").fill_null(0)).alias(BY_RULE),
            (pl.col(BY_RANDOM) + pl.col("_random").fill_null(0)).alias(BY_RANDOM),
        )
        .select(USAGE_SCHEMA.names())
    )
    untouched = before.join(now.select(keys), on=keys, how="anti")
    return _sorted_usage(pl.concat([untouched.cast(USAGE_SCHEMA), now.cast(USAGE_SCHEMA)]))


def _empty(
    candidates: pl.DataFrame, used: pl.DataFrame, score_column: str, notes: tuple[str, ...]
) -> Selection:
    decisions = candidates.with_columns(
        pl.lit(None, pl.String).alias(LANE),
        pl.lit(None, pl.Boolean).alias(IS_RANDOM_PICK),
        pl.lit(None, pl.String).alias(SELECTION_BASIS),
        pl.lit(None, pl.Float64).alias(PRIORITY),
    )
    return Selection(decisions, pl.DataFrame(schema=_REPORT_SCHEMA), used, score_column, notes)
