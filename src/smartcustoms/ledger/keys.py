"""Ed25519 note keys: key ids, verifier and signer key strings, and key rotation.

A log (and every administration signing statements or a trust policy) is known by a
*verifier key string* (``vkey``, C2SP signed-note)::

    <key name>+<8 hex digits of key id>+base64(<signature type byte> || <public key>)

for example ``example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx``.
The key id is the first four bytes of SHA-256(key name || 0x0A || type byte || public key),
so the same key material under another name or signature type gets another id. Type
``0x01`` is a plain Ed25519 note signature (this module); ``0x04`` is a timestamped witness
cosignature (:mod:`.cosignature`).

The matching private *signer key string* uses the Go ``golang.org/x/mod/sumdb/note``
spelling, ``PRIVATE+KEY+<name>+<hex id>+base64(0x01 || 32-byte Ed25519 seed)``. It is a
secret: keep it out of logs and repositories (the strings in the tests are public test keys).

**Rotation.** Verifiers ignore signatures from keys they do not know, so a log rotates by
signing with the old and the new key for an overlap period: clients holding either key
accept every checkpoint. The log announces the new key in a *verifier key list*
(:func:`publish_verifier_keys`), a note signed by both keys; a client that trusts the old
key reads the list with :func:`read_verifier_keys` and so learns the new one.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from smartcustoms.errors import InvalidKeyError, InvalidNoteError
from smartcustoms.ledger.note import (
    Signer,
    Verifier,
    b64decode_strict,
    check_key_name,
    sign_note,
    verify_note,
)

__all__ = [
    "KEY_LIST_HEADER",
    "SIG_COSIGNATURE_V1",
    "SIG_ED25519",
    "NoteSigner",
    "NoteVerifier",
    "decode_vkey",
    "ed25519_verify",
    "encode_vkey",
    "key_id",
    "parse_skey",
    "parse_vkey",
    "publish_verifier_keys",
    "read_verifier_keys",
]

SIG_ED25519: Final = 0x01
"""Signature type byte of plain Ed25519 note signatures (C2SP signed-note)."""
SIG_COSIGNATURE_V1: Final = 0x04
"""Signature type byte of timestamped Ed25519 cosignatures (C2SP tlog-cosignature)."""
KEY_LIST_HEADER: Final = "smartcustoms.org/verifier-keys/v1"
"""First line of a published verifier key list."""

_PRIVATE_PREFIX: Final = "PRIVATE+KEY+"
_HEX_ID: Final = re.compile(r"[0-9a-f]{8}")


def key_id(name: str, sig_type: int, public_key: bytes) -> int:
    """The signed-note key id: SHA-256(name || 0x0A || type || public key)[:4], big-endian."""
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([sig_type]) + public_key)
    return int.from_bytes(digest.digest()[:4], "big")


def encode_vkey(name: str, sig_type: int, public_key: bytes) -> str:
    """The verifier key string of a public key."""
    check_key_name(name)
    material = base64.b64encode(bytes([sig_type]) + public_key).decode("ascii")
    return f"{name}+{key_id(name, sig_type, public_key):08x}+{material}"


def decode_vkey(vkey: str) -> tuple[str, int, bytes]:
    """Split a verifier key string into name, signature type and public key.

    The key id written in the string must equal the id computed from the rest.

    Raises:
        InvalidKeyError: The string is malformed or its key id does not match.
    """
    parts = vkey.split("+", 2)
    if len(parts) != 3:
        raise InvalidKeyError(f"verifier key must be name+id+key: {vkey[:100]!r}")
    name, hex_id, material = parts
    check_key_name(name)
    if not _HEX_ID.fullmatch(hex_id):
        raise InvalidKeyError(f"verifier key id must be 8 lowercase hex digits: {hex_id[:20]!r}")
    try:
        raw = b64decode_strict(material, "verifier key")
    except InvalidNoteError as exc:
        raise InvalidKeyError(str(exc)) from exc
    if len(raw) < 2:
        raise InvalidKeyError("verifier key has no key material")
    sig_type, public_key = raw[0], raw[1:]
    if key_id(name, sig_type, public_key) != int(hex_id, 16):
        raise InvalidKeyError(f"verifier key id {hex_id} does not match the key of {name!r}")
    return name, sig_type, public_key


def _ed25519_public(public_key: bytes) -> Ed25519PublicKey:
    if len(public_key) != 32:
        raise InvalidKeyError(f"Ed25519 public key must be 32 bytes, got {len(public_key)}")
    try:
        return Ed25519PublicKey.from_public_bytes(public_key)
    except ValueError as exc:
        raise InvalidKeyError(f"invalid Ed25519 public key: {exc}") from exc


def ed25519_verify(key: Ed25519PublicKey, message: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is a valid Ed25519 (RFC 8032) signature of ``message``."""
    if len(signature) != 64:
        return False
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


