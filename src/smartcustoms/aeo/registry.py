"""The operator registry: AEO certificates, mutual recognition partners, and AEO status.

An **Authorised Economic Operator** is a trader whose customs compliance, record keeping,
solvency and (for security) safety standards a customs administration has audited and
certified (WCO SAFE Framework of Standards, Pillar 2; in the EU Art. 38 of Regulation (EU)
No 952/2013, the Union Customs Code, with the ``AEOC`` customs-simplifications and ``AEOS``
security-and-safety types, ``AEOF`` holding both). AEOs are to be controlled less; under a
**mutual recognition arrangement** (MRA) an administration grants the same benefits to the
AEOs of a partner administration, for the certificate types the arrangement covers.

The registry is a versioned TOML file (format in ``docs/aeo.md``; an example ships as
``aeo/data/operators-example.toml``)::

    id = "operators-be"
    version = "2026-03"

    [[operators]]
    id = "BE0123456789"                 # the operator id consignments carry (EORI, TIN)
    name = "Example Logistics NV"
    country = "BE"

    [[operators.certificates]]
    type = "AEOF"                       # AEOC, AEOS or AEOF
    authority = "BE"                    # country of the issuing customs authority
    number = "BEAEOF0000123"
    valid_from = 2019-03-01
    valid_to = 2029-02-28               # optional: open-ended when absent
    status = "active"                   # active, suspended or revoked
    status_since = 2026-02-01           # optional: a suspension or revocation's first day

    [[mra_partners]]
    country = "JP"
    authority = "Japan Customs"
    signed = 2010-06-24
    effective_from = 2011-01-01
    effective_to = 2030-12-31           # optional
    scope = ["AEOS", "AEOF"]            # certificate types recognised (default: all)

:func:`load_operators` reports every problem of a file at once, each as ``file.toml:LINE``;
:func:`with_aeo_status` adds the ``aeo_status`` column to a consignments frame with joins.

This module does not import the risk domain (risk reads AEO status, not the reverse):
:data:`AEO_STATUS` and :class:`AeoStatus` here carry the same names and values as
:mod:`smartcustoms.risk.columns`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from itertools import pairwise
from pathlib import Path
from typing import Any, Final, TypeVar

import polars as pl

from smartcustoms.datafiles import FileReader, line_of, package_data_path
from smartcustoms.errors import InvalidInputError, InvalidOperatorFileError, Problem
from smartcustoms.model.columns import FILED_AT, FILER_ID, SELLER_ID

__all__ = [
    "AEO_STATUS",
    "CODE_BAD_PERIOD",
    "CODE_DUPLICATE",
    "CODE_INVALID",
    "CODE_MISSING",
    "CODE_MISSING_COLUMN",
    "CODE_SYNTAX",
    "CODE_UNKNOWN_KEY",
    "CODE_UNREADABLE",
    "DEFAULT_OPERATOR_COLUMNS",
    "AeoCertificate",
    "AeoStatus",
    "CertificateStatus",
    "CertificateType",
    "MraPartner",
    "Operator",
    "OperatorRegistry",
    "check_operators",
    "example_operators_path",
    "load_operators",
    "merge_registries",
    "with_aeo_status",
]

AEO_STATUS: Final = "aeo_status"
"""Column added by :func:`with_aeo_status` (same name as ``risk.columns.AEO_STATUS``)."""
IMPORTER_ID: Final = "importer_id"  # canonical column (importer.id); model has no constant yet
DEFAULT_OPERATOR_COLUMNS: Final = (IMPORTER_ID, FILER_ID, SELLER_ID)
"""Party columns whose operator can give a consignment its AEO status."""

CODE_UNREADABLE: Final = "aeo.unreadable"
"""The file cannot be read."""
CODE_SYNTAX: Final = "aeo.syntax"
"""The file is not valid TOML."""
CODE_MISSING: Final = "aeo.missing_key"
"""A required key is absent."""
CODE_UNKNOWN_KEY: Final = "aeo.unknown_key"
"""A key the format does not know (usually a typo)."""
CODE_INVALID: Final = "aeo.invalid_value"
"""A value of the wrong kind: an unknown certificate type or status, a bad country code."""
CODE_DUPLICATE: Final = "aeo.duplicate"
"""An operator id or certificate number given twice."""
CODE_BAD_PERIOD: Final = "aeo.bad_period"
"""An end date before its start, or two periods of the same MRA partner overlapping."""
CODE_MISSING_COLUMN: Final = "aeo.missing_column"
""":func:`with_aeo_status`: a consignments frame lacks ``filed_at`` or an operator column."""

_COUNTRY: Final = re.compile(r"^[A-Z]{2}$")
_TOP_KEYS: Final = ("id", "version", "description", "notes", "operators", "mra_partners")
_OPERATOR_KEYS: Final = ("id", "name", "country", "certificates")
_CERTIFICATE_KEYS: Final = (
    "type",
    "authority",
    "number",
    "valid_from",
    "valid_to",
    "status",
    "status_since",
)
_PARTNER_KEYS: Final = (
    "country",
    "authority",
    "signed",
    "effective_from",
    "effective_to",
    "scope",
    "issuing_countries",
    "programme",
)


class AeoStatus(StrEnum):
    """How a consignment's operator is recognised as trusted on the day it is filed.

    * ``national`` - holds an active AEO certificate of this administration;
    * ``mra`` - holds an active certificate of a partner administration whose mutual
      recognition arrangement is in force and covers that certificate type.
    """

    NATIONAL = "national"
    MRA = "mra"


class CertificateType(StrEnum):
    """AEO certificate types (EU naming; Art. 38(2) UCC).

    * ``AEOC`` - customs simplifications;
    * ``AEOS`` - security and safety;
    * ``AEOF`` - both (full).
    """

    AEOC = "AEOC"
    AEOS = "AEOS"
    AEOF = "AEOF"


class CertificateStatus(StrEnum):
    """Where a certificate stands: ``active``, ``suspended`` or ``revoked``."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class AeoCertificate:
    """One AEO authorisation held by an operator.

    Attributes:
        type: The certificate type.
        authority: ISO 3166-1 alpha-2 country of the issuing customs authority.
        number: The authorisation number.
        valid_from: First day of validity.
        valid_to: Last day of validity (``None``: open-ended, as EU authorisations are).
        status: Current status.
        status_since: First day of a suspension or revocation; before it the certificate
            counted as active (``None``: the status applies to every day).
    """

    type: CertificateType
    authority: str
    number: str
    valid_from: date
    valid_to: date | None
    status: CertificateStatus = CertificateStatus.ACTIVE
    status_since: date | None = None

    def is_active_on(self, day: date) -> bool:
        """Whether the certificate was valid and in force on ``day``."""
        if day < self.valid_from or (self.valid_to is not None and day > self.valid_to):
            return False
        if self.status is CertificateStatus.ACTIVE:
            return True
        return self.status_since is not None and day < self.status_since


