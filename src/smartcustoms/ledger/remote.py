"""Talking to a partner administration's ledger over HTTP, and verifying what it says.

:class:`PartnerClient` reads a partner's log through its service (the ``partner`` role's
routes under ``/api/v1/ledger``): the checkpoint, tiles and entry bundles (C2SP
tlog-tiles paths), consistency proofs, the business documents behind its statements, and
its witness endpoint.

:func:`sync_partner` is the whole "trust but verify" step of a mutual recognition
arrangement. It

1. fetches the partner's checkpoint and has **our witness** check that it extends the last
   one we cosigned (C2SP tlog-witness: a rollback or a fork is refused with its error);
2. requires the checkpoint to be **final** under our trust policy (the log's signature and a
   quorum of witness cosignatures);
3. reads the new entries from the partner's tiles and checks that the tiles hash to the
   checkpoint's root and that each entry is the leaf they hold;
4. verifies each statement's signature with the partner's statement keys, and for AEO
   statuses fetches the business document and checks it against the statement's hash.

Nothing from the partner is believed before those checks; a failure raises the coded error
of the check that failed and records nothing.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

import httpx

from smartcustoms.errors import (
    InvalidLedgerEntryError,
    LedgerRangeError,
    PartnerLedgerError,
    WitnessConflictError,
)
from smartcustoms.ledger.checkpoint import parse_signed_checkpoint
from smartcustoms.ledger.cosignature import add_cosignatures
from smartcustoms.ledger.merkle import leaf_hash, tree_root
from smartcustoms.ledger.policy import FinalCheckpoint, PartnerLog, Policy, require_final
from smartcustoms.ledger.statements import (
    Statement,
    StatementType,
    canonical_json,
    parse_signed_statement,
    verify_document,
    verify_statement,
)
from smartcustoms.ledger.tiles import TILE_WIDTH, TileCoord, TileHashReader, parse_entry_bundle
from smartcustoms.ledger.witness import Witness, format_add_checkpoint

__all__ = [
    "AEO_DOCUMENT_FORMAT",
    "PartnerClient",
    "SyncResult",
    "SyncedStatement",
    "aeo_document",
    "parse_aeo_document",
    "request_cosignature",
    "sync_partner",
]

AEO_DOCUMENT_FORMAT: Final = "smartcustoms.org/aeo-act/v1"
"""``format`` of the business document behind an ``aeo.status`` statement."""
LEDGER_PREFIX: Final = "/api/v1/ledger"


def aeo_document(
    *,
    operator_id: str,
    type: str,
    authority: str,
    number: str,
    valid_from: date,
    valid_to: date | None,
    act: str,
    effective: date,
) -> bytes:
    """The business document an AEO act's statement commits to (shared with MRA partners)."""
    return canonical_json(
        {
            "format": AEO_DOCUMENT_FORMAT,
            "operator_id": operator_id,
            "type": type,
            "authority": authority,
            "number": number,
            "valid_from": valid_from.isoformat(),
            "valid_to": None if valid_to is None else valid_to.isoformat(),
            "act": act,
            "effective": effective.isoformat(),
        }
    )


def parse_aeo_document(data: bytes) -> dict[str, Any]:
    """Read an AEO act document (dates as :class:`date`).

    Raises:
        InvalidLedgerEntryError: Not such a document.
    """
    try:
        raw = json.loads(data)
        if raw.get("format") != AEO_DOCUMENT_FORMAT:
            raise ValueError(f"format is {raw.get('format')!r}")
        return {
            "operator_id": str(raw["operator_id"]),
            "type": str(raw["type"]),
            "authority": str(raw["authority"]),
            "number": str(raw["number"]),
            "valid_from": date.fromisoformat(raw["valid_from"]),
            "valid_to": None if raw["valid_to"] is None else date.fromisoformat(raw["valid_to"]),
            "act": str(raw["act"]),
            "effective": date.fromisoformat(raw["effective"]),
        }
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InvalidLedgerEntryError(f"not an AEO act document: {exc}") from exc


