"""Offline proof bundles (C2SP tlog-proof): upstream proof, end-to-end MRA flow, refusals."""

from __future__ import annotations

import base64
import contextlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartcustoms.errors import (
    InconsistentCheckpointError,
    InvalidProofBundleError,
    InvalidSignatureError,
    ProofError,
    QuorumNotMetError,
    SmartCustomsError,
)
from smartcustoms.ledger.bundle import (
    TLOG_PROOF_HEADER,
    build_bundle,
    format_tlog_proof,
    parse_tlog_proof,
    verify_bundle,
    verify_tlog_proof,
)
from smartcustoms.ledger.checkpoint import Checkpoint, sign_checkpoint
from smartcustoms.ledger.cosignature import CosignatureSigner, add_cosignatures, parse_cosigner_vkey
from smartcustoms.ledger.keys import NoteSigner, parse_vkey
from smartcustoms.ledger.merkle import MemoryTree, consistency_proof, inclusion_proof, leaf_hash
from smartcustoms.ledger.policy import PartnerLog, Policy, PolicyWitness
from smartcustoms.ledger.statements import (
    AeoAction,
    SignedStatement,
    StatementType,
    build_statement,
    open_commitment,
    sign_statement,
)
from smartcustoms.ledger.witness import MemoryWitnessStore, Witness, format_add_checkpoint

from ._vectors import TESTLOG_ORIGIN, TESTLOG_VKEY, upstream_checkpoint, vectors

ORIGIN = "customs.go.jp/ledger"
LOG_KEY = NoteSigner(ORIGIN, b"\x61" * 32)
STATEMENT_KEY = NoteSigner("customs.go.jp/statements", b"\x62" * 32)
WITNESS_KEYS = [
    CosignatureSigner(f"w{i}.witness.example", bytes([0x70 + i]) * 32, clock=lambda: 1_800_000_000)
    for i in range(3)
]
POLICY = Policy(
    id="be-mra",
    version="2026-11-22",
    administration="BE",
    quorum=2,
    logs=(PartnerLog("JP", ORIGIN, (LOG_KEY.verifier,), (STATEMENT_KEY.verifier,)),),
    witnesses=tuple(PolicyWitness(w.name, (w.verifier,)) for w in WITNESS_KEYS),
)
PRIVATE = {"operator": {"name": "Nippon Example KK", "address": "1-1 Chiyoda, Tokyo"}}


def _statement(n: int, *, issuer: str = "JP", key: NoteSigner = STATEMENT_KEY) -> SignedStatement:
    statement, _ = build_statement(
        issuer=issuer,
        type=StatementType.AEO_STATUS,
        action=AeoAction.GRANT if n % 2 else AeoAction.SUSPEND,
        subject=f"JP{n:012d}",
        effective_at=datetime(2026, 11, 1, tzinfo=UTC),
        document=f"certificate {n}".encode(),
        private_fields={**PRIVATE, "n": n},
        salt=bytes([n % 256]) * 32,
    )
    return sign_statement(statement, key)


class PartnerLedger:
    """The partner's log in memory, witnessed by WITNESS_KEYS through the witness protocol."""

    def __init__(self) -> None:
        self.tree = MemoryTree()
        self.entries: list[bytes] = []
        self.witnesses = [
            Witness([key], {ORIGIN: [LOG_KEY.verifier]}, MemoryWitnessStore())
            for key in WITNESS_KEYS
        ]
        self.witnessed = 0

    def append(self, entry: bytes) -> int:
        self.entries.append(entry)
        self.tree.append_leaf_hash(leaf_hash(entry))
        return len(self.entries) - 1

    def publish(self, *, witnesses: int = 3) -> str:
        """Sign a checkpoint and collect cosignatures from the first ``witnesses`` witnesses."""
        size = self.tree.size
        note = sign_checkpoint(Checkpoint(ORIGIN, size, self.tree.root()), [LOG_KEY])
        old = self.witnessed
        proof = consistency_proof(self.tree, old, size) if 0 < old < size else []
        for witness in self.witnesses[:witnesses]:
            note = add_cosignatures(
                note, witness.add_checkpoint(format_add_checkpoint(old, proof, note))
            )
        self.witnessed = size
        return note

    def bundle(self, index: int, note: str) -> str:
        size = int(note.split("\n")[1])
        return build_bundle(
            self.entries[index], index, inclusion_proof(self.tree, index, size), note
        )


@pytest.fixture
def ledger() -> PartnerLedger:
    partner = PartnerLedger()
    for n in range(11):
        partner.append(_statement(n).entry())
    return partner


