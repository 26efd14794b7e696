"""Mutual recognition in practice: partners, the trust policy, syncing and cosigning.

:class:`MraExchange` is what ``smartcustoms mra ...``, ``ledger checkpoint --cosign`` and the
service call. It wires the ledger domain (verification), the store (partners, sync state,
partner acts) and the partner client (HTTP):

* :meth:`MraExchange.add_partner` stores the arrangement's period and the partner's log URL,
  keeps our API key at the partner (mode 0600, in the ledger folder) and writes the signed
  **trust policy** with the partner's log, statement keys, the witnesses and the quorum;
* :meth:`MraExchange.sync` verifies each partner log's newest checkpoint (our witness
  cosigns it only if it extends what we saw; the policy's quorum must be met) and records the
  AEO acts of its verified statements, which then count as ``mra`` from the next batch;
* :meth:`MraExchange.cosign` asks each partner's witness to cosign our newest checkpoint and
  keeps the cosignatures, so our offline bundles carry them.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smartcustoms.aeo import CertificateType, MraPartner
from smartcustoms.aeo.history import AeoAct
from smartcustoms.errors import (
    ConfigurationError,
    InvalidInputError,
    Problem,
    SmartCustomsError,
)
from smartcustoms.ledger._files import write_file_atomically
from smartcustoms.ledger.checkpoint import parse_signed_checkpoint
from smartcustoms.ledger.cosignature import parse_cosigner_vkey
from smartcustoms.ledger.keys import parse_vkey
from smartcustoms.ledger.policy import (
    PartnerLog,
    Policy,
    PolicyWitness,
    format_policy,
    sign_policy,
)
from smartcustoms.ledger.remote import PartnerClient, request_cosignature, sync_partner
from smartcustoms.store.aeo import ActDetails, PartnerAct

if TYPE_CHECKING:
    import httpx

    from smartcustoms.platform import SmartCustoms

__all__ = ["CosignReport", "MraExchange", "PartnerSpec", "SyncReport"]


@dataclass(frozen=True, slots=True)
class PartnerSpec:
    """A partner administration joining our trust policy.

    Attributes:
        administration: Its administration id (the issuer of its statements).
        origin: Its log's origin.
        log_keys: Verifier keys of its checkpoints.
        statement_keys: Verifier keys of its statements.
        url: Its service's base URL (``None``: statuses arrive by other means).
        api_key: Our ``partner`` API key at its service.
        witnesses: ``(name, cosignature vkey)`` of witnesses to add to the policy.
    """

    administration: str
    origin: str
    log_keys: Sequence[str]
    statement_keys: Sequence[str]
    url: str | None = None
    api_key: str | None = None
    witnesses: Sequence[tuple[str, str]] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class SyncReport:
    """One partner log's sync: how far it was read and what it brought (or why not)."""

    origin: str
    size: int = 0
    new_statements: int = 0
    new_acts: int = 0
    error: str | None = None
    code: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "origin": self.origin,
            "size": self.size,
            "new_statements": self.new_statements,
            "new_acts": self.new_acts,
            "error": self.error,
            "code": self.code,
        }


@dataclass(frozen=True, slots=True)
class CosignReport:
    """One partner witness's answer to our checkpoint."""

    origin: str
    size: int
    error: str | None = None
    code: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"origin": self.origin, "size": self.size, "error": self.error, "code": self.code}


