"""Signed statements: what an administration writes into its log, and nothing personal.

Each log leaf is one **signed statement envelope**, serialised as RFC 8785 canonical JSON
(sorted keys, no whitespace, one spelling per value) so that the leaf bytes, their hash and
every signature are reproducible from the values alone::

    {"signature":{"key_id":"5d1e2f3a","key_name":"customs.example/statements",
                  "value":"<base64 Ed25519 signature, 64 bytes>"},
     "statement":{"action":"grant","commitment":"<sha256 hex>","document_sha256":"<sha256 hex>",
                  "effective_at":"2026-11-22T12:00:00Z","format":"smartcustoms.org/statement/v1",
                  "issuer":"BE","subject":"BE0123456789","type":"aeo.status"}}

(shown wrapped here; the leaf itself is one line without whitespace).

* ``type`` is ``aeo.status`` (with ``action`` ``grant``, ``suspend`` or ``revoke``),
  ``release.decision`` or ``inspection.result`` (no ``action``);
* ``effective_at`` is RFC 3339 UTC in whole seconds with a ``Z``;
* ``document_sha256`` is the SHA-256 of the full business document (kept off-log);
* ``commitment`` is SHA-256(salt || canonical JSON of the private fields), with a fresh
  32-byte salt kept off-log beside the document. Names, values and other personal or
  commercial data never reach the log; whoever holds the salt and the fields can later
  prove (:func:`open_commitment`) that they are what was committed, and nobody can guess
  them from the log because the salt is random.

The signature is *detached* inside the envelope: an Ed25519 signature by the issuer's
statement key over ``smartcustoms.org/statement/v1``, a newline, and the canonical JSON
of ``statement`` (the prefix separates statement signatures from note signatures made with
the same key). ``key_name`` and ``key_id`` identify the key as in a signed note.

:func:`check_statement` reports every problem of a statement at once, each with a path.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

import rfc8785

from smartcustoms.errors import (
    CommitmentMismatchError,
    InvalidSignatureError,
    InvalidStatementError,
    Problem,
)
from smartcustoms.ledger.note import Signer, Verifier

__all__ = [
    "MAX_ENTRY_BYTES",
    "SALT_BYTES",
    "STATEMENT_FORMAT",
    "AeoAction",
    "SignedStatement",
    "Statement",
    "StatementType",
    "build_statement",
    "canonical_json",
    "check_statement",
    "commit",
    "open_commitment",
    "parse_signed_statement",
    "sign_statement",
    "verify_document",
    "verify_statement",
]

STATEMENT_FORMAT: Final = "smartcustoms.org/statement/v1"
"""Value of the ``format`` field, and the signature's domain-separation prefix."""
SALT_BYTES: Final = 32
"""Size of a commitment salt."""
MAX_ENTRY_BYTES: Final = 65_535
"""Largest envelope accepted (a C2SP tlog-tiles entry is at most 65,535 bytes)."""

_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}")
_SHA256_HEX: Final = re.compile(r"[0-9a-f]{64}")
_KEY_ID: Final = re.compile(r"[0-9a-f]{8}")
_TIME: Final = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_STATEMENT_KEYS: Final = frozenset(
    {"format", "issuer", "type", "action", "subject", "effective_at"}
    | {"document_sha256", "commitment"}
)
_SIGNATURE_KEYS: Final = frozenset({"key_name", "key_id", "value"})
_CODE: Final = "ledger.statement_invalid"


class StatementType(StrEnum):
    """What a statement records."""

    AEO_STATUS = "aeo.status"
    RELEASE_DECISION = "release.decision"
    INSPECTION_RESULT = "inspection.result"


class AeoAction(StrEnum):
    """What happened to an AEO authorisation (``aeo.status`` statements only)."""

    GRANT = "grant"
    SUSPEND = "suspend"
    REVOKE = "revoke"


_TYPES: Final = frozenset(t.value for t in StatementType)
_ACTIONS: Final = frozenset(a.value for a in AeoAction)