# -- upstream ------------------------------------------------------------------------------


def test_derived_tessera_proof_verifies_for_entry_7(shared_data: Path) -> None:
    data = vectors(shared_data, "derived/tessera-testlog-proofs.json")
    wit1 = vectors(shared_data, "derived/cosignature-v1-ed25519.json")
    policy = Policy(
        "p",
        "1",
        "BE",
        1,
        (PartnerLog("XX", TESTLOG_ORIGIN, (parse_vkey(TESTLOG_VKEY),), (STATEMENT_KEY.verifier,)),),
        (PolicyWitness("Wit1", (parse_cosigner_vkey(wit1["cosig_vkey_type04"]),)),),
    )
    proof = parse_tlog_proof(data["tlog_proof"])
    assert proof.extra is None and proof.index == 7 and len(proof.proof) == 4
    final = verify_tlog_proof(proof, bytes.fromhex(data["entry_hex"]), policy)
    assert final.checkpoint.size == 15 and final.cosigners == {"Wit1": 1_700_000_000}
    assert data["tlog_proof"].endswith(wit1["cosigned_checkpoint"])
    assert format_tlog_proof(7, proof.proof, wit1["cosigned_checkpoint"]) == data["tlog_proof"]
    with pytest.raises(ProofError):
        verify_tlog_proof(proof, b"ten", policy)
    with pytest.raises(InvalidProofBundleError, match="no statement"):
        verify_bundle(data["tlog_proof"], policy)


def test_c2sp_example_framing_parses(shared_data: Path) -> None:
    example = vectors(shared_data, "transcribed/c2sp-format-examples.json")["tlog_proof_example"]
    with pytest.raises(InvalidProofBundleError, match="checkpoint"):
        parse_tlog_proof(example["text"])  # its signatures are elided with [...]
    head = example["text"].split("\n\n")[0]
    proof = parse_tlog_proof(head + "\n\n" + upstream_checkpoint(shared_data, 3))
    assert proof.index == 73894
    assert proof.extra is not None and proof.extra.startswith(b"age-v1.2.1-darwin-arm64.tar.gz")
    assert len(proof.proof) == 5


# -- end to end ----------------------------------------------------------------------------


def test_a_border_officer_verifies_a_partner_statement_offline(ledger: PartnerLedger) -> None:
    note = ledger.publish()
    bundle = ledger.bundle(6, note)
    assert bundle.startswith(TLOG_PROOF_HEADER + "\nextra ")
    verified = verify_bundle(bundle, POLICY)
    assert verified.statement == _statement(6).statement
    assert verified.origin == ORIGIN and verified.index == 6 and verified.tree_size == 11
    assert set(verified.cosigners) == {w.name for w in WITNESS_KEYS}
    # The officer, handed the salt and fields by the trader, can open the commitment.
    open_commitment(verified.statement, bytes([6]) * 32, {**PRIVATE, "n": 6})


def test_bundles_stay_valid_against_a_later_checkpoint(ledger: PartnerLedger) -> None:
    ledger.publish()
    for n in range(11, 40):
        ledger.append(_statement(n).entry())
    later = ledger.publish()
    for index in (0, 6, 10, 39):
        assert verify_bundle(ledger.bundle(index, later), POLICY).index == index


def test_too_few_cosignatures_are_not_enough(ledger: PartnerLedger) -> None:
    bundle = ledger.bundle(3, ledger.publish(witnesses=1))
    with pytest.raises(QuorumNotMetError):
        verify_bundle(bundle, POLICY)


def test_a_statement_not_in_the_log_is_refused(ledger: PartnerLedger) -> None:
    note = ledger.publish()
    real = ledger.bundle(3, note)
    forged_entry = _statement(99).entry()
    proof = parse_tlog_proof(real)
    forged = build_bundle(forged_entry, 3, proof.proof, note)
    with pytest.raises(ProofError):
        verify_bundle(forged, POLICY)
    moved = real.replace("\nindex 3\n", "\nindex 4\n")
    with pytest.raises(ProofError):
        verify_bundle(moved, POLICY)


def test_the_issuer_must_own_the_log(ledger: PartnerLedger) -> None:
    """A statement claiming to be issued by BE, logged in JP's log, is refused."""
    index = ledger.append(_statement(50, issuer="BE").entry())
    bundle = ledger.bundle(index, ledger.publish())
    with pytest.raises(InvalidProofBundleError, match="sits in the log"):
        verify_bundle(bundle, POLICY)


