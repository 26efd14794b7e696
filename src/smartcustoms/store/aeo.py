"""The AEO registry in the store: operators, authorisations, every act on them, MRA partners.

Our own authorisations change by acts (:mod:`smartcustoms.aeo.history`): each grant,
suspension or revocation is checked against the certificate's history, stored with who did
it, and - when a ledger is configured - written in the **same transaction** as the ledger
statement that publishes it (``ledger_statements``, an outbox the ledger appends from). A
process that dies after the commit loses nothing: the statement is appended on the next
publish. Partners' authorisations arrive as acts read from their verified logs
(:meth:`AeoRecords.record_partner_acts`).

:meth:`AeoRecords.registry` gives the :class:`~smartcustoms.aeo.OperatorRegistry` the risk
engine reads, so a revoked or suspended authorisation stops counting from its effective day
and past days keep the status they had.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from smartcustoms.aeo import CertificateType, MraPartner, Operator, OperatorRegistry
from smartcustoms.aeo.history import (
    AeoAct,
    StatusAct,
    certificate_rows,
    check_act,
    status_after,
)
from smartcustoms.errors import CertificateNotFoundError, InvalidAeoActError, Problem
from smartcustoms.store import tables as t
from smartcustoms.store.database import Store

__all__ = [
    "ActDetails",
    "ActRecord",
    "AeoRecords",
    "CertificateRecord",
    "PartnerAct",
    "Publication",
    "certificate_id",
]


def certificate_id(authority: str, number: str) -> str:
    """The registry's key of an authorisation: ``AUTHORITY/NUMBER``."""
    return f"{authority}/{number}"


@dataclass(frozen=True, slots=True)
class ActDetails:
    """An act about to be recorded, with the authorisation it concerns.

    Attributes:
        operator_id: The holder.
        operator_name: The holder's registered name.
        operator_country: The holder's country of establishment.
        type: Certificate type.
        authority: Issuing authority (country code).
        number: Authorisation number.
        valid_from: First day of validity.
        valid_to: Last day (``None``: open-ended).
        act: What is done.
        effective: First day the act applies.
        reason: Why.
    """

    operator_id: str
    operator_name: str
    operator_country: str
    type: CertificateType
    authority: str
    number: str
    valid_from: date
    valid_to: date | None
    act: AeoAct
    effective: date
    reason: str


@dataclass(frozen=True, slots=True)
class Publication:
    """A ledger statement to store with an act (the outbox row).

    Attributes:
        kind: Statement type (``aeo.status``).
        subject: What it is about (the certificate id).
        entry: The exact bytes to append to the log.
        document: The business document the statement commits to by hash.
        opening: What opens its commitment (kept off the log).
    """

    kind: str
    subject: str
    entry: bytes
    document: bytes
    opening: bytes


Publisher = Callable[[ActDetails], Publication]
"""Builds the statement that publishes an act (the ledger node provides it)."""


@dataclass(frozen=True, slots=True)
class ActRecord:
    """One stored act.

    Attributes:
        act: What was done.
        effective: First day it applied.
        reason: Why.
        actor: Who recorded it (a user, or ``partner:<origin>``).
        recorded_at: When.
        statement_id: Our ledger statement publishing it, if any.
        log_origin: The log the act is (or will be) in.
        log_index: Its index in that log, once appended.
    """

    act: AeoAct
    effective: date
    reason: str
    actor: str
    recorded_at: datetime
    statement_id: int | None
    log_origin: str | None
    log_index: int | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "act": self.act.value,
            "effective": self.effective.isoformat(),
            "reason": self.reason,
            "actor": self.actor,
            "recorded_at": self.recorded_at.isoformat(),
            "statement_id": self.statement_id,
            "log_origin": self.log_origin,
            "log_index": self.log_index,
        }


