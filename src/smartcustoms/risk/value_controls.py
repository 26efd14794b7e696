"""Learned value controls: where an item's unit value sits among its peers.

Administrations used to keep hand-made files of minimum and maximum unit values per tariff
line to catch under-valuation (the WCO *Guide to Customs Valuation and Transfer Pricing*
calls these "valuation databases" and warns that they are a risk indicator, never a
substitute value: GATT Article VII and the WTO Valuation Agreement, Article 7.2(f), forbid
minimum customs values). This module learns the same thing from history, robustly:

* the **unit value** of an item is ``base_value`` / ``net_mass_kg``, compared on the log
  scale because prices are multiplicative;
* its **reference** is the distribution of log unit values of earlier items of the same
  HS6 subheading and origin, falling back to the HS6 subheading alone and then to the HS4
  heading when the more specific group has fewer than ``min_n`` items - the most specific
  level with enough data wins;
* each reference keeps ``n``, the median, the median absolute deviation (MAD) and a grid of
  quantiles, so an item can be placed at its percentile ("unit value below the 5th
  percentile of its subheading" is a rule condition) and given a robust z-score (a model
  feature) without one outlier moving the yardstick.

Column contract of :func:`with_value_controls`: reads :data:`~smartcustoms.risk.columns.HS6`
(or ``hs_code``), ``origin_country``, ``net_mass_kg`` and
:data:`~smartcustoms.risk.columns.BASE_VALUE` (or ``value`` when the view has no base value
and at most one currency); adds ``unit_value``, ``value_ref_median``, ``value_ref_n``,
``value_ref_level``, ``value_ratio``, ``value_z`` and ``value_percentile``. Labels are never
read: a reference learned from history carries no control outcome, so it is safe as a model
feature for the very rows it was fitted on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

import numpy as np
import polars as pl
from numpy.typing import NDArray

from smartcustoms.errors import InvalidInputError, Problem
from smartcustoms.model.columns import (
    CURRENCY,
    FILED_AT,
    HS_CODE,
    NET_MASS_KG,
    ORIGIN_COUNTRY,
    VALUE,
)
from smartcustoms.risk.columns import (
    BASE_VALUE,
    HS6,
    UNIT_VALUE,
    VALUE_PERCENTILE,
    VALUE_RATIO,
    VALUE_REF_LEVEL,
    VALUE_REF_MEDIAN,
    VALUE_REF_N,
    VALUE_Z,
)

__all__ = [
    "DEFAULT_MIN_N",
    "DEFAULT_N_QUANTILES",
    "REF_HS",
    "REF_LEVEL",
    "REF_LOG_MAD",
    "REF_LOG_MEDIAN",
    "REF_N",
    "REF_ORIGIN",
    "REF_QUANTILES",
    "VALUE_CONTROL_COLUMNS",
    "VALUE_Z_CAP",
    "ValueRefLevel",
    "ValueReference",
    "fit_value_reference",
    "with_value_controls",
]

DEFAULT_MIN_N: Final = 30
"""Fewest historical items a reference group needs before it is trusted."""
DEFAULT_N_QUANTILES: Final = 101
"""Points of the quantile grid (101: every percentile, 0 to 100)."""
VALUE_Z_CAP: Final = 20.0
"""|value_z| is capped here: a zero value or a one-price subheading would otherwise give
infinities, and a z of 20 is already beyond any threshold a rule would use."""
_MIN_SCALE: Final = 0.01
"""Floor of 1.4826 x MAD on the log scale (a 1 % spread): subheadings whose history has one
price would otherwise turn every cent of difference into a huge z."""
_MAD_TO_SD: Final = 1.4826

# --- columns of the reference table (as persisted) -----------------------------------------
REF_LEVEL: Final = "level"
"""A :class:`ValueRefLevel` value."""
REF_HS: Final = "hs"
"""HS6 subheading (``hs6_origin`` and ``hs6`` levels) or HS4 heading (``hs4`` level)."""
REF_ORIGIN: Final = "origin"
"""Origin country (``hs6_origin`` level only, else null)."""
REF_N: Final = "n"
"""Number of historical items in the group."""
REF_LOG_MEDIAN: Final = "log_median"
"""Median of ln(unit value)."""
REF_LOG_MAD: Final = "log_mad"
"""Median absolute deviation of ln(unit value) from its median."""
REF_QUANTILES: Final = "log_quantiles"
"""List of ln(unit value) quantiles at evenly spaced probabilities 0 .. 1."""

VALUE_CONTROL_COLUMNS: Final = (
    UNIT_VALUE,
    VALUE_REF_MEDIAN,
    VALUE_REF_N,
    VALUE_REF_LEVEL,
    VALUE_RATIO,
    VALUE_Z,
    VALUE_PERCENTILE,
)
"""Columns :func:`with_value_controls` adds, in order."""

_LOG_UV: Final = "_log_unit_value"
_HS4: Final = "_hs4"
_REF_IDX: Final = "_ref_idx"
_GROUP: Final = "_group"


class ValueRefLevel(StrEnum):
    """Reference levels, from the most specific.

    * ``hs6_origin`` - same HS6 subheading and origin country;
    * ``hs6`` - same HS6 subheading, any origin;
    * ``hs4`` - same HS4 heading.
    """

    HS6_ORIGIN = "hs6_origin"
    HS6 = "hs6"
    HS4 = "hs4"


_LEVEL_KEYS: Final[dict[ValueRefLevel, tuple[str, ...]]] = {
    ValueRefLevel.HS6_ORIGIN: (HS6, ORIGIN_COUNTRY),
    ValueRefLevel.HS6: (HS6,),
    ValueRefLevel.HS4: (_HS4,),
}

_TABLE_SCHEMA: Final = pl.Schema(
    [
        (REF_LEVEL, pl.String()),
        (REF_HS, pl.String()),
        (REF_ORIGIN, pl.String()),
        (REF_N, pl.Int64()),
        (REF_LOG_MEDIAN, pl.Float64()),
        (REF_LOG_MAD, pl.Float64()),
        (REF_QUANTILES, pl.List(pl.Float64())),
    ]
)


@dataclass(frozen=True, eq=False)
class ValueReference:
    """Fitted reference distributions of log unit value, ready to persist and apply.

    Attributes:
        table: One row per reference group (columns ``level``, ``hs``, ``origin``, ``n``,
            ``log_median``, ``log_mad``, ``log_quantiles``); only groups with at least
            ``min_n`` items are kept.
        computed_at: When the reference was fitted (UTC).
        window_first: Filing time of the earliest item used (null when unknown).
        window_last: Filing time of the latest item used: apply the reference only to
            items filed after it, so no item is compared with a distribution it is part of
            (or with the future).
        min_n: Fewest items a group needed to be kept.
        n_quantiles: Points of the quantile grid.
    """

    table: pl.DataFrame
    computed_at: datetime
    window_first: datetime | None
    window_last: datetime | None
    min_n: int
    n_quantiles: int

    def to_frame(self) -> pl.DataFrame:
        """The reference groups as rows, for the store (metadata: :meth:`metadata`)."""
        return self.table.clone()

    def metadata(self) -> dict[str, Any]:
        """JSON-ready description of the fit, stored beside :meth:`to_frame`."""
        return {
            "computed_at": self.computed_at.isoformat(),
            "window_first": None if self.window_first is None else self.window_first.isoformat(),
            "window_last": None if self.window_last is None else self.window_last.isoformat(),
            "min_n": self.min_n,
            "n_quantiles": self.n_quantiles,
        }

    @classmethod
    def from_frame(cls, frame: pl.DataFrame, metadata: dict[str, Any]) -> ValueReference:
        """Rebuild a reference from :meth:`to_frame` rows and :meth:`metadata`.

        Raises:
            InvalidInputError: When columns are missing or a quantile grid has the wrong
                length.
        """
        missing = [c for c in _TABLE_SCHEMA.names() if c not in frame.columns]
        if missing:
            raise InvalidInputError.with_problems(
                "value reference rows lack columns",
                [Problem("value_reference.column_missing", c, "column missing") for c in missing],
            )
        table = frame.select(_TABLE_SCHEMA.names()).cast(_TABLE_SCHEMA)
        n_quantiles = int(metadata["n_quantiles"])
        lengths = table[REF_QUANTILES].list.len()
        if table.height and bool((lengths != n_quantiles).any()):
            raise InvalidInputError(
                f"value reference quantile grids must have {n_quantiles} points"
            )
        return cls(
            table=table,
            computed_at=_parse_time(metadata["computed_at"]) or datetime.now(UTC),
            window_first=_parse_time(metadata.get("window_first")),
            window_last=_parse_time(metadata.get("window_last")),
            min_n=int(metadata["min_n"]),
            n_quantiles=n_quantiles,
        )


def _parse_time(value: object) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _value_column(view: pl.DataFrame) -> pl.Expr:
    """The comparison value: ``base_value``, else ``value`` when one currency is used."""
    if BASE_VALUE in view.columns:
        return pl.col(BASE_VALUE).cast(pl.Float64)
    if VALUE not in view.columns:
        raise InvalidInputError(f"the risk view needs {BASE_VALUE!r} (or {VALUE!r})")
    if CURRENCY in view.columns and view[CURRENCY].drop_nulls().n_unique() > 1:
        raise InvalidInputError(
            f"the risk view mixes currencies and has no {BASE_VALUE!r} to compare values in"
        )
    return pl.col(VALUE).cast(pl.Float64)


def _keyed(view: pl.DataFrame) -> pl.DataFrame:
    """HS6, HS4, origin and the log unit value of every item (null where undefined)."""
    hs6 = (
        pl.col(HS6).cast(pl.String)
        if HS6 in view.columns
        else pl.col(HS_CODE).cast(pl.String).str.slice(0, 6)
        if HS_CODE in view.columns
        else pl.lit(None, pl.String)
    )
    origin = (
        pl.col(ORIGIN_COUNTRY).cast(pl.String)
        if ORIGIN_COUNTRY in view.columns
        else pl.lit(None, pl.String)
    )
    mass = (
        pl.col(NET_MASS_KG).cast(pl.Float64)
        if NET_MASS_KG in view.columns
        else pl.lit(None, pl.Float64)
    )
    unit_value = pl.when(mass > 0).then(_value_column(view) / mass)
    return view.select(
        hs6.alias(HS6),
        origin.alias(ORIGIN_COUNTRY),
        unit_value.alias(UNIT_VALUE),
    ).with_columns(
        pl.when(pl.col(HS6).str.len_chars() >= 4).then(pl.col(HS6).str.slice(0, 4)).alias(_HS4),
        pl.when(pl.col(UNIT_VALUE) > 0).then(pl.col(UNIT_VALUE).log()).alias(_LOG_UV),
    )


def _interpolated(
    values: NDArray[np.float64],
    start: NDArray[np.int64],
    n: NDArray[np.int64],
    probs: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Linear-interpolation quantiles (numpy's default) of sorted runs of ``values``.

    Run ``i`` is ``values[start[i] : start[i] + n[i]]``; the result has one row per run and
    one column per probability.
    """
    pos = probs[None, :] * (n[:, None] - 1).astype(np.float64)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, n[:, None] - 1)
    frac = pos - lo
    base = start[:, None]
    low = values[base + lo]
    result: NDArray[np.float64] = low + frac * (values[base + hi] - low)
    return result


