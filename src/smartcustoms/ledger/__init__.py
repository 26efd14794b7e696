"""The verifiable ledger: an RFC 9162 Merkle log stored as C2SP tlog-tiles.

:mod:`~smartcustoms.ledger.merkle` holds the hashing and the proofs,
:mod:`~smartcustoms.ledger.tiles` the on-disk tile format and
:mod:`~smartcustoms.ledger.log` the durable append-only log. Checkpoints, signed notes,
cosignatures and statements live in their own modules beside these.
"""

from __future__ import annotations

from smartcustoms.ledger.log import AppendOnlyLog, LogState, TiledLog
from smartcustoms.ledger.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    HashReader,
    MemoryTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_inclusion_proof,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "AppendOnlyLog",
    "HashReader",
    "LogState",
    "MemoryTree",
    "TiledLog",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root_from_inclusion_proof",
    "root_from_leaf_hashes",
    "verify_consistency",
    "verify_inclusion",
]
