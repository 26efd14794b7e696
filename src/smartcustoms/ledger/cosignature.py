"""Witness cosignatures (C2SP tlog-cosignature, Ed25519 ``cosignature/v1``).

A cosignature is a witness's statement that, at a given time, the checkpoint is the largest
tree head it has seen for that log *and* that it checked it against every earlier one it
saw (a consistency proof). A client that requires cosignatures from a quorum of independent
witnesses cannot be shown a forked view of a log unless that quorum colludes.

Wire form: an ordinary note signature line, ``— <witness name> base64(key id || ts || sig)``,
where the key id uses signature type ``0x04``, ``ts`` is the big-endian uint64 POSIX time
of signing (at most 2^63 - 1) and ``sig`` is an Ed25519 signature over::

    cosignature/v1
    time <ts in decimal>
    <the whole checkpoint note text, final newline included>

The message does not name the witness, so one Ed25519 key must serve one witness only.
Witness verifier keys are ordinary ``vkey`` strings with type byte ``0x04``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from smartcustoms.errors import (
    InvalidInputError,
    InvalidKeyError,
    InvalidNoteError,
    InvalidSignatureError,
)
from smartcustoms.ledger.keys import (
    SIG_COSIGNATURE_V1,
    decode_vkey,
    ed25519_verify,
    encode_vkey,
    key_id,
)
from smartcustoms.ledger.note import (
    Note,
    NoteSignature,
    check_key_name,
    format_note,
    merge_signatures,
    parse_note,
)

__all__ = [
    "COSIGNATURE_HEADER",
    "MAX_TIMESTAMP",
    "Cosignature",
    "CosignatureSigner",
    "CosignatureVerifier",
    "add_cosignatures",
    "cosignature_message",
    "parse_cosignature",
    "parse_cosigner_vkey",
    "verified_cosigners",
]

COSIGNATURE_HEADER: Final = "cosignature/v1"
"""First line of the signed message (domain separation)."""
MAX_TIMESTAMP: Final = (1 << 63) - 1
"""Largest timestamp a cosignature may carry."""
_SIGNATURE_BYTES: Final = 8 + 64


def cosignature_message(text: str | bytes, timestamp: int) -> bytes:
    """The bytes a witness signs for a checkpoint note text at ``timestamp``."""
    body = text.encode("utf-8") if isinstance(text, str) else text
    return f"{COSIGNATURE_HEADER}\ntime {timestamp}\n".encode("ascii") + body


@dataclass(frozen=True, slots=True)
class Cosignature:
    """A decoded cosignature line.

    Attributes:
        name: The witness name.
        key_id: The type-``0x04`` key id.
        timestamp: POSIX seconds at which the witness signed.
        signature: The 64-byte Ed25519 signature.
    """

    name: str
    key_id: int
    timestamp: int
    signature: bytes


def parse_cosignature(signature: NoteSignature) -> Cosignature:
    """Decode a note signature as a ``cosignature/v1`` (without verifying it).

    Raises:
        InvalidNoteError: The signature is not 8 + 64 bytes or its timestamp exceeds 2^63 - 1.
    """
    if len(signature.signature) != _SIGNATURE_BYTES:
        raise InvalidNoteError(
            f"cosignature by {signature.name} must be {_SIGNATURE_BYTES} bytes after the key id"
        )
    timestamp = int.from_bytes(signature.signature[:8], "big")
    if timestamp > MAX_TIMESTAMP:
        raise InvalidNoteError(f"cosignature by {signature.name} has timestamp above 2^63 - 1")
    return Cosignature(signature.name, signature.key_id, timestamp, signature.signature[8:])


@dataclass(frozen=True)
class CosignatureVerifier:
    """A witness's Ed25519 public key, checking ``cosignature/v1`` signatures.

    It satisfies the note :class:`~smartcustoms.ledger.note.Verifier` protocol, so a
    checkpoint with cosignatures can be verified by :func:`~.note.verify_note` directly.

    Attributes:
        name: The witness name.
        public_key: The 32-byte Ed25519 public key.
        key_id: Derived with signature type ``0x04``.
    """

    name: str
    public_key: bytes
    key_id: int = field(init=False)
    _key: Ed25519PublicKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_key_name(self.name)
        if len(self.public_key) != 32:
            raise InvalidKeyError(f"Ed25519 public key must be 32 bytes: {self.name!r}")
        try:
            public = Ed25519PublicKey.from_public_bytes(self.public_key)
        except ValueError as exc:
            raise InvalidKeyError(f"invalid Ed25519 public key for {self.name!r}") from exc
        object.__setattr__(self, "_key", public)
        object.__setattr__(self, "key_id", key_id(self.name, SIG_COSIGNATURE_V1, self.public_key))

    @property
    def vkey(self) -> str:
        """The verifier key string (type ``0x04``)."""
        return encode_vkey(self.name, SIG_COSIGNATURE_V1, self.public_key)

    def verify(self, text: bytes, signature: bytes) -> bool:
        """Whether ``signature`` (timestamp and Ed25519 signature) cosigns ``text``."""
        if len(signature) != _SIGNATURE_BYTES:
            return False
        timestamp = int.from_bytes(signature[:8], "big")
        if timestamp > MAX_TIMESTAMP:
            return False
        return ed25519_verify(self._key, cosignature_message(text, timestamp), signature[8:])


def parse_cosigner_vkey(vkey: str) -> CosignatureVerifier:
    """Parse a witness verifier key string (signature type ``0x04``).

    Raises:
        InvalidKeyError: Malformed string, wrong key id or another signature type.
    """
    name, sig_type, public_key = decode_vkey(vkey.strip())
    if sig_type != SIG_COSIGNATURE_V1:
        raise InvalidKeyError(
            f"witness key {name!r} has signature type 0x{sig_type:02x}, expected 0x04"
        )
    return CosignatureVerifier(name, public_key)


def _now() -> int:
    return int(time.time())


@dataclass(frozen=True)
class CosignatureSigner:
    """A witness's Ed25519 private key producing ``cosignature/v1`` signatures.

    Attributes:
        name: The witness name.
        seed: The 32-byte Ed25519 seed (secret; excluded from ``repr``).
        clock: Returns the current POSIX time in seconds (injectable for tests).
        key_id: Derived with signature type ``0x04``.
    """

    name: str
    seed: bytes = field(repr=False)
    clock: Callable[[], int] = field(default=_now, compare=False)
    key_id: int = field(init=False)
    _key: Ed25519PrivateKey = field(init=False, repr=False, compare=False)
    _public: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_key_name(self.name)
        if len(self.seed) != 32:
            raise InvalidKeyError(f"Ed25519 seed must be 32 bytes, got {len(self.seed)}")
        private = Ed25519PrivateKey.from_private_bytes(self.seed)
        public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        object.__setattr__(self, "_key", private)
        object.__setattr__(self, "_public", public)
        object.__setattr__(self, "key_id", key_id(self.name, SIG_COSIGNATURE_V1, public))

    @property
    def verifier(self) -> CosignatureVerifier:
        """The matching verifier."""
        return CosignatureVerifier(self.name, self._public)

    def sign(self, text: bytes) -> bytes:
        """Cosign a checkpoint note text now: ``timestamp (8 bytes) || signature``."""
        return self.sign_at(text, self.clock())

    def sign_at(self, text: bytes, timestamp: int) -> bytes:
        """Cosign a checkpoint note text with an explicit timestamp."""
        if not 0 <= timestamp <= MAX_TIMESTAMP:
            raise InvalidInputError(f"cosignature timestamp {timestamp} is out of range")
        signature = self._key.sign(cosignature_message(text, timestamp))
        return timestamp.to_bytes(8, "big") + signature


def verified_cosigners(note: Note, witnesses: Iterable[CosignatureVerifier]) -> dict[str, int]:
    """The witnesses that validly cosigned ``note``, with their latest timestamps.

    Signatures from keys not in ``witnesses`` are ignored (the log's own signature among
    them). A witness counts once however many of its keys signed.

    Raises:
        InvalidSignatureError: A cosignature by a known witness key fails to verify (the
            signed-note rule: a bad signature from a known key rejects the note).
    """
    known = {(w.name, w.key_id): w for w in witnesses}
    data = note.text.encode("utf-8")
    seen: dict[str, int] = {}
    for signature in note.signatures:
        witness = known.get((signature.name, signature.key_id))
        if witness is None:
            continue
        if not witness.verify(data, signature.signature):
            raise InvalidSignatureError(f"cosignature by witness {signature.name} does not verify")
        stamp = int.from_bytes(signature.signature[:8], "big")
        seen[signature.name] = max(stamp, seen.get(signature.name, 0))
    return seen


def add_cosignatures(checkpoint_note: str, lines: str | Sequence[NoteSignature]) -> str:
    r"""Append cosignature lines (e.g. a witness's ``add-checkpoint`` response) to a note.

    Nothing is verified here; a line already present for the same key is replaced in place.

    Args:
        checkpoint_note: The signed checkpoint.
        lines: Signature lines as text (each ``— name base64\n``) or parsed signatures.

    Raises:
        InvalidNoteError: The note or the lines are malformed.
    """
    note = parse_note(checkpoint_note)
    if isinstance(lines, str):
        # Parse the response as the signature block of the same text.
        extra = parse_note(note.text + "\n" + lines).signatures
    else:
        extra = tuple(lines)
    return format_note(Note(note.text, merge_signatures(note.signatures, extra)))
