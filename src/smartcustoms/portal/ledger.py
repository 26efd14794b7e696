"""Trusted-trader and ledger pages: AEO operators, MRA partners, ledger status.

* ``/portal/aeo`` - every AEO authorisation in the registry (ours and those partners' logs
  reported), with its status and, unfolded, every act with its log entry;
* ``/portal/mra`` - the arrangements in force, each partner log and how far it was verified,
  and the trust policy (quorum, witnesses);
* ``/portal/ledger`` - our log (size, root, cosignatures, statements waiting) and our public
  keys; admins can ask the partners' witnesses to cosign and sync the partners' logs now.

Officers, analysts and admins read them (as the API's ``/aeo`` and ``/mra`` routes); the two
actions are admins' and carry the session's CSRF token.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Annotated, Final

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from smartcustoms.access import Principal, Role
from smartcustoms.ledger.checkpoint import parse_signed_checkpoint
from smartcustoms.ledger.note import parse_note
from smartcustoms.portal.csrf import check_csrf
from smartcustoms.portal.pages import PORTAL_PREFIX, page_platform, page_principal
from smartcustoms.portal.rendering import NAV_PAGES, render
from smartcustoms.portal.vocabulary import N_

__all__ = ["router"]

router = APIRouter(prefix=PORTAL_PREFIX, include_in_schema=False)

_READERS: Final = (Role.OFFICER, Role.ANALYST, Role.ADMIN)

for _entry in (
    ("/portal/aeo", N_("AEO operators"), tuple(r.value for r in _READERS)),
    ("/portal/mra", N_("MRA partners"), tuple(r.value for r in _READERS)),
    ("/portal/ledger", N_("Ledger"), tuple(r.value for r in _READERS)),
):
    if _entry not in NAV_PAGES:
        NAV_PAGES.append(_entry)


def _reader(request: Request, roles: tuple[Role, ...] = _READERS) -> Principal:
    return page_principal(request, roles)


@router.get("/aeo", response_class=HTMLResponse)
def aeo_page(
    request: Request,
    operator: Annotated[str | None, Query(max_length=64)] = None,
    source: Annotated[str | None, Query(max_length=256)] = None,
) -> Response:
    """AEO authorisations with their acts; filter by operator or by source log."""
    _reader(request)
    platform = page_platform(request)
    records = platform.aeo.certificates(operator_id=operator or None, source=source or None)
    sources = sorted({r.source for r in platform.aeo.certificates()})
    return render(
        request,
        "ledger_aeo.html",
        {
            "records": records,
            "operator": operator or "",
            "source": source or "",
            "sources": sources,
            "ours": platform.settings.ledger_origin,
        },
    )


@router.get("/mra", response_class=HTMLResponse)
def mra_page(request: Request) -> Response:
    """Arrangements, partner logs and how far each was verified, and the trust policy."""
    _reader(request)
    platform = page_platform(request)
    today = datetime.now(UTC).date()
    partners = [
        {"partner": p, "log": origin, "in_force": p.is_in_force_on(today)}
        for p, origin in platform.aeo.partner_logs()
    ]
    return render(
        request,
        "ledger_mra.html",
        {"partners": partners, "logs": platform.mra.status(), "policy": platform.trust_policy()},
    )


@router.get("/ledger", response_class=HTMLResponse)
def ledger_page(
    request: Request, done: Annotated[str | None, Query(max_length=16)] = None
) -> Response:
    """Our log, its cosignatures, statements waiting, our public keys."""
    principal = _reader(request)
    platform = page_platform(request)
    node = platform.ledger
    cosigned = node.cosigned_checkpoint()
    witnesses: list[str] = []
    cosigned_size = None
    if cosigned is not None:
        cosigned_size = parse_signed_checkpoint(cosigned).checkpoint.size
        witnesses = [s.name for s in parse_note(cosigned).signatures if s.name != node.origin]
    return render(
        request,
        "ledger_status.html",
        {
            "origin": node.origin,
            "size": node.log.size,
            "root": base64.b64encode(node.log.root()).decode("ascii"),
            "cosigned_size": cosigned_size,
            "witnesses": witnesses,
            "counts": platform.statements.counts(),
            "keys": platform.ledger_keys.verifier_keys(),
            "logs": platform.mra.status(),
            "is_admin": principal.role is Role.ADMIN,
            "reports": request.session.pop("ledger_reports", None),
            "done": done,
        },
    )


@router.post("/ledger/{action}")
def ledger_action(
    request: Request, action: str, csrf_token: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    """Admins: cosign our checkpoint, or sync the partners' logs; reports shown on the page."""
    principal = _reader(request, (Role.ADMIN,))
    check_csrf(request.session, csrf_token)
    platform = page_platform(request)
    if action == "cosign":
        reports = [r.as_dict() for r in platform.mra.cosign()]
    elif action == "sync":
        reports = [r.as_dict() for r in platform.mra.sync()]
    else:
        return Response(status_code=404)
    platform.store.record_audit(
        actor=principal.user_id,
        action=f"ledger.{action}",
        subject_type="ledger",
        subject_id=None,
        details={"reports": reports, "via": "portal"},
    )
    request.session["ledger_reports"] = reports
    return RedirectResponse(f"{PORTAL_PREFIX}/ledger?done={action}", status_code=303)
