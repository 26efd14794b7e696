"""The composition root: :class:`SmartCustoms` wires settings, store and reference data.

Nothing is built at import time; adapters (CLI, API) create one ``SmartCustoms`` and call it.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time
from functools import cached_property
from pathlib import Path
from typing import Any

import orjson

from smartcustoms.aeo import OperatorRegistry, load_operators, merge_registries
from smartcustoms.clearance import Clearance, ClearSummary
from smartcustoms.clearance.single.engine import SingleFilingEngine
from smartcustoms.config import Settings, load_settings
from smartcustoms.errors import (
    InvalidInputError,
    LedgerLockedError,
    ModelNotFoundError,
    Problem,
    QuarantineEntryClosedError,
    QuarantineEntryNotFoundError,
)
from smartcustoms.intake import ValidationContext, read_batches
from smartcustoms.ledger.node import KEYS_FILE, POLICY_FILE, LedgerKeys, LedgerNode, make_statement
from smartcustoms.ledger.policy import Policy
from smartcustoms.ledger.policy import load_policy as load_trust_policy
from smartcustoms.ledger.remote import aeo_document
from smartcustoms.ledger.statements import AeoAction, StatementType
from smartcustoms.mra import MraExchange
from smartcustoms.risk.artifacts import reference_from_bytes
from smartcustoms.risk.engine import RiskEngine
from smartcustoms.risk.pipeline import RiskPipeline
from smartcustoms.risk.policy import LanePolicy, default_policy, load_policy
from smartcustoms.risk.rules import RuleSet, load_example_rules, load_rules
from smartcustoms.risk.value_controls import ValueReference
from smartcustoms.store import QuarantineEntry, Store
from smartcustoms.store.access import AccessRecords
from smartcustoms.store.aeo import (
    ActDetails,
    AeoRecords,
    CertificateRecord,
    Publication,
    certificate_id,
)
from smartcustoms.store.ledger import PublishResult, StatementRecords
from smartcustoms.store.risk import RiskRecords
from smartcustoms.store.rulesets import ActiveRules, RulesetRecords
from smartcustoms.targeting import Targeting
from smartcustoms.tariff import (
    ExchangeRates,
    Regime,
    TariffSchedule,
    load_exchange_rates,
    load_regime,
    load_schedule,
)

__all__ = ["ResubmitResult", "SmartCustoms"]


@dataclass(frozen=True)
class ResubmitResult:
    """What happened to a resubmitted quarantine entry.

    Attributes:
        quarantine_id: The entry.
        accepted: Whether the corrected filing was accepted (the entry is then resolved).
        filing_id: The filing id of the resubmission, when it has one.
        problems: The problems still found, when rejected again.
        duplicate: The filing was already on file (accepted as an idempotent no-op).
    """

    quarantine_id: str
    accepted: bool
    filing_id: str | None
    problems: tuple[Problem, ...]
    duplicate: bool = False

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "quarantine_id": self.quarantine_id,
            "accepted": self.accepted,
            "duplicate": self.duplicate,
            "filing_id": self.filing_id,
            "problems": [p.as_dict() for p in self.problems],
        }


class SmartCustoms:
    """The platform: one store, the reference data, and the operations on them.

    Args:
        settings: Settings; read from the environment when omitted.
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or load_settings()
        self._single: tuple[Any, SingleFilingEngine] | None = None

    def close(self) -> None:
        """Release database connections (the store is reopened on next use)."""
        ledger = self.__dict__.pop("ledger", None)
        if ledger is not None:
            ledger.close()
        self._single = None
        store = self.__dict__.pop("store", None)
        if store is not None:
            store.dispose()

    @cached_property
    def store(self) -> Store:
        """The database (opened and migrated on first use)."""
        return Store(self.settings.database_url)

    @cached_property
    def regime(self) -> Regime:
        """The duty/tax regime in force for clearance."""
        return load_regime(self.settings.regime)

    @cached_property
    def schedule(self) -> TariffSchedule:
        """The tariff schedule."""
        return load_schedule(self.settings.tariff_schedule)

    @cached_property
    def rates(self) -> ExchangeRates:
        """The exchange-rate table."""
        return load_exchange_rates(self.settings.exchange_rates)

    @cached_property
    def risk_records(self) -> RiskRecords:
        """Decisions, rule hits, inspection results and models in the store."""
        return RiskRecords(self.store)

    @cached_property
    def access(self) -> AccessRecords:
        """Users and API keys."""
        return AccessRecords(self.store, key_cache_seconds=self.settings.api_key_cache_seconds)

    @cached_property
    def targeting(self) -> Targeting:
        """Feedback, training, evaluation, explanations and drift on this store."""
        return Targeting(self)

    @cached_property
    def rulesets(self) -> RulesetRecords:
        """Rulesets uploaded by analysts; the active one takes precedence over the settings."""
        return RulesetRecords(self.store)

    @property
    def rules(self) -> RuleSet | None:
        """Targeting rules in force: the active uploaded ruleset, else the settings' rules.

        Read afresh by every clearance runner (:meth:`risk_engine`), so an activation takes
        effect from the next batch without a restart. The cost is one lookup on a unique
        index; the active ruleset's TOML is parsed once per activation, not per batch.

        Raises:
            InvalidRuleFileError: The active ruleset or the configured files do not load.
        """
        stored = self._active_rules.rules(self.rulesets)
        return stored if stored is not None else self.configured_rules

    @cached_property
    def _active_rules(self) -> ActiveRules:
        return ActiveRules()

    @cached_property
    def configured_rules(self) -> RuleSet | None:
        """Targeting rules from the settings (shipped illustrative set by default)."""
        path = self.settings.risk_rules
        if path is not None and path.strip().lower() == "none":
            return None
        if path is None:
            return load_example_rules()
        lists = [p.strip() for p in (self.settings.risk_watchlists or "").split(",") if p.strip()]
        return load_rules(Path(path), [Path(p) for p in lists])

    @cached_property
    def lane_policy(self) -> LanePolicy:
        """Lane policy from the settings (shipped default otherwise)."""
        path = self.settings.lane_policy
        return default_policy() if path is None else load_policy(Path(path))

    @cached_property
    def operator_file(self) -> OperatorRegistry | None:
        """The operator registry file named in the settings, if any."""
        path = self.settings.operators
        return None if path is None else load_operators(Path(path))

    @cached_property
    def aeo(self) -> AeoRecords:
        """The AEO registry kept in the store (acts, partner statuses, MRA partners)."""
        return AeoRecords(self.store, source=self.settings.ledger_origin)

    @property
    def operators(self) -> OperatorRegistry | None:
        """Who holds which AEO authorisation: the settings' file and the store's registry.

        The store's part is read again only when an act or a partner was recorded since the
        last read (one small query), so a grant or revocation counts from the next batch.
        """
        stamp = self.aeo.stamp()
        if stamp is None:
            return self.operator_file
        cached = self.__dict__.get("_aeo_registry")
        if cached is None or cached[0] != stamp:
            cached = (stamp, self.aeo.registry())
            self.__dict__["_aeo_registry"] = cached
        stored: OperatorRegistry = cached[1]
        file = self.operator_file
        return stored if file is None else merge_registries(file, stored)

    # --- ledger --------------------------------------------------------------------------

    @cached_property
    def ledger_keys(self) -> LedgerKeys:
        """The ledger's private keys (created on first use)."""
        path = self.settings.ledger_keys
        folder = Path(self.settings.ledger_dir)
        file = Path(path) if path else folder / KEYS_FILE
        return LedgerKeys.load_or_create(file, self.settings.ledger_origin)

    @property
    def policy_path(self) -> Path:
        """Where the signed trust policy is read from (and written by ``mra add-partner``)."""
        path = self.settings.mra_policy
        return Path(path) if path else Path(self.settings.ledger_dir) / POLICY_FILE

    def trust_policy(self) -> Policy | None:
        """The signed trust policy, verified with our statement key (``None``: no file)."""
        path = self.policy_path
        if not path.exists():
            return None
        return load_trust_policy(
            path.read_text(), [self.ledger_keys.statements.verifier], label=path.name
        )

    @cached_property
    def ledger(self) -> LedgerNode:
        """Our ledger node (opens the log, which one process at a time may hold)."""
        return LedgerNode(
            self.settings.ledger_dir,
            origin=self.settings.ledger_origin,
            administration=self.settings.home_country,
            policy=self.trust_policy(),
            keys=self.ledger_keys,
        )

    @cached_property
    def mra(self) -> MraExchange:
        """Partners, the trust policy, syncing partner logs and cosigning ours."""
        return MraExchange(self)

    @property
    def statements(self) -> StatementRecords:
        """Our ledger statements in the store (the outbox)."""
        return StatementRecords(self.store)

    def publish_statements(self) -> PublishResult:
        """Append every stored statement not yet in our log.

        Raises:
            LedgerLockedError: Another process (the service) holds the log; it publishes them.
        """
        return self.statements.publish(self.ledger.log)

    def append_statement(
        self,
        kind: StatementType,
        *,
        subject: str,
        effective_at: datetime,
        document: bytes,
        private_fields: Mapping[str, Any],
    ) -> int:
        """Sign a statement, store it with its document, append it; its log index.

        Raises:
            InvalidStatementError: Every problem of the statement's fields.
            LedgerLockedError: Another process holds the log (the statement stays stored
                and is appended by that process's next publish).
        """
        entry, opening = make_statement(
            self.ledger_keys,
            self.settings.home_country,
            type=kind,
            subject=subject,
            effective_at=effective_at,
            document=document,
            private_fields=private_fields,
        )
        statement_id = self.statements.add(kind.value, subject, entry, document, opening.dump())
        self.publish_statements()
        index = self.statements.log_index(statement_id)
        assert index is not None
        return index

    def _aeo_publication(self, details: ActDetails) -> Publication:
        document = aeo_document(
            operator_id=details.operator_id,
            type=details.type.value,
            authority=details.authority,
            number=details.number,
            valid_from=details.valid_from,
            valid_to=details.valid_to,
            act=details.act.value,
            effective=details.effective,
        )
        entry, opening = make_statement(
            self.ledger_keys,
            self.settings.home_country,
            type=StatementType.AEO_STATUS,
            subject=details.operator_id,
            effective_at=datetime.combine(details.effective, time(), UTC),
            document=document,
            private_fields={"operator_name": details.operator_name, "reason": details.reason},
            action=AeoAction(details.act.value),
        )
        return Publication(
            kind=StatementType.AEO_STATUS.value,
            subject=certificate_id(details.authority, details.number),
            entry=entry,
            document=document,
            opening=opening.dump(),
        )

    def record_aeo_act(self, details: ActDetails, *, actor: str) -> CertificateRecord:
        """Grant, suspend or revoke one of our AEO authorisations (audited, published).

        The act and its ledger statement are stored in one transaction; the statement is then
        appended to our log, unless another process (the service) holds the log, which
        appends it on its next publish.

        Raises:
            CertificateNotFoundError: A suspension or revocation of an unknown certificate.
            InvalidAeoActError: The act does not fit the certificate's history.
        """
        record = self.aeo.act(details, actor=actor, publish=self._aeo_publication)
        try:
            self.publish_statements()
            record = self.aeo.certificate(details.authority, details.number)
        except LedgerLockedError:
            pass
        self.store.record_audit(
            actor=actor,
            action=f"aeo.{details.act.value}",
            subject_type="aeo_certificate",
            subject_id=record.certificate_id,
            details={"effective": details.effective.isoformat()},
        )
        return record

    def risk_pipeline(self) -> RiskPipeline | None:
        """The active trained model, or ``None`` when none was trained yet."""
        try:
            record = self.risk_records.model()
        except ModelNotFoundError:
            return None
        assert record.artifact is not None
        return RiskPipeline.from_bytes(record.artifact)

    def value_reference(self) -> ValueReference | None:
        """The active refreshed value reference, or ``None``."""
        found = self.risk_records.value_reference()
        return reference_from_bytes(found[1]) if found else None

    def risk_engine(self) -> RiskEngine:
        """A risk engine from the configured rules, policy, active model and references."""
        pipeline = self.risk_pipeline()
        reference = self.value_reference()
        if reference is None and pipeline is not None:
            reference = pipeline.reference_
        return RiskEngine(
            policy=self.lane_policy,
            rules=self.rules,
            pipeline=pipeline,
            reference=reference,
            currency=self.regime.currency,
            seed=self.settings.risk_seed,
        )

    def validation_context(self, *, now: datetime | None = None) -> ValidationContext:
        """Validation limits from the settings."""
        return ValidationContext(
            now=now or datetime.now(UTC),
            max_days_past=self.settings.max_days_past,
            max_days_future=self.settings.max_days_future,
            value_tolerance=self.settings.value_tolerance,
        )

    def clearance(self, *, actor: str = "cli", now: datetime | None = None) -> Clearance:
        """A clearance runner bound to this platform's store and reference data."""
        return Clearance(
            self.store,
            regime=self.regime,
            schedule=self.schedule,
            rates=self.rates,
            validation=self.validation_context(now=now),
            actor=actor,
            risk=self.risk_engine(),
            operators=self.operators,
            home_country=self.settings.home_country,
        )

    def single_filing_engine(self) -> SingleFilingEngine:
        """The single-filing fast path for the current configuration.

        Kept between calls and rebuilt when the rules in force, the active model or value
        reference, or the operator registry change (:meth:`Store.configuration_stamp`):
        asking costs one query.
        """
        stamp = self.store.configuration_stamp()
        if self._single is None or self._single[0] != stamp:
            self._single = (stamp, SingleFilingEngine(self.clearance(actor="api")))
        return self._single[1]

    def clear(
        self,
        paths: list[Path],
        *,
        fmt: str | None = None,
        column_map: str | None = None,
        out: Path | None = None,
        actor: str = "cli",
        on_chunk: Any = None,
    ) -> ClearSummary:
        """Ingest, validate, assess and store the filings in ``paths``."""
        return self.clearance(actor=actor).clear(
            paths,
            fmt=fmt,
            column_map=column_map,
            chunk_size=self.settings.chunk_size,
            out=out,
            on_chunk=on_chunk,
        )

    def quarantine_entry(self, quarantine_id: str) -> QuarantineEntry:
        """One quarantine entry (raises ``QuarantineEntryNotFoundError``)."""
        return self.store.quarantine_entry(quarantine_id)

    def resubmit(
        self,
        quarantine_id: str,
        *,
        corrected: bytes | None = None,
        actor: str = "cli",
        tenant: str | None = None,
    ) -> ResubmitResult:
        """Resubmit a quarantined filing, corrected or as stored (after reference data changed).

        The resubmission goes through exactly the same path as any filing. If it is accepted
        the entry is resolved; if not, the entry keeps the new payload and problems.

        Args:
            quarantine_id: The entry to resubmit.
            corrected: The corrected filing (same format as the original); the stored payload
                when ``None``.
            actor: Who resubmits, for the audit log.
            tenant: The filer resubmitting through the service: the entry must be one of
                its own (another filer's entry is reported as not found, exactly like an
                unknown id) and the resubmission must carry its filer id.

        Raises:
            QuarantineEntryNotFoundError: No such entry (or not the tenant's).
            QuarantineEntryClosedError: The entry was already resolved.
            InvalidInputError: The corrected payload holds more or fewer than one filing.
        """
        entry = self.store.quarantine_entry(quarantine_id)
        if tenant is not None and entry.tenant != tenant:
            raise QuarantineEntryNotFoundError(f"no quarantine entry {quarantine_id!r}")
        if entry.status == "resolved":
            raise QuarantineEntryClosedError(
                f"quarantine entry {quarantine_id} was resolved by filing "
                f"{entry.resolved_filing_id}"
            )
        payload = entry.payload if corrected is None else corrected
        suffix = {"csv": ".csv", "json": ".json"}.get(entry.fmt, ".jsonl")
        clearance = self.clearance(actor=actor)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"resubmit{suffix}"
            path.write_bytes(payload if payload.endswith(b"\n") else payload + b"\n")
            fmt = entry.fmt
            if fmt in ("json", "jsonl"):
                # one JSON document (maybe pretty-printed), else JSON Lines
                try:
                    orjson.loads(payload)
                    fmt = "json"
                except orjson.JSONDecodeError:
                    fmt = "jsonl"
            batches = list(read_batches(path, fmt=fmt, column_map=entry.column_map))
        records = sum(b.records.height for b in batches)
        if records != 1:
            raise InvalidInputError(
                f"a resubmission must hold exactly one filing; this one holds {records}"
            )
        batch = batches[0]
        batch.source = entry.source or batch.source
        batch_id = datetime.now(UTC).strftime("r%Y%m%dT%H%M%S%f")
        outcome, results = clearance.clear_batch(
            batch, batch_id=batch_id, resubmission_of=quarantine_id, tenant=tenant
        )
        row = results.row(0, named=True)
        accepted = outcome.quarantined == 0
        problems = tuple(Problem.from_dict(p) for p in json.loads(row["problems"] or "[]"))
        if accepted:
            self.store.resolve_quarantine(quarantine_id, filing_id=row["filing_id"])
        else:
            self.store.retry_failed(quarantine_id, payload=payload, problems=list(problems))
        self.store.record_audit(
            actor=actor,
            action="quarantine.resubmit",
            subject_type="quarantine",
            subject_id=quarantine_id,
            details={"accepted": accepted, "filing_id": row["filing_id"]},
        )
        return ResubmitResult(
            quarantine_id=quarantine_id,
            accepted=accepted,
            filing_id=row["filing_id"],
            problems=problems,
            duplicate=outcome.duplicates > 0,
        )
