"""The columnar form of the canonical model, derived from :mod:`smartcustoms.model.records`.

Two frames carry a batch of filings through every stage:

* **consignments** - one row per consignment. Filing-level fields (``filing_id``,
  ``filed_at``, ``filer_role``, ``filer_*``) are repeated on each consignment of the filing;
  nested parties are flattened with their role as prefix (``seller_id``, ``buyer_country``).
* **items** - one row per goods item, keyed by ``consignment_id`` + ``item_no``.

The schemas below are computed from the pydantic classes, so adding a field to a record adds
the column. Column names used in code are the constants of this module, never string literals.

Money is ``Decimal(18, 4)`` (exact; amounts with more than four decimals are rounded half-even
on intake, which no invoice needs). Masses and quantities are ``Float64``. Datetimes are
timezone-aware UTC.
"""

from __future__ import annotations

import types
import typing
from datetime import datetime
from decimal import Decimal
from typing import Any, Final, get_args, get_origin

import polars as pl
from pydantic import BaseModel

from smartcustoms.model.records import Consignment, Filing, GoodsItem, Party

__all__ = [
    "BUYER_COUNTRY",
    "BUYER_ID",
    "CONSIGNMENT_ID",
    "CONSIGNMENT_SCHEMA",
    "COUNTRY_OF_DESTINATION",
    "COUNTRY_OF_DISPATCH",
    "CURRENCY",
    "DESCRIPTION",
    "EXPECTED_ARRIVAL_AT",
    "FILED_AT",
    "FILER_ID",
    "FILER_ROLE",
    "FILING_ID",
    "GROSS_MASS_KG",
    "HS_CODE",
    "INSURANCE_COST",
    "IOSS_NUMBER",
    "ITEM_NO",
    "ITEM_SCHEMA",
    "MONEY",
    "NET_MASS_KG",
    "OFFICE_OF_ARRIVAL",
    "ORIGIN_COUNTRY",
    "PARTY_ROLES",
    "POSTAL_ITEM_ID",
    "QUANTITY",
    "QUANTITY_UNIT",
    "RECORD",
    "SELLER_COUNTRY",
    "SELLER_ID",
    "TIMESTAMP",
    "TOTAL_GROSS_MASS_KG",
    "TOTAL_VALUE",
    "TRANSPORT_COST",
    "TRANSPORT_MODE",
    "VALUE",
    "ColumnInfo",
    "column_catalogue",
    "empty_consignments",
    "empty_items",
]

MONEY: Final = pl.Decimal(18, 4)
"""Polars dtype of every monetary amount."""

TIMESTAMP: Final = pl.Datetime("us", "UTC")
"""Polars dtype of every point in time."""

RECORD: Final = "_record"
"""Internal column: index of the raw record (line, document, CSV group) a row came from."""

# Party roles flattened into the consignment frame, in column order.
PARTY_ROLES: Final = ("filer", "seller", "buyer", "importer", "carrier")

FILING_ID: Final = "filing_id"
FILED_AT: Final = "filed_at"
FILER_ROLE: Final = "filer_role"
FILER_ID: Final = "filer_id"
CONSIGNMENT_ID: Final = "consignment_id"
TRANSPORT_MODE: Final = "transport_mode"
POSTAL_ITEM_ID: Final = "postal_item_id"
OFFICE_OF_ARRIVAL: Final = "office_of_arrival"
EXPECTED_ARRIVAL_AT: Final = "expected_arrival_at"
COUNTRY_OF_DISPATCH: Final = "country_of_dispatch"
COUNTRY_OF_DESTINATION: Final = "country_of_destination"
IOSS_NUMBER: Final = "ioss_number"
CURRENCY: Final = "currency"
TOTAL_VALUE: Final = "total_value"
TRANSPORT_COST: Final = "transport_cost"
INSURANCE_COST: Final = "insurance_cost"
TOTAL_GROSS_MASS_KG: Final = "total_gross_mass_kg"
SELLER_ID: Final = "seller_id"
SELLER_COUNTRY: Final = "seller_country"
BUYER_ID: Final = "buyer_id"
BUYER_COUNTRY: Final = "buyer_country"

