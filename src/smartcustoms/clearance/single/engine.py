"""The single-filing fast path: one clean, new filing decided row by row, in microseconds.

Why it exists: the clearance core is batch-first Polars, and every Polars call costs tens to
hundreds of microseconds whatever the frame size, so clearing *one* filing through it costs
over 100 ms (``benchmarks/bench_batch_cost.py``). A synchronous API decision cannot wait
that long. This package clears one filing with plain Python on dicts instead, stage by stage,
each stage the row-wise mirror of a batch function:

============  =======================================================  ==================
stage         mirrors                                                  module
============  =======================================================  ==================
parse         ``parse_json_lines`` + ``normalise_codes`` + hashes      :mod:`.parse`
validate      ``validate_batch`` (clean or not) + ``score_quality``    :mod:`.validate`
assess        ``tariff.assess``                                        :mod:`.assess`
rules         risk view, AEO status, value controls, ``RuleSet``       :mod:`.rules`
model         ``RiskPipeline.score_consignments`` / ``contributions``  :mod:`.model`
select        ``select_lanes`` + the reasons text                      :mod:`.select`
rows          ``write_accepted`` / ``write_decisions`` / ``_results``  :mod:`.rows`
============  =======================================================  ==================

**Exact or not at all.** Every stage returns either exactly what the batch path computes or
``None``, and ``None`` anywhere sends the filing down the batch path, which is the reference.
Whatever is unusual goes that way: a filing with any problem or warning (the batch path
lists every problem and keeps the filing in quarantine), a filing already on file (duplicate
or conflict), a filer id that is not the sender's, a configuration a stage has not ported.
The differential tests (``tests/clearance/single``) run both paths on the same filings and
compare every result line and every stored row.

The only difference is the batching itself: the fast path decides each filing as if it
were cleared alone, in arrival order (lane capacity and the random share see the filings
before it), which is also what the batch path does with one filing per batch.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from smartcustoms.clearance.runner import Clearance
from smartcustoms.clearance.single.assess import SingleAssessor
from smartcustoms.clearance.single.model import SingleScorer
from smartcustoms.clearance.single.parse import parse_single
from smartcustoms.clearance.single.rows import Row, TableRows, filing_rows, result_rows
from smartcustoms.clearance.single.rules import Decline, SingleRules, ValueControls
from smartcustoms.clearance.single.select import SingleSelector, UsageBook
from smartcustoms.clearance.single.validate import SingleValidator
from smartcustoms.model import columns as c
from smartcustoms.risk import explain
from smartcustoms.risk.columns import (
    EXPECTED_REVENUE,
    LANE,
    MODEL_VERSION,
    PERIOD,
    REASONS,
    RISK_SCORE,
    Lane,
)
from smartcustoms.store.risk import RiskRecords

__all__ = ["FastFiling", "SingleFilingEngine"]

_SOURCE = "api"
_RISKIEST = "riskiest_item"
_SCORE_COLUMNS = (RISK_SCORE, EXPECTED_REVENUE, MODEL_VERSION, _RISKIEST)

OnFile = Callable[[str, list[str]], bool]
"""``(filing_id, consignment_ids) -> True`` when either is already on file."""


@dataclass(frozen=True)
class FastFiling:
    """A filing the fast path decided, ready to be written with its group.

    Attributes:
        filing_id: Its filing id.
        consignment_ids: Its consignments, in filing order.
        rows: What it writes, by table.
        results: Its result lines (:data:`~smartcustoms.clearance.summary.RESULT_SCHEMA`).
    """

    filing_id: str
    consignment_ids: list[str]
    rows: TableRows
    results: list[Row]


class SingleFilingEngine:
    """Decide clean, new single filings row by row (see the module docstring).

    Built from a :class:`~smartcustoms.clearance.Clearance` (its store, regime, schedule,
    rates, validation limits, risk engine and operator registry); rebuild it when that
    configuration changes.

    Args:
        clearance: The configuration to mirror.
        usage_ttl: Seconds lane usage read from the store stays trusted in memory; decisions
            of other writers (a bulk job) are seen after at most this long.
    """

    def __init__(self, clearance: Clearance, *, usage_ttl: float = 1.0) -> None:
        self.clearance = clearance
        self.usage_ttl = usage_ttl
        self._validator = SingleValidator(
            clearance.validation, clearance.rates, clearance.regime.currency
        )
        self._validator_now = clearance.validation.now
        self._assessor = SingleAssessor(clearance.regime, clearance.schedule, clearance.rates)
        risk = clearance.risk
        self._rules: SingleRules | None = None
        self._scorer: SingleScorer | None = None
        self._selector: SingleSelector | None = None
        self._revalue: ValueControls | None = None
        if risk is not None:
            self._rules = SingleRules(
                risk,
                clearance.operators,
                clearance.home_country,
                clearance.rates,
                clearance.regime.currency,
            )
            pipeline = risk.pipeline
            if pipeline is not None:
                # The model reads value controls computed with its own reference. When the
                # engine's reference is another (refreshed since training), the batch path
                # recomputes them inside the pipeline; here they are recomputed on a copy
                # of the view, and the scorer reads them as already applied.
                own = risk.reference is pipeline.reference_
                if not own and pipeline.reference_ is not None:
                    self._revalue = ValueControls(pipeline.reference_)
                self._scorer = SingleScorer(pipeline, values_applied=True if self._revalue else own)
            self._selector = SingleSelector(risk.policy, seed=risk.seed, currency=risk.currency)
        self._usage = UsageBook.from_frame(None)
        self._usage_read_at = 0.0
        self.decided = 0
        """Filings decided by the fast path so far."""
        self.declined = 0
        """Filings handed to the batch path so far."""

    # ------------------------------------------------------------------ usage

    def forget_usage(self) -> None:
        """Drop the lane usage held in memory (after a write this engine did not make)."""
        self._usage = UsageBook.from_frame(None)
        self._usage_read_at = time.monotonic()

    def begin_group(self) -> None:
        """Start a group of filings written in one transaction.

        Lane usage older than ``usage_ttl`` is dropped here, never within a group: what the
        group decided so far is not yet in the store, so only the memory knows it.
        """
        if time.monotonic() - self._usage_read_at > self.usage_ttl:
            self.forget_usage()

    def _ensure_usage(self, pairs: set[tuple[str, date]]) -> None:
        fresh = [p for p in pairs if not self._usage.knows(*p)]
        if fresh:
            on_file = RiskRecords(self.clearance.store).lane_usage_rows(
                sorted({p[0] for p in fresh}), sorted({p[1] for p in fresh})
            )
            self._usage.add_counts(on_file, queried=fresh)

    # ------------------------------------------------------------------ decide

    def decide(
        self,
        doc: Any,
        *,
        fmt: str,
        tenant: str | None,
        now: datetime,
        batch_id: str,
        on_file: OnFile,
    ) -> FastFiling | None:
        """Decide one filing (the decoded JSON ``doc``), or ``None`` for the batch path.

        Args:
            doc: The filing as decoded JSON.
            fmt: ``json`` or ``postal``.
            tenant: The filer id of the sender (``None``: an operator).
            now: Time of receipt.
            batch_id: Id stored with its rows.
            on_file: Says whether the filing or one of its consignments is already on file.
        """
        found = self._decide(
            doc, fmt=fmt, tenant=tenant, now=now, batch_id=batch_id, on_file=on_file
        )
        if found is None:
            self.declined += 1
        else:
            self.decided += 1
        return found

    def _decide(
        self,
        doc: Any,
        *,
        fmt: str,
        tenant: str | None,
        now: datetime,
        batch_id: str,
        on_file: OnFile,
    ) -> FastFiling | None:
        if not isinstance(doc, dict):
            return None
        parsed = parse_single(doc, fmt)
        if parsed is None or not parsed.consignments:
            return None
        cons, items = parsed.consignments, parsed.items
        if now != self._validator_now:  # validation dates are judged against the receipt
            self._validator = self._validator.at(now)
            self._validator_now = now
        if self._validator.is_clean(cons, items, tenant=tenant) is not True:
            return None
        quality_rows = self._validator.quality(cons, items)
        if quality_rows is None:
            return None
        assessed = self._assessor.assess(cons, items)
        if assessed is None:
            return None
        ids = [row[c.CONSIGNMENT_ID] for row in cons]
        filing_id = parsed.filing_id
        if filing_id is None or len(set(ids)) != len(ids) or on_file(filing_id, ids):
            return None
        decisions: list[dict[str, Any]] | None = None
        hits: list[dict[str, Any]] = []
        if self._rules is not None:
            risk = self._risk(cons, items, quality_rows)
            if risk is None:
                return None
            decisions, hits = risk
        quality = {row[c.CONSIGNMENT_ID]: row for row in quality_rows}
        risk_engine = self.clearance.risk
        rows = filing_rows(
            record=parsed.record,
            source=_SOURCE,
            consignments=cons,
            items=items,
            content_hash=parsed.content_hash,
            quality=quality,
            assessment_heads=assessed.consignments,
            assessment_lines=assessed.items,
            decisions=decisions,
            hits=hits,
            ruleset_id=risk_engine.rules.id
            if risk_engine is not None and risk_engine.rules is not None
            else None,
            policy_id=risk_engine.policy.id if risk_engine is not None else "",
            batch_id=batch_id,
            now=now,
        )
        results = result_rows(
            record=parsed.record,
            source=_SOURCE,
            consignments=cons,
            quality=quality,
            assessment_heads=assessed.consignments,
            decisions=decisions,
        )
        return FastFiling(filing_id=filing_id, consignment_ids=ids, rows=rows, results=results)

    def _risk(
        self,
        cons: list[dict[str, Any]],
        items: list[dict[str, Any]],
        quality: list[dict[str, Any]],
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
        """Decisions (with reasons) and rule hits, as ``RiskEngine.assess`` gives them."""
        assert self._rules is not None
        assert self._selector is not None
        evaluated = self._rules.evaluate(cons, items, quality)
        if evaluated is None:
            return None
        view, hits = evaluated.view, evaluated.hits
        scores: dict[str, Mapping[str, Any]] = {}
        scoring_view = view
        if self._revalue is not None:
            scoring_view = [dict(row) for row in view]
            try:
                self._revalue.apply(scoring_view)
            except Decline:
                return None
        if self._scorer is not None:
            scored = self._scorer.score(scoring_view)
            if scored is None:
                return None
            scores = {row[c.CONSIGNMENT_ID]: row for row in scored}
        candidates = []
        for row in evaluated.consignments:
            found = scores.get(row[c.CONSIGNMENT_ID], {})
            candidates.append({**row, **{col: found.get(col) for col in _SCORE_COLUMNS}})
        pairs = {
            (row[c.OFFICE_OF_ARRIVAL], row[PERIOD])
            for row in view
            if row[c.OFFICE_OF_ARRIVAL] is not None and row[PERIOD] is not None
        }
        self._ensure_usage(pairs)
        before = self._usage.copy()
        decisions = self._selector.select(candidates, self._usage)
        if decisions is None:
            return None
        by_id = {row[c.CONSIGNMENT_ID]: row for row in candidates}
        decisions = [{**d, RISK_SCORE: by_id[d[c.CONSIGNMENT_ID]][RISK_SCORE]} for d in decisions]
        explained = self._explained(scoring_view, decisions, by_id)
        reasons = (
            None if explained is None else self._selector.reasons(decisions, view, hits, explained)
        )
        if reasons is None:
            self._usage = before
            return None
        for decision, text in zip(decisions, reasons, strict=True):
            decision[REASONS] = text
        return decisions, hits

    def _explained(
        self,
        view: list[dict[str, Any]],
        decisions: list[dict[str, Any]],
        candidates: Mapping[str, Mapping[str, Any]],
    ) -> dict[str, str] | None:
        """Model reasons of the red and yellow decisions (``RiskEngine._explain_controlled``)."""
        if self._scorer is None:
            return {}
        out: dict[str, str] = {}
        currency = self.clearance.risk.currency if self.clearance.risk else ""
        for d in decisions:
            if d[LANE] not in (Lane.RED, Lane.YELLOW):
                continue
            cid = d[c.CONSIGNMENT_ID]
            riskiest = candidates[cid][_RISKIEST]
            texts = None
            for row in view:
                if row[c.CONSIGNMENT_ID] == cid and row[c.ITEM_NO] == riskiest:
                    texts = self._scorer.contributions(row)
                    if texts is None:
                        return None
                    break
            out[cid] = json.dumps(
                explain.model_reasons(
                    d[RISK_SCORE], d[EXPECTED_REVENUE], d[MODEL_VERSION], texts, currency
                )
            )
        return out
