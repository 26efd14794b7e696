"""One administration's ledger node: its log, its keys, its statements, its witness.

A :class:`LedgerNode` puts the ledger's pieces together for one administration:

* the durable tiled log (:class:`~smartcustoms.ledger.log.TiledLog`) under ``<folder>/log``;
* three Ed25519 keys (:class:`LedgerKeys`, ``<folder>/keys.json``, created on first use with
  mode 0600): the **log key** signs checkpoints, the **statement key** signs statements, the
  **witness key** cosigns partners' checkpoints;
* the latest **cosigned checkpoint** (``<folder>/checkpoint``): our signed tree head with the
  cosignatures witnesses returned for it;
* the **witness** of partners' logs, whose state (the latest size and root cosigned per log)
  is ``<folder>/witness.json``, and the trust policy naming those logs.

The node is pure file I/O and cryptography; fetching from partners over HTTP is
:mod:`smartcustoms.ledger.remote`, and the outbox of statements waiting to be appended is
kept by the store.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from smartcustoms.errors import InvalidKeyError, LedgerRangeError
from smartcustoms.ledger._files import write_file_atomically
from smartcustoms.ledger.bundle import build_bundle
from smartcustoms.ledger.checkpoint import Checkpoint, parse_signed_checkpoint, sign_checkpoint
from smartcustoms.ledger.cosignature import CosignatureSigner, add_cosignatures
from smartcustoms.ledger.keys import NoteSigner, parse_skey
from smartcustoms.ledger.log import TiledLog
from smartcustoms.ledger.note import Verifier
from smartcustoms.ledger.policy import Policy
from smartcustoms.ledger.statements import (
    AeoAction,
    StatementType,
    build_statement,
    canonical_json,
    sign_statement,
)
from smartcustoms.ledger.witness import JsonFileWitnessStore, Witness

__all__ = ["KEYS_FILE", "POLICY_FILE", "LedgerKeys", "LedgerNode", "Opening", "make_statement"]

KEYS_FILE: Final = "keys.json"
"""Name of the keys file inside the ledger folder."""
POLICY_FILE: Final = "policy.note"
"""Name of the signed trust policy inside the ledger folder (when not set elsewhere)."""
_CHECKPOINT_FILE: Final = "checkpoint"


@dataclass(frozen=True, slots=True)
class LedgerKeys:
    """The three private keys of a node.

    Attributes:
        log: Signs our checkpoints (key name = the log origin).
        statements: Signs our statements (key name ``<origin>/statements``).
        witness: Cosigns partners' checkpoints (key name ``<origin>/witness``).
    """

    log: NoteSigner
    statements: NoteSigner
    witness: CosignatureSigner

    @classmethod
    def generate(cls, origin: str) -> LedgerKeys:
        """Fresh random keys named after ``origin``."""
        return cls(
            log=NoteSigner.generate(origin),
            statements=NoteSigner.generate(f"{origin}/statements"),
            witness=CosignatureSigner(f"{origin}/witness", os.urandom(32)),
        )

    def dump(self) -> bytes:
        """The keys file's bytes (secret)."""
        return (
            json.dumps(
                {
                    "log": self.log.skey,
                    "statements": self.statements.skey,
                    "witness": {
                        "name": self.witness.name,
                        "seed": base64.b64encode(self.witness.seed).decode("ascii"),
                    },
                },
                indent=2,
            ).encode()
            + b"\n"
        )

    @classmethod
    def load(cls, path: Path) -> LedgerKeys:
        """Read a keys file.

        Raises:
            InvalidKeyError: The file is not a keys file.
        """
        try:
            data = json.loads(path.read_bytes())
            witness = data["witness"]
            return cls(
                log=parse_skey(data["log"]),
                statements=parse_skey(data["statements"]),
                witness=CosignatureSigner(
                    witness["name"], base64.b64decode(witness["seed"], validate=True)
                ),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InvalidKeyError(f"{path} is not a ledger keys file: {exc}") from exc

    @classmethod
    def load_or_create(cls, path: Path, origin: str) -> LedgerKeys:
        """Read the keys file, creating it (mode 0600) with fresh keys when absent."""
        if path.exists():
            return cls.load(path)
        keys = cls.generate(origin)
        path.parent.mkdir(parents=True, exist_ok=True)
        previous = os.umask(0o077)  # the secret file is never readable by others, even briefly
        try:
            write_file_atomically(path, keys.dump())
        finally:
            os.umask(previous)
        return keys

    def verifier_keys(self) -> dict[str, str]:
        """The public verifier keys to give partners (for their trust policy)."""
        return {
            "log": self.log.verifier.vkey,
            "statements": self.statements.verifier.vkey,
            "witness": self.witness.verifier.vkey,
        }


@dataclass(frozen=True, slots=True)
class Opening:
    """What opens a statement's commitment: the salt and the private fields (never logged)."""

    salt: bytes
    private_fields: Mapping[str, Any]

    def dump(self) -> bytes:
        """Canonical JSON bytes, stored beside the statement."""
        return canonical_json(
            {
                "salt": base64.b64encode(self.salt).decode("ascii"),
                "private_fields": dict(self.private_fields),
            }
        )

    @classmethod
    def load(cls, data: bytes) -> Opening:
        """Parse :meth:`dump` bytes."""
        raw = json.loads(data)
        return cls(base64.b64decode(raw["salt"]), raw["private_fields"])


def make_statement(
    keys: LedgerKeys,
    administration: str,
    *,
    type: StatementType,
    subject: str,
    effective_at: datetime,
    document: bytes,
    private_fields: Mapping[str, Any],
    action: AeoAction | None = None,
) -> tuple[bytes, Opening]:
    """Build and sign a statement with the statement key (the log itself is not needed).

    Returns:
        The envelope bytes to log, and the opening of its commitment (keep it off the log).

    Raises:
        InvalidStatementError: Every problem of the statement's fields.
    """
    statement, salt = build_statement(
        issuer=administration,
        type=type,
        subject=subject,
        effective_at=effective_at,
        document=document,
        private_fields=private_fields,
        action=action,
    )
    return sign_statement(statement, keys.statements).entry(), Opening(salt, private_fields)


class LedgerNode:
    """An administration's ledger: log, keys, checkpoints, statements, witness.

    Args:
        folder: The ledger folder (created when absent).
        origin: The log's origin (first checkpoint line; the log key's name).
        administration: Our administration id (the issuer of our statements).
        policy: The trust policy (partner logs and witnesses); ``None``: no partner.
        keys: The node's keys (default: read or created in ``folder``).
        durable: Fsync log writes (default).

    Raises:
        LedgerLockedError: Another process has the log open.
    """

    def __init__(
        self,
        folder: Path | str,
        *,
        origin: str,
        administration: str,
        policy: Policy | None = None,
        keys: LedgerKeys | None = None,
        durable: bool = True,
    ) -> None:
        self.folder = Path(folder)
        self.origin = origin
        self.administration = administration
        self.policy = policy
        self.keys = keys or LedgerKeys.load_or_create(self.folder / KEYS_FILE, origin)
        if self.keys.log.name != origin:
            raise InvalidKeyError(
                f"the log key is named {self.keys.log.name!r}, not the origin {origin!r}"
            )
        self.log = TiledLog(self.folder / "log", durable=durable)

    def close(self) -> None:
        """Release the log."""
        self.log.close()

    # --- statements --------------------------------------------------------------------------

    def statement(
        self,
        *,
        type: StatementType,
        subject: str,
        effective_at: datetime,
        document: bytes,
        private_fields: Mapping[str, Any],
        action: AeoAction | None = None,
    ) -> tuple[bytes, Opening]:
        """A signed statement's log entry, and the opening of its commitment."""
        return make_statement(
            self.keys,
            self.administration,
            type=type,
            subject=subject,
            effective_at=effective_at,
            document=document,
            private_fields=private_fields,
            action=action,
        )

    def append(self, entries: Sequence[bytes]) -> range:
        """Append entries durably; their indices."""
        return self.log.append_batch(entries)

    # --- checkpoints -------------------------------------------------------------------------

    def signed_checkpoint(self, size: int | None = None) -> str:
        """Our checkpoint at ``size`` (default: the current size), freshly signed."""
        n = self.log.size if size is None else size
        return sign_checkpoint(Checkpoint(self.origin, n, self.log.root(n)), [self.keys.log])

    def checkpoint(self) -> str:
        """The latest checkpoint, with the cosignatures collected for its size so far."""
        stored = self.cosigned_checkpoint()
        if stored is not None and parse_signed_checkpoint(stored).checkpoint.size == self.log.size:
            return stored
        return self.signed_checkpoint()

    def cosigned_checkpoint(self) -> str | None:
        """The newest checkpoint that witnesses cosigned (``None``: none yet)."""
        path = self.folder / _CHECKPOINT_FILE
        return path.read_text() if path.exists() else None

    def add_cosignatures(self, checkpoint_note: str, lines: str) -> str:
        """Keep ``lines`` (a witness's answer) on ``checkpoint_note``; return the result.

        Cosignatures of the same checkpoint accumulate; a newer checkpoint replaces an
        older one.
        """
        stored = self.cosigned_checkpoint()
        base = checkpoint_note
        if stored is not None:
            old = parse_signed_checkpoint(stored).checkpoint
            new = parse_signed_checkpoint(checkpoint_note).checkpoint
            if old == new:
                base = stored
            elif old.size > new.size:
                return stored
        merged = add_cosignatures(base, lines)
        write_file_atomically(self.folder / _CHECKPOINT_FILE, merged.encode())
        return merged

    # --- proofs ------------------------------------------------------------------------------

    def bundle(self, index: int) -> str:
        """An offline proof bundle for entry ``index`` against the newest cosigned checkpoint.

        Raises:
            LedgerRangeError: No cosigned checkpoint covers the entry yet.
        """
        stored = self.cosigned_checkpoint() or self.signed_checkpoint()
        size = parse_signed_checkpoint(stored).checkpoint.size
        if not 0 <= index < size:
            raise LedgerRangeError(
                f"entry {index} is not covered by the newest cosigned checkpoint (size {size})"
            )
        return build_bundle(
            self.log.entry(index), index, self.log.inclusion_proof(index, size), stored
        )

    # --- witnessing --------------------------------------------------------------------------

    def witness(self) -> Witness:
        """Our witness of the partner logs the policy names."""
        logs: dict[str, Sequence[Verifier]] = {}
        if self.policy is not None:
            logs = {log.origin: log.keys for log in self.policy.logs}
        return Witness(
            [self.keys.witness], logs, JsonFileWitnessStore(self.folder / "witness.json")
        )
