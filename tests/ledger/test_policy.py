"""The MRA trust policy: signed TOML, every problem at once, checkpoint finality (k of n)."""

from __future__ import annotations

from pathlib import Path

import pytest

from smartcustoms.errors import (
    InvalidNoteError,
    InvalidPolicyError,
    InvalidSignatureError,
    QuorumNotMetError,
)
from smartcustoms.ledger.checkpoint import Checkpoint, sign_checkpoint
from smartcustoms.ledger.cosignature import CosignatureSigner, parse_cosigner_vkey
from smartcustoms.ledger.keys import NoteSigner, parse_vkey
from smartcustoms.ledger.note import NoteSignature, parse_note, sign_note
from smartcustoms.ledger.policy import (
    POLICY_FORMAT,
    PartnerLog,
    Policy,
    PolicyWitness,
    checkpoint_is_final,
    format_policy,
    load_policy,
    parse_policy,
    require_final,
    sign_policy,
)

from ._vectors import TESTLOG_ORIGIN, TESTLOG_VKEY, vectors

ORIGIN = "customs.go.jp/ledger"
LOG = NoteSigner(ORIGIN, b"\x41" * 32)
STATEMENTS = NoteSigner("customs.go.jp/statements", b"\x42" * 32)
WITNESSES = [
    CosignatureSigner(f"witness{i}.example", bytes([0x50 + i]) * 32, clock=lambda: 1_800_000_000)
    for i in range(3)
]
POLICY_KEY = NoteSigner("customs.be/policy", b"\x43" * 32)


def _policy(quorum: int = 2, witnesses: list[CosignatureSigner] = WITNESSES) -> Policy:
    return Policy(
        id="be-mra-ledger-policy",
        version="2026-11-22",
        administration="BE",
        quorum=quorum,
        logs=(PartnerLog("JP", ORIGIN, (LOG.verifier,), (STATEMENTS.verifier,)),),
        witnesses=tuple(PolicyWitness(w.name, (w.verifier,)) for w in witnesses),
    )


def _cosigned(size: int, by: list[CosignatureSigner], log: NoteSigner = LOG) -> str:
    note = sign_checkpoint(Checkpoint(log.name, size, bytes([size]) * 32), [log])
    return sign_note(parse_note(note).text, by, existing=note) if by else note


def test_policy_text_round_trips() -> None:
    policy = _policy()
    text = format_policy(policy)
    assert text.startswith(f'format = "{POLICY_FORMAT}"\n')
    assert parse_policy(text) == policy
    assert policy.log(ORIGIN) == policy.logs[0]
    assert policy.log("other") is None
    assert len(policy.witness_keys()) == 3


def test_signed_policy_loads_only_with_our_policy_key() -> None:
    signed = sign_policy(format_policy(_policy()), [POLICY_KEY])
    assert load_policy(signed, [POLICY_KEY.verifier]) == _policy()
    with pytest.raises(InvalidSignatureError):
        load_policy(signed, [NoteSigner("customs.be/policy", b"\x44" * 32).verifier])
    with pytest.raises(InvalidSignatureError):
        load_policy(signed.replace("quorum = 2", "quorum = 1"), [POLICY_KEY.verifier])


def test_policies_with_tabs_cannot_be_signed() -> None:
    text = format_policy(_policy()).replace("quorum = 2", "quorum =\t2")
    assert parse_policy(text).quorum == 2  # valid TOML ...
    with pytest.raises(InvalidNoteError):  # ... but not a valid note text
        sign_policy(text, [POLICY_KEY])


def test_every_problem_is_listed_with_its_line() -> None:
    log_vkey = LOG.verifier.vkey
    text = f"""format = "smartcustoms.org/trust-policy/v0"
id = "be policy"
version = "1"
administration = "BE"
quorum = 3
colour = "blue"

[[logs]]
administration = "JP"
origin = "customs.go.jp/ledger"
keys = ["{log_vkey}", "not-a-key"]
statement_keys = []

[[logs]]
administration = "JP"
origin = "customs.go.jp/ledger"
keys = ["{log_vkey}"]
statement_keys = ["{log_vkey}"]

[[witnesses]]
name = "witness0.example"
keys = ["{WITNESSES[1].verifier.vkey}", "{log_vkey}"]

[[witnesses]]
name = "witness0.example"
keys = ["{WITNESSES[0].verifier.vkey}"]
"""
    with pytest.raises(InvalidPolicyError) as caught:
        parse_policy(text, label="be.policy")
    found = {(p.path, p.code) for p in caught.value.problems}
    assert found == {
        ("be.policy:1", "policy.invalid_value"),  # format
        ("be.policy:2", "policy.invalid_value"),  # id with a space
        ("be.policy:5", "policy.invalid_value"),  # quorum 3 of 2 witnesses
        ("be.policy:6", "policy.unknown_key"),  # colour
        ("be.policy:11", "policy.invalid_value"),  # not-a-key
        ("be.policy:12", "policy.invalid_value"),  # empty statement_keys
        ("be.policy:16", "policy.duplicate"),  # the same origin twice
        ("be.policy:22", "policy.invalid_value"),  # a key named witness1 under witness0
        ("be.policy:25", "policy.duplicate"),  # witness0 twice
    }
    assert len(caught.value.problems) == 10  # line 22 also has a type-01 key


