"""The risk domain's records in the store: decisions, rule hits, inspection results, models.

:class:`RiskRecords` is the repository the risk engine, the CLI and (later) the API share.
Bulk writes of decisions and rule hits go through the clearance transaction
(:class:`~smartcustoms.store.BulkWriter`); everything here is either small (one inspection
result, one model) or a bulk read of history for training.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Final

import polars as pl
from sqlalchemy import ColumnElement, case, exists, func, insert, select, update

from smartcustoms.errors import ConflictError, ConsignmentNotFoundError, ModelNotFoundError
from smartcustoms.model.columns import CONSIGNMENT_SCHEMA, ITEM_SCHEMA, MONEY, TIMESTAMP
from smartcustoms.risk.selection import USAGE_SCHEMA
from smartcustoms.store import tables as t
from smartcustoms.store.database import Store
from smartcustoms.store.tables import FILING_LEVEL_COLUMNS
from smartcustoms.store.types import SQLITE_DATETIME_FORMAT

__all__ = ["LANE_SEVERITY", "QUEUE_STATUSES", "ModelRecord", "RiskRecords"]

LANE_SEVERITY: Final = ("red", "yellow", "blue", "green")

QUEUE_STATUSES: Final = ("not_inspected", "inspected", "compliant", "noncompliant")
"""Inspection statuses the work queue filters on; the last two are the latest result
(:data:`smartcustoms.targeting.feedback.RESULTS`)."""
"""Lanes from the strictest; work queues list consignments in this order."""


@dataclass(frozen=True, slots=True)
class ModelRecord:
    """A trained model on file.

    Attributes:
        version: Unique version (``m<UTC timestamp>``).
        created_at: When it was trained.
        package_version: smartcustoms version that trained it.
        schema_hash: Hash of the feature schema it needs.
        seed: Training seed.
        window_start: First filing date of the training data.
        window_end: Last filing date of the training data.
        n_train: Training rows.
        metrics: Validation figures and training scores summary (JSON object).
        is_active: Whether scoring uses it.
        artifact: The serialised model bundle (absent in listings).
    """

    version: str
    created_at: datetime
    package_version: str
    schema_hash: str
    seed: int
    window_start: datetime | None
    window_end: datetime | None
    n_train: int
    metrics: dict[str, Any]
    is_active: bool
    artifact: bytes | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (without the artifact)."""
        return {
            "version": self.version,
            "created_at": self.created_at.isoformat(),
            "package_version": self.package_version,
            "schema_hash": self.schema_hash,
            "seed": self.seed,
            "window_start": self.window_start.isoformat() if self.window_start else None,
            "window_end": self.window_end.isoformat() if self.window_end else None,
            "n_train": self.n_train,
            "is_active": self.is_active,
            "metrics": self.metrics,
        }


def _typed(frame: pl.DataFrame, schema: dict[str, pl.DataType], dialect: str) -> pl.DataFrame:
    """Cast an all-text frame read from the store to the canonical dtypes."""
    casts = []
    for name in frame.columns:
        dtype = schema.get(name)
        if dtype is None or dtype == pl.String:
            continue
        col = pl.col(name)
        if dtype == TIMESTAMP:
            if dialect == "sqlite":
                casts.append(col.str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_zone="UTC"))
            else:
                casts.append(col.str.to_datetime(time_zone="UTC", time_unit="us"))
        elif dtype == MONEY:
            casts.append(col.cast(pl.Float64).cast(MONEY))
        elif dtype == pl.Boolean:
            casts.append(col.is_in(["1", "true", "True", "t"]))
        else:
            casts.append(col.cast(dtype))
    return frame.with_columns(casts) if casts else frame


