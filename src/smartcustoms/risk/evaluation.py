"""Evaluating targeting: the model against baselines in the same run, reproducibly.

:func:`compare_rankers` fits every ranker on the same history and scores the same later rows
(a chronological split, fixed seeds), so the figures differ only by method:

* ``random`` - uniform random selection (seeded): the floor any targeting must beat;
* ``rules`` - the targeting rules' summed weights alone (when a ruleset is given);
* ``plain_gbm`` - a default LightGBM on the declared fields only: no history profiles, no
  value controls (the usual "we tried ML" baseline);
* ``smartcustoms`` - the full pipeline: value controls and history profiles (out of fold on
  training rows, strictly earlier for the rows scored).

Each result is a :class:`~smartcustoms.risk.metrics.RankingMetrics` (Precision@n %,
Recall@n %, Revenue@n %, AUC).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from smartcustoms.model import columns as c
from smartcustoms.risk.columns import IS_NONCOMPLIANT, REVENUE_AT_STAKE, RULE_SCORE
from smartcustoms.risk.features import FeatureConfig
from smartcustoms.risk.metrics import DEFAULT_BUDGETS, RankingMetrics, ranking_metrics
from smartcustoms.risk.pipeline import ITEM_SCORE, RiskPipeline
from smartcustoms.risk.rules import RuleSet
from smartcustoms.risk.value_controls import fit_value_reference, with_value_controls

__all__ = ["chronological_split", "compare_rankers", "plain_config", "results_table"]


def chronological_split(view: pl.DataFrame, test_share: float) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split by filing time: the latest ``test_share`` of rows (whole instants) is the test."""
    ordered = view.sort(c.FILED_AT, maintain_order=True)
    cut_at = ordered[c.FILED_AT][int(ordered.height * (1.0 - test_share))]
    return (
        ordered.filter(pl.col(c.FILED_AT) < cut_at),
        ordered.filter(pl.col(c.FILED_AT) >= cut_at),
    )


def plain_config(config: FeatureConfig) -> FeatureConfig:
    """The same declared features without history profiles, value controls or rule weights."""
    data = config.to_dict()
    data["profile_keys"] = []
    data["value_controls"] = False
    data["extra_numerics"] = [n for n in data["extra_numerics"] if n != RULE_SCORE]
    return FeatureConfig.from_dict(data)


def compare_rankers(
    history: pl.DataFrame,
    test: pl.DataFrame,
    *,
    config: FeatureConfig | None = None,
    model_params: Mapping[str, Any] | None = None,
    oof_groups: Sequence[str] = (c.CONSIGNMENT_ID,),
    rules: RuleSet | None = None,
    revenue: str | None = REVENUE_AT_STAKE,
    budgets: Sequence[float] = DEFAULT_BUDGETS,
    seed: int = 42,
) -> dict[str, RankingMetrics]:
    """Fit each ranker on ``history`` and rank ``test`` (item level); see the module doc.

    ``history`` rows with a null label count for frequencies only; ``test`` must be labelled.
    """
    config = config or FeatureConfig()
    y = test[IS_NONCOMPLIANT].cast(pl.Int8).to_numpy()
    rev = (
        test[revenue].cast(pl.Float64).fill_null(0.0).to_numpy()
        if revenue and revenue in test.columns
        else None
    )
    scoring = test.drop([col for col in (IS_NONCOMPLIANT, REVENUE_AT_STAKE) if col in test.columns])
    out: dict[str, RankingMetrics] = {}
    rng = np.random.default_rng(seed)
    out["random"] = ranking_metrics(y, rng.random(test.height), revenue=rev, budgets=budgets)
    if rules is not None:
        reference = fit_value_reference(history)
        hits = rules.apply(with_value_controls(scoring, reference)).consignments.select(
            c.CONSIGNMENT_ID, RULE_SCORE
        )
        score = scoring.select(c.CONSIGNMENT_ID).join(hits, on=c.CONSIGNMENT_ID, how="left")
        out["rules"] = ranking_metrics(
            y, score[RULE_SCORE].fill_null(0.0).to_numpy(), revenue=rev, budgets=budgets
        )
    for name, cfg in (("plain_gbm", plain_config(config)), ("smartcustoms", config)):
        pipeline = RiskPipeline(
            config=cfg, model_params=model_params, oof_groups=oof_groups, seed=seed
        ).fit(history)
        scores = pipeline.score_items(scoring)[ITEM_SCORE].to_numpy()
        out[name] = ranking_metrics(y, scores, revenue=rev, budgets=budgets)
    return out


def results_table(results: Mapping[str, RankingMetrics]) -> pl.DataFrame:
    """One row per ranker, one column per figure."""
    return pl.DataFrame([{"ranker": name, **m.as_dict()} for name, m in results.items()])
