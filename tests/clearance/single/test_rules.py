"""Differential tests: the row-wise rules stage against the batch of ``Clearance._decide``."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartcustoms.aeo import OperatorRegistry, with_aeo_status
from smartcustoms.aeo.registry import (
    AeoCertificate,
    CertificateStatus,
    CertificateType,
    MraPartner,
)
from smartcustoms.aeo.registry import (
    Operator as AeoOperator,
)
from smartcustoms.clearance.single._rust_regex import text_ok, translate
from smartcustoms.clearance.single.rules import SingleRuleResult, SingleRules, compile_condition
from smartcustoms.config import load_settings
from smartcustoms.intake import read_batches
from smartcustoms.model import columns as c
from smartcustoms.platform import SmartCustoms
from smartcustoms.risk._conditions import Condition, FieldKind, Operator
from smartcustoms.risk.columns import (
    AEO_STATUS,
    RULE_SCORE,
    VALUE_REF_LEVEL,
)
from smartcustoms.risk.engine import RiskEngine
from smartcustoms.risk.policy import default_policy
from smartcustoms.risk.rules import load_example_rules, load_rules
from smartcustoms.risk.value_controls import (
    ValueReference,
    fit_value_reference,
)
from smartcustoms.risk.view import build_risk_view
from smartcustoms.risk.watchlists import ListKind, WatchList, WatchListEntry
from smartcustoms.synth import TrafficConfig, generate_traffic, write_traffic
from smartcustoms.tariff import ExchangeRates, load_exchange_rates
from tests.rulesets_text import MARKER_LISTS, MARKER_RULES

CURRENCY = "EUR"
HOME = "EU"
TODAY = date(2026, 11, 1)


# --- the batch sequence ----------------------------------------------------------------------


@dataclass(frozen=True)
class Frames:
    """One prepared batch: accepted consignments, items and quality."""

    cons: pl.DataFrame
    items: pl.DataFrame
    quality: pl.DataFrame


def batch_rules(
    engine: RiskEngine,
    operators: OperatorRegistry | None,
    rates: ExchangeRates,
    frames: Frames,
) -> SingleRuleResult:
    """``Clearance._decide`` then ``RiskEngine.assess`` up to the model, as rows."""
    cons, items = frames.cons, frames.items
    aeo = (
        with_aeo_status(
            cons.select(c.CONSIGNMENT_ID, c.FILED_AT, "importer_id", c.FILER_ID, c.SELLER_ID),
            operators,
            home_country=HOME,
        )
        if operators is not None
        else None
    )
    view = build_risk_view(
        cons, items, quality=frames.quality, aeo=aeo, rates=rates, currency=CURRENCY
    )
    view, summary, hits = engine.apply_rules(view)  # RiskEngine.assess, first half
    # the engine itself agrees on hits and the rule columns
    outcome = engine.assess(view.drop(RULE_SCORE))
    assert outcome.hits.to_dicts() == hits.to_dicts()
    decided = outcome.decisions.sort(c.CONSIGNMENT_ID).select("rule_hits", RULE_SCORE)
    assert decided.to_dicts() == summary.select("rule_hits", RULE_SCORE).to_dicts()
    return SingleRuleResult(view.to_dicts(), hits.to_dicts(), summary.to_dicts())


def same(fast: SingleRuleResult, batch: SingleRuleResult) -> None:
    """Value for value, type for type (``1 == 1.0`` does not pass)."""
    for name in ("view", "hits", "consignments"):
        left, right = getattr(fast, name), getattr(batch, name)
        assert len(left) == len(right), name
        for a, b in zip(left, right, strict=True):
            assert list(a) == list(b), name
            for key in a:
                assert type(a[key]) is type(b[key]), (name, key, a[key], b[key])
                if isinstance(a[key], float) and math.isnan(a[key]):
                    assert math.isnan(b[key])
                else:
                    assert a[key] == b[key], (name, key, a[key], b[key])


# --- configuration ---------------------------------------------------------------------------


@cache
def rates() -> ExchangeRates:
    return load_exchange_rates()


@cache
def reference() -> ValueReference:
    """A value reference fitted on another seed's traffic (history)."""
    chunks = list(generate_traffic(TrafficConfig(consignments=3000, seed=99)))
    cons = pl.concat([ch.consignments for ch in chunks])
    items = pl.concat([ch.items for ch in chunks])
    view = build_risk_view(cons, items, rates=rates(), currency=CURRENCY)
    return fit_value_reference(view, min_n=10)


