"""Analysts: rules and watch lists, model training and evaluation, drift.

Every route admits analysts and admins only (``docs/api-analysts.md`` has the routes).
Checking rules is a validation service: a file with errors is a successful check, answered
``200`` with ``valid: false`` and every problem located as ``file:LINE``. Uploading rules
stores a draft after the same check (``422 rules.invalid`` with every problem when it
fails); activating a draft makes clearance use it from the next batch, without a restart.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from typing import Annotated, Any, Final, Literal

import polars as pl
from fastapi import APIRouter, Depends, Path, Query, Response, status
from pydantic import BaseModel, Field

from smartcustoms.access import Principal, Role
from smartcustoms.api.security import PlatformDep, require
from smartcustoms.errors import Problem
from smartcustoms.model.columns import FILED_AT
from smartcustoms.platform import SmartCustoms
from smartcustoms.risk.metrics import population_stability_index
from smartcustoms.risk.pipeline import RiskPipeline
from smartcustoms.store.risk import ModelRecord
from smartcustoms.store.rulesets import (
    FILE_NAME_PATTERN,
    MAX_NOTE,
    RuleFileText,
    RuleHitCount,
    RulesetRecord,
    check_ruleset_files,
)

__all__ = [
    "DriftReport",
    "EvaluationRow",
    "FeatureDrift",
    "FeatureDriftReport",
    "ModelSummary",
    "RulesCheckReport",
    "RulesCheckRequest",
    "RulesInForce",
    "RulesetDetail",
    "RulesetSummary",
    "RulesetUploadRequest",
    "TrainRequest",
    "evaluation_rows",
    "feature_drift",
    "router",
]

router = APIRouter(tags=["analysts"])

Analyst = Annotated[Principal, Depends(require(Role.ANALYST, Role.ADMIN))]

_MAX_SEED: Final = 2**32 - 1  # NumPy and LightGBM seeds are 32-bit unsigned
_MAX_ID: Final = 2**31 - 1  # store ids are 32-bit integers on PostgreSQL
_CUT = re.compile(r"^(precision|recall|revenue)@(\d+(?:\.\d+)?)%$")

RulesetId = Annotated[int, Path(ge=1, le=_MAX_ID, description="Store id of the ruleset.")]


# ---------------------------------------------------------------- rules


class RuleFile(BaseModel):
    """One uploaded TOML file."""

    name: str = Field(
        pattern=FILE_NAME_PATTERN,
        description="File name: how problems cite it (``rules.toml:14``) and how a rules "
        "file's ``watchlists`` key names it. No folders.",
    )
    content: str = Field(max_length=5_000_000, description="The TOML text.")

    def text(self) -> RuleFileText:
        """The store's form of the file."""
        return RuleFileText(self.name, self.content)


class _RuleFiles(BaseModel):
    """A rules file and the watch-list files it needs."""

    rules: RuleFile
    watchlists: list[RuleFile] = Field(
        default_factory=list,
        max_length=50,
        description="Watch-list files: those the rules file's ``watchlists`` key names, "
        "and any others to load with it.",
    )


class RulesCheckRequest(_RuleFiles):
    """A rules file and the watch-list files it needs, checked as ``risk rules check`` does."""

    today: date | None = Field(
        None, description="Day 'no longer in force' warnings are judged on (default: today)."
    )


class CheckProblem(BaseModel):
    """A problem of a rules or watch-list file."""

    code: str = Field(description="Stable code, e.g. rules.unknown_field (docs/risk-rules.md).")
    path: str = Field(description="file:LINE")
    message: str
    severity: str = Field(description="error (the file would not load) or warning.")

    @classmethod
    def of(cls, problem: Problem) -> CheckProblem:
        """The API form of a problem."""
        return cls.model_validate(problem.as_dict())


class RulesCheckReport(BaseModel):
    """The result of a check: ``valid`` is false when any problem is an error."""

    valid: bool
    errors: int
    warnings: int
    problems: list[CheckProblem]


