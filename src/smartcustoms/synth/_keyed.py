"""Counter-based random numbers: every draw is a pure function of ``(seed, stream, key)``.

Synthetic traffic must be identical for a seed whatever the chunk size, and chunks must be
generated independently (bounded memory, and later one chunk per worker). A sequential
generator cannot give both. Here each random value is a hash of the run seed, a named stream
(``"seller"``, ``"item.value"``) and an integer key (the consignment's global index, an item
key, a seller rank): consignment 123 456 gets the same seller whether it is generated in a
chunk of ten or of a million, and a seller's name is the same every time the seller appears.

Each stream is a SplitMix64 sequence (Steele, Lea and Flood, "Fast splittable pseudorandom
number generators", OOPSLA 2014) seeded from a hash of the run seed and the stream name: the
draw for key ``k`` is the ``k``-th output, ``mix(stream_key + k * golden)``, computed for a
whole array of keys at once with NumPy's wrapping ``uint64`` arithmetic. That is ample for
simulation; it is not a cryptographic generator.
"""

from __future__ import annotations

import hashlib
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = ["KeyedRandom", "mix64"]

U64 = npt.NDArray[np.uint64]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

_GOLDEN: Final = np.uint64(0x9E3779B97F4A7C15)
_M1: Final = np.uint64(0xBF58476D1CE4E5B9)
_M2: Final = np.uint64(0x94D049BB133111EB)
_S30: Final = np.uint64(30)
_S27: Final = np.uint64(27)
_S31: Final = np.uint64(31)
_S11: Final = np.uint64(11)
_S32: Final = np.uint64(32)
_LOW32: Final = np.uint64(0xFFFFFFFF)
_TWO_POW_M53: Final = 2.0**-53
_TWO_POW_M32: Final = 2.0**-32


def mix64(x: U64) -> U64:
    """SplitMix64 finaliser applied element-wise (wrapping ``uint64`` arithmetic)."""
    z = x + _GOLDEN
    z ^= z >> _S30
    z *= _M1
    z ^= z >> _S27
    z *= _M2
    z ^= z >> _S31
    return z


def _stream_key(seed: int, stream: str) -> np.uint64:
    digest = hashlib.blake2b(f"{seed}:{stream}".encode(), digest_size=8).digest()
    return np.uint64(int.from_bytes(digest, "little"))


