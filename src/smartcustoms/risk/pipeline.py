"""A trained risk model with everything it needs to score: the saved unit of the risk engine.

:class:`RiskPipeline` bundles, fitted together on one history:

* the :class:`~smartcustoms.risk.features.FeatureBuilder` (config + category dictionaries),
* the :class:`~smartcustoms.risk.value_controls.ValueReference` learned from all history,
* the :class:`~smartcustoms.risk.profiles.HistoryProfiles` used at scoring time (profiles of
  training rows are computed **out of fold**, those of scored rows **strictly from the
  history before them**),
* the :class:`~smartcustoms.risk.model.RiskModel` (classifier + revenue regressor),
* metadata: version, feature-schema hash, training window, seed, validation figures, and a
  sample of training scores for drift.

It saves to one ZIP archive (JSON, Parquet and LightGBM text inside; no pickle, so loading
a model never runs code). Loading checks the feature-schema hash against what this code
builds and refuses a mismatch.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Self

import numpy as np
import polars as pl

from smartcustoms import __version__
from smartcustoms.errors import InsufficientLabelsError, ModelSchemaMismatchError, NotFittedError
from smartcustoms.model import columns as c
from smartcustoms.risk.columns import (
    EXPECTED_REVENUE,
    IS_NONCOMPLIANT,
    MODEL_VERSION,
    REVENUE_AT_STAKE,
    RISK_SCORE,
)
from smartcustoms.risk.features import FeatureBuilder, FeatureConfig
from smartcustoms.risk.metrics import ranking_metrics
from smartcustoms.risk.model import RiskModel
from smartcustoms.risk.profiles import HistoryProfiles, out_of_fold_profiles
from smartcustoms.risk.value_controls import ValueReference, fit_value_reference

__all__ = ["ITEM_REVENUE", "ITEM_SCORE", "TOP_CONTRIBUTIONS", "RiskPipeline"]

ITEM_SCORE = "item_score"
"""Probability of non-compliance of one goods item."""
ITEM_REVENUE = "item_revenue"
"""Predicted revenue at stake of one goods item if non-compliant."""
TOP_CONTRIBUTIONS = "top_contributions"
"""JSON list of the item's largest feature contributions ``[feature, value, log-odds]``."""

_FORMAT = 1


