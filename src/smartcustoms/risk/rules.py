"""Targeting rules as data: selectivity criteria in TOML, compiled to Polars expressions.

Customs administrations target consignments with *selectivity criteria* (ASYCUDA's term):
"dispatched from X by post and declared under HS 8543 40 -> documentary check". Under
Art. 46 UCC (Reg. (EU) 952/2013) controls are based on risk analysis with electronic data
processing; keeping the criteria as versioned data (STYLE section 5) lets a risk unit change
them with review, dates and a legal basis, without a software release, and lets an auditor
see which version of which rule selected a consignment.

A rule file (format, operators and problem codes: ``docs/risk-rules.md``)::

    id = "example-eu-ecommerce"
    version = "2026.1"
    legal_basis = "Art. 46 UCC (Reg. (EU) 952/2013)"
    watchlists = ["example-watchlists.toml"]     # optional, relative to this file

    [[rules]]
    id = "restricted-goods"
    description = "Goods under prohibitions and restrictions"
    effective_from = 2026-01-01
    lane = "red"                                 # and/or: score = 0.4
    [rules.when]
    hs_code = { in_list = "restricted-goods-hs" }
    [rules.unless]
    aeo_status = { eq = "national" }

Conditions in ``when`` are ANDed; ``[[rules.any]]`` groups are ORed (each group ANDed);
``unless`` (a group, or a list of groups) suppresses the hit. Conditions are evaluated on
each goods-item row of the risk view; a rule hits a consignment when at least one of its items
satisfies it on the consignment's filing day (``filed_at``, UTC), inside the rule's half-open
period ``[effective_from, effective_to)``.

:meth:`RuleSet.apply` evaluates every rule as one vectorised Polars query: no Python code runs
per row.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any, Final

import polars as pl

from smartcustoms.datafiles import line_of, package_data_path
from smartcustoms.errors import InvalidRuleFileError, Problem
from smartcustoms.risk._conditions import (
    ENRICHMENT_FIELDS,
    OPERATOR_KINDS,
    Condition,
    FieldKind,
    Operator,
    field_catalogue,
    kind_of,
    parse_conditions,
)
from smartcustoms.risk._rulefile import (
    CODE_BAD_PERIOD,
    CODE_DUPLICATE_ID,
    CODE_EXPIRED,
    CODE_INVALID,
    CODE_MISSING,
    CODE_MISSING_ACTION,
    CODE_NO_CONDITION,
    CODE_NO_LEGAL_BASIS,
    CODE_UNKNOWN_LANE,
    CODE_UNUSED_LIST,
    CODE_WEIGHT_RANGE,
    PROBLEM_CODES,
    RuleFileReader,
    version_text,
)
from smartcustoms.risk._ruleset import (
    ACTION_LANE,
    ACTION_WEIGHT,
    CODE_VIEW_COLUMN,
    ITEM_NOS,
    LANE_ORDER,
    LEGAL_BASIS,
    RULE_DESCRIPTION,
    RULE_ID,
    RULE_VERSION,
    Rule,
    RuleHits,
    RuleSet,
)
from smartcustoms.risk.columns import Lane
from smartcustoms.risk.watchlists import WatchList, read_watchlists

__all__ = [
    "ACTION_LANE",
    "ACTION_WEIGHT",
    "CODE_VIEW_COLUMN",
    "ENRICHMENT_FIELDS",
    "ITEM_NOS",
    "LANE_ORDER",
    "LEGAL_BASIS",
    "OPERATOR_KINDS",
    "PROBLEM_CODES",
    "RULE_DESCRIPTION",
    "RULE_ID",
    "RULE_VERSION",
    "Condition",
    "FieldKind",
    "Operator",
    "Rule",
    "RuleHits",
    "RuleSet",
    "check_rules",
    "example_rules_path",
    "field_catalogue",
    "kind_of",
    "load_example_rules",
    "load_rules",
]

_TOP_KEYS: Final = frozenset({"id", "version", "description", "legal_basis", "watchlists", "rules"})
_RULE_KEYS: Final = frozenset(
    {
        "id",
        "version",
        "description",
        "legal_basis",
        "effective_from",
        "effective_to",
        "when",
        "any",
        "unless",
        "lane",
        "score",
    }
)


_LIST_OPS: Final = (Operator.IN_LIST, Operator.NOT_IN_LIST)


# --- loading -------------------------------------------------------------------------------


def example_rules_path() -> Path:
    """The shipped example ruleset (illustrative EU e-commerce selectivity criteria)."""
    return package_data_path("smartcustoms.risk", "rules", "example-eu-ecommerce.toml")


def load_example_rules(*, today: date | None = None) -> RuleSet:
    """Load the shipped example ruleset with the watch lists it declares."""
    return load_rules(example_rules_path(), today=today)


def load_rules(
    path: Path | str,
    watchlist_paths: Iterable[Path | str] = (),
    *,
    watchlists: Mapping[str, WatchList] | None = None,
    extra_fields: Mapping[str, FieldKind | pl.DataType] | None = None,
    today: date | None = None,
) -> RuleSet:
    """Load a ruleset and its watch lists, reporting every problem of every file at once.

    Args:
        path: The rules TOML file.
        watchlist_paths: Watch-list files, besides those the ruleset's ``watchlists`` key
            names (relative to the rules file).
        watchlists: Watch lists already loaded (``load_watchlists``).
        extra_fields: Columns the caller's risk view has beyond the catalogue
            (:func:`field_catalogue`).
        today: The day "already expired" warnings are judged on (default: today).

    Returns:
        The ruleset; its ``warnings`` hold the warnings found.

    Raises:
        InvalidRuleFileError: When a file has an error; ``problems`` lists every problem
            (errors and warnings), each located as ``file:LINE``.
    """
    ruleset, problems = _read_rules(path, watchlist_paths, watchlists, extra_fields, today)
    errors = [p for p in problems if p.severity == "error"]
    if errors or ruleset is None:
        first = errors[0]
        raise InvalidRuleFileError(
            f"rules {path} have {len(errors)} problem{'s' if len(errors) > 1 else ''};"
            f" first: {first.path}: {first.message}",
            tuple(problems),
        )
    return ruleset


def check_rules(
    path: Path | str,
    watchlist_paths: Iterable[Path | str] = (),
    *,
    extra_fields: Mapping[str, FieldKind | pl.DataType] | None = None,
    today: date | None = None,
) -> list[Problem]:
    """Every problem (errors and warnings) of a ruleset and its watch lists; never raises.

    Meant for ``smartcustoms risk rules check FILE``: an empty list means the files load
    cleanly; ``severity`` tells errors (the ruleset would not load) from warnings.
    """
    return _read_rules(path, watchlist_paths, None, extra_fields, today)[1]


def _read_rules(
    path: Path | str,
    watchlist_paths: Iterable[Path | str],
    watchlists: Mapping[str, WatchList] | None,
    extra_fields: Mapping[str, FieldKind | pl.DataType] | None,
    today: date | None,
) -> tuple[RuleSet | None, list[Problem]]:
    on = today or date.today()
    rules_path = Path(path)
    reader, data = RuleFileReader.read_toml(rules_path)
    declared = _declared_lists(reader, data, rules_path.parent) if data is not None else []
    lists: dict[str, WatchList] = dict(watchlists or {})
    list_problems: list[Problem] = []
    paths: dict[Path, Path] = {}  # a file named twice (key and argument) is read once
    for candidate in [*declared, *(Path(p) for p in watchlist_paths)]:
        paths.setdefault(candidate.resolve(), candidate)
    if paths:
        loaded, list_problems = read_watchlists(paths.values(), today=on)
        for name, item in loaded.items():
            lists.setdefault(name, item)
    if data is None:
        return None, [*reader.problems, *list_problems]
    ruleset = _parse_ruleset(reader, data, field_catalogue(extra_fields), lists, on)
    used = {c.operand for r in ruleset.rules for c in r.conditions() if c.operator in _LIST_OPS}
    for name, item in sorted(lists.items()):
        if name not in used and item.source:
            list_problems.append(
                Problem(
                    CODE_UNUSED_LIST,
                    item.source,
                    f"watch list {name!r} is loaded but no rule refers to it",
                    severity="warning",
                )
            )
    reader.problems.sort(key=line_of)
    problems = [*reader.problems, *list_problems]
    warnings = tuple(p for p in problems if p.severity != "error")
    return dataclasses.replace(ruleset, warnings=warnings), problems


def _declared_lists(reader: RuleFileReader, data: dict[str, Any], folder: Path) -> list[Path]:
    raw = data.get("watchlists", [])
    if not isinstance(raw, list) or not all(isinstance(x, str) and x for x in raw):
        reader.add(
            CODE_INVALID,
            reader.where(key="watchlists"),
            "watchlists must be a list of file paths (relative to the rules file)",
        )
        return []
    return [folder / name for name in raw]


def _parse_ruleset(
    reader: RuleFileReader,
    data: dict[str, Any],
    catalogue: Mapping[str, FieldKind],
    lists: Mapping[str, WatchList],
    today: date,
) -> RuleSet:
    reader.check_keys(data, _TOP_KEYS)
    ruleset_id = reader.text(data, "id", required=True) or ""
    version = version_text(reader, data, required=True) or ""
    basis = reader.text(data, "legal_basis") or ""
    raw_rules = data.get("rules")
    rules: list[Rule] = []
    if raw_rules is None:
        reader.add(CODE_MISSING, 1, "rules is required: at least one [[rules]] table")
    elif not isinstance(raw_rules, list) or not all(isinstance(r, dict) for r in raw_rules):
        reader.add(CODE_INVALID, reader.where(key="rules"), "rules must be [[rules]] tables")
    else:
        seen: dict[str, int] = {}
        for index, raw in enumerate(raw_rules):
            rule = _parse_rule(reader, raw, index, basis, catalogue, lists, seen, today)
            if rule is not None:
                rules.append(rule)
    return RuleSet(
        id=ruleset_id,
        version=version,
        rules=tuple(rules),
        watchlists=dict(lists),
        description=reader.text(data, "description") or "",
        legal_basis=basis,
        source=reader.label,
    )


def _parse_rule(
    reader: RuleFileReader,
    raw: dict[str, Any],
    index: int,
    default_basis: str,
    catalogue: Mapping[str, FieldKind],
    lists: Mapping[str, WatchList],
    seen: dict[str, int],
    today: date,
) -> Rule | None:
    table = "rules"
    header = reader.where(table, index)
    reader.check_keys(raw, _RULE_KEYS, table, index)
    rule_id = reader.text(raw, "id", table=table, index=index, required=True)
    if rule_id is not None and rule_id in seen:
        reader.add(
            CODE_DUPLICATE_ID,
            reader.where(table, index, "id"),
            f"rule id {rule_id!r} is already used at {reader.at(seen[rule_id])}",
        )
    elif rule_id is not None:
        seen[rule_id] = header
    version = version_text(reader, raw, table=table, index=index, required=False) or "1"
    description = reader.text(raw, "description", table=table, index=index, required=True)
    basis = reader.text(raw, "legal_basis", table=table, index=index) or default_basis
    if not basis:
        reader.warn(CODE_NO_LEGAL_BASIS, header, f"rule {rule_id!r} states no legal_basis")
    start = reader.day(raw, "effective_from", table=table, index=index, required=True)
    end = reader.day(raw, "effective_to", table=table, index=index)
    reader.check_period(start, end, table, index, code=CODE_BAD_PERIOD, allow_empty=False)
    if end is not None and end <= today:
        reader.warn(
            CODE_EXPIRED,
            reader.where(table, index, "effective_to"),
            f"rule {rule_id!r} ended on {end}",
        )
    lane, weight = _action(reader, raw, index)
    when, any_of, unless = _condition_groups(reader, raw, index, catalogue, lists)
    if rule_id is None or description is None or start is None:
        return None
    return Rule(
        id=rule_id,
        description=description,
        effective_from=start,
        effective_to=end,
        lane=lane,
        weight=weight,
        when=when,
        any_of=any_of,
        unless=unless,
        version=version,
        legal_basis=basis,
        source=reader.at(header),
    )


def _action(
    reader: RuleFileReader, raw: dict[str, Any], index: int
) -> tuple[Lane | None, float | None]:
    lane: Lane | None = None
    weight: float | None = None
    if "lane" not in raw and "score" not in raw:
        reader.add(
            CODE_MISSING_ACTION,
            reader.where("rules", index),
            'a rule needs an action: lane = "red"|"yellow"|"blue"|"green" and/or score',
        )
    if "lane" in raw:
        text = raw["lane"]
        try:
            lane = Lane(text.strip().lower()) if isinstance(text, str) else None
        except ValueError:
            lane = None
        if lane is None:
            reader.add(
                CODE_UNKNOWN_LANE,
                reader.where("rules", index, "lane"),
                f"unknown lane {text!r}; expected one of {', '.join(LANE_ORDER)}",
            )
    if "score" in raw:
        value = raw["score"]
        line = reader.where("rules", index, "score")
        if isinstance(value, bool) or not isinstance(value, int | float):
            reader.add(CODE_INVALID, line, f"score must be a number in (0, 1], got {value!r}")
        elif not 0 < value <= 1:
            reader.add(CODE_WEIGHT_RANGE, line, f"score must be in (0, 1], got {value}")
        else:
            weight = float(value)
    return lane, weight


def _condition_groups(
    reader: RuleFileReader,
    raw: dict[str, Any],
    index: int,
    catalogue: Mapping[str, FieldKind],
    lists: Mapping[str, WatchList],
) -> tuple[
    tuple[Condition, ...], tuple[tuple[Condition, ...], ...], tuple[tuple[Condition, ...], ...]
]:
    rule = ("rules", index)
    when: tuple[Condition, ...] = ()
    if "when" in raw:
        when = parse_conditions(reader, raw["when"], [rule, ("when", None)], catalogue, lists)
    any_of = _groups(reader, raw, "any", index, catalogue, lists, allow_table=False)
    unless = _groups(reader, raw, "unless", index, catalogue, lists, allow_table=True)
    if not raw.get("when") and not raw.get("any"):
        reader.add(
            CODE_NO_CONDITION,
            reader.where("rules", index),
            "a rule needs at least one condition in when or any (it would hit everything)",
        )
    return when, any_of, unless


def _groups(
    reader: RuleFileReader,
    raw: dict[str, Any],
    key: str,
    index: int,
    catalogue: Mapping[str, FieldKind],
    lists: Mapping[str, WatchList],
    *,
    allow_table: bool,
) -> tuple[tuple[Condition, ...], ...]:
    if key not in raw:
        return ()
    value = raw[key]
    rule = ("rules", index)
    if allow_table and isinstance(value, dict):
        return (parse_conditions(reader, value, [rule, (key, None)], catalogue, lists),)
    if not isinstance(value, list) or not value or not all(isinstance(g, dict) for g in value):
        shape = "a table or " if allow_table else ""
        reader.add(
            CODE_INVALID,
            reader.where("rules", index, key),
            f"{key} must be {shape}a non-empty list of condition tables ([[rules.{key}]])",
        )
        return ()
    groups: list[tuple[Condition, ...]] = []
    for position, group in enumerate(value):
        if not group:
            reader.add(
                CODE_INVALID, reader.locate([rule, (key, position)]), f"{key} group is empty"
            )
            continue
        groups.append(parse_conditions(reader, group, [rule, (key, position)], catalogue, lists))
    return tuple(groups)
