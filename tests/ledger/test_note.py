"""Signed notes (C2SP signed-note) and Ed25519 note keys: vectors, framing, trust, rotation."""

from __future__ import annotations

import base64
import contextlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartcustoms.errors import InvalidKeyError, InvalidNoteError, InvalidSignatureError
from smartcustoms.ledger.keys import (
    KEY_LIST_HEADER,
    NoteSigner,
    NoteVerifier,
    encode_vkey,
    key_id,
    parse_skey,
    parse_vkey,
    publish_verifier_keys,
    read_verifier_keys,
)
from smartcustoms.ledger.note import (
    MAX_SIGNATURES,
    Note,
    NoteSignature,
    format_note,
    parse_note,
    sign_note,
    verify_note,
)

from ._vectors import vectors

PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"


def _signer(name: str, byte: int) -> NoteSigner:
    return NoteSigner(name, bytes([byte]) * 32)


# -- upstream vectors ----------------------------------------------------------------------


def test_every_valid_signed_note_vector_verifies(shared_data: Path) -> None:
    """Every note of signed-note-vectors.json verifies with its published vkey."""
    data = vectors(shared_data, "transcribed/signed-note-vectors.json")
    checked = 0
    for vector in data["vectors"]:
        if "note" not in vector:
            continue
        verified = verify_note(vector["note"], [parse_vkey(vector["vkey"])])
        assert verified.text == vector.get("text", verified.text)
        assert verified.verified[0].name == parse_vkey(vector["vkey"]).name
        checked += 1
    assert checked == 3


def test_signing_reproduces_the_go_note_byte_for_byte(shared_data: Path) -> None:
    """Ed25519 is deterministic: signing the text with the skey gives the golden note."""
    data = vectors(shared_data, "transcribed/signed-note-vectors.json")
    vector = next(v for v in data["vectors"] if v["id"] == "go-note-peterneumann")
    signer = parse_skey(vector["skey"])
    assert signer.verifier.vkey == vector["vkey"]
    assert sign_note(vector["text"], [signer]) == vector["note"]
    assert signer.skey == vector["skey"]


def test_unknown_signer_is_ignored_but_kept(shared_data: Path) -> None:
    """The EnochRoot signature is from an unknown key: ignored, the note still verifies."""
    data = vectors(shared_data, "transcribed/signed-note-vectors.json")
    vector = next(v for v in data["vectors"] if v["id"] == "go-note-two-signers")
    verified = verify_note(vector["note"], [parse_vkey(vector["vkey"])])
    assert [s.name for s in verified.verified] == ["PeterNeumann"]
    assert [s.name for s in verified.unverified] == ["EnochRoot"]
    # With only the unknown key's name known under another key, nothing verifies.
    with pytest.raises(InvalidSignatureError):
        verify_note(vector["note"], [_signer("EnochRoot", 9).verifier])


def test_upstream_invalid_vkeys_are_rejected(shared_data: Path) -> None:
    data = vectors(shared_data, "transcribed/signed-note-vectors.json")
    bad = next(v for v in data["vectors"] if v["id"] == "go-note-bad-vkeys")["invalid_vkeys"]
    for vkey in bad:
        with pytest.raises(InvalidKeyError):
            parse_vkey(vkey)


def test_every_substring_and_byte_increment_of_a_vkey_is_rejected() -> None:
    """As Go's TestNewVerifier: no proper substring and no single-byte change parses."""
    assert parse_vkey(PETER_VKEY).name == "PeterNeumann"
    for start in range(len(PETER_VKEY)):
        for end in range(start, len(PETER_VKEY) + 1):
            if (start, end) == (0, len(PETER_VKEY)):
                continue
            piece = PETER_VKEY[start:end]
            if piece.strip() == PETER_VKEY:
                continue
            with pytest.raises(InvalidKeyError):
                parse_vkey(piece)
    for i in range(len(PETER_VKEY)):
        changed = PETER_VKEY[:i] + chr(ord(PETER_VKEY[i]) + 1) + PETER_VKEY[i + 1 :]
        with pytest.raises(InvalidKeyError):
            parse_vkey(changed)


def test_c2sp_checkpoint_example_signature_line_decodes(shared_data: Path) -> None:
    """The spec's example (key unpublished) parses: key id 033de0ae, 64-byte signature."""
    example = vectors(shared_data, "transcribed/c2sp-format-examples.json")
    note = parse_note(example["tlog_checkpoint_example"]["note"])
    (signature,) = note.signatures
    assert f"{signature.key_id:08x}" == "033de0ae"
    assert len(signature.signature) == 64
    assert format_note(note) == example["tlog_checkpoint_example"]["note"]


# -- key strings ---------------------------------------------------------------------------


def test_key_id_is_the_truncated_hash_of_name_type_and_key() -> None:
    verifier = parse_vkey(PETER_VKEY)
    assert verifier.key_id == 0xC74F20A3 == key_id("PeterNeumann", 1, verifier.public_key)
    assert key_id("PeterNeumann", 4, verifier.public_key) != verifier.key_id


