"""Revenue at stake: what each planted fraud costs, computed by the platform's own tariff engine.

For a non-compliant consignment::

    revenue at stake = tax due on the TRUE facts - tax due on the DECLARED facts

where "tax due" is everything the regime levies on the consignment - duty, excise and VAT
payable at the border plus VAT collected at sale through the IOSS - in the regime currency
(EUR for the EU presets), as :func:`smartcustoms.tariff.assess` computes it.

Split shipments are judged as the order they really are: the tax due on the combined order
(all parts' items in one consignment) minus the sum of the tax due on the parts, apportioned
to the parts in proportion to their declared value (the last part takes the rounding cent).
A scheme that does not pay off under the regime (a split that costs more in flat per-item
duty than it saves) is still non-compliant but has zero revenue at stake: the figure is never
negative. Compliant consignments have zero by definition (true and declared facts coincide);
they are not assessed.

This stage is separate from generation: generation needs no tariff, and another regime,
schedule or rate table can be plugged in through :class:`Assessor`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Final

import polars as pl

from smartcustoms.model.columns import CONSIGNMENT_ID, ITEM_NO, MONEY, TOTAL_VALUE
from smartcustoms.synth.columns import FRAUD_TYPE, IS_NONCOMPLIANT, REVENUE_AT_STAKE, SPLIT_GROUP_ID
from smartcustoms.synth.config import FraudType
from smartcustoms.synth.traffic import TrafficChunk
from smartcustoms.tariff import (
    assess,
    load_exchange_rates,
    load_regime,
    load_schedule,
)
from smartcustoms.tariff import (
    columns as tariff_columns,
)

__all__ = [
    "DEFAULT_REGIME",
    "TAX_DUE",
    "Assessor",
    "revenue_at_stake",
    "tariff_assessor",
    "with_revenue_at_stake",
]

DEFAULT_REGIME: Final = "eu-2026-07"
"""Regime revenue at stake is computed under unless told otherwise."""

TAX_DUE: Final = "tax_due"
"""Column an :class:`Assessor` returns: total tax due per consignment, regime currency."""

Assessor = Callable[[pl.DataFrame, pl.DataFrame], pl.DataFrame]
"""Maps canonical (consignments, items) frames to ``consignment_id`` + :data:`TAX_DUE`
(``Decimal``), one row per consignment."""

_ZERO: Final = Decimal(0)


def tariff_assessor(
    regime: str = DEFAULT_REGIME,
    *,
    schedule: str | None = None,
    rates: str | None = None,
) -> Assessor:
    """An :class:`Assessor` backed by :func:`smartcustoms.tariff.assess`.

    Args:
        regime: Regime preset id or file.
        schedule: Tariff schedule file or id (the shipped default when ``None``).
        rates: Exchange-rate file (the shipped illustrative table when ``None``).
    """
    loaded_regime = load_regime(regime)
    loaded_schedule = load_schedule(schedule)
    loaded_rates = load_exchange_rates(rates)

    def tax_due(consignments: pl.DataFrame, items: pl.DataFrame) -> pl.DataFrame:
        result = assess(
            consignments,
            items,
            regime=loaded_regime,
            schedule=loaded_schedule,
            rates=loaded_rates,
        ).consignments
        return result.select(
            CONSIGNMENT_ID,
            (
                pl.col(tariff_columns.TOTAL_PAYABLE_AT_BORDER).fill_null(_ZERO)
                + pl.col(tariff_columns.VAT_AT_SALE_TOTAL).fill_null(_ZERO)
            )
            .cast(MONEY)
            .alias(TAX_DUE),
        )

    return tax_due


def _combined_orders(
    consignments: pl.DataFrame, items: pl.DataFrame, groups: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One consignment per split order, holding every part's items (renumbered)."""
    member = consignments.join(groups, on=CONSIGNMENT_ID, how="inner", maintain_order="left")
    combined = (
        member.group_by(SPLIT_GROUP_ID, maintain_order=True)
        .agg(
            pl.all().exclude(SPLIT_GROUP_ID).first(),
            pl.col(TOTAL_VALUE).sum().alias("_total"),
            pl.col("transport_cost").sum().alias("_transport"),
            pl.col("insurance_cost").sum().alias("_insurance"),
        )
        .with_columns(
            pl.col(SPLIT_GROUP_ID).alias(CONSIGNMENT_ID),
            pl.col("_total").cast(MONEY).alias(TOTAL_VALUE),
            pl.col("_transport").cast(MONEY).alias("transport_cost"),
            pl.col("_insurance").cast(MONEY).alias("insurance_cost"),
        )
        .select(consignments.columns)
    )
    combined_items = (
        items.join(groups, on=CONSIGNMENT_ID, how="inner", maintain_order="left")
        .with_columns(
            pl.col(SPLIT_GROUP_ID).alias(CONSIGNMENT_ID),
            (pl.int_range(pl.len()).over(SPLIT_GROUP_ID) + 1).cast(pl.Int64).alias(ITEM_NO),
        )
        .select(items.columns)
    )
    return combined, combined_items


