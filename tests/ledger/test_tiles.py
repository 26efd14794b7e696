"""C2SP tlog-tiles: paths, entry bundles, tile math, and the Tessera test log as a fixture."""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartcustoms.errors import InvalidTileError, LedgerRangeError
from smartcustoms.ledger.merkle import (
    EMPTY_ROOT,
    MemoryTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    tree_root,
    verify_consistency,
    verify_inclusion,
)
from smartcustoms.ledger.tiles import (
    INNER_SIZE,
    MAX_ENTRY_SIZE,
    DirectoryTiles,
    TileBuilder,
    TileCache,
    TileCoord,
    TileHashReader,
    decode_inner,
    encode_entry_bundle,
    encode_inner,
    format_tile_index,
    iter_entry_bundle,
    parse_entry_bundle,
    parse_tile_path,
    tile_pyramid,
    tiles_for_size,
)

WORDS = "one two three four five six seven eit nain ten ileven twelf threeten fourten fivten"


@pytest.fixture
def testlog(shared_data: Path) -> Path:
    return shared_data / "merkle-vectors" / "tessera-tlog-tiles-testlog" / "log"


@pytest.fixture
def tile_vectors(shared_data: Path) -> dict[str, object]:
    path = shared_data / "merkle-vectors" / "transcribed" / "tile-path-vectors.json"
    data: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
    return data


def test_index_encoding_vectors(tile_vectors: dict[str, object]) -> None:
    """Index → path elements (``1234067`` → ``x001/x234/067``) and back."""
    cases = tile_vectors["c2sp_index_encoding"]
    assert isinstance(cases, list) and len(cases) == 5
    for case in cases:
        assert format_tile_index(case["n"]) == case["path_elements"]
        coord = parse_tile_path(f"tile/0/{case['path_elements']}")
        assert coord == TileCoord(0, case["n"])


def test_tile_math_examples(tile_vectors: dict[str, object]) -> None:
    """The spec's examples: which full and partial tiles a tree of a given size has."""
    math = tile_vectors["c2sp_tile_math"]
    assert isinstance(math, dict)
    expected = {
        70000: "273 full level-0 tiles + partial level-0 width 112; 1 full level-1 tile + "
        "partial level-1 width 17; partial level-2 width 1",
        256: "1 full level-0 tile + partial level-1 width 1",
        65536: "256 full level-0 tiles; 1 full level-1 tile; partial level-2 width 1",
    }
    assert {e["tree_size"]: e["tiles"] for e in math["examples"]} == expected
    coords = tiles_for_size(70000)
    assert sum(1 for c in coords if c.level == 0 and not c.is_partial) == 273
    assert [c.path for c in coords if c.is_partial] == [
        "tile/0/273.p/112",
        "tile/1/001.p/17",
        "tile/2/000.p/1",
    ]
    assert [c.path for c in tiles_for_size(256)] == ["tile/0/000", "tile/1/000.p/1"]
    assert [c.path for c in tiles_for_size(65536) if c.level > 0] == [
        "tile/1/000",
        "tile/2/000.p/1",
    ]
    assert tiles_for_size(0) == []


def test_go_sumdb_paths_are_not_c2sp_paths(tile_vectors: dict[str, object]) -> None:
    """Go sumdb paths carry the tile height (``tile/H/L/N``); the C2SP parser rejects them all."""
    cases = tile_vectors["go_sumdb_tile_paths"]
    assert isinstance(cases, list) and len(cases) == 8
    for case in cases:
        with pytest.raises(InvalidTileError):
            parse_tile_path(case["path"])


@pytest.mark.parametrize(
    ("path", "coord"),
    [
        ("tile/0/000", TileCoord(0, 0)),
        ("tile/0/x001/x234/067.p/5", TileCoord(0, 1234067, 5)),
        ("tile/63/000", TileCoord(63, 0)),
        ("tile/entries/x001/000.p/255", TileCoord(0, 1000, 255, is_entries=True)),
        ("tile/entries/999", TileCoord(0, 999, is_entries=True)),
    ],
)
def test_tile_paths_round_trip(path: str, coord: TileCoord) -> None:
    assert parse_tile_path(path) == coord
    assert coord.path == path


@pytest.mark.parametrize(
    "path",
    [
        "tile/0/1",
        "tile/00/000",
        "tile/64/000",
        "tile/-1/000",
        "tile/0/001/000",
        "tile/0/x000/001",
        "tile/0/000.p/0",
        "tile/0/000.p/256",
        "tile/0/000.p/05",
        "tile/0/000.p",
        "tile/0/x001",
        "tile/0/x001.p/3",
        "tile/entries/",
        "tiles/0/000",
        "tile/0/０００",
        "tile/5/x123/x456/078",
        "tile/0/" + "x999/" * 7 + "999",
    ],
)
def test_bad_tile_paths_are_rejected(path: str) -> None:
    with pytest.raises(InvalidTileError):
        parse_tile_path(path)


