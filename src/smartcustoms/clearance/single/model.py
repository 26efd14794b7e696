"""Model scoring and feature contributions of one filing, row-wise (no Polars per filing).

Mirrors two calls :meth:`smartcustoms.risk.engine.RiskEngine.assess` makes on the risk view
(one row per goods item, value controls applied, ``rule_score`` joined):

* :meth:`SingleScorer.score` ==
  ``RiskPipeline.score_consignments(view, top=0, values_applied=...)`` restricted to
  ``consignment_id, risk_score, expected_revenue, model_version, riskiest_item``, as dicts;
* :meth:`SingleScorer.contributions` == ``RiskPipeline.contributions(<one row>, top=3,
  values_applied=...)[0]`` (the JSON text ``RiskEngine._explain_controlled`` reads).

The features (:func:`smartcustoms.risk.features.build_features`) are rebuilt from plain
dicts prepared once from the pipeline: category dictionaries, value-level codes and the
history-profile sums (:class:`smartcustoms.risk.profiles.HistoryProfiles`) keyed by their
string values. They go through float64 into one float32 matrix, as the batch casts do, and
the LightGBM boosters are called on it exactly as :class:`smartcustoms.risk.model.RiskModel`
calls them, so scores are bit-identical. The per-consignment expected revenue is summed
left to right in descending-score order, as ``score_consignments`` defines it with a running
sum (Polars' grouped ``sum`` chooses its summation by the shape of the groups, so the batch
path no longer uses it there; checked value for value by the differential tests).

Declined (the method returns ``None``, the caller uses the batch path):

* value controls computed by the pipeline itself (``values_applied=False`` with a value
  reference): :func:`~smartcustoms.risk.value_controls.with_value_controls` is not ported;
* a pipeline that is not fitted, or whose parts disagree (profile keys without fitted
  profiles, a schema other than the one rebuilt here, profile tables with null sums);
* a view the batch would refuse (an extra feature column, a value-control column or a
  profile key column missing) or that is empty;
* any value of a type not ported: categorical and profile-key values must be ``str`` or
  ``None``; numerics ``float``, ``int`` (up to 2**53 in magnitude, not ``bool``) or ``None``;
  ``consignment_id`` a ``str``; ``item_no`` an ``int`` or ``None``.

No method raises on bad input: anything unexpected gives ``None``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, TypeVar

import numpy as np
import polars as pl
from numpy.typing import NDArray

from smartcustoms.model import columns as c
from smartcustoms.risk.columns import (
    EXPECTED_REVENUE,
    MODEL_VERSION,
    RISK_SCORE,
    VALUE_REF_LEVEL,
)
from smartcustoms.risk.features import (
    FIRST_CATEGORY_CODE,
    MISSING_CODE,
    OTHER_CODE,
    VALUE_CONTROL_CATEGORICALS,
    VALUE_CONTROL_NUMERICS,
    FeatureConfig,
)
from smartcustoms.risk.pipeline import RiskPipeline
from smartcustoms.risk.profiles import (
    PROFILE_N,
    PROFILE_N_LABELLED,
    PROFILE_N_POSITIVE,
    PROFILE_REVENUE_SUM,
    HistoryProfiles,
    ProfileKey,
    ProfileStat,
    key_name,
    profile_columns,
)
from smartcustoms.risk.value_controls import ValueRefLevel

__all__ = ["RISKIEST_ITEM", "SingleScorer"]

RISKIEST_ITEM: Final = "riskiest_item"
"""Output key: ``item_no`` of the consignment's riskiest goods item."""

_MAX_EXACT_INT: Final = 2**53
"""Integers up to this magnitude convert to float64 exactly (then once to float32, as the
batch's Int64 -> Float32 cast rounds them)."""
_TOP: Final = 3
"""Contributions kept per row (what the engine asks for)."""
_ZERO_SUMS: Final = (0.0, 0.0, 0.0, 0.0)
_SUM_COLUMNS: Final = (PROFILE_N, PROFILE_N_LABELLED, PROFILE_N_POSITIVE, PROFILE_REVENUE_SUM)

_T = TypeVar("_T")

Sums = tuple[float, float, float, float]
"""A profile key value's history sums: n, n_labelled, n_positive, revenue_sum."""


class _NotCoveredError(Exception):
    """Internal: this input is not covered (the public methods turn it into ``None``)."""


