"""Row-wise duty and tax assessment of one filing: the fast path of :func:`tariff.assess`.

:class:`SingleAssessor` mirrors :func:`smartcustoms.tariff.assessment.assess` (with its helpers
in ``tariff/_items.py`` and the money rules of ``tariff/_money.py``) for the consignments and
goods items of ONE filing, given as plain dicts (the normalised frames' ``.to_dicts()``). It
returns the rows of both frames the batch :class:`~smartcustoms.tariff.Assessment` holds
(``items`` and ``consignments``, each equal to the batch frame's ``.to_dicts()`` value for
value, ``Decimal`` scale included) as a :class:`SingleAssessment`, or ``None`` when the filing
is not covered and must go through the batch path.

Everything that needs Polars (the schedule's line table and epochs, the rule texts, the rate
table) is read once, at construction, into plain dicts and lists; :meth:`SingleAssessor.assess`
makes no Polars call. All arithmetic is on Python integers in the batch path's units (1/10,000
of a currency unit, percent x 10^4, rates x 10^8, quantities in millionths) with the same
``(2n + d) // 2d`` half-up division, so the results are the batch path's to the last unit.

Covered: every shipped regime and any regime file (CIF/FOB, duty and VAT de minimis with
excluded prefixes, flat per-item duty of either scope, VAT at sale with or without a number
and the excise-goods exclusion, dated country VAT rates, line VAT rates), ad valorem and
specific duty and excise, cross rates through the table's base, a schedule in another
currency, several consignments per filing and several items per consignment in any order.

Declined (``None``), where the batch path would raise, or exactness is in doubt:

* no consignment; a required key missing; duplicate consignment ids; an item whose
  consignment is not in the filing;
* a value of an unexpected type: ``filed_at`` naive or not a datetime; ``currency``,
  ``consignment_id`` or ``hs_code`` not a string; ``value`` not a finite ``Decimal`` of at
  most 4 decimal places; costs likewise (or ``None``); mass and quantity not a finite
  ``float`` (or ``None``); ``item_no`` not an ``int``;
* negative values, costs, masses or quantities (intake rejects them; the batch path's
  arithmetic assumes non-negative amounts);
* an HS code that is not 1 to 10 ASCII digits (the batch path keys codes as integers);
* an ``ioss_number`` holding whitespace other than ASCII space, tab and line breaks (Python
  and Polars disagree on what ``strip`` removes);
* no exchange rate for the declared or regime currency (or for the schedule currency) on the
  assessment date, or two rates of one currency from the same day;
* two tariff lines with the same prefix in force on the same day, two country VAT rates of one
  destination on the same day (only possible for objects built in code, not loaded files);
* a regime or schedule whose amounts have more decimals than the batch path's scales hold
  (the batch path raises on them);
* amounts beyond ``Decimal(18, 4)`` or intermediate products beyond the batch path's 128-bit
  integers.

A filing without ``filed_at`` is assessed on ``on`` (default: today, UTC), as in the batch path.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Context, Decimal, Inexact, InvalidOperation, Overflow
from typing import Any, Final

from smartcustoms.model import columns as m
from smartcustoms.tariff import columns as c
from smartcustoms.tariff._items import QUANTITY_UNIT, RuleTables, money_text
from smartcustoms.tariff._money import MONEY_SCALE, PCT_SCALE, QTY_SCALE, RATE_SCALE, scaled
from smartcustoms.tariff.assessment import _CONSIGNMENT_INPUTS, _ITEM_INPUTS
from smartcustoms.tariff.rates import ExchangeRates
from smartcustoms.tariff.regimes import FlatDutyScope, Regime, ValuationBasis
from smartcustoms.tariff.schedule import KILOGRAM, TariffLine, TariffSchedule

__all__ = ["SingleAssessment", "SingleAssessor"]

_PCT_DEN: Final = 100 * PCT_SCALE
_DISPLAY_RATE_SCALE: Final = 10**10
_INT128_LIMIT: Final = 2**127
_MONEY_LIMIT: Final = 10**18  # units: Decimal(18, 4) holds fewer than 10^14 currency units
_QTY_LIMIT: Final = 10**12  # kg or units; millionths stay far inside Int64
_MAX_CODE_DIGITS: Final = 10
_ASCII_SPACE: Final = frozenset(" \t\n\r\x0b\x0c")
_UNIT: Final = Decimal("0.0001")
_RATE_UNIT: Final = Decimal("1E-10")
_EXACT: Final = Context(prec=60, traps=[Inexact, Overflow, InvalidOperation])
"""Decimal arithmetic here is exact whatever the caller's thread context: it traps rounding."""
_MIN_DAY: Final = date.min
_MAX_DAY: Final = date.max

