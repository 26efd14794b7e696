"""Planted non-compliance: who cheats, how, and what they declare instead of the truth.

Fraud is decided per consignment from keyed random draws, so it is deterministic and
independent of chunking:

* **Repeat offenders** are a small share of sellers (never the largest); a consignment from
  one is non-compliant with probability ``repeat_offender_rate``, mostly with the seller's
  favourite scheme. The other sellers' rates are lowered so the overall share of each type
  matches :class:`~smartcustoms.synth.config.FraudRates`.
* **Split shipments** are decided per aligned window of :data:`SPLIT_WINDOW` consignments:
  the window's first 2 or 3 consignments become the parts of one order (same seller, buyer,
  marketplace, office), each under the EUR 150 threshold.
* The other types are drawn per consignment and turn the true goods
  (:mod:`smartcustoms.synth.goods`) into declared goods: lower values (undervaluation), a
  lower-duty code (misclassification, pairs from ``misclassify_as`` in the profiles), or a
  vague description and innocuous code over restricted goods.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from smartcustoms.synth._keyed import KeyedRandom
from smartcustoms.synth._pools import StringPools
from smartcustoms.synth.catalogue import Catalogue
from smartcustoms.synth.config import SPLIT_WINDOW, FraudRates, FraudType
from smartcustoms.synth.goods import DE_MINIMIS_EUR, FraudCode, Goods, hs_strings
from smartcustoms.tariff import load_schedule

__all__ = [
    "FRAUD_TYPES",
    "Declared",
    "FraudPlan",
    "declare",
    "schedule_duty_rates",
]

FRAUD_TYPES: Final = (
    None,
    FraudType.UNDERVALUATION,
    FraudType.MISCLASSIFICATION,
    FraudType.SPLIT_SHIPMENT,
    FraudType.VAGUE_DESCRIPTION_RESTRICTED,
)
"""Fraud type of each :class:`~smartcustoms.synth.goods.FraudCode` (index = code)."""

_FAVOURITE_SHARE: Final = 0.7
_MEAN_SPLIT_PARTS: Final = 2.5
_ROUNDED_UNDERVALUE_SHARE: Final = 0.3
_DECLARED_DESCRIPTION_SHARE: Final = 0.3
_EXTRA_MISCLASSIFIED_SHARE: Final = 0.5

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]


def schedule_duty_rates(catalogue: Catalogue, on: date) -> F64:
    """Ad valorem duty rate (percent) of each profile's subheading in the shipped schedule.

    Misclassification must lower the duty actually charged, so the lower-duty code of each
    profile is chosen against the platform's own tariff schedule
    (:func:`smartcustoms.tariff.load_schedule`, longest prefix in force on ``on``). Codes the
    schedule has no line for keep the approximate rate from ``hs_profiles.csv``.
    """
    schedule = load_schedule()
    p = catalogue.profiles
    rates = p.approx_duty_pct.copy()
    for i, code in enumerate(p.hs6.to_list()):
        line = schedule.line_for(str(code), on)
        if line is not None and line.ad_valorem_pct is not None:
            rates[i] = float(line.ad_valorem_pct)
    return rates


class FraudPlan:
    """Per-seller fraud probabilities that honour the configured overall rates.

    Args:
        rates: The configured rates.
        rnd: The run's keyed random source.
        offender_traffic_share: Expected share of consignments shipped by repeat offenders.
    """

    def __init__(self, rates: FraudRates, rnd: KeyedRandom, offender_traffic_share: float):
        self.rates = rates
        self.rnd = rnd
        # Columns follow FraudCode 1..4.
        self._rates = np.array(
            [
                rates.undervaluation,
                rates.misclassification,
                rates.split_shipment,
                rates.vague_description_restricted,
            ]
        )
        total = self._rates.sum()
        self._mix = self._rates / total if total > 0 else np.zeros(4)
        q = offender_traffic_share if rates.repeat_offender_share > 0 else 0.0
        offender = rates.repeat_offender_rate * self._mix
        self._honest = np.clip((self._rates - q * offender) / max(1e-12, 1.0 - q), 0.0, 1.0)

    def probabilities(self, seller_rank: I64, is_offender: B) -> F64:
        """Per-type probabilities (shape ``(n, 4)``, columns = FraudCode 1..4) per seller."""
        n = len(seller_rank)
        probs = np.tile(self._honest, (n, 1))
        if is_offender.any():
            ranks = seller_rank[is_offender]
            favourite = self.rnd.choice("seller.favourite", ranks, np.maximum(self._mix, 1e-12))
            own = np.zeros((len(ranks), 4))
            own[np.arange(len(ranks)), favourite] = 1.0
            mix = _FAVOURITE_SHARE * own + (1.0 - _FAVOURITE_SHARE) * self._mix
            probs[is_offender] = self.rates.repeat_offender_rate * mix
        return probs

    def split_windows(self, window_start: I64, seller_rank: I64, is_offender: B) -> tuple[B, I64]:
        """Whether each window opens with a split order, and how many parts it has."""
        p_split = self.probabilities(seller_rank, is_offender)[:, FraudCode.SPLIT_SHIPMENT - 1]
        p_window = np.minimum(1.0, p_split * SPLIT_WINDOW / _MEAN_SPLIT_PARTS)
        is_split = self.rnd.bernoulli("fraud.split", window_start, p_window)
        parts = 2 + self.rnd.integers("fraud.split.parts", window_start, 0, 2)
        return is_split, parts

    def assign(
        self, idx: I64, in_split: B, seller_rank: I64, is_offender: B
    ) -> npt.NDArray[np.int8]:
        """The :class:`FraudCode` of each consignment."""
        probs = self.probabilities(seller_rank, is_offender)
        p_split = probs[:, FraudCode.SPLIT_SHIPMENT - 1 : FraudCode.SPLIT_SHIPMENT]
        # Outside split orders, the other types are conditional on "not a split part".
        probs = probs / np.maximum(1e-12, 1.0 - p_split)
        probs[:, FraudCode.SPLIT_SHIPMENT - 1] = 0.0
        cdf = np.cumsum(probs, axis=1)
        u = self.rnd.uniform("fraud.type", idx)
        code = (u[:, None] >= cdf).sum(axis=1) + 1
        code = np.where(code > 4, FraudCode.NONE, code)
        return np.where(in_split, FraudCode.SPLIT_SHIPMENT, code).astype(np.int8)


@dataclass
class Declared:
    """What the filer declares for each goods item (aligned with :class:`Goods`)."""

    profile: I64
    value_minor: I64
    description: pl.Series
    hs_code: pl.Series


def declare(
    goods: Goods,
    *,
    catalogue: Catalogue,
    rnd: KeyedRandom,
    idx: I64,
    fraud: npt.NDArray[np.int8],
    hs_digits: I64,
    unit: I64,
    rate_to_eur: F64,
) -> Declared:
    """Derive the declared goods from the true goods and each consignment's fraud type.

    Args:
        goods: True goods of the chunk.
        catalogue: Reference data.
        rnd: The run's keyed random source.
        idx: Global consignment indices of the chunk.
        fraud: FraudCode per consignment.
        hs_digits: Digits used for classification per consignment (6, 8 or 10).
        unit: Minor units per currency unit, per consignment.
        rate_to_eur: EUR per currency unit, per consignment.
    """
    p = catalogue.profiles
    row, key = goods.consignment_row, goods.key
    item_fraud = fraud[row]
    profile = goods.profile.copy()
    value = goods.value_minor.copy()
    description = goods.description
    hs_code = goods.hs_code

    under = item_fraud == FraudCode.UNDERVALUATION
    if under.any():
        total_minor = np.bincount(row, weights=goods.value_minor, minlength=len(idx))
        total_eur = total_minor / unit * rate_to_eur
        target = rnd.between("fraud.under.target", idx, 0.35, 0.92) * DE_MINIMIS_EUR
        factor = np.where(
            total_eur >= DE_MINIMIS_EUR + 10,
            target / np.maximum(total_eur, 1e-9),
            rnd.between("fraud.under.factor", idx, 0.2, 0.6),
        )
        lowered = np.maximum(1, np.floor(goods.value_minor * factor[row]))
        item_unit = unit[row]
        rounded = rnd.bernoulli("fraud.under.round", key, _ROUNDED_UNDERVALUE_SHARE)
        lowered = np.where(
            rounded, np.maximum(item_unit, np.floor(lowered / item_unit) * item_unit), lowered
        )
        lowered = np.minimum(lowered.astype(np.int64), goods.value_minor)
        value = np.where(under, lowered, value)

    changed_rows: list[I64] = []
    changed_desc: list[pl.Series] = []

    target_profile = p.misclassify_as[profile]
    mis = (
        (item_fraud == FraudCode.MISCLASSIFICATION)
        & (target_profile >= 0)
        & ((goods.item_no == 1) | rnd.bernoulli("fraud.mis.extra", key, _EXTRA_MISCLASSIFIED_SHARE))
    )
    if mis.any():
        rows = np.flatnonzero(mis)
        profile[rows] = target_profile[rows]
        use_target_text = rnd.bernoulli("fraud.mis.text", key[rows], _DECLARED_DESCRIPTION_SHARE)
        variant = p.description_start[profile[rows]] + (
            rnd.bits("fraud.mis.variant", key[rows])
            % p.description_count[profile[rows]].astype(np.uint64)
        ).astype(np.int64)
        texts = pl.DataFrame(
            {
                "use_target": use_target_text,
                "target": p.descriptions.gather(variant),
                "keep": description.gather(rows),
            }
        )
        changed_rows.append(rows)
        changed_desc.append(
            texts.select(
                pl.when("use_target").then("target").otherwise("keep").alias("d")
            ).to_series()
        )

    hidden = (item_fraud == FraudCode.VAGUE_DESCRIPTION_RESTRICTED) & p.restricted[profile]
    if hidden.any():
        rows = np.flatnonzero(hidden)
        profile[rows] = p.decoy[profile[rows]]
        pool = StringPools.of([catalogue.concealing_descriptions])
        changed_rows.append(rows)
        changed_desc.append(
            pool.take(np.zeros(len(rows), dtype=np.int64), rnd.bits("fraud.vague.text", key[rows]))
        )

    if changed_rows:
        rows = np.concatenate(changed_rows)
        # Series.scatter works in place: copy so the true goods stay true.
        description = description.clone().scatter(rows, pl.concat(changed_desc))
        hs_code = hs_code.clone().scatter(
            rows, hs_strings(catalogue, profile[rows], hs_digits[row[rows]])
        )
    return Declared(profile=profile, value_minor=value, description=description, hs_code=hs_code)
