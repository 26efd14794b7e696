"""What one cleared filing writes and answers, built row by row.

The row-wise mirror of the write and result steps of the batch path, for a filing the fast
path accepted (clean, new, decided):

* :func:`filing_rows` - the rows :func:`~smartcustoms.clearance.records.write_accepted`
  writes (``filings``, ``consignments``, ``goods_items``, ``assessments`` with the
  :func:`~smartcustoms.clearance.records.assessment_rows` JSON ``details``,
  ``lifecycle_events``, ``parties``) and those
  :func:`~smartcustoms.clearance.decisions.write_decisions` writes (``risk_decisions``,
  ``rule_hits``);
* :func:`result_rows` - the filing's result lines as
  :meth:`~smartcustoms.clearance.runner.Clearance._results` builds them for an accepted
  record (:data:`~smartcustoms.clearance.summary.RESULT_SCHEMA`);
* :func:`written_outcomes` - what :meth:`~smartcustoms.store.Store.consignment_outcomes`
  reads back for those consignments right after the write, without reading.

Values stay the Python values Polars gives for the batch frames (``Decimal`` with the column's
scale, timezone-aware ``datetime``, ``date``); :meth:`~smartcustoms.store.BulkWriter.insert_rows`
converts them for the driver the way :meth:`~smartcustoms.store.BulkWriter.insert` converts a
frame. The end-to-end differential test (``tests/clearance/single/test_engine.py``) compares
every stored table and every result line with the batch path's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson

from smartcustoms.clearance.summary import ACCEPTED
from smartcustoms.model import columns as c
from smartcustoms.model.columns import RECORD
from smartcustoms.model.events import EventType
from smartcustoms.risk._ruleset import ACTION_LANE, ACTION_WEIGHT, ITEM_NOS, RULE_ID, RULE_VERSION
from smartcustoms.risk.columns import (
    AEO_STATUS,
    EXPECTED_REVENUE,
    FORCED_LANE,
    IS_RANDOM_PICK,
    LANE,
    MODEL_VERSION,
    PERIOD,
    PRIORITY,
    REASONS,
    RISK_SCORE,
    RULE_HITS,
    RULE_SCORE,
    SELECTION_BASIS,
    VALUE_Z,
)
from smartcustoms.store.database import ConsignmentOutcome
from smartcustoms.store.tables import FILING_LEVEL_COLUMNS
from smartcustoms.tariff import columns as tc

__all__ = [
    "Row",
    "TableRows",
    "decimal_text",
    "filing_rows",
    "result_rows",
    "written_outcomes",
]

Row = dict[str, Any]
"""One row: column name -> value."""

_INTERNAL = (RECORD, "_path")
_PARTY_ROLES = ("filer", "seller", "importer", "carrier")


@dataclass
class TableRows:
    """Rows to write, by table, in the order the batch path writes them."""

    inserts: dict[str, list[Row]] = field(default_factory=dict)
    """Plain inserts, by table."""
    parties: list[Row] = field(default_factory=list)
    """``parties`` rows, in the batch's order (upserted on ``party_id``, ``role``; the last
    row of a party wins)."""

    def add(self, table: str, rows: Sequence[Row]) -> None:
        """Append ``rows`` to ``table``'s inserts."""
        if rows:
            self.inserts.setdefault(table, []).extend(rows)

    def extend(self, other: TableRows) -> None:
        """Append every row of ``other`` (a later filing of the same commit)."""
        for table, rows in other.inserts.items():
            self.add(table, rows)
        self.parties.extend(other.parties)


def decimal_text(value: Decimal) -> str:
    """A decimal as Polars casts it to text: fixed point, the column's scale kept."""
    return format(value, "f")


