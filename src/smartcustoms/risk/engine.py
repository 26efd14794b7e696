"""The risk engine: rules, value controls, model score and lane selection in one batch step.

:meth:`RiskEngine.assess` takes a risk view (one row per goods item, see
:mod:`smartcustoms.risk.view`) and returns one decision per consignment:

1. **value controls** place each item's unit value in its learned reference;
2. **targeting rules** hit (every hit kept) and may force a lane or add weight;
3. the **model**, when one is trained, gives the probability of non-compliance and the
   expected revenue at stake, and selection ranks by that probability. Rule weights are an
   analyst's stated suspicion, not a probability: adding them to one would let a near-random
   rule outrank the evidence, so a model trained with rules sees the consignment's summed
   rule weight as a feature and learns how much it is worth. Without a model, selection
   ranks by rule weights and says so;
4. **lane selection** under capacity, with the random exploration share and AEO benefits;
5. **reasons** in plain words (model feature contributions for the red and yellow lanes,
   where an officer reads them; ``risk explain`` computes them for any consignment).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import polars as pl

from smartcustoms.model import columns as c
from smartcustoms.risk import explain
from smartcustoms.risk._ruleset import (
    ACTION_LANE,
    RULE_ID,
    RuleSet,
)
from smartcustoms.risk.columns import (
    AEO_STATUS,
    EXPECTED_REVENUE,
    FORCED_LANE,
    LANE,
    MODEL_VERSION,
    PERIOD,
    REASONS,
    RISK_SCORE,
    RULE_HITS,
    RULE_SCORE,
    UNIT_VALUE,
    VALUE_PERCENTILE,
    VALUE_RATIO,
    VALUE_REF_LEVEL,
    VALUE_REF_MEDIAN,
    VALUE_REF_N,
    VALUE_Z,
    Lane,
)
from smartcustoms.risk.pipeline import TOP_CONTRIBUTIONS, RiskPipeline
from smartcustoms.risk.policy import LanePolicy
from smartcustoms.risk.selection import select_lanes
from smartcustoms.risk.value_controls import ValueReference, with_value_controls

__all__ = ["RiskEngine", "RiskOutcome", "with_value_columns"]

_RISKIEST = "riskiest_item"

_VALUE_COLUMNS = (UNIT_VALUE, VALUE_REF_MEDIAN, VALUE_PERCENTILE, VALUE_REF_LEVEL, VALUE_REF_N)


def with_value_columns(view: pl.DataFrame, reference: ValueReference | None) -> pl.DataFrame:
    """The view with its value-control columns: computed with ``reference``, else null.

    The first step of :meth:`RiskEngine.assess`: rules and the model read these columns
    whether or not a value reference exists.
    """
    if reference is not None:
        return with_value_controls(view, reference)
    return view.with_columns(
        pl.lit(None, dtype=pl.Float64).alias(col)
        for col in (UNIT_VALUE, VALUE_REF_MEDIAN, VALUE_PERCENTILE, VALUE_Z, VALUE_RATIO)
    ).with_columns(
        pl.lit(None, dtype=pl.String).alias(VALUE_REF_LEVEL),
        pl.lit(None, dtype=pl.Int64).alias(VALUE_REF_N),
    )


@dataclass(frozen=True)
class RiskOutcome:
    """What the engine decided for a batch.

    Attributes:
        decisions: One row per consignment: ``consignment_id``, ``office_of_arrival``,
            ``period``, ``risk_score``, ``rule_score``, ``expected_revenue``, ``priority``,
            ``forced_lane``, ``lane``, ``is_random_pick``, ``selection_basis``,
            ``aeo_status``, ``value_z``, ``model_version``, ``rule_hits``, ``reasons`` (JSON).
        hits: Every rule hit (see :class:`~smartcustoms.risk.rules.RuleHits`).
        report: Per office, period and lane: capacity, usage, picks by basis, excess.
        usage: Usage after this batch (pass as ``used`` to the next).
        notes: Remarks on the run (no model, rules-only ranking, ...).
        ruleset_id: Id of the ruleset applied (``None``: no rules).
    """

    decisions: pl.DataFrame
    hits: pl.DataFrame
    report: pl.DataFrame
    usage: pl.DataFrame
    notes: tuple[str, ...]
    ruleset_id: str | None = None


class RiskEngine:
    """Targeting in one call, from configured parts.

    Args:
        policy: Lane policy (capacities, rates, random share, AEO weights).
        rules: Targeting rules, or ``None``.
        pipeline: A trained model, or ``None`` (rules, value controls and random picks
            still decide).
        reference: Value reference used when there is no pipeline (or a newer one).
        currency: Comparison currency of ``base_value`` (for reasons).
        seed: Seed of random exploration.
    """

    def __init__(
        self,
        *,
        policy: LanePolicy,
        rules: RuleSet | None = None,
        pipeline: RiskPipeline | None = None,
        reference: ValueReference | None = None,
        currency: str = "EUR",
        seed: int = 42,
    ) -> None:
        self.policy = policy
        self.rules = rules
        self.pipeline = pipeline
        self.reference = reference or (pipeline.reference_ if pipeline is not None else None)
        self.currency = currency
        self.seed = seed

    def apply_rules(self, view: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
        """The first half of :meth:`assess`: value columns and targeting rules.

        Returns:
            ``view`` with the value columns and each consignment's ``rule_score``; one row
            per consignment (office, period, AEO status, lowest value z-score, rule hits,
            rule score, forced lane), sorted by id; and the rule hits.
        """
        view = with_value_columns(view, self.reference)
        cons = (
            view.group_by(c.CONSIGNMENT_ID)
            .agg(
                pl.col(c.OFFICE_OF_ARRIVAL).first(),
                pl.col(PERIOD).first(),
                pl.col(AEO_STATUS).first(),
                pl.col(VALUE_Z).min(),
            )
            .sort(c.CONSIGNMENT_ID)
        )
        if self.rules is not None:
            rule_hits = self.rules.apply(view)
            hits = rule_hits.hits
            cons = cons.join(rule_hits.consignments, on=c.CONSIGNMENT_ID, how="left")
        else:
            hits = pl.DataFrame(schema={c.CONSIGNMENT_ID: pl.String(), RULE_ID: pl.String()})
            cons = cons.with_columns(
                pl.lit([], dtype=pl.List(pl.String)).alias(RULE_HITS),
                pl.lit(0.0).alias(RULE_SCORE),
                pl.lit(None, dtype=pl.String).alias(FORCED_LANE),
            )
        cons = cons.with_columns(pl.col(RULE_SCORE).fill_null(0.0))
        # the model may read the summed rule weight as a feature (see the module docstring)
        view = view.join(cons.select(c.CONSIGNMENT_ID, RULE_SCORE), on=c.CONSIGNMENT_ID, how="left")
        return view, cons, hits

    def assess(self, view: pl.DataFrame, *, used: pl.DataFrame | None = None) -> RiskOutcome:
        """Decide a lane for every consignment of ``view`` (see the module docstring)."""
        view, cons, hits = self.apply_rules(view)
        notes: list[str] = []
        if self.pipeline is not None:
            scores = self.pipeline.score_consignments(
                view, top=0, values_applied=self.reference is self.pipeline.reference_
            ).select(c.CONSIGNMENT_ID, RISK_SCORE, EXPECTED_REVENUE, MODEL_VERSION, _RISKIEST)
            cons = cons.join(scores, on=c.CONSIGNMENT_ID, how="left").with_columns(
                pl.col(RISK_SCORE).alias("_selection_score")
            )
        else:
            notes.append("no trained model: rules, value controls and the random share decide")
            cons = cons.with_columns(
                pl.lit(None, dtype=pl.Float64).alias(RISK_SCORE),
                pl.lit(None, dtype=pl.Float64).alias(EXPECTED_REVENUE),
                pl.lit(None, dtype=pl.String).alias(MODEL_VERSION),
                pl.lit(None, dtype=pl.Int64).alias(_RISKIEST),
                pl.lit(None, dtype=pl.Float64).alias("_selection_score"),
            )
        candidates = cons.with_columns(pl.col("_selection_score").alias(RISK_SCORE)).drop(
            "_selection_score"
        )
        selection = select_lanes(candidates, self.policy, seed=self.seed, used=used)
        notes.extend(selection.notes)
        decisions = selection.decisions.drop(RISK_SCORE).join(
            cons.select(c.CONSIGNMENT_ID, RISK_SCORE), on=c.CONSIGNMENT_ID, how="left"
        )
        decisions = decisions.with_columns(self._reasons(view, decisions, hits).alias(REASONS))
        return RiskOutcome(
            decisions=decisions,
            hits=hits,
            report=selection.report,
            usage=selection.usage,
            notes=tuple(notes),
            ruleset_id=self.rules.id if self.rules is not None else None,
        )

    # ---------------------------------------------------------------- reasons

    def explain_view(self, view: pl.DataFrame) -> dict[str, str]:
        """Model reasons (with contributions) for every consignment of ``view``."""
        if self.pipeline is None or view.is_empty():
            return {}
        scored = self.pipeline.score_consignments(view, top=3)
        return {
            row[c.CONSIGNMENT_ID]: json.dumps(
                explain.model_reasons(
                    row[RISK_SCORE],
                    row[EXPECTED_REVENUE],
                    row[MODEL_VERSION],
                    row[TOP_CONTRIBUTIONS],
                    self.currency,
                )
            )
            for row in scored.iter_rows(named=True)
        }

    def _explain_controlled(self, view: pl.DataFrame, controlled: pl.DataFrame) -> dict[str, str]:
        """Model reasons with contributions for the red and yellow consignments.

        Uses the scores and riskiest items already computed for the batch: only the
        contributions (TreeSHAP) of one goods item per consignment are computed here.
        """
        if self.pipeline is None or controlled.is_empty():
            return {}
        keys = controlled.select(c.CONSIGNMENT_ID, pl.col(_RISKIEST).alias(c.ITEM_NO))
        riskiest = view.join(keys, on=[c.CONSIGNMENT_ID, c.ITEM_NO], how="semi")
        texts = self.pipeline.contributions(
            riskiest, top=3, values_applied=self.reference is self.pipeline.reference_
        )
        by_id = dict(zip(riskiest[c.CONSIGNMENT_ID].to_list(), texts, strict=True))
        return {
            row[c.CONSIGNMENT_ID]: json.dumps(
                explain.model_reasons(
                    row[RISK_SCORE],
                    row[EXPECTED_REVENUE],
                    row[MODEL_VERSION],
                    by_id.get(row[c.CONSIGNMENT_ID]),
                    self.currency,
                )
            )
            for row in controlled.iter_rows(named=True)
        }

    def _reasons(
        self, view: pl.DataFrame, decisions: pl.DataFrame, hits: pl.DataFrame
    ) -> pl.Series:
        """The JSON reasons list of every decision, built for the whole batch at once."""
        controlled = decisions.filter(pl.col(LANE).is_in([Lane.RED, Lane.YELLOW]))
        explained = self._explain_controlled(view, controlled)
        parts = decisions.select(
            c.CONSIGNMENT_ID,
            c.OFFICE_OF_ARRIVAL,
            AEO_STATUS,
            explain.lane_reason_expr().alias("_lane"),
            explain.score_reason_expr(self.currency).alias("_score"),
        )
        if explained:
            detailed = pl.DataFrame(
                {
                    c.CONSIGNMENT_ID: list(explained),
                    "_detail": [text[1:-1] or None for text in explained.values()],
                },
                schema={c.CONSIGNMENT_ID: pl.String(), "_detail": pl.String()},
            )
            parts = parts.join(
                detailed, on=c.CONSIGNMENT_ID, how="left", maintain_order="left"
            ).with_columns(pl.coalesce("_detail", "_score").alias("_score"))
        if hits.height and ACTION_LANE in hits.columns:
            rules = hits.group_by(c.CONSIGNMENT_ID, maintain_order=True).agg(
                explain.rule_reason_expr().str.join(",").alias("_rules")
            )
            parts = parts.join(rules, on=c.CONSIGNMENT_ID, how="left", maintain_order="left")
        else:
            parts = parts.with_columns(pl.lit(None, dtype=pl.String).alias("_rules"))
        lowest = (
            view.select(c.CONSIGNMENT_ID, *_VALUE_COLUMNS)
            .sort(VALUE_PERCENTILE, nulls_last=True)
            .group_by(c.CONSIGNMENT_ID, maintain_order=True)
            .first()
            .select(c.CONSIGNMENT_ID, explain.value_reason_expr(self.currency).alias("_value"))
        )
        parts = parts.join(lowest, on=c.CONSIGNMENT_ID, how="left", maintain_order="left")
        pairs = parts.select(c.OFFICE_OF_ARRIVAL, AEO_STATUS).unique().drop_nulls()
        weights = pairs.with_columns(
            pl.Series(
                "aeo_weight",
                [
                    self.policy.for_office(office).aeo_weight(status)
                    for office, status in pairs.iter_rows()
                ],
                dtype=pl.Float64,
            )
        )
        parts = parts.join(
            weights, on=[c.OFFICE_OF_ARRIVAL, AEO_STATUS], how="left", maintain_order="left"
        ).with_columns(explain.aeo_reason_expr().alias("_aeo"))
        joined = pl.concat_list("_lane", "_rules", "_score", "_value", "_aeo").list.drop_nulls()
        # every join above keeps the decisions' row order
        return parts.select(
            pl.concat_str(pl.lit("["), joined.list.join(","), pl.lit("]")).alias(REASONS)
        ).get_column(REASONS)
