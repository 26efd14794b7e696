"""What a synthetic traffic run looks like: size, seed, period, offices and planted fraud.

A :class:`TrafficConfig` is plain data (frozen, validated on construction). Everything random
in a run is a function of ``seed`` and the consignment's position in the run, so the same
config always gives the same traffic, byte for byte, whatever the chunk size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final

from smartcustoms.errors import InvalidInputError, Problem

__all__ = [
    "DEFAULT_OFFICE",
    "DEFAULT_START",
    "FILING_WINDOW",
    "SPLIT_WINDOW",
    "FraudRates",
    "FraudType",
    "TrafficConfig",
]

DEFAULT_OFFICE: Final = "FR000730"
"""A Paris-CDG-like office of arrival (synthetic code; see ``data/world.toml``)."""

DEFAULT_START: Final = datetime(2026, 11, 16, tzinfo=UTC)
"""Default start of the traffic period (a Monday, 00:00 UTC). Fixed, so runs are reproducible;
pass ``start`` near today when the traffic feeds validation with a sane-date window."""

SPLIT_WINDOW: Final = 4
"""Consecutive consignments that may form one split order (at most 3 parts, aligned on 4)."""

FILING_WINDOW: Final = 8
"""Consecutive consignments that may share one batch filing (aligned on 8). Chunks are cut
on multiples of this, so a filing never straddles two chunks."""


class FraudType(StrEnum):
    """The kinds of non-compliance planted in synthetic traffic (ground-truth labels)."""

    UNDERVALUATION = "undervaluation"
    """Declared item values below the price paid, often just under the EUR 150 threshold."""
    MISCLASSIFICATION = "misclassification"
    """Goods declared under a lower-duty HS code (new garments as worn clothing, shoes as
    footwear parts, a TV as a monitor, ...)."""
    SPLIT_SHIPMENT = "split_shipment"
    """One order split into several consignments, each under the EUR 150 threshold."""
    VAGUE_DESCRIPTION_RESTRICTED = "vague_description_restricted"
    """Restricted goods (knives, e-cigarettes, medicines, laser pointers, ...) hidden behind a
    vague description ("gift", "parts") and an innocuous HS code."""


@dataclass(frozen=True, slots=True)
class FraudRates:
    """Target shares of consignments per fraud type, and how repeat offenders behave.

    The four type rates are the expected share of *all* consignments with that label.
    Repeat offenders are a share of sellers (never among the 50 largest) whose consignments
    are non-compliant with probability ``repeat_offender_rate``; the remaining non-compliance
    is spread over the other sellers so the overall shares still match the rates.

    Attributes:
        undervaluation: Share of consignments undervalued.
        misclassification: Share misclassified to a lower-duty code.
        split_shipment: Share of consignments that are parts of a split order.
        vague_description_restricted: Share hiding restricted goods behind vague wording.
        repeat_offender_share: Share of sellers who are repeat offenders.
        repeat_offender_rate: Probability that a repeat offender's consignment is
            non-compliant.
    """

    undervaluation: float = 0.04
    misclassification: float = 0.015
    split_shipment: float = 0.01
    vague_description_restricted: float = 0.004
    repeat_offender_share: float = 0.02
    repeat_offender_rate: float = 0.4

    def by_type(self) -> dict[FraudType, float]:
        """The rate of each fraud type."""
        return {
            FraudType.UNDERVALUATION: self.undervaluation,
            FraudType.MISCLASSIFICATION: self.misclassification,
            FraudType.SPLIT_SHIPMENT: self.split_shipment,
            FraudType.VAGUE_DESCRIPTION_RESTRICTED: self.vague_description_restricted,
        }

    @property
    def total(self) -> float:
        """Expected share of non-compliant consignments."""
        return sum(self.by_type().values())

    @classmethod
    def none(cls) -> FraudRates:
        """Fully compliant traffic."""
        return cls(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True, slots=True)
class TrafficConfig:
    """One synthetic traffic run.

    Attributes:
        consignments: Number of consignments to generate.
        seed: Run seed; same seed, same traffic.
        start: Start of the period (timezone-aware; arrivals fall in
            ``[start, start + days)``).
        days: Length of the period in days (fractions allowed).
        offices: Offices of arrival (codes in ``data/world.toml``); each consignment goes to
            one, uniformly. The destination country is the office's country.
        fraud: Planted non-compliance.
        sellers: Size of the seller pool (heavy-tailed: a few sellers ship a lot).
        buyers: Size of the buyer pool (repeat buyers follow a milder power law).
        batch_filing_share: Share of 8-consignment windows filed as one batch filing by a
            broker or a marketplace.
        vague_description_share: Share of honest goods items with a vague description.
        round_value_share: Share of honest goods items with a whole-unit value.
        national_line_share: Share of express/broker consignments classified with 8 or 10
            digit national lines rather than 6-digit subheadings.
        missing_optional_share: Scale of how often optional fields are left out (1.0 =
            realistic, 0.0 = every optional field filled).
        chunk_size: Consignments generated per chunk (rounded up to a multiple of
            :data:`FILING_WINDOW`). Only memory and progress granularity depend on it.
    """

    consignments: int
    seed: int = 42
    start: datetime = DEFAULT_START
    days: float = 1.0
    offices: tuple[str, ...] = (DEFAULT_OFFICE,)
    fraud: FraudRates = field(default_factory=FraudRates)
    sellers: int = 20_000
    buyers: int = 400_000
    batch_filing_share: float = 0.05
    vague_description_share: float = 0.03
    round_value_share: float = 0.06
    national_line_share: float = 0.35
    missing_optional_share: float = 1.0
    chunk_size: int = 50_000

    def __post_init__(self) -> None:
        problems = list(self._problems())
        if problems:
            raise InvalidInputError.with_problems(
                "invalid synthetic traffic configuration: "
                + "; ".join(f"{p.path}: {p.message}" for p in problems),
                problems,
            )

    def _problems(self) -> list[Problem]:
        out: list[Problem] = []

        def bad(path: str, message: str) -> None:
            out.append(Problem("synth.config", path, message))

        if self.consignments < 0:
            bad("consignments", "must be >= 0")
        if self.seed < 0:
            bad("seed", "must be >= 0")
        if self.start.tzinfo is None:
            bad("start", "must be timezone-aware")
        if not self.days > 0:
            bad("days", "must be > 0")
        if not self.offices:
            bad("offices", "at least one office is needed")
        if self.sellers < 100:
            bad("sellers", "must be >= 100")
        if self.buyers < 1:
            bad("buyers", "must be >= 1")
        if self.chunk_size < 1:
            bad("chunk_size", "must be >= 1")
        for name in (
            "batch_filing_share",
            "vague_description_share",
            "round_value_share",
            "national_line_share",
            "missing_optional_share",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                bad(name, "must be between 0 and 1")
        rates = self.fraud
        for name in (
            "undervaluation",
            "misclassification",
            "split_shipment",
            "vague_description_restricted",
            "repeat_offender_share",
            "repeat_offender_rate",
        ):
            if not 0.0 <= getattr(rates, name) <= 1.0:
                bad(f"fraud.{name}", "must be between 0 and 1")
        if rates.total > 0.5:
            bad("fraud", "the fraud rates add up to more than 0.5")
        return out

    @property
    def effective_chunk_size(self) -> int:
        """The chunk size actually used: a positive multiple of :data:`FILING_WINDOW`."""
        return -(-self.chunk_size // FILING_WINDOW) * FILING_WINDOW
