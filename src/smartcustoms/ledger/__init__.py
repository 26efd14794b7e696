"""The verifiable ledger: an RFC 9162 Merkle log stored as C2SP tlog-tiles.

:mod:`~smartcustoms.ledger.merkle` holds the hashing and the proofs,
:mod:`~smartcustoms.ledger.tiles` the on-disk tile format and
:mod:`~smartcustoms.ledger.log` the durable append-only log. Checkpoints, signed notes,
cosignatures and statements live in their own modules beside these:
:mod:`~smartcustoms.ledger.note` and :mod:`~smartcustoms.ledger.keys` (C2SP signed notes,
Ed25519 keys, rotation), :mod:`~smartcustoms.ledger.checkpoint` and
:mod:`~smartcustoms.ledger.cosignature` (tree heads and witness cosignatures),
:mod:`~smartcustoms.ledger.witness` (the add-checkpoint witness),
:mod:`~smartcustoms.ledger.statements` (signed statement leaves with salted commitments),
:mod:`~smartcustoms.ledger.policy` (the MRA trust policy) and
:mod:`~smartcustoms.ledger.bundle` (offline proof bundles). The trust model is described in
``docs/ledger-trust.md``.
"""

from __future__ import annotations

from smartcustoms.ledger.bundle import VerifiedStatement, build_bundle, verify_bundle
from smartcustoms.ledger.checkpoint import (
    Checkpoint,
    parse_signed_checkpoint,
    sign_checkpoint,
    verify_checkpoint,
)
from smartcustoms.ledger.cosignature import (
    CosignatureSigner,
    CosignatureVerifier,
    add_cosignatures,
    parse_cosigner_vkey,
)
from smartcustoms.ledger.keys import NoteSigner, NoteVerifier, parse_skey, parse_vkey
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
from smartcustoms.ledger.note import sign_note, verify_note
from smartcustoms.ledger.policy import Policy, checkpoint_is_final, load_policy, parse_policy
from smartcustoms.ledger.statements import (
    AeoAction,
    SignedStatement,
    Statement,
    StatementType,
    build_statement,
    open_commitment,
    parse_signed_statement,
    sign_statement,
    verify_statement,
)
from smartcustoms.ledger.witness import (
    JsonFileWitnessStore,
    MemoryWitnessStore,
    Witness,
    WitnessStore,
)

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "AeoAction",
    "AppendOnlyLog",
    "Checkpoint",
    "CosignatureSigner",
    "CosignatureVerifier",
    "HashReader",
    "JsonFileWitnessStore",
    "LogState",
    "MemoryTree",
    "MemoryWitnessStore",
    "NoteSigner",
    "NoteVerifier",
    "Policy",
    "SignedStatement",
    "Statement",
    "StatementType",
    "TiledLog",
    "VerifiedStatement",
    "Witness",
    "WitnessStore",
    "add_cosignatures",
    "build_bundle",
    "build_statement",
    "checkpoint_is_final",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "load_policy",
    "node_hash",
    "open_commitment",
    "parse_cosigner_vkey",
    "parse_policy",
    "parse_signed_checkpoint",
    "parse_signed_statement",
    "parse_skey",
    "parse_vkey",
    "root_from_inclusion_proof",
    "root_from_leaf_hashes",
    "sign_checkpoint",
    "sign_note",
    "sign_statement",
    "verify_bundle",
    "verify_checkpoint",
    "verify_consistency",
    "verify_inclusion",
    "verify_note",
    "verify_statement",
]
