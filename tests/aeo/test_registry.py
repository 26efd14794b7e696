"""Operator registry: loading with file:line problems, and AEO status on the day of filing."""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime, time
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import smartcustoms.aeo
from smartcustoms.aeo import (
    AEO_STATUS,
    AeoCertificate,
    AeoStatus,
    CertificateStatus,
    CertificateType,
    MraPartner,
    Operator,
    OperatorRegistry,
    check_operators,
    example_operators_path,
    load_operators,
    with_aeo_status,
)
from smartcustoms.aeo.registry import (
    CODE_BAD_PERIOD,
    CODE_DUPLICATE,
    CODE_INVALID,
    CODE_MISSING,
    CODE_MISSING_COLUMN,
    CODE_SYNTAX,
    CODE_UNKNOWN_KEY,
    CODE_UNREADABLE,
)
from smartcustoms.errors import InvalidInputError, InvalidOperatorFileError
from smartcustoms.model.columns import FILED_AT, FILER_ID, SELLER_ID, TIMESTAMP
from smartcustoms.risk import columns as risk_columns

IMPORTER_ID = "importer_id"


@pytest.fixture(scope="module")
def registry() -> OperatorRegistry:
    return load_operators(example_operators_path())


def consignments(rows: list[tuple[date | datetime, str | None]]) -> pl.DataFrame:
    """One consignment per (day, importer); filer and seller empty."""
    return pl.DataFrame(
        {
            "consignment_id": [f"C{i}" for i in range(len(rows))],
            FILED_AT: [
                d if isinstance(d, datetime) else datetime.combine(d, time(12), UTC)
                for d, _ in rows
            ],
            IMPORTER_ID: [op for _, op in rows],
            FILER_ID: [None] * len(rows),
            SELLER_ID: [None] * len(rows),
        },
        schema={
            "consignment_id": pl.String(),
            FILED_AT: TIMESTAMP,
            IMPORTER_ID: pl.String(),
            FILER_ID: pl.String(),
            SELLER_ID: pl.String(),
        },
    )


@pytest.mark.parametrize(
    ("operator", "day", "expected"),
    [
        ("XA0000000001", date(2026, 3, 1), "national"),  # home certificate, open-ended
        ("XA0000000001", date(2018, 4, 30), None),  # before valid_from
        ("XA0000000002", date(2026, 1, 31), "national"),  # active until the suspension
        ("XA0000000002", date(2026, 2, 1), None),  # suspended from status_since
        ("XA0000000006", date(2025, 12, 31), "national"),  # last day of validity
        ("XA0000000006", date(2026, 1, 1), None),  # expired
        ("XB0000000003", date(2026, 3, 1), "mra"),  # partner certificate, MRA in force
        ("XB0000000003", date(2017, 12, 31), None),  # MRA signed but not yet effective
        ("XB0000000003", date(2027, 7, 1), None),  # partner certificate expired
        ("XC0000000004", date(2022, 12, 31), None),  # union MRA not yet in force
        ("XC0000000004", date(2023, 1, 1), "mra"),  # member state's AEOS, union MRA
        ("XE0000000005", date(2024, 12, 31), "mra"),  # last day of the ended MRA
        ("XE0000000005", date(2025, 1, 1), None),  # MRA ended
        ("XZ9999999999", date(2026, 3, 1), None),  # unknown operator
        (None, date(2026, 3, 1), None),  # no operator named
    ],
)
def test_status_on_the_day_of_filing(
    registry: OperatorRegistry, operator: str | None, day: date, expected: str | None
) -> None:
    out = with_aeo_status(consignments([(day, operator)]), registry, home_country="XA")
    assert out[AEO_STATUS].to_list() == [expected]
    if operator is not None:
        assert registry.status_of(operator, day, home_country="XA") == expected


def test_national_status_wins_over_mra_and_any_party_counts(registry: OperatorRegistry) -> None:
    frame = consignments([(date(2026, 3, 1), "XB0000000003"), (date(2026, 3, 1), None)])
    frame = frame.with_columns(
        pl.Series(FILER_ID, ["XA0000000001", None]),
        pl.Series(SELLER_ID, [None, "XB0000000003"]),
    )
    out = with_aeo_status(frame, registry, home_country="XA")
    assert out[AEO_STATUS].to_list() == ["national", "mra"]


def test_certificate_types_outside_the_mra_scope_are_not_recognised() -> None:
    """Most MRAs cover security (AEOS/AEOF) only: a partner's AEOC gives no benefit."""
    union = MraPartner(
        "XU", "Union", date(2023, 1, 1), scope=(CertificateType.AEOS,), issuing_countries=("XC",)
    )
    holders = [
        Operator(
            "C",
            "Customs only",
            "XC",
            (AeoCertificate(CertificateType.AEOC, "XC", "1", date(2020, 1, 1), None),),
        ),
        Operator(
            "S",
            "Security",
            "XC",
            (AeoCertificate(CertificateType.AEOS, "XC", "2", date(2020, 1, 1), None),),
        ),
        Operator(
            "D",
            "Other member",
            "XD",
            (AeoCertificate(CertificateType.AEOS, "XD", "3", date(2020, 1, 1), None),),
        ),
    ]
    registry = OperatorRegistry("r", "1", tuple(holders), (union,))
    frame = consignments([(date(2026, 3, 1), op) for op in ("C", "S", "D")])
    out = with_aeo_status(frame, registry, home_country="XA")
    assert out[AEO_STATUS].to_list() == [None, "mra", None]


