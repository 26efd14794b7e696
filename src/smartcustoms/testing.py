"""Public test helpers: factories of valid filings to mutate in tests.

``make_filing()`` returns a JSON-ready filing (a plain ``dict`` on WCO DM terms) that passes
every validation check; tests change one thing and assert the problem it causes.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson

from smartcustoms.api.local import free_port, serve_in_thread

__all__ = ["free_port", "make_filing", "make_postal_item", "serve_in_thread", "write_jsonl"]


def make_filing(
    filing_id: str = "F-0001",
    *,
    items: int = 2,
    origin: str = "CN",
    currency: str = "EUR",
    consignments: int = 1,
    filed_at: str = "2026-11-20T08:30:00Z",
    item_value: str = "12.40",
) -> dict[str, Any]:
    """A valid filing with ``consignments`` consignments of ``items`` goods items each.

    Consignment ids are ``<filing_id>-C<n>``; item values are ``item_value`` each and the
    declared total is their sum.
    """
    cons = []
    for n in range(1, consignments + 1):
        goods = [
            {
                "item_no": i,
                "description": "Women's cotton T-shirt, printed",
                "hs_code": "610910",
                "origin_country": origin,
                "quantity": 2,
                "quantity_unit": "H87",
                "net_mass_kg": 0.25,
                "gross_mass_kg": 0.3,
                "value": item_value,
            }
            for i in range(1, items + 1)
        ]
        total = sum((float(item_value) for _ in goods), 0.0)
        cons.append(
            {
                "consignment_id": f"{filing_id}-C{n}",
                "transport_mode": "4",
                "transport_document_id": f"HAWB{n:08d}",
                "master_transport_document_id": "176-12345675",
                "office_of_arrival": "FR000730",
                "expected_arrival_at": "2026-11-23T06:00:00Z",
                "country_of_dispatch": origin,
                "country_of_destination": "FR",
                "currency": currency,
                "total_value": f"{total:.2f}",
                "total_gross_mass_kg": 0.3 * items,
                "total_packages": 1,
                "seller": {"id": "SELLER-1", "name": "Shenzhen Best Shop", "country": origin},
                "buyer": {
                    "name": "Jeanne Martin",
                    "street": "12 rue de la Paix",
                    "city": "Paris",
                    "postcode": "75002",
                    "country": "FR",
                },
                "carrier": {"id": "EXPRESS-1", "name": "Fast Express"},
                "items": goods,
            }
        )
    return {
        "filing_id": filing_id,
        "filed_at": filed_at,
        "filer_role": "express_carrier",
        "filer": {"id": "FILER-1", "name": "Fast Express Broker", "country": "FR"},
        "consignments": cons,
    }


def make_postal_item(item_id: str = "RR123456785CN") -> dict[str, Any]:
    """A valid postal item (ITMATT/CN23-like) with two contents lines."""
    return {
        "item_id": item_id,
        "posted_at": "2026-11-19T10:00:00Z",
        "postal_operator": {"id": "CNPOST", "name": "China Post", "country": "CN"},
        "receptacle_id": "CNPEKAFRCDGAAUN60001001100123",
        "destination_office": "FR000730",
        "expected_arrival": "2026-11-23T05:00:00Z",
        "dispatch_country": "CN",
        "destination_country": "FR",
        "currency": "EUR",
        "total_value": "30.00",
        "postage": "4.50",
        "gross_weight_kg": 0.8,
        "sender": {"name": "Li Wei", "city": "Beijing", "country": "CN"},
        "addressee": {
            "name": "Paul Durand",
            "street": "3 avenue Foch",
            "city": "Lyon",
            "postcode": "69006",
            "country": "FR",
        },
        "contents": [
            {
                "description": "Silk scarf, printed",
                "hs_tariff_number": "621410",
                "quantity": 1,
                "net_weight_kg": 0.1,
                "value": "18.00",
                "origin_country": "CN",
            },
            {
                "description": "Ceramic tea cup",
                "hs_tariff_number": "691200",
                "quantity": 2,
                "net_weight_kg": 0.5,
                "value": "12.00",
                "origin_country": "CN",
            },
        ],
    }


def write_jsonl(path: Path, records: list[Any], *, raw: list[bytes] | None = None) -> Path:
    """Write records (dicts, or raw bytes lines via ``raw``) as JSON Lines."""
    lines = [orjson.dumps(copy.deepcopy(r)) for r in records] + list(raw or [])
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path
