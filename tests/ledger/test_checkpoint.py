"""Checkpoints (C2SP tlog-checkpoint): upstream signed checkpoints, strict parsing, signing."""

from __future__ import annotations

import base64
import contextlib
import hashlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartcustoms.errors import InvalidCheckpointError, InvalidNoteError, InvalidSignatureError
from smartcustoms.ledger.checkpoint import (
    MAX_TREE_SIZE,
    Checkpoint,
    parse_checkpoint,
    parse_decimal,
    parse_signed_checkpoint,
    sign_checkpoint,
    verify_checkpoint,
)
from smartcustoms.ledger.keys import NoteSigner, parse_skey, parse_vkey

from ._vectors import TESTLOG_ORIGIN, TESTLOG_SKEY, TESTLOG_VKEY, upstream_checkpoint, vectors

ROOT = base64.b64encode(bytes(range(32))).decode()
ROOT31 = base64.b64encode(bytes(range(31))).decode()


@pytest.mark.parametrize("size", range(16))
def test_upstream_tessera_checkpoints_verify(shared_data: Path, size: int) -> None:
    """All 16 signed checkpoints of the Tessera test log verify with the published key."""
    note = upstream_checkpoint(shared_data, size)
    checkpoint, verified = verify_checkpoint(
        note, [parse_vkey(TESTLOG_VKEY)], origin=TESTLOG_ORIGIN
    )
    assert checkpoint.size == size
    assert checkpoint.origin == TESTLOG_ORIGIN
    assert verified.verified[0].name == TESTLOG_ORIGIN
    # Re-signing with the public test key reproduces the upstream file byte for byte.
    assert sign_checkpoint(checkpoint, [parse_skey(TESTLOG_SKEY)]) == note


def test_empty_tree_checkpoint_carries_the_hash_of_nothing(shared_data: Path) -> None:
    checkpoint = parse_signed_checkpoint(upstream_checkpoint(shared_data, 0)).checkpoint
    assert checkpoint.root_hash == hashlib.sha256(b"").digest()


def test_latest_checkpoint_equals_checkpoint_15(shared_data: Path) -> None:
    latest = (
        shared_data / "merkle-vectors" / "tessera-tlog-tiles-testlog" / "log" / "checkpoint"
    ).read_text()
    assert latest == upstream_checkpoint(shared_data, 15)


def test_tampered_upstream_checkpoint_fails(shared_data: Path) -> None:
    note = upstream_checkpoint(shared_data, 7).replace("\n7\n", "\n8\n", 1)
    with pytest.raises(InvalidSignatureError):
        verify_checkpoint(note, [parse_vkey(TESTLOG_VKEY)])


def test_c2sp_example_parses(shared_data: Path) -> None:
    example = vectors(shared_data, "transcribed/c2sp-format-examples.json")
    expected = example["tlog_checkpoint_example"]["parsed"]
    signed = parse_signed_checkpoint(example["tlog_checkpoint_example"]["note"])
    assert signed.checkpoint.origin == expected["origin"]
    assert signed.checkpoint.size == expected["tree_size"]
    assert base64.b64encode(signed.checkpoint.root_hash).decode() == expected["root_hash_b64"]


def test_go_sumdb_tree_note_golden_text(shared_data: Path) -> None:
    """The pre-C2SP Go tree note has the same three-line shape."""
    data = vectors(shared_data, "transcribed/go-sumdb-tlog-notes.json")
    tree = data["format_tree"]
    checkpoint = Checkpoint(
        "go.sum database tree", tree["tree_size"], base64.b64decode(tree["hash_b64"])
    )
    assert checkpoint.body() == tree["golden_text"]
    assert parse_checkpoint(tree["golden_text"], origin="go.sum database tree") == checkpoint
    assert checkpoint.root_hash == hashlib.sha256(b"\x00hello world").digest()
    for bad in data["parse_must_fail"]:
        with pytest.raises(InvalidCheckpointError):
            parse_checkpoint(bad, origin="go.sum database tree")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (f"o\n015\n{ROOT}\n", "leading zeros"),
        (f"o\n+15\n{ROOT}\n", "leading zeros"),
        (f"o\n1_5\n{ROOT}\n", "leading zeros"),
        (f"o\n\u0661\n{ROOT}\n", "leading zeros"),
        (f"o\n 15\n{ROOT}\n", "leading zeros"),
        (f"o\n-1\n{ROOT}\n", "leading zeros"),
        (f"o\n{2**64}\n{ROOT}\n", "exceeds"),
        (f"o\n15\n{ROOT31}\n", "32 bytes"),
        (f"o\n15\n{ROOT}", "newline"),
        (f"o\n15\n{ROOT}\n\next\n", "non-empty"),
        ("o\n15\n", "origin, size and root"),
        (f"\n15\n{ROOT}\n", "non-empty"),
        (f"o\n15\n{ROOT[:-1]}!\n", "base64"),
        (f"o\n15\n{ROOT[:-1]}\n", "base64"),
        (f"o\t1\n15\n{ROOT}\n", "cannot be a note text"),
    ],
)
def test_malformed_checkpoints_are_rejected(text: str, reason: str) -> None:
    with pytest.raises(InvalidCheckpointError, match=reason):
        parse_checkpoint(text)