class PartnerClient:
    """A partner's ledger routes, with our ``partner`` API key.

    Args:
        base_url: The partner service's base URL (``http://host:port``).
        api_key: Our API key at the partner (role ``partner``).
        transport: An httpx transport (tests pass the partner app's).
        timeout: Seconds per request.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + LEDGER_PREFIX,
            headers={"Authorization": f"Bearer {api_key}"},
            transport=transport,
            timeout=timeout,
        )
        self._tiles: dict[tuple[int, int, int], bytes] = {}

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _get(self, path: str, **params: int) -> httpx.Response:
        try:
            response = self._http.get(path, params=params or None)
        except httpx.HTTPError as exc:
            raise PartnerLedgerError(f"partner ledger unreachable ({path}): {exc}") from exc
        _raise_for(response, path)
        return response

    def checkpoint(self) -> str:
        """The partner's latest checkpoint (with the cosignatures it holds)."""
        return self._get("/checkpoint").text

    def read_tile(self, level: int, index: int, width: int) -> bytes:
        """A hash tile (a :class:`~smartcustoms.ledger.tiles.TileSource`)."""
        key = (level, index, width)
        if key not in self._tiles:
            path = TileCoord(level, index, width).path
            self._tiles[key] = self._get(f"/{path}").content
        return self._tiles[key]

    def entries(self, index: int, width: int) -> list[bytes]:
        """Entry bundle ``index`` holding ``width`` entries."""
        path = TileCoord(0, index, width, is_entries=True).path
        return parse_entry_bundle(self._get(f"/{path}").content, width)

    def consistency_proof(self, old: int, new: int) -> list[bytes]:
        """Proof that the tree of size ``new`` extends the one of size ``old``."""
        data = self._get("/proof/consistency", old=old, new=new).json()
        return [base64.b64decode(h) for h in data["proof"]]

    def document(self, index: int) -> bytes:
        """The business document behind the partner's statement at ``index``."""
        return self._get(f"/documents/{index}").content

    def add_checkpoint(self, body: str) -> str:
        """Ask the partner's witness to cosign one of our checkpoints; its cosignature lines.

        Raises:
            WitnessConflictError: The witness's latest size for our log is another one
                (:attr:`~smartcustoms.errors.WitnessConflictError.latest_size`).
            PartnerLedgerError: Unreachable, or any other refusal.
        """
        try:
            response = self._http.post(
                "/witness/add-checkpoint",
                content=body.encode(),
                headers={"Content-Type": "text/plain"},
            )
        except httpx.HTTPError as exc:
            raise PartnerLedgerError(f"partner witness unreachable: {exc}") from exc
        if response.status_code == 409:
            try:
                latest = int(response.json()["latest_size"])
            except (ValueError, KeyError, TypeError):
                latest = None
            if latest is not None:
                raise WitnessConflictError(
                    f"the partner's witness last cosigned size {latest}", latest_size=latest
                )
        _raise_for(response, "/witness/add-checkpoint")
        return response.text


def _raise_for(response: httpx.Response, path: str) -> None:
    if response.status_code < 400:
        return
    try:
        body = response.json()
        code, detail = body.get("code", "?"), body.get("detail", response.text)
    except ValueError:
        code, detail = "?", response.text
    raise PartnerLedgerError(
        f"partner answered {response.status_code} on {path}: [{code}] {detail}"
    )