def _parquet(frame: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.write_parquet(buf)
    return buf.getvalue()


class RiskPipeline:
    """Features, value controls, history profiles and model, fitted and saved together.

    Args:
        config: Which features to build (default :class:`FeatureConfig`).
        model_params: Hyperparameters for :class:`RiskModel`.
        n_folds: Folds of the out-of-fold training profiles.
        oof_groups: Columns kept in one fold when computing training profiles. By default
            the goods items of one consignment stay together: they share its label, so a
            sibling item in another fold would carry a row's own label into its profile.
        valid_fraction: The latest share of labelled rows held out for early stopping.
        seed: Seed of fold assignment and of the model.
    """

    def __init__(
        self,
        *,
        config: FeatureConfig | None = None,
        model_params: Mapping[str, Any] | None = None,
        n_folds: int = 5,
        oof_groups: Sequence[str] = (c.CONSIGNMENT_ID,),
        valid_fraction: float = 0.15,
        seed: int = 42,
    ) -> None:
        self.config = config
        self.model_params = dict(model_params or {})
        self.n_folds = n_folds
        self.oof_groups = tuple(oof_groups)
        self.valid_fraction = valid_fraction
        self.seed = seed

    # ---------------------------------------------------------------- fitting

    def fit(
        self,
        history: pl.DataFrame,
        *,
        label: str = IS_NONCOMPLIANT,
        revenue: str | None = REVENUE_AT_STAKE,
    ) -> Self:
        """Fit on a risk view of history; rows with a null label count for frequencies only.

        Raises:
            InsufficientLabelsError: Too few labelled rows of either class.
            LabelLeakageError: The feature config names a label column.
        """
        config = self.config or FeatureConfig()
        if label not in history.columns:
            raise InsufficientLabelsError(f"the history has no {label!r} column")
        history = history.sort(c.FILED_AT, c.CONSIGNMENT_ID, c.ITEM_NO, maintain_order=True)
        rev_col = revenue if revenue and revenue in history.columns else None
        if rev_col is None:
            history = history.with_columns(pl.lit(None, dtype=pl.Float64).alias(REVENUE_AT_STAKE))
            rev_col = REVENUE_AT_STAKE
        history = history.with_columns(
            pl.col(label).cast(pl.Int8).alias(IS_NONCOMPLIANT),
            pl.col(rev_col).cast(pl.Float64).alias(REVENUE_AT_STAKE),
        )
        labelled_mask = history[IS_NONCOMPLIANT].is_not_null()
        n_labelled = int(labelled_mask.sum())
        if n_labelled < 20:
            raise InsufficientLabelsError(
                f"{n_labelled} labelled goods items on file; at least 20 are needed to train"
            )
        reference = (
            fit_value_reference(history, computed_at=datetime.now(UTC))
            if config.value_controls
            else None
        )
        profile_args: dict[str, Any] = {
            "keys": config.profile_keys,
            "stats": config.profile_stats,
        }
        oof = (
            out_of_fold_profiles(
                history,
                n_folds=self.n_folds,
                seed=self.seed,
                groups=self.oof_groups,
                **profile_args,
            )
            if config.profile_keys
            else None
        )
        labelled = history.filter(labelled_mask)
        oof_labelled = oof.filter(labelled_mask) if oof is not None else None
        builder = FeatureBuilder(config).fit(labelled)
        features = builder.transform(labelled, profiles=oof_labelled, reference=reference)
        y = labelled[IS_NONCOMPLIANT].to_numpy()
        rev = labelled[REVENUE_AT_STAKE].fill_null(0.0).to_numpy()
        cut = int(labelled.height * (1.0 - self.valid_fraction))
        params = {"random_state": self.seed, **self.model_params}
        model = RiskModel(**params)
        categorical = builder.schema_.categorical_names
        can_validate = (
            0 < cut < labelled.height
            and 0 < int(y[cut:].sum()) < labelled.height - cut
            and 0 < int(y[:cut].sum()) < cut
        )
        if can_validate:
            model.fit(
                features[:cut],
                y[:cut],
                revenue=rev[:cut],
                categorical=categorical,
                eval_set=(features[cut:], y[cut:]),
            )
            valid_scores = model.predict_proba(features[cut:])[:, 1]
            validation = ranking_metrics(y[cut:], valid_scores, revenue=rev[cut:]).as_dict()
        else:
            model.fit(features, y, revenue=rev, categorical=categorical)
            validation = {}
        # Drift compares live scores with the scores of the population trained on: all
        # history rows (labelled or not), since live traffic is not pre-selected either.
        rng = np.random.default_rng(self.seed)
        pick = np.sort(rng.choice(history.height, min(history.height, 5000), replace=False))
        population = builder.transform(
            history[pick],
            profiles=oof[pick] if oof is not None else None,
            reference=reference,
        )
        train_scores = model.predict_proba(population)[:, 1]
        self.builder_ = builder
        self.reference_ = reference
        self.profiles_ = (
            HistoryProfiles(**profile_args).fit(history) if config.profile_keys else None
        )
        self.model_ = model
        filed = history[c.FILED_AT]
        first, last = filed.min(), filed.max()
        self.window_: tuple[datetime | None, datetime | None] = (
            first if isinstance(first, datetime) else None,
            last if isinstance(last, datetime) else None,
        )
        self.created_at_ = datetime.now(UTC)
        self.version_ = self.created_at_.strftime("m%Y%m%dT%H%M%S%f")
        self.n_history_ = history.height
        self.n_labelled_ = n_labelled
        self.validation_ = validation
        self.training_scores_ = np.sort(train_scores)
        return self

    # ---------------------------------------------------------------- scoring

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError("this RiskPipeline is not fitted; train it first")

    @property
    def schema_hash(self) -> str:
        """Hash of the feature schema this pipeline builds and its model expects."""
        self._check_fitted()
        return self.builder_.schema_.hash()

    def features(self, view: pl.DataFrame, *, values_applied: bool = False) -> pl.DataFrame:
        """Feature frame of a risk view, with profiles from the fitted history.

        Args:
            view: Risk view to build features for.
            values_applied: The view already carries value-control columns computed with
                this pipeline's own reference (the engine's case): they are used as they are.
        """
        self._check_fitted()
        # Rows scored are new (their labels are not in the history), so a history that
        # reaches past their filing time leaks nothing about them: overlap is allowed.
        profiles = (
            self.profiles_.transform(view, allow_overlap=True)
            if self.profiles_ is not None
            else None
        )
        reference = None if values_applied else self.reference_
        return self.builder_.transform(view, profiles=profiles, reference=reference)

    def score_items(self, view: pl.DataFrame, *, values_applied: bool = False) -> pl.DataFrame:
        """Per goods item: ``consignment_id``, ``item_no``, score and revenue if non-compliant.

        ``values_applied`` as in :meth:`features`.
        """
        p, revenue = self.model_.predict_scores(self.features(view, values_applied=values_applied))
        return view.select(c.CONSIGNMENT_ID, c.ITEM_NO).with_columns(
            pl.Series(ITEM_SCORE, p, dtype=pl.Float64),
            pl.Series(ITEM_REVENUE, revenue, dtype=pl.Float64),
        )

    def contributions(
        self, view: pl.DataFrame, *, top: int = 3, values_applied: bool = False
    ) -> list[str]:
        """JSON text per row of ``view``: its ``top`` feature contributions.

        Each entry is ``[feature, value, log-odds contribution]``, largest magnitude first
        (LightGBM's exact TreeSHAP values). Costly (about half a millisecond per row), so
        callers explain only the rows an officer will read. ``values_applied`` as in
        :meth:`features`.
        """
        if view.is_empty():
            return []
        features = self.features(view, values_applied=values_applied)
        contrib = self.model_.contributions(features)[:, :-1]
        names = self.model_.feature_names_
        order = np.argsort(-np.abs(contrib), axis=1)[:, :top]
        values = features.select(pl.all().cast(pl.Float64)).to_numpy()
        # Categorical features are codes: show the declared value instead.
        declared = {
            name: view.get_column(name).cast(pl.String).to_list()
            for name in self.builder_.schema_.categorical_names
            if name in view.columns
        }

        def shown(row: int, j: int) -> float | str | None:
            name = names[j]
            if name in declared:
                value = declared[name][row]
                return None if value is None else str(value)
            return _finite(values[row, j])

        return [
            json.dumps([[names[j], shown(row, j), round(float(contrib[row, j]), 4)] for j in idx])
            for row, idx in enumerate(order)
        ]

    def score_consignments(
        self, view: pl.DataFrame, *, top: int = 0, values_applied: bool = False
    ) -> pl.DataFrame:
        """Per consignment: score, expected revenue, riskiest item and model version.

        :data:`RISK_SCORE` is the riskiest item's probability; :data:`EXPECTED_REVENUE` sums
        probability x revenue over the items (left to right, riskiest first, so the figure
        does not depend on what else is in the batch). With ``top`` > 0,
        ``top_contributions`` holds the riskiest item's largest feature contributions (see
        :meth:`contributions`).
        """
        items = self.score_items(view, values_applied=values_applied)
        scored = (
            items.sort(ITEM_SCORE, descending=True, maintain_order=True)
            .group_by(c.CONSIGNMENT_ID, maintain_order=True)
            .agg(
                pl.col(ITEM_SCORE).first().alias(RISK_SCORE),
                # summed left to right in that order (a running sum's last value): Polars'
                # grouped sum picks its summation by the shape of the groups, so the same
                # consignment could get another last bit in another batch
                (pl.col(ITEM_SCORE) * pl.col(ITEM_REVENUE).fill_nan(None).fill_null(0.0))
                .cum_sum()
                .last()
                .alias(EXPECTED_REVENUE),
                pl.col(c.ITEM_NO).first().alias("riskiest_item"),
            )
            .with_columns(pl.lit(self.version_).alias(MODEL_VERSION))
            .sort(c.CONSIGNMENT_ID)
        )
        if top <= 0:
            return scored.with_columns(pl.lit("[]").alias(TOP_CONTRIBUTIONS))
        riskiest = view.join(
            scored.select(c.CONSIGNMENT_ID, pl.col("riskiest_item").alias(c.ITEM_NO)),
            on=[c.CONSIGNMENT_ID, c.ITEM_NO],
            how="semi",
        )
        texts = riskiest.select(c.CONSIGNMENT_ID).with_columns(
            pl.Series(TOP_CONTRIBUTIONS, self.contributions(riskiest, top=top), dtype=pl.String)
        )
        return scored.join(texts, on=c.CONSIGNMENT_ID, how="left")

    # ---------------------------------------------------------------- persistence

    def metadata(self) -> dict[str, Any]:
        """Version, schema hash, training window, seed and validation figures."""
        self._check_fitted()
        start, end = self.window_
        return {
            "format": _FORMAT,
            "package_version": __version__,
            "version": self.version_,
            "created_at": self.created_at_.isoformat(),
            "schema_hash": self.schema_hash,
            "seed": self.seed,
            "window_start": start.isoformat() if isinstance(start, datetime) else None,
            "window_end": end.isoformat() if isinstance(end, datetime) else None,
            "n_history": self.n_history_,
            "n_labelled": self.n_labelled_,
            "validation": self.validation_,
            "params": {
                "n_folds": self.n_folds,
                "oof_groups": list(self.oof_groups),
                "valid_fraction": self.valid_fraction,
                "model_params": self.model_params,
            },
        }

    def to_bytes(self) -> bytes:
        """The fitted pipeline as a ZIP archive."""
        self._check_fitted()
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("pipeline.json", json.dumps(self.metadata(), indent=1))
            zf.writestr("features.json", self.builder_.to_json())
            for name, data in self.model_.to_files().items():
                zf.writestr(f"model/{name}", data)
            if self.reference_ is not None:
                zf.writestr("value_reference.parquet", _parquet(self.reference_.to_frame()))
                zf.writestr(
                    "value_reference.json", json.dumps(self.reference_.metadata(), default=str)
                )
            if self.profiles_ is not None:
                zf.writestr("profiles.parquet", _parquet(self.profiles_.to_frame()))
                zf.writestr("profiles.json", json.dumps(self.profiles_.metadata(), default=str))
            zf.writestr("training_scores.npy", _npy(self.training_scores_))
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, *, expected_schema_hash: str | None = None) -> RiskPipeline:
        """Load a pipeline saved by :meth:`to_bytes`.

        Raises:
            ModelSchemaMismatchError: The archive's feature schema is not what this code
                builds from its config (or not ``expected_schema_hash``).
        """
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
            meta = json.loads(zf.read("pipeline.json"))
            if meta.get("format") != _FORMAT:
                raise ModelSchemaMismatchError(
                    f"model archive format {meta.get('format')} is not {_FORMAT}; retrain it"
                )
            builder = FeatureBuilder.from_json(zf.read("features.json"))
            schema_hash = builder.schema_.hash()
            if schema_hash != meta["schema_hash"] or (
                expected_schema_hash is not None and expected_schema_hash != schema_hash
            ):
                raise ModelSchemaMismatchError(
                    "the saved model was trained on a different feature schema; retrain it "
                    "with `smartcustoms risk train`"
                )
            model_files = {
                n.removeprefix("model/"): zf.read(n) for n in names if n.startswith("model/")
            }
            model = RiskModel.from_files(model_files)
            if model.feature_names_ != builder.schema_.names:
                raise ModelSchemaMismatchError("model and feature builder disagree on features")
            reference = None
            if "value_reference.parquet" in names:
                reference = ValueReference.from_frame(
                    pl.read_parquet(io.BytesIO(zf.read("value_reference.parquet"))),
                    json.loads(zf.read("value_reference.json")),
                )
            profiles = None
            if "profiles.parquet" in names:
                profiles = HistoryProfiles.from_frame(
                    pl.read_parquet(io.BytesIO(zf.read("profiles.parquet"))),
                    json.loads(zf.read("profiles.json")),
                )
            scores = np.load(io.BytesIO(zf.read("training_scores.npy")))
        params = meta["params"]
        pipeline = cls(
            config=builder.config,
            model_params=params["model_params"],
            n_folds=params["n_folds"],
            oof_groups=params["oof_groups"],
            valid_fraction=params["valid_fraction"],
            seed=meta["seed"],
        )
        pipeline.builder_ = builder
        pipeline.reference_ = reference
        pipeline.profiles_ = profiles
        pipeline.model_ = model
        start, end = meta["window_start"], meta["window_end"]
        pipeline.window_ = (
            datetime.fromisoformat(start) if start else None,
            datetime.fromisoformat(end) if end else None,
        )
        pipeline.created_at_ = datetime.fromisoformat(meta["created_at"])
        pipeline.version_ = meta["version"]
        pipeline.n_history_ = meta["n_history"]
        pipeline.n_labelled_ = meta["n_labelled"]
        pipeline.validation_ = meta["validation"]
        pipeline.training_scores_ = scores
        return pipeline


def _finite(value: float) -> float | None:
    return None if not np.isfinite(value) else round(float(value), 4)


def _npy(array: np.ndarray[Any, Any]) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()
