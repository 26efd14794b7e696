"""Differential tests of the row-wise validator against the batch path.

Reference: :meth:`Clearance.prepare` on the filing parsed alone (its parse problems removed,
as the fast path is only asked once parsing found none) for "is it clean", and
:func:`score_quality` on the filing's normalised frames for the quality rows. The fast path
must agree whenever it answers, and answer for nearly every clean synthetic filing.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from functools import cache
from typing import Any

import orjson
import polars as pl
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from smartcustoms.clearance.runner import Clearance
from smartcustoms.clearance.single.validate import SingleValidator, quality_rows
from smartcustoms.intake import ParsedBatch
from smartcustoms.intake._json import parse_json_lines
from smartcustoms.intake.layouts import POSTAL_LAYOUT, WCO_JSON_LAYOUT
from smartcustoms.intake.problems import empty_problems
from smartcustoms.intake.quality import score_quality
from smartcustoms.intake.validate import ValidationContext, normalise_codes
from smartcustoms.model.columns import RECORD
from smartcustoms.synth import TrafficConfig, TrafficGenerator, filing_records, s10_check_digit
from smartcustoms.synth.bad_sample import _MUTATIONS
from smartcustoms.tariff import (
    ExchangeRate,
    ExchangeRates,
    load_exchange_rates,
    load_regime,
    load_schedule,
)
from smartcustoms.testing import make_filing, make_postal_item

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
"""The fixed present; synthetic traffic starts on 2026-11-16 (``DEFAULT_START``)."""

Row = dict[str, Any]
Record = dict[str, Any]

# --------------------------------------------------------------------------- set-up


@cache
def _rates() -> ExchangeRates:
    return load_exchange_rates()


@cache
def _regime_currency() -> str:
    return load_regime("eu-2026-07").currency


CONTEXTS: dict[str, ValidationContext] = {
    "default": ValidationContext(now=NOW),
    "tight": ValidationContext(
        now=NOW, max_days_past=3, max_days_future=2, value_tolerance=Decimal(0)
    ),
    "loose": ValidationContext(
        now=datetime(2026, 11, 20, 14, 30, tzinfo=timezone(timedelta(hours=5))),
        max_days_past=4000,
        value_tolerance=Decimal("0.25"),
        unchecked_code_columns=frozenset({"origin_country", "currency"}),
    ),
}


_BUILT: dict[tuple[str, int], tuple[Clearance, SingleValidator, ExchangeRates]] = {}


def _built(context: str, rates: ExchangeRates | None) -> tuple[Clearance, SingleValidator]:
    """The batch path and the fast path for a context and a rate table, built once."""
    table = rates or _rates()
    key = (context, id(table))
    if key not in _BUILT:  # the table is kept in the value, so its id stays its own
        _BUILT[key] = (_make_clearance(context, table), _make_validator(context, table), table)
    clearance, validator, _ = _BUILT[key]
    return clearance, validator


def _make_clearance(context: str, rates: ExchangeRates) -> Clearance:
    return Clearance(
        None,  # type: ignore[arg-type]  # prepare never touches the store
        regime=load_regime("eu-2026-07"),
        schedule=load_schedule(None),
        rates=rates,
        validation=CONTEXTS[context],
    )


def _make_validator(context: str, rates: ExchangeRates) -> SingleValidator:
    return SingleValidator(CONTEXTS[context], rates, _regime_currency())


def _validator(context: str, rates: ExchangeRates | None = None) -> SingleValidator:
    return _built(context, rates)[1]


def _parse(lines: list[bytes], fmt: str = "json") -> ParsedBatch:
    """Parse as :meth:`DecisionBatcher._clear_group` does."""
    return parse_json_lines(
        lines,
        [None] * len(lines),
        first_record=0,
        source="api",
        fmt=fmt,
        layout={"json": WCO_JSON_LAYOUT, "postal": POSTAL_LAYOUT}[fmt],
        truncated_last=False,
    )


def _rows(batch: ParsedBatch) -> tuple[pl.DataFrame, pl.DataFrame]:
    return normalise_codes(batch.consignments, batch.items)


def _batch_problems(
    batch: ParsedBatch,
    context: str,
    *,
    tenant: str | None = None,
    rates: ExchangeRates | None = None,
) -> list[str]:
    """Problem codes of the batch path's compute stage, parse problems left out."""
    stripped = dataclasses.replace(batch, problems=empty_problems())
    prepared = _built(context, rates)[0].prepare(stripped, now=NOW, tenant=tenant)
    codes: list[str] = prepared.problems["code"].to_list()
    return codes


