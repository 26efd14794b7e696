"""Health, the caller's identity, and the problem types the API can return."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from smartcustoms import __version__
from smartcustoms.api.decider import RemoteDecisions
from smartcustoms.api.problems import error_classes
from smartcustoms.api.security import CurrentPrincipal, PlatformDep

__all__ = ["router"]

router = APIRouter(tags=["system"])


class Health(BaseModel):
    """Liveness and the store's reachability."""

    status: str
    version: str
    database: str


class Me(BaseModel):
    """The authenticated caller."""

    user_id: str
    role: str
    display_name: str
    filer_id: str | None
    offices: list[str]
    language: str


class ProblemType(BaseModel):
    """One problem type (error code) the API may return."""

    code: str
    title: str
    description: str


@router.get("/health", summary="Liveness and database reachability")
async def health(request: Request, platform: PlatformDep) -> Health:
    """Returns ``ok`` when the store answers a trivial query.

    Behind a decision process (``serve --workers N --decider``), also only when that
    process accepts a connection.
    """
    await run_in_threadpool(platform.store.ping)
    decisions = request.app.state.decisions
    if isinstance(decisions, RemoteDecisions):
        await decisions.connect(timeout=1.0)
    return Health(status="ok", version=__version__, database=platform.store.dialect)


@router.get("/me", summary="The authenticated caller")
def me(principal: CurrentPrincipal) -> Me:
    """Who the API key belongs to, its role and scope."""
    return Me(
        user_id=principal.user_id,
        role=str(principal.role),
        display_name=principal.display_name,
        filer_id=principal.filer_id,
        offices=sorted(principal.offices),
        language=principal.language,
    )


@router.get("/problems", summary="Every problem type (stable error code)")
def problem_types() -> list[ProblemType]:
    """The codes that may appear in ``code`` of a problem-details response."""
    return [_describe(cls) for cls in error_classes()]


def _describe(cls: Any) -> ProblemType:
    doc = (cls.__doc__ or "").strip().splitlines()
    return ProblemType(code=cls.code, title=cls.title, description=doc[0] if doc else "")
