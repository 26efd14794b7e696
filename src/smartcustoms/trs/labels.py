"""Words for the study's codes, in English; reports translate them with a gettext function.

The portal's catalogues carry a French and a Spanish translation of every label here
(``tests/portal`` fails when one is missing), so a report rendered with the portal's
``gettext`` is entirely in the reader's language.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from smartcustoms.model.events import EventType
from smartcustoms.trs.columns import Check, Dimension, Exclusion, Responsibility
from smartcustoms.trs.columns import Span as SpanCode
from smartcustoms.trs.columns import Stage as StageCode

__all__ = [
    "ALL_LABELS",
    "CHECKS",
    "DIMENSIONS",
    "EXCLUSIONS",
    "MILESTONES",
    "MODES",
    "N_",
    "RESPONSIBILITIES",
    "SPANS",
    "STAGES",
    "VALUES",
    "WEEKDAYS",
    "duration",
    "value_label",
]


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "mark, do not translate yet"
    """Mark ``message`` for extraction (``scripts/i18n.py``); return it unchanged."""
    return message


MILESTONES: Final = {
    EventType.LODGEMENT: N_("Lodgement"),
    EventType.ARRIVAL: N_("Arrival"),
    EventType.UNLOADING: N_("Unloading"),
    EventType.ACCEPTANCE: N_("Acceptance"),
    EventType.RISK_DECISION: N_("Risk decision"),
    EventType.DOCUMENT_CHECK_START: N_("Documentary check start"),
    EventType.DOCUMENT_CHECK_END: N_("Documentary check end"),
    EventType.PHYSICAL_INSPECTION_START: N_("Physical inspection start"),
    EventType.PHYSICAL_INSPECTION_END: N_("Physical inspection end"),
    EventType.AGENCY_HOLD: N_("Other-agency hold"),
    EventType.AGENCY_RELEASE: N_("Other-agency release"),
    EventType.ASSESSMENT: N_("Assessment"),
    EventType.PAYMENT: N_("Payment"),
    EventType.RELEASE: N_("Release"),
    EventType.EXIT: N_("Exit"),
}

STAGES: Final = {
    StageCode.UNLOADING: N_("Unloading"),
    StageCode.LODGEMENT: N_("Lodgement after arrival"),
    StageCode.ACCEPTANCE: N_("Acceptance"),
    StageCode.RISK_DECISION: N_("Risk decision"),
    StageCode.DOCUMENT_QUEUE: N_("Queue for documentary check"),
    StageCode.DOCUMENT_CHECK: N_("Documentary check"),
    StageCode.INSPECTION_QUEUE: N_("Queue for physical inspection"),
    StageCode.INSPECTION: N_("Physical inspection"),
    StageCode.AGENCY_HOLD: N_("Until other-agency hold"),
    StageCode.AGENCY_RELEASE: N_("Other-agency hold"),
    StageCode.ASSESSMENT: N_("Assessment"),
    StageCode.PAYMENT: N_("Payment"),
    StageCode.RELEASE: N_("Until release"),
}

SPANS: Final = {
    SpanCode.ARRIVAL_RELEASE: N_("Arrival to release"),
    SpanCode.ACCEPTANCE_RELEASE: N_("Acceptance to release"),
    SpanCode.LODGEMENT_RELEASE: N_("Lodgement to release"),
    SpanCode.RELEASE_EXIT: N_("Release to exit"),
}

DIMENSIONS: Final = {
    Dimension.LANE: N_("Lane"),
    Dimension.TRANSPORT_MODE: N_("Mode of transport"),
    Dimension.OFFICE: N_("Office"),
    Dimension.AEO: N_("AEO status"),
    Dimension.PRE_ARRIVAL: N_("Lodgement"),
    Dimension.AGENCY: N_("Other agencies"),
    Dimension.HS_SECTION: N_("HS section"),
}

RESPONSIBILITIES: Final = {
    Responsibility.CUSTOMS: N_("Customs"),
    Responsibility.OTHER_AGENCY: N_("Other agencies"),
    Responsibility.TRADE: N_("Trade"),
}

EXCLUSIONS: Final = {
    Exclusion.OUT_OF_ORDER: N_("Milestones out of order"),
    Exclusion.FUTURE: N_("Milestone after the as-of time"),
    Exclusion.NO_RELEASE: N_("Not released (or release not reported)"),
    Exclusion.NO_ARRIVAL: N_("Released without arrival"),
}

CHECKS: Final = {
    Check.DUPLICATE: N_("Duplicate events"),
    Check.REPEATED: N_("Milestones repeated at another time"),
    Check.INVALID_EVENT: N_("Invalid events"),
    Check.MISSING: N_("Missing lodgement or acceptance"),
    Check.UNPAIRED: N_("Checks or holds not closed"),
    Check.CLOCK_SKEW: N_("Clock skew corrected"),
    Check.OUT_OF_ORDER: N_("Out of order"),
    Check.FUTURE: N_("After the as-of time"),
}

VALUES: Final = {
    "red": N_("red"),
    "yellow": N_("yellow"),
    "green": N_("green"),
    "blue": N_("blue"),
    "aeo": N_("AEO"),
    "mra": N_("AEO under an MRA"),
    "non_aeo": N_("not AEO"),
    "pre_arrival": N_("before arrival"),
    "post_arrival": N_("after arrival"),
    "agency": N_("held by another agency"),
    "no_agency": N_("no other agency"),
    "unknown": N_("unknown"),
}
"""Dimension values that are codes (offices and HS sections are shown as they are; modes of
transport as their code and name, :data:`MODES`)."""

MODES: Final = {
    "1": N_("sea"),
    "2": N_("rail"),
    "3": N_("road"),
    "4": N_("air"),
    "5": N_("post"),
    "7": N_("fixed installation"),
    "8": N_("inland waterway"),
    "9": N_("own propulsion"),
}
"""Names of the UN/ECE Rec. 19 modes of transport (as :data:`~.columns.TRANSPORT_MODES`)."""

WEEKDAYS: Final = (
    N_("Monday"),
    N_("Tuesday"),
    N_("Wednesday"),
    N_("Thursday"),
    N_("Friday"),
    N_("Saturday"),
    N_("Sunday"),
)

ALL_LABELS: Final = (
    *MILESTONES.values(),
    *STAGES.values(),
    *SPANS.values(),
    *DIMENSIONS.values(),
    *RESPONSIBILITIES.values(),
    *EXCLUSIONS.values(),
    *CHECKS.values(),
    *VALUES.values(),
    *MODES.values(),
    *WEEKDAYS,
)
"""Every English word of this module (what a translation catalogue must cover)."""


def _same(text: str) -> str:
    return text


def value_label(value: str, translate: Callable[[str], str] = _same) -> str:
    """The words for a dimension value, translated (offices, HS sections: as they are)."""
    if value in MODES:
        return f"{value} {translate(MODES[value])}"
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
