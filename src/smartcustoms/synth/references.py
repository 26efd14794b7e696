"""References on a consignment: ids, transport documents, receptacles, orders, IOSS numbers.

* **Postal items**: the UPU S10 item id is also the consignment id; the item travels in a
  receptacle (29-character UPU S9 id: origin and destination offices of exchange, category,
  subclass, year, despatch, serial, indicators, weight) with the other items of its bag.
* **Express**: a house air waybill (carrier prefix + 10 digits) is the consignment id and the
  transport document; the master air waybill is shared by the flight.
* **Filings**: ``F`` + a run tag from the seed + 10 digits from the filing's first position.
* **Orders**: marketplace order references (split orders often re-use one), web-shop
  references, or none.
* **IOSS**: the marketplace's number, or the seller's own, for low-value consignments.

Serial numbers come from :func:`~smartcustoms.synth.identifiers.permute` of run positions, so
they are unique in a run and identical whatever the chunking.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from smartcustoms.model.columns import CONSIGNMENT_ID
from smartcustoms.synth._keyed import KeyedRandom
from smartcustoms.synth._pools import StringPools
from smartcustoms.synth.catalogue import Catalogue, Office
from smartcustoms.synth.identifiers import format_awb, format_s10, permute

__all__ = ["BAG_SIZE", "References", "run_tag"]

BAG_SIZE: Final = 64
"""Consecutive positions of one origin on one flight that share a postal receptacle."""

_SHARED_ORDER_REF: Final = 0.5
_WEB_ORDER_REF: Final = 0.5

I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]


def run_tag(seed: int) -> str:
    """Four base-36 characters from the seed, prefixed to filing and split-order ids."""
    return np.base_repr(seed % 36**4, 36).zfill(4)


def _digits(name: str, width: int) -> pl.Expr:
    return pl.col(name).cast(pl.String).str.zfill(width)


class References:
    """Builds the reference columns of consignments.

    Args:
        catalogue: Reference data.
        rnd: The run's keyed random source.
        offices: The run's offices.
        destinations: Destination country codes, indexed as in the population.
        year: Year of the run (its last digit goes into receptacle ids).
    """

    def __init__(
        self,
        catalogue: Catalogue,
        rnd: KeyedRandom,
        offices: tuple[Office, ...],
        destinations: tuple[str, ...],
        year: int,
    ) -> None:
        self.rnd = rnd
        self.tag = run_tag(rnd.seed)
        self.year = str(year)[-1]
        self._offices = pl.Series([o.code for o in offices], dtype=pl.String)
        self._office_impc = pl.Series([o.impc for o in offices], dtype=pl.String)
        self._awb_prefix = pl.Series(
            [c.awb_prefix for c in catalogue.express_carriers], dtype=pl.String
        )
        markets = catalogue.marketplaces
        self._market_ids = pl.Series([m.id for m in markets], dtype=pl.String)
        serials = permute(np.arange(1, len(markets) + 1, dtype=np.int64), 7, 97)
        self._market_ioss = pl.Series(
            [f"IM{m.ioss_country}{s:07d}" for m, s in zip(markets, serials.tolist(), strict=True)],
            dtype=pl.String,
        )
        self._ioss_countries = pl.Series(
            [catalogue.destinations[c].ioss_country for c in destinations], dtype=pl.String
        )
        self._s10_services = StringPools.of([o.s10_services for o in catalogue.origins])
        self._impc = StringPools.of([o.impc for o in catalogue.origins])
        self._airlines = StringPools.of([o.airlines for o in catalogue.origins])
        self.origin_countries = pl.Series([o.country for o in catalogue.origins], dtype=pl.String)

    def split_order_ids(self, window: I64) -> pl.Series:
        """Ids of split orders, from the run position of their window."""
        serial = pl.Series(permute(np.maximum(window, 0), 10, self.rnd.seed + 31))
        return pl.select(
            pl.concat_str(pl.lit(f"SG{self.tag}"), pl.lit(serial).cast(pl.String).str.zfill(10))
        ).to_series()

    def build(
        self,
        *,
        idx: I64,
        window: I64,
        in_split: B,
        group: I64,
        flight: I64,
        origin: I64,
        seller_rank: I64,
        office: I64,
        is_postal: B,
        express: I64,
        marketplace: I64,
        filing_first: I64,
        market_ioss: B,
        has_ioss: B,
    ) -> pl.DataFrame:
        """The reference columns, one row per consignment.

        Returns:
            ``consignment_id``, ``filing_id``, ``transport_document_id``,
            ``master_transport_document_id``, ``postal_receptacle_id``, ``postal_item_id``,
            ``location_of_goods``, ``marketplace_order_ref``, ``ioss_number``.
        """
        rnd, seed = self.rnd, self.rnd.seed
        bag = flight * 1000 + (idx // BAG_SIZE) % 1000
        service = self._s10_services.take(origin, rnd.bits("s10.service", bag))
        s10 = format_s10(
            service, permute(idx % 10**8, 8, seed + 5), self.origin_countries.gather(origin)
        )
        shared_order = in_split & rnd.bernoulli("order.shared", window, _SHARED_ORDER_REF)
        market = np.maximum(marketplace, 0)
        frame = pl.DataFrame(
            {
                "postal": is_postal,
                "s10": s10,
                "service": service,
                "origin_impc": self._impc.take(origin, rnd.bits("receptacle.impc", flight)),
                "despatch": permute(flight % 10**4, 4, seed + 3),
                "receptacle": (idx // BAG_SIZE) % 1000,
                "weight_hg": rnd.integers("receptacle.weight", bag, 20, 300),
                "awb_prefix": self._awb_prefix.gather(express),
                "house": permute(idx, 10, seed + 13),
                "mawb": format_awb(
                    self._airlines.take(origin, rnd.bits("mawb.airline", flight)),
                    permute(flight % 10**7, 7, seed + 7),
                ),
                "market": self._market_ids.gather(market),
                "has_market": marketplace >= 0,
                "order": permute(np.where(shared_order, window, idx), 10, seed + 17),
                "web_order": rnd.bernoulli("order.web", group, _WEB_ORDER_REF),
                "filing": permute(filing_first, 10, seed + 19),
                "market_ioss": market_ioss,
                "has_ioss": has_ioss,
                "market_ioss_no": self._market_ioss.gather(market),
                "own_ioss_country": self._ioss_countries.gather(
                    rnd.integers("ioss.country", seller_rank, 0, len(self._ioss_countries))
                ),
                "own_ioss_serial": permute(seller_rank, 7, seed + 29),
                "office_impc": self._office_impc.gather(office),
                "office": self._offices.gather(office),
            }
        )
        # UPU mail subclasses: CN parcels, EN EMS, UN letter post (small packets).
        subclass = (
            pl.when(pl.col("service").str.starts_with("C"))
            .then(pl.lit("CN"))
            .when(pl.col("service").str.starts_with("E"))
            .then(pl.lit("EN"))
            .otherwise(pl.lit("UN"))
        )
        registered = pl.when(pl.col("service").str.starts_with("R")).then(pl.lit("1"))
        house = pl.concat_str("awb_prefix", _digits("house", 10))
        receptacle = pl.concat_str(
            "origin_impc",
            "office_impc",
            pl.lit("A"),
            subclass,
            pl.lit(self.year),
            _digits("despatch", 4),
            _digits("receptacle", 3),
            pl.lit("0"),
            registered.otherwise(pl.lit("0")),
            _digits("weight_hg", 4),
        )
        own_ioss = pl.concat_str(pl.lit("IM"), "own_ioss_country", _digits("own_ioss_serial", 7))
        return frame.select(
            pl.when("postal").then("s10").otherwise(house).alias(CONSIGNMENT_ID),
            pl.concat_str(pl.lit(f"F{self.tag}"), _digits("filing", 10)).alias("filing_id"),
            pl.when("postal").then(None).otherwise(house).alias("transport_document_id"),
            pl.when("postal").then(None).otherwise("mawb").alias("master_transport_document_id"),
            pl.when("postal").then(receptacle).alias("postal_receptacle_id"),
            pl.when("postal").then("s10").alias("postal_item_id"),
            pl.when("postal")
            .then(pl.concat_str("office", pl.lit("-POST")))
            .otherwise(pl.concat_str("office", pl.lit("-"), "awb_prefix"))
            .alias("location_of_goods"),
            pl.when("has_market")
            .then(pl.concat_str("market", pl.lit("-"), _digits("order", 10)))
            .when("web_order")
            .then(pl.concat_str(pl.lit("WEB-"), _digits("order", 10)))
            .alias("marketplace_order_ref"),
            pl.when(pl.col("has_ioss") & pl.col("market_ioss"))
            .then("market_ioss_no")
            .when("has_ioss")
            .then(own_ioss)
            .alias("ioss_number"),
        )
