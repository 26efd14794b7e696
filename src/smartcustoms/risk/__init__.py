"""Risk management: which consignments to control, and why.

Targeting rules and watch lists as data (:mod:`~smartcustoms.risk.rules`), learned value
controls (:mod:`~smartcustoms.risk.value_controls`), history risk profiles and features, a
LightGBM model under the scikit-learn contract (:mod:`~smartcustoms.risk.model`,
:mod:`~smartcustoms.risk.pipeline`), lane selection under inspection capacity with a random
exploration share and AEO benefits (:mod:`~smartcustoms.risk.selection`), explanations,
evaluation and drift. :class:`RiskEngine` runs them as one batch step over the risk view
(:func:`build_risk_view`). See ``docs/risk.md``.
"""

from __future__ import annotations

from smartcustoms.risk.columns import AeoStatus, Lane, is_label_column
from smartcustoms.risk.engine import RiskEngine, RiskOutcome
from smartcustoms.risk.evaluation import chronological_split, compare_rankers
from smartcustoms.risk.features import FeatureBuilder, FeatureConfig, FeatureSchema
from smartcustoms.risk.metrics import (
    RankingMetrics,
    auc,
    population_stability_index,
    ranking_metrics,
)
from smartcustoms.risk.model import RiskModel
from smartcustoms.risk.pipeline import RiskPipeline
from smartcustoms.risk.policy import LanePolicy, OfficePolicy, default_policy, load_policy
from smartcustoms.risk.profiles import HistoryProfiles, out_of_fold_profiles
from smartcustoms.risk.rules import RuleHits, RuleSet, check_rules, load_rules
from smartcustoms.risk.selection import Selection, select_lanes
from smartcustoms.risk.value_controls import (
    ValueReference,
    fit_value_reference,
    with_value_controls,
)
from smartcustoms.risk.view import build_risk_view
from smartcustoms.risk.watchlists import WatchList, load_watchlists

__all__ = [
    "AeoStatus",
    "FeatureBuilder",
    "FeatureConfig",
    "FeatureSchema",
    "HistoryProfiles",
    "Lane",
    "LanePolicy",
    "OfficePolicy",
    "RankingMetrics",
    "RiskEngine",
    "RiskModel",
    "RiskOutcome",
    "RiskPipeline",
    "RuleHits",
    "RuleSet",
    "Selection",
    "ValueReference",
    "WatchList",
    "auc",
    "build_risk_view",
    "check_rules",
    "chronological_split",
    "compare_rankers",
    "default_policy",
    "fit_value_reference",
    "is_label_column",
    "load_policy",
    "load_rules",
    "load_watchlists",
    "out_of_fold_profiles",
    "population_stability_index",
    "ranking_metrics",
    "select_lanes",
    "with_value_controls",
]
