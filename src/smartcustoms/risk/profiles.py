"""History risk profiles: how often items sharing a key were found non-compliant before.

A targeting officer asks of a new declaration: has this importer, this declarant, this
seller, this subheading from this origin been caught before, how often, and how much money
was at stake? A profile answers per **key** (one column, or a tuple of columns such as
importer x HS6) with four statistics (:class:`ProfileStat`):

* ``n`` - history items with the key, labelled or not (frequency needs no control result);
* ``n_labelled`` - of those, items whose control outcome is known;
* ``rate`` - the non-compliance rate, shrunk towards the overall rate by an m-estimate,
  ``(positives + m x prior) / (labelled + m)``: a key seen once is not "100 % fraud";
* ``revenue`` - revenue at stake per labelled item, shrunk the same way.

Labels come from :data:`~smartcustoms.risk.columns.IS_NONCOMPLIANT` (bool or 0/1; null =
not controlled, counted in ``n`` only) and revenue from
:data:`~smartcustoms.risk.columns.REVENUE_AT_STAKE` (optional). Keys with a null part give
null statistics: an unknown seller is not a new seller.

Two ways to compute them, one per phase, so that no row ever sees its own outcome:

* **out of fold** on training data (:func:`out_of_fold_profiles`): rows are split into
  folds and each row's profile comes from the other folds only. ``groups`` keeps rows
  sharing a value (e.g. an exact declared price) in one fold, which makes the profile
  behave as it will for a *new* such value at scoring time;
* **strictly earlier** on scoring data: :class:`HistoryProfiles` is fitted on history and
  applied to later rows (it refuses rows filed before the end of its history unless told
  otherwise); :func:`expanding_profiles` gives every row of a labelled stream the profile
  of the rows filed strictly before it.

Column names of the output are :func:`profile_column` (``hist_<key>_<stat>``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final, Self

import numpy as np
import polars as pl
from numpy.typing import NDArray

from smartcustoms.errors import (
    InsufficientLabelsError,
    InvalidInputError,
    LabelLeakageError,
    NotFittedError,
    Problem,
)
from smartcustoms.model.columns import (
    FILED_AT,
    FILER_ID,
    OFFICE_OF_ARRIVAL,
    ORIGIN_COUNTRY,
    SELLER_ID,
    VALUE,
)
from smartcustoms.risk.columns import (
    HS6,
    IMPORTER_ID,
    IS_NONCOMPLIANT,
    REVENUE_AT_STAKE,
    is_label_column,
)

__all__ = [
    "ALL_STATS",
    "CARRIER_ID",
    "DECLARED_VALUE_KEYS",
    "DEFAULT_PROFILE_KEYS",
    "DEFAULT_SMOOTHING",
    "PROFILE_KEY",
    "PROFILE_KEY_VALUE",
    "PROFILE_N",
    "PROFILE_N_LABELLED",
    "PROFILE_N_POSITIVE",
    "PROFILE_REVENUE_SUM",
    "HistoryProfiles",
    "ProfileKey",
    "ProfileStat",
    "expanding_profiles",
    "key_name",
    "out_of_fold_profiles",
    "profile_column",
    "profile_columns",
    "refuse_label_columns",
]

CARRIER_ID: Final = "carrier_id"
"""Carrier party id, as :mod:`smartcustoms.model.columns` flattens the ``carrier`` party
(that module has no constant for it)."""

ProfileKey = tuple[str, ...]
"""Columns whose joint value identifies a profile (one column, or a pair such as
importer x HS6)."""


class ProfileStat(StrEnum):
    """Statistics kept per key value (see the module docstring)."""

    COUNT = "n"
    LABELLED = "n_labelled"
    RATE = "rate"
    REVENUE = "revenue"


ALL_STATS: Final = tuple(ProfileStat)
"""Every statistic, in output order."""

DEFAULT_SMOOTHING: Final = 10.0
"""m of the m-estimate: a key needs about this many labelled items before its own rate
counts as much as the overall rate."""

DEFAULT_PROFILE_KEYS: Final[tuple[ProfileKey, ...]] = (
    (IMPORTER_ID,),
    (SELLER_ID,),
    (FILER_ID,),
    (HS6,),
    (ORIGIN_COUNTRY,),
    (OFFICE_OF_ARRIVAL,),
    (CARRIER_ID,),
    (IMPORTER_ID, HS6),
    (FILER_ID, HS6),
    (SELLER_ID, HS6),
    (HS6, ORIGIN_COUNTRY),
    (IMPORTER_ID, SELLER_ID),
    (FILER_ID, IMPORTER_ID),
)
"""Party, goods and route keys and the pairs that tell one trade flow from another."""

DECLARED_VALUE_KEYS: Final[tuple[ProfileKey, ...]] = (
    (VALUE,),
    (VALUE, HS6),
    (VALUE, HS6, ORIGIN_COUNTRY),
)
"""Keys on the exact declared value, as DATE-style models memorise it. Add them when exact
values recur across declarations (fixed-price goods, synthetic data): on Jeong et al. 2022
they carry most of the top-of-ranking precision. Keep in mind that this is memorisation -
a value never seen before gets the prior - and check the "unseen value" slice separately."""

# --- persisted columns (:meth:`HistoryProfiles.to_frame`) ---------------------------------
PROFILE_KEY: Final = "profile_key"
"""Key name (:func:`key_name`)."""
PROFILE_KEY_VALUE: Final = "key_value"
"""The key's column values as strings, joined by U+001F (unit separator)."""
PROFILE_N: Final = "n"
"""History items with the key value."""
PROFILE_N_LABELLED: Final = "n_labelled"
"""Of those, items with a known control outcome."""
PROFILE_N_POSITIVE: Final = "n_positive"
"""Of those, items found non-compliant."""
PROFILE_REVENUE_SUM: Final = "revenue_sum"
"""Revenue at stake summed over the labelled items."""