def _level_table(
    keyed: pl.DataFrame, level: ValueRefLevel, min_n: int, probs: NDArray[np.float64]
) -> pl.DataFrame:
    keys = list(_LEVEL_KEYS[level])
    data = keyed.select(*keys, _LOG_UV).drop_nulls()
    # Integer group ids first: sorting on (id, value) is several times faster than on the
    # string keys themselves.
    groups = (
        data.group_by(keys)
        .agg(pl.len().alias(REF_N))
        .filter(pl.col(REF_N) >= min_n)
        .sort(keys)
        .with_columns(pl.int_range(pl.len(), dtype=pl.UInt32).alias(_GROUP))
    )
    if groups.height == 0:
        return pl.DataFrame(schema=_TABLE_SCHEMA)
    data = data.join(groups.select(*keys, _GROUP), on=keys, how="inner").sort(_GROUP, _LOG_UV)
    values = data[_LOG_UV].to_numpy().astype(np.float64)
    n = groups[REF_N].to_numpy().astype(np.int64)
    start = np.cumsum(n) - n
    quantiles = _interpolated(values, start, n, probs)
    median = _interpolated(values, start, n, np.array([0.5]))[:, 0]
    # MAD: sort the absolute deviations within each group, then take their median.
    group_of_row = np.repeat(np.arange(n.size), n)
    deviation = np.abs(values - median[group_of_row])
    deviation = deviation[np.lexsort((deviation, group_of_row))]
    mad = _interpolated(deviation, start, n, np.array([0.5]))[:, 0]
    hs_key = keys[0]
    return pl.DataFrame(
        {
            REF_LEVEL: pl.Series([level.value] * groups.height, dtype=pl.String),
            REF_HS: groups[hs_key],
            REF_ORIGIN: (
                groups[ORIGIN_COUNTRY]
                if ORIGIN_COUNTRY in keys
                else pl.Series([None] * groups.height, dtype=pl.String)
            ),
            REF_N: groups[REF_N].cast(pl.Int64),
            REF_LOG_MEDIAN: median,
            REF_LOG_MAD: mad,
            REF_QUANTILES: pl.Series(quantiles).cast(pl.List(pl.Float64)),
        },
        schema=_TABLE_SCHEMA,
    )


