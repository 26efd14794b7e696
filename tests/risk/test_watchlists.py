"""Watch lists: loading with every problem located, kinds, periods and vectorised matching."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartcustoms.errors import InvalidRuleFileError
from smartcustoms.risk.watchlists import (
    ListKind,
    WatchList,
    WatchListEntry,
    check_watchlists,
    load_watchlists,
)

TODAY = date(2026, 11, 20)

GOOD = """\
id = "lists"
version = 3
legal_basis = "Art. 46 UCC"

[[lists]]
id = "restricted-hs"
kind = "hs"
description = "restricted goods"
effective_from = 2026-01-01
entries = [
  "8211",
  { value = "8543.40", reason = "e-cigarettes" },
  { value = "3004", reason = "medicines", effective_from = 2026-06-01, effective_to = 2026-12-01 },
]

[[lists]]
id = "sanctioned"
kind = "country"
legal_basis = "Reg. (EU) 833/2014"
effective_from = 2026-01-01
effective_to = 2027-01-01
entries = ["ru", "BY"]

[[lists]]
id = "buyers"
kind = "buyer"
effective_from = 2026-01-01

[[lists.entries]]
value = "B1"
reason = "split orders"

[[lists.entries]]
value = "B2"
effective_to = 2026-03-01
"""

BAD = """\
id = "bad"
colour = "red"

[[lists]]
id = "a"
kind = "sellers"
effective_from = 2026-01-01
entries = ["S1"]

[[lists]]
id = "a"
kind = "seller"
effective_from = 2026-01-01
entries = ["S1"]

[[lists]]
id = "countries"
kind = "country"
effective_from = 2026-05-01
effective_to = 2026-05-01
entries = [
  "FR",
  "France",
  "FR",
  7,
]

[[lists]]
id = "codes"
kind = "hs"
effective_from = "soon"
entries = [
  "61A9",
  { value = "62", effective_from = 2026-05-01, effective_to = 2026-04-01 },
  { reason = "no value" },
]

[[lists]]
kind = "carrier"
effective_from = 2026-01-01
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_lists_load_with_kinds_entries_and_periods(tmp_path: Path) -> None:
    lists = load_watchlists(_write(tmp_path, "lists.toml", GOOD), today=TODAY)
    assert sorted(lists) == ["buyers", "restricted-hs", "sanctioned"]
    hs = lists["restricted-hs"]
    assert hs.kind is ListKind.HS
    assert [e.value for e in hs.entries] == ["8211", "854340", "3004"]
    assert hs.entries[1].reason == "e-cigarettes"
    assert hs.legal_basis == "Art. 46 UCC"  # inherited from the file
    assert hs.source.endswith("lists.toml:5")
    assert lists["sanctioned"].legal_basis == "Reg. (EU) 833/2014"
    assert [e.value for e in lists["sanctioned"].entries] == ["RU", "BY"]
    assert lists["buyers"].kind is ListKind.CONSIGNEE  # "buyer" is a synonym


def test_every_problem_is_reported_with_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "bad.toml", BAD)
    with pytest.raises(InvalidRuleFileError) as info:
        load_watchlists(path, today=TODAY)
    found = {(p.path, p.code, p.severity) for p in info.value.problems}
    at = f"{path}:"
    assert found == {
        (f"{at}1", "rules.missing_key", "error"),  # version
        (f"{at}2", "rules.unknown_key", "error"),  # colour
        (f"{at}6", "rules.unknown_list_kind", "error"),  # sellers
        (f"{at}11", "rules.duplicate_id", "error"),
        (f"{at}4", "rules.no_legal_basis", "warning"),
        (f"{at}10", "rules.no_legal_basis", "warning"),
        (f"{at}16", "rules.no_legal_basis", "warning"),
        (f"{at}20", "rules.bad_period", "error"),  # effective_to == effective_from
        (f"{at}20", "rules.expired", "warning"),
        (f"{at}23", "rules.bad_entry", "error"),  # France
        (f"{at}24", "rules.duplicate_entry", "warning"),  # FR again
        (f"{at}25", "rules.bad_entry", "error"),  # 7
        (f"{at}28", "rules.no_legal_basis", "warning"),
        (f"{at}31", "rules.invalid_value", "error"),  # effective_from = "soon"
        (f"{at}33", "rules.bad_entry", "error"),  # 61A9
        (f"{at}34", "rules.bad_period", "error"),  # entry period reversed
        (f"{at}35", "rules.missing_key", "error"),  # entry without value
        (f"{at}38", "rules.missing_key", "error"),  # id
        (f"{at}38", "rules.missing_key", "error"),  # entries
        (f"{at}38", "rules.no_legal_basis", "warning"),
    }
    errors = sum(p.severity == "error" for p in info.value.problems)
    assert str(info.value).startswith(f"watch-list files have {errors} problems; first: {at}1")


