"""The row-wise lane selection and reasons, against the batch path, value for value."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from smartcustoms.clearance.single import select as fast
from smartcustoms.clearance.single.select import SingleSelector, UsageBook
from smartcustoms.errors import InvalidInputError
from smartcustoms.risk.columns import REASONS, AeoStatus, Lane
from smartcustoms.risk.engine import RiskEngine
from smartcustoms.risk.pipeline import RiskPipeline
from smartcustoms.risk.policy import (
    LanePolicy,
    OfficePolicy,
    SelectionStrategy,
    default_policy,
    default_policy_path,
    load_policy,
)
from smartcustoms.risk.rules import load_example_rules
from smartcustoms.risk.selection import select_lanes
from smartcustoms.risk.value_controls import with_value_controls
from smartcustoms.risk.view import build_risk_view
from smartcustoms.synth import TrafficConfig, generate_traffic
from smartcustoms.tariff import load_exchange_rates

CANDIDATES = pl.Schema(
    {
        "consignment_id": pl.String(),
        "office_of_arrival": pl.String(),
        "period": pl.Date(),
        "aeo_status": pl.String(),
        "value_z": pl.Float64(),
        "rule_hits": pl.List(pl.String()),
        "rule_score": pl.Float64(),
        "forced_lane": pl.String(),
        "risk_score": pl.Float64(),
        "expected_revenue": pl.Float64(),
        "model_version": pl.String(),
        "riskiest_item": pl.Int64(),
    }
)
SELECTED = ("lane", "is_random_pick", "selection_basis", "priority")
OFFICES = ("BEBRU000", "NLRTM001", "DEHAM002")
DAYS = (date(2026, 3, 2), date(2026, 3, 3))


def same(a: Any, b: Any) -> bool:
    """Equal values of the same Python types (NaN equals NaN; the sign of zero counts)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def assert_usage(book: UsageBook, usage: pl.DataFrame) -> None:
    mine = book.to_frame()
    assert mine.schema == usage.schema
    assert same(mine.to_dicts(), usage.to_dicts())


# --- policies -----------------------------------------------------------------------------


def shipped_policies() -> list[LanePolicy]:
    return [load_policy(p) for p in sorted(Path(default_policy_path()).parent.glob("*.toml"))]


@st.composite
def office_policies(draw: st.DrawFn, office: str) -> OfficePolicy:
    counts = st.sampled_from([0, 1, 2, 3, 5, 40])
    red = draw(st.sampled_from([0.0, 0.02, 0.1, 0.3, 0.5]))
    yellow = draw(st.sampled_from([0.0, 0.06, 0.2, 0.3]))
    blue = draw(st.sampled_from([0.0, 0.03, 0.1, 0.2]))
    strategy = draw(st.sampled_from(list(SelectionStrategy)))
    share = {SelectionStrategy.RISK: 1.0, SelectionStrategy.REVENUE: 0.0}.get(
        strategy, draw(st.sampled_from([0.6, 0.5, 0.25]))
    )
    return OfficePolicy(
        office=office,
        red_capacity=draw(counts),
        yellow_capacity=draw(counts),
        blue_capacity=draw(st.one_of(st.none(), counts)),
        red_rate=red,
        yellow_rate=yellow,
        blue_rate=blue,
        random_share=draw(st.sampled_from([0.0, 0.1, 0.3, 0.5, 1.0])),
        strategy=strategy,
        risk_share=share,
        national_weight=draw(st.sampled_from([0.0, 0.5, 1.0])),
        mra_weight=draw(st.sampled_from([0.0, 0.6, 1.0])),
    )


@st.composite
def policies(draw: st.DrawFn) -> LanePolicy:
    if draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(shipped_policies()))
    listed = draw(st.lists(st.sampled_from(OFFICES[:2]), unique=True, max_size=2))
    return LanePolicy(
        id="generated",
        version="1",
        legal_basis="test",
        effective_from=date(2026, 1, 1),
        effective_to=None,
        default=draw(office_policies("default")),
        offices=tuple(draw(office_policies(o)) for o in sorted(listed)),
    )


# --- candidates ---------------------------------------------------------------------------