@dataclass(frozen=True, slots=True)
class CertificateRecord:
    """An authorisation, its holder, its current status and every act on it.

    Attributes:
        certificate_id: ``AUTHORITY/NUMBER``.
        operator_id: The holder.
        operator_name: The holder's name.
        operator_country: The holder's country of establishment.
        type: Certificate type.
        authority: Issuing authority.
        number: Authorisation number.
        valid_from: First day of validity.
        valid_to: Last day (``None``: open-ended).
        status: ``active``, ``suspended`` or ``revoked``.
        source: Our administration, or the partner log it came from.
        acts: Every act, in the order recorded.
    """

    certificate_id: str
    operator_id: str
    operator_name: str
    operator_country: str
    type: CertificateType
    authority: str
    number: str
    valid_from: date
    valid_to: date | None
    status: str
    source: str
    acts: tuple[ActRecord, ...]

    def act_details(self, act: AeoAct, effective: date, reason: str) -> ActDetails:
        """A new act on this authorisation (its holder, type and validity as stored)."""
        return ActDetails(
            operator_id=self.operator_id,
            operator_name=self.operator_name,
            operator_country=self.operator_country,
            type=self.type,
            authority=self.authority,
            number=self.number,
            valid_from=self.valid_from,
            valid_to=self.valid_to,
            act=act,
            effective=effective,
            reason=reason,
        )

    def history(self) -> list[StatusAct]:
        """The acts as :class:`StatusAct` values."""
        return [StatusAct(a.act, a.effective, a.reason) for a in self.acts]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "certificate_id": self.certificate_id,
            "operator_id": self.operator_id,
            "operator_name": self.operator_name,
            "operator_country": self.operator_country,
            "type": self.type.value,
            "authority": self.authority,
            "number": self.number,
            "valid_from": self.valid_from.isoformat(),
            "valid_to": None if self.valid_to is None else self.valid_to.isoformat(),
            "status": self.status,
            "source": self.source,
            "acts": [a.as_dict() for a in self.acts],
        }


@dataclass(frozen=True, slots=True)
class PartnerAct:
    """An act read from a partner's verified log.

    Attributes:
        details: The act and the authorisation it concerns.
        log_index: Its index in the partner's log.
    """

    details: ActDetails
    log_index: int


