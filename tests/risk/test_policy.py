"""Lane policy files: loading, merging per office, and every problem reported with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from smartcustoms.errors import InvalidLanePolicyError
from smartcustoms.risk.columns import AeoStatus, Lane
from smartcustoms.risk.policy import (
    CODE_INCONSISTENT,
    CODE_INVALID,
    CODE_MISSING,
    CODE_NO_EXPLORATION,
    CODE_OUT_OF_RANGE,
    CODE_SYNTAX,
    CODE_UNKNOWN_KEY,
    CODE_UNREADABLE,
    DEFAULT_RANDOM_SHARE,
    OfficePolicy,
    SelectionStrategy,
    check_policy,
    default_policy,
    load_policy,
)

GOOD = """\
id = "test"
version = "2"
legal_basis = "Test decision 1/2026"
effective_from = 2026-01-01
effective_to = 2026-12-31

[offices.default]
capacity = { red = 40, yellow = 150 }
rates = { red = 0.02, yellow = 0.06, blue = 0.03 }
aeo_weights = { national = 0.5, mra = 0.6 }

[offices.BEBRU000]
capacity = { red = 12 }
strategy = "mix"
mix = { risk = 0.6, revenue = 0.4 }

[offices.BEANR000.capacity]
blue = 30
"""


def _write(tmp_path: Path, text: str, name: str = "policy.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _lines(info: pytest.ExceptionInfo[InvalidLanePolicyError]) -> list[tuple[int, str]]:
    return [(int(p.path.rsplit(":", 1)[1]), p.code) for p in info.value.problems]


def test_shipped_default_policy_loads_cleanly() -> None:
    policy = default_policy()
    assert policy.id == "default"
    assert policy.default.random_share == pytest.approx(0.10)
    assert policy.default.national_weight < 1.0
    assert policy.default.mra_weight < 1.0
    assert policy.legal_basis


def test_offices_override_the_default_key_by_key(tmp_path: Path) -> None:
    policy = load_policy(_write(tmp_path, GOOD))
    brussels = policy.for_office("BEBRU000")
    assert brussels.red_capacity == 12
    assert brussels.yellow_capacity == 150  # inherited from the default, lane by lane
    assert brussels.strategy is SelectionStrategy.MIX
    assert brussels.risk_share == pytest.approx(0.6)
    assert brussels.revenue_share == pytest.approx(0.4)
    assert brussels.national_weight == pytest.approx(0.5)
    antwerp = policy.for_office("BEANR000")
    assert antwerp.capacity(Lane.BLUE) == 30
    assert antwerp.capacity(Lane.RED) == 40
    unlisted = policy.for_office("NLRTM000")
    assert unlisted is policy.default
    assert unlisted.capacity(Lane.BLUE) is None
    assert unlisted.random_share == pytest.approx(DEFAULT_RANDOM_SHARE)
    assert unlisted.strategy is SelectionStrategy.RISK
    assert unlisted.rate(Lane.GREEN) == pytest.approx(1 - 0.02 - 0.06 - 0.03)
    assert unlisted.aeo_weight(AeoStatus.NATIONAL) == pytest.approx(0.5)
    assert unlisted.aeo_weight(AeoStatus.MRA) == pytest.approx(0.6)
    assert unlisted.aeo_weight(None) == 1.0


def test_policy_dates(tmp_path: Path) -> None:
    from datetime import date

    policy = load_policy(_write(tmp_path, GOOD))
    assert policy.is_in_force(date(2026, 6, 1))
    assert not policy.is_in_force(date(2025, 12, 31))
    assert not policy.is_in_force(date(2027, 1, 1))


BAD = """\
id = "bad"
legal_basis = "x"
effective_from = 2026-06-01
effective_to = 2026-01-01
colour = "red"

[offices.default]
capacity = { red = -1, yellow = 2.5 }
rates = { red = 1.5, yellow = "lots" }
random_share = 0.1
strategy = "fastest"
aeo_weights = { national = 2 }

[offices.X1]
mix = { risk = 0.6, revenue = 0.5 }
strategy = "mix"
captain = 3