SCORES = st.one_of(
    st.none(),
    st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0, float("nan")]),
    st.floats(0.0, 1.0),
)
REVENUES = st.one_of(st.none(), st.sampled_from([0.0, 10.0, 250.5]), st.floats(0.0, 1e6))
IDS = st.one_of(
    st.sampled_from([f"C{i:03d}" for i in range(12)]),
    st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=4),
)


@st.composite
def candidate(draw: st.DrawFn, cid: str, model: bool) -> dict[str, Any]:
    return {
        "consignment_id": cid,
        "office_of_arrival": draw(st.sampled_from(OFFICES)),
        "period": draw(st.sampled_from(DAYS)),
        "aeo_status": draw(st.sampled_from([None, None, "national", "mra"])),
        "value_z": draw(st.one_of(st.none(), st.floats(-5, 5))),
        "rule_hits": [],
        "rule_score": draw(st.sampled_from([0.0, 0.0, 0.5, 1.0, 2.5, -1.0])),
        "forced_lane": draw(st.sampled_from([None, None, None, "red", "yellow", "blue", "green"])),
        "risk_score": draw(SCORES) if model else None,
        "expected_revenue": draw(REVENUES) if model else None,
        "model_version": "m1" if model else None,
        "riskiest_item": 1 if model else None,
    }


@st.composite
def calls(draw: st.DrawFn) -> list[list[dict[str, Any]]]:
    model = draw(st.booleans())
    out = []
    for _ in range(draw(st.integers(1, 6))):
        ids = draw(st.lists(IDS, min_size=1, max_size=3, unique=True))
        out.append([draw(candidate(cid, model)) for cid in ids])
    return out


@st.composite
def used_frames(draw: st.DrawFn) -> pl.DataFrame | None:
    if draw(st.booleans()):
        return None
    rows = draw(
        st.lists(
            st.tuples(
                st.sampled_from(OFFICES),
                st.sampled_from(DAYS),
                st.sampled_from([lane.value for lane in Lane]),
                st.integers(0, 60),
                st.integers(0, 5),
                st.integers(0, 5),
            ),
            max_size=6,
        )
    )
    return pl.DataFrame(rows, schema=dict(fast._USAGE_SCHEMA), orient="row")


@given(policy=policies(), seed=st.integers(0, 2**32), sequence=calls(), used=used_frames())
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_select_equals_the_batch_call_by_call(
    policy: LanePolicy, seed: int, sequence: list[list[dict[str, Any]]], used: pl.DataFrame | None
) -> None:
    selector = SingleSelector(policy, seed=seed, currency="EUR")
    book = UsageBook.from_frame(used)
    batch_used = used
    for cands in sequence:
        selection = select_lanes(
            pl.DataFrame(cands, schema=CANDIDATES), policy, seed=seed, used=batch_used
        )
        mine = selector.select(cands, book)
        assert mine is not None  # every generated candidate is valid: covered
        assert same(mine, selection.decisions.to_dicts())
        assert_usage(book, selection.usage)
        batch_used = selection.usage


@given(seed=st.integers(0, 2**32), sizes=st.lists(st.integers(1, 9), min_size=1, max_size=4))
@settings(max_examples=60, deadline=None)
def test_large_groups_and_repeated_draws_equal_the_batch(seed: int, sizes: list[int]) -> None:
    policy = default_policy()
    policy = LanePolicy(
        id="p",
        version="1",
        legal_basis="",
        effective_from=policy.effective_from,
        effective_to=None,
        default=OfficePolicy("default", 3, 4, 2, 0.3, 0.3, 0.2, random_share=0.5),
    )
    selector = SingleSelector(policy, seed=seed, currency="EUR")
    book = UsageBook()
    batch_used = None
    for call, size in enumerate(sizes):
        cands = [
            {
                "consignment_id": f"K{call}-{i}",
                "office_of_arrival": OFFICES[0],
                "period": DAYS[0],
                "rule_score": 0.0,
                "risk_score": 0.5,  # every priority ties: only the draws decide
                "aeo_status": None,
            }
            for i in range(size)
        ]
        schema = {k: CANDIDATES[k] for k in cands[0]}
        selection = select_lanes(
            pl.DataFrame(cands, schema=schema), policy, seed=seed, used=batch_used
        )
        mine = selector.select(cands, book)
        assert mine is not None and same(mine, selection.decisions.to_dicts())
        assert_usage(book, selection.usage)
        batch_used = selection.usage


