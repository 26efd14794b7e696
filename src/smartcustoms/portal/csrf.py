"""CSRF protection for the portal's forms (synchronizer token in the signed session).

Each session holds a random token; every form carries it in a hidden ``csrf_token`` field
and every state-changing request must send it back. Session cookies are also
``SameSite=Lax`` and ``HttpOnly``, and ``Secure`` in production.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from smartcustoms.errors import PermissionDeniedError

__all__ = ["check_csrf", "csrf_token"]

_KEY = "csrf"


def csrf_token(session: dict[str, Any]) -> str:
    """The session's token (created on first use)."""
    token = session.get(_KEY)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[_KEY] = token
    return token


def check_csrf(session: dict[str, Any], sent: str | None) -> None:
    """Raise ``auth.forbidden`` unless ``sent`` is the session's token."""
    expected = session.get(_KEY)
    if not isinstance(expected, str) or not sent or not hmac.compare_digest(expected, sent):
        raise PermissionDeniedError(
            "the form's security token is missing or stale; reload the page"
        )
