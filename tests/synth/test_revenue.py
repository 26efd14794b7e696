"""Revenue at stake: tax due on the true facts minus tax due on the declared facts."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest

from smartcustoms.model import MONEY
from smartcustoms.synth import (
    FraudType,
    TrafficChunk,
    revenue_at_stake,
    tariff_assessor,
    with_revenue_at_stake,
)
from smartcustoms.synth.revenue import TAX_DUE, Assessor

from .conftest import share


@pytest.fixture(scope="module")
def assessor() -> Assessor:
    return tariff_assessor()


@pytest.fixture(scope="module")
def assessed(chunks: list[TrafficChunk], assessor: Assessor) -> pl.DataFrame:
    return pl.concat([with_revenue_at_stake(c, assessor).labels for c in chunks])


def test_revenue_at_stake_is_zero_for_compliant_and_never_negative(
    assessed: pl.DataFrame,
) -> None:
    stake = assessed["revenue_at_stake"]
    assert stake.null_count() == 0
    assert (stake >= 0).all()
    honest = assessed.filter(~pl.col("is_noncompliant"))
    assert (honest["revenue_at_stake"] == 0).all()


def test_undervaluation_and_misclassification_cost_revenue(assessed: pl.DataFrame) -> None:
    for fraud_type in (FraudType.UNDERVALUATION, FraudType.MISCLASSIFICATION):
        stake = assessed.filter(pl.col("fraud_type") == fraud_type)["revenue_at_stake"]
        assert stake.len() > 0
        assert share(stake > 0) > 0.9, fraud_type


def test_compliant_consignments_have_identical_true_and_declared_facts(
    chunks: list[TrafficChunk], assessor: Assessor
) -> None:
    chunk = chunks[0]
    honest = chunk.labels.filter(~pl.col("is_noncompliant")).select("consignment_id").head(300)
    declared = [f.join(honest, on="consignment_id") for f in (chunk.consignments, chunk.items)]
    true = [
        f.join(honest, on="consignment_id") for f in (chunk.true_consignments, chunk.true_items)
    ]
    assert declared[0].equals(true[0])
    assert declared[1].equals(true[1])
    due_declared = assessor(*declared)
    assert due_declared[TAX_DUE].equals(assessor(*true)[TAX_DUE])


def _flat_assessor(rate: str) -> Assessor:
    """Tax due = rate x sum of item values, with EUR 3 per item on parcels up to 150."""

    def tax_due(consignments: pl.DataFrame, items: pl.DataFrame) -> pl.DataFrame:
        sums = items.group_by("consignment_id").agg(
            pl.col("value").sum().alias("v"), pl.len().alias("n")
        )
        return (
            consignments.select("consignment_id")
            .join(sums, on="consignment_id", how="left", maintain_order="left")
            .select(
                "consignment_id",
                pl.when(pl.col("v") <= 150)
                .then(pl.col("n").cast(MONEY) * Decimal(3))
                .otherwise(pl.col("v") * Decimal(rate))
                .cast(MONEY)
                .alias(TAX_DUE),
            )
        )

    return tax_due


def test_split_orders_are_judged_as_one_order(chunks: list[TrafficChunk]) -> None:
    chunk = chunks[0]
    stake = revenue_at_stake(chunk, _flat_assessor("0.5"))
    labels = chunk.labels.with_columns(stake["revenue_at_stake"].alias("stake"))
    split = labels.filter(pl.col("fraud_type") == FraudType.SPLIT_SHIPMENT).join(
        chunk.consignments.select("consignment_id", "total_value"), on="consignment_id"
    )
    assert split.height > 0

    def tax(value: Decimal, items: int) -> Decimal:
        return value * Decimal("0.5") if value > 150 else Decimal(3) * items

    counts = chunk.items.group_by("consignment_id").len()
    paying = 0
    for _, group in split.join(counts, on="consignment_id").group_by("split_group_id"):
        parts = [
            tax(Decimal(v), int(n)) for v, n in zip(group["total_value"], group["len"], strict=True)
        ]
        order = tax(Decimal(group["total_value"].sum()), int(group["len"].sum()))
        expected = max(Decimal(0), order - sum(parts, Decimal(0)))
        assert Decimal(group["stake"].sum()) == pytest.approx(expected, abs=Decimal("0.01"))
        paying += expected > 0
        # Apportioned by value: the dearer part carries more.
        ordered = group.sort("total_value")
        assert ordered["stake"][0] <= ordered["stake"][-1]
    assert paying > 0, "under this rule most splits pay off"
