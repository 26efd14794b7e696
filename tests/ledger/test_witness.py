"""The witness (C2SP tlog-witness add-checkpoint): parsing, every refusal, persistence."""

from __future__ import annotations

import base64
import contextlib
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartcustoms.errors import (
    ConflictError,
    InconsistentCheckpointError,
    NotFoundError,
    PermissionDeniedError,
    SmartCustomsError,
    StoreError,
    UnknownLogError,
    UntrustedCheckpointError,
    WitnessConflictError,
    WitnessRequestError,
)
from smartcustoms.ledger.checkpoint import Checkpoint, sign_checkpoint
from smartcustoms.ledger.cosignature import CosignatureSigner, verified_cosigners
from smartcustoms.ledger.keys import NoteSigner, parse_vkey
from smartcustoms.ledger.merkle import EMPTY_ROOT, MemoryTree, consistency_proof, leaf_hash
from smartcustoms.ledger.note import parse_note
from smartcustoms.ledger.witness import (
    MAX_PROOF_LINES,
    JsonFileWitnessStore,
    MemoryWitnessStore,
    TreeHead,
    Witness,
    format_add_checkpoint,
    parse_add_checkpoint,
)

from ._vectors import TESTLOG_ORIGIN, TESTLOG_VKEY, upstream_checkpoint, vectors

ORIGIN = "customs.example/log"
LOG_KEY = NoteSigner(ORIGIN, b"\x21" * 32)
WITNESS_KEY = CosignatureSigner(
    "witness.partner.example", b"\x31" * 32, clock=lambda: 1_800_000_000
)


class FakeLog:
    """A log in memory that signs checkpoints with LOG_KEY (or another key)."""

    def __init__(self, prefix: str = "entry", key: NoteSigner = LOG_KEY) -> None:
        self.tree = MemoryTree()
        self.prefix = prefix
        self.key = key

    def grow(self, to: int, *, prefix: str | None = None) -> None:
        while self.tree.size < to:
            entry = f"{prefix or self.prefix} {self.tree.size}".encode()
            self.tree.append_leaf_hash(leaf_hash(entry))

    def checkpoint(self, size: int) -> str:
        return sign_checkpoint(Checkpoint(ORIGIN, size, self.tree.root(size)), [self.key])

    def request(self, old: int, size: int) -> str:
        proof = consistency_proof(self.tree, old, size) if 0 < old < size else []
        return format_add_checkpoint(old, proof, self.checkpoint(size))


def _witness(store: MemoryWitnessStore | JsonFileWitnessStore | None = None) -> Witness:
    return Witness([WITNESS_KEY], {ORIGIN: [LOG_KEY.verifier]}, store or MemoryWitnessStore())


# -- parsing -------------------------------------------------------------------------------


def test_c2sp_example_request_parses(shared_data: Path) -> None:
    example = vectors(shared_data, "transcribed/c2sp-format-examples.json")[
        "tlog_witness_add_checkpoint"
    ]
    request = parse_add_checkpoint(example["request_body"])
    assert request.old_size == 20852014
    assert len(request.proof) == 4
    assert request.checkpoint.checkpoint.size == 20852163
    assert len(request.checkpoint.note.signatures) == 2
    assert example["limits"]["max_consistency_proof_lines"] == MAX_PROOF_LINES
    response = parse_note(request.checkpoint.note.text + "\n" + example["response_body_200"])
    assert [s.name for s in response.signatures] == ["witness.example/w1"] * 2 + [
        "witness.example/w2"
    ]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("old 1\n", "empty line"),
        ("new 1\n\nx\n", "must start"),
        ("old 01\n\nx\n", "leading zeros"),
        ("old -1\n\nx\n", "leading zeros"),
        ("old 1\nAAAA\n\nx\n", "32-byte"),
        ("old 1\nnot base64\n\nx\n", "base64"),
        ("old 1\n\no\n1\n" + "A" * 43 + "=\n", "invalid checkpoint"),
        ("old 1\n\no\n1\nAAAA\n\n\u2014 k AAAAAQID\n", "invalid checkpoint"),
    ],
)
def test_malformed_requests_are_bad_requests(body: str, reason: str) -> None:
    with pytest.raises(WitnessRequestError, match=reason):
        parse_add_checkpoint(body)


