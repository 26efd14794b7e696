"""Lifecycle events: the milestones of a consignment from arrival to exit.

The vocabulary follows the stages the WCO Time Release Study guide measures (arrival, lodgement,
acceptance, risk decision, documentary and physical controls, other-agency holds, assessment,
payment, release, exit). Events are the source of truth for release-time measurement.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

import polars as pl

from smartcustoms.model.columns import TIMESTAMP

__all__ = ["EVENT_SCHEMA", "EventType"]


class EventType(StrEnum):
    """Milestones in the life of a consignment, in their usual order."""

    LODGEMENT = "lodgement"
    """The filer lodged the advance data (may precede arrival: pre-arrival processing)."""
    ARRIVAL = "arrival"
    """The goods arrived at the office."""
    UNLOADING = "unloading"
    """The goods were unloaded / placed in temporary storage."""
    ACCEPTANCE = "acceptance"
    """Customs registered and accepted the filing (WCO DM 023)."""
    RISK_DECISION = "risk_decision"
    """A lane was selected."""
    DOCUMENT_CHECK_START = "document_check_start"
    DOCUMENT_CHECK_END = "document_check_end"
    PHYSICAL_INSPECTION_START = "physical_inspection_start"
    PHYSICAL_INSPECTION_END = "physical_inspection_end"
    AGENCY_HOLD = "agency_hold"
    """Another government agency put the goods on hold."""
    AGENCY_RELEASE = "agency_release"
    """The other agency lifted its hold."""
    ASSESSMENT = "assessment"
    """Duties and taxes were assessed."""
    PAYMENT = "payment"
    """Duties and taxes were paid or secured."""
    RELEASE = "release"
    """Customs released the goods."""
    EXIT = "exit"
    """The goods left the customs area."""


EVENT_SCHEMA: Final = pl.Schema(
    [
        ("consignment_id", pl.String()),
        ("event_type", pl.String()),
        ("occurred_at", TIMESTAMP),
        ("office", pl.String()),
        ("source", pl.String()),
    ]
)
"""Schema of a lifecycle-events frame."""
