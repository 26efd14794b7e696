"""A transparency-log witness (C2SP tlog-witness ``add-checkpoint``).

Partner administrations witness each other's logs: before cosigning a new checkpoint of a
log, the witness checks it is signed by the log's key and *consistent* with the last
checkpoint it cosigned for that log (an RFC 9162 consistency proof). A log that showed one
history to a border officer and another to an auditor would need witnesses to cosign both,
and no honest witness does: the fork is refused and stays provable.

The request body (``POST <prefix>/add-checkpoint``) is::

    old <size of the last checkpoint the client believes the witness cosigned>
    <zero to 63 consistency proof hashes, base64, one per line>
    <empty line>
    <the signed checkpoint>

and the checks run in the spec's order, each failure a coded error whose base class gives
the HTTP status through the API's mapping:

===================================================  ======================  ======
failure                                              error code              status
===================================================  ======================  ======
malformed body, or old size > checkpoint size        ``witness.bad_request``  400
no log key's signature verifies                      ``witness.untrusted``    403
origin not configured                                ``witness.unknown_log``  404
old size != latest cosigned size (rollbacks too)     ``witness.conflict``     409
proof fails / proof with old 0 / bad empty-tree root ``witness.inconsistent`` 422
equal sizes but different roots (a fork)             ``witness.inconsistent`` 422
===================================================  ======================  ======

The 409 error carries :attr:`~smartcustoms.errors.WitnessConflictError.latest_size` (the
response body is that size and a newline, ``Content-Type: text/x.tlog.size``). The spec text
of 2024 answers equal sizes with different roots with 409; the current table (C2SP commit
5ba5ee83) with 422, which we follow because that case is a fork, not a stale client.

Checking the old size and recording the new checkpoint happen atomically (the spec's
rollback race): the :class:`WitnessStore` port offers a compare-and-set, implemented in
memory (:class:`MemoryWitnessStore`) and in a JSON file replaced atomically under an
exclusive lock (:class:`JsonFileWitnessStore`).
"""

from __future__ import annotations

import base64
import fcntl
import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

from smartcustoms.errors import (
    InconsistentCheckpointError,
    InvalidCheckpointError,
    InvalidNoteError,
    InvalidSignatureError,
    ProofError,
    StoreError,
    UnknownLogError,
    UntrustedCheckpointError,
    WitnessConflictError,
    WitnessRequestError,
)
from smartcustoms.ledger._files import fsync_directories, write_file_atomically
from smartcustoms.ledger.checkpoint import (
    SignedCheckpoint,
    parse_decimal,
    parse_signed_checkpoint,
)
from smartcustoms.ledger.cosignature import CosignatureSigner
from smartcustoms.ledger.merkle import EMPTY_ROOT, HASH_SIZE, verify_consistency
from smartcustoms.ledger.note import NoteSignature, Verifier, b64decode_strict, verify_note

__all__ = [
    "MAX_PROOF_LINES",
    "MAX_REQUEST_BYTES",
    "AddCheckpointRequest",
    "JsonFileWitnessStore",
    "MemoryWitnessStore",
    "TreeHead",
    "Witness",
    "WitnessStore",
    "format_add_checkpoint",
    "parse_add_checkpoint",
]

MAX_PROOF_LINES: Final = 63
"""Most consistency proof lines a request may carry (C2SP tlog-witness)."""
MAX_REQUEST_BYTES: Final = 1 << 20
"""Largest request body accepted."""
_STATE_FORMAT: Final = "smartcustoms.org/witness-state/v1"


@dataclass(frozen=True, slots=True)
class AddCheckpointRequest:
    """A parsed ``add-checkpoint`` request body.

    Attributes:
        old_size: The size the client believes the witness last cosigned.
        proof: Consistency proof hashes from ``old_size`` to the checkpoint's size.
        checkpoint: The signed checkpoint (parsed, not yet verified).
        note: The signed checkpoint text as received.
    """

    old_size: int
    proof: tuple[bytes, ...]
    checkpoint: SignedCheckpoint
    note: str


def format_add_checkpoint(old_size: int, proof: Sequence[bytes], checkpoint_note: str) -> str:
    """The request body a log sends to a witness."""
    lines = "".join(base64.b64encode(h).decode("ascii") + "\n" for h in proof)
    return f"old {old_size}\n{lines}\n{checkpoint_note}"


