"""Offline proof bundles (C2SP tlog-proof v1): a statement a border officer can check alone.

A bundle proves that a partner administration's signed statement is in its log, at a tree
head the log signed and a quorum of witnesses cosigned, using nothing but the trust policy
(:mod:`.policy`): no network, no access to the log. It is a ``c2sp.org/tlog-proof@v1``
text whose ``extra`` line carries the statement envelope (the exact log entry)::

    c2sp.org/tlog-proof@v1
    extra <base64 of the signed statement envelope, canonical JSON>
    index <0-based leaf index>
    <inclusion proof hashes, base64, leaf side first>
    <empty line>
    <the checkpoint: origin, size, root, blank line, log signature, cosignatures>

The spec says the ``extra`` data is unauthenticated, and it is not trusted here: it counts
only because its leaf hash, SHA-256(0x00 || extra), is proven to be at ``index`` under the
cosigned root. Bundles should be stored with the extension ``.tlog-proof``.

:func:`verify_bundle` checks, in order: the framing; the log's signature with the policy's
keys for the checkpoint's origin; a quorum of distinct policy witnesses' cosignatures; the
inclusion proof; the envelope's form; that the statement's issuer is the administration
owning the log; and the issuer's statement signature.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from smartcustoms.errors import (
    InvalidCheckpointError,
    InvalidNoteError,
    InvalidProofBundleError,
    InvalidStatementError,
)
from smartcustoms.ledger.checkpoint import SignedCheckpoint, parse_decimal, parse_signed_checkpoint
from smartcustoms.ledger.merkle import HASH_SIZE, leaf_hash, verify_inclusion
from smartcustoms.ledger.note import b64decode_strict
from smartcustoms.ledger.policy import FinalCheckpoint, Policy, require_final
from smartcustoms.ledger.statements import (
    SignedStatement,
    Statement,
    parse_signed_statement,
    verify_statement,
)

__all__ = [
    "MAX_BUNDLE_BYTES",
    "MAX_PROOF_HASHES",
    "TLOG_PROOF_HEADER",
    "TlogProof",
    "VerifiedStatement",
    "build_bundle",
    "format_tlog_proof",
    "parse_tlog_proof",
    "verify_bundle",
    "verify_tlog_proof",
]

TLOG_PROOF_HEADER: Final = "c2sp.org/tlog-proof@v1"
"""First line of every proof."""
MAX_PROOF_HASHES: Final = 64
"""Longest inclusion proof of a tree below 2^64 leaves."""
MAX_BUNDLE_BYTES: Final = 1 << 20
"""Largest bundle accepted."""


@dataclass(frozen=True, slots=True)
class TlogProof:
    """A parsed ``c2sp.org/tlog-proof@v1`` (nothing verified yet).

    Attributes:
        extra: The decoded extra data, or ``None`` when the line is absent.
        index: The entry's 0-based index.
        proof: Inclusion proof hashes, leaf side first.
        checkpoint: The signed checkpoint.
    """

    extra: bytes | None
    index: int
    proof: tuple[bytes, ...]
    checkpoint: SignedCheckpoint


def format_tlog_proof(
    index: int, proof: Sequence[bytes], checkpoint_note: str, *, extra: bytes | None = None
) -> str:
    """The text of a proof for the entry at ``index`` under a signed checkpoint."""
    lines = [TLOG_PROOF_HEADER]
    if extra is not None:
        lines.append("extra " + base64.b64encode(extra).decode("ascii"))
    lines.append(f"index {index}")
    lines.extend(base64.b64encode(h).decode("ascii") for h in proof)
    return "\n".join(lines) + "\n\n" + checkpoint_note


def _decode(value: str, what: str) -> bytes:
    try:
        return b64decode_strict(value, what)
    except InvalidNoteError as exc:
        raise InvalidProofBundleError(str(exc)) from exc


def parse_tlog_proof(text: str | bytes) -> TlogProof:
    """Parse a ``c2sp.org/tlog-proof@v1`` text.

    Raises:
        InvalidProofBundleError: The text breaks the format (header, ``extra``/``index``
            lines, proof hashes, the empty line) or its checkpoint does not parse.
    """
    if len(text) > MAX_BUNDLE_BYTES:
        raise InvalidProofBundleError(f"proof is larger than {MAX_BUNDLE_BYTES} bytes")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidProofBundleError("proof is not UTF-8") from exc
    head, sep, note = text.partition("\n\n")
    lines = head.split("\n")
    if not sep or lines[0] != TLOG_PROOF_HEADER:
        raise InvalidProofBundleError(
            f"a proof starts with {TLOG_PROOF_HEADER!r} and has an empty line before the checkpoint"
        )
    rest = lines[1:]
    extra = None
    if rest and rest[0].startswith("extra "):
        extra = _decode(rest.pop(0)[len("extra ") :], "extra data")
    if not rest or not rest[0].startswith("index "):
        raise InvalidProofBundleError("a proof needs an 'index <n>' line")
    try:
        index = parse_decimal(rest.pop(0)[len("index ") :], "index")
    except InvalidCheckpointError as exc:
        raise InvalidProofBundleError(str(exc)) from exc
    if len(rest) > MAX_PROOF_HASHES:
        raise InvalidProofBundleError(f"more than {MAX_PROOF_HASHES} inclusion proof hashes")
    proof = tuple(_decode(line, f"proof hash {i}") for i, line in enumerate(rest, 1))
    if any(len(h) != HASH_SIZE for h in proof):
        raise InvalidProofBundleError(f"every proof hash must be {HASH_SIZE} bytes")
    try:
        checkpoint = parse_signed_checkpoint(note)
    except (InvalidNoteError, InvalidCheckpointError) as exc:
        raise InvalidProofBundleError(f"invalid checkpoint in proof: {exc}") from exc
    return TlogProof(extra, index, proof, checkpoint)


def verify_tlog_proof(proof: TlogProof, entry: bytes, policy: Policy) -> FinalCheckpoint:
    """Verify that ``entry`` is in a partner log at a final checkpoint, per the policy.

    Raises:
        InvalidSignatureError: The log is not in the policy or its signature fails.
        QuorumNotMetError: Too few policy witnesses cosigned.
        ProofError: The inclusion proof does not verify.
    """
    final = require_final(proof.checkpoint, policy)
    checkpoint = final.checkpoint
    verify_inclusion(
        leaf_hash(entry), proof.index, checkpoint.size, proof.proof, checkpoint.root_hash
    )
    return final


@dataclass(frozen=True, slots=True)
class VerifiedStatement:
    """A partner's statement proven to be in its witnessed log.

    Attributes:
        statement: The statement (its issuer is the log's administration).
        envelope: The signed envelope, exactly as logged.
        origin: The log's origin.
        index: The leaf index of the statement.
        tree_size: The size of the checkpoint it was proven against.
        root_hash: That checkpoint's root hash.
        cosigners: The counted witnesses and their cosignature times.
    """

    statement: Statement
    envelope: SignedStatement
    origin: str
    index: int
    tree_size: int
    root_hash: bytes
    cosigners: Mapping[str, int]


def build_bundle(
    envelope: SignedStatement | bytes,
    index: int,
    inclusion_proof: Sequence[bytes],
    cosigned_checkpoint: str,
) -> str:
    """The bundle text for a logged statement.

    Args:
        envelope: The signed statement (or its exact entry bytes).
        index: Its leaf index in the log.
        inclusion_proof: The inclusion proof to the checkpoint's tree size.
        cosigned_checkpoint: The log's signed checkpoint with the witnesses' cosignatures.
    """
    entry = envelope.entry() if isinstance(envelope, SignedStatement) else envelope
    return format_tlog_proof(index, inclusion_proof, cosigned_checkpoint, extra=entry)


def verify_bundle(bundle_text: str | bytes, policy: Policy) -> VerifiedStatement:
    """Verify an offline proof bundle with nothing but the trust policy.

    Raises:
        InvalidProofBundleError: Malformed bundle, no statement in it, or a statement whose
            issuer is not the administration that owns the log.
        InvalidSignatureError: Unknown log, bad log signature or bad statement signature.
        QuorumNotMetError: Too few policy witnesses cosigned the checkpoint.
        ProofError: The statement is not proven to be in the log at that checkpoint.
    """
    proof = parse_tlog_proof(bundle_text)
    if proof.extra is None:
        raise InvalidProofBundleError("the bundle carries no statement (no 'extra' line)")
    final = verify_tlog_proof(proof, proof.extra, policy)
    try:
        envelope = parse_signed_statement(proof.extra)
    except InvalidStatementError as exc:
        raise InvalidProofBundleError(
            f"the logged entry is not a statement envelope: {exc}", exc.problems
        ) from exc
    issuer = envelope.statement.issuer
    if issuer != final.log.administration:
        raise InvalidProofBundleError(
            f"statement issued by {issuer!r} sits in the log of {final.log.administration!r}"
        )
    statement = verify_statement(envelope, final.log.statement_keys)
    return VerifiedStatement(
        statement=statement,
        envelope=envelope,
        origin=final.checkpoint.origin,
        index=proof.index,
        tree_size=final.checkpoint.size,
        root_hash=final.checkpoint.root_hash,
        cosigners=final.cosigners,
    )