def fit_value_reference(
    view: pl.DataFrame,
    *,
    min_n: int = DEFAULT_MIN_N,
    n_quantiles: int = DEFAULT_N_QUANTILES,
    computed_at: datetime | None = None,
) -> ValueReference:
    """Learn unit-value reference distributions from historical items.

    Items without a positive unit value (no mass, zero value) are skipped: a zero price is
    what the control looks for, not what it should learn as normal.

    Args:
        view: Historical risk view (one row per goods item).
        min_n: Fewest items a group needs to become a reference. Small groups give noisy
            percentiles; the item then falls back to the next, broader level.
        n_quantiles: Points of the quantile grid (at least 2); 101 places an item to the
            percentile.
        computed_at: Fit time to record (defaults to now, UTC).

    Returns:
        The fitted :class:`ValueReference`.

    Raises:
        InvalidInputError: When ``min_n`` < 1 or ``n_quantiles`` < 2, or the view has
            neither ``base_value`` nor a single-currency ``value``.
    """
    if min_n < 1 or n_quantiles < 2:
        raise InvalidInputError("min_n must be >= 1 and n_quantiles >= 2")
    keyed = _keyed(view)
    probs = np.linspace(0.0, 1.0, n_quantiles)
    table = pl.concat([_level_table(keyed, level, min_n, probs) for level in ValueRefLevel])
    first = last = None
    if FILED_AT in view.columns and view.height:
        first = view[FILED_AT].min()
        last = view[FILED_AT].max()
    return ValueReference(
        table=table,
        computed_at=computed_at or datetime.now(UTC),
        window_first=first if isinstance(first, datetime) else None,
        window_last=last if isinstance(last, datetime) else None,
        min_n=min_n,
        n_quantiles=n_quantiles,
    )


