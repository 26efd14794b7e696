"""Research pipeline on the Jeong data built only from smartcustoms.risk modules + LightGBM."""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import time
from dataclasses import dataclass, field, replace

import lightgbm as lgb
import numpy as np
import polars as pl

from smartcustoms.model.columns import VALUE
from smartcustoms.risk.columns import IS_NONCOMPLIANT
from smartcustoms.risk.features import FeatureBuilder, FeatureConfig, feature_matrix
from smartcustoms.risk.profiles import HistoryProfiles, out_of_fold_profiles
from smartcustoms.risk.value_controls import fit_value_reference


# ------------------------------------------------------------------ metrics
def top_k(n: int, pct: float) -> int:
    return max(1, round(n * pct / 100.0))


def order(score: np.ndarray) -> np.ndarray:
    return np.argsort(-np.asarray(score, dtype=np.float64), kind="stable")


def precision_at(score, y, pct):
    o = order(score)[: top_k(len(score), pct)]
    return float(np.asarray(y)[o].mean())


def recall_at(score, y, pct):
    y = np.asarray(y)
    o = order(score)[: top_k(len(score), pct)]
    return float(y[o].sum() / max(1, y.sum()))


def revenue_at(score, rev, pct):
    rev = np.asarray(rev, dtype=np.float64)
    o = order(score)[: top_k(len(score), pct)]
    return float(rev[o].sum() / rev.sum())


def auc(score, y):
    s = np.asarray(score, dtype=np.float64)
    y = np.asarray(y).astype(bool)
    # Mann-Whitney with average ranks for ties
    o = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    ss = s[o]
    # average ranks
    _, first, counts = np.unique(ss, return_index=True, return_counts=True)
    avg = first + (counts + 1) / 2.0
    ranks[o] = np.repeat(avg, counts)
    npos = y.sum()
    nneg = len(y) - npos
    return float((ranks[y].sum() - npos * (npos + 1) / 2) / (npos * nneg))


def report(score, y, rev, prefix=""):
    return {
        f"{prefix}P@1": precision_at(score, y, 1),
        f"{prefix}P@5": precision_at(score, y, 5),
        f"{prefix}P@10": precision_at(score, y, 10),
        f"{prefix}R@5": recall_at(score, y, 5),
        f"{prefix}Rev@5": revenue_at(score, rev, 5),
        f"{prefix}AUC": auc(score, y),
    }


# ------------------------------------------------------------------ recipe
@dataclass
class Recipe:
    config: FeatureConfig
    smoothing: float = 10.0
    n_folds: int = 5
    folds: str = "random"  # "random" | "group" | "both"
    group_cols: tuple[str, ...] = (VALUE,)
    params: dict = field(default_factory=dict)
    rounds: int = 3000
    early_stopping: int = 200
    seed: int = 0
    value_min_n: int = 30
    weight_unlabelled: bool = False

    def lgb_params(self) -> dict:
        p = dict(
            objective="binary",
            learning_rate=0.05,
            num_leaves=31,
            min_data_in_leaf=20,
            feature_fraction=0.8,
            bagging_fraction=0.8,
            bagging_freq=1,
            lambda_l2=1.0,
            cat_smooth=10,
            cat_l2=10,
            max_cat_to_onehot=4,
            num_threads=2,
            seed=self.seed,
            deterministic=True,
            force_row_wise=True,
            verbose=-1,
        )
        p.update(self.params)
        return p


def _training_profiles(history: pl.DataFrame, recipe: Recipe, folds: str) -> pl.DataFrame:
    cfg = recipe.config
    return out_of_fold_profiles(
        history,
        keys=cfg.profile_keys,
        stats=cfg.profile_stats,
        smoothing=recipe.smoothing,
        n_folds=recipe.n_folds,
        seed=recipe.seed,
        groups=recipe.group_cols if folds == "group" else (),
    )


@dataclass
class Fitted:
    booster: lgb.Booster
    builder: FeatureBuilder
    recipe: Recipe
    best_iteration: int
    train_seconds: float


