"""Portal pages: log-in, language, dashboard (see :mod:`.officer` and :mod:`.analyst`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from smartcustoms.access import Principal, Role
from smartcustoms.errors import (
    AuthenticationError,
    PermissionDeniedError,
    SmartCustomsError,
    UserNotFoundError,
)
from smartcustoms.platform import SmartCustoms
from smartcustoms.portal.csrf import check_csrf
from smartcustoms.portal.i18n import LANGUAGES
from smartcustoms.portal.rendering import render
from smartcustoms.store.indicators import Indicators

__all__ = [
    "PORTAL_PREFIX",
    "current_principal",
    "install_portal",
    "page_platform",
    "page_principal",
    "router",
]

PORTAL_PREFIX = "/portal"

router = APIRouter(prefix=PORTAL_PREFIX, include_in_schema=False)


def page_platform(request: Request) -> SmartCustoms:
    """The platform the portal's app was built from."""
    platform: SmartCustoms = request.app.state.platform
    return platform


def current_principal(request: Request) -> Principal | None:
    """The logged-in user of the session (``None``: not logged in, or revoked since)."""
    user_id = request.session.get("user_id")
    if not isinstance(user_id, str):
        return None
    try:
        user = page_platform(request).access.user(user_id)
    except UserNotFoundError:
        return None
    if not user.active:
        request.session.clear()
        return None
    principal = user.principal()
    request.state.principal = principal
    return principal


def page_principal(request: Request, roles: Iterable[Role]) -> Principal:
    """The logged-in user if its role may use the page (log-in page when logged out, else 403)."""
    principal = current_principal(request)
    if principal is None:
        raise AuthenticationError("log in to see this page")
    allowed = frozenset(roles)
    if principal.role not in allowed:
        raise PermissionDeniedError(
            f"role {principal.role} may not use this page (needs "
            f"{' or '.join(sorted(r.value for r in allowed))})"
        )
    return principal


def _to_login(request: Request) -> RedirectResponse:
    return RedirectResponse(f"{PORTAL_PREFIX}/login?next={request.url.path}", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = f"{PORTAL_PREFIX}/") -> Response:
    """The log-in form."""
    return render(request, "login.html", {"next": _safe_next(next), "error": None})


def _safe_next(target: str) -> str:
    """Only redirect within the portal (no open redirect)."""
    return (
        target
        if target.startswith(f"{PORTAL_PREFIX}/") and "//" not in target
        else f"{PORTAL_PREFIX}/"
    )


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    user_id: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=256)] = f"{PORTAL_PREFIX}/",
) -> Response:
    """Check the password; start a session in the user's language."""
    check_csrf(request.session, csrf_token)
    platform = page_platform(request)
    try:
        principal = platform.access.authenticate_password(user_id, password)
    except AuthenticationError:
        platform.store.record_audit(
            actor=user_id, action="portal.login_failed", subject_type="user", subject_id=user_id
        )
        return render(
            request,
            "login.html",
            {"next": _safe_next(next), "error": "unknown user or wrong password"},
            status_code=401,
        )
    keep_lang = request.session.get("lang")
    request.session.clear()  # a fresh session (and CSRF token) at log-in: no fixation
    request.session["user_id"] = principal.user_id
    request.session["lang"] = principal.language or keep_lang or "en"
    platform.store.record_audit(
        actor=principal.user_id, action="portal.login", subject_type="user", subject_id=user_id
    )
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request, csrf_token: Annotated[str, Form(max_length=128)] = "") -> Response:
    """End the session."""
    check_csrf(request.session, csrf_token)
    request.session.clear()
    return RedirectResponse(f"{PORTAL_PREFIX}/login", status_code=303)


@router.post("/language")
def language(
    request: Request,
    lang: Annotated[str, Form(max_length=8)],
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    back: Annotated[str, Form(max_length=256)] = f"{PORTAL_PREFIX}/",
) -> Response:
    """Switch language; a logged-in user keeps the choice for next time."""
    check_csrf(request.session, csrf_token)
    if lang in LANGUAGES:
        request.session["lang"] = lang
        principal = current_principal(request)
        if principal is not None:
            page_platform(request).access.set_language(principal.user_id, lang)
    return RedirectResponse(_safe_next(back), status_code=303)


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request) -> Response:
    """Today's volume, lanes, hit rate, revenue and release times (an officer: its offices).

    The release-time tiles come from the Time Release Study of the consignments released
    today (:func:`smartcustoms.portal.trs.release_tiles`).
    """
    principal = current_principal(request)
    if principal is None:
        return _to_login(request)
    from smartcustoms.portal.trs import release_tiles

    offices = principal.offices if principal.role is Role.OFFICER else None
    today = datetime.now(UTC).date()
    platform = page_platform(request)
    figures = Indicators(platform.store).day(today, offices=offices)
    releases = release_tiles(platform, today, offices=offices)
    return render(
        request,
        "dashboard.html",
        {"figures": figures, "releases": releases, "offices": offices},
    )


def _html_error(request: Request, error: SmartCustomsError | None, status: int) -> Response:
    """The portal's error page (the API answers problem details instead)."""
    if status == 401:
        return _to_login(request)
    context: dict[str, Any] = {
        "status": status,
        "code": error.code if error is not None else "internal.error",
        "message": str(error) if error is not None else "",
        "problems": [p.as_dict() for p in error.problems] if error is not None else [],
    }
    return render(request, "error.html", context, status_code=status)


def install_portal(app: FastAPI, platform: SmartCustoms) -> None:
    """Mount the portal on ``app``: sessions, static files, pages, HTML error pages."""
    from importlib import resources

    settings = platform.settings
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie="smartcustoms_session",
        max_age=12 * 60 * 60,
        same_site="lax",
        https_only=settings.environment == "production",
    )
    app.mount(
        f"{PORTAL_PREFIX}/static",
        StaticFiles(directory=str(resources.files("smartcustoms.portal") / "static")),
        name="portal-static",
    )
    from smartcustoms.portal import analyst, ledger, officer, trs

    app.include_router(router)
    app.include_router(officer.router)
    app.include_router(analyst.router)
    app.include_router(ledger.router)
    app.include_router(trs.router)
    app.state.html_error = _html_error

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse(f"{PORTAL_PREFIX}/", status_code=307)
