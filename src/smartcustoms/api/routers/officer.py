"""Officers: work queues, consignment detail, inspection results and re-routing.

Queues by office and lane; re-routing needs a justification.

Who may do what (``docs/api-officers.md`` has the full matrix):

* officers read and act on the consignments of the offices they work, nothing else: a queue
  of another office is ``403 auth.forbidden`` (the office list is no secret), a single
  consignment of another office is ``404 consignment.not_found``, worded exactly as for an
  unknown id, so consignment ids never leak across offices;
* analysts read every office (queues, detail, explanations) to tune rules and models, but
  do not record inspections or re-route;
* admins may do everything; filers and partners nothing here.

Every read and write of a consignment is written to the audit log with the caller as actor.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, ConfigDict, Field

from smartcustoms.access import Principal, Role
from smartcustoms.api.security import PlatformDep, require
from smartcustoms.errors import (
    ConsignmentNotFoundError,
    InvalidInputError,
    PermissionDeniedError,
    Problem,
)
from smartcustoms.intake.quality import explain_reasons
from smartcustoms.model import Consignment, GoodsItem, Party
from smartcustoms.model.columns import column_catalogue
from smartcustoms.platform import SmartCustoms
from smartcustoms.risk.columns import Lane
from smartcustoms.targeting.feedback import RESULTS

__all__ = [
    "MIN_JUSTIFICATION",
    "ConsignmentDetail",
    "Explanation",
    "InspectionRequest",
    "LaneChangeRequest",
    "QueuePage",
    "router",
]

router = APIRouter(tags=["officers"])

MIN_JUSTIFICATION: Final = 10
"""Fewest non-blank characters a re-routing justification must have."""

Reader = Annotated[Principal, Depends(require(Role.OFFICER, Role.ANALYST, Role.ADMIN))]
Worker = Annotated[Principal, Depends(require(Role.OFFICER, Role.ADMIN))]

_MAX_OFFSET: Final = 2**31 - 1  # past any queue; keeps the SQL OFFSET in range everywhere
_RECORD_PREFIX: Final = "consignments[]."
_CONSIGNMENT_FIELDS: Final = tuple(
    (col.name, col.record_path.removeprefix(_RECORD_PREFIX))
    for col in column_catalogue()
    if col.frame == "consignments" and col.record_path.startswith(_RECORD_PREFIX)
)
_ITEM_FIELDS: Final = tuple(name for name in GoodsItem.model_fields)
_FILER_FIELDS: Final = tuple(name for name in Party.model_fields)


# ---------------------------------------------------------------- response bodies


class QueueStatus(StrEnum):
    """Inspection statuses the work queue filters on (``store.risk.QUEUE_STATUSES``)."""

    NOT_INSPECTED = "not_inspected"
    INSPECTED = "inspected"
    COMPLIANT = "compliant"
    NONCOMPLIANT = "noncompliant"


class QueueEntry(BaseModel):
    """One consignment in a work queue, with its lane decision."""

    consignment_id: str
    office: str | None = Field(description="Office of arrival.")
    lane: Lane = Field(description="The lane in force (after any re-routing).")
    risk_score: float | None = Field(description="Model probability of non-compliance.")
    rule_score: float = Field(description="Sum of the weights of the rules hit.")
    expected_revenue: float | None = Field(description="Revenue at stake expected by the model.")
    priority: float | None = Field(description="The selection's ranking quantity.")
    selection_basis: str = Field(description="rule, score, random or default.")
    is_random_pick: bool
    model_version: str | None
    rule_hits: list[str] = Field(description="Ids of the rules hit, in ruleset order.")
    decided_at: datetime
    filed_at: datetime | None
    total_value: Decimal | None = Field(description="Declared total, in ``currency``.")
    currency: str | None
    inspection_result: str | None = Field(
        description="Latest inspection result (compliant / noncompliant); null: not inspected."
    )


class QueuePage(BaseModel):
    """A page of a work queue: red first, then by priority, then newest decision."""

    items: list[QueueEntry]
    total: int = Field(description="Consignments in the queue (all pages).")
    limit: int
    offset: int
    offices: list[str] | None = Field(description="Offices covered; null: every office.")
    lanes: list[Lane] | None = Field(description="Lanes covered; null: every lane.")


class Reason(BaseModel):
    """One reason for a lane (``kind`` lane, rule, model, feature, value, aeo, no_model).

    Each kind carries its own fields besides ``text`` (rule id and version, probability,
    log-odds contribution...); see ``docs/risk.md``.
    """

    model_config = ConfigDict(extra="allow")

    kind: str
    text: str


class RuleHit(BaseModel):
    """A targeting rule that hit the consignment."""

    ruleset_id: str
    rule_id: str
    rule_version: str | None
    lane: Lane | None = Field(description="Lane the rule forces; null when it only scores.")
    weight: float | None = Field(description="Weight the rule adds; null when it only forces.")
    item_nos: list[int] = Field(description="Goods items that satisfied the rule.")
    hit_at: datetime


class Decision(BaseModel):
    """The lane decision of a consignment with every reason for it."""

    lane: Lane = Field(description="The lane in force (after any re-routing).")
    office: str | None
    period: date = Field(description="Selection day (of filing, UTC).")
    risk_score: float | None
    rule_score: float
    expected_revenue: float | None
    priority: float | None
    forced_lane: Lane | None
    is_random_pick: bool
    selection_basis: str
    aeo_status: str | None
    value_z: float | None
    model_version: str | None
    policy_id: str
    decided_at: datetime
    reasons: list[Reason]
    rule_hits: list[RuleHit]


class LaneChange(BaseModel):
    """A re-routing by an officer."""

    id: int
    consignment_id: str
    from_lane: Lane
    to_lane: Lane
    justification: str
    officer: str
    changed_at: datetime


class Inspection(BaseModel):
    """A recorded control outcome."""

    id: int
    consignment_id: str
    result: str
    corrected_hs_code: str | None
    corrected_value: Decimal | None
    currency: str | None
    revenue_recovered: Decimal | None
    finding: str | None
    officer: str
    recorded_at: datetime


class Explanation(Decision):
    """Why a consignment got its lane, with its inspections and re-routings."""

    consignment_id: str
    inspections: list[Inspection]
    lane_changes: list[LaneChange]


class Filing(BaseModel):
    """The filing a consignment came in."""

    filing_id: str
    filed_at: datetime | None
    filer_role: str | None
    filer: Party | None
    received_at: datetime


class QualityReason(BaseModel):
    """One data-quality deduction."""

    code: str
    path: str
    message: str
    penalty: int


class DataQuality(BaseModel):
    """Data-quality score (0-100) of the consignment and why points were lost."""

    score: int
    reasons: list[QualityReason]


class Assessment(BaseModel):
    """Duties and taxes assessed at clearance; ``details`` has per-item lines and rules."""

    regime_id: str
    currency: str
    duty_total: Decimal
    vat_total: Decimal
    excise_total: Decimal
    total_payable: Decimal
    assessed_at: datetime
    details: dict[str, Any]


class Event(BaseModel):
    """A lifecycle milestone (lodgement, acceptance, arrival, release...)."""

    event_type: str
    occurred_at: datetime
    office: str | None
    source: str | None


class ConsignmentDetail(BaseModel):
    """Everything an officer needs on one consignment."""

    consignment: Consignment = Field(description="Canonical consignment with goods items.")
    filing: Filing | None
    accepted_at: datetime
    data_quality: DataQuality
    assessment: Assessment | None
    decision: Decision | None = Field(description="Null when no lane was decided.")
    lane_changes: list[LaneChange]
    inspections: list[Inspection]
    events: list[Event]


# ---------------------------------------------------------------- request bodies


class InspectionRequest(BaseModel):
    """A control outcome; the officer is the caller.

    Checked by the same validation as ``smartcustoms risk inspect``: every problem is
    reported at once (``inspection.result``, ``inspection.amount``,
    ``inspection.inconsistent``, ``hs.unknown``) and nothing is recorded.
    """

    model_config = ConfigDict(extra="forbid")

    result: str = Field(
        description="compliant or noncompliant.", json_schema_extra={"enum": list(RESULTS)}
    )
    corrected_hs_code: str | None = Field(
        None, description="The HS 2022 code the goods really fall under (6, 8 or 10 digits)."
    )
    corrected_value: Decimal | float | str | None = Field(
        None, description="Value found by the control (a decimal, in ``currency``)."
    )
    currency: str | None = Field(
        None, pattern=r"^[A-Z]{3}$", description="ISO 4217 currency of the amounts."
    )
    revenue_recovered: Decimal | float | str | None = Field(
        None, description="Duties and taxes recovered (a non-negative decimal)."
    )
    finding: str | None = Field(None, description="What the control found, in words.")


class LaneChangeRequest(BaseModel):
    """A re-routing: the new lane and why (``lane.justification``, ``lane.unchanged``)."""

    model_config = ConfigDict(extra="forbid")

    lane: Lane
    justification: str = Field(
        description=f"Why, in at least {MIN_JUSTIFICATION} non-blank characters.",
        json_schema_extra={"minLength": MIN_JUSTIFICATION},
    )


def queue_offices(principal: Principal, office: str | None) -> frozenset[str] | None:
    """The offices a queue read covers (``None``: every office).

    An officer reads the offices it works, or one of them; analysts and admins every office
    or one. Asking for an office the caller does not work is ``auth.forbidden``.
    """
    if office:
        if not principal.can_see_office(office):
            raise PermissionDeniedError(f"you do not work office {office}")
        return frozenset({office})
    return principal.offices if principal.role is Role.OFFICER else None


# ---------------------------------------------------------------- routes


@router.get("/queue", summary="Work queue of consignments with their lane decisions")
def queue(
    principal: Reader,
    platform: PlatformDep,
    office: Annotated[str | None, Query(description="One office (default: all of yours).")] = None,
    lane: Annotated[list[Lane] | None, Query(description="Lanes to list (repeatable).")] = None,
    day: Annotated[
        date | None, Query(description="Only consignments selected that day (filing day, UTC).")
    ] = None,
    status: Annotated[
        QueueStatus | None,
        Query(description="Inspection status: not yet inspected, inspected, or latest result."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=_MAX_OFFSET)] = 0,
) -> QueuePage:
    """Decided consignments, red first, then by selection priority, then newest.

    An officer sees the offices it works (all of them without ``office``); asking for
    another office is ``403 auth.forbidden``. Analysts and admins see every office.
    """
    offices = queue_offices(principal, office)
    lanes = sorted(set(lane), key=list(Lane).index) if lane else None
    rows, total = platform.risk_records.queue(
        offices=offices, lanes=lanes, day=day, status=status, limit=limit, offset=offset
    )
    platform.store.record_audit(
        actor=principal.user_id,
        action="queue.read",
        subject_type="office",
        subject_id=office,
        details={
            "offices": sorted(offices) if offices is not None else None,
            "lanes": lanes,
            "day": day,
            "status": status,
            "offset": offset,
            "consignments": [r["consignment_id"] for r in rows],
        },
    )
    return QueuePage(
        items=[QueueEntry.model_validate(r) for r in rows],
        total=total,
        limit=limit,
        offset=offset,
        offices=sorted(offices) if offices is not None else None,
        lanes=lanes,
    )


@router.get(
    "/consignments/{consignment_id}",
    summary="A consignment with its duties, decision, reasons, inspections and events",
)
def consignment_detail(
    consignment_id: str, principal: Reader, platform: PlatformDep
) -> ConsignmentDetail:
    """The whole case file of one consignment (``404`` outside the caller's offices)."""
    row = _visible(platform, principal, consignment_id)
    records = platform.risk_records
    decision = records.decision(consignment_id)
    filing = records.filing(consignment_id)
    assessment = row["assessment"]
    detail = ConsignmentDetail(
        consignment=_canonical(row),
        filing=_filing(filing) if filing is not None else None,
        accepted_at=row["accepted_at"],
        data_quality=DataQuality(
            score=row["dq_score"],
            reasons=[QualityReason.model_validate(r) for r in explain_reasons(row["dq_reasons"])],
        ),
        assessment=(
            Assessment.model_validate({**assessment, "details": json.loads(assessment["details"])})
            if assessment is not None
            else None
        ),
        decision=_decision(decision) if decision is not None else None,
        lane_changes=[LaneChange.model_validate(c) for c in records.lane_changes(consignment_id)],
        inspections=[Inspection.model_validate(i) for i in records.inspections(consignment_id)],
        events=[Event.model_validate(e) for e in row["events"]],
    )
    _audit(platform, principal, "consignment.read", consignment_id)
    return detail


@router.get(
    "/consignments/{consignment_id}/explanation",
    summary="Why the consignment got its lane (rules, model contributions, value control)",
)
def explanation(consignment_id: str, principal: Reader, platform: PlatformDep) -> Explanation:
    """The decision with its reasons; feature contributions are recomputed when missing."""
    _visible(platform, principal, consignment_id)
    explained = platform.targeting.explain(consignment_id)
    _audit(platform, principal, "consignment.explain", consignment_id)
    return Explanation.model_validate(_decision_fields(explained))


@router.post(
    "/consignments/{consignment_id}/inspections",
    status_code=status.HTTP_201_CREATED,
    summary="Record an inspection result (the label the model learns from)",
)
def record_inspection(
    consignment_id: str, body: InspectionRequest, principal: Worker, platform: PlatformDep
) -> Inspection:
    """Record a control outcome with the caller as officer; every problem at once (422)."""
    _visible(platform, principal, consignment_id)
    row: dict[str, Any] = {
        **body.model_dump(),
        "consignment_id": consignment_id,
        "officer": principal.user_id,
    }
    # audited by Targeting.record_inspections as ``risk.inspect`` with the caller as actor
    platform.targeting.record_inspections([row], actor=principal.user_id)
    return Inspection.model_validate(platform.risk_records.inspections(consignment_id)[-1])


@router.post(
    "/consignments/{consignment_id}/lane",
    status_code=status.HTTP_201_CREATED,
    summary="Re-route a consignment to another lane, with a justification",
)
def change_lane(
    consignment_id: str, body: LaneChangeRequest, principal: Worker, platform: PlatformDep
) -> LaneChange:
    """Move the consignment to ``lane``; recorded, applied and audited in one transaction.

    ``422`` lists every problem (``lane.justification``: fewer than
    :data:`MIN_JUSTIFICATION` non-blank characters; ``lane.unchanged``: already in that lane);
    ``409 conflict`` when another officer re-routed it meanwhile.
    """
    _visible(platform, principal, consignment_id)
    decision = platform.risk_records.decision(consignment_id)
    if decision is None:
        raise ConsignmentNotFoundError(
            f"no lane decision on file for consignment {consignment_id!r}"
        )
    justification = body.justification.strip()
    problems: list[Problem] = []
    if len(justification) < MIN_JUSTIFICATION:
        problems.append(
            Problem(
                "lane.justification",
                "justification",
                f"a re-routing needs a justification of at least {MIN_JUSTIFICATION} "
                f"characters; got {len(justification)}",
            )
        )
    if decision["lane"] == body.lane:
        problems.append(
            Problem("lane.unchanged", "lane", f"the consignment is already in lane {body.lane}")
        )
    if problems:
        raise InvalidInputError(
            f"{len(problems)} problem(s) with the re-routing; nothing was changed",
            tuple(problems),
        )
    change = platform.risk_records.change_lane(
        consignment_id,
        from_lane=decision["lane"],
        to_lane=body.lane.value,
        justification=justification,
        officer=principal.user_id,
    )
    return LaneChange.model_validate(change)


# ---------------------------------------------------------------- helpers


def _visible(platform: SmartCustoms, principal: Principal, consignment_id: str) -> dict[str, Any]:
    """The consignment if the caller may see it; 404 alike when unknown or out of scope."""
    row = platform.store.consignment(consignment_id)
    if row is not None and not principal.can_see_office(row["office_of_arrival"]):
        _audit(
            platform,
            principal,
            "consignment.denied",
            consignment_id,
            {"office": row["office_of_arrival"]},
        )
        row = None
    if row is None:
        raise ConsignmentNotFoundError(f"no consignment {consignment_id!r} on file")
    return row


def _audit(
    platform: SmartCustoms,
    principal: Principal,
    action: str,
    consignment_id: str,
    details: dict[str, Any] | None = None,
) -> None:
    platform.store.record_audit(
        actor=principal.user_id,
        action=action,
        subject_type="consignment",
        subject_id=consignment_id,
        details=details,
    )


def _canonical(row: dict[str, Any]) -> Consignment:
    """The stored (flat) consignment row back in its canonical record form."""
    record: dict[str, Any] = {}
    parties: dict[str, dict[str, Any]] = {}
    for column, path in _CONSIGNMENT_FIELDS:
        party, _, name = path.rpartition(".")
        if party:
            parties.setdefault(party, {})[name] = row[column]
        else:
            record[name] = row[column]
    for party, fields in parties.items():
        record[party] = fields if any(v is not None for v in fields.values()) else None
    record["items"] = [{k: item[k] for k in _ITEM_FIELDS} for item in row["items"]]
    return Consignment.model_validate(record)


def _filing(row: dict[str, Any]) -> Filing:
    filer = {name: row[f"filer_{name}"] for name in _FILER_FIELDS}
    return Filing(
        filing_id=row["filing_id"],
        filed_at=row["filed_at"],
        filer_role=row["filer_role"],
        filer=Party.model_validate(filer) if any(filer.values()) else None,
        received_at=row["received_at"],
    )


def _decision_fields(decision: dict[str, Any]) -> dict[str, Any]:
    """A stored decision with its rule hits' item numbers as integers."""
    return {
        **decision,
        "rule_hits": [
            {**hit, "item_nos": [int(n) for n in (hit["item_nos"] or "").split(",") if n]}
            for hit in decision["rule_hits"]
        ],
    }


def _decision(decision: dict[str, Any]) -> Decision:
    return Decision.model_validate(_decision_fields(decision))