def test_a_customs_union_can_count_all_members_as_national(registry: OperatorRegistry) -> None:
    """Art. 38(4) UCC: an AEO authorisation of one member state holds in all of them."""
    frame = consignments([(date(2026, 3, 1), "XC0000000004"), (date(2026, 3, 1), "XA0000000001")])
    out = with_aeo_status(frame, registry, home_country={"XA", "XC", "XD"})
    assert out[AEO_STATUS].to_list() == ["national", "national"]


def test_rows_order_columns_and_date_columns_are_kept(registry: OperatorRegistry) -> None:
    days = [date(2026, 3, 1), date(2024, 6, 1), date(2026, 3, 1)]
    ops = ["XE0000000005", "XE0000000005", "XA0000000001"]
    frame = consignments(list(zip(days, ops, strict=True)))
    out = with_aeo_status(frame, registry, home_country="XA")
    assert out.columns == [*frame.columns, AEO_STATUS]
    assert out.drop(AEO_STATUS).equals(frame)
    assert out[AEO_STATUS].to_list() == [None, "mra", "national"]
    as_dates = frame.with_columns(pl.col(FILED_AT).dt.date())
    again = with_aeo_status(as_dates, registry, home_country="XA")
    assert again[AEO_STATUS].to_list() == out[AEO_STATUS].to_list()
    # Running it twice replaces the column rather than adding another.
    assert with_aeo_status(out, registry, home_country="XA").columns == out.columns


def test_filing_day_is_the_utc_date(registry: OperatorRegistry) -> None:
    late = datetime(2025, 12, 31, 23, 30, tzinfo=UTC)
    out = with_aeo_status(consignments([(late, "XA0000000006")]), registry, home_country="XA")
    assert out[AEO_STATUS].to_list() == ["national"]


def test_missing_columns_are_reported() -> None:
    frame = pl.DataFrame({"x": [1]})
    with pytest.raises(InvalidInputError) as info:
        with_aeo_status(frame, OperatorRegistry("r", "1"), home_country="XA")
    assert {p.path for p in info.value.problems} == {FILED_AT, IMPORTER_ID, FILER_ID, SELLER_ID}
    assert {p.code for p in info.value.problems} == {CODE_MISSING_COLUMN}


# --- the joins agree with the record-by-record definition ----------------------------------

DAYS = st.dates(min_value=date(2019, 1, 1), max_value=date(2026, 12, 31))
COUNTRIES = st.sampled_from(["XA", "XB", "XC"])


@st.composite
def registries(draw: st.DrawFn) -> OperatorRegistry:
    operators = []
    for i in range(draw(st.integers(0, 4))):
        certificates = []
        for j in range(draw(st.integers(0, 2))):
            start = draw(DAYS)
            end = draw(st.none() | st.dates(min_value=start, max_value=date(2026, 12, 31)))
            status = draw(st.sampled_from(CertificateStatus))
            since = None if status is CertificateStatus.ACTIVE else draw(st.none() | DAYS)
            certificates.append(
                AeoCertificate(
                    draw(st.sampled_from(CertificateType)),
                    draw(COUNTRIES),
                    f"N{i}-{j}",
                    start,
                    end,
                    status,
                    since,
                )
            )
        operators.append(Operator(f"OP{i}", f"Operator {i}", "XA", tuple(certificates)))
    partners = []
    for country in draw(st.lists(st.sampled_from(["XB", "XC"]), unique=True)):
        start = draw(DAYS)
        partners.append(
            MraPartner(
                country,
                f"Customs {country}",
                start,
                draw(st.none() | st.dates(min_value=start, max_value=date(2026, 12, 31))),
                tuple(draw(st.sets(st.sampled_from(CertificateType), min_size=1))),
            )
        )
    return OperatorRegistry("r", "1", tuple(operators), tuple(partners))


def reference_status(registry: OperatorRegistry, ids: list[str | None], day: date) -> str | None:
    """The definition, one record at a time."""
    held = [
        c
        for op in registry.operators
        if op.id in ids
        for c in op.certificates
        if c.is_active_on(day)
    ]
    if any(c.authority == "XA" for c in held):
        return "national"
    for c in held:
        for p in registry.mra_partners:
            if c.authority in p.issuers and c.type in p.scope and p.is_in_force_on(day):
                return "mra"
    return None


