"""History risk profiles: smoothing, unlabelled rows, out-of-fold and strictly-earlier views."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from smartcustoms.errors import (
    InsufficientLabelsError,
    InvalidInputError,
    LabelLeakageError,
    NotFittedError,
)
from smartcustoms.model.columns import FILED_AT, FILER_ID, VALUE
from smartcustoms.risk.columns import HS6, IMPORTER_ID, IS_NONCOMPLIANT, REVENUE_AT_STAKE
from smartcustoms.risk.profiles import (
    HistoryProfiles,
    ProfileStat,
    expanding_profiles,
    out_of_fold_profiles,
    profile_column,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)
KEYS = ((IMPORTER_ID,), (IMPORTER_ID, HS6))


def _history() -> pl.DataFrame:
    return pl.DataFrame(
        {
            IMPORTER_ID: ["A", "A", "A", "A", "B", None],
            HS6: ["010101", "010101", "020202", "020202", "010101", "010101"],
            IS_NONCOMPLIANT: [True, False, True, None, False, True],
            REVENUE_AT_STAKE: [100.0, 0.0, 50.0, 999.0, 0.0, 10.0],
            FILED_AT: [T0 + timedelta(days=i) for i in range(6)],
        }
    )


def _random_view(rng: np.random.Generator, n: int, *, labelled_share: float = 0.7) -> pl.DataFrame:
    labels = rng.random(n) < 0.3
    known = rng.random(n) < labelled_share
    return pl.DataFrame(
        {
            IMPORTER_ID: rng.choice(np.array(["A", "B", "C", "D", None], dtype=object), n).tolist(),
            HS6: rng.choice(["010101", "020202", "030303"], n).tolist(),
            VALUE: rng.choice([10.0, 20.0, 30.0, 40.0, 50.0], n),
            IS_NONCOMPLIANT: pl.Series(labels).set(pl.Series(~known), None),
            REVENUE_AT_STAKE: np.where(labels, rng.exponential(100.0, n), 0.0),
            FILED_AT: [T0 + timedelta(days=int(d)) for d in rng.integers(0, 30, n)],
        }
    )


def test_rates_are_shrunk_towards_the_prior_and_unlabelled_rows_count_only_in_n() -> None:
    profiles = HistoryProfiles(keys=KEYS, smoothing=2.0).fit(_history())
    # 5 labelled rows, 3 positive; revenue over labelled rows 160
    assert profiles.prior_rate_ == pytest.approx(3 / 5)
    assert profiles.prior_revenue_ == pytest.approx(160 / 5)
    later = pl.DataFrame(
        {
            IMPORTER_ID: ["A", "Z", None],
            HS6: ["020202", "010101", "010101"],
            FILED_AT: [T0 + timedelta(days=10)] * 3,
        }
    )
    out = profiles.transform(later)
    a = out.row(0, named=True)
    assert a[profile_column((IMPORTER_ID,), ProfileStat.COUNT)] == 4
    assert a[profile_column((IMPORTER_ID,), ProfileStat.LABELLED)] == 3
    assert a[profile_column((IMPORTER_ID,), ProfileStat.RATE)] == pytest.approx((2 + 2 * 0.6) / 5)
    assert a[profile_column((IMPORTER_ID,), ProfileStat.REVENUE)] == pytest.approx((150 + 64) / 5)
    assert a[profile_column((IMPORTER_ID, HS6), ProfileStat.COUNT)] == 2
    assert a[profile_column((IMPORTER_ID, HS6), ProfileStat.RATE)] == pytest.approx((1 + 1.2) / 3)
    new = out.row(1, named=True)
    assert new[profile_column((IMPORTER_ID,), ProfileStat.COUNT)] == 0
    assert new[profile_column((IMPORTER_ID,), ProfileStat.RATE)] == pytest.approx(0.6)
    unknown = out.row(2, named=True)
    assert all(v is None for v in unknown.values()), "a null key is unknown, not new"


def test_transform_refuses_rows_not_later_than_the_history() -> None:
    profiles = HistoryProfiles(keys=KEYS).fit(_history())
    early = _history().head(2)
    with pytest.raises(InvalidInputError, match="2 rows"):
        profiles.transform(early)
    assert profiles.transform(early, allow_overlap=True).height == 2


def test_transform_before_fit_raises() -> None:
    with pytest.raises(NotFittedError):
        HistoryProfiles(keys=KEYS).transform(_history())


def test_round_trip_through_rows(seed: int) -> None:
    history = _random_view(np.random.default_rng(seed), 300)
    later = _random_view(np.random.default_rng(seed + 1), 100).with_columns(
        pl.col(FILED_AT) + timedelta(days=60)
    )
    keys = (*KEYS, (VALUE,), (VALUE, HS6, IMPORTER_ID))
    profiles = HistoryProfiles(keys=keys).fit(history)
    rebuilt = HistoryProfiles.from_frame(profiles.to_frame(), profiles.metadata())
    assert rebuilt.metadata() == profiles.metadata()
    assert rebuilt.transform(later).equals(profiles.transform(later))


def test_label_keys_and_bad_labels_are_refused() -> None:
    with pytest.raises(LabelLeakageError) as info:
        HistoryProfiles(keys=((IMPORTER_ID,), (IS_NONCOMPLIANT, HS6), ("Critical Fraud",)))
    assert sorted(p.path for p in info.value.problems) == ["Critical Fraud", IS_NONCOMPLIANT]
    with pytest.raises(LabelLeakageError):
        out_of_fold_profiles(_history(), keys=KEYS, groups=(REVENUE_AT_STAKE,))
    bad = _history().with_columns(pl.lit(2).alias(IS_NONCOMPLIANT))
    with pytest.raises(InvalidInputError, match="0/1"):
        HistoryProfiles(keys=KEYS).fit(bad)


def test_rates_need_labels_and_revenue_needs_its_column() -> None:
    unlabelled = _history().with_columns(pl.lit(None, pl.Boolean).alias(IS_NONCOMPLIANT))
    with pytest.raises(InsufficientLabelsError):
        HistoryProfiles(keys=KEYS).fit(unlabelled)
    counts = HistoryProfiles(keys=KEYS, stats=[ProfileStat.COUNT]).fit(unlabelled)
    assert counts.feature_names == [
        profile_column(KEYS[0], ProfileStat.COUNT),
        profile_column(KEYS[1], ProfileStat.COUNT),
    ]
    with pytest.raises(InvalidInputError, match="revenue"):
        HistoryProfiles(keys=KEYS).fit(_history().drop(REVENUE_AT_STAKE))


def test_out_of_fold_is_leave_one_out_with_one_fold_per_row() -> None:
    """With as many folds as rows each row's profile is every other row's."""
    history = _history()
    m = 2.0
    out = out_of_fold_profiles(history, keys=KEYS, smoothing=m, n_folds=history.height)
    scale = history.height / (history.height - 1)
    # row 0: importer A, labelled positive; the other A rows: 1 labelled negative, 1
    # positive, 1 unlabelled; other labelled rows overall: 4 with 2 positive.
    row = out.row(0, named=True)
    prior = 2 / 4
    assert row[profile_column((IMPORTER_ID,), ProfileStat.COUNT)] == pytest.approx(3 * scale)
    assert row[profile_column((IMPORTER_ID,), ProfileStat.LABELLED)] == pytest.approx(2 * scale)
    assert row[profile_column((IMPORTER_ID,), ProfileStat.RATE)] == pytest.approx(
        (1 + m * prior) / (2 + m)
    )
    assert row[profile_column((IMPORTER_ID,), ProfileStat.REVENUE)] == pytest.approx(
        (50 + m * 60 / 4) / (2 + m)
    )
    assert out.row(5, named=True)[profile_column((IMPORTER_ID,), ProfileStat.RATE)] is None


@settings(max_examples=40, deadline=None)
@given(
    data_seed=st.integers(min_value=0, max_value=10_000),
    row=st.integers(min_value=0, max_value=79),
    n_folds=st.integers(min_value=2, max_value=6),
    grouped=st.booleans(),
    group_share=st.sampled_from([0.0, 0.5, 1.0]),
)
def test_out_of_fold_profile_never_depends_on_the_rows_own_label(
    data_seed: int, row: int, n_folds: int, grouped: bool, group_share: float
) -> None:
    view = _random_view(np.random.default_rng(data_seed), 80)
    groups = (VALUE,) if grouped else ()

    def profiles(frame: pl.DataFrame) -> pl.DataFrame:
        return out_of_fold_profiles(
            frame,
            keys=(*KEYS, (VALUE,)),
            n_folds=n_folds,
            seed=7,
            groups=groups,
            group_share=group_share,
        )

    before = profiles(view)
    own = view[IS_NONCOMPLIANT][row]
    flipped_label = None if own is None else not own
    flipped = view.with_columns(
        view[IS_NONCOMPLIANT].scatter(row, flipped_label),
        view[REVENUE_AT_STAKE].scatter(row, 12345.0),
    )
    after = profiles(flipped)
    assert before.row(row) == after.row(row)
    if own is not None:
        # ... while it does move some other row's profile (the test can fail).
        assert not before.equals(after)


def test_out_of_fold_is_deterministic_per_seed(seed: int) -> None:
    view = _random_view(np.random.default_rng(seed), 200)
    a = out_of_fold_profiles(view, keys=KEYS, seed=1)
    assert a.equals(out_of_fold_profiles(view, keys=KEYS, seed=1))
    assert not a.equals(out_of_fold_profiles(view, keys=KEYS, seed=2))


def test_grouped_folds_make_every_value_look_new(seed: int) -> None:
    """Rows sharing the group value share a fold, so their own value is never seen."""
    view = _random_view(np.random.default_rng(seed), 200)
    grouped = out_of_fold_profiles(view, keys=((VALUE,),), groups=(VALUE,), seed=3)
    assert grouped[profile_column((VALUE,), ProfileStat.COUNT)].to_list() == [0.0] * 200
    plain = out_of_fold_profiles(view, keys=((VALUE,),), seed=3)
    assert (plain[profile_column((VALUE,), ProfileStat.COUNT)] > 0).all()
    mixed = out_of_fold_profiles(view, keys=((VALUE,),), groups=(VALUE,), group_share=0.5, seed=3)
    column = profile_column((VALUE,), ProfileStat.COUNT)
    new_looking = (mixed[column] == 0).to_numpy()
    assert 0.35 < new_looking.mean() < 0.65, "about half the rows see their value as new"
    assert mixed.filter(pl.Series(~new_looking)).equals(plain.filter(pl.Series(~new_looking)))


@settings(max_examples=40, deadline=None)
@given(data_seed=st.integers(min_value=0, max_value=10_000), cut_day=st.integers(1, 29))
@example(data_seed=401, cut_day=1)  # two rows before the cut, neither labelled
def test_expanding_profile_never_uses_a_later_row(data_seed: int, cut_day: int) -> None:
    """Dropping or relabelling every row filed after a cut leaves earlier profiles as they were."""
    view = _random_view(np.random.default_rng(data_seed), 120)
    keys = (*KEYS, (FILER_ID,)) if FILER_ID in view.columns else KEYS
    full = expanding_profiles(view, keys=keys)
    cut = T0 + timedelta(days=cut_day)
    early = view[FILED_AT] <= cut
    if view.filter(early)[IS_NONCOMPLIANT].null_count() == int(early.sum()):
        # nothing labelled before the cut: no rate can be given, and none is made up
        with pytest.raises(InsufficientLabelsError):
            expanding_profiles(view.filter(early), keys=keys)
        return
    prefix = expanding_profiles(view.filter(early), keys=keys)
    assert_frames_close(full.filter(early), prefix)
    relabelled = view.with_columns(
        pl.when(pl.col(FILED_AT) > cut)
        .then(~pl.col(IS_NONCOMPLIANT).fill_null(value=False))
        .otherwise(pl.col(IS_NONCOMPLIANT))
        .alias(IS_NONCOMPLIANT)
    )
    assert_frames_close(expanding_profiles(relabelled, keys=keys).filter(early), prefix)
    # ... and the comparison can fail: relabelling an early row moves later profiles.
    first = int(view[FILED_AT].arg_min() or 0)
    if view[IS_NONCOMPLIANT][first] is not None:
        moved = view.with_columns(view[IS_NONCOMPLIANT].scatter(first, None))
        assert not expanding_profiles(moved, keys=keys).equals(full)


def test_history_profiles_agree_with_the_expanding_view(seed: int) -> None:
    """Scoring later rows with fitted profiles is the strictly-earlier computation."""
    history = _random_view(np.random.default_rng(seed), 300)
    later = _random_view(np.random.default_rng(seed + 1), 50).with_columns(
        pl.lit(T0 + timedelta(days=45)).alias(FILED_AT)
    )
    keys = (*KEYS, (VALUE, HS6))
    fitted = HistoryProfiles(keys=keys).fit(history).transform(later)
    stream = expanding_profiles(pl.concat([history, later]), keys=keys)
    assert_frames_close(fitted, stream.tail(50))


def assert_frames_close(a: pl.DataFrame, b: pl.DataFrame) -> None:
    """Counts and rates exactly; revenue sums up to floating-point rounding."""
    assert a.columns == b.columns
    assert a.height == b.height
    for column in a.columns:
        x, y = a[column].to_numpy(), b[column].to_numpy()
        if column.endswith(ProfileStat.REVENUE.value):
            scale = float(np.nanmax(np.abs(y), initial=1.0))
            np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-9 * scale, err_msg=column)
        else:
            np.testing.assert_array_equal(x, y, err_msg=column)


def test_key_columns_never_filled_in_history_give_new_or_unknown_profiles() -> None:
    """A column with no value in history (no carrier ever declared) still scores."""
    history = _history().with_columns(pl.lit(None, pl.String).alias("carrier_id"))
    keys = (("carrier_id",), ("carrier_id", HS6))
    profiles = HistoryProfiles(keys=keys, smoothing=2.0).fit(history)
    later = pl.DataFrame(
        {
            "carrier_id": ["C1", None],
            HS6: ["010101", "010101"],
            FILED_AT: [T0 + timedelta(days=10)] * 2,
        }
    )
    out = profiles.transform(later)
    assert out[profile_column(("carrier_id",), ProfileStat.COUNT)].to_list() == [0.0, None]
    assert out[profile_column(keys[1], ProfileStat.RATE)].to_list() == [pytest.approx(0.6), None]
    rebuilt = HistoryProfiles.from_frame(profiles.to_frame(), profiles.metadata())
    assert rebuilt.transform(later).equals(out)
