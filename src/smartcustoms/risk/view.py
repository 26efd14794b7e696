"""The risk view: one row per goods item with everything targeting reads.

Every risk stage (rules, value controls, features, the model) reads the same frame, built
here from the canonical consignments and goods items of :mod:`smartcustoms.model`:

* the item columns, with the consignment's columns joined on ``consignment_id``;
* :data:`~smartcustoms.risk.columns.HS6` - the HS subheading of the declared code;
* :data:`~smartcustoms.risk.columns.BASE_VALUE` - the item value converted into one
  comparison currency with the dated exchange rates (the declared value when no rates are
  given, for data in one currency);
* :data:`~smartcustoms.risk.columns.DQ_SCORE` and
  :data:`~smartcustoms.risk.columns.AEO_STATUS` when given per consignment;
* :data:`~smartcustoms.risk.columns.PERIOD` - the capacity period (the filing day).
"""

from __future__ import annotations

import polars as pl

from smartcustoms.model import columns as c
from smartcustoms.risk.columns import AEO_STATUS, BASE_VALUE, DQ_SCORE, HS6, PERIOD
from smartcustoms.tariff import ExchangeRates

__all__ = ["build_risk_view", "enrich_view", "with_base_value"]


def with_base_value(
    view: pl.DataFrame, rates: ExchangeRates | None, currency: str | None
) -> pl.DataFrame:
    """Add :data:`BASE_VALUE`: ``value`` in ``currency`` on the filing day (Float64).

    Without ``rates`` (or ``currency``) the declared value is used as is. A value whose
    currency has no rate that day gets a null base value: value controls then skip it
    rather than compare amounts in different currencies.
    """
    value = pl.col(c.VALUE).cast(pl.Float64)
    if rates is None or currency is None or view.is_empty():
        return view.with_columns(value.alias(BASE_VALUE))
    keyed = view.with_columns(pl.col(c.FILED_AT).dt.date().alias("_on"))
    factors = rates.factors(keyed, c.CURRENCY, "_on", currency).select(
        c.CURRENCY,
        "_on",
        pl.when(pl.col("_from_missing") | pl.col("_to_missing"))
        .then(None)
        .otherwise(pl.col("_num").cast(pl.Float64) / pl.col("_den").cast(pl.Float64))
        .alias("_factor"),
    )
    return (
        keyed.join(factors, on=[c.CURRENCY, "_on"], how="left")
        .with_columns((value * pl.col("_factor")).alias(BASE_VALUE))
        .drop("_on", "_factor")
    )


def build_risk_view(
    consignments: pl.DataFrame,
    items: pl.DataFrame,
    *,
    quality: pl.DataFrame | None = None,
    aeo: pl.DataFrame | None = None,
    rates: ExchangeRates | None = None,
    currency: str | None = None,
) -> pl.DataFrame:
    """Join items with their consignment and add the risk enrichment columns.

    Args:
        consignments: Canonical consignments (one row each).
        items: Canonical goods items.
        quality: ``consignment_id`` + ``dq_score`` (omitted: the column is null).
        aeo: ``consignment_id`` + ``aeo_status`` (omitted: null, nobody is trusted).
        rates: Exchange rates for :data:`BASE_VALUE`.
        currency: The comparison currency (the regime's).

    Returns:
        One row per goods item, in ``consignment_id`` / ``item_no`` order.
    """
    cons = consignments.drop([col for col in consignments.columns if col.startswith("_")])
    item_cols = [col for col in items.columns if col == c.CONSIGNMENT_ID or col not in cons.columns]
    view = items.select(item_cols).join(cons, on=c.CONSIGNMENT_ID, how="inner")
    if quality is not None:
        view = view.join(
            quality.select(c.CONSIGNMENT_ID, DQ_SCORE), on=c.CONSIGNMENT_ID, how="left"
        )
    elif DQ_SCORE not in view.columns:
        view = view.with_columns(pl.lit(None, dtype=pl.Int64).alias(DQ_SCORE))
    if aeo is not None:
        view = view.join(aeo.select(c.CONSIGNMENT_ID, AEO_STATUS), on=c.CONSIGNMENT_ID, how="left")
    elif AEO_STATUS not in view.columns:
        view = view.with_columns(pl.lit(None, dtype=pl.String).alias(AEO_STATUS))
    return enrich_view(view, rates=rates, currency=currency).sort(c.CONSIGNMENT_ID, c.ITEM_NO)


def enrich_view(
    view: pl.DataFrame, *, rates: ExchangeRates | None = None, currency: str | None = None
) -> pl.DataFrame:
    """Add the enrichment columns to goods items already joined with their consignments.

    Adds :data:`HS6`, :data:`PERIOD` and :data:`BASE_VALUE`, and null :data:`DQ_SCORE` /
    :data:`AEO_STATUS` when absent.
    """
    missing = [
        pl.lit(None, dtype=dtype).alias(name)
        for name, dtype in ((DQ_SCORE, pl.Int64()), (AEO_STATUS, pl.String()))
        if name not in view.columns
    ]
    view = view.with_columns(
        *missing,
        pl.col(c.HS_CODE).str.slice(0, 6).alias(HS6),
        pl.col(c.FILED_AT).dt.date().alias(PERIOD),
    )
    return with_base_value(view, rates, currency)
