"""Differential tests: SingleAssessor (row-wise) against tariff.assess (batch), value for value.

Every comparison is strict: same keys, same Python types, ``Decimal`` with the same exponent
(``Decimal("1.00")`` differs from ``Decimal("1.0000")``), dates and datetimes equal with the
same tz-awareness. Whenever the fast path answers (not ``None``), its rows must be exactly the
batch frame's ``.to_dicts()``; when the batch path raises, the fast path must decline.
"""

from __future__ import annotations

import dataclasses
import random
import tempfile
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal, localcontext
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from smartcustoms.clearance.single.assess import SingleAssessment, SingleAssessor
from smartcustoms.config import Settings
from smartcustoms.intake._json import parse_json_lines
from smartcustoms.intake.layouts import WCO_JSON_LAYOUT
from smartcustoms.intake.validate import normalise_codes
from smartcustoms.model import CONSIGNMENT_SCHEMA, ITEM_SCHEMA
from smartcustoms.synth import TrafficConfig, write_traffic
from smartcustoms.tariff import (
    Assessment,
    ExchangeRate,
    ExchangeRates,
    Regime,
    TariffSchedule,
    assess,
    load_exchange_rates,
    load_regime,
    load_schedule,
)
from smartcustoms.tariff.regimes import FlatDutyScope, ValuationBasis, shipped_regime_ids

Rows = list[dict[str, Any]]
Filing = tuple[Rows, Rows]

DEFAULT_REGIME = "eu-2026-07"
"""The platform default (``Settings.regime``); checked against the platform below."""

# -- strict comparison ------------------------------------------------------------------------


def same(a: Any, b: Any) -> bool:
    """Equal value for value, with the same types, Decimal exponents and tz-awareness."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Decimal):
        return bool(a.as_tuple() == b.as_tuple())
    if isinstance(a, datetime):
        return a == b and (a.tzinfo is None) == (b.tzinfo is None)
    return bool(a == b)


def differences(got: SingleAssessment, want: Assessment) -> list[str]:
    """What differs between the fast rows and the batch frames (empty when identical)."""
    out: list[str] = []
    for name, rows, frame in (
        ("items", got.items, want.items),
        ("consignments", got.consignments, want.consignments),
    ):
        expected = frame.to_dicts()
        if len(rows) != len(expected):
            out.append(f"{name}: {len(rows)} rows, batch has {len(expected)}")
            continue
        for i, (mine, theirs) in enumerate(zip(rows, expected, strict=True)):
            if mine.keys() != theirs.keys():
                out.append(f"{name}[{i}] keys {sorted(mine)} != {sorted(theirs)}")
                continue
            out.extend(
                f"{name}[{i}].{k}: {mine[k]!r} != {theirs[k]!r}"
                for k in theirs
                if not same(mine[k], theirs[k])
            )
    for attr, value in (
        ("regime", want.regime),
        ("schedule_id", want.schedule_id),
        ("rates_id", want.rates_id),
    ):
        if getattr(got, attr) != value:
            out.append(f"{attr}: {getattr(got, attr)!r} != {value!r}")
    return out


def test_the_comparison_sees_scale_type_and_tz_differences() -> None:
    assert not same(Decimal("1.00"), Decimal("1.0000"))
    assert not same(1.0, Decimal("1.0"))
    assert not same(1, True)
    assert not same(datetime(2026, 1, 1), datetime(2026, 1, 1, tzinfo=UTC))
    assert not same({"a": 1}, {"a": 1, "b": None})
    assert same([{"a": Decimal("0.0000")}], [{"a": Decimal("0.0000")}])


# -- reference data ---------------------------------------------------------------------------

SCHEDULE_TOML = """\
id = "{id}"
version = "1"
currency = "{currency}"
effective_from = 2018-01-01
legal_basis = "test schedule"

[[lines]]
hs_prefix = "61"
ad_valorem_pct = "12"

[[lines]]
hs_prefix = "6109"
ad_valorem_pct = "10.5"

[[lines]]
hs_prefix = "610910"
ad_valorem_pct = "8"
effective_from = 2026-08-01

[[lines]]
hs_prefix = "0406"
specific_per_kg = "2.5"

[[lines]]
hs_prefix = "2204"
ad_valorem_pct = "3"
specific_per_unit = "0.5"
unit = "LTR"

[[lines]]
hs_prefix = "2208"
excise_per_unit = "2"
excise_unit = "LTR"
excise_per_kg = "0.3"

