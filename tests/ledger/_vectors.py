"""Shared-data helpers for the ledger format tests (signed notes, checkpoints, proofs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TESTLOG_ORIGIN = "example.com/log/testdata"
TESTLOG_VKEY = "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx"
TESTLOG_SKEY = (
    "PRIVATE+KEY+example.com/log/testdata+33d7b496+AeymY/SZAX0jZcJ8enZ5FY1Dz+wTML2yWSkK+9DSF3eg"
)


def vectors(shared_data: Path, relative: str) -> Any:
    """Load one JSON vector file from ``merkle-vectors``."""
    return json.loads((shared_data / "merkle-vectors" / relative).read_text(encoding="utf-8"))


def upstream_checkpoint(shared_data: Path, size: int) -> str:
    """The upstream signed checkpoint of the Tessera test log at ``size``."""
    path = shared_data / "merkle-vectors" / "tessera-tlog-tiles-testlog" / "log"
    return (path / f"checkpoint.{size}").read_text(encoding="utf-8")
