"""The clearance runner: chunks through prepare (compute) and commit (database)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl

from smartcustoms.aeo import OperatorRegistry, with_aeo_status
from smartcustoms.clearance.decisions import decision_results, write_decisions
from smartcustoms.clearance.identity import content_hashes
from smartcustoms.clearance.records import write_accepted, write_quarantine
from smartcustoms.clearance.summary import (
    ACCEPTED,
    DUPLICATE,
    QUARANTINED,
    RESULT_SCHEMA,
    ChunkOutcome,
    ClearSummary,
    ResultSink,
    problem_json,
)
from smartcustoms.errors import MissingExchangeRateError
from smartcustoms.intake import ParsedBatch, read_batches
from smartcustoms.intake.batch import field_path
from smartcustoms.intake.problems import PROBLEM_SCHEMA, problems_where
from smartcustoms.intake.quality import score_quality
from smartcustoms.intake.validate import ValidationContext, normalise_codes, validate_batch
from smartcustoms.model import columns as c
from smartcustoms.model.columns import RECORD
from smartcustoms.risk.engine import RiskEngine, RiskOutcome
from smartcustoms.risk.view import build_risk_view
from smartcustoms.store import BulkWriter, Store
from smartcustoms.store.risk import RiskRecords
from smartcustoms.tariff import Assessment, ExchangeRates, Regime, TariffSchedule, assess
from smartcustoms.tariff import columns as tc

__all__ = ["Clearance", "PreparedBatch", "Tenant"]

Tenant = str | Sequence[str | None] | None
"""Who submits a batch through the service: one filer id, one per record, or nobody."""


@dataclass
class PreparedBatch:
    """A chunk after the compute stage, ready for :meth:`Clearance.commit`.

    Attributes:
        batch: The parsed records.
        now: Time of receipt.
        consignments: Normalised consignments of every record.
        hashes: Content hash per record.
        duplicates: Records repeating an earlier record of the same batch.
        problems: Every problem found so far.
        accepted_consignments: Consignments of records with no error (yet).
        accepted_items: Their goods items.
        quality: Data-quality score per consignment.
        assessment: Duties and taxes of the accepted consignments.
        risk: Lane decisions of the accepted consignments (``None`` without a risk engine).
        tenant: The filer submitting each record through the service (``_record`` ->
            ``tenant``), if any: quarantine entries are recorded under it.
    """

    batch: ParsedBatch
    now: datetime
    consignments: pl.DataFrame
    hashes: pl.DataFrame
    duplicates: pl.Series
    problems: pl.DataFrame
    accepted_consignments: pl.DataFrame
    accepted_items: pl.DataFrame
    quality: pl.DataFrame
    assessment: Assessment | None
    risk: RiskOutcome | None = None
    tenant: pl.DataFrame | None = None


class Clearance:
    """Runs the clearance path against a store.

    Args:
        store: Where accepted filings, quarantine and events go.
        regime: Duty/tax regime applied.
        schedule: Tariff schedule.
        rates: Exchange rates.
        validation: Reference data and limits for validation.
        actor: Who runs it, for the audit log.
        risk: The risk engine choosing lanes (``None``: no lane decisions).
        operators: Operator registry for AEO status (``None``: nobody is trusted).
        home_country: Authority whose AEO certificates count as national.
    """

    def __init__(
        self,
        store: Store,
        *,
        regime: Regime,
        schedule: TariffSchedule,
        rates: ExchangeRates,
        validation: ValidationContext,
        actor: str = "cli",
        risk: RiskEngine | None = None,
        operators: OperatorRegistry | None = None,
        home_country: str = "EU",
    ) -> None:
        self.store = store
        self.regime = regime
        self.schedule = schedule
        self.rates = rates
        self.validation = validation
        self.actor = actor
        self.risk = risk
        self.operators = operators
        self.home_country = home_country
        self._usage: pl.DataFrame | None = None
        self._usage_keys: set[tuple[str, date]] = set()

    # ------------------------------------------------------------------ public

    def clear(
        self,
        paths: Iterable[Path],
        *,
        fmt: str | None = None,
        column_map: str | None = None,
        chunk_size: int = 50_000,
        out: Path | None = None,
        on_chunk: Callable[[ChunkOutcome, int], None] | None = None,
    ) -> ClearSummary:
        """Clear every file in ``paths``; write per-consignment results to ``out``.

        Args:
            paths: Input files.
            fmt: Force a format (``jsonl``, ``json``, ``csv``, ``postal``); detected otherwise.
            column_map: Column map name or file, for CSV.
            chunk_size: Records per chunk (one transaction each).
            out: Results file (``.jsonl`` or ``.parquet``), optional.
            on_chunk: Called after each chunk with its outcome and the bytes read so far.
        """
        batch_id = datetime.now(UTC).strftime("b%Y%m%dT%H%M%S%f")
        summary = ClearSummary(
            batch_id=batch_id, regime=self.regime.id, currency=self.regime.currency
        )
        started = time.perf_counter()
        sink = ResultSink(out) if out else None
        record_offset = 0
        # One writer thread: chunk N is written while chunk N+1 is parsed and validated.
        # Writes stay in order, so a filing repeated across chunks is seen as a duplicate.
        pending: Future[tuple[ChunkOutcome, pl.DataFrame, int]] | None = None

        def store_stage(prepared: PreparedBatch) -> tuple[ChunkOutcome, pl.DataFrame, int]:
            outcome, results = self.commit(prepared, batch_id=batch_id)
            return outcome, results, prepared.batch.records.height

        def drain(future: Future[tuple[ChunkOutcome, pl.DataFrame, int]]) -> None:
            outcome, results, records = future.result()
            summary.add(outcome)
            if sink:
                sink.write(results)
            if on_chunk:
                on_chunk(outcome, records)

        try:
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sc-writer") as pool:
                for path in paths:
                    for batch in read_batches(
                        path,
                        fmt=fmt,
                        column_map=column_map,
                        chunk_size=chunk_size,
                        first_record=record_offset,
                    ):
                        record_offset += batch.records.height
                        prepared = self.prepare(batch)
                        if pending is not None:
                            drain(pending)
                        pending = pool.submit(store_stage, prepared)
                if pending is not None:
                    drain(pending)
        finally:
            if sink:
                sink.close()
        summary.seconds = time.perf_counter() - started
        summary.results = str(out) if out else None
        self.store.record_audit(
            actor=self.actor,
            action="clear",
            subject_type="batch",
            subject_id=batch_id,
            details={**summary.as_dict(), "files": [str(p) for p in paths]},
        )
        return summary

    def clear_batch(
        self,
        batch: ParsedBatch,
        *,
        batch_id: str,
        now: datetime | None = None,
        resubmission_of: str | None = None,
        tenant: Tenant = None,
    ) -> tuple[ChunkOutcome, pl.DataFrame]:
        """Validate, assess and store one parsed batch; return its outcome and result rows.

        Args:
            batch: The parsed records.
            batch_id: Id of the run, stored with everything written.
            now: The time of receipt (default: now).
            resubmission_of: When the batch resubmits a quarantine entry, rejected records
                are reported against that entry instead of opening new ones.
            tenant: The filer id of the filer submitting the batch (through the service),
                or one per record (a micro-batch of several filers' filings, see
                :class:`~smartcustoms.clearance.batcher.DecisionBatcher`). A record must
                carry its filer's id (else ``filing.filer_mismatch``), and its quarantine
                entry is recorded under it. ``None``: an operator's run.
        """
        prepared = self.prepare(batch, now=now, tenant=tenant)
        return self.commit(prepared, batch_id=batch_id, resubmission_of=resubmission_of)

    def prepare(
        self, batch: ParsedBatch, *, now: datetime | None = None, tenant: Tenant = None
    ) -> PreparedBatch:
        """Everything that needs no database: normalise, hash, validate, score, assess.

        Runs on the caller's thread while the previous chunk is being written (see
        :meth:`clear`). With a ``tenant``, records filed under another filer id are
        rejected (``filing.filer_mismatch``): a filer files only its own filings.
        """
        now = now or datetime.now(UTC)
        tenants = _tenant_frame(batch, tenant)
        cons, items = normalise_codes(batch.consignments, batch.items)
        hashes = content_hashes(cons, items)

        # Same filing twice in this batch: identical -> duplicate, different -> conflict.
        first_seen = hashes.filter(pl.col(c.FILING_ID).is_not_null()).with_columns(
            pl.col(RECORD).first().over(c.FILING_ID).alias("_first"),
            pl.col("content_hash").first().over(c.FILING_ID).alias("_first_hash"),
        )
        later = pl.col(RECORD) != pl.col("_first")
        same = pl.col("content_hash") == pl.col("_first_hash")
        dup_in_batch = first_seen.filter(later & same)[RECORD]
        conflict_in_batch = first_seen.filter(later & ~same)
        live = ~pl.col(RECORD).is_in(dup_in_batch.implode())
        cons_live, items_live = cons.filter(live), items.filter(live)
        problems = pl.concat(
            [
                batch.problems.filter(live),
                validate_batch(batch, self.validation, consignments=cons_live, items=items_live),
                problems_where(
                    conflict_in_batch,
                    pl.lit(True),
                    code="filing.conflict",
                    path=pl.lit("filing_id"),
                    message=pl.format(
                        "filing {} appears earlier in this batch with different content",
                        pl.col(c.FILING_ID),
                    ),
                ),
                _filer_mismatches(batch, cons_live, tenants),
            ]
        ).cast(PROBLEM_SCHEMA)

        bad = problems.filter(pl.col("severity") == "error")[RECORD].unique()
        ok_cons = cons_live.filter(~pl.col(RECORD).is_in(bad.implode()))
        ok_items = items_live.filter(~pl.col(RECORD).is_in(bad.implode()))
        quality = score_quality(ok_cons, ok_items)
        assessment, rate_problems = self._assess(ok_cons, ok_items)
        if rate_problems.height:
            problems = pl.concat([problems, rate_problems])
            bad = problems.filter(pl.col("severity") == "error")[RECORD].unique()
            ok_cons = ok_cons.filter(~pl.col(RECORD).is_in(bad.implode()))
            ok_items = ok_items.filter(~pl.col(RECORD).is_in(bad.implode()))
        risk = self._decide(ok_cons, ok_items, quality)
        return PreparedBatch(
            batch=batch,
            now=now,
            consignments=cons,
            hashes=hashes,
            duplicates=dup_in_batch,
            problems=problems,
            accepted_consignments=ok_cons,
            accepted_items=ok_items,
            quality=quality,
            assessment=assessment,
            risk=risk,
            tenant=tenants,
        )

    def commit(
        self, prepared: PreparedBatch, *, batch_id: str, resubmission_of: str | None = None
    ) -> tuple[ChunkOutcome, pl.DataFrame]:
        """The database part of a chunk, in one transaction.

        Look-ups against what is on file (duplicates, conflicts), then the writes. Chunks
        must be committed in order.
        """
        p = prepared
        batch, now, problems = p.batch, p.now, p.problems
        with self.store.writer() as writer:
            store_dups, store_problems = self._against_store(
                writer, p.accepted_consignments, p.hashes
            )
            if store_problems.height:
                problems = pl.concat([problems, store_problems])
            bad = problems.filter(pl.col("severity") == "error")[RECORD].unique()
            excluded = pl.concat([bad, store_dups]).implode()
            new_cons = p.accepted_consignments.filter(~pl.col(RECORD).is_in(excluded))
            new_items = p.accepted_items.filter(~pl.col(RECORD).is_in(excluded))
            write_accepted(
                writer,
                batch,
                new_cons,
                new_items,
                p.hashes,
                p.quality,
                p.assessment,
                batch_id=batch_id,
                now=now,
            )
            if p.risk is not None:
                write_decisions(
                    writer,
                    p.risk,
                    new_cons.select(c.CONSIGNMENT_ID),
                    policy_id=self.risk.policy.id if self.risk else "",
                    batch_id=batch_id,
                    now=now,
                )
            if resubmission_of is None:
                quarantined = write_quarantine(
                    writer,
                    batch,
                    bad,
                    problems,
                    p.hashes,
                    batch_id=batch_id,
                    now=now,
                    tenant=p.tenant,
                )
            else:
                quarantined = pl.DataFrame(
                    {RECORD: bad.cast(pl.Int64), "quarantine_id": [resubmission_of] * bad.len()},
                    schema={RECORD: pl.Int64(), "quarantine_id": pl.String()},
                )

        duplicates = pl.concat([p.duplicates, store_dups]).unique()
        outcome = self._outcome(batch, problems, bad, duplicates, new_cons, new_items, p.assessment)
        if p.risk is not None:
            stored = p.risk.decisions.join(
                new_cons.select(c.CONSIGNMENT_ID), on=c.CONSIGNMENT_ID, how="semi"
            )
            counts = stored.group_by("lane").len()
            outcome.lanes = dict(
                zip(counts["lane"].to_list(), counts["len"].to_list(), strict=True)
            )
            outcome.exceeded_by_rules = int(p.risk.report["exceeded_by_rules"].sum())
            versions = stored["model_version"].drop_nulls()
            outcome.model_version = versions[0] if versions.len() else None
        results = self._results(
            batch,
            p.consignments,
            problems,
            p.quality,
            p.assessment,
            bad,
            duplicates,
            quarantined,
            p.risk,
        )
        return outcome, results

    # ------------------------------------------------------------------ steps

    def _decide(
        self, cons: pl.DataFrame, items: pl.DataFrame, quality: pl.DataFrame
    ) -> RiskOutcome | None:
        """Lane decisions for the accepted consignments of a chunk.

        Lane usage is carried in memory from chunk to chunk and read from the store for
        each office and day the run meets first, so capacity holds across chunks and runs.
        """
        if self.risk is None or cons.is_empty():
            return None
        aeo = (
            with_aeo_status(
                cons.select(c.CONSIGNMENT_ID, c.FILED_AT, "importer_id", c.FILER_ID, c.SELLER_ID),
                self.operators,
                home_country=self.home_country,
            )
            if self.operators is not None
            else None
        )
        view = build_risk_view(
            cons, items, quality=quality, aeo=aeo, rates=self.rates, currency=self.regime.currency
        )
        pairs = view.select(c.OFFICE_OF_ARRIVAL, "period").unique().drop_nulls()
        fresh = [p for p in pairs.iter_rows() if p not in self._usage_keys]
        if fresh:
            on_file = RiskRecords(self.store).lane_usage(
                sorted({p[0] for p in fresh}), sorted({p[1] for p in fresh})
            )
            wanted = pl.DataFrame(
                fresh, schema=on_file.select(c.OFFICE_OF_ARRIVAL, "period").schema, orient="row"
            )
            on_file = on_file.join(wanted, on=[c.OFFICE_OF_ARRIVAL, "period"], how="semi")
            self._usage = on_file if self._usage is None else pl.concat([self._usage, on_file])
            self._usage_keys.update(fresh)
        outcome = self.risk.assess(view, used=self._usage)
        self._usage = outcome.usage
        return outcome

    def _assess(
        self, cons: pl.DataFrame, items: pl.DataFrame
    ) -> tuple[Assessment | None, pl.DataFrame]:
        """Assess duties; consignments in a currency with no rate become problems."""
        if cons.is_empty():
            return None, pl.DataFrame(schema=PROBLEM_SCHEMA)
        missing = _missing_rates(cons, self.rates, self.regime.currency)
        problems = pl.DataFrame(schema=PROBLEM_SCHEMA)
        if missing.height:
            problems = problems_where(
                missing,
                pl.lit(True),
                code="exchange_rate.missing",
                path=pl.lit("currency"),
                message=pl.format(
                    "no exchange rate for {} into {} on {}",
                    pl.col(c.CURRENCY),
                    pl.lit(self.regime.currency),
                    pl.col("_on"),
                ),
            ).cast(PROBLEM_SCHEMA)
            gone = missing[RECORD].implode()
            cons = cons.filter(~pl.col(RECORD).is_in(gone))
            items = items.filter(~pl.col(RECORD).is_in(gone))
        result = assess(cons, items, regime=self.regime, schedule=self.schedule, rates=self.rates)
        return result, problems

    def _against_store(
        self, writer: BulkWriter, cons: pl.DataFrame, hashes: pl.DataFrame
    ) -> tuple[pl.Series, pl.DataFrame]:
        """Records already on file (duplicates) and conflicts with what is on file."""
        candidates = hashes.join(cons.select(RECORD).unique(), on=RECORD, how="semi")
        on_file = writer.lookup(
            "filings", "filing_id", candidates[c.FILING_ID], ["content_hash"]
        ).rename({"content_hash": "_stored_hash"})
        matched = candidates.join(on_file, on=c.FILING_ID, how="inner")
        dups = matched.filter(pl.col("content_hash") == pl.col("_stored_hash"))[RECORD]
        conflicts = problems_where(
            matched,
            pl.col("content_hash") != pl.col("_stored_hash"),
            code="filing.conflict",
            path=pl.lit("filing_id"),
            message=pl.format(
                "filing {} is already on file with different content; "
                "send new content under a new filing id",
                pl.col(c.FILING_ID),
            ),
        )
        fresh = cons.filter(~pl.col(RECORD).is_in(matched[RECORD].implode()))
        taken = writer.lookup(
            "consignments", "consignment_id", fresh[c.CONSIGNMENT_ID], ["filing_id"]
        ).rename({"filing_id": "_owner"})
        clash = problems_where(
            fresh.join(taken, on=c.CONSIGNMENT_ID, how="inner"),
            pl.lit(True),
            code="consignment.duplicate",
            path=pl.concat_str(pl.col("_path"), pl.lit(".consignment_id")),
            message=pl.format(
                "consignment {} is already on file under filing {}",
                pl.col(c.CONSIGNMENT_ID),
                pl.col("_owner"),
            ),
        )
        return dups, pl.concat([conflicts, clash]).cast(PROBLEM_SCHEMA)

    def _outcome(
        self,
        batch: ParsedBatch,
        problems: pl.DataFrame,
        bad: pl.Series,
        duplicates: pl.Series,
        new_cons: pl.DataFrame,
        new_items: pl.DataFrame,
        assessment: Assessment | None,
    ) -> ChunkOutcome:
        received = batch.records.height
        quarantined = bad.n_unique()
        out = ChunkOutcome(
            received=received,
            quarantined=quarantined,
            accepted=received - quarantined,
            duplicates=duplicates.n_unique(),
            consignments=new_cons.height,
            items=new_items.height,
        )
        counts = problems.filter(pl.col("severity") == "error").group_by("code").len()
        out.problem_codes = dict(
            zip(counts["code"].to_list(), counts["len"].to_list(), strict=True)
        )
        if assessment is not None and new_cons.height:
            totals = assessment.consignments.join(
                new_cons.select(c.CONSIGNMENT_ID), on=c.CONSIGNMENT_ID, how="semi"
            ).select(
                pl.col(tc.DUTY_TOTAL).sum(),
                pl.col(tc.VAT_TOTAL).sum(),
                pl.col(tc.EXCISE_TOTAL).sum(),
            )
            out.duty = Decimal(str(totals[tc.DUTY_TOTAL][0] or 0))
            out.vat = Decimal(str(totals[tc.VAT_TOTAL][0] or 0))
            out.excise = Decimal(str(totals[tc.EXCISE_TOTAL][0] or 0))
        return out

    def _results(
        self,
        batch: ParsedBatch,
        cons: pl.DataFrame,
        problems: pl.DataFrame,
        quality: pl.DataFrame,
        assessment: Assessment | None,
        bad: pl.Series,
        duplicates: pl.Series,
        quarantined: pl.DataFrame,
        risk: RiskOutcome | None = None,
    ) -> pl.DataFrame:
        per_record = problem_json(problems)
        status = (
            pl.when(pl.col(RECORD).is_in(bad.implode()))
            .then(pl.lit(QUARANTINED))
            .when(pl.col(RECORD).is_in(duplicates.implode()))
            .then(pl.lit(DUPLICATE))
            .otherwise(pl.lit(ACCEPTED))
        )
        base = batch.records.join(
            cons.select(RECORD, c.FILING_ID, c.CONSIGNMENT_ID), on=RECORD, how="left"
        )
        if assessment is not None:
            amounts = assessment.consignments.select(
                c.CONSIGNMENT_ID,
                pl.col(tc.CURRENCY).alias("currency"),
                pl.col(tc.DUTY_TOTAL).cast(pl.String).alias("duty"),
                pl.col(tc.VAT_TOTAL).cast(pl.String).alias("vat"),
                pl.col(tc.EXCISE_TOTAL).cast(pl.String).alias("excise"),
                pl.col(tc.TOTAL_PAYABLE_AT_BORDER).cast(pl.String).alias("total_payable"),
            )
        else:
            amounts = pl.DataFrame(
                schema={
                    c.CONSIGNMENT_ID: pl.String(),
                    **{
                        k: pl.String()
                        for k in ("currency", "duty", "vat", "excise", "total_payable")
                    },
                }
            )
        out = (
            base.join(per_record, on=RECORD, how="left")
            .join(quality, on=c.CONSIGNMENT_ID, how="left")
            .join(amounts, on=c.CONSIGNMENT_ID, how="left")
            .join(quarantined, on=RECORD, how="left")
            .join(decision_results(risk), on=c.CONSIGNMENT_ID, how="left")
            .with_columns(
                status.alias("status"),
                pl.col(RECORD).alias("record"),
                pl.lit(batch.source).alias("source"),
            )
        )
        # amounts and quality only describe what was stored; lanes only what was decided now
        stored = pl.col("status") != QUARANTINED
        decided = pl.col("status") == ACCEPTED
        out = out.with_columns(
            *[
                pl.when(decided).then(pl.col(col)).alias(col)
                for col in (
                    "lane",
                    "risk_score",
                    "expected_revenue",
                    "model_version",
                    "rule_hits",
                    "reasons",
                )
            ]
        ).with_columns(
            *[
                pl.when(stored).then(pl.col(col)).alias(col)
                for col in (
                    "dq_score",
                    "dq_reasons",
                    "currency",
                    "duty",
                    "vat",
                    "excise",
                    "total_payable",
                )
            ],
            pl.col("problems").fill_null("[]"),
            pl.col("warnings").fill_null("[]"),
        )
        return out.select(list(RESULT_SCHEMA)).cast(RESULT_SCHEMA)


def _tenant_frame(batch: ParsedBatch, tenant: Tenant) -> pl.DataFrame | None:
    """``_record`` -> ``tenant`` for the batch's records (``None``: no tenant at all)."""
    if tenant is None:
        return None
    records = batch.records[RECORD].cast(pl.Int64)
    if isinstance(tenant, str):
        values: Sequence[str | None] = [tenant] * records.len()
    else:
        values = list(tenant)
        if len(values) != records.len():
            raise ValueError(f"{len(values)} tenants for {records.len()} records")
        if all(v is None for v in values):
            return None
    return pl.DataFrame(
        {RECORD: records, "tenant": pl.Series(values, dtype=pl.String)},
        schema={RECORD: pl.Int64(), "tenant": pl.String()},
    )


