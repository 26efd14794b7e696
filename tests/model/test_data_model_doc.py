"""docs/data-model.md lists every canonical column with its WCO mapping."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from smartcustoms.model import CONSIGNMENT_SCHEMA, ITEM_SCHEMA, Filing, column_catalogue

DOC = Path(__file__).resolve().parents[2] / "docs" / "data-model.md"


def test_every_column_is_documented_with_its_mapping() -> None:
    text = DOC.read_text()
    for col in column_catalogue():
        line = next((ln for ln in text.splitlines() if ln.startswith(f"| `{col.name}` |")), None)
        assert line is not None, f"{col.name} missing from docs/data-model.md"
        assert f"`{col.record_path}`" in line
        if col.wco_id:
            assert col.wco_id in line


def test_schemas_are_derived_from_the_records() -> None:
    names = [c.name for c in column_catalogue()]
    assert list(CONSIGNMENT_SCHEMA)[:2] == ["filing_id", "consignment_id"]
    assert set(CONSIGNMENT_SCHEMA) | set(ITEM_SCHEMA) == set(names)
    assert CONSIGNMENT_SCHEMA["total_value"] == pl.Decimal(18, 4)
    assert "seller_country" in CONSIGNMENT_SCHEMA


def test_record_form_round_trips_the_factory() -> None:
    from smartcustoms.testing import make_filing

    filing = Filing.model_validate(make_filing(items=3))
    assert len(filing.consignments[0].items) == 3
