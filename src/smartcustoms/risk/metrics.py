"""Ranking metrics for targeting, as the WCO BACUDA/DATE papers report them, and drift.

An administration inspects the top ``n`` % of a ranking, so a model is judged by what that
top holds:

* **Precision@n %** - share of non-compliant consignments among the top ``n`` %;
* **Recall@n %** - share of all non-compliant consignments found in the top ``n`` %;
* **Revenue@n %** - share of all revenue at stake found in the top ``n`` %;
* **AUC** - the probability that a random non-compliant row ranks above a random compliant
  one (ties count half), from the Mann-Whitney U statistic.

Ties in the score are broken by row order after a stable sort, so the figures are exactly
reproducible. Computed with numpy by hand: these are a dozen lines each and the package does
not otherwise need scikit-learn.

Drift between the scores a model was trained on and the scores it gives live is measured with
the **population stability index** (PSI): sum over bins of (live% - train%) x ln(live% /
train%), bins from the training quantiles. The usual reading: below 0.1 stable, 0.1-0.25 a
moderate shift, above 0.25 a significant one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "DEFAULT_BUDGETS",
    "PSI_WARNING",
    "RankingMetrics",
    "auc",
    "population_stability_index",
    "ranking_metrics",
    "top_n_mask",
]

DEFAULT_BUDGETS: Final = (1.0, 2.0, 5.0, 10.0)
"""Inspection budgets, in percent of rows, reported by default."""

PSI_WARNING: Final = 0.25
"""PSI above which live scores are reported as having drifted from training."""


def _as_float(values: ArrayLike) -> NDArray[np.float64]:
    return np.asarray(values, dtype=np.float64).reshape(-1)


def top_n_mask(scores: ArrayLike, percent: float) -> NDArray[np.bool_]:
    """Boolean mask of the top ``percent`` % of rows by score (at least one row if any).

    Ties are broken by position (a stable sort on the negated score), so the mask is
    reproducible. NaN scores rank last.
    """
    s = _as_float(scores)
    n = s.size
    k = max(1, round(n * percent / 100.0)) if n else 0
    order = np.argsort(-np.nan_to_num(s, nan=-np.inf), kind="stable")
    mask = np.zeros(n, dtype=bool)
    mask[order[:k]] = True
    return mask


def auc(labels: ArrayLike, scores: ArrayLike) -> float:
    """Area under the ROC curve (NaN when only one class is present)."""
    y = _as_float(labels) > 0
    s = _as_float(scores)
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    # Average ranks handle ties exactly (each tie counts one half).
    order = np.argsort(s, kind="stable")
    sorted_s = s[order]
    ranks = np.empty(s.size, dtype=np.float64)
    boundaries = np.flatnonzero(np.diff(sorted_s)) + 1
    starts = np.concatenate(([0], boundaries))
    ends = np.concatenate((boundaries, [s.size]))
    avg = (starts + ends + 1) / 2.0  # 1-based average rank of each tie block
    ranks[order] = np.repeat(avg, ends - starts)
    u = ranks[y].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


@dataclass(frozen=True, slots=True)
class RankingMetrics:
    """Targeting figures of one ranking.

    Attributes:
        rows: Rows ranked.
        positives: Non-compliant rows among them.
        auc: Area under the ROC curve.
        precision: Precision at each budget (percent -> value).
        recall: Recall at each budget.
        revenue: Revenue share at each budget (empty when no revenue was given).
    """

    rows: int
    positives: int
    auc: float
    precision: dict[float, float]
    recall: dict[float, float]
    revenue: dict[float, float]

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form with keys like ``precision@5%``."""
        out: dict[str, object] = {"rows": self.rows, "positives": self.positives, "auc": self.auc}
        for name, values in (
            ("precision", self.precision),
            ("recall", self.recall),
            ("revenue", self.revenue),
        ):
            for pct, value in values.items():
                out[f"{name}@{pct:g}%"] = value
        return out


def ranking_metrics(
    labels: ArrayLike,
    scores: ArrayLike,
    *,
    revenue: ArrayLike | None = None,
    budgets: Sequence[float] = DEFAULT_BUDGETS,
) -> RankingMetrics:
    """Precision, recall and revenue at each budget, and AUC, for one ranking.

    Args:
        labels: 1/True for non-compliant rows.
        scores: Higher means inspect first.
        revenue: Revenue at stake per row (only non-compliant rows should carry any).
        budgets: Inspection budgets in percent of rows.
    """
    y = _as_float(labels) > 0
    s = _as_float(scores)
    if y.size != s.size:
        raise ValueError(f"{y.size} labels for {s.size} scores")
    rev = _as_float(revenue) if revenue is not None else None
    total_pos = int(y.sum())
    total_rev = float(rev.sum()) if rev is not None else 0.0
    precision: dict[float, float] = {}
    recall: dict[float, float] = {}
    revenue_share: dict[float, float] = {}
    for pct in budgets:
        mask = top_n_mask(s, pct)
        hits = int(y[mask].sum())
        precision[pct] = hits / int(mask.sum()) if mask.any() else float("nan")
        recall[pct] = hits / total_pos if total_pos else float("nan")
        if rev is not None:
            revenue_share[pct] = float(rev[mask].sum()) / total_rev if total_rev else float("nan")
    return RankingMetrics(
        rows=int(y.size),
        positives=total_pos,
        auc=auc(y, s),
        precision=precision,
        recall=recall,
        revenue=revenue_share,
    )


def population_stability_index(expected: ArrayLike, actual: ArrayLike, *, bins: int = 10) -> float:
    """PSI of ``actual`` against ``expected`` with quantile bins of ``expected``.

    Empty bins are floored at 0.01 % so the logarithm stays finite. Returns NaN when either
    side is empty.
    """
    e = _as_float(expected)
    a = _as_float(actual)
    e, a = e[~np.isnan(e)], a[~np.isnan(a)]
    if e.size == 0 or a.size == 0:
        return float("nan")
    edges = np.unique(np.quantile(e, np.linspace(0.0, 1.0, bins + 1)[1:-1]))
    e_share = np.bincount(np.searchsorted(edges, e, side="right"), minlength=edges.size + 1)
    a_share = np.bincount(np.searchsorted(edges, a, side="right"), minlength=edges.size + 1)
    ep = np.maximum(e_share / e.size, 1e-4)
    ap = np.maximum(a_share / a.size, 1e-4)
    return float(np.sum((ap - ep) * np.log(ap / ep)))
