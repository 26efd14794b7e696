"""The counter-based random source: pure functions of (seed, stream, key)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartcustoms.synth._keyed import KeyedRandom, zipf_inverse, zipf_masses


def test_draws_depend_only_on_seed_stream_and_key(seed: int) -> None:
    keys = np.arange(1_000, dtype=np.int64)
    a = KeyedRandom(seed).uniform("x", keys)
    b = KeyedRandom(seed).uniform("x", keys[::-1])[::-1]
    assert np.array_equal(a, b)
    assert np.array_equal(a[10:20], KeyedRandom(seed).uniform("x", keys[10:20]))
    assert not np.array_equal(a, KeyedRandom(seed + 1).uniform("x", keys))
    assert not np.array_equal(a, KeyedRandom(seed).uniform("y", keys))


def test_uniforms_look_uniform_and_independent(seed: int) -> None:
    rnd = KeyedRandom(seed)
    keys = np.arange(200_000, dtype=np.int64)
    u, v = rnd.uniform("a", keys), rnd.uniform("b", keys)
    assert u.min() >= 0.0
    assert u.max() < 1.0
    assert abs(u.mean() - 0.5) < 0.005
    assert abs(np.corrcoef(u, v)[0, 1]) < 0.01
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 0.01
    z = rnd.normal("n", keys)
    assert abs(z.mean()) < 0.01
    assert abs(z.std() - 1.0) < 0.01


def test_choice_per_row_follows_each_rows_weights(seed: int) -> None:
    rnd = KeyedRandom(seed)
    table = np.array([[1.0, 0.0, 3.0], [0.0, 1.0, 0.0]])
    keys = np.arange(40_000, dtype=np.int64)
    rows = (keys % 2).astype(np.int64)
    picked = rnd.choice_per_row("c", keys, table, rows)
    assert set(picked[rows == 1]) == {1}
    first = picked[rows == 0]
    assert set(first) == {0, 2}
    assert abs((first == 2).mean() - 0.75) < 0.02


@given(st.integers(1, 100_000), st.floats(0.3, 2.0))
def test_zipf_ranks_stay_in_the_pool(size: int, exponent: float) -> None:
    u = np.linspace(0.0, 1.0 - 1e-12, 101)
    ranks = zipf_inverse(u, size, exponent)
    assert ranks.min() >= 0
    assert ranks.max() <= size - 1
    assert np.all(np.diff(ranks) >= 0)


@pytest.mark.parametrize("exponent", [0.6, 1.0, 1.05])
def test_zipf_masses_match_the_sampler(seed: int, exponent: float) -> None:
    size = 50
    masses = zipf_masses(size, exponent)
    assert masses.sum() == pytest.approx(1.0)
    draws = KeyedRandom(seed).zipf_rank("z", np.arange(100_000, dtype=np.int64), size, exponent)
    observed = np.bincount(draws, minlength=size) / len(draws)
    assert np.abs(observed - masses).max() < 0.01
