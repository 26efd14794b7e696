"""Drawn traffic -> canonical frames: consignments, goods items (declared and true), labels.

The generator works in NumPy arrays (integer minor units, grams, epoch seconds); this module
turns them into exactly the frames intake would produce from the filings -
:data:`~smartcustoms.model.CONSIGNMENT_SCHEMA` and :data:`~smartcustoms.model.ITEM_SCHEMA`,
money as exact ``Decimal(18, 4)``, UTC datetimes - and into the label frame. It is also where
filers leave optional fields out (:class:`Gaps`), as real ones do: a data-quality score
elsewhere is meant to notice.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

from smartcustoms.model.columns import (
    CONSIGNMENT_ID,
    CONSIGNMENT_SCHEMA,
    ITEM_SCHEMA,
    MONEY,
    TIMESTAMP,
    TOTAL_VALUE,
)
from smartcustoms.synth._keyed import KeyedRandom
from smartcustoms.synth.catalogue import ProfileTable
from smartcustoms.synth.columns import LABEL_SCHEMA
from smartcustoms.synth.fraud import FRAUD_TYPES, Declared
from smartcustoms.synth.goods import FraudCode, Goods
from smartcustoms.synth.operators import PARTY_FIELDS

__all__ = [
    "Gaps",
    "consignment_frame",
    "item_frames",
    "keep",
    "label_frame",
    "lists",
    "money",
    "timestamps",
]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]


def money(minor: I64, unit: I64) -> pl.Series:
    """Exact decimals from integer minor units (``unit`` minor units per currency unit)."""
    frame = pl.DataFrame({"m": minor, "u": unit})
    return frame.select((pl.col("m").cast(MONEY) / pl.col("u").cast(MONEY)).cast(MONEY))["m"]


def timestamps(seconds: I64) -> pl.Series:
    """UTC timestamps from epoch seconds."""
    return pl.Series(seconds * 1_000_000, dtype=pl.Int64).cast(TIMESTAMP)


def keep(values: pl.Series, mask: npt.ArrayLike) -> pl.Series:
    """``values`` where ``mask`` is true, null elsewhere."""
    frame = pl.DataFrame({"v": values, "m": pl.Series(np.asarray(mask, dtype=np.bool_))})
    return frame.select(pl.when("m").then("v").alias("v"))["v"].alias(values.name)


def lists(offsets: I64, values: pl.Series) -> pl.Series:
    """A list column from flat values and ``n + 1`` offsets."""
    array = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), values.to_arrow())
    return pl.Series(values.name, array)


class Gaps:
    """Which optional values filers leave out.

    Args:
        rnd: The run's keyed random source.
        scale: Multiplies every base rate (``TrafficConfig.missing_optional_share``).
    """

    def __init__(self, rnd: KeyedRandom, scale: float) -> None:
        self.rnd = rnd
        self.scale = scale

    def present(self, stream: str, keys: I64, p_missing: npt.ArrayLike) -> B:
        """Mask of values that are filled in, each missing with ``p_missing * scale``."""
        p = np.asarray(p_missing, dtype=np.float64) * self.scale
        return ~self.rnd.bernoulli(stream, keys, p)


def consignment_frame(
    *,
    rnd: KeyedRandom,
    gaps: Gaps,
    idx: I64,
    group: I64,
    references: pl.DataFrame,
    filer_role: pl.Series,
    filers: pl.DataFrame,
    carriers: pl.DataFrame,
    sellers: pl.DataFrame,
    buyers: pl.DataFrame,
    office: pl.Series,
    dispatch: pl.Series,
    marketplace_id: pl.Series,
    currency: pl.Series,
    filed_at: I64,
    landing: I64,
    prearrival: B,
    is_postal: B,
    unit: I64,
    rate: F64,
    declared_total: I64,
    goods: Goods,
) -> pl.DataFrame:
    """The declared consignments frame (``CONSIGNMENT_SCHEMA``).

    Args:
        rnd: The run's keyed random source.
        gaps: Missing optional values.
        idx: Run positions.
        group: Order key per consignment (shared by the parts of a split order).
        references: From :meth:`~smartcustoms.synth.references.References.build`.
        filer_role: ``filer_role`` per consignment.
        filers: Filer party per consignment (``id``, ``name``, ...).
        carriers: Carrier party per consignment.
        sellers: ``seller_*`` columns.
        buyers: ``buyer_*`` columns.
        office: Office of arrival per consignment.
        dispatch: Country of dispatch per consignment.
        marketplace_id: Marketplace id or null.
        currency: Invoice currency.
        filed_at: Lodgement, epoch seconds.
        landing: Arrival, epoch seconds.
        prearrival: Lodged before arrival.
        is_postal: Postal item rather than express.
        unit: Minor units per currency unit.
        rate: EUR per currency unit (generation rates).
        declared_total: Declared total, minor units.
        goods: True goods items (for masses and counts).
    """
    n = len(idx)
    present = gaps.present
    # Pre-arrival filers give the scheduled time; late filers the actual one.
    jitter = 60 * np.rint(rnd.normal("expected.arrival", idx) * 15).astype(np.int64)
    expected = np.where(prearrival, landing + jitter, landing)
    expected -= expected % 60
    cost_eur = rnd.lognormal("transport.cost", idx, np.where(is_postal, 3.5, 6.0), 0.5)
    transport = np.maximum(1, np.rint(cost_eur / rate * unit)).astype(np.int64)
    insurance = np.maximum(1, np.rint(declared_total * 0.015)).astype(np.int64)
    count = np.bincount(goods.consignment_row, minlength=n)
    gross_g = np.bincount(goods.consignment_row, weights=goods.gross_g, minlength=n)
    gross_g += rnd.integers("outer.packaging", idx, 20, 150)
    packages = 1 + ((count > 1) & rnd.bernoulli("packages", idx, 0.06))
    empty = pl.repeat(None, n, dtype=pl.String, eager=True)
    data: dict[str, pl.Series] = {
        "filing_id": references["filing_id"],
        CONSIGNMENT_ID: references[CONSIGNMENT_ID],
        "filed_at": timestamps(filed_at),
        "filer_role": filer_role,
        **{f"filer_{f}": filers[f] for f in PARTY_FIELDS},
        "transport_mode": pl.Series(["4", "5"]).gather(is_postal.astype(np.int64)),
        "transport_document_id": references["transport_document_id"],
        "master_transport_document_id": references["master_transport_document_id"],
        "postal_receptacle_id": references["postal_receptacle_id"],
        "postal_item_id": references["postal_item_id"],
        "office_of_arrival": office,
        "location_of_goods": keep(
            references["location_of_goods"], present("missing.location", idx, 0.3)
        ),
        "expected_arrival_at": keep(timestamps(expected), present("missing.expected", idx, 0.08)),
        "country_of_dispatch": dispatch,
        "country_of_destination": buyers["buyer_country"],
        "marketplace_id": marketplace_id,
        "marketplace_order_ref": references["marketplace_order_ref"],
        "ioss_number": references["ioss_number"],
        "currency": currency,
        TOTAL_VALUE: money(declared_total, unit),
        # Postal declarations rarely state freight; express ones usually do.
        "transport_cost": keep(
            money(transport, unit),
            present("missing.transport_cost", idx, np.where(is_postal, 0.8, 0.3)),
        ),
        "insurance_cost": keep(
            money(insurance, unit), present("missing.insurance_cost", idx, 0.92)
        ),
        "total_gross_mass_kg": keep(
            pl.Series(gross_g / 1000.0), present("missing.gross", idx, 0.02)
        ),
        "total_packages": keep(
            pl.Series(packages.astype(np.int64)), present("missing.packages", idx, 0.05)
        ),
        **{c: sellers[c] for c in sellers.columns},
        **{c: buyers[c] for c in buyers.columns},
        **{f"importer_{f}": empty for f in PARTY_FIELDS},
        **{f"carrier_{f}": carriers[f] for f in PARTY_FIELDS},
    }
    for col, stream, keys, p in (
        ("seller_street", "missing.seller_street", group, 0.08),
        ("seller_postcode", "missing.seller_postcode", group, 0.12),
        ("buyer_street", "missing.buyer_street", idx, 0.01),
        ("buyer_postcode", "missing.buyer_postcode", idx, 0.02),
    ):
        data[col] = keep(data[col], present(stream, keys, p))
    # Marketplaces know their customers; web shops often send no customer id.
    has_market = marketplace_id.is_not_null().to_numpy()
    data["buyer_id"] = keep(data["buyer_id"], has_market | present("missing.buyer_id", group, 0.7))
    frame = pl.DataFrame(data)
    return frame.select([pl.col(c).cast(t) for c, t in CONSIGNMENT_SCHEMA.items()])


def item_frames(
    *,
    gaps: Gaps,
    profiles: ProfileTable,
    consignment_id: pl.Series,
    goods: Goods,
    declared: Declared,
    unit: I64,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Declared and true goods-item frames (``ITEM_SCHEMA``), aligned row for row.

    Args:
        gaps: Missing optional values (the same gaps in both frames).
        profiles: HS profiles (quantity units).
        consignment_id: Consignment id per consignment row.
        goods: True goods.
        declared: Declared goods.
        unit: Minor units per currency unit, per consignment.
    """
    key, row = goods.key, goods.consignment_row
    present = gaps.present
    base = {
        CONSIGNMENT_ID: consignment_id.gather(row),
        "item_no": pl.Series(goods.item_no),
        "origin_country": goods.origin_country,
        "quantity": keep(
            pl.Series(goods.quantity.astype(np.float64)), present("missing.quantity", key, 0.02)
        ),
        "net_mass_kg": keep(pl.Series(goods.net_g / 1000.0), present("missing.net", key, 0.01)),
        "gross_mass_kg": keep(
            pl.Series(goods.gross_g / 1000.0), present("missing.gross_item", key, 0.03)
        ),
    }
    has_unit = present("missing.unit", key, 0.05)
    item_unit = unit[row]

    def frame(profile: I64, description: pl.Series, hs_code: pl.Series, value: I64) -> pl.DataFrame:
        data = {
            **base,
            "description": description,
            "hs_code": hs_code,
            "quantity_unit": keep(profiles.quantity_unit.gather(profile), has_unit),
            "value": money(value, item_unit),
        }
        return pl.DataFrame(data).select([pl.col(c).cast(t) for c, t in ITEM_SCHEMA.items()])

    return (
        frame(declared.profile, declared.description, declared.hs_code, declared.value_minor),
        frame(goods.profile, goods.description, goods.hs_code, goods.value_minor),
    )


