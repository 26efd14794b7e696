"""Lane decisions and rule hits: written with the chunk, returned on each result line."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from smartcustoms.model import columns as c
from smartcustoms.risk._ruleset import (
    ACTION_LANE,
    ACTION_WEIGHT,
    ITEM_NOS,
    RULE_ID,
    RULE_VERSION,
)
from smartcustoms.risk.columns import (
    AEO_STATUS,
    EXPECTED_REVENUE,
    FORCED_LANE,
    IS_RANDOM_PICK,
    LANE,
    MODEL_VERSION,
    PERIOD,
    PRIORITY,
    REASONS,
    RISK_SCORE,
    RULE_HITS,
    RULE_SCORE,
    SELECTION_BASIS,
    VALUE_Z,
)
from smartcustoms.risk.engine import RiskOutcome
from smartcustoms.store import BulkWriter

__all__ = ["DECISION_RESULT_SCHEMA", "decision_results", "write_decisions"]

DECISION_RESULT_SCHEMA = pl.Schema(
    {
        c.CONSIGNMENT_ID: pl.String(),
        LANE: pl.String(),
        RISK_SCORE: pl.Float64(),
        EXPECTED_REVENUE: pl.Float64(),
        MODEL_VERSION: pl.String(),
        RULE_HITS: pl.String(),
        REASONS: pl.String(),
    }
)
"""Risk columns of a clearance result line (``rule_hits`` as a JSON list)."""


def write_decisions(
    writer: BulkWriter,
    outcome: RiskOutcome,
    keep: pl.DataFrame,
    *,
    policy_id: str,
    batch_id: str,
    now: datetime,
) -> None:
    """Store the decisions and rule hits of the consignments in ``keep`` (ids)."""
    decisions = outcome.decisions.join(keep, on=c.CONSIGNMENT_ID, how="semi")
    if decisions.is_empty():
        return
    writer.insert(
        "risk_decisions",
        decisions.select(
            c.CONSIGNMENT_ID,
            LANE,
            pl.col(c.OFFICE_OF_ARRIVAL).alias("office"),
            pl.col(PERIOD).cast(pl.String).alias("period"),
            RISK_SCORE,
            RULE_SCORE,
            EXPECTED_REVENUE,
            PRIORITY,
            FORCED_LANE,
            IS_RANDOM_PICK,
            SELECTION_BASIS,
            AEO_STATUS,
            VALUE_Z,
            MODEL_VERSION,
            pl.lit(policy_id).alias("policy_id"),
            REASONS,
            pl.lit(now).alias("decided_at"),
            pl.lit(batch_id).alias("batch_id"),
        ),
    )
    hits = outcome.hits
    if hits.height and ACTION_LANE in hits.columns:
        hits = hits.join(keep, on=c.CONSIGNMENT_ID, how="semi")
        writer.insert(
            "rule_hits",
            hits.select(
                c.CONSIGNMENT_ID,
                pl.lit(outcome.ruleset_id or "").alias("ruleset_id"),
                RULE_ID,
                RULE_VERSION,
                pl.col(ACTION_LANE).alias("lane"),
                pl.col(ACTION_WEIGHT).alias("weight"),
                pl.col(ITEM_NOS).cast(pl.List(pl.String)).list.join(",").alias("item_nos"),
                pl.lit(now).alias("hit_at"),
            ),
        )


def decision_results(outcome: RiskOutcome | None) -> pl.DataFrame:
    """The risk columns of each consignment's result line."""
    if outcome is None:
        return pl.DataFrame(schema=DECISION_RESULT_SCHEMA)
    d = outcome.decisions
    return d.select(
        c.CONSIGNMENT_ID,
        LANE,
        RISK_SCORE,
        EXPECTED_REVENUE,
        MODEL_VERSION,
        pl.concat_str(
            pl.lit('["'),
            pl.col(RULE_HITS).fill_null([]).list.join('","'),
            pl.lit('"]'),
        )
        .str.replace(r'^\[""\]$', "[]")
        .alias(RULE_HITS),
        REASONS,
    ).cast(DECISION_RESULT_SCHEMA)
