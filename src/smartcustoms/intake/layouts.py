"""Built-in layouts of nested input formats: WCO-DM JSON filings and postal item data."""

from __future__ import annotations

from typing import Final

from smartcustoms.intake._nested import NestedLayout
from smartcustoms.model.columns import column_catalogue

__all__ = ["POSTAL_LAYOUT", "WCO_JSON_LAYOUT"]

_PARTY_FIELDS: Final = {f: f for f in ("id", "name", "street", "city", "postcode", "country")}


def _wco_layout() -> NestedLayout:
    """The JSON filing shape is the record model itself: every key is the field's name."""
    filing: dict[str, str] = {}
    consignment: dict[str, str] = {}
    item: dict[str, str] = {}
    for col in column_catalogue():
        if "." in col.record_path.replace("consignments[].", "").replace("items[].", ""):
            continue  # party fields, handled through the party roles
        if col.frame == "items":
            item[col.name] = col.name
        elif col.record_path.startswith("consignments[]."):
            consignment[col.name] = col.name
        else:
            filing[col.name] = col.name
    return NestedLayout(
        name="wco-json",
        filing=filing,
        filing_parties={"filer": "filer"},
        consignments_key="consignments",
        consignment=consignment,
        consignment_parties={r: r for r in ("seller", "buyer", "importer", "carrier")},
        party=_PARTY_FIELDS,
        items_key="items",
        item=item,
    )


WCO_JSON_LAYOUT: Final = _wco_layout()
"""Filings on WCO Data Model terms, shaped like :class:`smartcustoms.model.Filing`."""

POSTAL_LAYOUT: Final = NestedLayout(
    name="postal",
    filing={"filing_id": "item_id", "filed_at": "posted_at"},
    filing_parties={"filer": "postal_operator"},
    consignments_key=None,
    consignment={
        "consignment_id": "item_id",
        "postal_item_id": "item_id",
        "postal_receptacle_id": "receptacle_id",
        "office_of_arrival": "destination_office",
        "expected_arrival_at": "expected_arrival",
        "country_of_dispatch": "dispatch_country",
        "country_of_destination": "destination_country",
        "currency": "currency",
        "total_value": "total_value",
        "transport_cost": "postage",
        "insurance_cost": "insurance",
        "total_gross_mass_kg": "gross_weight_kg",
        "total_packages": "pieces",
        "ioss_number": "ioss_number",
        "marketplace_order_ref": "order_ref",
    },
    consignment_parties={"seller": "sender", "buyer": "addressee", "carrier": "postal_operator"},
    party={
        "id": "id",
        "name": "name",
        "street": "street",
        "city": "city",
        "postcode": "postcode",
        "country": "country",
    },
    items_key="contents",
    item={
        "description": "description",
        "hs_code": "hs_tariff_number",
        "origin_country": "origin_country",
        "quantity": "quantity",
        "net_mass_kg": "net_weight_kg",
        "value": "value",
    },
    static={"transport_mode": "5", "filer_role": "postal_operator"},
)
"""Postal item data shaped like UPU ITMATT / CN23 content (one item per record).

Keys: ``item_id`` (UPU S10), ``posted_at``, ``postal_operator``, ``receptacle_id``,
``destination_office``, ``expected_arrival``, ``dispatch_country``, ``destination_country``,
``currency``, ``total_value``, ``postage``, ``insurance``, ``gross_weight_kg``, ``pieces``,
``ioss_number``, ``order_ref``, ``sender`` and ``addressee`` (party objects) and ``contents``:
lines with ``description``, ``hs_tariff_number``, ``origin_country``, ``quantity``,
``net_weight_kg`` and ``value``. The item id is both the filing id and the consignment id.
"""
