"""Tariff schedules: dated tariff lines keyed by HS prefix, where the longest prefix wins.

A schedule is a versioned TOML file (see ``docs/tariff-files.md``): a header with ``id``,
``version``, ``currency``, ``effective_from``/``effective_to`` and ``legal_basis``, then one
``[[lines]]`` table per tariff line. A line names an HS prefix of 2 to 10 digits and any of: an
ad valorem duty, a specific duty per kilogram of net mass or per unit of quantity, a VAT rate,
and an excise (ad valorem and/or specific). A line without duty fields means a duty of 0.

For a goods item classified under code ``c`` on day ``d``, the applicable line is the line
whose ``hs_prefix`` is the longest prefix of ``c`` among the lines in force on ``d`` (the way
the Combined Nomenclature's subdivisions refine their headings). Two lines with the same
prefix may not be in force on the same day.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from functools import cache, cached_property
from itertools import pairwise
from pathlib import Path
from typing import Any, Final

import polars as pl

from smartcustoms.tariff._files import (
    CODE_INVALID,
    CODE_OVERLAP,
    FileReader,
    currency_ok,
    data_path,
)
from smartcustoms.tariff._money import MONEY_SCALE, PCT_SCALE, scaled
from smartcustoms.tariff.nomenclature import load_nomenclature

__all__ = [
    "DEFAULT_SCHEDULE",
    "KILOGRAM",
    "TariffLine",
    "TariffSchedule",
    "format_decimal",
    "load_schedule",
    "shipped_schedules",
]

DEFAULT_SCHEDULE: Final = "eu-demo"
"""Id of the schedule :func:`load_schedule` returns when given no path."""

KILOGRAM: Final = "KGM"
"""UN/ECE Rec. 20 code of the kilogram; ``per_unit`` amounts in ``KGM`` use the net mass."""

_MAX_PCT: Final = Decimal(1000)

_HEADER_KEYS: Final = frozenset(
    {
        "id",
        "version",
        "name",
        "description",
        "currency",
        "effective_from",
        "effective_to",
        "legal_basis",
        "source",
        "notes",
        "lines",
    }
)
_LINE_KEYS: Final = frozenset(
    {
        "id",
        "hs_prefix",
        "description",
        "ad_valorem_pct",
        "specific_per_kg",
        "specific_per_unit",
        "unit",
        "vat_pct",
        "excise_pct",
        "excise_per_kg",
        "excise_per_unit",
        "excise_unit",
        "effective_from",
        "effective_to",
        "legal_basis",
        "note",
    }
)


def format_decimal(value: Decimal) -> str:
    """Plain decimal text without exponent or trailing zeros (``12``, ``2.7``, ``0.131``)."""
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"


@dataclass(frozen=True, slots=True)
class TariffLine:
    """One line of a tariff schedule.

    Amounts are in the schedule's currency; percentages are percent (``12`` is 12 %).

    Attributes:
        id: Line id, unique in the schedule (defaults to the HS prefix, or
            ``prefix@effective_from`` when a prefix has several dated lines).
        hs_prefix: 2 to 10 digits.
        description: What the line covers.
        ad_valorem_pct: Duty as a percentage of the customs value.
        specific_per_kg: Duty per kilogram of net mass.
        specific_per_unit: Duty per unit of quantity in ``unit``.
        unit: UN/ECE Rec. 20 unit code of ``specific_per_unit`` (``H87`` piece, ``LTR`` litre).
        vat_pct: VAT rate set by the schedule (overrides the regime's rate) or ``None``.
        excise_pct: Excise as a percentage of customs value plus duty.
        excise_per_kg: Excise per kilogram of net mass.
        excise_per_unit: Excise per unit of quantity in ``excise_unit``.
        excise_unit: Unit code of ``excise_per_unit``.
        effective_from: First day in force.
        effective_to: Last day in force (``None``: open-ended).
        legal_basis: The act that sets the rate.
        note: Free-text remark (uncertainty, source).
        source_line: Line of the ``[[lines]]`` header in the schedule file (0 if built in code).
    """

    id: str
    hs_prefix: str
    description: str
    ad_valorem_pct: Decimal
    specific_per_kg: Decimal
    specific_per_unit: Decimal
    unit: str | None
    vat_pct: Decimal | None
    excise_pct: Decimal
    excise_per_kg: Decimal
    excise_per_unit: Decimal
    excise_unit: str | None
    effective_from: date
    effective_to: date | None
    legal_basis: str
    note: str = ""
    source_line: int = 0

    def is_in_force(self, on: date) -> bool:
        """Whether the line applies on ``on``."""
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)

    @property
    def has_excise(self) -> bool:
        """Whether the line levies any excise (the goods are "excise goods")."""
        return bool(self.excise_pct or self.excise_per_kg or self.excise_per_unit)

    def duty_text(self, currency: str) -> str:
        """The duty as rule text: ``ad-valorem 12%``, ``specific 0.131 EUR/LTR``, or both."""
        parts: list[str] = []
        if self.ad_valorem_pct or not (self.specific_per_kg or self.specific_per_unit):
            parts.append(f"ad-valorem {format_decimal(self.ad_valorem_pct)}%")
        if self.specific_per_kg:
            parts.append(f"specific {format_decimal(self.specific_per_kg)} {currency}/kg")
        if self.specific_per_unit:
            parts.append(
                f"specific {format_decimal(self.specific_per_unit)} {currency}/{self.unit}"
            )
        return " + ".join(parts)

    def excise_text(self, currency: str) -> str:
        """The excise as rule text, or ``none``."""
        parts: list[str] = []
        if self.excise_pct:
            parts.append(f"excise {format_decimal(self.excise_pct)}%")
        if self.excise_per_kg:
            parts.append(f"excise {format_decimal(self.excise_per_kg)} {currency}/kg")
        if self.excise_per_unit:
            parts.append(
                f"excise {format_decimal(self.excise_per_unit)} {currency}/{self.excise_unit}"
            )
        return " + ".join(parts) if parts else "none"


@dataclass(frozen=True)
class TariffSchedule:
    """A versioned tariff schedule.

    Attributes:
        id: Schedule id, used as the prefix of rule ids (``eu-demo:6109 ad-valorem 12%``).
        version: Version of the file.
        name: Human title.
        currency: ISO 4217 currency of every amount in the schedule.
        effective_from: First day in force.
        effective_to: Last day in force (``None``: open-ended).
        legal_basis: The act(s) the rates come from.
        source: Where the file was loaded from.
        lines: The tariff lines, in file order.
        notes: Free-text caveats.
    """

    id: str
    version: str
    name: str
    currency: str
    effective_from: date
    effective_to: date | None
    legal_basis: str
    source: str
    lines: tuple[TariffLine, ...]
    notes: str = ""

    def __iter__(self) -> Iterator[TariffLine]:
        return iter(self.lines)

    def __len__(self) -> int:
        return len(self.lines)

    def line_id(self, line: TariffLine) -> str:
        """The full id of a line: ``<schedule id>:<line id>``."""
        return f"{self.id}:{line.id}"

    def lines_for(self, hs_code: str, on: date) -> list[TariffLine]:
        """Every line in force on ``on`` whose prefix matches ``hs_code``, longest first."""
        if not self._in_force(on):
            return []
        found = [
            line
            for line in self.lines
            if hs_code.startswith(line.hs_prefix) and line.is_in_force(on)
        ]
        return sorted(found, key=lambda line: len(line.hs_prefix), reverse=True)

    def line_for(self, hs_code: str, on: date) -> TariffLine | None:
        """The applicable line (longest prefix in force on ``on``), or ``None``."""
        found = self.lines_for(hs_code, on)
        return found[0] if found else None

    def _in_force(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)

    @cached_property
    def lines_frame(self) -> pl.DataFrame:
        """The lines as a frame with scaled integer rates, for vectorised matching.

        Columns: ``_prefix``, ``_len``, ``_from``, ``_to`` (line period clipped to the
        schedule's), ``_line_id``, ``_adv`` / ``_xadv`` (percent x 10^4), ``_skg``,
        ``_sunit``, ``_xkg``, ``_xunit_amt`` (amount x 10^4), ``_unit``, ``_xunit``, ``_vat``
        (percent x 10^4 or null), ``_has_excise``, ``_duty_text``, ``_excise_text``.
        """
        rows: list[dict[str, Any]] = []
        for line in self.lines:
            start = max(line.effective_from, self.effective_from)
            ends = [d for d in (line.effective_to, self.effective_to) if d is not None]
            rows.append(
                {
                    "_prefix": line.hs_prefix,
                    "_len": len(line.hs_prefix),
                    "_from": start,
                    "_to": min(ends) if ends else None,
                    "_line_id": self.line_id(line),
                    "_adv": scaled(line.ad_valorem_pct, PCT_SCALE),
                    "_skg": scaled(line.specific_per_kg, MONEY_SCALE),
                    "_sunit": scaled(line.specific_per_unit, MONEY_SCALE),
                    "_unit": line.unit,
                    "_vat": None if line.vat_pct is None else scaled(line.vat_pct, PCT_SCALE),
                    "_xadv": scaled(line.excise_pct, PCT_SCALE),
                    "_xkg": scaled(line.excise_per_kg, MONEY_SCALE),
                    "_xunit_amt": scaled(line.excise_per_unit, MONEY_SCALE),
                    "_xunit": line.excise_unit,
                    "_has_excise": line.has_excise,
                    "_duty_text": line.duty_text(self.currency),
                    "_excise_text": line.excise_text(self.currency),
                }
            )
        schema = {
            "_prefix": pl.String,
            "_len": pl.Int32,
            "_from": pl.Date,
            "_to": pl.Date,
            "_line_id": pl.String,
            "_adv": pl.Int128,
            "_skg": pl.Int128,
            "_sunit": pl.Int128,
            "_unit": pl.String,
            "_vat": pl.Int128,
            "_xadv": pl.Int128,
            "_xkg": pl.Int128,
            "_xunit_amt": pl.Int128,
            "_xunit": pl.String,
            "_has_excise": pl.Boolean,
            "_duty_text": pl.String,
            "_excise_text": pl.String,
        }
        return pl.DataFrame(rows, schema=schema)

    @cached_property
    def epoch_starts(self) -> pl.Series:
        """Every day on which the set of lines in force can change, sorted (``Date``).

        Between two consecutive days of this series the lines in force cannot change, so
        matching is done once per *epoch* (see :meth:`epoch_index`) rather than per day.
        """
        days: set[date] = set()
        for start, end in self.lines_frame.select("_from", "_to").iter_rows():
            days.add(start)
            if end is not None and end < date.max:
                days.add(end + timedelta(days=1))
        return pl.Series("_epoch_start", sorted(days), dtype=pl.Date)

    def epoch_index(self, days: pl.Series) -> pl.Series:
        """Epoch of each day: 0 before the first boundary, ``i`` from ``epoch_starts[i-1]``."""
        return self.epoch_starts.search_sorted(days.cast(pl.Date), side="right").cast(pl.UInt32)

    def line_index(self, pairs: pl.DataFrame, hs_code: str, epoch: str) -> pl.DataFrame:
        """The applicable line of each distinct ``(hs_code, epoch)`` pair.

        Each pair is joined on every prefix length the schedule uses and the longest prefix
        in force in the epoch wins.

        Args:
            pairs: Frame with a String column ``hs_code`` and a UInt32 column ``epoch``.
            hs_code: Name of the HS code column.
            epoch: Name of the epoch column (from :meth:`epoch_index`).

        Returns:
            The distinct pairs with ``_li``: the row of :attr:`lines_frame` that applies
            (UInt32), or null when no line applies.
        """
        lines = self.lines_frame.with_row_index("_li")
        distinct = pairs.select(
            pl.col(hs_code).alias("_hs"), pl.col(epoch).cast(pl.UInt32).alias("_ep")
        ).unique()
        starts = self.epoch_starts
        reps = pl.DataFrame(
            {
                "_ep": pl.Series(range(len(starts) + 1), dtype=pl.UInt32),
                "_rep": pl.concat([pl.Series([date.min], dtype=pl.Date), starts]),
            }
        )
        distinct = distinct.join(reps, on="_ep", how="left")
        lengths = sorted(set(lines["_len"].to_list()))
        if lengths and not distinct.is_empty():
            candidates = pl.concat(
                [
                    distinct.filter(pl.col("_hs").str.len_chars() >= n).with_columns(
                        pl.col("_hs").str.slice(0, n).alias("_prefix")
                    )
                    for n in lengths
                ]
            )
            best = (
                candidates.join(
                    lines.select("_prefix", "_len", "_from", "_to", "_li"), on="_prefix"
                )
                .filter(
                    (pl.col("_from") <= pl.col("_rep"))
                    & (pl.col("_to").is_null() | (pl.col("_rep") <= pl.col("_to")))
                )
                .sort("_len", descending=True)
                .unique(subset=["_hs", "_ep"], keep="first")
                .select("_hs", "_ep", "_li")
            )
        else:
            best = pl.DataFrame(schema={"_hs": pl.String, "_ep": pl.UInt32, "_li": pl.UInt32})
        return distinct.join(best, on=["_hs", "_ep"], how="left").select(
            pl.col("_hs").alias(hs_code), pl.col("_ep").alias(epoch), "_li"
        )

    def match(self, keys: pl.DataFrame, hs_code: str, on: str) -> pl.DataFrame:
        """Attach the applicable line's columns to each ``(hs_code, on)`` row of ``keys``.

        Args:
            keys: Frame with a String column ``hs_code`` and a Date column ``on``.
            hs_code: Name of the HS code column.
            on: Name of the date column.

        Returns:
            ``keys`` (same rows and order) plus the columns of :attr:`lines_frame` other than
            ``_prefix``, ``_len``, ``_from`` and ``_to``; nulls where no line applies.
        """
        payload = [
            col
            for col in self.lines_frame.columns
            if col not in ("_prefix", "_len", "_from", "_to")
        ]
        epochs = self.epoch_index(keys.get_column(on))
        keyed = keys.with_columns(epochs.alias("_ep"))
        index = self.line_index(keyed, hs_code, "_ep")
        found = keyed.join(index, on=[hs_code, "_ep"], how="left", maintain_order="left")
        lines = self.lines_frame.select(payload)
        return found.drop("_ep", "_li").with_columns(
            lines.get_column(col).gather(found.get_column("_li")) for col in payload
        )


def shipped_schedules() -> list[str]:
    """Ids of the schedules shipped with the package."""
    return sorted(p.stem for p in data_path("schedules").glob("*.toml"))


def load_schedule(path: str | Path | None = None) -> TariffSchedule:
    """Load a tariff schedule file, or the shipped default (``eu-demo``) when ``path`` is None.

    ``path`` may also be the id of a shipped schedule (see :func:`shipped_schedules`).

    Raises:
        InvalidTariffFileError: Listing every problem in the file, each with ``file:LINE``.
    """
    if path is None:
        path = DEFAULT_SCHEDULE
    candidate = Path(path)
    if not candidate.exists() and str(path) in shipped_schedules():
        return _load_shipped(str(path))
    return _parse_schedule(candidate, str(path))


@cache
def _load_shipped(schedule_id: str) -> TariffSchedule:
    """Shipped schedules are immutable: parse each once per process."""
    return _parse_schedule(data_path("schedules", f"{schedule_id}.toml"), f"{schedule_id}.toml")


def _parse_schedule(path: Path, label: str) -> TariffSchedule:
    reader, data = FileReader.parse_toml(path, label)
    reader.check_keys(data, _HEADER_KEYS)
    sid = reader.text(data, "id", required=True) or ""
    version = reader.text(data, "version", required=True) or ""
    currency = reader.text(data, "currency", required=True)
    if currency is not None and not currency_ok(currency):
        reader.add(CODE_INVALID, reader.where(key="currency"), f"not an ISO 4217 code: {currency}")
    start = reader.day(data, "effective_from", required=True)
    end = reader.day(data, "effective_to")
    reader.check_period(start, end)
    legal_basis = reader.text(data, "legal_basis", required=True) or ""
    raw_lines = data.get("lines", [])
    if "lines" in data and not (
        isinstance(raw_lines, list) and all(isinstance(x, dict) for x in raw_lines)
    ):
        reader.add(CODE_INVALID, reader.where(key="lines"), "lines must be [[lines]] tables")
        raw_lines = []
    lines = [
        _parse_line(reader, raw, i, start or date.min, legal_basis)
        for i, raw in enumerate(raw_lines)
    ]
    parsed = [line for line in lines if line is not None]
    _check_ids_and_overlaps(reader, parsed)
    reader.raise_if_any("tariff schedule")
    # Both are guaranteed when no problem was found.
    assert start is not None
    assert currency is not None
    return TariffSchedule(
        id=sid,
        version=version,
        name=reader.text(data, "name") or sid,
        currency=currency,
        effective_from=start,
        effective_to=end,
        legal_basis=legal_basis,
        source=label,
        lines=tuple(_with_default_ids(parsed)),
        notes=reader.text(data, "notes") or "",
    )


def _parse_line(
    reader: FileReader, raw: dict[str, Any], index: int, start: date, legal_basis: str
) -> TariffLine | None:
    table = "lines"
    before = len(reader.problems)
    reader.check_keys(raw, _LINE_KEYS, table, index)
    header = reader.where(table, index)
    prefix_raw = reader.text(raw, "hs_prefix", table=table, index=index, required=True)
    prefix = ""
    if prefix_raw is not None:
        prefix = prefix_raw.replace(".", "").replace(" ", "")
        line_no = reader.where(table, index, "hs_prefix")
        if not prefix.isdigit() or not 2 <= len(prefix) <= 10:
            reader.add(CODE_INVALID, line_no, f"hs_prefix must be 2 to 10 digits: {prefix_raw!r}")
        elif not _prefix_known(prefix):
            reader.add("hs.unknown", line_no, f"hs_prefix {prefix} is not in HS 2022")

    def amount(key: str, maximum: Decimal | None = None) -> Decimal:
        value = reader.number(raw, key, table=table, index=index, maximum=maximum)
        return value if value is not None else Decimal(0)

    adv = amount("ad_valorem_pct", _MAX_PCT)
    skg = amount("specific_per_kg")
    sunit = amount("specific_per_unit")
    xadv = amount("excise_pct", _MAX_PCT)
    xkg = amount("excise_per_kg")
    xunit_amt = amount("excise_per_unit")
    vat = reader.number(raw, "vat_pct", table=table, index=index, maximum=Decimal(100))
    unit = reader.text(raw, "unit", table=table, index=index)
    excise_unit = reader.text(raw, "excise_unit", table=table, index=index)
    for value, unit_code, key, unit_key in (
        (sunit, unit, "specific_per_unit", "unit"),
        (xunit_amt, excise_unit, "excise_per_unit", "excise_unit"),
    ):
        if value and unit_code is None:
            reader.add(
                CODE_INVALID,
                reader.where(table, index, key),
                f"{key} needs {unit_key} (a UN/ECE Rec. 20 code such as H87 or LTR)",
            )
    line_from = reader.day(raw, "effective_from", table=table, index=index)
    line_to = reader.day(raw, "effective_to", table=table, index=index)
    reader.check_period(line_from, line_to, table, index)
    if len(reader.problems) > before:
        return None
    return TariffLine(
        id=reader.text(raw, "id", table=table, index=index) or "",
        hs_prefix=prefix,
        description=reader.text(raw, "description", table=table, index=index) or "",
        ad_valorem_pct=adv,
        specific_per_kg=skg,
        specific_per_unit=sunit,
        unit=unit,
        vat_pct=vat,
        excise_pct=xadv,
        excise_per_kg=xkg,
        excise_per_unit=xunit_amt,
        excise_unit=excise_unit,
        effective_from=line_from or start,
        effective_to=line_to,
        legal_basis=reader.text(raw, "legal_basis", table=table, index=index) or legal_basis,
        note=reader.text(raw, "note", table=table, index=index) or "",
        source_line=header,
    )


def _prefix_known(prefix: str) -> bool:
    nomenclature = load_nomenclature()
    n = len(prefix)
    if n % 2 == 0:
        return nomenclature.is_known(prefix)
    if n < 6:  # a one-dash subdivision such as 61091: some subheading must extend it
        return any(code.startswith(prefix) for code in nomenclature.subheadings)
    return nomenclature.is_known(prefix[:6])


def _check_ids_and_overlaps(reader: FileReader, lines: list[TariffLine]) -> None:
    by_prefix: dict[str, list[TariffLine]] = {}
    for line in lines:
        by_prefix.setdefault(line.hs_prefix, []).append(line)
    for prefix, group in by_prefix.items():
        ordered = sorted(group, key=lambda x: x.effective_from)
        for earlier, later in pairwise(ordered):
            if earlier.effective_to is None or later.effective_from <= earlier.effective_to:
                reader.add(
                    CODE_OVERLAP,
                    later.source_line,
                    f"hs_prefix {prefix} is also in force from {later.effective_from} in the line"
                    f" at {reader.at(earlier.source_line)}; close that line's effective_to first",
                )
    seen: dict[str, int] = {}
    for line in lines:
        if line.id:
            if line.id in seen:
                reader.add(
                    CODE_INVALID,
                    line.source_line,
                    f"line id {line.id!r} already used at {reader.at(seen[line.id])}",
                )
            seen[line.id] = line.source_line


def _with_default_ids(lines: list[TariffLine]) -> Iterator[TariffLine]:
    counts: dict[str, int] = {}
    for line in lines:
        counts[line.hs_prefix] = counts.get(line.hs_prefix, 0) + 1
    for line in lines:
        if line.id:
            yield line
            continue
        if counts[line.hs_prefix] == 1:
            default = line.hs_prefix
        else:
            default = f"{line.hs_prefix}@{line.effective_from.isoformat()}"
        yield replace(line, id=default)
