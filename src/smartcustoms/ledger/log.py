"""A durable append-only Merkle log stored as C2SP tlog-tiles in one directory.

Layout of the directory::

    state            size and root the log acknowledges (JSON with a checksum), replaced atomically
    lock             held with flock(2) while a process has the log open: one writer at a time
    tile/<L>/<N>     hash tiles (C2SP tlog-tiles), partial ones at tile/<L>/<N>.p/<W>
    tile/entries/<N> entry bundles, partial ones at tile/entries/<N>.p/<W>
    inner/0/<N>      rows 4-7 of full level-0 tile N with a checksum (not C2SP): a private
                     index that makes proofs need at most 7 hashes per level-0 tile

Durability: :meth:`TiledLog.append_batch` writes every new tile and bundle (temporary file,
fsync, rename), fsyncs the directories, then replaces ``state`` the same way and fsyncs the log
directory. Only then does it return, so an acknowledged entry survives ``kill -9`` and a power
cut. Files only ever appear at paths the acknowledged state does not use, so a crash at any
moment leaves the acknowledged log intact; opening the log trusts only ``state`` and deletes
what an interrupted append left beyond it.

Concurrency: one process writes a log (the ``lock`` file enforces it); inside that process a
lock serialises appends and reads, so one :class:`TiledLog` may be shared between threads.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self

from smartcustoms.errors import (
    InvalidLedgerEntryError,
    InvalidTileError,
    LedgerCorruptError,
    LedgerLockedError,
    LedgerRangeError,
)
from smartcustoms.ledger import merkle
from smartcustoms.ledger._files import fsync_directories, write_file_atomically
from smartcustoms.ledger._prune import prune_beyond
from smartcustoms.ledger._verify import verify_log
from smartcustoms.ledger.merkle import EMPTY_ROOT, HASH_SIZE, MAX_SIZE, leaf_hash
from smartcustoms.ledger.tiles import (
    MAX_ENTRY_SIZE,
    TILE_HEIGHT,
    TILE_WIDTH,
    DirectoryTiles,
    TileBuilder,
    TileCache,
    TileCoord,
    TileHashReader,
    encode_entry_bundle,
    encode_inner,
    inner_path,
    parse_entry_bundle,
)

__all__ = ["STATE_FILE", "AppendOnlyLog", "LogState", "TiledLog"]

STATE_FILE = "state"
"""Name of the file recording the acknowledged size and root."""

_LOCK_FILE = "lock"
_STATE_FORMAT = "smartcustoms-tlog/1"


class AppendOnlyLog(Protocol):
    """What the ledger needs from a Merkle log, whatever stores it."""

    @property
    def size(self) -> int:
        """Number of acknowledged entries."""
        ...

    def root(self, size: int | None = None) -> bytes:
        """Root of the tree of the first ``size`` entries (all by default)."""
        ...

    def entry(self, index: int) -> bytes:
        """The entry at ``index``."""
        ...

    def append_batch(self, entries: Sequence[bytes]) -> range:
        """Append entries durably; return their indices."""
        ...

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """RFC 9162 inclusion proof of entry ``index`` in the tree of ``size``."""
        ...

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """RFC 9162 consistency proof from tree ``size1`` to tree ``size2``."""
        ...

    def verify(self) -> None:
        """Recompute every hash from the stored entries; raise on any difference."""
        ...


@dataclass(frozen=True, slots=True)
class LogState:
    """What the log acknowledges: its size and the root of that tree.

    Attributes:
        size: Number of acknowledged entries.
        root: RFC 9162 root of those entries.
    """

    size: int
    root: bytes

    def encode(self) -> bytes:
        """Serialise as JSON with a SHA-256 checksum over the other fields."""
        body = {"format": _STATE_FORMAT, "size": self.size, "root": self.root.hex()}
        checksum = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        return json.dumps({**body, "checksum": checksum}, sort_keys=True).encode() + b"\n"

    @classmethod
    def decode(cls, data: bytes, path: str) -> LogState:
        """Parse :meth:`encode` output.

        Raises:
            LedgerCorruptError: The file is not a state file or its checksum is wrong.
        """
        try:
            raw = json.loads(data)
            body = {"format": raw["format"], "size": raw["size"], "root": raw["root"]}
            checksum = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
            state = cls(int(body["size"]), bytes.fromhex(body["root"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise LedgerCorruptError(f"{path} is not a log state file: {exc}", path=path) from None
        if body["format"] != _STATE_FORMAT or raw.get("checksum") != checksum:
            raise LedgerCorruptError(f"{path}: format or checksum is wrong", path=path)
        if not 0 <= state.size < MAX_SIZE or len(state.root) != HASH_SIZE:
            raise LedgerCorruptError(f"{path}: size or root out of range", path=path)
        if state.encode() != data:  # only the canonical bytes: any changed byte is damage
            raise LedgerCorruptError(f"{path} is not in canonical form", path=path)
        return state


class TiledLog:
    """A durable, append-only RFC 9162 Merkle log stored as C2SP tiles (see module docs).

    Args:
        directory: The log directory; created with an empty log if it does not exist.
        durable: Fsync every write (default). ``False`` keeps crash safety against a killed
            process but not against a power cut; for tests and bulk imports only.
        cache_capacity: Tile pyramids kept in memory for proofs (about 16 KiB each).

    Raises:
        LedgerLockedError: Another process has the log open.
        LedgerCorruptError: The state file or the tiles on the tree's right edge are damaged.
    """

    def __init__(
        self, directory: Path | str, *, durable: bool = True, cache_capacity: int = 2048
    ) -> None:
        self.directory = Path(directory)
        self._prefix = str(self.directory)
        self.durable = durable
        self.tiles = DirectoryTiles(self.directory)
        self._lock = threading.RLock()
        self._cache = TileCache(cache_capacity)
        self._bundles: OrderedDict[int, list[bytes]] = OrderedDict()
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock_fd = os.open(self.directory / _LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            raise LedgerLockedError(f"{self.directory} is open in another process") from None
        try:
            self._state = self._load_state()
            prune_beyond(self.directory, self._state.size)
            prune_beyond(self.directory, self._state.size, "inner")
            self._builder, self._pending = self._load_edge()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Release the directory lock; the object must not be used afterwards."""
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def size(self) -> int:
        """Number of acknowledged entries."""
        return self._state.size

    @property
    def state(self) -> LogState:
        """The acknowledged size and root."""
        return self._state

    def root(self, size: int | None = None) -> bytes:
        """Root of the tree of the first ``size`` entries (default: all), in O(log n) reads."""
        with self._lock:
            if size is None or size == self._state.size:
                return self._state.root
            return merkle.tree_root(self._reader(self._check_size(size)), size)

    def entry(self, index: int) -> bytes:
        """Return the entry at ``index``, checked against its stored leaf hash.

        Raises:
            LedgerRangeError: No entry at ``index``.
            LedgerCorruptError: The stored entry does not match its leaf hash.
        """
        with self._lock:
            if not 0 <= index < self._state.size:
                raise LedgerRangeError(f"no entry {index} in a log of {self._state.size}")
            bundle, offset = divmod(index, TILE_WIDTH)
            if bundle == self._state.size // TILE_WIDTH:
                return self._pending[offset]
            entries = self._full_bundle(bundle)
            expected = self._reader(self._state.size).subtree_hash(0, index)
            if leaf_hash(entries[offset]) != expected:
                path = TileCoord(0, bundle, is_entries=True).path
                raise LedgerCorruptError(
                    f"entry {index} in {path} does not match its leaf hash", index=index, path=path
                )
            return entries[offset]

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """RFC 9162 inclusion proof of entry ``index`` in the tree of ``size`` (default: all)."""
        with self._lock:
            size = self._check_size(self._state.size if size is None else size)
            return merkle.inclusion_proof(self._reader(size), index, size)

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """RFC 9162 consistency proof from tree ``size1`` to ``size2`` (default: all)."""
        with self._lock:
            size2 = self._check_size(self._state.size if size2 is None else size2)
            return merkle.consistency_proof(self._reader(size2), size1, size2)

    def append_batch(self, entries: Sequence[bytes]) -> range:
        """Append ``entries`` durably and return their indices.

        When this returns, the entries, their tiles and the new state are on stable storage
        (see the module docstring for the order of writes).

        Raises:
            InvalidLedgerEntryError: An entry is not bytes or is longer than 65,535 bytes;
                nothing of the batch is appended.
            LedgerRangeError: The log would reach 2**64 entries.
        """
        for position, entry in enumerate(entries):
            if not isinstance(entry, bytes):
                raise InvalidLedgerEntryError(f"entry {position} is {type(entry).__name__}")
            if len(entry) > MAX_ENTRY_SIZE:
                raise InvalidLedgerEntryError(
                    f"entry {position} is {len(entry)} bytes, more than {MAX_ENTRY_SIZE}"
                )
        with self._lock:
            start = self._state.size
            if start + len(entries) >= MAX_SIZE:
                raise LedgerRangeError("the log would exceed 2**64-1 entries")
            if not entries:
                return range(start, start)
            builder = TileBuilder(start, self._builder.edge)
            files = builder.extend([leaf_hash(entry) for entry in entries])
            bundle_entries = [*self._pending, *entries]
            first_bundle = start // TILE_WIDTH
            for offset in range(0, len(bundle_entries), TILE_WIDTH):
                chunk = bundle_entries[offset : offset + TILE_WIDTH]
                coord = TileCoord(0, first_bundle + offset // TILE_WIDTH, len(chunk), True)
                files.append((coord, encode_entry_bundle(chunk)))
            changed: list[Path] = []
            for coord, data in files:
                changed += self.tiles.write(coord, data, durable=self.durable)
                if coord.level == 0 and not coord.is_partial and not coord.is_entries:
                    # Self-checking and rebuildable from the tile: no fsync needed.
                    write_file_atomically(
                        self.directory / inner_path(coord.index), encode_inner(data), durable=False
                    )
            if self.durable:  # every name the new state needs is durable before it exists
                fsync_directories(changed)
            state = LogState(builder.size, builder.root())
            changed = write_file_atomically(
                self.directory / STATE_FILE, state.encode(), durable=self.durable
            )
            if self.durable:
                fsync_directories(changed)
            self._state, self._builder = state, builder
            self._pending = bundle_entries[len(bundle_entries) // TILE_WIDTH * TILE_WIDTH :]
            for coord, _ in files:  # partial versions of newly full tiles are no longer needed
                if not coord.is_partial:
                    self.tiles.remove_partials(coord)
            return range(start, state.size)

    def verify(self) -> None:
        """Recompute every hash from the stored entries and check it against what is stored.

        Raises:
            LedgerCorruptError: Naming the first entry index whose stored data (entry, hash
                tile or a hash above it) is wrong, and the file that holds the wrong bytes.
        """
        with self._lock:
            try:
                stored = (self.directory / STATE_FILE).read_bytes()
            except FileNotFoundError:
                raise LedgerCorruptError(f"{STATE_FILE} is missing", path=STATE_FILE) from None
            if LogState.decode(stored, STATE_FILE) != self._state:
                raise LedgerCorruptError(f"{STATE_FILE} changed under the log", path=STATE_FILE)
            verify_log(self.tiles, self._state.size, self._state.root)

    def read_tile(self, level: int, index: int, width: int) -> bytes:
        """Return a tile as stored at the current size, if it has ``width`` hashes (TileSource).

        A full tile is returned whole and the partial tile on the right edge as it stands.
        """
        with self._lock:
            hashes = self._state.size >> (TILE_HEIGHT * level)
            full = hashes // TILE_WIDTH
            if index < full:
                coord = TileCoord(level, index)
                try:
                    data = self.tiles.read(coord)
                except InvalidTileError as exc:
                    raise LedgerCorruptError(str(exc), index=coord.start, path=coord.path) from None
                if len(data) != TILE_WIDTH * HASH_SIZE:
                    raise LedgerCorruptError(
                        f"{coord.path} is {len(data)} bytes", index=coord.start, path=coord.path
                    )
                return data
            if index == full and width <= hashes % TILE_WIDTH:
                return bytes(self._builder.edge[level])
            raise LedgerRangeError(f"tile {level}/{index} has no {width} hashes yet")

    def read_inner(self, level: int, index: int) -> bytes | None:
        """Return the inner-rows file of a full level-0 tile, or None (an InnerSource).

        The reader checks it against the tile and falls back to hashing the tile when it is
        missing or does not match.
        """
        with self._lock:
            if level != 0 or index >= self._state.size // TILE_WIDTH:
                return None
            try:
                with open(os.path.join(self._prefix, inner_path(index)), "rb") as file:
                    return file.read()
            except FileNotFoundError:
                return None

    def _reader(self, size: int) -> TileHashReader:
        return TileHashReader(self, size, self._cache, self.read_inner)

    def _check_size(self, size: int) -> int:
        if not 0 <= size <= self._state.size:
            raise LedgerRangeError(f"tree size {size} is beyond the log size {self._state.size}")
        return size

    def _full_bundle(self, index: int) -> list[bytes]:
        entries = self._bundles.get(index)
        if entries is None:
            coord = TileCoord(0, index, is_entries=True)
            try:
                entries = parse_entry_bundle(self.tiles.read(coord), TILE_WIDTH)
            except InvalidTileError as exc:
                raise LedgerCorruptError(str(exc), index=coord.start, path=coord.path) from None
            self._bundles[index] = entries
            if len(self._bundles) > 16:
                self._bundles.popitem(last=False)
        return entries

    def _load_state(self) -> LogState:
        path = self.directory / STATE_FILE
        try:
            return LogState.decode(path.read_bytes(), STATE_FILE)
        except FileNotFoundError:
            pass
        if (self.directory / "tile").exists():
            raise LedgerCorruptError(
                f"{self.directory} holds tiles but no {STATE_FILE} file", path=STATE_FILE
            )
        state = LogState(0, EMPTY_ROOT)
        changed = write_file_atomically(path, state.encode(), durable=self.durable)
        if self.durable:
            fsync_directories(changed)
        return state

    def _load_edge(self) -> tuple[TileBuilder, list[bytes]]:
        """Read the partial tiles of the acknowledged size and check they give its root."""
        size = self._state.size
        edge: list[bytes] = []
        level = 0
        try:
            while size >> (TILE_HEIGHT * level):
                hashes = size >> (TILE_HEIGHT * level)
                width = hashes % TILE_WIDTH
                index = hashes // TILE_WIDTH
                edge.append(self.tiles.read_tile(level, index, width) if width else b"")
                level += 1
            width = size % TILE_WIDTH
            coord = TileCoord(0, size // TILE_WIDTH, width or TILE_WIDTH, True)
            pending = parse_entry_bundle(self.tiles.read(coord), width) if width else []
            builder = TileBuilder(size, edge)
        except InvalidTileError as exc:
            raise LedgerCorruptError(f"right edge of the log is damaged: {exc}") from None
        if edge and b"".join(leaf_hash(entry) for entry in pending) != edge[0]:
            bad = next(
                (
                    i
                    for i, entry in enumerate(pending)
                    if leaf_hash(entry) != edge[0][i * HASH_SIZE : (i + 1) * HASH_SIZE]
                ),
                0,
            )
            index = coord.start + bad
            raise LedgerCorruptError(
                f"entry {index} in {coord.path} does not match its leaf hash",
                index=index,
                path=coord.path,
            )
        if builder.root() != self._state.root:
            raise LedgerCorruptError(
                f"the partial tiles do not give the root in {STATE_FILE}", path=STATE_FILE
            )
        return builder, pending
