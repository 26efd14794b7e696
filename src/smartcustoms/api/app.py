"""The service: one FastAPI application built from a platform object.

``create_app(platform)`` mounts the versioned API under ``/api/v1`` (OpenAPI document at
``/api/v1/openapi.json``, interactive docs at ``/api/v1/docs``) and renders every error as
problem details (:mod:`.problems`). ``smartcustoms serve`` runs it with uvicorn.
"""

from __future__ import annotations

import gc
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Final

from fastapi import APIRouter, Depends, FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from smartcustoms import __version__
from smartcustoms.api.decider import RemoteDecisions, platform_batcher
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
from smartcustoms.api.routers.filings import submit_filing_endpoint, submit_filing_route
from smartcustoms.api.security import refuse_nul
from smartcustoms.clearance.batcher import DecisionBatcher
from smartcustoms.config import DEFAULT_SECRET_KEY
from smartcustoms.errors import ConfigurationError, DecisionsUnavailableError
from smartcustoms.platform import SmartCustoms
from smartcustoms.portal import install_portal

__all__ = ["API_PREFIX", "ROUTERS", "create_app"]

_log = logging.getLogger(__name__)

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


class _FastLane:
    """ASGI: ``POST`` on one path straight to its endpoint, all else through the app's stack.

    The busiest route, ``POST /api/v1/filings``, skips the middleware layers it does not use
    (session cookies, FastAPI's exception telemetry and body-limit wrappers, the exit stack
    of yield dependencies): a few hundred microseconds of a worker's CPU per request under
    load. What those layers give it is kept: an error raised by the endpoint is rendered by
    the application's own exception handlers (looked up by the exception's classes, then
    the catch-all ``Exception`` handler), so the route answers in the problem-details shape
    of every other route, unexpected errors included.
    """

    def __init__(
        self,
        stack: ASGIApp,
        app: FastAPI,
        path: str,
        endpoint: Callable[[Request], Awaitable[Response]],
    ) -> None:
        self.stack = stack
        self.app = app
        self.path = path
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"] != self.path
            or scope.get("root_path")
        ):
            await self.stack(scope, receive, send)
            return
        scope["app"] = self.app
        request = Request(scope, receive)
        try:
            response = await self.endpoint(request)
        except Exception as exc:
            handler = self._handler(exc)
            answer = handler(request, exc)
            response = await answer if inspect.isawaitable(answer) else answer
        await response(scope, receive, send)

    def _handler(self, exc: Exception) -> Callable[[Request, Exception], Any]:
        """The handler Starlette would pick: by status for HTTP errors, else by class."""
        handlers = self.app.exception_handlers
        if isinstance(exc, StarletteHTTPException) and exc.status_code in handlers:
            return handlers[exc.status_code]
        for cls in type(exc).__mro__:
            if cls in handlers:
                return handlers[cls]
        raise exc  # no handler at all: the server's own error handling


class _Service(FastAPI):
    """The service's FastAPI application: :class:`_FastLane` in front of its stack."""

    fast_lane: tuple[str, Callable[[Request], Awaitable[Response]]] | None = None

    def build_middleware_stack(self) -> ASGIApp:
        """FastAPI's stack, behind the fast lane when one is set."""
        stack = super().build_middleware_stack()
        if self.fast_lane is None:
            return stack
        return _FastLane(stack, self, *self.fast_lane)


def create_app(
    platform: SmartCustoms | None = None,
    *,
    portal: bool = True,
    freeze_gc: bool = False,
    decider: str | None = None,
) -> FastAPI:
    """Build the service for ``platform`` (read from the environment when omitted).

    The officer portal is mounted under ``/portal`` unless ``portal`` is false. Single
    filings are cleared by the application's :class:`DecisionBatcher` (``app.state.decisions``),
    which finishes the filings it holds when the application shuts down. ``freeze_gc``: see
    :class:`DecisionBatcher` (``smartcustoms serve`` sets it; a process that builds many
    applications, a test run, should not). ``decider``: the socket of the service's decision
    process (:mod:`smartcustoms.api.decider`), which then decides the single filings
    instead (``app.state.decisions`` is a :class:`~smartcustoms.api.decider.RemoteDecisions`).

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
    decisions: DecisionBatcher | RemoteDecisions
    if decider is None:
        decisions = platform_batcher(platform, freeze_gc=freeze_gc)
    else:
        decisions = RemoteDecisions(decider)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if isinstance(decisions, RemoteDecisions):
            try:
                await decisions.connect()
            except DecisionsUnavailableError as error:  # each filing will try again
                _log.warning("%s", error)
            if freeze_gc:  # as DecisionBatcher does once its engine is built
                gc.freeze()
            try:
                yield
            finally:
                await decisions.aclose()
            return
        await run_in_threadpool(decisions.warm)  # ready to decide before the first request
        try:
            yield
        finally:
            decisions.close()

    app = _Service(
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
    # the busiest route: answered ahead of the middleware stack, and first in the routes
    app.fast_lane = (f"{API_PREFIX}/filings", submit_filing_endpoint())
    app.router.routes.append(submit_filing_route(f"{API_PREFIX}/filings"))
    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    if portal:
        install_portal(app, platform)
    return app