@router.post("/rules/check", summary="Check a rules file and its watch lists")
def rules_check(body: RulesCheckRequest, principal: Analyst) -> RulesCheckReport:
    """Every problem of the files, errors and warnings, each with file and line.

    ``200`` whether or not the files are valid. ``422`` only for a request that cannot be
    checked: two files with one name. Nothing is stored (upload with ``POST /rules``).
    """
    problems = check_ruleset_files(
        body.rules.text(), [w.text() for w in body.watchlists], today=body.today
    )
    errors = sum(p.severity == "error" for p in problems)
    return RulesCheckReport(
        valid=errors == 0,
        errors=errors,
        warnings=len(problems) - errors,
        problems=[CheckProblem.of(p) for p in problems],
    )


class RulesetUploadRequest(_RuleFiles):
    """A rules file and its watch-list files to store as a draft ruleset."""

    note: str | None = Field(
        None, max_length=MAX_NOTE, description="Why this upload (shown with the ruleset)."
    )


class RulesetSummary(BaseModel):
    """A stored ruleset, without its files."""

    id: int = Field(description="Store id (``/rules/{id}``).")
    ruleset_id: str = Field(description="The rules file's ``id`` (recorded with rule hits).")
    version: str = Field(description="The rules file's ``version``; one text per version.")
    sha256: str = Field(description="Hash of the files (names and texts).")
    status: Literal["draft", "active", "retired"] = Field(
        description="draft (uploaded), active (clearance uses it) or retired."
    )
    rule_count: int
    rules_name: str = Field(description="File name of the rules file.")
    uploaded_by: str
    uploaded_at: datetime
    activated_by: str | None = Field(description="Who last activated it.")
    activated_at: datetime | None = Field(description="When it was last activated.")
    retired_at: datetime | None = Field(description="When it last stopped being active.")
    note: str | None

    @classmethod
    def of(cls, record: RulesetRecord) -> RulesetSummary:
        """The summary of a stored ruleset."""
        return cls.model_validate(record.as_dict())


class RuleHitSummary(BaseModel):
    """Rule hits on file for one rule version of the ruleset's id."""

    rule_id: str
    rule_version: str | None
    hits: int = Field(description="Consignments the rule hit (one hit per consignment).")
    first_hit_at: datetime | None
    last_hit_at: datetime | None

    @classmethod
    def of(cls, count: RuleHitCount) -> RuleHitSummary:
        """The API form of a hit count."""
        return cls(
            rule_id=count.rule_id,
            rule_version=count.rule_version,
            hits=count.hits,
            first_hit_at=count.first_hit_at,
            last_hit_at=count.last_hit_at,
        )


class RulesetDetail(RulesetSummary):
    """A stored ruleset with its files, warnings and the rule hits on file."""

    rules: RuleFile
    watchlists: list[RuleFile]
    warnings: list[CheckProblem] = Field(
        description="Warnings of the files (judged today; errors would have refused them)."
    )
    hits: list[RuleHitSummary] = Field(
        description="Rule hits recorded under this ruleset id, per rule and rule version."
    )


class RulesInForce(BaseModel):
    """Which rules clearance uses now."""

    source: Literal["store", "settings", "none"] = Field(
        description="store: an uploaded ruleset is active; settings: the configured files "
        "(the shipped example by default); none: rules are switched off."
    )
    ruleset_id: str | None
    version: str | None
    rule_count: int
    stored: RulesetSummary | None = Field(description="The active uploaded ruleset.")


def _detail(
    platform: SmartCustoms, record: RulesetRecord, warnings: list[Problem] | None = None
) -> RulesetDetail:
    if warnings is None:
        warnings = [
            p for p in check_ruleset_files(record.rules, record.watchlists) if p.severity != "error"
        ]
    return RulesetDetail.model_validate(
        {
            **record.as_dict(with_content=True),
            "warnings": [CheckProblem.of(p) for p in warnings],
            "hits": [RuleHitSummary.of(c) for c in platform.rulesets.hit_counts(record.ruleset_id)],
        }
    )