def test_more_than_63_proof_lines_are_refused() -> None:
    log = FakeLog()
    log.grow(1)
    line = base64.b64encode(bytes(32)).decode() + "\n"
    body = "old 1\n" + line * 64 + "\n" + log.checkpoint(1)
    with pytest.raises(WitnessRequestError, match="63"):
        parse_add_checkpoint(body)
    assert len(parse_add_checkpoint("old 1\n" + line * 63 + "\n" + log.checkpoint(1)).proof) == 63


def test_request_formatting_round_trips() -> None:
    log = FakeLog()
    log.grow(9)
    body = log.request(3, 9)
    request = parse_add_checkpoint(body.encode())
    assert request.old_size == 3
    assert list(request.proof) == consistency_proof(log.tree, 3, 9)
    assert format_add_checkpoint(3, request.proof, request.note) == body


@settings(max_examples=400)
@given(st.one_of(st.text(max_size=300), st.binary(max_size=300)))
def test_fuzzed_requests_raise_only_bad_request(body: str | bytes) -> None:
    with contextlib.suppress(WitnessRequestError):
        parse_add_checkpoint(body)


@settings(max_examples=200)
@given(st.text(alphabet="old 0123\nA=+/\u2014 k", max_size=120))
def test_fuzzed_request_like_bodies_raise_only_bad_request(body: str) -> None:
    with contextlib.suppress(WitnessRequestError):
        parse_add_checkpoint(body)


# -- the upstream test log -----------------------------------------------------------------


def test_witnessing_the_tessera_log_from_empty_to_15(shared_data: Path) -> None:
    """Old 0 -> 1, then one step at a time with the derived proofs, up to 15."""
    data = vectors(shared_data, "derived/tessera-testlog-proofs.json")
    proofs = {(p["size1"], p["size2"]): p["proof_b64"] for p in data["consistency_proofs"]}
    witness = Witness(
        [WITNESS_KEY], {TESTLOG_ORIGIN: [parse_vkey(TESTLOG_VKEY)]}, MemoryWitnessStore()
    )
    note = upstream_checkpoint(shared_data, 1)
    response = witness.add_checkpoint(format_add_checkpoint(0, [], note))
    for size in range(2, 16):
        proof = [base64.b64decode(h) for h in proofs[(size - 1, size)]]
        note = upstream_checkpoint(shared_data, size)
        response = witness.add_checkpoint(format_add_checkpoint(size - 1, proof, note))
    assert witness.store.latest(TESTLOG_ORIGIN) == TreeHead(
        15, parse_note(note).text and _root(note)
    )
    cosigned = parse_note(note + response)
    assert verified_cosigners(cosigned, [WITNESS_KEY.verifier]) == {WITNESS_KEY.name: 1_800_000_000}


def _root(note: str) -> bytes:
    return base64.b64decode(parse_note(note).text.split("\n")[2])


def test_derived_request_8_to_15_is_cosigned(shared_data: Path) -> None:
    data = vectors(shared_data, "derived/tessera-testlog-proofs.json")
    store = MemoryWitnessStore()
    store.compare_and_set(
        TESTLOG_ORIGIN, None, TreeHead(8, _root(upstream_checkpoint(shared_data, 8)))
    )
    witness = Witness([WITNESS_KEY], {TESTLOG_ORIGIN: [parse_vkey(TESTLOG_VKEY)]}, store)
    response = witness.add_checkpoint(data["witness_add_checkpoint_request_example"])
    assert response.startswith("\u2014 witness.partner.example ")
    assert store.latest(TESTLOG_ORIGIN) == TreeHead(15, _root(upstream_checkpoint(shared_data, 15)))
    # Replaying the same request is now stale: the witness is at 15.
    with pytest.raises(WitnessConflictError) as caught:
        witness.add_checkpoint(data["witness_add_checkpoint_request_example"])
    assert caught.value.latest_size == 15


# -- refusals ------------------------------------------------------------------------------


def test_unknown_log_is_not_found() -> None:
    other = NoteSigner("elsewhere.example/log", b"\x22" * 32)
    note = sign_checkpoint(Checkpoint("elsewhere.example/log", 0, EMPTY_ROOT), [other])
    with pytest.raises(UnknownLogError) as caught:
        _witness().add_checkpoint(format_add_checkpoint(0, [], note))
    assert isinstance(caught.value, NotFoundError)
    assert caught.value.code == "witness.unknown_log"


