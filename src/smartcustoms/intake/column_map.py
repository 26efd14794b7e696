"""Column maps: how the columns of a flat CSV file become canonical fields.

A column map is a small TOML file, one per source layout (our own flat export, the Korean
customs dataset, an ASYCUDA extract). It names the source column behind each canonical column,
the text transforms that make the source's values canonical (left-padding HS codes whose
leading zeros were lost, ``14-Aug-14`` dates, item numbers written ``1 of 3``), constants for
what the source does not carry (the currency), the columns that group rows into one filing
(``record_key``), and - as important - the columns that must *never* be read: ground-truth
labels such as ``Fraud`` or ``illicit``, which would leak the answer into risk models if they
ever became filing fields.

The format, field by field, is in ``docs/file-formats.md``; shipped maps live in
``smartcustoms/intake/maps/`` and load by name (:func:`load_column_map`). The loader reports
every problem of a map at once, each with its file and line.
"""

from __future__ import annotations

import codecs
import re
import tomllib
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final

import polars as pl

from smartcustoms.errors import InvalidColumnMapError, Problem
from smartcustoms.intake._nested import convert_column
from smartcustoms.intake.batch import FieldLabel
from smartcustoms.model.columns import (
    CONSIGNMENT_ID,
    CONSIGNMENT_SCHEMA,
    ITEM_SCHEMA,
    MONEY,
    TIMESTAMP,
)

__all__ = [
    "CANONICAL_COLUMNS",
    "ColumnMap",
    "ColumnSpec",
    "constant_expr",
    "load_column_map",
    "parse_column_map",
    "shipped_column_maps",
    "source_text",
    "to_canonical",
]

MAPS_DIR: Final = Path(__file__).parent / "maps"
"""Directory of the column maps shipped with smartcustoms."""

CANONICAL_COLUMNS: Final[dict[str, pl.DataType]] = {**CONSIGNMENT_SCHEMA, **ITEM_SCHEMA}
"""Every canonical column a map may fill, with its dtype (``consignment_id`` serves both frames)."""

ITEM_COLUMNS: Final = frozenset(ITEM_SCHEMA) - {CONSIGNMENT_ID}
"""Canonical columns of the goods-items frame (one value per CSV row)."""

_TOP_KEYS: Final = frozenset(
    {
        "id",
        "version",
        "description",
        "source",
        "encoding",
        "delimiter",
        "record_key",
        "null_values",
        "ignore",
        "label_columns",
        "unchecked_code_columns",
        "columns",
        "constants",
    }
)
_SPEC_KEYS: Final = frozenset(
    {
        "source",
        "pad_left",
        "format",
        "timezone",
        "regex",
        "values",
        "excel_serial",
        "decimal",
        "thousands",
        "scale",
        "aggregate",
    }
)
_EXCEL_PARTS: Final = ("date", "year", "month", "day")
_AGGREGATES: Final = ("first", "sum")
# chrono (Polars) directives accepted in a date ``format``; anything else is a typo.
_DATE_DIRECTIVES: Final = frozenset("YCymbBhdejaAwuUWGgVHkIlPpMSfzZsTDFRrx%.:#0123456789")
_NUMERIC: Final = (pl.Float64(), MONEY, pl.Int64())
_EXCEL_EPOCH: Final = (1899, 12, 30)