@dataclasses.dataclass
class Verdict:
    """The fast path's and the batch path's answers for one filing."""

    clean: bool | None
    batch_clean: bool | None  # None: the batch path raised
    quality: list[Row] | None
    batch_quality: list[Row]
    problems: list[str]
    parse_problems: int


def _judge(
    record: Record | bytes,
    context: str = "default",
    *,
    fmt: str = "json",
    tenant: str | None = None,
    rates: ExchangeRates | None = None,
) -> Verdict:
    line = record if isinstance(record, bytes) else orjson.dumps(record)
    batch = _parse([line], fmt)
    cons, items = _rows(batch)
    cons_rows, item_rows = cons.to_dicts(), items.to_dicts()
    clean = _validator(context, rates).is_clean(
        cons_rows, item_rows, tenant=tenant, unchecked_code_columns=batch.unchecked_code_columns
    )
    try:
        problems = _batch_problems(batch, context, tenant=tenant, rates=rates)
        batch_clean: bool | None = not problems
    except Exception:
        problems, batch_clean = ["<batch path raised>"], None
    return Verdict(
        clean=clean,
        batch_clean=batch_clean,
        quality=quality_rows(cons_rows, item_rows),
        batch_quality=score_quality(cons, items).to_dicts(),
        problems=problems,
        parse_problems=batch.problems.height,
    )


def _assert_agrees(v: Verdict) -> None:
    if v.batch_clean is None:
        assert v.clean is None, "the batch path raised, the fast path must decline"
    elif v.clean is not None:
        assert v.clean == v.batch_clean, f"fast {v.clean}, batch problems {v.problems}"
    if v.quality is not None:
        assert v.quality == v.batch_quality


@cache
def _synthetic(seed: int, n: int = 300) -> tuple[Record, ...]:
    config = TrafficConfig(consignments=n, seed=seed, chunk_size=max(8, n))
    records: list[Record] = []
    for chunk in TrafficGenerator(config, with_events=False):
        records.extend(filing_records(chunk.consignments, chunk.items).to_dicts())
    return tuple(records)


def _pool() -> list[Record]:
    """Good filings to mutate: synthetic ones (some with several consignments) and fixtures."""
    records = list(_synthetic(11, 120))
    records.append(make_filing("F-HYP-1", items=3, consignments=3, currency="USD"))
    return records


# --------------------------------------------------------------------------- clean corpus


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_clean_synthetic_filings_are_judged_clean_with_exact_quality(seed: int) -> None:
    records = _synthetic(seed)
    assert any(len(r["consignments"]) > 1 for r in records), "want multi-consignment filings"
    batch = _parse([orjson.dumps(r) for r in records])
    cons, items = _rows(batch)
    # no two records share a consignment id, so clearing them together equals alone
    assert cons["consignment_id"].n_unique() == cons.height
    prepared = _built("default", None)[0].prepare(batch, now=NOW)
    bad = set(prepared.problems[RECORD].to_list())
    quality = {row["consignment_id"]: row for row in prepared.quality.to_dicts()}
    by_cons = cons.partition_by(RECORD, as_dict=True)
    by_items = items.partition_by(RECORD, as_dict=True)
    validator = _validator("default")
    clean = judged_clean = 0
    for key, frame in by_cons.items():
        cons_rows, item_rows = frame.to_dicts(), by_items[key].to_dicts()
        verdict = validator.is_clean(cons_rows, item_rows)
        expected = key[0] not in bad
        if verdict is not None:
            assert verdict == expected
        clean += expected
        judged_clean += expected and verdict is True
        rows = validator.quality(cons_rows, item_rows)
        if expected:
            assert rows is not None
            assert rows == [quality[row["consignment_id"]] for row in cons_rows]
    assert clean >= 0.9 * len(records)
    assert judged_clean >= 0.95 * clean