@dataclass(frozen=True, slots=True)
class Operator:
    """An economic operator and its AEO certificates.

    Attributes:
        id: The id consignments carry for it (EORI number, TIN...).
        name: Registered name.
        country: ISO 3166-1 alpha-2 country of establishment.
        certificates: Its AEO certificates, national or foreign.
    """

    id: str
    name: str
    country: str
    certificates: tuple[AeoCertificate, ...] = ()


@dataclass(frozen=True, slots=True)
class MraPartner:
    """A partner administration under a mutual recognition arrangement.

    Attributes:
        country: ISO alpha-2 code of the partner (``EU`` for the European Union).
        authority: Name of the partner customs authority.
        effective_from: First day the arrangement applies.
        effective_to: Last day (``None``: in force until further notice).
        scope: Certificate types the arrangement recognises.
        signed: Date of signature.
        issuing_countries: Countries whose customs issue the certificates recognised (the
            member states for a union); defaults to ``(country,)``.
        programme: The partner's programme name (``C-TPAT``, ...), for display.
    """

    country: str
    authority: str
    effective_from: date
    effective_to: date | None = None
    scope: tuple[CertificateType, ...] = tuple(CertificateType)
    signed: date | None = None
    issuing_countries: tuple[str, ...] = ()
    programme: str = ""

    @property
    def issuers(self) -> tuple[str, ...]:
        """The countries whose certificates the arrangement covers."""
        return self.issuing_countries or (self.country,)

    def is_in_force_on(self, day: date) -> bool:
        """Whether the arrangement applies on ``day``."""
        if day < self.effective_from:
            return False
        return self.effective_to is None or day <= self.effective_to