# the inputs the batch reads: a filing lacking one is declined (the batch would raise)
_CONSIGNMENT_KEYS: Final = _CONSIGNMENT_INPUTS
_ITEM_KEYS: Final = _ITEM_INPUTS
_TOTAL_COLUMNS: Final = (
    c.INTRINSIC_VALUE,
    c.CUSTOMS_VALUE,
    c.DUTY_TOTAL,
    c.EXCISE_TOTAL,
    c.VAT_TOTAL,
    c.VAT_AT_SALE_TOTAL,
    c.TOTAL_PAYABLE_AT_BORDER,
)
_VAT_PARTS: Final = (
    "VAT at border",
    "VAT de minimis",
    "VAT at sale",
    "VAT at sale (excise goods at border)",
)


class _NotCoveredError(Exception):
    """Internal: the filing is not covered; :meth:`SingleAssessor.assess` returns ``None``."""


@dataclass(frozen=True)
class SingleAssessment:
    """The assessment of one filing, as the rows of the batch :class:`Assessment` frames.

    Attributes:
        items: One dict per goods item, in input order, equal to ``Assessment.items.to_dicts()``.
        consignments: One dict per consignment, in input order, equal to
            ``Assessment.consignments.to_dicts()``.
        regime: The regime applied.
        schedule_id: Id of the tariff schedule used.
        rates_id: Id of the exchange-rate table used.
    """

    items: list[dict[str, Any]]
    consignments: list[dict[str, Any]]
    regime: Regime
    schedule_id: str
    rates_id: str

    def totals(self) -> dict[str, Decimal]:
        """Totals of the consignment money columns, as :meth:`Assessment.totals` gives them.

        Like the batch method, a zero total is ``Decimal(0)`` (no decimal places).
        """
        out: dict[str, Decimal] = {}
        for name in _TOTAL_COLUMNS:
            total = sum((row[name] for row in self.consignments), Decimal("0.0000"))
            out[name] = Decimal(total or 0)
        return out


@dataclass(frozen=True, slots=True)
class _Line:
    """A tariff line's scaled rates (the batch path's ``lines_frame`` row, or the sentinel)."""

    adv: int
    skg: int
    sunit: int
    unit: str | None
    vat: int | None
    xadv: int
    xkg: int
    xunit_amt: int
    xunit: str | None
    has_excise: bool


_NO_LINE: Final = _Line(0, 0, 0, None, None, 0, 0, 0, None, False)


@dataclass(frozen=True, slots=True)
class _Rate:
    """One currency's dated rates (x 10^8), sorted by day; ``clash``: two rows on one day."""

    days: tuple[date, ...]
    values: tuple[int, ...]
    clash: bool


@dataclass(frozen=True, slots=True)
class _Country:
    """One dated country VAT rate: source index and percent x 10^4."""

    start: date
    end: date
    source: int
    pct: int


@dataclass(slots=True)
class _Cons:
    """Consignment-level working values (the batch path's underscore columns)."""

    cid: str
    index: int
    day: date
    currency: str
    extra: int
    has_number: bool
    num: int
    den: int
    snum: int
    sden: int
    rate_date: date | None
    source: int
    country_vat: int
    epoch: int
    total: int = 0
    count: int = 0
    iv: int = 0
    flat_ok: bool = False
    duty_relief_ok: bool = False
    vat_relief_ok: bool = False
    at_sale_ok: bool = False


@dataclass(slots=True)
class _Item:
    """Item-level working values."""

    row: int
    ci: int
    cid: str
    item_no: int
    hs_code: str
    qty: int | None
    unit: str | None
    mass: int | None
    value: int


