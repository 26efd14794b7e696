"""Flat CSV files (one row per goods item) -> :class:`ParsedBatch`, through a column map.

A record is a filing: every row sharing the map's ``record_key`` (a declaration number). Each
record keeps its raw rows, re-encoded as a small UTF-8 CSV document (the file's header line
plus the record's rows, byte for byte), so a quarantined record can be fixed and resubmitted
through the same map.

Reading is two-tier. The fast path scans each block of the file with NumPy - quote parity
gives every row boundary, so quoted fields spanning several lines still get the right line
numbers, and the unquoted delimiters give each row's field count - and hands the well-formed
rows to Polars' multi-threaded CSV reader as text. When a block has quoting the structural
scan cannot vouch for (a quote in the middle of a field, text after a closing quote, a quoted
field running on for megabytes), the block is read again with Python's :mod:`csv` module,
whose rules (``strict=True``) are the reference for both paths. Nothing is dropped on either
path: a row with the wrong number of fields is kept as a ``csv.malformed`` row, an unterminated
quoted field at the end of the file as ``file.truncated``, a row with bytes that are not valid
in the map's encoding as ``encoding.invalid`` (its values are still read, with U+FFFD for the
bad bytes). A broken row still joins the record of its key when the key can be read from it,
so a filing with one broken item row is quarantined whole instead of being accepted without
that item. Only blank lines (empty, whitespace, or nothing but delimiters, as spreadsheets
export them) are skipped: they hold no data.

Rows of one key are expected to be contiguous, as exported extracts are (sorted by declaration,
or by date with a declaration's items together), but need not be: a file that fits in one read
block (16 MiB) is grouped as a whole, and in a larger file the rows of a key are grouped within
the window being read (the records not yet emitted plus the current block). Rows of a key that
turn up again after its record was emitted form a second record with the same filing id, which
validation and the store report as a duplicate or a conflict: never silently merged or lost.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

from smartcustoms.errors import InvalidColumnMapError, Problem
from smartcustoms.intake.batch import PATH, ParsedBatch
from smartcustoms.intake.column_map import (
    ColumnMap,
    ColumnSpec,
    constant_expr,
    source_text,
    to_canonical,
)
from smartcustoms.intake.problems import PROBLEM_SCHEMA, Check, empty_problems, run_checks
from smartcustoms.model.columns import (
    CONSIGNMENT_ID,
    CONSIGNMENT_SCHEMA,
    FILING_ID,
    ITEM_NO,
    ITEM_SCHEMA,
    RECORD,
    TIMESTAMP,
)

__all__ = ["iter_csv"]

_BOM: Final = b"\xef\xbb\xbf"
_READ_BLOCK: Final = 16 << 20
_MAX_OPEN_QUOTE: Final = 4 << 20
"""An open quoted field longer than this is taken as a runaway quote: read with :mod:`csv`."""
_NL: Final = 10
_CR: Final = 13
_QUOTE: Final = 34
_KEY_SEP: Final = "\x1f"
_SURROGATE: Final = re.compile("[\udc80-\udcff]")
_TRUNCATED: Final = "the file ends inside a quoted field: the record is incomplete"

# Internal columns of a row frame (one row per CSV data row).
_ROW: Final = "_row"  # ordinal of the data row in the file
_LINE: Final = "_line"  # physical line where the row starts
_RAW: Final = "_raw"  # the row's bytes (UTF-8), line terminator included
_KEY: Final = "_key"  # record key text (parts joined by \x1f), null when unreadable
_ISSUE: Final = "_issue"  # structural problem code (csv.malformed, file.truncated)
_ISSUE_MSG: Final = "_issue_msg"
_ENC: Final = "_enc"  # the row holds bytes invalid in the file's encoding
_GRP: Final = "_grp"  # record index within a window
_CONS: Final = "_cons"  # first row of the row's consignment
_CID: Final = "_cid"
_ROW_SCHEMA: Final = {
    _ROW: pl.Int64(),
    _LINE: pl.Int64(),
    _RAW: pl.Binary(),
    _KEY: pl.String(),
    _ISSUE: pl.String(),
    _ISSUE_MSG: pl.String(),
    _ENC: pl.Boolean(),
}


@dataclass(frozen=True)
class _Layout:
    """A column map resolved against a file's header."""

    cmap: ColumnMap
    n_fields: int
    index: dict[str, int]
    header: bytes

    @property
    def needed(self) -> list[int]:
        """Field indices the map reads, ascending."""
        return sorted({self.index[name] for name in self.cmap.source_columns()})

    @property
    def key_idx(self) -> list[int]:
        """Field indices of the record key, in key order."""
        return [self.index[name] for name in self.cmap.record_key]

    def col(self, source: str) -> str:
        """Row-frame column holding source column ``source``."""
        return f"s{self.index[source]}"

    def row_schema(self) -> dict[str, pl.DataType]:
        """Schema of this layout's row frames."""
        return {**_ROW_SCHEMA, **{f"s{j}": pl.String() for j in self.needed}}


