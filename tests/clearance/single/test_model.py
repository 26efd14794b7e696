"""Differential tests: SingleScorer against RiskPipeline.score_consignments / contributions.

Pipelines are trained on labelled synthetic traffic (several feature configurations); the
views scored are built as RiskEngine.assess builds them (value controls, then rule_score
joined), on traffic of other seeds, then split into filings. Every non-None result must equal
the batch result value for value (floats with ``==``).
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartcustoms.clearance.single.model import SingleScorer
from smartcustoms.model import columns as c
from smartcustoms.risk.columns import (
    HS6,
    IMPORTER_ID,
    IS_NONCOMPLIANT,
    REVENUE_AT_STAKE,
    RULE_SCORE,
    UNIT_VALUE,
    VALUE_PERCENTILE,
    VALUE_RATIO,
    VALUE_REF_LEVEL,
    VALUE_REF_N,
    VALUE_Z,
)
from smartcustoms.risk.engine import RiskEngine, with_value_columns
from smartcustoms.risk.features import FeatureConfig
from smartcustoms.risk.model import feature_matrix as model_feature_matrix
from smartcustoms.risk.pipeline import RiskPipeline
from smartcustoms.risk.policy import default_policy
from smartcustoms.risk.profiles import ProfileStat
from smartcustoms.risk.rules import load_example_rules
from smartcustoms.risk.value_controls import fit_value_reference, with_value_controls
from smartcustoms.risk.view import build_risk_view
from smartcustoms.synth import (
    TrafficConfig,
    generate_traffic,
    tariff_assessor,
    with_revenue_at_stake,
)
from smartcustoms.tariff import load_exchange_rates

SCORE_COLUMNS = [
    c.CONSIGNMENT_ID,
    "risk_score",
    "expected_revenue",
    "model_version",
    "riskiest_item",
]
SCORING_SEEDS = (5, 23)
COVERAGE_FLOOR = 0.95


def _raw_view(
    consignments: int, seed: int, *, revenue: bool = False
) -> tuple[pl.DataFrame, pl.DataFrame]:
    chunks = list(generate_traffic(TrafficConfig(consignments=consignments, seed=seed)))
    if revenue:  # the generator leaves revenue at stake empty; the tariff fills it in
        assessor = tariff_assessor()
        chunks = [with_revenue_at_stake(chunk, assessor) for chunk in chunks]
    cons = pl.concat([ch.consignments for ch in chunks])
    items = pl.concat([ch.items for ch in chunks])
    labels = pl.concat([ch.labels for ch in chunks])
    view = build_risk_view(cons, items, rates=load_exchange_rates(), currency="EUR")
    return view, labels


def _history() -> pl.DataFrame:
    """Labelled history with rule_score, as SmartCustoms targeting builds it for training."""
    view, labels = _raw_view(3_000, 11, revenue=True)
    truth = labels.select(
        c.CONSIGNMENT_ID,
        IS_NONCOMPLIANT,
        pl.col(REVENUE_AT_STAKE).cast(pl.Float64).fill_null(0.0),
    )
    view = view.join(truth, on=c.CONSIGNMENT_ID).sort(c.FILED_AT)
    checked = with_value_controls(view, fit_value_reference(view))
    scores = load_example_rules().apply(checked).consignments.select(c.CONSIGNMENT_ID, RULE_SCORE)
    return view.join(scores, on=c.CONSIGNMENT_ID, how="left").with_columns(
        pl.col(RULE_SCORE).fill_null(0.0)
    )


def engine_view(pipeline: RiskPipeline, raw: pl.DataFrame) -> pl.DataFrame:
    """The view RiskEngine.assess scores (its engine has rules and this pipeline)."""
    engine = RiskEngine(policy=default_policy(), rules=load_example_rules(), pipeline=pipeline)
    view = with_value_columns(raw, engine.reference)
    assert engine.rules is not None
    cons = engine.rules.apply(view).consignments.select(c.CONSIGNMENT_ID, RULE_SCORE)
    return view.join(cons, on=c.CONSIGNMENT_ID, how="left").with_columns(
        pl.col(RULE_SCORE).fill_null(0.0)
    )


@dataclass
class Scenario:
    """A trained pipeline, how the engine calls it, and filings to score."""

    pipeline: RiskPipeline
    values_applied: bool
    scorer: SingleScorer
    filings: list[pl.DataFrame]

    def batch_score(self, frame: pl.DataFrame) -> list[dict[str, Any]]:
        scored = self.pipeline.score_consignments(frame, top=0, values_applied=self.values_applied)
        return scored.select(SCORE_COLUMNS).to_dicts()

    def batch_contributions(self, frame: pl.DataFrame) -> str:
        return self.pipeline.contributions(frame, top=3, values_applied=self.values_applied)[0]


CONFIGS: dict[str, tuple[FeatureConfig, bool]] = {
    # what SmartCustoms targeting trains when rules are configured; the engine's call
    "engine": (FeatureConfig(extra_numerics=(RULE_SCORE,)), True),
    # no profiles, no value controls, rare categories pooled, an extra categorical
    "plain": (
        FeatureConfig(
            profile_keys=(),
            value_controls=False,
            min_category_count=5,
            extra_categoricals=(c.CURRENCY,),
        ),
        False,
    ),
    # value controls without profiles
    "values": (FeatureConfig(profile_keys=()), True),
    # a subset of keys and statistics, in another order
    "some_profiles": (
        FeatureConfig(
            profile_keys=((HS6, c.ORIGIN_COUNTRY), (IMPORTER_ID,), (c.SELLER_ID,)),
            profile_stats=(ProfileStat.RATE, ProfileStat.COUNT),
            value_controls=False,
            extra_numerics=(RULE_SCORE,),
        ),
        True,
    ),
}


@pytest.fixture(scope="module")
def history() -> pl.DataFrame:
    return _history()


@pytest.fixture(scope="module")
def raw_views() -> list[pl.DataFrame]:
    return [_raw_view(300, seed)[0] for seed in SCORING_SEEDS]


def _scenario(
    pipeline: RiskPipeline, values_applied: bool, raw_views: list[pl.DataFrame]
) -> Scenario:
    filings = [
        sub
        for raw in raw_views
        for _, sub in engine_view(pipeline, raw).group_by(c.FILING_ID, maintain_order=True)
    ]
    return Scenario(
        pipeline, values_applied, SingleScorer(pipeline, values_applied=values_applied), filings
    )


@pytest.fixture(scope="module")
def scenarios(history: pl.DataFrame, raw_views: list[pl.DataFrame]) -> dict[str, Scenario]:
    out: dict[str, Scenario] = {}
    for name, (config, values_applied) in CONFIGS.items():
        pipeline = RiskPipeline(config=config, model_params={"n_estimators": 60}, seed=42)
        out[name] = _scenario(pipeline.fit(history), values_applied, raw_views)
    # a saved and reloaded pipeline (profiles and reference rebuilt from their frames)
    again = RiskPipeline.from_bytes(out["engine"].pipeline.to_bytes())
    assert again.model_.revenue_model_ is not None
    out["reloaded"] = _scenario(again, True, raw_views)
    return out


@pytest.fixture(scope="module")
def engine(scenarios: dict[str, Scenario]) -> Scenario:
    return scenarios["engine"]


# ---------------------------------------------------------------- clean synthetic filings


@pytest.mark.parametrize("name", [*CONFIGS, "reloaded"])
def test_scores_equal_the_batch_on_synthetic_filings(
    scenarios: dict[str, Scenario], name: str
) -> None:
    scenario = scenarios[name]
    covered = 0
    multi_item = multi_consignment = 0
    for filing in scenario.filings:
        got = scenario.scorer.score(filing.to_dicts())
        if got is None:
            continue
        covered += 1
        assert got == scenario.batch_score(filing)
        multi_item += filing.height > filing[c.CONSIGNMENT_ID].n_unique()
        multi_consignment += filing[c.CONSIGNMENT_ID].n_unique() > 1
    assert len(scenario.filings) >= 300
    assert covered >= COVERAGE_FLOOR * len(scenario.filings)
    assert multi_item > 20 and multi_consignment > 0


@pytest.mark.parametrize("name", [*CONFIGS, "reloaded"])
def test_contributions_equal_the_batch_on_synthetic_items(
    scenarios: dict[str, Scenario], name: str
) -> None:
    scenario = scenarios[name]
    checked = covered = 0
    for filing in scenario.filings[:150]:
        for i in range(filing.height):
            checked += 1
            got = scenario.scorer.contributions(filing.row(i, named=True))
            if got is None:
                continue
            covered += 1
            assert got == scenario.batch_contributions(filing[i : i + 1])
            assert len(json.loads(got)) == 3
    assert covered >= COVERAGE_FLOOR * checked


@pytest.mark.parametrize("name", [*CONFIGS, "reloaded"])
def test_feature_matrices_equal_the_batch_bit_for_bit(
    scenarios: dict[str, Scenario], name: str
) -> None:
    scenario = scenarios[name]
    names = scenario.pipeline.model_.feature_names_
    for filing in scenario.filings[:100]:
        got = scenario.scorer.feature_matrix(filing.to_dicts())
        assert got is not None
        features = scenario.pipeline.features(filing, values_applied=scenario.values_applied)
        want = model_feature_matrix(features, names)
        assert got.dtype == want.dtype and got.shape == want.shape
        assert got.tobytes() == want.tobytes()


def test_large_consignments_equal_the_batch(engine: Scenario, pool: list[dict[str, Any]]) -> None:
    schema = engine.filings[0].schema
    positive = 0
    for k in range(40):
        rng = random.Random(k)
        rows = [dict(row) for row in rng.sample(pool, rng.randint(4, 60))]
        for i, row in enumerate(rows):
            row[c.CONSIGNMENT_ID] = f"C{i % (1 + k % 3)}"
            row[c.ITEM_NO] = i + 1
        frame = pl.DataFrame(rows, schema=schema)
        got = engine.scorer.score(frame.to_dicts())
        assert got is not None
        assert got == engine.batch_score(frame)
        positive += sum(r["expected_revenue"] > 0 for r in got)
    assert positive > 20


def test_the_view_built_here_is_the_one_the_engine_scores(
    engine: Scenario, raw_views: list[pl.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[pl.DataFrame, bool]] = []
    original = engine.pipeline.score_consignments

    def spy(view: pl.DataFrame, *, top: int = 0, values_applied: bool = False) -> pl.DataFrame:
        seen.append((view, values_applied))
        return original(view, top=top, values_applied=values_applied)

    monkeypatch.setattr(engine.pipeline, "score_consignments", spy)
    raw = raw_views[0]
    RiskEngine(
        policy=default_policy(), rules=load_example_rules(), pipeline=engine.pipeline
    ).assess(raw)
    (view, values_applied), *_ = seen
    assert values_applied is engine.values_applied
    mine = engine_view(engine.pipeline, raw)
    key = [c.CONSIGNMENT_ID, c.ITEM_NO]
    assert view.sort(key).equals(mine.select(view.columns).sort(key))


def test_values_computed_by_the_pipeline_are_declined(engine: Scenario) -> None:
    scorer = SingleScorer(engine.pipeline, values_applied=False)
    filing = engine.filings[0]
    assert not scorer.ready
    assert scorer.score(filing.to_dicts()) is None
    assert scorer.contributions(filing.row(0, named=True)) is None


# ---------------------------------------------------------------- declines


def _replace(row: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**row, **changes}


_DECLINED_ROWS: list[Callable[[dict[str, Any]], dict[str, Any]]] = [
    lambda r: _replace(r, net_mass_kg=Decimal("1.5")),
    lambda r: _replace(r, dq_score=True),
    lambda r: _replace(r, dq_score=2**60),
    lambda r: _replace(r, hs6=851830),
    lambda r: _replace(r, importer_id=7),
    lambda r: {k: v for k, v in r.items() if k != RULE_SCORE},
    lambda r: {k: v for k, v in r.items() if k != VALUE_Z},
    lambda r: {k: v for k, v in r.items() if k != c.SELLER_ID},
]
"""Rows no method covers (the contributions of a row do not read its ids)."""

_DECLINED_IDS: list[Callable[[dict[str, Any]], dict[str, Any]]] = [
    lambda r: _replace(r, consignment_id=None),
    lambda r: _replace(r, item_no="1"),
]


@pytest.mark.parametrize("change", _DECLINED_ROWS + _DECLINED_IDS)
def test_unported_inputs_give_none(
    engine: Scenario, change: Callable[[dict[str, Any]], dict[str, Any]]
) -> None:
    row = engine.filings[0].row(0, named=True)
    assert engine.scorer.score([row]) is not None
    assert engine.scorer.contributions(row) is not None
    assert engine.scorer.score([change(row)]) is None
    if change in _DECLINED_ROWS:
        assert engine.scorer.contributions(change(row)) is None


def test_empty_views_and_unfitted_pipelines_give_none(engine: Scenario) -> None:
    assert engine.scorer.score([]) is None
    unfitted = SingleScorer(RiskPipeline(), values_applied=True)
    assert not unfitted.ready
    assert unfitted.score(engine.filings[0].to_dicts()) is None


# ---------------------------------------------------------------- mutated filings


_FLOAT_EXTREMES = [0.0, -1.0, 1e-300, 5e-324, 3.4028235e38, 1e39, 1e300, -1e300, math.nan, math.inf]
_INT_EXTREMES = [0, -5, 100, 2**40, 2**53, -(2**53)]
_FLOAT_COLUMNS = (
    c.NET_MASS_KG,
    "base_value",
    RULE_SCORE,
    UNIT_VALUE,
    VALUE_RATIO,
    VALUE_Z,
    VALUE_PERCENTILE,
)
_INT_COLUMNS = ("dq_score", VALUE_REF_N)
_TEXT_COLUMNS = (
    HS6,
    c.ORIGIN_COUNTRY,
    c.COUNTRY_OF_DISPATCH,
    c.OFFICE_OF_ARRIVAL,
    c.TRANSPORT_MODE,
    "aeo_status",
    VALUE_REF_LEVEL,
    IMPORTER_ID,
    c.SELLER_ID,
    c.FILER_ID,
    "carrier_id",
    c.CURRENCY,
)


def _text_value(draw: st.DrawFn, pool: list[dict[str, Any]], column: str) -> str | None:
    return draw(
        st.one_of(
            st.none(),
            st.sampled_from(["", "ZZ-unseen", "national", "mra", "hs4", "hs6", "hs6_origin"]),
            st.sampled_from([row[column] for row in pool]),
            st.text(max_size=6),
        )
    )


@st.composite
def _mutated_filing(draw: st.DrawFn, pool: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of up to three consignments, with duplicated items and changed values."""
    n_rows = draw(st.integers(1, 8))
    n_consignments = draw(st.integers(1, 3))
    rows: list[dict[str, Any]] = []
    for i in range(n_rows):
        row = dict(draw(st.sampled_from(pool)))
        row[c.CONSIGNMENT_ID] = f"C{draw(st.integers(0, n_consignments - 1))}"
        row[c.ITEM_NO] = draw(st.one_of(st.just(i + 1), st.integers(0, 3), st.none()))
        for column in draw(st.sets(st.sampled_from(_TEXT_COLUMNS), max_size=4)):
            row[column] = _text_value(draw, pool, column)
        for column in draw(st.sets(st.sampled_from(_FLOAT_COLUMNS), max_size=3)):
            row[column] = draw(
                st.one_of(
                    st.none(),
                    st.sampled_from(_FLOAT_EXTREMES),
                    st.floats(allow_nan=True, allow_infinity=True),
                )
            )
        for column in draw(st.sets(st.sampled_from(_INT_COLUMNS), max_size=2)):
            row[column] = draw(st.one_of(st.none(), st.sampled_from(_INT_EXTREMES)))
        rows.append(row)
    if draw(st.booleans()):  # an exact duplicate: tied scores decide the riskiest item
        rows.append(dict(rows[0], item_no=99))
    return rows


