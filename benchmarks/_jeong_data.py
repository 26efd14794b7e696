"""Jeong et al. 2022 files -> smartcustoms risk view (canonical columns + dataset extras)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import polars as pl

from smartcustoms.model.columns import (
    CONSIGNMENT_ID,
    COUNTRY_OF_DISPATCH,
    CURRENCY,
    FILED_AT,
    FILER_ID,
    HS_CODE,
    ITEM_NO,
    NET_MASS_KG,
    OFFICE_OF_ARRIVAL,
    ORIGIN_COUNTRY,
    SELLER_ID,
    TRANSPORT_MODE,
    VALUE,
)
from smartcustoms.risk.columns import (
    BASE_VALUE,
    HS6,
    IMPORTER_ID,
    IS_NONCOMPLIANT,
    REVENUE_AT_STAKE,
)
from smartcustoms.risk.profiles import CARRIER_ID

DATA = (
    Path(
        os.environ.get(
            "SMARTCUSTOMS_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"
        )
    )
    / "customs-import-declarations-jeong2022"
)
SPLITS = ("train", "valid", "test")

# dataset-specific declared columns (legitimate features)
PROCESS_TYPE = "process_type"
IMPORT_TYPE = "import_type"
IMPORT_USE = "import_use"
PAYMENT_TYPE = "payment_type"
TAX_TYPE = "tax_type"
ORIGIN_INDICATOR = "origin_indicator"
TAX_RATE = "tax_rate"
HS10 = "hs10"
EXTRA_CATEGORICALS = (
    PROCESS_TYPE,
    IMPORT_TYPE,
    IMPORT_USE,
    PAYMENT_TYPE,
    TAX_TYPE,
    ORIGIN_INDICATOR,
)
EXTRA_NUMERICS = (TAX_RATE,)
CRITICAL = "Critical Fraud"  # kept only to prove the leakage guard; never a feature


def _read(path: Path) -> pl.DataFrame:
    raw = pl.read_csv(path, infer_schema=False)
    return raw.with_columns(pl.col(c).replace("", None) for c in raw.columns)


def load_split(split: str, *, with_hs10: bool = True) -> pl.DataFrame:
    raw = _read(DATA / f"df_syn_{split}_eng.csv")
    price = pl.col("Item Price").cast(pl.Float64)
    tax = pl.col("Tax Rate").cast(pl.Float64)
    fraud = pl.col("Fraud").cast(pl.Int8)
    view = raw.select(
        pl.col("Declaration ID").alias(CONSIGNMENT_ID),
        pl.lit(1, pl.Int64).alias(ITEM_NO),
        pl.col("Date").str.to_datetime("%Y-%m-%d", time_zone="UTC").alias(FILED_AT),
        pl.col("HS6 Code").str.zfill(6).alias(HS_CODE),
        pl.col("HS6 Code").str.zfill(6).alias(HS6),
        pl.col("Country of Origin").alias(ORIGIN_COUNTRY),
        pl.col("Country of Departure").alias(COUNTRY_OF_DISPATCH),
        pl.col("Office ID").alias(OFFICE_OF_ARRIVAL),
        pl.col("Mode of Transport").alias(TRANSPORT_MODE),
        pl.col("Importer ID").alias(IMPORTER_ID),
        pl.col("Seller ID").alias(SELLER_ID),
        pl.col("Declarant ID").alias(FILER_ID),
        pl.col("Courier ID").alias(CARRIER_ID),
        pl.col("Net Mass").cast(pl.Float64).alias(NET_MASS_KG),
        price.alias(VALUE),
        price.alias(BASE_VALUE),
        pl.lit("KRW").alias(CURRENCY),
        pl.col("Process Type").alias(PROCESS_TYPE),
        pl.col("Import Type").alias(IMPORT_TYPE),
        pl.col("Import Use").alias(IMPORT_USE),
        pl.col("Payment Type").alias(PAYMENT_TYPE),
        pl.col("Tax Type").alias(TAX_TYPE),
        pl.col("Country of Origin Indicator").alias(ORIGIN_INDICATOR),
        tax.alias(TAX_RATE),
        fraud.alias(IS_NONCOMPLIANT),
        (price * tax / 100.0 * fraud).alias(REVENUE_AT_STAKE),
        pl.col("Critical Fraud").cast(pl.Int8).alias(CRITICAL),
    )
    if with_hs10:
        raw10 = _read(DATA / "hs10-2022-06" / f"df_syn_{split}_eng.csv")
        assert raw10["Declaration ID"].equals(raw["Declaration ID"])
        view = view.with_columns(raw10["HS10 Code"].str.zfill(10).alias(HS10))
    return view


def load_all(*, with_hs10: bool = True) -> dict[str, pl.DataFrame]:
    return {s: load_split(s, with_hs10=with_hs10) for s in SPLITS}


def hide_labels(view: pl.DataFrame, fraction: float, seed: int) -> pl.DataFrame:
    """Keep labels (and revenue) on a random ``fraction`` of rows, null elsewhere."""
    keep = pl.Series(np.random.default_rng(seed).random(view.height) < fraction)
    return view.with_columns(
        pl.when(keep).then(pl.col(IS_NONCOMPLIANT)).alias(IS_NONCOMPLIANT),
        pl.when(keep).then(pl.col(REVENUE_AT_STAKE)).alias(REVENUE_AT_STAKE),
    )
