"""The service: one FastAPI application built from a platform object.

``create_app(platform)`` mounts the versioned API under ``/api/v1`` (OpenAPI document at
``/api/v1/openapi.json``, interactive docs at ``/api/v1/docs``) and renders every error as
problem details (:mod:`.problems`). ``smartcustoms serve`` runs it with uvicorn.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final

from fastapi import APIRouter, Depends, FastAPI

from smartcustoms import __version__
from smartcustoms.api.problems import install_problem_handlers
from smartcustoms.api.routers import (
    aeo,
    analyst,
    events,
    filings,
    jobs,
    ledger,
    officer,
    quarantine,
    system,
    trs,
)
from smartcustoms.api.routers.filings import submit_filing_route
from smartcustoms.api.security import refuse_nul
from smartcustoms.clearance.batcher import DecisionBatcher
from smartcustoms.config import DEFAULT_SECRET_KEY
from smartcustoms.errors import ConfigurationError
from smartcustoms.platform import SmartCustoms
from smartcustoms.portal import install_portal

__all__ = ["API_PREFIX", "ROUTERS", "create_app"]

API_PREFIX: Final = "/api/v1"
"""Where version 1 of the API is mounted."""

ROUTERS: Final[tuple[APIRouter, ...]] = (
    system.router,
    filings.router,
    jobs.router,
    quarantine.router,
    officer.router,
    analyst.router,
    events.router,
    aeo.router,
    ledger.router,
    trs.router,
)
"""The routers of version 1; later domains (TRS, ledger) append theirs here."""


def create_app(
    platform: SmartCustoms | None = None, *, portal: bool = True, freeze_gc: bool = False
) -> FastAPI:
    """Build the service for ``platform`` (read from the environment when omitted).

    The officer portal is mounted under ``/portal`` unless ``portal`` is false. Single
    filings are cleared by the application's :class:`DecisionBatcher` (``app.state.decisions``),
    which finishes the filings it holds when the application shuts down. ``freeze_gc``: see
    :class:`DecisionBatcher` (``smartcustoms serve`` sets it; a process that builds many
    applications, a test run, should not).

    Raises:
        ConfigurationError: ``environment=production`` with the default secret key.
    """
    platform = platform or SmartCustoms()
    settings = platform.settings
    if settings.environment == "production" and (
        settings.secret_key == DEFAULT_SECRET_KEY or len(settings.secret_key) < 32
    ):
        raise ConfigurationError(
            "refusing to start in production with the default or a short secret key: set "
            "SMARTCUSTOMS_SECRET_KEY to at least 32 random characters"
        )
    decisions = DecisionBatcher(
        lambda: platform.clearance(actor="api"),
        fast=platform.single_filing_engine if settings.fast_decisions else None,
        freeze_gc=freeze_gc,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            decisions.close()

    app = FastAPI(
        lifespan=lifespan,
        title="smartcustoms",
        version=__version__,
        summary="Smart Customs platform: filings, risk lanes, inspections, analytics.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        dependencies=[Depends(refuse_nul)],
    )
    app.state.platform = platform
    app.state.decisions = decisions
    install_problem_handlers(app)
    # the busiest route first, as a plain Starlette route (see submit_filing_route)
    app.router.routes.append(submit_filing_route(f"{API_PREFIX}/filings"))
    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    if portal:
        install_portal(app, platform)
    return app