@dataclass(frozen=True, slots=True)
class _Amounts:
    """The computed amounts and rule codes of one item."""

    cv: int
    duty: int
    excise: int
    vat_pct: int
    vat_out: int
    vas: int
    li: int
    duty_code: int
    vat_code: int
    basis_missing: bool
    flat_charged: bool
    duty_relieved: bool
    vat_relieved: bool
    vat_at_sale: bool


def _div_half_up(numerator: int, denominator: int) -> int:
    """``(2n + d) // 2d`` as the batch path computes it in Int128; declines on overflow."""
    if numerator < 0 or denominator <= 0:
        raise _NotCoveredError
    top = numerator * 2 + denominator
    if top >= _INT128_LIMIT or denominator * 2 >= _INT128_LIMIT:
        raise _NotCoveredError
    return top // (denominator * 2)


def _money_units(value: Any) -> int:
    """A non-negative ``Decimal`` of at most 4 places as 1/10,000 units."""
    if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
        raise _NotCoveredError
    units = _EXACT.multiply(value, MONEY_SCALE)
    if units != units.to_integral_value():
        raise _NotCoveredError
    out = int(units)
    if out >= _MONEY_LIMIT:
        raise _NotCoveredError
    return out


def _optional_money_units(value: Any) -> int:
    """Like :func:`_money_units`, with ``None`` as 0 (the batch path's ``fill_null``)."""
    return 0 if value is None else _money_units(value)


def _micro(value: Any) -> int | None:
    """A mass or quantity in millionths, rounded half to even as Polars' ``round`` does."""
    if value is None:
        return None
    if type(value) is not float or not math.isfinite(value) or not 0 <= value < _QTY_LIMIT:
        raise _NotCoveredError
    return round(value * QTY_SCALE)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise _NotCoveredError
    return value


def _optional_text(value: Any) -> str | None:
    return None if value is None else _text(value)


def _has_number(value: Any) -> bool:
    """Whether ``ioss_number`` holds something other than whitespace."""
    if value is None:
        return False
    text = _text(value)
    if any(ch.isspace() and ch not in _ASCII_SPACE for ch in text):
        raise _NotCoveredError
    return bool(text.strip())


def _money(units: int) -> Decimal:
    """1/10,000 units as the batch path's ``MONEY`` value (scale 4)."""
    if not -_MONEY_LIMIT < units < _MONEY_LIMIT:
        raise _NotCoveredError
    return _EXACT.multiply(Decimal(units), _UNIT)


def _rate_shown(units: int) -> Decimal:
    """The displayed exchange rate (units of 10^-10) as the batch path's ``Decimal(38, 10)``."""
    if not 0 <= units < 10**28:
        raise _NotCoveredError
    return _EXACT.multiply(Decimal(units), _RATE_UNIT)


def _pct(units: int) -> Decimal:
    """Percent x 10^4 as the batch path's ``Decimal(9, 4)`` value."""
    return _EXACT.multiply(Decimal(units), _UNIT)


