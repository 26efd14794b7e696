"""RFC 9162 Merkle tree hashing, proof generation and proof verification, on hashlib only.

The tree is the one of RFC 9162 §2.1 (identical to RFC 6962 §2.1): SHA-256, a leaf hash is
``SHA-256(0x00 || entry)``, an interior node is ``SHA-256(0x01 || left || right)``, and the tree
over ``n`` leaves splits at the largest power of two smaller than ``n``. The domain-separation
prefixes stop a leaf from being passed off as an interior node (second-preimage attacks).

Proofs are *generated* against a :class:`HashReader`: any random-access source of the hashes of
full (perfect) subtrees, such as the hash tiles of :mod:`smartcustoms.ledger.tiles` or the
in-memory :class:`MemoryTree`. Every subtree in the RFC recursion is either perfect or the
rightmost, partial subtree of the tree, so a proof needs O(log n) reads and never a rebuild.

Verification follows the iterative algorithms of RFC 9162 §2.1.3.2 and §2.1.4.2 with the API
decisions of transparency-dev/merkle (a consistency proof from size 0 is an error, equal sizes
need an empty proof and equal roots, sizes are unsigned 64-bit), with one stricter choice: every
root, leaf hash and proof element must be exactly :data:`HASH_SIZE` bytes on every branch
(see ``docs/ledger.md``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol

from smartcustoms.errors import LedgerRangeError, ProofError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MAX_SIZE",
    "HashReader",
    "MemoryTree",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "range_hash",
    "root_from_inclusion_proof",
    "root_from_leaf_hashes",
    "tree_root",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
"""Bytes in every hash of the tree (SHA-256)."""

EMPTY_ROOT: bytes = hashlib.sha256(b"").digest()
"""Root of the empty tree: SHA-256 of the empty string (RFC 9162 §2.1.1)."""

MAX_SIZE = 1 << 64
"""Tree sizes and indices must be below this (they are uint64 on the wire)."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


class HashReader(Protocol):
    """Random access to the hashes of full subtrees of a log.

    A full subtree at ``level`` L and ``index`` i covers the ``2**L`` leaves
    ``[i * 2**L, (i + 1) * 2**L)``; level 0 is the leaf hashes themselves. Callers only ask for
    subtrees that lie wholly inside the tree size they work on.
    """

    def subtree_hash(self, level: int, index: int) -> bytes:
        """Return the hash of the full subtree at ``level``, ``index``."""
        ...


