"""Watch lists: named lists of sellers, consignees, carriers, countries or HS codes.

Targeting rules refer to a watch list by name (``seller_id = { in_list = "sellers-ipr" }``)
instead of spelling its entries out, because the two change at different speeds and under
different owners: a risk analyst adds a seller to a list after a seizure this morning, while a
rule is reviewed and versioned like any other selectivity criterion. Keeping lists in their
own files also keeps personal data (names, identifiers of traders) apart from the logic, each
entry with its own reason and period, as data-protection rules expect of such lists.

A watch-list file::

    id = "example-watchlists"
    version = "2026.1"
    legal_basis = "Art. 46 UCC (Reg. (EU) 952/2013)"   # default for every list below

    [[lists]]
    id = "sellers-ipr-history"
    kind = "seller"          # seller, consignee (or buyer), importer, declarant, carrier,
                             # country, hs
    description = "Sellers with IPR infringements found at the border"
    effective_from = 2026-01-01
    entries = [
      "CN000000001",
      { value = "HK000000002", reason = "seizure 2026-03", effective_from = 2026-03-10 },
    ]

An entry is in force on a day when both its own period and its list's period contain the day
(half-open ``[effective_from, effective_to)``). ``hs`` lists match by prefix (``"8211"``
catches ``821192``); every other kind matches the whole value, case-sensitively except
``country`` entries, which are ISO 3166 alpha-2 codes written in capitals.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

import polars as pl

from smartcustoms.datafiles import line_of
from smartcustoms.errors import InvalidRuleFileError, Problem
from smartcustoms.model.columns import BUYER_ID, FILER_ID, HS_CODE, SELLER_ID
from smartcustoms.risk._matching import is_in, prefix_in
from smartcustoms.risk._rulefile import (
    CODE_BAD_ENTRY,
    CODE_BAD_PERIOD,
    CODE_DUPLICATE_ENTRY,
    CODE_DUPLICATE_ID,
    CODE_EMPTY_LIST,
    CODE_EXPIRED,
    CODE_INVALID,
    CODE_MISSING,
    CODE_NO_LEGAL_BASIS,
    CODE_UNKNOWN_LIST_KIND,
    RuleFileReader,
    version_text,
)
from smartcustoms.risk.columns import HS6, IMPORTER_ID

__all__ = [
    "CARRIER_ID",
    "ListKind",
    "WatchList",
    "WatchListEntry",
    "check_watchlists",
    "load_watchlists",
    "read_watchlists",
]

CARRIER_ID: Final = "carrier_id"
"""Canonical carrier party id (the ``carrier`` party flattened; ``model.columns`` has no
constant for it)."""

_TOP_KEYS: Final = frozenset({"id", "version", "description", "legal_basis", "lists"})
_LIST_KEYS: Final = frozenset(
    {
        "id",
        "kind",
        "version",
        "description",
        "legal_basis",
        "effective_from",
        "effective_to",
        "entries",
    }
)
_ENTRY_KEYS: Final = frozenset({"value", "reason", "effective_from", "effective_to"})
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_HS = re.compile(r"^\d{2,10}$")


class ListKind(StrEnum):
    """What a watch list lists, which decides how its entries are checked and matched.

    * ``seller`` - seller party ids (``seller_id``);
    * ``consignee`` - buyer / consignee party ids (``buyer_id``); ``buyer`` is accepted as a
      synonym in files;
    * ``importer`` - importer party ids (``importer_id``);
    * ``declarant`` - filer ids (``filer_id``): the postal operator, express carrier,
      marketplace or broker who lodged the declaration;
    * ``carrier`` - carrier party ids (``carrier_id``);
    * ``country`` - ISO 3166 alpha-2 codes, for any ``*_country`` / ``country_of_*`` column;
    * ``hs`` - HS code prefixes of 2 to 10 digits, matched by prefix.
    """

    SELLER = "seller"
    CONSIGNEE = "consignee"
    IMPORTER = "importer"
    DECLARANT = "declarant"
    CARRIER = "carrier"
    COUNTRY = "country"
    HS = "hs"

    def fits(self, column: str) -> bool:
        """Whether a list of this kind is meant for ``column`` of the risk view."""
        if self is ListKind.COUNTRY:
            return column.endswith("_country") or column.startswith("country_")
        return column in _KIND_COLUMNS[self]


_KIND_COLUMNS: Final[dict[ListKind, frozenset[str]]] = {
    ListKind.SELLER: frozenset({SELLER_ID}),
    ListKind.CONSIGNEE: frozenset({BUYER_ID}),
    ListKind.IMPORTER: frozenset({IMPORTER_ID}),
    ListKind.DECLARANT: frozenset({FILER_ID}),
    ListKind.CARRIER: frozenset({CARRIER_ID}),
    ListKind.COUNTRY: frozenset(),
    ListKind.HS: frozenset({HS_CODE, HS6}),
}
_KIND_ALIASES: Final = {"buyer": ListKind.CONSIGNEE}


@dataclass(frozen=True, slots=True)
class WatchListEntry:
    """One listed value, with why it is listed and, optionally, its own period.

    Attributes:
        value: The listed id, country code or HS prefix (normalised for its kind).
        reason: Why it is listed (shown to officers with the rule hit).
        effective_from: First day the entry is in force (``None``: the list's).
        effective_to: First day it no longer is (``None``: the list's).
    """

    value: str
    reason: str = ""
    effective_from: date | None = None
    effective_to: date | None = None


@dataclass(frozen=True, slots=True)
class WatchList:
    """A named, versioned list that rules refer to with ``in_list`` / ``not_in_list``.

    Attributes:
        id: The name rules use.
        kind: What is listed (:class:`ListKind`).
        effective_from: First day the list is in force.
        entries: The listed values.
        effective_to: First day it no longer is (``None``: open-ended).
        description: What the list is for.
        legal_basis: The provision that allows keeping and using the list.
        version: The list's version.
        source: ``file:line`` where the list is defined.
    """

    id: str
    kind: ListKind
    effective_from: date
    entries: tuple[WatchListEntry, ...] = ()
    effective_to: date | None = None
    description: str = ""
    legal_basis: str = ""
    version: str = "1"
    source: str = ""

    def period_of(self, entry: WatchListEntry) -> tuple[date, date | None]:
        """The half-open period ``[from, to)`` an entry is in force: its own within the list's."""
        start = max(self.effective_from, entry.effective_from or self.effective_from)
        ends = [d for d in (self.effective_to, entry.effective_to) if d is not None]
        return start, min(ends) if ends else None

    def active_values(self, day: date) -> frozenset[str]:
        """The values in force on ``day``."""
        out: set[str] = set()
        for entry in self.entries:
            start, end = self.period_of(entry)
            if start <= day and (end is None or day < end):
                out.add(entry.value)
        return frozenset(out)

    def matches(self, value: str | None, day: date) -> bool:
        """Whether ``value`` is listed on ``day`` (by prefix for ``hs`` lists).

        The one-value reference for :meth:`contains`, used in explanations and tests.
        """
        if value is None:
            return False
        active = self.active_values(day)
        if self.kind is ListKind.HS:
            return any(value.startswith(prefix) for prefix in active)
        return value in active

    def contains(self, column: pl.Expr, day: pl.Expr) -> pl.Expr:
        """Vectorised :meth:`matches`: a Boolean expression over a whole column.

        Entries are grouped by period, so a list whose entries share its period costs one
        ``is_in`` (or one per prefix length for ``hs`` lists), however long it is.

        Args:
            column: The string column to look up.
            day: A ``Date`` expression, the day each row is judged on.
        """
        periods: dict[tuple[date, date | None], list[str]] = {}
        for entry in self.entries:
            start, end = self.period_of(entry)
            if end is None or start < end:
                periods.setdefault((start, end), []).append(entry.value)
        parts: list[pl.Expr] = []
        for (start, end), values in sorted(periods.items(), key=lambda kv: str(kv[0])):
            listed = (
                prefix_in(column, values) if self.kind is ListKind.HS else is_in(column, values)
            )
            in_force = day >= pl.lit(start)
            if end is not None:
                in_force = in_force & (day < pl.lit(end))
            parts.append(listed & in_force)
        if not parts:  # shaped like the column, not a one-row literal
            return column.is_null() & pl.lit(False)
        return pl.any_horizontal(parts).fill_null(False)


# --- loading -------------------------------------------------------------------------------


def load_watchlists(*paths: Path | str, today: date | None = None) -> dict[str, WatchList]:
    """Load watch-list files, reporting every problem of every file at once.

    Args:
        *paths: Watch-list TOML files; a list id must be unique across all of them.
        today: The day "already expired" warnings are judged on (default: today).

    Returns:
        The lists by id.

    Raises:
        InvalidRuleFileError: When any file has an error; ``problems`` lists all of them
            (and the warnings), each located as ``file:LINE``.
    """
    lists, problems = read_watchlists(paths, today=today)
    _raise_if_errors(problems, "watch-list files")
    return lists


def check_watchlists(*paths: Path | str, today: date | None = None) -> list[Problem]:
    """Every problem (errors and warnings) in watch-list files; never raises for content."""
    return read_watchlists(paths, today=today)[1]


def read_watchlists(
    paths: Iterable[Path | str], *, today: date | None = None
) -> tuple[dict[str, WatchList], list[Problem]]:
    """Parse watch-list files without raising: the lists that parsed, and every problem.

    The building block of :func:`load_watchlists` and of the rule loaders, which report
    problems of rules and lists together.
    """
    on = today or date.today()
    lists: dict[str, WatchList] = {}
    seen: dict[str, str] = {}
    problems: list[Problem] = []
    for raw_path in paths:
        path = Path(raw_path)
        reader, data = RuleFileReader.read_toml(path)
        if data is not None:
            for item in _parse_file(reader, data, seen, on):
                lists.setdefault(item.id, item)
        problems.extend(sorted(reader.problems, key=line_of))
    return lists, problems


def _raise_if_errors(problems: list[Problem], what: str) -> None:
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        first = errors[0]
        raise InvalidRuleFileError(
            f"{what} have {len(errors)} problem{'s' if len(errors) > 1 else ''};"
            f" first: {first.path}: {first.message}",
            tuple(problems),
        )


def _parse_file(
    reader: RuleFileReader, data: dict[str, Any], seen: dict[str, str], today: date
) -> list[WatchList]:
    reader.check_keys(data, _TOP_KEYS)
    reader.text(data, "id", required=True)
    version_text(reader, data, required=True)
    reader.text(data, "description")
    default_basis = reader.text(data, "legal_basis") or ""
    raw_lists = data.get("lists", [])
    if not isinstance(raw_lists, list) or not all(isinstance(x, dict) for x in raw_lists):
        reader.add(CODE_INVALID, reader.where(key="lists"), "lists must be [[lists]] tables")
        return []
    out: list[WatchList] = []
    for index, raw in enumerate(raw_lists):
        parsed = _parse_list(reader, raw, index, default_basis, seen, today)
        if parsed is not None:
            out.append(parsed)
    return out


def _parse_list(
    reader: RuleFileReader,
    raw: dict[str, Any],
    index: int,
    default_basis: str,
    seen: dict[str, str],
    today: date,
) -> WatchList | None:
    table = "lists"
    header = reader.where(table, index)
    reader.check_keys(raw, _LIST_KEYS, table, index)
    list_id = reader.text(raw, "id", table=table, index=index, required=True)
    if list_id is not None:
        if list_id in seen:
            reader.add(
                CODE_DUPLICATE_ID,
                reader.where(table, index, "id"),
                f"watch list {list_id!r} is already defined at {seen[list_id]}",
            )
            list_id = None
        else:
            seen[list_id] = reader.at(header)
    kind = _kind(reader, raw, index)
    version = version_text(reader, raw, table=table, index=index, required=False) or "1"
    start = reader.day(raw, "effective_from", table=table, index=index, required=True)
    end = reader.day(raw, "effective_to", table=table, index=index)
    reader.check_period(start, end, table, index, code=CODE_BAD_PERIOD, allow_empty=False)
    basis = reader.text(raw, "legal_basis", table=table, index=index) or default_basis
    if not basis:
        reader.warn(CODE_NO_LEGAL_BASIS, header, f"watch list {list_id!r} states no legal_basis")
    if end is not None and end <= today:
        reader.warn(
            CODE_EXPIRED,
            reader.where(table, index, "effective_to"),
            f"watch list {list_id!r} ended on {end}",
        )
    entries = _entries(reader, raw, index, kind)
    if raw.get("entries") == []:  # not when every entry was refused: that is reported
        reader.warn(CODE_EMPTY_LIST, header, f"watch list {list_id!r} has no entries")
    if list_id is None or kind is None or start is None or entries is None:
        return None
    return WatchList(
        id=list_id,
        kind=kind,
        effective_from=start,
        effective_to=end,
        entries=tuple(entries),
        description=reader.text(raw, "description", table=table, index=index) or "",
        legal_basis=basis,
        version=version,
        source=reader.at(header),
    )


def _kind(reader: RuleFileReader, raw: dict[str, Any], index: int) -> ListKind | None:
    text = reader.text(raw, "kind", table="lists", index=index, required=True)
    if text is None:
        return None
    key = text.lower()
    if key in _KIND_ALIASES:
        return _KIND_ALIASES[key]
    try:
        return ListKind(key)
    except ValueError:
        reader.add(
            CODE_UNKNOWN_LIST_KIND,
            reader.where("lists", index, "kind"),
            f"unknown watch-list kind {text!r}; expected one of {', '.join(ListKind)}",
        )
        return None


def _entries(
    reader: RuleFileReader, raw: dict[str, Any], index: int, kind: ListKind | None
) -> list[WatchListEntry] | None:
    key_line = reader.where("lists", index, "entries")
    if "entries" not in raw:
        reader.add(CODE_MISSING, reader.where("lists", index), "entries is required in [lists]")
        return None
    items = raw["entries"]
    if not isinstance(items, list):
        reader.add(CODE_INVALID, key_line, "entries must be a list of values or tables")
        return None
    out: list[WatchListEntry] = []
    seen: set[str] = set()
    cursor = key_line
    for position, item in enumerate(items):
        value = item.get("value") if isinstance(item, dict) else item
        line = reader.locate([("lists", index), ("entries", position)])
        if isinstance(value, str) and reader.locator is not None:
            found = reader.locator.find(f'"{value}"', cursor) or reader.locator.find(
                f"'{value}'", cursor
            )
            if found is not None:
                line = cursor = found
        entry = _entry(reader, item, value, line, kind)
        if entry is None:
            continue
        if entry.value in seen:
            reader.warn(CODE_DUPLICATE_ENTRY, line, f"{entry.value!r} is listed twice")
        seen.add(entry.value)
        out.append(entry)
    return out


def _entry(
    reader: RuleFileReader, item: Any, value: Any, line: int, kind: ListKind | None
) -> WatchListEntry | None:
    reason = ""
    start = end = None
    if isinstance(item, dict):
        reader.check_keys(item, _ENTRY_KEYS, "lists.entries", line=line)
        if "value" not in item:
            reader.add(CODE_MISSING, line, "value is required in a watch-list entry")
            return None
        reason_raw = item.get("reason", "")
        if not isinstance(reason_raw, str):
            reader.add(CODE_INVALID, line, "reason must be a string")
        else:
            reason = reason_raw.strip()
        start = (
            reader.to_date(item["effective_from"], "effective_from", line)
            if ("effective_from" in item)
            else None
        )
        end = (
            reader.to_date(item["effective_to"], "effective_to", line)
            if ("effective_to" in item)
            else None
        )
        if start is not None and end is not None and end <= start:
            reader.add(CODE_BAD_PERIOD, line, f"entry effective_to {end} is not after {start}")
            return None
    if not isinstance(value, str) or not value.strip():
        reader.add(
            CODE_BAD_ENTRY, line, f"a watch-list entry must be a non-empty string, got {value!r}"
        )
        return None
    normalised = _normalise(value, kind)
    if normalised is None:
        assert kind is not None  # _normalise rejects only for the checked kinds
        expected = "an ISO 3166 alpha-2 code" if kind is ListKind.COUNTRY else "2 to 10 digits"
        reader.add(CODE_BAD_ENTRY, line, f"{value!r} is not {expected} ({kind} list)")
        return None
    return WatchListEntry(normalised, reason, start, end)


def _normalise(value: str, kind: ListKind | None) -> str | None:
    """The entry as matched, or ``None`` when it cannot be one of its kind."""
    text = value.strip()
    if kind is ListKind.COUNTRY:
        text = text.upper()
        return text if _COUNTRY.match(text) else None
    if kind is ListKind.HS:
        text = text.replace(".", "").replace(" ", "")
        return text if _HS.match(text) else None
    return text