@router.post(
    "/rules",
    status_code=status.HTTP_201_CREATED,
    summary="Upload rules and watch lists as a draft ruleset",
    responses={200: {"description": "The same files were already on file: that ruleset."}},
)
def upload_rules(
    body: RulesetUploadRequest, principal: Analyst, platform: PlatformDep, response: Response
) -> RulesetDetail:
    """Check the files and store them as a draft (``201``), with the check's warnings.

    ``422 rules.invalid`` lists every problem when a file has an error: nothing is stored.
    ``409 conflict`` when another upload has the same ruleset id and version: a version
    names one text. Sending the very same files again answers ``200`` with that ruleset.
    """
    upload = platform.rulesets.add(
        body.rules.text(),
        [w.text() for w in body.watchlists],
        actor=principal.user_id,
        note=body.note,
    )
    if not upload.created:
        response.status_code = status.HTTP_200_OK
    return _detail(platform, upload.record, list(upload.warnings))


@router.get("/rules", summary="Uploaded rulesets, newest first")
def list_rules(
    principal: Analyst,
    platform: PlatformDep,
    state: Annotated[
        Literal["draft", "active", "retired"] | None,
        Query(alias="status", description="Only rulesets in this state."),
    ] = None,
) -> list[RulesetSummary]:
    """Every uploaded ruleset (``status`` filters); at most one is ``active``."""
    return [RulesetSummary.of(r) for r in platform.rulesets.rulesets(status=state)]


@router.get("/rules/active", summary="The rules clearance uses now")
def rules_in_force(principal: Analyst, platform: PlatformDep) -> RulesInForce:
    """The active uploaded ruleset, or else the rules of the settings."""
    stored = platform.rulesets.active()
    rules = platform.rules
    if stored is not None:
        source: Literal["store", "settings", "none"] = "store"
    else:
        source = "settings" if rules is not None else "none"
    return RulesInForce(
        source=source,
        ruleset_id=rules.id if rules is not None else None,
        version=rules.version if rules is not None else None,
        rule_count=len(rules.rules) if rules is not None else 0,
        stored=RulesetSummary.of(stored) if stored is not None else None,
    )


@router.get("/rules/{ruleset}", summary="One uploaded ruleset with its files")
def get_rules(ruleset: RulesetId, principal: Analyst, platform: PlatformDep) -> RulesetDetail:
    """The files, their warnings today, and the rule hits on file; ``404 ruleset.not_found``."""
    return _detail(platform, platform.rulesets.get(ruleset))


@router.post("/rules/{ruleset}/activate", summary="Make an uploaded ruleset the one in force")
def activate_rules(ruleset: RulesetId, principal: Analyst, platform: PlatformDep) -> RulesetSummary:
    """Activate (retiring the active one, in one audited transaction).

    Clearance uses it from the next batch. Activating an older ruleset is the rollback.
    ``422 rules.invalid`` when the files no longer load with this release.
    """
    return RulesetSummary.of(platform.rulesets.activate(ruleset, actor=principal.user_id))


@router.post("/rules/{ruleset}/retire", summary="Take an uploaded ruleset out of use")
def retire_rules(ruleset: RulesetId, principal: Analyst, platform: PlatformDep) -> RulesetSummary:
    """Retire a ruleset (or withdraw a draft); audited.

    Retiring the active ruleset puts the rules of the settings back in force.
    """
    return RulesetSummary.of(platform.rulesets.retire(ruleset, actor=principal.user_id))


# ---------------------------------------------------------------- models


class ModelSummary(BaseModel):
    """A trained risk model on file (without its artifact)."""

    version: str
    created_at: datetime
    package_version: str
    schema_hash: str = Field(description="Hash of the feature schema the model needs.")
    seed: int
    window_start: datetime | None = Field(description="First filing time of the training data.")
    window_end: datetime | None = Field(description="Last filing time of the training data.")
    n_train: int = Field(description="Labelled goods items trained on.")
    is_active: bool = Field(description="Whether clearance scores with it.")
    metrics: dict[str, Any] = Field(description="Validation figures (latest 15 %).")

    @classmethod
    def of(cls, record: ModelRecord) -> ModelSummary:
        """The summary of a stored model."""
        return cls.model_validate(record.as_dict())


class TrainRequest(BaseModel):
    """Options of a training run (all optional)."""

    seed: int | None = Field(
        None, ge=0, le=_MAX_SEED, description="Training seed (default: the risk_seed setting)."
    )
    activate: bool = Field(True, description="Make the new model the one clearance uses.")


