"""Ranking metrics and PSI."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from smartcustoms.risk.metrics import (
    auc,
    population_stability_index,
    ranking_metrics,
    top_n_mask,
)


def test_precision_recall_revenue_on_a_known_ranking() -> None:
    labels = [1, 0, 1, 0, 0, 0, 0, 0, 0, 1]
    scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0]
    revenue = [10, 0, 30, 0, 0, 0, 0, 0, 0, 60]
    m = ranking_metrics(labels, scores, revenue=revenue, budgets=(10, 30, 100))
    assert m.precision == {10: 1.0, 30: 2 / 3, 100: 0.3}
    assert m.recall == {10: 1 / 3, 30: 2 / 3, 100: 1.0}
    assert m.revenue == {10: 0.1, 30: 0.4, 100: 1.0}
    assert m.as_dict()["precision@10%"] == 1.0


def test_auc_perfect_inverse_and_ties() -> None:
    assert auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert auc([1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9]) == 0.0
    assert auc([0, 1], [0.5, 0.5]) == 0.5
    assert math.isnan(auc([1, 1], [0.1, 0.2]))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.booleans(), st.integers(0, 5)), min_size=2, max_size=40).filter(
        lambda rows: 0 < sum(r[0] for r in rows) < len(rows)
    )
)
def test_auc_equals_pairwise_definition(rows: list[tuple[bool, int]]) -> None:
    y = [r[0] for r in rows]
    s = [float(r[1]) for r in rows]
    pos = [si for yi, si in zip(y, s, strict=True) if yi]
    neg = [si for yi, si in zip(y, s, strict=True) if not yi]
    pairs = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    assert auc(y, s) == np.float64(pairs / (len(pos) * len(neg)))


def test_top_n_mask_is_stable_on_ties_and_takes_at_least_one_row() -> None:
    assert top_n_mask([1.0, 1.0, 1.0, 1.0], 50).tolist() == [True, True, False, False]
    assert top_n_mask([0.2, 0.9], 1).tolist() == [False, True]


def test_psi_is_small_for_same_distribution_and_large_for_a_shift() -> None:
    rng = np.random.default_rng(42)
    base = rng.normal(0, 1, 20_000)
    assert population_stability_index(base, rng.normal(0, 1, 20_000)) < 0.01
    assert population_stability_index(base, rng.normal(1.0, 1, 20_000)) > 0.25