@settings(max_examples=100, deadline=None, derandomize=True)
@given(
    registry=registries(),
    rows=st.lists(
        st.tuples(DAYS, *[st.none() | st.sampled_from(["OP0", "OP1", "OP2", "OP3", "X"])] * 3),
        max_size=12,
    ),
)
def test_joins_agree_with_the_definition(
    registry: OperatorRegistry, rows: list[tuple[date, str | None, str | None, str | None]]
) -> None:
    frame = pl.DataFrame(
        [{FILED_AT: d, IMPORTER_ID: a, FILER_ID: b, SELLER_ID: c} for d, a, b, c in rows],
        schema={
            FILED_AT: pl.Date(),
            IMPORTER_ID: pl.String(),
            FILER_ID: pl.String(),
            SELLER_ID: pl.String(),
        },
    )
    out = with_aeo_status(frame, registry, home_country="XA")
    expected = [reference_status(registry, [a, b, c], d) for d, a, b, c in rows]
    assert out[AEO_STATUS].to_list() == expected


# --- loading -------------------------------------------------------------------------------


def test_example_file_loads_cleanly(registry: OperatorRegistry) -> None:
    assert check_operators(example_operators_path()) == []
    assert len(registry.operators) == 6
    union = next(p for p in registry.mra_partners if p.country == "XU")
    assert union.issuers == ("XC", "XD")
    assert union.scope == (CertificateType.AEOS, CertificateType.AEOF)
    ended = next(p for p in registry.mra_partners if p.country == "XE")
    assert ended.scope == tuple(CertificateType)  # no scope: every type
    assert registry.certificates().height == 7


BAD = """\
id = "bad"
colour = "blue"

[[operators]]
id = "OP1"
name = "One"
country = "xa"

[[operators.certificates]]
type = "AEOX"
authority = "XA"
number = "N1"
valid_from = 2020-01-01
valid_to = 2019-01-01
status = "paused"

[[operators]]
id = "OP1"
country = "XA"
rank = 3

[[operators.certificates]]
type = "AEOC"
authority = "XA"
number = "N1"
valid_from = 2021-01-01
status = "active"
status_since = 2022-01-01

[[operators.certificates]]
type = "AEOS"
number = "N2"
valid_from = "yesterday"

[[mra_partners]]
country = "XB"
authority = "B"
effective_from = 2020-01-01
scope = ["AEOS", "TAPAS"]

[[mra_partners]]
country = "XB"
authority = "B again"
effective_from = 2022-01-01
effective_to = 2021-01-01

[[mra_partners]]
country = "XB"
authority = "B later"
effective_from = 2023-01-01
"""


def test_every_problem_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(BAD, encoding="utf-8")
    with pytest.raises(InvalidOperatorFileError) as info:
        load_operators(path)
    found = {(int(p.path.rsplit(":", 1)[1]), p.code) for p in info.value.problems}
    expected = {
        (1, CODE_MISSING),  # version
        (2, CODE_UNKNOWN_KEY),  # colour
        (7, CODE_INVALID),  # country "xa"
        (10, CODE_INVALID),  # type AEOX
        (14, CODE_BAD_PERIOD),  # valid_to before valid_from
        (15, CODE_INVALID),  # status paused
        (17, CODE_MISSING),  # second operator has no name
        (18, CODE_DUPLICATE),  # operator OP1 again
        (20, CODE_UNKNOWN_KEY),  # rank
        (25, CODE_DUPLICATE),  # certificate XA N1 again
        (28, CODE_INVALID),  # status_since on an active certificate
        (30, CODE_MISSING),  # certificate without authority
        (33, CODE_INVALID),  # valid_from "yesterday"
        (39, CODE_INVALID),  # scope TAPAS
        (45, CODE_BAD_PERIOD),  # effective_to before effective_from
        (50, CODE_BAD_PERIOD),  # overlaps the open-ended 2020 arrangement
    }
    assert expected <= found, sorted(found)
    lines = [int(p.path.rsplit(":", 1)[1]) for p in info.value.problems]
    assert lines == sorted(lines)
    assert info.value.code == "aeo.invalid_file"
    assert check_operators(path) == list(info.value.problems)


def test_syntax_and_unreadable_files(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('id = "x"\n[[operators]\n', encoding="utf-8")
    assert [(p.code, p.path.rsplit(":", 1)[1]) for p in check_operators(path)] == [
        (CODE_SYNTAX, "2")
    ]
    assert [p.code for p in check_operators(tmp_path / "absent.toml")] == [CODE_UNREADABLE]


# --- boundaries ----------------------------------------------------------------------------


def test_aeo_names_match_the_risk_column_contract() -> None:
    assert AEO_STATUS == risk_columns.AEO_STATUS
    assert {s.value for s in AeoStatus} == {s.value for s in risk_columns.AeoStatus}


def test_aeo_does_not_import_risk() -> None:
    """Risk reads AEO status; the reverse import would make a cycle between domains."""
    root = Path(smartcustoms.aeo.__file__).parent
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("smartcustoms.risk"), path.name
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("smartcustoms.risk") for a in node.names)


def test_every_problem_code_is_documented() -> None:
    from smartcustoms.aeo import registry

    doc = (Path(__file__).resolve().parents[2] / "docs" / "aeo.md").read_text("utf-8")
    codes = [getattr(registry, n) for n in registry.__all__ if n.startswith("CODE_")]
    assert len(codes) == 8
    assert [c for c in codes if f"`{c}`" not in doc] == []
