"""Targeting rules: loading with every problem located, each operator, groups, periods, lanes."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartcustoms.errors import InvalidInputError, InvalidRuleFileError
from smartcustoms.model.columns import CONSIGNMENT_SCHEMA, ITEM_SCHEMA
from smartcustoms.risk.columns import FORCED_LANE, RULE_HITS, RULE_SCORE, Lane
from smartcustoms.risk.rules import (
    ENRICHMENT_FIELDS,
    ITEM_NOS,
    PROBLEM_CODES,
    RULE_ID,
    Condition,
    FieldKind,
    Operator,
    Rule,
    RuleSet,
    check_rules,
    example_rules_path,
    field_catalogue,
    load_example_rules,
    load_rules,
)
from smartcustoms.risk.watchlists import check_watchlists, load_watchlists

REPO = Path(__file__).resolve().parents[2]
TODAY = date(2026, 11, 20)

LISTS = """\
id = "t-lists"
version = "1"
legal_basis = "Art. 46 UCC"

[[lists]]
id = "bad-sellers"
kind = "seller"
effective_from = 2026-01-01
entries = ["S-BAD", { value = "S-LATER", effective_from = 2026-12-01 }]

[[lists]]
id = "restricted"
kind = "hs"
effective_from = 2026-01-01
entries = ["8211", "854340"]

[[lists]]
id = "embargo"
kind = "country"
effective_from = 2026-01-01
entries = ["RU", "BY"]
"""

BAD = """\
id = "bad"
legal_basis = "Art. 46 UCC"
colour = "blue"

[[rules]]
id = "r1"
description = "typos everywhere"
effective_from = 2026-01-01
lane = "orange"
score = 1.5
[rules.when]
hs_cod = { prefix = "61" }
value = { prefix = "61" }
origin_country = { equals = "CN" }
description = { matches = "(?<=a)b" }
seller_id = { in_list = "nope" }
is_noncompliant = { eq = true }
net_mass_kg = { gt = "heavy" }

[[rules]]
id = "r1"
description = "no action, empty period"
effective_from = 2026-05-01
effective_to = 2026-05-01
[rules.when]
hs_code = { prefix = "61" }

[[rules]]
description = "no id, no condition"
effective_from = "2026-13-01"
score = 0.2

[[rules]]
id = "r4"
description = "bad groups"
effective_from = 2026-01-01
lane = "red"
any = "everything"
[rules.when]
transport_mode = { in = [] }
total_value = { between = [150, 100] }
"Critical Fraud" = true

[[rules]]
id = "r5"
description = "inline groups"
effective_from = 2026-01-01
score = 0.1
when = { hs_code = { prefix = 61 } }
any = [
  { origin_country = "CN" },
  { origni_country = "HK" },
]
"""

BAD_ERRORS = {
    (1, "rules.missing_key"),  # version
    (3, "rules.unknown_key"),  # colour
    (9, "rules.unknown_lane"),  # orange
    (10, "rules.weight_range"),  # 1.5
    (12, "rules.unknown_field"),  # hs_cod
    (13, "rules.type_mismatch"),  # prefix on a number
    (14, "rules.unknown_operator"),  # equals
    (15, "rules.bad_regex"),  # look-behind: not in Polars' dialect
    (16, "rules.unknown_list"),  # nope
    (17, "rules.label_column"),  # is_noncompliant
    (18, "rules.type_mismatch"),  # gt "heavy" on a number
    (20, "rules.missing_action"),  # neither lane nor score
    (21, "rules.duplicate_id"),  # r1 again
    (24, "rules.bad_period"),  # effective_to == effective_from
    (28, "rules.missing_key"),  # id
    (28, "rules.no_condition"),
    (30, "rules.invalid_value"),  # month 13
    (38, "rules.invalid_value"),  # any = "everything"
    (40, "rules.invalid_value"),  # in = []
    (41, "rules.invalid_value"),  # between low > high
    (42, "rules.label_column"),  # "Critical Fraud"
    (49, "rules.type_mismatch"),  # prefix = 61 (a number)
    (52, "rules.unknown_field"),  # origni_country, located at its array element
}

WARN = """\
id = "warn"
version = "1"

[[rules]]
id = "old"
description = "expired, no legal basis, list of the wrong kind"
effective_from = 2025-01-01
effective_to = 2026-01-01
score = 0.1
[rules.when]
buyer_id = { in_list = "bad-sellers" }
"""

LIST_PROBLEMS = """\
id = "x"
version = "1"

