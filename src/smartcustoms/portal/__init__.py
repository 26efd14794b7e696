"""The officer portal: server-rendered pages (Jinja2), in English, French and Spanish.

Mounted by the service under ``/portal``; pages call the same platform services as the API.
Log-in with a password gives a signed session cookie (``HttpOnly``, ``SameSite=Lax``,
``Secure`` in production) and every form carries a CSRF token. No JavaScript toolchain is
needed: the pages are plain HTML forms with a little CSS.
"""

from __future__ import annotations

from smartcustoms.portal.pages import install_portal

__all__ = ["install_portal"]