def test_a_statement_signed_with_another_key_is_refused(ledger: PartnerLedger) -> None:
    rogue = NoteSigner("customs.go.jp/statements", b"\x63" * 32)
    index = ledger.append(_statement(51, key=rogue).entry())
    bundle = ledger.bundle(index, ledger.publish())
    with pytest.raises(InvalidSignatureError, match="untrusted key"):
        verify_bundle(bundle, POLICY)


def test_an_entry_that_is_not_a_statement_is_refused(ledger: PartnerLedger) -> None:
    index = ledger.append(b"not json at all")
    bundle = ledger.bundle(index, ledger.publish())
    with pytest.raises(InvalidProofBundleError, match="not a statement envelope"):
        verify_bundle(bundle, POLICY)


def test_a_log_outside_the_policy_is_refused(ledger: PartnerLedger) -> None:
    bundle = ledger.bundle(2, ledger.publish())
    other = Policy("p", "1", "BE", 1, (), POLICY.witnesses)
    with pytest.raises(InvalidSignatureError, match="not in the policy"):
        verify_bundle(bundle, other)


def test_a_forked_checkpoint_signed_by_the_log_but_not_witnessed_fails(
    ledger: PartnerLedger,
) -> None:
    """A log that rewrites history can sign it, but the witnesses refuse to cosign it."""
    ledger.publish()
    forked = PartnerLedger()
    forked.witnesses = ledger.witnesses
    forked.witnessed = ledger.witnessed
    for n in range(11):
        forked.append(_statement(n if n != 4 else 400).entry())
    forked.append(_statement(12).entry())
    with pytest.raises(InconsistentCheckpointError):
        forked.publish()
    uncosigned = sign_checkpoint(Checkpoint(ORIGIN, 12, forked.tree.root()), [LOG_KEY])
    with pytest.raises(QuorumNotMetError):
        verify_bundle(forked.bundle(4, uncosigned), POLICY)


# -- malformed input -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda b: b.replace(TLOG_PROOF_HEADER, "c2sp.org/tlog-proof@v2"), "starts with"),
        (lambda b: b.replace("\nindex ", "\nindx "), "index"),
        (lambda b: b.replace("\nindex ", "\nindex 0"), "leading zeros"),
        (lambda b: b.replace("\nextra ", "\nextra !"), "base64"),
        (lambda b: b.replace("\n\n", "\n", 1), "proof hash 5 is not standard base64"),
        (lambda b: b.split("\n\n")[0] + "\n", "empty line"),
    ],
)
def test_malformed_bundles_are_refused(ledger: PartnerLedger, change: object, reason: str) -> None:
    bundle = ledger.bundle(5, ledger.publish())
    assert callable(change)
    with pytest.raises(InvalidProofBundleError, match=reason):
        verify_bundle(change(bundle), POLICY)


def test_proof_hash_rules() -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, 2, bytes(32)), [LOG_KEY])
    short = format_tlog_proof(0, [bytes(31)], note)
    with pytest.raises(InvalidProofBundleError, match="32 bytes"):
        parse_tlog_proof(short)
    long = format_tlog_proof(0, [bytes(32)] * 65, note)
    with pytest.raises(InvalidProofBundleError, match="more than 64"):
        parse_tlog_proof(long)
    assert parse_tlog_proof(format_tlog_proof(0, [bytes(32)], note).encode()).index == 0


@settings(max_examples=300)
@given(st.one_of(st.text(max_size=300), st.binary(max_size=300)))
def test_fuzzed_bundles_raise_only_coded_errors(data: str | bytes) -> None:
    with contextlib.suppress(InvalidProofBundleError):
        parse_tlog_proof(data)
    with contextlib.suppress(SmartCustomsError):
        verify_bundle(data, POLICY)


_LEDGER = PartnerLedger()
for _n in range(5):
    _LEDGER.append(_statement(_n).entry())
_BUNDLE = _LEDGER.bundle(2, _LEDGER.publish())


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(position=st.integers(0, len(_BUNDLE.encode()) - 1), byte=st.integers(0, 255))
def test_mutated_bundles_fail_with_coded_errors_or_still_prove_the_same(
    position: int, byte: int
) -> None:
    raw = bytearray(_BUNDLE.encode())
    raw[position] = byte
    try:
        verified = verify_bundle(bytes(raw), POLICY)
    except SmartCustomsError:
        return
    assert verified.statement == _statement(2).statement


def test_bundle_extra_is_the_exact_log_entry(ledger: PartnerLedger) -> None:
    bundle = ledger.bundle(1, ledger.publish())
    extra = bundle.split("\n")[1].removeprefix("extra ")
    assert base64.b64decode(extra) == ledger.entries[1]