def _text(value: object) -> str | None:
    """A categorical or key value as the batch's ``cast(pl.String)`` reads it."""
    if value is None or type(value) is str:
        return value
    raise _NotCoveredError


def _number(value: object) -> float:
    """A numeric value as float64 (NaN for null), exact where the batch cast is exact."""
    if value is None:
        return math.nan
    if isinstance(value, float) and type(value) is float:
        return value
    if isinstance(value, int) and type(value) is int and abs(value) <= _MAX_EXACT_INT:
        return float(value)
    raise _NotCoveredError


def _divide(numerator: float, denominator: float) -> float:
    """``numerator / denominator`` with numpy's result for a zero denominator."""
    if denominator != 0.0:
        return numerator / denominator
    if numerator == 0.0 or math.isnan(numerator):
        return math.nan
    return math.inf if numerator > 0.0 else -math.inf


def _running_sum(values: Sequence[float]) -> float:
    """Left-to-right sum: ``cum_sum().last()``, as ``score_consignments`` sums revenue."""
    total = 0.0
    for value in values:
        total += value
    return total


class _Profiles:
    """History-profile sums of one fitted :class:`HistoryProfiles` as Python dicts."""

    def __init__(self, profiles: HistoryProfiles) -> None:
        self.stats = profiles.stats
        self.smoothing = profiles.smoothing
        self.prior_rate = float(profiles.prior_rate_)
        self.prior_revenue = float(profiles.prior_revenue_)
        self.keys: list[tuple[ProfileKey, dict[Any, Sums]]] = [
            (key, self._table(profiles.tables_[key_name(key)], key)) for key in profiles.keys
        ]
        self.columns = sorted({column for key in profiles.keys for column in key})
        self.names = profile_columns(profiles.keys, profiles.stats)
        # statistics computed on first use per key value; unseen and null values share one
        self._memo: list[dict[Any, tuple[float, ...]]] = [{} for _ in self.keys]
        self._unseen = self._stats(_ZERO_SUMS)
        self._null = (math.nan,) * len(self.stats)

    @staticmethod
    def _table(table: pl.DataFrame, key: ProfileKey) -> dict[Any, Sums]:
        """Key value (a string, or a tuple of strings) -> sums, as the scoring index gives.

        A one-column key's sums come out of a ``bincount`` (``0.0 + value``), a multi-column
        key's out of a join (the value as stored).
        """
        frame = table.select(
            *(pl.col(col).cast(pl.String) for col in key),
            *(pl.col(col).cast(pl.Float64) for col in _SUM_COLUMNS),
        )
        if any(frame[col].null_count() for col in _SUM_COLUMNS):
            raise _NotCoveredError
        width = len(key)
        out: dict[Any, Sums] = {}
        for row in frame.iter_rows():
            sums = row[width:]
            if width == 1:
                out[row[0]] = (0.0 + sums[0], 0.0 + sums[1], 0.0 + sums[2], 0.0 + sums[3])
            else:
                out[tuple(row[:width])] = (sums[0], sums[1], sums[2], sums[3])
        return out

    def append(self, row: Mapping[str, Any], out: list[float]) -> None:
        """Append the row's profile features (key-major, stat order) to ``out``."""
        for (key, table), memo in zip(self.keys, self._memo, strict=True):
            value: Any
            if len(key) == 1:
                value = _text(row[key[0]])
            else:
                value = tuple(_text(row[col]) for col in key)
                if None in value:
                    value = None
            if value is None:
                out.extend(self._null)
                continue
            stats = memo.get(value)
            if stats is None:
                sums = table.get(value)
                if sums is None:
                    out.extend(self._unseen)
                    continue
                stats = memo[value] = self._stats(sums)
            out.extend(stats)

    def _stats(self, sums: Sums) -> tuple[float, ...]:
        """The statistics of one key value (m-estimates as the batch computes them)."""
        n, n_labelled, n_positive, revenue_sum = sums
        m = self.smoothing
        values: list[float] = []
        for stat in self.stats:
            if stat is ProfileStat.COUNT:
                values.append(n * 1.0)
            elif stat is ProfileStat.LABELLED:
                values.append(n_labelled * 1.0)
            elif stat is ProfileStat.RATE:
                values.append(_divide(n_positive + m * self.prior_rate, n_labelled + m))
            else:
                values.append(_divide(revenue_sum + m * self.prior_revenue, n_labelled + m))
        return tuple(values)


