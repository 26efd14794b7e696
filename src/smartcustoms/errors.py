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
    │   ├── LabelLeakageError                      risk.label_leakage
    │   ├── InsufficientLabelsError                risk.insufficient_labels
    │   ├── InvalidInspectionResultError           inspection.invalid
    │   ├── InvalidUserError                       user.invalid
    │   ├── InvalidStudyError                      trs.invalid
    │   └── EventsRejectedError                    events.rejected
    ├── NotFoundError (LookupError)                not_found
    │   ├── QuarantineEntryNotFoundError           quarantine.not_found
    │   ├── ConsignmentNotFoundError               consignment.not_found
    │   ├── ModelNotFoundError                     risk.model_not_found
    │   ├── UserNotFoundError                      user.not_found
    │   ├── JobNotFoundError                       job.not_found
    │   └── RulesetNotFoundError                   ruleset.not_found
    ├── NotFittedError (ValueError, AttributeError)  risk.not_fitted
    ├── ModelSchemaMismatchError                   risk.model_schema
    ├── ConflictError                              conflict
    │   ├── FilingConflictError                    filing.conflict
    │   ├── QuarantineEntryClosedError             quarantine.closed
    │   └── UserConflictError                      user.conflict
    ├── AuthenticationError                        auth.unauthenticated
    ├── PermissionDeniedError                      auth.forbidden
    ├── TooLargeError                              filing.too_large
    ├── ConfigurationError                         config.invalid
    └── StoreError                                 store.error
        └── SchemaVersionError                     store.schema_version

Errors that describe bad input carry every problem found, not just the first
(:attr:`SmartCustomsError.problems`): a broker fixing a filing wants the whole list.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = [
    "AuthenticationError",
    "ConfigurationError",
    "ConflictError",
    "ConsignmentNotFoundError",
    "EventsRejectedError",
    "FilingConflictError",
    "InsufficientLabelsError",
    "InvalidColumnMapError",
    "InvalidFilingError",
    "InvalidInputError",
    "InvalidInspectionResultError",
    "InvalidLanePolicyError",
    "InvalidOperatorFileError",
    "InvalidRuleFileError",
    "InvalidStudyError",
    "InvalidTariffFileError",
    "InvalidUserError",
    "JobNotFoundError",
    "LabelLeakageError",
    "MissingExchangeRateError",
    "ModelNotFoundError",
    "ModelSchemaMismatchError",
    "NotFittedError",
    "NotFoundError",
    "PermissionDeniedError",
    "Problem",
    "QuarantineEntryClosedError",
    "QuarantineEntryNotFoundError",
    "RulesetNotFoundError",
    "SchemaVersionError",
    "SmartCustomsError",
    "StoreError",
    "TooLargeError",
    "UnknownFormatError",
    "UnknownHSCodeError",
    "UnknownRegimeError",
    "UserConflictError",
    "UserNotFoundError",
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


class RulesetNotFoundError(NotFoundError):
    """No stored targeting ruleset has the requested id (or none is active)."""

    code = "ruleset.not_found"
    title = "Ruleset not found"
