"""Item-level assessment: tariff line, customs value, duty, excise and VAT, with rule codes.

The item frame arrives sorted by consignment (``_ci``) then ``item_no``, with the
consignment-level columns it needs already gathered in (see :mod:`.assessment`). Rules are
carried as small integer codes into string tables built once per call (:class:`RuleTables`)
and turned into text only at the end: a million rows then cost one string gather per rule
column instead of a chain of string ``when``/``then``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final

import polars as pl

from smartcustoms.model import columns as m
from smartcustoms.tariff._money import (
    MONEY_SCALE,
    PCT_SCALE,
    div_half_up,
    i128,
    quantity_micro,
    scaled,
)
from smartcustoms.tariff.regimes import Regime
from smartcustoms.tariff.schedule import KILOGRAM, TariffSchedule, format_decimal

__all__ = ["QUANTITY_UNIT", "RuleTables", "item_amounts", "money_text", "with_lines"]

# The model has no constant for this column yet (asked for in the hand-over note).
QUANTITY_UNIT: Final = "quantity_unit"

_PCT_DEN: Final = 100 * PCT_SCALE  # percent x 10^4 -> fraction; equals QTY_SCALE (10^6)
_MAX_SHIFT_ITEMS: Final = 16  # up to this many items per consignment, flat keys use shifts

_LINE_NUMERIC: Final = ("_adv", "_skg", "_sunit", "_xadv", "_xkg", "_xunit_amt")


def money_text(value: Decimal, minor_unit: int) -> str:
    """An amount with the currency's decimals (``3.00``)."""
    return f"{value:.{minor_unit}f}"


@dataclass(frozen=True)
class RuleTables:
    """Every rule text an assessment can produce, addressed by integer code.

    Layout, with ``L`` lines and ``R`` dated country VAT rates (source ``R`` is the regime
    default rate):

    * duty: ``li`` line rule, ``L + li`` line rule with a missing specific basis, then
      ``2L`` no line, ``2L+1`` de minimis, ``2L+2`` flat duty charged, ``2L+3`` flat duty
      already charged on an earlier item;
    * excise: ``li`` line excise (``none`` for lines without excise), ``L`` no line;
    * VAT: source ``s`` at border, ``R+1+s`` at sale, ``2(R+1)+li`` line rate at border,
      ``2(R+1)+L+li`` line rate at sale, ``2(R+1)+2L`` VAT de minimis;
    * line ids: ``li``, ``L`` null.
    """

    duty: pl.Series
    excise: pl.Series
    vat: pl.Series
    line_ids: pl.Series
    lines: int
    sources: int

    @classmethod
    def build(cls, regime: Regime, schedule: TariffSchedule) -> RuleTables:
        """Build the tables for one regime and schedule."""
        rid = regime.id
        cur = regime.currency
        rules = [f"{schedule.line_id(x)} {x.duty_text(schedule.currency)}" for x in schedule]
        duty_threshold = (
            ""
            if regime.duty_de_minimis is None
            else money_text(regime.duty_de_minimis, regime.minor_unit)
        )
        flat = regime.flat_duty
        flat_first = flat_other = ""
        if flat is not None:
            amount = money_text(flat.amount, regime.minor_unit)
            flat_first = (
                f"{rid}:flat-duty {amount} {cur} per tariff subheading ({flat.item_digits}-digit)"
            )
            flat_other = f"{rid}:flat-duty subheading already charged on an earlier item"
        duty = [
            *rules,
            *(f"{rule} (specific basis missing)" for rule in rules),
            f"{schedule.id}:no-line duty 0",
            f"{rid}:duty-de-minimis intrinsic value <= {duty_threshold} {cur}",
            flat_first,
            flat_other,
        ]
        excise = [
            f"{schedule.line_id(x)} {x.excise_text(schedule.currency)}" if x.has_excise else "none"
            for x in schedule
        ] + ["none"]
        sources = [
            *(
                vat_rule_texts(regime, r.pct, f"destination {r.country}")
                for r in regime.vat_country_rates
            ),
            vat_rule_texts(regime, regime.vat_pct, "regime default"),
        ]
        line_vat = [
            vat_rule_texts(regime, x.vat_pct, "tariff line") if x.vat_pct is not None else ("", "")
            for x in schedule
        ]
        vat_threshold = (
            ""
            if regime.vat_de_minimis is None
            else money_text(regime.vat_de_minimis, regime.minor_unit)
        )
        vat = [
            *(border for border, _ in sources),
            *(sale for _, sale in sources),
            *(border for border, _ in line_vat),
            *(sale for _, sale in line_vat),
            f"{rid}:vat-de-minimis intrinsic value <= {vat_threshold} {cur}",
        ]
        return cls(
            duty=pl.Series(duty, dtype=pl.String),
            excise=pl.Series(excise, dtype=pl.String),
            vat=pl.Series(vat, dtype=pl.String),
            line_ids=pl.Series([schedule.line_id(x) for x in schedule] + [None], dtype=pl.String),
            lines=len(schedule),
            sources=len(sources),
        )