@dataclass(frozen=True, slots=True)
class OperatorRegistry:
    """The operators, their certificates and the administration's MRA partners.

    Attributes:
        id: Registry id.
        version: Version (a date of extraction works well).
        operators: Every operator.
        mra_partners: Every MRA partner period.
        origin: The file it was loaded from.
    """

    id: str
    version: str
    operators: tuple[Operator, ...] = ()
    mra_partners: tuple[MraPartner, ...] = ()
    origin: str = ""

    def certificates(self) -> pl.DataFrame:
        """One row per certificate: ``operator_id``, ``type``, ``authority``, dates, status."""
        rows = [
            {
                "operator_id": op.id,
                "type": c.type.value,
                "authority": c.authority,
                "number": c.number,
                "valid_from": c.valid_from,
                "valid_to": c.valid_to,
                "status": c.status.value,
                "status_since": c.status_since,
            }
            for op in self.operators
            for c in op.certificates
        ]
        return pl.DataFrame(rows, schema=_CERTIFICATE_SCHEMA)

    def partners(self) -> pl.DataFrame:
        """One row per MRA partner period, issuing country and recognised type."""
        rows = [
            {
                "issuer": issuer,
                "type": kind.value,
                "effective_from": p.effective_from,
                "effective_to": p.effective_to,
            }
            for p in self.mra_partners
            for issuer in p.issuers
            for kind in p.scope
        ]
        return pl.DataFrame(rows, schema=_PARTNER_SCHEMA)

    def status_of(
        self, operator_id: str, day: date, *, home_country: str | Collection[str]
    ) -> AeoStatus | None:
        """The AEO status of one operator on ``day`` (the batch logic on a one-row frame)."""
        frame = pl.DataFrame(
            {FILED_AT: [day], "operator": [operator_id]},
            schema={FILED_AT: pl.Date(), "operator": pl.String()},
        )
        value = with_aeo_status(
            frame, self, home_country=home_country, operator_columns=("operator",)
        )[AEO_STATUS][0]
        return None if value is None else AeoStatus(value)


def merge_registries(first: OperatorRegistry, second: OperatorRegistry) -> OperatorRegistry:
    """One registry holding both: an operator in both keeps every certificate of each."""
    held: dict[str, Operator] = {op.id: op for op in first.operators}
    for op in second.operators:
        if op.id in held:
            old = held[op.id]
            held[op.id] = Operator(
                old.id, old.name, old.country, old.certificates + op.certificates
            )
        else:
            held[op.id] = op
    return OperatorRegistry(
        id=f"{first.id}+{second.id}",
        version=max(first.version, second.version),
        operators=tuple(held.values()),
        mra_partners=first.mra_partners + second.mra_partners,
        origin=f"{first.origin}+{second.origin}",
    )


