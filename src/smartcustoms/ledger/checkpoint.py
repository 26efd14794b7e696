"""Log checkpoints (C2SP tlog-checkpoint v1): a signed tree head in a signed note.

A checkpoint commits a log to its whole history: anyone holding it can check that an entry
is in the log (an inclusion proof to the root) and that a later checkpoint extends it (a
consistency proof). Its note text is at least three lines::

    example.com/log/testdata                      origin: the log's identity
    15                                            tree size, decimal, no leading zeros
    rKbDipCvhuX1GZ7g5BBe8sA6BbJ7ja/1nk427v383cs=  root hash (RFC 9162), standard base64
    <optional extension lines>                    opaque, non-empty (NOT RECOMMENDED)

followed by the note's blank line and signatures: the log's own (its key name should equal
the origin) and the witnesses' cosignatures (:mod:`.cosignature`).

Parsing is strict: the size must be plain ASCII decimal below 2^64 with no leading zero,
the root hash exactly 32 bytes in canonical base64, no line empty. A parser that accepted
``+15`` or ``015`` would give one tree head several spellings, and signatures are over the
exact text.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from smartcustoms.errors import InvalidCheckpointError, InvalidNoteError
from smartcustoms.ledger.note import (
    Note,
    Signer,
    VerifiedNote,
    Verifier,
    b64decode_strict,
    check_note_text,
    parse_note,
    sign_note,
    verify_note,
)

__all__ = [
    "HASH_BYTES",
    "MAX_TREE_SIZE",
    "Checkpoint",
    "SignedCheckpoint",
    "parse_checkpoint",
    "parse_decimal",
    "parse_signed_checkpoint",
    "sign_checkpoint",
    "verify_checkpoint",
]

HASH_BYTES: Final = 32
"""Size of a SHA-256 root hash."""
MAX_TREE_SIZE: Final = (1 << 64) - 1
"""Largest tree size a checkpoint may carry (uint64, as in every Go implementation)."""

_DECIMAL: Final = re.compile(r"0|[1-9][0-9]{0,19}")


def parse_decimal(value: str, what: str, *, maximum: int = MAX_TREE_SIZE) -> int:
    """Parse ASCII decimal with no sign, no leading zero and no separators.

    Python's :func:`int` would also take ``+1``, `` 1``, ``1_0`` and non-ASCII digits; none
    of those is a valid size in the C2SP formats.

    Raises:
        InvalidCheckpointError: ``value`` is not such a number or exceeds ``maximum``.
    """
    if not _DECIMAL.fullmatch(value):
        raise InvalidCheckpointError(f"{what} is not a decimal without leading zeros: {value!r}")
    number = int(value)
    if number > maximum:
        raise InvalidCheckpointError(f"{what} {number} exceeds {maximum}")
    return number


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A log's tree head.

    Attributes:
        origin: The log identity (first line), e.g. ``customs.example/ledger``.
        size: Number of leaves in the tree.
        root_hash: The 32-byte RFC 9162 root hash of the tree at ``size``.
        extensions: Optional extension lines (without newlines).
    """

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin:
            raise InvalidCheckpointError("checkpoint origin must be one non-empty line")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise InvalidCheckpointError(f"checkpoint size {self.size} is out of range")
        if len(self.root_hash) != HASH_BYTES:
            raise InvalidCheckpointError(
                f"checkpoint root hash must be {HASH_BYTES} bytes, got {len(self.root_hash)}"
            )
        for line in self.extensions:
            if not line or "\n" in line:
                raise InvalidCheckpointError("checkpoint extension lines must be non-empty")

    def body(self) -> str:
        """The note text of this checkpoint (what is signed)."""
        root = base64.b64encode(self.root_hash).decode("ascii")
        lines = (self.origin, str(self.size), root, *self.extensions)
        text = "".join(line + "\n" for line in lines)
        try:
            return check_note_text(text)
        except InvalidNoteError as exc:
            raise InvalidCheckpointError(f"checkpoint cannot be a note text: {exc}") from exc


def parse_checkpoint(text: str, *, origin: str | None = None) -> Checkpoint:
    """Parse a checkpoint note text (the part before the signatures).

    Args:
        text: The note text, ending in a newline.
        origin: If given, the origin the checkpoint must carry.

    Raises:
        InvalidCheckpointError: The text is not a valid checkpoint, or has another origin.
    """
    if not text.endswith("\n"):
        raise InvalidCheckpointError("checkpoint text must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise InvalidCheckpointError("checkpoint needs origin, size and root hash lines")
    if any(not line for line in lines):
        raise InvalidCheckpointError("checkpoint lines must be non-empty")
    if origin is not None and lines[0] != origin:
        raise InvalidCheckpointError(
            f"checkpoint origin is {lines[0][:100]!r}, expected {origin!r}"
        )
    size = parse_decimal(lines[1], "checkpoint size")
    try:
        root = b64decode_strict(lines[2], "checkpoint root hash")
    except InvalidNoteError as exc:
        raise InvalidCheckpointError(str(exc)) from exc
    checkpoint = Checkpoint(lines[0], size, root, tuple(lines[3:]))
    checkpoint.body()  # refuses control characters, as the note format does
    return checkpoint


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    """A checkpoint with its note signatures, parsed but not yet verified.

    Attributes:
        checkpoint: The parsed tree head.
        note: The note (text and every signature line).
    """

    checkpoint: Checkpoint
    note: Note


def parse_signed_checkpoint(message: str | bytes, *, origin: str | None = None) -> SignedCheckpoint:
    """Parse a signed checkpoint without verifying any signature.

    Useful to learn the origin (and so which keys to use) before verification.

    Raises:
        InvalidNoteError: The note framing is wrong.
        InvalidCheckpointError: The note text is not a checkpoint (or has another origin).
    """
    note = parse_note(message)
    return SignedCheckpoint(parse_checkpoint(note.text, origin=origin), note)


def sign_checkpoint(
    checkpoint: Checkpoint, signers: Sequence[Signer], *, existing: str | None = None
) -> str:
    """Sign a checkpoint and return the signed note.

    Args:
        checkpoint: The tree head.
        signers: The log's key(s); two during a key rotation.
        existing: A signed note of the same checkpoint whose signatures are kept.
    """
    return sign_note(checkpoint.body(), signers, existing=existing)


def verify_checkpoint(
    message: str | bytes | SignedCheckpoint,
    verifiers: Sequence[Verifier],
    *,
    origin: str | None = None,
) -> tuple[Checkpoint, VerifiedNote]:
    """Verify a signed checkpoint against the log's trusted keys.

    Args:
        message: The signed checkpoint (text, or the result of
            :func:`parse_signed_checkpoint`).
        verifiers: The log's verifier keys (unknown signatures, such as witness
            cosignatures, are ignored).
        origin: If given, the origin the checkpoint must carry.

    Returns:
        The checkpoint and the verified note.

    Raises:
        InvalidNoteError: The note framing is wrong.
        InvalidCheckpointError: The text is not a checkpoint (or has another origin).
        InvalidSignatureError: No log key signed it, or a log key's signature fails.
    """
    if isinstance(message, SignedCheckpoint):
        signed = message
        if origin is not None and signed.checkpoint.origin != origin:
            raise InvalidCheckpointError(
                f"checkpoint origin is {signed.checkpoint.origin!r}, expected {origin!r}"
            )
    else:
        signed = parse_signed_checkpoint(message, origin=origin)
    return signed.checkpoint, verify_note(signed.note, verifiers)