@cache
def prepared(seed: int, n: int = 300) -> Frames:
    """Synthetic filings through ``Clearance.prepare`` (normalised, validated, scored)."""
    folder = Path(f"/tmp/single-rules-{seed}-{n}")
    folder.mkdir(exist_ok=True)
    config = TrafficConfig(consignments=n, seed=seed)
    write_traffic(config, folder / "in.jsonl", compute_revenue=False)
    platform = SmartCustoms(
        load_settings(database_url=f"sqlite:///{folder / 'db.sqlite'}", ledger_dir=str(folder))
    )
    now = config.start + timedelta(hours=30)
    try:
        clearance = platform.clearance(now=now)
        batch = next(iter(read_batches(folder / "in.jsonl")))
        p = clearance.prepare(batch, now=now)
    finally:
        platform.close()
    return Frames(p.accepted_consignments, p.accepted_items, p.quality)


def registry(frames: Frames) -> OperatorRegistry:
    """Certificates for some parties of the traffic: national, MRA, suspended, expired."""
    ids = sorted(
        {
            v
            for col in ("importer_id", c.FILER_ID, c.SELLER_ID)
            for v in frames.cons[col].drop_nulls().unique().to_list()
        }
    )
    pick = random.Random(5)
    chosen = pick.sample(ids, min(len(ids), 40))
    start = date(2020, 1, 1)
    ops = []
    for k, op_id in enumerate(chosen):
        authority = ["EU", "JP", "US", "CN", "EU"][k % 5]
        status = [CertificateStatus.ACTIVE, CertificateStatus.SUSPENDED][k % 7 == 3]
        since = date(2026, 11, 16) if status is not CertificateStatus.ACTIVE else None
        valid_to = date(2026, 11, 15) if k % 11 == 4 else None
        ops.append(
            AeoOperator(
                op_id,
                f"Op {k}",
                authority,
                (
                    AeoCertificate(
                        [CertificateType.AEOF, CertificateType.AEOS, CertificateType.AEOC][k % 3],
                        authority,
                        f"N{k}",
                        start,
                        valid_to,
                        status,
                        since,
                    ),
                ),
            )
        )
    partners = (
        MraPartner("JP", "Japan Customs", date(2011, 1, 1)),
        MraPartner(
            "US", "CBP", date(2012, 1, 1), scope=(CertificateType.AEOS, CertificateType.AEOF)
        ),
    )
    return OperatorRegistry("test", "1", tuple(ops), partners)


def marker_rules(tmp: Path, seller: str) -> RuleSetLike:
    (tmp / "marked.toml").write_text(MARKER_LISTS.format(seller=seller))
    path = tmp / "rules.toml"
    path.write_text(MARKER_RULES.format(version="1"))
    return load_rules(path, today=TODAY)


RuleSetLike = Any

SEEDS = (3, 17, 2026)
ALONE = 60
"""Filings per seed and configuration also compared with the batch run on them alone."""


def configurations(
    frames: Frames, tmp: Path
) -> Iterator[tuple[str, RiskEngine, OperatorRegistry | None]]:
    example = load_example_rules(today=TODAY)
    policy = default_policy()
    seller = frames.cons[c.SELLER_ID].drop_nulls()[0]
    yield "example", RiskEngine(policy=policy, rules=example), None
    yield (
        "example+reference+aeo",
        RiskEngine(policy=policy, rules=example, reference=reference()),
        registry(frames),
    )
    yield (
        "marker+reference",
        RiskEngine(policy=policy, rules=marker_rules(tmp, seller), reference=reference()),
        None,
    )
    yield "no-rules+aeo", RiskEngine(policy=policy), registry(frames)


