"""Rules and rulesets in memory, and their vectorised application to a risk view.

:meth:`RuleSet.apply` compiles every rule to one Boolean Polars expression over the goods-item
rows of the risk view and evaluates them all in a single query: each row gets the list of the
rules it satisfies, rows without any are dropped, and only the hits are exploded and grouped
by (consignment, rule). No Python code runs per row, so a million items against fifty rules
take well under a second (``docs/risk-rules.md``).

Loading and validating rule files lives in :mod:`smartcustoms.risk.rules`.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Final

import polars as pl

from smartcustoms.errors import InvalidInputError, Problem
from smartcustoms.model.columns import CONSIGNMENT_ID, FILED_AT, ITEM_NO
from smartcustoms.risk._conditions import Condition
from smartcustoms.risk.columns import FORCED_LANE, RULE_HITS, RULE_SCORE, Lane
from smartcustoms.risk.watchlists import WatchList

__all__ = [
    "ACTION_LANE",
    "ACTION_WEIGHT",
    "CODE_VIEW_COLUMN",
    "ITEM_NOS",
    "LANE_ORDER",
    "LEGAL_BASIS",
    "RULE_DESCRIPTION",
    "RULE_ID",
    "RULE_VERSION",
    "Rule",
    "RuleHits",
    "RuleSet",
]

# --- columns of the hits frame ---------------------------------------------------------------
RULE_ID: Final = "rule_id"
"""Id of the rule hit."""
RULE_VERSION: Final = "rule_version"
"""Version of the rule hit (the audit trail names the exact criterion applied)."""
ITEM_NOS: Final = "item_nos"
"""Sorted ``item_no`` values of the goods items that satisfied the rule."""
ACTION_LANE: Final = "action_lane"
"""Lane the rule forces (a :class:`Lane` value), null when it only scores."""
ACTION_WEIGHT: Final = "action_weight"
"""Score weight the rule adds, in (0, 1]; null when it only forces a lane."""
RULE_DESCRIPTION: Final = "rule_description"
"""The rule's description, shown to the officer as the reason."""
LEGAL_BASIS: Final = "legal_basis"
"""The rule's legal basis (the ruleset's when the rule states none)."""

LANE_ORDER: Final = (Lane.RED, Lane.YELLOW, Lane.BLUE, Lane.GREEN)
"""Lanes from the strictest: when several rules force lanes, the first in this order wins."""

_DAY: Final = "_rules_day"
_IDX: Final = "_rules_idx"
_RANK: Final = "_rules_rank"
_CODE: Final = "_rules_code"
_KEY: Final = "_rules_key"
_FIRST: Final = "_rules_first"
_FLAG: Final = "_rules_hit_"
CODE_VIEW_COLUMN: Final = "rules.view_column"
"""Problem code raised by :meth:`RuleSet.apply` for a column the view lacks."""


def _all(exprs: Iterable[pl.Expr]) -> pl.Expr:
    return functools.reduce(operator.and_, exprs, pl.lit(True))


def _any(exprs: Iterable[pl.Expr]) -> pl.Expr:
    return functools.reduce(operator.or_, exprs, pl.lit(False))


@dataclass(frozen=True, slots=True)
class Rule:
    """One targeting rule: conditions, a period, and an action (a lane, a score or both).

    Attributes:
        id: Unique id within its ruleset.
        description: What the rule targets, in words an officer reads as the reason.
        effective_from: First filing day the rule applies to.
        effective_to: First filing day it no longer applies to (``None``: open-ended).
        lane: Lane the rule forces, if any.
        weight: Score the rule adds, in (0, 1], if any.
        when: Conditions that must all hold.
        any_of: Groups of conditions of which at least one must hold (each group ANDed).
        unless: Groups of conditions any one of which suppresses the hit.
        version: The rule's version.
        legal_basis: The provision the rule rests on.
        source: ``file:line`` where the rule is defined.
    """

    id: str
    description: str
    effective_from: date
    effective_to: date | None = None
    lane: Lane | None = None
    weight: float | None = None
    when: tuple[Condition, ...] = ()
    any_of: tuple[tuple[Condition, ...], ...] = ()
    unless: tuple[tuple[Condition, ...], ...] = ()
    version: str = "1"
    legal_basis: str = ""
    source: str = ""

    def conditions(self) -> tuple[Condition, ...]:
        """Every condition of the rule (``when``, ``any`` and ``unless``)."""
        nested = [c for group in (*self.any_of, *self.unless) for c in group]
        return (*self.when, *nested)

    def is_in_force(self, day: date) -> bool:
        """Whether the rule applies to a consignment filed on ``day``."""
        return self.effective_from <= day and (self.effective_to is None or day < self.effective_to)

    def expression(self, lists: Mapping[str, WatchList], day: pl.Expr) -> pl.Expr:
        """The rule as one Boolean expression per goods-item row (never null).

        Args:
            lists: Watch lists by id.
            day: ``Date`` expression: the filing day each row is judged on.
        """

        def group(conditions: Iterable[Condition]) -> pl.Expr:
            return _all(c.expression(lists, day) for c in conditions)

        hit = group(self.when)
        if self.any_of:
            hit = hit & _any(group(g) for g in self.any_of)
        if self.unless:
            hit = hit & ~_any(group(g) for g in self.unless)
        in_force = day >= pl.lit(self.effective_from)
        if self.effective_to is not None:
            in_force = in_force & (day < pl.lit(self.effective_to))
        return (hit & in_force).fill_null(False)