class SingleScorer:
    """Per-filing model scores and contributions, equal to the batch pipeline's.

    Built once per pipeline (category, value-level and profile dictionaries are prepared
    here); each call is pure Python plus one LightGBM call per booster on a small numpy
    matrix. See the module docstring for what is declined.

    Args:
        pipeline: The fitted pipeline the batch engine scores with.
        values_applied: As the engine passes it (``engine.reference is
            pipeline.reference_``): the view already carries this pipeline's value controls.
    """

    def __init__(self, pipeline: RiskPipeline, *, values_applied: bool) -> None:
        self.pipeline = pipeline
        self.values_applied = values_applied
        self._ready = False
        try:
            self._prepare(pipeline)
        except Exception:  # an unusual or unfitted pipeline: every call declines
            self._ready = False

    @property
    def ready(self) -> bool:
        """Whether this pipeline is covered at all (else every call returns ``None``)."""
        return self._ready

    # ---------------------------------------------------------------- construction

    def _prepare(self, pipeline: RiskPipeline) -> None:
        config: FeatureConfig = pipeline.builder_.config
        vocabularies = pipeline.builder_.encoder_.vocabularies_
        self._categoricals = [
            (col, {v: float(FIRST_CATEGORY_CODE + i) for i, v in enumerate(vocabularies[col])})
            for col in config.categorical_columns
        ]
        self._numerics = list(config.numeric_columns)
        self._required = [*config.extra_categoricals, *config.extra_numerics]
        self._value_controls = config.value_controls
        reference = None if self.values_applied else pipeline.reference_
        if config.value_controls and reference is not None:
            return  # with_value_controls is not ported
        self._level_codes = {
            level.value: float(FIRST_CATEGORY_CODE + i) for i, level in enumerate(ValueRefLevel)
        }
        self._profiles: _Profiles | None = None
        if config.profile_keys:
            if pipeline.profiles_ is None:
                return
            self._profiles = _Profiles(pipeline.profiles_)
            if self._profiles.names != config.profile_feature_names:
                return
            self._required += self._profiles.columns
        if config.value_controls:
            self._required += [*VALUE_CONTROL_CATEGORICALS, *VALUE_CONTROL_NUMERICS]
        model = pipeline.model_
        self._names: list[str] = list(model.feature_names_)
        if (
            self._names != self._built_names(config)
            or self._names != pipeline.builder_.schema_.names
        ):
            return
        self._categorical_names = set(pipeline.builder_.schema_.categorical_names)
        self._classifier = model.classifier_
        self._revenue = model.revenue_model_
        self._best_iteration = model.best_iteration_
        self._version: str = pipeline.version_
        self._ready = True

    def _built_names(self, config: FeatureConfig) -> list[str]:
        """Feature names in the order :meth:`_features` builds them."""
        value_cats = list(VALUE_CONTROL_CATEGORICALS) if config.value_controls else []
        value_nums = list(VALUE_CONTROL_NUMERICS) if config.value_controls else []
        profiles = self._profiles.names if self._profiles is not None else []
        return [
            *(col for col, _ in self._categoricals),
            *value_cats,
            *self._numerics,
            *value_nums,
            *profiles,
        ]

    # ---------------------------------------------------------------- features

    def _features(self, row: Mapping[str, Any]) -> list[float]:
        """One row's features as float64 values (NaN = missing), in model column order."""
        out: list[float] = []
        for col, codes in self._categoricals:
            value = _text(row.get(col))
            out.append(float(MISSING_CODE) if value is None else codes.get(value, OTHER_CODE))
        if self._value_controls:
            # replace_strict(default=OTHER_CODE) maps a null level to OTHER_CODE as well
            level = _text(row[VALUE_REF_LEVEL])
            out.append(
                float(OTHER_CODE) if level is None else self._level_codes.get(level, OTHER_CODE)
            )
        for col in self._numerics:
            out.append(_number(row.get(col)))
        if self._value_controls:
            for col in VALUE_CONTROL_NUMERICS:
                out.append(_number(row[col]))
        if self._profiles is not None:
            self._profiles.append(row, out)
        return out

    def _matrix(self, view: Sequence[Mapping[str, Any]]) -> NDArray[np.float32]:
        """The feature matrix of ``view`` rows, float32 as the batch hands it to LightGBM."""
        for row in view:
            for col in self._required:
                if col not in row:
                    raise _NotCoveredError
        rows = [self._features(row) for row in view]
        with np.errstate(over="ignore"):  # beyond float32 range is inf, as in the batch
            matrix = np.asarray(rows, dtype=np.float64).astype(np.float32)
        return np.ascontiguousarray(matrix, dtype=np.float32)

    # ---------------------------------------------------------------- public API

    def score(self, view: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
        """Per consignment of one filing: score, expected revenue, version, riskiest item.

        Equal to ``pipeline.score_consignments(<frame of view>, top=0, values_applied=...)
        .select(consignment_id, risk_score, expected_revenue, model_version,
        riskiest_item).to_dicts()``, or ``None`` when not covered.

        Args:
            view: The filing's risk-view rows (one per goods item), as the engine has them
                when it scores.
        """
        return self._guard(lambda: self._score(view))

    def contributions(self, view_row: dict[str, Any]) -> Any | None:
        """JSON text of one goods item's three largest feature contributions.

        Equal to ``pipeline.contributions(<one-row frame of view_row>, top=3,
        values_applied=...)[0]``, or ``None`` when not covered.
        """
        return self._guard(lambda: self._contributions(view_row))

    def feature_matrix(self, view: list[dict[str, Any]]) -> NDArray[np.float32] | None:
        """The float32 feature matrix LightGBM reads for ``view`` rows (model column order).

        Equal to ``risk.model.feature_matrix(pipeline.features(<frame of view>, ...),
        pipeline.model_.feature_names_)``, or ``None`` when not covered.
        """
        return self._guard(lambda: self._matrix(view) if view else None)

    def _guard(self, compute: Callable[[], _T]) -> _T | None:
        """Run ``compute``; any decline or unexpected failure gives ``None``."""
        if not self._ready:
            return None
        try:
            return compute()
        except Exception:
            return None

    # ---------------------------------------------------------------- scoring

    def _predict(self, matrix: NDArray[np.float32]) -> tuple[list[float], list[float]]:
        """Item probabilities and revenues, as :meth:`RiskModel.predict_scores` gives them."""
        p = np.asarray(self._classifier.predict(matrix, num_iteration=self._best_iteration))
        if self._revenue is None:
            return p.tolist(), [math.nan] * matrix.shape[0]
        revenue = np.expm1(np.asarray(self._revenue.predict(matrix), dtype=np.float64))
        return p.tolist(), np.clip(revenue, 0.0, None).tolist()

    def _score(self, view: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not view:
            raise _NotCoveredError
        ids: list[str] = []
        items: list[int | None] = []
        for row in view:
            consignment, item = row[c.CONSIGNMENT_ID], row[c.ITEM_NO]
            if type(consignment) is not str or not (item is None or type(item) is int):
                raise _NotCoveredError
            ids.append(consignment)
            items.append(item)
        scores, revenues = self._predict(self._matrix(view))
        # stable descending sort, then per consignment in order of first appearance
        order = sorted(range(len(view)), key=lambda i: -scores[i])
        grouped: dict[str, list[int]] = {}
        for i in order:
            grouped.setdefault(ids[i], []).append(i)
        out: list[dict[str, Any]] = []
        for consignment in sorted(grouped):
            rows = grouped[consignment]
            expected = _running_sum(
                [scores[i] * (0.0 if math.isnan(revenues[i]) else revenues[i]) for i in rows]
            )
            out.append(
                {
                    c.CONSIGNMENT_ID: consignment,
                    RISK_SCORE: scores[rows[0]],
                    EXPECTED_REVENUE: expected,
                    MODEL_VERSION: self._version,
                    RISKIEST_ITEM: items[rows[0]],
                }
            )
        return out

    # ---------------------------------------------------------------- contributions

    def _contributions(self, row: dict[str, Any]) -> str:
        matrix = self._matrix([row])
        raw = self._classifier.predict(
            matrix, num_iteration=self._best_iteration, pred_contrib=True
        )
        contrib = np.asarray(raw, dtype=np.float64)[:, :-1]
        order = np.argsort(-np.abs(contrib), axis=1)[:, :_TOP]
        values = matrix.astype(np.float64)
        entries = [
            [self._names[j], self._shown(row, values[0, j], j), round(float(contrib[0, j]), 4)]
            for j in order[0]
        ]
        return json.dumps(entries)

    def _shown(self, row: Mapping[str, Any], value: float, j: int) -> float | str | None:
        """What the batch shows for feature ``j``: the declared category, else the value."""
        name = self._names[j]
        if name in self._categorical_names and name in row:
            return _text(row[name])
        return None if not np.isfinite(value) else round(float(value), 4)
