"""Row-wise validation and data-quality score of ONE filing, exact to the batch path.

Mirrors, for a single record (all consignments and goods items of one filing, as the plain
dicts of the *normalised* frames, see :func:`~smartcustoms.intake.validate.normalise_codes`):

* :func:`smartcustoms.intake.validate.validate_batch` and the ``exchange_rate.missing``
  check of :meth:`smartcustoms.clearance.runner.Clearance._assess` (``_missing_rates``), and
  optionally ``filing.filer_mismatch`` (``_filer_mismatches``): :meth:`SingleValidator.is_clean`
  decides whether the batch path would find *no problem at all* for the filing. It does not
  list problems: a filing that is not clean goes through the batch path, which lists them.
* :func:`smartcustoms.intake.quality.score_quality`: :meth:`SingleValidator.quality` (and
  :func:`quality_rows`) give the rows of ``score_quality(...).to_dicts()``.

Not covered here, the caller's part: problems found while parsing (``batch.problems`` must be
empty, warnings included), and the checks against the store (``filing.conflict``,
``consignment.duplicate`` with what is on file), made when the filing is committed.

Both methods return ``None`` ("can't tell, use the batch path") and never raise, when:

* a column either function reads is missing from a row, or holds a value of an unexpected
  type (money not ``Decimal``, a mass not ``float``, a NaN or infinite float, a naive or
  non-UTC datetime, ``bool`` where an ``int`` belongs, ...);
* the filing has no consignment, a consignment has no goods item, an item has no
  consignment id, or the rows come from more than one record (``_record``);
* the validation context's ``now`` is naive (the batch path fails on it);
* a currency involved in the rate check has a non-positive rate in the table (the batch
  path would fail dividing by it);
* (quality only) a description holds a character at or above U+0250, whose lower-casing
  could differ between Python's and Polars' Unicode tables, or an item number so large
  that ``item_no - 1`` could overflow.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final, NamedTuple

import polars as pl

from smartcustoms.intake.quality import (
    QUALITY_CONSIGNMENT_COLUMNS,
    QUALITY_REASONS,
    VAGUE_DESCRIPTIONS,
)
from smartcustoms.intake.reference import TRANSPORT_MODES, countries, currencies
from smartcustoms.intake.validate import (
    REQUIRED_CONSIGNMENT_COLUMNS,
    REQUIRED_ITEM_COLUMNS,
    ValidationContext,
    s10_check_digit,
)
from smartcustoms.model import columns as c
from smartcustoms.model.columns import CONSIGNMENT_SCHEMA, ITEM_SCHEMA, RECORD
from smartcustoms.tariff import ExchangeRates

__all__ = ["SingleValidator", "quality_rows"]

Row = Mapping[str, Any]

_COUNTRY_COLUMNS: Final = (
    c.COUNTRY_OF_DISPATCH,
    c.COUNTRY_OF_DESTINATION,
    *(f"{role}_country" for role in c.PARTY_ROLES),
)
_POSITIVE_CONSIGNMENT: Final = (c.TOTAL_VALUE, c.TOTAL_GROSS_MASS_KG, "total_packages")
_NON_NEGATIVE_CONSIGNMENT: Final = (c.TRANSPORT_COST, c.INSURANCE_COST)
_DATES: Final = (c.FILED_AT, c.EXPECTED_ARRIVAL_AT)
_POSITIVE_ITEM: Final = (c.VALUE, c.NET_MASS_KG, c.GROSS_MASS_KG, c.QUANTITY)
_S10: Final = re.compile(r"[A-Z]{2}[0-9]{9}[A-Z]{2}")
_DIGITS: Final = frozenset("0123456789")
_HS_LENGTHS: Final = frozenset({2, 4, 6, 8, 10})

# Unicode White_Space: what ``\s`` means in the Rust regex engine behind Polars (Python's
# ``str.isspace`` differs: it also counts U+001C..U+001F).
_WHITE_SPACE: Final = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000"
)
_WHITE_SPACE_SET: Final = frozenset(_WHITE_SPACE)
_DESCRIPTION_STRIP: Final = " .,;:-"
_STABLE_CASE_LIMIT: Final = 0x250  # Latin-1 and Latin Extended-A/B: case maps agree
_ITEM_NO_LIMIT: Final = 2**62

_CONSIGNMENT_READS: Final = frozenset(
    {
        *REQUIRED_CONSIGNMENT_COLUMNS,
        *_COUNTRY_COLUMNS,
        c.CURRENCY,
        c.POSTAL_ITEM_ID,
        c.TRANSPORT_MODE,
        *_POSITIVE_CONSIGNMENT,
        *_NON_NEGATIVE_CONSIGNMENT,
        *_DATES,
        c.CONSIGNMENT_ID,
        RECORD,
    }
)
_ITEM_READS: Final = frozenset(
    {*REQUIRED_ITEM_COLUMNS, c.CONSIGNMENT_ID, c.HS_CODE, c.ORIGIN_COUNTRY, *_POSITIVE_ITEM}
    | {c.ITEM_NO, RECORD}
)
_QUALITY_CONSIGNMENT_READS: Final = QUALITY_CONSIGNMENT_COLUMNS
_QUALITY_ITEM_READS: Final = (
    c.CONSIGNMENT_ID,
    c.DESCRIPTION,
    c.HS_CODE,
    c.ITEM_NO,
    c.NET_MASS_KG,
    c.QUANTITY,
    c.VALUE,
)


# --------------------------------------------------------------------------- value types


def _value_ok(value: Any, dtype: pl.DataType) -> bool:
    """Whether ``value`` is what ``.to_dicts()`` gives for a column of ``dtype`` (or None)."""
    if value is None:
        return True
    if isinstance(dtype, pl.String):
        return type(value) is str
    if isinstance(dtype, pl.Int64):
        return type(value) is int
    if isinstance(dtype, pl.Float64):
        return type(value) is float and math.isfinite(value)
    if isinstance(dtype, pl.Decimal):
        return type(value) is Decimal and value.is_finite()
    if isinstance(dtype, pl.Datetime):
        return (
            type(value) is datetime
            and value.tzinfo is not None
            and value.utcoffset() == timedelta(0)
        )
    return False


def _dtypes(schema: pl.Schema, names: Iterable[str]) -> tuple[tuple[str, pl.DataType], ...]:
    extra = {RECORD: pl.Int64()}
    return tuple(sorted((n, schema.get(n) or extra[n]) for n in set(names)))


def _rows_ok(rows: Sequence[Row], columns: tuple[tuple[str, pl.DataType], ...]) -> bool:
    """Every row is a mapping holding every column, each with a value of the expected type."""
    for row in rows:
        if not isinstance(row, Mapping):
            return False
        for name, dtype in columns:
            if name not in row or not _value_ok(row[name], dtype):
                return False
    return True


_VALIDATE_CONSIGNMENT_TYPES: Final = _dtypes(CONSIGNMENT_SCHEMA, _CONSIGNMENT_READS)
_VALIDATE_ITEM_TYPES: Final = _dtypes(ITEM_SCHEMA, _ITEM_READS)
_QUALITY_CONSIGNMENT_TYPES: Final = _dtypes(CONSIGNMENT_SCHEMA, _QUALITY_CONSIGNMENT_READS)
_QUALITY_ITEM_TYPES: Final = _dtypes(ITEM_SCHEMA, _QUALITY_ITEM_READS)


# --------------------------------------------------------------------------- quality


def _description_key(description: str) -> str | None:
    """The description as the batch path compares it: lower-cased, stripped of `` .,;:-``.

    ``None`` when a character's lower-casing could differ between Python and Polars.
    """
    if not description.isascii() and any(ord(ch) >= _STABLE_CASE_LIMIT for ch in description):
        return None
    return description.lower().strip(_DESCRIPTION_STRIP)


def _has_inner_space(text: str) -> bool:
    r"""Whether ``text`` has white space between two other characters (regex ``\S\s+\S``)."""
    inner = text.strip(_WHITE_SPACE)
    return any(ch in _WHITE_SPACE_SET for ch in inner)


def _reason(code: str, path: str | None) -> str | None:
    return None if path is None else f"{code}@{path}"


def _item_quality(item: Row) -> tuple[str, int] | None:
    """``(reasons, penalty)`` of one goods item, as the batch path's ``_r`` and ``_p``."""
    raw_desc = item[c.DESCRIPTION]
    desc = None if raw_desc is None else _description_key(raw_desc)
    if raw_desc is not None and desc is None:
        return None
    hs = item[c.HS_CODE]
    item_no = item[c.ITEM_NO]
    if item_no is not None and abs(item_no) >= _ITEM_NO_LIMIT:
        return None
    prefix = None if item_no is None else f"items[{item_no - 1}]."
    vague = None if desc is None else desc in VAGUE_DESCRIPTIONS
    short = None
    if desc is not None:
        short = not vague and (len(desc) < 10 or not _has_inner_space(desc))
    broad = None if hs is None else len(hs) < 6
    found = [
        _reason(code, None if prefix is None else prefix + field) if flag else None
        for code, field, flag in (
            ("dq.vague_description", "description", vague),
            ("dq.short_description", "description", short),
            ("dq.hs_not_subheading", "hs_code", broad),
        )
    ]
    reasons = ";".join(r for r in found if r is not None)
    if vague is None or short is None or broad is None:
        return reasons, 0  # a null term makes the batch path's sum null, filled with 0
    penalty = (
        vague * QUALITY_REASONS["dq.vague_description"][0]
        + short * QUALITY_REASONS["dq.short_description"][0]
        + broad * QUALITY_REASONS["dq.hs_not_subheading"][0]
    )
    return reasons, penalty