def parse_add_checkpoint(body: str | bytes) -> AddCheckpointRequest:
    """Parse an ``add-checkpoint`` request body.

    Raises:
        WitnessRequestError: Any framing problem, a proof line that is not a base64 SHA-256
            hash, more than 63 proof lines, or a checkpoint that does not parse.
    """
    if len(body) > MAX_REQUEST_BYTES:
        raise WitnessRequestError(f"request body is larger than {MAX_REQUEST_BYTES} bytes")
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise WitnessRequestError("request body is not UTF-8") from exc
    head, sep, note = body.partition("\n\n")
    if not sep:
        raise WitnessRequestError("request body has no empty line before the checkpoint")
    lines = head.split("\n")
    if not lines[0].startswith("old "):
        raise WitnessRequestError("request body must start with 'old <size>'")
    try:
        old_size = parse_decimal(lines[0][4:], "old size")
    except InvalidCheckpointError as exc:
        raise WitnessRequestError(str(exc)) from exc
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise WitnessRequestError(f"more than {MAX_PROOF_LINES} consistency proof lines")
    proof: list[bytes] = []
    for number, line in enumerate(lines[1:], 1):
        try:
            node = b64decode_strict(line, f"proof line {number}")
        except InvalidNoteError as exc:
            raise WitnessRequestError(str(exc)) from exc
        if len(node) != HASH_SIZE:
            raise WitnessRequestError(f"proof line {number} is not a {HASH_SIZE}-byte hash")
        proof.append(node)
    try:
        checkpoint = parse_signed_checkpoint(note)
    except (InvalidNoteError, InvalidCheckpointError) as exc:
        raise WitnessRequestError(f"invalid checkpoint: {exc}") from exc
    return AddCheckpointRequest(old_size, tuple(proof), checkpoint, note)


@dataclass(frozen=True, slots=True)
class TreeHead:
    """What a witness remembers of a log: the size and root it last cosigned."""

    size: int
    root_hash: bytes


class WitnessStore(Protocol):
    """Where a witness keeps the latest cosigned tree head of each log."""

    def latest(self, origin: str) -> TreeHead | None:
        """The latest cosigned tree head of ``origin``, or ``None`` if never cosigned."""
        ...

    def compare_and_set(self, origin: str, expected: TreeHead | None, new: TreeHead) -> bool:
        """Atomically replace ``expected`` by ``new``; ``False`` if the state had changed."""
        ...


class MemoryWitnessStore:
    """A :class:`WitnessStore` in memory (tests, and witnesses that may forget on restart)."""

    def __init__(self) -> None:
        self._heads: dict[str, TreeHead] = {}
        self._lock = threading.Lock()

    def latest(self, origin: str) -> TreeHead | None:
        """The latest cosigned tree head of ``origin``."""
        with self._lock:
            return self._heads.get(origin)

    def compare_and_set(self, origin: str, expected: TreeHead | None, new: TreeHead) -> bool:
        """Replace ``expected`` by ``new`` if nothing changed meanwhile."""
        with self._lock:
            if self._heads.get(origin) != expected:
                return False
            self._heads[origin] = new
            return True


