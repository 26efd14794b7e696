"""Learned value controls: reference levels, robust statistics, percentiles, persistence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartcustoms.errors import InvalidInputError
from smartcustoms.model.columns import CURRENCY, FILED_AT, NET_MASS_KG, ORIGIN_COUNTRY, VALUE
from smartcustoms.risk.columns import (
    BASE_VALUE,
    HS6,
    IS_NONCOMPLIANT,
    UNIT_VALUE,
    VALUE_PERCENTILE,
    VALUE_RATIO,
    VALUE_REF_LEVEL,
    VALUE_REF_MEDIAN,
    VALUE_REF_N,
    VALUE_Z,
)
from smartcustoms.risk.value_controls import (
    REF_LEVEL,
    VALUE_CONTROL_COLUMNS,
    VALUE_Z_CAP,
    ValueReference,
    ValueRefLevel,
    fit_value_reference,
    with_value_controls,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _items(hs6: list[str], origin: list[str], unit_value: list[float]) -> pl.DataFrame:
    n = len(hs6)
    return pl.DataFrame(
        {
            HS6: hs6,
            ORIGIN_COUNTRY: origin,
            NET_MASS_KG: [2.0] * n,
            BASE_VALUE: [2.0 * u for u in unit_value],
            FILED_AT: [T0 + timedelta(hours=i) for i in range(n)],
        }
    )


@pytest.fixture
def history(seed: int) -> pl.DataFrame:
    """610101 from CN is well covered; 610102 only across origins; 6103xx only as HS4."""
    rng = np.random.default_rng(seed)
    parts = [
        _items(["610101"] * 40, ["CN"] * 40, list(rng.lognormal(3.0, 0.5, 40))),
        _items(["610101"] * 5, ["VN"] * 5, list(rng.lognormal(5.0, 0.5, 5))),
        _items(["610102"] * 20, ["CN"] * 10 + ["VN"] * 10, list(rng.lognormal(4.0, 0.5, 20))),
        _items(["610301", "610302"] * 10, ["TR"] * 20, list(rng.lognormal(2.0, 0.5, 20))),
    ]
    return pl.concat(parts)


def test_most_specific_level_with_enough_data_wins(history: pl.DataFrame) -> None:
    """HS6 x origin when it has min_n items, else HS6, else HS4, else nothing."""
    reference = fit_value_reference(history, min_n=20)
    later = _items(
        ["610101", "610101", "610102", "610399", "990000"],
        ["CN", "VN", "CN", "TR", "CN"],
        [20.0] * 5,
    )
    out = with_value_controls(later, reference)
    assert out[VALUE_REF_LEVEL].to_list() == ["hs6_origin", "hs6", "hs6", "hs4", None]
    assert out[VALUE_REF_N].to_list() == [40, 45, 20, 20, None]
    assert out[VALUE_PERCENTILE][-1] is None
    assert out[UNIT_VALUE].to_list() == [20.0] * 5


def test_median_mad_and_z_match_numpy(history: pl.DataFrame) -> None:
    reference = fit_value_reference(history, min_n=20)
    group = history.filter((pl.col(HS6) == "610101") & (pl.col(ORIGIN_COUNTRY) == "CN"))
    logs = np.log(group[BASE_VALUE].to_numpy() / group[NET_MASS_KG].to_numpy())
    median = np.median(logs)
    mad = np.median(np.abs(logs - median))
    row = reference.table.filter(pl.col(REF_LEVEL) == "hs6_origin").row(0, named=True)
    assert row["log_median"] == pytest.approx(median)
    assert row["log_mad"] == pytest.approx(mad)
    assert row["log_quantiles"][50] == pytest.approx(median)
    probe = _items(["610101"], ["CN"], [float(np.exp(median + 1.4826 * mad))])
    out = with_value_controls(probe, reference)
    assert out[VALUE_Z][0] == pytest.approx(1.0)
    assert out[VALUE_REF_MEDIAN][0] == pytest.approx(np.exp(median))
    assert out[VALUE_RATIO][0] == pytest.approx(np.exp(1.4826 * mad))


def test_percentile_places_values_in_their_distribution(seed: int) -> None:
    """A value at the empirical p-th quantile of its subheading sits at percentile ~p."""
    rng = np.random.default_rng(seed)
    values = rng.lognormal(3.0, 1.0, 5000)
    reference = fit_value_reference(_items(["010101"] * 5000, ["CN"] * 5000, list(values)))
    probes = [float(np.quantile(values, q)) for q in (0.01, 0.05, 0.5, 0.95)]
    out = with_value_controls(_items(["010101"] * 4, ["CN"] * 4, probes), reference)
    assert out[VALUE_PERCENTILE].to_list() == pytest.approx([1.0, 5.0, 50.0, 95.0], abs=0.01)
    below_5th = out.filter(pl.col(VALUE_PERCENTILE) < 5.0)
    assert below_5th.height == 1


@settings(max_examples=60, deadline=None)
@given(
    history_values=st.lists(
        st.floats(min_value=0.01, max_value=1e6, allow_nan=False), min_size=1, max_size=60
    ),
    probes=st.lists(
        st.floats(min_value=0.0, max_value=2e6, allow_nan=False), min_size=2, max_size=20
    ),
    repeat_first=st.integers(min_value=0, max_value=40),
)
def test_percentile_is_monotone_in_unit_value(
    history_values: list[float], probes: list[float], repeat_first: int
) -> None:
    """A higher unit value never gets a lower percentile, ties in history included."""
    values = history_values + [history_values[0]] * repeat_first
    reference = fit_value_reference(
        _items(["010101"] * len(values), ["CN"] * len(values), values), min_n=1
    )
    # history values and exact grid points are where interpolation bugs show
    grid_points = np.quantile(np.log(values), [0.1, 0.25, 0.5, 0.75, 0.9])
    probes = sorted(probes + values[:3] + np.exp(grid_points).tolist())
    out = with_value_controls(
        _items(["010101"] * len(probes), ["CN"] * len(probes), probes), reference
    )
    pct = out[VALUE_PERCENTILE].to_numpy()
    z = out[VALUE_Z].to_numpy()
    assert np.all(np.diff(pct) >= -1e-9)
    assert np.all(np.diff(z) >= -1e-9)
    assert np.all((pct >= 0) & (pct <= 100))


def test_zero_and_missing_values(history: pl.DataFrame) -> None:
    """Zero unit value sits at the bottom; no mass means no unit value at all."""
    reference = fit_value_reference(history, min_n=20)
    probe = pl.DataFrame(
        {
            HS6: ["610101", "610101", "610101"],
            ORIGIN_COUNTRY: ["CN", "CN", "CN"],
            NET_MASS_KG: [1.0, 0.0, None],
            BASE_VALUE: [0.0, 10.0, 10.0],
        }
    )
    out = with_value_controls(probe, reference)
    assert out[VALUE_PERCENTILE].to_list() == [0.0, None, None]
    assert out[VALUE_Z][0] == -VALUE_Z_CAP
    assert out[UNIT_VALUE].to_list() == [0.0, None, None]
    assert out[VALUE_REF_LEVEL].to_list() == ["hs6_origin"] * 3


def test_round_trip_through_rows_gives_identical_controls(history: pl.DataFrame) -> None:
    reference = fit_value_reference(history, min_n=20)
    rebuilt = ValueReference.from_frame(reference.to_frame(), reference.metadata())
    assert rebuilt.metadata() == reference.metadata()
    assert rebuilt.window_last == history[FILED_AT].max() == T0 + timedelta(hours=39)
    probe = history.with_columns(pl.col(BASE_VALUE) * 1.5)
    assert with_value_controls(probe, rebuilt).equals(with_value_controls(probe, reference))


def test_from_frame_rejects_incomplete_rows(history: pl.DataFrame) -> None:
    reference = fit_value_reference(history, min_n=20)
    with pytest.raises(InvalidInputError) as info:
        ValueReference.from_frame(reference.to_frame().drop(REF_LEVEL), reference.metadata())
    assert [p.path for p in info.value.problems] == [REF_LEVEL]


def test_labels_are_never_read(history: pl.DataFrame) -> None:
    """The reference is label-free, so it is safe as a feature for its own training rows."""
    labelled = history.with_columns(pl.lit(1).alias(IS_NONCOMPLIANT))
    a = fit_value_reference(history, min_n=20, computed_at=T0)
    b = fit_value_reference(labelled, min_n=20, computed_at=T0)
    assert a.to_frame().equals(b.to_frame())


def test_value_column_fallback_and_currency_guard() -> None:
    base = pl.DataFrame(
        {HS6: ["010101"] * 3, ORIGIN_COUNTRY: ["CN"] * 3, NET_MASS_KG: [1.0, 2.0, 4.0]}
    )
    single = base.with_columns(pl.Series(VALUE, [1.0, 2.0, 4.0]), pl.lit("EUR").alias(CURRENCY))
    reference = fit_value_reference(single, min_n=3)
    assert reference.table.filter(pl.col(REF_LEVEL) == ValueRefLevel.HS6.value)["n"][0] == 3
    mixed = single.with_columns(pl.Series(CURRENCY, ["EUR", "USD", "EUR"]))
    with pytest.raises(InvalidInputError):
        fit_value_reference(mixed, min_n=3)


def test_existing_control_columns_are_replaced(history: pl.DataFrame) -> None:
    reference = fit_value_reference(history, min_n=20)
    once = with_value_controls(history, reference)
    twice = with_value_controls(once, reference)
    assert twice.columns == once.columns
    assert twice.columns[-len(VALUE_CONTROL_COLUMNS) :] == list(VALUE_CONTROL_COLUMNS)
    assert twice.equals(once)