def test_wrong_key_length_with_a_matching_id_is_rejected() -> None:
    vkey = encode_vkey("short", 1, b"\x01" * 31)
    with pytest.raises(InvalidKeyError, match="32 bytes"):
        parse_vkey(vkey)


@pytest.mark.parametrize(
    "skey",
    [
        "PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AoEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        "PRIVATE+KEY+PeterNeumann+c74f20a3",
        "PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        "PRIVATE+KEY+Peter Neumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
    ],
)
def test_malformed_signer_keys_are_rejected(skey: str) -> None:
    with pytest.raises(InvalidKeyError):
        parse_skey(skey)


@pytest.mark.parametrize("name", ["", "a b", "a+b", "tab\there", "nbsp\u00a0x"])
def test_key_names_must_be_non_empty_without_spaces_or_plus(name: str) -> None:
    with pytest.raises(InvalidKeyError):
        NoteSigner(name, b"\x01" * 32)


def test_signer_repr_does_not_leak_the_seed() -> None:
    signer = _signer("secret.example/k", 7)
    assert "07070707" not in repr(signer)
    assert str(bytes([7]) * 32) not in repr(signer)


# -- framing -------------------------------------------------------------------------------

_GOOD = "hello\n\n\u2014 k AAAAAQID\n"


@pytest.mark.parametrize(
    ("note", "reason"),
    [
        ("hello\n\n\u2014 k AAAAAQID", "newline"),
        ("hello\n\u2014 k AAAAAQID\n", "blank line"),
        ("hello\n\n", "no signature"),
        ("hello\n\n\n", "no signature"),
        ("hel\tlo\n\n\u2014 k AAAAAQID\n", "control"),
        ("hello\r\n\n\u2014 k AAAAAQID\n", "control"),
        ("hello\n\n- k AAAAAQID\n", "em dash"),
        ("hello\n\n\u2014 kAAAAAQID\n", "no signature after"),
        ("hello\n\n\u2014  AAAAAQID\n", "key name"),
        ("hello\n\n\u2014 k+x AAAAAQID\n", "key name"),
        ("hello\n\n\u2014 k AAAAAQ==\n", "shorter"),
        ("hello\n\n\u2014 k AAAAAQI\n", "base64"),
        ("hello\n\n\u2014 k AAAAAQJ=\n", "canonical"),
        ("hello\n\n\u2014 k AAAA AQID\n", "base64"),
        ("\n\u2014 k AAAAAQID\n", "blank line"),
    ],
)
def test_malformed_notes_are_rejected(note: str, reason: str) -> None:
    with pytest.raises(InvalidNoteError, match=reason):
        parse_note(note)


def test_framing_accepts_blank_lines_in_the_text_and_splits_at_the_last() -> None:
    note = parse_note("a\n\nb\n\n\n\u2014 k AAAAAQID\n")
    assert note.text == "a\n\nb\n\n"
    assert parse_note(_GOOD).signatures == (NoteSignature("k", 1, b"\x02\x03"),)


def test_invalid_utf8_bytes_are_rejected() -> None:
    with pytest.raises(InvalidNoteError, match="UTF-8"):
        parse_note(b"caf\xe9\n\n\xe2\x80\x94 k AAAAAQID\n")
    assert parse_note(_GOOD.encode()).text == "hello\n"


def test_too_many_signatures_are_rejected() -> None:
    block = "".join(f"\u2014 k{i} AAAAAQID\n" for i in range(MAX_SIGNATURES + 1))
    with pytest.raises(InvalidNoteError, match="more than"):
        parse_note("t\n\n" + block)
    assert len(parse_note("t\n\n" + block[: block.rfind("\u2014")]).signatures) == MAX_SIGNATURES


@pytest.mark.parametrize("text", ["", "no newline", "tab\tthere\n", "nul\x00\n"])
def test_signing_refuses_invalid_texts(text: str) -> None:
    with pytest.raises(InvalidNoteError):
        sign_note(text, [_signer("k", 1)])


# -- trust rules ---------------------------------------------------------------------------


def test_a_failing_signature_from_a_known_key_rejects_the_note() -> None:
    signer = _signer("log.example/a", 1)
    note = sign_note("checkpoint\n", [signer])
    tampered = note.replace("checkpoint", "checkpoinT")
    with pytest.raises(InvalidSignatureError, match="does not verify"):
        verify_note(tampered, [signer.verifier])


def test_name_or_id_alone_does_not_make_a_key_known() -> None:
    """A signature sharing only the name, or only the key id, of a known key is ignored."""
    real = _signer("log.example/a", 1)
    impostor = _signer("log.example/a", 2)  # same name, other key -> other key id
    note = sign_note("text\n", [impostor])
    with pytest.raises(InvalidSignatureError, match="not signed by any known key"):
        verify_note(note, [real.verifier])
    forged_line = NoteSignature("log.example/b", real.key_id, b"\x00" * 64).line()
    note2 = sign_note("text\n", [real]) + forged_line
    verified = verify_note(note2, [real.verifier])
    assert [s.name for s in verified.unverified] == ["log.example/b"]


def test_no_verifiers_means_no_trust() -> None:
    with pytest.raises(InvalidSignatureError):
        verify_note(sign_note("x\n", [_signer("k", 1)]), [])