@dataclass(frozen=True)
class ColumnSpec:
    r"""Where one canonical column comes from, and how its text is made canonical.

    Transforms apply in this order to the stripped source text: ``null_values`` of the map,
    ``regex``, ``values``, ``excel_serial``, ``thousands``/``decimal``, ``pad_left``; then the
    text is converted to the canonical dtype (with ``format``/``timezone`` for dates) and,
    last, multiplied by ``scale``. A transform that does not apply to a value (a regex that
    does not match, a value missing from ``values``) leaves it unchanged, so the conversion or
    the validator reports the value as the filer wrote it.

    Attributes:
        column: Canonical column name.
        source: Source column (CSV header name).
        pad_left: Left-pad the text to this width (HS codes that lost their leading zeros).
        pad_char: Padding character for ``pad_left``.
        format: Date/time format (chrono/strptime directives, e.g. ``%d-%b-%y``).
        timezone: IANA zone of naive date-times in the source (default UTC).
        regex: Pattern whose first capture group is the value (``^\s*(\d+)`` takes the
            item number out of ``1 of 3``).
        values: Source value -> canonical value (national codes to standard codes).
        excel_serial: The value is a spreadsheet date serial (days since 1899-12-30);
            keep its ``date``, ``year``, ``month`` or ``day``.
        decimal: Decimal separator of the source, when not ``.``.
        thousands: Thousands separator of the source, removed before conversion.
        scale: Multiply the converted number by this (grams to kilograms: ``0.001``).
        aggregate: For consignment-level columns of multi-row records: ``first`` takes the
            consignment's first row, ``sum`` adds the values of all its rows.
    """

    column: str
    source: str
    pad_left: int | None = None
    pad_char: str = "0"
    format: str | None = None
    timezone: str | None = None
    regex: str | None = None
    values: Mapping[str, str] = field(default_factory=dict)
    excel_serial: str | None = None
    decimal: str | None = None
    thousands: str | None = None
    scale: Decimal | None = None
    aggregate: str = "first"

    @property
    def target(self) -> pl.DataType:
        """Canonical dtype of the column."""
        return CANONICAL_COLUMNS[self.column]

    @property
    def is_item(self) -> bool:
        """The column belongs to the goods-items frame (one value per row)."""
        return self.column in ITEM_COLUMNS

    def failure(self) -> tuple[str, str]:
        """Problem code and wording for a value that does not convert."""
        if self.target == TIMESTAMP:
            if self.format:
                return "date.unparseable", f"is not a date in the format {self.format}"
            return "date.unparseable", "is not an ISO 8601 date or date-time"
        if self.target == pl.Int64:
            return "value.not_integer", "is not a whole number"
        return "value.not_number", "is not a number"


@dataclass(frozen=True)
class ColumnMap:
    """A validated column map. Build it with :func:`load_column_map` or :func:`parse_column_map`.

    Attributes:
        id: Map name (``jeong2022``), recorded with each batch for resubmission.
        record_key: Source column(s) whose values group rows into one record (a filing).
        columns: Canonical column -> where it comes from.
        constants: Canonical column -> value filled in for every row (``currency = "KRW"``).
        version: Version of the map.
        description: What files the map reads.
        source: Provenance and licence of the source format.
        encoding: Text encoding of the files (a UTF-8 byte-order mark overrides it).
        delimiter: Field separator, one character.
        null_values: Source values that mean "missing" (``NA``), besides the empty string.
        ignore: Source columns deliberately not loaded.
        label_columns: Source columns holding ground truth (fraud labels, inspection
            results); the loader refuses to map them to any canonical column.
        unchecked_code_columns: Canonical columns whose code-list check is skipped because
            the source anonymises them; pass to ``ValidationContext.unchecked_code_columns``.
        origin: The file the map was read from (``<string>`` when parsed from text).
    """

    id: str
    record_key: tuple[str, ...]
    columns: Mapping[str, ColumnSpec]
    constants: Mapping[str, str | int | float | bool] = field(default_factory=dict)
    version: str = "1"
    description: str = ""
    source: str = ""
    encoding: str = "utf-8"
    delimiter: str = ","
    null_values: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    label_columns: tuple[str, ...] = ()
    unchecked_code_columns: frozenset[str] = frozenset()
    origin: str = "<string>"

    def source_columns(self) -> tuple[str, ...]:
        """Every source column the map reads (record key first), without repeats."""
        names = [*self.record_key, *(spec.source for spec in self.columns.values())]
        return tuple(dict.fromkeys(names))

    def missing_columns(self, header: Sequence[str]) -> list[str]:
        """Source columns the map reads that ``header`` does not have, in map order."""
        present = {h.strip() for h in header}
        return [name for name in self.source_columns() if name not in present]

    def labels(self) -> dict[str, FieldLabel]:
        """Canonical column (items as ``item.<col>``) -> how the filer's file names it."""
        out: dict[str, FieldLabel] = {}
        key_label = ", ".join(f'column "{k}"' for k in self.record_key)
        for col in CANONICAL_COLUMNS:
            name = f"item.{col}" if col in ITEM_COLUMNS else col
            if col in self.columns:
                out[name] = FieldLabel(f'column "{self.columns[col].source}"')
            elif col in self.constants:
                out[name] = FieldLabel(f"{col} (constant of column map {self.id})")
            elif col in ("filing_id", CONSIGNMENT_ID):
                out[name] = FieldLabel(key_label)
        if CONSIGNMENT_ID in out:
            out[f"item.{CONSIGNMENT_ID}"] = out[CONSIGNMENT_ID]
        return out


