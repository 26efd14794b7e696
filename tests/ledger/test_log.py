"""TiledLog: appends, reads, proofs, recovery, locking, and verify() against tampering."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from smartcustoms.errors import (
    InvalidLedgerEntryError,
    InvalidTileError,
    LedgerCorruptError,
    LedgerLockedError,
    LedgerRangeError,
)
from smartcustoms.ledger import log as log_module
from smartcustoms.ledger.log import STATE_FILE, LogState, TiledLog
from smartcustoms.ledger.merkle import (
    EMPTY_ROOT,
    MemoryTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from smartcustoms.ledger.tiles import (
    INNER_SIZE,
    TILE_WIDTH,
    DirectoryTiles,
    TileCache,
    TileCoord,
    TileHashReader,
    inner_path,
    iter_entry_bundle,
    parse_tile_path,
)


def entry(i: int) -> bytes:
    return f"statement {i} ".encode() * (1 + i % 3)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[TiledLog]:
    with TiledLog(tmp_path / "log") as log:
        yield log


def test_an_empty_log(ledger: TiledLog) -> None:
    assert ledger.size == 0
    assert ledger.root() == EMPTY_ROOT
    assert ledger.append_batch([]) == range(0, 0)
    ledger.verify()
    assert (ledger.directory / STATE_FILE).exists()


def test_appends_reads_and_proofs_match_a_memory_tree(tmp_path: Path, seed: int) -> None:
    """Mixed batch sizes across tile boundaries: every root, entry and proof is the RFC's."""
    rng = random.Random(seed)
    boundaries = []
    with TiledLog(tmp_path / "log") as log:
        while log.size < 3000:
            batch = [
                entry(i) for i in range(log.size, log.size + rng.choice([1, 3, 255, 256, 700]))
            ]
            indices = log.append_batch(batch)
            assert indices == range(indices.start, indices.start + len(batch))
            boundaries.append(log.size)
        size = log.size
        tree = MemoryTree([leaf_hash(entry(i)) for i in range(size)])
        assert log.root() == tree.root()
        for n in boundaries:
            assert log.root(n) == tree.root(n)
        for i in [0, 1, 255, 256, 257, 2047, 2048, size - 1, *rng.sample(range(size), 30)]:
            assert log.entry(i) == entry(i)
            proof = log.inclusion_proof(i)
            assert proof == inclusion_proof(tree, i, size)
            verify_inclusion(leaf_hash(entry(i)), i, size, proof, log.root())
            older = rng.randrange(i + 1, size + 1)
            assert log.inclusion_proof(i, older) == inclusion_proof(tree, i, older)
        for m, n in [
            (1, size),
            (256, size),
            *(sorted(rng.sample(range(1, size + 1), 2)) for _ in range(30)),
        ]:
            proof = log.consistency_proof(m, n)
            assert proof == consistency_proof(tree, m, n)
            verify_consistency(m, n, proof, log.root(m), log.root(n))
        log.verify()
    with TiledLog(tmp_path / "log") as reopened:
        assert reopened.state == LogState(size, tree.root())
        assert reopened.entry(size - 1) == entry(size - 1)
        reopened.append_batch([entry(size)])
        reopened.verify()


def test_directory_is_a_c2sp_tiled_log_at_every_acknowledged_size(tmp_path: Path) -> None:
    """Plain tlog-tiles readers get every batch's root: its partial tiles are all kept."""
    sizes = []
    with TiledLog(tmp_path / "log", durable=False) as log:
        for batch in (5, 250, 1, 300, 65000, 17):
            log.append_batch([entry(i) for i in range(log.size, log.size + batch)])
            sizes.append((log.size, log.root()))
    tiles = DirectoryTiles(tmp_path / "log")
    for size, root in sizes:
        exact = _ExactTiles(tiles, size)
        assert TileHashReader(exact, size).root() == root
    for path in (tmp_path / "log" / "tile").rglob("*"):
        if path.is_file():
            parse_tile_path(str(path.relative_to(tmp_path / "log")))
    # full tiles replaced their partial versions
    assert not (tmp_path / "log" / "tile/0/000.p").exists()