# --- declines -----------------------------------------------------------------------------


def _good() -> dict[str, Any]:
    return {
        "consignment_id": "A",
        "office_of_arrival": OFFICES[0],
        "period": DAYS[0],
        "rule_score": 1.0,
        "risk_score": 0.4,
    }


@pytest.mark.parametrize(
    "change",
    [
        {"consignment_id": None},
        {"office_of_arrival": None},
        {"period": None},
        {"period": "2026-03-02"},
        {"rule_score": 1},
        {"risk_score": "0.4"},
        {"risk_score": float("inf")},
        {"forced_lane": "purple"},
        {"aeo_status": "gold"},
        {"consignment_id": 7},
    ],
)
def test_bad_candidates_decline_and_leave_usage_alone(change: dict[str, Any]) -> None:
    book = UsageBook.from_frame(
        pl.DataFrame(
            [(OFFICES[0], DAYS[0], "red", 3, 1, 1)], schema=dict(fast._USAGE_SCHEMA), orient="row"
        )
    )
    before = book.to_frame()
    selector = SingleSelector(default_policy(), seed=1, currency="EUR")
    assert selector.select([{**_good(), **change}], book) is None
    assert book.to_frame().equals(before)


def test_repeated_ids_missing_columns_and_ragged_rows_decline() -> None:
    selector = SingleSelector(default_policy(), seed=1, currency="EUR")
    book = UsageBook()
    assert selector.select([_good(), _good()], book) is None
    missing = _good()
    del missing["rule_score"]
    assert selector.select([missing], book) is None
    assert selector.select([_good(), {**_good(), "consignment_id": "B", "x": 1}], book) is None
    assert book.to_frame().is_empty()
    assert selector.select([], book) == []
    assert selector.select([_good()], book) is not None
    assert book.knows(OFFICES[0], DAYS[0]) and not book.knows(OFFICES[1], DAYS[0])


# --- the usage book -----------------------------------------------------------------------


@given(first=used_frames(), second=used_frames())
@settings(max_examples=80, deadline=None)
def test_usage_book_reads_merges_and_writes_like_the_batch(
    first: pl.DataFrame | None, second: pl.DataFrame | None
) -> None:
    book = UsageBook.from_frame(first)
    frames = [f for f in (first, second) if f is not None]
    if second is not None:
        book.add_frame(second, queried=[(OFFICES[2], DAYS[1])])
    merged = pl.concat(frames) if frames else None
    expected = fast._canonical_usage(merged) if merged is not None else None
    if expected is None:
        assert book.to_frame().is_empty()
    else:
        assert_usage(book, expected)
        for office, period in expected.select("office_of_arrival", "period").iter_rows():
            assert book.knows(office, period)
    if second is not None:
        assert book.knows(OFFICES[2], DAYS[1])


@given(first=used_frames(), second=used_frames())
@settings(max_examples=80, deadline=None)
def test_usage_counts_merge_as_the_frames_do(
    first: pl.DataFrame | None, second: pl.DataFrame | None
) -> None:
    """add_counts (tuples, as the store reads them) equals add_frame on the same rows."""
    by_frame, by_rows = UsageBook.from_frame(first), UsageBook.from_frame(first)
    queried = [(OFFICES[2], DAYS[1])]
    if second is not None:
        by_frame.add_frame(second, queried=queried)
        by_rows.add_counts(list(second.iter_rows()), queried=queried)
    assert_frame_equal(by_rows.to_frame(), by_frame.to_frame(), check_exact=True)
    for office in OFFICES:
        for day in DAYS:
            assert by_rows.knows(office, day) == by_frame.knows(office, day)


def test_usage_counts_the_batch_refuses_are_refused() -> None:
    book = UsageBook()
    with pytest.raises(InvalidInputError, match="unknown lanes"):
        book.add_counts([(OFFICES[0], DAYS[0], "purple", 1, 0, 0)])
    assert book.to_frame().is_empty()


# --- Polars formatting, reproduced --------------------------------------------------------

FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-1e-3, 1e-3),
    st.sampled_from([1e-5, 9.99e-6, 1e16, 9999999999999998.0, 0.1, -0.0, 123.0, 5e-324]),
)