@dataclass(frozen=True)
class _Scan:
    """Rows read from the front of a buffer."""

    rows: pl.DataFrame
    consumed: int
    lines: int


# --------------------------------------------------------------------------- reading


def _utf8_blocks(path: Path, encoding: str) -> Iterator[bytes]:
    """The file as UTF-8 blocks; bytes invalid in ``encoding`` pass through unchanged.

    A UTF-8 byte-order mark wins over the map's encoding (and is dropped): it is an explicit
    statement, and it lets quarantine payloads of any map be resubmitted through that map.
    """
    with path.open("rb") as fh:
        block = fh.read(_READ_BLOCK)
        if block.startswith(_BOM):
            block, encoding = block[len(_BOM) :], "utf-8"
        if encoding == "utf-8":
            while block:
                yield block
                block = fh.read(_READ_BLOCK)
            return
        decoder = codecs.getincrementaldecoder(encoding)(errors="surrogateescape")
        while block:
            yield decoder.decode(block).encode("utf-8", "surrogateescape")
            block = fh.read(_READ_BLOCK)
        yield decoder.decode(b"", final=True).encode("utf-8", "surrogateescape")


class _Lines:
    """Iterator over text lines that counts how many the :mod:`csv` reader pulled."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.pos = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.pos >= len(self.lines):
            raise StopIteration
        self.pos += 1
        return self.lines[self.pos - 1]


def _split_lines(text: str) -> list[str]:
    """``text`` split after each line feed (terminators kept); no empty tail."""
    lines = [line + "\n" for line in text.split("\n")]
    lines[-1] = lines[-1][:-1]
    if not lines[-1]:
        lines.pop()
    return lines


def _read_header(buf: bytes, *, eof: bool, delimiter: str) -> tuple[list[str], int, int] | None:
    """``(names, bytes used, lines used)`` of the header row, or ``None`` to read more.

    Blank lines before the header are skipped. At the end of a file without any row, the
    names are empty.

    Raises:
        InvalidColumnMapError: The header row is not valid CSV (an unterminated quote).
    """
    end = buf.rfind(b"\n") + 1 if not eof else len(buf)
    lines = _Lines(_split_lines(buf[:end].decode("utf-8", "surrogateescape")))
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    try:
        for fields in reader:
            if any(f.strip() for f in fields):
                used = len("".join(lines.lines[: lines.pos]).encode("utf-8", "surrogateescape"))
                return [f.strip() for f in fields], used, lines.pos
    except csv.Error as exc:
        if not eof:
            return None
        raise InvalidColumnMapError(
            f"the header row of the file is not valid CSV: {exc}",
            (Problem("column_map.unreadable_header", "line 1", f"broken CSV quoting: {exc}"),),
        ) from exc
    return None if not eof else ([], len(buf), len(lines.lines))


def _resolve(cmap: ColumnMap, names: list[str], header: bytes, path: Path) -> _Layout:
    """Match the map against the header; every missing or ambiguous column in one error."""
    index: dict[str, int] = {}
    repeated: set[str] = set()
    for i, name in enumerate(names):
        if name in index:
            repeated.add(name)
        index.setdefault(name, i)
    missing = cmap.missing_columns(names)
    problems = [
        Problem(
            "column_map.missing_column",
            f"{path}:header",
            f'the file has no column "{name}", which column map {cmap.id} reads',
        )
        for name in missing
    ]
    problems += [
        Problem(
            "column_map.ambiguous_column",
            f"{path}:header",
            f'the file has more than one column "{name}", which column map {cmap.id} reads',
        )
        for name in cmap.source_columns()
        if name in repeated
    ]
    if problems:
        listed = ", ".join(f'"{n}"' for n in missing) or "none"
        raise InvalidColumnMapError(
            f"{path.name} does not fit column map {cmap.id}: missing column(s) {listed}"
            + (f"; repeated column(s) {', '.join(sorted(repeated))}" if repeated else ""),
            tuple(problems),
        )
    return _Layout(cmap=cmap, n_fields=len(names), index=index, header=header)


def _lenient_key(raw: bytes, layout: _Layout) -> str | None:
    """The record key of a broken row, read as far as the row allows."""
    text = raw.decode("utf-8", "replace")
    try:
        fields = next(csv.reader(io.StringIO(text, newline=""), delimiter=layout.cmap.delimiter))
    except (csv.Error, StopIteration):
        return None
    parts = [fields[i].strip() if i < len(fields) else "" for i in layout.key_idx]
    return _KEY_SEP.join(parts) if all(parts) else None


def _key_expr(layout: _Layout) -> pl.Expr:
    """Record key of well-formed rows from their source columns."""
    parts = []
    for i in layout.key_idx:
        text = pl.col(f"s{i}").str.strip_chars()
        parts.append(pl.when(text == "").then(None).otherwise(text))
    return pl.concat_str(parts, separator=_KEY_SEP).alias(_KEY)


def _scatter(n: int, name: str, dtype: pl.DataType, at: Any, values: Any) -> pl.Series:
    """A null series of length ``n`` with ``values`` at positions ``at``."""
    out = pl.Series(name, [None] * n, dtype=dtype)
    if len(at):
        out = out.scatter(at, pl.Series(values, dtype=dtype))
    return out


def _delimiter_counter(
    is_delim: npt.NDArray[np.bool_], *, longest: int
) -> Callable[[npt.NDArray[np.int64], npt.NDArray[np.int64]], npt.NDArray[np.int64]]:
    """A function counting the delimiters in byte ranges ``[a, b)`` of a block.

    A 16-bit running count is half the memory traffic of positions or 32-bit counts; its
    differences are exact for ranges holding fewer than 65,536 delimiters, which every range
    of a row shorter than 65,536 bytes does. Blocks with longer rows use positions.
    """
    if longest < 1 << 16:
        running = np.zeros(is_delim.size + 1, dtype=np.uint16)
        np.cumsum(is_delim, dtype=np.uint16, out=running[1:])

        def count(a: npt.NDArray[np.int64], b: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
            return (running[b] - running[a]).astype(np.int64)

        return count
    positions = np.flatnonzero(is_delim)

    def exact(a: npt.NDArray[np.int64], b: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        return (np.searchsorted(positions, b) - np.searchsorted(positions, a)).astype(np.int64)

    return exact


@dataclass(frozen=True)
class _Structure:
    """Where the rows of a block are, found from quote parity (no parsing).

    Row ``i`` spans bytes ``starts[i]:stops[i]`` (line break included) and its content ends
    at ``content_end[i]``; it starts on the block's physical line ``first_lines[i]`` and ends
    on ``last_lines[i]`` (0-based).
    """

    starts: npt.NDArray[np.int64]
    stops: npt.NDArray[np.int64]
    content_end: npt.NDArray[np.int64]
    n_fields: npt.NDArray[np.int64]
    blank: npt.NDArray[np.bool_]
    truncated: npt.NDArray[np.bool_]
    first_lines: npt.NDArray[np.int64]
    last_lines: npt.NDArray[np.int64]
    cut: int
    lines: int


def _structure(buf: bytes, *, eof: bool, delimiter: str) -> _Structure | None:
    """Row boundaries and field counts of the complete rows at the front of ``buf``.

    Returns ``None`` when the quoting is irregular (a quote inside a field, text after a
    closing quote) or a quoted field runs on past ``_MAX_OPEN_QUOTE``: parity cannot be
    trusted there, and the :mod:`csv` module decides.
    """
    n = len(buf)
    arr = np.frombuffer(buf, dtype=np.uint8)
    delim = ord(delimiter)
    quotes = np.flatnonzero(arr == _QUOTE)
    newlines = np.flatnonzero(arr == _NL)
    # A byte is inside quotes when an odd number of quotes precede it ("" escapes count 2).
    ends = newlines[(np.searchsorted(quotes, newlines) & 1) == 0] if quotes.size else newlines
    open_at_end = bool(quotes.size & 1)
    cut = n if eof else (int(ends[-1]) + 1 if ends.size else 0)
    if not eof and open_at_end and n - cut > _MAX_OPEN_QUOTE:
        return None
    quotes = quotes[: int(np.searchsorted(quotes, cut))]
    if quotes.size:
        # The i-th quote opens a quoted field when i is even: it must start a field (or be
        # the second of a "" escape); a closing quote must end one (or start an escape).
        opening = (np.arange(quotes.size) & 1) == 0
        prev = arr[np.maximum(quotes - 1, 0)]
        nxt = arr[np.minimum(quotes + 1, n - 1)]
        ok_open = (quotes == 0) | (prev == delim) | (prev == _NL) | (prev == _QUOTE)
        ok_close = (
            (quotes == n - 1) | (nxt == delim) | (nxt == _NL) | (nxt == _CR) | (nxt == _QUOTE)
        )
        if bool(np.any(opening & ~ok_open)) or bool(np.any(~opening & ~ok_close)):
            return None
    starts = np.concatenate(([0], ends[ends < cut] + 1)).astype(np.int64)
    stops = np.concatenate((starts[1:], [cut])).astype(np.int64)
    if stops[-1] == starts[-1]:
        starts, stops = starts[:-1], stops[:-1]
    content_end = stops - (arr[np.maximum(stops - 1, 0)] == _NL)
    content_end -= (content_end > starts) & (arr[np.maximum(content_end - 1, 0)] == _CR)
    # fields = delimiters in the row - delimiters inside its quoted fields + 1
    longest = int((stops - starts).max()) if starts.size else 0
    between = _delimiter_counter(arr[:cut] == delim, longest=longest)
    n_fields = between(starts, content_end) + 1
    if quotes.size:
        opens = quotes[0::2]
        closes = np.append(quotes[1::2], cut) if quotes.size & 1 else quotes[1::2]
        inner = between(opens, closes)
        if inner.any():
            owner = np.searchsorted(starts, opens, side="right") - 1
            n_fields -= np.bincount(owner, weights=inner, minlength=starts.size).astype(np.int64)
    # blank: empty, whitespace only, or nothing but delimiters (spreadsheet exports)
    blank = (content_end == starts) | (content_end - starts == n_fields - 1)
    for i in np.flatnonzero((n_fields == 1) & ~blank):
        blank[i] = not buf[starts[i] : content_end[i]].strip()
    truncated = np.zeros(starts.size, dtype=bool)
    if eof and open_at_end:
        truncated[-1] = True
    return _Structure(
        starts=starts,
        stops=stops,
        content_end=content_end,
        n_fields=n_fields,
        blank=blank,
        truncated=truncated,
        first_lines=np.searchsorted(newlines, starts).astype(np.int64),
        last_lines=np.searchsorted(newlines, content_end).astype(np.int64),
        cut=cut,
        lines=int(np.searchsorted(newlines, cut)),
    )


def _invalid_utf8(buf: bytes, st: _Structure) -> npt.NDArray[np.bool_]:
    """Rows holding bytes that are not valid UTF-8 (one C call when there are none)."""
    region = memoryview(buf)[: st.cut]
    try:
        codecs.utf_8_decode(region, "strict", True)
        return np.zeros(st.starts.size, dtype=bool)
    except UnicodeDecodeError:
        text = codecs.utf_8_decode(region, "surrogateescape", True)[0]
    bad = np.array(
        [i for i, line in enumerate(text.split("\n")) if _SURROGATE.search(line)], dtype=np.int64
    )
    return np.searchsorted(bad, st.last_lines, side="right") > np.searchsorted(
        bad, st.first_lines, side="left"
    )


def _read_valid(
    buf: bytes, st: _Structure, valid: npt.NDArray[np.bool_], layout: _Layout, *, lossy: bool
) -> pl.DataFrame | None:
    """The source columns of the well-formed rows, read by Polars (``None`` if it disagrees)."""
    rows = np.flatnonzero(valid)
    needed = layout.needed
    if not rows.size:
        return pl.DataFrame(schema={f"s{j}": pl.String() for j in needed})
    begin, end = st.starts[rows], st.stops[rows]
    # consecutive well-formed rows are one slice of the block
    breaks = np.flatnonzero(begin[1:] != end[:-1]) + 1
    firsts = np.concatenate(([0], breaks)).tolist()
    lasts = np.concatenate((breaks, [rows.size])).tolist()
    pieces = [buf[begin[a] : end[b - 1]] for a, b in zip(firsts, lasts, strict=True)]
    try:
        frame = pl.read_csv(
            io.BytesIO(pieces[0] if len(pieces) == 1 else b"".join(pieces)),
            has_header=False,
            columns=needed,
            infer_schema=False,
            separator=layout.cmap.delimiter,
            quote_char='"',
            encoding="utf8-lossy" if lossy else "utf8",
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError:
        return None
    if frame.height != rows.size or frame.width != len(needed):
        return None
    frame.columns = [f"s{j}" for j in needed]
    return frame


def _scan_fast(
    buf: bytes, *, eof: bool, layout: _Layout, first_line: int, first_row: int
) -> _Scan | None:
    """Rows at the front of ``buf`` via a NumPy structural scan and Polars, or ``None``.

    ``None`` means the quoting is irregular (or a quoted field runs away) and the buffer must
    be read with :func:`_scan_slow`.
    """
    st = _structure(buf, eof=eof, delimiter=layout.cmap.delimiter)
    if st is None:
        return None
    if not st.starts.size:
        return _Scan(pl.DataFrame(schema=layout.row_schema()), st.cut, st.lines)
    enc = _invalid_utf8(buf, st)
    valid = ~st.blank & ~st.truncated & (st.n_fields == layout.n_fields)
    frame = _read_valid(buf, st, valid, layout, lossy=bool(enc.any()))
    if frame is None:
        return None
    keep = np.flatnonzero(~st.blank)
    k = keep.size
    offsets = np.concatenate((st.starts, st.stops[-1:])).astype(np.int64)
    raw_all = pa.Array.from_buffers(
        pa.large_binary(),
        st.starts.size,
        [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer(buf)],
    )
    raw = pl.Series(_RAW, raw_all if k == st.starts.size else raw_all.take(pa.array(keep)))
    columns: dict[str, pl.Series] = {
        _ROW: pl.Series(_ROW, np.arange(first_row, first_row + k, dtype=np.int64)),
        _LINE: pl.Series(_LINE, first_line + st.first_lines[keep]),
        _RAW: raw.cast(pl.Binary),
        _ENC: pl.Series(_ENC, enc[keep]),
    }
    bad_at = np.flatnonzero(~valid[keep])
    if not bad_at.size:
        columns[_KEY] = frame.select(_key_expr(layout)).to_series()
        columns.update(frame.to_dict())
    else:
        valid_at = np.flatnonzero(valid[keep])
        bad = keep[bad_at]
        keys = _scatter(k, _KEY, pl.String(), valid_at, frame.select(_key_expr(layout)).to_series())
        columns[_KEY] = keys.scatter(
            bad_at, [_lenient_key(buf[st.starts[i] : st.stops[i]], layout) for i in bad]
        )
        for name in frame.columns:
            columns[name] = _scatter(k, name, pl.String(), valid_at, frame[name])
        columns[_ISSUE] = _scatter(
            k,
            _ISSUE,
            pl.String(),
            bad_at,
            ["file.truncated" if st.truncated[i] else "csv.malformed" for i in bad],
        )
        columns[_ISSUE_MSG] = _scatter(
            k,
            _ISSUE_MSG,
            pl.String(),
            bad_at,
            [
                _TRUNCATED
                if st.truncated[i]
                else f"the row has {st.n_fields[i]} fields, the header has {layout.n_fields}"
                for i in bad
            ],
        )
    rows = pl.DataFrame(columns).select(
        (pl.col(c) if c in columns else pl.lit(None, dtype=t)).cast(t).alias(c)
        for c, t in layout.row_schema().items()
    )
    return _Scan(rows, st.cut, st.lines)


def _is_blank(text: str, delimiter: str) -> bool:
    """A line that is empty, whitespace only, or nothing but delimiters."""
    content = text.rstrip("\r\n")
    return not content.strip() or not content.replace(delimiter, "")


def _scan_slow(buf: bytes, *, eof: bool, layout: _Layout, first_line: int, first_row: int) -> _Scan:
    """Rows at the front of ``buf`` read with :mod:`csv` (``strict=True``), line by line."""
    end = len(buf) if eof else buf.rfind(b"\n") + 1
    if end <= 0:
        return _Scan(pl.DataFrame(schema=layout.row_schema()), 0, 0)
    lines = _Lines(_split_lines(buf[:end].decode("utf-8", "surrogateescape")))
    reader = csv.reader(lines, delimiter=layout.cmap.delimiter, quotechar='"', strict=True)
    needed = layout.needed
    out: dict[str, list[Any]] = {c: [] for c in layout.row_schema()}
    used = 0
    while True:
        start = lines.pos
        issue: tuple[str, str] | None = None
        try:
            fields: list[str] | None = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            at_end = lines.pos >= len(lines.lines)
            if at_end and "unexpected end of data" in str(exc):
                if not eof:
                    break  # the row continues in the next block
                issue = ("file.truncated", _TRUNCATED)
            else:
                issue = ("csv.malformed", f"broken CSV quoting: {exc}")
            fields = None
        used = lines.pos
        text = "".join(lines.lines[start:used])
        if issue is None and fields is not None and _is_blank(text, layout.cmap.delimiter):
            continue  # blank line
        raw = text.encode("utf-8", "surrogateescape")
        if issue is None and fields is not None and len(fields) != layout.n_fields:
            issue = (
                "csv.malformed",
                f"the row has {len(fields)} fields, the header has {layout.n_fields}",
            )
        enc = _SURROGATE.search(text) is not None
        out[_ROW].append(first_row + len(out[_ROW]))
        out[_LINE].append(first_line + start)
        out[_RAW].append(raw)
        out[_ISSUE].append(issue[0] if issue else None)
        out[_ISSUE_MSG].append(issue[1] if issue else None)
        out[_ENC].append(enc)
        if issue is None and fields is not None:
            if enc:
                fields = [
                    f.encode("utf-8", "surrogateescape").decode("utf-8", "replace") for f in fields
                ]
            parts = [fields[i].strip() for i in layout.key_idx]
            out[_KEY].append(_KEY_SEP.join(parts) if all(parts) else None)
            for j in needed:
                out[f"s{j}"].append(fields[j])
        else:
            out[_KEY].append(_lenient_key(raw, layout))
            for j in needed:
                out[f"s{j}"].append(None)
    consumed = len("".join(lines.lines[:used]).encode("utf-8", "surrogateescape"))
    return _Scan(pl.DataFrame(out, schema=layout.row_schema()), consumed, used)


def _read_rows(path: Path, cmap: ColumnMap) -> Iterator[tuple[_Layout, pl.DataFrame, bool]]:
    """``(layout, rows, at_eof)`` for each block of ``path``, in file order."""
    blocks = _utf8_blocks(path, cmap.encoding)
    buf = b""
    layout: _Layout | None = None
    line, row = 1, 0
    ahead = next(blocks, None)
    eof = False
    while not eof:
        # read one block ahead, so the last block is known to be last: a file that fits in
        # one block is grouped as a whole
        data, ahead = ahead, next(blocks, None)
        eof = ahead is None
        buf = buf + data if buf and data else (data or buf)
        if layout is None:
            header = _read_header(buf, eof=eof, delimiter=cmap.delimiter)
            if header is None:
                continue
            names, used, used_lines = header
            if not names:
                return  # an empty file: no header, no rows
            layout = _resolve(cmap, names, buf[:used], path)
            buf, line = buf[used:], line + used_lines
        scan = _scan_fast(buf, eof=eof, layout=layout, first_line=line, first_row=row)
        if scan is None:
            scan = _scan_slow(buf, eof=eof, layout=layout, first_line=line, first_row=row)
        buf = buf[scan.consumed :]
        line += scan.lines
        row += scan.rows.height
        yield layout, scan.rows, eof


# --------------------------------------------------------------------------- records


def _windows(
    pending: pl.DataFrame, chunk_size: int, *, eof: bool
) -> tuple[list[pl.DataFrame], pl.DataFrame]:
    """Split ``pending`` rows into chunks of whole records; return the chunks and the rest.

    Records are numbered in order of their first row. Until the end of the file, the record
    of the last row read is held back (its next rows may be in the next block), and so are
    the records after it. ``pending`` and the rest are in file order.
    """
    if pending.height == 0:
        return [], pending
    key = pl.col(_KEY)
    if pending[_KEY].null_count():
        # a row whose key cannot be read is a record of its own
        key = pl.when(key.is_null()).then(pl.format("\x00{}", pl.col(_ROW))).otherwise(key)
    first = pending.select(pl.col(_ROW).min().over(key)).to_series().to_numpy()
    _, groups = np.unique(first, return_inverse=True)
    held = int(groups[-1])
    if groups.size > 1 and bool(np.any(groups[1:] < groups[:-1])):
        order = np.argsort(groups, kind="stable")
        pending, groups = pending[order], groups[order]
    limit = int(groups[-1]) + 1 if eof else held
    chunks: list[pl.DataFrame] = []
    start = 0
    while start < limit and (eof or start + chunk_size <= limit):
        stop = min(start + chunk_size, limit)
        lo, hi = (int(i) for i in np.searchsorted(groups, [start, stop]))
        chunks.append(
            # one chunk per column: expressions over multi-chunk frames re-align every column
            pending.slice(lo, hi - lo)
            .rechunk()
            .with_columns(pl.Series(_GRP, groups[lo:hi] - start, dtype=pl.Int64))
        )
        start = stop
    rest = pending.slice(int(np.searchsorted(groups, start)))
    if rest.height > 1 and not rest[_ROW].is_sorted():
        rest = rest.sort(_ROW)
    return chunks, rest


def _payloads(rows: pl.DataFrame, prefix: bytes) -> list[bytes]:
    """Each record's raw rows behind the header line, as one small CSV document.

    ``rows`` are sorted by record, so a record's rows are one contiguous range of the
    concatenated raw bytes: slice it out once per record.
    """
    if rows.height == 0:
        return []
    raw = rows[_RAW].to_arrow().cast(pa.large_binary())
    if isinstance(raw, pa.ChunkedArray):
        raw = raw.combine_chunks()
    offsets = np.frombuffer(raw.buffers()[1], dtype=np.int64)
    offsets = offsets[raw.offset : raw.offset + len(raw) + 1]
    data = raw.buffers()[2].to_pybytes() if raw.buffers()[2] is not None else b""
    groups = rows[_GRP].to_numpy()
    firsts = np.flatnonzero(np.diff(groups, prepend=-1))
    bounds = offsets[np.append(firsts, rows.height)].tolist()
    return [prefix + data[a:b] for a, b in itertools.pairwise(bounds)]


def _present(raw: pl.Expr, null_values: tuple[str, ...]) -> pl.Expr:
    """The source cell holds something (not empty, not one of the map's null values)."""
    text = raw.str.strip_chars()
    mask = raw.is_not_null() & (text != "")
    if null_values:
        mask = mask & ~text.is_in(list(null_values))
    return mask


def _conversion_check(spec: ColumnSpec, layout: _Layout) -> Check:
    """Problem for cells that hold something but did not convert."""
    raw = pl.col(layout.col(spec.source))
    code, text = spec.failure()
    label = f'column "{spec.source}"'
    return Check(
        _present(raw, layout.cmap.null_values) & pl.col(f"_v.{spec.column}").is_null(),
        code,
        pl.concat_str(pl.col(PATH), pl.lit(", " + label)),
        pl.format(f"{label} {text}: {{}}", raw.str.strip_chars()),
    )


def _fast(spec: ColumnSpec, text: pl.Expr) -> pl.Expr | None:
    """A cheaper conversion that agrees with :func:`to_canonical` wherever it succeeds.

    Whole numbers written as integers and ISO 8601 date-times with an offset (what our own
    exports write) take a single parse; any other spelling falls back to the full
    conversion, which tries each accepted form in turn.
    """
    if spec.scale is not None or spec.format is not None:
        return None
    if spec.target == pl.Int64:
        return text.cast(pl.Int64, strict=False)
    if spec.target == TIMESTAMP:
        # the first form convert_column tries, so both give the same instant
        return (
            text.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%#z", strict=False, time_unit="us")
            .dt.convert_time_zone("UTC")
            .cast(TIMESTAMP)
        )
    return None


def _convert(
    frame: pl.DataFrame, specs: list[ColumnSpec], layout: _Layout
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Add the canonical value of each spec as ``_v.<column>``; return it and the problems."""
    if not specs:
        return frame, empty_problems()
    nulls = layout.cmap.null_values
    texts = {s.column: source_text(s, pl.col(layout.col(s.source)), nulls) for s in specs}
    first_try: dict[str, pl.Expr] = {}
    retry: list[ColumnSpec] = []
    for s in specs:
        quick = _fast(s, texts[s.column])
        first_try[s.column] = quick if quick is not None else to_canonical(s, texts[s.column])
        if quick is not None:
            retry.append(s)
    frame = frame.with_columns(first_try[s.column].alias(f"_v.{s.column}") for s in specs)
    if retry:
        missed = frame.select(
            (texts[s.column].is_not_null() & pl.col(f"_v.{s.column}").is_null())
            .any()
            .alias(s.column)
            for s in retry
        ).row(0, named=True)
        frame = frame.with_columns(
            pl.coalesce(pl.col(f"_v.{s.column}"), to_canonical(s, texts[s.column])).alias(
                f"_v.{s.column}"
            )
            for s in retry
            if missed[s.column]
        )
    # text never fails to convert to text; check the others
    checks = [_conversion_check(s, layout) for s in specs if s.target != pl.String]
    return frame, run_checks(frame, checks)


def _canonical(
    ok: pl.DataFrame, layout: _Layout
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Canonical consignments, items and conversion problems from well-formed rows.

    Item columns (and consignment columns summed over rows) are converted on every row;
    other consignment columns only on the first row of each consignment.
    """
    cmap = layout.cmap
    specs = cmap.columns

    def value(col: str, dtype: pl.DataType) -> pl.Expr:
        if col in specs:
            return pl.col(f"_v.{col}")
        if col in cmap.constants:
            return constant_expr(col, cmap.constants[col])
        if col in (FILING_ID, CONSIGNMENT_ID):
            return pl.col(_KEY).str.replace_all(_KEY_SEP, "/", literal=True)
        return pl.lit(None, dtype=dtype)

    row_specs = [s for s in specs.values() if s.is_item or s.aggregate == "sum"]
    if CONSIGNMENT_ID in specs and specs[CONSIGNMENT_ID] not in row_specs:
        row_specs.append(specs[CONSIGNMENT_ID])
    first_specs = [s for s in specs.values() if s not in row_specs]
    rows = ok.with_columns(pl.format("line {}", pl.col(_LINE)).alias(PATH))
    rows, row_problems = _convert(rows, row_specs, layout)
    rows = rows.with_columns(value(CONSIGNMENT_ID, pl.String()).alias(_CID))
    rows = rows.with_columns(pl.col(_ROW).min().over(RECORD, _CID).alias(_CONS))
    sums = [s for s in specs.values() if s.aggregate == "sum"]
    if sums:
        rows = rows.with_columns(
            pl.when(pl.col(f"_v.{s.column}").is_null().any().over(_CONS))
            .then(None)
            .otherwise(pl.col(f"_v.{s.column}").sum().over(_CONS))
            .cast(CONSIGNMENT_SCHEMA[s.column])
            .alias(f"_v.{s.column}")
            for s in sums
        )

    item_cols = []
    for col, dtype in ITEM_SCHEMA.items():
        if col == CONSIGNMENT_ID:
            item_cols.append(pl.col(_CID).alias(col))
        elif col == ITEM_NO and col not in specs and col not in cmap.constants:
            # no item number in the source: number the consignment's rows in file order
            item_cols.append(pl.col(_ROW).rank("ordinal").over(_CONS).cast(pl.Int64).alias(col))
        else:
            item_cols.append(value(col, dtype).cast(dtype).alias(col))
    items = rows.select(*item_cols, pl.col(RECORD), pl.col(PATH))

    keep = [RECORD, PATH, _KEY, _CID, *(f"_v.{s.column}" for s in sums)]
    keep += list(dict.fromkeys(layout.col(s.source) for s in first_specs))
    is_first = pl.col(_ROW) == pl.col(_CONS)
    firsts = (
        rows.select(keep)
        if rows.select(is_first.all()).item()
        else rows.filter(is_first).select(keep)
    )
    firsts, first_problems = _convert(firsts, first_specs, layout)
    cons = firsts.select(
        *(
            (pl.col(_CID) if col == CONSIGNMENT_ID else value(col, dtype)).cast(dtype).alias(col)
            for col, dtype in CONSIGNMENT_SCHEMA.items()
        ),
        pl.col(RECORD),
        pl.col(PATH),
    )
    found = [p for p in (row_problems, first_problems) if p.height]
    if not found:
        return cons, items, empty_problems()
    # a cell read into two columns (an item value and its sum) is reported once
    return cons, items, pl.concat(found).unique([RECORD, "code", "path"], maintain_order=True)


def _batch(rows: pl.DataFrame, layout: _Layout, path: Path, first_record: int) -> ParsedBatch:
    """Build the batch of one chunk; ``rows`` are sorted by record (``_grp``) then row."""
    rows = rows.with_columns((pl.col(_GRP) + first_record).cast(pl.Int64).alias(RECORD))
    records = (
        rows.select(pl.col(RECORD), pl.col(_LINE).alias("line"), pl.col(_GRP))
        .filter(pl.col(_GRP).is_first_distinct())
        .drop(_GRP)
    )
    prefix = (b"" if layout.cmap.encoding == "utf-8" else _BOM) + layout.header
    payloads = _payloads(rows, prefix)
    line_path = pl.format("line {}", pl.col(_LINE))
    structural = rows.filter(pl.col(_ISSUE).is_not_null()).select(
        pl.col(RECORD),
        pl.col(_ISSUE).alias("code"),
        line_path.alias("path"),
        pl.col(_ISSUE_MSG).alias("message"),
        pl.lit("error").alias("severity"),
    )
    encoding = rows.filter(pl.col(_ENC)).select(
        pl.col(RECORD),
        pl.lit("encoding.invalid").alias("code"),
        line_path.alias("path"),
        pl.format(
            "line {} holds bytes that are not valid {}; they were read as U+FFFD",
            pl.col(_LINE),
            pl.lit(layout.cmap.encoding),
        ).alias("message"),
        pl.lit("error").alias("severity"),
    )
    ok = rows if rows[_ISSUE].null_count() == rows.height else rows.filter(pl.col(_ISSUE).is_null())
    cons, items, converted = _canonical(ok, layout)
    return ParsedBatch(
        source=str(path),
        fmt="csv",
        records=records,
        payloads=payloads,
        consignments=cons,
        items=items,
        problems=pl.concat([structural, encoding, converted]).cast(PROBLEM_SCHEMA),
        labels=layout.cmap.labels(),
        separator=", ",
        column_map=layout.cmap.id,
    )


def _empty_batch(path: Path, cmap: ColumnMap) -> ParsedBatch:
    """The batch of a file without data rows."""
    return ParsedBatch(
        source=str(path),
        fmt="csv",
        records=pl.DataFrame(schema={RECORD: pl.Int64(), "line": pl.Int64()}),
        payloads=[],
        consignments=pl.DataFrame(
            schema={**CONSIGNMENT_SCHEMA, RECORD: pl.Int64(), PATH: pl.String()}
        ),
        items=pl.DataFrame(schema={**ITEM_SCHEMA, RECORD: pl.Int64(), PATH: pl.String()}),
        problems=empty_problems(),
        labels=cmap.labels(),
        separator=", ",
        column_map=cmap.id,
    )


def iter_csv(
    path: Path, *, column_map: ColumnMap, chunk_size: int, first_record: int = 0
) -> Iterator[ParsedBatch]:
    """Stream a flat CSV file as batches of at most ``chunk_size`` records.

    Args:
        path: The CSV file.
        column_map: How its columns become canonical fields (:func:`load_column_map`).
        chunk_size: Records per batch (every batch but the last has exactly this many).
        first_record: Run-wide number of the file's first record.

    Yields:
        Batches whose ``records`` carry ``_record`` and ``line`` (the physical line where the
        record's first row starts). A file without data rows yields one empty batch.

    Raises:
        InvalidColumnMapError: The header lacks columns the map reads (all of them are
            listed), before any row is read.
        ValueError: ``chunk_size`` is below 1.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    record = first_record
    pending: pl.DataFrame | None = None
    for layout, rows, eof in _read_rows(path, column_map):
        pending = rows if pending is None else pl.concat([pending, rows])
        chunks, pending = _windows(pending, chunk_size, eof=eof)
        for chunk in chunks:
            batch = _batch(chunk, layout, path, record)
            record += batch.records.height
            yield batch
    if record == first_record:
        yield _empty_batch(path, column_map)
