"""Identifiers with the real-world structure (and check digits) of their schemes, vectorised.

* UPU S10 postal item identifiers (UPU standard S10): two service letters, an 8-digit serial,
  a check digit and the ISO country code of the issuing operator, e.g. ``RR123456785CN``.
  The check digit weights the serial digits 8 6 4 2 3 5 9 7, takes the sum modulo 11 and
  uses ``11 - r``, with 10 -> 0 and 11 -> 5.
* IATA air waybill numbers: a 3-digit airline prefix and an 8-digit serial whose last digit
  is the first seven modulo 7, written ``157-12345675``.
* UPU receptacle identifiers (UPU standard S9 / CN 38): 29 characters - origin and
  destination offices of exchange, mail category and subclass, year, despatch number,
  receptacle serial, highest-receptacle and registered indicators, weight in hectograms.
* IOSS-like numbers: ``IM`` + ISO 3166 numeric country + 7 digits (12 characters).

Serial numbers come from :func:`permute`, a bijection on ``[0, 10**digits)``, so ids derived
from distinct positions in a run never collide and still look random.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

__all__ = [
    "S10_WEIGHTS",
    "awb_check_digit",
    "format_awb",
    "format_s10",
    "permute",
    "s10_check_digit",
    "s10_check_digits",
]

S10_WEIGHTS: Final = (8, 6, 4, 2, 3, 5, 9, 7)
"""Weights of the eight serial digits in the S10 check digit."""

I64 = npt.NDArray[np.int64]


def s10_check_digit(serial: str) -> int:
    """The S10 check digit of an 8-digit serial.

    Args:
        serial: Exactly eight decimal digits.

    Returns:
        The check digit (0-9).

    Raises:
        ValueError: When ``serial`` is not eight digits.
    """
    if len(serial) != 8 or not serial.isdigit():
        raise ValueError(f"an S10 serial is 8 digits, not {serial!r}")
    r = 11 - sum(w * int(d) for w, d in zip(S10_WEIGHTS, serial, strict=True)) % 11
    return {10: 0, 11: 5}.get(r, r)


def s10_check_digits(serials: I64) -> I64:
    """Vectorised :func:`s10_check_digit` over integer serials in ``[0, 10**8)``."""
    total = np.zeros_like(serials)
    rest = serials.copy()
    for w in reversed(S10_WEIGHTS):
        total += (rest % 10) * w
        rest //= 10
    r = 11 - total % 11
    return np.where(r == 10, 0, np.where(r == 11, 5, r))


def awb_check_digit(serials: I64) -> I64:
    """IATA air waybill check digit: the 7-digit serial modulo 7."""
    return serials % 7


def permute(values: I64, digits: int, salt: int) -> I64:
    """A bijection on ``[0, 10**digits)`` that scrambles consecutive positions.

    An affine map ``(a * x + b) mod 10**digits`` with ``a`` coprime to 10 is a permutation;
    ``a`` and ``b`` come from ``salt``. Used to turn run positions into serial numbers.
    """
    if not 1 <= digits <= 12:
        raise ValueError("permute supports 1 to 12 digits")
    modulus = 10**digits
    # The multiplier must be coprime to 10 and small enough that ``x * a`` stays in int64.
    limit = min(modulus, (2**63 - 1) // modulus)
    a = (salt * 6_364_136_223_846_793_005 + 1_442_695_040_888_963_407) % limit | 1
    while a % 5 == 0:
        a = (a + 2) % limit
    b = (salt * 2_862_933_555_777_941_757 + 3_037_000_493) % modulus
    permuted: I64 = (values % modulus * a + b) % modulus
    return permuted


def format_s10(service: pl.Series, serials: I64, country: pl.Series) -> pl.Series:
    """Build S10 identifiers from service codes, 8-digit serials and country codes."""
    check = s10_check_digits(serials)
    return pl.DataFrame(
        {"service": service, "serial": serials, "check": check, "country": country}
    ).select(
        pl.concat_str(
            "service",
            pl.col("serial").cast(pl.String).str.zfill(8),
            pl.col("check").cast(pl.String),
            "country",
        ).alias("s10")
    )["s10"]


def format_awb(prefix: pl.Series, serials7: I64) -> pl.Series:
    """Build ``PPP-SSSSSSSC`` air waybill numbers from prefixes and 7-digit serials."""
    check = awb_check_digit(serials7)
    return pl.DataFrame({"prefix": prefix, "serial": serials7, "check": check}).select(
        pl.concat_str(
            "prefix",
            pl.lit("-"),
            pl.col("serial").cast(pl.String).str.zfill(7),
            pl.col("check").cast(pl.String),
        ).alias("awb")
    )["awb"]