_SEPARATOR: Final = "\x1f"
_Y: Final = "_y"
_R: Final = "_r"
_FOLD: Final = "_fold"
_T: Final = "_t"
_KEY_CODE: Final = "_key_code"
_SUMS: Final = (PROFILE_N, PROFILE_N_LABELLED, PROFILE_N_POSITIVE, PROFILE_REVENUE_SUM)


def key_name(key: Sequence[str]) -> str:
    """Name of a key: its columns joined by ``__`` (``importer_id__hs6``)."""
    return "__".join(key)


def profile_column(key: Sequence[str], stat: ProfileStat | str) -> str:
    """Output column of one statistic of one key: ``hist_<key>_<stat>``."""
    return f"hist_{key_name(key)}_{ProfileStat(stat).value}"


def profile_columns(keys: Iterable[Sequence[str]], stats: Iterable[ProfileStat | str]) -> list[str]:
    """Every output column for ``keys`` x ``stats``, key-major, in output order."""
    stat_list = [ProfileStat(s) for s in stats]
    return [profile_column(k, s) for k in keys for s in stat_list]


def refuse_label_columns(columns: Iterable[str], *, where: str) -> None:
    """Raise when any column carries a control outcome (see :func:`is_label_column`).

    A label (or anything derived from one) used as a feature or profile key makes a model
    look perfect in training and useless in service; it must never happen silently.

    Args:
        columns: Column names offered as inputs.
        where: What offered them (``feature config``, ``profile keys``), for the message.

    Raises:
        LabelLeakageError: Listing every offending column.
    """
    offending = sorted({c for c in columns if is_label_column(c)})
    if offending:
        raise LabelLeakageError.with_problems(
            f"{where} names label columns: {', '.join(offending)}",
            [
                Problem("risk.label_leakage", c, f"{c!r} carries a control outcome")
                for c in offending
            ],
        )


def _normalise_keys(keys: Iterable[Sequence[str]]) -> tuple[ProfileKey, ...]:
    out = tuple(tuple(k) for k in keys)
    if any(not k for k in out):
        raise InvalidInputError("a profile key needs at least one column")
    if len({key_name(k) for k in out}) != len(out):
        raise InvalidInputError("profile keys must be distinct")
    refuse_label_columns((c for k in out for c in k), where="profile keys")
    return out