def _round(value: Decimal | None) -> bool:
    return value is not None and value >= 5 and value % 5 == 0


class _ItemSummary:
    """What the batch path aggregates per consignment id from its goods items."""

    __slots__ = ("no_mass", "no_qty", "penalty", "reasons", "round")

    def __init__(self) -> None:
        self.reasons: list[str] = []
        self.penalty = 0
        self.no_mass = False
        self.no_qty = False
        self.round = True

    def add(self, item: Row, reasons: str, penalty: int) -> None:
        if reasons:
            self.reasons.append(reasons)
        self.penalty += penalty
        self.no_mass = self.no_mass or item[c.NET_MASS_KG] is None
        self.no_qty = self.no_qty or item[c.QUANTITY] is None
        self.round = self.round and _round(item[c.VALUE])


def _summaries(items: Sequence[Row]) -> dict[str, _ItemSummary] | None:
    out: dict[str, _ItemSummary] = {}
    for item in items:
        scored = _item_quality(item)
        if scored is None:
            return None
        key = item[c.CONSIGNMENT_ID]
        if key is None:
            continue  # a null key never joins a consignment
        out.setdefault(key, _ItemSummary()).add(item, *scored)
    return out


def _consignment_flags(
    cons: Row, summary: _ItemSummary | None
) -> list[tuple[str, bool | None, str]]:
    """``(code, flag, path)`` of each consignment-level reason; ``None``: the flag is null."""
    return [
        ("dq.missing_net_mass", None if summary is None else summary.no_mass, "items"),
        ("dq.missing_quantity", None if summary is None else summary.no_qty, "items"),
        ("dq.missing_seller", cons[c.SELLER_ID] is None, "seller.id"),
        (
            "dq.missing_seller_address",
            cons["seller_name"] is None or cons[c.SELLER_COUNTRY] is None,
            "seller",
        ),
        (
            "dq.missing_buyer_address",
            cons["buyer_street"] is None
            or cons["buyer_city"] is None
            or cons["buyer_postcode"] is None,
            "buyer",
        ),
        (
            "dq.missing_transport_document",
            cons["transport_document_id"] is None and cons[c.POSTAL_ITEM_ID] is None,
            "transport_document_id",
        ),
        ("dq.missing_arrival", cons[c.EXPECTED_ARRIVAL_AT] is None, "expected_arrival_at"),
        ("dq.round_value", None if summary is None else summary.round, "items"),
    ]


