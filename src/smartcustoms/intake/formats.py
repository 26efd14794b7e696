"""Input formats: detection and dispatch to the right adapter.

Detection looks at the file name, then at the first bytes: ``{`` starts JSON (one object per
line -> JSON Lines, otherwise a JSON document), ``[`` a JSON document, anything else CSV. A
JSON record with ``item_id`` and ``contents`` is postal item data (ITMATT/CN23-like). The
format can always be forced.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path

import orjson

from smartcustoms.errors import UnknownFormatError
from smartcustoms.intake._json import iter_json_document, iter_jsonl
from smartcustoms.intake.batch import ParsedBatch
from smartcustoms.intake.layouts import POSTAL_LAYOUT, WCO_JSON_LAYOUT

__all__ = ["InputFormat", "detect_format", "read_batches"]


class InputFormat(StrEnum):
    """The input formats intake reads."""

    JSONL = "jsonl"
    """WCO-DM JSON filings, one per line."""
    JSON = "json"
    """One WCO-DM JSON document: a filing, a list of filings or ``{"filings": [...]}``."""
    CSV = "csv"
    """Flat CSV, one row per goods item, read through a column map."""
    POSTAL = "postal"
    """Postal item data (ITMATT/CN23-like), JSON Lines or a JSON list."""


def _first_record(head: bytes) -> object:
    line = head.split(b"\n", 1)[0].strip()
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return None


def _is_postal(record: object) -> bool:
    return isinstance(record, dict) and "item_id" in record and "contents" in record


def detect_format(path: Path) -> InputFormat:
    """Guess the format of ``path`` from its name and first bytes.

    Raises:
        UnknownFormatError: The file is empty or its content is not recognisable.
    """
    with path.open("rb") as fh:
        head = fh.read(1 << 16).removeprefix(b"\xef\xbb\xbf")
    stripped = head.lstrip()
    if not stripped:
        raise UnknownFormatError(f"{path}: the file is empty")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        return InputFormat.CSV
    if suffix in (".jsonl", ".ndjson") and stripped[:1] != b"{":
        return InputFormat.JSONL  # not JSON at all: every line will be quarantined as such
    if stripped[:1] == b"{":
        first = _first_record(stripped)
        if _is_postal(first):
            return InputFormat.POSTAL
        if isinstance(first, dict) and isinstance(first.get("filings"), list):
            return InputFormat.JSON  # {"filings": [...]} written on one line
        if first is not None or suffix in (".jsonl", ".ndjson"):
            return InputFormat.JSONL
        return InputFormat.JSON
    if stripped[:1] == b"[":
        try:
            doc = orjson.loads(path.read_bytes().removeprefix(b"\xef\xbb\xbf"))
        except orjson.JSONDecodeError:
            return InputFormat.JSON
        if isinstance(doc, list) and doc and _is_postal(doc[0]):
            return InputFormat.POSTAL
        return InputFormat.JSON
    if suffix == ".txt" or b"," in head.split(b"\n", 1)[0]:
        return InputFormat.CSV
    raise UnknownFormatError(f"{path}: not JSON, JSON Lines, postal item data or CSV")


def read_batches(
    path: Path,
    *,
    fmt: str | None = None,
    column_map: str | None = None,
    chunk_size: int = 50_000,
    first_record: int = 0,
) -> Iterator[ParsedBatch]:
    """Stream ``path`` as parsed batches of at most ``chunk_size`` records.

    Args:
        path: The input file.
        fmt: Force a format (see :class:`InputFormat`); detected when ``None``.
        column_map: Column map name or path, for CSV (default ``canonical``).
        chunk_size: Records per batch.
        first_record: Number of the first record (records are numbered across a run).

    Raises:
        UnknownFormatError: The format is unknown or could not be detected.
    """
    if fmt is None:
        chosen = detect_format(path)
    else:
        try:
            chosen = InputFormat(fmt)
        except ValueError:
            raise UnknownFormatError(
                f"unknown format {fmt!r}; choose one of " + ", ".join(f.value for f in InputFormat)
            ) from None
    if chosen is InputFormat.JSONL:
        yield from iter_jsonl(
            path, layout=WCO_JSON_LAYOUT, chunk_size=chunk_size, first_record=first_record
        )
    elif chosen is InputFormat.JSON:
        yield from iter_json_document(
            path, layout=WCO_JSON_LAYOUT, chunk_size=chunk_size, first_record=first_record
        )
    elif chosen is InputFormat.POSTAL:
        head = path.read_bytes()[:1].lstrip()
        if head == b"[":
            for batch in iter_json_document(
                path, layout=POSTAL_LAYOUT, chunk_size=chunk_size, first_record=first_record
            ):
                batch.fmt = InputFormat.POSTAL.value
                yield batch
        else:
            yield from iter_jsonl(
                path,
                layout=POSTAL_LAYOUT,
                chunk_size=chunk_size,
                first_record=first_record,
                fmt=InputFormat.POSTAL.value,
            )
    else:
        from smartcustoms.intake._csv import iter_csv
        from smartcustoms.intake.column_map import load_column_map

        cmap = load_column_map(column_map or "canonical")
        for batch in iter_csv(
            path, column_map=cmap, chunk_size=chunk_size, first_record=first_record
        ):
            batch.column_map = column_map or "canonical"
            batch.unchecked_code_columns = frozenset(cmap.unchecked_code_columns)
            yield batch
