"""Column names of the risk domain: the risk view, value controls, scores and decisions.

The **risk view** is one row per goods item with its consignment's columns joined on
(``consignment_id``): every canonical column of :mod:`smartcustoms.model.columns`, plus the
enrichment columns below. Rules, value controls and features all read it; decisions come out
one row per consignment.

Column names used in code are the constants of this module, never string literals.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

__all__ = [
    "AEO_STATUS",
    "BASE_VALUE",
    "DQ_SCORE",
    "EXPECTED_REVENUE",
    "FORCED_LANE",
    "HS6",
    "IMPORTER_ID",
    "IS_NONCOMPLIANT",
    "IS_RANDOM_PICK",
    "LABEL_COLUMNS",
    "LANE",
    "MODEL_VERSION",
    "PERIOD",
    "PRIORITY",
    "REASONS",
    "REVENUE_AT_STAKE",
    "RISK_SCORE",
    "RULE_HITS",
    "RULE_SCORE",
    "SELECTION_BASIS",
    "UNIT_VALUE",
    "VALUE_PERCENTILE",
    "VALUE_RATIO",
    "VALUE_REF_LEVEL",
    "VALUE_REF_MEDIAN",
    "VALUE_REF_N",
    "VALUE_Z",
    "AeoStatus",
    "Lane",
    "is_label_column",
]


class Lane(StrEnum):
    """Control lanes, from the strictest.

    * ``red`` - physical inspection (takes inspection capacity);
    * ``yellow`` - documentary check (takes document-check capacity);
    * ``blue`` - released now, flagged for post-clearance audit;
    * ``green`` - released without control.
    """

    RED = "red"
    YELLOW = "yellow"
    BLUE = "blue"
    GREEN = "green"


class AeoStatus(StrEnum):
    """How a consignment's operator is recognised as trusted.

    * ``national`` - holds an Authorised Economic Operator certificate of this administration;
    * ``mra`` - holds a partner administration's AEO status recognised under a mutual
      recognition arrangement (WCO SAFE Framework, Pillar 2).
    """

    NATIONAL = "national"
    MRA = "mra"


# --- enrichment columns of the risk view (item level) -------------------------------------
HS6: Final = "hs6"
"""First six digits of ``hs_code`` (the HS 2022 subheading)."""
IMPORTER_ID: Final = "importer_id"
"""Importer party id (canonical, flattened from ``importer.id``)."""
BASE_VALUE: Final = "base_value"
"""Item value in one comparison currency (Float64): the customs value in the regime currency
when the tariff stage ran, the declared ``value`` when all data share one currency."""
DQ_SCORE: Final = "dq_score"
"""Data-quality score of the consignment, 0-100 (:func:`smartcustoms.intake.score_quality`)."""
AEO_STATUS: Final = "aeo_status"
"""An :class:`AeoStatus` value, or null when the operator is not recognised as trusted."""
PERIOD: Final = "period"
"""Capacity period a consignment falls in (a date: the day of ``filed_at``)."""

# --- value controls ------------------------------------------------------------------------
UNIT_VALUE: Final = "unit_value"
"""``base_value`` / ``net_mass_kg`` (null when the mass is missing or zero)."""
VALUE_REF_MEDIAN: Final = "value_ref_median"
"""Median unit value of the reference the item was compared with."""
VALUE_REF_N: Final = "value_ref_n"
"""Number of historical items in that reference."""
VALUE_REF_LEVEL: Final = "value_ref_level"
"""Which reference was used: ``hs6_origin``, ``hs6`` or ``hs4`` (null: none had enough data)."""
VALUE_RATIO: Final = "value_ratio"
"""``unit_value`` / ``value_ref_median``."""
VALUE_Z: Final = "value_z"
"""Robust z-score of ``log(unit_value)``: (log value - log median) / (1.4826 x MAD)."""
VALUE_PERCENTILE: Final = "value_percentile"
"""Position of ``unit_value`` in its reference distribution, 0-100."""

# --- scores and decisions (consignment level) ----------------------------------------------
RULE_SCORE: Final = "rule_score"
"""Sum of the weights of the scoring rules hit."""
RULE_HITS: Final = "rule_hits"
"""List of the ids of the rules hit."""
FORCED_LANE: Final = "forced_lane"
"""Strictest lane forced by a rule hit (null when no rule forces one)."""
RISK_SCORE: Final = "risk_score"
"""Probability of non-compliance, 0-1 (from the model; rules-only when no model is loaded)."""
EXPECTED_REVENUE: Final = "expected_revenue"
"""Expected revenue at stake: probability x predicted revenue, in the regime currency."""
PRIORITY: Final = "priority"
"""The quantity selection ranks by (risk, expected revenue or the stated mix)."""
LANE: Final = "lane"
"""The :class:`Lane` chosen."""
IS_RANDOM_PICK: Final = "is_random_pick"
"""Selected by the random exploration share, not by its score."""
SELECTION_BASIS: Final = "selection_basis"
"""Why the lane was chosen: ``rule``, ``score``, ``random`` or ``default``."""
REASONS: Final = "reasons"
"""JSON list of plain-words reasons (rule hits, top feature contributions, value control)."""
MODEL_VERSION: Final = "model_version"
"""Version of the model that scored the consignment (null: no model was used)."""

# --- labels: never features ----------------------------------------------------------------
IS_NONCOMPLIANT: Final = "is_noncompliant"
"""Label: the control found the consignment (or item) non-compliant."""
REVENUE_AT_STAKE: Final = "revenue_at_stake"
"""Label: duties and taxes the declaration would have evaded."""

LABEL_COLUMNS: Final = frozenset(
    {
        IS_NONCOMPLIANT,
        REVENUE_AT_STAKE,
        "fraud_type",
        "revenue_recovered",
        "inspection_result",
        "corrected_hs_code",
        "corrected_value",
        "finding",
        "seller_is_repeat_offender",
        "split_group_id",
        "has_restricted_goods",
        "true_total_value",
        "true_hs_codes",
        "declared_total_value",
        "declared_hs_codes",
        "fraud",
        "critical_fraud",
    }
)
"""Names of columns that carry (or are derived from) control outcomes."""


def is_label_column(name: str) -> bool:
    """Whether ``name`` carries a control outcome and so must never be a model feature.

    Matches :data:`LABEL_COLUMNS` case-insensitively with spaces read as underscores (the
    Jeong et al. files say ``Critical Fraud``), and any ``label_``/``true_`` prefix.
    """
    key = name.strip().lower().replace(" ", "_").replace("-", "_")
    return key in LABEL_COLUMNS or key.startswith(("label_", "true_"))
