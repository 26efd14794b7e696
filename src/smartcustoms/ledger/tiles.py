"""C2SP tlog-tiles: tile paths, hash tiles, entry bundles, and Merkle hashes read from tiles.

A tiled log (https://c2sp.org/tlog-tiles) stores its Merkle tree as *tiles*: files of up to 256
consecutive hashes at tree levels 0, 8, 16, ... (tile height 8). The hash at position ``i`` of
tile ``N`` at tile level ``L`` is ``MTH(D[(N*256+i) * 256**L : (N*256+i+1) * 256**L])``; the
levels in between are recomputed by hashing a tile's hashes. The rightmost tile of each level is
*partial* (1-255 hashes) and lives at ``tile/<L>/<N>.p/<W>``. Entries are stored beside them as
*entry bundles* (``tile/entries/<N>[.p/<W>]``): each entry prefixed by its big-endian uint16
length.

Everything here is pure (no file access) except :class:`DirectoryTiles`, which reads and writes
the files under one directory.
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from smartcustoms.errors import InvalidTileError, LedgerRangeError
from smartcustoms.ledger._files import write_file_atomically
from smartcustoms.ledger.merkle import HASH_SIZE, MAX_SIZE, tree_root

__all__ = [
    "MAX_ENTRY_SIZE",
    "MAX_TILE_LEVEL",
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "DirectoryTiles",
    "TileBuilder",
    "TileCache",
    "TileCoord",
    "TileHashReader",
    "TileSource",
    "encode_entry_bundle",
    "format_tile_index",
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

_FULL_TILE_BYTES = TILE_WIDTH * HASH_SIZE
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
    if not data or len(data) % HASH_SIZE or len(data) > _FULL_TILE_BYTES:
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


class TileSource(Protocol):
    """Reads hash tiles: at least the first ``width`` hashes of tile ``index`` at ``level``."""

    def read_tile(self, level: int, index: int, width: int) -> bytes:
        """Return the tile's first ``width`` hashes, or more of them (up to 256) if stored.

        Readers use the first ``width``; raise if fewer are available.
        """
        ...


class TileCache:
    """Bounded LRU caches of tile pyramids (see :func:`tile_pyramid`), shared by readers.

    A tile's first ``width`` hashes never change once written (full tiles are immutable and a
    partial tile only grows), so a pyramid keyed by level, index and width stays valid, and a
    full tile's pyramid serves every prefix of it. Level-0 tiles get a cache of their own: on a
    large log almost every proof touches a different one, and they must not evict the few
    higher tiles that every proof shares.

    Args:
        capacity: Most pyramids of level-1-and-above tiles kept (each about 16 KiB).
        level0_capacity: Most pyramids of level-0 tiles kept.
    """

    def __init__(self, capacity: int = 2048, level0_capacity: int = 256) -> None:
        self.capacity = capacity
        self.level0_capacity = level0_capacity
        self._upper: OrderedDict[tuple[int, int, int], list[bytes]] = OrderedDict()
        self._level0: OrderedDict[tuple[int, int, int], list[bytes]] = OrderedDict()

    def get(self, level: int, index: int, width: int) -> list[bytes] | None:
        """Return a cached pyramid covering the first ``width`` hashes of a tile, if any."""
        items = self._level0 if level == 0 else self._upper
        for key in ((level, index, TILE_WIDTH), (level, index, width)):
            rows = items.get(key)
            if rows is not None:
                items.move_to_end(key)
                return rows
        return None

    def put(self, level: int, index: int, width: int, rows: list[bytes]) -> None:
        """Remember the pyramid of the first ``width`` hashes of a tile."""
        items, limit = (
            (self._level0, self.level0_capacity) if level == 0 else (self._upper, self.capacity)
        )
        items[(level, index, width)] = rows
        while len(items) > limit:
            items.popitem(last=False)


class TileHashReader:
    """A :class:`~smartcustoms.ledger.merkle.HashReader` over the tiles of a tree of ``size``.

    A full subtree at tree level ``8L + r`` is read from tile level ``L`` by hashing ``2**r``
    of its hashes, so a proof touches one tile per tile level and side.

    Args:
        source: Where tiles come from.
        size: The tree size the tiles are read for (it fixes each partial tile's width).
        cache: Pyramids of full tiles, shared between readers.
    """

    def __init__(self, source: TileSource, size: int, cache: TileCache | None = None) -> None:
        self.source = source
        self.size = size
        self.cache = cache if cache is not None else TileCache()
        self._local: dict[tuple[int, int], list[bytes]] = {}

    def subtree_hash(self, level: int, index: int) -> bytes:
        """Return the hash of the full subtree at tree ``level``, ``index``."""
        tile_level, r = divmod(level, TILE_HEIGHT)
        first = index << r  # first hash at tree level 8 * tile_level
        if (first + (1 << r)) << (TILE_HEIGHT * tile_level) > self.size or index < 0:
            raise LedgerRangeError(f"subtree {level}/{index} is not full in size {self.size}")
        tile_index, offset = divmod(first, TILE_WIDTH)
        available = (self.size >> (TILE_HEIGHT * tile_level)) - tile_index * TILE_WIDTH
        rows = self._pyramid(tile_level, tile_index, min(available, TILE_WIDTH))
        position = (offset >> r) * HASH_SIZE
        return rows[r][position : position + HASH_SIZE]

    def root(self) -> bytes:
        """Root of the tree of :attr:`size` leaves."""
        return tree_root(self, self.size)

    def _pyramid(self, level: int, index: int, width: int) -> list[bytes]:
        # A reader is bound to one size, so a tile's width never changes within it.
        rows = self._local.get((level, index))
        if rows is not None:
            return rows
        rows = self.cache.get(level, index, width)
        if rows is None:
            data = self._read(level, index, width)
            # A level-0 tile is rarely met twice: hash only the prefix this size needs. Higher
            # tiles are shared by many proofs: hash all that is stored, for every later size.
            if level == 0:
                data = data[: width * HASH_SIZE]
            rows = tile_pyramid(data)
            self.cache.put(level, index, len(data) // HASH_SIZE, rows)
        self._local[(level, index)] = rows
        return rows

    def _read(self, level: int, index: int, width: int) -> bytes:
        data = self.source.read_tile(level, index, width)
        if len(data) < width * HASH_SIZE or len(data) % HASH_SIZE or len(data) > _FULL_TILE_BYTES:
            raise InvalidTileError(
                f"{TileCoord(level, index, width).path} is {len(data)} bytes, "
                f"expected {width * HASH_SIZE}"
            )
        return data


class TileBuilder:
    """Turns appended leaf hashes into the hash tiles C2SP tlog-tiles stores.

    It keeps the right edge of the tree: for each tile level, the hashes of the partial tile.

    Args:
        size: The tree size the edge describes.
        edge: For each tile level from 0, the concatenated hashes of its partial tile at ``size``
            (``floor(size / 256**L) mod 256`` hashes each; empty for a level without one).
    """

    def __init__(self, size: int = 0, edge: Sequence[bytes | bytearray] = ()) -> None:
        self.size = size
        self.edge = [bytearray(row) for row in edge]
        for level, row in enumerate(self.edge):
            if len(row) != ((size >> (TILE_HEIGHT * level)) % TILE_WIDTH) * HASH_SIZE:
                raise InvalidTileError(f"edge tile at level {level} does not fit size {size}")

    def extend(self, leaf_hashes: Iterable[bytes]) -> list[tuple[TileCoord, bytes]]:
        """Append leaf hashes; return every tile to write for the new size, lowest level first.

        That is each tile completed by the append, then the new partial tile of every level
        whose partial tile changed.
        """
        written: list[tuple[TileCoord, bytes]] = []
        touched: set[int] = set()
        for leaf in leaf_hashes:
            if len(leaf) != HASH_SIZE:
                raise InvalidTileError(f"leaf hash is {len(leaf)} bytes, expected {HASH_SIZE}")
            self._push(0, leaf, written, touched)
            self.size += 1
        for level in sorted(touched):
            row = self.edge[level]
            if row:
                index = (self.size >> (TILE_HEIGHT * level)) // TILE_WIDTH
                coord = TileCoord(level, index, len(row) // HASH_SIZE)
                written.append((coord, bytes(row)))
        written.sort(key=lambda item: (item[0].level, item[0].index))
        return written

    def _push(
        self, level: int, value: bytes, written: list[tuple[TileCoord, bytes]], touched: set[int]
    ) -> None:
        while True:
            if level == len(self.edge):
                self.edge.append(bytearray())
            row = self.edge[level]
            row += value
            touched.add(level)
            if len(row) < _FULL_TILE_BYTES:
                return
            index = ((self.size + 1) >> (TILE_HEIGHT * level)) // TILE_WIDTH - 1
            data = bytes(row)
            written.append((TileCoord(level, index), data))
            row.clear()
            value = tile_pyramid(data)[-1]
            level += 1

    def root(self) -> bytes:
        """Root of the tree of :attr:`size` leaves, from the edge tiles alone."""
        return tree_root(TileHashReader(_EdgeSource(self), self.size, TileCache(0)), self.size)


class _EdgeSource:
    """Serves a builder's partial tiles: all that a root computation reads."""

    def __init__(self, builder: TileBuilder) -> None:
        self.builder = builder

    def read_tile(self, level: int, index: int, width: int) -> bytes:
        return bytes(self.builder.edge[level])


class DirectoryTiles:
    """Hash tiles and entry bundles stored as files under ``root``, at their C2SP paths.

    Reads are exact: ``read_tile(level, index, width)`` opens ``tile/<L>/<N>.p/<W>`` for a
    partial width. :class:`~smartcustoms.ledger.log.TiledLog` maps widths to the files it keeps.

    Args:
        root: The log directory (the C2SP ``<prefix>``).
    """

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def file(self, coord: TileCoord) -> Path:
        """The file holding the tile at ``coord``."""
        return self.root / coord.path

    def read(self, coord: TileCoord) -> bytes:
        """Read the raw bytes of a tile or bundle.

        Raises:
            InvalidTileError: The file is missing (the message names it).
        """
        try:
            return self.file(coord).read_bytes()
        except FileNotFoundError:
            raise InvalidTileError(f"{coord.path} is missing") from None

    def read_tile(self, level: int, index: int, width: int) -> bytes:
        """Read the hash tile of exactly ``width`` hashes (a :class:`TileSource`)."""
        data = self.read(TileCoord(level, index, width))
        if len(data) != width * HASH_SIZE:
            raise InvalidTileError(
                f"{TileCoord(level, index, width).path} is {len(data)} bytes, "
                f"expected {width * HASH_SIZE}"
            )
        return data

    def write(self, coord: TileCoord, data: bytes, *, durable: bool = True) -> list[Path]:
        """Write a tile atomically (temporary file, then rename).

        With ``durable`` the file is fsynced before the rename; the caller fsyncs the returned
        directories (see :func:`~smartcustoms.ledger._files.fsync_directories`) once all files
        of a batch are in place.

        Returns:
            The directories whose entries changed.
        """
        return write_file_atomically(self.file(coord), data, durable=durable)

    def remove_partials(self, coord: TileCoord) -> None:
        """Delete every partial version of a tile once the full tile is stored."""
        partials = self.root / (coord.path + ".p")
        if partials.is_dir():
            for child in partials.iterdir():
                child.unlink(missing_ok=True)
            os.rmdir(partials)
