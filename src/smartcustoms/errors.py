"""Every error smartcustoms raises on purpose, and the :class:`Problem` they carry.

Each error class has a stable, dotted ``code`` that the CLI prints (``error[filing.invalid]``),
that the HTTP API will render in RFC 9457 problem details, and that scripts may match on.
Codes never change meaning once released.

::

    SmartCustomsError                              smartcustoms.error
    ├── InvalidInputError (ValueError)             input.invalid
    │   ├── InvalidFilingError                     filing.invalid
    │   ├── UnknownFormatError                     intake.unknown_format
    │   ├── InvalidColumnMapError                  column_map.invalid
    │   ├── InvalidTariffFileError                 tariff.invalid_file
    │   ├── UnknownHSCodeError                     hs.unknown
    │   ├── UnknownRegimeError                     regime.unknown
    │   ├── MissingExchangeRateError               exchange_rate.missing
    │   ├── InvalidRuleFileError                   rules.invalid
    │   ├── InvalidLanePolicyError                 lanes.invalid
    │   ├── InvalidOperatorFileError               aeo.invalid_file
    │   ├── InvalidAeoActError                     aeo.invalid_act
    │   ├── LabelLeakageError                      risk.label_leakage
    │   ├── InsufficientLabelsError                risk.insufficient_labels
    │   ├── InvalidInspectionResultError           inspection.invalid
    │   ├── InvalidUserError                       user.invalid
    │   ├── ProofError                             ledger.proof_invalid
    │   ├── InvalidTileError                       ledger.tile_invalid
    │   ├── InvalidLedgerEntryError                ledger.entry_invalid
    │   ├── LedgerRangeError                       ledger.out_of_range
    │   ├── InvalidKeyError                        ledger.key_invalid
    │   ├── InvalidNoteError                       ledger.note_invalid
    │   ├── InvalidSignatureError                  ledger.signature_invalid
    │   ├── InvalidCheckpointError                 ledger.checkpoint_invalid
    │   ├── QuorumNotMetError                      ledger.quorum_not_met
    │   ├── InvalidStatementError                  ledger.statement_invalid
    │   ├── CommitmentMismatchError                ledger.commitment_mismatch
    │   ├── InvalidPolicyError                     ledger.policy_invalid
    │   ├── InvalidProofBundleError                ledger.bundle_invalid
    │   ├── InconsistentCheckpointError            witness.inconsistent
    │   ├── InvalidStudyError                      trs.invalid
    │   └── EventsRejectedError                    events.rejected
    ├── NotFoundError (LookupError)                not_found
    │   ├── QuarantineEntryNotFoundError           quarantine.not_found
    │   ├── ConsignmentNotFoundError               consignment.not_found
    │   ├── ModelNotFoundError                     risk.model_not_found
    │   ├── UserNotFoundError                      user.not_found
    │   ├── JobNotFoundError                       job.not_found
    │   ├── CertificateNotFoundError               aeo.certificate_not_found
    │   ├── RulesetNotFoundError                   ruleset.not_found
    │   └── UnknownLogError                        witness.unknown_log
    ├── NotFittedError (ValueError, AttributeError)  risk.not_fitted
    ├── ModelSchemaMismatchError                   risk.model_schema
    ├── ConflictError                              conflict
    │   ├── FilingConflictError                    filing.conflict
    │   ├── LedgerLockedError                      ledger.locked
    │   ├── QuarantineEntryClosedError             quarantine.closed
    │   ├── UserConflictError                      user.conflict
    │   └── WitnessConflictError                   witness.conflict
    ├── AuthenticationError                        auth.unauthenticated
    ├── PermissionDeniedError                      auth.forbidden
    │   └── UntrustedCheckpointError               witness.untrusted
    ├── WitnessRequestError (ValueError)           witness.bad_request
    ├── TooLargeError                              filing.too_large
    ├── PartnerLedgerError                         ledger.partner
    ├── ConfigurationError                         config.invalid
    ├── StoreError                                 store.error
    │   ├── SchemaVersionError                     store.schema_version
    │   └── DecisionsUnavailableError              decisions.unavailable
    └── LedgerCorruptError                         ledger.corrupt

The ``witness.*`` errors follow the C2SP tlog-witness status codes through the API's
base-class mapping: ``witness.bad_request`` 400, ``witness.untrusted`` 403,
``witness.unknown_log`` 404, ``witness.conflict`` 409 (with the latest cosigned size) and
``witness.inconsistent`` 422.

Errors that describe bad input carry every problem found, not just the first
(:attr:`SmartCustomsError.problems`): a broker fixing a filing wants the whole list.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = [
    "AuthenticationError",
    "CertificateNotFoundError",
    "CommitmentMismatchError",
    "ConfigurationError",
    "ConflictError",
    "ConsignmentNotFoundError",
    "DecisionsUnavailableError",
    "EventsRejectedError",
    "FilingConflictError",
    "InconsistentCheckpointError",
    "InsufficientLabelsError",
    "InvalidAeoActError",
    "InvalidCheckpointError",
    "InvalidColumnMapError",
    "InvalidFilingError",
    "InvalidInputError",
    "InvalidInspectionResultError",
    "InvalidKeyError",
    "InvalidLanePolicyError",
    "InvalidLedgerEntryError",
    "InvalidNoteError",
    "InvalidOperatorFileError",
    "InvalidPolicyError",
    "InvalidProofBundleError",
    "InvalidRuleFileError",
    "InvalidSignatureError",
    "InvalidStatementError",
    "InvalidStudyError",
    "InvalidTariffFileError",
    "InvalidTileError",
    "InvalidUserError",
    "JobNotFoundError",
    "LabelLeakageError",
    "LedgerCorruptError",
    "LedgerLockedError",
    "LedgerRangeError",
    "MissingExchangeRateError",
    "ModelNotFoundError",
    "ModelSchemaMismatchError",
    "NotFittedError",
    "NotFoundError",
    "PartnerLedgerError",
    "PermissionDeniedError",
    "Problem",
    "ProofError",
    "QuarantineEntryClosedError",
    "QuarantineEntryNotFoundError",
    "QuorumNotMetError",
    "RulesetNotFoundError",
    "SchemaVersionError",
    "SmartCustomsError",
    "StoreError",
    "TooLargeError",
    "UnknownFormatError",
    "UnknownHSCodeError",
    "UnknownLogError",
    "UnknownRegimeError",
    "UntrustedCheckpointError",
    "UserConflictError",
    "UserNotFoundError",
    "WitnessConflictError",
    "WitnessRequestError",
]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input, located precisely enough to fix it.

    Attributes:
        code: Stable dotted code, e.g. ``hs.unknown``. Documented in ``docs/validation.md``.
        path: Where the problem is, in the record's own terms, e.g.
            ``consignments[0].items[2].hs_code`` (JSON) or ``line 14, column "HS6 Code"``.
        message: A sentence a filer can act on.
        severity: ``"error"`` rejects the filing; ``"warning"`` is reported and kept.
    """

    code: str
    path: str
    message: str
    severity: str = "error"

    def as_dict(self) -> dict[str, str]:
        """Return the problem as a plain JSON-ready mapping."""
        return {
            "code": self.code,
            "path": self.path,
            "message": self.message,
            "severity": self.severity,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Problem:
        """Rebuild a problem from :meth:`as_dict` output."""
        return cls(
            code=str(data["code"]),
            path=str(data.get("path", "")),
            message=str(data.get("message", "")),
            severity=str(data.get("severity", "error")),
        )


@dataclass(eq=False)
class SmartCustomsError(Exception):
    """Base of every error smartcustoms raises on purpose.

    Attributes:
        message: Human-readable description.
        problems: Every problem found, when the error is about input.
    """

    message: str
    problems: tuple[Problem, ...] = field(default=())
    code: ClassVar[str] = "smartcustoms.error"
    title: ClassVar[str] = "smartcustoms error"

    def __post_init__(self) -> None:
        super().__init__(self.message)
        self.problems = tuple(self.problems)

    def __str__(self) -> str:
        return self.message

    @classmethod
    def with_problems(cls, message: str, problems: Iterable[Problem]) -> SmartCustomsError:
        """Build the error from a message and an iterable of problems."""
        return cls(message, tuple(problems))


class InvalidInputError(SmartCustomsError, ValueError):
    """The input (a filing, a file, a value) is not acceptable as given."""

    code = "input.invalid"
    title = "Invalid input"


class InvalidFilingError(InvalidInputError):
    """A filing failed validation; :attr:`problems` lists every reason."""

    code = "filing.invalid"
    title = "Invalid filing"


class UnknownFormatError(InvalidInputError):
    """The format of an input file could not be detected or is not supported."""

    code = "intake.unknown_format"
    title = "Unknown input format"


class InvalidColumnMapError(InvalidInputError):
    """A CSV column-map file is malformed or names fields that do not exist."""

    code = "column_map.invalid"
    title = "Invalid column map"


class InvalidTariffFileError(InvalidInputError):
    """A tariff schedule, regime or exchange-rate file is malformed."""

    code = "tariff.invalid_file"
    title = "Invalid tariff file"


class UnknownHSCodeError(InvalidInputError):
    """An HS code is not in the HS 2022 nomenclature at the level given."""

    code = "hs.unknown"
    title = "Unknown HS code"


class UnknownRegimeError(InvalidInputError):
    """No regime preset or file has the requested id."""

    code = "regime.unknown"
    title = "Unknown regime"


class MissingExchangeRateError(InvalidInputError):
    """No exchange rate is known for a currency on the date needed."""

    code = "exchange_rate.missing"
    title = "Missing exchange rate"


class InvalidRuleFileError(InvalidInputError):
    """A targeting-rules or watch-list file is malformed; every problem has file and line."""

    code = "rules.invalid"
    title = "Invalid rules file"


class InvalidLanePolicyError(InvalidInputError):
    """A lane-selection policy (capacities, expected rates, random share) is malformed."""

    code = "lanes.invalid"
    title = "Invalid lane policy"


class InvalidOperatorFileError(InvalidInputError):
    """An operator registry file (AEO certificates, MRA partners) is malformed."""

    code = "aeo.invalid_file"
    title = "Invalid operator file"


class LabelLeakageError(InvalidInputError):
    """A column carrying control outcomes was offered as a model feature."""

    code = "risk.label_leakage"
    title = "Label leakage refused"


class InsufficientLabelsError(InvalidInputError):
    """Too few labelled examples (or only one class) to train or evaluate a model."""

    code = "risk.insufficient_labels"
    title = "Insufficient labels"


class InvalidInspectionResultError(InvalidInputError):
    """An inspection result cannot be recorded as given."""

    code = "inspection.invalid"
    title = "Invalid inspection result"


class InvalidUserError(InvalidInputError):
    """A user or API-key request that cannot be carried out (unknown role, missing filer id...)."""

    code = "user.invalid"
    title = "Invalid user"


class InvalidStudyError(InvalidInputError):
    """A Time Release Study cannot run with the parameters given (period, time zone...)."""

    code = "trs.invalid"
    title = "Invalid release-time study"


class EventsRejectedError(InvalidInputError):
    """Lifecycle events of a bulk file were rejected; :attr:`problems` lists each one.

    The other rows of the file were stored: the rejected ones are listed (and can be
    written to a file), so that nothing is lost.
    """

    code = "events.rejected"
    title = "Lifecycle events rejected"


class NotFoundError(SmartCustomsError, LookupError):
    """A named thing does not exist (or the caller may not know it exists)."""

    code = "not_found"
    title = "Not found"


class QuarantineEntryNotFoundError(NotFoundError):
    """No quarantine entry has the requested id."""

    code = "quarantine.not_found"
    title = "Quarantine entry not found"


class ConsignmentNotFoundError(NotFoundError):
    """No consignment has the requested id."""

    code = "consignment.not_found"
    title = "Consignment not found"


class ModelNotFoundError(NotFoundError):
    """No trained risk model is on file (or none with the requested version)."""

    code = "risk.model_not_found"
    title = "Risk model not found"


class UserNotFoundError(NotFoundError):
    """No such user."""

    code = "user.not_found"
    title = "User not found"


class JobNotFoundError(NotFoundError):
    """No such job (or not one of the caller's)."""

    code = "job.not_found"
    title = "Job not found"


class NotFittedError(SmartCustomsError, ValueError, AttributeError):
    """An estimator was used before :meth:`fit` (as in scikit-learn)."""

    code = "risk.not_fitted"
    title = "Model not fitted"


class ModelSchemaMismatchError(SmartCustomsError):
    """A saved model was built for different features than the code now produces."""

    code = "risk.model_schema"
    title = "Model feature schema mismatch"


class ConflictError(SmartCustomsError):
    """The request contradicts what is already on record."""

    code = "conflict"
    title = "Conflict"


class FilingConflictError(ConflictError):
    """A filing id is already on record with different content."""

    code = "filing.conflict"
    title = "Filing conflict"


class QuarantineEntryClosedError(ConflictError):
    """A quarantine entry was already resubmitted successfully."""

    code = "quarantine.closed"
    title = "Quarantine entry closed"


class UserConflictError(ConflictError):
    """A user with that id already exists."""

    code = "user.conflict"
    title = "User already exists"


class AuthenticationError(SmartCustomsError):
    """No valid credentials: missing, malformed, unknown or revoked API key or password."""

    code = "auth.unauthenticated"
    title = "Authentication required"


class PermissionDeniedError(SmartCustomsError):
    """The caller's role may not do this."""

    code = "auth.forbidden"
    title = "Permission denied"


class TooLargeError(SmartCustomsError):
    """A filing or bulk file larger than the service accepts (nothing of it is kept)."""

    code = "filing.too_large"
    title = "Upload too large"


class ConfigurationError(SmartCustomsError):
    """Settings are inconsistent or unsafe."""

    code = "config.invalid"
    title = "Invalid configuration"


class StoreError(SmartCustomsError):
    """The store could not complete an operation."""

    code = "store.error"
    title = "Store error"


class SchemaVersionError(StoreError):
    """The database schema is not at the version this code expects."""

    code = "store.schema_version"
    title = "Database schema version mismatch"


class DecisionsUnavailableError(StoreError):
    """The service's decision process did not answer (starting, restarting or stopped).

    Its message says whether the filing may have been stored; sending it again is always
    safe, since a filing already on file is answered with its decision.
    """

    code = "decisions.unavailable"
    title = "Decisions unavailable"


class RulesetNotFoundError(NotFoundError):
    """No stored targeting ruleset has the requested id (or none is active)."""

    code = "ruleset.not_found"
    title = "Ruleset not found"


class InvalidAeoActError(InvalidInputError):
    """An AEO grant, suspension or revocation does not fit the certificate; every reason."""

    code = "aeo.invalid_act"
    title = "Invalid AEO act"


class CertificateNotFoundError(NotFoundError):
    """No AEO certificate has the requested authority and number."""

    code = "aeo.certificate_not_found"
    title = "AEO certificate not found"


class ProofError(InvalidInputError):
    """A Merkle inclusion or consistency proof does not verify, or is malformed (RFC 9162 §2.1)."""

    code = "ledger.proof_invalid"
    title = "Invalid Merkle proof"


class InvalidTileError(InvalidInputError):
    """A C2SP tlog-tiles path, hash tile or entry bundle is malformed."""

    code = "ledger.tile_invalid"
    title = "Invalid log tile"


class InvalidLedgerEntryError(InvalidInputError):
    """An entry cannot be appended to the log as given (e.g. longer than 65,535 bytes)."""

    code = "ledger.entry_invalid"
    title = "Invalid ledger entry"


class LedgerRangeError(InvalidInputError):
    """An entry index or tree size outside what the log holds or what a proof can cover."""

    code = "ledger.out_of_range"
    title = "Ledger index or size out of range"


class LedgerLockedError(ConflictError):
    """Another process has the ledger's log directory open; a log has one writer at a time."""

    code = "ledger.locked"
    title = "Ledger locked"


@dataclass(eq=False)
class LedgerCorruptError(SmartCustomsError):
    """Stored log data no longer matches the hashes the log committed to.

    Attributes:
        index: The first entry index found bad, when the damage is located at an entry.
        path: The file holding the damaged bytes, when known.
    """

    index: int | None = None
    path: str = ""
    code: ClassVar[str] = "ledger.corrupt"
    title: ClassVar[str] = "Ledger corrupt"


# -- ledger: signed notes, checkpoints, statements, policy, proof bundles --------------------


class InvalidKeyError(InvalidInputError):
    """A signed-note key string (``vkey``, ``PRIVATE+KEY+...``) or key name is malformed."""

    code = "ledger.key_invalid"
    title = "Invalid key"


class InvalidNoteError(InvalidInputError):
    """A text is not a well-formed C2SP signed note (encoding, framing, signature lines)."""

    code = "ledger.note_invalid"
    title = "Invalid signed note"


class InvalidSignatureError(InvalidInputError):
    """No trusted signature verifies, or a signature from a trusted key fails to verify."""

    code = "ledger.signature_invalid"
    title = "Invalid signature"


class InvalidCheckpointError(InvalidInputError):
    """A note body is not a well-formed C2SP tlog checkpoint (origin, size, root hash)."""

    code = "ledger.checkpoint_invalid"
    title = "Invalid checkpoint"


class QuorumNotMetError(InvalidInputError):
    """Fewer distinct trusted witnesses cosigned a checkpoint than the policy's quorum."""

    code = "ledger.quorum_not_met"
    title = "Witness quorum not met"


class InvalidStatementError(InvalidInputError):
    """A ledger statement or its envelope failed validation; :attr:`problems` lists why."""

    code = "ledger.statement_invalid"
    title = "Invalid ledger statement"


class CommitmentMismatchError(InvalidInputError):
    """A salt and private fields do not open a statement's salted commitment."""

    code = "ledger.commitment_mismatch"
    title = "Commitment does not match"


class InvalidPolicyError(InvalidInputError):
    """An MRA trust-policy file is malformed or unsigned; :attr:`problems` lists every issue."""

    code = "ledger.policy_invalid"
    title = "Invalid trust policy"


class InvalidProofBundleError(InvalidInputError):
    """An offline proof bundle (C2SP tlog-proof) is malformed or does not verify."""

    code = "ledger.bundle_invalid"
    title = "Invalid proof bundle"


# -- witness (C2SP tlog-witness add-checkpoint) ------------------------------------------------


class WitnessRequestError(SmartCustomsError, ValueError):
    """An ``add-checkpoint`` request is malformed, or its old size exceeds the new size (400)."""

    code = "witness.bad_request"
    title = "Bad witness request"


class UnknownLogError(NotFoundError):
    """The witness does not know the checkpoint's origin (404)."""

    code = "witness.unknown_log"
    title = "Unknown log"


class UntrustedCheckpointError(PermissionDeniedError):
    """No signature on the checkpoint verifies against the log's trusted keys (403)."""

    code = "witness.untrusted"
    title = "Checkpoint not signed by a trusted log key"


@dataclass(eq=False)
class WitnessConflictError(ConflictError):
    """The request's old size is not the witness's latest cosigned size (409).

    Attributes:
        latest_size: The tree size of the latest checkpoint the witness cosigned for the
            origin (0 if none), which the client should retry from.
    """

    latest_size: int = 0
    code: ClassVar[str] = "witness.conflict"
    title: ClassVar[str] = "Witness state conflict"


class InconsistentCheckpointError(InvalidInputError):
    """The consistency proof fails, or equal sizes carry different roots: a fork (422)."""

    code = "witness.inconsistent"
    title = "Inconsistent checkpoint"


class PartnerLedgerError(SmartCustomsError):
    """A partner administration's ledger could not be reached or refused a request."""

    code = "ledger.partner"
    title = "Partner ledger error"