@dataclass(frozen=True, slots=True)
class RuleHits:
    """What a ruleset found in a risk view.

    Attributes:
        hits: One row per (consignment, rule) hit, sorted by consignment then rule order:
            ``consignment_id``, :data:`RULE_ID`, :data:`RULE_VERSION`, :data:`ITEM_NOS`,
            :data:`ACTION_LANE`, :data:`ACTION_WEIGHT`, :data:`RULE_DESCRIPTION`,
            :data:`LEGAL_BASIS`.
        consignments: One row per consignment of the view (hit or not), sorted by id:
            ``consignment_id``, ``rule_hits`` (rule ids in file order; empty when none),
            ``rule_score`` (sum of the weights of the rules hit; 0.0 when none) and
            ``forced_lane`` (strictest lane forced, see :data:`LANE_ORDER`; null when none).
    """

    hits: pl.DataFrame
    consignments: pl.DataFrame


@dataclass(frozen=True)
class RuleSet:
    """A versioned set of targeting rules with the watch lists they refer to.

    Attributes:
        id: Ruleset id.
        version: Ruleset version.
        rules: The rules, in file order (the order of ``rule_hits``).
        watchlists: Watch lists by id.
        description: What the ruleset is for.
        legal_basis: Default legal basis of its rules.
        warnings: Warnings found when loading (errors prevent loading).
        source: The file it was loaded from.
    """

    id: str
    version: str
    rules: tuple[Rule, ...]
    watchlists: Mapping[str, WatchList] = field(default_factory=dict)
    description: str = ""
    legal_basis: str = ""
    warnings: tuple[Problem, ...] = ()
    source: str = ""

    def required_columns(self) -> frozenset[str]:
        """Risk-view columns :meth:`apply` reads: keys, ``filed_at`` and every tested field."""
        tested = {c.field for rule in self.rules for c in rule.conditions()}
        return frozenset({CONSIGNMENT_ID, ITEM_NO, FILED_AT, *tested})

    def expressions(self) -> dict[str, pl.Expr]:
        """Each rule as a Boolean item-level expression, by rule id.

        For stages that fuse rule hits into their own query (rule flags as model features,
        say); the filing day is read from ``filed_at``.
        """
        day = pl.col(FILED_AT).dt.date()
        return {rule.id: rule.expression(self.watchlists, day) for rule in self.rules}

    def apply(self, view: pl.DataFrame | pl.LazyFrame) -> RuleHits:
        """Evaluate every rule on a risk view, vectorised: no Python code runs per row.

        Args:
            view: The risk view: one row per goods item with its consignment's columns;
                it must have :meth:`required_columns`.

        Returns:
            The hits and the per-consignment summary (:class:`RuleHits`).

        Raises:
            InvalidInputError: When the view lacks a column the rules read.
        """
        lazy = view.lazy()
        missing = sorted(self.required_columns() - set(lazy.collect_schema().names()))
        if missing:
            raise InvalidInputError(
                f"the risk view lacks {len(missing)} column(s) the rules read: {missing}",
                tuple(
                    Problem(CODE_VIEW_COLUMN, name, f"column {name!r} is missing")
                    for name in missing
                ),
            )
        # A row without a consignment id cannot be reported against a consignment.
        base = lazy.filter(pl.col(CONSIGNMENT_ID).is_not_null()).with_columns(
            pl.col(FILED_AT).dt.date().alias(_DAY)
        )
        ids = base.select(pl.col(CONSIGNMENT_ID).unique())
        if not self.rules:
            return _summarise(_empty_hits(self._meta()), ids.collect())
        day = pl.col(_DAY)
        names = [f"{_FLAG}{i}" for i in range(len(self.rules))]
        # One Boolean column per rule, only for rows that hit something.
        flags_query = base.select(
            CONSIGNMENT_ID,
            ITEM_NO,
            *(
                r.expression(self.watchlists, day).alias(n)
                for r, n in zip(self.rules, names, strict=True)
            ),
        ).filter(pl.any_horizontal(names))
        flags, all_ids = pl.collect_all([flags_query, ids])
        # Number the consignments that hit something densely, in consignment-id order; a
        # (consignment, rule) pair is then one integer key, so sorting and grouping run on
        # integers (not strings) and the output order does not depend on the view's.
        first = pl.col(CONSIGNMENT_ID).ne_missing(pl.col(CONSIGNMENT_ID).shift())
        flags = flags.sort(CONSIGNMENT_ID).with_columns(
            first.alias(_FIRST), first.cum_sum().cast(pl.UInt64).alias(_CODE)
        )
        hit_ids = flags.filter(pl.col(_FIRST)).get_column(CONSIGNMENT_ID)
        count = len(self.rules)
        key = pl.col(_CODE) * count
        long = pl.concat(
            [
                flags.lazy().filter(pl.col(name)).select((key + i).alias(_KEY), ITEM_NO)
                for i, name in enumerate(names)
            ]
        )
        meta = self._meta()
        hits = (
            long.sort(_KEY, ITEM_NO)
            .group_by(_KEY, maintain_order=True)  # sorted keys: Polars' fast path
            .agg(pl.col(ITEM_NO).alias(ITEM_NOS))
            .with_columns(
                (pl.col(_KEY) // count).alias(_CODE),
                (pl.col(_KEY) % count).cast(pl.UInt32).alias(_IDX),
            )
            .with_columns(
                pl.lit(hit_ids).gather(pl.col(_CODE) - 1).alias(CONSIGNMENT_ID),
                *(
                    pl.lit(meta.get_column(name)).gather(pl.col(_IDX))
                    for name in meta.columns
                    if name != _IDX
                ),
            )
            .collect()
        )
        return _summarise(hits, all_ids)

    def _meta(self) -> pl.DataFrame:
        return pl.DataFrame(
            {
                _IDX: list(range(len(self.rules))),
                RULE_ID: [r.id for r in self.rules],
                RULE_VERSION: [r.version for r in self.rules],
                ACTION_LANE: [r.lane.value if r.lane else None for r in self.rules],
                _RANK: [LANE_ORDER.index(r.lane) if r.lane else None for r in self.rules],
                ACTION_WEIGHT: [r.weight for r in self.rules],
                RULE_DESCRIPTION: [r.description for r in self.rules],
                LEGAL_BASIS: [r.legal_basis for r in self.rules],
            },
            schema={
                _IDX: pl.UInt32,
                RULE_ID: pl.String,
                RULE_VERSION: pl.String,
                ACTION_LANE: pl.String,
                _RANK: pl.UInt32,
                ACTION_WEIGHT: pl.Float64,
                RULE_DESCRIPTION: pl.String,
                LEGAL_BASIS: pl.String,
            },
        )


def _empty_hits(meta: pl.DataFrame) -> pl.DataFrame:
    keys = [(CONSIGNMENT_ID, pl.String()), (ITEM_NOS, pl.List(pl.Int64()))]
    return pl.DataFrame(schema=pl.Schema([*keys, *meta.schema.items()]))


def _summarise(hits: pl.DataFrame, ids: pl.DataFrame) -> RuleHits:
    """Build :class:`RuleHits` from the hits (sorted by consignment, then rule) and all ids.

    Weights are summed left to right in rule order and the strictest forced lane kept per
    consignment; consignments without a hit are kept with empty values.
    """
    summary = (
        hits.lazy()
        .set_sorted(CONSIGNMENT_ID)
        .group_by(CONSIGNMENT_ID, maintain_order=True)
        .agg(
            pl.col(RULE_ID).alias(RULE_HITS),  # in rule order: hits are sorted that way
            # a running sum in rule order, not sum(): Polars' grouped sum carries state
            # across groups, so a consignment's score could differ in the last bit with
            # its neighbours in the batch
            pl.col(ACTION_WEIGHT).fill_null(0.0).cum_sum().last().alias(RULE_SCORE),
            pl.col(_RANK).min(),
        )
    )
    lanes = pl.Series([lane.value for lane in LANE_ORDER], dtype=pl.String)
    consignments = (
        ids.lazy()
        .sort(CONSIGNMENT_ID)
        .join(summary, on=CONSIGNMENT_ID, how="left", maintain_order="left")
        .select(
            CONSIGNMENT_ID,
            pl.col(RULE_HITS).fill_null(pl.lit([], dtype=pl.List(pl.String))),
            pl.col(RULE_SCORE).fill_null(0.0).cast(pl.Float64),
            pl.col(_RANK)
            .replace_strict(
                list(range(len(LANE_ORDER))), lanes, default=None, return_dtype=pl.String
            )
            .alias(FORCED_LANE),
        )
        .collect()
    )
    return RuleHits(
        hits=hits.select(
            CONSIGNMENT_ID,
            RULE_ID,
            RULE_VERSION,
            ITEM_NOS,
            ACTION_LANE,
            ACTION_WEIGHT,
            RULE_DESCRIPTION,
            LEGAL_BASIS,
        ),
        consignments=consignments,
    )