class _ExactTiles:
    """Reads tiles as a C2SP client of a tree of ``size`` does.

    The partial tile of exactly the size's width, or the full tile once the log has one (the
    spec lets a log delete partial tiles then, and clients fall back to the full tile).
    """

    def __init__(self, tiles: DirectoryTiles, size: int) -> None:
        self.tiles, self.size = tiles, size

    def read_tile(self, level: int, index: int, width: int) -> bytes:
        hashes = self.size >> (8 * level)
        stored = min(TILE_WIDTH, hashes - index * TILE_WIDTH)
        try:
            return self.tiles.read_tile(level, index, stored)
        except InvalidTileError:
            return self.tiles.read_tile(level, index, TILE_WIDTH)


def test_bad_entries_are_refused_and_nothing_is_appended(ledger: TiledLog) -> None:
    ledger.append_batch([b"ok"])
    with pytest.raises(InvalidLedgerEntryError, match="65535"):
        ledger.append_batch([b"fine", b"x" * 65536])
    with pytest.raises(InvalidLedgerEntryError, match="str"):
        ledger.append_batch([b"fine", "text"])  # type: ignore[list-item]
    assert ledger.size == 1
    assert ledger.append_batch([b"", b"y" * 65535]) == range(1, 3)
    assert ledger.entry(1) == b""
    ledger.verify()


def test_out_of_range_requests(ledger: TiledLog) -> None:
    ledger.append_batch([entry(i) for i in range(10)])
    for call in (
        lambda: ledger.entry(10),
        lambda: ledger.entry(-1),
        lambda: ledger.inclusion_proof(10),
        lambda: ledger.inclusion_proof(3, 11),
        lambda: ledger.consistency_proof(0),
        lambda: ledger.consistency_proof(5, 11),
        lambda: ledger.root(11),
    ):
        with pytest.raises(LedgerRangeError):
            call()


def test_one_process_holds_the_log(tmp_path: Path) -> None:
    with TiledLog(tmp_path / "log"), pytest.raises(LedgerLockedError):
        TiledLog(tmp_path / "log")
    with TiledLog(tmp_path / "log") as again:
        assert again.size == 0


def test_threads_share_one_log(ledger: TiledLog) -> None:
    """Concurrent appends from threads get disjoint ranges holding their own entries."""
    results: dict[int, list[range]] = {}

    def worker(name: int) -> None:
        results[name] = [
            ledger.append_batch([f"{name}:{k}:{j}".encode() for j in range(10)]) for k in range(40)
        ]

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seen = sorted(i for ranges in results.values() for r in ranges for i in r)
    assert seen == list(range(1600))
    for name, ranges in results.items():
        for k, indices in enumerate(ranges):
            assert [ledger.entry(i) for i in indices] == [
                f"{name}:{k}:{j}".encode() for j in range(10)
            ]
    ledger.verify()