def canonical_json(value: Any) -> bytes:
    """RFC 8785 canonical JSON of a JSON-compatible value.

    Raises:
        InvalidStatementError: The value cannot be canonicalised (NaN, an integer beyond
            IEEE 754 precision, a non-string key, a lone surrogate, an unsupported type).
    """
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError, RecursionError) as exc:
        raise InvalidStatementError(
            f"value cannot be canonical JSON: {exc}", (Problem(_CODE, "$", str(exc)),)
        ) from exc


def _format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class Statement:
    """One validated statement (see the module docstring for the fields' meaning)."""

    issuer: str
    type: StatementType
    subject: str
    effective_at: datetime
    document_sha256: str
    commitment: str
    action: AeoAction | None = None
    _canonical: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Computed once: signing, verifying and the leaf encoding all need these bytes.
        object.__setattr__(self, "_canonical", canonical_json(self.as_dict()))

    def as_dict(self) -> dict[str, str]:
        """The JSON object of the statement (``action`` only for ``aeo.status``)."""
        data = {
            "format": STATEMENT_FORMAT,
            "issuer": self.issuer,
            "type": self.type.value,
            "subject": self.subject,
            "effective_at": _format_time(self.effective_at),
            "document_sha256": self.document_sha256,
            "commitment": self.commitment,
        }
        if self.action is not None:
            data["action"] = self.action.value
        return data

    def canonical(self) -> bytes:
        """The RFC 8785 canonical JSON of :meth:`as_dict`."""
        return self._canonical


def _check_text(data: Mapping[str, Any], key: str, problems: list[Problem]) -> str | None:
    value = data.get(key)
    if value is None:
        problems.append(Problem(_CODE, key, f"{key} is required"))
        return None
    if not isinstance(value, str) or not _ID.fullmatch(value):
        problems.append(
            Problem(_CODE, key, f"{key} must be 1-64 of A-Z a-z 0-9 . _ : / - , got {value!r}")
        )
        return None
    return value


def check_statement(data: Any) -> list[Problem]:
    """Every problem of a raw statement object (empty when it is valid)."""
    if not isinstance(data, Mapping):
        return [Problem(_CODE, "$", "a statement must be a JSON object")]
    problems = [
        Problem(_CODE, str(key), f"unknown field {key!r}")
        for key in data
        if key not in _STATEMENT_KEYS
    ]
    if data.get("format") != STATEMENT_FORMAT:
        problems.append(Problem(_CODE, "format", f"format must be {STATEMENT_FORMAT!r}"))
    _check_text(data, "issuer", problems)
    _check_text(data, "subject", problems)
    kind = data.get("type")
    kind = kind if isinstance(kind, str) else None
    if kind not in _TYPES:
        problems.append(
            Problem(_CODE, "type", f"type must be one of {[t.value for t in StatementType]}")
        )
    action = data.get("action")
    action = action if isinstance(action, str) else None
    if kind == StatementType.AEO_STATUS and action not in _ACTIONS:
        problems.append(
            Problem(_CODE, "action", "aeo.status needs action grant, suspend or revoke")
        )
    elif kind in _TYPES and kind != StatementType.AEO_STATUS and "action" in data:
        problems.append(Problem(_CODE, "action", "only aeo.status statements carry an action"))
    moment = data.get("effective_at")
    if not isinstance(moment, str) or not _TIME.fullmatch(moment):
        problems.append(
            Problem(
                _CODE, "effective_at", "effective_at must be RFC 3339 UTC like 2026-11-22T12:00:00Z"
            )
        )
    else:
        try:
            datetime.fromisoformat(moment)
        except ValueError:
            problems.append(Problem(_CODE, "effective_at", f"no such time: {moment}"))
    for key in ("document_sha256", "commitment"):
        value = data.get(key)
        if not isinstance(value, str) or not _SHA256_HEX.fullmatch(value):
            problems.append(Problem(_CODE, key, f"{key} must be 64 lowercase hex digits"))
    return problems


def _raise(message: str, problems: Sequence[Problem]) -> None:
    if problems:
        first = problems[0]
        raise InvalidStatementError(
            f"{message}: {len(problems)} problem(s); first: {first.path}: {first.message}",
            tuple(problems),
        )