class RankCut(BaseModel):
    """Ranking quality when the top ``share_pct`` % of the test set is controlled."""

    share_pct: float
    precision: float | None
    recall: float | None
    revenue: float | None = Field(description="Share of the revenue at stake found.")


class EvaluationRow(BaseModel):
    """One ranker (model, random, rules, plain LightGBM) on the chronological test split."""

    ranker: str
    rows: int = Field(description="Labelled test goods items.")
    positives: int = Field(description="Non-compliant among them.")
    auc: float | None
    cuts: list[RankCut]


class DriftReport(BaseModel):
    """Live scores of the active model against its training scores (PSI)."""

    model_version: str
    training_scores: int
    live_scores: int
    training_mean: float
    live_mean: float | None
    psi: float | None = Field(description="Population stability index; null without scores.")
    threshold: float
    warning: bool = Field(description="PSI above the threshold: retrain.")


@router.get("/models", summary="Trained risk models, newest first")
def models(principal: Analyst, platform: PlatformDep) -> list[ModelSummary]:
    """Every model on file; ``is_active`` marks the one clearance uses."""
    return [ModelSummary.of(r) for r in platform.risk_records.models()]


@router.post(
    "/models/train",
    status_code=status.HTTP_201_CREATED,
    summary="Train a model on every inspection result on file",
)
def train(
    principal: Analyst, platform: PlatformDep, body: TrainRequest | None = None
) -> ModelSummary:
    """Train synchronously and (by default) activate the model.

    ``422 risk.insufficient_labels`` when too few inspection results are on file.
    """
    options = body or TrainRequest()
    record = platform.targeting.train(
        seed=options.seed, activate=options.activate, actor=principal.user_id
    )
    return ModelSummary.of(record)


@router.get("/models/evaluation", summary="Model against baselines on the labelled history")
def evaluation(
    principal: Analyst,
    platform: PlatformDep,
    test_share: Annotated[float, Query(ge=0.05, le=0.9)] = 0.3,
    seed: Annotated[int | None, Query(ge=0, le=_MAX_SEED)] = None,
) -> list[EvaluationRow]:
    """Precision, recall and revenue at 1, 2, 5, 10 % and AUC per ranker (latest rows test).

    ``422 risk.insufficient_labels`` with fewer than 100 labelled goods items.
    """
    return evaluation_rows(platform, test_share=test_share, seed=seed)


def evaluation_rows(
    platform: SmartCustoms, *, test_share: float = 0.3, seed: int | None = None
) -> list[EvaluationRow]:
    """The evaluation of ``GET /models/evaluation`` (the portal's models page shows it too).

    Raises:
        InsufficientLabelsError: Fewer than 100 labelled goods items.
    """
    table = platform.targeting.evaluate(test_share=test_share, seed=seed)
    return [_evaluation_row(row) for row in table.iter_rows(named=True)]


def _evaluation_row(row: dict[str, Any]) -> EvaluationRow:
    cuts: dict[float, dict[str, float | None]] = {}
    for column, value in row.items():
        match = _CUT.match(column)
        if match:
            cuts.setdefault(float(match[2]), {})[match[1]] = _finite(value)
    return EvaluationRow(
        ranker=row["ranker"],
        rows=row["rows"],
        positives=row["positives"],
        auc=_finite(row["auc"]),
        cuts=[RankCut(share_pct=share, **values) for share, values in sorted(cuts.items())],
    )


def _finite(value: Any) -> float | None:
    """JSON has no NaN: a metric that cannot be computed is null."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


@router.get("/drift", summary="Drift of live scores from training (PSI)")
def drift(principal: Analyst, platform: PlatformDep) -> DriftReport:
    """PSI of the scores given since the active model was trained; ``404`` without a model."""
    return DriftReport.model_validate(platform.targeting.drift())


class FeatureDrift(BaseModel):
    """Population stability of one model feature, training window against later traffic."""

    feature: str
    kind: Literal["numeric", "categorical"]
    psi: float | None = Field(description="Population stability index; null without values.")
    training_missing: float = Field(description="Share of training rows without a value.")
    live_missing: float | None = Field(description="Share of later rows without a value.")


class FeatureDriftReport(BaseModel):
    """Per-feature PSI of the active model's inputs, most shifted first."""

    model_version: str
    training_rows: int = Field(description="Goods items of the training window compared.")
    live_rows: int = Field(description="Goods items filed after the training window.")
    threshold: float = Field(description="PSI above which a feature needs a look.")
    features: list[FeatureDrift]