def _require_columns(view: pl.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = sorted({c for c in columns if c not in view.columns})
    if missing:
        raise InvalidInputError.with_problems(
            f"{what} needs columns absent from the view: {', '.join(missing)}",
            [Problem("risk.column_missing", c, "column missing") for c in missing],
        )


def _outcomes(view: pl.DataFrame, label: str, revenue: str | None) -> list[pl.Expr]:
    """Label as Float64 (null = not controlled) and revenue where labelled (null -> 0)."""
    if label in view.columns:
        bad = view.select(~pl.col(label).cast(pl.Float64).is_in([0.0, 1.0])).to_series().any()
        if bad:
            raise InvalidInputError(f"{label!r} must be boolean or 0/1 (null when unknown)")
        y = pl.col(label).cast(pl.Float64)
    else:
        y = pl.lit(None, pl.Float64)
    r = (
        pl.when(y.is_not_null()).then(pl.col(revenue).cast(pl.Float64).fill_null(0.0))
        if revenue is not None and revenue in view.columns
        else pl.lit(None, pl.Float64)
    )
    return [y.alias(_Y), r.alias(_R)]


def _key_frame(view: pl.DataFrame, key: ProfileKey) -> list[pl.Expr]:
    return [pl.col(c).cast(pl.String) for c in key]


_AGG: Final = (
    pl.len().cast(pl.Float64).alias(PROFILE_N),
    pl.col(_Y).count().cast(pl.Float64).alias(PROFILE_N_LABELLED),
    pl.col(_Y).sum().alias(PROFILE_N_POSITIVE),
    pl.col(_R).sum().alias(PROFILE_REVENUE_SUM),
)


def _check_stats(
    view: pl.DataFrame, stats: Sequence[ProfileStat], label: str, revenue: str | None
) -> None:
    if ProfileStat.REVENUE in stats and (revenue is None or revenue not in view.columns):
        raise InvalidInputError(
            f"the revenue profile statistic needs the {revenue or REVENUE_AT_STAKE!r} column"
        )
    needs_labels = {ProfileStat.RATE, ProfileStat.REVENUE} & set(stats)
    if needs_labels and (label not in view.columns or view[label].null_count() == view.height):
        raise InsufficientLabelsError(
            f"profile rates need labelled history rows ({label!r} is absent or all null)"
        )


class HistoryProfiles:
    """Profiles fitted on history, applied to later rows (the scoring-time computation).

    Follows the scikit-learn contract: the constructor only stores settings, :meth:`fit`
    learns the per-key tables (attributes ending in ``_``), :meth:`transform` before
    :meth:`fit` raises :class:`~smartcustoms.errors.NotFittedError`.

    Args:
        keys: Profile keys (tuples of column names). Any column of the view may be part of
            a key - an exact declared value, a dataset-specific code - except label columns.
        stats: Statistics to output per key.
        smoothing: m of the m-estimate (>= 0).
        label: Label column (bool or 0/1, null = not controlled).
        revenue: Revenue-at-stake column, or None when revenue is not profiled.

    Raises:
        LabelLeakageError: When a key names a label column.
    """

    def __init__(
        self,
        *,
        keys: Iterable[Sequence[str]] = DEFAULT_PROFILE_KEYS,
        stats: Iterable[ProfileStat | str] = ALL_STATS,
        smoothing: float = DEFAULT_SMOOTHING,
        label: str = IS_NONCOMPLIANT,
        revenue: str | None = REVENUE_AT_STAKE,
    ) -> None:
        self.keys = _normalise_keys(keys)
        self.stats = tuple(ProfileStat(s) for s in stats)
        if smoothing < 0:
            raise InvalidInputError("smoothing must be >= 0")
        self.smoothing = float(smoothing)
        self.label = label
        self.revenue = revenue

    @property
    def feature_names(self) -> list[str]:
        """Output columns of :meth:`transform`, in order."""
        return profile_columns(self.keys, self.stats)

    def fit(self, history: pl.DataFrame) -> Self:
        """Sum counts, labels and revenue per key value over the history rows.

        Args:
            history: Risk-view rows filed before the rows to score, labelled or not.

        Returns:
            ``self``.

        Raises:
            InvalidInputError: When a key column is missing or the label is not 0/1.
            InsufficientLabelsError: When rates are asked for and no row is labelled.
        """
        _require_columns(history, {c for k in self.keys for c in k}, "profiles")
        _check_stats(history, self.stats, self.label, self.revenue)
        base = history.select(*_outcomes(history, self.label, self.revenue))
        tables: dict[str, pl.DataFrame] = {}
        for key in self.keys:
            frame = history.select(*_key_frame(history, key)).hstack(base).drop_nulls(key)
            tables[key_name(key)] = frame.group_by(list(key)).agg(*_AGG)
        totals = base.select(
            pl.col(_Y).count().alias(PROFILE_N_LABELLED),
            pl.col(_Y).sum().alias(PROFILE_N_POSITIVE),
            pl.col(_R).sum().alias(PROFILE_REVENUE_SUM),
        ).row(0, named=True)
        n_labelled = int(totals[PROFILE_N_LABELLED])
        self.tables_ = tables
        self.n_history_ = history.height
        self.n_labelled_ = n_labelled
        self.prior_rate_ = float(totals[PROFILE_N_POSITIVE]) / n_labelled if n_labelled else 0.0
        self.prior_revenue_ = (
            float(totals[PROFILE_REVENUE_SUM] or 0.0) / n_labelled if n_labelled else 0.0
        )
        self.window_last_ = _last_filed(history)
        self._index = _LookupIndex(self.keys, tables)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "tables_"):
            raise NotFittedError("HistoryProfiles.fit must run before transform")

    def transform(self, view: pl.DataFrame, *, allow_overlap: bool = False) -> pl.DataFrame:
        """Profile features of ``view`` rows from the fitted history.

        Args:
            view: Rows to score, filed after the history.
            allow_overlap: Accept rows filed at or before the end of the history (back-
                testing on the history itself leaks their own outcomes: use
                :func:`out_of_fold_profiles` for training rows).

        Returns:
            One row per ``view`` row, columns :attr:`feature_names`.

        Raises:
            NotFittedError: Before :meth:`fit`.
            InvalidInputError: When a key column is missing, or a row is not later than the
                history and ``allow_overlap`` is false.
        """
        self._check_fitted()
        _require_columns(view, {c for k in self.keys for c in k}, "profiles")
        if not allow_overlap and self.window_last_ is not None and FILED_AT in view.columns:
            early = view.filter(pl.col(FILED_AT) <= self.window_last_).height
            if early:
                raise InvalidInputError(
                    f"{early} rows are filed at or before the end of the profile history "
                    f"({self.window_last_.isoformat()}); pass allow_overlap=True to accept"
                )
        index = self._lookup_index()
        codes = {c: index.codes_of(view, c) for c in index.vocabularies}
        columns: list[pl.Series] = []
        for key in self.keys:
            key_null = np.zeros(view.height, dtype=bool)
            for column in key:
                key_null |= codes[column][1]
            sums = index.sums_of(key, codes)
            columns.extend(
                _features(
                    key,
                    self.stats,
                    self.smoothing,
                    sums,
                    self.prior_rate_,
                    self.prior_revenue_,
                    1.0,
                    key_null,
                )
            )
        return pl.DataFrame(columns, schema=dict.fromkeys(self.feature_names, pl.Float64))

    def _lookup_index(self) -> _LookupIndex:
        """Integer-coded copy of the tables (built by :meth:`fit`), for fast scoring."""
        index: _LookupIndex | None = getattr(self, "_index", None)
        if index is None:
            index = _LookupIndex(self.keys, self.tables_)
            self._index = index
        return index

    def to_frame(self) -> pl.DataFrame:
        """Every key value's sums as rows (see ``PROFILE_*``), for the store."""
        self._check_fitted()
        parts = [
            self.tables_[key_name(key)].select(
                pl.lit(key_name(key)).alias(PROFILE_KEY),
                pl.concat_str(list(key), separator=_SEPARATOR).alias(PROFILE_KEY_VALUE),
                *_SUMS,
            )
            for key in self.keys
        ]
        schema = pl.Schema(
            [(PROFILE_KEY, pl.String()), (PROFILE_KEY_VALUE, pl.String())]
            + [(c, pl.Float64()) for c in _SUMS]
        )
        return pl.concat([p.cast(schema) for p in parts]) if parts else pl.DataFrame(schema=schema)

    def metadata(self) -> dict[str, Any]:
        """JSON-ready settings and fitted scalars, stored beside :meth:`to_frame`."""
        self._check_fitted()
        return {
            "keys": [list(k) for k in self.keys],
            "stats": [s.value for s in self.stats],
            "smoothing": self.smoothing,
            "label": self.label,
            "revenue": self.revenue,
            "n_history": self.n_history_,
            "n_labelled": self.n_labelled_,
            "prior_rate": self.prior_rate_,
            "prior_revenue": self.prior_revenue_,
            "window_last": None if self.window_last_ is None else self.window_last_.isoformat(),
        }

    @classmethod
    def from_frame(cls, frame: pl.DataFrame, metadata: Mapping[str, Any]) -> HistoryProfiles:
        """Rebuild fitted profiles from :meth:`to_frame` rows and :meth:`metadata`."""
        profiles = cls(
            keys=[tuple(k) for k in metadata["keys"]],
            stats=metadata["stats"],
            smoothing=float(metadata["smoothing"]),
            label=str(metadata["label"]),
            revenue=metadata.get("revenue"),
        )
        tables: dict[str, pl.DataFrame] = {}
        for key in profiles.keys:
            rows = frame.filter(pl.col(PROFILE_KEY) == key_name(key))
            parts = rows[PROFILE_KEY_VALUE].str.split(_SEPARATOR)
            tables[key_name(key)] = pl.DataFrame(
                [parts.list.get(i).alias(c) for i, c in enumerate(key)]
            ).hstack(rows.select(pl.col(c).cast(pl.Float64) for c in _SUMS))
        profiles.tables_ = tables
        profiles.n_history_ = int(metadata["n_history"])
        profiles.n_labelled_ = int(metadata["n_labelled"])
        profiles.prior_rate_ = float(metadata["prior_rate"])
        profiles.prior_revenue_ = float(metadata["prior_revenue"])
        last = metadata.get("window_last")
        profiles.window_last_ = None if last is None else _as_utc(datetime.fromisoformat(last))
        profiles._index = _LookupIndex(profiles.keys, tables)
        return profiles