class SingleAssessor:
    """Assess one filing's duties and taxes exactly as :func:`tariff.assess` would.

    Args:
        regime: The regime (the same object the batch path uses).
        schedule: The tariff schedule.
        rates: The exchange-rate table.

    The lookup tables are built here, once; :meth:`assess` is pure Python.
    """

    def __init__(self, regime: Regime, schedule: TariffSchedule, rates: ExchangeRates) -> None:
        self.regime = regime
        self.schedule = schedule
        self.rates = rates
        self._step = 10 ** (4 - regime.minor_unit)
        self._ok = True
        try:
            self._build_regime(regime)
            self._build_schedule(schedule)
        except (ValueError, ArithmeticError):
            # The batch path raises on such a regime or schedule: decline every filing.
            self._ok = False
        self._build_rates(rates)
        tables = RuleTables.build(regime, schedule)
        self._duty_rules: list[str] = tables.duty.to_list()
        self._excise_rules: list[str] = tables.excise.to_list()
        self._vat_rules: list[str] = tables.vat.to_list()
        self._line_ids: list[str | None] = tables.line_ids.to_list()
        self._sources = tables.sources
        self._head = f"{regime.id} {regime.valuation_basis.value}"
        flat = regime.flat_duty
        self._flat_text = "" if flat is None else money_text(flat.amount, regime.minor_unit)

    # ------------------------------------------------------------------ construction

    def _build_regime(self, regime: Regime) -> None:
        def threshold(value: Decimal | None) -> int | None:
            return None if value is None else scaled(value, MONEY_SCALE)

        self._duty_threshold = threshold(regime.duty_de_minimis)
        self._vat_threshold = threshold(regime.vat_de_minimis)
        flat = regime.flat_duty
        self._flat_threshold = None if flat is None else threshold(flat.threshold)
        self._flat_amount = 0 if flat is None else scaled(flat.amount, MONEY_SCALE)
        at_sale = regime.vat_at_sale
        self._at_sale_threshold = None if at_sale is None else threshold(at_sale.threshold)
        self._default_vat = scaled(regime.vat_pct, PCT_SCALE)
        self._at_sale_excludes_excise = at_sale is not None and at_sale.excludes_excise_goods
        countries: dict[str, list[_Country]] = {}
        for i, rate in enumerate(regime.vat_country_rates):
            countries.setdefault(rate.country, []).append(
                _Country(
                    rate.effective_from or _MIN_DAY,
                    rate.effective_to or _MAX_DAY,
                    i,
                    scaled(rate.pct, PCT_SCALE),
                )
            )
        self._countries = countries

    def _build_schedule(self, schedule: TariffSchedule) -> None:
        lines = list(schedule)
        self._lines = [_scaled_line(x) for x in lines] + [_NO_LINE]
        periods = [_clipped_period(x, schedule) for x in lines]
        days: set[date] = set()
        for start, end in periods:
            days.add(start)
            if end is not None and end < _MAX_DAY:
                days.add(end + timedelta(days=1))
        self._epoch_starts = sorted(days)
        reps = [_MIN_DAY, *self._epoch_starts]
        # Per epoch: prefix -> line row, or -1 when two lines of one prefix are in force.
        self._epochs: list[dict[str, int]] = []
        for rep in reps:
            table: dict[str, int] = {}
            for li, (line, (start, end)) in enumerate(zip(lines, periods, strict=True)):
                if start <= rep and (end is None or rep <= end):
                    table[line.hs_prefix] = -1 if line.hs_prefix in table else li
            self._epochs.append(table)
        self._lengths = sorted({len(x.hs_prefix) for x in lines}, reverse=True)

    def _build_rates(self, rates: ExchangeRates) -> None:
        by_currency: dict[str, list[tuple[date, int]]] = {}
        for cur, rate, day in rates.frame.select("currency", "rate", "valid_from").iter_rows():
            if cur == rates.base:
                continue
            units = _EXACT.multiply(Decimal(rate), RATE_SCALE)
            if units != units.to_integral_value():
                self._ok = False
                continue
            by_currency.setdefault(cur, []).append((day, int(units)))
        by_currency[rates.base] = [(_MIN_DAY, RATE_SCALE)]
        self._rates: dict[str, _Rate] = {}
        for cur, rows in by_currency.items():
            rows.sort(key=lambda r: r[0])
            days = tuple(d for d, _ in rows)
            self._rates[cur] = _Rate(days, tuple(v for _, v in rows), len(set(days)) < len(days))

    # ------------------------------------------------------------------ public

    def assess(
        self,
        consignments: Sequence[Mapping[str, Any]],
        items: Sequence[Mapping[str, Any]],
        *,
        on: date | None = None,
    ) -> SingleAssessment | None:
        """Assess one filing's consignments and items; ``None`` when not covered.

        Args:
            consignments: The filing's normalised consignment rows (dicts with at least the
                keys the batch path reads: id, ``filed_at``, currency, costs, IOSS number,
                destination and buyer country).
            items: Its normalised goods-item rows.
            on: Assessment date of consignments without ``filed_at`` (default: today, UTC).

        Returns:
            The rows of both assessment frames, or ``None`` (see the module docstring for
            what is declined). Never raises on bad input.
        """
        if not self._ok or not consignments:
            return None
        try:
            return self._assess(consignments, items, on)
        except _NotCoveredError:
            return None
        except (KeyError, TypeError, ValueError, ArithmeticError, AttributeError):
            return None

    # ------------------------------------------------------------------ the computation

    def _assess(
        self,
        consignments: Sequence[Mapping[str, Any]],
        items: Sequence[Mapping[str, Any]],
        on: date | None,
    ) -> SingleAssessment:
        fallback = on if on is not None else datetime.now(UTC).date()
        cons = [self._consignment(row, i, fallback) for i, row in enumerate(consignments)]
        index = {x.cid: x.index for x in cons}
        if len(index) != len(cons):
            raise _NotCoveredError
        parsed = [_item(row, i, index) for i, row in enumerate(items)]
        for it in parsed:
            cons[it.ci].total += it.value
            cons[it.ci].count += 1
        for x in cons:
            self._thresholds(x)
        ordered = sorted(parsed, key=lambda it: (it.ci, it.item_no))
        amounts: dict[int, _Amounts] = {}
        seen: set[tuple[int, str]] = set()
        digits = self.regime.flat_duty.item_digits if self.regime.flat_duty is not None else 0
        for it in ordered:
            key = (it.ci, it.hs_code[:digits])
            first = key not in seen
            seen.add(key)
            amounts[it.row] = self._amounts(it, cons[it.ci], first)
        item_rows = [self._item_row(it, amounts[it.row]) for it in parsed]
        cons_rows = [
            self._consignment_row(x, [amounts[it.row] for it in parsed if it.ci == x.index])
            for x in cons
        ]
        return SingleAssessment(
            items=item_rows,
            consignments=cons_rows,
            regime=self.regime,
            schedule_id=self.schedule.id,
            rates_id=self.rates.id,
        )

    def _consignment(self, row: Mapping[str, Any], index: int, fallback: date) -> _Cons:
        for key in _CONSIGNMENT_KEYS:
            if key not in row:
                raise _NotCoveredError
        filed_at = row[m.FILED_AT]
        if filed_at is None:
            day = fallback
        elif isinstance(filed_at, datetime) and filed_at.tzinfo is not None:
            day = filed_at.astimezone(UTC).date()
        else:
            raise _NotCoveredError
        currency = _text(row[m.CURRENCY])
        extra = 0
        transport = _optional_money_units(row[m.TRANSPORT_COST])
        insurance = _optional_money_units(row[m.INSURANCE_COST])
        if self.regime.valuation_basis is ValuationBasis.CIF:
            extra = transport + insurance
        dest = _optional_text(row[m.COUNTRY_OF_DESTINATION])
        if dest is None:
            dest = _optional_text(row[m.BUYER_COUNTRY])
        num, den, rate_date = self._factors(currency, day)
        if self.schedule.currency == self.regime.currency:
            snum = sden = 1
        else:
            snum, sden, _ = self._factors(self.schedule.currency, day)
        source, country_vat = self._country_vat(dest, day)
        return _Cons(
            cid=_text(row[m.CONSIGNMENT_ID]),
            index=index,
            day=day,
            currency=currency,
            extra=extra,
            has_number=_has_number(row[m.IOSS_NUMBER]),
            num=num,
            den=den,
            snum=snum,
            sden=sden,
            rate_date=rate_date,
            source=source,
            country_vat=country_vat,
            epoch=bisect_right(self._epoch_starts, day),
        )

    def _rate(self, currency: str, day: date) -> tuple[int, date]:
        """The latest rate of ``currency`` on or before ``day``, with its ``valid_from``."""
        found = self._rates.get(currency)
        if found is None or found.clash:
            raise _NotCoveredError
        at = bisect_right(found.days, day)
        if at == 0:
            raise _NotCoveredError
        return found.values[at - 1], found.days[at - 1]

    def _factors(self, currency: str, day: date) -> tuple[int, int, date | None]:
        """``num``, ``den`` and rate date converting ``currency`` to the regime currency."""
        target = self.regime.currency
        if currency == target:
            return 1, 1, None
        den, from_day = self._rate(currency, day)
        num, to_day = self._rate(target, day)
        # The batch path takes the later ``valid_from`` of the rows other than the base's; the
        # base's own row is dated ``date.min``, so the later of the two is the same day.
        return num, den, max(from_day, to_day)

    def _country_vat(self, dest: str | None, day: date) -> tuple[int, int]:
        """Source index and percent x 10^4 of the VAT rate of ``dest`` on ``day``."""
        rates = self._countries.get(dest, []) if dest is not None else []
        found = [x for x in rates if x.start <= day <= x.end]
        if len(found) > 1:
            raise _NotCoveredError
        if found:
            return found[0].source, found[0].pct
        return len(self.regime.vat_country_rates), self._default_vat

    def _thresholds(self, x: _Cons) -> None:
        """Intrinsic value and the consignment-level eligibility flags."""
        step = self._step
        x.iv = _div_half_up(x.total * x.num, x.den * step) * step

        def under(threshold: int | None) -> bool:
            return threshold is not None and x.iv <= threshold

        flat = self.regime.flat_duty
        if flat is not None:
            x.flat_ok = under(self._flat_threshold)
            if flat.scope is FlatDutyScope.IOSS_ONLY:
                x.flat_ok = x.flat_ok and x.has_number
        at_sale = self.regime.vat_at_sale
        if at_sale is not None:
            x.at_sale_ok = under(self._at_sale_threshold)
            if at_sale.requires_number:
                x.at_sale_ok = x.at_sale_ok and x.has_number
        x.duty_relief_ok = under(self._duty_threshold)
        x.vat_relief_ok = under(self._vat_threshold)

    def _line_of(self, code: str, epoch: int) -> int:
        """Row of the longest-prefix line in force in ``epoch`` (``L`` when none applies)."""
        table = self._epochs[epoch]
        for n in self._lengths:
            if len(code) >= n:
                li = table.get(code[:n])
                if li is not None:
                    if li < 0:
                        raise _NotCoveredError
                    return li
        return len(self._lines) - 1

    def _amounts(self, it: _Item, x: _Cons, first: bool) -> _Amounts:
        """Customs value, duty, excise and VAT of one item, with its rule codes."""
        step = self._step
        li = self._line_of(it.hs_code, x.epoch)
        line = self._lines[li]
        share_den = x.total if x.total > 0 else 1
        cvx = it.value + _div_half_up(x.extra * it.value, share_den)
        cv = _div_half_up(cvx * x.num, x.den * step) * step
        ubasis = _basis(line.unit, it)
        xbasis = _basis(line.xunit, it)
        basis_missing = (
            (line.skg > 0 and it.mass is None)
            or (line.sunit > 0 and ubasis is None)
            or (line.xkg > 0 and it.mass is None)
            or (line.xunit_amt > 0 and xbasis is None)
        )
        mass = it.mass or 0
        den = _PCT_DEN * x.sden * step
        tariff = cv * line.adv * x.sden + (line.skg * mass + line.sunit * (ubasis or 0)) * x.snum
        tariff_duty = _div_half_up(tariff, den) * step
        duty, duty_code, relief = self._duty(it, x, li, tariff_duty, first, basis_missing)
        excise_num = (cv + duty) * line.xadv * x.sden + (
            line.xkg * mass + line.xunit_amt * (xbasis or 0)
        ) * x.snum
        excise = _div_half_up(excise_num, den) * step
        vat = self._vat(it, x, li, cv + self._vat_extra(duty, excise))
        return _Amounts(
            cv=cv,
            duty=duty,
            excise=excise,
            vat_pct=vat.pct,
            vat_out=0 if vat.relieved or vat.at_sale else vat.amount,
            vas=vat.amount if vat.at_sale else 0,
            li=li,
            duty_code=duty_code,
            vat_code=vat.code,
            basis_missing=basis_missing,
            flat_charged=x.flat_ok and first,
            duty_relieved=not x.flat_ok and relief,
            vat_relieved=vat.relieved,
            vat_at_sale=vat.at_sale,
        )

    def _duty(
        self, it: _Item, x: _Cons, li: int, tariff: int, first: bool, basis_missing: bool
    ) -> tuple[int, int, bool]:
        """Duty, its rule code (see :class:`RuleTables`) and whether the relief applies."""
        count = len(self._lines) - 1
        relief = x.duty_relief_ok and not _prefixed(it.hs_code, self.regime.duty_relief_excluded)
        if x.flat_ok:
            if first:
                return self._flat_amount, 2 * count + 2, relief
            return 0, 2 * count + 3, relief
        if relief:
            return 0, 2 * count + 1, relief
        if li == count:
            return tariff, 2 * count, relief
        return tariff, (li + count if basis_missing else li), relief

    def _vat_extra(self, duty: int, excise: int) -> int:
        """What the VAT base adds to the customs value."""
        extra = 0
        if self.regime.vat_base_includes_duty:
            extra += duty
        if self.regime.vat_base_includes_excise:
            extra += excise
        return extra

    def _vat(self, it: _Item, x: _Cons, li: int, base: int) -> _Vat:
        """The item's VAT rate, amount, place of collection and rule code."""
        regime = self.regime
        line = self._lines[li]
        relief = x.vat_relief_ok and not _prefixed(it.hs_code, regime.vat_relief_excluded)
        at_sale = x.at_sale_ok and not relief
        if self._at_sale_excludes_excise and line.has_excise:
            at_sale = False
        sources = self._sources
        lines = len(self._lines) - 1
        if relief:
            code = 2 * sources + 2 * lines
        elif line.vat is not None:
            code = li + 2 * sources + (lines if at_sale else 0)
        else:
            code = x.source + (sources if at_sale else 0)
        pct = line.vat if line.vat is not None else x.country_vat
        amount = _div_half_up(base * pct, _PCT_DEN * self._step) * self._step
        return _Vat(pct=pct, amount=amount, code=code, relieved=relief, at_sale=at_sale)

    # ------------------------------------------------------------------ output rows

    def _item_row(self, it: _Item, a: _Amounts) -> dict[str, Any]:
        return {
            c.CONSIGNMENT_ID: it.cid,
            c.ITEM_NO: it.item_no,
            c.HS_CODE: it.hs_code,
            c.TARIFF_LINE_ID: self._line_ids[a.li],
            c.CUSTOMS_VALUE: _money(a.cv),
            c.DUTY: _money(a.duty),
            c.DUTY_RULE: self._duty_rules[a.duty_code],
            c.EXCISE: _money(a.excise),
            c.EXCISE_RULE: self._excise_rules[a.li],
            c.VAT_RATE_PCT: _pct(a.vat_pct),
            c.VAT: _money(a.vat_out),
            c.VAT_RULE: self._vat_rules[a.vat_code],
            c.VAT_AT_SALE: _money(a.vas),
            c.TOTAL_PAYABLE_AT_BORDER: _money(a.duty + a.excise + a.vat_out),
            c.IS_SPECIFIC_BASIS_MISSING: a.basis_missing,
        }

    def _consignment_row(self, x: _Cons, amounts: list[_Amounts]) -> dict[str, Any]:
        regime = self.regime
        duty = sum(a.duty for a in amounts)
        excise = sum(a.excise for a in amounts)
        vat = sum(a.vat_out for a in amounts)
        summary = _Summary(
            flat_applied=x.flat_ok and x.count > 0,
            flat_items=sum(1 for a in amounts if a.flat_charged),
            duty_relieved=any(a.duty_relieved for a in amounts),
            vat_relieved=any(a.vat_relieved for a in amounts),
            at_sale=any(a.vat_at_sale for a in amounts),
            vat=vat,
            excise=excise,
        )
        rate_shown = _div_half_up(x.num * _DISPLAY_RATE_SCALE, x.den)
        return {
            c.CONSIGNMENT_ID: x.cid,
            c.REGIME_ID: regime.id,
            c.IS_REGIME_IN_FORCE: regime.is_in_force(x.day),
            c.VALUATION_BASIS: regime.valuation_basis.value,
            c.CURRENCY: regime.currency,
            c.DECLARED_CURRENCY: x.currency,
            c.ASSESSMENT_DATE: x.day,
            c.EXCHANGE_RATE: _rate_shown(rate_shown),
            c.EXCHANGE_RATE_DATE: x.rate_date,
            c.INTRINSIC_VALUE: _money(x.iv),
            c.CUSTOMS_VALUE: _money(sum(a.cv for a in amounts)),
            c.DUTY_TOTAL: _money(duty),
            c.EXCISE_TOTAL: _money(excise),
            c.VAT_TOTAL: _money(vat),
            c.VAT_AT_SALE_TOTAL: _money(sum(a.vas for a in amounts)),
            c.TOTAL_PAYABLE_AT_BORDER: _money(duty + excise + vat),
            c.ITEM_COUNT: x.count,
            c.FLAT_DUTY_ITEMS: summary.flat_items,
            c.DUTY_RELIEF_APPLIED: summary.duty_relieved,
            c.VAT_RELIEF_APPLIED: summary.vat_relieved,
            c.FLAT_DUTY_APPLIED: summary.flat_applied,
            c.VAT_COLLECTED_AT_SALE: summary.at_sale,
            c.RULES: self._rules(summary),
        }

    def _rules(self, s: _Summary) -> str:
        """The ``rules`` text, as ``_rules_summary`` of the batch path builds it."""
        regime = self.regime
        if s.flat_applied:
            duty = f"duty flat {s.flat_items} x {self._flat_text} {regime.currency}"
        elif s.duty_relieved:
            duty = "duty de minimis"
        else:
            duty = f"duty tariff {self.schedule.id}"
        if s.at_sale and s.vat > 0:
            vat = _VAT_PARTS[3]
        elif s.at_sale:
            vat = _VAT_PARTS[2]
        elif s.vat_relieved:
            vat = _VAT_PARTS[1]
        else:
            vat = _VAT_PARTS[0]
        return f"{self._head}; {duty}; {vat}" + ("; excise" if s.excise > 0 else "")


