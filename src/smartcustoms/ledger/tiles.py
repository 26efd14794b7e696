"""C2SP tlog-tiles: tile paths, hash tiles, entry bundles, and Merkle hashes read from tiles.

A tiled log (https://c2sp.org/tlog-tiles) stores its Merkle tree as *tiles*: files of up to 256
consecutive hashes at tree levels 0, 8, 16, ... (tile height 8). The hash at position ``i`` of
tile ``N`` at tile level ``L`` is ``MTH(D[(N*256+i) * 256**L : (N*256+i+1) * 256**L])``; the
levels in between are recomputed by hashing a tile's hashes. The rightmost tile of each level is
*partial* (1-255 hashes) and lives at ``tile/<L>/<N>.p/<W>``. Entries are stored beside them as
*entry bundles* (``tile/entries/<N>[.p/<W>]``): each entry prefixed by its big-endian uint16
length.

The formats themselves (paths, bundles, tile hashing, the inner-rows index) live in
:mod:`smartcustoms.ledger._tile_format` and are re-exported here. This module adds reading
hashes from tiles (:class:`TileHashReader` with its :class:`TileCache`), turning appended leaf
hashes into tiles (:class:`TileBuilder`), and the files of one directory
(:class:`DirectoryTiles`, the only part that touches the disk).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Protocol

from smartcustoms.errors import InvalidTileError, LedgerRangeError
from smartcustoms.ledger._files import write_file_atomically
from smartcustoms.ledger._tile_format import (
    FULL_TILE_BYTES,
    INNER_FIRST_ROW,
    INNER_SIZE,
    MAX_ENTRY_SIZE,
    MAX_TILE_LEVEL,
    TILE_HEIGHT,
    TILE_WIDTH,
    TileCoord,
    decode_inner,
    encode_entry_bundle,
    encode_inner,
    format_tile_index,
    inner_path,
    iter_entry_bundle,
    parse_entry_bundle,
    parse_tile_path,
    tile_pyramid,
    tiles_for_size,
)
from smartcustoms.ledger.merkle import HASH_SIZE, tree_root

__all__ = [
    "FULL_TILE_BYTES",
    "INNER_FIRST_ROW",
    "INNER_SIZE",
    "MAX_ENTRY_SIZE",
    "MAX_TILE_LEVEL",
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "DirectoryTiles",
    "InnerSource",
    "TileBuilder",
    "TileCache",
    "TileCoord",
    "TileHashReader",
    "TileSource",
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


class TileSource(Protocol):
    """Reads hash tiles: at least the first ``width`` hashes of tile ``index`` at ``level``."""

    def read_tile(self, level: int, index: int, width: int) -> bytes:
        """Return the tile's first ``width`` hashes, or more of them (up to 256) if stored.

        Readers use the first ``width``; raise if fewer are available.
        """
        ...


class _Pyramid:
    """A tile with every inner node computed (see :func:`tile_pyramid`)."""

    __slots__ = ("rows",)

    def __init__(self, rows: list[bytes]) -> None:
        self.rows = rows

    def node(self, r: int, position: int) -> bytes:
        return self.rows[r][position * HASH_SIZE : (position + 1) * HASH_SIZE]


class _Indexed:
    """A full tile with its stored rows 4-7: lower nodes are hashed on demand (<= 7 hashes)."""

    __slots__ = ("data", "upper")

    def __init__(self, data: bytes, upper: list[bytes]) -> None:
        self.data = data
        self.upper = upper

    def node(self, r: int, position: int) -> bytes:
        if r >= INNER_FIRST_ROW:
            row = self.upper[r - INNER_FIRST_ROW]
            return row[position * HASH_SIZE : (position + 1) * HASH_SIZE]
        first = (position << r) * HASH_SIZE
        return tile_pyramid(self.data[first : first + (HASH_SIZE << r)])[-1]


_TileView = _Pyramid | _Indexed

InnerSource = Callable[[int, int], "bytes | None"]
"""Returns the inner-rows file of full tile (level, index), or None (see :func:`encode_inner`)."""


class TileCache:
    """Bounded LRU caches of hashed tiles, shared by the readers of one log.

    A tile's first ``width`` hashes never change once written (full tiles are immutable and a
    partial tile only grows), so a hashed tile keyed by level, index and width stays valid, and
    a full tile serves every prefix of it. Level-0 tiles get a cache of their own: on a large
    log almost every proof touches a different one, and they must not evict the few higher
    tiles that every proof shares.

    Args:
        capacity: Most level-1-and-above tiles kept (each about 16 KiB hashed).
        level0_capacity: Most level-0 tiles kept.
    """

    def __init__(self, capacity: int = 2048, level0_capacity: int = 256) -> None:
        self.capacity = capacity
        self.level0_capacity = level0_capacity
        self._upper: OrderedDict[tuple[int, int, int], _TileView] = OrderedDict()
        self._level0: OrderedDict[tuple[int, int, int], _TileView] = OrderedDict()

    def get(self, level: int, index: int, width: int) -> _TileView | None:
        """Return a cached tile covering its first ``width`` hashes, if any."""
        items = self._level0 if level == 0 else self._upper
        for key in ((level, index, TILE_WIDTH), (level, index, width)):
            view = items.get(key)
            if view is not None:
                items.move_to_end(key)
                return view
        return None

    def put(self, level: int, index: int, width: int, view: _TileView) -> None:
        """Remember a hashed tile covering its first ``width`` hashes."""
        items, limit = (
            (self._level0, self.level0_capacity) if level == 0 else (self._upper, self.capacity)
        )
        items[(level, index, width)] = view
        while len(items) > limit:
            items.popitem(last=False)


class TileHashReader:
    """A :class:`~smartcustoms.ledger.merkle.HashReader` over the tiles of a tree of ``size``.

    A full subtree at tree level ``8L + r`` is read from tile level ``L`` by hashing ``2**r``
    of its hashes, so a proof touches one tile per tile level and side. Given ``inner``, a full
    level-0 tile with a valid inner-rows file needs at most 7 hashes per node instead.

    Args:
        source: Where tiles come from.
        size: The tree size the tiles are read for (it fixes each partial tile's width).
        cache: Hashed tiles, shared between readers.
        inner: Where inner-rows files of full level-0 tiles come from, if anywhere.
    """

    def __init__(
        self,
        source: TileSource,
        size: int,
        cache: TileCache | None = None,
        inner: InnerSource | None = None,
    ) -> None:
        self.source = source
        self.size = size
        self.cache = cache if cache is not None else TileCache()
        self.inner = inner
        self._local: dict[tuple[int, int], _TileView] = {}

    def subtree_hash(self, level: int, index: int) -> bytes:
        """Return the hash of the full subtree at tree ``level``, ``index``."""
        tile_level, r = divmod(level, TILE_HEIGHT)
        first = index << r  # first hash at tree level 8 * tile_level
        if (first + (1 << r)) << (TILE_HEIGHT * tile_level) > self.size or index < 0:
            raise LedgerRangeError(f"subtree {level}/{index} is not full in size {self.size}")
        tile_index, offset = divmod(first, TILE_WIDTH)
        available = (self.size >> (TILE_HEIGHT * tile_level)) - tile_index * TILE_WIDTH
        view = self._view(tile_level, tile_index, min(available, TILE_WIDTH))
        return view.node(r, offset >> r)

    def root(self) -> bytes:
        """Root of the tree of :attr:`size` leaves."""
        return tree_root(self, self.size)

    def _view(self, level: int, index: int, width: int) -> _TileView:
        # A reader is bound to one size, so a tile's width never changes within it.
        view = self._local.get((level, index))
        if view is None:
            view = self.cache.get(level, index, width)
        if view is None:
            view = self._hash_tile(level, index, width)
        self._local[(level, index)] = view
        return view

    def _hash_tile(self, level: int, index: int, width: int) -> _TileView:
        data = self._read(level, index, width)
        if level == 0 and len(data) == FULL_TILE_BYTES and self.inner is not None:
            blob = self.inner(level, index)
            upper = decode_inner(blob, data) if blob is not None else None
            if upper is not None:
                indexed = _Indexed(data, upper)
                self.cache.put(level, index, TILE_WIDTH, indexed)
                return indexed
        # A level-0 tile is rarely met twice: hash only the prefix this size needs. Higher
        # tiles are shared by many proofs: hash all that is stored, for every later size.
        if level == 0:
            data = data[: width * HASH_SIZE]
        view = _Pyramid(tile_pyramid(data))
        self.cache.put(level, index, len(data) // HASH_SIZE, view)
        return view

    def _read(self, level: int, index: int, width: int) -> bytes:
        data = self.source.read_tile(level, index, width)
        if len(data) < width * HASH_SIZE or len(data) % HASH_SIZE or len(data) > FULL_TILE_BYTES:
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
            if len(row) < FULL_TILE_BYTES:
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
        self._prefix = str(self.root)

    def file(self, coord: TileCoord) -> Path:
        """The file holding the tile at ``coord``."""
        return self.root / coord.path

    def read(self, coord: TileCoord) -> bytes:
        """Read the raw bytes of a tile or bundle.

        Raises:
            InvalidTileError: The file is missing (the message names it).
        """
        try:
            with open(os.path.join(self._prefix, coord.path), "rb") as file:  # no Path: hot path
                return file.read()
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