def vat_rule_texts(regime: Regime, pct: Decimal, source: str) -> tuple[str, str]:
    """Rule ids for VAT at ``pct`` charged at the border and collected at sale."""
    at_sale = regime.vat_at_sale
    how = (
        "IOSS-like number"
        if at_sale is not None and at_sale.requires_number
        else "mandatory below threshold"
    )
    text = format_decimal(pct)
    return (
        f"{regime.id}:vat {text}% at border ({source})",
        f"{regime.id}:vat-at-sale {text}% collected at sale ({how})",
    )


def with_lines(frame: pl.DataFrame, schedule: TariffSchedule) -> pl.DataFrame:
    """Attach ``_li`` (line row; ``L`` when none applies) and the line's rates to every item.

    Distinct ``(hs_code, epoch)`` pairs are matched once; items find their pair through one
    integer key (code digits, code length and epoch packed into an Int64).
    """
    lines = schedule.lines_frame
    count = lines.height
    epochs = schedule.epoch_starts.len() + 1
    code = pl.col(m.HS_CODE)
    key = (code.cast(pl.Int64, strict=False) * 11 + code.str.len_chars().cast(pl.Int64)) * (
        epochs
    ) + pl.col("_ep").cast(pl.Int64)
    frame = frame.with_columns(key.alias("_hk"))
    pairs = frame.select("_hk", m.HS_CODE, "_ep").drop_nulls("_hk").unique(subset="_hk")
    index = schedule.line_index(pairs, m.HS_CODE, "_ep").join(
        pairs, on=[m.HS_CODE, "_ep"], how="inner"
    )
    frame = frame.join(index.select("_hk", "_li"), on="_hk", how="left", maintain_order="left")
    li = frame.get_column("_li").fill_null(count)
    # A sentinel row at index L stands for "no line": zero rates, no units, no excise.
    table = pl.concat(
        [
            lines.select(*_LINE_NUMERIC, "_vat", "_unit", "_xunit", "_has_excise"),
            pl.DataFrame(
                {
                    **{name: [0] for name in _LINE_NUMERIC},
                    "_vat": [None],
                    "_unit": [None],
                    "_xunit": [None],
                    "_has_excise": [False],
                },
                schema={
                    **{name: pl.Int128 for name in _LINE_NUMERIC},
                    "_vat": pl.Int128,
                    "_unit": pl.String,
                    "_xunit": pl.String,
                    "_has_excise": pl.Boolean,
                },
            ),
        ]
    )
    return frame.with_columns(li.alias("_li")).with_columns(
        table.get_column(name).gather(li) for name in table.columns
    )


