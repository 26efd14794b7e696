"""Templates with per-request translations, and the portal's HTML error page."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from importlib import resources
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from smartcustoms.portal.csrf import csrf_token
from smartcustoms.portal.i18n import DEFAULT_LANGUAGE, LANGUAGE_NAMES, LANGUAGES, translations
from smartcustoms.portal.vocabulary import N_

__all__ = ["NAV_PAGES", "environment", "language_of", "render"]

NAV_PAGES: list[tuple[str, str, tuple[str, ...]]] = [
    ("/portal/", N_("Dashboard"), ("filer", "officer", "analyst", "admin", "partner")),
]
"""Main navigation: (path, label, roles that see the link); page modules append theirs."""


def _money(value: Any) -> str:
    if value is None:
        return "-"
    return f"{Decimal(str(value)):,.2f}"


def _when(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return "-" if value is None else str(value)


def environment() -> Environment:
    """The portal's Jinja2 environment (autoescaping on, i18n extension loaded)."""
    env = Environment(
        loader=FileSystemLoader(str(resources.files("smartcustoms.portal") / "templates")),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_null_translations(newstyle=False)  # type: ignore[attr-defined]
    env.filters["money"] = _money
    env.filters["when"] = _when
    return env


_ENV = environment()


def language_of(request: Request) -> str:
    """The request's language: the user's choice, kept in the session."""
    lang = request.session.get("lang", DEFAULT_LANGUAGE)
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def render(
    request: Request, template: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    """Render ``template`` in the request's language."""
    lang = language_of(request)
    tr = translations(lang)
    page = _ENV.get_template(template).render(
        request=request,
        lang=lang,
        languages=LANGUAGE_NAMES,
        csrf_token=csrf_token(request.session),
        principal=getattr(request.state, "principal", None),
        nav_pages=NAV_PAGES,
        _=tr.gettext,
        gettext=tr.gettext,
        ngettext=tr.ngettext,
        **context,
    )
    return HTMLResponse(page, status_code=status_code)