class _LookupIndex:
    """The fitted tables with integer keys, for fast scoring.

    Scoring then needs one string join per *column* (not per key). A one-column key is a
    direct array lookup by code; a multi-column key joins on its mixed-radix integer code.
    """

    def __init__(self, keys: Sequence[ProfileKey], tables: Mapping[str, pl.DataFrame]) -> None:
        values: dict[str, list[pl.Series]] = {}
        for key in keys:
            for column in key:
                values.setdefault(column, []).append(tables[key_name(key)][column])
        self.vocabularies = {
            column: pl.concat(parts).unique().sort().to_frame(_T).with_row_index(_FOLD)
            for column, parts in values.items()
        }
        self.radix = {c: max(1, v.height) for c, v in self.vocabularies.items()}
        self.dense: dict[str, dict[str, NDArray[np.float64]]] = {}
        self.coded: dict[str, pl.DataFrame] = {}
        for key in keys:
            table = tables[key_name(key)]
            codes = {c: self._codes(table[c], c) for c in key}
            if len(key) == 1:
                # one extra slot at the end holds zeros: the code of unseen and null values
                size = self.radix[key[0]] + 1
                self.dense[key_name(key)] = {
                    c: np.bincount(
                        codes[key[0]], weights=table[c].to_numpy(), minlength=size
                    ).astype(np.float64)
                    for c in _SUMS
                }
            else:
                self.coded[key_name(key)] = table.select(_SUMS).with_columns(
                    pl.Series(_KEY_CODE, self._combine(key, codes))
                )

    def _codes(self, values: pl.Series, column: str) -> NDArray[np.int64]:
        frame = values.cast(pl.String).alias(_T).to_frame()
        joined = frame.join(self.vocabularies[column], on=_T, how="left", maintain_order="left")
        return np.asarray(joined[_FOLD].cast(pl.Int64).fill_null(-1).to_numpy(), dtype=np.int64)

    def codes_of(
        self, view: pl.DataFrame, column: str
    ) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
        """Codes of a view column (-1 when unseen or null) and its null mask."""
        return self._codes(view[column], column), view[column].is_null().to_numpy()

    def _combine(self, key: ProfileKey, codes: Mapping[str, NDArray[np.int64]]) -> pl.Series:
        """Mixed-radix code of a key's values (null when a part is unseen or null).

        Codes stay exact Int64 while the product of the radices fits; beyond that (several
        very high-cardinality columns) they are the decimal strings of exact Python ints.
        """
        size = next(iter(codes.values())).size
        valid = np.ones(size, dtype=bool)
        for column in key:
            valid &= codes[column] >= 0
        fits = float(np.prod([float(self.radix[c]) for c in key])) < 2.0**62
        combined: Any = np.zeros(size, dtype=np.int64 if fits else object)
        for column in key:
            combined = combined * self.radix[column] + codes[column]
        series = pl.Series(combined if fits else combined.astype(str)).set(pl.Series(~valid), None)
        return series.alias(_KEY_CODE)

    def sums_of(
        self,
        key: ProfileKey,
        codes: Mapping[str, tuple[NDArray[np.int64], NDArray[np.bool_]]],
    ) -> dict[str, NDArray[np.float64]]:
        """Per row: the fitted sums of its key value (zeros when the value is unseen)."""
        name = key_name(key)
        if name in self.dense:
            code = codes[key[0]][0]
            index = np.where(code >= 0, code, self.radix[key[0]])
            return {c: v[index] for c, v in self.dense[name].items()}
        combined = self._combine(key, {c: codes[c][0] for c in key}).to_frame()
        joined = combined.join(self.coded[name], on=_KEY_CODE, how="left", maintain_order="left")
        return {c: np.asarray(joined[c].fill_null(0.0).to_numpy(), dtype=np.float64) for c in _SUMS}


