"""Reason texts: number formatting and feature descriptions."""

from __future__ import annotations

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from smartcustoms.risk.explain import _fmt, describe_feature


@given(
    st.lists(
        st.floats(min_value=-1e9, max_value=1e9, allow_nan=False) | st.none(),
        min_size=1,
        max_size=20,
    ),
    st.integers(min_value=1, max_value=3),
)
def test_numbers_are_shown_with_fixed_decimals_and_rounded(
    values: list[float | None], decimals: int
) -> None:
    shown = pl.DataFrame({"x": values}, schema={"x": pl.Float64}).select(
        _fmt(pl.col("x"), decimals)
    )
    for value, text in zip(values, shown.to_series().to_list(), strict=True):
        if value is None:
            assert text is None
            continue
        whole, _, places = text.lstrip("-").partition(".")
        assert whole.isdigit() and len(places) == decimals and places.isdigit()
        assert abs(float(text) - value) <= 0.5 * 10**-decimals + 1e-9 * max(1.0, abs(value))
        assert text != "-" + "0." + "0" * decimals  # no negative zero


def test_small_negative_numbers_round_to_plain_zero() -> None:
    shown = pl.DataFrame({"x": [-0.004, 2.5, 1234.5]}).select(_fmt(pl.col("x"), 2))
    assert shown.to_series().to_list() == ["0.00", "2.50", "1234.50"]


def test_history_features_are_described_in_words() -> None:
    assert (
        describe_feature("hist_seller_id__hs6_rate", 0.41234)
        == "seller x HS subheading: past non-compliance rate 0.4123"
    )
    assert describe_feature("value_z", float("nan")) == "robust z-score of the unit value missing"
    assert describe_feature("origin_country", "CN") == "origin CN"
