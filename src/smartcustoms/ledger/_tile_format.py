"""C2SP tlog-tiles formats: tile coordinates and paths, entry bundles, tile hashing.

Pure functions and values; :mod:`smartcustoms.ledger.tiles` re-exports them beside the
classes that read and write tiles.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from smartcustoms.errors import InvalidTileError, LedgerRangeError
from smartcustoms.ledger.merkle import HASH_SIZE, MAX_SIZE

__all__ = [
    "FULL_TILE_BYTES",
    "INNER_FIRST_ROW",
    "INNER_SIZE",
    "MAX_ENTRY_SIZE",
    "MAX_TILE_LEVEL",
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "TileCoord",
    "decode_inner",
    "encode_entry_bundle",
    "encode_inner",
    "format_tile_index",
    "inner_path",
    "iter_entry_bundle",
    "parse_entry_bundle",
    "parse_tile_path",
    "tile_pyramid",
    "tiles_for_size",
]

TILE_HEIGHT = 8
"""Tree levels per tile (fixed by C2SP tlog-tiles)."""

TILE_WIDTH = 1 << TILE_HEIGHT
"""Hashes in a full tile (and entries in a full entry bundle): 256."""

MAX_TILE_LEVEL = 63
"""Highest tile level a path may name."""

MAX_ENTRY_SIZE = 0xFFFF
"""Longest entry an entry bundle can hold (uint16 length prefix)."""

FULL_TILE_BYTES = TILE_WIDTH * HASH_SIZE
"""Bytes in a full hash tile: 8,192."""
_PREFIX = struct.Struct(">H")


@dataclass(frozen=True, slots=True)
class TileCoord:
    """Where a hash tile or an entry bundle sits in a tiled log.

    Attributes:
        level: Tile level (0 holds leaf hashes); 0 for entry bundles.
        index: Tile index within the level.
        width: Hashes (or entries) in the tile: 256 for a full tile, 1-255 for a partial one.
        is_entries: True for an entry bundle, False for a hash tile.
    """

    level: int
    index: int
    width: int = TILE_WIDTH
    is_entries: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.level <= MAX_TILE_LEVEL or (self.is_entries and self.level):
            raise InvalidTileError(f"tile level {self.level} is outside 0 .. {MAX_TILE_LEVEL}")
        if not 1 <= self.width <= TILE_WIDTH:
            raise InvalidTileError(f"tile width {self.width} is outside 1 .. {TILE_WIDTH}")
        if self.index < 0 or self.index << (TILE_HEIGHT * (self.level + 1)) >= MAX_SIZE:
            raise InvalidTileError(f"tile index {self.index} is outside a 2**64-leaf tree")

    @property
    def is_partial(self) -> bool:
        """Whether the tile holds fewer than 256 hashes."""
        return self.width < TILE_WIDTH

    @property
    def path(self) -> str:
        """The tile's path relative to the log prefix, e.g. ``tile/0/x001/234.p/5``."""
        head = "tile/entries/" if self.is_entries else f"tile/{self.level}/"
        tail = f".p/{self.width}" if self.is_partial else ""
        return head + format_tile_index(self.index) + tail

    @property
    def start(self) -> int:
        """First entry index the tile covers."""
        return self.index << (TILE_HEIGHT * (self.level + 1))


def format_tile_index(index: int) -> str:
    """Encode a tile index as zero-padded 3-digit path elements (``1234067`` → ``x001/x234/067``).

    Args:
        index: A non-negative tile index.

    Returns:
        The path elements; all but the last start with ``x``.
    """
    if index < 0:
        raise InvalidTileError(f"tile index {index} is negative")
    groups = [f"{index % 1000:03d}"]
    index //= 1000
    while index:
        groups.append(f"x{index % 1000:03d}")
        index //= 1000
    return "/".join(reversed(groups))


