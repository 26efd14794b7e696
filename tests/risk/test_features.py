"""Feature builder: leakage guard, category encoding, schema hash, train/score consistency."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from smartcustoms.errors import (
    InvalidInputError,
    LabelLeakageError,
    ModelSchemaMismatchError,
    NotFittedError,
)
from smartcustoms.model.columns import (
    FILED_AT,
    FILER_ID,
    NET_MASS_KG,
    ORIGIN_COUNTRY,
    TRANSPORT_MODE,
    VALUE,
)
from smartcustoms.risk.columns import (
    BASE_VALUE,
    DQ_SCORE,
    HS6,
    IMPORTER_ID,
    IS_NONCOMPLIANT,
    REVENUE_AT_STAKE,
    VALUE_PERCENTILE,
    VALUE_REF_LEVEL,
)
from smartcustoms.risk.features import (
    FIRST_CATEGORY_CODE,
    MISSING_CODE,
    OTHER_CODE,
    CategoryEncoder,
    FeatureBuilder,
    FeatureConfig,
    FeatureKind,
    FeatureSchema,
    build_features,
    feature_matrix,
)
from smartcustoms.risk.profiles import HistoryProfiles, ProfileStat, out_of_fold_profiles
from smartcustoms.risk.value_controls import fit_value_reference

T0 = datetime(2024, 1, 1, tzinfo=UTC)
KEYS = ((IMPORTER_ID,), (HS6, ORIGIN_COUNTRY), (VALUE,))


def _view(rng: np.random.Generator, n: int, *, start: datetime = T0) -> pl.DataFrame:
    fraud = rng.random(n) < 0.2
    return pl.DataFrame(
        {
            HS6: rng.choice(["610101", "610102", "850440"], n).tolist(),
            ORIGIN_COUNTRY: rng.choice(
                np.array(["CN", "VN", "TR", None], dtype=object), n
            ).tolist(),
            TRANSPORT_MODE: rng.choice(["1", "4"], n).tolist(),
            IMPORTER_ID: rng.choice([f"IMP{i}" for i in range(20)], n).tolist(),
            FILER_ID: rng.choice(["D1", "D2"], n).tolist(),
            NET_MASS_KG: rng.lognormal(2.0, 1.0, n),
            VALUE: rng.choice([100.0, 250.0, 990.0, 1200.0], n),
            BASE_VALUE: rng.lognormal(6.0, 1.0, n),
            "tax_type": rng.choice(["A", "FEU1"], n).tolist(),
            "tax_rate": rng.choice([0.0, 8.0], n),
            FILED_AT: [start + timedelta(hours=int(h)) for h in rng.integers(0, 24 * 90, n)],
            IS_NONCOMPLIANT: fraud,
            REVENUE_AT_STAKE: np.where(fraud, rng.exponential(50.0, n), 0.0),
            "Fraud": fraud.astype(np.int8),
            "Critical Fraud": np.where(fraud, 1, 0),
        }
    )


@pytest.fixture
def config() -> FeatureConfig:
    return FeatureConfig(
        categoricals=(HS6, ORIGIN_COUNTRY, TRANSPORT_MODE),
        numerics=(NET_MASS_KG, BASE_VALUE, DQ_SCORE),
        profile_keys=KEYS,
        profile_stats=(ProfileStat.COUNT, ProfileStat.RATE, ProfileStat.REVENUE),
        extra_categoricals=("tax_type",),
        extra_numerics=("tax_rate",),
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("numerics", (NET_MASS_KG, IS_NONCOMPLIANT)),
        ("categoricals", (HS6, "Critical Fraud")),
        ("extra_numerics", (REVENUE_AT_STAKE,)),
        ("extra_categoricals", ("Fraud",)),
        ("profile_keys", ((IMPORTER_ID,), (HS6, "fraud_type"))),
    ],
)
def test_config_refuses_every_label_column(field: str, value: tuple[object, ...]) -> None:
    with pytest.raises(LabelLeakageError):
        FeatureConfig(**{field: value})  # type: ignore[arg-type]


def test_leakage_error_lists_all_offenders() -> None:
    with pytest.raises(LabelLeakageError) as info:
        FeatureConfig(
            numerics=("Fraud", NET_MASS_KG),
            extra_categoricals=("Critical Fraud",),
            profile_keys=((IS_NONCOMPLIANT,), (REVENUE_AT_STAKE, HS6)),
        )
    assert sorted(p.path for p in info.value.problems) == sorted(
        ["Critical Fraud", "Fraud", IS_NONCOMPLIANT, REVENUE_AT_STAKE]
    )
    assert info.value.code == "risk.label_leakage"


def test_stored_config_naming_a_label_is_refused_on_load(config: FeatureConfig, seed: int) -> None:
    view = _view(np.random.default_rng(seed), 100)
    data = FeatureBuilder(config).fit(view).to_dict()
    data["config"]["extra_numerics"] = ["tax_rate", "Critical Fraud"]
    with pytest.raises(LabelLeakageError):
        FeatureBuilder.from_dict(data)


def test_encoder_codes_by_frequency_with_reserved_codes() -> None:
    train = pl.DataFrame({"c": ["b", "a", "b", "c", "b", "a", None]})
    encoder = CategoryEncoder(min_count=2).fit(train, ["c"])
    assert encoder.vocabularies_ == {"c": ["b", "a"]}
    out = encoder.transform(pl.DataFrame({"c": ["a", "b", "c", "zzz", None]}))
    first = FIRST_CATEGORY_CODE
    assert out["c"].to_list() == [first + 1, first, OTHER_CODE, OTHER_CODE, MISSING_CODE]
    assert out["c"].dtype == pl.Int32
    rebuilt = CategoryEncoder.from_dict(encoder.to_dict())
    assert rebuilt.fingerprint() == encoder.fingerprint()
    assert encoder.transform(pl.DataFrame({"missing_column": [1]}))["c"].to_list() == [0]


def test_encoder_before_fit_raises() -> None:
    with pytest.raises(NotFittedError):
        CategoryEncoder().transform(pl.DataFrame({"c": ["a"]}))


def test_training_and_scoring_build_the_same_schema(config: FeatureConfig, seed: int) -> None:
    rng = np.random.default_rng(seed)
    history = _view(rng, 400)
    later = _view(rng, 100, start=T0 + timedelta(days=120))
    builder = FeatureBuilder(config).fit(history)
    reference = fit_value_reference(history, min_n=10)
    oof = out_of_fold_profiles(history, keys=config.profile_keys, stats=config.profile_stats)
    train = builder.transform(history, profiles=oof, reference=reference)
    profiles = HistoryProfiles(keys=config.profile_keys, stats=config.profile_stats).fit(history)
    score = builder.transform(later, profiles=profiles, reference=reference)
    assert train.columns == score.columns == builder.schema_.names
    assert train.height == history.height and score.height == later.height
    kinds = {f.name: f.kind for f in builder.schema_.features}
    assert kinds[HS6] is FeatureKind.CATEGORICAL
    assert kinds[VALUE_REF_LEVEL] is FeatureKind.CATEGORICAL
    assert kinds[VALUE_PERCENTILE] is FeatureKind.NUMERIC
    assert builder.schema_.categorical_names == [
        HS6,
        ORIGIN_COUNTRY,
        TRANSPORT_MODE,
        "tax_type",
        VALUE_REF_LEVEL,
    ]
    assert all(train[c].dtype == pl.Int32 for c in builder.schema_.categorical_names)
    assert train[DQ_SCORE].null_count() == train.height, "absent optional column: all null"
    assert not any(c in train.columns for c in ("Fraud", "Critical Fraud", IS_NONCOMPLIANT))
    matrix = feature_matrix(score, builder.schema_)
    assert matrix.dtype == np.float32 and matrix.shape == (100, len(builder.schema_.names))


def test_schema_hash_is_stable_and_sensitive(config: FeatureConfig, seed: int) -> None:
    view = _view(np.random.default_rng(seed), 300)
    a = FeatureBuilder(config).fit(view).schema_
    b = FeatureBuilder(config).fit(view).schema_
    assert a.hash() == b.hash()
    assert len(a.hash()) == 64
    assert FeatureSchema.from_dict(a.to_dict()).hash() == a.hash()
    fewer_keys = replace(config, profile_keys=KEYS[:2])
    assert FeatureBuilder(fewer_keys).fit(view).schema_.hash() != a.hash()
    other_codes = FeatureBuilder(config).fit(view.head(20)).schema_
    assert other_codes.names == a.names
    assert other_codes.hash() != a.hash(), "other category dictionaries change the hash"
    with pytest.raises(ModelSchemaMismatchError) as info:
        a.require_same(other_codes)
    assert [p.path for p in info.value.problems] == ["encoding"]


def test_builder_round_trips_through_json(config: FeatureConfig, seed: int) -> None:
    rng = np.random.default_rng(seed)
    history = _view(rng, 300)
    later = _view(rng, 50, start=T0 + timedelta(days=120))
    builder = FeatureBuilder(config).fit(history)
    rebuilt = FeatureBuilder.from_json(builder.to_json())
    assert rebuilt.schema_.hash() == builder.schema_.hash()
    reference = fit_value_reference(history, min_n=10)
    profiles = HistoryProfiles(keys=config.profile_keys, stats=config.profile_stats).fit(history)
    a = builder.transform(later, profiles=profiles, reference=reference)
    b = rebuilt.transform(later, profiles=profiles, reference=reference)
    assert a.equals(b)


def test_tampered_stored_schema_is_refused(config: FeatureConfig, seed: int) -> None:
    data = FeatureBuilder(config).fit(_view(np.random.default_rng(seed), 100)).to_dict()
    data["schema"]["features"] = data["schema"]["features"][:-1]
    with pytest.raises(ModelSchemaMismatchError):
        FeatureBuilder.from_dict(data)


def test_inputs_the_config_needs_must_be_given(config: FeatureConfig, seed: int) -> None:
    view = _view(np.random.default_rng(seed), 100)
    builder = FeatureBuilder(config).fit(view)
    reference = fit_value_reference(view, min_n=10)
    oof = out_of_fold_profiles(view, keys=config.profile_keys, stats=config.profile_stats)
    with pytest.raises(InvalidInputError, match="profile"):
        builder.transform(view, reference=reference)
    with pytest.raises(InvalidInputError, match="ValueReference"):
        builder.transform(view, profiles=oof)
    with pytest.raises(InvalidInputError, match="rows"):
        builder.transform(view, profiles=oof.head(10), reference=reference)
    with pytest.raises(InvalidInputError) as info:
        builder.transform(view.drop("tax_rate"), profiles=oof, reference=reference)
    assert [p.path for p in info.value.problems] == ["tax_rate"]
    with pytest.raises(NotFittedError):
        build_features(view, config, profiles=oof, reference=reference)
    with pytest.raises(NotFittedError):
        FeatureBuilder(config).transform(view, profiles=oof, reference=reference)


def test_unseen_categories_share_the_other_code(config: FeatureConfig, seed: int) -> None:
    rng = np.random.default_rng(seed)
    history = _view(rng, 200)
    builder = FeatureBuilder(config).fit(history)
    later = _view(rng, 10, start=T0 + timedelta(days=120)).with_columns(pl.lit("999999").alias(HS6))
    profiles = HistoryProfiles(keys=config.profile_keys, stats=config.profile_stats).fit(history)
    out = builder.transform(
        later, profiles=profiles, reference=fit_value_reference(history, min_n=10)
    )
    assert out[HS6].to_list() == [OTHER_CODE] * 10
