"""The MRA trust policy: whose logs we accept and which witnesses must agree.

Under a mutual recognition arrangement each administration runs its own log and trusts a
partner's statement only when the partner's log checkpoint that includes it carries the log's
own signature *and* cosignatures from at least ``quorum`` of the witnesses named here. The
policy is the whole of the trust configuration: offline verification needs nothing else.

The policy is a TOML document (see ``docs/ledger-trust.md``) travelling as a **signed
note** (C2SP signed-note): the TOML text, a blank line, and the signature lines of our
administration's policy key(s). Because it is a note text, the TOML must not contain tabs or
carriage returns. Example::

    format = "smartcustoms.org/trust-policy/v1"
    id = "be-mra-ledger-policy"
    version = "2026-11-22"
    administration = "BE"
    quorum = 2

    [[logs]]
    administration = "JP"
    origin = "customs.go.jp/ledger"
    keys = ["customs.go.jp/ledger+1a2b3c4d+AXkz..."]
    statement_keys = ["customs.go.jp/statements+5e6f7a8b+AUr0..."]

    [[witnesses]]
    name = "witness.customs.be"
    keys = ["witness.customs.be+9c0d1e2f+BFhZ..."]

Log and statement keys are Ed25519 note vkeys (type ``0x01``); witness keys are
``cosignature/v1`` vkeys (type ``0x04``) whose name is the witness name. Several keys per
entry express a rotation. :func:`parse_policy` reports every problem at once as
``label:LINE``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Final

from smartcustoms.datafiles import FileReader, TomlLocator
from smartcustoms.errors import (
    InvalidCheckpointError,
    InvalidInputError,
    InvalidKeyError,
    InvalidNoteError,
    InvalidPolicyError,
    InvalidSignatureError,
    QuorumNotMetError,
)
from smartcustoms.ledger.checkpoint import Checkpoint, SignedCheckpoint, parse_signed_checkpoint
from smartcustoms.ledger.cosignature import (
    CosignatureVerifier,
    parse_cosigner_vkey,
    verified_cosigners,
)
from smartcustoms.ledger.keys import NoteVerifier, parse_vkey
from smartcustoms.ledger.note import Signer, Verifier, sign_note, verify_note

__all__ = [
    "POLICY_FORMAT",
    "FinalCheckpoint",
    "PartnerLog",
    "Policy",
    "PolicyWitness",
    "checkpoint_is_final",
    "format_policy",
    "load_policy",
    "parse_policy",
    "require_final",
    "sign_policy",
]

POLICY_FORMAT: Final = "smartcustoms.org/trust-policy/v1"
"""Value of the policy's ``format`` key."""

_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}")
_TOP_KEYS: Final = ("format", "id", "version", "administration", "quorum", "logs", "witnesses")
_LOG_KEYS: Final = ("administration", "origin", "keys", "statement_keys")
_WITNESS_KEYS: Final = ("name", "keys")


@dataclass(frozen=True, slots=True)
class PartnerLog:
    """A partner administration's log.

    Attributes:
        administration: The partner's administration id (statement ``issuer``).
        origin: The log's checkpoint origin.
        keys: Verifier keys of the log's checkpoint signatures.
        statement_keys: Verifier keys of the partner's statement signatures.
    """

    administration: str
    origin: str
    keys: tuple[NoteVerifier, ...]
    statement_keys: tuple[NoteVerifier, ...]


@dataclass(frozen=True, slots=True)
class PolicyWitness:
    """A witness whose cosignatures count towards the quorum.

    Attributes:
        name: The witness name (the key name of its cosignatures).
        keys: Its ``cosignature/v1`` verifier keys.
    """

    name: str
    keys: tuple[CosignatureVerifier, ...]


@dataclass(frozen=True, slots=True)
class Policy:
    """A parsed trust policy.

    Attributes:
        id: Policy id.
        version: Policy version.
        administration: Our own administration id.
        quorum: How many distinct witnesses must cosign a checkpoint (k of n).
        logs: Partner logs.
        witnesses: The n witnesses.
    """

    id: str
    version: str
    administration: str
    quorum: int
    logs: tuple[PartnerLog, ...]
    witnesses: tuple[PolicyWitness, ...]

    def log(self, origin: str) -> PartnerLog | None:
        """The partner log with this origin, if the policy names it."""
        return next((log for log in self.logs if log.origin == origin), None)

    def witness_keys(self) -> tuple[CosignatureVerifier, ...]:
        """Every witness key of the policy."""
        return tuple(key for witness in self.witnesses for key in witness.keys)