class MraExchange:
    """Partners, trust policy, sync and cosigning for one platform.

    Args:
        platform: The platform.
        transports: Optional httpx transports per partner URL (tests: in-process apps).
    """

    def __init__(
        self, platform: SmartCustoms, *, transports: dict[str, httpx.BaseTransport] | None = None
    ) -> None:
        self.platform = platform
        self.transports = transports or {}

    # --- partners and policy -----------------------------------------------------------------

    def _key_file(self, origin: str) -> Path:
        name = hashlib.sha256(origin.encode()).hexdigest()[:24]
        return Path(self.platform.settings.ledger_dir) / "partners" / f"{name}.key"

    def add_partner(
        self,
        partner: MraPartner,
        spec: PartnerSpec,
        *,
        quorum: int | None = None,
        actor: str,
    ) -> Policy:
        """Store the arrangement and write the re-signed trust policy; the new policy.

        Our own witness is always one of the policy's witnesses (we verify a partner's
        checkpoint ourselves before trusting it); ``quorum`` defaults to 1.
        """
        current = self.platform.trust_policy()
        settings = self.platform.settings
        ours = PolicyWitness(
            name=self.platform.ledger_keys.witness.name,
            keys=(self.platform.ledger_keys.witness.verifier,),
        )
        logs = {log.origin: log for log in (current.logs if current else ())}
        logs[spec.origin] = PartnerLog(
            administration=spec.administration,
            origin=spec.origin,
            keys=tuple(parse_vkey(k) for k in spec.log_keys),
            statement_keys=tuple(parse_vkey(k) for k in spec.statement_keys),
        )
        witnesses = {w.name: w for w in (current.witnesses if current else ())}
        witnesses.setdefault(ours.name, ours)
        for name, vkey in spec.witnesses:
            witnesses[name] = PolicyWitness(name=name, keys=(parse_cosigner_vkey(vkey),))
        k = quorum if quorum is not None else (current.quorum if current else 1)
        if not 1 <= k <= len(witnesses):
            problem = Problem("ledger.quorum", "quorum", f"must be 1 to {len(witnesses)}, got {k}")
            raise InvalidInputError(f"quorum {k} exceeds the policy's witnesses", (problem,))
        policy = Policy(
            id=f"{settings.home_country.lower()}-mra-trust-policy",
            version=str(int(current.version) + 1 if current and current.version.isdigit() else 1),
            administration=settings.home_country,
            quorum=k,
            logs=tuple(logs.values()),
            witnesses=tuple(witnesses.values()),
        )
        signed = sign_policy(format_policy(policy), [self.platform.ledger_keys.statements])
        write_file_atomically(self.platform.policy_path, signed.encode())
        if spec.api_key is not None:
            previous = os.umask(0o077)
            try:
                write_file_atomically(self._key_file(spec.origin), spec.api_key.encode())
            finally:
                os.umask(previous)
        self.platform.aeo.add_partner(
            partner, log_origin=spec.origin, log_url=spec.url, actor=actor
        )
        if "ledger" in self.platform.__dict__:
            self.platform.ledger.policy = policy
        self.platform.store.record_audit(
            actor=actor,
            action="mra.add_partner",
            subject_type="mra_partner",
            subject_id=spec.origin,
            details={"country": partner.country, "policy_version": policy.version},
        )
        return policy

    def client(self, origin: str) -> PartnerClient:
        """The HTTP client of partner log ``origin``.

        Raises:
            ConfigurationError: No URL or API key is known for it.
        """
        url = self.platform.aeo.partner_urls().get(origin)
        key_file = self._key_file(origin)
        if url is None or not key_file.exists():
            raise ConfigurationError(f"no URL and API key recorded for partner log {origin!r}")
        return PartnerClient(url, key_file.read_text().strip(), transport=self.transports.get(url))

    # --- sync ---------------------------------------------------------------------------------

    def sync(self, origin: str | None = None) -> list[SyncReport]:
        """Verify and read each partner log (or one); a report per log, errors included."""
        policy = self.platform.trust_policy()
        if policy is None:
            return []
        node = self.platform.ledger
        node.policy = policy
        reports = []
        for log in policy.logs:
            if origin is not None and log.origin != origin:
                continue
            try:
                reports.append(self._sync_one(log, policy, node.witness()))
            except SmartCustomsError as exc:
                reports.append(SyncReport(log.origin, error=str(exc), code=exc.code))
        return reports

    def _sync_one(self, log: PartnerLog, policy: Policy, witness: Any) -> SyncReport:
        read, root = self.platform.aeo.sync_state(log.origin)
        client = self.client(log.origin)
        try:
            result = sync_partner(client, log, policy, witness, read_from=read, read_root=root)
        finally:
            client.close()
        acts = []
        for item in result.statements:
            doc = item.document
            if doc is None:
                continue
            acts.append(
                PartnerAct(
                    ActDetails(
                        operator_id=doc["operator_id"],
                        operator_name=doc["operator_id"],
                        operator_country=doc["authority"],
                        type=CertificateType(doc["type"]),
                        authority=doc["authority"],
                        number=doc["number"],
                        valid_from=doc["valid_from"],
                        valid_to=doc["valid_to"],
                        act=AeoAct(doc["act"]),
                        effective=doc["effective"],
                        reason="",
                    ),
                    log_index=item.index,
                )
            )
        added = self.platform.aeo.record_sync(
            log.origin,
            acts,
            size=result.final.checkpoint.size,
            root=result.final.checkpoint.root_hash,
            checkpoint=result.checkpoint,
        )
        return SyncReport(
            log.origin,
            size=result.final.checkpoint.size,
            new_statements=len(result.statements),
            new_acts=added,
        )

    # --- cosigning ----------------------------------------------------------------------------

    def cosign(self) -> list[CosignReport]:
        """Publish pending statements, then ask every partner's witness to cosign our checkpoint."""
        self.platform.publish_statements()
        node = self.platform.ledger
        note = node.signed_checkpoint()
        size = parse_signed_checkpoint(note).checkpoint.size
        state_file = Path(self.platform.settings.ledger_dir) / "cosigned-by.txt"
        seen = _read_sizes(state_file)
        reports = []
        for origin in self.platform.aeo.partner_urls():
            try:
                client = self.client(origin)
                try:
                    lines, _old = request_cosignature(
                        client,
                        note,
                        lambda old: node.log.consistency_proof(old, size),
                        seen.get(origin, 0),
                    )
                finally:
                    client.close()
                note = node.add_cosignatures(note, lines)
                seen[origin] = size
                reports.append(CosignReport(origin, size))
            except SmartCustomsError as exc:
                reports.append(CosignReport(origin, size, error=str(exc), code=exc.code))
        write_file_atomically(
            state_file, "".join(f"{o} {n}\n" for o, n in sorted(seen.items())).encode()
        )
        return reports

    def status(self) -> list[dict[str, Any]]:
        """Each partner log: URL, last verified size and time."""
        synced = {s["log_origin"]: s for s in self.platform.aeo.sync_states()}
        out = []
        for origin, url in self.platform.aeo.partner_urls().items():
            state = synced.get(origin, {})
            out.append(
                {
                    "log_origin": origin,
                    "url": url,
                    "tree_size": state.get("tree_size", 0),
                    "root_hash": state.get("root_hash"),
                    "synced_at": state.get("synced_at"),
                }
            )
        return out


def _read_sizes(path: Path) -> dict[str, int]:
    if not path.exists():
        return {}
    sizes = {}
    for line in path.read_text().splitlines():
        origin, _, size = line.rpartition(" ")
        if origin and size.isdigit():
            sizes[origin] = int(size)
    return sizes
