"""Errors as RFC 9457 problem details, one shape everywhere.

Every error response of the service is ``application/problem+json``::

    {"type": "/problems/filing.invalid", "title": "Invalid filing", "status": 422,
     "detail": "...", "instance": "/api/v1/filings", "code": "filing.invalid",
     "problems": [{"code": "hs.unknown", "path": "...", "message": "...", ...}]}

``code`` is the stable code of :mod:`smartcustoms.errors`; ``type`` resolves to a page of
the service describing it (``GET /problems/{code}``); ``problems`` lists every problem found
in the input, never just the first.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from smartcustoms import errors as e

__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "ProblemResponse",
    "error_classes",
    "install_problem_handlers",
    "problem_body",
    "status_of",
]

PROBLEM_MEDIA_TYPE: Final = "application/problem+json"

_LOG = logging.getLogger("smartcustoms.api")

# Most specific first: the first class an error is an instance of gives its status.
_STATUS: Final[tuple[tuple[type[e.SmartCustomsError], int], ...]] = (
    (e.WitnessRequestError, 400),
    (e.AuthenticationError, 401),
    (e.PermissionDeniedError, 403),
    (e.NotFoundError, 404),
    (e.ConflictError, 409),
    (e.NotFittedError, 409),
    (e.ModelSchemaMismatchError, 409),
    (e.InvalidInputError, 422),
    (e.TooLargeError, 413),
    (e.StoreError, 503),
    (e.PartnerLedgerError, 502),
    (e.ConfigurationError, 500),
)

# Codes of the errors raised by the HTTP layer itself (not domain errors).
_HTTP_CODES: Final = {
    400: ("request.bad", "Bad request"),
    401: ("auth.unauthenticated", "Authentication required"),
    403: ("auth.forbidden", "Permission denied"),
    404: ("not_found", "Not found"),
    405: ("request.method", "Method not allowed"),
    406: ("request.not_acceptable", "Not acceptable"),
    413: ("request.too_large", "Request too large"),
    415: ("request.media_type", "Unsupported media type"),
    422: ("request.invalid", "Invalid request"),
    429: ("request.rate_limited", "Too many requests"),
}


class ProblemResponse(JSONResponse):
    """A JSON response with the problem-details media type."""

    media_type = PROBLEM_MEDIA_TYPE


def status_of(error: e.SmartCustomsError) -> int:
    """The HTTP status of a domain error."""
    for cls, status in _STATUS:
        if isinstance(error, cls):
            return status
    return 400


def error_classes() -> Iterator[type[e.SmartCustomsError]]:
    """Every error class of the tree, base first."""
    seen: set[type[e.SmartCustomsError]] = set()
    stack: list[type[e.SmartCustomsError]] = [e.SmartCustomsError]
    while stack:
        cls = stack.pop(0)
        if cls in seen:
            continue
        seen.add(cls)
        yield cls
        stack.extend(cls.__subclasses__())


def problem_body(
    *,
    code: str,
    title: str,
    status: int,
    detail: str,
    instance: str,
    problems: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The problem-details object (RFC 9457 members plus ``code`` and ``problems``)."""
    return {
        "type": f"/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        "code": code,
        "problems": problems or [],
    }


def _portal_page(
    request: Request, error: e.SmartCustomsError | None, status: int
) -> Response | None:
    """The portal's HTML error page for its own paths (``None``: answer problem details)."""
    render = getattr(request.app.state, "html_error", None)
    if render is None or not request.url.path.startswith("/portal"):
        return None
    page: Response = render(request, error, status)
    return page


def _domain(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, e.SmartCustomsError)
    status = status_of(exc)
    page = _portal_page(request, exc, status)
    if page is not None:
        return page
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if status >= 500:
        _LOG.error("server-side error on %s: %s", request.url.path, exc)
    body = problem_body(
        code=exc.code,
        title=exc.title,
        status=status,
        detail=str(exc),
        instance=request.url.path,
        problems=[p.as_dict() for p in exc.problems],
    )
    if isinstance(exc, e.WitnessConflictError):
        # C2SP tlog-witness: a 409 tells the log the witness's latest size for it.
        body["latest_size"] = exc.latest_size
    return ProblemResponse(body, status_code=status, headers=headers)


def _validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {
            "code": f"request.{err.get('type', 'invalid')}",
            "path": ".".join(str(p) for p in err.get("loc", ())),
            "message": str(err.get("msg", "")),
            "severity": "error",
        }
        for err in exc.errors()
    ]
    page = _portal_page(
        request,
        e.InvalidInputError(
            "the form has problems", tuple(e.Problem.from_dict(p) for p in problems)
        ),
        422,
    )
    if page is not None:
        return page
    return ProblemResponse(
        problem_body(
            code="request.invalid",
            title="Invalid request",
            status=422,
            detail=f"the request has {len(problems)} problem(s); every one is listed",
            instance=request.url.path,
            problems=problems,
        ),
        status_code=422,
    )


def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code, title = _HTTP_CODES.get(exc.status_code, (f"http.{exc.status_code}", "HTTP error"))
    page = _portal_page(
        request, e.NotFoundError(title) if exc.status_code == 404 else None, exc.status_code
    )
    if page is not None:
        return page
    detail = exc.detail if isinstance(exc.detail, str) else title
    return ProblemResponse(
        problem_body(
            code=code, title=title, status=exc.status_code, detail=detail, instance=request.url.path
        ),
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


def _unexpected(request: Request, exc: Exception) -> Response:
    _LOG.exception("unexpected error on %s", request.url.path, exc_info=exc)
    page = _portal_page(request, None, 500)
    if page is not None:
        return page
    return ProblemResponse(
        problem_body(
            code="internal.error",
            title="Internal error",
            status=500,
            detail="the server failed to handle this request; it has been logged",
            instance=request.url.path,
        ),
        status_code=500,
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Render every error of ``app`` as problem details."""
    app.add_exception_handler(e.SmartCustomsError, _domain)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
