"""Full verification of a tiled log: every hash recomputed from the stored entries.

The scan goes entry bundle by entry bundle, in entry order. Each recomputed leaf hash is
compared with the level-0 tile; each full tile's recomputed root is compared at once with the
hash one tile level up, so the first difference met is the one nearest the start of the log.
When an entry and its leaf hash disagree, the blame goes to whichever file no longer agrees with
the rest of the tree: the tile if its own root no longer matches the level above (or, on the
right edge, the acknowledged root), otherwise the entry bundle.
"""

from __future__ import annotations

from smartcustoms.errors import InvalidTileError, LedgerCorruptError
from smartcustoms.ledger.merkle import HASH_SIZE, leaf_hash, tree_root
from smartcustoms.ledger.tiles import (
    INNER_FIRST_ROW,
    TILE_HEIGHT,
    TILE_WIDTH,
    DirectoryTiles,
    TileCache,
    TileCoord,
    TileHashReader,
    encode_inner,
    inner_path,
    iter_entry_bundle,
    tile_pyramid,
)

__all__ = ["verify_log"]


class _DiskTiles:
    """The hash tiles on disk as they serve a tree of ``size``: the TileSource verify trusts."""

    def __init__(self, tiles: DirectoryTiles, size: int) -> None:
        self.tiles = tiles
        self.size = size

    def coord(self, level: int, index: int) -> TileCoord:
        hashes = self.size >> (TILE_HEIGHT * level)
        return TileCoord(level, index, min(TILE_WIDTH, hashes - index * TILE_WIDTH))

    def read_tile(self, level: int, index: int, width: int) -> bytes:
        coord = self.coord(level, index)
        try:
            data = self.tiles.read_tile(level, index, coord.width)
        except InvalidTileError as exc:
            raise LedgerCorruptError(str(exc), index=coord.start, path=coord.path) from None
        return data[: width * HASH_SIZE]


