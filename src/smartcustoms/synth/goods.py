"""Goods items: what is really in each parcel (the *true* facts), drawn from HS profiles.

Each item is a profile (an HS subheading from ``data/hs_profiles.csv``), a quantity, a value
and a mass drawn log-normally around the profile's medians, a plain-language description and a
country of origin. Sellers specialise: three items in four come from the seller's own
category. Amounts are integers in the invoice currency's minor unit, masses integers in grams,
so totals are exact sums; conversion to canonical decimals happens once, at the edge.

What the filer *declares* is derived from these facts by :mod:`smartcustoms.synth.fraud`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from smartcustoms.synth._keyed import KeyedRandom
from smartcustoms.synth._pools import StringPools
from smartcustoms.synth.catalogue import Catalogue

__all__ = [
    "DE_MINIMIS_EUR",
    "MAX_ITEMS",
    "FraudCode",
    "Goods",
    "GoodsDrawer",
    "hs_strings",
]

DE_MINIMIS_EUR: Final = 150.0
"""The EU customs-duty relief threshold for low-value consignments (Council Regulation (EC)
No 1186/2009, art. 23), the line undervaluation and split shipments aim to stay under."""

MAX_ITEMS: Final = 20
"""Most goods items in one consignment."""

_ITEM_KEY_STRIDE: Final = 32
_MEAN_ITEMS: Final = 3.0
_SPECIALITY_SHARE: Final = 0.75
_SINGLE_UNIT_SHARE: Final = 0.65
_DETAIL_SHARE: Final = 0.4
_SPLIT_PART_ITEMS: Final = 3


class FraudCode:
    """Small-integer codes of the fraud types inside the generator (0 = compliant)."""

    NONE: Final = 0
    UNDERVALUATION: Final = 1
    MISCLASSIFICATION: Final = 2
    SPLIT_SHIPMENT: Final = 3
    VAGUE_DESCRIPTION_RESTRICTED: Final = 4


I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]


@dataclass
class Goods:
    """Goods items of a chunk, true facts, aligned by item row.

    Attributes:
        consignment_row: Row of the item's consignment in the chunk.
        item_no: 1-based number within the consignment.
        key: Run-wide item key (``consignment index * 32 + item_no``).
        profile: HS profile index.
        quantity: Number of units.
        value_minor: Value in minor units of the consignment currency.
        net_g: Net mass, grams.
        gross_g: Gross mass, grams (always above net).
        description: Plain-language description.
        hs_code: Classification as written (6, 8 or 10 digits).
        origin_country: ISO 3166 alpha-2 country of origin.
    """

    consignment_row: I64
    item_no: I64
    key: I64
    profile: I64
    quantity: I64
    value_minor: I64
    net_g: I64
    gross_g: I64
    description: pl.Series
    hs_code: pl.Series
    origin_country: pl.Series


def hs_strings(catalogue: Catalogue, profile: I64, digits: I64) -> pl.Series:
    """HS codes of profiles written with 6, 8 or 10 digits.

    8-digit lines use the profile's national line where the data file gives one, else the
    subheading followed by ``00``; 10-digit lines append ``00`` to the 8-digit line. Both are
    national extensions of a valid HS 2022 subheading.
    """
    p = catalogue.profiles
    frame = pl.DataFrame(
        {
            "hs6": p.hs6.gather(profile),
            "nat": p.national_line.gather(profile),
            "digits": digits,
        }
    )
    eight = pl.coalesce("nat", pl.concat_str("hs6", pl.lit("00")))
    return frame.select(
        pl.when(pl.col("digits") == 6)
        .then(pl.col("hs6"))
        .when(pl.col("digits") == 8)
        .then(eight)
        .otherwise(pl.concat_str(eight, pl.lit("00")))
        .alias("hs_code")
    )["hs_code"]


class GoodsDrawer:
    """Draws the true goods items of consignments.

    Args:
        catalogue: Reference data.
        rnd: The run's keyed random source.
        currencies: Invoice currencies, indexed as in
            :class:`~smartcustoms.synth.parties.Population`.
        vague_description_share: Share of honest items described vaguely.
        round_value_share: Share of honest items with a whole-unit value.
    """

    def __init__(
        self,
        catalogue: Catalogue,
        rnd: KeyedRandom,
        currencies: tuple[str, ...],
        *,
        vague_description_share: float,
        round_value_share: float,
    ) -> None:
        self.catalogue = catalogue
        self.rnd = rnd
        self.vague_description_share = vague_description_share
        self.round_value_share = round_value_share
        p = catalogue.profiles
        n_cat = len(p.categories)
        # Legitimate restricted goods (declared honestly) stay rare: a tenth of their weight.
        self._weights = np.where(p.restricted, p.weight * 0.1, p.weight)
        self._by_category = np.zeros((n_cat, len(p)), dtype=np.float64)
        self._by_category[p.category, np.arange(len(p))] = p.weight
        self._by_category[self._by_category.sum(axis=1) == 0, :] = self._weights
        self._misclassifiable = p.weight * (p.misclassify_as >= 0)
        self._restricted = p.weight * p.restricted
        self.rate_to_eur = np.array([catalogue.rates_to_eur[c] for c in currencies])
        self.unit = np.array([10 ** catalogue.minor_units.get(c, 2) for c in currencies])
        self._details = StringPools.of([catalogue.details[c] for c in p.categories])
        self._vague = StringPools.of([catalogue.vague_descriptions])
        countries = sorted({c for o in catalogue.origins for c in o.item_origins})
        self._origin_countries = pl.Series(countries, dtype=pl.String)
        table = np.zeros((len(catalogue.origins), len(countries)))
        for i, o in enumerate(catalogue.origins):
            for c, w in o.item_origins.items():
                table[i, countries.index(c)] = w
        self._origin_table = table

    def item_counts(self, idx: I64) -> I64:
        """Number of goods items per consignment: geometric, mean about 3, at most 20."""
        u = self.rnd.uniform("items.count", idx)
        n: I64 = 1 + np.floor(np.log1p(-u) / np.log1p(-1.0 / _MEAN_ITEMS)).astype(np.int64)
        return np.minimum(n, MAX_ITEMS)

    def draw(
        self,
        idx: I64,
        *,
        category: I64,
        seller_origin: I64,
        currency: I64,
        fraud: npt.NDArray[np.int8],
        hs_digits: I64,
    ) -> Goods:
        """True goods items for consignments ``idx`` (global indices).

        Args:
            idx: Global consignment indices.
            category: Seller speciality per consignment.
            seller_origin: Seller's origin index per consignment.
            currency: Invoice currency index per consignment.
            fraud: :class:`FraudCode` per consignment; shapes the goods (misclassification
                needs a misclassifiable item, restricted goods are hidden in their own
                consignments, undervalued and misclassified consignments are worth more,
                split orders are cut into parts under the threshold).
            hs_digits: 6, 8 or 10 per consignment.
        """
        rnd, p = self.rnd, self.catalogue.profiles
        counts = self.item_counts(idx)
        # The parts of a split order are small parcels.
        counts = np.where(
            fraud == FraudCode.SPLIT_SHIPMENT, np.minimum(counts, _SPLIT_PART_ITEMS), counts
        )
        row = np.repeat(np.arange(len(idx), dtype=np.int64), counts)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        item_no = np.arange(len(row), dtype=np.int64) - starts[row] + 1
        key = idx[row] * _ITEM_KEY_STRIDE + item_no
        item_fraud = fraud[row]

        general = rnd.choice("item.profile", key, self._weights)
        special = rnd.choice_per_row("item.profile.cat", key, self._by_category, category[row])
        profile = np.where(rnd.uniform("item.special", key) < _SPECIALITY_SHARE, special, general)
        first = item_no == 1
        mis = first & (item_fraud == FraudCode.MISCLASSIFICATION)
        profile[mis] = rnd.choice("item.profile.mis", key[mis], self._misclassifiable)
        hidden = first & (item_fraud == FraudCode.VAGUE_DESCRIPTION_RESTRICTED)
        profile[hidden] = rnd.choice("item.profile.restricted", key[hidden], self._restricted)

        u_qty = rnd.uniform("item.quantity", key)
        quantity = 1 + np.floor(np.log1p(-u_qty) / np.log(1.0 - _SINGLE_UNIT_SHARE))
        quantity = np.minimum(quantity.astype(np.int64), p.max_quantity[profile])

        value_eur = quantity * rnd.lognormal(
            "item.value", key, p.value_median[profile], p.value_sigma[profile]
        )
        value_eur *= self._value_scale(idx, row, value_eur, fraud)[row]
        unit = self.unit[currency[row]]
        minor = np.maximum(1, np.rint(value_eur / self.rate_to_eur[currency[row]] * unit))
        honest = item_fraud == FraudCode.NONE
        rounded = honest & rnd.bernoulli("item.round", key, self.round_value_share)
        minor = np.where(rounded, np.maximum(unit, np.rint(minor / unit) * unit), minor)

        net_kg = quantity * rnd.lognormal(
            "item.mass", key, p.unit_mass[profile], p.mass_sigma[profile]
        )
        net_g = np.maximum(1, np.rint(net_kg * 1000.0)).astype(np.int64)
        packaging = rnd.between("item.packaging", key, 1.03, 1.3)
        gross_g = np.ceil(net_g * packaging).astype(np.int64) + rnd.integers(
            "item.packaging.g", key, 5, 60
        )

        return Goods(
            consignment_row=row,
            item_no=item_no,
            key=key,
            profile=profile,
            quantity=quantity,
            value_minor=minor.astype(np.int64),
            net_g=net_g,
            gross_g=gross_g,
            description=self._descriptions(key, profile, honest),
            hs_code=hs_strings(self.catalogue, profile, hs_digits[row]),
            origin_country=self._origin_countries.gather(
                rnd.choice_per_row("item.origin", key, self._origin_table, seller_origin[row])
            ),
        )

    def _value_scale(self, idx: I64, row: I64, value_eur: F64, fraud: npt.NDArray[np.int8]) -> F64:
        """Per-consignment factor applied to the true values, by fraud type."""
        rnd = self.rnd
        total = np.bincount(row, weights=value_eur, minlength=len(idx))
        total = np.maximum(total, 0.01)
        scale = np.ones(len(idx))
        # Fraud pays where there is money: undervalued goods are dearer than average ...
        under = fraud == FraudCode.UNDERVALUATION
        scale[under] = rnd.between("fraud.under.true", idx[under], 1.3, 3.0)
        # ... misclassification matters above the duty threshold ...
        mis = fraud == FraudCode.MISCLASSIFICATION
        target = rnd.between("fraud.mis.value", idx[mis], 160.0, 500.0)
        scale[mis] = np.maximum(1.0, target / total[mis])
        # ... and each part of a split order stays safely under it.
        split = fraud == FraudCode.SPLIT_SHIPMENT
        scale[split] = rnd.between("fraud.split.value", idx[split], 60.0, 135.0) / total[split]
        return scale

    def _descriptions(self, key: I64, profile: I64, honest: B) -> pl.Series:
        rnd, p = self.rnd, self.catalogue.profiles
        variant = p.description_start[profile] + (
            rnd.bits("item.description", key) % p.description_count[profile].astype(np.uint64)
        ).astype(np.int64)
        vague = honest & rnd.bernoulli("item.vague", key, self.vague_description_share)
        frame = pl.DataFrame(
            {
                "text": p.descriptions.gather(variant),
                "detail": self._details.take(p.category[profile], rnd.bits("item.detail", key)),
                "has_detail": rnd.bernoulli("item.has_detail", key, _DETAIL_SHARE),
                "vague": vague,
                "vague_text": self._vague.take(
                    np.zeros(len(key), dtype=np.int64), rnd.bits("item.vague.text", key)
                ),
            }
        )
        return frame.select(
            pl.when(pl.col("vague"))
            .then(pl.col("vague_text"))
            .when(pl.col("has_detail"))
            .then(pl.concat_str("text", pl.lit(", "), "detail"))
            .otherwise(pl.col("text"))
            .alias("description")
        )["description"]
