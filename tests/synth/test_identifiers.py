"""Identifiers carry the structure and check digits of their real schemes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartcustoms.synth.identifiers import permute, s10_check_digit, s10_check_digits


@pytest.mark.parametrize(
    ("serial", "check"),
    [("12345678", 5), ("47312482", 9), ("00000008", 0), ("00000000", 5), ("99999999", 5)],
)
def test_s10_check_digit(serial: str, check: int) -> None:
    # Weights 8 6 4 2 3 5 9 7, mod 11, 11 - r, 10 -> 0, 11 -> 5 (RR123456785CN).
    assert s10_check_digit(serial) == check


def test_s10_check_digit_rejects_bad_serials() -> None:
    with pytest.raises(ValueError, match="8 digits"):
        s10_check_digit("1234567")


@given(st.lists(st.integers(0, 10**8 - 1), min_size=1, max_size=50))
def test_vectorised_s10_matches_the_scalar_rule(serials: list[int]) -> None:
    got = s10_check_digits(np.array(serials, dtype=np.int64))
    assert got.tolist() == [s10_check_digit(f"{s:08d}") for s in serials]


@given(st.integers(1, 5), st.integers(0, 10**6))
def test_permute_is_a_bijection(digits: int, salt: int) -> None:
    values = np.arange(10**digits, dtype=np.int64)
    permuted = permute(values, digits, salt)
    assert np.array_equal(np.sort(permuted), values)


def test_permute_keeps_large_serials_in_range() -> None:
    values = np.array([0, 1, 10**10 - 1, 123_456_789], dtype=np.int64)
    for digits in (10, 12):
        permuted = permute(values, digits, 7)
        assert permuted.min() >= 0
        assert permuted.max() < 10**digits
        assert len(set(permuted.tolist())) == len(values)