class _Verifier:
    def __init__(self, tiles: DirectoryTiles, size: int, root: bytes) -> None:
        self.tiles = tiles
        self.size = size
        self.root = root
        self.disk = _DiskTiles(tiles, size)
        self.loaded: dict[int, tuple[int, bytes]] = {}  # level -> (tile index, stored bytes)
        self.pending: dict[int, bytearray] = {}  # level -> recomputed hashes of its open tile

    def stored_tile(self, level: int, index: int) -> bytes:
        held = self.loaded.get(level)
        if held is None or held[0] != index:
            width = self.disk.coord(level, index).width
            held = (index, self.disk.read_tile(level, index, width))
            self.loaded[level] = held
        return held[1]

    def run(self) -> None:
        for bundle in range((self.size + TILE_WIDTH - 1) // TILE_WIDTH):
            recomputed = self.check_bundle(bundle)
            if len(recomputed) == TILE_WIDTH * HASH_SIZE:
                self.check_up(1, bundle, tile_pyramid(recomputed)[-1])
        reader = TileHashReader(self.disk, self.size, TileCache(0))
        if tree_root(reader, self.size) != self.root:
            raise LedgerCorruptError("the stored tiles do not give the acknowledged root")

    def check_bundle(self, bundle: int) -> bytes:
        """Recompute the leaf hashes of one bundle and compare them with the level-0 tile."""
        tile = self.stored_tile(0, bundle)
        width = len(tile) // HASH_SIZE
        coord = TileCoord(0, bundle, width, True)
        try:
            data = self.tiles.read(coord)
        except InvalidTileError as exc:
            raise LedgerCorruptError(str(exc), index=coord.start, path=coord.path) from None
        hashes = bytearray()
        entries = iter_entry_bundle(data)
        for offset in range(width):
            index = coord.start + offset
            try:
                entry = next(entries)
            except (StopIteration, InvalidTileError) as exc:
                detail = str(exc) or "it ends early"
                raise LedgerCorruptError(
                    f"entry {index}: {coord.path} cannot be read: {detail}",
                    index=index,
                    path=coord.path,
                ) from None
            value = leaf_hash(entry)
            if value != tile[offset * HASH_SIZE : (offset + 1) * HASH_SIZE]:
                path = self.blame(bundle, tile, coord)
                raise LedgerCorruptError(
                    f"entry {index}: the entry in {coord.path} does not hash to the leaf hash "
                    f"in {TileCoord(0, bundle, width).path}; {path} is the damaged file",
                    index=index,
                    path=path,
                )
            hashes += value
        if width == TILE_WIDTH:
            self.check_inner(bundle, bytes(hashes))
        try:
            extra = next(entries, None) is not None
        except InvalidTileError:
            extra = True
        if extra:
            last = coord.start + width - 1
            raise LedgerCorruptError(
                f"entry {last}: {coord.path} has bytes after its last entry",
                index=last,
                path=coord.path,
            )
        return bytes(hashes)

    def check_inner(self, bundle: int, tile: bytes) -> None:
        """Compare the inner-rows file of a verified full tile, if there is one."""
        path = inner_path(bundle)
        try:
            stored = (self.tiles.root / path).read_bytes()
        except FileNotFoundError:
            return
        expected = encode_inner(tile)
        if stored == expected:
            return
        first = bundle * TILE_WIDTH
        chunk = (
            next(
                (
                    k
                    for k in range(0, len(expected), HASH_SIZE)
                    if stored[k : k + HASH_SIZE] != expected[k : k + HASH_SIZE]
                ),
                0,
            )
            // HASH_SIZE
        )
        row_start = 0
        for r in range(INNER_FIRST_ROW, TILE_HEIGHT):
            count = TILE_WIDTH >> r
            if chunk < row_start + count:
                first += (chunk - row_start) << r
                break
            row_start += count
        raise LedgerCorruptError(
            f"entry {first}: {path} does not match the tile it indexes", index=first, path=path
        )

    def blame(self, bundle: int, tile: bytes, coord: TileCoord) -> str:
        """Say which file is damaged: the level-0 tile or the entry bundle."""
        tile_path = TileCoord(0, bundle, len(tile) // HASH_SIZE).path
        if len(tile) == TILE_WIDTH * HASH_SIZE:
            above = self.stored_tile(1, bundle // TILE_WIDTH)
            offset = (bundle % TILE_WIDTH) * HASH_SIZE
            tile_ok = tile_pyramid(tile)[-1] == above[offset : offset + HASH_SIZE]
        else:
            reader = TileHashReader(self.disk, self.size, TileCache(0))
            tile_ok = tree_root(reader, self.size) == self.root
        return coord.path if tile_ok else tile_path

    def check_up(self, level: int, position: int, value: bytes) -> None:
        """Compare a recomputed full-tile root with the stored hash at ``level``."""
        index, offset = divmod(position, TILE_WIDTH)
        stored = self.stored_tile(level, index)
        if stored[offset * HASH_SIZE : (offset + 1) * HASH_SIZE] != value:
            coord = self.disk.coord(level, index)
            first = position << (TILE_HEIGHT * level)
            raise LedgerCorruptError(
                f"entry {first}: hash {offset} of {coord.path} does not match the entries "
                f"{first} .. {((position + 1) << (TILE_HEIGHT * level)) - 1} below it",
                index=first,
                path=coord.path,
            )
        row = self.pending.setdefault(level, bytearray())
        row += value
        if len(row) == TILE_WIDTH * HASH_SIZE:
            parent = tile_pyramid(bytes(row))[-1]
            row.clear()
            self.check_up(level + 1, index, parent)


def verify_log(tiles: DirectoryTiles, size: int, root: bytes) -> None:
    """Check every stored entry, hash tile and the root of a tiled log of ``size`` entries.

    Args:
        tiles: The log's files.
        size: The acknowledged tree size.
        root: The acknowledged root.

    Raises:
        LedgerCorruptError: At the first entry index whose stored data is wrong, with the file.
    """
    _Verifier(tiles, size, root).run()