def per_filing(
    frames: Frames,
) -> Iterator[tuple[Frames, list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]]:
    """Each record alone: its frames and its rows."""
    for record in frames.cons[c.RECORD].unique(maintain_order=True).to_list():
        cons = frames.cons.filter(pl.col(c.RECORD) == record)
        items = frames.items.filter(pl.col(c.RECORD) == record)
        quality = frames.quality.join(
            cons.select(c.CONSIGNMENT_ID), on=c.CONSIGNMENT_ID, how="semi"
        )
        yield Frames(cons, items, quality), cons.to_dicts(), items.to_dicts(), quality.to_dicts()


# --- differential tests on synthetic filings ---------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_every_filing_alone_agrees_with_the_batch(seed: int, tmp_path: Path) -> None:
    frames = prepared(seed)
    for name, engine, operators in configurations(frames, tmp_path):
        fast = SingleRules(engine, operators, HOME, rates(), CURRENCY)
        whole = batch_rules(engine, operators, rates(), frames)
        view = {(r[c.CONSIGNMENT_ID], r[c.ITEM_NO]): r for r in whole.view}
        summary = {r[c.CONSIGNMENT_ID]: r for r in whole.consignments}
        hits: dict[str, list[dict[str, Any]]] = {}
        for h in whole.hits:
            hits.setdefault(h[c.CONSIGNMENT_ID], []).append(h)
        covered = total = 0
        for alone, cons, items, quality in per_filing(frames):
            total += 1
            got = fast.evaluate(cons, items, quality)
            if got is None:
                continue
            covered += 1
            # against the whole batch (rows are independent of one another) ...
            ids = sorted({r[c.CONSIGNMENT_ID] for r in got.view})
            same(
                got,
                SingleRuleResult(
                    [view[(r[c.CONSIGNMENT_ID], r[c.ITEM_NO])] for r in got.view],
                    [h for i in ids for h in hits.get(i, [])],
                    [summary[i] for i in ids],
                ),
            )
            # ... and, for a sample, against the filing cleared alone
            if covered <= ALONE:
                same(got, batch_rules(engine, operators, rates(), alone))
        assert covered >= 0.95 * total, (name, covered, total)


def test_the_fast_path_sees_value_controls_aeo_and_hits() -> None:
    """Not vacuous: the synthetic traffic exercises references, AEO and rule hits."""
    frames = prepared(SEEDS[0])
    engine = RiskEngine(
        policy=default_policy(), rules=load_example_rules(today=TODAY), reference=reference()
    )
    fast = SingleRules(engine, registry(frames), HOME, rates(), CURRENCY)
    levels: set[Any] = set()
    statuses: set[Any] = set()
    rules: set[str] = set()
    for _, cons, items, quality in per_filing(frames):
        got = fast.evaluate(cons, items, quality)
        if got is None:
            continue
        levels |= {r[VALUE_REF_LEVEL] for r in got.view}
        statuses |= {r[AEO_STATUS] for r in got.consignments}
        rules |= {h["rule_id"] for h in got.hits}
    assert "hs6_origin" in levels and len(levels) >= 2
    assert {"national", "mra", None} <= statuses
    assert len(rules) >= 5


def test_declines_rather_than_guess() -> None:
    frames = prepared(SEEDS[0])
    engine = RiskEngine(policy=default_policy(), rules=load_example_rules(today=TODAY))
    fast = SingleRules(engine, None, HOME, rates(), CURRENCY)
    _, cons, items, quality = next(per_filing(frames))
    assert fast.evaluate(cons, items, quality) is not None
    bad_type = [{**items[0], c.VALUE: "cheap"}, *items[1:]]
    assert fast.evaluate(cons, bad_type, quality) is None
    twice = [*items, items[0]]
    assert fast.evaluate(cons, twice, quality) is None
    unicode_text = [{**i, c.DESCRIPTION: "Geschenk für dich"} for i in items]
    assert fast.evaluate(cons, unicode_text, quality) is None
    assert fast.evaluate(cons, [], quality) is None
    assert fast.evaluate([{**cons[0], c.FILED_AT: float("nan")}], items, quality) is None


# --- Hypothesis-mutated filings -----------------------------------------------------------------