[[lines]]
hs_prefix = "240220"
ad_valorem_pct = "50"
excise_pct = "10"
excise_per_unit = "0.1"
excise_unit = "H87"
effective_to = 2027-12-31

[[lines]]
hs_prefix = "4901"
vat_pct = "5.5"

[[lines]]
id = "4901-zero"
hs_prefix = "490199"
vat_pct = "0"
ad_valorem_pct = "1.7"
effective_from = 2025-01-01

[[lines]]
hs_prefix = "9503"
ad_valorem_pct = "0"

[[lines]]
hs_prefix = "1701"
specific_per_unit = "0.419"
unit = "KGM"

[[lines]]
hs_prefix = "7113"
description = "absurdly high, so one millionth of a kilogram shows in the cents"
specific_per_kg = "10000"
"""

RATE_ROWS = [
    ExchangeRate("USD", Decimal("1.25"), date(2016, 1, 1), "test"),
    ExchangeRate("USD", Decimal("1.0898"), date(2021, 7, 1), "test"),
    ExchangeRate("USD", Decimal("1.6"), date(2026, 7, 15), "test"),
    ExchangeRate("GBP", Decimal("0.87705"), date(2016, 1, 1), "test"),
    ExchangeRate("GBP", Decimal("0.8"), date(2026, 7, 15), "test"),
    ExchangeRate("JPY", Decimal("128.46"), date(2019, 1, 1), "test"),
    ExchangeRate("CNY", Decimal("7.7253"), date(2016, 1, 1), "test"),
]


_FILES = tempfile.TemporaryDirectory(prefix="sc-single-assess-")


@cache
def schedule_in(currency: str) -> TariffSchedule:
    """The test schedule (dated lines, specific amounts, excise, line VAT) in ``currency``."""
    path = Path(_FILES.name) / f"test-{currency.lower()}.toml"
    path.write_text(
        SCHEDULE_TOML.format(id=f"test-{currency.lower()}", currency=currency), encoding="utf-8"
    )
    return load_schedule(path)


@cache
def table_rates() -> ExchangeRates:
    """A small dated rate table (EUR base) with rate changes inside the traffic periods."""
    return ExchangeRates.from_rows(RATE_ROWS, base="EUR", id="test-rates")


def variant_regimes() -> list[Regime]:
    """Regimes built in code to reach options no shipped preset uses."""
    eu26 = load_regime("eu-2026-07")
    eu21 = load_regime("eu-2021-07")
    pre = load_regime("eu-pre-2021")
    uk = load_regime("uk-2021")
    assert eu26.flat_duty is not None and eu21.vat_at_sale is not None
    return [
        dataclasses.replace(
            eu26,
            id="v-fob-ioss-flat",
            valuation_basis=ValuationBasis.FOB,
            flat_duty=dataclasses.replace(
                eu26.flat_duty, scope=FlatDutyScope.IOSS_ONLY, item_digits=4
            ),
        ),
        dataclasses.replace(uk, id="v-jpy", currency="JPY", minor_unit=0),
        dataclasses.replace(
            pre,
            id="v-narrow-base",
            minor_unit=3,
            vat_base_includes_duty=False,
            vat_base_includes_excise=False,
            effective_from=date(2020, 1, 1),
        ),
        dataclasses.replace(
            eu21,
            id="v-usd",
            currency="USD",
            vat_at_sale=dataclasses.replace(
                eu21.vat_at_sale, requires_number=False, excludes_excise_goods=False
            ),
        ),
    ]


Setup = tuple[Regime, TariffSchedule, ExchangeRates, SingleAssessor]


@cache
def setups() -> tuple[Setup, ...]:
    """Every (regime, schedule, rates) combination the property tests draw from."""
    combos: list[tuple[Regime, TariffSchedule, ExchangeRates]] = []
    shipped = load_schedule()
    ecb = load_exchange_rates()
    for rid in shipped_regime_ids():
        combos.append((load_regime(rid), shipped, ecb))
        combos.append((load_regime(rid), schedule_in("EUR"), table_rates()))
    for regime in variant_regimes():
        combos.append((regime, schedule_in("EUR"), table_rates()))
        combos.append((regime, schedule_in("USD"), table_rates()))
    return tuple((r, s, x, SingleAssessor(r, s, x)) for r, s, x in combos)


def test_the_default_regime_is_the_platform_default() -> None:
    assert Settings.model_fields["regime"].default == DEFAULT_REGIME


def test_every_shipped_regime_is_exercised() -> None:
    ids = {r.id for r, *_ in setups()}
    assert set(shipped_regime_ids()) <= ids
    assert len(shipped_regime_ids()) >= 6


# -- synthetic traffic ------------------------------------------------------------------------


def parse_run(path: Path) -> tuple[pl.DataFrame, pl.DataFrame, list[Filing]]:
    """The normalised frames of a traffic file and each filing's rows (as the batcher sees)."""
    lines = path.read_bytes().splitlines()
    batch = parse_json_lines(
        lines,
        list(range(1, len(lines) + 1)),
        first_record=0,
        source="api",
        fmt="jsonl",
        layout=WCO_JSON_LAYOUT,
    )
    cons, items = normalise_codes(batch.consignments, batch.items)
    filings: list[Filing] = []
    cons_parts = {k[0]: f for k, f in cons.partition_by("_record", as_dict=True).items()}
    item_parts = {k[0]: f for k, f in items.partition_by("_record", as_dict=True).items()}
    for record in sorted(cons_parts):
        part = item_parts.get(record)
        filings.append((cons_parts[record].to_dicts(), part.to_dicts() if part is not None else []))
    return cons, items, filings