class RiskRecords:
    """Reads and writes of the risk tables.

    Args:
        store: The store to use.
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    # ---------------------------------------------------------------- history

    def history(
        self, *, since: datetime | None = None, until: datetime | None = None
    ) -> pl.DataFrame:
        """Every stored goods item with its consignment, filing, quality score and label.

        The label is the latest inspection result of the consignment (null if never
        controlled). Label columns: ``is_noncompliant`` (Boolean, null when never controlled) and
        ``revenue_at_stake`` (Float64: the revenue recovered by the control).
        """
        cons_cols = [c for c in CONSIGNMENT_SCHEMA.names() if c not in FILING_LEVEL_COLUMNS]
        item_cols = [c for c in ITEM_SCHEMA.names() if c != "consignment_id"]
        canonical = {**dict(CONSIGNMENT_SCHEMA), **dict(ITEM_SCHEMA)}
        money = {n for n, dtype in canonical.items() if dtype == MONEY}

        def col(alias: str, name: str) -> str:
            # PostgreSQL NUMERIC arrives as an Arrow extension type: read it as text
            if name in money or name == "revenue_recovered":
                return f"CAST({alias}.{name} AS TEXT) AS {name}"
            return f"{alias}.{name}"

        select_list = ", ".join(
            [col("f", n) for n in FILING_LEVEL_COLUMNS]
            + [col("c", n) for n in cons_cols]
            + ["c.dq_score"]
            + [col("i", n) for n in item_cols]
            + [
                "r.result AS inspection_result",
                "CAST(r.revenue_recovered AS TEXT) AS revenue_at_stake",
            ]
        )
        latest = (
            "SELECT consignment_id, result, revenue_recovered FROM inspection_results x "
            "WHERE x.id = (SELECT max(id) FROM inspection_results y "
            "WHERE y.consignment_id = x.consignment_id)"
        )
        where = []
        fmt = SQLITE_DATETIME_FORMAT.replace("%6f", "%f")
        if since is not None:
            where.append(f"f.filed_at >= '{since.astimezone(UTC).strftime(fmt)}'")
        if until is not None:
            where.append(f"f.filed_at < '{until.astimezone(UTC).strftime(fmt)}'")
        sql = (
            f"SELECT {select_list} FROM goods_items i "
            "JOIN consignments c ON c.consignment_id = i.consignment_id "
            "JOIN filings f ON f.filing_id = c.filing_id "
            f"LEFT JOIN ({latest}) r ON r.consignment_id = i.consignment_id"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY f.filed_at, i.consignment_id, i.item_no"
        )
        with self.store.writer() as writer:
            raw = writer.query(sql)
        schema: dict[str, pl.DataType] = {**dict(CONSIGNMENT_SCHEMA), **dict(ITEM_SCHEMA)}
        schema["dq_score"] = pl.Int64()
        schema["revenue_at_stake"] = pl.Float64()
        frame = _typed(raw, schema, self.store.dialect)
        result = pl.col("inspection_result")
        return frame.with_columns(
            pl.when(result.is_null())
            .then(None)
            .otherwise(result == "noncompliant")
            .alias("is_noncompliant")
        ).drop("inspection_result")

    # ---------------------------------------------------------------- inspection results

    def record_inspections(self, results: pl.DataFrame) -> int:
        """Append inspection results (columns of ``inspection_results`` except ``id``)."""
        with self.store.writer() as writer:
            return writer.insert("inspection_results", results)

    def inspections(self, consignment_id: str) -> list[dict[str, Any]]:
        """Every result recorded for a consignment, oldest first."""
        with self.store.engine.connect() as conn:
            rows = conn.execute(
                select(t.inspection_results)
                .where(t.inspection_results.c.consignment_id == consignment_id)
                .order_by(t.inspection_results.c.id)
            ).mappings()
            return [
                {k: (str(v) if isinstance(v, Decimal) else v) for k, v in dict(r).items()}
                for r in rows
            ]

    # ---------------------------------------------------------------- decisions

    def decision(self, consignment_id: str) -> dict[str, Any] | None:
        """The stored lane decision of a consignment with its rule hits, or ``None``."""
        with self.store.engine.connect() as conn:
            row = (
                conn.execute(
                    select(t.risk_decisions).where(
                        t.risk_decisions.c.consignment_id == consignment_id
                    )
                )
                .mappings()
                .first()
            )
            if row is None:
                return None
            hits = conn.execute(
                select(t.rule_hits)
                .where(t.rule_hits.c.consignment_id == consignment_id)
                .order_by(t.rule_hits.c.id)
            ).mappings()
            out = dict(row)
            out["reasons"] = json.loads(out["reasons"])
            out["rule_hits"] = [
                {k: v for k, v in dict(h).items() if k not in ("id", "consignment_id")}
                for h in hits
            ]
            return out

    def filing(self, consignment_id: str) -> dict[str, Any] | None:
        """The filing-level fields of a consignment's filing (filer, filed_at), or ``None``."""
        c, f = t.consignments.c, t.filings.c
        with self.store.engine.connect() as conn:
            row = (
                conn.execute(
                    select(*[f[name] for name in FILING_LEVEL_COLUMNS], f.received_at)
                    .join_from(t.consignments, t.filings, f.filing_id == c.filing_id)
                    .where(c.consignment_id == consignment_id)
                )
                .mappings()
                .first()
            )
        return dict(row) if row is not None else None

    # ---------------------------------------------------------------- work queues

    def queue(
        self,
        *,
        offices: Collection[str] | None,
        lanes: Collection[str] | None = None,
        day: date | None = None,
        status: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[dict[str, Any]], int]:
        """A page of decided consignments for officers to work, and the total count.

        Ordered by lane (red first, :data:`LANE_SEVERITY`), then selection priority (highest
        first, none last), then the newest decision, then consignment id (a stable order for
        paging). Each row carries the decision's scores, the ids of the rules hit, the filing
        time and declared total, and the latest inspection result (``None``: not inspected).

        Args:
            offices: Offices to include (``None``: every office, including decisions without
                one; empty: nothing).
            lanes: Lanes to include (``None`` or empty: all).
            day: Only consignments selected on that day (the selection period, the filing
                day in UTC).
            status: Inspection status (:data:`QUEUE_STATUSES`): ``not_inspected``,
                ``inspected``, or the latest result (``compliant``, ``noncompliant``).
            limit: Page size.
            offset: Rows to skip.
        """
        if status is not None and status not in QUEUE_STATUSES:
            raise ValueError(f"unknown queue status {status!r}")
        d, c, f, r = t.risk_decisions.c, t.consignments.c, t.filings.c, t.inspection_results.c
        where: list[ColumnElement[bool]] = []
        if offices is not None:
            where.append(d.office.in_(sorted(offices)))
        if lanes:
            where.append(d.lane.in_(sorted(lanes)))
        if day is not None:
            where.append(d.period == day.isoformat())
        latest = (
            select(r.result)
            .where(r.consignment_id == d.consignment_id)
            .order_by(r.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        inspected = exists().where(r.consignment_id == d.consignment_id)
        if status == "not_inspected":
            where.append(~inspected)
        elif status == "inspected":
            where.append(inspected)
        elif status is not None:
            where.append(latest == status)
        severity = case({lane: rank for rank, lane in enumerate(LANE_SEVERITY)}, value=d.lane)
        query = (
            select(
                d.consignment_id,
                d.office,
                d.lane,
                d.risk_score,
                d.rule_score,
                d.expected_revenue,
                d.priority,
                d.selection_basis,
                d.is_random_pick,
                d.model_version,
                d.decided_at,
                f.filed_at,
                c.total_value,
                c.currency,
                latest.label("inspection_result"),
            )
            .select_from(t.risk_decisions)
            .join(t.consignments, c.consignment_id == d.consignment_id, isouter=True)
            .join(t.filings, f.filing_id == c.filing_id, isouter=True)
            .where(*where)
            .order_by(
                severity,
                d.priority.desc().nulls_last(),
                d.decided_at.desc(),
                d.consignment_id,
            )
            .limit(limit)
            .offset(offset)
        )
        count = select(func.count()).select_from(t.risk_decisions).where(*where)
        with self.store.engine.connect() as conn:
            rows = [dict(m) for m in conn.execute(query).mappings()]
            total = int(conn.execute(count).scalar_one())
            ids = [row["consignment_id"] for row in rows]
            hits: dict[str, list[str]] = {i: [] for i in ids}
            if ids:
                h = t.rule_hits.c
                for cid, rule_id in conn.execute(
                    select(h.consignment_id, h.rule_id)
                    .where(h.consignment_id.in_(ids))
                    .order_by(h.id)
                ):
                    hits[cid].append(rule_id)
        for row in rows:
            row["rule_hits"] = hits[row["consignment_id"]]
        return rows, total

    # ---------------------------------------------------------------- lane changes

    def lane_changes(self, consignment_id: str) -> list[dict[str, Any]]:
        """Every re-routing of a consignment by an officer, oldest first."""
        lc = t.lane_changes.c
        with self.store.engine.connect() as conn:
            rows = conn.execute(
                select(t.lane_changes).where(lc.consignment_id == consignment_id).order_by(lc.id)
            ).mappings()
            return [dict(row) for row in rows]

    def change_lane(
        self,
        consignment_id: str,
        *,
        from_lane: str,
        to_lane: str,
        justification: str,
        officer: str,
    ) -> dict[str, Any]:
        """Re-route a consignment: record the change, update the decision, audit it, at once.

        The lane change, the decision's new lane and the audit-log entry are written in one
        transaction, so a re-routing is never on file without its justification and actor.
        The update is conditional on the lane still being ``from_lane``: of two officers
        re-routing the same consignment at once, the second gets a conflict instead of
        silently overwriting the first.

        Args:
            consignment_id: The consignment.
            from_lane: The lane the caller saw (the decision's current lane).
            to_lane: The new lane.
            justification: Why (stored verbatim).
            officer: Who (the audit-log actor).

        Returns:
            The ``lane_changes`` row written.

        Raises:
            ConsignmentNotFoundError: No decision on file for the consignment.
            ConflictError: The lane is no longer ``from_lane``.
        """
        d = t.risk_decisions.c
        now = datetime.now(UTC)
        row = {
            "consignment_id": consignment_id,
            "from_lane": from_lane,
            "to_lane": to_lane,
            "justification": justification,
            "officer": officer,
            "changed_at": now,
        }
        with self.store.engine.begin() as conn:
            updated = conn.execute(
                update(t.risk_decisions)
                .where(d.consignment_id == consignment_id, d.lane == from_lane)
                .values(lane=to_lane)
            ).rowcount
            if not updated:
                current = conn.execute(
                    select(d.lane).where(d.consignment_id == consignment_id)
                ).scalar_one_or_none()
                if current is None:
                    raise ConsignmentNotFoundError(
                        f"no lane decision on file for consignment {consignment_id!r}"
                    )
                raise ConflictError(
                    f"consignment {consignment_id} is now in lane {current}, not {from_lane}; "
                    "it was re-routed meanwhile"
                )
            key = conn.execute(insert(t.lane_changes).values(**row)).inserted_primary_key
            assert key is not None
            row["id"] = int(key[0])
            conn.execute(
                insert(t.audit_log).values(
                    at=now,
                    actor=officer,
                    action="consignment.lane_change",
                    subject_type="consignment",
                    subject_id=consignment_id,
                    details=json.dumps(
                        {
                            "lane_change_id": row["id"],
                            "from_lane": from_lane,
                            "to_lane": to_lane,
                            "justification": justification,
                        }
                    ),
                )
            )
        return row

    def lane_usage(self, offices: list[str], periods: list[date]) -> pl.DataFrame:
        """Lane usage already on file per office and period.

        In the shape :func:`smartcustoms.risk.selection.select_lanes` takes as ``used``, so
        capacity and target rates hold across chunks and runs.
        """
        rows = self.lane_usage_rows(offices, periods)
        return pl.DataFrame(rows, schema=USAGE_SCHEMA, orient="row")

    def lane_usage_rows(
        self, offices: list[str], periods: list[date]
    ) -> list[tuple[str, date, str, int, int, int]]:
        """:meth:`lane_usage` as tuples ``(office, period, lane, count, by_rule, by_random)``.

        One row per office, period and lane with decisions on file, with no frame built (the
        single-filing fast path reads usage a few keys at a time). Read from the
        ``lane_usage`` counters that triggers keep (migration 0008): a few rows per office and
        day, however many decisions the day holds.
        """
        u = t.lane_usage.c
        count = func.sum(u.decisions)
        with self.store.engine.connect() as conn:
            rows = conn.execute(
                select(
                    u.office, u.period, u.lane, count, func.sum(u.by_rule), func.sum(u.by_random)
                )
                .where(u.office.in_(offices), u.period.in_([p.isoformat() for p in periods]))
                .group_by(u.office, u.period, u.lane)
                .having(count != 0)
            ).all()
        return [
            (r[0], date.fromisoformat(r[1]), r[2], int(r[3]), int(r[4]), int(r[5])) for r in rows
        ]

    def controlled_ids(self) -> set[str]:
        """Consignments given a red or yellow lane (those a control actually looks at)."""
        with self.store.engine.connect() as conn:
            d = t.risk_decisions.c
            return set(
                conn.execute(
                    select(d.consignment_id).where(d.lane.in_(["red", "yellow"]))
                ).scalars()
            )

    def live_scores(self, *, since: datetime | None = None) -> pl.Series:
        """Risk scores of the decisions taken since ``since`` (for drift)."""
        with self.store.engine.connect() as conn:
            d = t.risk_decisions.c
            query = select(d.risk_score).where(d.risk_score.is_not(None))
            if since is not None:
                query = query.where(d.decided_at >= since)
            values = [float(v) for v in conn.execute(query).scalars()]
        return pl.Series("risk_score", values, dtype=pl.Float64)

    # ---------------------------------------------------------------- models

    def save_model(self, record: ModelRecord, *, activate: bool = True) -> None:
        """Store a trained model; with ``activate`` it becomes the one scoring uses."""
        with self.store.engine.begin() as conn:
            if activate:
                conn.execute(update(t.risk_models).values(is_active=False))
            conn.execute(
                t.risk_models.insert().values(
                    version=record.version,
                    created_at=record.created_at,
                    package_version=record.package_version,
                    schema_hash=record.schema_hash,
                    seed=record.seed,
                    window_start=record.window_start,
                    window_end=record.window_end,
                    n_train=record.n_train,
                    metrics=json.dumps(record.metrics),
                    is_active=activate,
                    artifact=record.artifact or b"",
                )
            )

    def model(self, version: str | None = None) -> ModelRecord:
        """The active model (or ``version``) with its artifact.

        Raises:
            ModelNotFoundError: No such model (or none trained yet).
        """
        m = t.risk_models.c
        query = select(t.risk_models)
        query = query.where(m.version == version) if version else query.where(m.is_active)
        with self.store.engine.connect() as conn:
            row = conn.execute(query.order_by(m.created_at.desc())).mappings().first()
        if row is None:
            raise ModelNotFoundError(
                f"no risk model {version!r} on file"
                if version
                else "no risk model trained yet; run `smartcustoms risk train`"
            )
        return self._model_record(row, with_artifact=True)

    def models(self) -> list[ModelRecord]:
        """Every model on file, newest first, without artifacts."""
        m = t.risk_models.c
        with self.store.engine.connect() as conn:
            rows = conn.execute(
                select(*[c for c in t.risk_models.c if c.name != "artifact"]).order_by(
                    m.created_at.desc()
                )
            ).mappings()
            return [self._model_record(r, with_artifact=False) for r in rows]

    @staticmethod
    def _model_record(row: Any, *, with_artifact: bool) -> ModelRecord:
        return ModelRecord(
            version=row["version"],
            created_at=row["created_at"],
            package_version=row["package_version"],
            schema_hash=row["schema_hash"],
            seed=int(row["seed"]),
            window_start=row["window_start"],
            window_end=row["window_end"],
            n_train=int(row["n_train"]),
            metrics=json.loads(row["metrics"]),
            is_active=bool(row["is_active"]),
            artifact=bytes(row["artifact"]) if with_artifact else None,
        )

    # ---------------------------------------------------------------- value references

    def save_value_reference(
        self,
        artifact: bytes,
        *,
        rows: int,
        window_start: datetime | None,
        window_end: datetime | None,
    ) -> str:
        """Store a refreshed value reference and make it the active one; return its version."""
        now = datetime.now(UTC)
        version = now.strftime("v%Y%m%dT%H%M%S%f")
        with self.store.engine.begin() as conn:
            conn.execute(update(t.value_references).values(is_active=False))
            conn.execute(
                t.value_references.insert().values(
                    version=version,
                    computed_at=now,
                    window_start=window_start,
                    window_end=window_end,
                    rows=rows,
                    is_active=True,
                    artifact=artifact,
                )
            )
        return version

    def active_versions(self) -> tuple[str | None, str | None]:
        """Versions of the active model and value reference (``None``: none), in one query.

        Cheap enough to ask before every micro-batch: a long-lived decision engine uses it
        to notice a promotion or a refresh without reading the artifacts.
        """
        m, v = t.risk_models.c, t.value_references.c
        model = select(m.version).where(m.is_active).order_by(m.created_at.desc()).limit(1)
        reference = select(v.version).where(v.is_active).order_by(v.computed_at.desc()).limit(1)
        with self.store.engine.connect() as conn:
            row = conn.execute(select(model.scalar_subquery(), reference.scalar_subquery())).first()
        assert row is not None
        return (row[0], row[1])

    def value_reference(self) -> tuple[str, bytes] | None:
        """The active value reference (version, artifact), or ``None``."""
        v = t.value_references.c
        with self.store.engine.connect() as conn:
            row = conn.execute(
                select(v.version, v.artifact).where(v.is_active).order_by(v.computed_at.desc())
            ).first()
        return (str(row[0]), bytes(row[1])) if row else None