class AeoRecords:
    """AEO operators, authorisations and acts of one store.

    Args:
        store: The platform's store.
        source: Our administration's name for its own records (the ledger origin).
    """

    def __init__(self, store: Store, *, source: str) -> None:
        self.store = store
        self.source = source

    # --- our acts ------------------------------------------------------------------------

    def act(
        self,
        details: ActDetails,
        *,
        actor: str,
        publish: Publisher | None = None,
        now: datetime | None = None,
    ) -> CertificateRecord:
        """Record a grant, suspension or revocation of one of our authorisations.

        A grant of an unknown certificate creates it (and its operator); any other act needs
        the certificate to exist. With ``publish``, the statement it builds is stored in the
        same transaction, ready for the ledger to append.

        Raises:
            CertificateNotFoundError: A suspension or revocation of an unknown certificate.
            InvalidAeoActError: The act does not fit the history (every problem listed).
        """
        when = now or datetime.now(UTC)
        key = certificate_id(details.authority, details.number)
        with self.store.engine.begin() as conn:
            found = self._certificate(conn, key)
            if found is None and details.act is not AeoAct.GRANT:
                raise CertificateNotFoundError(f"no AEO certificate {key!r}")
            if found is not None:
                details = found.act_details(details.act, details.effective, details.reason)
            history = [] if found is None else found.history()
            problems = check_act(
                history,
                StatusAct(details.act, details.effective, details.reason),
                valid_from=details.valid_from,
                valid_to=details.valid_to,
            )
            if found is not None and found.source != self.source:
                problems.append(
                    Problem(
                        "aeo.act_state",
                        "act",
                        f"{key} was issued by a partner ({found.source}); only its log changes it",
                    )
                )
            if problems:
                raise InvalidAeoActError(
                    f"cannot {details.act} {key}: {problems[0].message}", tuple(problems)
                )
            statement_id = None
            if publish is not None:
                statement_id = self._publish(conn, publish(details), when)
            self._write(conn, details, actor, when, self.source, statement_id, None)
            record = self._certificate(conn, key)
        assert record is not None
        return record

    def _publish(self, conn: Connection, publication: Publication, when: datetime) -> int:
        result = conn.execute(
            insert(t.ledger_statements).values(
                kind=publication.kind,
                subject=publication.subject,
                entry=publication.entry,
                document=publication.document,
                opening=publication.opening,
                created_at=when,
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    def _write(
        self,
        conn: Connection,
        details: ActDetails,
        actor: str,
        when: datetime,
        source: str,
        statement_id: int | None,
        log_index: int | None,
    ) -> None:
        key = certificate_id(details.authority, details.number)
        history = [] if (c := self._certificate(conn, key)) is None else c.history()
        history.append(StatusAct(details.act, details.effective, details.reason))
        status = status_after(history)
        assert status is not None
        operator = {
            "name": details.operator_name,
            "country": details.operator_country,
            "source": source,
            "updated_at": when,
        }
        exists = conn.execute(
            select(t.aeo_operators.c.operator_id).where(
                t.aeo_operators.c.operator_id == details.operator_id
            )
        ).first()
        if exists is None:
            conn.execute(
                insert(t.aeo_operators).values(operator_id=details.operator_id, **operator)
            )
        else:
            conn.execute(
                update(t.aeo_operators)
                .where(t.aeo_operators.c.operator_id == details.operator_id)
                .values(**operator)
            )
        if c is None:
            conn.execute(
                insert(t.aeo_certificates).values(
                    certificate_id=key,
                    operator_id=details.operator_id,
                    type=details.type.value,
                    authority=details.authority,
                    number=details.number,
                    valid_from=details.valid_from,
                    valid_to=details.valid_to,
                    status=status.value,
                    source=source,
                    updated_at=when,
                )
            )
        else:
            conn.execute(
                update(t.aeo_certificates)
                .where(t.aeo_certificates.c.certificate_id == key)
                .values(status=status.value, updated_at=when)
            )
        conn.execute(
            insert(t.aeo_acts).values(
                certificate_id=key,
                act=details.act.value,
                effective=details.effective,
                reason=details.reason,
                actor=actor,
                recorded_at=when,
                statement_id=statement_id,
                log_origin=source,
                log_index=log_index,
            )
        )

    # --- partners' acts ------------------------------------------------------------------

    def record_partner_acts(
        self, origin: str, acts: Iterable[PartnerAct], *, now: datetime | None = None
    ) -> int:
        """Store acts read from partner log ``origin`` (already verified); return how many.

        Acts already stored (same log and index) are skipped, so a sync may be repeated. A
        partner is the authority for its own certificates: its acts are kept even when they
        would not pass our own checks, and the periods are computed from them as they are.
        """
        when = now or datetime.now(UTC)
        added = 0
        with self.store.engine.begin() as conn:
            seen = {
                int(i)
                for (i,) in conn.execute(
                    select(t.aeo_acts.c.log_index).where(t.aeo_acts.c.log_origin == origin)
                )
                if i is not None
            }
            for item in acts:
                if item.log_index in seen:
                    continue
                self._write(
                    conn, item.details, f"partner:{origin}", when, origin, None, item.log_index
                )
                seen.add(item.log_index)
                added += 1
        return added

    # --- reading -------------------------------------------------------------------------

    def _certificate(self, conn: Connection, key: str) -> CertificateRecord | None:
        found = self._certificates(conn, t.aeo_certificates.c.certificate_id == key)
        return found[0] if found else None

    def _certificates(self, conn: Connection, *where: Any) -> list[CertificateRecord]:
        c, o, a = t.aeo_certificates, t.aeo_operators, t.aeo_acts
        rows = conn.execute(
            select(c, o.c.name, o.c.country)
            .join(o, o.c.operator_id == c.c.operator_id)
            .where(*where)
            .order_by(c.c.operator_id, c.c.certificate_id)
        ).all()
        keys = [r.certificate_id for r in rows]
        acts: dict[str, list[ActRecord]] = {k: [] for k in keys}
        for start in range(0, len(keys), 500):
            for r in conn.execute(
                select(a).where(a.c.certificate_id.in_(keys[start : start + 500])).order_by(a.c.id)
            ):
                acts[r.certificate_id].append(
                    ActRecord(
                        act=AeoAct(r.act),
                        effective=r.effective,
                        reason=r.reason,
                        actor=r.actor,
                        recorded_at=r.recorded_at,
                        statement_id=r.statement_id,
                        log_origin=r.log_origin,
                        log_index=r.log_index,
                    )
                )
        return [
            CertificateRecord(
                certificate_id=r.certificate_id,
                operator_id=r.operator_id,
                operator_name=r.name,
                operator_country=r.country,
                type=CertificateType(r.type),
                authority=r.authority,
                number=r.number,
                valid_from=r.valid_from,
                valid_to=r.valid_to,
                status=r.status,
                source=r.source,
                acts=tuple(acts[r.certificate_id]),
            )
            for r in rows
        ]

    def stamp(self) -> tuple[int, int] | None:
        """Changes whenever an act or a partner is recorded; ``None`` while both are empty."""
        with self.store.engine.connect() as conn:
            acts = conn.execute(select(func.max(t.aeo_acts.c.id))).scalar()
            partners = conn.execute(select(func.max(t.mra_partners.c.id))).scalar()
        if acts is None and partners is None:
            return None
        return (int(acts or 0), int(partners or 0))

    def certificate(self, authority: str, number: str) -> CertificateRecord:
        """One authorisation with its acts.

        Raises:
            CertificateNotFoundError: No such certificate.
        """
        with self.store.engine.connect() as conn:
            found = self._certificate(conn, certificate_id(authority, number))
        if found is None:
            raise CertificateNotFoundError(
                f"no AEO certificate {certificate_id(authority, number)!r}"
            )
        return found

    def certificates(
        self, *, operator_id: str | None = None, source: str | None = None
    ) -> list[CertificateRecord]:
        """Every authorisation (of one operator, or from one source), with its acts."""
        c = t.aeo_certificates
        where = []
        if operator_id is not None:
            where.append(c.c.operator_id == operator_id)
        if source is not None:
            where.append(c.c.source == source)
        with self.store.engine.connect() as conn:
            return self._certificates(conn, *where)

    def registry(self, partners: Sequence[MraPartner] | None = None) -> OperatorRegistry:
        """The registry the risk engine reads: each authorisation's active periods.

        Args:
            partners: The MRA partners (default: those stored by :meth:`add_partner`).
        """
        records = self.certificates()
        names: dict[str, tuple[str, str]] = {}
        with self.store.engine.connect() as conn:
            for r in conn.execute(select(t.aeo_operators)):
                names[r.operator_id] = (r.name, r.country)
        held: dict[str, list[Any]] = {}
        for rec in records:
            held.setdefault(rec.operator_id, []).extend(
                certificate_rows(
                    rec.history(),
                    type=rec.type,
                    authority=rec.authority,
                    number=rec.number,
                    valid_from=rec.valid_from,
                    valid_to=rec.valid_to,
                )
            )
        operators = tuple(
            Operator(id=op, name=names[op][0], country=names[op][1], certificates=tuple(certs))
            for op, certs in sorted(held.items())
        )
        return OperatorRegistry(
            id=f"store:{self.source}",
            version=datetime.now(UTC).date().isoformat(),
            operators=operators,
            mra_partners=tuple(self.partners() if partners is None else partners),
            origin="store",
        )

    # --- MRA partners --------------------------------------------------------------------

    def add_partner(
        self,
        partner: MraPartner,
        *,
        log_origin: str | None,
        actor: str,
        log_url: str | None = None,
        now: datetime | None = None,
    ) -> None:
        """Store one MRA period and the partner log whose statuses it recognises."""
        with self.store.engine.begin() as conn:
            conn.execute(
                insert(t.mra_partners).values(
                    country=partner.country,
                    authority=partner.authority,
                    programme=partner.programme,
                    signed=partner.signed,
                    effective_from=partner.effective_from,
                    effective_to=partner.effective_to,
                    scope=",".join(s.value for s in partner.scope),
                    issuing_countries=",".join(partner.issuing_countries),
                    log_origin=log_origin,
                    log_url=log_url,
                    added_by=actor,
                    added_at=now or datetime.now(UTC),
                )
            )

    def partner_urls(self) -> dict[str, str]:
        """Each partner log origin and the service URL its log is read from (latest added)."""
        p = t.mra_partners
        with self.store.engine.connect() as conn:
            rows = conn.execute(
                select(p.c.log_origin, p.c.log_url)
                .where(p.c.log_origin.is_not(None), p.c.log_url.is_not(None))
                .order_by(p.c.id)
            ).all()
        return {str(r[0]): str(r[1]) for r in rows}

    def sync_state(self, origin: str) -> tuple[int, bytes | None]:
        """How many entries of partner log ``origin`` were read, and the root at that size."""
        with self.store.engine.connect() as conn:
            row = conn.execute(
                select(t.mra_sync.c.tree_size, t.mra_sync.c.root_hash).where(
                    t.mra_sync.c.log_origin == origin
                )
            ).first()
        return (0, None) if row is None else (int(row[0]), bytes.fromhex(row[1]))

    def sync_states(self) -> list[dict[str, Any]]:
        """Every partner log's last verified checkpoint (size, root, when)."""
        with self.store.engine.connect() as conn:
            rows = conn.execute(select(t.mra_sync).order_by(t.mra_sync.c.log_origin)).all()
        return [
            {
                "log_origin": r.log_origin,
                "tree_size": int(r.tree_size),
                "root_hash": r.root_hash,
                "synced_at": r.synced_at.isoformat(),
            }
            for r in rows
        ]

    def record_sync(
        self,
        origin: str,
        acts: Iterable[PartnerAct],
        *,
        size: int,
        root: bytes,
        checkpoint: str,
        now: datetime | None = None,
    ) -> int:
        """Store the acts read from partner log ``origin`` and how far it was read; new acts."""
        when = now or datetime.now(UTC)
        added = self.record_partner_acts(origin, acts, now=when)
        values = {
            "tree_size": size,
            "root_hash": root.hex(),
            "checkpoint": checkpoint,
            "synced_at": when,
        }
        with self.store.engine.begin() as conn:
            updated = conn.execute(
                update(t.mra_sync).where(t.mra_sync.c.log_origin == origin).values(**values)
            ).rowcount
            if not updated:
                conn.execute(insert(t.mra_sync).values(log_origin=origin, **values))
        return added

    def partners(self) -> list[MraPartner]:
        """Every stored MRA period."""
        return [p for p, _ in self.partner_logs()]

    def partner_logs(self) -> list[tuple[MraPartner, str | None]]:
        """Every stored MRA period with its partner log origin."""
        with self.store.engine.connect() as conn:
            rows = conn.execute(select(t.mra_partners).order_by(t.mra_partners.c.id)).all()
        return [
            (
                MraPartner(
                    country=r.country,
                    authority=r.authority,
                    effective_from=r.effective_from,
                    effective_to=r.effective_to,
                    scope=tuple(CertificateType(s) for s in r.scope.split(",") if s),
                    signed=r.signed,
                    issuing_countries=tuple(c for c in r.issuing_countries.split(",") if c),
                    programme=r.programme,
                ),
                r.log_origin,
            )
            for r in rows
        ]
