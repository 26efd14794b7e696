"""Who files and who carries: destination postal operators, express carriers, brokers, marketplaces.

Postal items are filed by the destination postal operator of the office (La Poste for a
French office) and carried by the origin country's postal operator; express consignments are
filed and carried by the express carrier; some marketplaces file their own sales, and
brokers and marketplaces send batch filings. Each operator is a party row; a consignment picks
its filer and carrier rows by role. Trusted (AEO-like) operators are flagged for faster
processing in :mod:`smartcustoms.synth.lifecycle`.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from smartcustoms.synth.catalogue import Catalogue, Office

__all__ = ["BROKER", "EXPRESS", "FILER_ROLES", "MARKETPLACE", "PARTY_FIELDS", "POSTAL", "Operators"]

FILER_ROLES: Final = ("postal_operator", "express_carrier", "marketplace", "broker")
"""Filer roles (``filer_role``), indexed by the role codes below."""

POSTAL: Final = 0
EXPRESS: Final = 1
MARKETPLACE: Final = 2
BROKER: Final = 3

PARTY_FIELDS: Final = ("id", "name", "street", "city", "postcode", "country")
"""Fields of a party, in model order."""

I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]


def _party(
    op_id: str, name: str, country: str, city: str | None = None, postcode: str | None = None
) -> dict[str, str | None]:
    return {
        "id": op_id,
        "name": name,
        "street": None,
        "city": city,
        "postcode": postcode,
        "country": country,
    }


class Operators:
    """The filers and carriers of a run as party tables.

    Args:
        catalogue: Reference data.
        offices: The run's offices (one destination postal operator each).
    """

    def __init__(self, catalogue: Catalogue, offices: tuple[Office, ...]) -> None:
        rows: list[dict[str, str | None]] = []
        aeo: list[bool] = []
        # Filers, in blocks: destination postal operators (one per office), express carriers,
        # brokers, marketplaces.
        for o in offices:
            do = o.postal_operator
            rows.append(_party(do["id"], do["name"], o.country, do.get("city"), do.get("postcode")))
            aeo.append(True)
        self._express_row = len(rows)
        for c in catalogue.express_carriers:
            rows.append(_party(c.id, c.name, c.country))
            aeo.append(c.is_aeo)
        self._broker_row = len(rows)
        for b in catalogue.brokers:
            rows.append(_party(b.id, b.name, b.country))
            aeo.append(b.is_aeo)
        self._market_row = len(rows)
        for m in catalogue.marketplaces:
            rows.append(_party(m.id, m.name, m.country))
            aeo.append(False)
        schema = dict.fromkeys(PARTY_FIELDS, pl.String)
        self.filers = pl.DataFrame(rows, schema=schema)
        self.filer_is_aeo = np.array(aeo)

        carriers = [
            _party(f"{o.country}POST", o.postal_operator, o.country) for o in catalogue.origins
        ]
        self._carrier_express_row = len(carriers)
        carriers += [_party(c.id, c.name, c.country) for c in catalogue.express_carriers]
        self.carriers = pl.DataFrame(carriers, schema=schema)
        self.carrier_is_aeo = np.array(
            [False] * len(catalogue.origins) + [c.is_aeo for c in catalogue.express_carriers]
        )

    def filer_rows(
        self, role: I64, *, office: I64, express: I64, marketplace: I64, broker: I64
    ) -> I64:
        """Row of each consignment's filer in :attr:`filers`, by role."""
        rows: I64 = np.select(
            [role == POSTAL, role == EXPRESS, role == MARKETPLACE],
            [office, self._express_row + express, self._market_row + np.maximum(marketplace, 0)],
            self._broker_row + broker,
        ).astype(np.int64)
        return rows

    def carrier_rows(self, is_postal: B, *, origin: I64, express: I64) -> I64:
        """Row of each consignment's carrier in :attr:`carriers`."""
        rows: I64 = np.where(is_postal, origin, self._carrier_express_row + express).astype(
            np.int64
        )
        return rows

    def is_trusted(self, filer_row: I64, carrier_row: I64) -> B:
        """Whether the filer or the carrier is an AEO-like trusted operator."""
        trusted: B = self.filer_is_aeo[filer_row] | self.carrier_is_aeo[carrier_row]
        return trusted