def test_filings_cleared_alone_agree() -> None:
    records = _synthetic(4, 80)
    decided = 0
    for record in records[:40]:
        verdict = _judge(record)
        _assert_agrees(verdict)
        decided += verdict.clean is True and verdict.quality is not None
    assert decided >= 38


def test_postal_items_are_covered() -> None:
    item = make_postal_item()
    verdict = _judge(item, fmt="postal")
    assert verdict.clean is True and verdict.batch_clean is True
    assert verdict.quality is not None
    _assert_agrees(verdict)
    broken = {**item, "item_id": "RR123456786CN"}
    verdict = _judge(broken, fmt="postal")
    assert verdict.clean is False and verdict.batch_clean is False


# --------------------------------------------------------------------------- known faults


@pytest.mark.parametrize(
    ("codes", "edit"), [(m[0], m[2]) for m in _MUTATIONS], ids=[m[1] for m in _MUTATIONS]
)
def test_bad_sample_faults_are_never_judged_clean(
    codes: tuple[str, ...], edit: Callable[[Record], None]
) -> None:
    """Every realistic fault of the bad sample, on 12 filings each: no false "clean"."""
    declined = 0
    for base in _synthetic(21, 40)[:12]:
        record = copy.deepcopy(base)
        edit(record)
        verdict = _judge(record)
        _assert_agrees(verdict)
        if verdict.parse_problems == 0:
            assert verdict.batch_clean is False
            declined += verdict.clean is None
            assert verdict.clean is not True
    assert declined <= 2  # "not covered" must stay rare, even for broken filings


def test_tenant_must_be_the_filer() -> None:
    record = make_filing("F-T")
    assert _judge(record, tenant="FILER-1").clean is True
    other = _judge(record, tenant="SOMEONE-ELSE")
    assert other.clean is False and other.batch_clean is False


def test_missing_exchange_rates_by_currency_and_date() -> None:
    rates = ExchangeRates.from_rows(
        [
            ExchangeRate("USD", Decimal("1.1"), date(2020, 1, 1), "test"),
            ExchangeRate("GBP", Decimal("0.8"), date(2026, 11, 19), "test"),
        ],
        base="EUR",
    )
    cases = {
        ("USD", "2026-11-18T10:00:00Z"): True,
        ("GBP", "2026-11-18T23:59:59Z"): False,  # its first rate starts the next day
        ("GBP", "2026-11-19T00:00:00Z"): True,
        ("JPY", "2026-11-19T00:00:00Z"): False,  # never quoted
        ("EUR", "2026-11-18T10:00:00Z"): True,
    }
    for (currency, filed_at), clean in cases.items():
        verdict = _judge(make_filing("F-R", currency=currency, filed_at=filed_at), rates=rates)
        assert verdict.batch_clean is clean, (currency, filed_at, verdict.problems)
        assert verdict.clean is clean


def test_a_zero_rate_is_declined() -> None:
    rates = ExchangeRates.from_rows(
        [ExchangeRate("USD", Decimal(0), date(2020, 1, 1), "test")], base="EUR"
    )
    verdict = _judge(make_filing("F-Z", currency="USD"), rates=rates)
    assert verdict.clean is None