@given(st.lists(FLOATS, min_size=1, max_size=30))
@settings(max_examples=200, deadline=None)
def test_float_text_and_json_equal_polars(values: list[float]) -> None:
    frame = pl.DataFrame({"x": values}, schema={"x": pl.Float64})
    texts = frame.select(pl.col("x").cast(pl.String)).to_series().to_list()
    encoded = frame.select(pl.struct("x").struct.json_encode()).to_series().to_list()
    assert [fast._float_text(v) for v in values] == texts
    assert [fast._json_object([("x", fast._json_float(v))]) for v in values] == encoded


@given(st.lists(st.floats(-1e9, 1e9), min_size=1, max_size=30), st.sampled_from([0, 1, 2, 4]))
@settings(max_examples=200, deadline=None)
def test_round_and_fixed_decimals_equal_polars(values: list[float], decimals: int) -> None:
    frame = pl.DataFrame({"x": values}, schema={"x": pl.Float64})
    rounded = frame.select(pl.col("x").round(decimals)).to_series().to_list()
    assert same([fast._round(v, decimals) for v in values], rounded)
    from smartcustoms.risk import explain

    fixed = frame.select(explain._fmt(pl.col("x"), decimals or 1)).to_series().to_list()
    assert [fast._fmt(v, decimals or 1) for v in values] == fixed


@given(st.lists(st.text(st.characters(exclude_categories=["Cs"])), min_size=1, max_size=20))
@settings(max_examples=200, deadline=None)
def test_json_text_equals_polars(values: list[str]) -> None:
    frame = pl.DataFrame({"s": values}, schema={"s": pl.String})
    encoded = frame.select(pl.struct("s").struct.json_encode()).to_series().to_list()
    assert [fast._json_object([("s", fast._json_text(v))]) for v in values] == encoded


OPTIONAL_TEXT = st.one_of(st.none(), st.text(st.characters(exclude_categories=["Cs"])))


@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "rule_id": st.text(st.characters(exclude_categories=["Cs"]), min_size=1),
                "rule_version": OPTIONAL_TEXT,
                "action_lane": st.sampled_from([None, "red", "yellow", "blue", "green"]),
                "action_weight": st.one_of(st.none(), st.floats(-1e20, 1e20)),
                "rule_description": OPTIONAL_TEXT,
                "legal_basis": OPTIONAL_TEXT,
            }
        ),
        min_size=1,
        max_size=10,
    )
)
@settings(max_examples=150, deadline=None)
def test_rule_reasons_equal_polars(hits: list[dict[str, Any]]) -> None:
    from smartcustoms.risk import explain

    frame = pl.DataFrame(
        hits, schema={k: pl.Float64 if k == "action_weight" else pl.String for k in hits[0]}
    )
    expected = frame.select(explain.rule_reason_expr()).to_series().to_list()
    assert [fast._rule_reason(h) for h in hits] == expected


# --- end to end on synthetic traffic: the engine's decisions, usage and reasons -----------


@cache
def _view(seed: int, consignments: int) -> pl.DataFrame:
    chunks = list(generate_traffic(TrafficConfig(consignments=consignments, seed=seed)))
    cons = pl.concat([ch.consignments for ch in chunks])
    items = pl.concat([ch.items for ch in chunks])
    view = build_risk_view(cons, items, rates=load_exchange_rates(), currency="EUR")
    # some operators are AEOs (the synthetic traffic has none): weights and AEO reasons
    status = pl.col("consignment_id").hash(7) % 5
    aeo = (
        pl.when(status == 0)
        .then(pl.lit(AeoStatus.NATIONAL.value))
        .when(status == 1)
        .then(pl.lit(AeoStatus.MRA.value))
        .otherwise(pl.lit(None, pl.String))
    )
    filing = cons.select("consignment_id", "filing_id")
    return view.with_columns(aeo.alias("aeo_status")).join(filing, on="consignment_id")


@cache
def _pipeline() -> RiskPipeline:
    history = _view(101, 1_500)
    labels = pl.concat(
        [ch.labels for ch in generate_traffic(TrafficConfig(consignments=1_500, seed=101))]
    ).select("consignment_id", "is_noncompliant", pl.col("revenue_at_stake").cast(pl.Float64))
    data = history.join(labels, on="consignment_id").with_columns(
        pl.col("revenue_at_stake").fill_null(0.0)
    )
    return RiskPipeline(model_params={"n_estimators": 20}, seed=42).fit(data)