OFFICES = (("FR000730",), ("FR000730", "BE212000", "NL000396", "DE004701"))

RUNS = (
    # (seed, start): the default period, across a rate change, across a tariff line change,
    # across the 2025 rate table, and before the first rate table (no rates: declined).
    (42, datetime(2026, 11, 16, tzinfo=UTC)),
    (7, datetime(2019, 9, 30, 12, tzinfo=UTC)),
    (11, datetime(2021, 12, 31, 12, tzinfo=UTC)),
    (5, datetime(2025, 2, 27, 12, tzinfo=UTC)),
)


@pytest.fixture(scope="module")
def runs(
    tmp_path_factory: pytest.TempPathFactory,
) -> list[tuple[pl.DataFrame, pl.DataFrame, list[Filing]]]:
    out = []
    for seed, start in RUNS:
        path = tmp_path_factory.mktemp("traffic") / f"run-{seed}.jsonl"
        write_traffic(
            TrafficConfig(
                consignments=240, seed=seed, start=start, days=2.0, offices=OFFICES[seed % 2]
            ),
            path,
            compute_revenue=False,
        )
        out.append(parse_run(path))
    return out


def split(assessment: Assessment, filings: Sequence[Filing]) -> Iterator[Assessment]:
    """The batch assessment of a whole run, cut into one Assessment per filing, in order."""
    at_c = at_i = 0
    for cons, items in filings:
        yield dataclasses.replace(
            assessment,
            consignments=assessment.consignments.slice(at_c, len(cons)),
            items=assessment.items.slice(at_i, len(items)),
        )
        at_c += len(cons)
        at_i += len(items)


TABLE_CURRENCIES = ("EUR", "USD", "GBP", "JPY", "CNY")


def setup_id(setup: Setup) -> str:
    regime, schedule, rates, _ = setup
    return f"{regime.id}/{schedule.id}/{rates.id}"


@pytest.mark.parametrize("setup", setups(), ids=setup_id)
def test_synthetic_filings_match_the_batch_path(
    runs: list[tuple[pl.DataFrame, pl.DataFrame, list[Filing]]], setup: Setup
) -> None:
    regime, schedule, rates, fast = setup
    known = set(rates.currencies())
    covered = total = 0
    for cons, items, filings in runs:
        assert cons["consignment_id"].is_unique().all()
        if not set(cons["currency"].unique().to_list()) <= known:
            # The small test table lacks some currencies: declare those in USD instead.
            cons = cons.with_columns(
                pl.when(pl.col("currency").is_in(TABLE_CURRENCIES))
                .then(pl.col("currency"))
                .otherwise(pl.lit("USD"))
                .alias("currency")
            )
            filings = [
                ([{**row, "currency": cur} for row, cur in zip(c, currencies, strict=True)], i)
                for (c, i), currencies in zip(
                    filings, per_filing(cons["currency"].to_list(), filings), strict=True
                )
            ]
        batch = assess(cons, items, regime=regime, schedule=schedule, rates=rates)
        for (c_rows, i_rows), want in zip(filings, split(batch, filings), strict=True):
            total += 1
            got = fast.assess(c_rows, i_rows)
            if got is None:
                continue
            covered += 1
            assert differences(got, want) == [], (setup_id(setup), c_rows[0]["filing_id"])
            assert same(got.totals(), want.totals())
    assert total > 900
    default = regime.id == DEFAULT_REGIME and schedule.id == "eu-demo"
    assert covered >= (0.99 if default else 0.95) * total, (covered, total)