def test_regime_currency_not_the_base() -> None:
    rates = ExchangeRates.from_rows(
        [ExchangeRate("GBP", Decimal("0.8"), date(2026, 11, 19), "test")], base="USD"
    )
    validator = SingleValidator(CONTEXTS["default"], rates, "EUR")
    batch = _parse([orjson.dumps(make_filing("F-B", currency="GBP"))])
    cons, items = _rows(batch)
    assert validator.is_clean(cons.to_dicts(), items.to_dicts()) is False  # no EUR rate at all
    validator = SingleValidator(CONTEXTS["default"], rates, "GBP")
    batch = _parse([orjson.dumps(make_filing("F-B", currency="USD"))])
    cons, items = _rows(batch)
    assert validator.is_clean(cons.to_dicts(), items.to_dicts()) is True


def test_naive_now_is_declined() -> None:
    validator = SingleValidator(ValidationContext(now=datetime(2026, 11, 20)), _rates(), "EUR")
    batch = _parse([orjson.dumps(make_filing())])
    cons, items = _rows(batch)
    assert validator.is_clean(cons.to_dicts(), items.to_dicts()) is None


def test_bad_input_never_raises() -> None:
    validator = _validator("default")
    batch = _parse([orjson.dumps(make_filing())])
    cons, items = _rows(batch)
    good_c, good_i = cons.to_dicts(), items.to_dicts()
    odd: list[tuple[Any, Any]] = [
        ([], good_i),
        (good_c, []),
        ("text", good_i),
        ([1, 2], good_i),
        (good_c, [None]),
        ([{**good_c[0], "total_value": 12.4}], good_i),  # float money
        ([{**good_c[0], "total_packages": True}], good_i),  # bool count
        ([{**good_c[0], "filed_at": datetime(2026, 11, 19)}], good_i),  # naive
        ([{k: v for k, v in good_c[0].items() if k != "currency"}], good_i),  # missing key
        (good_c, [{**good_i[0], "net_mass_kg": float("nan")}]),
        (good_c, [{**good_i[0], "consignment_id": None}]),
        (good_c, [{**good_i[0], RECORD: 7}]),  # rows of two records
    ]
    for consignments, its in odd:
        assert validator.is_clean(consignments, its) is None
    assert validator.quality("text", good_i) is None  # type: ignore[arg-type]
    assert validator.quality(good_c, [{**good_i[0], "description": "Ж" * 12}]) is None
    assert validator.quality(good_c, [{**good_i[0], "item_no": 2**63 - 1}]) is None


# --------------------------------------------------------------------------- mutations

_CODES = ["FR", "fr", "XK", "XX", "ZZ", "", " ", "F R", "GB ", "Fr", "DE", "CN", None]
_CURRENCIES = ["EUR", "USD", "usd", "ILS", "AED", "RUB", "XXX", "ABC", "", "EURO", "XAU", None]
_HS = [
    "610910",
    "6109.10",
    "6109 10",
    "61",
    "6109",
    "61091000",
    "6109100000",
    "610999",
    "61091",
    "6109100",
    "610910000",
    "61091000000",
    "99",
    "9999",
    "0101",
    "abc",
    "６１０９１０",
    "610910\n",
    "",
    None,
]
_MODES = ["1", "4", "5", "9", "0", "10", "a", "", None, 4]
_NUMBERS = st.one_of(
    st.none(),
    st.sampled_from([0, -1, "0", "0.0001", "-0.0", "1e3", "abc", 1e15, "NaN", "Infinity", True]),
    st.decimals(min_value=-10, max_value=10**6, places=4).map(str),
    st.floats(min_value=-5, max_value=1e6, allow_nan=False),
    st.integers(min_value=-3, max_value=10**6),
)
_VAGUE = ["Gift", "gift.", " PARTS ", "spare parts", "Spare  parts", "electronics;", "Items-"]
_DESCRIPTIONS = st.one_of(
    st.none(),
    st.sampled_from([*_VAGUE, "", "T-shirt", "Cotton shirt", "ab cd efgh", "abcdefghij k"]),
    st.text(
        alphabet=st.sampled_from(
            list("aAbZ .,;:-ßÉéİıſǅ\t\n\x0b\x0c\r\x1c\x1f\x85\xa0\u2003\u3000Σς")
        ),
        max_size=14,
    ),
    st.text(max_size=12),
)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _window_dates(context: ValidationContext) -> list[str]:
    lo = context.now - timedelta(days=context.max_days_past)
    hi = context.now + timedelta(days=context.max_days_future)
    tick = timedelta(microseconds=1)
    return [_iso(d.astimezone(UTC)) for d in (lo - tick, lo, lo + tick, hi - tick, hi, hi + tick)]


