"""Signed notes (C2SP signed-note v1): text signed by one or more named keys.

A signed note is the envelope every other ledger artefact travels in: checkpoints, witness
cosignatures and our published key lists are all notes. The wire form is::

    <text, one or more lines, each ending in a newline>
    <blank line>
    — <key name> base64(4-byte key id || signature)
    — <key name> base64(...)

The rules enforced here (C2SP ``signed-note``):

* the note is UTF-8 and contains no control character below U+0020 other than newline;
* the text ends with a newline; it may contain blank lines, and is separated from the
  signatures by the *last* blank line;
* each signature line is an em dash (U+2014), a space, the key name, a space and the
  standard base64 of at least five bytes (the big-endian uint32 key id, then the signature);
* key names are non-empty and contain neither Unicode spaces nor ``+``.

Verification follows the spec's trust rule: a signature is attributed to a known key only
when *both* its key name and key id match; signatures from unknown keys are ignored; a
signature from a known key that fails to verify rejects the whole note; and a note with no
verified signature from a known key is rejected. The algorithms behind a key are hidden
behind the small :class:`Verifier` and :class:`Signer` protocols, so Ed25519 note keys
(:mod:`.keys`) and timestamped witness cosigners (:mod:`.cosignature`) verify the same way.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from smartcustoms.errors import InvalidKeyError, InvalidNoteError, InvalidSignatureError

__all__ = [
    "MAX_NOTE_BYTES",
    "MAX_SIGNATURES",
    "SIGNATURE_PREFIX",
    "Note",
    "NoteSignature",
    "Signer",
    "VerifiedNote",
    "Verifier",
    "b64decode_strict",
    "check_key_name",
    "check_note_text",
    "format_note",
    "merge_signatures",
    "parse_note",
    "sign_note",
    "verify_note",
]

SIGNATURE_PREFIX: Final = "\u2014 "
"""Every signature line starts with an em dash (U+2014) and a space."""
MAX_SIGNATURES: Final = 100
"""Upper bound on signature lines per note (the spec asks verifiers to accept at least 16)."""
MAX_NOTE_BYTES: Final = 1 << 20
"""Upper bound on the size of a note, so a hostile input cannot exhaust memory."""

_CONTROL: Final = re.compile(r"[\x00-\x09\x0b-\x1f]")
_BAD_NAME_CHAR: Final = re.compile(r"[\s+\x00-\x1f]")


class Verifier(Protocol):
    """A public key that can check note signatures.

    ``name`` and ``key_id`` identify the key in signature lines; ``verify`` receives the
    note text as UTF-8 bytes and the signature bytes that follow the 4-byte key id.
    """

    @property
    def name(self) -> str:
        """The key name, as written in signature lines."""
        ...

    @property
    def key_id(self) -> int:
        """The 32-bit key id that prefixes each signature."""
        ...

    def verify(self, text: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is a valid signature of ``text`` by this key."""
        ...