@dataclass(frozen=True, slots=True)
class SyncedStatement:
    """One verified partner statement.

    Attributes:
        index: Its leaf index in the partner's log.
        statement: The verified statement.
        document: For ``aeo.status``, the verified business document (parsed).
    """

    index: int
    statement: Statement
    document: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What a sync verified.

    Attributes:
        origin: The partner log.
        old_size: Entries already read before.
        final: The final checkpoint now trusted.
        checkpoint: Its note with our cosignature.
        statements: The new statements, verified.
    """

    origin: str
    old_size: int
    final: FinalCheckpoint
    checkpoint: str
    statements: tuple[SyncedStatement, ...]


def sync_partner(
    client: PartnerClient,
    log: PartnerLog,
    policy: Policy,
    witness: Witness,
    *,
    read_from: int,
    read_root: bytes | None = None,
) -> SyncResult:
    """Verify the partner log's newest checkpoint and read its statements from ``read_from``.

    Args:
        client: The partner's routes.
        log: The partner's log as our policy names it.
        policy: Our trust policy (quorum and witnesses).
        witness: Our witness (its state holds the last checkpoint of the log we cosigned).
        read_from: How many of the log's entries were read before.
        read_root: The root at ``read_from`` recorded then (checked again from the tiles).

    Raises:
        WitnessConflictError, InconsistentCheckpointError, UntrustedCheckpointError: Our
            witness refused the checkpoint (a rollback, a fork, a bad signature).
        QuorumNotMetError: Too few witnesses of the policy cosigned it.
        ProofError, InvalidLedgerEntryError, InvalidSignatureError: The tiles, an entry, a
            statement or a document does not match what the checkpoint commits to.
    """
    note = client.checkpoint()
    checkpoint = parse_signed_checkpoint(note).checkpoint
    if checkpoint.origin != log.origin:
        raise InvalidLedgerEntryError(
            f"the partner served a checkpoint of {checkpoint.origin!r}, expected {log.origin!r}"
        )
    seen = witness.store.latest(log.origin)
    old = 0 if seen is None else seen.size
    proof = client.consistency_proof(old, checkpoint.size) if 0 < old < checkpoint.size else []
    lines = witness.add_checkpoint(format_add_checkpoint(old, proof, note))
    cosigned = add_cosignatures(note, lines)
    final = require_final(cosigned, policy)
    size = checkpoint.size
    if read_from > size:
        raise LedgerRangeError(f"the partner log shrank from {read_from} to {size} entries")
    reader = TileHashReader(client, size)
    if tree_root(reader, size) != checkpoint.root_hash:
        raise InvalidLedgerEntryError("the partner's tiles do not hash to its checkpoint root")
    if read_root is not None and read_from and tree_root(reader, read_from) != read_root:
        raise InvalidLedgerEntryError(
            f"the partner's tree of size {read_from} changed since it was read (a fork)"
        )
    found: list[SyncedStatement] = []
    for bundle in range(read_from // TILE_WIDTH, -(-size // TILE_WIDTH)):
        width = min(TILE_WIDTH, size - bundle * TILE_WIDTH)
        entries = client.entries(bundle, width)
        leaves = client.read_tile(0, bundle, width)
        for offset, entry in enumerate(entries):
            index = bundle * TILE_WIDTH + offset
            if index < read_from:
                continue
            if leaf_hash(entry) != leaves[offset * 32 : offset * 32 + 32]:
                raise InvalidLedgerEntryError(f"entry {index} is not the leaf its tile holds")
            found.append(_verified(client, log, index, entry))
    return SyncResult(log.origin, read_from, final, cosigned, tuple(found))


def _verified(client: PartnerClient, log: PartnerLog, index: int, entry: bytes) -> SyncedStatement:
    envelope = parse_signed_statement(entry)
    statement = verify_statement(envelope, log.statement_keys)
    if statement.issuer != log.administration:
        raise InvalidLedgerEntryError(
            f"entry {index} is issued by {statement.issuer!r}, not {log.administration!r}"
        )
    document = None
    if statement.type is StatementType.AEO_STATUS:
        data = client.document(index)
        verify_document(statement, data)
        document = parse_aeo_document(data)
    return SyncedStatement(index, statement, document)


def request_cosignature(
    client: PartnerClient, note: str, proof_for: Callable[[int], Sequence[bytes]], old: int
) -> tuple[str, int]:
    """Ask a partner's witness to cosign ``note`` (our checkpoint).

    Args:
        client: The partner.
        note: Our signed checkpoint.
        proof_for: Our consistency proof from an old size to the checkpoint's size.
        old: The size we believe the witness cosigned last (a 409 corrects it once).

    Returns:
        The cosignature lines, and the old size that was accepted.
    """
    size = parse_signed_checkpoint(note).checkpoint.size
    for _attempt in range(2):
        proof = proof_for(old) if 0 < old < size else []
        try:
            return client.add_checkpoint(format_add_checkpoint(old, proof, note)), old
        except WitnessConflictError as exc:
            if exc.latest_size == old or exc.latest_size > size:
                raise
            old = exc.latest_size
    raise PartnerLedgerError("the partner's witness kept changing its latest size")