class _PolicyReader(FileReader):
    error: ClassVar[type[InvalidInputError]] = InvalidPolicyError
    code_syntax: ClassVar[str] = "policy.syntax"
    code_missing: ClassVar[str] = "policy.missing_key"
    code_unknown_key: ClassVar[str] = "policy.unknown_key"
    code_invalid: ClassVar[str] = "policy.invalid_value"
    code_unreadable: ClassVar[str] = "policy.unreadable"
    code_duplicate: ClassVar[str] = "policy.duplicate"

    def ident(self, data: Mapping[str, Any], key: str, table: str, index: int | None) -> str:
        value = self.text(data, key, table=table, index=index, required=True)
        if value is not None and not _ID.fullmatch(value):
            self.add(self.code_invalid, self.where(table, index, key), f"invalid {key} {value!r}")
        return value or ""

    def vkeys(
        self, data: Mapping[str, Any], key: str, table: str, index: int, *, witness: bool
    ) -> list[Any]:
        raw = data.get(key)
        line = self.where(table, index, key)
        if raw is None:
            self._missing(key, table, index)
            return []
        if not isinstance(raw, list) or not raw:
            self.add(self.code_invalid, line, f"{key} must be a non-empty list of key strings")
            return []
        parsed: list[Any] = []
        for vkey in raw:
            try:
                if not isinstance(vkey, str):
                    raise InvalidKeyError(f"{vkey!r} is not a string")
                parsed.append(parse_cosigner_vkey(vkey) if witness else parse_vkey(vkey))
            except InvalidKeyError as exc:
                self.add(self.code_invalid, line, f"{key}: {exc}")
        return parsed


def parse_policy(text: str, *, label: str = "policy") -> Policy:
    """Parse a policy's TOML text (already verified, or trusted locally).

    Args:
        text: The TOML document.
        label: How the policy is named in problem paths.

    Raises:
        InvalidPolicyError: Every problem, each as ``label:LINE``.
    """
    reader = _PolicyReader(label, TomlLocator(text))
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        reader.add(reader.code_syntax, 1, f"not valid TOML: {exc}")
        reader.raise_if_any("policy")
        raise  # pragma: no cover - raise_if_any raised
    reader.check_keys(data, _TOP_KEYS)
    if data.get("format") != POLICY_FORMAT:
        reader.add(
            reader.code_invalid, reader.where(key="format"), f"format must be {POLICY_FORMAT!r}"
        )
    policy_id = reader.ident(data, "id", "", None)
    version = reader.text(data, "version", required=True) or ""
    administration = reader.ident(data, "administration", "", None)
    logs = _logs(reader, data.get("logs", []))
    witnesses = _witnesses(reader, data.get("witnesses", []))
    quorum = data.get("quorum")
    if not isinstance(quorum, int) or isinstance(quorum, bool) or not 1 <= quorum <= len(witnesses):
        reader.add(
            reader.code_invalid,
            reader.where(key="quorum"),
            f"quorum must be an integer from 1 to the {len(witnesses)} witnesses, got {quorum!r}",
        )
    reader.raise_if_any("policy")
    assert isinstance(quorum, int)  # checked above; no error was recorded
    return Policy(policy_id, version, administration, quorum, tuple(logs), tuple(witnesses))


def _tables(reader: _PolicyReader, raw: Any, name: str) -> list[Mapping[str, Any]]:
    if not isinstance(raw, list) or not all(isinstance(x, dict) for x in raw):
        reader.add(reader.code_invalid, reader.where(name), f"{name} must be [[{name}]] tables")
        return []
    if not raw:
        reader.add(reader.code_missing, 1, f"the policy needs at least one [[{name}]] table")
    return raw


def _logs(reader: _PolicyReader, raw: Any) -> list[PartnerLog]:
    logs: list[PartnerLog] = []
    seen: set[str] = set()
    for i, entry in enumerate(_tables(reader, raw, "logs")):
        reader.check_keys(entry, _LOG_KEYS, "logs", i)
        administration = reader.ident(entry, "administration", "logs", i)
        origin = reader.text(entry, "origin", table="logs", index=i, required=True) or ""
        if origin in seen:
            reader.add(
                reader.code_duplicate, reader.where("logs", i, "origin"), f"log {origin!r} twice"
            )
        seen.add(origin)
        keys = reader.vkeys(entry, "keys", "logs", i, witness=False)
        statement_keys = reader.vkeys(entry, "statement_keys", "logs", i, witness=False)
        logs.append(PartnerLog(administration, origin, tuple(keys), tuple(statement_keys)))
    return logs