def _as_utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _last_filed(view: pl.DataFrame) -> datetime | None:
    if FILED_AT not in view.columns or view.height == 0:
        return None
    last = view[FILED_AT].max()
    return _as_utc(last) if isinstance(last, datetime) else None


# --- vectorised core of the training-time computations -----------------------------------
# Keys become dense integer codes once per column; sums per (key, fold) or per (key, instant)
# are then numpy bincounts and cumulative sums, far cheaper than joins on string keys.


class _Outcomes:
    """Numpy arrays of one view's outcomes: labelled flag, label (0 when unknown), revenue."""

    def __init__(self, view: pl.DataFrame, label: str, revenue: str | None) -> None:
        frame = view.select(*_outcomes(view, label, revenue))
        y = frame[_Y].to_numpy().astype(np.float64)
        r = frame[_R].fill_null(0.0).to_numpy().astype(np.float64)
        self.labelled = np.isfinite(y).astype(np.float64)
        self.y = np.nan_to_num(y, nan=0.0)
        self.revenue = np.where(self.labelled > 0, r, 0.0)


def _column_codes(view: pl.DataFrame, column: str) -> NDArray[np.int64]:
    """Dense codes of a column's values (-1 for null); the numbering itself is arbitrary."""
    values = view.select(pl.col(column).cast(pl.String).alias(_T))
    table = values.drop_nulls().unique().with_row_index(_FOLD)
    codes = values.join(table, on=_T, how="left", maintain_order="left")[_FOLD]
    return np.asarray(codes.cast(pl.Int64).fill_null(-1).to_numpy(), dtype=np.int64)


