"""Reading tariff data files (TOML, CSV) and reporting every problem with file and line.

:mod:`tomllib` parses TOML but forgets where each value came from, so :class:`TomlLocator`
scans the text for table headers (``[vat]``, ``[[lines]]``) and ``key =`` lines to give each
problem a ``file.toml:LINE`` path. Values inside inline tables or arrays are located at the
line of the key that holds them.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any, Final

from smartcustoms.errors import InvalidTariffFileError, Problem

__all__ = [
    "CODE_INVALID",
    "CODE_MISSING",
    "CODE_OVERLAP",
    "CODE_SYNTAX",
    "CODE_UNKNOWN_KEY",
    "FileReader",
    "TomlLocator",
    "currency_ok",
    "data_path",
    "read_text",
]

CODE_SYNTAX: Final = "tariff.syntax"
CODE_MISSING: Final = "tariff.missing_key"
CODE_UNKNOWN_KEY: Final = "tariff.unknown_key"
CODE_INVALID: Final = "tariff.invalid_value"
CODE_OVERLAP: Final = "tariff.overlap"

_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\]?\s*(#.*)?$")
_TOML_LINE = re.compile(r"at line (\d+)")


def data_path(*parts: str) -> Path:
    """Filesystem path of a file shipped in ``smartcustoms/tariff/data``."""
    ref = resources.files("smartcustoms.tariff").joinpath("data", *parts)
    return Path(str(ref))


def read_text(path: Path) -> str:
    """Read a UTF-8 data file, dropping a leading byte-order mark."""
    return path.read_text(encoding="utf-8").lstrip("\ufeff")


@dataclass(frozen=True, slots=True)
class _Block:
    name: str
    is_array: bool
    start: int  # 1-based line of the header (0 for the root table)
    end: int  # last line of the block


class TomlLocator:
    """Find the line of a table header or key in TOML text.

    Args:
        text: The TOML document.
    """

    def __init__(self, text: str) -> None:
        self._lines = text.splitlines()
        headers: list[tuple[int, str, bool]] = []
        in_multiline = False
        for number, line in enumerate(self._lines, start=1):
            quotes = line.count('"""') + line.count("'''")
            if in_multiline:
                in_multiline = quotes % 2 == 0
                continue
            if quotes % 2 == 1:
                in_multiline = True
                continue
            match = _HEADER.match(line)
            if match:
                name = match.group(2).replace('"', "").replace("'", "").replace(" ", "")
                headers.append((number, name, match.group(1) == "[["))
        blocks = [_Block("", False, 0, headers[0][0] - 1 if headers else len(self._lines))]
        for i, (number, name, is_array) in enumerate(headers):
            end = headers[i + 1][0] - 1 if i + 1 < len(headers) else len(self._lines)
            blocks.append(_Block(name, is_array, number, end))
        self._blocks = blocks

    def _block(self, table: str, index: int | None) -> _Block | None:
        matches = [b for b in self._blocks if b.name == table]
        if not matches:
            return None
        if index is None:
            return matches[0]
        return matches[index] if index < len(matches) else None

    def line(self, table: str = "", index: int | None = None, key: str | None = None) -> int:
        """The 1-based line of ``key`` in ``table`` (its ``index``-th block for arrays).

        Falls back to the table header, then to line 1, when the exact spot is not found
        (for example a value inside an inline table).
        """
        block = self._block(table, index)
        if block is None:
            if "." in table:  # a sub-table written inline: locate its parent key
                parent, _, child = table.rpartition(".")
                return self.line(parent, None, child)
            return 1
        if key is not None:
            pattern = re.compile(rf"^\s*(\"{re.escape(key)}\"|{re.escape(key)})\s*=")
            for number in range(max(block.start, 1), block.end + 1):
                if pattern.match(self._lines[number - 1]):
                    return number
        return max(block.start, 1)