def _statement_from(data: Mapping[str, Any]) -> Statement:
    """Build a statement from a raw object that :func:`check_statement` found valid."""
    moment = datetime.fromisoformat(data["effective_at"])
    action = data.get("action")
    return Statement(
        issuer=data["issuer"],
        type=StatementType(data["type"]),
        subject=data["subject"],
        effective_at=moment,
        document_sha256=data["document_sha256"],
        commitment=data["commitment"],
        action=None if action is None else AeoAction(action),
    )


def commit(salt: bytes, private_fields: Mapping[str, Any]) -> str:
    """The salted commitment: hex SHA-256(salt || canonical JSON of the private fields).

    Raises:
        InvalidStatementError: The salt is not 32 bytes or the fields are not canonical JSON.
    """
    if len(salt) != SALT_BYTES:
        raise InvalidStatementError(
            f"commitment salt must be {SALT_BYTES} bytes",
            (Problem(_CODE, "salt", f"salt must be {SALT_BYTES} bytes, got {len(salt)}"),),
        )
    return hashlib.sha256(salt + canonical_json(dict(private_fields))).hexdigest()


def build_statement(
    *,
    issuer: str,
    type: StatementType | str,
    subject: str,
    effective_at: datetime,
    document: bytes,
    private_fields: Mapping[str, Any],
    action: AeoAction | str | None = None,
    salt: bytes | None = None,
) -> tuple[Statement, bytes]:
    """Build a statement, committing to the document and the private fields.

    Args:
        issuer: The issuing administration's id (e.g. ``BE``).
        type: The statement type.
        subject: What the statement is about (an operator id, a declaration reference).
        effective_at: When it takes effect; timezone-aware, whole seconds.
        document: The full business document (only its SHA-256 is kept).
        private_fields: Personal or commercial data, committed to but not disclosed.
        action: For ``aeo.status``: grant, suspend or revoke.
        salt: The commitment salt; a fresh random one when ``None`` (tests pass their own).

    Returns:
        The statement and the salt. Keep the salt with the document and the private fields:
        without it the commitment can never be opened.

    Raises:
        InvalidStatementError: Every problem found.
    """
    # Placeholders keep check_statement from reporting a problem already recorded here.
    problems: list[Problem] = []
    moment = "1970-01-01T00:00:00Z"
    if effective_at.tzinfo is None or effective_at.microsecond:
        problems.append(
            Problem(_CODE, "effective_at", "effective_at must be timezone-aware, whole seconds")
        )
    else:
        moment = _format_time(effective_at)
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    commitment = "0" * 64
    try:
        commitment = commit(salt, private_fields)
    except InvalidStatementError as exc:
        problems.extend(exc.problems)
    raw: dict[str, Any] = {
        "format": STATEMENT_FORMAT,
        "issuer": issuer,
        "type": str(type),
        "subject": subject,
        "effective_at": moment,
        "document_sha256": hashlib.sha256(document).hexdigest(),
        "commitment": commitment,
    }
    if action is not None:
        raw["action"] = str(action)
    problems.extend(check_statement(raw))
    _raise("cannot build statement", problems)
    return _statement_from(raw), salt


@dataclass(frozen=True, slots=True)
class SignedStatement:
    """A statement with the issuer's detached Ed25519 signature: one log leaf.

    Attributes:
        statement: The statement.
        key_name: The signing key's name.
        key_id: The signing key's 32-bit id.
        signature: The 64-byte signature.
    """

    statement: Statement
    key_name: str
    key_id: int
    signature: bytes

    def entry(self) -> bytes:
        """The envelope as canonical JSON: the exact bytes appended to the log."""
        signature = {
            "key_name": self.key_name,
            "key_id": f"{self.key_id:08x}",
            "value": base64.b64encode(self.signature).decode("ascii"),
        }
        # RFC 8785 of {"signature": ..., "statement": ...}: members in key order, each
        # value canonical itself, so the statement's cached canonical bytes embed as they are.
        return (
            b'{"signature":'
            + canonical_json(signature)
            + b',"statement":'
            + self.statement.canonical()
            + b"}"
        )


def _signed_message(statement: Statement) -> bytes:
    return STATEMENT_FORMAT.encode("ascii") + b"\n" + statement.canonical()


