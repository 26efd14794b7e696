"""Witness cosignatures (C2SP tlog-cosignature ``cosignature/v1``, Ed25519)."""

from __future__ import annotations

from pathlib import Path

import pytest

from smartcustoms.errors import InvalidKeyError, InvalidNoteError, InvalidSignatureError
from smartcustoms.ledger.checkpoint import Checkpoint, sign_checkpoint
from smartcustoms.ledger.cosignature import (
    CosignatureSigner,
    CosignatureVerifier,
    add_cosignatures,
    cosignature_message,
    parse_cosignature,
    parse_cosigner_vkey,
    verified_cosigners,
)
from smartcustoms.ledger.keys import NoteSigner, parse_skey, parse_vkey
from smartcustoms.ledger.note import NoteSignature, parse_note, sign_note, verify_note

from ._vectors import TESTLOG_VKEY, upstream_checkpoint, vectors


@pytest.fixture
def wit1(shared_data: Path) -> dict[str, object]:
    data: dict[str, object] = vectors(shared_data, "derived/cosignature-v1-ed25519.json")
    return data


def _witness(name: str, byte: int, at: int = 1_700_000_000) -> CosignatureSigner:
    return CosignatureSigner(name, bytes([byte]) * 32, clock=lambda: at)


def test_derived_wit1_cosignature_is_reproduced_byte_for_byte(wit1: dict[str, object]) -> None:
    seed = parse_skey(str(wit1["witness_skey_go_format"])).seed
    signer = CosignatureSigner(str(wit1["witness_name"]), seed, clock=lambda: 1_700_000_000)
    assert signer.verifier.vkey == wit1["cosig_vkey_type04"]
    assert f"{signer.key_id:08x}" == wit1["cosignature_key_id_hex"]
    assert signer.verifier.public_key.hex() == wit1["witness_pubkey_hex"]
    body = str(wit1["checkpoint_body"])
    assert cosignature_message(body, 1_700_000_000).decode() == wit1["signed_message"]
    line = NoteSignature(signer.name, signer.key_id, signer.sign(body.encode())).line()
    assert line == wit1["cosignature_line"]


def test_derived_cosigned_checkpoint_verifies(wit1: dict[str, object], shared_data: Path) -> None:
    note = str(wit1["cosigned_checkpoint"])
    witness = parse_cosigner_vkey(str(wit1["cosig_vkey_type04"]))
    assert verified_cosigners(parse_note(note), [witness]) == {"Wit1": 1_700_000_000}
    # The cosigned note is the upstream checkpoint plus one line; the log key still verifies.
    assert note.startswith(upstream_checkpoint(shared_data, 15))
    verified = verify_note(note, [parse_vkey(TESTLOG_VKEY)])
    assert [s.name for s in verified.unverified] == ["Wit1"]
    # A cosignature verifier is a note verifier too.
    assert [s.name for s in verify_note(note, [witness]).verified] == ["Wit1"]


def test_the_type_01_key_of_the_same_witness_does_not_verify_its_cosignature(
    wit1: dict[str, object],
) -> None:
    """Same name and key material, other type byte: other key id, so the line is unknown."""
    note = parse_note(str(wit1["cosigned_checkpoint"]))
    with pytest.raises(InvalidSignatureError, match="not signed by any known key"):
        verify_note(note, [parse_vkey(str(wit1["note_vkey_type01"]))])


def test_c2sp_example_cosignature_line_decodes(shared_data: Path) -> None:
    example = vectors(shared_data, "transcribed/c2sp-format-examples.json")
    cosig = example["tlog_cosignature_example"]
    checkpoint = example["tlog_checkpoint_example"]["note"]
    note = parse_note(checkpoint + cosig["cosignature_line"])
    decoded = parse_cosignature(note.signatures[1])
    assert f"{decoded.key_id:08x}" == cosig["decoded"]["key_id_hex"]
    assert decoded.timestamp == cosig["decoded"]["timestamp"]
    assert len(decoded.signature) == cosig["decoded"]["ed25519_sig_len"]
    assert (
        cosignature_message(note.text, decoded.timestamp).decode()
        == cosig["signed_message_for_this_cosignature"]
    )


