"""Reading reference-data files (TOML, CSV) and reporting every problem with file and line.

Tariff schedules, regimes, exchange rates, targeting rules and watch lists are versioned data
files (STYLE section 5). Whoever edits one wants *every* mistake at once, each located as
``file.toml:LINE``, so this module gives every domain the same three pieces:

* :func:`read_text` - read a UTF-8 file, forgiving a byte-order mark left by a spreadsheet;
* :class:`TomlLocator` - :mod:`tomllib` parses TOML but forgets where each value came from,
  so the locator scans the text for table headers (``[vat]``, ``[[rules]]``,
  ``[rules.when]``) and ``key =`` lines. Values inside inline tables or arrays are located at
  the line of the key that holds them (or of the array element, when it starts a line);
* :class:`FileReader` - collects :class:`~smartcustoms.errors.Problem` objects while a loader
  walks the parsed data, offers typed getters that record a problem instead of raising, and
  raises the domain's error class with every problem at the end. A domain subclasses it to
  set its own problem codes and error class (``tariff.syntax`` / ``rules.syntax``).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar, Self

from smartcustoms.errors import InvalidInputError, Problem

__all__ = [
    "FileReader",
    "TomlLocator",
    "line_of",
    "package_data_path",
    "parse_decimal",
    "read_text",
]

_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\]?\s*(#.*)?$")
_TOML_LINE = re.compile(r"at line (\d+)")


def package_data_path(package: str, *parts: str) -> Path:
    """Filesystem path of a file shipped in ``<package>/data``.

    Args:
        package: Dotted package name, e.g. ``smartcustoms.tariff``.
        *parts: Path parts below the package's ``data`` folder.
    """
    ref = resources.files(package).joinpath("data", *parts)
    return Path(str(ref))


def read_text(path: Path) -> str:
    """Read a UTF-8 data file, dropping a leading byte-order mark."""
    return path.read_text(encoding="utf-8").lstrip("\ufeff")


def line_of(problem: Problem) -> int:
    """The line number at the end of a ``file:LINE`` problem path (0 when there is none)."""
    tail = problem.path.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else 0


@dataclass(frozen=True, slots=True)
class _Block:
    name: str
    is_array: bool
    start: int  # 1-based line of the header (0 for the root table)
    end: int  # last line of the block


def _key_pattern(key: str) -> re.Pattern[str]:
    return re.compile(rf"^\s*(\"{re.escape(key)}\"|'{re.escape(key)}'|{re.escape(key)})\s*=")


class TomlLocator:
    """Find the line of a table header, key or array element in TOML text.

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

    def _key_in(self, block: _Block, key: str) -> int | None:
        pattern = _key_pattern(key)
        for number in range(max(block.start, 1), block.end + 1):
            if pattern.match(self._lines[number - 1]):
                return number
        return None

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
            found = self._key_in(block, key)
            if found is not None:
                return found
        return max(block.start, 1)

    def locate(self, steps: Sequence[tuple[str, int | None]], key: str | None = None) -> int:
        """The line of ``key`` inside nested tables (a rule's ``[rules.when]``, say).

        Unlike :meth:`line`, array indexes count *within* the enclosing element: the second
        ``[[rules.any]]`` of the fourth rule is ``[("rules", 3), ("any", 1)]``. A step written
        inline (``when = { ... }`` or ``any = [ {...}, {...} ]``) is located at its key, or at
        the element's line when each element of a multi-line array starts its own line.

        Args:
            steps: ``(name, index)`` pairs from the root; ``index`` is ``None`` for a table.
            key: A key inside the innermost table, or ``None`` for the table itself.
        """
        lo, hi = 1, len(self._lines)
        own = self._blocks[0]
        name = ""
        for step, index in steps:
            name = f"{name}.{step}" if name else step
            found = [b for b in self._blocks if b.name == name and lo <= b.start <= hi]
            position = index or 0
            if position >= len(found):
                inline = self._key_in(own, step)
                if inline is None:
                    return max(own.start, 1)
                if index is not None:
                    return self._element_line(inline, index)
                return inline
            block = found[position]
            end = hi
            for later in self._blocks:
                if later.start > block.start and not later.name.startswith(f"{name}."):
                    end = min(end, later.start - 1)
                    break
            lo, hi, own = block.start, end, block
        if key is not None:
            located = self._key_in(own, key)
            if located is not None:
                return located
        return max(own.start, 1)

    def _element_line(self, key_line: int, index: int) -> int:
        """Line of the ``index``-th element of a multi-line array opened at ``key_line``."""
        opened = self._lines[key_line - 1].split("=", 1)[-1].split("#", 1)[0].strip()
        if opened != "[":
            return key_line  # the array (or its first element) is on the key's own line
        starts: list[int] = []
        for number in range(key_line + 1, len(self._lines) + 1):
            text = self._lines[number - 1].strip()
            if text.startswith("]"):
                break
            if text and not text.startswith("#"):
                starts.append(number)
        return starts[index] if index < len(starts) else key_line

    def find(self, needle: str, start: int = 1, end: int | None = None) -> int | None:
        """The first line in ``[start, end]`` whose text contains ``needle`` (1-based)."""
        last = len(self._lines) if end is None else min(end, len(self._lines))
        for number in range(max(start, 1), last + 1):
            if needle in self._lines[number - 1]:
                return number
        return None