[[lists]]
id = "l"
kind = "hs"
legal_basis = "Art. 46 UCC"
effective_from = 2026-01-01
entries = ["61", "61", "6x"]

[[lists]]
id = "m"
kind = "nationality"
legal_basis = "Art. 46 UCC"
effective_from = 2026-01-01
entries = []
"""

RULE = """\
id = "t"
version = "1"
legal_basis = "Art. 46 UCC"

[[rules]]
id = "r"
description = "test"
effective_from = 2026-01-01
score = 0.5
{body}
"""

_KINDS = {
    FieldKind.STRING: pl.String(),
    FieldKind.NUMBER: pl.Float64(),
    FieldKind.DATE: pl.Date(),
}
VIEW_SCHEMA = pl.Schema(
    {
        **CONSIGNMENT_SCHEMA,
        **ITEM_SCHEMA,
        **{name: _KINDS[kind] for name, kind in ENRICHMENT_FIELDS.items()},
    }
)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def view(*rows: dict[str, Any]) -> pl.DataFrame:
    """A risk view: canonical + enrichment columns, nulls where a row says nothing."""
    defaults = {"filed_at": datetime(2026, 11, 20, 8, tzinfo=UTC)}
    return pl.from_dicts([defaults | row for row in rows], schema=VIEW_SCHEMA)


ROWS = view(
    {
        "consignment_id": "C1",
        "item_no": 1,
        "hs_code": "821192",
        "origin_country": "CN",
        "country_of_dispatch": "CN",
        "transport_mode": "5",
        "value": Decimal("12.50"),
        "net_mass_kg": 0.2,
        "description": "Hunting knife",
        "seller_id": "S-BAD",
        "value_ratio": 0.1,
    },
    {
        "consignment_id": "C1",
        "item_no": 2,
        "hs_code": "610910",
        "origin_country": "CN",
        "country_of_dispatch": "CN",
        "transport_mode": "5",
        "value": Decimal("149.99"),
        "net_mass_kg": 1.0,
        "description": "gift",
        "seller_id": "S-BAD",
        "value_ratio": 1.0,
    },
    {
        "consignment_id": "C2",
        "item_no": 1,
        "filed_at": datetime(2026, 11, 20, 23, 30, tzinfo=UTC),
        "hs_code": "854340",
        "origin_country": "HK",
        "country_of_dispatch": "HK",
        "transport_mode": "4",
        "value": Decimal("150"),
        "description": "Vape pen",
        "seller_id": "S-OK",
    },
    {
        "consignment_id": "C3",
        "item_no": 1,
        "filed_at": datetime(2026, 11, 21, 0, 30, tzinfo=UTC),
        "hs_code": "950300",
        "origin_country": "RU",
        "country_of_dispatch": "TR",
        "transport_mode": "4",
        "value": Decimal("300"),
        "net_mass_kg": 2.5,
        "value_ratio": 3.0,
    },
)


@pytest.fixture
def lists_path(tmp_path: Path) -> Path:
    return _write(tmp_path, "lists.toml", LISTS)


def _ruleset(tmp_path: Path, lists_path: Path, body: str) -> RuleSet:
    path = _write(tmp_path, "rules.toml", RULE.format(body=body))
    return load_rules(path, [lists_path], today=TODAY)


def _hit_items(ruleset: RuleSet, frame: pl.DataFrame) -> set[str]:
    hits = ruleset.apply(frame).hits.explode(ITEM_NOS)
    return {f"{c}/{i}" for c, i in hits.select("consignment_id", ITEM_NOS).iter_rows()}


# --- loading and problems --------------------------------------------------------------------


def test_every_problem_is_reported_at_once_with_file_and_line(
    tmp_path: Path, lists_path: Path
) -> None:
    path = _write(tmp_path, "rules.toml", BAD)
    with pytest.raises(InvalidRuleFileError) as info:
        load_rules(path, [lists_path], today=TODAY)
    errors = [p for p in info.value.problems if p.severity == "error"]
    assert all(p.path.startswith(f"{path}:") for p in errors)
    assert {(int(p.path.rsplit(":", 1)[1]), p.code) for p in errors} == BAD_ERRORS
    assert len(errors) == len(BAD_ERRORS)
    assert str(info.value).startswith(f"rules {path} have {len(errors)} problems; first:")
    assert info.value.code == "rules.invalid"
    by_line = {int(p.path.rsplit(":", 1)[1]): p.message for p in errors}
    assert "did you mean 'hs_code'" in by_line[12]
    assert "look-around" in by_line[15]


def test_check_reports_warnings_and_never_raises(tmp_path: Path, lists_path: Path) -> None:
    path = _write(tmp_path, "warn.toml", WARN)
    problems = check_rules(path, [lists_path], today=TODAY)
    assert {(p.path, p.code, p.severity) for p in problems} == {
        (f"{path}:4", "rules.no_legal_basis", "warning"),
        (f"{path}:8", "rules.expired", "warning"),
        (f"{path}:11", "rules.list_kind_mismatch", "warning"),
        (f"{lists_path}:11", "rules.unused_list", "warning"),
        (f"{lists_path}:17", "rules.unused_list", "warning"),
    }
    ruleset = load_rules(path, [lists_path], today=TODAY)  # warnings do not stop loading
    assert {p.code for p in ruleset.warnings} == {p.code for p in problems}
    assert check_rules(_write(tmp_path, "bad.toml", BAD), [lists_path], today=TODAY)


def test_syntax_errors_and_unreadable_files_are_problems(tmp_path: Path) -> None:
    path = _write(tmp_path, "broken.toml", 'id = "x"\nversion = "1"\n[[rules]\n')
    assert [(p.code, p.path) for p in check_rules(path)] == [("rules.syntax", f"{path}:3")]
    with pytest.raises(InvalidRuleFileError):
        load_rules(path)
    missing = tmp_path / "missing.toml"
    assert [p.code for p in check_rules(missing)] == ["rules.unreadable"]
    with pytest.raises(InvalidRuleFileError):
        load_rules(missing)


def test_watch_list_problems_are_reported_with_the_rules(tmp_path: Path) -> None:
    rules = _write(tmp_path, "rules.toml", RULE.format(body='seller_id = "S"'))
    lists = _write(tmp_path, "lists.toml", "id = 3\n")
    with pytest.raises(InvalidRuleFileError) as info:
        load_rules(rules, [lists], today=TODAY)
    assert {(p.path, p.code) for p in info.value.problems} == {
        (f"{rules}:10", "rules.unknown_key"),  # seller_id = "S" outside [rules.when]
        (f"{rules}:5", "rules.no_condition"),
        (f"{lists}:1", "rules.invalid_value"),  # id = 3
        (f"{lists}:1", "rules.missing_key"),  # version
    }


def test_every_problem_code_is_produced_and_documented(tmp_path: Path, lists_path: Path) -> None:
    """The fixtures of this module exercise every code, and docs/risk-rules.md explains each."""
    produced = {p.code for p in check_rules(_write(tmp_path, "b.toml", BAD), [lists_path])}
    produced |= {p.code for p in check_rules(_write(tmp_path, "w.toml", WARN), [lists_path])}
    produced |= {p.code for p in check_rules(_write(tmp_path, "s.toml", "[[x]\n"))}
    produced |= {p.code for p in check_rules(tmp_path / "absent.toml")}
    produced |= {p.code for p in check_watchlists(_write(tmp_path, "l.toml", LIST_PROBLEMS))}
    assert produced == set(PROBLEM_CODES)
    docs = (REPO / "docs" / "risk-rules.md").read_text(encoding="utf-8")
    for code in [*PROBLEM_CODES, "rules.view_column"]:
        assert f"`{code}`" in docs, code
    for operator in Operator:
        assert f"`{operator}`" in docs, operator


def test_watchlists_named_in_the_rules_file_are_loaded_relative_to_it(tmp_path: Path) -> None:
    folder = tmp_path / "set"
    folder.mkdir()
    _write(folder, "lists.toml", LISTS)
    body = '[rules.when]\nseller_id = { in_list = "bad-sellers" }'
    text = RULE.format(body=body).replace(
        'version = "1"\n', 'version = "1"\nwatchlists = ["lists.toml"]\n', 1
    )
    ruleset = load_rules(_write(folder, "rules.toml", text), today=TODAY)
    assert sorted(ruleset.watchlists) == ["bad-sellers", "embargo", "restricted"]
    assert _hit_items(ruleset, ROWS) == {"C1/1", "C1/2"}


def test_preloaded_watchlists_can_be_passed(tmp_path: Path, lists_path: Path) -> None:
    lists = load_watchlists(lists_path, today=TODAY)
    path = _write(
        tmp_path, "r.toml", RULE.format(body='[rules.when]\nhs_code = { in_list = "restricted" }')
    )
    assert _hit_items(load_rules(path, watchlists=lists, today=TODAY), ROWS) == {"C1/1", "C2/1"}
    assert [p.code for p in check_rules(path)] == ["rules.unknown_list"]


@pytest.mark.parametrize(
    "field", ["is_noncompliant", "fraud_type", "revenue_at_stake", "label_seized", "true_value"]
)
def test_conditions_on_label_columns_are_refused(
    tmp_path: Path, lists_path: Path, field: str
) -> None:
    """Rules must never look at control outcomes, even when the caller declares the column."""
    path = _write(
        tmp_path, "r.toml", RULE.format(body=f"[rules.when]\n{field} = {{ is_null = false }}")
    )
    problems = check_rules(path, extra_fields={field: FieldKind.BOOLEAN})
    assert [(p.code, p.path) for p in problems] == [("rules.label_column", f"{path}:11")]
    assert field not in field_catalogue({field: FieldKind.BOOLEAN})


def test_the_catalogue_has_canonical_enrichment_and_extra_fields() -> None:
    catalogue = field_catalogue({"parcel_score": pl.Float64(), "tags": pl.List(pl.String)})
    assert catalogue["hs_code"] is FieldKind.STRING
    assert catalogue["value"] is FieldKind.NUMBER  # Decimal(18, 4)
    assert catalogue["filed_at"] is FieldKind.DATETIME
    assert catalogue["value_z"] is FieldKind.NUMBER
    assert catalogue["period"] is FieldKind.DATE
    assert catalogue["parcel_score"] is FieldKind.NUMBER
    assert "tags" not in catalogue  # no condition can test a list column


def test_extra_fields_must_be_declared(tmp_path: Path, lists_path: Path) -> None:
    path = _write(tmp_path, "r.toml", RULE.format(body="[rules.when]\nparcel_score = { gt = 0.5 }"))
    assert [p.code for p in check_rules(path)] == ["rules.unknown_field"]
    ruleset = load_rules(path, extra_fields={"parcel_score": pl.Float64()})
    frame = ROWS.with_columns(parcel_score=pl.Series([0.1, 0.9, None, 0.6]))
    assert _hit_items(ruleset, frame) == {"C1/2", "C3/1"}


def test_the_shipped_example_loads_cleanly() -> None:
    assert check_rules(example_rules_path(), today=TODAY) == []
    ruleset = load_example_rules(today=TODAY)
    assert len(ruleset.rules) >= 15
    assert all(rule.legal_basis for rule in ruleset.rules)
    assert all(lst.legal_basis for lst in ruleset.watchlists.values())
    operators = {c.operator for rule in ruleset.rules for c in rule.conditions()}
    assert operators >= {Operator.IN_LIST, Operator.PREFIX, Operator.MATCHES, Operator.BETWEEN}


# --- operators ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ('hs_code = { eq = "821192" }', {"C1/1"}),
        ('hs_code = "821192"', {"C1/1"}),  # shorthand for eq
        ('origin_country = { ne = "CN" }', {"C2/1", "C3/1"}),
        ('origin_country = { in = ["HK", "RU"] }', {"C2/1", "C3/1"}),
        ('origin_country = ["HK"]', {"C2/1"}),  # shorthand for in
        ('origin_country = { not_in = ["CN"] }', {"C2/1", "C3/1"}),
        ('hs_code = { prefix = "8" }', {"C1/1", "C2/1"}),
        ('hs_code = { prefix = ["61", "95"] }', {"C1/2", "C3/1"}),
        ('seller_id = { in_list = "bad-sellers" }', {"C1/1", "C1/2"}),  # S-LATER not yet
        ('seller_id = { not_in_list = "bad-sellers" }', {"C2/1"}),  # null seller: no hit
        ('seller_id = { ne = "S-BAD" }', {"C2/1"}),  # null satisfies nothing but is_null
        ('hs_code = { in_list = "restricted" }', {"C1/1", "C2/1"}),  # hs lists: by prefix
        ('origin_country = { in_list = "embargo" }', {"C3/1"}),
        ("value = { lt = 150 }", {"C1/1", "C1/2"}),  # Decimal money against a number
        ("value = { le = 150 }", {"C1/1", "C1/2", "C2/1"}),
        ("value = { gt = 150 }", {"C3/1"}),
        ("value = { ge = 150 }", {"C2/1", "C3/1"}),
        ("value = { between = [12.5, 150] }", {"C1/1", "C1/2", "C2/1"}),  # inclusive
        ("value = { in = [150, 300] }", {"C2/1", "C3/1"}),
        ("value = { gt = 10, lt = 100 }", {"C1/1"}),  # several operators: ANDed
        ("item_no = { gt = 1 }", {"C1/2"}),
        ("net_mass_kg = { is_null = true }", {"C2/1"}),
        ("net_mass_kg = { is_null = false }", {"C1/1", "C1/2", "C3/1"}),
        ('description = { matches = "(?i)knife|vape" }', {"C1/1", "C2/1"}),
        ('description = { matches = "^gift$" }', {"C1/2"}),
        ("value_ratio = { lt = 0.5 }", {"C1/1"}),
        ("filed_at = { ge = 2026-11-20T12:00:00Z }", {"C2/1", "C3/1"}),
        ("filed_at = { lt = 2026-11-21 }", {"C1/1", "C1/2", "C2/1"}),  # a date: 00:00 UTC
        ('country_of_dispatch = "HK"\ntransport_mode = "4"', {"C2/1"}),  # a route
        ('hs_code = { prefix = "8" }\norigin_country = "HK"', {"C2/1"}),  # ANDed per item
    ],
)
def test_each_operator(tmp_path: Path, lists_path: Path, when: str, expected: set[str]) -> None:
    ruleset = _ruleset(tmp_path, lists_path, f"[rules.when]\n{when}")
    assert _hit_items(ruleset, ROWS) == expected


def test_any_groups_are_ored_and_unless_suppresses(tmp_path: Path, lists_path: Path) -> None:
    body = """\
