"""The record form of the canonical model: pydantic classes, one per WCO Data Model concept.

These classes are the single source of truth for the canonical model. The columnar (Polars)
schema in :mod:`smartcustoms.model.columns` is *derived* from them, so the two forms cannot
drift. Every field carries a description and, where one exists, its WCO Data Model class and
data element ID (``json_schema_extra={"wco_class": ..., "wco_id": ...}``); ``docs/data-model.md``
is generated from the same metadata.

The shape is also the JSON filing format on "WCO DM terms" that intake reads: a *filing*
carries one or more *consignments*, each with *goods items* and *parties*.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Consignment", "Filing", "GoodsItem", "Party"]


def _wco(
    description: str, wco_class: str, wco_id: str = "", *, required: bool = False, **kwargs: Any
) -> Any:
    """Field with a description and its WCO Data Model mapping (class, element ID).

    Optional fields (``required=False``) default to ``None``.
    """
    if not required:
        kwargs.setdefault("default", None)
    return Field(
        description=description,
        json_schema_extra={"wco_class": wco_class, "wco_id": wco_id},
        **kwargs,
    )


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Party(_Record):
    """A party to a consignment: seller, buyer, importer, carrier or filer.

    For cross-border e-commerce the seller is usually the consignor and the buyer the
    consignee; both are kept under their commercial roles, as the WCO E-Commerce Framework
    asks for the seller and buyer of each transaction.
    """

    id: str | None = _wco(
        "Operator identifier (EORI, TIN, marketplace seller id, postal customer id).",
        "Party/Identification",
    )
    name: str | None = _wco("Name of the party.", "Party/Name")
    street: str | None = _wco("Street and number.", "Party/Address/Line")
    city: str | None = _wco("City.", "Party/Address/CityName")
    postcode: str | None = _wco("Postcode.", "Party/Address/PostcodeID")
    country: str | None = _wco("ISO 3166-1 alpha-2 country code.", "Party/Address/CountryCode")


class GoodsItem(_Record):
    """One line of goods in a consignment, classified and valued."""

    item_no: int = _wco(
        "Sequence number of the item within its consignment, from 1.",
        "GovernmentAgencyGoodsItem/SequenceNumeric",
        "006",
        ge=1,
        required=True,
    )
    description: str = _wco(
        "Plain-language description of the goods, precise enough to classify them.",
        "Commodity/Description",
        required=True,
    )
    hs_code: str = _wco(
        "Tariff classification: HS 2022 code, 6 digits, or a national 8-10 digit line.",
        "Commodity/Classification (21A)",
        required=True,
    )
    origin_country: str = _wco(
        "Country of origin, ISO 3166-1 alpha-2.", "Origin (92A)/CountryCode", required=True
    )
    quantity: float | None = _wco(
        "Quantity in the unit given by quantity_unit.", "GoodsMeasure/TariffQuantity"
    )
    quantity_unit: str | None = _wco(
        "Unit of the quantity (UN/ECE Rec. 20 code, e.g. H87 piece, LTR litre).",
        "GoodsMeasure/TariffQuantity@unitCode",
    )
    net_mass_kg: float | None = _wco(
        "Net mass in kilograms.", "GoodsMeasure/NetNetWeightMeasure", "128"
    )
    gross_mass_kg: float | None = _wco("Gross mass in kilograms.", "GoodsMeasure/GrossMassMeasure")
    value: Decimal = _wco(
        "Invoice value of the item in the consignment currency.",
        "CustomsValuation (41A)/ItemChargeAmount",
        required=True,
    )


class Consignment(_Record):
    """Goods moving together from one seller to one buyer under one transport document."""

    consignment_id: str = _wco(
        "The filer's unique reference for the consignment (house document or order level).",
        "Consignment/ID",
        required=True,
    )
    transport_mode: str | None = _wco(
        "Mode of transport at the border, UN/ECE Rec. 19 code (1 sea, 3 road, 4 air, 5 post).",
        "BorderTransportMeans/ModeCode",
        "T022",
    )
    transport_document_id: str | None = _wco(
        "House transport document (house air waybill, bill of lading, CMR) reference.",
        "TransportContractDocument/ID",
        "D014",
    )
    master_transport_document_id: str | None = _wco(
        "Master transport document (master air waybill, master bill of lading).",
        "MasterTransportContractDocument/ID",
    )
    postal_receptacle_id: str | None = _wco(
        "UPU receptacle identifier of the mail bag the item travels in.",
        "TransportEquipment/ID (31B)",
    )
    postal_item_id: str | None = _wco(
        "UPU S10 item identifier, e.g. RR123456785CN.", "Consignment/PostalItemID"
    )
    office_of_arrival: str | None = _wco(
        "Customs office of first arrival.", "ArrivalTransportMeans/OfficeID"
    )
    location_of_goods: str | None = _wco(
        "Where the goods can be examined.", "GoodsLocation/ID", "L017"
    )
    expected_arrival_at: datetime | None = _wco(
        "Expected date and time of arrival at the office (UTC).",
        "ArrivalTransportMeans/ArrivalDateTime",
    )
    country_of_dispatch: str | None = _wco(
        "Country of dispatch/export, ISO 3166-1 alpha-2.", "ExportCountry/ID"
    )
    country_of_destination: str | None = _wco(
        "Country of destination, ISO 3166-1 alpha-2.", "DestinationCountry/ID"
    )
    marketplace_id: str | None = _wco(
        "Identifier of the marketplace (electronic interface) the sale went through.",
        "Party (e-commerce platform)/Identification",
    )
    marketplace_order_ref: str | None = _wco(
        "The marketplace's order reference.", "AdditionalDocument (order)/ID"
    )
    ioss_number: str | None = _wco(
        "Number under which tax was collected at sale (EU IOSS-like scheme).",
        "DomesticDutyTaxParty/ID",
    )
    currency: str = _wco(
        "ISO 4217 currency of the invoice amounts.",
        "CurrencyExchange/CurrencyTypeCode",
        required=True,
    )
    total_value: Decimal = _wco(
        "Total invoice amount of the consignment.", "Invoice/TotalAmount", "109", required=True
    )
    transport_cost: Decimal | None = _wco(
        "Transport cost to the border, when known (CIF valuation).",
        "CustomsValuation (41A)/FreightChargeAmount",
    )
    insurance_cost: Decimal | None = _wco(
        "Insurance cost to the border, when known (CIF valuation).",
        "CustomsValuation (41A)/InsuranceAmount",
    )
    total_gross_mass_kg: float | None = _wco(
        "Total gross mass in kilograms.", "Consignment/TotalGrossMassMeasure", "131"
    )
    total_packages: int | None = _wco(
        "Total number of packages.", "Consignment/TotalPackageQuantity", "146"
    )
    seller: Party | None = _wco(
        "Seller of the goods; in e-commerce also the consignor.",
        "Seller / Consignor",
        "R051 / R021",
    )
    buyer: Party | None = _wco(
        "Buyer of the goods; in e-commerce also the consignee.", "Buyer / Consignee", "R010 / R015"
    )
    importer: Party | None = _wco("Importer, when named.", "Importer", "R038")
    carrier: Party | None = _wco("Carrier (postal operator, express carrier).", "Carrier")
    items: list[GoodsItem] = _wco(
        "Goods items, at least one.", "GovernmentAgencyGoodsItem", required=True
    )


class Filing(_Record):
    """A submission of advance electronic data: one or more consignments from one filer.

    The filing is the unit of acceptance: it is accepted or quarantined whole. Its
    ``filing_id`` is the filer's idempotency key (re-sending the same filing is a no-op;
    re-using the id for different content is a conflict).
    """

    filing_id: str = _wco(
        "The filer's unique reference for this submission (local reference number).",
        "Declaration/FunctionalReferenceID",
        required=True,
    )
    filed_at: datetime | None = _wco(
        "When the filer lodged the filing (UTC). Defaults to the time it was received.",
        "Declaration/IssueDateTime",
    )
    filer_role: str | None = _wco(
        "What kind of filer: postal_operator, express_carrier, marketplace or broker.",
        "Declarant/RoleCode",
    )
    filer: Party = _wco(
        "Who submits the filing (declarant or representative).", "Declarant", required=True
    )
    consignments: list[Consignment] = _wco(
        "The consignments filed, at least one.", "Consignment", required=True
    )
