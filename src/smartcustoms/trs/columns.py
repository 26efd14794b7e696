"""Names and vocabularies of the Time Release Study: milestones, stages, dimensions, reasons.

The study turns lifecycle events (:data:`~smartcustoms.model.events.EVENT_SCHEMA`) into one
row per consignment, the **timeline table**: one timestamp column per milestone (named after
its :class:`~smartcustoms.model.events.EventType` value), the derived breakdown dimensions, the
data-quality flags, the exclusion reason and the durations. Column names used in code are the
constants of this module, never string literals.

Durations are Float64 seconds everywhere inside the study; reports show hours.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

import polars as pl

from smartcustoms.model.events import EventType

__all__ = [
    "AEO_STATUS",
    "ATTRIBUTE_SCHEMA",
    "CONSIGNMENT_ID",
    "EXCLUSION",
    "HS_CODE",
    "LANE",
    "MILESTONES",
    "N_EVENTS",
    "OFFICE",
    "PRECEDENCE",
    "REFERENCE_AT",
    "RELEASE_S",
    "SPANS",
    "STAGES",
    "TRANSPORT_MODE",
    "TRANSPORT_MODES",
    "Check",
    "Dimension",
    "Exclusion",
    "Responsibility",
    "Span",
    "Stage",
    "flag_column",
    "gap_column",
    "prev_column",
    "stage_column",
]

CONSIGNMENT_ID: Final = "consignment_id"
OFFICE: Final = "office"
"""Office of the consignment: that of its arrival event, else the smallest office named by
any of its events (a deterministic choice, whatever order the events come in)."""
LANE: Final = "lane"
TRANSPORT_MODE: Final = "transport_mode"
AEO_STATUS: Final = "aeo_status"
HS_CODE: Final = "hs_code"
N_EVENTS: Final = "n_events"
"""Events reported for the consignment (duplicates included)."""
REFERENCE_AT: Final = "reference_at"
"""The instant that places a consignment in a period (its arrival or its release, see
:class:`~smartcustoms.trs.study.StudyParams`; the earliest event when that milestone is missing)."""
EXCLUSION: Final = "exclusion"
"""Why the consignment is left out of the figures (null: included)."""
RELEASE_S: Final = "release_s"
"""Arrival -> release, seconds: the release time of the WCO TRS and WTO TFA Art. 7.6."""

MILESTONES: Final = tuple(EventType)
"""Every milestone, in the canonical order (ties between equal timestamps follow it)."""

ATTRIBUTE_SCHEMA: Final = pl.Schema(
    [
        (CONSIGNMENT_ID, pl.String()),
        (LANE, pl.String()),
        (TRANSPORT_MODE, pl.String()),
        (AEO_STATUS, pl.String()),
        (HS_CODE, pl.String()),
    ]
)
"""Facts about consignments that events do not carry, joined for the breakdowns.

