"""Targeting operations on the store: feedback, training, evaluation, explanations, drift.

The risk domain (:mod:`smartcustoms.risk`) is pure: frames in, frames out. This package is
the thin service between it and the store, used by the CLI and the API:

* :meth:`Targeting.record_inspections` - control outcomes in (the labels);
* :meth:`Targeting.train` - a new model from the labelled history, saved and activated;
* :meth:`Targeting.refresh_values` - the learned unit-value references, recomputed;
* :meth:`Targeting.evaluate` - the model against baselines on a chronological split;
* :meth:`Targeting.explain` - why a consignment got its lane;
* :meth:`Targeting.drift` - live scores against training scores (PSI).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from smartcustoms import __version__
from smartcustoms.errors import ConsignmentNotFoundError, InsufficientLabelsError
from smartcustoms.model import columns as c
from smartcustoms.risk.artifacts import reference_to_bytes
from smartcustoms.risk.columns import IS_NONCOMPLIANT, RULE_SCORE
from smartcustoms.risk.engine import RiskEngine
from smartcustoms.risk.evaluation import chronological_split, compare_rankers, results_table
from smartcustoms.risk.features import FeatureConfig
from smartcustoms.risk.metrics import population_stability_index
from smartcustoms.risk.pipeline import RiskPipeline
from smartcustoms.risk.value_controls import fit_value_reference, with_value_controls
from smartcustoms.risk.view import enrich_view
from smartcustoms.store.risk import ModelRecord
from smartcustoms.targeting.feedback import read_results_file, validate_results
from smartcustoms.tariff import load_nomenclature

if TYPE_CHECKING:
    from smartcustoms.platform import SmartCustoms

__all__ = ["Targeting", "read_results_file"]


class Targeting:
    """Targeting operations bound to a platform (store, settings, reference data).

    Args:
        platform: The platform whose store and settings to use.
    """

    def __init__(self, platform: SmartCustoms) -> None:
        self.platform = platform
        self.records = platform.risk_records

    # ---------------------------------------------------------------- feedback

    def record_inspections(self, rows: list[dict[str, Any]], *, actor: str = "cli") -> int:
        """Validate and store control outcomes; all or nothing.

        Raises:
            InvalidInspectionResultError: With every problem found (nothing recorded).
        """
        frame = validate_results(rows, store=self.platform.store, nomenclature=load_nomenclature())
        written = self.records.record_inspections(frame)
        results = frame.group_by("result").len()
        self.platform.store.record_audit(
            actor=actor,
            action="risk.inspect",
            subject_type="consignment",
            subject_id=frame[c.CONSIGNMENT_ID][0] if written == 1 else None,
            details={
                "recorded": written,
                **dict(zip(results["result"].to_list(), results["len"].to_list(), strict=True)),
            },
        )
        return written

    # ---------------------------------------------------------------- history

    def history(self) -> pl.DataFrame:
        """The stored goods items as a risk view with labels and their rule weights.

        ``rule_score`` is what the configured rules give each consignment today (0 without
        rules), so a model can learn how much the rules are worth.
        """
        raw = self.records.history()
        regime = self.platform.regime
        view = enrich_view(raw, rates=self.platform.rates, currency=regime.currency)
        rules = self.platform.rules
        if rules is None or view.is_empty():
            return view.with_columns(pl.lit(0.0).alias(RULE_SCORE))
        checked = with_value_controls(view, fit_value_reference(view))
        scores = rules.apply(checked).consignments.select(c.CONSIGNMENT_ID, RULE_SCORE)
        return view.join(scores, on=c.CONSIGNMENT_ID, how="left").with_columns(
            pl.col(RULE_SCORE).fill_null(0.0)
        )

    def feature_config(self) -> FeatureConfig:
        """The default features, plus the summed rule weight when rules are configured."""
        if self.platform.rules is None:
            return FeatureConfig()
        return FeatureConfig(extra_numerics=(RULE_SCORE,))

    # ---------------------------------------------------------------- training

    def train(
        self, *, seed: int | None = None, activate: bool = True, actor: str = "cli"
    ) -> ModelRecord:
        """Train on every labelled goods item on file; save (and activate) the model.

        Args:
            seed: Training seed (default: the ``risk_seed`` setting).
            activate: Make the new model the one scoring uses.
            actor: Who asked, for the audit log.

        Raises:
            InsufficientLabelsError: Too few inspection results on file.
        """
        seed = self.platform.settings.risk_seed if seed is None else seed
        history = self.history()
        pipeline = RiskPipeline(config=self.feature_config(), seed=seed).fit(history)
        meta = pipeline.metadata()
        record = ModelRecord(
            version=pipeline.version_,
            created_at=pipeline.created_at_,
            package_version=__version__,
            schema_hash=pipeline.schema_hash,
            seed=seed,
            window_start=pipeline.window_[0],
            window_end=pipeline.window_[1],
            n_train=pipeline.n_labelled_,
            metrics={"validation": meta["validation"], "n_history": pipeline.n_history_},
            is_active=activate,
            artifact=pipeline.to_bytes(),
        )
        self.records.save_model(record, activate=activate)
        self.platform.store.record_audit(
            actor=actor,
            action="risk.train",
            subject_type="model",
            subject_id=record.version,
            details=record.as_dict(),
        )
        return record

    def refresh_values(self) -> dict[str, Any]:
        """Recompute the unit-value references from all goods items on file."""
        history = self.history()
        reference = fit_value_reference(history, computed_at=datetime.now(UTC))
        frame = reference.to_frame()
        version = self.records.save_value_reference(
            reference_to_bytes(reference),
            rows=frame.height,
            window_start=history[c.FILED_AT].min() if history.height else None,  # type: ignore[arg-type]
            window_end=history[c.FILED_AT].max() if history.height else None,  # type: ignore[arg-type]
        )
        return {"version": version, "references": frame.height, "items": history.height}

    # ---------------------------------------------------------------- evaluation

    def evaluate(self, *, test_share: float = 0.3, seed: int | None = None) -> pl.DataFrame:
        """Model vs baselines on the labelled history, split by filing time.

        Raises:
            InsufficientLabelsError: Too few labelled items to split.
        """
        seed = self.platform.settings.risk_seed if seed is None else seed
        history = self.history()
        labelled = history.filter(pl.col(IS_NONCOMPLIANT).is_not_null())
        if labelled.height < 100:
            raise InsufficientLabelsError(
                f"{labelled.height} labelled goods items on file; evaluation needs 100"
            )
        train, test = chronological_split(history, test_share)
        test = test.filter(pl.col(IS_NONCOMPLIANT).is_not_null())
        results = compare_rankers(
            train, test, config=self.feature_config(), rules=self.platform.rules, seed=seed
        )
        return results_table(results)

    # ---------------------------------------------------------------- explanations

    def explain(self, consignment_id: str) -> dict[str, Any]:
        """The lane decision of a consignment with its reasons, rule hits and contributions.

        ``lane`` is the lane now in force: when an officer re-routed the consignment,
        ``lane_changes`` lists each change (from, to, justification, officer) while
        ``reasons`` still explain the engine's original choice.

        Raises:
            ConsignmentNotFoundError: No such consignment, or no decision for it.
        """
        decision = self.records.decision(consignment_id)
        if decision is None:
            raise ConsignmentNotFoundError(
                f"no lane decision on file for consignment {consignment_id!r}"
            )
        has_features = any(r.get("kind") == "feature" for r in decision["reasons"])
        if not has_features and decision.get("model_version"):
            try:
                pipeline = RiskPipeline.from_bytes(
                    self.records.model(decision["model_version"]).artifact or b""
                )
            except Exception:
                pipeline = None
            if pipeline is not None:
                view = self.history().filter(pl.col(c.CONSIGNMENT_ID) == consignment_id)
                engine = RiskEngine(
                    policy=self.platform.lane_policy,
                    pipeline=pipeline,
                    currency=self.platform.regime.currency,
                )
                extra = json.loads(engine.explain_view(view).get(consignment_id, "[]"))
                decision["reasons"] = [
                    r for r in decision["reasons"] if r.get("kind") != "model"
                ] + extra
        decision["inspections"] = self.records.inspections(consignment_id)
        decision["lane_changes"] = self.records.lane_changes(consignment_id)
        return decision

    # ---------------------------------------------------------------- drift

    def drift(self) -> dict[str, Any]:
        """PSI of live scores (decisions since the active model) against training scores."""
        record = self.records.model()
        pipeline = RiskPipeline.from_bytes(record.artifact or b"")
        live = self.records.live_scores(since=record.created_at).to_numpy()
        psi = population_stability_index(pipeline.training_scores_, live)
        threshold = self.platform.settings.drift_warning
        return {
            "model_version": record.version,
            "training_scores": int(pipeline.training_scores_.size),
            "live_scores": int(live.size),
            "training_mean": float(np.mean(pipeline.training_scores_)),
            "live_mean": float(np.mean(live)) if live.size else None,
            "psi": None if np.isnan(psi) else round(psi, 4),
            "threshold": threshold,
            "warning": bool(not np.isnan(psi) and psi > threshold),
        }