def _parse_decimal(text: str, what: str) -> int:
    if (
        len(text) > 20
        or not text.isascii()
        or not text.isdigit()
        or (len(text) > 1 and text[0] == "0")
    ):
        raise InvalidTileError(f"{what} {text!r} is not a decimal without leading zeros")
    return int(text)


def parse_tile_path(path: str) -> TileCoord:
    """Parse a C2SP tile or entry-bundle path (``tile/<L>/<N>[.p/<W>]``, ``tile/entries/...``).

    Only the canonical encoding is accepted, so every tile has exactly one path.

    Args:
        path: The path relative to the log prefix.

    Returns:
        The tile's coordinates.

    Raises:
        InvalidTileError: The path is not a canonical tile path.
    """
    parts = path.split("/")
    if len(parts) < 3 or parts[0] != "tile":
        raise InvalidTileError(f"{path!r} is not a tile path (tile/<L>/<N>[.p/<W>])")
    is_entries = parts[1] == "entries"
    level = 0 if is_entries else _parse_decimal(parts[1], "tile level")
    elements = parts[2:]
    width = TILE_WIDTH
    if len(elements) >= 2 and elements[-2].endswith(".p"):
        width = _parse_decimal(elements[-1], "tile width")
        if not 1 <= width < TILE_WIDTH:
            raise InvalidTileError(f"partial tile width {width} is outside 1 .. 255")
        elements = [*elements[:-2], elements[-2][:-2]]
    index = 0
    for position, element in enumerate(elements):
        digits = element[1:] if position < len(elements) - 1 and element[:1] == "x" else element
        if position < len(elements) - 1 and element[:1] != "x":
            raise InvalidTileError(f"{path!r}: element {element!r} must start with 'x'")
        if len(digits) != 3 or not digits.isascii() or not digits.isdigit():
            raise InvalidTileError(f"{path!r}: element {element!r} is not 3 digits")
        index = index * 1000 + int(digits)
    if len(elements) > 1 and elements[0] == "x000":
        raise InvalidTileError(f"{path!r}: tile index has a leading zero group")
    if level > MAX_TILE_LEVEL:
        raise InvalidTileError(f"tile level {level} is outside 0 .. {MAX_TILE_LEVEL}")
    return TileCoord(level, index, width, is_entries)