def test_extension_lines_round_trip_and_are_signed() -> None:
    signer = NoteSigner("customs.example/log", b"\x05" * 32)
    checkpoint = Checkpoint("customs.example/log", 42, bytes(range(32)), ("ext one", "ext 2"))
    note = sign_checkpoint(checkpoint, [signer])
    parsed, _ = verify_checkpoint(note, [signer.verifier], origin="customs.example/log")
    assert parsed == checkpoint
    with pytest.raises(InvalidSignatureError):
        verify_checkpoint(note.replace("ext 2", "ext 3"), [signer.verifier])


def test_wrong_origin_is_refused_even_when_signed() -> None:
    signer = NoteSigner("customs.example/log", b"\x05" * 32)
    note = sign_checkpoint(Checkpoint("customs.example/log", 1, bytes(32)), [signer])
    with pytest.raises(InvalidCheckpointError, match="expected"):
        verify_checkpoint(note, [signer.verifier], origin="other.example/log")
    signed = parse_signed_checkpoint(note)
    with pytest.raises(InvalidCheckpointError, match="expected"):
        verify_checkpoint(signed, [signer.verifier], origin="other.example/log")
    assert verify_checkpoint(signed, [signer.verifier])[0].size == 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"origin": "", "size": 1, "root_hash": bytes(32)},
        {"origin": "a\nb", "size": 1, "root_hash": bytes(32)},
        {"origin": "o", "size": -1, "root_hash": bytes(32)},
        {"origin": "o", "size": MAX_TREE_SIZE + 1, "root_hash": bytes(32)},
        {"origin": "o", "size": 1, "root_hash": bytes(31)},
        {"origin": "o", "size": 1, "root_hash": bytes(32), "extensions": ("",)},
    ],
)
def test_checkpoint_values_are_validated(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidCheckpointError):
        Checkpoint(**kwargs)  # type: ignore[arg-type]


def test_parse_decimal_is_plain_ascii() -> None:
    assert parse_decimal("0", "n") == 0
    assert parse_decimal("18446744073709551615", "n") == MAX_TREE_SIZE
    for bad in ("", "00", "1e3", "\uff11", "0x1"):
        with pytest.raises(InvalidCheckpointError):
            parse_decimal(bad, "n")


@given(
    origin=st.text(
        alphabet=st.characters(min_codepoint=0x20, exclude_categories=("Cs",)),
        min_size=1,
        max_size=40,
    ),
    size=st.integers(0, MAX_TREE_SIZE),
    root=st.binary(min_size=32, max_size=32),
    extensions=st.lists(
        st.text(alphabet=st.characters(min_codepoint=0x20, exclude_categories=("Cs",)), min_size=1),
        max_size=3,
    ),
)
def test_checkpoint_text_round_trips(
    origin: str, size: int, root: bytes, extensions: list[str]
) -> None:
    checkpoint = Checkpoint(origin, size, root, tuple(extensions))
    assert parse_checkpoint(checkpoint.body()) == checkpoint


@settings(max_examples=400)
@given(st.text(max_size=200))
def test_fuzzed_checkpoints_raise_only_coded_errors(text: str) -> None:
    with contextlib.suppress(InvalidCheckpointError):
        parse_checkpoint(text)
    with contextlib.suppress(InvalidCheckpointError, InvalidNoteError):
        parse_signed_checkpoint(text + "\n\u2014 k AAAAAQID\n")