_DATES = st.one_of(
    st.sampled_from(
        [
            *_window_dates(CONTEXTS["default"]),
            *_window_dates(CONTEXTS["tight"]),
            "2026-11-19T10:00:00+05:00",
            "2026-11-19",
            "2001-01-01T00:00:00Z",
            "2017-07-02T23:59:59Z",
            "yesterday",
            None,
        ]
    ),
    st.datetimes(
        min_value=datetime(2016, 1, 1), max_value=datetime(2027, 6, 1), timezones=st.just(UTC)
    ).map(_iso),
)


@st.composite
def _s10(draw: st.DrawFn) -> str | None:
    serial = draw(st.text(alphabet="0123456789", min_size=8, max_size=8))
    digit = s10_check_digit(serial)
    if draw(st.booleans()):
        digit = (digit + draw(st.integers(1, 9))) % 10
    prefix = draw(st.sampled_from(["RR", "LP", "rr", "R1", "CP"]))
    country = draw(st.sampled_from(["CN", "FR", "XX", "cn", "C"]))
    return draw(st.sampled_from([f"{prefix}{serial}{digit}{country}", None, "RR12345678CN"]))


_CONSIGNMENT_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "currency": st.sampled_from(_CURRENCIES),
    "country_of_dispatch": st.sampled_from(_CODES),
    "country_of_destination": st.sampled_from(_CODES),
    "transport_mode": st.sampled_from(_MODES),
    "postal_item_id": _s10(),
    "total_value": _NUMBERS,
    "transport_cost": _NUMBERS,
    "insurance_cost": _NUMBERS,
    "total_gross_mass_kg": _NUMBERS,
    "total_packages": _NUMBERS,
    "expected_arrival_at": _DATES,
    "transport_document_id": st.sampled_from([None, "HAWB1", ""]),
    "consignment_id": st.sampled_from([None, "", "C-DUP"]),
}
_ITEM_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "hs_code": st.sampled_from(_HS),
    "origin_country": st.sampled_from(_CODES),
    "value": _NUMBERS,
    "net_mass_kg": _NUMBERS,
    "gross_mass_kg": _NUMBERS,
    "quantity": _NUMBERS,
    "description": _DESCRIPTIONS,
    "item_no": st.sampled_from([1, 2, 0, -1, None, "3", 2**40]),
}
_PARTY_FIELDS = ["id", "name", "street", "city", "postcode", "country"]


def _pick(draw: st.DrawFn, seq: list[Any]) -> Any:
    return seq[draw(st.integers(0, len(seq) - 1))]


def _item_sum(cons: Record) -> Decimal:
    total = Decimal(0)
    for item in cons["items"]:
        total += Decimal(str(item.get("value") or 0))
    return total