def test_a_checkpoint_signed_by_another_key_is_forbidden() -> None:
    impostor = FakeLog(key=NoteSigner(ORIGIN, b"\x23" * 32))
    impostor.grow(3)
    with pytest.raises(UntrustedCheckpointError) as caught:
        _witness().add_checkpoint(impostor.request(0, 3))
    assert isinstance(caught.value, PermissionDeniedError)
    log = FakeLog()
    log.grow(3)
    tampered = log.request(0, 3).replace(f"{ORIGIN}\n3\n", f"{ORIGIN}\n4\n")
    with pytest.raises(UntrustedCheckpointError):
        _witness().add_checkpoint(tampered)


def test_old_size_above_checkpoint_size_is_a_bad_request() -> None:
    log = FakeLog()
    log.grow(5)
    with pytest.raises(WitnessRequestError, match="larger"):
        _witness().add_checkpoint(format_add_checkpoint(6, [], log.checkpoint(5)))


def test_stale_old_size_is_a_conflict_carrying_the_latest_size() -> None:
    log = FakeLog()
    log.grow(10)
    witness = _witness()
    witness.add_checkpoint(log.request(0, 4))
    with pytest.raises(WitnessConflictError) as caught:
        witness.add_checkpoint(log.request(3, 10))
    assert caught.value.latest_size == 4
    assert isinstance(caught.value, ConflictError)
    with pytest.raises(WitnessConflictError) as first_contact:
        witness.add_checkpoint(log.request(0, 10))  # a client learning the size with old 0
    assert first_contact.value.latest_size == 4
    witness.add_checkpoint(log.request(4, 10))
    assert witness.store.latest(ORIGIN) == TreeHead(10, log.tree.root(10))


def test_rollback_is_refused() -> None:
    log = FakeLog()
    log.grow(10)
    witness = _witness()
    witness.add_checkpoint(log.request(0, 10))
    with pytest.raises(WitnessRequestError):
        witness.add_checkpoint(format_add_checkpoint(10, [], log.checkpoint(6)))
    with pytest.raises(WitnessConflictError):
        witness.add_checkpoint(log.request(4, 6))
    assert witness.store.latest(ORIGIN) == TreeHead(10, log.tree.root(10))


def test_a_fork_is_refused_as_inconsistent() -> None:
    """Same log key, two histories diverging at entry 5: the witness cosigns only one."""
    honest, forked = FakeLog(), FakeLog()
    honest.grow(8)
    forked.grow(5)
    forked.grow(12, prefix="forged")
    honest.grow(12)
    witness = _witness()
    witness.add_checkpoint(honest.request(0, 8))
    with pytest.raises(InconsistentCheckpointError) as caught:
        witness.add_checkpoint(forked.request(8, 12))
    assert caught.value.code == "witness.inconsistent"
    with pytest.raises(InconsistentCheckpointError, match="fork"):
        witness.add_checkpoint(format_add_checkpoint(8, [], forked.checkpoint(8)))
    assert witness.store.latest(ORIGIN) == TreeHead(8, honest.tree.root(8))
    witness.add_checkpoint(honest.request(8, 12))  # the honest history carries on


def test_equal_size_with_the_same_root_is_cosigned_again() -> None:
    log = FakeLog()
    log.grow(3)
    witness = _witness()
    witness.add_checkpoint(log.request(0, 3))
    assert witness.add_checkpoint(format_add_checkpoint(3, [], log.checkpoint(3)))


def test_proof_rules_for_the_empty_tree() -> None:
    log = FakeLog()
    log.grow(4)
    witness = _witness()
    proof = consistency_proof(log.tree, 2, 4)
    with pytest.raises(InconsistentCheckpointError, match="empty when old size is 0"):
        witness.add_checkpoint(format_add_checkpoint(0, proof, log.checkpoint(4)))
    bad_empty = sign_checkpoint(Checkpoint(ORIGIN, 0, bytes(32)), [LOG_KEY])
    with pytest.raises(InconsistentCheckpointError, match="empty root"):
        witness.add_checkpoint(format_add_checkpoint(0, [], bad_empty))
    witness.add_checkpoint(
        format_add_checkpoint(0, [], sign_checkpoint(Checkpoint(ORIGIN, 0, EMPTY_ROOT), [LOG_KEY]))
    )
    assert witness.store.latest(ORIGIN) == TreeHead(0, EMPTY_ROOT)


def test_a_corrupted_proof_is_inconsistent() -> None:
    log = FakeLog()
    log.grow(9)
    witness = _witness()
    witness.add_checkpoint(log.request(0, 5))
    proof = consistency_proof(log.tree, 5, 9)
    proof[0] = bytes(32)
    with pytest.raises(InconsistentCheckpointError):
        witness.add_checkpoint(format_add_checkpoint(5, proof, log.checkpoint(9)))


