"""Exact money arithmetic on Polars columns: scaled ``Int128`` integers and half-up rounding.

Every amount on the assessment path is an integer number of *units* of 1/10,000 of a currency
unit (the scale of :data:`smartcustoms.model.MONEY`, ``Decimal(18, 4)``). Rates are integers too:
percentages in 1/10,000 of a percent, exchange rates in 1/10^8, masses and quantities in
millionths. Each amount is computed as one exact fraction and rounded **once**, half away from
zero ("ROUND_HALF_UP" in :mod:`decimal` terms), to the currency's minor unit.

Polars' own ``Decimal`` arithmetic is not used for this: its multiplication keeps the larger
input scale and rounds half-to-even, and its ``round`` is half-to-even as well.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Final

import polars as pl

from smartcustoms.model import MONEY

__all__ = [
    "MONEY_SCALE",
    "PCT_SCALE",
    "QTY_SCALE",
    "RATE_SCALE",
    "div_half_up",
    "from_units",
    "i128",
    "quantity_micro",
    "round_half_up",
    "scaled",
    "to_units",
    "unscaled",
]

MONEY_SCALE: Final = 10_000
"""Units per currency unit (``Decimal(18, 4)``)."""

PCT_SCALE: Final = 10_000
"""Scaled units per percentage point: 12.5 % is 125,000."""

RATE_SCALE: Final = 10**8
"""Scaled units per exchange-rate unit: 1.0411 is 104,110,000."""

QTY_SCALE: Final = 10**6
"""Millionths per kilogram or per unit of quantity."""

_UNIT: Final = Decimal("0.0001")


def i128(value: int) -> pl.Expr:
    """A literal ``Int128`` expression (Polars does not widen Python ints to ``Int128``)."""
    return pl.lit(value, dtype=pl.Int128)


def to_units(expr: pl.Expr) -> pl.Expr:
    """``MONEY`` (or any decimal) column to its exact ``Int128`` number of 1/10,000 units."""
    return expr.cast(MONEY).to_physical().cast(pl.Int128)


def from_units(expr: pl.Expr) -> pl.Expr:
    """``Int128`` units back to an exact ``MONEY`` column.

    Goes through ``Int64`` (every ``Decimal(18, 4)`` amount fits) because Polars casts
    ``Int64`` to ``Decimal`` about twice as fast as ``Int128``; the product with 0.0001 is
    exact at scale 4.
    """
    return (
        expr.cast(pl.Int64).cast(pl.Decimal(18, 0)) * pl.lit(_UNIT, dtype=pl.Decimal(18, 4))
    ).cast(MONEY)


def div_half_up(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """``numerator / denominator`` rounded half up, for ``numerator`` >= 0 and ``denominator`` > 0.

    Computed exactly as ``(2n + d) // 2d``. Every amount on the assessment path is
    non-negative (values, costs, rates and quantities are), so half up and half away from
    zero coincide.
    """
    two = i128(2)
    return (numerator * two + denominator) // (denominator * two)


def quantity_micro(expr: pl.Expr) -> pl.Expr:
    """A ``Float64`` mass or quantity as ``Int128`` millionths, rounded to the nearest one."""
    return (expr * QTY_SCALE).round(0).cast(pl.Int64).cast(pl.Int128)


def scaled(value: Decimal, scale: int) -> int:
    """``value`` times ``scale`` as an exact integer.

    Raises:
        ValueError: When ``value`` has more decimal places than ``scale`` can hold.
    """
    product = value * scale
    if product != product.to_integral_value():
        raise ValueError(f"{value} has more decimal places than 1/{scale} allows")
    return int(product)


def unscaled(value: int, scale: int) -> Decimal:
    """The exact decimal of ``value / scale`` (``scale`` a power of ten)."""
    places = len(str(scale)) - 1
    return (Decimal(value) / Decimal(scale)).quantize(Decimal(1).scaleb(-places))


def round_half_up(value: Decimal, places: int) -> Decimal:
    """Round a scalar decimal half away from zero to ``places`` decimal places."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
