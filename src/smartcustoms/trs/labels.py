"""Words for the study's codes, in English; reports translate them with a gettext function.

The portal's catalogues carry a French and a Spanish translation of every label here
(``tests/portal`` fails when one is missing), so a report rendered with the portal's
``gettext`` is entirely in the reader's language.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from smartcustoms.model.events import EventType
from smartcustoms.trs.columns import TRANSPORT_MODES, Check, Dimension, Exclusion, Responsibility
from smartcustoms.trs.columns import Span as SpanCode
from smartcustoms.trs.columns import Stage as StageCode

__all__ = [
    "ALL_LABELS",
    "CHECKS",
    "DIMENSIONS",
    "EXCLUSIONS",
    "MILESTONES",
    "RESPONSIBILITIES",
    "SPANS",
    "STAGES",
    "VALUES",
    "WEEKDAYS",
    "duration",
    "value_label",
]

MILESTONES: Final = {
    EventType.LODGEMENT: "Lodgement",
    EventType.ARRIVAL: "Arrival",
    EventType.UNLOADING: "Unloading",
    EventType.ACCEPTANCE: "Acceptance",
    EventType.RISK_DECISION: "Risk decision",
    EventType.DOCUMENT_CHECK_START: "Documentary check start",
    EventType.DOCUMENT_CHECK_END: "Documentary check end",
    EventType.PHYSICAL_INSPECTION_START: "Physical inspection start",
    EventType.PHYSICAL_INSPECTION_END: "Physical inspection end",
    EventType.AGENCY_HOLD: "Other-agency hold",
    EventType.AGENCY_RELEASE: "Other-agency release",
    EventType.ASSESSMENT: "Assessment",
    EventType.PAYMENT: "Payment",
    EventType.RELEASE: "Release",
    EventType.EXIT: "Exit",
}

STAGES: Final = {
    StageCode.UNLOADING: "Unloading",
    StageCode.LODGEMENT: "Lodgement after arrival",
    StageCode.ACCEPTANCE: "Acceptance",
    StageCode.RISK_DECISION: "Risk decision",
    StageCode.DOCUMENT_QUEUE: "Queue for documentary check",
    StageCode.DOCUMENT_CHECK: "Documentary check",
    StageCode.INSPECTION_QUEUE: "Queue for physical inspection",
    StageCode.INSPECTION: "Physical inspection",
    StageCode.AGENCY_HOLD: "Until other-agency hold",
    StageCode.AGENCY_RELEASE: "Other-agency hold",
    StageCode.ASSESSMENT: "Assessment",
    StageCode.PAYMENT: "Payment",
    StageCode.RELEASE: "Until release",
}

SPANS: Final = {
    SpanCode.ARRIVAL_RELEASE: "Arrival to release",
    SpanCode.ACCEPTANCE_RELEASE: "Acceptance to release",
    SpanCode.LODGEMENT_RELEASE: "Lodgement to release",
    SpanCode.RELEASE_EXIT: "Release to exit",
}

DIMENSIONS: Final = {
    Dimension.LANE: "Lane",
    Dimension.TRANSPORT_MODE: "Mode of transport",
    Dimension.OFFICE: "Office",
    Dimension.AEO: "AEO status",
    Dimension.PRE_ARRIVAL: "Lodgement",
    Dimension.AGENCY: "Other agencies",
    Dimension.HS_SECTION: "HS section",
}

RESPONSIBILITIES: Final = {
    Responsibility.CUSTOMS: "Customs",
    Responsibility.OTHER_AGENCY: "Other agencies",
    Responsibility.TRADE: "Trade",
}

EXCLUSIONS: Final = {
    Exclusion.OUT_OF_ORDER: "Milestones out of order",
    Exclusion.FUTURE: "Milestone after the as-of time",
    Exclusion.NO_RELEASE: "Not released (or release not reported)",
    Exclusion.NO_ARRIVAL: "Released without arrival",
}

CHECKS: Final = {
    Check.DUPLICATE: "Duplicate events",
    Check.REPEATED: "Milestones repeated at another time",
    Check.INVALID_EVENT: "Invalid events",
    Check.MISSING: "Missing lodgement or acceptance",
    Check.UNPAIRED: "Checks or holds not closed",
    Check.CLOCK_SKEW: "Clock skew corrected",
    Check.OUT_OF_ORDER: "Out of order",
    Check.FUTURE: "After the as-of time",
}

VALUES: Final = {
    "red": "red",
    "yellow": "yellow",
    "green": "green",
    "blue": "blue",
    "aeo": "AEO",
    "mra": "AEO under an MRA",
    "non_aeo": "not AEO",
    "pre_arrival": "before arrival",
    "post_arrival": "after arrival",
    "agency": "held by another agency",
    "no_agency": "no other agency",
    "unknown": "unknown",
}
"""Dimension values that are codes (offices and HS sections are shown as they are; modes of
transport as their code and name)."""

WEEKDAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

ALL_LABELS: Final = (
    *MILESTONES.values(),
    *STAGES.values(),
    *SPANS.values(),
    *DIMENSIONS.values(),
    *RESPONSIBILITIES.values(),
    *EXCLUSIONS.values(),
    *CHECKS.values(),
    *VALUES.values(),
    *TRANSPORT_MODES.values(),
    *WEEKDAYS,
)
"""Every English word of this module (what a translation catalogue must cover)."""


def _same(text: str) -> str:
    return text


def value_label(value: str, translate: Callable[[str], str] = _same) -> str:
    """The words for a dimension value, translated (offices, HS sections: as they are)."""
    if value in TRANSPORT_MODES:
        return f"{value} {translate(TRANSPORT_MODES[value])}"
    return translate(VALUES[value]) if value in VALUES else value


def duration(seconds: float | None) -> str:
    """A duration for people: ``45 s``, ``12.5 min``, ``3.25 h`` (``-`` when missing)."""
    if seconds is None:
        return "-"
    if abs(seconds) < 60:
        return f"{seconds:.0f} s"
    if abs(seconds) < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.2f} h"