def test_ambiguous_verifiers_are_refused() -> None:
    a = NoteVerifier("k", _signer("k", 1).public_key)
    forged = object.__new__(NoteVerifier)
    object.__setattr__(forged, "name", "k")
    object.__setattr__(forged, "public_key", _signer("k", 2).public_key)
    object.__setattr__(forged, "key_id", a.key_id)
    with pytest.raises(InvalidKeyError, match="ambiguous"):
        verify_note(sign_note("x\n", [_signer("k", 1)]), [a, forged])


def test_adding_signatures_keeps_the_existing_ones() -> None:
    first, second = _signer("a", 1), _signer("b", 2)
    note = sign_note("body\n", [first])
    both = sign_note("body\n", [second], existing=note)
    assert [s.name for s in parse_note(both).signatures] == ["a", "b"]
    assert sign_note("body\n", [first], existing=both) == both  # re-signing replaces
    with pytest.raises(InvalidNoteError, match="another text"):
        sign_note("other\n", [second], existing=note)


# -- rotation ------------------------------------------------------------------------------


def test_rotation_overlap_verifies_with_either_key_set() -> None:
    """During a rotation the log signs with both keys; old and new clients both accept."""
    old, new = _signer("customs.example/log", 1), _signer("customs.example/log", 2)
    assert old.key_id != new.key_id
    note = sign_note("customs.example/log\n5\n" + "A" * 43 + "=\n", [old, new])
    assert verify_note(note, [old.verifier]).verified[0].key_id == old.key_id
    assert verify_note(note, [new.verifier]).verified[0].key_id == new.key_id
    assert len(verify_note(note, [old.verifier, new.verifier]).verified) == 2
    after = sign_note("customs.example/log\n6\n" + "A" * 43 + "=\n", [new])
    with pytest.raises(InvalidSignatureError):
        verify_note(after, [old.verifier])


def test_published_key_list_introduces_the_new_key_to_old_clients() -> None:
    old, new = _signer("customs.example/log", 1), _signer("customs.example/log", 2)
    published = publish_verifier_keys([old.verifier, new.verifier], [old, new])
    assert published.startswith(KEY_LIST_HEADER + "\n")
    learned = read_verifier_keys(published, [old.verifier])
    assert learned == (old.verifier, new.verifier)
    assert read_verifier_keys(published, [new.verifier]) == learned
    stranger = _signer("mallory.example/log", 3)
    forged = publish_verifier_keys([stranger.verifier], [stranger])
    with pytest.raises(InvalidSignatureError):
        read_verifier_keys(forged, [old.verifier])
    with pytest.raises(InvalidNoteError, match="starts with"):
        read_verifier_keys(sign_note("not a list\n", [old]), [old.verifier])


# -- properties ----------------------------------------------------------------------------

_text_line = st.text(
    alphabet=st.characters(min_codepoint=0x20, exclude_categories=("Cs",)), max_size=30
)
_name = st.text(
    alphabet=st.characters(min_codepoint=0x21, exclude_categories=("Cs", "Zs", "Zl", "Zp")),
    min_size=1,
    max_size=20,
).filter(lambda n: "+" not in n and not any(c.isspace() for c in n))


@given(
    lines=st.lists(_text_line, min_size=1, max_size=6),
    signatures=st.lists(
        st.tuples(_name, st.integers(0, 2**32 - 1), st.binary(min_size=1, max_size=80)),
        min_size=1,
        max_size=5,
    ),
)
def test_parse_and_format_round_trip(
    lines: list[str], signatures: list[tuple[str, int, bytes]]
) -> None:
    note = Note("".join(x + "\n" for x in lines), tuple(NoteSignature(*s) for s in signatures))
    text = format_note(note)
    assert parse_note(text) == note
    assert parse_note(text.encode("utf-8")) == note


@settings(max_examples=400)
@given(st.one_of(st.text(max_size=300), st.binary(max_size=300)))
def test_fuzzed_notes_raise_only_note_errors(data: str | bytes) -> None:
    with contextlib.suppress(InvalidNoteError):
        parse_note(data)


@settings(max_examples=300)
@given(st.text(alphabet="\u2014 \nkAQIDab+/=0", max_size=60))
def test_fuzzed_note_like_texts_raise_only_note_errors(tail: str) -> None:
    try:
        note = parse_note("t\n\n" + tail)
    except InvalidNoteError:
        return
    assert format_note(note) == "t\n\n" + tail


@settings(max_examples=300)
@given(st.text(max_size=120))
def test_fuzzed_vkeys_raise_only_key_errors(vkey: str) -> None:
    with contextlib.suppress(InvalidKeyError):
        parse_vkey(vkey)
    with contextlib.suppress(InvalidKeyError):
        parse_skey("PRIVATE+KEY+" + vkey)


def test_signature_line_is_standard_base64_of_id_and_signature() -> None:
    line = NoteSignature("k", 0x01020304, b"\xff\xfe").line()
    assert line == "\u2014 k " + base64.b64encode(b"\x01\x02\x03\x04\xff\xfe").decode() + "\n"