_CERTIFICATE_SCHEMA: Final = pl.Schema(
    {
        "operator_id": pl.String(),
        "type": pl.String(),
        "authority": pl.String(),
        "number": pl.String(),
        "valid_from": pl.Date(),
        "valid_to": pl.Date(),
        "status": pl.String(),
        "status_since": pl.Date(),
    }
)
_PARTNER_SCHEMA: Final = pl.Schema(
    {
        "issuer": pl.String(),
        "type": pl.String(),
        "effective_from": pl.Date(),
        "effective_to": pl.Date(),
    }
)


def with_aeo_status(
    consignments: pl.DataFrame,
    registry: OperatorRegistry,
    *,
    home_country: str | Collection[str],
    operator_columns: Sequence[str] = DEFAULT_OPERATOR_COLUMNS,
) -> pl.DataFrame:
    """Add ``aeo_status`` to each consignment, as it stood on the day it was filed.

    A consignment is ``national`` when an operator named in ``operator_columns`` held a
    certificate issued by ``home_country`` that was active that day; otherwise ``mra`` when
    one held an active certificate issued by a partner whose arrangement was in force that
    day and covers the certificate's type; otherwise null. The day is the UTC date of
    ``filed_at`` (a Date column is taken as is). Computed with joins, in one pass.

    Args:
        consignments: Frame with ``filed_at`` and the operator columns (null ids are fine).
        registry: Operators, certificates and MRA partners.
        home_country: ISO code of this administration (or several, for a customs union
            whose members' authorisations are valid throughout it, such as the EU under
            Art. 38(4) UCC).
        operator_columns: Party id columns to look up.

    Returns:
        ``consignments`` (same rows, same order) with ``aeo_status`` set.

    Raises:
        InvalidInputError: ``filed_at`` or an operator column is missing.
    """
    needed = [FILED_AT, *operator_columns]
    missing = [c for c in needed if c not in consignments.columns]
    if missing:
        problems = tuple(
            Problem(CODE_MISSING_COLUMN, c, f"consignments need a {c!r} column") for c in missing
        )
        raise InvalidInputError(f"cannot look up AEO status: {problems[0].message}", problems)
    homes = [home_country] if isinstance(home_country, str) else sorted(home_country)
    filed = consignments.schema[FILED_AT]
    day = pl.col(FILED_AT) if filed == pl.Date() else pl.col(FILED_AT).dt.date()
    keyed = consignments.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("_row"),
        day.alias("_day"),
        *[pl.col(c).cast(pl.String).alias(f"_op{i}") for i, c in enumerate(operator_columns)],
    )
    parties = (
        keyed.unpivot(
            index=["_row", "_day"],
            on=[f"_op{i}" for i in range(len(operator_columns))],
            value_name="_operator",
        )
        .drop_nulls("_operator")
        .select("_row", "_day", "_operator")
        .unique()
    )
    held = parties.join(
        registry.certificates(), left_on="_operator", right_on="operator_id", how="inner"
    ).filter(
        (pl.col("valid_from") <= pl.col("_day"))
        & (pl.col("valid_to").is_null() | (pl.col("_day") <= pl.col("valid_to")))
        & (
            (pl.col("status") == CertificateStatus.ACTIVE.value)
            | (pl.col("_day") < pl.col("status_since")).fill_null(False)
        )
    )
    national = held.filter(pl.col("authority").is_in(homes)).select(
        "_row", pl.lit(0, pl.Int8).alias("_rank")
    )
    recognised = (
        held.join(
            registry.partners(),
            left_on=["authority", "type"],
            right_on=["issuer", "type"],
            how="inner",
        )
        .filter(
            (pl.col("effective_from") <= pl.col("_day"))
            & (pl.col("effective_to").is_null() | (pl.col("_day") <= pl.col("effective_to")))
        )
        .select("_row", pl.lit(1, pl.Int8).alias("_rank"))
    )
    best = pl.concat([national, recognised]).group_by("_row").agg(pl.col("_rank").min())
    status = (
        keyed.select("_row")
        .join(best, on="_row", how="left", maintain_order="left")
        .select(
            pl.col("_rank")
            .replace_strict(
                {0: AeoStatus.NATIONAL.value, 1: AeoStatus.MRA.value},
                default=None,
                return_dtype=pl.String,
            )
            .alias(AEO_STATUS)
        )
    )
    return consignments.with_columns(status.to_series())