@dataclass(frozen=True, slots=True)
class _Vat:
    """An item's VAT: rate (percent x 10^4), amount, rule code and where it is collected."""

    pct: int
    amount: int
    code: int
    relieved: bool
    at_sale: bool


@dataclass(frozen=True, slots=True)
class _Summary:
    """What the consignment's ``rules`` text and flags are made of."""

    flat_applied: bool
    flat_items: int
    duty_relieved: bool
    vat_relieved: bool
    at_sale: bool
    vat: int
    excise: int


def _item(row: Mapping[str, Any], position: int, index: Mapping[str, int]) -> _Item:
    """One goods-item row, checked, with its consignment's position."""
    for key in _ITEM_KEYS:
        if key not in row:
            raise _NotCoveredError
    cid = _text(row[m.CONSIGNMENT_ID])
    ci = index.get(cid)
    item_no = row[m.ITEM_NO]
    code = _text(row[m.HS_CODE])
    if ci is None or type(item_no) is not int:
        raise _NotCoveredError
    if not (code.isascii() and code.isdigit() and len(code) <= _MAX_CODE_DIGITS):
        raise _NotCoveredError
    return _Item(
        row=position,
        ci=ci,
        cid=cid,
        item_no=item_no,
        hs_code=code,
        qty=_micro(row[m.QUANTITY]),
        unit=_optional_text(row[QUANTITY_UNIT]),
        mass=_micro(row[m.NET_MASS_KG]),
        value=_money_units(row[m.VALUE]),
    )