# --------------------------------------------------------------------------- expressions


def source_text(spec: ColumnSpec, raw: pl.Expr, null_values: Sequence[str] = ()) -> pl.Expr:
    """The source text of ``spec`` after its text transforms (null when missing).

    Args:
        spec: The column's spec.
        raw: Expression of the raw source text (String).
        null_values: Values of the map that mean "missing".

    Returns:
        A String expression, ready for :func:`to_canonical`.
    """
    text = raw.str.strip_chars().replace(["", *null_values], None)
    if spec.regex is not None:
        text = pl.coalesce(text.str.extract(spec.regex, 1), text)
    if spec.values:
        text = text.replace(dict(spec.values))
    if spec.excel_serial is not None:
        serial = text.cast(pl.Float64, strict=False).floor().cast(pl.Int64, strict=False)
        day = pl.date(*_EXCEL_EPOCH) + pl.duration(days=serial)
        part = {
            "date": day.dt.strftime("%Y-%m-%d"),
            "year": day.dt.year().cast(pl.String),
            "month": day.dt.month().cast(pl.String),
            "day": day.dt.day().cast(pl.String),
        }[spec.excel_serial]
        text = pl.coalesce(part, text)
    if spec.thousands is not None:
        text = text.str.replace_all(spec.thousands, "", literal=True)
    if spec.decimal is not None:
        text = text.str.replace_all(spec.decimal, ".", literal=True)
    if spec.pad_left is not None:
        text = text.str.pad_start(spec.pad_left, spec.pad_char)
    return text


def to_canonical(spec: ColumnSpec, text: pl.Expr) -> pl.Expr:
    """Convert transformed text (:func:`source_text`) to the canonical dtype, null on failure."""
    target = spec.target
    if target == TIMESTAMP and spec.format is not None:
        parsed = text.str.to_datetime(spec.format, strict=False, time_unit="us")
        if "%z" in spec.format or "%#z" in spec.format or "%:z" in spec.format:
            value = parsed.dt.convert_time_zone("UTC")
        else:
            value = parsed.dt.replace_time_zone(
                spec.timezone or "UTC", non_existent="null", ambiguous="earliest"
            ).dt.convert_time_zone("UTC")
        return value.cast(TIMESTAMP)
    if target == pl.String:
        return text  # already stripped, empty means missing: what convert_column does
    value = convert_column(text, pl.String(), target)
    if spec.scale is not None:
        if target == MONEY:
            value = (value * pl.lit(spec.scale)).cast(MONEY)
        else:
            value = value * float(spec.scale)
    return value


def constant_expr(column: str, value: str | int | float | bool) -> pl.Expr:
    """A literal of ``value`` converted to the dtype of canonical ``column``."""
    text = str(value).lower() if isinstance(value, bool) else str(value)
    return convert_column(pl.lit(text, dtype=pl.String), pl.String(), CANONICAL_COLUMNS[column])


# --------------------------------------------------------------------------- loading


def shipped_column_maps() -> list[str]:
    """Names of the column maps shipped with smartcustoms, sorted."""
    return sorted(p.stem for p in MAPS_DIR.glob("*.toml"))


