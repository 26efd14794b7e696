"""Users and API keys in the store.

:class:`AccessRecords` is the repository behind ``smartcustoms users`` and the service's
authentication. It stores no secret: API keys keep the SHA-256 of their secret part and
passwords an scrypt hash (see :mod:`smartcustoms.access`).
"""

from __future__ import annotations

import hmac
import json
import re
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import insert, select, update

from smartcustoms.access import (
    ApiKey,
    Principal,
    Role,
    hash_password,
    hash_secret,
    new_api_key,
    parse_api_key,
    verify_password,
)
from smartcustoms.errors import (
    AuthenticationError,
    InvalidUserError,
    Problem,
    UserConflictError,
    UserNotFoundError,
)
from smartcustoms.store import tables as t
from smartcustoms.store.database import Store

__all__ = ["LANGUAGES", "AccessRecords", "UserRecord"]

LANGUAGES: Final = ("en", "fr", "es")
"""Portal languages."""

_DUMMY_HASH: Final = hash_password("not a password", salt=b"0" * 16)
_USER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A user on file (never with its password hash).

    Attributes:
        user_id: Log-in name and audit-log actor.
        display_name: Name shown in the portal.
        role: Its role.
        filer_id: The filer id a filer's filings carry (filers only).
        offices: Offices an officer works (officers only).
        language: Portal language.
        has_password: Whether it may log in to the portal.
        created_at: When it was added.
        revoked_at: When it was revoked (``None``: active).
    """

    user_id: str
    display_name: str
    role: Role
    filer_id: str | None
    offices: tuple[str, ...]
    language: str
    has_password: bool
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        """Whether the user may still authenticate."""
        return self.revoked_at is None

    def principal(self) -> Principal:
        """The principal of a request made by this user."""
        return Principal(
            user_id=self.user_id,
            role=self.role,
            filer_id=self.filer_id,
            offices=frozenset(self.offices),
            language=self.language,
            display_name=self.display_name,
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "user_id": self.user_id,
            "display_name": self.display_name,
            "role": str(self.role),
            "filer_id": self.filer_id,
            "offices": list(self.offices),
            "language": self.language,
            "has_password": self.has_password,
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


def _user(row: Any) -> UserRecord:
    return UserRecord(
        user_id=row.user_id,
        display_name=row.display_name,
        role=Role(row.role),
        filer_id=row.filer_id,
        offices=tuple(json.loads(row.offices or "[]")),
        language=row.language,
        has_password=bool(row.password_hash),
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


class AccessRecords:
    """Users and API keys of one store.

    Args:
        store: The platform's store.
        key_cache_seconds: How long an API key checked against the store is trusted without
            checking again (0: never). Revoking a key or a user through this object forgets
            every trusted key at once; a revocation made by another process takes effect
            here within this time.
    """

    _CACHE_LIMIT = 10_000

    def __init__(self, store: Store, *, key_cache_seconds: float = 0.0) -> None:
        self.store = store
        self.key_cache_seconds = key_cache_seconds
        self._trusted: dict[str, tuple[float, Principal]] = {}
        self._checking: dict[str, threading.Lock] = {}
        self._checking_lock = threading.Lock()

    # ---------------------------------------------------------------- users

    def add_user(
        self,
        user_id: str,
        role: Role | str,
        *,
        display_name: str | None = None,
        filer_id: str | None = None,
        offices: tuple[str, ...] | list[str] = (),
        language: str = "en",
        password: str | None = None,
        actor: str = "cli",
    ) -> UserRecord:
        """Add a user; every problem with the request is reported at once.

        Raises:
            InvalidUserError: Bad id, unknown role or language, a filer without a filer id,
                an officer without an office, or a password shorter than 12 characters.
            UserConflictError: The id is taken.
        """
        problems: list[Problem] = []
        if not _USER_ID.match(user_id):
            problems.append(
                Problem(
                    "user.id",
                    "user_id",
                    "user ids are 1-64 letters, digits or . _ @ - and start with a letter or digit",
                )
            )
        try:
            role = Role(role)
        except ValueError:
            problems.append(
                Problem(
                    "user.role",
                    "role",
                    f"unknown role {role!r}; one of {', '.join(r.value for r in Role)}",
                )
            )
        if language not in LANGUAGES:
            problems.append(
                Problem("user.language", "language", f"language must be one of {LANGUAGES}")
            )
        if role == Role.FILER and not filer_id:
            problems.append(
                Problem("user.filer_id", "filer_id", "a filer needs the filer id of its filings")
            )
        if role != Role.FILER and filer_id:
            problems.append(Problem("user.filer_id", "filer_id", "only filers have a filer id"))
        if role == Role.OFFICER and not offices:
            problems.append(
                Problem("user.offices", "offices", "an officer needs at least one office")
            )
        if password is not None and len(password) < 12:
            problems.append(
                Problem("user.password", "password", "passwords have at least 12 characters")
            )
        if problems:
            raise InvalidUserError(f"cannot add user {user_id!r}", tuple(problems))
        now = datetime.now(UTC)
        with self.store.engine.begin() as conn:
            taken = conn.execute(
                select(t.users.c.user_id).where(t.users.c.user_id == user_id)
            ).first()
            if taken is not None:
                raise UserConflictError(f"user {user_id!r} already exists")
            conn.execute(
                insert(t.users).values(
                    user_id=user_id,
                    display_name=display_name or user_id,
                    role=str(role),
                    filer_id=filer_id,
                    offices=json.dumps(sorted(set(offices))),
                    language=language,
                    password_hash=hash_password(password) if password else None,
                    created_at=now,
                )
            )
        self.store.record_audit(
            actor=actor,
            action="user.add",
            subject_type="user",
            subject_id=user_id,
            details={"role": str(role), "filer_id": filer_id, "offices": sorted(set(offices))},
        )
        return self.user(user_id)

    def user(self, user_id: str) -> UserRecord:
        """One user (raises :class:`UserNotFoundError`)."""
        with self.store.engine.connect() as conn:
            row = conn.execute(select(t.users).where(t.users.c.user_id == user_id)).first()
        if row is None:
            raise UserNotFoundError(f"no user {user_id!r}")
        return _user(row)

    def users(self, *, include_revoked: bool = False) -> list[UserRecord]:
        """Every user, by id."""
        query = select(t.users).order_by(t.users.c.user_id)
        if not include_revoked:
            query = query.where(t.users.c.revoked_at.is_(None))
        with self.store.engine.connect() as conn:
            return [_user(r) for r in conn.execute(query)]

    def set_password(self, user_id: str, password: str, *, actor: str = "cli") -> None:
        """Set a user's portal password (at least 12 characters)."""
        if len(password) < 12:
            raise InvalidUserError(
                "password too short",
                (Problem("user.password", "password", "passwords have at least 12 characters"),),
            )
        self.user(user_id)
        with self.store.engine.begin() as conn:
            conn.execute(
                update(t.users)
                .where(t.users.c.user_id == user_id)
                .values(password_hash=hash_password(password))
            )
        self.store.record_audit(
            actor=actor, action="user.password", subject_type="user", subject_id=user_id
        )

    def set_language(self, user_id: str, language: str) -> None:
        """Set a user's portal language."""
        if language not in LANGUAGES:
            raise InvalidUserError(
                f"unknown language {language!r}",
                (Problem("user.language", "language", f"language must be one of {LANGUAGES}"),),
            )
        with self.store.engine.begin() as conn:
            conn.execute(
                update(t.users).where(t.users.c.user_id == user_id).values(language=language)
            )

    def revoke_user(self, user_id: str, *, actor: str = "cli") -> UserRecord:
        """Revoke a user and every one of its API keys (kept on file, unusable)."""
        self.user(user_id)
        now = datetime.now(UTC)
        with self.store.engine.begin() as conn:
            conn.execute(
                update(t.users)
                .where(t.users.c.user_id == user_id, t.users.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            conn.execute(
                update(t.api_keys)
                .where(t.api_keys.c.user_id == user_id, t.api_keys.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
        self._trusted.clear()
        self.store.record_audit(
            actor=actor, action="user.revoke", subject_type="user", subject_id=user_id
        )
        return self.user(user_id)

    # ---------------------------------------------------------------- API keys

    def issue_key(self, user_id: str, *, label: str | None = None, actor: str = "cli") -> ApiKey:
        """Issue an API key for an active user; the token is returned once, never stored."""
        user = self.user(user_id)
        if not user.active:
            raise InvalidUserError(f"user {user_id!r} is revoked")
        key = new_api_key()
        with self.store.engine.begin() as conn:
            conn.execute(
                insert(t.api_keys).values(
                    key_id=key.key_id,
                    user_id=user_id,
                    key_hash=key.key_hash,
                    label=label,
                    created_at=datetime.now(UTC),
                )
            )
        self.store.record_audit(
            actor=actor,
            action="api_key.issue",
            subject_type="user",
            subject_id=user_id,
            details={"key_id": key.key_id, "label": label},
        )
        return key

    def revoke_key(self, key_id: str, *, actor: str = "cli") -> None:
        """Revoke one API key."""
        with self.store.engine.begin() as conn:
            done = conn.execute(
                update(t.api_keys)
                .where(t.api_keys.c.key_id == key_id, t.api_keys.c.revoked_at.is_(None))
                .values(revoked_at=datetime.now(UTC))
            ).rowcount
        self._trusted.clear()
        if not done:
            raise UserNotFoundError(f"no active API key {key_id!r}")
        self.store.record_audit(
            actor=actor, action="api_key.revoke", subject_type="api_key", subject_id=key_id
        )

    def keys(self, user_id: str) -> list[dict[str, Any]]:
        """The API keys of a user (ids, labels, dates; never a secret)."""
        with self.store.engine.connect() as conn:
            rows = conn.execute(
                select(
                    t.api_keys.c.key_id,
                    t.api_keys.c.label,
                    t.api_keys.c.created_at,
                    t.api_keys.c.revoked_at,
                    t.api_keys.c.last_used_at,
                )
                .where(t.api_keys.c.user_id == user_id)
                .order_by(t.api_keys.c.created_at)
            ).mappings()
            return [dict(r) for r in rows]

    # ---------------------------------------------------------------- authentication

    def trusted_key(self, token: str) -> Principal | None:
        """The principal of an API key checked within ``key_cache_seconds`` (no store access).

        ``None`` when the key must be checked (:meth:`authenticate_key`).
        """
        if not self.key_cache_seconds:
            return None
        entry = self._trusted.get(hash_secret(token))
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def authenticate_key(self, token: str) -> Principal:
        """The principal of an API key (checked against the store; see :meth:`trusted_key`).

        With a key cache, concurrent checks of one key are made once: the callers that
        arrive while the key is being checked wait for that check and share its answer
        (a busy filer's key expiring does not send a burst of look-ups to the store).

        Raises:
            AuthenticationError: Malformed, unknown or revoked key, or revoked user (one
                message for all, so a caller learns nothing about which keys exist).
        """
        if not self.key_cache_seconds:
            return self._check_key(token)
        hashed = hash_secret(token)
        with self._checking_lock:
            lock = self._checking.setdefault(hashed, threading.Lock())
        try:
            with lock:
                found = self.trusted_key(token)
                return found if found is not None else self._check_key(token)
        finally:
            with self._checking_lock:
                if not lock.locked():
                    self._checking.pop(hashed, None)

    def _check_key(self, token: str) -> Principal:
        parsed = parse_api_key(token)
        refused = AuthenticationError("invalid or revoked API key")
        if parsed is None:
            raise refused
        key_id, secret = parsed
        with self.store.engine.connect() as conn:
            row = conn.execute(
                select(
                    t.api_keys.c.key_hash,
                    t.api_keys.c.revoked_at.label("key_revoked_at"),
                    t.users,
                )
                .join(t.users, t.users.c.user_id == t.api_keys.c.user_id)
                .where(t.api_keys.c.key_id == key_id)
            ).first()
        if row is None or not hmac.compare_digest(row.key_hash, hash_secret(secret)):
            raise refused
        if row.key_revoked_at is not None or row.revoked_at is not None:
            raise refused
        principal = _user(row).principal()
        if self.key_cache_seconds:
            if len(self._trusted) >= self._CACHE_LIMIT:
                self._trusted.clear()
            expires = time.monotonic() + self.key_cache_seconds
            self._trusted[hash_secret(token)] = (expires, principal)
        return principal

    def authenticate_password(self, user_id: str, password: str) -> Principal:
        """The principal of a portal log-in (raises :class:`AuthenticationError`)."""
        with self.store.engine.connect() as conn:
            row = conn.execute(select(t.users).where(t.users.c.user_id == user_id)).first()
        # an unknown user costs the same scrypt as a known one: timing does not tell them apart
        stored = row.password_hash if row is not None else None
        matches = verify_password(password, stored or _DUMMY_HASH)
        if not matches or row is None or not stored or row.revoked_at is not None:
            raise AuthenticationError("unknown user or wrong password")
        return _user(row).principal()
