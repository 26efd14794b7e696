"""Users and API keys in the store (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from smartcustoms.access import Role
from smartcustoms.errors import (
    AuthenticationError,
    InvalidUserError,
    UserConflictError,
    UserNotFoundError,
)
from smartcustoms.platform import SmartCustoms
from smartcustoms.store import tables as t


def test_keys_authenticate_until_revoked(platform: SmartCustoms) -> None:
    access = platform.access
    access.add_user("shop", Role.FILER, filer_id="F1")
    key = access.issue_key("shop", label="ci")
    principal = access.authenticate_key(key.token)
    assert (principal.user_id, principal.role, principal.filer_id) == ("shop", Role.FILER, "F1")
    with platform.store.engine.connect() as conn:
        stored = conn.execute(select(t.api_keys.c.key_hash)).scalar_one()
    assert stored == key.key_hash and key.token.split("_")[-1] not in stored
    access.revoke_key(key.key_id)
    with pytest.raises(AuthenticationError):
        access.authenticate_key(key.token)


def test_revoking_a_user_revokes_its_keys(platform: SmartCustoms) -> None:
    access = platform.access
    access.add_user("ana", Role.OFFICER, offices=["FR000730"], password="correct horse battery")
    key = access.issue_key("ana")
    assert access.authenticate_password("ana", "correct horse battery").offices == {"FR000730"}
    access.revoke_user("ana")
    with pytest.raises(AuthenticationError):
        access.authenticate_key(key.token)
    with pytest.raises(AuthenticationError):
        access.authenticate_password("ana", "correct horse battery")
    assert [u.user_id for u in access.users()] == []
    assert [u.user_id for u in access.users(include_revoked=True)] == ["ana"]
    actions = [e["action"] for e in platform.store.audit_entries()]
    assert {"user.add", "api_key.issue", "user.revoke"} <= set(actions)


def test_wrong_or_forged_keys_are_refused_alike(platform: SmartCustoms) -> None:
    access = platform.access
    access.add_user("shop", Role.FILER, filer_id="F1")
    key = access.issue_key("shop")
    forged = key.token[:-4] + ("AAAA" if not key.token.endswith("AAAA") else "BBBB")
    for token in (forged, "sck_0000000000000000_x", "nonsense", ""):
        with pytest.raises(AuthenticationError, match="invalid or revoked API key"):
            access.authenticate_key(token)


def test_every_problem_of_a_bad_user_is_reported_at_once(platform: SmartCustoms) -> None:
    with pytest.raises(InvalidUserError) as info:
        platform.access.add_user(" bad id", "clerk", language="de", password="short", filer_id="F9")
    codes = {p.code for p in info.value.problems}
    assert codes == {"user.id", "user.role", "user.language", "user.password", "user.filer_id"}
    with pytest.raises(InvalidUserError) as info:
        platform.access.add_user("ana", Role.OFFICER)
    assert [p.code for p in info.value.problems] == ["user.offices"]
    with pytest.raises(InvalidUserError) as info:
        platform.access.add_user("shop", Role.FILER)
    assert [p.code for p in info.value.problems] == ["user.filer_id"]


def test_user_ids_are_unique_and_lookups_say_not_found(platform: SmartCustoms) -> None:
    platform.access.add_user("boss", Role.ADMIN)
    with pytest.raises(UserConflictError):
        platform.access.add_user("boss", Role.ANALYST)
    with pytest.raises(UserNotFoundError):
        platform.access.user("nobody")
    with pytest.raises(UserNotFoundError):
        platform.access.revoke_key("0000000000000000")


def test_checked_keys_are_trusted_for_a_while_and_forgotten_on_revocation(
    platform: SmartCustoms, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smartcustoms.store import access as access_module
    from smartcustoms.store.access import AccessRecords

    access = AccessRecords(platform.store, key_cache_seconds=5)
    access.add_user("shop", Role.FILER, filer_id="F1")
    access.add_user("ana", Role.OFFICER, offices=["FR000730"])
    shop, ana = access.issue_key("shop"), access.issue_key("ana")
    assert access.trusted_key(shop.token) is None  # never checked yet
    assert access.authenticate_key(shop.token).user_id == "shop"
    assert access.authenticate_key(ana.token).user_id == "ana"
    trusted = access.trusted_key(shop.token)
    assert trusted is not None and trusted.filer_id == "F1"
    assert access.trusted_key(shop.token + "x") is None  # a different secret is not trusted
    # Revoked by another process: still trusted here until the time runs out.
    AccessRecords(platform.store).revoke_key(shop.key_id)
    assert access.trusted_key(shop.token) is not None
    now = access_module.time.monotonic()
    monkeypatch.setattr(access_module.time, "monotonic", lambda: now + 6)
    assert access.trusted_key(shop.token) is None
    with pytest.raises(AuthenticationError):
        access.authenticate_key(shop.token)
    monkeypatch.undo()
    # Revoked through this object: forgotten at once.
    assert access.authenticate_key(ana.token).user_id == "ana"
    access.revoke_user("ana")
    assert access.trusted_key(ana.token) is None
    # Without a cache nothing is ever trusted.
    plain = AccessRecords(platform.store)
    plain.add_user("desk", Role.ANALYST)
    desk = plain.issue_key("desk")
    plain.authenticate_key(desk.token)
    assert plain.trusted_key(desk.token) is None


def test_concurrent_checks_of_one_key_read_the_store_once(
    platform: SmartCustoms, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When a busy key's trust runs out, the callers meanwhile share one check."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from smartcustoms.store.access import AccessRecords

    access = AccessRecords(platform.store, key_cache_seconds=5)
    access.add_user("shop", Role.FILER, filer_id="F1")
    access.add_user("ana", Role.OFFICER, offices=["FR000730"])
    shop, ana = access.issue_key("shop"), access.issue_key("ana")
    checks: list[str] = []
    release = threading.Event()
    check = access._check_key

    def slow_check(token: str) -> Any:
        checks.append(token)
        release.wait(10)  # every other caller arrives while this check runs
        return check(token)

    monkeypatch.setattr(access, "_check_key", slow_check)
    with ThreadPoolExecutor(16) as pool:
        futures = [pool.submit(access.authenticate_key, shop.token) for _ in range(12)]
        futures.append(pool.submit(access.authenticate_key, ana.token))
        time.sleep(0.5)
        release.set()
        principals = [f.result(30) for f in futures]
    assert [p.user_id for p in principals] == ["shop"] * 12 + ["ana"]
    assert sorted(checks) == sorted([shop.token, ana.token])  # one check per key
    # a bad key is refused to each caller, and never trusted
    with pytest.raises(AuthenticationError):
        access.authenticate_key(shop.token + "x")
