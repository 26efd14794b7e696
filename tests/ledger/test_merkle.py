"""RFC 9162 hashing, proof generation and verification, against a recursive reference."""

from __future__ import annotations

import hashlib
import os
import random
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartcustoms.errors import InvalidInputError, LedgerRangeError, ProofError
from smartcustoms.ledger.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    MemoryTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    range_hash,
    root_from_inclusion_proof,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)

LARGEST = 1 << 12


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves: tuple[bytes, ...]) -> bytes:
    """RFC 9162 §2.1.1 MTH, written recursively from the RFC text (the oracle)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaf_hash(leaves[0])
    k = _split(len(leaves))
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def path(m: int, leaves: tuple[bytes, ...]) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(m, D[n])."""
    if len(leaves) == 1:
        return []
    k = _split(len(leaves))
    if m < k:
        return [*path(m, leaves[:k]), mth(leaves[k:])]
    return [*path(m - k, leaves[k:]), mth(leaves[:k])]


def subproof(m: int, leaves: tuple[bytes, ...], complete: bool) -> list[bytes]:
    """RFC 9162 §2.1.4.1 SUBPROOF(m, D[n], b)."""
    n = len(leaves)
    if m == n:
        return [] if complete else [mth(leaves)]
    k = _split(n)
    if m <= k:
        return [*subproof(m, leaves[:k], complete), mth(leaves[k:])]
    return [*subproof(m - k, leaves[k:], False), mth(leaves[:k])]


@cache
def big_tree() -> MemoryTree:
    """One tree of 2**12 leaves; every smaller tree is a prefix of it."""
    return MemoryTree([leaf_hash(i.to_bytes(4, "big")) for i in range(LARGEST)])


