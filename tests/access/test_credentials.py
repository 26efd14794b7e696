"""API keys and password hashes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from smartcustoms.access import (
    hash_password,
    hash_secret,
    new_api_key,
    parse_api_key,
    verify_password,
)


def test_a_new_key_parses_back_and_only_its_hash_is_kept() -> None:
    key = new_api_key()
    assert key.token.startswith("sck_")
    key_id, secret = parse_api_key(key.token) or ("", "")
    assert key_id == key.key_id
    assert hash_secret(secret) == key.key_hash
    assert secret not in key.key_hash
    assert new_api_key().token != key.token


@given(st.text(max_size=80))
def test_malformed_tokens_are_refused_not_crashed(token: str) -> None:
    parsed = parse_api_key(token)
    if parsed is not None:
        key_id, secret = parsed
        assert len(key_id) == 16 and secret


@settings(max_examples=5, deadline=None)
@given(st.text(min_size=1, max_size=30), st.text(min_size=1, max_size=30))
def test_passwords_verify_only_themselves(password: str, other: str) -> None:
    stored = hash_password(password)
    assert verify_password(password, stored)
    assert verify_password(other, stored) == (other == password)


def test_the_password_itself_is_not_stored() -> None:
    stored = hash_password("correct horse battery staple")
    assert stored.startswith("scrypt$16384$8$1$") and "horse" not in stored
    assert hash_password("correct horse battery staple") != stored  # salted


def test_corrupt_stored_hashes_never_verify() -> None:
    assert not verify_password("x", None)
    assert not verify_password("x", "")
    assert not verify_password("x", "bcrypt$1$2$3$4$5")
    assert not verify_password("x", "scrypt$notanumber$8$1$AA==$AA==")