def per_filing(values: list[str], filings: Sequence[Filing]) -> Iterator[list[str]]:
    """``values`` (one per consignment of the run) cut into one list per filing."""
    at = 0
    for cons, _ in filings:
        yield values[at : at + len(cons)]
        at += len(cons)


def test_a_filing_alone_is_assessed_as_within_a_run(
    runs: list[tuple[pl.DataFrame, pl.DataFrame, list[Filing]]],
) -> None:
    """The run-level comparison above stands for "cleared alone": checked on a sample."""
    regime, schedule, rates = load_regime(DEFAULT_REGIME), load_schedule(), load_exchange_rates()
    fast = SingleAssessor(regime, schedule, rates)
    sample = random.Random(3).sample(runs[0][2], 25) + runs[1][2][:10]
    for c_rows, i_rows in sample:
        want = assess(
            pl.DataFrame(c_rows, schema=CONSIGNMENT_SCHEMA, strict=False),
            pl.DataFrame(i_rows, schema=ITEM_SCHEMA, strict=False),
            regime=regime,
            schedule=schedule,
            rates=rates,
        )
        got = fast.assess(c_rows, i_rows)
        assert got is not None
        assert differences(got, want) == []


def test_before_any_rate_the_fast_path_declines_exactly_when_the_batch_raises(
    tmp_path: Path,
) -> None:
    path = tmp_path / "early.jsonl"
    start = datetime(2017, 7, 2, 12, tzinfo=UTC)  # the first rates apply from 2017-07-03
    write_traffic(
        TrafficConfig(consignments=60, seed=3, start=start, days=2.0), path, compute_revenue=False
    )
    *_, filings = parse_run(path)
    regime, schedule, rates = load_regime("plain-national"), load_schedule(), load_exchange_rates()
    fast = SingleAssessor(regime, schedule, rates)
    raised = answered = 0
    for c_rows, i_rows in filings:
        try:
            want = assess(
                pl.DataFrame(c_rows, schema=CONSIGNMENT_SCHEMA, strict=False),
                pl.DataFrame(i_rows, schema=ITEM_SCHEMA, strict=False),
                regime=regime,
                schedule=schedule,
                rates=rates,
            )
        except Exception:
            raised += 1
            assert fast.assess(c_rows, i_rows) is None
            continue
        got = fast.assess(c_rows, i_rows)
        assert got is not None
        assert differences(got, want) == []
        answered += 1
    assert raised > 0
    assert answered > 0


# -- a grid of every feature, under every setup ----------------------------------------------

GRID_CODES = (
    "040690", "170199", "220300", "220410", "220830", "240220", "240311", "330300", "490199",
    "490110", "610910", "611020", "71131100", "851712", "950300", "999999",
)  # fmt: skip
GRID_SHAPES: tuple[tuple[str | None, float | None, float | None], ...] = (
    # (quantity_unit, quantity, net_mass_kg)
    ("LTR", 0.7, 1.3),
    ("H87", 20.0, 0.25),
    ("KGM", 2.0, 2.0),
    (None, None, None),
    ("LTR", 2.5e-06, 4.5e-06),  # x 10^6 is exactly n + 0.5: Polars rounds half to even
)


def grid_day(regime: Regime) -> datetime:
    """A day inside the regime's period on which the test rates and the ECB table apply."""
    day = max(date(2019, 10, 2), (regime.effective_from or date.min) + timedelta(days=30))
    if regime.effective_to is not None:
        day = min(day, regime.effective_to)
    return datetime(day.year, day.month, day.day, 9, tzinfo=UTC)


def grid_values(regime: Regime) -> list[Decimal]:
    """Item values at, just under and just over each threshold of ``regime``, and beyond."""
    cent = Decimal(1).scaleb(-regime.minor_unit)
    thresholds = {regime.duty_de_minimis, regime.vat_de_minimis}
    if regime.flat_duty is not None:
        thresholds.add(regime.flat_duty.threshold)
    if regime.vat_at_sale is not None:
        thresholds.add(regime.vat_at_sale.threshold)
    out = [Decimal("0"), Decimal("17.4900"), Decimal("4000")]
    for t in sorted(x for x in thresholds if x is not None):
        out += [t - cent, t, t + cent]
    return [v.quantize(Decimal("0.0001")) for v in out]