def _key_codes(
    view: pl.DataFrame, key: ProfileKey, cache: dict[str, NDArray[np.int64]]
) -> tuple[NDArray[np.int64], int]:
    """Dense codes of a key's joint values (-1 when any part is null) and their count."""
    for column in key:
        if column not in cache:
            cache[column] = _column_codes(view, column)
    codes = cache[key[0]]
    valid = codes >= 0
    for column in key[1:]:
        other = cache[column]
        valid = valid & (other >= 0)
        combined = np.where(valid, codes * (int(other.max(initial=0)) + 1) + other, -1)
        _, inverse = np.unique(combined[valid], return_inverse=True)
        codes = np.full(codes.size, -1, dtype=np.int64)
        codes[valid] = inverse
    n_groups = int(codes.max(initial=-1)) + 1
    return codes, n_groups


def _features(
    key: ProfileKey,
    stats: Sequence[ProfileStat],
    smoothing: float,
    sums: Mapping[str, NDArray[np.float64]],
    prior_rate: NDArray[np.float64] | float,
    prior_revenue: NDArray[np.float64] | float,
    count_scale: float,
    key_null: NDArray[np.bool_],
) -> list[pl.Series]:
    """Profile statistics from the per-row sums (null where the key is null).

    Written with in-place numpy operations: at scoring time this runs once per key over
    every row, so temporaries cost more than the arithmetic.
    """
    n_lab = sums[PROFILE_N_LABELLED]
    any_null = bool(key_null.any())
    denominator: NDArray[np.float64] | None = None
    out: list[pl.Series] = []
    for stat in stats:
        if stat is ProfileStat.COUNT or stat is ProfileStat.LABELLED:
            base = sums[PROFILE_N] if stat is ProfileStat.COUNT else n_lab
            value = base * count_scale
        else:
            if denominator is None:
                denominator = n_lab + smoothing
            numerator, prior = (
                (sums[PROFILE_N_POSITIVE], prior_rate)
                if stat is ProfileStat.RATE
                else (sums[PROFILE_REVENUE_SUM], prior_revenue)
            )
            value = numerator + np.multiply(smoothing, prior)
            with np.errstate(divide="ignore", invalid="ignore"):
                np.divide(value, denominator, out=value)
        if any_null:
            value[key_null] = np.nan
        out.append(pl.Series(profile_column(key, stat), value, nan_to_null=True))
    return out


def _assign_folds(
    view: pl.DataFrame, n_folds: int, seed: int, groups: Sequence[str]
) -> NDArray[np.int64]:
    """Fold of each row: a seeded shuffle, whole groups at a time when ``groups`` is set."""
    rng = np.random.default_rng(seed)
    if not groups:
        return (rng.permutation(view.height) % n_folds).astype(np.int64)
    # Group ids in sorted key order, so the assignment depends on the seed and the data only.
    keyed = view.select(pl.col(c).cast(pl.String) for c in groups)
    ids = keyed.unique().sort(list(groups), nulls_last=True)
    ids = ids.with_columns(pl.Series(_FOLD, rng.permutation(ids.height) % n_folds, dtype=pl.Int64))
    joined = keyed.join(ids, on=list(groups), how="left", nulls_equal=True, maintain_order="left")
    return joined[_FOLD].to_numpy().astype(np.int64)


