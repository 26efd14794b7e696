"""Problem codes of targeting-rule and watch-list files, and the reader that reports them.

Every code is stable once released (scripts and the CLI match on it) and documented in
``docs/risk-rules.md``; a test checks that the document names each one.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from smartcustoms.datafiles import FileReader
from smartcustoms.errors import InvalidRuleFileError

__all__ = [
    "CODE_BAD_ENTRY",
    "CODE_BAD_PERIOD",
    "CODE_BAD_REGEX",
    "CODE_DUPLICATE_ENTRY",
    "CODE_DUPLICATE_ID",
    "CODE_EMPTY_LIST",
    "CODE_EXPIRED",
    "CODE_INVALID",
    "CODE_LABEL_COLUMN",
    "CODE_LIST_KIND_MISMATCH",
    "CODE_MISSING",
    "CODE_MISSING_ACTION",
    "CODE_NO_CONDITION",
    "CODE_NO_LEGAL_BASIS",
    "CODE_SYNTAX",
    "CODE_TYPE_MISMATCH",
    "CODE_UNKNOWN_FIELD",
    "CODE_UNKNOWN_KEY",
    "CODE_UNKNOWN_LANE",
    "CODE_UNKNOWN_LIST",
    "CODE_UNKNOWN_LIST_KIND",
    "CODE_UNKNOWN_OPERATOR",
    "CODE_UNREADABLE",
    "CODE_UNUSED_LIST",
    "CODE_WEIGHT_RANGE",
    "PROBLEM_CODES",
    "RuleFileReader",
    "version_text",
]

# --- errors: the file does not load --------------------------------------------------------
CODE_UNREADABLE: Final = "rules.unreadable"
CODE_SYNTAX: Final = "rules.syntax"
CODE_MISSING: Final = "rules.missing_key"
CODE_UNKNOWN_KEY: Final = "rules.unknown_key"
CODE_INVALID: Final = "rules.invalid_value"
CODE_DUPLICATE_ID: Final = "rules.duplicate_id"
CODE_BAD_PERIOD: Final = "rules.bad_period"
CODE_NO_CONDITION: Final = "rules.no_condition"
CODE_UNKNOWN_FIELD: Final = "rules.unknown_field"
CODE_LABEL_COLUMN: Final = "rules.label_column"
CODE_UNKNOWN_OPERATOR: Final = "rules.unknown_operator"
CODE_TYPE_MISMATCH: Final = "rules.type_mismatch"
CODE_BAD_REGEX: Final = "rules.bad_regex"
CODE_UNKNOWN_LIST: Final = "rules.unknown_list"
CODE_UNKNOWN_LANE: Final = "rules.unknown_lane"
CODE_MISSING_ACTION: Final = "rules.missing_action"
CODE_WEIGHT_RANGE: Final = "rules.weight_range"
CODE_UNKNOWN_LIST_KIND: Final = "rules.unknown_list_kind"
CODE_BAD_ENTRY: Final = "rules.bad_entry"
# --- warnings: reported, the file still loads ----------------------------------------------
CODE_NO_LEGAL_BASIS: Final = "rules.no_legal_basis"
CODE_EXPIRED: Final = "rules.expired"
CODE_LIST_KIND_MISMATCH: Final = "rules.list_kind_mismatch"
CODE_DUPLICATE_ENTRY: Final = "rules.duplicate_entry"
CODE_EMPTY_LIST: Final = "rules.empty_list"
CODE_UNUSED_LIST: Final = "rules.unused_list"

PROBLEM_CODES: Final[Mapping[str, str]] = MappingProxyType(
    {
        CODE_UNREADABLE: "error: the file cannot be read",
        CODE_SYNTAX: "error: the file is not valid TOML",
        CODE_MISSING: "error: a required key is absent",
        CODE_UNKNOWN_KEY: "error: a key that is not part of the format (usually a typo)",
        CODE_INVALID: "error: a value of the wrong type or shape",
        CODE_DUPLICATE_ID: "error: two rules, or two watch lists, share an id",
        CODE_BAD_PERIOD: "error: effective_to is on or before effective_from",
        CODE_NO_CONDITION: "error: a rule has no condition and would hit everything",
        CODE_UNKNOWN_FIELD: "error: a condition names a column the risk view does not have",
        CODE_LABEL_COLUMN: "error: a condition reads a control outcome (label column)",
        CODE_UNKNOWN_OPERATOR: "error: a condition uses an operator that does not exist",
        CODE_TYPE_MISMATCH: "error: operator or operand does not fit the column's kind",
        CODE_BAD_REGEX: "error: a matches pattern is not a valid regular expression",
        CODE_UNKNOWN_LIST: "error: in_list / not_in_list names a watch list not loaded",
        CODE_UNKNOWN_LANE: "error: lane is not red, yellow, blue or green",
        CODE_MISSING_ACTION: "error: a rule neither forces a lane nor adds a score",
        CODE_WEIGHT_RANGE: "error: score is outside (0, 1]",
        CODE_UNKNOWN_LIST_KIND: "error: a watch list's kind is not one of the known kinds",
        CODE_BAD_ENTRY: "error: a watch-list entry does not fit the list's kind",
        CODE_NO_LEGAL_BASIS: "warning: a rule or watch list states no legal basis",
        CODE_EXPIRED: "warning: a rule or watch list is no longer in force",
        CODE_LIST_KIND_MISMATCH: "warning: a watch list is used on a column of another kind",
        CODE_DUPLICATE_ENTRY: "warning: the same value is listed twice in one watch list",
        CODE_EMPTY_LIST: "warning: a watch list has no entries",
        CODE_UNUSED_LIST: "warning: a watch list is loaded but no rule refers to it",
    }
)
"""Every problem code a rule or watch-list file can produce, with its severity and meaning."""


class RuleFileReader(FileReader):
    """A :class:`~smartcustoms.datafiles.FileReader` reporting ``rules.*`` problem codes.

    Args:
        label: How the file is named in problem paths (``rules.toml``).
        locator: Line finder for the TOML text.
    """

    error = InvalidRuleFileError
    code_syntax = CODE_SYNTAX
    code_missing = CODE_MISSING
    code_unknown_key = CODE_UNKNOWN_KEY
    code_invalid = CODE_INVALID
    code_unreadable = CODE_UNREADABLE

    def locate(self, steps: list[tuple[str, int | None]], key: str | None = None) -> int:
        """Line of ``key`` in nested tables (see :meth:`TomlLocator.locate`); 1 without text."""
        if self.locator is None:
            return 1
        return self.locator.locate(steps, key)


def version_text(
    reader: RuleFileReader,
    data: Mapping[str, Any],
    *,
    table: str = "",
    index: int | None = None,
    required: bool,
) -> str | None:
    """A ``version``: a non-empty string or a non-negative integer (``version = 3``)."""
    if "version" not in data:
        if required:
            where = f"[{table}]" if table else "the top level"
            reader.add(CODE_MISSING, reader.where(table, index), f"version is required in {where}")
        return None
    raw = data["version"]
    if isinstance(raw, bool) or not isinstance(raw, str | int) or not str(raw).strip():
        reader.add(
            CODE_INVALID,
            reader.where(table, index, "version"),
            f"version must be a string or an integer, got {raw!r}",
        )
        return None
    return str(raw).strip()
