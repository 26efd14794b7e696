"""Offline bundle verification: what a border officer's device pays per partner statement.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_ledger_verify.py [--size 100000000]
        [--runs 7] [--iterations 300]

Builds one offline proof bundle (C2SP tlog-proof) for a signed AEO statement at a leaf of a
partner log of ``--size`` leaves: the inclusion proof is synthetic (random sibling hashes;
the root is computed from them with the real Merkle functions, so it verifies exactly as a
real proof of that length would), the checkpoint is signed by the log key and cosigned by
three witnesses, and the policy requires all three (quorum 3 of 3). It then times
``verify_bundle`` (parse, 1 log signature, 3 cosignatures, inclusion proof, envelope, 1
statement signature) and its stages, each as the median over ``--runs`` runs of the mean of
``--iterations`` calls, and prints a table. Target: verify_bundle median <= 1 ms.
"""

from __future__ import annotations

import argparse
import os
import platform as host
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from smartcustoms.ledger.bundle import (
    build_bundle,
    parse_tlog_proof,
    verify_bundle,
    verify_tlog_proof,
)
from smartcustoms.ledger.checkpoint import Checkpoint, sign_checkpoint
from smartcustoms.ledger.cosignature import CosignatureSigner, verified_cosigners
from smartcustoms.ledger.keys import NoteSigner
from smartcustoms.ledger.merkle import leaf_hash, root_from_inclusion_proof, verify_inclusion
from smartcustoms.ledger.note import parse_note, sign_note, verify_note
from smartcustoms.ledger.policy import PartnerLog, Policy, PolicyWitness
from smartcustoms.ledger.statements import (
    AeoAction,
    StatementType,
    build_statement,
    parse_signed_statement,
    sign_statement,
    verify_statement,
)

ORIGIN = "customs.partner.example/ledger"


def _proof_length(index: int, size: int) -> int:
    """RFC 9162 inclusion proof length: the inner part plus the right-border part."""
    inner = (index ^ (size - 1)).bit_length()
    return inner + bin(index >> inner).count("1")


def build(size: int, seed: int) -> tuple[str, Policy]:
    """A bundle for one statement at a random leaf of a ``size``-leaf log, and its policy."""
    rng = random.Random(seed)
    log = NoteSigner(ORIGIN, rng.randbytes(32))
    statements = NoteSigner("customs.partner.example/statements", rng.randbytes(32))
    witnesses = [
        CosignatureSigner(f"w{i}.witness.example", rng.randbytes(32), clock=lambda: 1_800_000_000)
        for i in range(3)
    ]
    statement, _ = build_statement(
        issuer="JP",
        type=StatementType.AEO_STATUS,
        action=AeoAction.GRANT,
        subject="JP1234567890123",
        effective_at=datetime(2026, 11, 22, 12, 0, tzinfo=UTC),
        document=b"certificate",
        private_fields={"operator": "Nippon Example KK"},
        salt=rng.randbytes(32),
    )
    entry = sign_statement(statement, statements).entry()
    index = rng.randrange(size)
    proof = [rng.randbytes(32) for _ in range(_proof_length(index, size))]
    root = root_from_inclusion_proof(leaf_hash(entry), index, size, proof)
    note = sign_checkpoint(Checkpoint(ORIGIN, size, root), [log])
    note = sign_note(parse_note(note).text, witnesses, existing=note)
    policy = Policy(
        id="bench",
        version="1",
        administration="BE",
        quorum=3,
        logs=(PartnerLog("JP", ORIGIN, (log.verifier,), (statements.verifier,)),),
        witnesses=tuple(PolicyWitness(w.name, (w.verifier,)) for w in witnesses),
    )
    return build_bundle(entry, index, proof, note), policy


def timed(call: Callable[[], object], runs: int, iterations: int) -> float:
    """Median over runs of the mean microseconds per call."""
    call()
    means = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        for _ in range(iterations):
            call()
        means.append((time.perf_counter_ns() - start) / iterations / 1000)
    return statistics.median(means)


def main() -> None:
    """Time bundle verification and its stages; print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    bundle, policy = build(args.size, args.seed)
    proof = parse_tlog_proof(bundle)
    assert proof.extra is not None
    entry = proof.extra
    checkpoint = proof.checkpoint.checkpoint
    log, witnesses = policy.logs[0], policy.witness_keys()
    envelope = parse_signed_statement(entry)
    verified = verify_bundle(bundle, policy)
    assert verified.tree_size == args.size
    assert len(verified.cosigners) == 3
    stages: list[tuple[str, Callable[[], object]]] = [
        ("parse tlog-proof + checkpoint", lambda: parse_tlog_proof(bundle)),
        ("log signature (1 Ed25519)", lambda: verify_note(proof.checkpoint.note, log.keys)),
        ("cosignatures (3 Ed25519)", lambda: verified_cosigners(proof.checkpoint.note, witnesses)),
        (
            f"inclusion proof ({len(proof.proof)} hashes)",
            lambda: verify_inclusion(
                leaf_hash(entry), proof.index, checkpoint.size, proof.proof, checkpoint.root_hash
            ),
        ),
        ("statement envelope (JSON, RFC 8785)", lambda: parse_signed_statement(entry)),
        ("statement signature (1 Ed25519)", lambda: verify_statement(envelope, log.statement_keys)),
        (
            "verify_tlog_proof (parse, log, 3 cosigs, incl.)",
            lambda: verify_tlog_proof(parse_tlog_proof(bundle), entry, policy),
        ),
        ("verify_bundle (all of the above)", lambda: verify_bundle(bundle, policy)),
    ]
    print(
        f"# bench_ledger_verify: tree size {args.size:,}, leaf {proof.index:,},"
        f" bundle {len(bundle):,} bytes, quorum 3 of 3"
    )
    print(
        f"# {host.machine()}, {os.cpu_count()} cores, Python {host.python_version()};"
        f" median of {args.runs} runs x {args.iterations} calls"
    )
    print(f"| {'stage':<48} | {'median us':>10} |")
    print(f"|{'-' * 50}|{'-' * 12}|")
    for name, call in stages:
        print(f"| {name:<48} | {timed(call, args.runs, args.iterations):>10.1f} |")


if __name__ == "__main__":
    main()