def sign_statement(statement: Statement, signer: Signer) -> SignedStatement:
    """Sign a statement with the issuer's statement key."""
    signature = signer.sign(_signed_message(statement))
    return SignedStatement(statement, signer.name, signer.key_id, signature)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_signed_statement(entry: bytes | str) -> SignedStatement:
    """Parse and validate a log leaf (envelope JSON) without verifying the signature.

    The entry must be in canonical form: re-serialising the parsed envelope must give the
    same bytes, so a statement has exactly one leaf encoding.

    Raises:
        InvalidStatementError: Every problem found.
    """
    raw = entry.encode("utf-8", "surrogatepass") if isinstance(entry, str) else entry
    if len(raw) > MAX_ENTRY_BYTES:
        _raise("invalid envelope", [Problem(_CODE, "$", f"larger than {MAX_ENTRY_BYTES} bytes")])
    try:
        data = json.loads(
            raw.decode("utf-8"),
            object_pairs_hook=_no_duplicates,
            parse_constant=_reject_constant,
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        _raise("invalid envelope", [Problem(_CODE, "$", f"not JSON: {exc}")])
    problems: list[Problem] = []
    if not isinstance(data, dict) or set(data) != {"statement", "signature"}:
        _raise("invalid envelope", [Problem(_CODE, "$", "envelope needs statement and signature")])
    problems.extend(
        Problem(p.code, f"statement.{p.path}", p.message)
        for p in check_statement(data["statement"])
    )
    signature = data["signature"]
    if not isinstance(signature, dict) or set(signature) != _SIGNATURE_KEYS:
        problems.append(Problem(_CODE, "signature", "signature needs key_name, key_id and value"))
        signature = {}
    name, hex_id, value = (signature.get(k) for k in ("key_name", "key_id", "value"))
    if signature and not (isinstance(name, str) and _ID.fullmatch(name)):
        problems.append(Problem(_CODE, "signature.key_name", "invalid key name"))
    if signature and not (isinstance(hex_id, str) and _KEY_ID.fullmatch(hex_id)):
        problems.append(Problem(_CODE, "signature.key_id", "key_id must be 8 lowercase hex digits"))
    sig = b""
    if signature:
        try:
            sig = base64.b64decode(value, validate=True) if isinstance(value, str) else b""
        except ValueError:
            sig = b""
        if len(sig) != 64 or base64.b64encode(sig).decode() != value:
            problems.append(Problem(_CODE, "signature.value", "value must be base64 of 64 bytes"))
    _raise("invalid envelope", problems)
    signed = SignedStatement(
        _statement_from(data["statement"]), str(name), int(str(hex_id), 16), sig
    )
    if signed.entry() != raw:
        _raise("invalid envelope", [Problem(_CODE, "$", "envelope is not RFC 8785 canonical JSON")])
    return signed


def verify_statement(signed: SignedStatement, verifiers: Sequence[Verifier]) -> Statement:
    """Check the issuer's signature with the statement keys the caller trusts.

    Raises:
        InvalidSignatureError: No trusted key has the envelope's name and key id, or the
            signature does not verify.
    """
    for verifier in verifiers:
        if (verifier.name, verifier.key_id) == (signed.key_name, signed.key_id):
            if verifier.verify(_signed_message(signed.statement), signed.signature):
                return signed.statement
            raise InvalidSignatureError(f"statement signature by {signed.key_name} fails")
    raise InvalidSignatureError(
        f"statement is signed by an untrusted key {signed.key_name} ({signed.key_id:08x})"
    )


def open_commitment(statement: Statement, salt: bytes, private_fields: Mapping[str, Any]) -> None:
    """Prove that ``salt`` and ``private_fields`` are what ``statement`` committed to.

    Raises:
        CommitmentMismatchError: They are not.
        InvalidStatementError: The salt or fields are malformed.
    """
    if commit(salt, private_fields) != statement.commitment:
        raise CommitmentMismatchError("salt and private fields do not open the commitment")


def verify_document(statement: Statement, document: bytes) -> None:
    """Prove that ``document`` is the business document the statement refers to.

    Raises:
        CommitmentMismatchError: Its SHA-256 differs from ``document_sha256``.
    """
    if hashlib.sha256(document).hexdigest() != statement.document_sha256:
        raise CommitmentMismatchError("document does not match the statement's document_sha256")