def test_cosignature_rejects_wrong_time_or_text() -> None:
    witness = _witness("w.example/1", 3)
    text = b"o\n1\n" + b"A" * 43 + b"=\n"
    signature = witness.sign(text)
    assert witness.verifier.verify(text, signature)
    later = (1_700_000_001).to_bytes(8, "big") + signature[8:]
    assert not witness.verifier.verify(text, later)
    assert not witness.verifier.verify(text + b"x\n", signature)
    assert not witness.verifier.verify(text, signature[:-1])
    too_late = (2**63).to_bytes(8, "big") + signature[8:]
    assert not witness.verifier.verify(text, too_late)


def test_parse_cosignature_checks_sizes() -> None:
    with pytest.raises(InvalidNoteError, match="72 bytes"):
        parse_cosignature(NoteSignature("w", 1, b"\x00" * 64))
    with pytest.raises(InvalidNoteError, match="2\\^63"):
        parse_cosignature(NoteSignature("w", 1, b"\xff" * 72))


def test_witness_vkeys_must_be_type_04() -> None:
    witness = _witness("w.example/1", 3)
    assert parse_cosigner_vkey(witness.verifier.vkey) == witness.verifier
    with pytest.raises(InvalidKeyError, match="expected 0x04"):
        parse_cosigner_vkey(NoteSigner("w.example/1", b"\x03" * 32).verifier.vkey)
    with pytest.raises(InvalidKeyError, match="expected 0x01"):
        parse_vkey(witness.verifier.vkey)
    with pytest.raises(InvalidKeyError):
        CosignatureVerifier("w", b"\x00" * 31)


def test_quorum_counting_ignores_unknown_and_counts_each_witness_once() -> None:
    log = NoteSigner("log.example", b"\x01" * 32)
    note = sign_checkpoint(Checkpoint("log.example", 3, bytes(32)), [log])
    a, b, stranger = _witness("a", 2, 10), _witness("b", 3, 20), _witness("z", 4)
    a_rotated = _witness("a", 5, 30)
    note = sign_note(parse_note(note).text, [a, b, stranger, a_rotated], existing=note)
    counted = verified_cosigners(parse_note(note), [a.verifier, b.verifier, a_rotated.verifier])
    assert counted == {"a": 30, "b": 20}


def test_a_bad_cosignature_from_a_known_witness_rejects() -> None:
    log = NoteSigner("log.example", b"\x01" * 32)
    note = sign_checkpoint(Checkpoint("log.example", 3, bytes(32)), [log])
    witness = _witness("a", 2)
    forged = NoteSignature("a", witness.key_id, (5).to_bytes(8, "big") + b"\x00" * 64)
    with pytest.raises(InvalidSignatureError, match="witness a"):
        verified_cosigners(parse_note(note + forged.line()), [witness.verifier])


def test_witness_response_lines_merge_into_the_checkpoint() -> None:
    log = NoteSigner("log.example", b"\x01" * 32)
    note = sign_checkpoint(Checkpoint("log.example", 3, bytes(32)), [log])
    text = parse_note(note).text.encode()
    w1, w2 = _witness("w1", 2), _witness("w2", 3)
    response = "".join(NoteSignature(w.name, w.key_id, w.sign(text)).line() for w in (w1, w2))
    merged = add_cosignatures(note, response)
    assert verified_cosigners(parse_note(merged), [w1.verifier, w2.verifier]).keys() == {
        "w1",
        "w2",
    }
    assert add_cosignatures(merged, response) == merged  # idempotent
    with pytest.raises(InvalidNoteError):
        add_cosignatures(note, "not a signature line\n")
