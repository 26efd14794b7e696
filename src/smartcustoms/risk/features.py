"""Model features from the risk view: declared facts, value controls and history profiles.

A risk model is only as trustworthy as the columns it reads. This module turns the risk
view into a numeric frame for a gradient-boosted model, the same way at training and at
scoring time:

* **declared categoricals** (HS6, origin, route, office, ...) become integer codes from
  dictionaries fitted on training data (:class:`CategoryEncoder`). Code ``0`` is "missing",
  ``1`` is "other" (a value unseen in training, or too rare to learn from), real values
  start at ``2``; the dictionaries serialise to plain JSON with the model;
* **declared numerics** (mass, value, data-quality score) pass through as ``Float32``;
* **value controls** (:mod:`smartcustoms.risk.value_controls`) place the unit value in its
  peers' distribution;
* **history profiles** (:mod:`smartcustoms.risk.profiles`) carry past non-compliance per
  party, goods and route key.

:class:`FeatureConfig` says which of these to use, :class:`FeatureSchema` records what came
out (name, kind, dtype) with a stable :meth:`FeatureSchema.hash` that a saved model keeps
so it can refuse features built differently. :class:`FeatureBuilder` bundles a config with
its fitted encoder as one serialisable object.

**Leakage guard.** A column carrying a control outcome (``is_noncompliant``,
``revenue_at_stake``, the Jeong et al. ``Fraud`` / ``Critical Fraud``, anything
:func:`~smartcustoms.risk.columns.is_label_column` recognises) can never be a feature or a
profile key: the config refuses it with :class:`~smartcustoms.errors.LabelLeakageError`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, Self

import numpy as np
import polars as pl
from numpy.typing import NDArray

from smartcustoms.errors import (
    InvalidInputError,
    ModelSchemaMismatchError,
    NotFittedError,
    Problem,
)
from smartcustoms.model.columns import (
    COUNTRY_OF_DISPATCH,
    NET_MASS_KG,
    OFFICE_OF_ARRIVAL,
    ORIGIN_COUNTRY,
    TRANSPORT_MODE,
)
from smartcustoms.risk.columns import (
    AEO_STATUS,
    BASE_VALUE,
    DQ_SCORE,
    HS6,
    UNIT_VALUE,
    VALUE_PERCENTILE,
    VALUE_RATIO,
    VALUE_REF_LEVEL,
    VALUE_REF_N,
    VALUE_Z,
)
from smartcustoms.risk.profiles import (
    ALL_STATS,
    DEFAULT_PROFILE_KEYS,
    HistoryProfiles,
    ProfileKey,
    ProfileStat,
    profile_columns,
    refuse_label_columns,
)
from smartcustoms.risk.value_controls import ValueReference, ValueRefLevel, with_value_controls

__all__ = [
    "CATEGORY_CODE_DTYPE",
    "DEFAULT_CATEGORICALS",
    "DEFAULT_NUMERICS",
    "FIRST_CATEGORY_CODE",
    "MISSING_CODE",
    "NUMERIC_DTYPE",
    "OTHER_CODE",
    "VALUE_CONTROL_CATEGORICALS",
    "VALUE_CONTROL_NUMERICS",
    "CategoryEncoder",
    "FeatureBuilder",
    "FeatureConfig",
    "FeatureKind",
    "FeatureSchema",
    "FeatureSpec",
    "build_features",
    "feature_matrix",
]

MISSING_CODE: Final = 0
"""Code of a null categorical value."""
OTHER_CODE: Final = 1
"""Code of a value unseen in training or rarer than ``min_count``: one shared bucket the
model learns from the rare training values, so a new importer is "rare", not an error."""
FIRST_CATEGORY_CODE: Final = 2
"""Code of the most frequent training value; the next values follow."""

CATEGORY_CODE_DTYPE: Final = pl.Int32()
"""Dtype of encoded categoricals."""
NUMERIC_DTYPE: Final = pl.Float32()
"""Dtype of numeric features (LightGBM bins them; 32 bits halve the memory)."""

DEFAULT_CATEGORICALS: Final[tuple[str, ...]] = (
    HS6,
    ORIGIN_COUNTRY,
    COUNTRY_OF_DISPATCH,
    OFFICE_OF_ARRIVAL,
    TRANSPORT_MODE,
    AEO_STATUS,
)
"""Declared categoricals with few enough values to learn directly; party ids are better
served by history profiles than by codes."""

DEFAULT_NUMERICS: Final[tuple[str, ...]] = (NET_MASS_KG, BASE_VALUE, DQ_SCORE)
"""Declared and enrichment numerics."""

VALUE_CONTROL_NUMERICS: Final[tuple[str, ...]] = (
    UNIT_VALUE,
    VALUE_RATIO,
    VALUE_Z,
    VALUE_PERCENTILE,
    VALUE_REF_N,
)
"""Numeric features taken from the value controls."""

VALUE_CONTROL_CATEGORICALS: Final[tuple[str, ...]] = (VALUE_REF_LEVEL,)
"""Categorical features taken from the value controls (fixed vocabulary)."""

_VALUE_LEVEL_CODES: Final = {
    level.value: FIRST_CATEGORY_CODE + i for i, level in enumerate(ValueRefLevel)
}


class FeatureKind(StrEnum):
    """How a model should treat a feature."""

    CATEGORICAL = "categorical"
    NUMERIC = "numeric"


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """One feature column.

    Attributes:
        name: Column name in the feature frame.
        kind: Categorical (integer codes) or numeric.
        dtype: Polars dtype name (``Int32``, ``Float32``).
    """

    name: str
    kind: FeatureKind
    dtype: str

    def as_dict(self) -> dict[str, str]:
        """Plain JSON-ready form."""
        return {"name": self.name, "kind": self.kind.value, "dtype": self.dtype}


@dataclass(frozen=True, slots=True)
class FeatureSchema:
    """What a feature build produced, in column order, and how categoricals were encoded.

    A saved model keeps :meth:`hash`; scoring recomputes it and refuses to go on when it
    differs (a renamed column, a new profile key, other category dictionaries all change
    it), because a tree model silently reads garbage from shifted columns.

    Attributes:
        features: Every feature, in column order.
        encoding: sha256 of the category dictionaries used (empty without categoricals).
    """

    features: tuple[FeatureSpec, ...]
    encoding: str = ""

    @property
    def names(self) -> list[str]:
        """Feature names in column order."""
        return [f.name for f in self.features]

    @property
    def categorical_names(self) -> list[str]:
        """Names of the categorical features (for LightGBM's ``categorical_feature``)."""
        return [f.name for f in self.features if f.kind is FeatureKind.CATEGORICAL]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {"features": [f.as_dict() for f in self.features], "encoding": self.encoding}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureSchema:
        """Rebuild a schema from :meth:`to_dict` output."""
        return cls(
            features=tuple(
                FeatureSpec(str(f["name"]), FeatureKind(f["kind"]), str(f["dtype"]))
                for f in data["features"]
            ),
            encoding=str(data.get("encoding", "")),
        )

    def hash(self) -> str:
        """sha256 (hex) of the canonical JSON of :meth:`to_dict` - stable across runs."""
        return _sha256(self.to_dict())

    def require_same(self, other: FeatureSchema) -> None:
        """Raise unless ``other`` describes the same features and encoding.

        Raises:
            ModelSchemaMismatchError: Naming the features that differ.
        """
        if self.hash() == other.hash():
            return
        mine, theirs = set(self.features), set(other.features)
        problems = [
            Problem("risk.model_schema", f.name, "expected by the model, not built")
            for f in self.features
            if f not in theirs
        ] + [
            Problem("risk.model_schema", f.name, "built, not expected by the model")
            for f in other.features
            if f not in mine
        ]
        if not problems and self.names != other.names:
            problems.append(Problem("risk.model_schema", "features", "column order differs"))
        if self.encoding != other.encoding:
            problems.append(Problem("risk.model_schema", "encoding", "category codes differ"))
        raise ModelSchemaMismatchError(
            f"feature schema {other.hash()[:12]} does not match {self.hash()[:12]}",
            tuple(problems),
        )


def _sha256(data: Any) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _tuple_of_str(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(str(v) for v in values)


@dataclass(frozen=True)
class FeatureConfig:
    """Which columns become features. Refuses label columns on construction.

    Attributes:
        categoricals: Canonical categorical columns (absent columns are all-missing).
        numerics: Canonical numeric columns (absent columns are all-null).
        profile_keys: History-profile keys; empty for no profile features.
        profile_stats: Profile statistics per key.
        value_controls: Whether to add the value-control features.
        extra_categoricals: Dataset-specific categorical columns; they must be present.
        extra_numerics: Dataset-specific numeric columns; they must be present.
        min_category_count: Training occurrences a categorical value needs to get its own
            code (rarer ones share :data:`OTHER_CODE`).

    Raises:
        LabelLeakageError: When any column named is a label column.
        InvalidInputError: When a column is named twice or ``min_category_count`` < 1.
    """

    categoricals: tuple[str, ...] = DEFAULT_CATEGORICALS
    numerics: tuple[str, ...] = DEFAULT_NUMERICS
    profile_keys: tuple[ProfileKey, ...] = DEFAULT_PROFILE_KEYS
    profile_stats: tuple[ProfileStat, ...] = ALL_STATS
    value_controls: bool = True
    extra_categoricals: tuple[str, ...] = ()
    extra_numerics: tuple[str, ...] = ()
    min_category_count: int = 1

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "categoricals", _tuple_of_str(self.categoricals))
        set_(self, "numerics", _tuple_of_str(self.numerics))
        set_(self, "extra_categoricals", _tuple_of_str(self.extra_categoricals))
        set_(self, "extra_numerics", _tuple_of_str(self.extra_numerics))
        set_(self, "profile_keys", tuple(_tuple_of_str(k) for k in self.profile_keys))
        set_(self, "profile_stats", tuple(ProfileStat(s) for s in self.profile_stats))
        self.check_leakage()
        columns = self.categorical_columns + self.numeric_columns
        duplicated = sorted({c for c in columns if columns.count(c) > 1})
        if duplicated:
            raise InvalidInputError(f"feature columns named twice: {', '.join(duplicated)}")
        if self.min_category_count < 1:
            raise InvalidInputError("min_category_count must be >= 1")

    @property
    def categorical_columns(self) -> list[str]:
        """Declared categoricals, canonical then extra."""
        return [*self.categoricals, *self.extra_categoricals]

    @property
    def numeric_columns(self) -> list[str]:
        """Declared numerics, canonical then extra."""
        return [*self.numerics, *self.extra_numerics]

    @property
    def profile_feature_names(self) -> list[str]:
        """Profile feature columns this config expects."""
        return profile_columns(self.profile_keys, self.profile_stats)

    def check_leakage(self) -> None:
        """Refuse every label column named anywhere in the config.

        Raises:
            LabelLeakageError: Listing all offending columns.
        """
        named = [
            *self.categorical_columns,
            *self.numeric_columns,
            *(c for key in self.profile_keys for c in key),
        ]
        refuse_label_columns(named, where="feature config")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {
            "categoricals": list(self.categoricals),
            "numerics": list(self.numerics),
            "profile_keys": [list(k) for k in self.profile_keys],
            "profile_stats": [s.value for s in self.profile_stats],
            "value_controls": self.value_controls,
            "extra_categoricals": list(self.extra_categoricals),
            "extra_numerics": list(self.extra_numerics),
            "min_category_count": self.min_category_count,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureConfig:
        """Rebuild (and re-check) a config from :meth:`to_dict` output."""
        return cls(
            categoricals=tuple(data.get("categoricals", DEFAULT_CATEGORICALS)),
            numerics=tuple(data.get("numerics", DEFAULT_NUMERICS)),
            profile_keys=tuple(tuple(k) for k in data.get("profile_keys", DEFAULT_PROFILE_KEYS)),
            profile_stats=tuple(ProfileStat(s) for s in data.get("profile_stats", ALL_STATS)),
            value_controls=bool(data.get("value_controls", True)),
            extra_categoricals=tuple(data.get("extra_categoricals", ())),
            extra_numerics=tuple(data.get("extra_numerics", ())),
            min_category_count=int(data.get("min_category_count", 1)),
        )


class CategoryEncoder:
    """Category dictionaries fitted on training data, applied identically when scoring.

    Values are coded by descending training frequency (ties by value), from
    :data:`FIRST_CATEGORY_CODE`; rarer than ``min_count`` or unseen values get
    :data:`OTHER_CODE`, nulls :data:`MISSING_CODE`. Values are compared as strings.

    Args:
        min_count: Training occurrences a value needs to get its own code.
        max_categories: Cap on codes per column (most frequent kept), or None.
    """

    def __init__(self, *, min_count: int = 1, max_categories: int | None = None) -> None:
        self.min_count = min_count
        self.max_categories = max_categories

    def fit(self, view: pl.DataFrame, columns: Sequence[str]) -> Self:
        """Learn one dictionary per column (absent columns get an empty one).

        Raises:
            LabelLeakageError: When a column is a label column.
        """
        refuse_label_columns(columns, where="category encoder")
        vocabularies: dict[str, list[str]] = {}
        for column in columns:
            if column not in view.columns:
                vocabularies[column] = []
                continue
            counts = (
                view.select(pl.col(column).cast(pl.String).alias("value"))
                .drop_nulls()
                .group_by("value")
                .agg(pl.len().alias("count"))
                .filter(pl.col("count") >= self.min_count)
                .sort(["count", "value"], descending=[True, False])
            )
            if self.max_categories is not None:
                counts = counts.head(self.max_categories)
            vocabularies[column] = counts["value"].to_list()
        self.vocabularies_ = vocabularies
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "vocabularies_"):
            raise NotFittedError("CategoryEncoder.fit must run before transform")

    @property
    def columns(self) -> list[str]:
        """Columns the encoder was fitted on, in order."""
        self._check_fitted()
        return list(self.vocabularies_)

    def encode(self, values: pl.Series, column: str) -> pl.Series:
        """Codes of one column's values (name kept, dtype :data:`CATEGORY_CODE_DTYPE`)."""
        self._check_fitted()
        vocabulary = self.vocabularies_[column]
        as_text = values.cast(pl.String)
        codes = as_text.replace_strict(
            vocabulary,
            list(range(FIRST_CATEGORY_CODE, FIRST_CATEGORY_CODE + len(vocabulary))),
            default=OTHER_CODE,
            return_dtype=CATEGORY_CODE_DTYPE,
        )
        return codes.set(as_text.is_null(), MISSING_CODE).alias(values.name)

    def transform(self, view: pl.DataFrame) -> pl.DataFrame:
        """Encode every fitted column of ``view`` (absent columns are all missing)."""
        self._check_fitted()
        return pl.DataFrame(
            [
                self.encode(
                    _column_or_nulls(view, c),
                    c,
                ).alias(c)
                for c in self.vocabularies_
            ],
            schema=dict.fromkeys(self.vocabularies_, CATEGORY_CODE_DTYPE),
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form (settings and dictionaries)."""
        self._check_fitted()
        return {
            "min_count": self.min_count,
            "max_categories": self.max_categories,
            "vocabularies": {c: list(v) for c, v in self.vocabularies_.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CategoryEncoder:
        """Rebuild a fitted encoder from :meth:`to_dict` output."""
        encoder = cls(
            min_count=int(data.get("min_count", 1)), max_categories=data.get("max_categories")
        )
        encoder.vocabularies_ = {
            str(c): [str(v) for v in vs] for c, vs in data["vocabularies"].items()
        }
        return encoder

    def fingerprint(self) -> str:
        """sha256 of the dictionaries, recorded in the :class:`FeatureSchema`."""
        return _sha256(self.to_dict()["vocabularies"])


def _column_or_nulls(view: pl.DataFrame, column: str) -> pl.Series:
    if column in view.columns:
        return view[column]
    return pl.repeat(None, view.height, dtype=pl.String, eager=True).alias(column)


def _schema_for(config: FeatureConfig, encoder: CategoryEncoder | None) -> FeatureSchema:
    categorical = [*config.categorical_columns]
    numeric = [*config.numeric_columns]
    if config.value_controls:
        categorical += VALUE_CONTROL_CATEGORICALS
        numeric += VALUE_CONTROL_NUMERICS
    numeric += config.profile_feature_names
    specs = [
        FeatureSpec(c, FeatureKind.CATEGORICAL, str(CATEGORY_CODE_DTYPE)) for c in categorical
    ] + [FeatureSpec(c, FeatureKind.NUMERIC, str(NUMERIC_DTYPE)) for c in numeric]
    encoding = encoder.fingerprint() if encoder is not None and config.categorical_columns else ""
    return FeatureSchema(features=tuple(specs), encoding=encoding)


def _profile_frame(
    view: pl.DataFrame,
    config: FeatureConfig,
    profiles: HistoryProfiles | pl.DataFrame | None,
) -> pl.DataFrame:
    wanted = config.profile_feature_names
    if not wanted:
        return pl.DataFrame()
    if profiles is None:
        raise InvalidInputError(
            "the feature config names profile keys: pass fitted HistoryProfiles (scoring) "
            "or out-of-fold profile columns (training)"
        )
    frame = profiles.transform(view) if isinstance(profiles, HistoryProfiles) else profiles
    if frame.height != view.height:
        raise InvalidInputError(
            f"profile frame has {frame.height} rows for a view of {view.height}"
        )
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise InvalidInputError.with_problems(
            "profiles lack columns the feature config expects",
            [Problem("risk.profile_missing", c, "profile column missing") for c in missing],
        )
    return frame.select(pl.col(c).cast(NUMERIC_DTYPE) for c in wanted)


def _value_frame(view: pl.DataFrame, reference: ValueReference | None) -> pl.DataFrame:
    wanted = [*VALUE_CONTROL_CATEGORICALS, *VALUE_CONTROL_NUMERICS]
    if reference is not None:
        enriched = with_value_controls(view, reference)
    elif all(c in view.columns for c in wanted):
        enriched = view  # value controls already computed upstream (the rules stage)
    else:
        raise InvalidInputError(
            "the feature config uses value controls: pass a ValueReference "
            "(or a view that already has the value-control columns)"
        )
    return enriched.select(
        pl.col(VALUE_REF_LEVEL)
        .cast(pl.String)
        .replace_strict(_VALUE_LEVEL_CODES, default=OTHER_CODE, return_dtype=CATEGORY_CODE_DTYPE)
        .fill_null(MISSING_CODE),
        *[pl.col(c).cast(NUMERIC_DTYPE) for c in VALUE_CONTROL_NUMERICS],
    )


def build_features(
    view: pl.DataFrame,
    config: FeatureConfig,
    *,
    encoder: CategoryEncoder | None = None,
    profiles: HistoryProfiles | pl.DataFrame | None = None,
    reference: ValueReference | None = None,
) -> tuple[pl.DataFrame, FeatureSchema]:
    """Build the feature frame of a risk view (same code for training and scoring).

    Args:
        view: Risk view, one row per goods item.
        config: What to build; label columns were refused when it was made, and are
            refused again here.
        encoder: Fitted category dictionaries (required when the config has categoricals;
            :class:`FeatureBuilder` keeps one with the config).
        profiles: Fitted :class:`~smartcustoms.risk.profiles.HistoryProfiles` (scoring: rows
            later than the history) or a frame of out-of-fold profile columns (training,
            from :func:`~smartcustoms.risk.profiles.out_of_fold_profiles`).
        reference: Value reference (required when value controls are on, unless the view
            already carries the value-control columns).

    Returns:
        ``(features, schema)``: one row per view row, columns in ``schema`` order.

    Raises:
        LabelLeakageError: When the config names a label column.
        NotFittedError: When categoricals are configured and no encoder is given.
        InvalidInputError: When an extra column, the profiles or the reference are missing
            or inconsistent with the config.
    """
    config.check_leakage()
    absent = [
        c for c in (*config.extra_categoricals, *config.extra_numerics) if c not in view.columns
    ]
    if absent:
        raise InvalidInputError.with_problems(
            "the view lacks extra feature columns named by the config",
            [Problem("risk.column_missing", c, "column missing") for c in absent],
        )
    parts: list[pl.DataFrame] = []
    if config.categorical_columns:
        if encoder is None:
            raise NotFittedError("categorical features need a fitted CategoryEncoder")
        missing = [c for c in config.categorical_columns if c not in encoder.columns]
        if missing:
            raise InvalidInputError(f"the encoder was not fitted on: {', '.join(missing)}")
        parts.append(
            pl.DataFrame(
                [
                    encoder.encode(
                        _column_or_nulls(view, c),
                        c,
                    )
                    for c in config.categorical_columns
                ]
            )
        )
    value_part = _value_frame(view, reference) if config.value_controls else None
    if value_part is not None:
        parts.append(value_part.select(VALUE_CONTROL_CATEGORICALS))
    parts.append(
        view.select(
            (pl.col(c) if c in view.columns else pl.lit(None)).cast(NUMERIC_DTYPE).alias(c)
            for c in config.numeric_columns
        )
        if config.numeric_columns
        else pl.DataFrame()
    )
    if value_part is not None:
        parts.append(value_part.select(VALUE_CONTROL_NUMERICS))
    parts.append(_profile_frame(view, config, profiles))
    features = pl.concat([p for p in parts if p.width], how="horizontal")
    schema = _schema_for(config, encoder)
    return features.select(schema.names), schema


def feature_matrix(features: pl.DataFrame, schema: FeatureSchema) -> NDArray[np.float32]:
    """The features as a C-ordered float32 matrix in schema order (nulls as NaN).

    Raises:
        ModelSchemaMismatchError: When the frame's columns are not the schema's.
    """
    if features.columns != schema.names:
        raise ModelSchemaMismatchError(
            "feature frame columns differ from the schema",
            (Problem("risk.model_schema", "features", "column names or order differ"),),
        )
    matrix = features.select(pl.all().cast(pl.Float32)).to_numpy()
    return np.ascontiguousarray(matrix, dtype=np.float32)


class FeatureBuilder:
    """A feature config with its fitted category dictionaries, serialisable as one object.

    It is the input half of a saved model. Follows the scikit-learn contract: :meth:`fit`
    returns ``self``, learned state ends in ``_``.

    Args:
        config: What to build.
        max_categories: Cap on codes per categorical column.
    """

    def __init__(
        self,
        config: FeatureConfig | None = None,
        *,
        max_categories: int | None = None,
    ) -> None:
        self.config = config or FeatureConfig()
        self.max_categories = max_categories

    def fit(self, view: pl.DataFrame) -> Self:
        """Fit the category dictionaries on training rows and fix the schema."""
        self.config.check_leakage()
        self.encoder_ = CategoryEncoder(
            min_count=self.config.min_category_count, max_categories=self.max_categories
        ).fit(view, self.config.categorical_columns)
        self.schema_ = _schema_for(self.config, self.encoder_)
        return self

    def transform(
        self,
        view: pl.DataFrame,
        *,
        profiles: HistoryProfiles | pl.DataFrame | None = None,
        reference: ValueReference | None = None,
    ) -> pl.DataFrame:
        """Build features with the fitted dictionaries (see :func:`build_features`).

        Raises:
            NotFittedError: Before :meth:`fit`.
        """
        if not hasattr(self, "encoder_"):
            raise NotFittedError("FeatureBuilder.fit must run before transform")
        features, schema = build_features(
            view, self.config, encoder=self.encoder_, profiles=profiles, reference=reference
        )
        self.schema_.require_same(schema)
        return features

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form: config, dictionaries, schema and its hash."""
        if not hasattr(self, "encoder_"):
            raise NotFittedError("FeatureBuilder.fit must run before serialising")
        return {
            "config": self.config.to_dict(),
            "max_categories": self.max_categories,
            "encoder": self.encoder_.to_dict(),
            "schema": self.schema_.to_dict(),
            "schema_hash": self.schema_.hash(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureBuilder:
        """Rebuild a fitted builder; refuses data whose schema does not match its config.

        Raises:
            LabelLeakageError: When the stored config names a label column.
            ModelSchemaMismatchError: When the stored schema or hash disagree with what
                this code builds from the stored config and dictionaries.
        """
        builder = cls(
            FeatureConfig.from_dict(data["config"]), max_categories=data.get("max_categories")
        )
        builder.encoder_ = CategoryEncoder.from_dict(data["encoder"])
        builder.schema_ = _schema_for(builder.config, builder.encoder_)
        stored = FeatureSchema.from_dict(data["schema"])
        stored.require_same(builder.schema_)
        if data.get("schema_hash", stored.hash()) != builder.schema_.hash():
            raise ModelSchemaMismatchError("stored feature schema hash does not match")
        return builder

    def to_json(self) -> str:
        """:meth:`to_dict` as compact JSON text."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> FeatureBuilder:
        """Rebuild from :meth:`to_json` output."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise InvalidInputError("feature builder JSON must be an object")
        return cls.from_dict(data)
