"""Sellers and buyers: heavy-tailed pools whose members keep their identity across a run.

A seller or buyer is a *rank* in a pool; every attribute (country, name, address, marketplace,
speciality, honesty) is a keyed-random function of the rank, so a seller who ships a thousand
consignments is the same company, at the same address, with the same habits, each time - which
is what history-based risk features need to find. Ranks are drawn from power laws
(:meth:`KeyedRandom.zipf_rank`): a few big sellers and many small ones; most buyers buy once,
some often.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from smartcustoms.synth._keyed import KeyedRandom, zipf_masses
from smartcustoms.synth._pools import StringPools
from smartcustoms.synth.catalogue import Catalogue
from smartcustoms.synth.identifiers import permute

__all__ = [
    "BUYER_EXPONENT",
    "OFFENDER_MIN_RANK",
    "SELLER_EXPONENT",
    "BuyerTable",
    "Population",
    "SellerTable",
]

SELLER_EXPONENT: Final = 0.9
"""Power-law exponent of seller popularity: the top 1 % of sellers ship about 40 %."""

BUYER_EXPONENT: Final = 0.6
"""Power-law exponent of buyer activity (milder: many one-off buyers, some regulars)."""

OFFENDER_MIN_RANK: Final = 50
"""The largest sellers are never repeat offenders (their volume would swamp the rates)."""

DIRECT_SALES_SHARE: Final = 0.2
"""Share of sellers who sell through their own web shop rather than a marketplace."""

OWN_IOSS_SHARE: Final = 0.1
"""Share of direct sellers registered for IOSS themselves."""

I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class SellerTable:
    """Attributes of sellers, one row per requested rank.

    Attributes:
        rank: Seller rank in the pool.
        origin: Index into ``catalogue.origins`` (country of dispatch).
        category: Index into ``catalogue.profiles.categories`` (the seller's speciality).
        marketplace: Index into ``catalogue.marketplaces``; -1 for direct sales.
        prefers_postal: Whether the seller usually ships by post.
        express_carrier: Index into ``catalogue.express_carriers`` of the usual courier.
        currency: Index into ``Population.currencies`` of the invoice currency.
        has_own_ioss: Direct seller registered for IOSS.
        is_offender: Repeat offender.
        parties: ``seller_id``, ``seller_name``, ``seller_street``, ``seller_city``,
            ``seller_postcode``, ``seller_country``.
    """

    rank: I64
    origin: I64
    category: I64
    marketplace: I64
    prefers_postal: B
    express_carrier: I64
    currency: I64
    has_own_ioss: B
    is_offender: B
    parties: pl.DataFrame

    def take(self, rows: I64) -> SellerTable:
        """The rows ``rows``, in that order."""
        return SellerTable(
            rank=self.rank[rows],
            origin=self.origin[rows],
            category=self.category[rows],
            marketplace=self.marketplace[rows],
            prefers_postal=self.prefers_postal[rows],
            express_carrier=self.express_carrier[rows],
            currency=self.currency[rows],
            has_own_ioss=self.has_own_ioss[rows],
            is_offender=self.is_offender[rows],
            parties=self.parties[rows],
        )


@dataclass(frozen=True)
class BuyerTable:
    """Buyers, one row per requested (rank, destination): ``buyer_*`` party columns."""

    parties: pl.DataFrame


def _padded(rows: list[list[float]]) -> npt.NDArray[np.float64]:
    width = max(len(r) for r in rows)
    out = np.zeros((len(rows), width), dtype=np.float64)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


class Population:
    """The seller and buyer pools of one run.

    Args:
        catalogue: Reference data.
        rnd: The run's keyed random source.
        sellers: Seller pool size.
        buyers: Buyer pool size (per destination country).
        offender_share: Share of sellers (outside the top :data:`OFFENDER_MIN_RANK`) who are
            repeat offenders.
    """

    def __init__(
        self,
        catalogue: Catalogue,
        rnd: KeyedRandom,
        *,
        sellers: int,
        buyers: int,
        offender_share: float,
    ) -> None:
        self.catalogue = catalogue
        self.rnd = rnd
        self.sellers = sellers
        self.buyers = buyers
        self.offender_share = offender_share
        origins = catalogue.origins
        self.currencies: tuple[str, ...] = catalogue.currencies()
        self._origin_weight = np.array([o.weight for o in origins])
        self._postal_share = np.array([o.postal_share for o in origins])
        self._currency_table = _padded(
            [[o.currencies.get(c, 0.0) for c in self.currencies] for o in origins]
        )
        self._city_table = _padded([[1.0] * len(o.cities) for o in origins])
        self._cities = StringPools.of([[c for c, _ in o.cities] for o in origins])
        self._postcodes = StringPools.of([[p for _, p in o.cities] for o in origins])
        self._countries = pl.Series([o.country for o in origins], dtype=pl.String)
        styles = sorted(catalogue.seller_names)
        self._style_of_origin = np.array([styles.index(o.name_style) for o in origins])
        named = [catalogue.seller_names[s] for s in styles]
        self._words = StringPools.of([s.words for s in named])
        self._suffixes = StringPools.of([s.suffixes for s in named])
        self._streets = StringPools.of([s.streets for s in named])
        self._street_formats = pl.Series([s.street_format for s in named], dtype=pl.String)
        self._pinyin = np.array([s.pinyin for s in named])
        profiles = catalogue.profiles
        restricted_cat = (
            profiles.categories.index("restricted") if "restricted" in profiles.categories else -1
        )
        self._category_weight = np.bincount(
            profiles.category, weights=profiles.weight, minlength=len(profiles.categories)
        )
        if restricted_cat >= 0:
            self._category_weight[restricted_cat] = 0.0
        market_w = np.array([m.weight for m in catalogue.marketplaces])
        self._marketplace_weight = np.concatenate(
            [market_w / market_w.sum() * (1.0 - DIRECT_SALES_SHARE), [DIRECT_SALES_SHARE]]
        )
        self._express_weight = np.array([c.weight for c in catalogue.express_carriers])
        dest_codes = sorted(catalogue.destinations)
        self.destination_codes: tuple[str, ...] = tuple(dest_codes)
        dests = [catalogue.destinations[c] for c in dest_codes]
        self._buyer_city_table = _padded([[w for _, w, _ in d.cities] for d in dests])
        self._buyer_cities = StringPools.of([[c for c, _, _ in d.cities] for d in dests])
        # One pool of postcodes per (destination, city), addressed by the city's flat index.
        self._buyer_postcodes = StringPools.of([list(p) for d in dests for _, _, p in d.cities])
        self._first = StringPools.of([d.first_names for d in dests])
        self._last = StringPools.of([d.last_names for d in dests])
        self._buyer_streets = StringPools.of([d.streets for d in dests])
        self._buyer_formats = pl.Series([d.street_format for d in dests], dtype=pl.String)
        self._buyer_countries = pl.Series(dest_codes, dtype=pl.String)

    # -- sellers ---------------------------------------------------------------------------

    def offender_flags(self, ranks: I64) -> B:
        """Whether each seller rank is a repeat offender."""
        return (ranks >= OFFENDER_MIN_RANK) & self.rnd.bernoulli(
            "seller.offender", ranks, self.offender_share
        )

    def offender_traffic_share(self) -> float:
        """Expected share of consignments shipped by repeat offenders."""
        masses = zipf_masses(self.sellers, SELLER_EXPONENT)
        flags = self.offender_flags(np.arange(self.sellers, dtype=np.int64))
        return float(masses[flags].sum())

    def draw_sellers(self, keys: I64) -> I64:
        """Seller ranks for the given consignment keys."""
        return self.rnd.zipf_rank("seller", keys, self.sellers, SELLER_EXPONENT)

    def seller_table(self, ranks: I64) -> SellerTable:
        """Attributes of the given seller ranks (computed once per distinct rank)."""
        unique, inverse = np.unique(ranks, return_inverse=True)
        return self._seller_rows(unique.astype(np.int64)).take(inverse.astype(np.int64))

    def _seller_rows(self, s: I64) -> SellerTable:
        rnd = self.rnd
        origin = rnd.choice("seller.origin", s, self._origin_weight)
        style = self._style_of_origin[origin]
        city_idx = rnd.choice_per_row("seller.city", s, self._city_table, origin)
        flat_city = self._cities.start[origin] + city_idx
        w1 = self._words.take(style, rnd.bits("seller.word1", s))
        w2 = self._words.take(style, rnd.bits("seller.word2", s))
        suffix = self._suffixes.take(style, rnd.bits("seller.suffix", s))
        city = self._cities.values.gather(flat_city)
        postcode = self._postcodes.values.gather(flat_city)
        serial = permute(s, 9, rnd.seed + 11)
        frame = pl.DataFrame(
            {
                "w1": w1,
                "w2": w2,
                "suffix": suffix,
                "city": city,
                "postcode": postcode,
                "pinyin": self._pinyin[style],
                "country": self._countries.gather(origin),
                "serial": serial,
                "street": self._streets.take(style, rnd.bits("seller.street", s)),
                "fmt": self._street_formats.gather(style),
                "number": rnd.integers("seller.number", s, 1, 400),
            }
        )
        parties = frame.select(
            pl.concat_str(pl.col("country"), pl.col("serial").cast(pl.String).str.zfill(9)).alias(
                "seller_id"
            ),
            pl.when(pl.col("pinyin"))
            .then(
                pl.concat_str(
                    "city",
                    pl.lit(" "),
                    "w1",
                    pl.col("w2").str.to_lowercase(),
                    pl.lit(" "),
                    "suffix",
                )
            )
            .otherwise(pl.concat_str("w1", pl.lit(" "), "w2", pl.lit(" "), "suffix"))
            .alias("seller_name"),
            pl.col("fmt")
            .str.replace("{n}", pl.col("number").cast(pl.String), literal=True)
            .str.replace("{street}", pl.col("street"), literal=True)
            .alias("seller_street"),
            pl.col("city").alias("seller_city"),
            pl.col("postcode").alias("seller_postcode"),
            pl.col("country").alias("seller_country"),
        )
        marketplace = rnd.choice("seller.marketplace", s, self._marketplace_weight)
        marketplace = np.where(marketplace == len(self._marketplace_weight) - 1, -1, marketplace)
        return SellerTable(
            rank=s,
            origin=origin,
            category=rnd.choice("seller.category", s, self._category_weight),
            marketplace=marketplace,
            prefers_postal=rnd.bernoulli("seller.postal", s, self._postal_share[origin]),
            express_carrier=rnd.choice("seller.express", s, self._express_weight),
            currency=rnd.choice_per_row("seller.currency", s, self._currency_table, origin),
            has_own_ioss=(marketplace < 0) & rnd.bernoulli("seller.ioss", s, OWN_IOSS_SHARE),
            is_offender=self.offender_flags(s),
            parties=parties,
        )

    # -- buyers ----------------------------------------------------------------------------

    def draw_buyers(self, keys: I64) -> I64:
        """Buyer ranks for the given consignment keys."""
        return self.rnd.zipf_rank("buyer", keys, self.buyers, BUYER_EXPONENT)

    def buyer_table(self, ranks: I64, destination: I64) -> BuyerTable:
        """Buyer parties for (rank, destination index into :attr:`destination_codes`)."""
        key = ranks * 64 + destination
        unique, inverse = np.unique(key, return_inverse=True)
        parties = self._buyer_rows(unique // 64, unique % 64)
        return BuyerTable(parties[inverse.astype(np.int64)])

    def _buyer_rows(self, b: I64, dest: I64) -> pl.DataFrame:
        rnd = self.rnd
        key = b * 64 + dest
        city_idx = rnd.choice_per_row("buyer.city", key, self._buyer_city_table, dest)
        flat_city = self._buyer_cities.start[dest] + city_idx
        frame = pl.DataFrame(
            {
                "serial": permute(key, 10, rnd.seed + 23),
                "first": self._first.take(dest, rnd.bits("buyer.first", key)),
                "last": self._last.take(dest, rnd.bits("buyer.last", key)),
                "street": self._buyer_streets.take(dest, rnd.bits("buyer.street", key)),
                "fmt": self._buyer_formats.gather(dest),
                "number": rnd.integers("buyer.number", key, 1, 220),
                "city": self._buyer_cities.values.gather(flat_city),
                "postcode": self._buyer_postcodes.take(flat_city, rnd.bits("buyer.postcode", key)),
                "country": self._buyer_countries.gather(dest),
            }
        )
        return frame.select(
            pl.concat_str(pl.lit("B"), pl.col("serial").cast(pl.String).str.zfill(10)).alias(
                "buyer_id"
            ),
            pl.concat_str("first", pl.lit(" "), "last").alias("buyer_name"),
            pl.col("fmt")
            .str.replace("{n}", pl.col("number").cast(pl.String), literal=True)
            .str.replace("{street}", pl.col("street"), literal=True)
            .alias("buyer_street"),
            pl.col("city").alias("buyer_city"),
            pl.col("postcode").alias("buyer_postcode"),
            pl.col("country").alias("buyer_country"),
        )
