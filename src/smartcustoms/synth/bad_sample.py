"""A deliberately bad filings file, with a manifest of what every line should provoke.

Intake must report every problem of every record with a stable code and keep going. This
module writes a JSON Lines file that mixes good synthetic filings with lines broken in one
known way each - malformed JSON, invalid UTF-8, unknown codes, impossible values, missing
fields, duplicates and conflicts, and a last line cut mid-object - and a manifest
(``<file>.manifest.json``) that says, line by line, which outcome and problem codes a correct
intake reports:

* ``accepted`` - a good filing, no problem;
* ``rejected`` - the listed problem codes (each line is broken in exactly one way, so the
  list is what must be reported; intake may add nothing else);
* ``duplicate`` - an identical re-send of an earlier line: a no-op, no problem.

The codes are those of ``docs/validation.md``: ``json.malformed``, ``json.not_object``,
``json.schema``, ``encoding.invalid``, ``file.truncated``, ``field.required``,
``value.not_number``, ``value.not_positive``, ``mass.gross_below_net``,
``value.total_mismatch``, ``hs.format``, ``hs.unknown``, ``country.unknown``,
``currency.unknown``, ``s10.format``, ``s10.check_digit``, ``date.unparseable``,
``date.out_of_window``, ``filing.conflict``, ``items.missing``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import numpy as np
import orjson

from smartcustoms.synth._keyed import KeyedRandom
from smartcustoms.synth.config import DEFAULT_START, FraudRates, TrafficConfig
from smartcustoms.synth.identifiers import s10_check_digit
from smartcustoms.synth.traffic import TrafficGenerator
from smartcustoms.synth.writers import filing_records

__all__ = [
    "ACCEPTED",
    "DUPLICATE",
    "REJECTED",
    "BadLine",
    "BadSampleManifest",
    "manifest_path",
    "write_bad_sample",
]

ACCEPTED: Final = "accepted"
REJECTED: Final = "rejected"
DUPLICATE: Final = "duplicate"

Record = dict[str, Any]


@dataclass(frozen=True)
class BadLine:
    """What one line of the bad sample holds and what intake must make of it.

    Attributes:
        line: 1-based line number.
        expected: ``accepted``, ``rejected`` or ``duplicate``.
        problems: Problem codes intake must report for the line (empty unless rejected).
        description: What was done to the line.
        filing_id: The line's filing id, when it has a readable one.
    """

    line: int
    expected: str
    problems: tuple[str, ...]
    description: str
    filing_id: str | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "line": self.line,
            "expected": self.expected,
            "problems": list(self.problems),
            "description": self.description,
            "filing_id": self.filing_id,
        }


@dataclass(frozen=True)
class BadSampleManifest:
    """The manifest of a bad sample: one :class:`BadLine` per line of the file."""

    path: str
    seed: int
    lines: tuple[BadLine, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (what ``<file>.manifest.json`` holds)."""
        return {
            "file": Path(self.path).name,
            "seed": self.seed,
            "lines": [line.as_dict() for line in self.lines],
        }

    def problem_codes(self) -> set[str]:
        """Every problem code some line must provoke."""
        return {code for line in self.lines for code in line.problems}


def manifest_path(path: str | Path) -> Path:
    """Where the manifest of the bad sample at ``path`` goes: ``<path>.manifest.json``."""
    p = Path(path)
    return p.with_name(p.name + ".manifest.json")


def _consignment(record: Record) -> Record:
    first: Record = record["consignments"][0]
    return first


def _item(record: Record) -> Record:
    item: Record = _consignment(record)["items"][0]
    return item


def _set_total(record: Record) -> None:
    """Make the first consignment's total the exact sum of its (numeric) item values."""
    cons = _consignment(record)
    cons["total_value"] = round(sum(float(i["value"]) for i in cons["items"]), 2)


def _negative_value(record: Record) -> None:
    cons = _consignment(record)
    cons["items"].append({**cons["items"][0], "item_no": len(cons["items"]) + 1, "value": -5.0})
    _set_total(record)