HS = [
    "850760",
    "950300",
    "640690",
    "630900",
    "821192",
    "851830",
    "9102",
    "610910",
    "3004",
    "12",
    "",
]
COUNTRIES = ["CN", "HK", "RU", "BY", "KP", "FR", "US", "cn", None]
DESCRIPTIONS = [
    "gift",
    " Gifts ",
    "replica watch",
    "Plush toy",
    "parts\n",
    "AAA copy",
    "x" * 40,
    "",
    None,
]
VALUES = [
    Decimal("0"),
    Decimal("0.0001"),
    Decimal("145.5000"),
    Decimal("150"),
    Decimal("9999.99"),
    None,
]
MASSES = [0.0, 0.001, 0.5, 12.0, -1.0, None]


@st.composite
def mutated(
    draw: st.DrawFn,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    frames = prepared(SEEDS[1])
    records = frames.cons[c.RECORD].unique(maintain_order=True).to_list()
    record = draw(st.sampled_from(records))
    cons = frames.cons.filter(pl.col(c.RECORD) == record).to_dicts()
    items = frames.items.filter(pl.col(c.RECORD) == record).to_dicts()
    quality = frames.quality.join(
        frames.cons.filter(pl.col(c.RECORD) == record).select(c.CONSIGNMENT_ID),
        on=c.CONSIGNMENT_ID,
        how="semi",
    ).to_dicts()
    extra = draw(st.integers(0, 3))
    for k in range(extra):
        items.append({**items[-1], c.ITEM_NO: max(i[c.ITEM_NO] for i in items) + 1 + k})
    for item in items:
        if draw(st.booleans()):
            item[c.HS_CODE] = draw(st.sampled_from(HS))
        if draw(st.booleans()):
            item[c.ORIGIN_COUNTRY] = draw(st.sampled_from(COUNTRIES))
        if draw(st.booleans()):
            item[c.DESCRIPTION] = draw(st.sampled_from(DESCRIPTIONS))
        if draw(st.booleans()):
            item[c.VALUE] = draw(st.sampled_from(VALUES))
        if draw(st.booleans()):
            item[c.NET_MASS_KG] = draw(st.sampled_from(MASSES))
    for cons_row in cons:
        if draw(st.booleans()):
            cons_row[c.CURRENCY] = draw(st.sampled_from(["EUR", "USD", "CNY", "XXX", None]))
        if draw(st.booleans()):
            cons_row[c.COUNTRY_OF_DISPATCH] = draw(st.sampled_from(COUNTRIES))
        if draw(st.booleans()):
            cons_row[c.TOTAL_VALUE] = draw(st.sampled_from(VALUES))
        if draw(st.booleans()):
            cons_row["ioss_number"] = None
        if draw(st.booleans()):
            cons_row[c.TRANSPORT_MODE] = draw(st.sampled_from(["4", "5", None]))
        if draw(st.booleans()):
            day = draw(st.sampled_from([date(2025, 12, 31), date(2026, 11, 15), date(2027, 2, 1)]))
            cons_row[c.FILED_AT] = datetime.combine(day, datetime.min.time(), UTC) + timedelta(
                seconds=draw(st.integers(0, 86_399))
            )
        if draw(st.booleans()):
            cons_row[c.FILED_AT] = None
        if draw(st.booleans()):
            cons_row[c.SELLER_ID] = draw(st.sampled_from(["CN000000001", "HK000000003", None]))
        if draw(st.booleans()):
            cons_row[c.BUYER_ID] = "B0000000001"
    for row in quality:
        if draw(st.booleans()):
            row["dq_score"] = draw(st.sampled_from([0, 39, 40, 100, None]))
    return cons, items, quality


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=mutated(), with_reference=st.booleans(), with_aeo=st.booleans())
def test_mutated_filings_agree_with_the_batch(
    data: tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]],
    with_reference: bool,
    with_aeo: bool,
) -> None:
    cons, items, quality = data
    frames = prepared(SEEDS[1])
    engine = RiskEngine(
        policy=default_policy(),
        rules=load_example_rules(today=TODAY),
        reference=reference() if with_reference else None,
    )
    operators = registry(frames) if with_aeo else None
    got = SingleRules(engine, operators, HOME, rates(), CURRENCY).evaluate(cons, items, quality)
    if got is None:
        return
    alone = Frames(
        pl.DataFrame(cons, schema=frames.cons.schema),
        pl.DataFrame(items, schema=frames.items.schema),
        pl.DataFrame(quality, schema=frames.quality.schema),
    )
    same(got, batch_rules(engine, operators, rates(), alone))