def test_check_never_raises_and_reports_unreadable_files(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    problems = check_watchlists(missing)
    assert [(p.code, p.path) for p in problems] == [("rules.unreadable", str(missing))]
    syntax = _write(tmp_path, "syntax.toml", 'id = "x"\n\n[[lists]\n')
    assert [(p.code, p.path) for p in check_watchlists(syntax)] == [("rules.syntax", f"{syntax}:3")]


def test_duplicate_ids_across_files_are_reported_in_the_second(tmp_path: Path) -> None:
    one = _write(tmp_path, "one.toml", GOOD)
    two = _write(tmp_path, "two.toml", GOOD.replace('"restricted-hs"', '"other"'))
    problems = check_watchlists(one, two, today=TODAY)
    duplicates = [p for p in problems if p.code == "rules.duplicate_id"]
    assert [p.path for p in duplicates] == [f"{two}:17", f"{two}:25"]
    assert "one.toml:16" in duplicates[0].message


def test_empty_and_expired_lists_warn_but_load(tmp_path: Path) -> None:
    text = """\
id = "x"
version = "1"
legal_basis = "Art. 46 UCC"

[[lists]]
id = "old"
kind = "seller"
effective_from = 2025-01-01
effective_to = 2026-01-01
entries = []
"""
    path = _write(tmp_path, "x.toml", text)
    assert load_watchlists(path, today=TODAY)["old"].entries == ()
    assert {(p.code, p.path) for p in check_watchlists(path, today=TODAY)} == {
        ("rules.empty_list", f"{path}:5"),
        ("rules.expired", f"{path}:9"),
    }


def _hs_list() -> WatchList:
    return WatchList(
        id="hs",
        kind=ListKind.HS,
        effective_from=date(2026, 1, 1),
        entries=(
            WatchListEntry("8211"),
            WatchListEntry("854340"),
            WatchListEntry("3004", effective_from=date(2026, 6, 1), effective_to=date(2026, 12, 1)),
        ),
    )


@pytest.mark.parametrize(
    ("value", "day", "expected"),
    [
        ("821192", date(2026, 3, 1), True),  # prefix of 4 digits
        ("8211", date(2026, 3, 1), True),
        ("821", date(2026, 3, 1), False),  # shorter than the prefix
        ("821599", date(2026, 3, 1), False),
        ("85434000", date(2026, 3, 1), True),
        ("854370", date(2026, 3, 1), False),
        ("300490", date(2026, 5, 31), False),  # entry not yet in force
        ("300490", date(2026, 6, 1), True),
        ("300490", date(2026, 11, 30), True),
        ("300490", date(2026, 12, 1), False),  # effective_to is exclusive
        ("821192", date(2025, 12, 31), False),  # list not yet in force
        (None, date(2026, 3, 1), False),
    ],
)
def test_hs_lists_match_by_prefix_within_their_periods(
    value: str | None, day: date, expected: bool
) -> None:
    hs = _hs_list()
    assert hs.matches(value, day) is expected
    frame = pl.DataFrame(
        {"hs_code": [value], "day": [day]}, schema={"hs_code": pl.String, "day": pl.Date}
    )
    assert frame.select(hs.contains(pl.col("hs_code"), pl.col("day"))).item() is expected


def test_other_kinds_match_the_whole_value() -> None:
    sellers = WatchList(
        id="s",
        kind=ListKind.SELLER,
        effective_from=date(2026, 1, 1),
        entries=(WatchListEntry("CN1"),),
    )
    assert sellers.matches("CN1", TODAY)
    assert not sellers.matches("CN10", TODAY)
    assert not sellers.matches("cn1", TODAY)


def test_kinds_fit_their_columns() -> None:
    assert ListKind.SELLER.fits("seller_id")
    assert not ListKind.SELLER.fits("buyer_id")
    assert ListKind.CONSIGNEE.fits("buyer_id")
    assert ListKind.DECLARANT.fits("filer_id")
    assert ListKind.CARRIER.fits("carrier_id")
    assert ListKind.IMPORTER.fits("importer_id")
    assert ListKind.HS.fits("hs_code") and ListKind.HS.fits("hs6")
    assert ListKind.COUNTRY.fits("origin_country") and ListKind.COUNTRY.fits("country_of_dispatch")
    assert not ListKind.COUNTRY.fits("currency")


_DAYS = st.dates(min_value=date(2025, 6, 1), max_value=date(2027, 6, 1))
_PERIOD = st.tuples(st.none() | _DAYS, st.none() | st.integers(1, 400))


@st.composite
def _lists(draw: st.DrawFn) -> WatchList:
    kind = draw(st.sampled_from([ListKind.HS, ListKind.SELLER]))
    values = st.text("0123", min_size=1, max_size=4)
    entries = []
    for value in draw(st.lists(values, max_size=6)):
        start, length = draw(_PERIOD)
        end = start + timedelta(days=length) if start and length else None
        entries.append(WatchListEntry(value, effective_from=start, effective_to=end))
    list_from = draw(_DAYS)
    list_to = draw(st.none() | st.integers(1, 500).map(lambda n: list_from + timedelta(days=n)))
    return WatchList("w", kind, list_from, tuple(entries), effective_to=list_to)


@settings(max_examples=60, deadline=None)
@given(
    watch=_lists(),
    rows=st.lists(st.tuples(st.none() | st.text("0123", max_size=5), _DAYS), max_size=25),
)
def test_vectorised_matching_agrees_with_the_one_value_reference(
    watch: WatchList, rows: list[tuple[str | None, date]]
) -> None:
    """``contains`` (one Polars expression) and ``matches`` (plain Python) never disagree."""
    frame = pl.DataFrame(rows, schema={"v": pl.String, "day": pl.Date}, orient="row")
    got = frame.select(watch.contains(pl.col("v"), pl.col("day"))).to_series().to_list()
    assert got == [watch.matches(v, d) for v, d in rows]