class JsonFileWitnessStore:
    """A :class:`WitnessStore` in one JSON file, safe across threads and processes.

    Every update takes an exclusive ``flock`` on ``<file>.lock``, re-reads the file,
    compares, and replaces the file atomically (temporary file, fsync, rename, directory
    fsync), so a crash leaves either the old state or the new one. POSIX only.

    Args:
        path: The state file (created on first update).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, open(self.path.with_name(self.path.name + ".lock"), "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _read(self) -> dict[str, TreeHead]:
        if not self.path.exists():
            return {}
        try:
            data: Any = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("format") != _STATE_FORMAT:
                raise ValueError(f"format is not {_STATE_FORMAT}")
            return {
                str(origin): TreeHead(int(head["size"]), base64.b64decode(head["root_hash"]))
                for origin, head in data["logs"].items()
            }
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            raise StoreError(f"cannot read witness state {self.path}: {exc}") from exc

    def latest(self, origin: str) -> TreeHead | None:
        """The latest cosigned tree head of ``origin``."""
        with self._locked():
            return self._read().get(origin)

    def compare_and_set(self, origin: str, expected: TreeHead | None, new: TreeHead) -> bool:
        """Replace ``expected`` by ``new`` if nothing changed meanwhile, durably."""
        with self._locked():
            heads = self._read()
            if heads.get(origin) != expected:
                return False
            heads[origin] = new
            logs = {
                name: {"size": h.size, "root_hash": base64.b64encode(h.root_hash).decode()}
                for name, h in sorted(heads.items())
            }
            text = json.dumps({"format": _STATE_FORMAT, "logs": logs}, indent=1) + "\n"
            fsync_directories(write_file_atomically(self.path, text.encode("utf-8")))
            return True


class Witness:
    """Cosigns checkpoints of known logs that are consistent with what it saw before.

    Args:
        signers: The witness's cosignature key(s); each returns one line per checkpoint.
        logs: For every witnessed origin, the log's trusted verifier keys.
        store: Where the latest cosigned tree head of each log is kept.
    """

    def __init__(
        self,
        signers: Sequence[CosignatureSigner],
        logs: Mapping[str, Sequence[Verifier]],
        store: WitnessStore,
    ) -> None:
        if not signers:
            raise WitnessRequestError("a witness needs at least one cosignature key")
        self.signers = tuple(signers)
        self.logs = {origin: tuple(keys) for origin, keys in logs.items()}
        self.store = store

    def add_checkpoint(self, body: str | bytes) -> str:
        """Handle an ``add-checkpoint`` request; return the cosignature lines.

        Raises:
            WitnessRequestError: Malformed body, or old size above the checkpoint size (400).
            UntrustedCheckpointError: No trusted log signature verifies (403).
            UnknownLogError: The origin is not witnessed here (404).
            WitnessConflictError: Old size is not the latest cosigned size (409).
            InconsistentCheckpointError: The new checkpoint does not extend the old (422).
            StoreError: The witness state cannot be read or written.
        """
        request = parse_add_checkpoint(body)
        checkpoint = request.checkpoint.checkpoint
        keys = self.logs.get(checkpoint.origin)
        if keys is None:
            raise UnknownLogError(f"unknown log origin {checkpoint.origin[:200]!r}")
        try:
            verify_note(request.checkpoint.note, keys)
        except InvalidSignatureError as exc:
            raise UntrustedCheckpointError(f"{checkpoint.origin}: {exc}") from exc
        if request.old_size > checkpoint.size:
            raise WitnessRequestError(
                f"old size {request.old_size} is larger than checkpoint size {checkpoint.size}"
            )
        latest = self.store.latest(checkpoint.origin)
        self._check_old_size(checkpoint.origin, request.old_size, latest)
        self._check_consistency(request, latest)
        new = TreeHead(checkpoint.size, checkpoint.root_hash)
        if not self.store.compare_and_set(checkpoint.origin, latest, new):
            # Another request for this log won the race between our read and our write.
            now = self.store.latest(checkpoint.origin)
            raise WitnessConflictError(
                f"{checkpoint.origin}: the latest cosigned checkpoint changed meanwhile",
                latest_size=0 if now is None else now.size,
            )
        text = request.checkpoint.note.text.encode("utf-8")
        return "".join(NoteSignature(s.name, s.key_id, s.sign(text)).line() for s in self.signers)

    @staticmethod
    def _check_old_size(origin: str, old_size: int, latest: TreeHead | None) -> None:
        latest_size = 0 if latest is None else latest.size
        if old_size != latest_size:
            raise WitnessConflictError(
                f"{origin}: old size {old_size} is not the latest cosigned size {latest_size}",
                latest_size=latest_size,
            )

    @staticmethod
    def _check_consistency(request: AddCheckpointRequest, latest: TreeHead | None) -> None:
        checkpoint = request.checkpoint.checkpoint
        if checkpoint.size == 0 and checkpoint.root_hash != EMPTY_ROOT:
            raise InconsistentCheckpointError("a checkpoint of size 0 must carry the empty root")
        if request.old_size == 0:
            if request.proof:
                raise InconsistentCheckpointError("the proof must be empty when old size is 0")
            return
        assert latest is not None  # old size matched a recorded, non-zero size
        if request.old_size == checkpoint.size and latest.root_hash != checkpoint.root_hash:
            raise InconsistentCheckpointError(
                f"{checkpoint.origin}: size {checkpoint.size} with a different root (a fork)"
            )
        try:
            verify_consistency(
                request.old_size,
                checkpoint.size,
                request.proof,
                latest.root_hash,
                checkpoint.root_hash,
            )
        except ProofError as exc:
            raise InconsistentCheckpointError(f"{checkpoint.origin}: {exc}") from exc