# --- the condition language --------------------------------------------------------------------

WATCH = {
    "hs": WatchList(
        "hs",
        ListKind.HS,
        date(2026, 1, 1),
        (
            WatchListEntry("8211"),
            WatchListEntry("85", effective_from=date(2026, 6, 1)),
            WatchListEntry("3004", effective_to=date(2026, 3, 1)),
        ),
    ),
    "sellers": WatchList(
        "sellers",
        ListKind.SELLER,
        date(2026, 1, 1),
        (
            WatchListEntry("S1"),
            WatchListEntry("s2"),
            WatchListEntry("S3", effective_from=date(2026, 5, 1)),
        ),
        effective_to=date(2027, 1, 1),
    ),
    "empty": WatchList("empty", ListKind.COUNTRY, date(2026, 1, 1), ()),
}
TEXTS = st.sampled_from(
    [
        "",
        "S1",
        "s1",
        "s2",
        "S3",
        "8211",
        "821190",
        "85",
        "8",
        "3004x",
        "CN",
        "cn",
        "gift",
        "a\nb",
        "Ab_1",
        " ",
    ]
)
NUMBERS = st.one_of(
    st.sampled_from(
        [0.0, -0.0, 1.0, 150.0, 149.99999999999997, 1e300, -1e-300, math.inf, -math.inf]
    ),
    st.floats(-1e6, 1e6, allow_nan=False),
    st.integers(-(2**60), 2**60),
)
DATES = st.dates(date(2025, 12, 1), date(2027, 2, 1))
INSTANTS = st.datetimes(datetime(2025, 12, 1), datetime(2027, 2, 1)).map(
    lambda d: d.replace(tzinfo=UTC)
)
FIELDS = {
    FieldKind.STRING: ("seller_id", TEXTS),
    FieldKind.NUMBER: ("total_value", NUMBERS),
    FieldKind.DATE: ("period", DATES),
    FieldKind.DATETIME: ("expected_arrival_at", INSTANTS),
}
DTYPES = {
    FieldKind.STRING: pl.String(),
    FieldKind.NUMBER: pl.Float64(),
    FieldKind.DATE: pl.Date(),
    FieldKind.DATETIME: pl.Datetime("us", "UTC"),
}


