"""Exact money arithmetic and the Polars decimal behaviour it relies on."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartcustoms.model import MONEY
from smartcustoms.tariff._money import div_half_up, from_units, i128, scaled, to_units


def _div(n: int, d: int) -> int:
    frame = pl.DataFrame({"n": [n], "d": [d]}, schema={"n": pl.Int128, "d": pl.Int128})
    return int(frame.select(div_half_up(pl.col("n"), pl.col("d"))).item())


@pytest.mark.parametrize(
    ("n", "d", "expected"),
    [(5, 10, 1), (4, 10, 0), (15, 10, 2), (25, 10, 3), (249, 100, 2), (250, 100, 3), (0, 7, 0)],
)
def test_div_half_up_boundaries(n: int, d: int, expected: int) -> None:
    """Exactly half rounds up (half-even would round 0.5 and 2.5 down)."""
    assert _div(n, d) == expected


@given(st.integers(0, 10**24), st.integers(1, 10**13))
def test_div_half_up_matches_decimal(n: int, d: int) -> None:
    expected = (Decimal(n) / Decimal(d)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    assert _div(n, d) == int(expected)


@given(st.decimals(min_value=0, max_value=Decimal("99999999999999.9999"), places=4))
def test_units_round_trip(value: Decimal) -> None:
    series = pl.Series([value], dtype=MONEY)
    frame = pl.DataFrame({"m": series})
    units = frame.select(to_units(pl.col("m"))).item()
    assert units == int(value * 10_000)
    back = frame.select(from_units(to_units(pl.col("m")))).item()
    assert back == value


def test_polars_decimal_arithmetic_is_not_what_we_use() -> None:
    """Polars rounds decimal products half-to-even: the reason for integer units."""
    frame = pl.DataFrame({"d": pl.Series([Decimal("0.0025")], dtype=MONEY)})
    product = frame.select(pl.col("d") * pl.lit(Decimal("0.1"), dtype=pl.Decimal(18, 1))).item()
    assert product in (Decimal("0.0002"), Decimal("0.0003"))  # depends on Polars, not on us
    rounded = frame.select(pl.col("d").round(3)).item()
    assert rounded == Decimal("0.002")  # half-to-even


def test_scaled_refuses_extra_places() -> None:
    assert scaled(Decimal("12.5"), 10_000) == 125_000
    with pytest.raises(ValueError, match="decimal places"):
        scaled(Decimal("0.00001"), 10_000)


def test_i128_literal() -> None:
    assert pl.select(i128(2**100)).item() == 2**100