# --- loading ------------------------------------------------------------------------------

_Steps = list[tuple[str, int | None]]
_E = TypeVar("_E", bound=StrEnum)


class _OperatorReader(FileReader):
    """The shared data-file reader with operator-registry codes; lines found by path."""

    error = InvalidOperatorFileError
    code_syntax = CODE_SYNTAX
    code_missing = CODE_MISSING
    code_unknown_key = CODE_UNKNOWN_KEY
    code_invalid = CODE_INVALID
    code_unreadable = CODE_UNREADABLE

    def locate(self, steps: _Steps, key: str | None = None) -> int:
        assert self.locator is not None  # TOML files always have one
        return self.locator.locate(steps, key)

    def keys(self, data: Mapping[str, Any], allowed: Sequence[str], at: _Steps) -> None:
        where = _where(at)
        for key in data:
            if key not in allowed:
                self.add(
                    CODE_UNKNOWN_KEY,
                    self.locate(at, key),
                    f"unknown key {key!r} in {where}; expected one of {', '.join(sorted(allowed))}",
                )

    def value(self, data: Mapping[str, Any], key: str, at: _Steps, *, required: bool) -> Any:
        """The raw value, or ``None`` (a missing required key is recorded)."""
        if key not in data:
            if required:
                where = _where(at)
                self.add(CODE_MISSING, self.locate(at), f"{key} is required in {where}")
            return None
        return data[key]

    def string(
        self, data: Mapping[str, Any], key: str, at: _Steps, *, required: bool
    ) -> str | None:
        raw = self.value(data, key, at, required=required)
        if raw is None:
            return None
        if not isinstance(raw, str) or not raw.strip():
            self.add(CODE_INVALID, self.locate(at, key), f"{key} must be a non-empty string")
            return None
        return raw.strip()

    def country(
        self, data: Mapping[str, Any], key: str, at: _Steps, *, required: bool
    ) -> str | None:
        raw = self.value(data, key, at, required=required)
        return None if raw is None else self.to_country(raw, key, self.locate(at, key))

    def to_country(self, raw: Any, name: str, line: int) -> str | None:
        if isinstance(raw, str) and _COUNTRY.match(raw.strip()):
            return raw.strip()
        self.add(CODE_INVALID, line, f"{name} must be an ISO 3166-1 alpha-2 code, got {raw!r}")
        return None

    def choice(self, raw: Any, name: str, line: int, kind: type[_E]) -> _E | None:
        values = [m.value for m in kind]
        if isinstance(raw, str) and raw in values:
            return kind(raw)
        self.add(CODE_INVALID, line, f"{name} must be one of {', '.join(values)}, got {raw!r}")
        return None

    def when(self, data: Mapping[str, Any], key: str, at: _Steps, *, required: bool) -> date | None:
        raw = self.value(data, key, at, required=required)
        return None if raw is None else self.to_date(raw, key, self.locate(at, key))

    def types(
        self, data: Mapping[str, Any], key: str, at: _Steps
    ) -> tuple[CertificateType, ...] | None:
        """A non-empty list of certificate types (``None`` when absent)."""
        if key not in data:
            return None
        line = self.locate(at, key)
        values = data[key]
        if not isinstance(values, list) or not values:
            self.add(CODE_INVALID, line, f"{key} must be a non-empty list of certificate types")
            return ()
        parsed = [self.choice(v, key, line, CertificateType) for v in values]
        return tuple(dict.fromkeys(p for p in parsed if p is not None))

    def tables(self, raw: Any, name: str, at: _Steps) -> list[Mapping[str, Any]]:
        if not isinstance(raw, list) or not all(isinstance(x, Mapping) for x in raw):
            self.add(CODE_INVALID, self.locate(at, name), f"{name} must be [[{name}]] tables")
            return []
        return raw