def _flat_first(frame: pl.DataFrame, digits: int) -> pl.Series:
    """Whether each item is the first (lowest ``item_no``) of its truncated code in its consignment.

    Relies on the frame being sorted by ``_ci`` then ``item_no``. Consignments are small, so
    comparing each row with the few rows before it is much cheaper than a hash of a million
    keys; large consignments fall back to ``is_first_distinct``.
    """
    item_key = pl.col(m.HS_CODE).str.slice(0, digits)
    packed = (
        pl.col("_ci").cast(pl.Int64) * (11 * 10**digits + 11)
        + item_key.cast(pl.Int64, strict=False).fill_null(0) * 11
        + item_key.str.len_chars().cast(pl.Int64)
    )
    longest = frame.get_column("_n").max()
    span = int(longest) if isinstance(longest, int) else 1
    if span > _MAX_SHIFT_ITEMS:
        return frame.select(packed.is_first_distinct()).to_series()
    keyed = frame.select(packed.alias("_k"))
    first = pl.repeat(True, pl.len())
    for back in range(1, span):
        first = first & pl.col("_k").ne_missing(pl.col("_k").shift(back))
    return keyed.select(first.alias("_first")).to_series()


def item_amounts(
    frame: pl.DataFrame, regime: Regime, step: int, tables: RuleTables
) -> pl.DataFrame:
    """Customs value, duty, excise and VAT of every item, with integer rule codes.

    Adds ``_cv``, ``_duty``, ``_excise``, ``_vat`` (at the border), ``_vas`` (at sale),
    ``_vat_pct`` (Int128 units), ``_duty_code``, ``_vat_code``, ``_basis_missing``,
    ``_flat_charged``, ``_duty_relieved``, ``_vat_relieved``, ``_vat_at_sale``.
    """
    zero = i128(0)
    step_e = i128(step)
    count = tables.lines
    share_den = pl.when(pl.col("_s") > zero).then(pl.col("_s")).otherwise(i128(1))
    frame = frame.with_columns(
        _mass=quantity_micro(pl.col(m.NET_MASS_KG)),
        _qty=quantity_micro(pl.col(m.QUANTITY)),
        # CIF: transport and insurance apportioned by value, to 1/10,000 of the currency.
        _cvx=pl.col("_v") + div_half_up(pl.col("_extra") * pl.col("_v"), share_den),
    ).with_columns(
        _cv=div_half_up(pl.col("_cvx") * pl.col("_num"), pl.col("_den") * step_e) * step_e,
        _ubasis=pl.when(pl.col("_unit") == KILOGRAM)
        .then(pl.col("_mass"))
        .when(pl.col("_unit") == pl.col(QUANTITY_UNIT))
        .then(pl.col("_qty")),
        _xbasis=pl.when(pl.col("_xunit") == KILOGRAM)
        .then(pl.col("_mass"))
        .when(pl.col("_xunit") == pl.col(QUANTITY_UNIT))
        .then(pl.col("_qty")),
    )
    frame = frame.with_columns(
        _basis_missing=((pl.col("_skg") > zero) & pl.col("_mass").is_null())
        | ((pl.col("_sunit") > zero) & pl.col("_ubasis").is_null())
        | ((pl.col("_xkg") > zero) & pl.col("_mass").is_null())
        | ((pl.col("_xunit_amt") > zero) & pl.col("_xbasis").is_null()),
    )
    # Percentages (x10^4 per percent) and quantities (x10^6) share the denominator 10^6;
    # specific amounts are converted from the schedule currency in the same fraction.
    den = i128(_PCT_DEN) * pl.col("_sden") * step_e

    def specific(rate: str, basis: str) -> pl.Expr:
        return pl.col(rate) * pl.col(basis).fill_null(zero) * pl.col("_snum")

    tariff_duty = (
        div_half_up(
            pl.col("_cv") * pl.col("_adv") * pl.col("_sden")
            + specific("_skg", "_mass")
            + specific("_sunit", "_ubasis"),
            den,
        )
        * step_e
    )
    li = pl.col("_li")
    tariff_code = (
        pl.when(li == count)
        .then(pl.lit(2 * count, dtype=pl.UInt32))
        .when(pl.col("_basis_missing"))
        .then(li + count)
        .otherwise(li)
    )
    relief = pl.col("_duty_relief_ok") & ~prefix_match(regime.duty_relief_excluded)
    flat = regime.flat_duty
    if flat is not None:
        frame = frame.with_columns(_flat_first(frame, flat.item_digits).alias("_first"))
        first = pl.col("_first")
        duty = (
            pl.when(pl.col("_flat_ok"))
            .then(pl.when(first).then(i128(scaled(flat.amount, MONEY_SCALE))).otherwise(zero))
            .when(relief)
            .then(zero)
            .otherwise(tariff_duty)
        )
        flat_code = pl.when(first).then(2 * count + 2).otherwise(2 * count + 3)
        flat_charged = pl.col("_flat_ok") & first
    else:
        duty = pl.when(relief).then(zero).otherwise(tariff_duty)
        flat_code = pl.lit(0)
        flat_charged = pl.lit(False)
    frame = frame.with_columns(
        _duty=duty,
        _duty_code=pl.when(pl.col("_flat_ok"))
        .then(flat_code)
        .when(relief)
        .then(2 * count + 1)
        .otherwise(tariff_code)
        .cast(pl.UInt32),
        _flat_charged=flat_charged,
        _duty_relieved=~pl.col("_flat_ok") & relief,
    )
    frame = frame.with_columns(
        _excise=div_half_up(
            (pl.col("_cv") + pl.col("_duty")) * pl.col("_xadv") * pl.col("_sden")
            + specific("_xkg", "_mass")
            + specific("_xunit_amt", "_xbasis"),
            den,
        )
        * step_e,
    )
    return _item_vat(frame, regime, step, tables)