def _filer_mismatches(
    batch: ParsedBatch, cons: pl.DataFrame, tenants: pl.DataFrame | None
) -> pl.DataFrame:
    """One ``filing.filer_mismatch`` problem per record filed under a filer id not its tenant's."""
    if tenants is None:
        return pl.DataFrame(schema=PROBLEM_SCHEMA)
    firsts = cons.unique(RECORD, keep="first", maintain_order=True).join(
        tenants.rename({"tenant": "_tenant"}), on=RECORD, how="left"
    )
    return problems_where(
        firsts,
        pl.col(c.FILER_ID).is_not_null()
        & pl.col("_tenant").is_not_null()
        & (pl.col(c.FILER_ID) != pl.col("_tenant")),
        code="filing.filer_mismatch",
        path=field_path(batch, c.FILER_ID),
        message=pl.format(
            "the filing is filed under filer id {}, but you file as {}: a filer may submit "
            "only its own filings",
            pl.col(c.FILER_ID),
            pl.col("_tenant"),
        ),
    ).cast(PROBLEM_SCHEMA)


def _missing_rates(cons: pl.DataFrame, rates: ExchangeRates, currency: str) -> pl.DataFrame:
    """Consignments whose currency has no rate into the regime currency on their date."""
    on = pl.col(c.FILED_AT).dt.date().fill_null(date.today())
    frame = cons.select(RECORD, c.CURRENCY, on.alias("_on")).filter(pl.col(c.CURRENCY) != currency)
    pairs = frame.select(c.CURRENCY, "_on").unique()
    missing: list[tuple[str, date]] = []
    for cur, day in pairs.iter_rows():
        try:
            rates.convert(Decimal(1), cur, currency, day)
        except MissingExchangeRateError:
            missing.append((cur, day))
    if not missing:
        return frame.clear()
    bad = pl.DataFrame(
        {c.CURRENCY: [m[0] for m in missing], "_on": [m[1] for m in missing]},
        schema={c.CURRENCY: pl.String(), "_on": pl.Date()},
    )
    return frame.join(bad, on=[c.CURRENCY, "_on"], how="semi")