def _where(at: _Steps) -> str:
    return f"[[{'.'.join(name for name, _ in at)}]]" if at else "the top level"


def example_operators_path() -> Path:
    """Filesystem path of the shipped example registry (invented operators)."""
    return package_data_path("smartcustoms.aeo", "operators-example.toml")


def load_operators(path: Path | str) -> OperatorRegistry:
    """Read an operator registry file, reporting every problem at once.

    Args:
        path: The TOML file.

    Returns:
        The registry.

    Raises:
        InvalidOperatorFileError: The file cannot be read or parsed, or has problems; each
            :class:`~smartcustoms.errors.Problem` has ``path`` = ``file:LINE``.
    """
    registry, reader = _read(Path(path))
    reader.raise_if_any("operator file")
    assert registry is not None  # no error was recorded, so it was built
    return registry


def check_operators(path: Path | str) -> list[Problem]:
    """Every problem of an operator registry file, in line order, without raising."""
    _, reader = _read(Path(path))
    return sorted(reader.problems, key=line_of)


def _read(path: Path) -> tuple[OperatorRegistry | None, _OperatorReader]:
    reader, data = _OperatorReader.read_toml(path)
    if data is None:
        return None, reader
    reader.keys(data, _TOP_KEYS, [])
    registry_id = reader.string(data, "id", [], required=True)
    version = reader.string(data, "version", [], required=True)
    operators = _operators(reader.tables(data.get("operators", []), "operators", []), reader)
    partners = _partners(reader.tables(data.get("mra_partners", []), "mra_partners", []), reader)
    if reader.errors or registry_id is None or version is None:
        return None, reader
    return OperatorRegistry(registry_id, version, operators, partners, reader.label), reader


def _operators(entries: list[Mapping[str, Any]], reader: _OperatorReader) -> tuple[Operator, ...]:
    out: list[Operator] = []
    first_line: dict[str, int] = {}
    numbers: dict[tuple[str, str], int] = {}
    for i, entry in enumerate(entries):
        at: _Steps = [("operators", i)]
        reader.keys(entry, _OPERATOR_KEYS, at)
        op_id = reader.string(entry, "id", at, required=True)
        name = reader.string(entry, "name", at, required=True)
        country = reader.country(entry, "country", at, required=True)
        if op_id is not None:
            line = reader.locate(at, "id")
            if op_id in first_line:
                reader.add(
                    CODE_DUPLICATE,
                    line,
                    f"operator {op_id!r} is already listed at line {first_line[op_id]}",
                )
            first_line.setdefault(op_id, line)
        certificates: list[AeoCertificate] = []
        raw_certificates = reader.tables(entry.get("certificates", []), "certificates", at)
        for j, raw in enumerate(raw_certificates):
            cert_at: _Steps = [*at, ("certificates", j)]
            certificate = _certificate(raw, cert_at, reader)
            # Duplicates are checked on the raw text, so an invalid first copy still counts.
            key = (str(raw.get("authority", "")).strip(), str(raw.get("number", "")).strip())
            if all(key):
                line = reader.locate(cert_at, "number")
                if key in numbers:
                    reader.add(
                        CODE_DUPLICATE,
                        line,
                        f"certificate {key[1]} of {key[0]} is already listed at line"
                        f" {numbers[key]}",
                    )
                numbers.setdefault(key, line)
            if certificate is None:
                continue
            certificates.append(certificate)
        if op_id is not None and name is not None and country is not None:
            out.append(Operator(op_id, name, country, tuple(certificates)))
    return tuple(out)


