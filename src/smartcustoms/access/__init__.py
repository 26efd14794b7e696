"""Who may do what: roles, principals, API keys and passwords.

The service (:mod:`smartcustoms.api`) authenticates every request to a :class:`Principal`
and asks this package what the principal may see: filers only their own filings (tenant
isolation), officers only their offices. Secrets are never stored: API keys keep the
SHA-256 of their random secret part, passwords an scrypt hash. Persistence lives in
:mod:`smartcustoms.store.access`; this package is pure and imports no framework.
"""

from __future__ import annotations

from smartcustoms.access.credentials import (
    API_KEY_PREFIX,
    ApiKey,
    hash_password,
    hash_secret,
    new_api_key,
    parse_api_key,
    verify_password,
)
from smartcustoms.access.principals import ROLES, Principal, Role

__all__ = [
    "API_KEY_PREFIX",
    "ROLES",
    "ApiKey",
    "Principal",
    "Role",
    "hash_password",
    "hash_secret",
    "new_api_key",
    "parse_api_key",
    "verify_password",
]