def _engines() -> Iterator[tuple[str, RiskEngine]]:
    tight = LanePolicy(
        id="tight",
        version="1",
        legal_basis="",
        effective_from=date(2026, 1, 1),
        effective_to=None,
        default=OfficePolicy(
            "default", 4, 6, None, 0.2, 0.2, 0.1, random_share=0.3, national_weight=0.0
        ),
    )
    rules = load_example_rules()
    pipeline = _pipeline()
    yield "rules", RiskEngine(policy=default_policy(), rules=rules, seed=3)
    yield (
        "rules+reference",
        RiskEngine(policy=tight, rules=rules, reference=pipeline.reference_, seed=5),
    )
    yield "model", RiskEngine(policy=tight, rules=rules, pipeline=pipeline, seed=7)


def _filings(seed: int, limit: int) -> list[pl.DataFrame]:
    """Filings of the traffic; one in three is merged with the next one or two (the format
    allows several consignments per filing, the synthetic traffic rarely makes them)."""
    view = _view(seed, 400)
    ids = view.select("filing_id").unique(maintain_order=True)["filing_id"].to_list()
    parts = view.partition_by("filing_id", as_dict=True)
    out: list[pl.DataFrame] = []
    start = 0
    while len(out) < limit and start < len(ids):
        size = (1, 1, 2, 1, 3)[len(out) % 5]
        group = ids[start : start + size]
        out.append(pl.concat([parts[(fid,)] for fid in group]).drop("filing_id"))
        start += size
    return out


def _controlled_view(engine: RiskEngine, view: pl.DataFrame, rule: pl.DataFrame) -> pl.DataFrame:
    """The view ``RiskEngine.assess`` hands to its reasons (value controls, rule score)."""
    assert engine.reference is not None
    return with_value_controls(view, engine.reference).join(rule, on="consignment_id")


@pytest.mark.parametrize("seed", [11, 12])
def test_filings_of_synthetic_traffic_equal_the_engine(seed: int) -> None:
    filings = _filings(seed, 120)
    assert any(f["consignment_id"].n_unique() > 1 for f in filings)
    kinds: set[str] = set()
    for name, engine in _engines():
        selector = SingleSelector(engine.policy, seed=engine.seed, currency=engine.currency)
        book = UsageBook()
        used: pl.DataFrame | None = None
        covered = 0
        for view in filings:
            out = engine.assess(view, used=used)
            used = out.usage
            rows = out.decisions.to_dicts()
            cands = [
                {k: v for k, v in row.items() if k not in (*SELECTED, REASONS)} for row in rows
            ]
            mine = selector.select(cands, book)
            if mine is None:
                book = UsageBook.from_frame(used)  # what the caller does after the batch path
                continue
            assert same(mine, [{k: v for k, v in r.items() if k != REASONS} for r in rows]), name
            assert_usage(book, out.usage)
            explained: dict[str, str] = {}
            items = view.with_columns(
                *(pl.lit(None, pl.Float64).alias(c) for c in fast._VALUE_COLUMNS[:3]),
                pl.lit(None, pl.String).alias("value_ref_level"),
                pl.lit(None, pl.Int64).alias("value_ref_n"),
            )
            if engine.reference is not None:
                rule = out.decisions.select("consignment_id", "rule_score")
                items = _controlled_view(engine, view, rule)
                controlled = out.decisions.filter(pl.col("lane").is_in(["red", "yellow"]))
                explained = engine._explain_controlled(items, controlled)
            reasons = selector.reasons(mine, items.to_dicts(), out.hits.to_dicts(), explained)
            if reasons is None:
                continue
            assert reasons == out.decisions[REASONS].to_list(), name
            kinds.update(r["kind"] for text in reasons for r in json.loads(text))
            kinds.update(f"lane:{d['selection_basis']}" for d in mine)
            covered += 1
        assert covered >= 0.95 * len(filings), (name, covered, len(filings))
    # the comparison is not vacuous: every kind of reason and basis was produced
    assert kinds >= {"lane", "rule", "model", "feature", "no_model", "value", "aeo"}, kinds
    assert kinds >= {"lane:score", "lane:random", "lane:default"}, kinds