def test_hash_scheme_constants() -> None:
    """Empty root, leaf and node hashes follow RFC 9162 §2.1.1 domain separation."""
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert node_hash(b"N123", b"N456") == hashlib.sha256(b"\x01N123N456").digest()
    assert leaf_hash(b"ab") != node_hash(b"a", b"b")
    assert HASH_SIZE == 32


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 5, 7, 8, 9, 255, 256, 257, 1000])
def test_root_matches_recursive_reference(n: int) -> None:
    """Level-by-level, tree-based and recursive roots agree."""
    leaves = tuple(bytes([i % 256, i // 256]) for i in range(n))
    hashes = [leaf_hash(x) for x in leaves]
    assert root_from_leaf_hashes(hashes) == mth(leaves)
    assert MemoryTree(hashes).root() == mth(leaves)


def test_generated_proofs_equal_rfc_recursion() -> None:
    """PATH and PROOF generated over a HashReader equal the RFC's recursive definitions."""
    leaves = tuple(bytes([i]) for i in range(70))
    tree = MemoryTree([leaf_hash(x) for x in leaves])
    for n in range(1, 71):
        for m in range(n):
            assert inclusion_proof(tree, m, n) == path(m, leaves[:n])
        for m in range(1, n + 1):
            assert consistency_proof(tree, m, n) == subproof(m, leaves[:n], True)


def test_every_inclusion_proof_verifies_up_to_512_leaves() -> None:
    """Every index of every tree size 1..512."""
    tree = big_tree()
    leaves = tree.levels[0]
    for n in range(1, 513):
        root = tree.root(n)
        for i in range(n):
            verify_inclusion(leaves[i], i, n, inclusion_proof(tree, i, n), root)


def _boundary_sizes() -> list[int]:
    rng = random.Random(42)
    sizes = {LARGEST, LARGEST - 1}
    for k in range(9, 12):
        sizes |= {(1 << k) - 1, 1 << k, (1 << k) + 1}
    sizes |= {rng.randrange(513, LARGEST) for _ in range(8)}
    return sorted(sizes)


@pytest.mark.parametrize("n", _boundary_sizes())
def test_every_inclusion_proof_verifies_at_larger_sizes(n: int) -> None:
    """Every index of trees at power-of-two boundaries and seeded sizes up to 2**12."""
    tree = big_tree()
    root = tree.root(n)
    for i in range(n):
        verify_inclusion(tree.levels[0][i], i, n, inclusion_proof(tree, i, n), root)


_CHUNKS = 16


@pytest.mark.skipif(
    os.environ.get("SMARTCUSTOMS_LEDGER_EXHAUSTIVE") != "1",
    reason="8.4 M proofs (about a minute per core); .ci/run sets SMARTCUSTOMS_LEDGER_EXHAUSTIVE=1",
)
@pytest.mark.slow
@pytest.mark.parametrize("chunk", range(_CHUNKS))
def test_every_inclusion_proof_verifies_for_every_size_up_to_4096(chunk: int) -> None:
    """Every index of every tree size 1..2**12, in 16 slices of sizes (run in CI)."""
    tree = big_tree()
    for n in range(chunk + 1, LARGEST + 1, _CHUNKS):
        root = tree.root(n)
        for i in range(n):
            verify_inclusion(tree.levels[0][i], i, n, inclusion_proof(tree, i, n), root)


def test_consistency_proofs_verify_for_all_pairs_up_to_128_and_a_sample_to_4096() -> None:
    """Every (m, n) with n <= 128, plus 3,000 seeded pairs up to 2**12."""
    tree = big_tree()
    rng = random.Random(42)
    pairs = [(m, n) for n in range(1, 129) for m in range(1, n + 1)]
    pairs += [tuple(sorted(rng.sample(range(1, LARGEST + 1), 2))) for _ in range(3000)]
    roots = {n: tree.root(n) for n in {x for pair in pairs for x in pair}}
    for m, n in pairs:
        verify_consistency(m, n, consistency_proof(tree, m, n), roots[m], roots[n])


def _flip(data: bytes, position: int, mask: int) -> bytes:
    return data[:position] + bytes([data[position] ^ mask]) + data[position + 1 :]


inclusion_case = st.integers(2, 300).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1)))
byte_change = st.tuples(st.integers(0, HASH_SIZE - 1), st.integers(1, 255))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(case=inclusion_case, target=st.integers(0, 64), change=byte_change)
def test_any_changed_byte_breaks_an_inclusion_proof(
    case: tuple[int, int], target: int, change: tuple[int, int]
) -> None:
    """Changing one byte of a proof element, the leaf hash or the root fails verification."""
    n, i = case
    tree = big_tree()
    leaf, root = tree.levels[0][i], tree.root(n)
    proof = inclusion_proof(tree, i, n)
    verify_inclusion(leaf, i, n, proof, root)
    position, mask = change
    choice = target % (len(proof) + 2)
    if choice < len(proof):
        proof[choice] = _flip(proof[choice], position, mask)
    elif choice == len(proof):
        leaf = _flip(leaf, position, mask)
    else:
        root = _flip(root, position, mask)
    with pytest.raises(ProofError):
        verify_inclusion(leaf, i, n, proof, root)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(case=inclusion_case, index=st.integers(0, 600), size=st.integers(1, 600))
def test_an_inclusion_proof_binds_index_and_size(
    case: tuple[int, int], index: int, size: int
) -> None:
    """The proof for (i, n) fails for any other index or size, given that size's true root.

    RFC 9162 roots do not commit to the size, so the root of size n must go with n (a signed
    checkpoint pairs them): see ``test_a_root_alone_does_not_bind_the_size``.
    """
    n, i = case
    tree = big_tree()
    proof = inclusion_proof(tree, i, n)
    if (index, size) == (i, n):
        return
    with pytest.raises(ProofError):
        verify_inclusion(tree.levels[0][i], index, size, proof, tree.root(size))


