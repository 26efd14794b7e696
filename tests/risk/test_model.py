"""The RiskModel estimator contract."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from smartcustoms.errors import (
    InsufficientLabelsError,
    LabelLeakageError,
    ModelSchemaMismatchError,
    NotFittedError,
)
from smartcustoms.risk.model import RiskModel


def _data(seed: int = 42, n: int = 3_000) -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ratio = rng.lognormal(0, 0.6, n)
    origin = rng.integers(0, 5, n)
    noise = rng.normal(0, 1, n)
    logit = -2.0 - 2.5 * np.log(ratio) + (origin == 3) * 1.5
    y = rng.random(n) < 1 / (1 + np.exp(-logit))
    revenue = np.where(y, rng.lognormal(3, 1, n), 0.0)
    x = pl.DataFrame({"value_ratio": ratio, "origin_code": origin, "noise": noise})
    return x, y.astype(int), revenue


def test_constructor_only_stores_params_and_round_trips_them() -> None:
    model = RiskModel(num_leaves=7, random_state=3)
    assert model.get_params()["num_leaves"] == 7
    assert model.set_params(learning_rate=0.1) is model
    assert model.learning_rate == 0.1
    assert not hasattr(model, "classifier_")
    with pytest.raises(ValueError, match="unknown parameter"):
        model.set_params(depth=3)


def test_predict_before_fit_raises_not_fitted() -> None:
    x, _, _ = _data(n=10)
    with pytest.raises(NotFittedError) as info:
        RiskModel().predict_proba(x)
    assert isinstance(info.value, ValueError) and isinstance(info.value, AttributeError)


def test_fit_returns_self_and_learns_the_signal() -> None:
    x, y, revenue = _data()
    model = RiskModel(n_estimators=80, num_leaves=15)
    assert model.fit(x, y, revenue=revenue, categorical=["origin_code"]) is model
    p = model.predict_proba(x)[:, 1]
    assert p.shape == (x.height,)
    # Undervalued rows (low ratio) must score higher than overvalued ones.
    low = x["value_ratio"].to_numpy() < 0.5
    high = x["value_ratio"].to_numpy() > 2.0
    assert p[low].mean() > p[high].mean() + 0.2
    assert (model.predict_revenue(x) >= 0).all()
    both = model.predict_scores(x)
    np.testing.assert_array_equal(both[0], p)
    np.testing.assert_array_equal(both[1], model.predict_revenue(x))
    contrib = model.contributions(x.head(5))
    assert contrib.shape == (5, 4)
    raw = np.log(p[:5] / (1 - p[:5]))
    np.testing.assert_allclose(contrib.sum(axis=1), raw, rtol=1e-6, atol=1e-6)


def test_same_seed_same_model() -> None:
    x, y, _ = _data()
    a = RiskModel(n_estimators=40, colsample_bytree=0.5, random_state=1).fit(x, y)
    b = RiskModel(n_estimators=40, colsample_bytree=0.5, random_state=1).fit(x, y)
    np.testing.assert_array_equal(a.predict_proba(x), b.predict_proba(x))


@pytest.mark.parametrize(
    "label", ["is_noncompliant", "revenue_at_stake", "Critical Fraud", "Fraud"]
)
def test_label_columns_are_refused(label: str) -> None:
    x, y, _ = _data(n=100)
    with pytest.raises(LabelLeakageError) as info:
        RiskModel().fit(x.with_columns(pl.lit(1).alias(label)), y)
    assert info.value.problems[0].path == label


def test_one_class_is_refused() -> None:
    x, _, _ = _data(n=100)
    with pytest.raises(InsufficientLabelsError):
        RiskModel().fit(x, np.zeros(100))


def test_save_load_round_trip_and_schema_refusal() -> None:
    x, y, revenue = _data()
    model = RiskModel(n_estimators=30).fit(x, y, revenue=revenue, categorical=["origin_code"])
    files = model.to_files()
    again = RiskModel.from_files(files, expected_schema_hash=model.schema_hash_)
    np.testing.assert_array_equal(again.predict_proba(x), model.predict_proba(x))
    np.testing.assert_allclose(again.predict_revenue(x), model.predict_revenue(x))
    assert again.get_params() == model.get_params()
    with pytest.raises(ModelSchemaMismatchError, match="different feature schema"):
        RiskModel.from_files(files, expected_schema_hash="0" * 64)
    with pytest.raises(ModelSchemaMismatchError, match="noise"):
        again.predict_proba(x.drop("noise"))
