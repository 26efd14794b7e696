"""Assessment of duties and taxes, per goods item and per consignment, under a regime.

:func:`assess` is one vectorised pass over the canonical frames: a bulk file of a million
consignments and a single API submission (a one-row frame) go through the same code.

How each amount is computed (``docs/regimes.md`` has the worked example):

1. **Assessment date** ``d``: the UTC date of ``filed_at``; ``on`` (default: today, UTC) when
   ``filed_at`` is null.
2. **Exchange**: every amount declared in currency ``X`` is converted to the regime currency
   ``R`` at ``rate(R, d) / rate(X, d)`` (see :mod:`smartcustoms.tariff.rates`).
3. **Intrinsic value** ``IV`` (consignment): the sum of item values, converted, rounded once.
   It is what the de minimis, flat-duty and collection-at-sale thresholds are tested against
   (a value *not exceeding* the threshold qualifies).
4. **Customs value** ``CV`` (item): CIF adds the consignment's transport and insurance costs,
   apportioned to items in proportion to their value (to 1/10,000 of the declared currency);
   FOB does not. Then converted and rounded.
5. **Duty** (item): ``CV x ad valorem + net mass x per-kg + quantity x per-unit`` from the
   longest-prefix tariff line in force on ``d`` (specific amounts converted from the schedule
   currency); 0 under the duty de minimis (except excluded HS prefixes); under a flat per-item
   duty, the flat amount on the first item (lowest ``item_no``) of each distinct truncated HS
   code and 0 on the others.
6. **Excise** (item): ``(CV + duty) x excise % + mass/quantity x specific excise``.
7. **VAT** (item): ``(CV + duty + excise) x VAT rate``; the rate is the tariff line's, else the
   destination country's (dated), else the regime default. 0 at the border when relieved (VAT
   de minimis) or collected at sale (then reported in ``vat_at_sale``).

**Rounding**: every item amount (customs value, duty, excise, VAT) is computed as one exact
fraction and rounded half away from zero (ROUND_HALF_UP) to the regime currency's minor unit;
consignment totals are sums of the rounded item amounts; the intrinsic value is rounded once
at consignment level.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Final

import polars as pl

from smartcustoms.errors import InvalidInputError, Problem
from smartcustoms.model import columns as m
from smartcustoms.tariff import columns as c
from smartcustoms.tariff._items import (
    QUANTITY_UNIT,
    RuleTables,
    item_amounts,
    money_text,
    with_lines,
)
from smartcustoms.tariff._money import (
    MONEY_SCALE,
    PCT_SCALE,
    div_half_up,
    from_units,
    i128,
    scaled,
    to_units,
)
from smartcustoms.tariff.rates import ExchangeRates, missing_rate_error
from smartcustoms.tariff.regimes import FlatDutyScope, Regime, ValuationBasis
from smartcustoms.tariff.schedule import TariffSchedule

__all__ = ["Assessment", "assess"]

_DISPLAY_RATE_SCALE: Final = 10**10

_CONSIGNMENT_INPUTS: Final = (
    m.CONSIGNMENT_ID,
    m.FILED_AT,
    m.CURRENCY,
    m.TRANSPORT_COST,
    m.INSURANCE_COST,
    m.IOSS_NUMBER,
    m.COUNTRY_OF_DESTINATION,
    m.BUYER_COUNTRY,
)
_ITEM_INPUTS: Final = (
    m.CONSIGNMENT_ID,
    m.ITEM_NO,
    m.HS_CODE,
    m.QUANTITY,
    QUANTITY_UNIT,
    m.NET_MASS_KG,
    m.VALUE,
)


@dataclass(frozen=True)
class Assessment:
    """Duties and taxes of a batch of consignments under one regime.

    Attributes:
        items: One row per goods item (:data:`~smartcustoms.tariff.columns.ASSESSMENT_ITEM_SCHEMA`).
        consignments: One row per consignment
            (:data:`~smartcustoms.tariff.columns.ASSESSMENT_CONSIGNMENT_SCHEMA`).
        regime: The regime applied.
        schedule_id: Id of the tariff schedule used.
        rates_id: Id of the exchange-rate table used.
    """

    items: pl.DataFrame
    consignments: pl.DataFrame
    regime: Regime
    schedule_id: str
    rates_id: str

    def totals(self) -> dict[str, Decimal]:
        """Batch totals of the consignment money columns, in the regime currency."""
        money = (
            c.INTRINSIC_VALUE,
            c.CUSTOMS_VALUE,
            c.DUTY_TOTAL,
            c.EXCISE_TOTAL,
            c.VAT_TOTAL,
            c.VAT_AT_SALE_TOTAL,
            c.TOTAL_PAYABLE_AT_BORDER,
        )
        row = self.consignments.select(pl.col(name).sum() for name in money).row(0)
        return {name: Decimal(value or 0) for name, value in zip(money, row, strict=True)}


def _require(frame: pl.DataFrame, names: tuple[str, ...], what: str) -> None:
    missing = [name for name in names if name not in frame.columns]
    if missing:
        raise InvalidInputError(
            f"the {what} frame lacks column(s) {', '.join(missing)}",
            tuple(
                Problem(code="input.invalid", path=f"{what}.{name}", message="column missing")
                for name in missing
            ),
        )


def assess(
    consignments: pl.DataFrame,
    items: pl.DataFrame,
    *,
    regime: Regime,
    schedule: TariffSchedule,
    rates: ExchangeRates,
    on: date | None = None,
) -> Assessment:
    """Assess duty, excise and VAT for every item and consignment under ``regime``.

    Args:
        consignments: Canonical consignments frame (``CONSIGNMENT_SCHEMA``; extra columns
            are ignored). Rows are expected to have passed intake validation (unique
            ``consignment_id``, non-negative amounts, valid HS codes and currencies).
        items: Canonical goods-items frame (``ITEM_SCHEMA``).
        regime: The regime (thresholds, flat duty, VAT collection, valuation basis).
        schedule: The tariff schedule (longest HS prefix in force wins).
        rates: The exchange-rate table.
        on: Assessment date for consignments without ``filed_at`` (default: today, UTC).

    Returns:
        The assessment, consignments and items each in input order.

    Raises:
        MissingExchangeRateError: Listing every ``(currency, date)`` pair without a rate.
        InvalidInputError: When a column is missing or items refer to unknown consignments.
    """
    _require(consignments, _CONSIGNMENT_INPUTS, "consignments")
    _require(items, _ITEM_INPUTS, "items")
    fallback = on if on is not None else datetime.now(UTC).date()
    step = 10 ** (4 - regime.minor_unit)

    cons = _consignment_basics(consignments, regime, fallback)
    frame, reordered = _indexed_items(items, cons)
    sums = frame.group_by("_ci").agg(pl.col("_v").sum().alias("_s"), pl.len().alias("_n"))
    cons = cons.join(sums, on="_ci", how="left", maintain_order="left").with_columns(
        pl.col("_s").fill_null(i128(0)), pl.col("_n").fill_null(0).cast(pl.UInt32)
    )
    cons = _with_lookups(cons, regime, schedule, rates)
    cons = _with_thresholds(cons, regime, i128(step))

    carried = (
        "_n",
        "_extra",
        "_s",
        "_num",
        "_den",
        "_snum",
        "_sden",
        "_ep",
        "_src",
        "_cvat",
        "_flat_ok",
        "_duty_relief_ok",
        "_vat_relief_ok",
        "_at_sale_ok",
    )
    index = frame.get_column("_ci")
    frame = frame.with_columns(cons.get_column(name).gather(index) for name in carried)
    tables = RuleTables.build(regime, schedule)
    frame = item_amounts(with_lines(frame, schedule), regime, step, tables)

    out_items = frame.select(
        m.CONSIGNMENT_ID,
        m.ITEM_NO,
        m.HS_CODE,
        from_units(pl.col("_cv")).alias(c.CUSTOMS_VALUE),
        from_units(pl.col("_duty")).alias(c.DUTY),
        from_units(pl.col("_excise")).alias(c.EXCISE),
        _pct_decimal(pl.col("_vat_pct")).alias(c.VAT_RATE_PCT),
        from_units(pl.col("_vat_out")).alias(c.VAT),
        from_units(pl.col("_vas")).alias(c.VAT_AT_SALE),
        from_units(pl.col("_duty") + pl.col("_excise") + pl.col("_vat_out")).alias(
            c.TOTAL_PAYABLE_AT_BORDER
        ),
        pl.col("_basis_missing").alias(c.IS_SPECIFIC_BASIS_MISSING),
        *(["_row"] if reordered else []),
    ).with_columns(
        tables.line_ids.gather(frame.get_column("_li")).alias(c.TARIFF_LINE_ID),
        tables.duty.gather(frame.get_column("_duty_code")).alias(c.DUTY_RULE),
        tables.excise.gather(frame.get_column("_li")).alias(c.EXCISE_RULE),
        tables.vat.gather(frame.get_column("_vat_code")).alias(c.VAT_RULE),
    )
    if reordered:
        out_items = out_items.sort("_row")
    return Assessment(
        items=out_items.select(c.ASSESSMENT_ITEM_SCHEMA.names()),
        consignments=_consignment_results(cons, frame, regime, schedule),
        regime=regime,
        schedule_id=schedule.id,
        rates_id=rates.id,
    )


def _pct_decimal(expr: pl.Expr) -> pl.Expr:
    """Percent x 10^4 (Int128) as an exact ``Decimal(9, 4)`` percentage."""
    return (expr.cast(pl.Decimal(38, 0)) * pl.lit(Decimal("0.0001"), dtype=c.PCT)).cast(c.PCT)


def _consignment_basics(consignments: pl.DataFrame, regime: Regime, fallback: date) -> pl.DataFrame:
    zero = i128(0)
    if regime.valuation_basis is ValuationBasis.CIF:
        extra = to_units(pl.col(m.TRANSPORT_COST)).fill_null(zero) + to_units(
            pl.col(m.INSURANCE_COST)
        ).fill_null(zero)
    else:
        extra = zero
    return consignments.select(
        m.CONSIGNMENT_ID,
        pl.int_range(pl.len(), dtype=pl.UInt32).alias("_ci"),
        pl.col(m.FILED_AT)
        .dt.convert_time_zone("UTC")
        .dt.date()
        .fill_null(fallback)
        .alias(c.ASSESSMENT_DATE),
        pl.col(m.CURRENCY).alias("_cur"),
        extra.alias("_extra"),
        (pl.col(m.IOSS_NUMBER).str.strip_chars().str.len_chars() > 0)
        .fill_null(False)
        .alias("_has_number"),
        pl.coalesce(m.COUNTRY_OF_DESTINATION, m.BUYER_COUNTRY).alias("_dest"),
    )


def _indexed_items(items: pl.DataFrame, cons: pl.DataFrame) -> tuple[pl.DataFrame, bool]:
    """Items with ``_ci`` (row of their consignment), sorted by ``_ci`` then ``item_no``.

    Intake emits items grouped by consignment in consignment order; that case is detected in
    linear time and needs neither a join nor a sort. Otherwise items are joined to their
    consignment and sorted, and ``_row`` keeps their input position (second value ``True``).
    """
    frame = items.select(
        m.CONSIGNMENT_ID,
        m.ITEM_NO,
        m.HS_CODE,
        m.QUANTITY,
        QUANTITY_UNIT,
        m.NET_MASS_KG,
        to_units(pl.col(m.VALUE)).alias("_v"),
    )
    ids = frame.get_column(m.CONSIGNMENT_ID)
    starts = ids.ne_missing(ids.shift(1))
    run_ids = ids.filter(starts)
    cons_ids = cons.get_column(m.CONSIGNMENT_ID)
    if run_ids.len() == cons_ids.len() and run_ids.equals(cons_ids):
        frame = frame.with_columns((starts.cast(pl.UInt32).cum_sum() - 1).alias("_ci"))
    else:
        joined = frame.join(
            cons.select(m.CONSIGNMENT_ID, "_ci"),
            on=m.CONSIGNMENT_ID,
            how="left",
            maintain_order="left",
        )
        if joined.height != frame.height:
            raise InvalidInputError(
                "consignment_id is not unique in the consignments frame",
                (Problem("input.invalid", "consignments.consignment_id", "duplicate ids"),),
            )
        _check_orphans(joined)
        frame = joined
    ci = pl.col("_ci")
    no = pl.col(m.ITEM_NO)
    unsorted = frame.select(
        ((ci < ci.shift(1)) | ((ci == ci.shift(1)) & (no < no.shift(1)))).any()
    ).item()
    if unsorted:
        frame = frame.with_row_index("_row").sort("_ci", m.ITEM_NO, maintain_order=True)
    return frame.with_columns(ci.set_sorted()), bool(unsorted)


def _check_orphans(joined: pl.DataFrame) -> None:
    orphans = joined.filter(pl.col("_ci").is_null())
    if orphans.is_empty():
        return
    problems = [
        Problem(
            code="input.invalid",
            path=f"items[{cid}#{no}].consignment_id",
            message=f"item {no} refers to consignment {cid!r}, which is not in the batch",
        )
        for cid, no in orphans.select(m.CONSIGNMENT_ID, m.ITEM_NO).iter_rows()
    ]
    raise InvalidInputError(
        f"{len(problems)} item(s) refer to consignments that are not in the batch",
        tuple(problems),
    )


def _with_lookups(
    cons: pl.DataFrame, regime: Regime, schedule: TariffSchedule, rates: ExchangeRates
) -> pl.DataFrame:
    """Exchange fractions, VAT source and rate, and tariff epoch of every consignment.

    Computed once per distinct ``(currency, destination, day)`` and joined back on one
    packed integer key. Adds ``_num``/``_den`` (declared -> regime currency),
    ``_snum``/``_sden`` (schedule -> regime currency), ``_rate_date``, ``_src`` (row of
    the country VAT rate, or the default), ``_cvat`` (percent x 10^4) and ``_ep``.

    Raises:
        MissingExchangeRateError: Listing every ``(currency, date)`` pair without a rate.
    """
    day = pl.col(c.ASSESSMENT_DATE)
    packed = (
        pl.col("_cur").cast(pl.Categorical).to_physical().cast(pl.Int64) * 1_000_000
        + pl.col("_dest").cast(pl.Categorical).to_physical().cast(pl.Int64).fill_null(999_999)
    ) * 2**32 + (day.cast(pl.Int32).cast(pl.Int64) + 2**31)
    cons = cons.with_columns(packed.alias("_k"))
    keys = cons.select("_k", "_cur", "_dest", c.ASSESSMENT_DATE).unique(subset="_k")

    factors = rates.factors(keys, "_cur", c.ASSESSMENT_DATE, regime.currency)
    missing: list[tuple[str, date]] = []

    def collect(found: pl.DataFrame) -> None:
        for cur, when, from_missing, to_missing in (
            found.filter(pl.col("_from_missing") | pl.col("_to_missing"))
            .select("_cur", c.ASSESSMENT_DATE, "_from_missing", "_to_missing")
            .iter_rows()
        ):
            if from_missing:
                missing.append((cur, when))
            if to_missing:
                missing.append((regime.currency, when))

    collect(factors)
    days = keys.select(c.ASSESSMENT_DATE).unique()
    if schedule.currency == regime.currency:
        sched = days.with_columns(_snum=i128(1), _sden=i128(1))
    else:
        sched_factors = rates.factors(
            days.with_columns(pl.lit(schedule.currency).alias("_cur")),
            "_cur",
            c.ASSESSMENT_DATE,
            regime.currency,
        )
        collect(sched_factors)
        sched = sched_factors.select(
            c.ASSESSMENT_DATE, pl.col("_num").alias("_snum"), pl.col("_den").alias("_sden")
        )
    if missing:
        raise missing_rate_error(rates.id, missing)
    keys = (
        keys.join(
            factors.drop("_from_missing", "_to_missing"),
            on=["_cur", c.ASSESSMENT_DATE],
            how="left",
        )
        .join(sched, on=c.ASSESSMENT_DATE, how="left")
        .pipe(_with_country_vat, regime)
    )
    keys = keys.with_columns(
        schedule.epoch_index(keys.get_column(c.ASSESSMENT_DATE)).alias("_ep"),
        # Shown to 10 places; the computation keeps the exact fraction _num / _den.
        (
            div_half_up(pl.col("_num") * i128(_DISPLAY_RATE_SCALE), pl.col("_den")).cast(
                pl.Decimal(38, 0)
            )
            * pl.lit(Decimal(1).scaleb(-10), dtype=c.RATE)
        )
        .cast(c.RATE)
        .alias("_rate_shown"),
    )
    return cons.join(
        keys.drop("_cur", "_dest", c.ASSESSMENT_DATE), on="_k", how="left", maintain_order="left"
    )


def _with_country_vat(keys: pl.DataFrame, regime: Regime) -> pl.DataFrame:
    """``_src`` (index of the dated country rate, or R for the default) and ``_cvat``."""
    count = len(regime.vat_country_rates)
    table = pl.DataFrame(
        [
            {
                "_dest": r.country,
                "_vfrom": r.effective_from or date.min,
                "_vto": r.effective_to or date.max,
                "_src": i,
                "_cvat": scaled(r.pct, PCT_SCALE),
            }
            for i, r in enumerate(regime.vat_country_rates)
        ],
        schema={
            "_dest": pl.String,
            "_vfrom": pl.Date,
            "_vto": pl.Date,
            "_src": pl.UInt32,
            "_cvat": pl.Int128,
        },
    )
    found = (
        keys.select("_k", "_dest", c.ASSESSMENT_DATE)
        .join(table, on="_dest", how="inner")
        .filter(
            (pl.col("_vfrom") <= pl.col(c.ASSESSMENT_DATE))
            & (pl.col(c.ASSESSMENT_DATE) <= pl.col("_vto"))
        )
        .unique(subset="_k", keep="first")
        .select("_k", "_src", "_cvat")
    )
    return keys.join(found, on="_k", how="left").with_columns(
        pl.col("_src").fill_null(count),
        pl.col("_cvat").fill_null(i128(scaled(regime.vat_pct, PCT_SCALE))),
    )


def _with_thresholds(cons: pl.DataFrame, regime: Regime, step: pl.Expr) -> pl.DataFrame:
    """Intrinsic value ``_iv`` and the consignment-level eligibility flags."""
    cons = cons.with_columns(
        _iv=div_half_up(pl.col("_s") * pl.col("_num"), pl.col("_den") * step) * step
    )
    iv = pl.col("_iv")

    def under(threshold: Decimal | None) -> pl.Expr:
        if threshold is None:
            return pl.lit(False)
        return iv <= i128(scaled(threshold, MONEY_SCALE))

    flat = regime.flat_duty
    if flat is None:
        flat_ok = pl.lit(False)
    else:
        flat_ok = under(flat.threshold)
        if flat.scope is FlatDutyScope.IOSS_ONLY:
            flat_ok = flat_ok & pl.col("_has_number")
    at_sale = regime.vat_at_sale
    if at_sale is None:
        at_sale_ok = pl.lit(False)
    else:
        at_sale_ok = under(at_sale.threshold)
        if at_sale.requires_number:
            at_sale_ok = at_sale_ok & pl.col("_has_number")
    return cons.with_columns(
        _flat_ok=flat_ok,
        _duty_relief_ok=under(regime.duty_de_minimis),
        _vat_relief_ok=under(regime.vat_de_minimis),
        _at_sale_ok=at_sale_ok,
    )


def _consignment_results(
    cons: pl.DataFrame, frame: pl.DataFrame, regime: Regime, schedule: TariffSchedule
) -> pl.DataFrame:
    zero = i128(0)
    agg = frame.group_by("_ci").agg(
        pl.col("_cv").sum().alias("_cv_sum"),
        pl.col("_duty").sum().alias("_duty_sum"),
        pl.col("_excise").sum().alias("_excise_sum"),
        pl.col("_vat_out").sum().alias("_vat_sum"),
        pl.col("_vas").sum().alias("_vas_sum"),
        pl.col("_flat_charged").sum().cast(pl.UInt32).alias("_flat_items"),
        pl.col("_duty_relieved").any().alias("_duty_relieved_any"),
        pl.col("_vat_relieved").any().alias("_vat_relieved_any"),
        pl.col("_vat_at_sale").any().alias("_at_sale_any"),
    )
    cons = cons.join(agg, on="_ci", how="left", maintain_order="left").with_columns(
        *(
            pl.col(k).fill_null(zero)
            for k in ("_cv_sum", "_duty_sum", "_excise_sum", "_vat_sum", "_vas_sum")
        ),
        pl.col("_flat_items").fill_null(0),
        *(
            pl.col(k).fill_null(False)
            for k in ("_duty_relieved_any", "_vat_relieved_any", "_at_sale_any")
        ),
    )
    in_force = pl.lit(True)
    if regime.effective_from is not None:
        in_force = in_force & (pl.col(c.ASSESSMENT_DATE) >= regime.effective_from)
    if regime.effective_to is not None:
        in_force = in_force & (pl.col(c.ASSESSMENT_DATE) <= regime.effective_to)
    flat_applied = pl.col("_flat_ok") & (pl.col("_n") > 0)
    cons = cons.with_columns(flat_applied.alias("_flat_applied"))
    rules = _rules_summary(cons, regime, schedule)
    return cons.select(
        m.CONSIGNMENT_ID,
        pl.lit(regime.id).alias(c.REGIME_ID),
        in_force.alias(c.IS_REGIME_IN_FORCE),
        pl.lit(regime.valuation_basis.value).alias(c.VALUATION_BASIS),
        pl.lit(regime.currency).alias(c.CURRENCY),
        pl.col("_cur").alias(c.DECLARED_CURRENCY),
        c.ASSESSMENT_DATE,
        pl.col("_rate_shown").alias(c.EXCHANGE_RATE),
        pl.col("_rate_date").alias(c.EXCHANGE_RATE_DATE),
        from_units(pl.col("_iv")).alias(c.INTRINSIC_VALUE),
        from_units(pl.col("_cv_sum")).alias(c.CUSTOMS_VALUE),
        from_units(pl.col("_duty_sum")).alias(c.DUTY_TOTAL),
        from_units(pl.col("_excise_sum")).alias(c.EXCISE_TOTAL),
        from_units(pl.col("_vat_sum")).alias(c.VAT_TOTAL),
        from_units(pl.col("_vas_sum")).alias(c.VAT_AT_SALE_TOTAL),
        from_units(pl.col("_duty_sum") + pl.col("_excise_sum") + pl.col("_vat_sum")).alias(
            c.TOTAL_PAYABLE_AT_BORDER
        ),
        pl.col("_n").alias(c.ITEM_COUNT),
        pl.col("_flat_items").alias(c.FLAT_DUTY_ITEMS),
        pl.col("_duty_relieved_any").alias(c.DUTY_RELIEF_APPLIED),
        pl.col("_vat_relieved_any").alias(c.VAT_RELIEF_APPLIED),
        pl.col("_flat_applied").alias(c.FLAT_DUTY_APPLIED),
        pl.col("_at_sale_any").alias(c.VAT_COLLECTED_AT_SALE),
        rules.alias(c.RULES),
    )


def _rules_summary(cons: pl.DataFrame, regime: Regime, schedule: TariffSchedule) -> pl.Series:
    """The ``rules`` text of each consignment, from a small table of every combination.

    ``"<regime> <basis>; <duty part>; <VAT part>[; excise]"``: the duty part is the tariff,
    the de minimis or ``duty flat <n> x <amount>``; the VAT part says where VAT is collected.
    """
    flat = regime.flat_duty
    flat_text = "" if flat is None else money_text(flat.amount, regime.minor_unit)
    most = cons.get_column("_flat_items").max()
    most_items = int(most) if isinstance(most, int) else 0
    duty_parts = [f"duty tariff {schedule.id}", "duty de minimis"] + [
        f"duty flat {n} x {flat_text} {regime.currency}" for n in range(most_items + 1)
    ]
    vat_parts = [
        "VAT at border",
        "VAT de minimis",
        "VAT at sale",
        "VAT at sale (excise goods at border)",
    ]
    head = f"{regime.id} {regime.valuation_basis.value}"
    table = pl.Series(
        [
            f"{head}; {duty}; {vat}" + ("; excise" if excise else "")
            for duty in duty_parts
            for vat in vat_parts
            for excise in (False, True)
        ],
        dtype=pl.String,
    )
    zero = i128(0)
    duty_code = (
        pl.when(pl.col("_flat_applied"))
        .then(pl.col("_flat_items").cast(pl.UInt32) + 2)
        .when(pl.col("_duty_relieved_any"))
        .then(1)
        .otherwise(0)
    )
    vat_code = (
        pl.when(pl.col("_at_sale_any") & (pl.col("_vat_sum") > zero))
        .then(3)
        .when(pl.col("_at_sale_any"))
        .then(2)
        .when(pl.col("_vat_relieved_any"))
        .then(1)
        .otherwise(0)
    )
    excise_code = (pl.col("_excise_sum") > zero).cast(pl.UInt32)
    index = cons.select(
        ((duty_code * len(vat_parts) + vat_code) * 2 + excise_code).cast(pl.UInt32)
    ).to_series()
    return table.gather(index)
