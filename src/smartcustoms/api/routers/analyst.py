"""Analysts: rules and watch lists, model training and evaluation, drift.

Every route admits analysts and admins only (``docs/api-officers.md`` has the matrix).
Checking rules is a validation service: a file with errors is a successful check, answered
``200`` with ``valid: false`` and every problem located as ``file:LINE``.
"""

from __future__ import annotations

import math
import re
import tempfile
import tomllib
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, Field

from smartcustoms.access import Principal, Role
from smartcustoms.api.security import PlatformDep, require
from smartcustoms.errors import InvalidInputError, Problem
from smartcustoms.risk.rules import check_rules
from smartcustoms.store.risk import ModelRecord

__all__ = [
    "DriftReport",
    "EvaluationRow",
    "ModelSummary",
    "RulesCheckReport",
    "RulesCheckRequest",
    "TrainRequest",
    "router",
]

router = APIRouter(tags=["analysts"])

Analyst = Annotated[Principal, Depends(require(Role.ANALYST, Role.ADMIN))]

_FILE_NAME: Final = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
_MAX_SEED: Final = 2**32 - 1  # NumPy and LightGBM seeds are 32-bit unsigned
_CUT = re.compile(r"^(precision|recall|revenue)@(\d+(?:\.\d+)?)%$")


# ---------------------------------------------------------------- rules


class RuleFile(BaseModel):
    """One uploaded TOML file."""

    name: str = Field(
        pattern=_FILE_NAME,
        description="File name: how problems cite it (``rules.toml:14``) and how a rules "
        "file's ``watchlists`` key names it. No folders.",
    )
    content: str = Field(max_length=5_000_000, description="The TOML text.")


class RulesCheckRequest(BaseModel):
    """A rules file and the watch-list files it needs, checked as ``risk rules check`` does."""

    rules: RuleFile
    watchlists: list[RuleFile] = Field(
        default_factory=list,
        max_length=50,
        description="Watch-list files: those the rules file's ``watchlists`` key names, "
        "and any others to load with it.",
    )
    today: date | None = Field(
        None, description="Day 'no longer in force' warnings are judged on (default: today)."
    )


class CheckProblem(BaseModel):
    """A problem of a rules or watch-list file."""

    code: str = Field(description="Stable code, e.g. rules.unknown_field (docs/risk-rules.md).")
    path: str = Field(description="file:LINE")
    message: str
    severity: str = Field(description="error (the file would not load) or warning.")


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
    checked: two files with one name.
    """
    names = [body.rules.name, *(w.name for w in body.watchlists)]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InvalidInputError(
            "each uploaded file needs its own name",
            tuple(
                Problem("rules.duplicate_file", "watchlists", f"{n} given twice")
                for n in duplicates
            ),
        )
    problems = _unsafe_watchlists(body.rules)
    if not problems:
        with tempfile.TemporaryDirectory(prefix="smartcustoms-rules-") as tmp:
            folder = Path(tmp)
            for upload in (body.rules, *body.watchlists):
                (folder / upload.name).write_text(upload.content, encoding="utf-8")
            try:
                found = check_rules(
                    folder / body.rules.name,
                    [folder / w.name for w in body.watchlists],
                    today=body.today,
                )
            except RecursionError:  # a watch list nested deeper than the TOML parser goes
                found = [Problem("rules.syntax", "watchlists", "not valid TOML: nested too deeply")]
            prefixes = (f"{folder.resolve()}/", f"{folder}/")
            problems = [_relative(p, prefixes) for p in found]
    errors = sum(p.severity == "error" for p in problems)
    return RulesCheckReport(
        valid=errors == 0,
        errors=errors,
        warnings=len(problems) - errors,
        problems=[CheckProblem.model_validate(p.as_dict()) for p in problems],
    )


def _unsafe_watchlists(rules: RuleFile) -> list[Problem]:
    """Problems that stop a check before any file is read.

    A rules file names its watch-list files; through the API those must be files of the
    upload, or the server would read (and report on) files of its own disk. A document
    nested too deeply for the TOML parser is refused here too.
    """
    try:
        declared = tomllib.loads(rules.content).get("watchlists", [])
    except tomllib.TOMLDecodeError:
        return []  # the check reports the syntax error with its line
    except RecursionError:
        return [Problem("rules.syntax", rules.name, "not valid TOML: nested too deeply")]
    if not isinstance(declared, list):
        return []
    return [
        Problem(
            "rules.invalid_value",
            rules.name,
            f"watch list {name!r}: name uploaded files only (no folders) when checking "
            "through the API",
        )
        for name in declared
        if isinstance(name, str) and name and not re.match(_FILE_NAME, name)
    ]


def _relative(problem: Problem, prefixes: tuple[str, ...]) -> Problem:
    """The problem with the server's temporary folder taken out of its path and message."""
    path, message = problem.path, problem.message
    for prefix in prefixes:
        path, message = path.replace(prefix, ""), message.replace(prefix, "")
    return Problem(problem.code, path, message, problem.severity)


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
