"""Authentication and role checks for the API routes (FastAPI dependencies).

A request authenticates with an API key, ``Authorization: Bearer sck_...`` (or the
``X-API-Key`` header). Routes declare the roles they admit with :func:`require`; the
principal's filer id and offices then scope what the route may read (see
:class:`smartcustoms.access.Principal`).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import unquote_plus

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from smartcustoms.access import Principal, Role
from smartcustoms.errors import (
    AuthenticationError,
    InvalidInputError,
    PermissionDeniedError,
    Problem,
)
from smartcustoms.platform import SmartCustoms

__all__ = [
    "API_KEY_HEADER",
    "BEARER",
    "CurrentPrincipal",
    "PlatformDep",
    "RoleGate",
    "get_platform",
    "get_principal",
    "refuse_nul",
    "require",
]

BEARER = HTTPBearer(auto_error=False, description="An API key: `Bearer sck_...`.")
"""The ``Authorization: Bearer`` scheme (a dependency; ``None`` when absent)."""
API_KEY_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key.")
"""The ``X-API-Key`` header scheme (a dependency; ``None`` when absent)."""


async def refuse_nul(request: Request) -> None:
    """Refuse NUL characters anywhere in a request (no database can store them in text).

    Checked once for every route: the path, the query string and JSON bodies up to
    ``max_filing_bytes`` (where a NUL arrives as an escape sequence; larger or streamed
    bodies are checked by their route as they are read). Raises ``input.invalid`` with a
    ``request.nul`` problem.
    """
    where = []
    if "\x00" in request.url.path:
        where.append("path")
    if "\x00" in unquote_plus(request.url.query) or "%00" in request.url.query:
        where.append("query")
    declared = request.headers.get("content-length", "")
    small = (
        declared.isdigit() and int(declared) <= request.app.state.platform.settings.max_filing_bytes
    )
    if small and request.headers.get("content-type", "").startswith("application/json"):
        body = await request.body()
        if b"\\u0000" in body or b"\x00" in body:
            where.append("body")
    if where:
        raise InvalidInputError(
            "the request holds a NUL character",
            tuple(
                Problem("request.nul", part, "NUL characters are not allowed in text")
                for part in where
            ),
        )


async def get_platform(request: Request) -> SmartCustoms:
    """The platform the app was built from."""
    platform: SmartCustoms = request.app.state.platform
    return platform


PlatformDep = Annotated[SmartCustoms, Depends(get_platform)]


async def get_principal(
    request: Request,
    platform: PlatformDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
    api_key: Annotated[str | None, Depends(API_KEY_HEADER)],
) -> Principal:
    """The authenticated principal of the request (raises ``auth.unauthenticated``).

    A key checked in the last ``api_key_cache_seconds`` is trusted without a store read;
    the others are checked on a worker thread, off the event loop.
    """
    token = bearer.credentials if bearer is not None else api_key
    if not token:
        raise AuthenticationError("this route needs an API key (Authorization: Bearer sck_...)")
    access = platform.access
    principal = access.trusted_key(token)
    if principal is None:
        principal = await run_in_threadpool(access.authenticate_key, token)
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


class RoleGate:
    """A dependency admitting only some roles (``auth.forbidden`` for the others).

    Routes take it through :func:`require`; the admitted roles stay readable on the gate
    (``roles``), so the authorization matrix can be listed and tested from the app itself.
    """

    def __init__(self, roles: frozenset[Role]) -> None:
        self.roles = roles

    async def __call__(self, principal: CurrentPrincipal) -> Principal:
        """Return the principal if its role is admitted."""
        if principal.role not in self.roles:
            raise PermissionDeniedError(
                f"role {principal.role} may not use this route (needs "
                f"{' or '.join(sorted(r.value for r in self.roles))})"
            )
        return principal


def require(*roles: Role) -> RoleGate:
    """A dependency admitting only ``roles``: ``Annotated[Principal, Depends(require(...))]``."""
    return RoleGate(frozenset(roles))
