"""JSON Lines and JSON documents -> :class:`ParsedBatch`, through Arrow's JSON reader.

The fast path hands a whole chunk of lines to ``pyarrow.json`` (multi-threaded C++). When a
chunk does not parse - a malformed line, a line whose types clash with its neighbours' - it is
split in halves until each failing line stands alone, so a few bad lines cost a few extra
parses and never the whole chunk. A line that still fails on its own is classified
(``encoding.invalid``, ``json.malformed``, ``json.not_object``, ``file.truncated``) and kept
for quarantine with its line number.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

import numpy as np
import orjson
import polars as pl
import pyarrow as pa
import pyarrow.json as pajson

from smartcustoms.errors import Problem
from smartcustoms.intake._nested import NESTED_MARK, NestedLayout, normalise_nested
from smartcustoms.intake.batch import ParsedBatch
from smartcustoms.intake.problems import PROBLEM_SCHEMA, problem_rows
from smartcustoms.model.columns import (
    CONSIGNMENT_SCHEMA,
    ITEM_SCHEMA,
    RECORD,
)

__all__ = ["Lines", "iter_json_document", "iter_jsonl", "parse_json_lines"]

_BOM = b"\xef\xbb\xbf"
_READ_BLOCK = 16 << 20


def _hints(layout: NestedLayout) -> pa.Schema:
    """Arrow type hints: date-time fields are read as text.

    Arrow would otherwise guess timestamps line by line, and one differently written date
    would break a whole chunk's inference.
    """
    top, cons, items = layout.datetime_keys()
    fields = [pa.field(k, pa.string()) for k in top]
    inner = [pa.field(k, pa.string()) for k in cons]
    if items:
        inner.append(
            pa.field(
                layout.items_key, pa.list_(pa.struct([pa.field(k, pa.string()) for k in items]))
            )
        )
    if layout.consignments_key is not None and inner:
        fields.append(pa.field(layout.consignments_key, pa.list_(pa.struct(inner))))
    return pa.schema(fields)


class Lines(Sequence[bytes]):
    """Records of a chunk as slices of one buffer: no per-line copies on the fast path.

    ``lines[i]`` is record ``i`` (without its line terminator); :meth:`span` is the buffer
    from record ``lo`` to record ``hi - 1`` as it stands in the file - blank lines in between
    included, which Arrow's reader skips just as intake does.
    """

    def __init__(self, data: bytes, starts: np.ndarray, ends: np.ndarray) -> None:
        self.data = data
        self.starts = starts
        self.ends = ends

    @classmethod
    def of(cls, lines: Sequence[bytes]) -> Lines:
        """Lines from separate byte strings (joined with newlines)."""
        lengths = np.fromiter((len(x) for x in lines), dtype=np.int64, count=len(lines))
        starts = (np.cumsum(lengths + 1) - (lengths + 1)).astype(np.int64)
        return cls(b"\n".join(lines), starts, starts + lengths)

    def __len__(self) -> int:
        return len(self.starts)

    @overload
    def __getitem__(self, index: int) -> bytes: ...

    @overload
    def __getitem__(self, index: slice) -> list[bytes]: ...

    def __getitem__(self, index: int | slice) -> bytes | list[bytes]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return self.data[int(self.starts[index]) : int(self.ends[index])]

    def span(self, lo: int, hi: int) -> memoryview:
        """Records ``lo`` to ``hi - 1`` as one contiguous piece of the buffer (no copy)."""
        return memoryview(self.data)[int(self.starts[lo]) : int(self.ends[hi - 1])]

    def longest(self, lo: int, hi: int) -> int:
        """Length of the longest record in ``lo`` to ``hi - 1``."""
        return int((self.ends[lo:hi] - self.starts[lo:hi]).max())


@dataclass(frozen=True)
class _Reader:
    """What parsing needs to know of a layout: type hints and which keys hold objects."""

    hints: pa.Schema
    containers: frozenset[str]

    @classmethod
    def of(cls, layout: NestedLayout) -> _Reader:
        containers = [
            *layout.filing_parties.values(),
            *layout.consignment_parties.values(),
            layout.items_key,
            *([layout.consignments_key] if layout.consignments_key else []),
        ]
        return cls(_hints(layout), frozenset(containers))


def _is_utf8(data: bytes | memoryview) -> bool:
    """Whether ``data`` is valid UTF-8, checked by Arrow's validator without copying."""
    view = pa.py_buffer(data)
    offsets = pa.py_buffer(np.array([0, view.size], dtype=np.int32).tobytes())
    try:
        pa.StringArray.from_buffers(1, offsets, view).validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _arrow_read(data: bytes | memoryview, longest: int, hints: pa.Schema) -> pa.Table:
    block = max(1 << 20, 2 * longest + 1024, min(len(data) // 2 + 1, 8 << 20))
    return pajson.read_json(
        pa.BufferReader(pa.py_buffer(data)),
        read_options=pajson.ReadOptions(use_threads=True, block_size=block),
        parse_options=pajson.ParseOptions(explicit_schema=hints, unexpected_field_behavior="infer"),
    )


def _classify(line: bytes, *, truncated_candidate: bool) -> Problem:
    """Why a single line failed to parse."""
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Problem(
            "encoding.invalid",
            "$",
            f"byte {exc.start} is not valid UTF-8 ({line[exc.start : exc.start + 1]!r}); "
            "JSON filings must be UTF-8",
        )
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        if truncated_candidate:
            return Problem(
                "file.truncated",
                "$",
                f"the file ends in the middle of this record ({exc})",
            )
        return Problem("json.malformed", "$", f"not valid JSON: {exc}")
    if not isinstance(value, dict):
        return Problem(
            "json.not_object", "$", f"a filing must be a JSON object, not {type(value).__name__}"
        )
    return Problem(
        "json.schema",
        "$",
        "a field holds a value of the wrong JSON type (dates and times must be strings, "
        "consignments and items lists of objects)",
    )


def _stringify(value: Any, containers: frozenset[str], key: str | None = None) -> Any:
    if isinstance(value, dict | list) and key is not None and key not in containers:
        return NESTED_MARK + orjson.dumps(value).decode()
    if isinstance(value, dict):
        return {k: _stringify(v, containers, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_stringify(v, containers) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return value


def _coerced(line: bytes, containers: frozenset[str]) -> bytes | None:
    """The record with every number written as text, or ``None`` if it is not a JSON object.

    A record whose own values clash in type (``"12.40"`` for one item, ``0`` for the next)
    cannot be read by Arrow as it is; as text, every value converts (or fails to convert)
    field by field, so the record gets precise problems instead of one vague one.
    """
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(value, dict):
        return None
    return orjson.dumps(_stringify(value, containers))


def _parse_range(
    lines: Lines,
    lo: int,
    hi: int,
    tables: list[tuple[int, pa.Table]],
    bad: list[int],
    reader: _Reader,
) -> None:
    """Parse ``lines[lo:hi]``; append ``(offset, table)`` parts and indices of bad lines."""
    try:
        table = _arrow_read(lines.span(lo, hi), lines.longest(lo, hi), reader.hints)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        table = None
    if table is not None and table.num_rows == hi - lo:
        tables.append((lo, table))
        return
    if hi - lo == 1:
        coerced = _coerced(lines[lo], reader.containers)
        if coerced is not None:
            try:
                table = _arrow_read(coerced, len(coerced), reader.hints)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
                table = None
            if table is not None and table.num_rows == 1:
                tables.append((lo, table))
                return
        bad.append(lo)
        return
    mid = (lo + hi) // 2
    _parse_range(lines, lo, mid, tables, bad, reader)
    _parse_range(lines, mid, hi, tables, bad, reader)


def parse_json_lines(
    lines: Sequence[bytes],
    line_numbers: Sequence[int | None],
    *,
    first_record: int,
    source: str,
    fmt: str,
    layout: NestedLayout,
    truncated_last: bool = False,
) -> ParsedBatch:
    """Parse one chunk of JSON records (one per element of ``lines``) into a batch.

    Args:
        lines: Raw bytes of each record, without the line terminator.
        line_numbers: Line where each record starts (``None`` when not line-based).
        first_record: Run-wide number of the first record.
        source: File name for provenance.
        fmt: ``jsonl``, ``json`` or ``postal``.
        layout: Where the canonical fields sit in a record.
        truncated_last: The last line had no terminator (a parse failure there means the
            file was truncated).
    """
    if not isinstance(lines, Lines):
        lines = Lines.of(lines)
    n = len(lines)
    records = pl.DataFrame(
        {
            RECORD: pl.Series(range(first_record, first_record + n), dtype=pl.Int64),
            "line": pl.Series(line_numbers, dtype=pl.Int64),
        }
    )
    tables: list[tuple[int, pa.Table]] = []
    bad: list[int] = []
    reader = _Reader.of(layout)
    # Arrow's reader does not reject invalid UTF-8, so check first (one C call when clean).
    if not n or _is_utf8(lines.span(0, n)):
        good = list(range(n))
    else:
        good = []
        for i in range(n):
            try:
                lines[i].decode("utf-8")
                good.append(i)
            except UnicodeDecodeError:
                bad.append(i)
    # parse runs of consecutive good lines
    start = 0
    while start < len(good):
        end = start
        while end + 1 < len(good) and good[end + 1] == good[end] + 1:
            end += 1
        _parse_range(lines, good[start], good[end] + 1, tables, bad, reader)
        start = end + 1
    cons_parts, item_parts, prob_parts = [], [], []
    for offset, table in tables:
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        frame = frame.with_columns(
            pl.int_range(
                first_record + offset, first_record + offset + frame.height, dtype=pl.Int64
            ).alias(RECORD)
        )
        cons, items, probs = normalise_nested(frame, layout)
        cons_parts.append(cons)
        item_parts.append(items)
        prob_parts.append(probs)
    prob_parts.append(
        problem_rows(
            [
                (
                    first_record + i,
                    _classify(lines[i], truncated_candidate=truncated_last and i == n - 1),
                )
                for i in bad
            ]
        )
    )
    cons_schema = {**CONSIGNMENT_SCHEMA, RECORD: pl.Int64(), "_path": pl.String()}
    item_schema = {**ITEM_SCHEMA, RECORD: pl.Int64(), "_path": pl.String()}
    return ParsedBatch(
        source=source,
        fmt=fmt,
        records=records,
        payloads=lines,
        # one chunk per column: Polars 2.1 can panic on window-like expressions
        # (is_first_distinct) over columns concatenated from several parts
        consignments=pl.concat(cons_parts, rechunk=True)
        if cons_parts
        else pl.DataFrame(schema=cons_schema),
        items=pl.concat(item_parts, rechunk=True)
        if item_parts
        else pl.DataFrame(schema=item_schema),
        problems=pl.concat(prob_parts).cast(PROBLEM_SCHEMA),
        labels=layout.labels(),
        separator=".",
    )


def _split_lines(buf: bytes, *, final: bool) -> tuple[np.ndarray, np.ndarray, int]:
    """Line boundaries of ``buf``: (starts, ends without terminators, bytes consumed).

    Only complete lines are returned unless ``final`` (end of file), when a last line without
    a newline is returned too. Carriage returns before newlines are left out of the ends.
    """
    arr = np.frombuffer(buf, dtype=np.uint8)
    newlines = np.flatnonzero(arr == 10)
    starts = np.concatenate([[0], newlines + 1]).astype(np.int64)
    ends = np.concatenate([newlines, [len(buf)]]).astype(np.int64)
    consumed = int(newlines[-1]) + 1 if len(newlines) else 0
    if not final or starts[-1] >= len(buf):
        starts, ends = starts[:-1], ends[:-1]
    else:
        consumed = len(buf)
    has_cr = (ends > starts) & (arr[np.maximum(ends - 1, 0)] == 13)
    return starts, ends - has_cr, consumed


def _non_blank(buf: bytes, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Mask of lines that hold something besides whitespace (blank lines are not records)."""
    arr = np.frombuffer(buf, dtype=np.uint8)
    keep = ends > starts
    first = arr[np.minimum(starts, len(arr) - 1)] if len(arr) else starts
    # a line starting with whitespace is rare: check those one by one
    doubtful = np.flatnonzero(keep & np.isin(first, (9, 11, 12, 13, 32)))
    for i in doubtful:
        keep[i] = bool(buf[int(starts[i]) : int(ends[i])].strip())
    return keep


def iter_jsonl(
    path: Path,
    *,
    layout: NestedLayout,
    chunk_size: int,
    first_record: int = 0,
    fmt: str = "jsonl",
) -> Iterator[ParsedBatch]:
    """Stream a JSON Lines file as batches of at most ``chunk_size`` records.

    Blank lines are not records. A byte-order mark at the start is ignored, as are carriage
    returns before line feeds. Line boundaries are found with NumPy and each chunk goes to
    Arrow as one contiguous slice of the file: no per-line Python work on the fast path.
    """
    record = first_record
    line_base = 0  # lines before the start of ``buf``
    buf = b""
    emitted_any = False
    with path.open("rb") as fh:
        first_block: bytes | None = fh.read(_READ_BLOCK).removeprefix(_BOM)
        while True:
            # gather blocks until a whole chunk of lines is there (each byte copied once)
            parts = [buf]
            newlines = buf.count(b"\n")
            block = first_block if first_block is not None else fh.read(_READ_BLOCK)
            first_block = None
            while block:
                parts.append(block)
                newlines += block.count(b"\n")
                if newlines > chunk_size:
                    break
                block = fh.read(_READ_BLOCK)
            final = not block
            buf = b"".join(parts)
            starts, ends, consumed = _split_lines(buf, final=final)
            keep = _non_blank(buf, starts, ends)
            rec_idx = np.flatnonzero(keep)
            # emit whole chunks; keep the remainder for the next read (or emit it at the end)
            done_lines = 0
            pos = 0
            while len(rec_idx) - pos >= chunk_size or (final and pos < len(rec_idx)):
                take = rec_idx[pos : pos + chunk_size]
                last_line = int(take[-1])
                lines = Lines(buf, starts[take], ends[take])
                numbers = (line_base + take + 1).tolist()
                truncated = final and not buf.endswith(b"\n") and last_line == len(starts) - 1
                yield parse_json_lines(
                    lines,
                    numbers,
                    first_record=record,
                    source=str(path),
                    fmt=fmt,
                    layout=layout,
                    truncated_last=truncated,
                )
                emitted_any = True
                record += len(take)
                pos += len(take)
                done_lines = last_line + 1
            if final:
                break
            # drop what was emitted; keep unemitted complete lines and the incomplete tail
            cut = int(starts[done_lines]) if done_lines < len(starts) else consumed
            buf = buf[cut:]
            line_base += done_lines
    if not emitted_any:
        yield parse_json_lines(
            [], [], first_record=record, source=str(path), fmt=fmt, layout=layout
        )


def iter_json_document(
    path: Path, *, layout: NestedLayout, chunk_size: int, first_record: int = 0
) -> Iterator[ParsedBatch]:
    """Read a JSON document: one filing, a list of filings, or ``{"filings": [...]}``."""
    data = path.read_bytes().removeprefix(_BOM)
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError:
        # The whole document is one (broken) record.
        yield parse_json_lines(
            [data],
            [1],
            first_record=first_record,
            source=str(path),
            fmt="json",
            layout=layout,
            truncated_last=not data.rstrip().endswith((b"}", b"]")),
        )
        return
    if isinstance(doc, dict) and isinstance(doc.get("filings"), list):
        elements = doc["filings"]
    elif isinstance(doc, list):
        elements = doc
    else:
        elements = [doc]
    lines = [orjson.dumps(e) for e in elements]
    for start in range(0, max(len(lines), 1), chunk_size):
        part = lines[start : start + chunk_size]
        yield parse_json_lines(
            part,
            [None] * len(part),
            first_record=first_record + start,
            source=str(path),
            fmt="json",
            layout=layout,
        )
