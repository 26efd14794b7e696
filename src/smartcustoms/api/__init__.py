"""The HTTP service: versioned REST API for filers, officers, analysts and partners.

Build it with :func:`create_app` from a :class:`~smartcustoms.platform.SmartCustoms`; the
routes call the same platform services as the CLI. Errors are RFC 9457 problem details
with the stable codes of :mod:`smartcustoms.errors`.
"""

from __future__ import annotations

from smartcustoms.api.app import API_PREFIX, ROUTERS, create_app

__all__ = ["API_PREFIX", "ROUTERS", "create_app"]
