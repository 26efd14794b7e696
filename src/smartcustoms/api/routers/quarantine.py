"""Filers: list and read their quarantined filings, and resubmit them corrected.

A rejected filing is kept whole in quarantine with every problem found (see
``docs/quarantine.md``). The filer who sent it reads it here, corrects it and resubmits it
through the same clearance path as any filing (:meth:`SmartCustoms.resubmit
<smartcustoms.platform.SmartCustoms.resubmit>`); the filer-id rule applies again. Another
filer's entry is answered with the same 404 as an unknown id
(:func:`~.filings.visible_record`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from smartcustoms.access import Principal
from smartcustoms.api.routers.filings import (
    REJECTED_RESPONSES,
    ConsignmentResponse,
    FilerOrAdmin,
    FilingProblem,
    audit,
    consignment_response,
    filer_problem,
    filing_body,
    read_filing,
    refuse_nul_body,
    rejection,
    tenant_of,
    visible_record,
)
from smartcustoms.api.security import PlatformDep
from smartcustoms.errors import QuarantineEntryNotFoundError
from smartcustoms.platform import SmartCustoms
from smartcustoms.store.database import QuarantineEntry

__all__ = [
    "QuarantineDetail",
    "QuarantineSummary",
    "ResubmitAccepted",
    "router",
    "summary_fields",
    "visible_entry",
]

router = APIRouter(tags=["filers"])


class QuarantineSummary(BaseModel):
    """A quarantined filing in a list."""

    quarantine_id: str
    status: Literal["open", "resolved"]
    filing_id: str | None
    format: str
    problem_codes: list[str]
    received_at: datetime
    updated_at: datetime
    attempts: int
    resolved_filing_id: str | None


class QuarantineDetail(QuarantineSummary):
    """A quarantined filing with every problem and the payload as received."""

    line: int | None
    problems: list[FilingProblem]
    payload: str = Field(description="The filing exactly as received (UTF-8, with replacement).")


class ResubmitAccepted(BaseModel):
    """A corrected filing accepted: the quarantine entry is resolved."""

    quarantine_id: str
    filing_id: str | None
    duplicate: bool
    consignments: list[ConsignmentResponse]


def visible_entry(
    platform: SmartCustoms, principal: Principal, quarantine_id: str, *, via: str = "api"
) -> QuarantineEntry:
    """The quarantine entry if the caller may see it (another filer's: the unknown id's 404)."""
    return visible_record(
        platform,
        principal,
        "quarantine",
        quarantine_id,
        load=platform.store.quarantine_entry,
        owner=lambda entry: entry.tenant,
        missing=lambda qid: QuarantineEntryNotFoundError(f"no quarantine entry {qid!r}"),
        via=via,
    )


def summary_fields(entry: QuarantineEntry) -> dict[str, Any]:
    """An entry as ``GET /quarantine`` lists it."""
    return {
        "quarantine_id": entry.quarantine_id,
        "status": entry.status,
        "filing_id": entry.filing_id,
        "format": entry.fmt,
        "problem_codes": sorted({p.code for p in entry.problems}),
        "received_at": entry.received_at,
        "updated_at": entry.updated_at,
        "attempts": entry.attempts,
        "resolved_filing_id": entry.resolved_filing_id,
    }


@router.get("/quarantine", summary="Your quarantined filings")
def quarantine_list(
    principal: FilerOrAdmin,
    platform: PlatformDep,
    status: Annotated[Literal["open", "resolved", "all"], Query()] = "open",
    code: Annotated[str | None, Query(description="Only entries with this problem code.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> list[QuarantineSummary]:
    """Oldest first; a filer sees only the entries of its own submissions."""
    entries = platform.store.quarantine_entries(
        status=None if status == "all" else status,
        code=code,
        limit=limit,
        offset=offset,
        tenant=tenant_of(principal),
    )
    ids = [e.quarantine_id for e in entries]
    audit(platform, principal, "quarantine.list", "quarantine", None, ids=ids)
    return [QuarantineSummary(**summary_fields(e)) for e in entries]


@router.get("/quarantine/{quarantine_id}", summary="One quarantined filing")
def quarantine_show(
    quarantine_id: str, principal: FilerOrAdmin, platform: PlatformDep
) -> QuarantineDetail:
    """Every problem and the payload as received; another filer's entry is 404."""
    entry = visible_entry(platform, principal, quarantine_id)
    return QuarantineDetail(
        **summary_fields(entry),
        line=entry.line,
        problems=[filer_problem(p.as_dict()) for p in entry.problems],
        payload=entry.payload.decode("utf-8", errors="replace"),
    )


@router.post(
    "/quarantine/{quarantine_id}/resubmit",
    summary="Resubmit a quarantined filing, corrected",
    response_model=ResubmitAccepted,
    responses=REJECTED_RESPONSES,
    openapi_extra=filing_body(
        "The corrected filing, in the entry's format (JSON, postal item, or CSV rows with "
        "their header). An empty body resubmits the stored payload as it is."
    ),
)
async def quarantine_resubmit(
    quarantine_id: str, request: Request, principal: FilerOrAdmin, platform: PlatformDep
) -> Any:
    """Send the corrected filing through the same path as any filing.

    200 when accepted (the entry is resolved), 422 with every problem when rejected again
    (the entry keeps the new payload), 409 ``quarantine.closed`` when already resolved,
    404 for another filer's entry.
    """
    tenant = tenant_of(principal)
    body = await read_filing(request, platform)
    await run_in_threadpool(visible_entry, platform, principal, quarantine_id)
    refuse_nul_body(body)
    result = await run_in_threadpool(
        platform.resubmit,
        quarantine_id,
        corrected=body if body.strip() else None,
        actor=principal.user_id,
        tenant=tenant,
    )
    if not result.accepted:
        problems = [filer_problem(p.as_dict()) for p in result.problems]
        return rejection(
            request,
            quarantine_id,
            problems,
            f"the resubmission has {len(problems)} error(s), every one listed; quarantine "
            f"entry {quarantine_id} keeps it: correct it and resubmit again",
        )
    ids = await run_in_threadpool(platform.store.filing_consignment_ids, result.filing_id or "")
    found = await run_in_threadpool(platform.store.consignment_outcomes, ids)
    return ResubmitAccepted(
        quarantine_id=quarantine_id,
        filing_id=result.filing_id,
        duplicate=result.duplicate,
        consignments=[consignment_response(o) for o in found.values()],
    )
