"""Signed statements: canonical JSON leaves, salted commitments, detached signatures."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from smartcustoms.errors import (
    CommitmentMismatchError,
    InvalidSignatureError,
    InvalidStatementError,
)
from smartcustoms.ledger.keys import NoteSigner
from smartcustoms.ledger.statements import (
    SALT_BYTES,
    STATEMENT_FORMAT,
    AeoAction,
    StatementType,
    build_statement,
    canonical_json,
    check_statement,
    commit,
    open_commitment,
    parse_signed_statement,
    sign_statement,
    verify_document,
    verify_statement,
)

WHEN = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SALT = bytes(range(SALT_BYTES))
PRIVATE = {"importer": {"name": "Example Logistics NV", "eori": "BE0123456789"}, "value": "1250.00"}
KEY = NoteSigner("customs.be/statements", b"\x11" * 32)


def _grant(**overrides: Any) -> Any:
    kwargs: dict[str, Any] = {
        "issuer": "BE",
        "type": StatementType.AEO_STATUS,
        "action": AeoAction.GRANT,
        "subject": "BE0123456789",
        "effective_at": WHEN,
        "document": b"%PDF-1.7 authorisation BEAEOF0000123",
        "private_fields": PRIVATE,
        "salt": SALT,
    }
    kwargs.update(overrides)
    return build_statement(**kwargs)


def test_statement_json_is_rfc8785_canonical_and_holds_no_private_data() -> None:
    statement, salt = _grant()
    assert salt == SALT
    entry = sign_statement(statement, KEY).entry()
    assert entry == rfc8785.dumps(json.loads(entry))
    assert b" " not in entry
    assert b"Example Logistics" not in entry
    assert b"1250" not in entry
    data = json.loads(entry)
    assert list(data) == ["signature", "statement"]
    assert data["statement"] == {
        "action": "grant",
        "commitment": hashlib.sha256(SALT + rfc8785.dumps(PRIVATE)).hexdigest(),
        "document_sha256": hashlib.sha256(b"%PDF-1.7 authorisation BEAEOF0000123").hexdigest(),
        "effective_at": "2026-11-22T12:00:00Z",
        "format": STATEMENT_FORMAT,
        "issuer": "BE",
        "subject": "BE0123456789",
        "type": "aeo.status",
    }


def test_sign_parse_verify_round_trip() -> None:
    statement, _ = _grant()
    signed = sign_statement(statement, KEY)
    parsed = parse_signed_statement(signed.entry())
    assert parsed == signed
    assert verify_statement(parsed, [KEY.verifier]) == statement
    assert parse_signed_statement(signed.entry().decode()) == signed


def test_signature_is_over_the_domain_separated_canonical_statement() -> None:
    statement, _ = _grant()
    signed = sign_statement(statement, KEY)
    message = STATEMENT_FORMAT.encode() + b"\n" + statement.canonical()
    assert KEY.verifier.verify(message, signed.signature)
    assert not KEY.verifier.verify(statement.canonical(), signed.signature)


def test_untrusted_or_altered_statements_fail_verification() -> None:
    statement, _ = _grant()
    signed = sign_statement(statement, KEY)
    other = NoteSigner("customs.be/statements", b"\x12" * 32)
    with pytest.raises(InvalidSignatureError, match="untrusted"):
        verify_statement(signed, [other.verifier])
    revoked, _ = _grant(action=AeoAction.REVOKE)
    swapped = type(signed)(revoked, signed.key_name, signed.key_id, signed.signature)
    with pytest.raises(InvalidSignatureError, match="fails"):
        verify_statement(swapped, [KEY.verifier])
    tampered = signed.entry().replace(b'"grant"', b'"revoke"')
    with pytest.raises(InvalidSignatureError):
        verify_statement(parse_signed_statement(tampered), [KEY.verifier])


def test_commitment_opens_only_with_the_right_salt_and_fields() -> None:
    statement, salt = _grant(salt=None)
    assert len(salt) == SALT_BYTES and salt != SALT
    open_commitment(statement, salt, PRIVATE)
    open_commitment(statement, salt, dict(reversed(PRIVATE.items())))  # key order is irrelevant
    with pytest.raises(CommitmentMismatchError):
        open_commitment(statement, SALT, PRIVATE)
    with pytest.raises(CommitmentMismatchError):
        open_commitment(statement, salt, {**PRIVATE, "value": "1250.01"})
    with pytest.raises(InvalidStatementError, match="32 bytes"):
        open_commitment(statement, salt[:16], PRIVATE)


def test_the_document_hash_binds_the_business_document() -> None:
    statement, _ = _grant()
    verify_document(statement, b"%PDF-1.7 authorisation BEAEOF0000123")
    with pytest.raises(CommitmentMismatchError):
        verify_document(statement, b"%PDF-1.7 authorisation BEAEOF0000124")


def test_fresh_salts_hide_equal_private_fields() -> None:
    first, _ = _grant(salt=None)
    second, _ = _grant(salt=None)
    assert first.commitment != second.commitment


def test_effective_time_is_normalised_to_utc() -> None:
    brussels = WHEN.astimezone(timezone(timedelta(hours=1)))
    statement, _ = _grant(effective_at=brussels)
    assert statement.as_dict()["effective_at"] == "2026-11-22T12:00:00Z"


@pytest.mark.parametrize(
    ("kind", "action"),
    [
        (StatementType.RELEASE_DECISION, None),
        (StatementType.INSPECTION_RESULT, None),
        (StatementType.AEO_STATUS, AeoAction.SUSPEND),
        (StatementType.AEO_STATUS, AeoAction.REVOKE),
    ],
)
def test_every_statement_type_round_trips(kind: StatementType, action: AeoAction | None) -> None:
    statement, _ = _grant(type=kind, action=action, subject="26BE000000001234A1")
    assert parse_signed_statement(sign_statement(statement, KEY).entry()).statement == statement


def test_build_lists_every_problem_at_once() -> None:
    with pytest.raises(InvalidStatementError) as caught:
        _grant(
            issuer="",
            type="aeo.stauts",
            subject="has space",
            effective_at=datetime(2026, 1, 1, 12, 0),
            private_fields={"x": float("nan")},
        )
    paths = sorted(p.path for p in caught.value.problems)
    assert paths == ["$", "effective_at", "issuer", "subject", "type"]
    assert all(p.code == "ledger.statement_invalid" for p in caught.value.problems)


def test_action_rules_follow_the_type() -> None:
    with pytest.raises(InvalidStatementError, match="action"):
        _grant(action=None)
    with pytest.raises(InvalidStatementError, match=r"only aeo\.status"):
        _grant(type=StatementType.RELEASE_DECISION, action=AeoAction.GRANT)
    with pytest.raises(InvalidStatementError, match="whole seconds"):
        _grant(effective_at=WHEN.replace(microsecond=5))


def test_check_statement_reports_unknown_fields_and_bad_hashes() -> None:
    statement, _ = _grant()
    raw: dict[str, Any] = {**statement.as_dict(), "name": "leak", "commitment": "ABC"}
    raw["effective_at"] = "2026-02-30T00:00:00Z"
    problems = {p.path: p.message for p in check_statement(raw)}
    assert set(problems) == {"name", "commitment", "effective_at"}
    assert check_statement([1]) and check_statement(statement.as_dict()) == []


def _envelope(statement: dict[str, Any], signature: dict[str, Any]) -> bytes:
    return rfc8785.dumps({"statement": statement, "signature": signature})


def test_envelopes_must_be_canonical_complete_and_unique() -> None:
    statement, _ = _grant()
    signed = sign_statement(statement, KEY)
    good = json.loads(signed.entry())
    pretty = json.dumps(good, indent=1).encode()
    with pytest.raises(InvalidStatementError, match="canonical"):
        parse_signed_statement(pretty)
    duplicate = signed.entry().replace(b'{"key_id"', b'{"key_id":"00000000","key_id"', 1)
    with pytest.raises(InvalidStatementError, match="duplicate"):
        parse_signed_statement(duplicate)
    with pytest.raises(InvalidStatementError, match="statement and signature"):
        parse_signed_statement(rfc8785.dumps({"statement": good["statement"]}))
    bad_sig = {**good["signature"], "key_id": "XYZ", "value": base64.b64encode(b"x").decode()}
    with pytest.raises(InvalidStatementError) as caught:
        parse_signed_statement(_envelope({**good["statement"], "issuer": 7}, bad_sig))
    assert {p.path for p in caught.value.problems} == {
        "statement.issuer",
        "signature.key_id",
        "signature.value",
    }
    with pytest.raises(InvalidStatementError, match="not JSON"):
        parse_signed_statement(b'{"a": NaN}')
    with pytest.raises(InvalidStatementError, match="larger"):
        parse_signed_statement(b" " * 70_000)


def test_commit_is_salt_then_canonical_fields() -> None:
    assert (
        commit(SALT, {"b": 1, "a": "é"})
        == hashlib.sha256(SALT + b'{"a":"\xc3\xa9","b":1}').hexdigest()
    )
    with pytest.raises(InvalidStatementError):
        canonical_json({"a": 2**60})


@settings(max_examples=300)
@given(st.one_of(st.binary(max_size=400), st.text(max_size=400)))
def test_fuzzed_envelopes_raise_only_statement_errors(data: bytes | str) -> None:
    with contextlib.suppress(InvalidStatementError):
        parse_signed_statement(data)


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)


_FIELDS = [
    "format",
    "issuer",
    "type",
    "action",
    "subject",
    "effective_at",
    "document_sha256",
    "commitment",
]
_SIG_FIELDS = ["key_name", "key_id", "value"]


@settings(max_examples=300)
@given(
    statement=st.one_of(_json, st.dictionaries(st.sampled_from(_FIELDS), _json, max_size=8)),
    signature=st.one_of(_json, st.dictionaries(st.sampled_from(_SIG_FIELDS), _json, max_size=3)),
)
def test_fuzzed_envelope_structures_raise_only_statement_errors(
    statement: Any, signature: Any
) -> None:
    with contextlib.suppress(InvalidStatementError):
        parse_signed_statement(rfc8785.dumps({"statement": statement, "signature": signature}))


@settings(max_examples=200)
@given(field=st.sampled_from(_FIELDS), value=_json)
def test_one_bad_field_in_a_valid_statement_raises_only_statement_errors(
    field: str, value: Any
) -> None:
    data = json.loads(sign_statement(_grant()[0], KEY).entry())
    data["statement"][field] = value
    with contextlib.suppress(InvalidStatementError):
        parse_signed_statement(rfc8785.dumps(data))


@given(
    fields=st.dictionaries(st.text(max_size=8), _json, max_size=4),
    salt=st.binary(min_size=32, max_size=32),
)
def test_any_json_private_fields_open_their_commitment(fields: dict[str, Any], salt: bytes) -> None:
    statement, _ = _grant(private_fields=fields, salt=salt)
    open_commitment(statement, salt, fields)