def test_rotated_witness_keys_each_return_a_line() -> None:
    log = FakeLog()
    log.grow(2)
    new_key = CosignatureSigner(WITNESS_KEY.name, b"\x32" * 32, clock=lambda: 1_800_000_001)
    witness = Witness([WITNESS_KEY, new_key], {ORIGIN: [LOG_KEY.verifier]}, MemoryWitnessStore())
    response = witness.add_checkpoint(log.request(0, 2))
    assert response.count("\u2014 ") == 2
    cosigned = parse_note(log.checkpoint(2) + response)
    assert verified_cosigners(cosigned, [new_key.verifier]) == {WITNESS_KEY.name: 1_800_000_001}


def test_losing_a_race_is_a_conflict() -> None:
    class RacingStore(MemoryWitnessStore):
        def compare_and_set(self, origin: str, expected: TreeHead | None, new: TreeHead) -> bool:
            super().compare_and_set(origin, expected, TreeHead(7, bytes(32)))
            return False

    log = FakeLog()
    log.grow(3)
    with pytest.raises(WitnessConflictError) as caught:
        _witness(RacingStore()).add_checkpoint(log.request(0, 3))
    assert caught.value.latest_size == 7


# -- the JSON file store -------------------------------------------------------------------


def test_json_store_persists_across_instances(tmp_path: Path) -> None:
    path = tmp_path / "state" / "witness.json"
    log = FakeLog()
    log.grow(6)
    _witness(JsonFileWitnessStore(path)).add_checkpoint(log.request(0, 3))
    restarted = _witness(JsonFileWitnessStore(path))
    assert restarted.store.latest(ORIGIN) == TreeHead(3, log.tree.root(3))
    with pytest.raises(WitnessConflictError):
        restarted.add_checkpoint(log.request(0, 6))
    restarted.add_checkpoint(log.request(3, 6))
    assert JsonFileWitnessStore(path).latest(ORIGIN) == TreeHead(6, log.tree.root(6))
    assert not list(path.parent.glob("*.tmp"))


def test_json_store_refuses_a_corrupt_file(tmp_path: Path) -> None:
    path = tmp_path / "witness.json"
    path.write_text('{"format": "something else"}')
    with pytest.raises(StoreError):
        JsonFileWitnessStore(path).latest(ORIGIN)
    path.write_text("not json")
    with pytest.raises(StoreError):
        JsonFileWitnessStore(path).latest(ORIGIN)


def test_concurrent_requests_with_the_same_old_size_cosign_once(tmp_path: Path) -> None:
    """The spec's rollback race: only one of many concurrent 0 -> N requests may win."""
    log = FakeLog()
    log.grow(16)
    witness = _witness(JsonFileWitnessStore(tmp_path / "w.json"))
    outcomes: list[str] = []
    lock = threading.Lock()

    def submit(size: int) -> None:
        try:
            witness.add_checkpoint(log.request(0, size))
            result = f"ok {size}"
        except WitnessConflictError:
            result = "conflict"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=submit, args=(size,)) for size in range(8, 16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [o for o in outcomes if o.startswith("ok")]
    assert len(winners) == 1 and outcomes.count("conflict") == 7
    size = int(winners[0].split()[1])
    assert witness.store.latest(ORIGIN) == TreeHead(size, log.tree.root(size))


_MUTATION_LOG = FakeLog()
_MUTATION_LOG.grow(12)
_MUTATION_BODY = _MUTATION_LOG.request(5, 12).encode()


@settings(max_examples=300)
@given(position=st.integers(0, len(_MUTATION_BODY) - 1), byte=st.integers(0, 255))
def test_mutated_requests_fail_with_coded_errors_or_are_the_same_tree(
    position: int, byte: int
) -> None:
    """A witness at size 5 fed a corrupted 5 -> 12 request never raises an uncoded error."""
    store = MemoryWitnessStore()
    store.compare_and_set(ORIGIN, None, TreeHead(5, _MUTATION_LOG.tree.root(5)))
    body = bytearray(_MUTATION_BODY)
    body[position] = byte
    try:
        _witness(store).add_checkpoint(bytes(body))
    except SmartCustomsError:
        assert store.latest(ORIGIN) == TreeHead(5, _MUTATION_LOG.tree.root(5))
        return
    assert store.latest(ORIGIN) == TreeHead(12, _MUTATION_LOG.tree.root(12))
