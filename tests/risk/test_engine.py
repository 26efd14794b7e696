"""The risk engine and the saved pipeline, on synthetic traffic."""

from __future__ import annotations

import io
import json
import zipfile
from functools import cache

import numpy as np
import polars as pl
import pytest

from smartcustoms.errors import ModelSchemaMismatchError
from smartcustoms.risk.columns import IS_NONCOMPLIANT, LANE, REASONS, REVENUE_AT_STAKE
from smartcustoms.risk.engine import RiskEngine
from smartcustoms.risk.pipeline import RiskPipeline
from smartcustoms.risk.policy import default_policy
from smartcustoms.risk.rules import load_example_rules
from smartcustoms.risk.view import build_risk_view
from smartcustoms.synth import TrafficConfig, generate_traffic
from smartcustoms.tariff import load_exchange_rates


@cache
def _traffic() -> tuple[pl.DataFrame, pl.DataFrame]:
    """A labelled risk view of 6,000 synthetic consignments, and its labels."""
    chunks = list(generate_traffic(TrafficConfig(consignments=6_000, seed=11)))
    cons = pl.concat([ch.consignments for ch in chunks])
    items = pl.concat([ch.items for ch in chunks])
    labels = pl.concat([ch.labels for ch in chunks])
    view = build_risk_view(cons, items, rates=load_exchange_rates(), currency="EUR")
    truth = labels.select(
        "consignment_id",
        IS_NONCOMPLIANT,
        pl.col(REVENUE_AT_STAKE).cast(pl.Float64).fill_null(0.0),
    )
    return view.join(truth, on="consignment_id").sort("filed_at"), labels


@cache
def _pipeline() -> RiskPipeline:
    view, _ = _traffic()
    history = view.head(int(view.height * 0.7))
    return RiskPipeline(model_params={"n_estimators": 60}, seed=42).fit(history)


def _scoring_view() -> pl.DataFrame:
    view, _ = _traffic()
    return view.tail(view.height - int(view.height * 0.7)).drop(IS_NONCOMPLIANT, REVENUE_AT_STAKE)


def test_without_a_model_rules_and_random_share_decide_and_say_so() -> None:
    engine = RiskEngine(policy=default_policy(), rules=load_example_rules())
    out = engine.assess(_traffic()[0].drop(IS_NONCOMPLIANT, REVENUE_AT_STAKE))
    assert any("no trained model" in note for note in out.notes)
    assert out.decisions["model_version"].null_count() == out.decisions.height
    reasons = [json.loads(r) for r in out.decisions[REASONS]]
    assert all(any(x["kind"] == "no_model" for x in r) for r in reasons)
    assert out.decisions[LANE].is_in(["red", "yellow", "blue", "green"]).all()
    # A consignment hit by a lane-forcing rule gets that lane, and the rule is a reason.
    forced = out.decisions.filter(pl.col("forced_lane").is_not_null())
    assert forced.height and (forced[LANE] == forced["forced_lane"]).all()
    for lane, text in forced.select("forced_lane", REASONS).iter_rows():
        assert any(x["kind"] == "rule" and x["lane"] == lane for x in json.loads(text))


def test_with_a_model_reasons_name_rules_features_and_value_control() -> None:
    engine = RiskEngine(policy=default_policy(), rules=load_example_rules(), pipeline=_pipeline())
    out = engine.assess(_scoring_view())
    assert out.decisions["model_version"].drop_nulls().n_unique() == 1
    selected = out.decisions.filter(pl.col(LANE).is_in(["red", "yellow"]))
    kinds = [{x["kind"] for x in json.loads(r)} for r in selected[REASONS]]
    assert all("model" in k and "feature" in k and "lane" in k for k in kinds)
    assert any("value" in k for k in kinds)
    random = selected.filter(pl.col("is_random_pick"))
    assert random.height > 0
    assert all("at random" in json.loads(r)[0]["text"] for r in random[REASONS])


def test_engine_is_deterministic_for_a_seed() -> None:
    view = _scoring_view()
    a = RiskEngine(policy=default_policy(), pipeline=_pipeline(), seed=5).assess(view)
    b = RiskEngine(policy=default_policy(), pipeline=_pipeline(), seed=5).assess(
        view.sample(fraction=1.0, shuffle=True, seed=1)
    )
    cols = ["consignment_id", LANE, "is_random_pick"]
    assert (
        a.decisions.select(cols)
        .sort("consignment_id")
        .equals(b.decisions.select(cols).sort("consignment_id"))
    )


def test_model_ranks_planted_fraud_above_chance() -> None:
    view = _scoring_view()
    scores = _pipeline().score_consignments(view, top=0)
    _, labels = _traffic()
    joined = scores.join(labels.select("consignment_id", IS_NONCOMPLIANT), on="consignment_id")
    from smartcustoms.risk.metrics import auc

    assert auc(joined[IS_NONCOMPLIANT].to_numpy(), joined["risk_score"].to_numpy()) > 0.7


def test_pipeline_round_trip_and_schema_refusal() -> None:
    pipeline = _pipeline()
    data = pipeline.to_bytes()
    again = RiskPipeline.from_bytes(data, expected_schema_hash=pipeline.schema_hash)
    view = _scoring_view().head(300)
    np.testing.assert_allclose(
        again.score_items(view)["item_score"].to_numpy(),
        pipeline.score_items(view)["item_score"].to_numpy(),
    )
    assert again.metadata()["schema_hash"] == pipeline.schema_hash
    assert again.metadata()["seed"] == 42 and again.metadata()["window_start"]
    with pytest.raises(ModelSchemaMismatchError):
        RiskPipeline.from_bytes(data, expected_schema_hash="0" * 64)
    # An archive whose recorded schema differs from what its config builds is refused.
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            body = src.read(name)
            if name == "pipeline.json":
                meta = json.loads(body)
                meta["schema_hash"] = "f" * 64
                body = json.dumps(meta).encode()
            dst.writestr(name, body)
    with pytest.raises(ModelSchemaMismatchError):
        RiskPipeline.from_bytes(out.getvalue())
