"""A process dying mid-run loses nothing that was reported stored, and a re-run completes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from smartcustoms.config import load_settings
from smartcustoms.platform import SmartCustoms
from smartcustoms.store.bulk import BulkWriter
from smartcustoms.testing import make_filing, write_jsonl


class CrashError(RuntimeError):
    pass


def test_failed_chunk_is_rolled_back_and_rerun_completes(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_jsonl(tmp_path / "in.jsonl", [make_filing(f"F{i}") for i in range(10)])
    platform = SmartCustoms(load_settings(database_url=database_url, chunk_size=3))
    original = BulkWriter.insert
    calls = {"goods_items": 0}

    def flaky(self: BulkWriter, table: str, frame: Any) -> int:
        if table == "goods_items":
            calls["goods_items"] += 1
            if calls["goods_items"] == 3:  # third chunk dies after writing filings
                raise CrashError("power cut")
        return original(self, table, frame)

    monkeypatch.setattr(BulkWriter, "insert", flaky)
    with pytest.raises(CrashError):
        platform.clear([path])
    counts = platform.store.counts()
    # chunks 1 and 2 (6 filings) are whole; nothing of chunk 3 remains
    assert counts["filings"] == counts["consignments"] == 6
    assert counts["goods_items"] == 12
    assert counts["lifecycle_events"] == 12
    monkeypatch.setattr(BulkWriter, "insert", original)
    summary = platform.clear([path])
    assert (summary.accepted, summary.duplicates, summary.quarantined) == (10, 6, 0)
    assert platform.store.counts()["consignments"] == 10
    platform.store.dispose()