@pytest.fixture(scope="module")
def pool(engine: Scenario) -> list[dict[str, Any]]:
    return [row for filing in engine.filings[:200] for row in filing.to_dicts()]


def _check_mutated(scenario: Scenario, rows: list[dict[str, Any]], schema: pl.Schema) -> bool:
    frame = pl.DataFrame(rows, schema=schema)
    got = scenario.scorer.score(frame.to_dicts())
    if got is not None:
        assert got == scenario.batch_score(frame)
    for i in range(frame.height):
        text = scenario.scorer.contributions(frame.row(i, named=True))
        if text is not None:
            assert text == scenario.batch_contributions(frame[i : i + 1])
    return got is not None


@pytest.mark.parametrize("name", ["engine", "plain", "some_profiles"])
def test_mutated_filings_equal_the_batch(
    scenarios: dict[str, Scenario], pool: list[dict[str, Any]], name: str
) -> None:
    scenario = scenarios[name]
    schema = scenario.filings[0].schema
    covered: list[bool] = []

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(rows=_mutated_filing(pool))
    def check(rows: list[dict[str, Any]]) -> None:
        covered.append(_check_mutated(scenario, rows, schema))

    check()
    # every value drawn has a ported type: the mutated filings stay covered
    assert sum(covered) >= COVERAGE_FLOOR * len(covered)