@st.composite
def _mutated(draw: st.DrawFn) -> Record:
    """A good filing with up to three realistic or odd edits."""
    record = copy.deepcopy(draw(st.sampled_from(_pool())))
    for _ in range(draw(st.integers(0, 3))):
        cons = _pick(draw, record["consignments"]) if record.get("consignments") else None
        if not isinstance(cons, dict) or not cons.get("items"):
            break
        item = _pick(draw, cons["items"])
        kind = draw(st.integers(0, 10))
        if kind == 0:
            with contextlib.suppress(KeyError, IndexError, TypeError):
                _pick(draw, [m[2] for m in _MUTATIONS])(record)  # may not apply twice
        elif kind == 1:
            name = draw(st.sampled_from(sorted(_CONSIGNMENT_FIELDS)))
            cons[name] = draw(_CONSIGNMENT_FIELDS[name])
        elif kind in (2, 3):
            name = draw(st.sampled_from(sorted(_ITEM_FIELDS)))
            item[name] = draw(_ITEM_FIELDS[name])
        elif kind == 4:
            record["filed_at"] = draw(_DATES)
        elif kind == 5:
            role = draw(st.sampled_from(["seller", "buyer", "importer", "carrier"]))
            party = cons.get(role) or {}
            field = draw(st.sampled_from(_PARTY_FIELDS))
            party[field] = draw(st.sampled_from([None, "XX", "FR", "x", ""]))
            cons[role] = party
        elif kind == 6:
            twin = copy.deepcopy(item)
            twin["item_no"] = draw(st.sampled_from([item.get("item_no"), len(cons["items"]) + 1]))
            cons["items"].append(twin)
            if draw(st.booleans()):
                cons["total_value"] = str(_item_sum(cons))
        elif kind == 7:
            twin = copy.deepcopy(cons)
            twin["consignment_id"] = draw(
                st.sampled_from([cons.get("consignment_id"), f"{cons.get('consignment_id')}-B"])
            )
            record["consignments"].append(twin)
        elif kind == 8:
            # the declared total on or near the tolerance boundary
            total = _item_sum(cons)
            factor = draw(st.sampled_from(["1", "1.01", "0.99", "1.25", "0.75", "1.0100001"]))
            shift = draw(st.sampled_from(["0", "0.01", "-0.01", "0.0099", "0.0101"]))
            cons["total_value"] = str(
                (total * Decimal(factor) + Decimal(shift)).quantize(Decimal("0.0001"))
            )
        elif kind == 9:
            name = draw(st.sampled_from(sorted({*cons} - {"items", "consignment_id"})))
            del cons[name]
        else:
            record["filer"] = {
                **(record.get("filer") or {}),
                "id": draw(st.sampled_from([None, "FILER-1", "other"])),
            }
    return record


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    record=_mutated(),
    context=st.sampled_from(sorted(CONTEXTS)),
    tenant=st.sampled_from([None, "FILER-1"]),
)
def test_mutated_filings_agree_with_the_batch_path(
    record: Record, context: str, tenant: str | None
) -> None:
    verdict = _judge(record, context, tenant=tenant)
    event(f"fast path {verdict.clean}, batch path {verdict.batch_clean}")
    event(f"quality covered: {verdict.quality is not None}")
    _assert_agrees(verdict)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(descriptions=st.lists(_DESCRIPTIONS, min_size=1, max_size=4), hs=st.sampled_from(_HS))
def test_quality_of_odd_descriptions(descriptions: list[str | None], hs: str | None) -> None:
    record = make_filing("F-Q", items=len(descriptions))
    items = record["consignments"][0]["items"]
    for item, description in zip(items, descriptions, strict=True):
        item["description"] = description
    items[-1]["hs_code"] = hs
    verdict = _judge(record)
    _assert_agrees(verdict)
    ascii_only = all(d is None or d.isascii() for d in descriptions)
    if ascii_only:
        assert verdict.quality is not None


# --------------------------------------------------------------------------- boundaries


def _filing_now(filing_id: str, **kwargs: Any) -> Record:
    """A valid filing filed and arriving at ``NOW`` (inside every context's window)."""
    record = make_filing(filing_id, filed_at=_iso(NOW), **kwargs)
    for cons in record["consignments"]:
        cons["expected_arrival_at"] = _iso(NOW)
    return record


def _decided(verdict: Verdict) -> bool:
    _assert_agrees(verdict)
    assert verdict.clean is not None
    assert verdict.batch_clean is not None
    return verdict.batch_clean