def _consignment_quality(cons: Row, summary: _ItemSummary | None) -> dict[str, Any]:
    reasons: list[str] = []
    penalty = 0
    if summary is not None:
        penalty += summary.penalty
        joined = ";".join(summary.reasons)
        if joined:
            reasons.append(joined)
    for code, flag, path in _consignment_flags(cons, summary):
        if flag:
            penalty += QUALITY_REASONS[code][0]
            reasons.append(f"{code}@{path}")
    return {
        c.CONSIGNMENT_ID: cons[c.CONSIGNMENT_ID],
        "dq_score": min(max(100 - penalty, 0), 100),
        "dq_reasons": ";".join(reasons),
    }


def quality_rows(consignments: Sequence[Row], items: Sequence[Row]) -> list[dict[str, Any]] | None:
    """``score_quality(consignments, items).to_dicts()`` for one filing's rows, or ``None``.

    Args:
        consignments: The filing's consignment rows (normalised frame's ``.to_dicts()``).
        items: Its goods-item rows.

    Returns:
        One dict per consignment, in consignment order (``consignment_id``, ``dq_score``,
        ``dq_reasons``), or ``None`` when the rows hold something not covered (see the module
        docstring).
    """
    try:
        if not _rows_ok(consignments, _QUALITY_CONSIGNMENT_TYPES) or not _rows_ok(
            items, _QUALITY_ITEM_TYPES
        ):
            return None
        summaries = _summaries(items)
        if summaries is None:
            return None
        return [
            _consignment_quality(
                cons,
                None if cons[c.CONSIGNMENT_ID] is None else summaries.get(cons[c.CONSIGNMENT_ID]),
            )
            for cons in consignments
        ]
    except Exception:  # never raise on bad input: the batch path decides
        return None