def _certificate(
    raw: Mapping[str, Any], at: _Steps, reader: _OperatorReader
) -> AeoCertificate | None:
    reader.keys(raw, _CERTIFICATE_KEYS, at)
    kind_raw = reader.value(raw, "type", at, required=True)
    kind = (
        None
        if kind_raw is None
        else reader.choice(kind_raw, "type", reader.locate(at, "type"), CertificateType)
    )
    authority = reader.country(raw, "authority", at, required=True)
    number = reader.string(raw, "number", at, required=True)
    start = reader.when(raw, "valid_from", at, required=True)
    end = reader.when(raw, "valid_to", at, required=False)
    if start is not None and end is not None and end < start:
        reader.add(
            CODE_BAD_PERIOD,
            reader.locate(at, "valid_to"),
            f"valid_to {end} is before valid_from {start}",
        )
    status_raw = raw.get("status", CertificateStatus.ACTIVE.value)
    status = reader.choice(status_raw, "status", reader.locate(at, "status"), CertificateStatus)
    since = reader.when(raw, "status_since", at, required=False)
    if since is not None and status is CertificateStatus.ACTIVE:
        reader.add(
            CODE_INVALID,
            reader.locate(at, "status_since"),
            "status_since is the first day of a suspension or revocation; this certificate is"
            " active",
        )
    if kind is None or authority is None or number is None or start is None or status is None:
        return None
    return AeoCertificate(kind, authority, number, start, end, status, since)


def _partners(entries: list[Mapping[str, Any]], reader: _OperatorReader) -> tuple[MraPartner, ...]:
    found: list[tuple[int, MraPartner]] = []
    for i, entry in enumerate(entries):
        at: _Steps = [("mra_partners", i)]
        reader.keys(entry, _PARTNER_KEYS, at)
        country = reader.country(entry, "country", at, required=True)
        authority = reader.string(entry, "authority", at, required=True)
        programme = reader.string(entry, "programme", at, required=False) or ""
        signed = reader.when(entry, "signed", at, required=False)
        start = reader.when(entry, "effective_from", at, required=True)
        end = reader.when(entry, "effective_to", at, required=False)
        if start is not None and end is not None and end < start:
            reader.add(
                CODE_BAD_PERIOD,
                reader.locate(at, "effective_to"),
                f"effective_to {end} is before effective_from {start}",
            )
            continue
        scope = reader.types(entry, "scope", at)
        issuers: tuple[str, ...] = ()
        raw_issuers = entry.get("issuing_countries")
        if raw_issuers is not None:
            line = reader.locate(at, "issuing_countries")
            if not isinstance(raw_issuers, list) or not raw_issuers:
                reader.add(CODE_INVALID, line, "issuing_countries must be a non-empty list")
            else:
                codes = [reader.to_country(c, "issuing_countries", line) for c in raw_issuers]
                issuers = tuple(c for c in codes if c is not None)
        if country is None or authority is None or start is None:
            continue
        partner = MraPartner(
            country=country,
            authority=authority,
            effective_from=start,
            effective_to=end,
            scope=tuple(CertificateType) if scope is None else scope,
            signed=signed,
            issuing_countries=issuers,
            programme=programme,
        )
        found.append((i, partner))
    _check_overlaps(found, reader)
    return tuple(p for _, p in found)


def _check_overlaps(found: list[tuple[int, MraPartner]], reader: _OperatorReader) -> None:
    """Two periods of one partner must not overlap: which arrangement would apply?"""
    by_country: dict[str, list[tuple[int, MraPartner]]] = {}
    for index, partner in found:
        by_country.setdefault(partner.country, []).append((index, partner))
    for country, periods in by_country.items():
        periods.sort(key=lambda item: item[1].effective_from)
        for (_, earlier), (index, later) in pairwise(periods):
            if earlier.effective_to is None or later.effective_from <= earlier.effective_to:
                reader.add(
                    CODE_BAD_PERIOD,
                    reader.locate([("mra_partners", index)], "effective_from"),
                    f"the MRA with {country} from {later.effective_from} overlaps the one from"
                    f" {earlier.effective_from}",
                )