def _bisect(
    grid: NDArray[np.float64], rows: NDArray[np.int64], x: NDArray[np.float64], *, right: bool
) -> NDArray[np.int64]:
    """Per-item ``searchsorted`` of ``x`` into its own grid row, vectorised over items."""
    lo = np.zeros(x.size, dtype=np.int64)
    hi = np.full(x.size, grid.shape[1], dtype=np.int64)
    while True:
        active = lo < hi
        if not active.any():
            return lo
        mid = (lo + hi) // 2
        probe = grid[rows, np.minimum(mid, grid.shape[1] - 1)]
        go_right = (probe <= x) if right else (probe < x)
        lo = np.where(active & go_right, mid + 1, lo)
        hi = np.where(active & ~go_right, mid, hi)


def _percentiles(
    grid: NDArray[np.float64], rows: NDArray[np.int64], x: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Percentile (0-100) of each ``x`` in its own grid row.

    Linear between grid points; the middle of a run of equal grid points when ``x`` equals
    them, so the result stays monotone in ``x`` even when many items share one price.
    """
    step = 100.0 / (grid.shape[1] - 1)
    below = _bisect(grid, rows, x, right=False)  # grid points < x
    upto = _bisect(grid, rows, x, right=True)  # grid points <= x
    last = grid.shape[1] - 1
    k = np.clip(below, 1, last)
    left = grid[rows, k - 1]
    span = grid[rows, k] - left
    with np.errstate(divide="ignore", invalid="ignore"):
        inside = (k - 1 + np.where(span > 0, (x - left) / span, 0.0)) * step
    pct = np.where(upto > below, (below + upto - 1) / 2.0 * step, inside)
    pct = np.where((upto == below) & (below == 0), 0.0, pct)
    pct = np.where((upto == below) & (below > last), 100.0, pct)
    return np.clip(pct, 0.0, 100.0)


def with_value_controls(view: pl.DataFrame, reference: ValueReference) -> pl.DataFrame:
    """Add the value-control columns to a risk view.

    The most specific reference level with at least ``min_n`` historical items wins
    (``hs6_origin``, then ``hs6``, then ``hs4``). Items with no usable unit value or no
    reference get nulls (``unit_value`` is still set when it can be computed); a zero
    unit value sits at percentile 0 with ``value_z`` at ``-VALUE_Z_CAP``.

    Args:
        view: Risk view to enrich.
        reference: Reference fitted on earlier items.

    Returns:
        ``view`` with :data:`VALUE_CONTROL_COLUMNS` added (replacing any existing ones).
    """
    keyed = _keyed(view)
    table = reference.table
    positions = pl.int_range(pl.len(), dtype=pl.Int64)
    index_cols: list[str] = []
    for level in ValueRefLevel:
        keys = list(_LEVEL_KEYS[level])
        ref_keys = [REF_HS] if len(keys) == 1 else [REF_HS, REF_ORIGIN]
        index_col = f"{_REF_IDX}_{level.value}"
        part = (
            table.with_columns(positions.alias(index_col))
            .filter(pl.col(REF_LEVEL) == level.value)
            .select(
                *[pl.col(r).alias(k) for r, k in zip(ref_keys, keys, strict=True)],
                index_col,
            )
        )
        keyed = keyed.join(part, on=keys, how="left", maintain_order="left")
        index_cols.append(index_col)
    ref_idx = keyed.select(pl.coalesce(index_cols)).to_series()
    has_ref = ref_idx.is_not_null().to_numpy()
    unit_value = keyed[UNIT_VALUE].to_numpy().astype(np.float64)
    usable = has_ref & np.isfinite(unit_value) & (unit_value >= 0)
    pct = np.full(view.height, np.nan)
    z = np.full(view.height, np.nan)
    if usable.any():
        grid = table[REF_QUANTILES].list.to_array(reference.n_quantiles).to_numpy()
        log_median = table[REF_LOG_MEDIAN].to_numpy()
        scale = np.maximum(_MAD_TO_SD * table[REF_LOG_MAD].to_numpy(), _MIN_SCALE)
        rows = ref_idx.to_numpy()[usable].astype(np.int64)
        with np.errstate(divide="ignore"):
            log_x = np.log(unit_value[usable])
        pct[usable] = _percentiles(grid.astype(np.float64), rows, log_x)
        z[usable] = np.clip((log_x - log_median[rows]) / scale[rows], -VALUE_Z_CAP, VALUE_Z_CAP)
    median = table[REF_LOG_MEDIAN].gather(ref_idx).exp().alias(VALUE_REF_MEDIAN)
    added = pl.DataFrame(
        [
            keyed[UNIT_VALUE],
            median,
            table[REF_N].gather(ref_idx).alias(VALUE_REF_N),
            table[REF_LEVEL].gather(ref_idx).alias(VALUE_REF_LEVEL),
            (keyed[UNIT_VALUE] / median).alias(VALUE_RATIO),
            pl.Series(VALUE_Z, z).fill_nan(None),
            pl.Series(VALUE_PERCENTILE, pct).fill_nan(None),
        ]
    )
    return view.drop(VALUE_CONTROL_COLUMNS, strict=False).hstack(added)