def tiles_for_size(size: int) -> list[TileCoord]:
    """Every hash tile of a tree of ``size`` leaves, level by level (C2SP tile math).

    Args:
        size: The tree size.

    Returns:
        Full tiles then the partial tile, for each level that has any hash.
    """
    if not 0 <= size < MAX_SIZE:
        raise LedgerRangeError(f"tree size {size} is outside 0 .. 2**64-1")
    coords: list[TileCoord] = []
    level = 0
    while size >> (TILE_HEIGHT * level):
        hashes = size >> (TILE_HEIGHT * level)
        coords.extend(TileCoord(level, n) for n in range(hashes // TILE_WIDTH))
        if hashes % TILE_WIDTH:
            coords.append(TileCoord(level, hashes // TILE_WIDTH, hashes % TILE_WIDTH))
        level += 1
    return coords


def encode_entry_bundle(entries: Iterable[bytes]) -> bytes:
    """Encode entries as an entry bundle: each prefixed by its big-endian uint16 length."""
    out = bytearray()
    for entry in entries:
        if len(entry) > MAX_ENTRY_SIZE:
            raise InvalidTileError(f"entry of {len(entry)} bytes exceeds {MAX_ENTRY_SIZE}")
        out += _PREFIX.pack(len(entry))
        out += entry
    return bytes(out)


def iter_entry_bundle(data: bytes) -> Iterator[bytes]:
    """Yield the entries of an entry bundle one by one, raising where it stops making sense.

    Raises:
        InvalidTileError: A length prefix or an entry is cut short.
    """
    offset = 0
    position = 0
    while offset < len(data):
        if offset + 2 > len(data):
            raise InvalidTileError(f"entry {position}: length prefix cut short at byte {offset}")
        (length,) = _PREFIX.unpack_from(data, offset)
        if offset + 2 + length > len(data):
            raise InvalidTileError(
                f"entry {position}: {length} bytes announced at byte {offset}, "
                f"{len(data) - offset - 2} left"
            )
        yield data[offset + 2 : offset + 2 + length]
        offset += 2 + length
        position += 1


def parse_entry_bundle(data: bytes, width: int | None = None) -> list[bytes]:
    """Decode a whole entry bundle.

    Args:
        data: The bundle bytes.
        width: How many entries the bundle must hold, if known.

    Returns:
        The entries in order.

    Raises:
        InvalidTileError: The bundle is malformed, holds more than 256 entries, or not ``width``.
    """
    entries = list(iter_entry_bundle(data))
    if len(entries) > TILE_WIDTH:
        raise InvalidTileError(f"entry bundle holds {len(entries)} entries, more than 256")
    if width is not None and len(entries) != width:
        raise InvalidTileError(f"entry bundle holds {len(entries)} entries, expected {width}")
    return entries


def tile_pyramid(data: bytes) -> list[bytes]:
    """Hash a tile's hashes up to its root, keeping every full subtree.

    Args:
        data: ``W`` concatenated 32-byte hashes (``1 <= W <= 256``).

    Returns:
        Rows ``r = 0, 1, ...``: row ``r`` concatenates the hashes of the full subtrees of
        ``2**r`` tile hashes, left to right. For a full tile the last row is its 32-byte root.
    """
    if not data or len(data) % HASH_SIZE or len(data) > FULL_TILE_BYTES:
        raise InvalidTileError(f"a hash tile cannot be {len(data)} bytes")
    sha256 = hashlib.sha256  # this loop is the hot path of proof generation: keep it inline
    pair = 2 * HASH_SIZE
    rows = [data]
    row = data
    while len(row) >= pair:
        row = b"".join(
            [
                sha256(b"\x01" + row[i : i + pair]).digest()
                for i in range(0, len(row) - pair + 1, pair)
            ]
        )
        rows.append(row)
    return rows


INNER_FIRST_ROW = 4
"""First pyramid row an inner-rows file keeps (rows 4-7: subtrees of 16 to 128 tile hashes)."""

INNER_SIZE = (16 + 8 + 4 + 2) * HASH_SIZE + HASH_SIZE
"""Bytes in an inner-rows file: 30 hashes and a checksum (992)."""


def inner_path(index: int) -> str:
    """Path of the inner-rows file of full level-0 tile ``index`` (``inner/0/<N>``)."""
    return "inner/0/" + format_tile_index(index)


def encode_inner(data: bytes) -> bytes:
    """Rows 4-7 of a full tile's pyramid, then ``SHA-256(tile || rows)``.

    Not part of C2SP: a private index beside the tiles. With it, a proof needs at most 7 hashes
    inside a level-0 tile instead of rebuilding the tile's 255 inner nodes. The checksum binds
    the rows to the tile's own bytes, so a torn, stale or misplaced file is detected on read.
    """
    if len(data) != FULL_TILE_BYTES:
        raise InvalidTileError(f"inner rows need a full tile, not {len(data)} bytes")
    rows = b"".join(tile_pyramid(data)[INNER_FIRST_ROW:TILE_HEIGHT])
    return rows + hashlib.sha256(data + rows).digest()


def decode_inner(blob: bytes, data: bytes) -> list[bytes] | None:
    """Rows 4-7 from an inner-rows file, or None unless it matches the tile ``data`` exactly."""
    if len(blob) != INNER_SIZE or len(data) != FULL_TILE_BYTES:
        return None
    rows = blob[:-HASH_SIZE]
    if hashlib.sha256(data + rows).digest() != blob[-HASH_SIZE:]:
        return None
    out, start = [], 0
    for r in range(INNER_FIRST_ROW, TILE_HEIGHT):
        length = (TILE_WIDTH >> r) * HASH_SIZE
        out.append(rows[start : start + length])
        start += length
    return out