def test_syntax_errors_and_missing_tables() -> None:
    with pytest.raises(InvalidPolicyError) as caught:
        parse_policy('format = "x\nid = 1\n', label="p")
    assert caught.value.problems[0].code == "policy.syntax"
    with pytest.raises(InvalidPolicyError) as caught:
        parse_policy(f'format = "{POLICY_FORMAT}"\n', label="p")
    messages = " ".join(p.message for p in caught.value.problems)
    for needed in ("id is required", "version is required", "[[logs]]", "[[witnesses]]", "quorum"):
        assert needed in messages


@pytest.mark.parametrize("quorum", ["0", "4", "true", '"2"', "1.5"])
def test_quorum_must_be_between_one_and_n(quorum: str) -> None:
    text = format_policy(_policy()).replace("quorum = 2", f"quorum = {quorum}")
    with pytest.raises(InvalidPolicyError, match="quorum"):
        parse_policy(text)


# -- finality ------------------------------------------------------------------------------


def test_upstream_checkpoint_with_the_derived_cosignature_is_final(shared_data: Path) -> None:
    wit1 = vectors(shared_data, "derived/cosignature-v1-ed25519.json")
    policy = Policy(
        "p",
        "1",
        "BE",
        1,
        (PartnerLog("XX", TESTLOG_ORIGIN, (parse_vkey(TESTLOG_VKEY),), (LOG.verifier,)),),
        (PolicyWitness("Wit1", (parse_cosigner_vkey(wit1["cosig_vkey_type04"]),)),),
    )
    assert checkpoint_is_final(wit1["cosigned_checkpoint"], policy)
    final = require_final(wit1["cosigned_checkpoint"], policy)
    assert final.checkpoint.size == 15
    assert final.cosigners == {"Wit1": 1_700_000_000}
    # Without the cosignature line, the log signature alone is not enough.
    uncosigned = wit1["cosigned_checkpoint"][: wit1["cosigned_checkpoint"].rfind("\u2014 Wit1")]
    assert not checkpoint_is_final(uncosigned, policy)


def test_k_of_n_distinct_witnesses() -> None:
    policy = _policy(quorum=2)
    assert not checkpoint_is_final(_cosigned(5, []), policy)
    assert not checkpoint_is_final(_cosigned(5, WITNESSES[:1]), policy)
    assert checkpoint_is_final(_cosigned(5, WITNESSES[:2]), policy)
    assert checkpoint_is_final(_cosigned(5, WITNESSES), policy)
    with pytest.raises(QuorumNotMetError, match="1 of the 2"):
        require_final(_cosigned(5, WITNESSES[:1]), policy)


def test_one_witness_with_two_keys_counts_once() -> None:
    rotated = CosignatureSigner(WITNESSES[0].name, b"\x60" * 32, clock=lambda: 1_800_000_100)
    policy = Policy(
        "p",
        "1",
        "BE",
        2,
        _policy().logs,
        (
            PolicyWitness(WITNESSES[0].name, (WITNESSES[0].verifier, rotated.verifier)),
            PolicyWitness(WITNESSES[1].name, (WITNESSES[1].verifier,)),
        ),
    )
    note = _cosigned(5, [WITNESSES[0], rotated])
    assert not checkpoint_is_final(note, policy)
    assert require_final(_cosigned(5, [WITNESSES[0], rotated, WITNESSES[1]]), policy).cosigners == {
        WITNESSES[0].name: 1_800_000_100,
        WITNESSES[1].name: 1_800_000_000,
    }


def test_cosignatures_of_strangers_do_not_count() -> None:
    strangers = [
        CosignatureSigner(f"sybil{i}.example", bytes([0x70 + i]) * 32, clock=lambda: 1)
        for i in range(5)
    ]
    assert not checkpoint_is_final(_cosigned(5, [*strangers, WITNESSES[0]]), _policy(quorum=2))


def test_untrusted_logs_are_never_final() -> None:
    policy = _policy(quorum=1)
    impostor = NoteSigner(ORIGIN, b"\x45" * 32)
    assert not checkpoint_is_final(_cosigned(5, WITNESSES, log=impostor), policy)
    stranger = NoteSigner("customs.example/other", b"\x46" * 32)
    with pytest.raises(InvalidSignatureError, match="not in the policy"):
        require_final(_cosigned(5, WITNESSES, log=stranger), policy)
    assert not checkpoint_is_final("garbage", policy)


def test_a_forged_cosignature_from_a_policy_witness_rejects() -> None:
    note = _cosigned(5, WITNESSES[:2])
    forged = NoteSignature(
        WITNESSES[2].name, WITNESSES[2].key_id, (1).to_bytes(8, "big") + bytes(64)
    )
    with pytest.raises(InvalidSignatureError, match="witness2"):
        require_final(note + forged.line(), _policy())
    assert not checkpoint_is_final(note + forged.line(), _policy())