def out_of_fold_profiles(
    view: pl.DataFrame,
    *,
    keys: Iterable[Sequence[str]] = DEFAULT_PROFILE_KEYS,
    stats: Iterable[ProfileStat | str] = ALL_STATS,
    smoothing: float = DEFAULT_SMOOTHING,
    n_folds: int = 5,
    seed: int = 0,
    groups: Sequence[str] = (),
    group_share: float = 1.0,
    label: str = IS_NONCOMPLIANT,
    revenue: str | None = REVENUE_AT_STAKE,
) -> pl.DataFrame:
    """Profiles of training rows, each computed from the other folds only.

    Each row's rate and revenue come from the labels of the other ``n_folds - 1`` folds,
    and so does its prior, so changing a row's own label never changes its own profile.
    Counts (``n``, ``n_labelled``) are scaled by ``n_folds / (n_folds - 1)`` to estimate
    what the whole training history would show, as :class:`HistoryProfiles` shows at
    scoring time.

    Args:
        view: Training rows (labelled or not; unlabelled rows count for ``n`` only).
        keys: Profile keys.
        stats: Statistics to output per key.
        smoothing: m of the m-estimate.
        n_folds: Number of folds (>= 2).
        seed: Seed of the fold assignment (same seed, same data: same profiles).
        groups: Columns whose joint value keeps rows in one fold. Grouping by an exact
            declared value makes every training row look "never seen before" to that
            value's keys, as a new value will at scoring time.
        group_share: With ``groups``, the share of rows (picked by ``seed``) that get the
            grouped-fold profile; the others get the plain random-fold one. Scoring traffic
            mixes values seen before with new ones, and one model trained on such a mix
            learns both regimes (on Jeong et al. 2022, 0.5 kept precision at the top and
            lifted ranking on new values). 1.0 groups every row.
        label: Label column.
        revenue: Revenue-at-stake column, or None.

    Returns:
        One row per ``view`` row, columns :func:`profile_columns` of ``keys`` x ``stats``.

    Raises:
        LabelLeakageError: When a key or group names a label column.
        InvalidInputError: When a column is missing, ``n_folds`` < 2 or ``group_share`` is
            outside 0..1.
        InsufficientLabelsError: When rates are asked for and no row is labelled.
    """
    key_list = _normalise_keys(keys)
    stat_list = tuple(ProfileStat(s) for s in stats)
    refuse_label_columns(groups, where="fold groups")
    if n_folds < 2:
        raise InvalidInputError("out-of-fold profiles need n_folds >= 2")
    if not 0.0 <= group_share <= 1.0:
        raise InvalidInputError("group_share must be between 0 and 1")
    _require_columns(view, {c for k in key_list for c in k} | set(groups), "profiles")
    _check_stats(view, stat_list, label, revenue)
    outcomes = _Outcomes(view, label, revenue)
    cache: dict[str, NDArray[np.int64]] = {}
    codes = {key: _key_codes(view, key, cache) for key in key_list}
    if not groups or group_share >= 1.0:
        folds = _assign_folds(view, n_folds, seed, groups)
        return _oof(view, key_list, stat_list, smoothing, n_folds, folds, outcomes, codes)
    plain = _oof(
        view,
        key_list,
        stat_list,
        smoothing,
        n_folds,
        _assign_folds(view, n_folds, seed, ()),
        outcomes,
        codes,
    )
    if group_share <= 0.0:
        return plain
    grouped = _oof(
        view,
        key_list,
        stat_list,
        smoothing,
        n_folds,
        _assign_folds(view, n_folds, seed, groups),
        outcomes,
        codes,
    )
    take_grouped = pl.Series(np.random.default_rng([seed, 1]).random(view.height) < group_share)
    return pl.DataFrame([g.zip_with(take_grouped, r) for g, r in zip(grouped, plain, strict=True)])


def _oof(
    view: pl.DataFrame,
    key_list: Sequence[ProfileKey],
    stat_list: Sequence[ProfileStat],
    smoothing: float,
    n_folds: int,
    fold: NDArray[np.int64],
    outcomes: _Outcomes,
    key_codes: Mapping[ProfileKey, tuple[NDArray[np.int64], int]],
) -> pl.DataFrame:
    """Out-of-fold profiles for one fold assignment (see :func:`out_of_fold_profiles`)."""
    weights = {
        PROFILE_N: np.ones(view.height),
        PROFILE_N_LABELLED: outcomes.labelled,
        PROFILE_N_POSITIVE: outcomes.y,
        PROFILE_REVENUE_SUM: outcomes.revenue,
    }
    # Counts are whole numbers, so "total - own fold" is exact for them; revenue sums the
    # other folds explicitly, so a row's own revenue cannot reach its profile even through
    # floating-point rounding.
    integral = {PROFILE_N, PROFILE_N_LABELLED, PROFILE_N_POSITIVE}

    def other_folds(index: NDArray[np.int64], size: int, w: NDArray[np.float64], name: str) -> Any:
        per = np.bincount(index, weights=w, minlength=size * n_folds).reshape(size, n_folds)
        if name in integral:
            return per.sum(axis=1, keepdims=True) - per
        return np.stack(
            [per[:, :k].sum(axis=1) + per[:, k + 1 :].sum(axis=1) for k in range(n_folds)],
            axis=1,
        )

    fold_other = {c: other_folds(fold, 1, w, c)[0] for c, w in weights.items() if c != PROFILE_N}
    with np.errstate(divide="ignore", invalid="ignore"):
        prior_rate = np.nan_to_num(fold_other[PROFILE_N_POSITIVE] / fold_other[PROFILE_N_LABELLED])[
            fold
        ]
        prior_revenue = np.nan_to_num(
            fold_other[PROFILE_REVENUE_SUM] / fold_other[PROFILE_N_LABELLED]
        )[fold]
    needed = {PROFILE_N_LABELLED}
    needed |= {PROFILE_N} if ProfileStat.COUNT in stat_list else set()
    needed |= {PROFILE_N_POSITIVE} if ProfileStat.RATE in stat_list else set()
    needed |= {PROFILE_REVENUE_SUM} if ProfileStat.REVENUE in stat_list else set()
    columns: list[pl.Series] = []
    for key in key_list:
        codes, n_groups = key_codes[key]
        key_null = codes < 0
        cell = np.where(key_null, 0, codes) * n_folds + fold
        if key_null.any():
            known = ~key_null
            cell_known = cell[known]
            known_weights = {c: weights[c][known] for c in needed}
        else:
            cell_known, known_weights = cell, weights
        sums = {
            c: other_folds(cell_known, n_groups, known_weights[c], c).reshape(-1)[cell]
            if n_groups
            else np.zeros(view.height)
            for c in needed
        }
        columns.extend(
            _features(
                key,
                stat_list,
                smoothing,
                sums,
                prior_rate,
                prior_revenue,
                n_folds / (n_folds - 1),
                key_null,
            )
        )
    return pl.DataFrame(
        columns, schema=dict.fromkeys(profile_columns(key_list, stat_list), pl.Float64)
    )