def label_frame(
    consignments: pl.DataFrame,
    *,
    fraud: npt.NDArray[np.int8],
    is_offender: B,
    split_group_id: pl.Series,
    true_total: I64,
    declared_total: I64,
    unit: I64,
    items: pl.DataFrame,
    true_items: pl.DataFrame,
    item_counts: I64,
    has_restricted: B,
) -> pl.DataFrame:
    """Ground truth per consignment (:data:`~smartcustoms.synth.columns.LABEL_SCHEMA`).

    ``items`` and ``true_items`` are in consignment order with ``item_counts`` items each;
    ``revenue_at_stake`` is left null for :mod:`smartcustoms.synth.revenue`.
    """
    n = consignments.height
    offsets = np.concatenate([[0], np.cumsum(item_counts)]).astype(np.int64)
    fraud_names = pl.Series([t.value if t else None for t in FRAUD_TYPES], dtype=pl.String)
    data = {
        CONSIGNMENT_ID: consignments[CONSIGNMENT_ID],
        "filing_id": consignments["filing_id"],
        "is_noncompliant": pl.Series(fraud != FraudCode.NONE),
        "fraud_type": fraud_names.gather(fraud.astype(np.int64)),
        "seller_id": consignments["seller_id"],
        "seller_is_repeat_offender": pl.Series(is_offender),
        "split_group_id": split_group_id,
        "currency": consignments["currency"],
        "true_total_value": money(true_total, unit),
        "declared_total_value": money(declared_total, unit),
        "true_hs_codes": lists(offsets, true_items["hs_code"]),
        "declared_hs_codes": lists(offsets, items["hs_code"]),
        "has_restricted_goods": pl.Series(has_restricted),
        "revenue_at_stake": pl.repeat(None, n, dtype=MONEY, eager=True),
    }
    return pl.DataFrame(data).select([pl.col(c).cast(t) for c, t in LABEL_SCHEMA.items()])
