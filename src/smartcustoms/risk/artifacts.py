"""Serialising learned references for the store (ZIP: Parquet + JSON, never pickle)."""

from __future__ import annotations

import io
import json
import zipfile

import polars as pl

from smartcustoms.risk.value_controls import ValueReference

__all__ = ["reference_from_bytes", "reference_to_bytes"]


def reference_to_bytes(reference: ValueReference) -> bytes:
    """A value reference as a ZIP archive (``reference.parquet`` + ``reference.json``)."""
    frame = io.BytesIO()
    reference.to_frame().write_parquet(frame)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("reference.parquet", frame.getvalue())
        zf.writestr("reference.json", json.dumps(reference.metadata(), default=str))
    return buf.getvalue()


def reference_from_bytes(data: bytes) -> ValueReference:
    """Rebuild a value reference written by :func:`reference_to_bytes`."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        frame = pl.read_parquet(io.BytesIO(zf.read("reference.parquet")))
        meta = json.loads(zf.read("reference.json"))
    return ValueReference.from_frame(frame, meta)