def test_an_append_interrupted_before_its_state_is_discarded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tiles written for an unacknowledged batch are ignored and pruned; the log goes on."""
    with TiledLog(tmp_path / "log") as log:
        log.append_batch([entry(i) for i in range(300)])
        acknowledged = log.state
        real_write = log_module.write_file_atomically

        def crash_on_state(path: Path, data: bytes, *, durable: bool = True) -> list[Path]:
            if path.name == STATE_FILE:
                raise OSError("simulated crash before the state is replaced")
            return real_write(path, data, durable=durable)

        monkeypatch.setattr(log_module, "write_file_atomically", crash_on_state)
        with pytest.raises(OSError, match="simulated"):
            log.append_batch([b"lost"] * 70000)
        assert log.state == acknowledged
    root = tmp_path / "log"
    assert (root / "tile/0/001").exists() and (root / "tile/1/000.p/1").exists()
    (root / "tile/0/x001").mkdir()
    (root / "tile/0/x001/000").write_bytes(b"junk")
    (root / "tile/0/001.p").mkdir(exist_ok=True)
    (root / "tile/0/001.p/200").write_bytes(b"junk")
    (root / "tile/0/002.tmp").write_bytes(b"junk")
    (root / "state.tmp").write_bytes(b"junk")
    monkeypatch.undo()
    with TiledLog(root) as log:
        assert log.state == acknowledged
        assert not (root / "tile/0/001").exists()
        assert not (root / "tile/0/x001").exists()
        assert not (root / "tile/1/000").exists()
        assert (root / "tile/1/000.p/1").exists()
        assert not (root / "tile/1/001.p").exists()
        assert not (root / "tile/2").exists()
        assert not (root / "tile/0/001.p/200").exists()
        assert (root / "tile/0/001.p/44").exists()
        assert not (root / "tile/0/002.tmp").exists()
        log.verify()
        log.append_batch([entry(i) for i in range(300, 700)])
        log.verify()
        assert log.entry(650) == entry(650)


def test_tiles_without_a_state_file_are_refused(tmp_path: Path) -> None:
    with TiledLog(tmp_path / "log") as log:
        log.append_batch([b"a"])
    (tmp_path / "log" / STATE_FILE).unlink()
    with pytest.raises(LedgerCorruptError, match="no state"):
        TiledLog(tmp_path / "log")


def test_a_damaged_right_edge_is_refused_at_open(tmp_path: Path) -> None:
    with TiledLog(tmp_path / "log") as log:
        log.append_batch([entry(i) for i in range(300)])
    tile = tmp_path / "log" / "tile/0/001.p/44"
    data = bytearray(tile.read_bytes())
    data[5] ^= 1
    tile.write_bytes(bytes(data))
    with pytest.raises(LedgerCorruptError):
        TiledLog(tmp_path / "log")


# --------------------------------------------------------------------------- tampering

SIZE = TILE_WIDTH * TILE_WIDTH + 300  # full level-0 and level-1 tiles, partial tiles at 3 levels


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("pristine") / "log"
    with TiledLog(directory, durable=False) as log:
        for start in range(0, SIZE, 4096):
            log.append_batch([entry(i) for i in range(start, min(SIZE, start + 4096))])
    return directory


def _expected_index(relative: str, offset: int, data: bytes) -> int | None:
    """The first entry index a changed byte at ``offset`` of file ``relative`` damages."""
    if relative == STATE_FILE:
        return None
    if relative.startswith("inner/"):
        first = parse_tile_path("tile/" + relative.removeprefix("inner/")).start
        chunk, row_start = offset // 32, 0
        for r in range(4, 8):
            if chunk < row_start + (256 >> r):
                return first + ((chunk - row_start) << r)
            row_start += 256 >> r
        return first  # the checksum
    coord = parse_tile_path(relative)
    if coord.is_entries:
        position = 0
        for k, item in enumerate(iter_entry_bundle(data)):
            position += 2 + len(item)
            if offset < position:
                return coord.start + k
        raise AssertionError("offset beyond the bundle")
    return (coord.index * TILE_WIDTH + offset // 32) << (8 * coord.level)


def _tamper_cases(pristine: Path) -> list[tuple[str, int, int]]:
    rng = random.Random(42)
    files = sorted(
        str(p.relative_to(pristine))
        for p in pristine.rglob("*")
        if p.is_file() and p.name != "lock"
    )
    kinds = {
        "entries full": [f for f in files if f.startswith("tile/entries/") and ".p/" not in f],
        "entries partial": [f for f in files if f.startswith("tile/entries/") and ".p/" in f],
        "level 0 full": [f for f in files if f.startswith("tile/0/") and ".p/" not in f],
        "level 0 partial": [f for f in files if f.startswith("tile/0/") and ".p/" in f],
        "level 1 full": [f for f in files if f.startswith("tile/1/") and ".p/" not in f],
        "level 1 partial": [f for f in files if f.startswith("tile/1/") and ".p/" in f],
        "level 2 partial": [f for f in files if f.startswith("tile/2/")],
        "inner rows": [f for f in files if f.startswith("inner/")],
        "state": [STATE_FILE],
    }
    cases = []
    for kind, names in kinds.items():
        assert names, kind
        for _ in range(4):
            name = rng.choice(names)
            size = (pristine / name).stat().st_size
            cases.append((name, rng.randrange(size), rng.randrange(1, 256)))
    return cases


def test_verify_names_the_first_bad_entry_and_the_file(pristine: Path) -> None:
    """Any changed byte of any stored file: verify() reports where, then passes once undone."""
    with TiledLog(pristine) as log:
        log.verify()
        for name, offset, mask in _tamper_cases(pristine):
            path = pristine / name
            original = path.read_bytes()
            damaged = bytearray(original)
            damaged[offset] ^= mask
            path.write_bytes(bytes(damaged))
            try:
                with pytest.raises(LedgerCorruptError) as caught:
                    log.verify()
                assert caught.value.index == _expected_index(name, offset, original), name
                assert caught.value.path == name
                if caught.value.index is not None:
                    assert f"entry {caught.value.index}" in str(caught.value)
            finally:
                path.write_bytes(original)
        log.verify()


def test_reading_a_damaged_entry_is_refused(pristine: Path) -> None:
    name = TileCoord(0, 3, is_entries=True).path
    bundle = pristine / name
    original = bundle.read_bytes()
    offset = 40
    damaged_index = _expected_index(name, offset, original)
    assert damaged_index == 3 * 256 + 1
    bundle.write_bytes(original[:offset] + bytes([original[offset] ^ 1]) + original[offset + 1 :])
    try:
        with TiledLog(pristine) as log:
            assert log.entry(damaged_index - 1) == entry(damaged_index - 1)
            with pytest.raises(LedgerCorruptError) as caught:
                log.entry(damaged_index)
        assert caught.value.index == damaged_index
        assert caught.value.path == name
    finally:
        bundle.write_bytes(original)


def test_a_missing_tile_is_reported(pristine: Path) -> None:
    tile = pristine / "tile/0/007"
    original = tile.read_bytes()
    tile.unlink()
    try:
        with TiledLog(pristine) as log, pytest.raises(LedgerCorruptError) as caught:
            log.verify()
        assert (caught.value.index, caught.value.path) == (7 * 256, "tile/0/007")
    finally:
        tile.write_bytes(original)


def test_inner_rows_speed_proofs_and_are_checked(tmp_path: Path) -> None:
    """Full level-0 tiles get an inner-rows file; a damaged one is ignored by proofs."""
    with TiledLog(tmp_path / "log", durable=False) as log:
        log.append_batch([entry(i) for i in range(1000)])
        tree = MemoryTree([leaf_hash(entry(i)) for i in range(1000)])
        assert sorted(p.name for p in (tmp_path / "log/inner/0").iterdir()) == ["000", "001", "002"]
        inner = tmp_path / "log" / inner_path(1)
        data = bytearray(inner.read_bytes())
        assert len(data) == INNER_SIZE
        data[40] ^= 0xFF
        inner.write_bytes(bytes(data))
        log._cache = TileCache()  # forget the tiles hashed while appending
        for i in (256, 300, 511):
            assert log.inclusion_proof(i) == inclusion_proof(tree, i, 1000)
        assert log.consistency_proof(300, 1000) == consistency_proof(tree, 300, 1000)
        with pytest.raises(LedgerCorruptError) as caught:
            log.verify()
        assert (caught.value.index, caught.value.path) == (256 + 16, inner_path(1))