def grid_filings(regime: Regime, currencies: Sequence[str]) -> list[Filing]:
    """Single-item filings over codes x shapes x values x IOSS, then mixed multi-item ones."""
    day = grid_day(regime)
    out: list[Filing] = []

    def consignment(cid: str, currency: str, ioss: str | None) -> dict[str, Any]:
        return {
            "consignment_id": cid,
            "filed_at": day,
            "currency": currency,
            "transport_cost": Decimal("4.9900"),
            "insurance_cost": None,
            "ioss_number": ioss,
            "country_of_destination": "FI",
            "buyer_country": None,
        }

    def item(cid: str, no: int, code: str, shape: int, value: Decimal) -> dict[str, Any]:
        unit, qty, mass = GRID_SHAPES[shape]
        return {
            "consignment_id": cid,
            "item_no": no,
            "hs_code": code,
            "quantity": qty,
            "quantity_unit": unit,
            "net_mass_kg": mass,
            "value": value,
        }

    n = 0
    for code in GRID_CODES:
        for shape in range(len(GRID_SHAPES)):
            for value in grid_values(regime):
                for ioss in (None, "IM0123456789"):
                    cid = f"G{n}"
                    n += 1
                    cur = currencies[n % len(currencies)] if value > 4 else regime.currency
                    out.append(([consignment(cid, cur, ioss)], [item(cid, 1, code, shape, value)]))
    rng = random.Random(regime.id)
    for _ in range(80):
        cons = []
        items = []
        for _ in range(rng.randint(1, 3)):
            cid = f"G{n}"
            n += 1
            cons.append(consignment(cid, rng.choice(currencies), rng.choice((None, "IM1"))))
            for _ in range(rng.randint(0, 5)):
                items.append(
                    item(
                        cid,
                        rng.randint(1, 4),
                        rng.choice(GRID_CODES),
                        rng.randrange(len(GRID_SHAPES)),
                        rng.choice(grid_values(regime)) / rng.choice((1, 2, 3, 8)),
                    )
                )
        rng.shuffle(items)
        out.append((cons, items))
    return out