def prefix_match(prefixes: tuple[str, ...]) -> pl.Expr:
    """Whether the item's HS code starts with one of ``prefixes``."""
    if not prefixes:
        return pl.lit(False)
    return pl.any_horizontal(pl.col(m.HS_CODE).str.starts_with(p) for p in prefixes)


def _item_vat(frame: pl.DataFrame, regime: Regime, step: int, tables: RuleTables) -> pl.DataFrame:
    zero = i128(0)
    step_e = i128(step)
    base = pl.col("_cv")
    if regime.vat_base_includes_duty:
        base = base + pl.col("_duty")
    if regime.vat_base_includes_excise:
        base = base + pl.col("_excise")
    relief = pl.col("_vat_relief_ok") & ~prefix_match(regime.vat_relief_excluded)
    at_sale = pl.col("_at_sale_ok") & ~relief
    at_sale_cfg = regime.vat_at_sale
    if at_sale_cfg is not None and at_sale_cfg.excludes_excise_goods:
        at_sale = at_sale & ~pl.col("_has_excise")
    line_vat = pl.col("_vat").is_not_null()
    sources = tables.sources
    lines = tables.lines
    border_code = pl.when(line_vat).then(pl.col("_li") + 2 * sources).otherwise(pl.col("_src"))
    sale_code = (
        pl.when(line_vat)
        .then(pl.col("_li") + 2 * sources + lines)
        .otherwise(pl.col("_src") + sources)
    )
    frame = frame.with_columns(
        _vat_pct=pl.when(line_vat).then(pl.col("_vat")).otherwise(pl.col("_cvat")),
        _vat_relieved=relief,
        _vat_at_sale=at_sale,
        _vat_code=pl.when(relief)
        .then(2 * sources + 2 * lines)
        .when(at_sale)
        .then(sale_code)
        .otherwise(border_code)
        .cast(pl.UInt32),
    )
    frame = frame.with_columns(
        _vat_amount=div_half_up(base * pl.col("_vat_pct"), i128(_PCT_DEN) * step_e) * step_e
    )
    return frame.with_columns(
        _vat_out=pl.when(pl.col("_vat_relieved") | pl.col("_vat_at_sale"))
        .then(zero)
        .otherwise(pl.col("_vat_amount")),
        _vas=pl.when(pl.col("_vat_at_sale")).then(pl.col("_vat_amount")).otherwise(zero),
    )
