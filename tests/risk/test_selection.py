"""Lane selection: capacity, forced lanes, random share, AEO benefits, determinism, usage."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartcustoms.errors import InvalidInputError
from smartcustoms.model.columns import CONSIGNMENT_ID, OFFICE_OF_ARRIVAL
from smartcustoms.risk.columns import (
    AEO_STATUS,
    EXPECTED_REVENUE,
    FORCED_LANE,
    IS_RANDOM_PICK,
    LANE,
    PERIOD,
    PRIORITY,
    RISK_SCORE,
    RULE_SCORE,
    SELECTION_BASIS,
    Lane,
)
from smartcustoms.risk.policy import LanePolicy, OfficePolicy, SelectionStrategy
from smartcustoms.risk.selection import (
    BY_DEFAULT,
    BY_RANDOM,
    BY_RULE,
    BY_SCORE,
    CAPACITY,
    CODE_DUPLICATE_ID,
    CODE_INVALID_COLUMN,
    CODE_MISSING_COLUMN,
    CODE_MISSING_VALUE,
    CODE_UNKNOWN_VALUE,
    COUNT,
    EXCEEDED_BY_RULES,
    USED_BEFORE,
    Selection,
    select_lanes,
)

DAY = date(2026, 3, 2)
SCHEMA = pl.Schema(
    {
        CONSIGNMENT_ID: pl.String(),
        OFFICE_OF_ARRIVAL: pl.String(),
        PERIOD: pl.Date(),
        RISK_SCORE: pl.Float64(),
        RULE_SCORE: pl.Float64(),
        EXPECTED_REVENUE: pl.Float64(),
        FORCED_LANE: pl.String(),
        AEO_STATUS: pl.String(),
    }
)
PROPERTY = settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


def office_policy(office: str = "default", **overrides: Any) -> OfficePolicy:
    values: dict[str, Any] = {
        "red_capacity": 1000,
        "yellow_capacity": 1000,
        "blue_capacity": None,
        "red_rate": 0.1,
        "yellow_rate": 0.0,
        "blue_rate": 0.0,
        "random_share": 0.0,
    }
    values.update(overrides)
    return OfficePolicy(office=office, **values)


def lane_policy(default: OfficePolicy, *offices: OfficePolicy) -> LanePolicy:
    return LanePolicy(
        id="test",
        version="1",
        legal_basis="test",
        effective_from=date(2026, 1, 1),
        effective_to=None,
        default=default,
        offices=offices,
    )


def frame(rows: Sequence[dict[str, Any]]) -> pl.DataFrame:
    defaults = {OFFICE_OF_ARRIVAL: "BEBRU000", PERIOD: DAY, RULE_SCORE: 0.0}
    return pl.DataFrame([{**defaults, **row} for row in rows], schema=SCHEMA)


def counts(selection: Selection) -> dict[tuple[str, str], int]:
    table = selection.decisions.group_by(LANE, SELECTION_BASIS).len()
    return {(r[LANE], r[SELECTION_BASIS]): r["len"] for r in table.iter_rows(named=True)}


# --- Hypothesis strategies -------------------------------------------------------------------

OFFICES = ("BEBRU000", "BEANR000")
DAYS = (DAY, DAY + timedelta(days=1))
LANES = [lane.value for lane in Lane]


@st.composite
def candidate_frames(draw: st.DrawFn, *, prefix: str = "C", max_size: int = 50) -> pl.DataFrame:
    n = draw(st.integers(0, max_size))

    def column(values: st.SearchStrategy[Any]) -> list[Any]:
        return draw(st.lists(values, min_size=n, max_size=n))

    has_model = draw(st.booleans())
    # Few distinct values on purpose: ties are where ordering bugs hide.
    score = st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0])
    return pl.DataFrame(
        {
            CONSIGNMENT_ID: [f"{prefix}{i:04d}" for i in range(n)],
            OFFICE_OF_ARRIVAL: column(st.sampled_from(OFFICES)),
            PERIOD: column(st.sampled_from(DAYS)),
            RISK_SCORE: column(score) if has_model else [None] * n,
            RULE_SCORE: column(st.sampled_from([0.0, 1.0, 2.0, 5.0])),
            EXPECTED_REVENUE: column(st.none() | st.sampled_from([0.0, 10.0, 250.0])),
            FORCED_LANE: column(st.sampled_from([None] * 6 + LANES)),
            AEO_STATUS: column(st.sampled_from([None, None, "national", "mra"])),
        },
        schema=SCHEMA,
    )


@st.composite
def office_policies(draw: st.DrawFn, office: str) -> OfficePolicy:
    strategy = draw(st.sampled_from(SelectionStrategy))
    risk_share = {
        SelectionStrategy.RISK: 1.0,
        SelectionStrategy.REVENUE: 0.0,
        SelectionStrategy.MIX: draw(st.sampled_from([0.3, 0.5, 0.6])),
    }[strategy]
    return OfficePolicy(
        office=office,
        red_capacity=draw(st.integers(0, 6)),
        yellow_capacity=draw(st.integers(0, 6)),
        blue_capacity=draw(st.none() | st.integers(0, 4)),
        red_rate=draw(st.sampled_from([0.0, 0.05, 0.1, 0.3, 0.5])),
        yellow_rate=draw(st.sampled_from([0.0, 0.1, 0.2])),
        blue_rate=draw(st.sampled_from([0.0, 0.1, 0.2])),
        random_share=draw(st.sampled_from([0.0, 0.1, 0.25, 0.5, 1.0])),
        strategy=strategy,
        risk_share=risk_share,
        national_weight=draw(st.sampled_from([0.0, 0.5, 1.0])),
        mra_weight=draw(st.sampled_from([0.0, 0.6, 1.0])),
    )


@st.composite
def lane_policies(draw: st.DrawFn) -> LanePolicy:
    default = draw(office_policies("default"))
    listed = (draw(office_policies(OFFICES[0])),) if draw(st.booleans()) else ()
    return lane_policy(default, *listed)


def assert_capacity_respected(selection: Selection) -> None:
    """Capacity is exceeded only by rule-forced lanes, and exactly that excess is reported."""
    for row in selection.report.iter_rows(named=True):
        if row[CAPACITY] is None:
            assert row[EXCEEDED_BY_RULES] == 0
            continue
        remaining = max(row[CAPACITY] - row[USED_BEFORE], 0)
        assert row[BY_SCORE] + row[BY_RANDOM] <= max(remaining - row[BY_RULE], 0), row
        assert row[EXCEEDED_BY_RULES] == max(row[BY_RULE] - remaining, 0), row
        after = row[USED_BEFORE] + row[BY_RULE] + row[BY_SCORE] + row[BY_RANDOM]
        assert after - row[EXCEEDED_BY_RULES] <= max(row[CAPACITY], row[USED_BEFORE]), row


def assert_report_matches_decisions(selection: Selection) -> None:
    decided = (
        selection.decisions.group_by(OFFICE_OF_ARRIVAL, PERIOD, LANE)
        .agg(
            (pl.col(SELECTION_BASIS) == "rule").sum().alias(BY_RULE),
            (pl.col(SELECTION_BASIS) == "score").sum().alias(BY_SCORE),
            (pl.col(SELECTION_BASIS) == "random").sum().alias(BY_RANDOM),
            (pl.col(SELECTION_BASIS) == "default").sum().alias(BY_DEFAULT),
        )
        .with_columns(pl.col(BY_RULE, BY_SCORE, BY_RANDOM, BY_DEFAULT).cast(pl.Int64))
    )
    keys = [OFFICE_OF_ARRIVAL, PERIOD, LANE]
    report = selection.report.filter(
        pl.col(BY_RULE) + pl.col(BY_SCORE) + pl.col(BY_RANDOM) + pl.col(BY_DEFAULT) > 0
    ).select(*keys, BY_RULE, BY_SCORE, BY_RANDOM, BY_DEFAULT)
    assert report.sort(keys).equals(decided.select(report.columns).sort(keys))
    random_rows = selection.decisions.filter(pl.col(IS_RANDOM_PICK))
    assert (random_rows[SELECTION_BASIS] == "random").all()


# --- properties ----------------------------------------------------------------------------


@PROPERTY
@given(
    first=candidate_frames(prefix="A"),
    second=candidate_frames(prefix="B"),
    policy=lane_policies(),
    seed=st.integers(0, 2**32),
)
def test_capacity_is_never_exceeded_except_by_rules(
    first: pl.DataFrame, second: pl.DataFrame, policy: LanePolicy, seed: int
) -> None:
    """Over two calls carrying usage, only forced lanes pass capacity, and that is reported."""
    one = select_lanes(first, policy, seed=seed)
    two = select_lanes(second, policy, seed=seed, used=one.usage)
    for selection in (one, two):
        assert_capacity_respected(selection)
        assert_report_matches_decisions(selection)
        forced = selection.decisions.filter(pl.col(FORCED_LANE).is_not_null())
        assert (forced[LANE] == forced[FORCED_LANE]).all()
        assert (forced[SELECTION_BASIS] == "rule").all()
    # Cumulative usage: what both calls put in each lane, never more than capacity + excess.
    total = pl.concat([one.report, two.report])
    per_lane = total.group_by(OFFICE_OF_ARRIVAL, PERIOD, LANE).agg(
        pl.col(BY_RULE, BY_SCORE, BY_RANDOM, BY_DEFAULT, EXCEEDED_BY_RULES).sum(),
        pl.col(CAPACITY).first(),
    )
    usage = two.usage.join(per_lane, on=[OFFICE_OF_ARRIVAL, PERIOD, LANE])
    assert usage.height == two.usage.height
    for row in usage.iter_rows(named=True):
        placed = row[BY_RULE] + row[BY_SCORE] + row[BY_RANDOM] + row[BY_DEFAULT]
        assert row[COUNT] == placed
        if row[CAPACITY] is not None:
            assert row[COUNT] - row[EXCEEDED_BY_RULES] <= row[CAPACITY]


@PROPERTY
@given(candidates=candidate_frames(), policy=lane_policies(), seed=st.integers(0, 2**32))
def test_weight_zero_is_never_drawn_at_random(
    candidates: pl.DataFrame, policy: LanePolicy, seed: int
) -> None:
    decisions = select_lanes(candidates, policy, seed=seed).decisions
    for row in decisions.filter(pl.col(IS_RANDOM_PICK)).iter_rows(named=True):
        weight = policy.for_office(row[OFFICE_OF_ARRIVAL]).aeo_weight(row[AEO_STATUS])
        assert weight > 0, row


@PROPERTY
@given(
    candidates=candidate_frames(),
    policy=lane_policies(),
    seed=st.integers(0, 2**32),
    data=st.data(),
)
def test_deterministic_and_invariant_to_row_order(
    candidates: pl.DataFrame, policy: LanePolicy, seed: int, data: st.DataObject
) -> None:
    base = select_lanes(candidates, policy, seed=seed)
    again = select_lanes(candidates, policy, seed=seed)
    assert base.decisions.equals(again.decisions)
    order = data.draw(st.permutations(range(candidates.height)))
    shuffled = select_lanes(candidates[list(order)], policy, seed=seed)
    assert shuffled.decisions.sort(CONSIGNMENT_ID).equals(base.decisions.sort(CONSIGNMENT_ID))
    assert shuffled.report.equals(base.report)
    assert shuffled.usage.equals(base.usage)
    # The decisions come back in the caller's row order.
    assert shuffled.decisions[CONSIGNMENT_ID].to_list() == [
        candidates[CONSIGNMENT_ID][i] for i in order
    ]


def test_another_seed_draws_other_random_picks() -> None:
    """The seed matters (guards against a generator that ignores it)."""
    policy = lane_policy(office_policy(red_rate=0.1, random_share=1.0))
    candidates = frame([{CONSIGNMENT_ID: f"C{i:03d}", RISK_SCORE: 0.5} for i in range(200)])
    picks = [
        set(
            select_lanes(candidates, policy, seed=s).decisions.filter(pl.col(IS_RANDOM_PICK))[
                CONSIGNMENT_ID
            ]
        )
        for s in (1, 2)
    ]
    assert len(picks[0]) == len(picks[1]) == 20
    assert picks[0] != picks[1]


@PROPERTY
@given(
    n=st.integers(10, 150),
    red=st.sampled_from(["0.05", "0.1", "0.15", "0.3"]),
    yellow=st.sampled_from(["0", "0.05", "0.2", "0.3"]),
    share=st.sampled_from(["0", "0.1", "0.15", "0.25", "0.5", "1"]),
    capacity=st.integers(0, 60),
    seed=st.integers(0, 2**32),
)
def test_random_share_of_each_budget_is_honoured(
    n: int, red: str, yellow: str, share: str, capacity: int, seed: int
) -> None:
    """Random picks = the share of the budget, rounded up; the rest is by score."""
    policy = lane_policy(
        office_policy(
            red_capacity=capacity,
            yellow_capacity=capacity,
            red_rate=float(red),
            yellow_rate=float(yellow),
            random_share=float(share),
        )
    )
    candidates = frame([{CONSIGNMENT_ID: f"C{i:04d}", RISK_SCORE: (i % 7) / 7} for i in range(n)])
    selection = select_lanes(candidates, policy, seed=seed)
    found = counts(selection)
    for lane, rate in ((Lane.RED, red), (Lane.YELLOW, yellow)):
        budget = min(capacity, math.floor(Fraction(rate) * n + Fraction(1, 2)))
        drawn = math.ceil(Fraction(share) * budget)
        assert found.get((lane.value, "random"), 0) == drawn
        assert found.get((lane.value, "score"), 0) == budget - drawn


@PROPERTY
@given(
    n=st.integers(1, 120),
    cut=st.floats(0, 1),
    rate=st.sampled_from([0.02, 0.05, 0.1, 0.3, 1.0]),
    share=st.sampled_from([0.0, 0.1, 0.5]),
    capacity=st.integers(0, 20),
    seed=st.integers(0, 2**32),
)
def test_usage_carried_across_two_calls_equals_one_call(
    n: int, cut: float, rate: float, share: float, capacity: int, seed: int
) -> None:
    """Two chunks of one office-day, usage carried, place as many as one call over both."""
    policy = lane_policy(office_policy(red_capacity=capacity, red_rate=rate, random_share=share))
    candidates = frame(
        [{CONSIGNMENT_ID: f"C{i:04d}", RISK_SCORE: (i * 37 % 11) / 11} for i in range(n)]
    )
    k = int(cut * n)
    one = select_lanes(candidates[:k], policy, seed=seed)
    two = select_lanes(candidates[k:], policy, seed=seed, used=one.usage)
    whole = select_lanes(candidates, policy, seed=seed)

    def red(selection: Selection) -> pl.DataFrame:
        return selection.decisions.filter(pl.col(LANE) == "red")

    in_two_calls = red(one).height + red(two).height
    assert in_two_calls == red(whole).height <= capacity
    drawn = [red(s).filter(pl.col(IS_RANDOM_PICK)).height for s in (one, two, whole)]
    assert drawn[0] + drawn[1] == drawn[2]
    assert two.usage.equals(whole.usage)


# --- AEO benefits --------------------------------------------------------------------------


def aeo_candidates(days: int, per_day: int) -> pl.DataFrame:
    rows = [
        {
            CONSIGNMENT_ID: f"C{d:03d}-{i:03d}",
            PERIOD: DAY + timedelta(days=d),
            RISK_SCORE: 0.5,
            AEO_STATUS: ("national", "mra", None, None)[i % 4],
        }
        for d in range(days)
        for i in range(per_day)
    ]
    return frame(rows)


def test_aeo_consignments_lose_score_ties() -> None:
    """With equal scores, the AEO weight ranks trusted operators after everyone else."""
    policy = lane_policy(office_policy(red_rate=0.25, national_weight=0.5, mra_weight=0.6))
    decisions = select_lanes(aeo_candidates(1, 40), policy, seed=42).decisions
    red = decisions.filter(pl.col(LANE) == "red")
    assert red.height == 10
    assert red[AEO_STATUS].null_count() == 10
    priority = dict(
        zip(decisions[AEO_STATUS].to_list(), decisions[PRIORITY].to_list(), strict=False)
    )
    assert priority["national"] == pytest.approx(0.25)
    assert priority["mra"] == pytest.approx(0.3)
    assert priority[None] == pytest.approx(0.5)


def test_aeo_consignments_are_drawn_less_at_random(seed: int) -> None:
    """Weighted exploration: AEO consignments are drawn, but less often than the others."""
    policy = lane_policy(
        office_policy(red_rate=0.1, random_share=1.0, national_weight=0.5, mra_weight=0.6)
    )
    days = 200
    decisions = select_lanes(aeo_candidates(days, 40), policy, seed=seed).decisions
    drawn = decisions.filter(pl.col(IS_RANDOM_PICK))
    assert drawn.height == days * 4
    rate = {
        status: drawn.filter(pl.col(AEO_STATUS).eq_missing(status)).height / (days * per)
        for status, per in (("national", 10), ("mra", 10), (None, 20))
    }
    assert 0 < rate["national"] < rate[None]
    assert 0 < rate["mra"] < rate[None]
    # Inclusion is roughly proportional to the weight: 0.5 and 0.6 of the others' chance.
    assert rate["national"] / rate[None] == pytest.approx(0.5, abs=0.12)
    assert rate["mra"] / rate[None] == pytest.approx(0.6, abs=0.12)


def test_aeo_weight_zero_exempts_from_random_picks(seed: int) -> None:
    policy = lane_policy(
        office_policy(red_rate=0.5, random_share=1.0, national_weight=0.0, mra_weight=0.0)
    )
    decisions = select_lanes(aeo_candidates(5, 40), policy, seed=seed).decisions
    drawn = decisions.filter(pl.col(IS_RANDOM_PICK))
    assert drawn.height == 5 * 20
    assert drawn[AEO_STATUS].null_count() == drawn.height


def test_aeo_weights_apply_per_office(seed: int) -> None:
    policy = lane_policy(
        office_policy(red_rate=0.25),
        office_policy("BEANR000", red_rate=0.25, national_weight=0.5, mra_weight=0.5),
    )
    rows = aeo_candidates(1, 40).to_dicts()
    both = frame(
        rows
        + [
            {**r, OFFICE_OF_ARRIVAL: "BEANR000", CONSIGNMENT_ID: "X" + r[CONSIGNMENT_ID]}
            for r in rows
        ]
    )
    decisions = select_lanes(both, policy, seed=seed).decisions.filter(pl.col(LANE) == "red")
    antwerp = decisions.filter(pl.col(OFFICE_OF_ARRIVAL) == "BEANR000")
    assert antwerp[AEO_STATUS].null_count() == antwerp.height == 10
    # Brussels (the default office) gives no benefit: ties fall to the seeded tie-break.
    assert decisions.filter(pl.col(OFFICE_OF_ARRIVAL) == "BEBRU000")[AEO_STATUS].null_count() < 10


# --- examples ------------------------------------------------------------------------------


def test_highest_risk_goes_red_then_yellow_then_blue_by_revenue(seed: int) -> None:
    policy = lane_policy(office_policy(red_rate=0.1, yellow_rate=0.1, blue_rate=0.1))
    rows: list[dict[str, Any]] = [
        {CONSIGNMENT_ID: f"C{i:02d}", RISK_SCORE: i / 100, EXPECTED_REVENUE: float((i * 7) % 50)}
        for i in range(50)
    ]
    selection = select_lanes(frame(rows), policy, seed=seed)
    lanes = dict(zip(selection.decisions[CONSIGNMENT_ID], selection.decisions[LANE], strict=True))
    assert {c for c, lane in lanes.items() if lane == "red"} == {f"C{i}" for i in range(45, 50)}
    assert {c for c, lane in lanes.items() if lane == "yellow"} == {f"C{i}" for i in range(40, 45)}
    blue = sorted(
        (r for r in rows if lanes[r[CONSIGNMENT_ID]] == "blue"),
        key=lambda r: r[EXPECTED_REVENUE],
    )
    assert len(blue) == 5
    left = [r for r in rows if lanes[r[CONSIGNMENT_ID]] == "green"]
    assert min(r[EXPECTED_REVENUE] for r in blue) >= max(r[EXPECTED_REVENUE] for r in left)
    assert selection.score_column == RISK_SCORE
    assert set(selection.decisions[SELECTION_BASIS]) == {"score", "default"}


def test_mix_splits_the_score_budget_between_risk_and_revenue(seed: int) -> None:
    policy = lane_policy(
        office_policy(red_rate=0.1, strategy=SelectionStrategy.MIX, risk_share=0.6)
    )
    # Risk and revenue rank in opposite orders, so the two halves cannot overlap.
    rows = [
        {CONSIGNMENT_ID: f"C{i:03d}", RISK_SCORE: i / 100, EXPECTED_REVENUE: float(100 - i)}
        for i in range(100)
    ]
    decisions = select_lanes(frame(rows), policy, seed=seed).decisions
    red = set(decisions.filter(pl.col(LANE) == "red")[CONSIGNMENT_ID])
    assert red == {f"C{i:03d}" for i in (94, 95, 96, 97, 98, 99, 0, 1, 2, 3)}
    # Priority interleaves the two lists as the split reaches them: 0.6/1, 0.4/1, 0.6/2, ...
    top = decisions.sort(PRIORITY, descending=True)[CONSIGNMENT_ID][:3].to_list()
    assert top == ["C099", "C000", "C098"]


def test_forced_lanes_win_and_their_excess_is_reported(seed: int) -> None:
    policy = lane_policy(office_policy(red_capacity=2, red_rate=0.5, random_share=0.5))
    rows: list[dict[str, Any]] = [{CONSIGNMENT_ID: f"F{i}", FORCED_LANE: "red"} for i in range(3)]
    rows += [{CONSIGNMENT_ID: "G0", FORCED_LANE: "green", RISK_SCORE: 1.0}]
    rows += [{CONSIGNMENT_ID: f"C{i}", RISK_SCORE: 0.9} for i in range(6)]
    selection = select_lanes(frame(rows), policy, seed=seed)
    assert counts(selection) == {("red", "rule"): 3, ("green", "rule"): 1, ("green", "default"): 6}
    red = selection.report.filter(pl.col(LANE) == "red").row(0, named=True)
    assert (red[BY_RULE], red[BY_SCORE], red[BY_RANDOM], red[EXCEEDED_BY_RULES]) == (3, 0, 0, 1)
    usage = selection.usage.filter(pl.col(LANE) == "red").row(0, named=True)
    assert (usage[COUNT], usage[BY_RULE], usage[BY_RANDOM]) == (3, 3, 0)
    # The next chunk finds the lane full: everything it forces is excess.
    more = frame(
        [{CONSIGNMENT_ID: "F9", FORCED_LANE: "red"}, {CONSIGNMENT_ID: "C9", RISK_SCORE: 1.0}]
    )
    nxt = select_lanes(more, policy, seed=seed, used=selection.usage)
    red = nxt.report.filter(pl.col(LANE) == "red").row(0, named=True)
    assert (red[USED_BEFORE], red[BY_RULE], red[BY_SCORE], red[EXCEEDED_BY_RULES]) == (3, 1, 0, 1)


def test_blue_capacity_when_stated(seed: int) -> None:
    policy = lane_policy(office_policy(red_rate=0.0, blue_rate=0.5, blue_capacity=3))
    rows = [
        {CONSIGNMENT_ID: f"C{i}", RISK_SCORE: 0.5, EXPECTED_REVENUE: float(i)} for i in range(10)
    ]
    selection = select_lanes(frame(rows), policy, seed=seed)
    blue = set(selection.decisions.filter(pl.col(LANE) == "blue")[CONSIGNMENT_ID])
    assert blue == {"C7", "C8", "C9"}
    row = selection.report.filter(pl.col(LANE) == "blue").row(0, named=True)
    assert (row[CAPACITY], row[BY_SCORE], row[BY_RANDOM]) == (3, 3, 0)


def test_without_model_scores_rule_scores_rank_and_it_is_said(seed: int) -> None:
    policy = lane_policy(office_policy(red_rate=0.2))
    rows = [{CONSIGNMENT_ID: f"C{i}", RULE_SCORE: float(i)} for i in range(10)]
    selection = select_lanes(frame(rows), policy, seed=seed)
    assert selection.score_column == RULE_SCORE
    assert any("rule score" in note for note in selection.notes)
    red = set(selection.decisions.filter(pl.col(LANE) == "red")[CONSIGNMENT_ID])
    assert red == {"C8", "C9"}


def test_optional_columns_may_be_absent_and_input_columns_are_kept(seed: int) -> None:
    candidates = pl.DataFrame(
        {
            CONSIGNMENT_ID: ["b", "a", "c"],
            OFFICE_OF_ARRIVAL: ["X", "X", "X"],
            PERIOD: [DAY] * 3,
            RULE_SCORE: [1, 3, 2],
            "hs6": ["010101", "020202", "030303"],
        }
    )
    policy = lane_policy(office_policy(red_rate=0.34))
    selection = select_lanes(candidates, policy, seed=seed)
    assert selection.decisions.columns == [
        *candidates.columns,
        LANE,
        IS_RANDOM_PICK,
        SELECTION_BASIS,
        PRIORITY,
    ]
    assert selection.decisions[LANE].to_list() == ["green", "red", "green"]


def test_usage_keeps_offices_and_days_not_in_this_call(seed: int) -> None:
    policy = lane_policy(office_policy(red_rate=0.5))
    one = select_lanes(frame([{CONSIGNMENT_ID: "a", RISK_SCORE: 1.0}]), policy, seed=seed)
    other = frame([{CONSIGNMENT_ID: "b", OFFICE_OF_ARRIVAL: "NLRTM000", RISK_SCORE: 1.0}])
    two = select_lanes(other, policy, seed=seed, used=one.usage)
    assert set(two.usage[OFFICE_OF_ARRIVAL]) == {"BEBRU000", "NLRTM000"}
    assert two.usage.filter(pl.col(OFFICE_OF_ARRIVAL) == "BEBRU000").equals(one.usage)


def test_policy_out_of_force_is_noted(seed: int) -> None:
    policy = lane_policy(office_policy())
    early = frame([{CONSIGNMENT_ID: "a", PERIOD: date(2025, 12, 31)}])
    assert any("not in force" in note for note in select_lanes(early, policy, seed=seed).notes)


def test_empty_candidates(seed: int) -> None:
    selection = select_lanes(frame([]), lane_policy(office_policy()), seed=seed)
    assert selection.decisions.height == 0
    assert LANE in selection.decisions.columns
    assert selection.report.height == 0
    assert selection.usage.height == 0


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda f: f.drop(RULE_SCORE), CODE_MISSING_COLUMN),
        (lambda f: f.with_columns(pl.col(PERIOD).cast(pl.String)), CODE_INVALID_COLUMN),
        (lambda f: f.with_columns(pl.lit("high").alias(RISK_SCORE)), CODE_INVALID_COLUMN),
        (lambda f: pl.concat([f, f]), CODE_DUPLICATE_ID),
        (lambda f: f.with_columns(pl.lit("orange").alias(FORCED_LANE)), CODE_UNKNOWN_VALUE),
        (lambda f: f.with_columns(pl.lit("gold").alias(AEO_STATUS)), CODE_UNKNOWN_VALUE),
        (
            lambda f: f.with_columns(pl.lit(None, pl.String).alias(OFFICE_OF_ARRIVAL)),
            CODE_MISSING_VALUE,
        ),
    ],
)
def test_bad_candidates_are_refused_with_every_problem(change: Any, code: str) -> None:
    candidates = change(frame([{CONSIGNMENT_ID: "a"}, {CONSIGNMENT_ID: "b"}]))
    with pytest.raises(InvalidInputError) as info:
        select_lanes(candidates, lane_policy(office_policy()), seed=1)
    assert code in {p.code for p in info.value.problems}


def test_bad_usage_is_refused() -> None:
    with pytest.raises(InvalidInputError) as info:
        select_lanes(
            frame([{CONSIGNMENT_ID: "a"}]),
            lane_policy(office_policy()),
            seed=1,
            used=pl.DataFrame({OFFICE_OF_ARRIVAL: ["X"], COUNT: [1]}),
        )
    assert {p.path for p in info.value.problems} >= {f"used.{PERIOD}", f"used.{LANE}"}
    usage = pl.DataFrame(
        {OFFICE_OF_ARRIVAL: ["X"], PERIOD: [DAY], LANE: ["purple"], COUNT: [1], BY_RULE: [0]}
    ).with_columns(pl.lit(0).alias(BY_RANDOM))
    with pytest.raises(InvalidInputError) as info:
        select_lanes(
            frame([{CONSIGNMENT_ID: "a"}]), lane_policy(office_policy()), seed=1, used=usage
        )
    assert [p.code for p in info.value.problems] == [CODE_UNKNOWN_VALUE]