def parse_decimal(raw: Any) -> Decimal | None:
    """A TOML/CSV value as an exact decimal (``0.1`` -> ``Decimal("0.1")``), or ``None``.

    Booleans are not numbers here; floats go through their shortest ``repr`` so a TOML
    ``0.1`` is exactly one tenth.
    """
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, float):
        return Decimal(repr(raw))
    if isinstance(raw, str):
        try:
            return Decimal(raw.strip())
        except InvalidOperation:
            return None
    return None


@dataclass
class FileReader:
    """Collects problems while reading one data file and converts raw values.

    Subclasses set the class attributes to their domain's problem codes and error class, so
    the same reading code reports ``tariff.missing_key`` in a schedule and
    ``rules.missing_key`` in a ruleset.

    Args:
        label: How the file is named in problem paths (``eu-demo.toml``).
        locator: Line finder for TOML files; ``None`` for CSV files.
    """

    label: str
    locator: TomlLocator | None = None
    problems: list[Problem] = field(default_factory=list)

    error: ClassVar[type[InvalidInputError]] = InvalidInputError
    code_syntax: ClassVar[str] = "file.syntax"
    code_missing: ClassVar[str] = "file.missing_key"
    code_unknown_key: ClassVar[str] = "file.unknown_key"
    code_invalid: ClassVar[str] = "file.invalid_value"
    code_unreadable: ClassVar[str] = "file.unreadable"

    @classmethod
    def read_toml(cls, path: Path, label: str | None = None) -> tuple[Self, dict[str, Any] | None]:
        """Read and parse a TOML file without raising: problems are recorded on the reader.

        Returns the reader and the parsed document, or ``None`` for the document when the
        file cannot be read or is not valid TOML (nothing else can be checked then).
        """
        name = label if label is not None else str(path)
        try:
            text = read_text(path)
        except (OSError, UnicodeDecodeError) as exc:
            reader = cls(name)
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            reader.problems.append(
                Problem(cls.code_unreadable, name, f"cannot read {name}: {reason}")
            )
            return reader, None
        reader = cls(name, TomlLocator(text))
        try:
            return reader, tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            found = _TOML_LINE.search(str(exc))
            line = int(found.group(1)) if found else 1
            reader.add(cls.code_syntax, line, f"not valid TOML: {exc}")
            return reader, None

    @classmethod
    def parse_toml(cls, path: Path, label: str | None = None) -> tuple[Self, dict[str, Any]]:
        """Read and parse a TOML file; a syntax error becomes a problem, not an exception.

        Raises:
            InvalidInputError: (the subclass's :attr:`error`) when the file cannot be read or
                does not parse.
        """
        name = label if label is not None else str(path)
        try:
            text = read_text(path)
        except OSError as exc:
            raise cls.error(
                f"cannot read {name}: {exc.strerror or exc}",
                (Problem(code=cls.code_invalid, path=name, message=str(exc)),),
            ) from exc
        reader = cls(name, TomlLocator(text))
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            found = _TOML_LINE.search(str(exc))
            line = int(found.group(1)) if found else 1
            reader.add(cls.code_syntax, line, f"not valid TOML: {exc}")
            # Nothing else can be checked in a file that does not parse.
            reader.raise_if_any("file")
            raise  # pragma: no cover - raise_if_any raised
        return reader, data

    def at(self, line: int) -> str:
        """Problem path for a line of this file."""
        return f"{self.label}:{line}"

    def add(self, code: str, line: int, message: str) -> None:
        """Record an error at ``line``."""
        self.problems.append(Problem(code=code, path=self.at(line), message=message))

    def warn(self, code: str, line: int, message: str) -> None:
        """Record a warning at ``line``: reported, but the file still loads."""
        self.problems.append(
            Problem(code=code, path=self.at(line), message=message, severity="warning")
        )

    @property
    def errors(self) -> list[Problem]:
        """The problems that stop the file from loading (warnings excluded)."""
        return [p for p in self.problems if p.severity == "error"]

    def where(self, table: str = "", index: int | None = None, key: str | None = None) -> int:
        """Line of a key (TOML) — for CSV readers the caller passes rows as ``index``."""
        if self.locator is None:
            return (index or 0) + 2  # header is line 1, first data row line 2
        return self.locator.line(table, index, key)

    def raise_if_any(self, what: str) -> None:
        """Raise :attr:`error` listing every problem found so far, if any is an error.

        Warnings alone do not raise; when an error is raised it carries the warnings too.
        """
        if self.errors:
            self.problems.sort(key=line_of)
            errors = self.errors
            count = len(errors)
            first = errors[0]
            raise self.error(
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
        *,
        line: int | None = None,
    ) -> None:
        """Report every key of ``data`` that is not in ``allowed`` (catches typos).

        ``line`` overrides the located line (for tables the locator cannot name).
        """
        known = set(allowed)
        for key in data:
            if key not in known:
                where = f"[{table}]" if table else "top level"
                self.add(
                    self.code_unknown_key,
                    line if line is not None else self.where(table, index, key),
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
                self.code_invalid,
                self.where(table, index, key),
                f"{key} must be a non-empty string",
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
        value = parse_decimal(raw)
        if value is None or not value.is_finite():
            self.add(self.code_invalid, line, f"{name} must be a number, got {raw!r}")
            return None
        if value < 0:
            self.add(self.code_invalid, line, f"{name} must not be negative, got {value}")
            return None
        if maximum is not None and value > maximum:
            self.add(self.code_invalid, line, f"{name} must be at most {maximum}, got {value}")
            return None
        exponent = value.normalize().as_tuple().exponent
        if isinstance(exponent, int) and -exponent > places:
            self.add(
                self.code_invalid, line, f"{name} has more than {places} decimal places: {value}"
            )
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
            self.add(self.code_invalid, line, f"{name} must be a date without a time, got {raw}")
            return None
        if isinstance(raw, date):
            return raw
        if isinstance(raw, str):
            try:
                return date.fromisoformat(raw.strip())
            except ValueError:
                pass
        self.add(self.code_invalid, line, f"{name} must be a date (YYYY-MM-DD), got {raw!r}")
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
            self.add(
                self.code_invalid, self.where(table, index, key), f"{key} must be true or false"
            )
            return default
        return value

    def check_period(
        self,
        start: date | None,
        end: date | None,
        table: str = "",
        index: int | None = None,
        *,
        code: str | None = None,
        allow_empty: bool = True,
    ) -> None:
        """Report an ``effective_to`` earlier than ``effective_from``.

        Args:
            start: ``effective_from``.
            end: ``effective_to``.
            table: Table holding the dates, for the line.
            index: Index of the table in its array.
            code: Problem code (default: the reader's invalid-value code).
            allow_empty: Whether ``effective_to == effective_from`` (an empty half-open
                period ``[from, to)``) is accepted.
        """
        if start is None or end is None:
            return
        if end < start or (end == start and not allow_empty):
            self.add(
                code or self.code_invalid,
                self.where(table, index, "effective_to"),
                f"effective_to {end} is {'before' if end < start else 'the same day as'}"
                f" effective_from {start}",
            )

    def _missing(self, key: str, table: str, index: int | None) -> None:
        where = f"[{table}]" if table else "the top level"
        self.add(self.code_missing, self.where(table, index, None), f"{key} is required in {where}")