@settings(max_examples=500, deadline=None, derandomize=True)
@given(
    st.one_of(
        st.text(max_size=60),
        st.lists(
            st.sampled_from(["tile", "entries", "0", "1", "x001", "000", "999", ".p", "5", "x"]),
            max_size=8,
        ).map("/".join),
    )
)
def test_tile_path_parser_raises_only_its_coded_error(path: str) -> None:
    """Fuzz: any string either parses to a canonical path or raises InvalidTileError."""
    try:
        coord = parse_tile_path(path)
    except InvalidTileError:
        return
    assert coord.path == path


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.binary(max_size=300), max_size=20))
def test_entry_bundles_round_trip(entries: list[bytes]) -> None:
    data = encode_entry_bundle(entries)
    assert parse_entry_bundle(data, len(entries)) == entries
    assert list(iter_entry_bundle(data)) == entries


@settings(max_examples=500, deadline=None, derandomize=True)
@given(st.binary(max_size=600), st.one_of(st.none(), st.integers(0, 300)))
def test_entry_bundle_parser_raises_only_its_coded_error(data: bytes, width: int | None) -> None:
    """Fuzz: arbitrary bytes either decode exactly or raise InvalidTileError."""
    try:
        entries = parse_entry_bundle(data, width)
    except InvalidTileError:
        return
    assert encode_entry_bundle(entries) == data


def test_entry_bundle_errors() -> None:
    with pytest.raises(InvalidTileError, match="cut short"):
        parse_entry_bundle(b"\x00")
    with pytest.raises(InvalidTileError, match="announced"):
        parse_entry_bundle(b"\x00\x05abc")
    with pytest.raises(InvalidTileError, match="expected 2"):
        parse_entry_bundle(encode_entry_bundle([b"a"]), 2)
    with pytest.raises(InvalidTileError, match="more than 256"):
        parse_entry_bundle(encode_entry_bundle([b""] * 257))
    with pytest.raises(InvalidTileError):
        encode_entry_bundle([b"x" * (MAX_ENTRY_SIZE + 1)])


def test_tessera_testlog_tiles_and_bundles(testlog: Path) -> None:
    """Every partial tile and bundle of the upstream log: bundles hash to the level-0 tiles."""
    tiles = DirectoryTiles(testlog)
    words = [w.encode() for w in WORDS.split()]
    for width in range(1, 16):
        entries = parse_entry_bundle(tiles.read(TileCoord(0, 0, width, is_entries=True)), width)
        assert entries == words[:width]
        hashes = tiles.read_tile(0, 0, width)
        assert hashes == b"".join(leaf_hash(e) for e in entries)
    found = sorted(
        str(p.relative_to(testlog)) for p in (testlog / "tile").rglob("*") if p.is_file()
    )
    assert [parse_tile_path(p).path for p in found] == found
    assert len(found) == 30


def _checkpoints(testlog: Path) -> dict[int, bytes]:
    """Tree size → root hash, from line 2 and 3 of each checkpoint body (no signatures here)."""
    roots = {}
    for name in [f"checkpoint.{n}" for n in range(16)] + ["checkpoint"]:
        lines = (testlog / name).read_text(encoding="utf-8").split("\n")
        assert lines[0] == "example.com/log/testdata"
        roots[int(lines[1])] = base64.b64decode(lines[2])
    return roots


def test_tessera_roots_recomputed_from_tiles(testlog: Path) -> None:
    """The roots of all 16 checkpoints (sizes 0..15) from the tiles on disk."""
    roots = _checkpoints(testlog)
    assert sorted(roots) == list(range(16))
    assert roots[0] == EMPTY_ROOT
    tiles = DirectoryTiles(testlog)
    for size, root in roots.items():
        assert TileHashReader(tiles, size).root() == root, size


def test_tessera_proofs_from_tiles_between_every_checkpoint(testlog: Path) -> None:
    """Inclusion of every entry and consistency between every two checkpoints, from tiles."""
    roots = _checkpoints(testlog)
    tiles = DirectoryTiles(testlog)
    words = [w.encode() for w in WORDS.split()]
    reference = MemoryTree([leaf_hash(w) for w in words])
    for size in range(1, 16):
        reader = TileHashReader(tiles, size)
        for index in range(size):
            proof = inclusion_proof(reader, index, size)
            assert proof == inclusion_proof(reference, index, size)
            verify_inclusion(leaf_hash(words[index]), index, size, proof, roots[size])
        for old in range(1, size + 1):
            proof = consistency_proof(reader, old, size)
            verify_consistency(old, size, proof, roots[old], roots[size])