``lane`` is the lane in force (``red``, ``yellow``, ``blue``, ``green``; when null the lane is
read from the events: a physical inspection means red, a documentary check yellow, else
green); ``transport_mode`` the UN/ECE Rec. 19 code (WCO DM T022); ``aeo_status``
``national``, ``mra`` or ``none`` (null: unknown); ``hs_code`` the first goods item's code.
Every column but the id may be null or absent.
"""

TRANSPORT_MODES: Final = {
    "1": "sea",
    "2": "rail",
    "3": "road",
    "4": "air",
    "5": "post",
    "7": "fixed installation",
    "8": "inland waterway",
    "9": "own propulsion",
}
"""UN/ECE Recommendation 19 transport mode codes and their names."""


class Dimension(StrEnum):
    """What the study breaks its figures down by."""

    LANE = "lane"
    """Control lane (red physical, yellow documentary, blue audit, green none)."""
    TRANSPORT_MODE = "transport_mode"
    """Mode of transport at the border."""
    OFFICE = "office"
    """Customs office."""
    AEO = "aeo"
    """``aeo`` (this administration's AEO), ``mra`` (recognised under an MRA), ``non_aeo``."""
    PRE_ARRIVAL = "pre_arrival"
    """``pre_arrival`` when lodged before arrival, else ``post_arrival``."""
    AGENCY = "agency"
    """``agency`` when another government agency held the goods, else ``no_agency``."""
    HS_SECTION = "hs_section"
    """Section (I-XXI) of the HS 2022 nomenclature of the first goods item."""


class Responsibility(StrEnum):
    """Who the time of a stage is attributed to (the TRS guide's split of release time)."""

    CUSTOMS = "customs"
    OTHER_AGENCY = "other_agency"
    TRADE = "trade"
    """The trader, its broker or carrier (lodgement after arrival, unloading, payment)."""


class Exclusion(StrEnum):
    """Why a consignment is left out of the figures, in the order the checks apply."""

    OUT_OF_ORDER = "out_of_order"
    """Two milestones contradict their required order by more than the clock tolerance."""
    FUTURE = "future"
    """A milestone is later than the study's as-of time (plus the tolerance)."""
    NO_RELEASE = "no_release"
    """No release event: not released yet, or the release was not reported."""
    NO_ARRIVAL = "no_arrival"
    """Released, but no arrival event: the release time cannot be measured."""


class Check(StrEnum):
    """Data-quality checks; each is counted per office, nothing is dropped silently.

    Problem codes are ``trs.<value>`` (``trs.out_of_order``).
    """

    DUPLICATE = "duplicate"
    """Events repeating a milestone already reported for the consignment (extra reports)."""
    REPEATED = "repeated"
    """A milestone reported more than once with different times: the earliest is used."""
    INVALID_EVENT = "invalid_event"
    """Events whose type is not a milestone or that carry no time: ignored, counted."""
    MISSING = "missing"
    """A released consignment without lodgement or acceptance."""
    UNPAIRED = "unpaired"
    """A released consignment with a check, inspection or agency hold started but not ended
    (or ended but never started)."""
    CLOCK_SKEW = "clock_skew"
    """Two milestones out of order by no more than the tolerance: the later one is moved to
    the earlier one's time (two systems' clocks disagree), and the consignment is kept."""
    OUT_OF_ORDER = "out_of_order"
    """Two milestones out of order by more than the tolerance: the consignment is excluded."""
    FUTURE = "future"
    """A milestone later than the as-of time plus the tolerance: the consignment is excluded."""


class Span(StrEnum):
    """Headline intervals between two named milestones (not necessarily consecutive)."""

    ARRIVAL_RELEASE = "arrival_release"
    """Arrival -> release: the TRS release time, the TFA Art. 7.6 average."""
    ACCEPTANCE_RELEASE = "acceptance_release"
    """Acceptance (registration) -> release: customs processing time."""
    LODGEMENT_RELEASE = "lodgement_release"
    """Lodgement -> release (negative never: lodgement precedes release)."""
    RELEASE_EXIT = "release_exit"
    """Release -> exit from the customs area."""


SPANS: Final[dict[Span, tuple[EventType, EventType]]] = {
    Span.ARRIVAL_RELEASE: (EventType.ARRIVAL, EventType.RELEASE),
    Span.ACCEPTANCE_RELEASE: (EventType.ACCEPTANCE, EventType.RELEASE),
    Span.LODGEMENT_RELEASE: (EventType.LODGEMENT, EventType.RELEASE),
    Span.RELEASE_EXIT: (EventType.RELEASE, EventType.EXIT),
}


class Stage(StrEnum):
    """A part of the arrival -> release time, named after the milestone that ends it.

    The consignment's milestones, in time order, cut its arrival -> release window into
    consecutive pieces; each piece is the time *until* the milestone that ends it (queue for a
    documentary check ends at ``document_check_start``; the check itself at
    ``document_check_end``). The pieces add up to the release time exactly.
    """

    UNLOADING = "unloading"
    LODGEMENT = "lodgement"
    ACCEPTANCE = "acceptance"
    RISK_DECISION = "risk_decision"
    DOCUMENT_QUEUE = "document_check_start"
    DOCUMENT_CHECK = "document_check_end"
    INSPECTION_QUEUE = "physical_inspection_start"
    INSPECTION = "physical_inspection_end"
    AGENCY_HOLD = "agency_hold"
    AGENCY_RELEASE = "agency_release"
    ASSESSMENT = "assessment"
    PAYMENT = "payment"
    RELEASE = "release"


STAGES: Final[dict[Stage, Responsibility]] = {
    Stage.UNLOADING: Responsibility.TRADE,
    Stage.LODGEMENT: Responsibility.TRADE,
    Stage.ACCEPTANCE: Responsibility.CUSTOMS,
    Stage.RISK_DECISION: Responsibility.CUSTOMS,
    Stage.DOCUMENT_QUEUE: Responsibility.CUSTOMS,
    Stage.DOCUMENT_CHECK: Responsibility.CUSTOMS,
    Stage.INSPECTION_QUEUE: Responsibility.CUSTOMS,
    Stage.INSPECTION: Responsibility.CUSTOMS,
    Stage.AGENCY_HOLD: Responsibility.OTHER_AGENCY,
    Stage.AGENCY_RELEASE: Responsibility.OTHER_AGENCY,
    Stage.ASSESSMENT: Responsibility.CUSTOMS,
    Stage.PAYMENT: Responsibility.TRADE,
    Stage.RELEASE: Responsibility.CUSTOMS,
}
"""Every stage and who its time is attributed to, in the order reports list them."""

PRECEDENCE: Final[tuple[tuple[EventType, EventType], ...]] = (
    (EventType.LODGEMENT, EventType.ACCEPTANCE),
    (EventType.ACCEPTANCE, EventType.RISK_DECISION),
    (EventType.ARRIVAL, EventType.UNLOADING),
    (EventType.RISK_DECISION, EventType.DOCUMENT_CHECK_START),
    (EventType.DOCUMENT_CHECK_START, EventType.DOCUMENT_CHECK_END),
    (EventType.RISK_DECISION, EventType.PHYSICAL_INSPECTION_START),
    (EventType.PHYSICAL_INSPECTION_START, EventType.PHYSICAL_INSPECTION_END),
    (EventType.AGENCY_HOLD, EventType.AGENCY_RELEASE),
    (EventType.ACCEPTANCE, EventType.ASSESSMENT),
    (EventType.ASSESSMENT, EventType.PAYMENT),
    (EventType.ARRIVAL, EventType.RELEASE),
    (EventType.ACCEPTANCE, EventType.RELEASE),
    (EventType.DOCUMENT_CHECK_END, EventType.RELEASE),
    (EventType.PHYSICAL_INSPECTION_END, EventType.RELEASE),
    (EventType.AGENCY_RELEASE, EventType.RELEASE),
    (EventType.RELEASE, EventType.EXIT),
)
"""Orders the study requires when both milestones are reported: ``a`` no later than ``b``.

Listed so that every pair comes after the pairs ending at its ``a`` (corrections for clock
skew then carry forward). Nothing is required between arrival and lodgement, acceptance or
risk decision (pre-arrival processing), nor of payment against release (deferred payment).
"""


def flag_column(check: Check) -> str:
    """Name of the per-consignment count of a check's findings (``dq_out_of_order``)."""
    return f"dq_{check.value}"


def stage_column(stage: Stage) -> str:
    """Name of the column holding a stage's seconds within the release time."""
    return f"stage_{stage.value}_s"


def gap_column(milestone: EventType) -> str:
    """Seconds from the milestone before ``milestone`` (in time order) to it."""
    return f"gap_{milestone.value}_s"


def prev_column(milestone: EventType) -> str:
    """The milestone just before ``milestone`` in time order (its canonical rank, Int8)."""
    return f"prev_{milestone.value}"