def _basis(unit: str | None, it: _Item) -> int | None:
    """The mass or quantity a specific amount in ``unit`` is charged on, if declared."""
    if unit is None:
        return None
    if unit == KILOGRAM:
        return it.mass
    if it.unit is not None and unit == it.unit:
        return it.qty
    return None


def _prefixed(code: str, prefixes: tuple[str, ...]) -> bool:
    return any(code.startswith(p) for p in prefixes)


def _scaled_line(line: TariffLine) -> _Line:
    return _Line(
        adv=scaled(line.ad_valorem_pct, PCT_SCALE),
        skg=scaled(line.specific_per_kg, MONEY_SCALE),
        sunit=scaled(line.specific_per_unit, MONEY_SCALE),
        unit=line.unit,
        vat=None if line.vat_pct is None else scaled(line.vat_pct, PCT_SCALE),
        xadv=scaled(line.excise_pct, PCT_SCALE),
        xkg=scaled(line.excise_per_kg, MONEY_SCALE),
        xunit_amt=scaled(line.excise_per_unit, MONEY_SCALE),
        xunit=line.excise_unit,
        has_excise=line.has_excise,
    )


def _clipped_period(line: TariffLine, schedule: TariffSchedule) -> tuple[date, date | None]:
    """The line's period clipped to the schedule's (``lines_frame``'s ``_from``/``_to``)."""
    start = max(line.effective_from, schedule.effective_from)
    ends = [d for d in (line.effective_to, schedule.effective_to) if d is not None]
    return start, min(ends) if ends else None