@dataclass
class FileReader:
    """Collects problems while reading one data file and converts raw values.

    Args:
        label: How the file is named in problem paths (``eu-demo.toml``).
        locator: Line finder for TOML files; ``None`` for CSV files.
    """

    label: str
    locator: TomlLocator | None = None
    problems: list[Problem] = field(default_factory=list)

    @classmethod
    def parse_toml(cls, path: Path, label: str | None = None) -> tuple[FileReader, dict[str, Any]]:
        """Read and parse a TOML file; a syntax error becomes a problem, not an exception."""
        name = label if label is not None else str(path)
        try:
            text = read_text(path)
        except OSError as exc:
            raise InvalidTariffFileError(
                f"cannot read {name}: {exc.strerror or exc}",
                (Problem(code=CODE_INVALID, path=name, message=str(exc)),),
            ) from exc
        reader = cls(name, TomlLocator(text))
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            found = _TOML_LINE.search(str(exc))
            line = int(found.group(1)) if found else 1
            reader.add(CODE_SYNTAX, line, f"not valid TOML: {exc}")
            # Nothing else can be checked in a file that does not parse.
            reader.raise_if_any("file")
            raise  # pragma: no cover - raise_if_any raised
        return reader, data

    def at(self, line: int) -> str:
        """Problem path for a line of this file."""
        return f"{self.label}:{line}"

    def add(self, code: str, line: int, message: str) -> None:
        """Record a problem at ``line``."""
        self.problems.append(Problem(code=code, path=self.at(line), message=message))

    def where(self, table: str = "", index: int | None = None, key: str | None = None) -> int:
        """Line of a key (TOML) — for CSV readers the caller passes rows as ``index``."""
        if self.locator is None:
            return (index or 0) + 2  # header is line 1, first data row line 2
        return self.locator.line(table, index, key)

    def raise_if_any(self, what: str) -> None:
        """Raise :class:`InvalidTariffFileError` listing every problem found so far."""
        if self.problems:
            self.problems.sort(key=_line_of)
            count = len(self.problems)
            first = self.problems[0]
            raise InvalidTariffFileError(
                f"{what} {self.label} has {count} problem{'s' if count > 1 else ''};"
                f" first: {first.path}: {first.message}",
                tuple(self.problems),
            )

    # -- typed getters -------------------------------------------------------------------

    def check_keys(
        self,
        data: Mapping[str, Any],
        allowed: Iterable[str],
        table: str = "",
        index: int | None = None,
    ) -> None:
        """Report every key of ``data`` that is not in ``allowed`` (catches typos)."""
        known = set(allowed)
        for key in data:
            if key not in known:
                where = f"[{table}]" if table else "top level"
                self.add(
                    CODE_UNKNOWN_KEY,
                    self.where(table, index, key),
                    f"unknown key {key!r} at {where}; expected one of {', '.join(sorted(known))}",
                )

    def text(
        self,
        data: Mapping[str, Any],
        key: str,
        *,
        table: str = "",
        index: int | None = None,
        required: bool = False,
        default: str | None = None,
    ) -> str | None:
        """A string value (``None`` when absent and not required)."""
        if key not in data:
            if required:
                self._missing(key, table, index)
            return default
        value = data[key]
        if not isinstance(value, str) or not value.strip():
            self.add(
                CODE_INVALID, self.where(table, index, key), f"{key} must be a non-empty string"
            )
            return default
        return value.strip()

    def number(
        self,
        data: Mapping[str, Any],
        key: str,
        *,
        table: str = "",
        index: int | None = None,
        required: bool = False,
        places: int = 4,
        maximum: Decimal | None = None,
    ) -> Decimal | None:
        """A non-negative exact decimal with at most ``places`` decimals.

        TOML floats are read through their shortest decimal representation (``0.1`` is
        exactly ``Decimal("0.1")``); strings such as ``"12.5"`` are accepted too.
        """
        if key not in data:
            if required:
                self._missing(key, table, index)
            return None
        return self.to_decimal(
            data[key], key, self.where(table, index, key), places=places, maximum=maximum
        )

    def to_decimal(
        self,
        raw: Any,
        name: str,
        line: int,
        *,
        places: int = 4,
        maximum: Decimal | None = None,
    ) -> Decimal | None:
        """Convert one raw value to a non-negative decimal, recording a problem if it is not."""
        value: Decimal | None
        if isinstance(raw, bool):
            value = None
        elif isinstance(raw, int):
            value = Decimal(raw)
        elif isinstance(raw, float):
            value = Decimal(repr(raw))
        elif isinstance(raw, str):
            try:
                value = Decimal(raw.strip())
            except InvalidOperation:
                value = None
        else:
            value = None
        if value is None or not value.is_finite():
            self.add(CODE_INVALID, line, f"{name} must be a number, got {raw!r}")
            return None
        if value < 0:
            self.add(CODE_INVALID, line, f"{name} must not be negative, got {value}")
            return None
        if maximum is not None and value > maximum:
            self.add(CODE_INVALID, line, f"{name} must be at most {maximum}, got {value}")
            return None
        exponent = value.normalize().as_tuple().exponent
        if isinstance(exponent, int) and -exponent > places:
            self.add(CODE_INVALID, line, f"{name} has more than {places} decimal places: {value}")
            return None
        return value

    def day(
        self,
        data: Mapping[str, Any],
        key: str,
        *,
        table: str = "",
        index: int | None = None,
        required: bool = False,
    ) -> date | None:
        """A date: a TOML local date (``2026-07-01``) or an ISO string."""
        if key not in data:
            if required:
                self._missing(key, table, index)
            return None
        return self.to_date(data[key], key, self.where(table, index, key))

    def to_date(self, raw: Any, name: str, line: int) -> date | None:
        """Convert one raw value to a date, recording a problem if it is not one."""
        if isinstance(raw, datetime):
            self.add(CODE_INVALID, line, f"{name} must be a date without a time, got {raw}")
            return None
        if isinstance(raw, date):
            return raw
        if isinstance(raw, str):
            try:
                return date.fromisoformat(raw.strip())
            except ValueError:
                pass
        self.add(CODE_INVALID, line, f"{name} must be a date (YYYY-MM-DD), got {raw!r}")
        return None

    def flag(
        self,
        data: Mapping[str, Any],
        key: str,
        *,
        default: bool,
        table: str = "",
        index: int | None = None,
    ) -> bool:
        """A boolean value."""
        if key not in data:
            return default
        value = data[key]
        if not isinstance(value, bool):
            self.add(CODE_INVALID, self.where(table, index, key), f"{key} must be true or false")
            return default
        return value

    def check_period(
        self,
        start: date | None,
        end: date | None,
        table: str = "",
        index: int | None = None,
    ) -> None:
        """Report an ``effective_to`` earlier than ``effective_from``."""
        if start is not None and end is not None and end < start:
            self.add(
                CODE_INVALID,
                self.where(table, index, "effective_to"),
                f"effective_to {end} is before effective_from {start}",
            )

    def _missing(self, key: str, table: str, index: int | None) -> None:
        where = f"[{table}]" if table else "the top level"
        self.add(CODE_MISSING, self.where(table, index, None), f"{key} is required in {where}")


def _line_of(problem: Problem) -> int:
    tail = problem.path.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def currency_ok(code: str | None) -> bool:
    """Whether ``code`` looks like an ISO 4217 alphabetic code."""
    return code is not None and len(code) == 3 and code.isalpha() and code.isupper()