def leaf_hash(entry: bytes) -> bytes:
    """Hash a log entry as a leaf: ``SHA-256(0x00 || entry)`` (RFC 9162 §2.1.1)."""
    return hashlib.sha256(_LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash two child hashes into their parent: ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """Compute the Merkle Tree Hash (RFC 9162 §2.1.1 ``MTH``) over leaf hashes.

    Hashing level by level and carrying an unpaired last node up unchanged yields exactly the
    RFC's split-at-the-largest-power-of-two tree.

    Args:
        hashes: The leaf hashes, in log order.

    Returns:
        The 32-byte root; :data:`EMPTY_ROOT` for no leaves.
    """
    level = list(hashes)
    if not level:
        return EMPTY_ROOT
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def _check_size(name: str, value: int) -> None:
    if value < 0 or value >= MAX_SIZE:
        raise LedgerRangeError(f"{name} {value} is outside 0 .. 2**64-1")


def range_hash(reader: HashReader, begin: int, end: int) -> bytes:
    """Hash of the leaves ``[begin, end)`` as the RFC 9162 subtree they form.

    ``begin`` must be a multiple of the smallest power of two that is ``>= end - begin``, which
    holds for every subtree arising in the RFC recursion (and for ``begin == 0``). The range is
    split into full subtrees (largest first) read from ``reader`` and folded from the right.

    Args:
        reader: Source of full-subtree hashes.
        begin: First leaf index.
        end: One past the last leaf index; ``end > begin``.

    Returns:
        The subtree hash.
    """
    if end <= begin:
        raise LedgerRangeError(f"empty leaf range [{begin}, {end})")
    width = end - begin
    if width & (width - 1) == 0:  # a full subtree: one read (the common case in a proof)
        level = width.bit_length() - 1
        return reader.subtree_hash(level, begin >> level)
    parts: list[bytes] = []
    start = begin
    remaining = end - begin
    while remaining:
        level = remaining.bit_length() - 1
        parts.append(reader.subtree_hash(level, start >> level))
        start += 1 << level
        remaining -= 1 << level
    result = parts[-1]
    for part in reversed(parts[:-1]):
        result = node_hash(part, result)
    return result


def tree_root(reader: HashReader, size: int) -> bytes:
    """Root of the tree of the first ``size`` leaves, from full-subtree hashes (O(log n) reads)."""
    _check_size("tree size", size)
    return EMPTY_ROOT if size == 0 else range_hash(reader, 0, size)


def inclusion_proof(reader: HashReader, index: int, size: int) -> list[bytes]:
    """Generate the inclusion proof ``PATH(index, D[0:size])`` of RFC 9162 §2.1.3.1.

    Args:
        reader: Source of full-subtree hashes for a tree of at least ``size`` leaves.
        index: 0-based leaf index, ``index < size``.
        size: The tree size the proof is against.

    Returns:
        The proof hashes, leaf side first.

    Raises:
        LedgerRangeError: ``index`` is not inside a tree of ``size`` leaves.
    """
    _check_size("tree size", size)
    if not 0 <= index < size:
        raise LedgerRangeError(f"leaf index {index} is not in a tree of size {size}")
    path: list[bytes] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = 1 << ((hi - lo - 1).bit_length() - 1)  # RFC 9162 split: largest 2^i < n
        if index < lo + k:
            path.append(range_hash(reader, lo + k, hi))
            hi = lo + k
        else:
            path.append(range_hash(reader, lo, lo + k))
            lo += k
    path.reverse()
    return path


def consistency_proof(reader: HashReader, size1: int, size2: int) -> list[bytes]:
    """Generate the consistency proof ``PROOF(size1, D[0:size2])`` of RFC 9162 §2.1.4.1.

    Args:
        reader: Source of full-subtree hashes for a tree of at least ``size2`` leaves.
        size1: The older tree size, ``0 < size1 <= size2``.
        size2: The newer tree size.

    Returns:
        The proof hashes, in RFC order; empty when ``size1 == size2``.

    Raises:
        LedgerRangeError: ``size1`` is 0 or larger than ``size2``.
    """
    _check_size("tree size", size2)
    if not 0 < size1 <= size2:
        raise LedgerRangeError(f"no consistency proof from size {size1} to size {size2}")
    proof: list[bytes] = []
    lo, hi = 0, size2
    m = size1
    complete = True  # the RFC's boolean b: is the old tree a subtree we have not left yet
    while m != hi:
        k = 1 << ((hi - lo - 1).bit_length() - 1)  # RFC 9162 split: largest 2^i < n
        if m - lo <= k:
            proof.append(range_hash(reader, lo + k, hi))
            hi = lo + k
        else:
            proof.append(range_hash(reader, lo, lo + k))
            lo += k
            complete = False
    if not complete:
        proof.append(range_hash(reader, lo, hi))
    proof.reverse()
    return proof


def _check_hash(name: str, value: bytes) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{name} is {len(value)} bytes, expected {HASH_SIZE}")


def root_from_inclusion_proof(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]
) -> bytes:
    """Compute the root an inclusion proof implies (RFC 9162 §2.1.3.2, steps 1-5).

    Args:
        leaf_hash: The 32-byte hash of the leaf (see :func:`leaf_hash`).
        index: The leaf's 0-based index.
        size: The tree size the proof is for.
        proof: The proof hashes, leaf side first.

    Returns:
        The root that the proof and leaf hash combine to.

    Raises:
        ProofError: Sizes out of range, wrong hash lengths or wrong proof length.
    """
    if not 0 <= size < MAX_SIZE:
        raise ProofError(f"tree size {size} is outside 0 .. 2**64-1")
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not in a tree of size {size}")
    _check_hash("leaf hash", leaf_hash)
    fn, sn = index, size - 1
    result = leaf_hash
    for position, sibling in enumerate(proof):
        _check_hash(f"proof element {position}", sibling)
        if sn == 0:
            raise ProofError(f"inclusion proof has {len(proof)} elements, more than it needs")
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            result = node_hash(result, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(f"inclusion proof has {len(proof)} elements, fewer than it needs")
    return result


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that the leaf with ``leaf_hash`` is at ``index`` in the tree of ``size`` and ``root``.

    The proof binds the position: the same hashes do not verify at another index or size.

    Args:
        leaf_hash: The 32-byte leaf hash.
        index: The leaf's 0-based index.
        size: The tree size.
        proof: The proof hashes, leaf side first.
        root: The expected 32-byte tree root.

    Raises:
        ProofError: The proof does not verify; the message says why.
    """
    _check_hash("root", root)
    computed = root_from_inclusion_proof(leaf_hash, index, size, proof)
    if computed != root:
        raise ProofError(
            f"inclusion proof for leaf {index} of {size} gives root {computed.hex()}, "
            f"expected {root.hex()}"
        )


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that the tree of ``size2`` and ``root2`` extends the tree of ``size1`` and ``root1``.

    Follows RFC 9162 §2.1.4.2. As in transparency-dev/merkle, ``size1 == 0`` is an error (a
    proof from the empty tree proves nothing) and ``size1 == size2`` needs an empty proof and
    equal roots; unlike it, both roots must be 32 bytes even when the sizes are equal.

    Args:
        size1: The older tree size.
        size2: The newer tree size.
        proof: The consistency proof hashes.
        root1: The older 32-byte root.
        root2: The newer 32-byte root.

    Raises:
        ProofError: The proof does not verify; the message says why.
    """
    for name, size in (("size1", size1), ("size2", size2)):
        if not 0 <= size < MAX_SIZE:
            raise ProofError(f"{name} {size} is outside 0 .. 2**64-1")
    _check_hash("root1", root1)
    _check_hash("root2", root2)
    for position, element in enumerate(proof):
        _check_hash(f"proof element {position}", element)
    if size2 < size1:
        raise ProofError(f"size2 {size2} is smaller than size1 {size1}")
    if size1 == 0:
        raise ProofError("a consistency proof from the empty tree (size1 = 0) proves nothing")
    if size1 == size2:
        if proof:
            raise ProofError(f"sizes are equal but the proof has {len(proof)} elements")
        if root1 != root2:
            raise ProofError(f"sizes are equal ({size1}) but the roots differ")
        return
    if not proof:
        raise ProofError(f"empty consistency proof from size {size1} to {size2}")
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # the old tree is a full subtree: its root is the first node
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    old = new = path[0]
    for element in path[1:]:
        if sn == 0:
            raise ProofError(f"consistency proof has {len(proof)} elements, more than it needs")
        if fn & 1 or fn == sn:
            old = node_hash(element, old)
            new = node_hash(element, new)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            new = node_hash(new, element)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(f"consistency proof has {len(proof)} elements, fewer than it needs")
    if old != root1:
        raise ProofError(f"consistency proof does not lead to root1 of size {size1}")
    if new != root2:
        raise ProofError(f"consistency proof does not lead to root2 of size {size2}")


class MemoryTree:
    """All full-subtree hashes of a log, kept in memory; a :class:`HashReader`.

    Meant for tests, small logs and clients that hold a whole log. ``levels[L][i]`` is the
    hash of the full subtree at level L, index i; an unpaired last node is *not* promoted.

    Args:
        leaf_hashes: Initial leaf hashes, in order.
    """

    def __init__(self, leaf_hashes: Sequence[bytes] = ()) -> None:
        self.levels: list[list[bytes]] = [[]]
        for h in leaf_hashes:
            self.append_leaf_hash(h)

    @property
    def size(self) -> int:
        """Number of leaves."""
        return len(self.levels[0])

    def append_leaf_hash(self, leaf: bytes) -> None:
        """Add one leaf hash and every full subtree it completes."""
        self.levels[0].append(leaf)
        level = 0
        while len(self.levels[level]) % 2 == 0:
            row = self.levels[level]
            parent = node_hash(row[-2], row[-1])
            if level + 1 == len(self.levels):
                self.levels.append([])
            self.levels[level + 1].append(parent)
            level += 1

    def subtree_hash(self, level: int, index: int) -> bytes:
        """Return the hash of the full subtree at ``level``, ``index``."""
        if level >= len(self.levels) or not 0 <= index < len(self.levels[level]):
            raise LedgerRangeError(f"no full subtree at level {level}, index {index}")
        return self.levels[level][index]

    def root(self, size: int | None = None) -> bytes:
        """Root of the first ``size`` leaves (all of them by default)."""
        return tree_root(self, self.size if size is None else size)
