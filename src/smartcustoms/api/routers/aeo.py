"""AEO registry and MRA partners: who is trusted, since when, and under which arrangement.

Officers, analysts and admins read the registry (ours and what partners' logs reported);
admins record acts on our authorisations - grant, suspend, revoke - and add MRA partners.
Each act is checked against the authorisation's history (every problem listed at once),
audited, and published as a ledger statement when the ledger is set up.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, Field

from smartcustoms.access import Principal, Role
from smartcustoms.aeo import CertificateType, MraPartner
from smartcustoms.aeo.history import AeoAct
from smartcustoms.aeo.registry import CODE_BAD_PERIOD, CODE_MISSING
from smartcustoms.api.security import PlatformDep, require
from smartcustoms.errors import (
    CertificateNotFoundError,
    InvalidAeoActError,
    InvalidInputError,
    Problem,
)
from smartcustoms.mra import PartnerSpec
from smartcustoms.store.aeo import ActDetails

__all__ = ["router"]

router = APIRouter(tags=["aeo"])

Reader = Annotated[Principal, Depends(require(Role.OFFICER, Role.ANALYST, Role.ADMIN))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]


class ActIn(BaseModel):
    """An act on one of our authorisations.

    A grant of an unknown number creates the authorisation (``operator_id``, ``type`` and
    ``valid_from`` are then required); any other act names an existing one by ``number``.
    """

    act: AeoAct
    number: str = Field(min_length=1, max_length=128)
    effective: date
    reason: str = Field(default="", max_length=2000)
    operator_id: str | None = Field(default=None, min_length=1, max_length=64)
    operator_name: str | None = Field(default=None, max_length=500)
    operator_country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    type: CertificateType | None = None
    valid_from: date | None = None
    valid_to: date | None = None


class PartnerIn(BaseModel):
    """One period of a mutual recognition arrangement, and the partner's ledger.

    With ``administration``, ``log_keys`` and ``statement_keys`` (from the partner's
    ``GET /api/v1/ledger/keys``) the partner's log joins our signed trust policy; with
    ``url`` and ``api_key`` (our ``partner`` key at its service) it can be synced.
    """

    country: str = Field(pattern=r"^[A-Z]{2}$", description="Partner code (EU for the Union).")
    authority: str = Field(min_length=1, max_length=200)
    effective_from: date
    effective_to: date | None = None
    scope: list[CertificateType] = Field(default_factory=lambda: list(CertificateType))
    issuing_countries: list[str] = Field(default_factory=list)
    programme: str = Field(default="", max_length=200)
    signed: date | None = None
    log_origin: str | None = Field(
        default=None, max_length=256, description="Origin of the partner's ledger."
    )
    administration: str | None = Field(default=None, max_length=64)
    log_keys: list[str] = Field(default_factory=list, max_length=8)
    statement_keys: list[str] = Field(default_factory=list, max_length=8)
    url: str | None = Field(default=None, max_length=500, pattern=r"^https?://")
    api_key: str | None = Field(default=None, max_length=200)
    quorum: int | None = Field(default=None, ge=1, le=32)


@router.get("/aeo/certificates", summary="AEO authorisations with their acts")
def list_certificates(
    _principal: Reader,
    platform: PlatformDep,
    operator_id: Annotated[str | None, Query(max_length=64)] = None,
    source: Annotated[str | None, Query(max_length=256)] = None,
) -> list[dict[str, Any]]:
    """Ours and those partners' logs reported (``source`` = the log origin)."""
    return [r.as_dict() for r in platform.aeo.certificates(operator_id=operator_id, source=source)]


@router.get("/aeo/certificates/{authority}/{number}", summary="One AEO authorisation")
def get_certificate(
    authority: str, number: str, _principal: Reader, platform: PlatformDep
) -> dict[str, Any]:
    """The authorisation, its status and every act (404 ``aeo.certificate_not_found``)."""
    return platform.aeo.certificate(authority, number).as_dict()