@pytest.mark.parametrize("context", sorted(CONTEXTS))
@pytest.mark.parametrize("field", ["filed_at", "expected_arrival_at"])
def test_date_window_edges(context: str, field: str) -> None:
    outcomes = []
    for moment in _window_dates(CONTEXTS[context]):
        record = _filing_now("F-D")
        if field == "filed_at":
            record["filed_at"] = moment
        else:
            record["consignments"][0]["expected_arrival_at"] = moment
        outcomes.append(_decided(_judge(record, context)))
    assert outcomes == [False, True, True, True, True, False]


@pytest.mark.parametrize("context", sorted(CONTEXTS))
def test_total_value_tolerance_edges(context: str) -> None:
    tol = CONTEXTS[context].value_tolerance
    outcomes = set()
    for value in ("0.33", "12.40", "50.00", "333.33", "4999.99"):
        items = Decimal(value) * 3
        for total in (
            items + Decimal("0.01"),
            items - Decimal("0.01"),
            items + Decimal("0.0101"),
            items - Decimal("0.0099"),
            (items / (1 - tol)).quantize(Decimal("0.0001")) if tol < 1 else items,
            (items / (1 + tol)).quantize(Decimal("0.0001")),
            (items * (1 + tol)).quantize(Decimal("0.0001")),
            (items * (1 - tol)).quantize(Decimal("0.0001")),
        ):
            record = _filing_now("F-V", items=3, item_value=value)
            record["consignments"][0]["total_value"] = str(total)
            outcomes.add(_decided(_judge(record, context)))
    # differences exactly on the bound, in float arithmetic too: |2 x value - total| == bound
    edges = (("0.01", "0.01"), ("505", "1000"), ("625", "1000"), ("500.005", "1000"))
    for item_value, declared in edges:
        record = _filing_now("F-V", items=2, item_value=item_value)
        record["consignments"][0]["total_value"] = declared
        outcomes.add(_decided(_judge(record, context)))
    assert outcomes == {True, False}


def test_duplicate_item_numbers_with_a_matching_total() -> None:
    record = make_filing("F-I", items=3)
    cons = record["consignments"][0]
    assert _decided(_judge(record)) is True
    cons["items"][2]["item_no"] = 1
    assert _decided(_judge(record)) is False
    cons["items"][2]["item_no"] = None
    verdict = _judge(record)
    assert verdict.batch_clean is False  # field.required
    assert verdict.clean is False


def test_same_item_numbers_in_two_consignments_are_fine() -> None:
    assert _decided(_judge(make_filing("F-2", items=2, consignments=2))) is True


def test_duplicate_consignment_ids() -> None:
    record = make_filing("F-C", consignments=2)
    record["consignments"][1]["consignment_id"] = record["consignments"][0]["consignment_id"]
    assert _decided(_judge(record)) is False


@pytest.mark.parametrize(
    "hs", ["6109100", "610910000", "61091000000", "６１０９１０", "61", "6109", "61091099"]
)
def test_hs_code_lengths(hs: str) -> None:
    record = make_filing("F-H")
    record["consignments"][0]["items"][0]["hs_code"] = hs
    _decided(_judge(record))


@pytest.mark.parametrize(
    "description",
    [
        "cotton\x1cshirts",
        "cotton\x1fshirt x",
        "cotton\x85shirts",
        "cotton\xa0shirts",
        "cotton\tshirts",
        "cotton\x0bshirts",
        "  cotton shirt ",
        "-Gift.",
        "SPARE PARTS;",
        "ÉCHANTILLON GRATUIT",
        "Straße",
        "İstanbul carpet",
        "ǅemal scarf, silk",
    ],
)
def test_descriptions_quality(description: str) -> None:
    record = make_filing("F-W", items=1)
    record["consignments"][0]["items"][0]["description"] = description
    verdict = _judge(record)
    _assert_agrees(verdict)
    assert verdict.quality is not None
