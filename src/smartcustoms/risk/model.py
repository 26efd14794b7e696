"""The learned part of targeting: a gradient-boosted model of non-compliance and revenue.

:class:`RiskModel` follows the scikit-learn estimator contract (``__init__`` stores keyword
hyperparameters only, ``fit`` validates and returns ``self``, learned state ends in ``_``,
predicting before fitting raises :class:`~smartcustoms.errors.NotFittedError`) around two
LightGBM boosters:

* a **classifier** of the probability that a goods item is non-compliant;
* a **revenue regressor** of the revenue at stake *given* non-compliance, trained on the
  non-compliant rows only (on ``log1p``), so ``expected revenue = p x revenue``.

It takes an already-built feature frame (see :mod:`smartcustoms.risk.features`): numeric
columns, and categorical columns as non-negative integer codes. Columns whose names carry
control outcomes are refused (:class:`~smartcustoms.errors.LabelLeakageError`).

LightGBM is used through its core ``train`` API rather than ``LGBMClassifier``, so the
package does not depend on scikit-learn. Its own SHAP-style contributions
(``pred_contrib``) explain each score.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any, Self

# OpenMP's default spin-waiting made LightGBM 12-30x slower on two cores shared with other
# work (the clearance writer thread, other processes). libgomp reads this when LightGBM's
# library loads, so it must be set before the import; an explicit setting still wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import lightgbm as lgb
import numpy as np
import polars as pl
from numpy.typing import ArrayLike, NDArray

from smartcustoms.errors import (
    InsufficientLabelsError,
    LabelLeakageError,
    ModelSchemaMismatchError,
    NotFittedError,
    Problem,
)
from smartcustoms.risk.columns import is_label_column

__all__ = ["RiskModel", "feature_matrix", "frame_schema_hash"]

_PARAM_NAMES = (
    "n_estimators",
    "learning_rate",
    "num_leaves",
    "min_child_samples",
    "colsample_bytree",
    "reg_lambda",
    "cat_smooth",
    "early_stopping_rounds",
    "fit_revenue",
    "num_threads",
    "random_state",
)


def frame_schema_hash(
    columns: Sequence[str], dtypes: Sequence[str], categorical: Sequence[str]
) -> str:
    """SHA-256 of the feature names, their dtypes and which are categorical, in order."""
    spec = [
        {"name": n, "dtype": d, "categorical": n in set(categorical)}
        for n, d in zip(columns, dtypes, strict=True)
    ]
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


def feature_matrix(features: pl.DataFrame, names: Sequence[str]) -> NDArray[np.float32]:
    """The named columns as one C-ordered float32 matrix (nulls -> NaN, read as missing).

    32 bits are what LightGBM bins features into anyway, and halve the memory it walks.
    """
    matrix = features.select(pl.col(n).cast(pl.Float32) for n in names).to_numpy()
    return np.ascontiguousarray(matrix, dtype=np.float32)


def _refuse_labels(columns: Sequence[str]) -> None:
    bad = [c for c in columns if is_label_column(c)]
    if bad:
        raise LabelLeakageError(
            f"refusing to use control outcomes as features: {', '.join(bad)}",
            tuple(
                Problem(
                    code="risk.label_leakage",
                    path=name,
                    message=f"column {name!r} carries inspection outcomes; never a feature",
                )
                for name in bad
            ),
        )


class RiskModel:
    """Probability of non-compliance and revenue at stake, from a feature frame.

    Args:
        n_estimators: Maximum boosting rounds.
        learning_rate: Shrinkage per round.
        num_leaves: Leaves per tree.
        min_child_samples: Minimum rows per leaf.
        colsample_bytree: Share of features tried per tree.
        reg_lambda: L2 regularisation.
        cat_smooth: LightGBM smoothing of categorical splits.
        early_stopping_rounds: Stop when the validation loss has not improved for this many
            rounds (only with an ``eval_set``).
        fit_revenue: Also fit the revenue regressor when revenue is given.
        num_threads: LightGBM threads.
        random_state: Seed of every random choice LightGBM makes.
    """

    def __init__(
        self,
        *,
        n_estimators: int = 150,
        learning_rate: float = 0.1,
        num_leaves: int = 31,
        min_child_samples: int = 20,
        colsample_bytree: float = 0.8,
        reg_lambda: float = 1.0,
        cat_smooth: float = 10.0,
        early_stopping_rounds: int = 50,
        fit_revenue: bool = True,
        num_threads: int = 2,
        random_state: int = 42,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.cat_smooth = cat_smooth
        self.early_stopping_rounds = early_stopping_rounds
        self.fit_revenue = fit_revenue
        self.num_threads = num_threads
        self.random_state = random_state

    # ---------------------------------------------------------------- estimator API

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Hyperparameters as given to ``__init__`` (scikit-learn contract)."""
        return {name: getattr(self, name) for name in _PARAM_NAMES}

    def set_params(self, **params: Any) -> Self:
        """Set hyperparameters; unknown names raise ``ValueError``."""
        for name, value in params.items():
            if name not in _PARAM_NAMES:
                raise ValueError(f"unknown parameter {name!r} for RiskModel")
            setattr(self, name, value)
        return self

    def _booster_params(self, objective: str) -> dict[str, Any]:
        return {
            "objective": objective,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_child_samples,
            "feature_fraction": self.colsample_bytree,
            "lambda_l2": self.reg_lambda,
            "cat_smooth": self.cat_smooth,
            "num_threads": self.num_threads,
            "seed": self.random_state,
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
        }

    def fit(
        self,
        x: pl.DataFrame,
        y: ArrayLike,
        *,
        revenue: ArrayLike | None = None,
        categorical: Sequence[str] = (),
        eval_set: tuple[pl.DataFrame, ArrayLike] | None = None,
    ) -> Self:
        """Fit the classifier (and the revenue regressor) on a feature frame.

        Args:
            x: Features: numeric columns, categorical ones as non-negative integer codes.
            y: 1/True for non-compliant rows.
            revenue: Revenue at stake per row (used on non-compliant rows only).
            categorical: Names of the categorical columns of ``x``.
            eval_set: Validation features and labels for early stopping.

        Raises:
            LabelLeakageError: ``x`` has a column carrying control outcomes.
            InsufficientLabelsError: Fewer than two rows of each class.
        """
        names = list(x.columns)
        _refuse_labels(names)
        unknown = sorted(set(categorical) - set(names))
        if unknown:
            raise ValueError(f"categorical columns not in x: {unknown}")
        labels = np.asarray(y, dtype=np.float64).reshape(-1)
        if labels.size != x.height:
            raise ValueError(f"{labels.size} labels for {x.height} rows")
        positives = int((labels > 0).sum())
        if positives < 2 or labels.size - positives < 2:
            raise InsufficientLabelsError(
                f"need at least two compliant and two non-compliant rows; got {positives} "
                f"non-compliant of {labels.size}"
            )
        cats = [n for n in names if n in set(categorical)]
        train = lgb.Dataset(
            feature_matrix(x, names),
            label=(labels > 0).astype(np.float64),
            feature_name=names,
            categorical_feature=cats or "auto",
            free_raw_data=True,
        )
        valid_sets: list[lgb.Dataset] = []
        callbacks: list[Any] = []
        if eval_set is not None:
            ex, ey = eval_set
            valid_sets.append(
                lgb.Dataset(
                    feature_matrix(ex, names),
                    label=(np.asarray(ey, dtype=np.float64).reshape(-1) > 0).astype(np.float64),
                    reference=train,
                )
            )
            callbacks.append(lgb.early_stopping(self.early_stopping_rounds, verbose=False))
        classifier = lgb.train(
            self._booster_params("binary"),
            train,
            num_boost_round=self.n_estimators,
            valid_sets=valid_sets or None,
            callbacks=callbacks or None,
        )
        self.classifier_ = classifier
        self.best_iteration_ = int(classifier.best_iteration or classifier.current_iteration())
        self.feature_names_ = names
        self.categorical_ = cats
        self.dtypes_ = [str(x.schema[n]) for n in names]
        self.schema_hash_ = frame_schema_hash(names, self.dtypes_, cats)
        self.n_train_ = int(labels.size)
        self.positive_rate_ = positives / labels.size
        self.revenue_model_: lgb.Booster | None = None
        if revenue is not None and self.fit_revenue:
            rev = np.asarray(revenue, dtype=np.float64).reshape(-1)
            keep = (labels > 0) & np.isfinite(rev)
            if int(keep.sum()) >= 20:
                reg = lgb.Dataset(
                    feature_matrix(x.filter(pl.Series(keep)), names),
                    label=np.log1p(np.maximum(rev[keep], 0.0)),
                    feature_name=names,
                    categorical_feature=cats or "auto",
                )
                # The revenue estimate only orders consignments by what is at stake: a
                # smaller model than the classifier is enough, and keeps scoring fast.
                params = {
                    **self._booster_params("regression"),
                    "num_leaves": 15,
                    "learning_rate": max(self.learning_rate, 0.2),
                }
                self.revenue_model_ = lgb.train(params, reg, num_boost_round=40)
        return self

    # ---------------------------------------------------------------- prediction

    def _check_fitted(self) -> None:
        if not hasattr(self, "classifier_"):
            raise NotFittedError("this RiskModel is not fitted yet; call fit() first")

    def _matrix(self, x: pl.DataFrame) -> NDArray[np.float32]:
        self._check_fitted()
        missing = [n for n in self.feature_names_ if n not in x.columns]
        if missing:
            raise ModelSchemaMismatchError(f"features missing for this model: {', '.join(missing)}")
        return feature_matrix(x, self.feature_names_)

    def predict_proba(self, x: pl.DataFrame) -> NDArray[np.float64]:
        """``(n, 2)`` array: probability of compliant, of non-compliant."""
        m = self._matrix(x)
        p = np.asarray(self.classifier_.predict(m, num_iteration=self.best_iteration_))
        return np.column_stack([1.0 - p, p])

    def predict(self, x: pl.DataFrame) -> NDArray[np.int64]:
        """1 where non-compliance is more likely than not."""
        return (self.predict_proba(x)[:, 1] >= 0.5).astype(np.int64)

    def predict_revenue(self, x: pl.DataFrame) -> NDArray[np.float64]:
        """Revenue at stake if the row is non-compliant (NaN without a revenue model)."""
        m = self._matrix(x)
        if self.revenue_model_ is None:
            return np.full(m.shape[0], np.nan)
        revenue = np.expm1(np.asarray(self.revenue_model_.predict(m), dtype=np.float64))
        return np.clip(revenue, 0.0, None)

    def predict_scores(self, x: pl.DataFrame) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Probability of non-compliance and revenue if non-compliant, in one pass.

        Same as ``predict_proba(x)[:, 1]`` and :meth:`predict_revenue`, with the feature
        matrix built once (it is a large share of the cost of scoring).
        """
        m = self._matrix(x)
        p = np.asarray(self.classifier_.predict(m, num_iteration=self.best_iteration_))
        if self.revenue_model_ is None:
            return p, np.full(m.shape[0], np.nan)
        revenue = np.expm1(np.asarray(self.revenue_model_.predict(m), dtype=np.float64))
        return p, np.clip(revenue, 0.0, None)

    def contributions(self, x: pl.DataFrame) -> NDArray[np.float64]:
        """Per-feature contributions to the log-odds, last column the base value.

        LightGBM's exact TreeSHAP values: each row's contributions sum to its raw score.
        """
        m = self._matrix(x)
        out = self.classifier_.predict(m, num_iteration=self.best_iteration_, pred_contrib=True)
        return np.asarray(out, dtype=np.float64)

    def feature_importances(self) -> dict[str, float]:
        """Total gain per feature."""
        self._check_fitted()
        gains = self.classifier_.feature_importance(importance_type="gain")
        return dict(zip(self.feature_names_, (float(g) for g in gains), strict=True))

    # ---------------------------------------------------------------- persistence

    def to_files(self) -> dict[str, bytes]:
        """The fitted model as named files (``model.json`` + booster texts)."""
        self._check_fitted()
        manifest = {
            "params": self.get_params(),
            "feature_names": self.feature_names_,
            "dtypes": self.dtypes_,
            "categorical": self.categorical_,
            "schema_hash": self.schema_hash_,
            "best_iteration": self.best_iteration_,
            "n_train": self.n_train_,
            "positive_rate": self.positive_rate_,
        }
        files = {
            "model.json": json.dumps(manifest, indent=1).encode(),
            "classifier.txt": self.classifier_.model_to_string().encode(),
        }
        if self.revenue_model_ is not None:
            files["revenue.txt"] = self.revenue_model_.model_to_string().encode()
        return files

    @classmethod
    def from_files(
        cls, files: Mapping[str, bytes], *, expected_schema_hash: str | None = None
    ) -> RiskModel:
        """Rebuild a model saved by :meth:`to_files`.

        Raises:
            ModelSchemaMismatchError: ``expected_schema_hash`` differs from the saved one.
        """
        manifest = json.loads(files["model.json"])
        if expected_schema_hash is not None and manifest["schema_hash"] != expected_schema_hash:
            raise ModelSchemaMismatchError(
                "the saved model was trained on a different feature schema "
                f"({manifest['schema_hash'][:12]}, expected {expected_schema_hash[:12]}); "
                "retrain it with `smartcustoms risk train`"
            )
        model = cls(**manifest["params"])
        model.classifier_ = lgb.Booster(model_str=files["classifier.txt"].decode())
        model.revenue_model_ = (
            lgb.Booster(model_str=files["revenue.txt"].decode()) if "revenue.txt" in files else None
        )
        model.feature_names_ = list(manifest["feature_names"])
        model.dtypes_ = list(manifest["dtypes"])
        model.categorical_ = list(manifest["categorical"])
        model.schema_hash_ = str(manifest["schema_hash"])
        model.best_iteration_ = int(manifest["best_iteration"])
        model.n_train_ = int(manifest["n_train"])
        model.positive_rate_ = float(manifest["positive_rate"])
        return model