@router.get("/drift/features", summary="Drift of each model feature (PSI)")
def drift_features(principal: Analyst, platform: PlatformDep) -> FeatureDriftReport:
    """PSI per input feature of the active model; ``404`` without a model.

    Goods items filed in the model's training window are compared with those filed since,
    both built into features by the model itself (at most 20,000 rows each, seeded sample).
    """
    return feature_drift(platform)


def feature_drift(platform: SmartCustoms, *, max_rows: int = 20_000) -> FeatureDriftReport:
    """Per-feature PSI: training window against the goods items filed after it.

    Both sides go through the same fitted feature builder (with the profiles learned on
    the whole history), so a difference is a difference in the traffic, not in the
    encoding. Numeric features use the deciles of the training side
    (:func:`~smartcustoms.risk.metrics.population_stability_index`); categorical features
    compare the shares of each category. Values missing on either side are left out of the
    PSI and reported as shares of their own.

    Raises:
        ModelNotFoundError: No active model.
    """
    record = platform.risk_records.model()
    pipeline = RiskPipeline.from_bytes(record.artifact or b"")
    history = platform.targeting.history()
    seed = platform.settings.risk_seed
    end = record.window_end
    if end is None or history.is_empty():
        training, live = history, history.clear()
    else:
        training = history.filter(pl.col(FILED_AT) <= end)
        live = history.filter(pl.col(FILED_AT) > end)
    training, live = (
        frame.sample(n=max_rows, seed=seed) if frame.height > max_rows else frame
        for frame in (training, live)
    )
    schema = pipeline.builder_.schema_
    categorical = set(schema.categorical_names)
    expected = pipeline.features(training) if training.height else None
    actual = pipeline.features(live) if live.height else None
    rows = []
    for name in schema.names:
        kind: Literal["numeric", "categorical"] = (
            "categorical" if name in categorical else "numeric"
        )
        psi: float | None = None
        if expected is not None and actual is not None:
            psi = _finite(_psi(expected[name], actual[name], categorical=kind == "categorical"))
        rows.append(
            FeatureDrift(
                feature=name,
                kind=kind,
                psi=None if psi is None else round(psi, 4),
                training_missing=_missing(expected[name]) if expected is not None else 0.0,
                live_missing=_missing(actual[name]) if actual is not None else None,
            )
        )
    rows.sort(key=lambda r: (r.psi is None, -(r.psi or 0.0), r.feature))
    return FeatureDriftReport(
        model_version=record.version,
        training_rows=training.height,
        live_rows=live.height,
        threshold=platform.settings.drift_warning,
        features=rows,
    )


def _missing(values: pl.Series) -> float:
    return round(values.null_count() / values.len(), 4) if values.len() else 0.0


def _psi(expected: pl.Series, actual: pl.Series, *, categorical: bool) -> float:
    """PSI of one feature; NaN when a side has no values."""
    if not categorical:
        return population_stability_index(
            expected.cast(pl.Float64).to_numpy(), actual.cast(pl.Float64).to_numpy()
        )
    e, a = expected.drop_nulls(), actual.drop_nulls()
    if e.is_empty() or a.is_empty():
        return float("nan")
    shares = (
        e.value_counts(name="e")
        .join(a.value_counts(name="a"), on=e.name, how="full", coalesce=True)
        .fill_null(0)
        .select(
            (pl.col("e") / e.len()).clip(lower_bound=1e-4).alias("e"),
            (pl.col("a") / a.len()).clip(lower_bound=1e-4).alias("a"),
        )
    )
    return float(
        shares.select(
            ((pl.col("a") - pl.col("e")) * (pl.col("a") / pl.col("e")).log()).sum()
        ).item()
    )