[offices.X2]
rates = { red = 0.6, yellow = 0.5 }
"""


def test_every_problem_is_reported_with_its_line(tmp_path: Path) -> None:
    """Several mistakes at once: each one is reported, at its own line, sorted by line."""
    with pytest.raises(InvalidLanePolicyError) as info:
        load_policy(_write(tmp_path, BAD))
    found = _lines(info)
    expected = {
        (1, CODE_MISSING),  # version
        (4, CODE_INCONSISTENT),  # effective_to before effective_from
        (5, CODE_UNKNOWN_KEY),  # colour
        (8, CODE_OUT_OF_RANGE),  # capacity.red = -1
        (8, CODE_INVALID),  # capacity.yellow = 2.5
        (9, CODE_OUT_OF_RANGE),  # rates.red = 1.5
        (9, CODE_INVALID),  # rates.yellow = "lots"
        (11, CODE_INVALID),  # strategy
        (12, CODE_OUT_OF_RANGE),  # aeo weight 2
        (15, CODE_INCONSISTENT),  # mix shares add to 1.1
        (17, CODE_UNKNOWN_KEY),  # captain
    }
    assert expected <= set(found), found
    assert [line for line, _ in found] == sorted(line for line, _ in found)
    assert all(p.path.startswith(str(tmp_path)) for p in info.value.problems)
    assert info.value.code == "lanes.invalid"
    assert "problems" in str(info.value)


def test_rates_adding_up_to_more_than_one_are_refused(tmp_path: Path) -> None:
    text = GOOD + "\n[offices.X2]\nrates = { red = 0.6, yellow = 0.5 }\n"
    with pytest.raises(InvalidLanePolicyError) as info:
        load_policy(_write(tmp_path, text))
    assert (21, CODE_INCONSISTENT) in _lines(info)


@pytest.mark.parametrize(
    ("office", "code"),
    [
        ("capacity = { red = 1, yellow = 1 }\nrates = { red = 0.1 }\n", CODE_MISSING),
        (
            "capacity = { red = 1, yellow = 1 }\nrates = { red = 0.1, yellow = 0.1 }\n"
            'strategy = "mix"\n',
            CODE_MISSING,
        ),
        (
            "capacity = { red = 1, yellow = 1 }\nrates = { red = 0.1, yellow = 0.1 }\n"
            "mix = { risk = 0.5, revenue = 0.5 }\n",
            CODE_INCONSISTENT,
        ),
        (
            "capacity = { red = 1, yellow = 1, purple = 3 }\nrates = { red = 0.1, yellow = 0.1 }\n",
            CODE_UNKNOWN_KEY,
        ),
        (
            "capacity = { red = 1, yellow = 1 }\nrates = { red = 0.1, yellow = 0.1 }\n"
            'mix = { risk = 1 }\nstrategy = "mix"\n',
            CODE_MISSING,
        ),
        ("capacity = 3\nrates = { red = 0.1, yellow = 0.1 }\n", CODE_INVALID),
        (
            "capacity = { red = true, yellow = 1 }\nrates = { red = 0.1, yellow = 0.1 }\n",
            CODE_INVALID,
        ),
    ],
)
def test_office_table_problems(tmp_path: Path, office: str, code: str) -> None:
    text = (
        'id = "p"\nversion = "1"\nlegal_basis = "x"\neffective_from = 2026-01-01\n'
        "[offices.default]\n" + office
    )
    with pytest.raises(InvalidLanePolicyError) as info:
        load_policy(_write(tmp_path, text))
    assert code in {c for _, c in _lines(info)}
    assert all(line >= 5 for line, _ in _lines(info))


def test_missing_default_office_is_a_problem(tmp_path: Path) -> None:
    text = 'id = "p"\nversion = "1"\nlegal_basis = "x"\neffective_from = 2026-01-01\n'
    text += "[offices.BEBRU000]\ncapacity = { red = 1, yellow = 1 }\n"
    with pytest.raises(InvalidLanePolicyError) as info:
        load_policy(_write(tmp_path, text))
    assert any(p.code == CODE_MISSING and "default" in p.message for p in info.value.problems)


def test_syntax_error_has_its_line(tmp_path: Path) -> None:
    text = 'id = "p"\nversion = "1"\nrates = { red = \n'
    with pytest.raises(InvalidLanePolicyError) as info:
        load_policy(_write(tmp_path, text))
    assert _lines(info) == [(3, CODE_SYNTAX)]


def test_unreadable_file(tmp_path: Path) -> None:
    problems = check_policy(tmp_path / "absent.toml")
    assert [p.code for p in problems] == [CODE_UNREADABLE]


def test_check_policy_lists_problems_and_warnings_without_raising(tmp_path: Path) -> None:
    assert check_policy(_write(tmp_path, GOOD)) == []
    problems = check_policy(_write(tmp_path, BAD, "bad.toml"))
    assert len(problems) >= 11
    quiet = GOOD.replace('strategy = "mix"', 'strategy = "mix"\nrandom_share = 0')
    problems = check_policy(_write(tmp_path, quiet, "quiet.toml"))
    assert [(p.code, p.severity) for p in problems] == [(CODE_NO_EXPLORATION, "warning")]
    assert problems[0].path.endswith(":15")
    load_policy(tmp_path / "quiet.toml")  # a warning does not stop the policy from loading


def test_office_policy_built_in_code_is_validated() -> None:
    with pytest.raises(InvalidLanePolicyError) as info:
        OfficePolicy("X", -1, 0, None, 0.5, 0.7, 0.0, random_share=1.5)
    codes = {(p.path, p.code) for p in info.value.problems}
    assert ("X.red_capacity", CODE_OUT_OF_RANGE) in codes
    assert ("X.random_share", CODE_OUT_OF_RANGE) in codes
    assert ("X.rates", CODE_OUT_OF_RANGE) in codes


def test_every_problem_code_is_documented() -> None:
    from smartcustoms.risk import policy, selection

    doc = (Path(__file__).resolve().parents[2] / "docs" / "risk-lanes.md").read_text("utf-8")
    codes = [
        getattr(module, name)
        for module in (policy, selection)
        for name in module.__all__
        if name.startswith("CODE_")
    ]
    assert len(codes) == 13
    assert [c for c in codes if f"`{c}`" not in doc] == []