# --------------------------------------------------------------------------- validation


def _window(context: ValidationContext) -> tuple[datetime, datetime] | None:
    """The filing-time window around ``context.now`` (``None``: a naive ``now``)."""
    now = context.now
    if now.tzinfo is None or now.utcoffset() is None:
        return None
    return (
        (now - timedelta(days=context.max_days_past)).astimezone(UTC),
        (now + timedelta(days=context.max_days_future)).astimezone(UTC),
    )


class SingleValidator:
    """Decides whether one filing is clean, and scores its data quality, without Polars.

    Args:
        context: The validation context the batch path uses (``Clearance.validation``).
        rates: The exchange-rate table (``Clearance.rates``), or what another validator
            read from it (:meth:`at` shares it).
        currency: The regime's currency (``Clearance.regime.currency``).
    """

    def __init__(
        self, context: ValidationContext, rates: ExchangeRates | _RateFacts, currency: str
    ) -> None:
        self.context = context
        self.currency = currency
        self._facts = rates if isinstance(rates, _RateFacts) else _rate_facts(rates)
        self._countries = countries()
        self._currencies = currencies()
        nom = context.nomenclature
        self._chapters = nom.chapters
        self._headings = nom.headings
        self._subheadings = nom.subheadings
        self._tolerance = float(context.value_tolerance)
        self._window = _window(context)

    # ------------------------------------------------------------------ public

    def at(self, now: datetime) -> SingleValidator:
        """This validator judging dates against ``now`` (the reference tables are shared)."""
        # a new validator, not copy.copy: a class compiled by mypyc cannot be copied
        return SingleValidator(replace(self.context, now=now), self._facts, self.currency)

    def is_clean(
        self,
        consignments: Sequence[Row],
        items: Sequence[Row],
        *,
        tenant: str | None = None,
        unchecked_code_columns: frozenset[str] = frozenset(),
    ) -> bool | None:
        """Whether the batch path would find no problem in this filing before the store.

        ``True``: ``validate_batch`` reports nothing, no consignment lacks an exchange rate
        and (with ``tenant``) the filer id is the tenant's. ``False``: at least one of them
        reports a problem. ``None``: not covered, clear the filing through the batch path.

        Args:
            consignments: The filing's consignment rows (normalised frame's ``.to_dicts()``).
            items: Its goods-item rows.
            tenant: The filer submitting the filing through the service, if any.
            unchecked_code_columns: ``ParsedBatch.unchecked_code_columns`` of the filing.
        """
        try:
            return self._is_clean(consignments, items, tenant, unchecked_code_columns)
        except Exception:  # never raise on bad input: the batch path decides
            return None

    def quality(
        self, consignments: Sequence[Row], items: Sequence[Row]
    ) -> list[dict[str, Any]] | None:
        """The filing's data-quality rows, as :func:`quality_rows` (``None``: not covered)."""
        return quality_rows(consignments, items)

    # ------------------------------------------------------------------ steps

    def _is_clean(
        self,
        consignments: Sequence[Row],
        items: Sequence[Row],
        tenant: str | None,
        unchecked: frozenset[str],
    ) -> bool | None:
        if not self._covered(consignments, items):
            return None
        skip = self.context.unchecked_code_columns | unchecked
        if not all(self._consignment_ok(row, skip) for row in consignments):
            return False
        ids = [row[c.CONSIGNMENT_ID] for row in consignments if row[c.CONSIGNMENT_ID] is not None]
        if len(set(ids)) != len(ids):
            return False  # consignment.duplicate
        if not all(self._item_ok(row, skip) for row in items):
            return False
        keys = [(row[c.CONSIGNMENT_ID], row[c.ITEM_NO]) for row in items]
        numbered = [k for k in keys if k[1] is not None]
        if len(set(numbered)) != len(numbered):
            return False  # item.duplicate
        if not self._totals_ok(consignments, items):
            return False
        rates = self._rates_ok(consignments)
        if rates is not True:
            return rates
        first_filer = consignments[0][c.FILER_ID]
        return tenant is None or first_filer is None or first_filer == tenant

    def _covered(self, consignments: Sequence[Row], items: Sequence[Row]) -> bool:
        """Whether the filing is one the fast path can judge exactly."""
        if self._window is None or not consignments or not items:
            return False
        if not _rows_ok(consignments, _VALIDATE_CONSIGNMENT_TYPES):
            return False
        if not _rows_ok(items, _VALIDATE_ITEM_TYPES):
            return False
        if len({row[RECORD] for row in consignments} | {row[RECORD] for row in items}) != 1:
            return False
        with_items = {row[c.CONSIGNMENT_ID] for row in items}
        if None in with_items:
            return False
        return all(row[c.CONSIGNMENT_ID] in with_items for row in consignments)

    def _consignment_ok(self, row: Row, skip: frozenset[str]) -> bool:
        if any(row[col] is None for col in REQUIRED_CONSIGNMENT_COLUMNS):
            return False
        for col in _COUNTRY_COLUMNS:
            if col not in skip and row[col] is not None and row[col] not in self._countries:
                return False
        currency = row[c.CURRENCY]
        if c.CURRENCY not in skip and currency is not None and currency not in self._currencies:
            return False
        if not self._s10_ok(row[c.POSTAL_ITEM_ID]):
            return False
        mode = row[c.TRANSPORT_MODE]
        if mode is not None and mode not in TRANSPORT_MODES:
            return False
        if any(row[col] is not None and row[col] <= 0 for col in _POSITIVE_CONSIGNMENT):
            return False
        if any(row[col] is not None and row[col] < 0 for col in _NON_NEGATIVE_CONSIGNMENT):
            return False
        assert self._window is not None
        lo, hi = self._window
        return not any(row[col] is not None and not lo <= row[col] <= hi for col in _DATES)

    def _s10_ok(self, item_id: str | None) -> bool:
        if item_id is None:
            return True
        if _S10.fullmatch(item_id) is None or item_id[11:13] not in self._countries:
            return False  # s10.format
        return int(item_id[10]) == s10_check_digit(item_id[2:10])

    def _hs_ok(self, hs: str | None) -> bool:
        if hs is None:
            return True
        n = len(hs)
        if n not in _HS_LENGTHS or not set(hs) <= _DIGITS:
            return False  # hs.format
        if n == 2:
            return hs in self._chapters
        if n == 4:
            return hs in self._headings
        return hs[:6] in self._subheadings

    def _item_ok(self, row: Row, skip: frozenset[str]) -> bool:
        if any(row[col] is None for col in REQUIRED_ITEM_COLUMNS):
            return False
        if not self._hs_ok(row[c.HS_CODE]):
            return False
        origin = row[c.ORIGIN_COUNTRY]
        if c.ORIGIN_COUNTRY not in skip and origin is not None and origin not in self._countries:
            return False
        if any(row[col] is not None and row[col] <= 0 for col in _POSITIVE_ITEM):
            return False
        gross, net = row[c.GROSS_MASS_KG], row[c.NET_MASS_KG]
        return gross is None or net is None or not gross < net

    def _totals_ok(self, consignments: Sequence[Row], items: Sequence[Row]) -> bool:
        """``value.total_mismatch``: item values against the declared total, as Float64."""
        sums: dict[str, Decimal | None] = {}
        for item in items:
            key, value = item[c.CONSIGNMENT_ID], item[c.VALUE]
            before = sums.get(key, Decimal(0))
            sums[key] = None if value is None or before is None else before + value
        for cons in consignments:
            total = cons[c.TOTAL_VALUE]
            item_sum = sums.get(cons[c.CONSIGNMENT_ID])
            if total is None or item_sum is None:
                continue
            t, s = float(total), float(item_sum)
            if abs(s - t) > max(abs(t) * self._tolerance, 0.01):
                return False
        return True

    def _rates_ok(self, consignments: Sequence[Row]) -> bool | None:
        """``exchange_rate.missing``: each foreign currency has a rate on its filing day."""
        for cons in consignments:
            currency, filed = cons[c.CURRENCY], cons[c.FILED_AT]
            if currency is None or currency == self.currency:
                continue
            if filed is None:
                return None  # the batch path falls back on today's date
            if currency in self._facts.doubtful or self.currency in self._facts.doubtful:
                return None
            day = filed.date()
            if not (self._has_rate(currency, day) and self._has_rate(self.currency, day)):
                return False
        return True

    def _has_rate(self, currency: str, day: date) -> bool:
        if currency == self._facts.base:
            return True
        first = self._facts.starts.get(currency)
        return first is not None and first <= day


class _RateFacts(NamedTuple):
    """What a validator reads from the exchange-rate table once."""

    base: str
    """The table's base currency."""
    starts: dict[str, date]
    """First ``valid_from`` of each currency."""
    doubtful: frozenset[str]
    """Currencies with a non-positive rate (the base excepted)."""


def _rate_facts(rates: ExchangeRates) -> _RateFacts:
    """The base currency, each currency's first ``valid_from``, the doubtful currencies."""
    starts: dict[str, date] = {}
    doubtful: set[str] = set()
    for currency, rate, valid_from in rates.frame.select(
        "currency", "rate", "valid_from"
    ).iter_rows():
        if currency is None or valid_from is None:
            continue
        if rate is None or rate <= 0:
            doubtful.add(currency)
        if currency not in starts or valid_from < starts[currency]:
            starts[currency] = valid_from
    return _RateFacts(rates.base, starts, frozenset(doubtful - {rates.base}))