def _witnesses(reader: _PolicyReader, raw: Any) -> list[PolicyWitness]:
    witnesses: list[PolicyWitness] = []
    seen: set[str] = set()
    for i, entry in enumerate(_tables(reader, raw, "witnesses")):
        reader.check_keys(entry, _WITNESS_KEYS, "witnesses", i)
        name = reader.text(entry, "name", table="witnesses", index=i, required=True) or ""
        if name in seen:
            reader.add(
                reader.code_duplicate,
                reader.where("witnesses", i, "name"),
                f"witness {name!r} twice",
            )
        seen.add(name)
        keys = reader.vkeys(entry, "keys", "witnesses", i, witness=True)
        for key in keys:
            if key.name != name:
                reader.add(
                    reader.code_invalid,
                    reader.where("witnesses", i, "keys"),
                    f"witness key named {key.name!r} listed under witness {name!r}",
                )
        witnesses.append(PolicyWitness(name, tuple(keys)))
    return witnesses


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _toml_list(values: Sequence[str]) -> str:
    return "[" + ", ".join(_toml_string(v) for v in values) + "]"


def format_policy(policy: Policy) -> str:
    """The TOML text of a policy (what :func:`parse_policy` reads back to an equal policy)."""
    lines = [
        f"format = {_toml_string(POLICY_FORMAT)}",
        f"id = {_toml_string(policy.id)}",
        f"version = {_toml_string(policy.version)}",
        f"administration = {_toml_string(policy.administration)}",
        f"quorum = {policy.quorum}",
    ]
    for log in policy.logs:
        lines += [
            "",
            "[[logs]]",
            f"administration = {_toml_string(log.administration)}",
            f"origin = {_toml_string(log.origin)}",
            f"keys = {_toml_list([k.vkey for k in log.keys])}",
            f"statement_keys = {_toml_list([k.vkey for k in log.statement_keys])}",
        ]
    for witness in policy.witnesses:
        lines += [
            "",
            "[[witnesses]]",
            f"name = {_toml_string(witness.name)}",
            f"keys = {_toml_list([k.vkey for k in witness.keys])}",
        ]
    return "\n".join(lines) + "\n"


def sign_policy(text: str, signers: Sequence[Signer]) -> str:
    """Sign a policy's TOML text; the result is what partners and officers receive.

    Raises:
        InvalidPolicyError: The text does not parse as a policy.
        InvalidNoteError: The text cannot be a note (tabs, carriage returns, no final newline).
    """
    parse_policy(text)
    return sign_note(text, signers)


def load_policy(
    signed: str | bytes, trusted: Sequence[Verifier], *, label: str = "policy"
) -> Policy:
    """Verify a signed policy with our administration's policy keys, then parse it.

    Raises:
        InvalidNoteError: The note is malformed.
        InvalidSignatureError: No trusted key signed it.
        InvalidPolicyError: Every problem of the TOML text.
    """
    return parse_policy(verify_note(signed, trusted).text, label=label)


@dataclass(frozen=True, slots=True)
class FinalCheckpoint:
    """A checkpoint the policy accepts as final.

    Attributes:
        checkpoint: The tree head.
        log: The partner log that signed it.
        cosigners: Each counted witness and the time of its latest cosignature.
    """

    checkpoint: Checkpoint
    log: PartnerLog
    cosigners: Mapping[str, int]


def require_final(signed: str | bytes | SignedCheckpoint, policy: Policy) -> FinalCheckpoint:
    """Check a signed checkpoint against the policy and say why it is not final.

    Raises:
        InvalidNoteError: The note is malformed.
        InvalidCheckpointError: The note text is not a checkpoint.
        InvalidSignatureError: The origin is not a policy log, no log key signed it, or a
            known key's signature fails.
        QuorumNotMetError: Fewer than ``quorum`` distinct policy witnesses cosigned it.
    """
    parsed = signed if isinstance(signed, SignedCheckpoint) else parse_signed_checkpoint(signed)
    log = policy.log(parsed.checkpoint.origin)
    if log is None:
        raise InvalidSignatureError(f"log {parsed.checkpoint.origin[:200]!r} is not in the policy")
    verify_note(parsed.note, log.keys)
    cosigners = verified_cosigners(parsed.note, policy.witness_keys())
    if len(cosigners) < policy.quorum:
        raise QuorumNotMetError(
            f"{log.origin} size {parsed.checkpoint.size}: {len(cosigners)} of the"
            f" {policy.quorum} witness cosignatures required"
        )
    return FinalCheckpoint(parsed.checkpoint, log, dict(cosigners))


def checkpoint_is_final(signed_checkpoint_note: str | bytes, policy: Policy) -> bool:
    """True iff the log's signature verifies and at least ``quorum`` policy witnesses cosigned.

    Any malformed or untrusted input is simply not final; use :func:`require_final` to learn
    why.
    """
    try:
        require_final(signed_checkpoint_note, policy)
    except (
        InvalidNoteError,
        InvalidCheckpointError,
        InvalidKeyError,
        InvalidSignatureError,
        QuorumNotMetError,
    ):
        return False
    return True