def load_column_map(name_or_path: str | Path) -> ColumnMap:
    """Load a shipped column map by name, or a map file by path.

    Args:
        name_or_path: A shipped name (``canonical``, ``jeong2022``, ``asycuda-date``, ...)
            or the path of a ``.toml`` map file.

    Returns:
        The validated map.

    Raises:
        InvalidColumnMapError: The map is unknown, unreadable or invalid; ``problems``
            lists every problem found, each located as ``file:line``.
    """
    path = Path(name_or_path)
    is_path = isinstance(name_or_path, Path) or path.suffix == ".toml" or len(path.parts) > 1
    if not is_path:
        path = MAPS_DIR / f"{name_or_path}.toml"
        if not path.is_file():
            shipped = ", ".join(shipped_column_maps())
            raise InvalidColumnMapError(
                f"no column map named {name_or_path!r} (shipped maps: {shipped})",
                (
                    Problem(
                        "column_map.unknown_map",
                        str(name_or_path),
                        f"no shipped column map is named {name_or_path!r}; "
                        f"use one of {shipped} or the path of a .toml file",
                    ),
                ),
            )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidColumnMapError(
            f"cannot read column map {path}: {exc}",
            (Problem("column_map.unreadable", str(path), str(exc)),),
        ) from exc
    return parse_column_map(text, origin=str(path))