def test_a_root_alone_does_not_bind_the_size() -> None:
    """Leaf 0's proof in a 5-leaf tree also verifies as leaf 0 of 6 against the 5-leaf root.

    This is RFC 9162 behaviour (the paths have the same shape), documented in docs/ledger.md:
    a verifier must take the size and the root from the same signed checkpoint.
    """
    tree = big_tree()
    proof = inclusion_proof(tree, 0, 5)
    verify_inclusion(tree.levels[0][0], 0, 6, proof, tree.root(5))
    with pytest.raises(ProofError):
        verify_inclusion(tree.levels[0][0], 0, 6, proof, tree.root(6))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    sizes=st.tuples(st.integers(1, 400), st.integers(1, 400)).map(sorted),
    target=st.integers(0, 64),
    change=byte_change,
    shift=st.sampled_from(["m+1", "m-1", "n+1", "n-1", "none"]),
)
def test_any_change_breaks_a_consistency_proof(
    sizes: list[int], target: int, change: tuple[int, int], shift: str
) -> None:
    """A changed proof byte, root byte, or size fails consistency verification."""
    m, n = sizes
    tree = big_tree()
    proof = consistency_proof(tree, m, n)
    root1, root2 = tree.root(m), tree.root(n)
    verify_consistency(m, n, proof, root1, root2)
    if shift != "none":
        m2 = m + (1 if shift == "m+1" else -1 if shift == "m-1" else 0)
        n2 = n + (1 if shift == "n+1" else -1 if shift == "n-1" else 0)
        with pytest.raises(ProofError):
            verify_consistency(m2, n2, proof, tree.root(max(m2, 0)), tree.root(n2))
        return
    position, mask = change
    choice = target % (len(proof) + 2)
    if choice < len(proof):
        proof[choice] = _flip(proof[choice], position, mask)
    elif choice == len(proof):
        root1 = _flip(root1, position, mask)
    else:
        root2 = _flip(root2, position, mask)
    with pytest.raises(ProofError):
        verify_consistency(m, n, proof, root1, root2)


def test_verification_rejects_bad_shapes() -> None:
    """Wrong hash lengths, sizes outside uint64, and empty-tree proofs are errors."""
    tree = big_tree()
    leaf, root = tree.levels[0][3], tree.root(8)
    proof = inclusion_proof(tree, 3, 8)
    bad_inclusion = [
        (leaf[:31], 3, 8, proof, root),
        (leaf, 3, 8, proof, root + b"\x00"),
        (leaf, 3, 8, [*proof[:-1], proof[-1][:31]], root),
        (leaf, 8, 8, proof, root),
        (leaf, -1, 8, proof, root),
        (leaf, 3, 1 << 64, proof, root),
        (leaf, 0, 0, [], EMPTY_ROOT),
    ]
    for args in bad_inclusion:
        with pytest.raises(ProofError):
            verify_inclusion(*args)
    r4, r8 = tree.root(4), tree.root(8)
    bad_consistency = [
        (0, 8, [], EMPTY_ROOT, r8),
        (0, 0, [], EMPTY_ROOT, EMPTY_ROOT),
        (8, 4, consistency_proof(tree, 4, 8), r8, r4),
        (4, 4, [r4], r4, r4),
        (4, 8, [], r4, r8),
        (4, 1 << 64, consistency_proof(tree, 4, 8), r4, r8),
        (4, 8, consistency_proof(tree, 4, 8), r4[:12], r8),
    ]
    for args in bad_consistency:
        with pytest.raises(ProofError):
            verify_consistency(*args)
    verify_consistency(4, 4, [], r4, r4)
    assert isinstance(ProofError("x"), InvalidInputError)


def test_generation_rejects_impossible_requests() -> None:
    """Indices outside the tree and backwards consistency requests are range errors."""
    tree = big_tree()
    for call in (
        lambda: inclusion_proof(tree, 5, 5),
        lambda: inclusion_proof(tree, -1, 5),
        lambda: consistency_proof(tree, 0, 5),
        lambda: consistency_proof(tree, 6, 5),
        lambda: range_hash(tree, 4, 4),
        lambda: tree.subtree_hash(13, 0),
    ):
        with pytest.raises(LedgerRangeError):
            call()


def test_root_from_inclusion_proof_gives_the_tree_root() -> None:
    """The computed root of a valid proof is the tree's root."""
    tree = big_tree()
    proof = inclusion_proof(tree, 100, 1000)
    assert root_from_inclusion_proof(tree.levels[0][100], 100, 1000, proof) == tree.root(1000)