@dataclass(frozen=True)
class NoteVerifier:
    """An Ed25519 public key that verifies plain note signatures (type ``0x01``).

    Attributes:
        name: The key name (a log's key name should equal its checkpoint origin).
        public_key: The 32-byte Ed25519 public key.
        key_id: Derived from name, type and key.
    """

    name: str
    public_key: bytes
    key_id: int = field(init=False)
    _key: Ed25519PublicKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_key_name(self.name)
        object.__setattr__(self, "_key", _ed25519_public(self.public_key))
        object.__setattr__(self, "key_id", key_id(self.name, SIG_ED25519, self.public_key))

    @property
    def vkey(self) -> str:
        """The verifier key string."""
        return encode_vkey(self.name, SIG_ED25519, self.public_key)

    def verify(self, text: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is this key's Ed25519 signature of ``text``."""
        return ed25519_verify(self._key, text, signature)


def parse_vkey(vkey: str) -> NoteVerifier:
    """Parse an Ed25519 note verifier key string (signature type ``0x01``).

    Raises:
        InvalidKeyError: Malformed string, wrong key id, another signature type or a key
            that is not 32 bytes.
    """
    name, sig_type, public_key = decode_vkey(vkey.strip())
    if sig_type != SIG_ED25519:
        raise InvalidKeyError(
            f"verifier key {name!r} has signature type 0x{sig_type:02x}, expected 0x01 (Ed25519)"
        )
    return NoteVerifier(name, public_key)


@dataclass(frozen=True)
class NoteSigner:
    """An Ed25519 private key that signs notes (type ``0x01``).

    Attributes:
        name: The key name.
        seed: The 32-byte Ed25519 private seed (secret; excluded from ``repr``).
        key_id: Derived from the name and public key.
    """

    name: str
    seed: bytes = field(repr=False)
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
        object.__setattr__(self, "key_id", key_id(self.name, SIG_ED25519, public))

    @classmethod
    def generate(cls, name: str) -> NoteSigner:
        """A new random key (from the operating system's CSPRNG)."""
        return cls(name, os.urandom(32))

    @property
    def public_key(self) -> bytes:
        """The 32-byte Ed25519 public key."""
        return self._public

    @property
    def verifier(self) -> NoteVerifier:
        """The matching verifier."""
        return NoteVerifier(self.name, self._public)

    @property
    def skey(self) -> str:
        """The private signer key string (a secret)."""
        material = base64.b64encode(bytes([SIG_ED25519]) + self.seed).decode("ascii")
        return f"{_PRIVATE_PREFIX}{self.name}+{self.key_id:08x}+{material}"

    def sign(self, text: bytes) -> bytes:
        """The Ed25519 signature of ``text`` (deterministic, RFC 8032)."""
        return self._key.sign(text)


def parse_skey(skey: str) -> NoteSigner:
    """Parse a ``PRIVATE+KEY+name+id+base64(0x01 || seed)`` signer key string.

    Raises:
        InvalidKeyError: Malformed string, unknown type, or a key id that does not match.
    """
    text = skey.strip()
    if not text.startswith(_PRIVATE_PREFIX):
        raise InvalidKeyError("signer key must start with PRIVATE+KEY+")
    parts = text[len(_PRIVATE_PREFIX) :].split("+", 2)
    if len(parts) != 3 or not _HEX_ID.fullmatch(parts[1]):
        raise InvalidKeyError("signer key must be PRIVATE+KEY+name+id+key")
    name, hex_id, material = parts
    try:
        raw = b64decode_strict(material, "signer key")
    except InvalidNoteError as exc:
        raise InvalidKeyError(str(exc)) from exc
    if len(raw) != 33 or raw[0] != SIG_ED25519:
        raise InvalidKeyError("signer key must hold type 0x01 and a 32-byte Ed25519 seed")
    signer = NoteSigner(name, raw[1:])
    if signer.key_id != int(hex_id, 16):
        raise InvalidKeyError(f"signer key id {hex_id} does not match the key of {name!r}")
    return signer


def publish_verifier_keys(keys: Iterable[NoteVerifier], signers: Sequence[Signer]) -> str:
    """A signed list of the verifier keys a party currently signs with.

    During a rotation, publish the old and new keys and sign with both, so that a client
    trusting either can read the list and learn the other.

    Args:
        keys: The verifier keys to announce (in order).
        signers: The keys signing the list.

    Raises:
        InvalidNoteError: No key or no signer.
    """
    vkeys = [k.vkey for k in keys]
    if not vkeys:
        raise InvalidNoteError("a verifier key list needs at least one key")
    return sign_note(KEY_LIST_HEADER + "\n" + "".join(v + "\n" for v in vkeys), signers)


def read_verifier_keys(note: str, trusted: Sequence[Verifier]) -> tuple[NoteVerifier, ...]:
    """Verify a published key list with keys already trusted and return the keys it lists.

    Raises:
        InvalidNoteError: The note or its text is malformed.
        InvalidSignatureError: No trusted key signed the list.
        InvalidKeyError: A listed key is malformed.
    """
    verified = verify_note(note, trusted)
    lines = verified.text.split("\n")[:-1]
    if not lines or lines[0] != KEY_LIST_HEADER:
        raise InvalidNoteError(f"a verifier key list starts with {KEY_LIST_HEADER!r}")
    if len(lines) < 2:
        raise InvalidNoteError("the verifier key list is empty")
    return tuple(parse_vkey(line) for line in lines[1:])