class Signer(Protocol):
    """A private key that signs note texts (the counterpart of :class:`Verifier`)."""

    @property
    def name(self) -> str:
        """The key name, as written in signature lines."""
        ...

    @property
    def key_id(self) -> int:
        """The 32-bit key id that prefixes each signature."""
        ...

    def sign(self, text: bytes) -> bytes:
        """The signature of ``text`` (without the key id prefix)."""
        ...


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line of a note.

    Attributes:
        name: The key name.
        key_id: The 32-bit key id (first four bytes of the decoded signature, big-endian).
        signature: The signature bytes after the key id.
    """

    name: str
    key_id: int
    signature: bytes

    def line(self) -> str:
        """The signature line, em dash to newline."""
        raw = self.key_id.to_bytes(4, "big") + self.signature
        return f"{SIGNATURE_PREFIX}{self.name} {base64.b64encode(raw).decode('ascii')}\n"


@dataclass(frozen=True, slots=True)
class Note:
    """A parsed (not yet verified) signed note.

    Attributes:
        text: The note text, including its final newline.
        signatures: The signature lines in order.
    """

    text: str
    signatures: tuple[NoteSignature, ...]


@dataclass(frozen=True, slots=True)
class VerifiedNote:
    """A note whose text is vouched for by at least one known key.

    Attributes:
        text: The note text, including its final newline.
        verified: Signatures from known keys, all of which verified.
        unverified: Signatures from unknown keys (ignored, kept for forwarding).
    """

    text: str
    verified: tuple[NoteSignature, ...]
    unverified: tuple[NoteSignature, ...]

    def signed_by(self, name: str) -> bool:
        """Whether a known key with this name signed the note."""
        return any(s.name == name for s in self.verified)


def b64decode_strict(value: str, what: str) -> bytes:
    """Decode standard base64 (RFC 4648 section 4), refusing any non-canonical spelling.

    Only the canonical encoding of a byte string is accepted (no whitespace, correct
    padding, zero trailing bits), so every value has exactly one textual form and a
    signature cannot be re-spelled.

    Args:
        value: The base64 text.
        what: What the value is, for the error message.

    Raises:
        InvalidNoteError: ``value`` is not canonical standard base64.
    """
    if len(value) % 4:
        raise InvalidNoteError(f"{what} is not standard base64: {value[:80]!r}")
    try:
        raw = binascii.a2b_base64(value, strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidNoteError(f"{what} is not standard base64: {value[:80]!r}") from exc
    if binascii.b2a_base64(raw, newline=False) != value.encode("ascii"):
        raise InvalidNoteError(f"{what} is not canonical base64: {value[:80]!r}")
    return raw


def check_key_name(name: str) -> str:
    """Return ``name`` if it is a valid signed-note key name.

    Raises:
        InvalidKeyError: The name is empty or contains a Unicode space, ``+`` or a control
            character.
    """
    if not name or _BAD_NAME_CHAR.search(name):
        raise InvalidKeyError(
            f"invalid key name {name[:80]!r}: must be non-empty, without spaces or '+'"
        )
    return name


def check_note_text(text: str) -> str:
    """Return ``text`` if it can be the text of a signed note.

    Raises:
        InvalidNoteError: The text is empty, does not end with a newline, or contains a
            control character other than newline.
    """
    if not text or not text.endswith("\n"):
        raise InvalidNoteError("note text must be non-empty and end with a newline")
    if _CONTROL.search(text):
        raise InvalidNoteError("note text must not contain control characters but newline")
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise InvalidNoteError("note text is not valid Unicode (lone surrogate)") from exc
    if size > MAX_NOTE_BYTES:
        raise InvalidNoteError(f"note text is larger than {MAX_NOTE_BYTES} bytes")
    return text


def _as_text(message: str | bytes) -> str:
    if isinstance(message, bytes):
        if len(message) > MAX_NOTE_BYTES:
            raise InvalidNoteError(f"note is larger than {MAX_NOTE_BYTES} bytes")
        try:
            return message.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidNoteError("note is not valid UTF-8") from exc
    try:
        message.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidNoteError("note is not valid Unicode (lone surrogate)") from exc
    return message


def _parse_signature_line(line: str, number: int) -> NoteSignature:
    if not line.startswith(SIGNATURE_PREFIX):
        raise InvalidNoteError(f"signature line {number} does not start with an em dash")
    name, sep, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
    if not sep:
        raise InvalidNoteError(f"signature line {number} has no signature after the key name")
    try:
        check_key_name(name)
    except InvalidKeyError as exc:
        raise InvalidNoteError(f"signature line {number}: {exc}") from exc
    raw = b64decode_strict(encoded, f"signature line {number}")
    if len(raw) < 5:
        raise InvalidNoteError(f"signature line {number} is shorter than a key id and signature")
    return NoteSignature(name, int.from_bytes(raw[:4], "big"), raw[4:])


def parse_note(message: str | bytes) -> Note:
    """Split a signed note into its text and signature lines, checking the framing.

    Nothing is verified here: use :func:`verify_note` before trusting the text.

    Args:
        message: The whole note (``str``, or ``bytes`` that must be UTF-8).

    Raises:
        InvalidNoteError: The note breaks a framing rule of C2SP signed-note.
    """
    note = _as_text(message)
    if len(note) > MAX_NOTE_BYTES:
        raise InvalidNoteError(f"note is larger than {MAX_NOTE_BYTES} bytes")
    if _CONTROL.search(note):
        raise InvalidNoteError("note contains a control character other than newline")
    if not note.endswith("\n"):
        raise InvalidNoteError("note does not end with a newline")
    split = note.rfind("\n\n")
    if split < 0:
        raise InvalidNoteError("note has no blank line before its signatures")
    text, block = note[: split + 1], note[split + 2 :]
    lines = block.split("\n")[:-1]
    if not lines:
        raise InvalidNoteError("note has no signature lines")
    if len(lines) > MAX_SIGNATURES:
        raise InvalidNoteError(f"note has more than {MAX_SIGNATURES} signatures")
    signatures = tuple(_parse_signature_line(line, i) for i, line in enumerate(lines, 1))
    # The text needs no further check: the whole note passed the encoding and control
    # character checks, and the split leaves a non-empty text ending in a newline.
    return Note(text, signatures)


def format_note(note: Note) -> str:
    """The wire form of ``note``: text, blank line, one line per signature.

    Raises:
        InvalidNoteError: The note has no signatures or its text is not a valid note text.
    """
    check_note_text(note.text)
    if not note.signatures:
        raise InvalidNoteError("a signed note needs at least one signature")
    return note.text + "\n" + "".join(s.line() for s in note.signatures)


def sign_note(text: str, signers: Iterable[Signer], *, existing: str | None = None) -> str:
    """Sign ``text`` with every signer and return the signed note.

    Args:
        text: The note text (must end with a newline).
        signers: Keys to sign with; at least one.
        existing: A signed note of the same text whose signatures are kept (before the new
            ones), e.g. a log checkpoint that witnesses cosign. A signature already present
            for a signer's (name, key id) is replaced.

    Raises:
        InvalidNoteError: ``text`` is not a valid note text, ``existing`` has another text,
            or no signer was given.
    """
    check_note_text(text)
    kept: list[NoteSignature] = []
    if existing is not None:
        old = parse_note(existing)
        if old.text != text:
            raise InvalidNoteError("cannot add signatures: the existing note has another text")
        kept = list(old.signatures)
    data = text.encode("utf-8")
    fresh = [NoteSignature(s.name, s.key_id, s.sign(data)) for s in signers]
    if not fresh:
        raise InvalidNoteError("sign_note needs at least one signer")
    for signer in fresh:
        check_key_name(signer.name)
    return format_note(Note(text, merge_signatures(kept, fresh)))


def merge_signatures(
    existing: Sequence[NoteSignature], extra: Sequence[NoteSignature]
) -> tuple[NoteSignature, ...]:
    """``existing`` with ``extra`` merged in: same key replaced in place, new keys appended.

    A key is its (name, key id) pair, as in the signed-note trust rule.
    """
    fresh = {(s.name, s.key_id): s for s in extra}
    merged = [fresh.pop((s.name, s.key_id), s) for s in existing]
    return (*merged, *fresh.values())


def _index(verifiers: Iterable[Verifier]) -> dict[tuple[str, int], Verifier]:
    known: dict[tuple[str, int], Verifier] = {}
    for verifier in verifiers:
        key = (verifier.name, verifier.key_id)
        if key in known and known[key] != verifier:
            raise InvalidKeyError(
                f"ambiguous keys: two different keys named {verifier.name!r}"
                f" share the key id {verifier.key_id:08x}"
            )
        known[key] = verifier
    return known


def verify_note(message: str | bytes | Note, verifiers: Sequence[Verifier]) -> VerifiedNote:
    """Verify a signed note against the keys the caller trusts.

    Args:
        message: The note (text or already parsed).
        verifiers: The trusted keys. A signature counts only when both its name and key id
            match one of them.

    Returns:
        The text with the verified and ignored signatures.

    Raises:
        InvalidNoteError: The note is malformed.
        InvalidKeyError: Two different verifiers share a name and key id.
        InvalidSignatureError: A signature from a known key fails, or no known key signed.
    """
    note = message if isinstance(message, Note) else parse_note(message)
    known = _index(verifiers)
    data = note.text.encode("utf-8")
    verified: list[NoteSignature] = []
    unverified: list[NoteSignature] = []
    for signature in note.signatures:
        verifier = known.get((signature.name, signature.key_id))
        if verifier is None:
            unverified.append(signature)
        elif verifier.verify(data, signature.signature):
            verified.append(signature)
        else:
            raise InvalidSignatureError(
                f"signature by {signature.name} (key {signature.key_id:08x}) does not verify"
            )
    if not verified:
        names = ", ".join(sorted({v.name for v in known.values()})) or "none"
        raise InvalidSignatureError(f"note is not signed by any known key (known: {names})")
    return VerifiedNote(note.text, tuple(verified), tuple(unverified))