def revenue_at_stake(chunk: TrafficChunk, assessor: Assessor) -> pl.DataFrame:
    """Revenue at stake of every consignment of a chunk.

    Args:
        chunk: A generated chunk (true and declared facts, labels).
        assessor: Computes tax due per consignment (see :func:`tariff_assessor`).

    Returns:
        ``consignment_id``, ``revenue_at_stake`` (``Decimal``, regime currency), in the
        chunk's consignment order; zero for compliant consignments, never negative.
    """
    labels = chunk.labels
    split = FraudType.SPLIT_SHIPMENT.value
    cheating = labels.filter(pl.col(IS_NONCOMPLIANT) & (pl.col(FRAUD_TYPE) != split))
    ids = cheating.select(CONSIGNMENT_ID)
    parts: list[pl.DataFrame] = []
    if ids.height:
        declared_c = chunk.consignments.join(ids, on=CONSIGNMENT_ID, maintain_order="left")
        declared_i = chunk.items.join(ids, on=CONSIGNMENT_ID, maintain_order="left")
        true_c = chunk.true_consignments.join(ids, on=CONSIGNMENT_ID, maintain_order="left")
        true_i = chunk.true_items.join(ids, on=CONSIGNMENT_ID, maintain_order="left")
        due = assessor(true_c, true_i).join(
            assessor(declared_c, declared_i), on=CONSIGNMENT_ID, suffix="_declared"
        )
        parts.append(
            due.select(
                CONSIGNMENT_ID,
                (pl.col(TAX_DUE) - pl.col(f"{TAX_DUE}_declared")).alias(REVENUE_AT_STAKE),
            )
        )

    groups = labels.filter(pl.col(FRAUD_TYPE) == split).select(CONSIGNMENT_ID, SPLIT_GROUP_ID)
    if groups.height:
        declared_c = chunk.consignments.join(groups, on=CONSIGNMENT_ID, maintain_order="left")
        declared_i = chunk.items.join(groups.select(CONSIGNMENT_ID), on=CONSIGNMENT_ID)
        combined_c, combined_i = _combined_orders(chunk.consignments, chunk.items, groups)
        order_due = assessor(combined_c, combined_i).rename({CONSIGNMENT_ID: SPLIT_GROUP_ID})
        part_due = assessor(declared_c.drop(SPLIT_GROUP_ID), declared_i)
        frame = (
            declared_c.select(CONSIGNMENT_ID, SPLIT_GROUP_ID, TOTAL_VALUE)
            .join(part_due, on=CONSIGNMENT_ID, maintain_order="left")
            .join(
                order_due.rename({TAX_DUE: "_order_due"}),
                on=SPLIT_GROUP_ID,
                maintain_order="left",
            )
            .with_columns(
                pl.col(TAX_DUE).sum().over(SPLIT_GROUP_ID).alias("_parts_due"),
                pl.col(TOTAL_VALUE).sum().over(SPLIT_GROUP_ID).alias("_order_value"),
                (
                    pl.int_range(pl.len()).over(SPLIT_GROUP_ID) == pl.len().over(SPLIT_GROUP_ID) - 1
                ).alias("_last"),
            )
            .with_columns(
                pl.max_horizontal(pl.col("_order_due") - pl.col("_parts_due"), pl.lit(_ZERO))
                .cast(MONEY)
                .alias("_stake")
            )
            .with_columns(
                (pl.col("_stake") * pl.col(TOTAL_VALUE) / pl.col("_order_value"))
                .round(2)
                .cast(MONEY)
                .alias("_share")
            )
            .with_columns(
                pl.when(pl.col("_last"))
                .then(
                    pl.col("_stake")
                    - (pl.col("_share").sum().over(SPLIT_GROUP_ID) - pl.col("_share"))
                )
                .otherwise(pl.col("_share"))
                .cast(MONEY)
                .alias(REVENUE_AT_STAKE)
            )
        )
        parts.append(frame.select(CONSIGNMENT_ID, REVENUE_AT_STAKE))

    found = (
        pl.concat(parts)
        if parts
        else pl.DataFrame(schema={CONSIGNMENT_ID: pl.String, REVENUE_AT_STAKE: MONEY})
    )
    return (
        labels.select(CONSIGNMENT_ID)
        .join(found, on=CONSIGNMENT_ID, how="left", maintain_order="left")
        .with_columns(
            pl.max_horizontal(pl.col(REVENUE_AT_STAKE).fill_null(_ZERO), pl.lit(_ZERO))
            .cast(MONEY)
            .alias(REVENUE_AT_STAKE)
        )
    )


def with_revenue_at_stake(chunk: TrafficChunk, assessor: Assessor) -> TrafficChunk:
    """The chunk with ``labels.revenue_at_stake`` filled in by :func:`revenue_at_stake`."""
    stake = revenue_at_stake(chunk, assessor)
    labels = chunk.labels.with_columns(stake[REVENUE_AT_STAKE].alias(REVENUE_AT_STAKE))
    return replace(chunk, labels=labels)