[rules.when]
origin_country = { in = ["CN", "HK", "RU"] }
[[rules.any]]
hs_code = { prefix = "82" }
[[rules.any]]
description = { matches = "(?i)vape" }
"""
    assert _hit_items(_ruleset(tmp_path, lists_path, body), ROWS) == {"C1/1", "C2/1"}
    unless = body + '[rules.unless]\nseller_id = "S-OK"\n'
    assert _hit_items(_ruleset(tmp_path, lists_path, unless), ROWS) == {"C1/1"}
    several = body.replace(
        "[rules.when]",
        'unless = [{ seller_id = "S-OK" }, { net_mass_kg = { lt = 0.5 } }]\n[rules.when]',
    )
    assert _hit_items(_ruleset(tmp_path, lists_path, several), ROWS) == set()
    alone = 'any = [\n  { hs_code = { prefix = "95" } },\n  { value_ratio = { lt = 0.5 } },\n]'
    assert _hit_items(_ruleset(tmp_path, lists_path, alone), ROWS) == {"C1/1", "C3/1"}


@pytest.mark.parametrize(
    ("filed_at", "expected"),
    [
        (datetime(2026, 11, 19, 23, 59, 59, tzinfo=UTC), False),
        (datetime(2026, 11, 20, 0, 0, tzinfo=UTC), True),
        (datetime(2026, 11, 20, 23, 59, 59, tzinfo=UTC), True),
        (datetime(2026, 11, 21, 0, 0, tzinfo=UTC), False),  # effective_to is exclusive
    ],
)
def test_rules_apply_in_their_period_by_filing_day(
    tmp_path: Path, lists_path: Path, filed_at: datetime, expected: bool
) -> None:
    body = 'effective_to = 2026-11-21\n[rules.when]\nhs_code = { prefix = "8" }'
    ruleset = _ruleset(tmp_path, lists_path, body)
    ruleset = replace(
        ruleset, rules=(replace(ruleset.rules[0], effective_from=date(2026, 11, 20)),)
    )
    frame = ROWS.head(1).with_columns(pl.lit(filed_at, pl.Datetime("us", "UTC")).alias("filed_at"))
    assert bool(_hit_items(ruleset, frame)) is expected
    assert ruleset.rules[0].is_in_force(filed_at.date()) is expected


def test_watch_list_entries_apply_in_their_own_period(tmp_path: Path, lists_path: Path) -> None:
    ruleset = _ruleset(
        tmp_path, lists_path, '[rules.when]\nseller_id = { in_list = "bad-sellers" }'
    )
    later = view(
        {"consignment_id": "D1", "item_no": 1, "seller_id": "S-LATER"},
        {
            "consignment_id": "D2",
            "item_no": 1,
            "seller_id": "S-LATER",
            "filed_at": datetime(2026, 12, 1, tzinfo=UTC),
        },
    )
    assert _hit_items(ruleset, later) == {"D2/1"}


# --- actions and aggregation ------------------------------------------------------------------

LANES = """\
id = "lanes"
version = "7"
legal_basis = "Art. 46 UCC"

