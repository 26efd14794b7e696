"""Property: whatever the input, accepted + quarantined = received, and nothing is lost."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartcustoms.config import load_settings
from smartcustoms.platform import SmartCustoms
from smartcustoms.testing import make_filing


def _corrupt(kind: str, n: int, noise: bytes) -> bytes:
    good = orjson.dumps(make_filing(f"F{n}"))
    match kind:
        case "good":
            return good
        case "cut":
            return good[: max(1, len(good) // 2)]
        case "noise":
            return noise.replace(b"\n", b" ").replace(b"\r", b" ") or b"?"
        case "latin1":
            return good.replace(b"T-shirt", "T-shirt \xe9t\xe9".encode("latin-1"))
        case "array":
            return b"[" + good + b"]"
        case "wrong_types":
            f = make_filing(f"F{n}")
            f["consignments"][0]["items"][0]["value"] = {"x": 1}
            f["consignments"][0]["items"][1]["value"] = 7
            return orjson.dumps(f)
        case "missing":
            f = make_filing(f"F{n}")
            del f["consignments"][0]["currency"]
            return orjson.dumps(f)
        case "duplicate":
            return orjson.dumps(make_filing("F0"))
        case _:
            raise AssertionError(kind)


KINDS = st.sampled_from(
    ["good", "cut", "noise", "latin1", "array", "wrong_types", "missing", "duplicate"]
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(st.tuples(KINDS, st.binary(max_size=40)), min_size=1, max_size=25),
    trailing_newline=st.booleans(),
    chunk_size=st.sampled_from([1, 3, 50]),
)
def test_accepted_plus_quarantined_is_received(
    lines: list[tuple[str, bytes]], trailing_newline: bool, chunk_size: int
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "in.jsonl"
        body = b"\n".join(_corrupt(kind, i, noise) for i, (kind, noise) in enumerate(lines))
        path.write_bytes(body + (b"\n" if trailing_newline else b""))
        platform = SmartCustoms(
            load_settings(database_url=f"sqlite:///{tmp}/t.db", chunk_size=chunk_size)
        )
        out = Path(tmp) / "results.jsonl"
        summary = platform.clear([path], out=out)
        non_blank = [ln for ln in body.split(b"\n") if ln.strip()]
        assert summary.received == len(non_blank)
        assert summary.accepted + summary.quarantined == summary.received
        results = [json.loads(r) for r in out.read_text().splitlines()]
        records = {r["record"] for r in results}
        assert records == set(range(summary.received))
        stored = platform.store.counts()
        assert stored["filings"] == summary.accepted - summary.duplicates
        entries = list(platform.store.iter_quarantine())
        # identical bad lines share one entry; every quarantined record points at one
        quarantined_ids = {r["quarantine_id"] for r in results if r["status"] == "quarantined"}
        assert quarantined_ids == {e.quarantine_id for e in entries}
        platform.store.dispose()


def test_regression_multi_part_chunk_with_duplicates(tmp_path: Path) -> None:
    """A chunk parsed in several parts (bad lines between good ones) with repeated filings.

    Found by the property above: Polars panicked on the duplicate check over columns
    concatenated from several parts.
    """
    kinds = ["good", "good", "duplicate", "noise", "cut", "good", "array", "duplicate"] * 3
    body = b"\n".join(_corrupt(k, i, b"\xff\x00junk") for i, k in enumerate(kinds))
    path = tmp_path / "in.jsonl"
    path.write_bytes(body + b"\n")
    platform = SmartCustoms(load_settings(database_url=f"sqlite:///{tmp_path}/t.db"))
    summary = platform.clear([path])
    assert summary.received == len(kinds)
    assert summary.accepted + summary.quarantined == summary.received
    platform.store.dispose()