class _Locator:
    """Line numbers of keys in a TOML text (tomllib does not report them)."""

    _TABLE = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(?:#.*)?$")
    _KEY = re.compile(r"""^\s*("(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_.\-]+)\s*=""")

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.keys: dict[tuple[str, str], int] = {}
        table = ""
        for no, line in enumerate(self.lines, start=1):
            if m := self._TABLE.match(line):
                parts = [p.strip().strip("\"'") for p in m.group(1).split(".")]
                table = ".".join(parts)
                if len(parts) > 1:
                    self.keys.setdefault((".".join(parts[:-1]), parts[-1]), no)
                continue
            if m := self._KEY.match(line):
                self.keys.setdefault((table, m.group(1).strip("\"'")), no)

    def key(self, table: str, key: str) -> int | None:
        """Line of ``key`` in ``[table]`` (``""`` for the top level)."""
        return self.keys.get((table, key))

    def value(self, table: str, key: str, value: str, occurrence: int = 1) -> int | None:
        """Line of the ``occurrence``-th ``value`` string in the value of ``key`` (arrays)."""
        start = self.key(table, key)
        if start is None:
            return None
        seen = 0
        for no in range(start, min(len(self.lines), start + 500) + 1):
            line = self.lines[no - 1]
            if no > start and (self._KEY.match(line) or self._TABLE.match(line)):
                break
            seen += line.count(f'"{value}"') + line.count(f"'{value}'")
            if seen >= occurrence:
                return no
        return start


class _Collector:
    """Problems found in one map file, each located as ``file:line``."""

    def __init__(self, origin: str, locator: _Locator) -> None:
        self.origin = origin
        self.loc = locator
        self.problems: list[Problem] = []

    def add(self, code: str, line: int | None, message: str) -> None:
        path = f"{self.origin}:{line}" if line else self.origin
        self.problems.append(Problem(code, path, message))


def _strings(raw: Any, key: str, out: _Collector, *, table: str = "") -> tuple[str, ...]:
    """A string or list of strings at ``key``; problems for anything else and for repeats."""
    if raw is None:
        return ()
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not all(isinstance(v, str) and v for v in items):
        out.add(
            "column_map.invalid_value",
            out.loc.key(table, key),
            f"{key} must be a non-empty string or a list of non-empty strings",
        )
        return ()
    seen: dict[str, int] = {}
    for v in items:
        seen[v] = seen.get(v, 0) + 1
        if seen[v] == 2:
            out.add(
                "column_map.duplicate",
                out.loc.value(table, key, v, occurrence=2),
                f'{key} lists "{v}" more than once',
            )
    return tuple(dict.fromkeys(items))


def _check_format(fmt: str) -> str | None:
    """Why a date format is unusable, or ``None``."""
    directives = re.findall(r"%[-_0^#]?[:.]?[0-9]?(.)", fmt)
    if not directives:
        return "it has no % directive"
    bad = sorted({d for d in directives if d not in _DATE_DIRECTIVES})
    if bad:
        return "unknown directive " + ", ".join(f"%{d}" for d in bad)
    return None


def _check_regex(pattern: str) -> str | None:
    """Why a pattern is unusable as a ``regex`` transform, or ``None``."""
    try:
        groups = pl.Series([""], dtype=pl.String).str.extract_groups(pattern).struct.fields
    except pl.exceptions.PolarsError as exc:
        first = str(exc).strip().splitlines()
        return "it does not compile: " + " ".join(line.strip() for line in first[:4])
    if not groups:
        return "it has no capture group; the first group is the value"
    return None


def _parse_spec(col: str, raw: Any, out: _Collector) -> ColumnSpec | None:
    """A :class:`ColumnSpec` from ``[columns]`` entry ``col``, or ``None`` after problems."""
    line = out.loc.key("columns", col)
    if isinstance(raw, str):
        raw = {"source": raw}
    if not isinstance(raw, dict):
        out.add(
            "column_map.invalid_value",
            line,
            f"{col} must be a source column name or a table with source = ...",
        )
        return None
    ok = True
    for key in sorted(set(raw) - _SPEC_KEYS):
        out.add(
            "column_map.unknown_key",
            line,
            f"{col}: {key!r} is not a column option (one of {', '.join(sorted(_SPEC_KEYS))})",
        )
        ok = False
    source = raw.get("source")
    if not isinstance(source, str) or not source.strip():
        out.add("column_map.invalid_value", line, f"{col} needs source = <column name>")
        return None
    target = CANONICAL_COLUMNS[col]
    kwargs: dict[str, Any] = {}

    def bad(message: str) -> None:
        nonlocal ok
        ok = False
        out.add("column_map.invalid_transform", line, f"{col}: {message}")

    if "pad_left" in raw:
        pad = raw["pad_left"]
        if isinstance(pad, dict):
            width, char = pad.get("width"), pad.get("char", "0")
        else:
            width, char = pad, "0"
        if target != pl.String:
            bad("pad_left applies to text columns only")
        elif isinstance(width, bool) or not isinstance(width, int) or not 1 <= width <= 64:
            bad('pad_left needs a width from 1 to 64 (pad_left = 6 or {width = 6, char = "0"})')
        elif not isinstance(char, str) or len(char) != 1:
            bad("pad_left char must be a single character")
        else:
            kwargs["pad_left"], kwargs["pad_char"] = width, char
    if "format" in raw:
        fmt = raw["format"]
        if target != TIMESTAMP:
            bad("format applies to date/time columns only")
        elif not isinstance(fmt, str):
            bad('format must be text, e.g. "%d-%b-%y"')
        elif (why := _check_format(fmt)) is not None:
            bad(f"format {fmt!r} is not a usable date format: {why}")
        else:
            kwargs["format"] = fmt
    if "timezone" in raw:
        tz = raw["timezone"]
        if target != TIMESTAMP or "format" not in raw:
            bad("timezone applies to date/time columns with a format only")
        else:
            try:
                zoneinfo.ZoneInfo(str(tz))
                kwargs["timezone"] = str(tz)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                bad(f"timezone {tz!r} is not an IANA time zone")
    if "regex" in raw:
        pattern = raw["regex"]
        if not isinstance(pattern, str) or (why := _check_regex(pattern)) is not None:
            bad(f"regex {pattern!r} is unusable: {why if isinstance(pattern, str) else 'not text'}")
        else:
            kwargs["regex"] = pattern
    if "values" in raw:
        values = raw["values"]
        if not isinstance(values, dict) or not all(
            isinstance(v, str | int | float) and not isinstance(v, bool) for v in values.values()
        ):
            bad("values must be a table of source value = canonical value")
        else:
            kwargs["values"] = {str(k): str(v) for k, v in values.items()}
    if "excel_serial" in raw:
        part = raw["excel_serial"]
        if part not in _EXCEL_PARTS:
            bad(f"excel_serial must be one of {', '.join(_EXCEL_PARTS)}")
        else:
            kwargs["excel_serial"] = part
    for key in ("decimal", "thousands"):
        if key in raw:
            sep = raw[key]
            if not isinstance(sep, str) or len(sep) != 1:
                bad(f"{key} must be a single character")
            else:
                kwargs[key] = sep
    if kwargs.get("decimal") is not None and kwargs.get("decimal") == kwargs.get("thousands"):
        bad("decimal and thousands separators must differ")
    if "scale" in raw:
        scale = raw["scale"]
        try:
            value = Decimal(str(scale))
            usable = value.is_finite() and value != 0 and not isinstance(scale, bool)
        except InvalidOperation:
            usable = False
        if target not in (pl.Float64(), MONEY):
            bad("scale applies to amounts and measures only")
        elif not usable:
            bad(f"scale {scale!r} is not a non-zero number")
        else:
            kwargs["scale"] = value
    if "aggregate" in raw:
        agg = raw["aggregate"]
        if agg not in _AGGREGATES:
            bad(f"aggregate must be one of {', '.join(_AGGREGATES)}")
        elif agg == "sum" and (col in ITEM_COLUMNS or target not in _NUMERIC):
            bad('aggregate = "sum" applies to numeric consignment columns only')
        else:
            kwargs["aggregate"] = agg
    if not ok:
        return None
    return ColumnSpec(column=col, source=source.strip(), **kwargs)


def _constant_ok(col: str, value: Any) -> bool:
    if not isinstance(value, str | int | float | bool):
        return False
    converted = pl.select(constant_expr(col, value).alias("v")).item()
    return converted is not None


def parse_column_map(text: str, *, origin: str = "<string>") -> ColumnMap:
    """Validate the TOML text of a column map and build it.

    Args:
        text: The TOML document.
        origin: Where it came from, used in problem paths (``maps/x.toml:12``).

    Returns:
        The map.

    Raises:
        InvalidColumnMapError: With one :class:`~smartcustoms.errors.Problem` per problem
            found (``column_map.syntax``, ``column_map.unknown_key``,
            ``column_map.unknown_field``, ``column_map.duplicate``,
            ``column_map.label_mapped``, ``column_map.invalid_transform``,
            ``column_map.invalid_value``, ``column_map.missing_key``).
    """
    loc = _Locator(text)
    out = _Collector(origin, loc)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        out.add("column_map.syntax", int(m.group(1)) if m else None, f"not valid TOML: {exc}")
        raise InvalidColumnMapError.with_problems(
            f"column map {origin} is not valid TOML", out.problems
        ) from exc

    for key in sorted(set(doc) - _TOP_KEYS):
        out.add(
            "column_map.unknown_key",
            loc.key("", key),
            f"{key!r} is not a column-map key (one of {', '.join(sorted(_TOP_KEYS))})",
        )
    texts: dict[str, str] = {}
    for key in ("id", "version", "description", "source", "encoding", "delimiter"):
        value = doc.get(key)
        if value is None:
            continue
        if isinstance(value, int) and not isinstance(value, bool) and key == "version":
            value = str(value)
        if not isinstance(value, str):
            out.add("column_map.invalid_value", loc.key("", key), f"{key} must be text")
            continue
        texts[key] = value
    map_id = texts.get("id", "").strip()
    if not map_id:
        out.add("column_map.missing_key", loc.key("", "id"), "the map needs an id")
    encoding = texts.get("encoding", "utf-8")
    try:
        encoding = codecs.lookup(encoding).name
        if encoding == "utf-8-sig":
            encoding = "utf-8"
    except LookupError:
        out.add(
            "column_map.invalid_value",
            loc.key("", "encoding"),
            f"encoding {encoding!r} is not a known text encoding",
        )
    delimiter = texts.get("delimiter", ",")
    if len(delimiter) != 1 or delimiter in '"\r\n' or not delimiter.isascii():
        out.add(
            "column_map.invalid_value",
            loc.key("", "delimiter"),
            "delimiter must be one ASCII character other than a quote or a line break",
        )

    record_key = _strings(doc.get("record_key"), "record_key", out)
    if "record_key" not in doc:
        out.add(
            "column_map.missing_key",
            None,
            "the map needs record_key: the source column(s) that identify a filing",
        )
    null_values = _strings(doc.get("null_values"), "null_values", out)
    ignore = _strings(doc.get("ignore"), "ignore", out)
    label_columns = _strings(doc.get("label_columns"), "label_columns", out)
    unchecked = _strings(doc.get("unchecked_code_columns"), "unchecked_code_columns", out)
    for col in unchecked:
        if col not in CANONICAL_COLUMNS:
            out.add(
                "column_map.unknown_field",
                loc.value("", "unchecked_code_columns", col),
                f"unchecked_code_columns: {col!r} is not a canonical column",
            )
    labels = set(label_columns)
    for part in record_key:
        if part in labels:
            out.add(
                "column_map.label_mapped",
                loc.value("", "record_key", part),
                f'record_key uses "{part}", which the map declares a label column',
            )

    specs: dict[str, ColumnSpec] = {}
    columns = doc.get("columns", {})
    if not isinstance(columns, dict):
        out.add("column_map.invalid_value", loc.key("", "columns"), "[columns] must be a table")
        columns = {}
    for col, raw in columns.items():
        line = loc.key("columns", col)
        if col not in CANONICAL_COLUMNS:
            out.add(
                "column_map.unknown_field",
                line,
                f"{col!r} is not a canonical column (see docs/data-model.md)",
            )
            continue
        spec = _parse_spec(col, raw, out)
        if spec is None:
            continue
        if spec.source in labels:
            out.add(
                "column_map.label_mapped",
                line,
                f'{col} would be read from "{spec.source}", which the map declares a label '
                "column: labels are ground truth and never filing fields",
            )
            continue
        if spec.source in ignore:
            out.add(
                "column_map.duplicate",
                line,
                f'{col} is read from "{spec.source}", which the map also lists in ignore',
            )
        specs[col] = spec

    constants: dict[str, str | int | float | bool] = {}
    raw_constants = doc.get("constants", {})
    if not isinstance(raw_constants, dict):
        out.add("column_map.invalid_value", loc.key("", "constants"), "[constants] must be a table")
        raw_constants = {}
    for col, value in raw_constants.items():
        line = loc.key("constants", col)
        if col not in CANONICAL_COLUMNS:
            out.add("column_map.unknown_field", line, f"{col!r} is not a canonical column")
        elif col in columns:
            out.add(
                "column_map.duplicate",
                line,
                f"{col} is both read from a column (line {loc.key('columns', col)}) and a constant",
            )
        elif not _constant_ok(col, value):
            out.add(
                "column_map.invalid_value",
                line,
                f"constant {col} = {value!r} is not a valid {CANONICAL_COLUMNS[col]}",
            )
        else:
            constants[col] = value

    if out.problems:
        n = len(out.problems)
        raise InvalidColumnMapError.with_problems(
            f"column map {origin} has {n} problem{'s' if n > 1 else ''}", out.problems
        )
    return ColumnMap(
        id=map_id,
        record_key=record_key,
        columns=specs,
        constants=constants,
        version=texts.get("version", "1"),
        description=texts.get("description", ""),
        source=texts.get("source", ""),
        encoding=encoding,
        delimiter=delimiter,
        null_values=null_values,
        ignore=ignore,
        label_columns=label_columns,
        unchecked_code_columns=frozenset(unchecked),
        origin=origin,
    )