[[rules]]
id = "cn-hk-green"
description = "A"
effective_from = 2026-01-01
lane = "green"
[rules.when]
origin_country = ["CN", "HK"]

[[rules]]
id = "apparel-blue"
version = "2"
description = "B"
legal_basis = "Art. 57 UCC"
effective_from = 2026-01-01
lane = "blue"
score = 0.2
[rules.when]
hs_code = { prefix = "61" }

[[rules]]
id = "knives-red"
description = "C"
effective_from = 2026-01-01
lane = "RED"
[rules.when]
hs_code = { prefix = "8211" }

[[rules]]
id = "cn-yellow"
description = "D"
effective_from = 2026-01-01
lane = "yellow"
score = 0.3
[rules.when]
origin_country = "CN"

[[rules]]
id = "over-100"
description = "E"
effective_from = 2026-01-01
score = 0.25
[rules.when]
value = { gt = 100 }
"""


def test_hits_and_per_consignment_summary(tmp_path: Path) -> None:
    ruleset = load_rules(_write(tmp_path, "lanes.toml", LANES), today=TODAY)
    frame = pl.concat([ROWS, view({"consignment_id": "C4", "item_no": 1, "origin_country": "FR"})])
    result = ruleset.apply(frame)
    assert result.consignments.to_dicts() == [
        {
            "consignment_id": "C1",
            RULE_HITS: ["cn-hk-green", "apparel-blue", "knives-red", "cn-yellow", "over-100"],
            RULE_SCORE: pytest.approx(0.75),
            FORCED_LANE: "red",  # strictest of green, blue, red, yellow
        },
        {
            "consignment_id": "C2",
            RULE_HITS: ["cn-hk-green", "over-100"],
            RULE_SCORE: 0.25,
            FORCED_LANE: "green",
        },
        {"consignment_id": "C3", RULE_HITS: ["over-100"], RULE_SCORE: 0.25, FORCED_LANE: None},
        {"consignment_id": "C4", RULE_HITS: [], RULE_SCORE: 0.0, FORCED_LANE: None},
    ]
    hits = result.hits.filter(pl.col("consignment_id") == "C1")
    assert hits.columns == [
        "consignment_id",
        "rule_id",
        "rule_version",
        "item_nos",
        "action_lane",
        "action_weight",
        "rule_description",
        "legal_basis",
    ]
    assert hits.row(1, named=True) == {
        "consignment_id": "C1",
        "rule_id": "apparel-blue",
        "rule_version": "2",
        "item_nos": [2],
        "action_lane": "blue",
        "action_weight": 0.2,
        "rule_description": "B",
        "legal_basis": "Art. 57 UCC",
    }
    assert hits.get_column(ITEM_NOS).to_list() == [[1, 2], [2], [1], [1, 2], [2]]
    assert hits.get_column("legal_basis").to_list()[0] == "Art. 46 UCC"  # the ruleset's


@pytest.mark.parametrize(
    ("lanes", "strictest"),
    [
        (("green", "red"), "red"),
        (("blue", "yellow"), "yellow"),
        (("green", "blue"), "blue"),
        (("green", "green"), "green"),
        (("yellow", "red", "blue"), "red"),
    ],
)
def test_the_strictest_forced_lane_wins(lanes: tuple[str, ...], strictest: str) -> None:
    condition = Condition("origin_country", Operator.EQ, "CN")
    rules = tuple(
        Rule(f"r{i}", "d", date(2026, 1, 1), lane=Lane(lane), when=(condition,))
        for i, lane in enumerate(lanes)
    )
    summary = RuleSet("s", "1", rules).apply(ROWS).consignments
    assert (
        summary.filter(pl.col("consignment_id") == "C1").get_column(FORCED_LANE).item() == strictest
    )


def test_an_empty_ruleset_and_an_empty_view(tmp_path: Path) -> None:
    empty = RuleSet("s", "1", ())
    result = empty.apply(ROWS)
    assert result.hits.is_empty()
    assert result.consignments.get_column(RULE_SCORE).to_list() == [0.0, 0.0, 0.0]
    ruleset = load_rules(_write(tmp_path, "lanes.toml", LANES), today=TODAY)
    nothing = ruleset.apply(ROWS.clear())
    assert nothing.hits.is_empty() and nothing.consignments.is_empty()
    assert nothing.hits.schema == result.hits.schema


def test_a_view_without_the_columns_the_rules_read_is_refused(tmp_path: Path) -> None:
    ruleset = load_rules(_write(tmp_path, "lanes.toml", LANES), today=TODAY)
    assert ruleset.required_columns() == {
        "consignment_id",
        "item_no",
        "filed_at",
        "origin_country",
        "hs_code",
        "value",
    }
    with pytest.raises(InvalidInputError) as info:
        ruleset.apply(ROWS.drop("hs_code", "value"))
    assert [(p.code, p.path) for p in info.value.problems] == [
        ("rules.view_column", "hs_code"),
        ("rules.view_column", "value"),
    ]


def test_expressions_agree_with_apply(tmp_path: Path) -> None:
    ruleset = load_rules(_write(tmp_path, "lanes.toml", LANES), today=TODAY)
    flags = ROWS.select("consignment_id", "item_no", **ruleset.expressions())
    long = flags.unpivot(index=["consignment_id", "item_no"]).filter(pl.col("value"))
    from_expressions = {(c, r, i) for c, i, r, _ in long.iter_rows()}
    hits = ruleset.apply(ROWS).hits.explode(ITEM_NOS)
    assert from_expressions == {
        (c, r, i) for c, r, i in hits.select("consignment_id", RULE_ID, ITEM_NOS).iter_rows()
    }


def test_the_example_targets_restricted_goods_in_synthetic_traffic() -> None:
    from smartcustoms.synth import TrafficConfig, generate_traffic

    chunks = list(generate_traffic(TrafficConfig(consignments=4000, seed=42)))
    items = pl.concat([c.items for c in chunks])
    consignments = pl.concat([c.consignments for c in chunks])
    frame = items.join(consignments, on="consignment_id").with_columns(
        hs6=pl.col("hs_code").str.slice(0, 6),
        **{
            name: pl.lit(None, _KINDS[kind])
            for name, kind in ENRICHMENT_FIELDS.items()
            if name != "hs6"
        },
    )
    result = load_example_rules(today=TODAY).apply(frame)
    restricted = ("8211", "9304", "854340", "240412", "3004", "901320", "3604", "1209")
    listed = pl.any_horizontal(pl.col("hs_code").str.starts_with(p) for p in restricted)
    expected = set(frame.filter(listed).get_column("consignment_id").to_list())
    red = set(result.consignments.filter(pl.col(FORCED_LANE) == "red").get_column("consignment_id"))
    assert expected and red == expected
    assert result.consignments.height == consignments.height


# --- properties --------------------------------------------------------------------------------

POOL = [
    Condition("hs_code", Operator.PREFIX, ("61",)),
    Condition("hs_code", Operator.PREFIX, ("8", "95")),
    Condition("origin_country", Operator.EQ, "CN"),
    Condition("origin_country", Operator.NE, "CN"),
    Condition("origin_country", Operator.IN, ("HK", "RU")),
    Condition("origin_country", Operator.NOT_IN, ("HK",)),
    Condition("value", Operator.LT, 150.0, FieldKind.NUMBER),
    Condition("value", Operator.GE, 100.0, FieldKind.NUMBER),
    Condition("net_mass_kg", Operator.BETWEEN, (0.5, 2.0), FieldKind.NUMBER),
    Condition("net_mass_kg", Operator.IS_NULL, True, FieldKind.NUMBER),
    Condition("description", Operator.MATCHES, "(?i)gift|parts"),
]


def _reference(condition: Condition, row: dict[str, Any]) -> bool:
    """Row-by-row meaning of a condition: the oracle the vectorised form must agree with."""
    value = row[condition.field]
    op, operand = condition.operator, condition.operand
    if op is Operator.IS_NULL:
        return (value is None) is operand
    if value is None:
        return False
    if isinstance(value, Decimal):
        value = float(value)
    tests: dict[Operator, Callable[[], Any]] = {
        Operator.EQ: lambda: value == operand,
        Operator.NE: lambda: value != operand,
        Operator.IN: lambda: value in operand,
        Operator.NOT_IN: lambda: value not in operand,
        Operator.PREFIX: lambda: value.startswith(operand),
        Operator.LT: lambda: value < operand,
        Operator.GE: lambda: value >= operand,
        Operator.BETWEEN: lambda: operand[0] <= value <= operand[1],
        Operator.MATCHES: lambda: re.search(operand, value) is not None,
    }
    return bool(tests[op]())


_ROW = st.fixed_dictionaries(
    {
        "consignment_id": st.sampled_from(["A", "B", "C", "D", "E"]),
        "hs_code": st.sampled_from(["610910", "821192", "950300", "8517", "9503"]),
        "origin_country": st.sampled_from(["CN", "HK", "RU", "TR"]) | st.none(),
        "value": st.decimals("0", "400", places=2) | st.none(),
        "net_mass_kg": st.floats(0, 3) | st.none(),
        "description": st.sampled_from(["Gift", "spare parts", "T-shirt"]) | st.none(),
    }
)


def _frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    counters: dict[str, int] = {}
    numbered = []
    for row in rows:
        counters[row["consignment_id"]] = counters.get(row["consignment_id"], 0) + 1
        numbered.append(row | {"item_no": counters[row["consignment_id"]]})
    return view(*numbered) if numbered else ROWS.clear()


def _items(ruleset: RuleSet, frame: pl.DataFrame, rule_id: str) -> set[tuple[str, int]]:
    hits = ruleset.apply(frame).hits.filter(pl.col(RULE_ID) == rule_id).explode(ITEM_NOS)
    return set(hits.select("consignment_id", ITEM_NOS).iter_rows())


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(_ROW, max_size=20),
    a=st.sampled_from(POOL),
    b=st.sampled_from(POOL),
)
def test_vectorised_rules_agree_with_row_by_row_reference(
    rows: list[dict[str, Any]], a: Condition, b: Condition
) -> None:
    """A∧B, A∨B and A-unless-B hit exactly the items the row-by-row meaning says."""
    day = date(2026, 1, 1)
    rules = (
        Rule("a", "a", day, weight=0.1, when=(a,)),
        Rule("a-and-b", "ab", day, weight=0.1, when=(a, b)),
        Rule("a-or-b", "aob", day, weight=0.1, any_of=((a,), (b,))),
        Rule("a-unless-b", "aub", day, weight=0.1, when=(a,), unless=((b,),)),
    )
    ruleset = RuleSet("p", "1", rules)
    frame = _frame(rows)
    found = {rule.id: _items(ruleset, frame, rule.id) for rule in rules}
    records = frame.to_dicts()
    item = {(r["consignment_id"], r["item_no"]): r for r in records}
    in_a = {k for k, r in item.items() if _reference(a, r)}
    in_b = {k for k, r in item.items() if _reference(b, r)}
    assert found["a"] == in_a
    assert found["a-and-b"] == in_a & in_b
    assert found["a-and-b"] <= found["a"]
    assert found["a-or-b"] == in_a | in_b
    assert found["a-unless-b"] == in_a - in_b


@settings(max_examples=30, deadline=None)
@given(rows=st.lists(_ROW, min_size=1, max_size=25), data=st.data())
def test_apply_is_invariant_to_row_order(
    tmp_path_factory: pytest.TempPathFactory, rows: list[dict[str, Any]], data: st.DataObject
) -> None:
    path = tmp_path_factory.mktemp("rules") / "lanes.toml"
    path.write_text(LANES, encoding="utf-8")
    ruleset = load_rules(path, today=TODAY)
    frame = _frame(rows)
    order = data.draw(st.permutations(range(frame.height)))
    shuffled = frame[list(order)]
    first, second = ruleset.apply(frame), ruleset.apply(shuffled)
    assert first.hits.equals(second.hits)
    assert first.consignments.equals(second.consignments)
