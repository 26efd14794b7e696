"""API keys and passwords: generated, hashed, checked in constant time.

API keys look like ``sck_<key id>_<secret>``. The key id (16 hex digits) finds the stored
row; only the SHA-256 of the 256-bit random secret is kept. A fast hash is right here, unlike
for passwords: the secret has full entropy, so there is nothing to brute-force (the same
choice as GitHub's and Stripe's tokens). Passwords (portal log-in) use scrypt from the
standard library (RFC 7914, n = 2^14, r = 8, p = 1) with a 16-byte random salt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Final

__all__ = [
    "API_KEY_PREFIX",
    "ApiKey",
    "hash_password",
    "hash_secret",
    "new_api_key",
    "parse_api_key",
    "verify_password",
]

API_KEY_PREFIX: Final = "sck"
"""First part of every API key (makes leaked keys easy to find by secret scanners)."""

_SCRYPT_N: Final = 2**14
_SCRYPT_R: Final = 8
_SCRYPT_P: Final = 1


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A freshly issued API key: ``token`` is shown once, ``key_hash`` is stored."""

    key_id: str
    token: str
    key_hash: str


def hash_secret(secret: str) -> str:
    """SHA-256 (hex) of an API key's secret part."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_api_key() -> ApiKey:
    """Issue a new random API key."""
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return ApiKey(
        key_id=key_id, token=f"{API_KEY_PREFIX}_{key_id}_{secret}", key_hash=hash_secret(secret)
    )


def parse_api_key(token: str) -> tuple[str, str] | None:
    """Split a presented token into ``(key id, secret)``; ``None`` if it is malformed."""
    prefix, _, rest = token.strip().partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != API_KEY_PREFIX or len(key_id) != 16 or not secret:
        return None
    try:
        int(key_id, 16)
    except ValueError:
        return None
    return key_id, secret


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """An scrypt hash of ``password``, as ``scrypt$n$r$p$salt$hash`` (base64 parts)."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32
    )
    b64 = base64.urlsafe_b64encode
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str | None) -> bool:
    """Whether ``password`` matches a hash from :func:`hash_password` (constant time)."""
    if not stored:
        return False
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.urlsafe_b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(),
            salt=base64.urlsafe_b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)