def build_training(history: pl.DataFrame, recipe: Recipe):
    """Features of the labelled history rows with out-of-fold profiles."""
    cfg = recipe.config
    builder = FeatureBuilder(cfg).fit(history)
    reference = (
        fit_value_reference(history, min_n=recipe.value_min_n) if cfg.value_controls else None
    )
    labelled = history[IS_NONCOMPLIANT].is_not_null().to_numpy()
    if recipe.folds == "mix":
        # each row once: half of them (seeded) see grouped-fold profiles, half random-fold
        prof = out_of_fold_profiles(
            history,
            keys=cfg.profile_keys,
            stats=cfg.profile_stats,
            smoothing=recipe.smoothing,
            n_folds=recipe.n_folds,
            seed=recipe.seed,
            groups=recipe.group_cols,
            group_share=0.5,
        )
        feats = builder.transform(history, profiles=prof, reference=reference)
        y = history[IS_NONCOMPLIANT].to_numpy()[labelled].astype(np.float64)
        return builder, feature_matrix(feats, builder.schema_)[labelled], y
    modes = ["random", "group"] if recipe.folds == "both" else [recipe.folds]
    mats, ys = [], []
    for mode in modes:
        prof = _training_profiles(history, recipe, mode) if cfg.profile_keys else None
        feats = builder.transform(history, profiles=prof, reference=reference)
        mats.append(feature_matrix(feats, builder.schema_)[labelled])
        ys.append(history[IS_NONCOMPLIANT].to_numpy()[labelled].astype(np.float64))
    return builder, np.vstack(mats), np.concatenate(ys)


@dataclass
class ScoringArtefacts:
    """What a deployment keeps from the history: fitted profiles and value reference."""

    profiles: HistoryProfiles | None
    reference: object | None
    fit_seconds: float


def fit_artefacts(history: pl.DataFrame, recipe: Recipe) -> ScoringArtefacts:
    t0 = time.perf_counter()
    cfg = recipe.config
    reference = (
        fit_value_reference(history, min_n=recipe.value_min_n) if cfg.value_controls else None
    )
    profiles = (
        HistoryProfiles(
            keys=cfg.profile_keys, stats=cfg.profile_stats, smoothing=recipe.smoothing
        ).fit(history)
        if cfg.profile_keys
        else None
    )
    return ScoringArtefacts(profiles, reference, time.perf_counter() - t0)


def build_scoring(
    history: pl.DataFrame,
    view: pl.DataFrame,
    builder: FeatureBuilder,
    recipe: Recipe,
    artefacts: ScoringArtefacts | None = None,
):
    art = artefacts or fit_artefacts(history, recipe)
    feats = builder.transform(view, profiles=art.profiles, reference=art.reference)
    return feature_matrix(feats, builder.schema_)


def train(
    history: pl.DataFrame, valid: pl.DataFrame | None, recipe: Recipe, *, rounds: int | None = None
) -> Fitted:
    """Train on ``history``; early-stop on ``valid`` (scored with profiles from history)."""
    t0 = time.perf_counter()
    builder, x, y = build_training(history, recipe)
    cats = builder.schema_.categorical_names
    names = builder.schema_.names
    dtrain = lgb.Dataset(x, y, feature_name=names, categorical_feature=cats, free_raw_data=True)
    params = recipe.lgb_params()
    callbacks = []
    valid_sets = []
    if valid is not None:
        xv = build_scoring(history, valid, builder, recipe)
        yv = valid[IS_NONCOMPLIANT].to_numpy()
        keep = ~np.isnan(yv.astype(np.float64))
        dvalid = lgb.Dataset(xv[keep], yv[keep].astype(np.float64), reference=dtrain)
        valid_sets = [dvalid]
        callbacks = [lgb.early_stopping(recipe.early_stopping, verbose=False)]
    booster = lgb.train(
        params, dtrain, rounds or recipe.rounds, valid_sets=valid_sets, callbacks=callbacks
    )
    best = booster.best_iteration or booster.current_iteration()
    return Fitted(booster, builder, recipe, best, time.perf_counter() - t0)


def score(fitted: Fitted, history: pl.DataFrame, view: pl.DataFrame) -> tuple[np.ndarray, float]:
    """Scores of ``view``; the time returned covers features + predict (artefacts prefitted)."""
    art = fit_artefacts(history, fitted.recipe)
    t0 = time.perf_counter()
    x = build_scoring(history, view, fitted.builder, fitted.recipe, art)
    s = fitted.booster.predict(x, num_iteration=fitted.best_iteration)
    return s, time.perf_counter() - t0


def with_config(recipe: Recipe, **changes) -> Recipe:
    return replace(recipe, config=replace(recipe.config, **changes))