@st.composite
def conditions(draw: st.DrawFn) -> tuple[Condition, st.SearchStrategy[Any]]:
    kind = draw(st.sampled_from(list(FIELDS)))
    field, values = FIELDS[kind]
    ops = [
        op
        for op in Operator
        if op not in (Operator.PREFIX, Operator.MATCHES, Operator.IN_LIST, Operator.NOT_IN_LIST)
    ]
    if kind is FieldKind.STRING:
        ops = [*ops, Operator.PREFIX, Operator.MATCHES, Operator.IN_LIST, Operator.NOT_IN_LIST]
        ops = [
            op
            for op in ops
            if op not in (Operator.LT, Operator.LE, Operator.GT, Operator.GE, Operator.BETWEEN)
        ]
    op = draw(st.sampled_from(ops))
    scalar = values.filter(lambda v: not (isinstance(v, float) and math.isinf(v)))
    operand: Any
    if op is Operator.IS_NULL:
        operand = draw(st.booleans())
    elif op in (Operator.IN_LIST, Operator.NOT_IN_LIST):
        operand = draw(st.sampled_from(sorted(WATCH)))
    elif op is Operator.PREFIX:
        operand = tuple(
            draw(
                st.lists(
                    st.sampled_from(["S", "s", "82", "8211", "85", "c", "gift"]),
                    min_size=1,
                    max_size=3,
                    unique=True,
                )
            )
        )
    elif op is Operator.MATCHES:
        operand = draw(
            st.sampled_from(
                [r"^S\d$", r"(?i)gift", r"\b1\b", "a$", r"(?i)^\s*s[0-9]+\s*$", "^$", "."]
            )
        )
    elif op in (Operator.IN, Operator.NOT_IN):
        operand = tuple(draw(st.lists(scalar, min_size=1, max_size=4)))
    elif op is Operator.BETWEEN:
        pair = sorted(draw(st.lists(scalar, min_size=2, max_size=2)))
        operand = tuple(pair)
    else:
        operand = draw(scalar)
    if kind is FieldKind.NUMBER and op not in (Operator.IS_NULL,):
        operand = tuple(float(v) for v in operand) if isinstance(operand, tuple) else float(operand)
    return Condition(field, op, operand, kind), st.one_of(st.none(), values)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_conditions_agree_with_their_polars_expression(data: st.DataObject) -> None:
    cond, values = data.draw(conditions())
    rows = data.draw(
        st.lists(st.tuples(values, st.one_of(st.none(), DATES)), min_size=1, max_size=5)
    )
    compiled = compile_condition(cond, WATCH)
    assert compiled is not None, cond
    frame = pl.DataFrame(
        {"v": [r[0] for r in rows], "day": [r[1] for r in rows]},
        schema={
            "v": DTYPES[cond.kind] if cond.kind is not FieldKind.NUMBER else pl.Float64(),
            "day": pl.Date(),
        },
        strict=False,
    ).rename({"v": cond.field})
    expected = frame.select(cond.expression(WATCH, pl.col("day"))).to_series().to_list()
    for (value, day), want in zip(rows, expected, strict=True):
        if day is None:
            continue  # rules never run on a null day (the whole rule is false)
        assert compiled({cond.field: value}, day) is want, (cond, value, day)


# --- the regex dialect ------------------------------------------------------------------------

ATOMS = [
    "a",
    "b",
    "A",
    "1",
    " ",
    ".",
    r"\d",
    r"\w",
    r"\s",
    r"\W",
    r"\S",
    r"\b",
    r"\B",
    "^",
    "$",
    r"\.",
    "[a-c]",
    "[^ab]",
    "[0-9_-]",
    r"[\s.]",
    "(a|b)",
    "(?:ab|)",
    "x",
]
QUANTS = ["", "", "*", "+", "?", "{2}", "{1,}", "{0,2}", "*?", "+?"]


@st.composite
def patterns(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 5))):
        atom = draw(st.sampled_from(ATOMS))
        quant = draw(st.sampled_from(QUANTS)) if atom not in ("^", "$", r"\b", r"\B") else ""
        parts.append(atom + quant)
    body = "".join(parts)
    if draw(st.booleans()):
        body = body + "|" + draw(st.sampled_from(ATOMS))
    prefix = draw(st.sampled_from(["", "", "(?i)", "(?s)", "(?is)"]))
    if draw(st.booleans()):
        body = f"(?i:{body})"
    return prefix + body


@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    pattern=patterns(),
    texts=st.lists(st.text(alphabet="aAbB1 _.\n\t-xé\x1c", max_size=8), min_size=1, max_size=6),
)
def test_translated_patterns_match_like_polars(pattern: str, texts: list[str]) -> None:
    try:
        expected = pl.Series(texts, dtype=pl.String).str.contains(pattern).to_list()
    except pl.exceptions.PolarsError:
        return  # Polars refuses it: rule files cannot carry it
    compiled = translate(pattern)
    assert compiled is not None, pattern
    for text, want in zip(texts, expected, strict=True):
        if text_ok(text):
            assert (compiled.search(text) is not None) is want, (pattern, text)


def test_the_shipped_patterns_translate_and_unsupported_syntax_declines() -> None:
    example = load_example_rules(today=TODAY)
    patterns_used = [
        cond.operand
        for r in example.rules
        for cond in r.conditions()
        if cond.operator is Operator.MATCHES
    ]
    assert patterns_used and all(translate(p) is not None for p in patterns_used)
    for pattern in (
        r"\p{L}",
        "[[:alpha:]]",
        "a(?i)b",
        "(?m)^a$",
        "(?x) a",
        r"\x41",
        r"[a&&b]",
        r"\<a",
    ):
        assert translate(pattern) is None, pattern