class KeyedRandom:
    """Deterministic random draws addressed by stream name and integer key.

    Args:
        seed: The run seed. Any non-negative integer.

    Example:
        >>> rnd = KeyedRandom(42)
        >>> keys = np.arange(3, dtype=np.int64)
        >>> bool((rnd.uniform("x", keys) == rnd.uniform("x", keys)).all())
        True
    """

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        self._streams: dict[str, np.uint64] = {}

    def _key(self, stream: str) -> np.uint64:
        key = self._streams.get(stream)
        if key is None:
            key = _stream_key(self.seed, stream)
            self._streams[stream] = key
        return key

    def bits(self, stream: str, keys: npt.ArrayLike) -> U64:
        """64 random bits per key."""
        k = np.asarray(keys).astype(np.uint64)
        k *= _GOLDEN
        k += self._key(stream)
        return mix64(k)

    def uniform(self, stream: str, keys: npt.ArrayLike) -> F64:
        """Uniform floats in ``[0, 1)``, one per key."""
        return (self.bits(stream, keys) >> _S11).astype(np.float64) * _TWO_POW_M53

    def between(self, stream: str, keys: npt.ArrayLike, low: float, high: float) -> F64:
        """Uniform floats in ``[low, high)``."""
        return low + (high - low) * self.uniform(stream, keys)

    def integers(self, stream: str, keys: npt.ArrayLike, low: int, high: int) -> I64:
        """Uniform integers in ``[low, high)``."""
        span = np.uint64(high - low)
        return (self.bits(stream, keys) % span).astype(np.int64) + low

    def normal(self, stream: str, keys: npt.ArrayLike) -> F64:
        """Standard normal draws (Box-Muller on the two 32-bit halves of one draw)."""
        bits = self.bits(stream, keys)
        u1 = ((bits >> _S32).astype(np.float64) + 1.0) * _TWO_POW_M32
        u2 = (bits & _LOW32).astype(np.float64) * _TWO_POW_M32
        result: F64 = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
        return result

    def lognormal(
        self, stream: str, keys: npt.ArrayLike, median: npt.ArrayLike, sigma: npt.ArrayLike
    ) -> F64:
        """Log-normal draws with the given median(s) and log-space sigma(s)."""
        return np.asarray(median, dtype=np.float64) * np.exp(
            np.asarray(sigma, dtype=np.float64) * self.normal(stream, keys)
        )

    def exponential(self, stream: str, keys: npt.ArrayLike, mean: npt.ArrayLike) -> F64:
        """Exponential draws with the given mean(s)."""
        return -np.asarray(mean, dtype=np.float64) * np.log(1.0 - self.uniform(stream, keys))

    def bernoulli(
        self, stream: str, keys: npt.ArrayLike, p: npt.ArrayLike
    ) -> npt.NDArray[np.bool_]:
        """``True`` with probability ``p`` (scalar or per key)."""
        return self.uniform(stream, keys) < np.asarray(p, dtype=np.float64)

    def choice(self, stream: str, keys: npt.ArrayLike, weights: npt.ArrayLike) -> I64:
        """Indices drawn with the given (unnormalised) weights."""
        cdf = np.cumsum(np.asarray(weights, dtype=np.float64))
        u = self.uniform(stream, keys) * cdf[-1]
        idx: I64 = np.searchsorted(cdf, u, side="right").astype(np.int64)
        return np.minimum(idx, len(cdf) - 1)

    def choice_per_row(
        self, stream: str, keys: npt.ArrayLike, table: npt.ArrayLike, rows: npt.ArrayLike
    ) -> I64:
        """Indices drawn from a different weight vector per key.

        Args:
            stream: Stream name.
            keys: One key per draw.
            table: Weights, shape ``(n_rows, n_choices)``; every row must have a positive sum.
            rows: For each draw, which row of ``table`` holds its weights.

        Returns:
            Column indices into ``table``.
        """
        w = np.asarray(table, dtype=np.float64)
        cdf = np.cumsum(w, axis=1)
        cdf = cdf / cdf[:, -1:]
        # Offset each row by its index so one searchsorted over the flattened table serves
        # every row (row r occupies the interval (r, r + 1]).
        flat = (cdf + np.arange(w.shape[0])[:, None]).ravel()
        r = np.asarray(rows, dtype=np.int64)
        u = self.uniform(stream, keys) + r
        idx: I64 = np.searchsorted(flat, u, side="right").astype(np.int64) - r * w.shape[1]
        return np.clip(idx, 0, w.shape[1] - 1)

    def zipf_rank(self, stream: str, keys: npt.ArrayLike, size: int, exponent: float) -> I64:
        """0-based ranks from a bounded power law ``P(rank r) ~ (r + 1) ** -exponent``.

        Uses the inverse CDF of the continuous power law on ``[1, size + 1)``, so no table of
        ``size`` weights is needed: heavy-tailed pools of millions of buyers cost nothing.
        """
        return zipf_inverse(self.uniform(stream, keys), size, exponent)


def zipf_inverse(u: F64, size: int, exponent: float) -> I64:
    """Map uniforms to 0-based power-law ranks (see :meth:`KeyedRandom.zipf_rank`)."""
    if abs(exponent - 1.0) < 1e-9:
        x = np.exp(u * np.log(size + 1.0))
    else:
        a = 1.0 - exponent
        x = ((float(size + 1) ** a - 1.0) * u + 1.0) ** (1.0 / a)
    ranks: I64 = np.clip(np.floor(x).astype(np.int64) - 1, 0, size - 1)
    return ranks


def zipf_masses(size: int, exponent: float) -> F64:
    """Probability of each rank under :func:`zipf_inverse` (sums to 1)."""
    edges = np.arange(1, size + 2, dtype=np.float64)
    if abs(exponent - 1.0) < 1e-9:
        cdf = np.log(edges) / np.log(size + 1.0)
    else:
        a = 1.0 - exponent
        cdf = (edges**a - 1.0) / (float(size + 1) ** a - 1.0)
    masses: F64 = np.diff(cdf)
    return masses