def test_missing_or_short_tiles_are_reported(tmp_path: Path) -> None:
    tiles = DirectoryTiles(tmp_path)
    with pytest.raises(InvalidTileError, match=r"tile/0/000\.p/3 is missing"):
        tiles.read_tile(0, 0, 3)
    tiles.write(TileCoord(0, 0, 3), b"x" * 95)
    with pytest.raises(InvalidTileError, match="95 bytes"):
        tiles.read_tile(0, 0, 3)
    reader = TileHashReader(tiles, 3)
    with pytest.raises(InvalidTileError):
        reader.root()
    with pytest.raises(LedgerRangeError):
        reader.subtree_hash(2, 0)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(st.integers(0, 700), min_size=1, max_size=12))
def test_builder_tiles_match_a_memory_tree_for_any_batching(batches: list[int]) -> None:
    """However appends are batched, the tiles give every root and proof of the plain tree."""
    total = sum(batches)
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(total)]
    builder, stored = TileBuilder(), {}
    offset = 0
    for batch in batches:
        written = builder.extend(leaves[offset : offset + batch])
        offset += batch
        for coord, data in written:
            assert len(data) == coord.width * 32
            stored[(coord.level, coord.index)] = data  # each write supersedes a shorter one
    assert builder.size == total
    reference = MemoryTree(leaves)
    assert builder.root() == reference.root()
    source = _Stored(stored)
    inner = {i: encode_inner(d) for (lv, i), d in stored.items() if lv == 0 and len(d) == 8192}
    rng = random.Random(total)
    for size in {total, *(rng.randrange(total + 1) for _ in range(5))}:
        plain = TileHashReader(source, size, TileCache(4, 4))
        indexed = TileHashReader(source, size, TileCache(4, 4), lambda lv, i: inner.get(i))
        for reader in (plain, indexed):
            assert tree_root(reader, size) == reference.root(size)
            if size:
                index = rng.randrange(size)
                proof = inclusion_proof(reader, index, size)
                assert proof == inclusion_proof(reference, index, size)
                old = rng.randrange(1, size + 1)
                assert consistency_proof(reader, old, size) == consistency_proof(
                    reference, old, size
                )


class _Stored:
    def __init__(self, stored: dict[tuple[int, int], bytes]) -> None:
        self.stored = stored

    def read_tile(self, level: int, index: int, width: int) -> bytes:
        return self.stored[(level, index)]


def test_builder_rejects_an_edge_that_does_not_fit() -> None:
    with pytest.raises(InvalidTileError):
        TileBuilder(3, [b"\x00" * 64])
    with pytest.raises(InvalidTileError):
        TileBuilder().extend([b"short"])


def test_tile_pyramid_rows() -> None:
    hashes = [leaf_hash(bytes([i])) for i in range(256)]
    rows = tile_pyramid(b"".join(hashes))
    assert [len(r) // 32 for r in rows] == [256, 128, 64, 32, 16, 8, 4, 2, 1]
    assert rows[-1] == MemoryTree(hashes).root()
    assert [len(r) // 32 for r in tile_pyramid(b"".join(hashes[:7]))] == [7, 3, 1]
    for bad in (b"", b"x" * 33, b"x" * 32 * 257):
        with pytest.raises(InvalidTileError):
            tile_pyramid(bad)


def test_tile_coord_validation() -> None:
    for args in ((64, 0), (0, 0, 0), (0, 0, 257), (0, -1), (7, 1)):
        with pytest.raises(InvalidTileError):
            TileCoord(*args)
    with pytest.raises(InvalidTileError):
        TileCoord(1, 0, is_entries=True)
    assert TileCoord(2, 3).start == 3 * 256**3


def test_inner_rows_are_bound_to_their_tile() -> None:
    """An inner-rows file decodes only against the exact tile it was made from."""
    tile = b"".join(leaf_hash(bytes([i])) for i in range(256))
    other = b"".join(leaf_hash(bytes([i, 1])) for i in range(256))
    blob = encode_inner(tile)
    assert len(blob) == INNER_SIZE
    rows = decode_inner(blob, tile)
    assert rows == tile_pyramid(tile)[4:8]
    assert decode_inner(blob, other) is None
    assert decode_inner(blob[:-1], tile) is None
    assert decode_inner(bytes(INNER_SIZE), tile) is None
    assert decode_inner(blob[:5] + bytes([blob[5] ^ 1]) + blob[6:], tile) is None
    with pytest.raises(InvalidTileError):
        encode_inner(tile[:-32])