def _zero_value(record: Record) -> None:
    cons = _consignment(record)
    cons["items"].append({**cons["items"][0], "item_no": len(cons["items"]) + 1, "value": 0})
    _set_total(record)


def _gross_below_net(record: Record) -> None:
    item = _item(record)
    item["net_mass_kg"] = 0.8
    item["gross_mass_kg"] = 0.5


def _total_mismatch(record: Record) -> None:
    cons = _consignment(record)
    cons["total_value"] = round(float(cons["total_value"]) * 1.5 + 10, 2)


def _wrong_check_digit(record: Record) -> None:
    cons = _consignment(record)
    serial = "12345678"
    wrong = (s10_check_digit(serial) + 3) % 10
    cons["postal_item_id"] = f"RR{serial}{wrong}CN"


def _drop(key: str, *, consignment: bool = False) -> Callable[[Record], None]:
    def apply(record: Record) -> None:
        target = _consignment(record) if consignment else record
        del target[key]

    return apply


def _set(path: tuple[str, ...], value: Any) -> Callable[[Record], None]:
    """Set a field: ``("filed_at",)``, ``("c", "currency")`` or ``("i", "hs_code")``."""

    def apply(record: Record) -> None:
        if path[0] == "c":
            _consignment(record)[path[1]] = value
        elif path[0] == "i":
            _item(record)[path[1]] = value
        else:
            record[path[0]] = value

    return apply


# Each mutation breaks a good record in exactly one way: (problem codes, description, edit).
_MUTATIONS: Final[tuple[tuple[tuple[str, ...], str, Callable[[Record], None]], ...]] = (
    (("hs.unknown",), "an item's HS code 610999 does not exist", _set(("i", "hs_code"), "610999")),
    (("hs.format",), "an item's HS code has 5 digits", _set(("i", "hs_code"), "61091")),
    (
        ("country.unknown",),
        "origin country XX is not ISO 3166",
        _set(("i", "origin_country"), "XX"),
    ),
    (("currency.unknown",), "currency ABC is not ISO 4217", _set(("c", "currency"), "ABC")),
    (("s10.format",), "S10 item id with 8 digits", _set(("c", "postal_item_id"), "RR12345678CN")),
    (("s10.check_digit",), "S10 item id with a wrong check digit", _wrong_check_digit),
    (("value.not_positive",), "an item with a negative value", _negative_value),
    (("value.not_positive",), "an item with a zero value", _zero_value),
    (("value.not_number",), "transport cost is text", _set(("c", "transport_cost"), "about ten")),
    (("mass.gross_below_net",), "an item's gross mass below its net mass", _gross_below_net),
    (("value.total_mismatch",), "item values do not add up to the total", _total_mismatch),
    (("date.unparseable",), "filed_at is not a date", _set(("filed_at",), "yesterday evening")),
    (
        ("date.out_of_window",),
        "filed_at far in the past",
        _set(("filed_at",), "2001-01-01T00:00:00Z"),
    ),
    (("field.required",), "filing_id missing", _drop("filing_id")),
    (("field.required",), "currency missing", _drop("currency", consignment=True)),
    (("items.missing",), "a consignment with no goods items", _set(("c", "items"), [])),
    (("json.schema",), "consignments is a string, not a list", _set(("consignments",), "CN-42")),
)


def _good_records(n: int, seed: int, start: datetime) -> list[Record]:
    config = TrafficConfig(
        consignments=n,
        seed=seed,
        start=start,
        fraud=FraudRates.none(),
        batch_filing_share=0.0,
        chunk_size=max(8, n),
    )
    records: list[Record] = []
    for chunk in TrafficGenerator(config):
        records.extend(filing_records(chunk.consignments, chunk.items).to_dicts())
    return records


def _dumps(record: Record) -> bytes:
    return orjson.dumps(record)