def _exclusive_before(
    codes: NDArray[np.int64],
    instants: NDArray[np.int64],
    weights: Mapping[str, NDArray[np.float64]],
) -> dict[str, NDArray[np.float64]]:
    """Per row and weight: the sum over rows with the same code and a strictly earlier instant.

    One sort and one cumulative sum per weight. Counts are exact; sums of revenue are exact
    up to floating-point rounding (the running total spans codes that sort earlier).
    """
    order = np.lexsort((instants, codes))
    c, t = codes[order], instants[order]
    positions = np.arange(c.size)
    new_code = np.r_[True, c[1:] != c[:-1]]
    new_instant = new_code | np.r_[True, t[1:] != t[:-1]]
    code_start = np.maximum.accumulate(np.where(new_code, positions, 0))
    instant_start = np.maximum.accumulate(np.where(new_instant, positions, 0))
    out: dict[str, NDArray[np.float64]] = {}
    for name, w in weights.items():
        ws = w[order]
        before = np.cumsum(ws) - ws
        result = np.empty(c.size)
        result[order] = before[instant_start] - before[code_start]
        out[name] = result
    return out


def expanding_profiles(
    view: pl.DataFrame,
    *,
    keys: Iterable[Sequence[str]] = DEFAULT_PROFILE_KEYS,
    stats: Iterable[ProfileStat | str] = ALL_STATS,
    smoothing: float = DEFAULT_SMOOTHING,
    label: str = IS_NONCOMPLIANT,
    revenue: str | None = REVENUE_AT_STAKE,
) -> pl.DataFrame:
    """Profiles of a time-ordered stream: each row sees only rows filed strictly before it.

    This is what a live system would have shown at each filing if control results were
    known at once, so it suits back-tests and training schemes that mimic deployment.
    Rows filed at the same instant do not see each other, and each row's prior is the
    rate of the labelled rows strictly before it.

    Args:
        view: Rows with ``filed_at`` (no nulls).
        keys: Profile keys.
        stats: Statistics to output per key.
        smoothing: m of the m-estimate.
        label: Label column.
        revenue: Revenue-at-stake column, or None.

    Returns:
        One row per ``view`` row, columns :func:`profile_columns` of ``keys`` x ``stats``.

    Raises:
        LabelLeakageError: When a key names a label column.
        InvalidInputError: When ``filed_at`` or a key column is missing or null.
        InsufficientLabelsError: When rates are asked for and no row is labelled.
    """
    key_list = _normalise_keys(keys)
    stat_list = tuple(ProfileStat(s) for s in stats)
    _require_columns(view, {c for k in key_list for c in k} | {FILED_AT}, "expanding profiles")
    if view[FILED_AT].null_count():
        raise InvalidInputError(f"expanding profiles need {FILED_AT!r} on every row")
    _check_stats(view, stat_list, label, revenue)
    outcomes = _Outcomes(view, label, revenue)
    instants = view[FILED_AT].to_physical().to_numpy().astype(np.int64)
    weights = {
        PROFILE_N: np.ones(view.height),
        PROFILE_N_LABELLED: outcomes.labelled,
        PROFILE_N_POSITIVE: outcomes.y,
        PROFILE_REVENUE_SUM: outcomes.revenue,
    }
    earlier = _exclusive_before(np.zeros(view.height, dtype=np.int64), instants, weights)
    with np.errstate(divide="ignore", invalid="ignore"):
        prior_rate = np.nan_to_num(earlier[PROFILE_N_POSITIVE] / earlier[PROFILE_N_LABELLED])
        prior_revenue = np.nan_to_num(earlier[PROFILE_REVENUE_SUM] / earlier[PROFILE_N_LABELLED])
    cache: dict[str, NDArray[np.int64]] = {}
    columns: list[pl.Series] = []
    for key in key_list:
        codes, _ = _key_codes(view, key, cache)
        key_null = codes < 0
        sums = _exclusive_before(codes, instants, weights)
        columns.extend(
            _features(key, stat_list, smoothing, sums, prior_rate, prior_revenue, 1.0, key_null)
        )
    return pl.DataFrame(
        columns, schema=dict.fromkeys(profile_columns(key_list, stat_list), pl.Float64)
    )