@router.post(
    "/aeo/acts",
    status_code=status.HTTP_201_CREATED,
    summary="Grant, suspend or revoke one of our AEO authorisations",
)
def record_act(body: ActIn, principal: Admin, platform: PlatformDep) -> dict[str, Any]:
    """Record the act (422 ``aeo.invalid_act`` with every problem when it does not fit)."""
    home = platform.settings.home_country
    try:
        current = platform.aeo.certificate(home, body.number)
    except CertificateNotFoundError:
        if body.act is not AeoAct.GRANT:
            raise
        current = None
    if current is None:
        missing = [
            name
            for name, value in (
                ("operator_id", body.operator_id),
                ("type", body.type),
                ("valid_from", body.valid_from),
            )
            if value is None
        ]
        if missing:
            problems = tuple(
                Problem(CODE_MISSING, name, f"a first grant needs {name}") for name in missing
            )
            raise InvalidAeoActError("a first grant names the holder and terms", problems)
        assert body.operator_id is not None
        assert body.type is not None
        assert body.valid_from is not None
        details = ActDetails(
            operator_id=body.operator_id,
            operator_name=body.operator_name or body.operator_id,
            operator_country=body.operator_country or home,
            type=body.type,
            authority=home,
            number=body.number,
            valid_from=body.valid_from,
            valid_to=body.valid_to,
            act=body.act,
            effective=body.effective,
            reason=body.reason,
        )
    else:
        details = current.act_details(body.act, body.effective, body.reason)
    return platform.record_aeo_act(details, actor=principal.user_id).as_dict()


@router.get("/mra/partners", summary="MRA partners and their logs")
def list_partners(_principal: Reader, platform: PlatformDep) -> list[dict[str, Any]]:
    """Every arrangement period, with the partner log whose statuses it recognises."""
    return [
        {
            "country": p.country,
            "authority": p.authority,
            "programme": p.programme,
            "signed": p.signed,
            "effective_from": p.effective_from,
            "effective_to": p.effective_to,
            "scope": [s.value for s in p.scope],
            "issuing_countries": list(p.issuers),
            "log_origin": origin,
        }
        for p, origin in platform.aeo.partner_logs()
    ]


@router.post(
    "/mra/partners", status_code=status.HTTP_201_CREATED, summary="Add an MRA partner period"
)
def add_partner(body: PartnerIn, principal: Admin, platform: PlatformDep) -> dict[str, str]:
    """Store the period; consignments of its AEOs count as ``mra`` from the next batch."""
    if body.effective_to is not None and body.effective_to < body.effective_from:
        problem = Problem(CODE_BAD_PERIOD, "effective_to", "ends before effective_from")
        raise InvalidInputError("the arrangement ends before it starts", (problem,))
    partner = MraPartner(
        country=body.country,
        authority=body.authority,
        effective_from=body.effective_from,
        effective_to=body.effective_to,
        scope=tuple(body.scope),
        signed=body.signed,
        issuing_countries=tuple(body.issuing_countries),
        programme=body.programme,
    )
    if body.log_keys or body.statement_keys or body.url:
        missing = [
            Problem(CODE_MISSING, name, f"a partner ledger needs {name}")
            for name, value in (
                ("log_origin", body.log_origin),
                ("administration", body.administration),
                ("log_keys", body.log_keys),
                ("statement_keys", body.statement_keys),
            )
            if not value
        ]
        if missing:
            raise InvalidInputError(
                "the partner's ledger is incompletely described", tuple(missing)
            )
        assert body.log_origin is not None
        assert body.administration is not None
        platform.mra.add_partner(
            partner,
            PartnerSpec(
                administration=body.administration,
                origin=body.log_origin,
                log_keys=body.log_keys,
                statement_keys=body.statement_keys,
                url=body.url,
                api_key=body.api_key,
            ),
            quorum=body.quorum,
            actor=principal.user_id,
        )
        return {"country": body.country}
    platform.aeo.add_partner(partner, log_origin=body.log_origin, actor=principal.user_id)
    platform.store.record_audit(
        actor=principal.user_id,
        action="mra.add_partner",
        subject_type="mra_partner",
        subject_id=body.country,
        details={"log_origin": body.log_origin},
    )
    return {"country": body.country}


@router.post("/mra/sync", summary="Verify and read every partner's ledger now")
def sync_partners(principal: Admin, platform: PlatformDep) -> list[dict[str, Any]]:
    """One report per partner log: entries verified, new AEO acts, or the coded refusal."""
    reports = [r.as_dict() for r in platform.mra.sync()]
    platform.store.record_audit(
        actor=principal.user_id,
        action="mra.sync",
        subject_type="ledger",
        subject_id=None,
        details={"reports": reports},
    )
    return reports