ITEM_NO: Final = "item_no"
DESCRIPTION: Final = "description"
HS_CODE: Final = "hs_code"
ORIGIN_COUNTRY: Final = "origin_country"
QUANTITY: Final = "quantity"
QUANTITY_UNIT: Final = "quantity_unit"
NET_MASS_KG: Final = "net_mass_kg"
GROSS_MASS_KG: Final = "gross_mass_kg"
VALUE: Final = "value"


class ColumnInfo(typing.NamedTuple):
    """One column of a canonical frame with its provenance.

    Attributes:
        frame: ``consignments`` or ``items``.
        name: Column name.
        dtype: Polars dtype.
        required: Whether a filing is rejected when the value is missing.
        record_path: Dotted path of the field in the JSON/record form (``seller.country``).
        description: What the field means.
        wco_class: WCO Data Model class / attribute.
        wco_id: WCO Data Model element ID, where one exists.
    """

    frame: str
    name: str
    dtype: pl.DataType
    required: bool
    record_path: str
    description: str
    wco_class: str
    wco_id: str


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    """Return ``(inner type, is_optional)`` for ``X | None`` annotations."""
    origin = get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return annotation, False


def _dtype_for(annotation: Any) -> pl.DataType:
    mapping: dict[Any, pl.DataType] = {
        str: pl.String(),
        int: pl.Int64(),
        float: pl.Float64(),
        bool: pl.Boolean(),
        Decimal: MONEY,
        datetime: TIMESTAMP,
    }
    try:
        return mapping[annotation]
    except KeyError:  # pragma: no cover - guarded by test_every_field_maps_to_a_column
        raise TypeError(f"no columnar dtype for {annotation!r}") from None


def _extra(field: Any, key: str) -> str:
    extra = field.json_schema_extra
    return str(extra.get(key, "")) if isinstance(extra, dict) else ""


def _flatten(
    model: type[BaseModel], frame: str, prefix: str, path: str, *, parent_optional: bool
) -> list[ColumnInfo]:
    out: list[ColumnInfo] = []
    for name, field in model.model_fields.items():
        annotation, optional = _unwrap_optional(field.annotation)
        if get_origin(annotation) is list:
            continue  # nested lists (consignments, items) are frames of their own
        record_path = f"{path}{name}"
        if isinstance(annotation, type) and issubclass(annotation, Party):
            out.extend(
                _flatten(
                    annotation,
                    frame,
                    f"{prefix}{name}_",
                    f"{record_path}.",
                    parent_optional=optional or parent_optional,
                )
            )
            continue
        out.append(
            ColumnInfo(
                frame=frame,
                name=f"{prefix}{name}",
                dtype=_dtype_for(annotation),
                required=not optional and not parent_optional,
                record_path=record_path,
                description=field.description or "",
                wco_class=_extra(field, "wco_class"),
                wco_id=_extra(field, "wco_id"),
            )
        )
    return out


def column_catalogue() -> list[ColumnInfo]:
    """Every canonical column with its dtype, requirement and WCO Data Model mapping."""
    filing_cols = _flatten(Filing, "consignments", "", "", parent_optional=False)
    consignment_cols = _flatten(
        Consignment, "consignments", "", "consignments[].", parent_optional=False
    )
    item_cols = _flatten(GoodsItem, "items", "", "consignments[].items[].", parent_optional=False)
    # The filing id comes first, then the consignment id, then everything else in model order.
    return (
        filing_cols[:1]
        + consignment_cols[:1]
        + filing_cols[1:]
        + consignment_cols[1:]
        + (item_cols)
    )


def _schema(frame: str, leading: tuple[tuple[str, pl.DataType], ...] = ()) -> pl.Schema:
    cols = [(c.name, c.dtype) for c in column_catalogue() if c.frame == frame]
    return pl.Schema([*leading, *cols])


CONSIGNMENT_SCHEMA: Final = _schema("consignments")
"""Schema of the consignments frame (filing-level fields repeated per consignment)."""

ITEM_SCHEMA: Final = _schema("items", ((CONSIGNMENT_ID, pl.String()),))
"""Schema of the goods-items frame, keyed by ``consignment_id`` + ``item_no``."""


def empty_consignments() -> pl.DataFrame:
    """An empty consignments frame with the canonical schema."""
    return pl.DataFrame(schema=CONSIGNMENT_SCHEMA)


def empty_items() -> pl.DataFrame:
    """An empty goods-items frame with the canonical schema."""
    return pl.DataFrame(schema=ITEM_SCHEMA)