def frames(filings: Sequence[Filing]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Canonical frames of the rows of ``filings`` (unnamed columns null)."""
    cons = [{k: row.get(k) for k in CONSIGNMENT_SCHEMA.names()} for c, _ in filings for row in c]
    items = [{k: row.get(k) for k in ITEM_SCHEMA.names()} for _, i in filings for row in i]
    return (
        pl.DataFrame(cons, schema=CONSIGNMENT_SCHEMA),
        pl.DataFrame(items, schema=ITEM_SCHEMA).with_columns(
            pl.col("value").round(4)  # the frame's scale, as intake produces
        ),
    )


def rows_per_filing(
    cons: pl.DataFrame, items: pl.DataFrame, filings: Sequence[Filing]
) -> Iterator[Filing]:
    """Each filing's rows as the frames give them back (``.to_dicts()`` of its slices)."""
    at_c = at_i = 0
    for c_rows, i_rows in filings:
        yield (
            cons.slice(at_c, len(c_rows)).to_dicts(),
            items.slice(at_i, len(i_rows)).to_dicts(),
        )
        at_c += len(c_rows)
        at_i += len(i_rows)


@pytest.mark.parametrize("setup", setups(), ids=setup_id)
def test_a_grid_of_every_feature_matches_the_batch_path(setup: Setup) -> None:
    regime, schedule, rates, fast = setup
    currencies = [regime.currency, "EUR", "USD", "GBP"]
    filings = grid_filings(regime, currencies)
    cons, items = frames(filings)
    batch = assess(cons, items, regime=regime, schedule=schedule, rates=rates)
    answered = 0
    for (c_rows, i_rows), want in zip(
        rows_per_filing(cons, items, filings), split(batch, filings), strict=True
    ):
        got = fast.assess(c_rows, i_rows)
        if got is None:
            continue
        answered += 1
        assert differences(got, want) == [], (setup_id(setup), c_rows, i_rows)
    assert answered >= 0.99 * len(filings), (answered, len(filings))


# -- Hypothesis: generated and mutated filings ------------------------------------------------

CURRENCIES = ("EUR", "USD", "GBP", "JPY", "CNY", "XXX")
COUNTRIES = (None, "DE", "FR", "EE", "FI", "LU", "RO", "SK", "GB", "US", "", "XX")
UNITS = (None, "H87", "LTR", "KGM", "NAR")
PREFIXES = (
    "0406", "2203", "2204", "220410", "2208", "240220", "2403", "4901", "490199", "61",
    "6109", "610910", "8517", "9503", "392690", "91", "33", "3303",
)  # fmt: skip
THRESHOLD_UNITS = (0, 1, 220000, 220001, 1350000, 1350001, 1500000, 1500001, 8000000, 8000001)


def money(units: int) -> Decimal:
    return Decimal(units).scaleb(-4)


@st.composite
def hs_codes(draw: st.DrawFn) -> str:
    """Mostly codes under a schedule prefix (2 to 10 digits), sometimes any digits."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.text("0123456789", min_size=1, max_size=10))
    prefix = draw(st.sampled_from(PREFIXES))
    return prefix + draw(st.text("0123456789", max_size=10 - len(prefix)))


def values() -> st.SearchStrategy[Decimal]:
    return st.one_of(
        st.integers(0, 5_000_000).map(money),
        st.integers(0, 10**11).map(money),
        st.sampled_from(THRESHOLD_UNITS).map(money),
        st.integers(0, 1000).map(Decimal),
    )


def optional_floats() -> st.SearchStrategy[float | None]:
    return st.one_of(
        st.none(),
        st.floats(0, 500, allow_nan=False),
        st.sampled_from([0.0000005, 0.0000015, 1.0000005, 2.5e-7, 0.7]),
    )


def days() -> st.SearchStrategy[datetime | None]:
    return st.one_of(
        st.none(),
        st.datetimes(datetime(2015, 6, 1), datetime(2029, 12, 31)).map(
            lambda d: d.replace(tzinfo=UTC)
        ),
        st.sampled_from(
            [date(2019, 10, 1), date(2021, 7, 1), date(2022, 1, 1), date(2026, 7, 15)]
        ).map(lambda d: datetime(d.year, d.month, d.day, tzinfo=UTC) - timedelta(seconds=1)),
    )


@st.composite
def consignment_rows(draw: st.DrawFn, cid: str) -> dict[str, Any]:
    return {
        "filing_id": "F1",
        "consignment_id": cid,
        "filed_at": draw(days()),
        "currency": draw(st.sampled_from(CURRENCIES)),
        "total_value": Decimal(0),
        "transport_cost": draw(st.one_of(st.none(), values())),
        "insurance_cost": draw(st.one_of(st.none(), st.integers(0, 99_999).map(money))),
        "ioss_number": draw(st.sampled_from([None, "", "  ", "IM1234567890", " IM1 "])),
        "country_of_destination": draw(st.sampled_from(COUNTRIES)),
        "buyer_country": draw(st.sampled_from(COUNTRIES)),
    }


@st.composite
def item_rows(draw: st.DrawFn, cid: str, item_no: int) -> dict[str, Any]:
    return {
        "consignment_id": cid,
        "item_no": item_no,
        "description": "goods",
        "hs_code": draw(hs_codes()),
        "origin_country": "CN",
        "quantity": draw(optional_floats()),
        "quantity_unit": draw(st.sampled_from(UNITS)),
        "net_mass_kg": draw(optional_floats()),
        "value": draw(values()),
    }


@st.composite
def generated_filings(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    count = draw(st.integers(1, 3))
    cons = [draw(consignment_rows(f"C{i}")) for i in range(count)]
    items: list[dict[str, Any]] = []
    for row in cons:
        n = draw(st.integers(0, 6))
        numbers = draw(st.lists(st.integers(1, 8), min_size=n, max_size=n))
        items.extend(draw(item_rows(row["consignment_id"], no)) for no in numbers)
    if draw(st.booleans()):
        items = draw(st.permutations(items))
    return cons, items


def check(setup: Setup, cons: list[dict[str, Any]], items: list[dict[str, Any]]) -> bool:
    """Fast path "None or exactly equal" to the batch path; True when it answered."""
    regime, schedule, rates, fast = setup
    cons_frame = pl.DataFrame(
        [{k: row.get(k) for k in CONSIGNMENT_SCHEMA.names()} for row in cons],
        schema=CONSIGNMENT_SCHEMA,
    )
    item_frame = pl.DataFrame(
        [{k: row.get(k) for k in ITEM_SCHEMA.names()} for row in items], schema=ITEM_SCHEMA
    )
    on = date(2026, 9, 1)
    got = fast.assess(cons_frame.to_dicts(), item_frame.to_dicts(), on=on)
    try:
        want = assess(cons_frame, item_frame, regime=regime, schedule=schedule, rates=rates, on=on)
    except Exception:
        want = None
    if want is None:
        assert got is None, "the batch path raised, the fast path answered"
        return False
    if got is None:
        return False
    assert differences(got, want) == []
    assert same(got.totals(), want.totals())
    return True


PROPERTY = settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@PROPERTY
@given(setup=st.sampled_from(setups()), filing=generated_filings())
def test_generated_filings_are_none_or_exact(setup: Setup, filing: Filing) -> None:
    event("answered" if check(setup, *filing) else "declined")


@st.composite
def mutations(draw: st.DrawFn, base: Filing) -> Filing:
    """A synthetic filing with some fields changed, dropped or repeated."""
    cons = [dict(row) for row in base[0]]
    items = [dict(row) for row in base[1]]
    for row in cons:
        for key in ("transport_cost", "insurance_cost", "ioss_number", "country_of_destination"):
            if draw(st.booleans()):
                row[key] = None
        if draw(st.booleans()):
            row["currency"] = draw(st.sampled_from(CURRENCIES))
        if draw(st.booleans()):
            row["filed_at"] = draw(days())
    for row in items:
        if draw(st.booleans()):
            row["value"] = draw(values())
        if draw(st.integers(0, 3)) == 0:
            row["hs_code"] = draw(hs_codes())
        for key in ("net_mass_kg", "quantity", "quantity_unit"):
            if draw(st.integers(0, 3)) == 0:
                row[key] = None
    if draw(st.booleans()) and items:
        extra = dict(draw(st.sampled_from(items)))
        extra["item_no"] = draw(st.integers(0, 9))
        items.append(extra)
    if draw(st.booleans()):
        items = draw(st.permutations(items))
    return cons, items


@pytest.fixture(scope="module")
def pool(runs: list[tuple[pl.DataFrame, pl.DataFrame, list[Filing]]]) -> list[Filing]:
    return [f for *_, fs in runs for f in fs[:60]]


@PROPERTY
@given(data=st.data())
def test_mutated_synthetic_filings_are_none_or_exact(
    pool: list[Filing], data: st.DataObject
) -> None:
    base = data.draw(st.sampled_from(pool))
    setup = data.draw(st.sampled_from(setups()))
    event("answered" if check(setup, *data.draw(mutations(base))) else "declined")


# -- specific cases ---------------------------------------------------------------------------


@pytest.fixture
def eu26() -> SingleAssessor:
    return SingleAssessor(load_regime(DEFAULT_REGIME), load_schedule(), load_exchange_rates())


@pytest.fixture
def sample(runs: list[tuple[pl.DataFrame, pl.DataFrame, list[Filing]]]) -> Filing:
    cons, items = next(f for f in runs[0][2] if len(f[1]) >= 2)
    return [dict(r) for r in cons], [dict(r) for r in items]


Change = Callable[[Rows, Rows], None]


def _set(where: str, key: str, value: Any) -> Change:
    def change(cons: Rows, items: Rows) -> None:
        (cons if where == "c" else items)[0][key] = value

    return change


def _drop(where: str, key: str) -> Change:
    def change(cons: Rows, items: Rows) -> None:
        del (cons if where == "c" else items)[0][key]

    return change


def _orphan(cons: Rows, items: Rows) -> None:
    items[0]["consignment_id"] = "ELSEWHERE"


def _twice(cons: Rows, items: Rows) -> None:
    cons.append(dict(cons[0]))


DECLINED: dict[str, Change] = {
    "naive filed_at": _set("c", "filed_at", datetime(2026, 11, 16, 10)),
    "filed_at as text": _set("c", "filed_at", "2026-11-16T10:00:00Z"),
    "unknown currency": _set("c", "currency", "XXX"),
    "currency missing": _set("c", "currency", None),
    "float value": _set("i", "value", 12.5),
    "value with 5 places": _set("i", "value", Decimal("1.00001")),
    "negative value": _set("i", "value", Decimal("-1.0000")),
    "value missing": _set("i", "value", None),
    "NaN value": _set("i", "value", Decimal("NaN")),
    "huge value": _set("i", "value", Decimal("100000000000000")),
    "negative mass": _set("i", "net_mass_kg", -1.0),
    "infinite quantity": _set("i", "quantity", float("inf")),
    "int quantity": _set("i", "quantity", 2),
    "hs code with a letter": _set("i", "hs_code", "6109A0"),
    "hs code of 11 digits": _set("i", "hs_code", "61091000001"),
    "hs code missing": _set("i", "hs_code", None),
    "non-ASCII digits": _set("i", "hs_code", "६१०९"),
    "item_no as text": _set("i", "item_no", "1"),
    "item_no as bool": _set("i", "item_no", True),
    "odd whitespace in IOSS number": _set("c", "ioss_number", "\x1c"),
    "IOSS number not text": _set("c", "ioss_number", 5),
    "key missing": _drop("c", "insurance_cost"),
    "item key missing": _drop("i", "quantity_unit"),
    "orphan item": _orphan,
    "duplicate consignment": _twice,
}


@pytest.mark.parametrize("case", sorted(DECLINED))
def test_unusual_input_is_declined_not_raised(
    eu26: SingleAssessor, sample: Filing, case: str
) -> None:
    cons, items = sample
    assert eu26.assess(cons, items) is not None
    DECLINED[case](cons, items)
    assert eu26.assess(cons, items) is None


def test_no_consignment_is_declined(eu26: SingleAssessor) -> None:
    assert eu26.assess([], []) is None


def test_a_regime_the_batch_path_rejects_is_declined(sample: Filing) -> None:
    regime = dataclasses.replace(load_regime("plain-national"), vat_pct=Decimal("20.00001"))
    cons, items = sample
    with pytest.raises(ValueError, match="decimal places"):
        assess(
            pl.DataFrame(cons, schema=CONSIGNMENT_SCHEMA, strict=False),
            pl.DataFrame(items, schema=ITEM_SCHEMA, strict=False),
            regime=regime,
            schedule=load_schedule(),
            rates=load_exchange_rates(),
        )
    assert (
        SingleAssessor(regime, load_schedule(), load_exchange_rates()).assess(cons, items) is None
    )


def test_rates_of_one_day_twice_are_declined(sample: Filing) -> None:
    rows = [*RATE_ROWS, ExchangeRate("USD", Decimal("2"), date(2016, 1, 1), "clash")]
    rates = ExchangeRates.from_rows(rows, base="EUR")
    cons, items = sample
    cons[0]["currency"] = "USD"
    fast = SingleAssessor(load_regime(DEFAULT_REGIME), load_schedule(), rates)
    assert fast.assess(cons, items) is None
    cons[0]["currency"] = "EUR"
    assert fast.assess(cons, items) is not None


def test_any_time_zone_is_the_same_instant(eu26: SingleAssessor, sample: Filing) -> None:
    cons, items = sample
    cons[0]["filed_at"] = datetime(2026, 11, 16, 23, 30, tzinfo=UTC)
    utc = eu26.assess(cons, items)
    cons[0]["filed_at"] = datetime(2026, 11, 17, 4, 30, tzinfo=timezone(timedelta(hours=5)))
    shifted = eu26.assess(cons, items)
    assert utc is not None and shifted is not None
    assert same(utc.consignments, shifted.consignments)
    assert utc.consignments[0]["assessment_date"] == date(2026, 11, 16)


def test_missing_filed_at_uses_on(eu26: SingleAssessor, sample: Filing) -> None:
    cons, items = sample
    cons[0]["filed_at"] = None
    got = eu26.assess(cons, items, on=date(2027, 3, 4))
    assert got is not None
    assert got.consignments[0]["assessment_date"] == date(2027, 3, 4)
    today = eu26.assess(cons, items)
    assert today is not None
    assert today.consignments[0]["assessment_date"] in {
        datetime.now(UTC).date(),
        datetime.now(UTC).date() - timedelta(days=1),
    }


def test_results_do_not_depend_on_the_decimal_context(eu26: SingleAssessor, sample: Filing) -> None:
    cons, items = sample
    plain = eu26.assess(cons, items)
    with localcontext() as ctx:
        ctx.prec = 3
        narrow = eu26.assess(cons, items)
    assert plain is not None and narrow is not None
    assert same(plain.items, narrow.items)
    assert same(plain.consignments, narrow.consignments)