def _text(value: Any) -> Any:
    """A value as ``pl.col(...).cast(pl.String)`` renders it (booleans stay booleans)."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"no text rendering for {type(value).__name__}")


def _json_struct(row: Mapping[str, Any], columns: Sequence[str]) -> str:
    return orjson.dumps({col: _text(row[col]) for col in columns}).decode()


def assessment_row(
    head: Mapping[str, Any], lines: Sequence[Mapping[str, Any]], now: datetime
) -> Row:
    """The ``assessments`` row of one consignment (``assessment_rows`` for one)."""
    head_cols = [col for col in head if col not in (c.CONSIGNMENT_ID, RECORD)]
    item_cols = (
        [col for col in lines[0] if col not in (c.CONSIGNMENT_ID, RECORD, "_path")] if lines else []
    )
    items = ",".join(_json_struct(line, item_cols) for line in lines)
    details = f'{{"consignment":{_json_struct(head, head_cols)},"items":[{items}]}}'
    return {
        c.CONSIGNMENT_ID: head[c.CONSIGNMENT_ID],
        "regime_id": head[tc.REGIME_ID],
        "currency": head[tc.CURRENCY],
        "details": details,
        "duty_total": head[tc.DUTY_TOTAL],
        "vat_total": head[tc.VAT_TOTAL],
        "excise_total": head[tc.EXCISE_TOTAL],
        "total_payable": head[tc.TOTAL_PAYABLE_AT_BORDER],
        "assessed_at": now,
    }


def filing_rows(
    *,
    record: Mapping[str, Any],
    source: str,
    consignments: Sequence[Mapping[str, Any]],
    items: Sequence[Mapping[str, Any]],
    content_hash: str,
    quality: Mapping[str, Mapping[str, Any]],
    assessment_heads: Sequence[Mapping[str, Any]] | None,
    assessment_lines: Sequence[Mapping[str, Any]],
    decisions: Sequence[Mapping[str, Any]] | None,
    hits: Sequence[Mapping[str, Any]],
    ruleset_id: str | None,
    policy_id: str,
    batch_id: str,
    now: datetime,
) -> TableRows:
    """Every row the batch path writes for one accepted filing (see the module docstring).

    Args:
        record: The filing's record row (``_record``, ``line``, ...).
        source: The batch's source (``api``).
        consignments: Its normalised consignments.
        items: Its normalised goods items.
        content_hash: Its content hash.
        quality: The quality row of each consignment (``score_quality``), by id.
        assessment_heads: Assessment consignment rows (``None``: not assessed).
        assessment_lines: Assessment item rows.
        decisions: Risk decision rows (``None``: no risk engine).
        hits: Rule hit rows.
        ruleset_id: Id of the ruleset applied.
        policy_id: Id of the lane policy.
        batch_id: Id stored with every row.
        now: Time of receipt.
    """
    out = TableRows()
    first = consignments[0]
    filing: Row = {col: first[col] for col in FILING_LEVEL_COLUMNS}
    filing["consignment_count"] = len(consignments)
    filing["content_hash"] = content_hash
    filing["line"] = record["line"]
    filing["received_at"] = now
    filing["batch_id"] = batch_id
    filing["source"] = source
    out.add("filings", [filing])

    dropped = {col for col in FILING_LEVEL_COLUMNS if col != c.FILING_ID} | set(_INTERNAL)
    cons_rows = []
    for cons in consignments:
        row = {k: v for k, v in cons.items() if k not in dropped}
        dq = quality[cons[c.CONSIGNMENT_ID]]
        row.update((k, v) for k, v in dq.items() if k != c.CONSIGNMENT_ID)
        row["accepted_at"] = now
        row["batch_id"] = batch_id
        cons_rows.append(row)
    out.add("consignments", cons_rows)
    out.add("goods_items", [{k: v for k, v in i.items() if k not in _INTERNAL} for i in items])

    if assessment_heads is not None:
        by_cons: dict[str, list[Mapping[str, Any]]] = {}
        for line in assessment_lines:
            by_cons.setdefault(line[c.CONSIGNMENT_ID], []).append(line)
        out.add(
            "assessments",
            [
                assessment_row(head, by_cons.get(head[c.CONSIGNMENT_ID], []), now)
                for head in assessment_heads
            ],
        )

    lodged = [
        {
            c.CONSIGNMENT_ID: cons[c.CONSIGNMENT_ID],
            "event_type": EventType.LODGEMENT.value,
            "occurred_at": cons[c.FILED_AT] if cons[c.FILED_AT] is not None else now,
            "office": cons[c.OFFICE_OF_ARRIVAL],
            "source": "clear",
        }
        for cons in consignments
    ]
    accepted = [
        {**row, "event_type": EventType.ACCEPTANCE.value, "occurred_at": now} for row in lodged
    ]
    out.add("lifecycle_events", lodged + accepted)

    # one per consignment and role; the writer keeps the last of each party (as the
    # batch's unique(keep="last") does)
    out.parties.extend(
        {
            "party_id": cons[f"{role}_id"],
            "role": role,
            "name": cons[f"{role}_name"],
            "country": cons[f"{role}_country"],
            "first_seen_at": now,
            "last_seen_at": now,
        }
        for role in _PARTY_ROLES
        for cons in consignments
        if cons[f"{role}_id"] is not None
    )

    if decisions is not None:
        out.add(
            "risk_decisions",
            [
                {
                    c.CONSIGNMENT_ID: d[c.CONSIGNMENT_ID],
                    LANE: d[LANE],
                    "office": d[c.OFFICE_OF_ARRIVAL],
                    "period": d[PERIOD].isoformat() if d[PERIOD] is not None else None,
                    RISK_SCORE: d[RISK_SCORE],
                    RULE_SCORE: d[RULE_SCORE],
                    EXPECTED_REVENUE: d[EXPECTED_REVENUE],
                    PRIORITY: d[PRIORITY],
                    FORCED_LANE: d[FORCED_LANE],
                    IS_RANDOM_PICK: d[IS_RANDOM_PICK],
                    SELECTION_BASIS: d[SELECTION_BASIS],
                    AEO_STATUS: d[AEO_STATUS],
                    VALUE_Z: d[VALUE_Z],
                    MODEL_VERSION: d[MODEL_VERSION],
                    "policy_id": policy_id,
                    REASONS: d[REASONS],
                    "decided_at": now,
                    "batch_id": batch_id,
                }
                for d in decisions
            ],
        )
        if hits and ACTION_LANE in hits[0]:
            out.add(
                "rule_hits",
                [
                    {
                        c.CONSIGNMENT_ID: h[c.CONSIGNMENT_ID],
                        "ruleset_id": ruleset_id or "",
                        RULE_ID: h[RULE_ID],
                        RULE_VERSION: h[RULE_VERSION],
                        "lane": h[ACTION_LANE],
                        "weight": h[ACTION_WEIGHT],
                        "item_nos": None
                        if h[ITEM_NOS] is None
                        else ",".join(str(n) for n in h[ITEM_NOS]),
                        "hit_at": now,
                    }
                    for h in hits
                ],
            )
    return out


def _rule_hits_text(names: Sequence[str] | None) -> str:
    """``rule_hits`` as ``decision_results`` renders it: a JSON list of rule ids."""
    text = '["' + '","'.join(names or []) + '"]'
    return "[]" if text == '[""]' else text


def result_rows(
    *,
    record: Mapping[str, Any],
    source: str,
    consignments: Sequence[Mapping[str, Any]],
    quality: Mapping[str, Mapping[str, Any]],
    assessment_heads: Sequence[Mapping[str, Any]] | None,
    decisions: Sequence[Mapping[str, Any]] | None,
) -> list[Row]:
    """The result lines of one accepted filing, one per consignment (``RESULT_SCHEMA``)."""
    amounts = {h[c.CONSIGNMENT_ID]: h for h in assessment_heads or []}
    decided = {d[c.CONSIGNMENT_ID]: d for d in decisions or []}
    out = []
    for cons in consignments:
        cid = cons[c.CONSIGNMENT_ID]
        dq = quality.get(cid, {})
        head = amounts.get(cid)
        d = decided.get(cid)

        def money(column: str, head: Mapping[str, Any] | None = head) -> str | None:
            value = None if head is None else head[column]
            return None if value is None else decimal_text(value)

        out.append(
            {
                "record": record[RECORD],
                "source": source,
                "line": record["line"],
                "filing_id": cons[c.FILING_ID],
                "consignment_id": cid,
                "status": ACCEPTED,
                "quarantine_id": None,
                "problems": "[]",
                "warnings": "[]",
                "dq_score": dq.get("dq_score"),
                "dq_reasons": dq.get("dq_reasons"),
                "currency": None if head is None else head[tc.CURRENCY],
                "duty": money(tc.DUTY_TOTAL),
                "vat": money(tc.VAT_TOTAL),
                "excise": money(tc.EXCISE_TOTAL),
                "total_payable": money(tc.TOTAL_PAYABLE_AT_BORDER),
                "lane": None if d is None else d[LANE],
                "risk_score": None if d is None else d[RISK_SCORE],
                "expected_revenue": None if d is None else d[EXPECTED_REVENUE],
                "model_version": None if d is None else d[MODEL_VERSION],
                "rule_hits": None if d is None else _rule_hits_text(d[RULE_HITS]),
                "reasons": None if d is None else d[REASONS],
            }
        )
    return out


_FOUR_PLACES = Decimal("0.0001")


def _stored_money(value: Decimal | None, dialect: str) -> Decimal | None:
    """An amount as the store gives it back (``Money``: text on SQLite, NUMERIC(18, 4))."""
    if value is None:
        return None
    if dialect == "sqlite":
        return Decimal(format(value, "f"))  # written as fixed-point text, read as written
    return Decimal(value).quantize(_FOUR_PLACES)


def written_outcomes(rows: TableRows, dialect: str) -> dict[str, ConsignmentOutcome]:
    """Where the consignments of ``rows`` stand once written (by consignment id).

    What :meth:`~smartcustoms.store.Store.consignment_outcomes` reads back in the same
    transaction, built from the rows instead: a new consignment has no officer re-routing,
    so its lane is its risk decision's, and it is released only if it wrote a ``release``
    event. ``dialect`` (``sqlite`` or ``postgresql``) gives the amounts the scale the
    database returns them with. The differential tests compare both for every filing.
    """
    filers = {f[c.FILING_ID]: f.get(c.FILER_ID) for f in rows.inserts.get("filings", [])}
    assessed = {a[c.CONSIGNMENT_ID]: a for a in rows.inserts.get("assessments", [])}
    lanes = {d[c.CONSIGNMENT_ID]: d[LANE] for d in rows.inserts.get("risk_decisions", [])}
    released = {
        e[c.CONSIGNMENT_ID]
        for e in rows.inserts.get("lifecycle_events", [])
        if e["event_type"] == EventType.RELEASE.value
    }
    out: dict[str, ConsignmentOutcome] = {}
    for cons in rows.inserts.get("consignments", []):
        cid = cons[c.CONSIGNMENT_ID]
        head = assessed.get(cid, {})
        out[cid] = ConsignmentOutcome(
            consignment_id=cid,
            filing_id=cons[c.FILING_ID],
            filer_id=filers.get(cons[c.FILING_ID]),
            office=cons.get(c.OFFICE_OF_ARRIVAL),
            lane=lanes.get(cid),
            is_released=cid in released,
            dq_score=cons.get("dq_score"),
            dq_reasons=cons.get("dq_reasons"),
            currency=head.get("currency"),
            duty=_stored_money(head.get("duty_total"), dialect),
            vat=_stored_money(head.get("vat_total"), dialect),
            excise=_stored_money(head.get("excise_total"), dialect),
            total_payable=_stored_money(head.get("total_payable"), dialect),
        )
    return out