@dataclass(frozen=True)
class _Line:
    raw: bytes
    expected: str
    problems: tuple[str, ...]
    description: str
    filing_id: str | None = None


def write_bad_sample(
    path: str | Path,
    *,
    seed: int = 42,
    n: int = 60,
    start: datetime = DEFAULT_START,
) -> BadSampleManifest:
    """Write a bad filings sample (JSONL) and its manifest (``<path>.manifest.json``).

    Args:
        path: Where to write the sample.
        seed: Seed of the good filings and of the line order.
        n: Number of lines (at least 40: every kind of bad line appears once, the rest are
            good filings).
        start: Start of the good filings' period; put it near today when intake checks a
            sane-date window.

    Returns:
        The manifest, also written next to the sample.

    Raises:
        ValueError: When ``n`` is below 40.
    """
    if n < 40:
        raise ValueError("a bad sample needs at least 40 lines")
    rnd = KeyedRandom(seed)
    # Bad lines besides the mutations: malformed, not an object, invalid UTF-8, duplicate,
    # conflict, truncated.
    good_count = n - len(_MUTATIONS) - 6
    pool = _good_records(n + len(_MUTATIONS), seed, start)
    # The S10 edits come first and take postal items, the others take whatever is next.
    postal = [r for r in pool if _consignment(r).get("postal_item_id")][:2]
    fresh = iter(postal + [r for r in pool if all(r is not p for p in postal)])

    bad: list[_Line] = []
    for problems, what, edit in sorted(_MUTATIONS, key=lambda m: not m[0][0].startswith("s10")):
        record = copy.deepcopy(next(fresh))
        edit(record)
        bad.append(_Line(_dumps(record), REJECTED, problems, what, record.get("filing_id")))
    text = _dumps(next(fresh))
    bad.append(_Line(text[:-1] + b",}", REJECTED, ("json.malformed",), "trailing comma"))
    bad.append(_Line(b'["not", "a", "filing"]', REJECTED, ("json.not_object",), "a JSON array"))
    text = _dumps(next(fresh))
    cut = text.index(b'"description":"') + len(b'"description":"')
    bad.append(
        _Line(
            text[:cut] + b"\xff\xfe" + text[cut:],
            REJECTED,
            ("encoding.invalid",),
            "invalid UTF-8 bytes in a description",
        )
    )

    goods = [next(fresh) for _ in range(good_count)]
    body: list[_Line] = []
    for k in np.argsort(rnd.uniform("bad.order", np.arange(good_count + len(bad)))):
        if k < good_count:
            record = goods[k]
            body.append(_Line(_dumps(record), ACCEPTED, (), "good filing", record["filing_id"]))
        else:
            body.append(bad[k - good_count])
    # The duplicate and the conflict refer back to the first good line.
    first_good = next(line for line in body if line.expected == ACCEPTED)
    original = orjson.loads(first_good.raw)
    body.append(
        _Line(
            first_good.raw,
            DUPLICATE,
            (),
            "identical re-send of an earlier filing",
            first_good.filing_id,
        )
    )
    conflicting = copy.deepcopy(original)
    _consignment(conflicting)["marketplace_order_ref"] = "CHANGED-0001"
    body.append(
        _Line(
            _dumps(conflicting),
            REJECTED,
            ("filing.conflict",),
            "an earlier filing id re-used with different content",
            first_good.filing_id,
        )
    )
    last = _dumps(next(fresh))
    cut = len(last) * 3 // 5
    while last[cut - 1] >= 0x80:  # cut between characters, not inside one
        cut -= 1
    body.append(
        _Line(last[:cut], REJECTED, ("file.truncated",), "last line cut mid-object, no newline")
    )

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"\n".join(line.raw for line in body))
    manifest = BadSampleManifest(
        str(target),
        seed,
        tuple(
            BadLine(i + 1, line.expected, line.problems, line.description, line.filing_id)
            for i, line in enumerate(body)
        ),
    )
    manifest_path(target).write_text(
        json.dumps(manifest.as_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return manifest
