"""The store's tables (SQLAlchemy Core). Alembic migrations in ``store/migrations`` build them.

Canonical consignment and goods-item columns come from :mod:`smartcustoms.model`, so the
tables follow the model; ``tests/store/test_migrations.py`` fails when the migrations and
these definitions drift apart.

Money columns are :class:`~.types.Money` (exact), datetimes :class:`~.types.UTCDateTime`.
"""

from __future__ import annotations

from typing import Any, Final

import polars as pl
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.types import TypeEngine

from smartcustoms.model.columns import MONEY, TIMESTAMP, column_catalogue
from smartcustoms.store.types import Money, UTCDateTime

__all__ = [
    "FILING_LEVEL_COLUMNS",
    "aeo_acts",
    "aeo_certificates",
    "aeo_operators",
    "api_keys",
    "assessments",
    "audit_log",
    "batches",
    "consignments",
    "filings",
    "goods_items",
    "inspection_results",
    "job_chunks",
    "job_upload_parts",
    "job_uploads",
    "lane_usage",
    "ledger_statements",
    "lifecycle_events",
    "metadata",
    "mra_partners",
    "mra_sync",
    "parties",
    "quarantine",
    "risk_decisions",
    "risk_models",
    "rule_hits",
    "rulesets",
    "users",
    "value_references",
]

metadata = MetaData()

FILING_LEVEL_COLUMNS: Final = tuple(
    col.name
    for col in column_catalogue()
    if col.frame == "consignments" and not col.record_path.startswith("consignments[]")
)
"""Columns of the consignment frame that belong to the filing (stored once, in ``filings``)."""


def _sql_type(dtype: pl.DataType) -> TypeEngine[Any]:
    if dtype == MONEY:
        return Money()
    if dtype == TIMESTAMP:
        return UTCDateTime()
    if dtype == pl.Int64:
        return Integer()
    if dtype == pl.Float64:
        return Float()
    if dtype == pl.Boolean:
        return Boolean()
    return Text()


def _model_columns(frame: str, skip: tuple[str, ...]) -> list[Column[Any]]:
    return [
        Column(col.name, _sql_type(col.dtype), nullable=True, comment=col.description[:200])
        for col in column_catalogue()
        if col.frame == frame and col.name not in skip
    ]


filings = Table(
    "filings",
    metadata,
    Column("filing_id", String(128), primary_key=True),
    Column("content_hash", String(64), nullable=False),
    *_model_columns(
        "consignments",
        tuple(
            col.name
            for col in column_catalogue()
            if col.name == "filing_id" or col.name not in FILING_LEVEL_COLUMNS
        ),
    ),
    Column("consignment_count", Integer, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("batch_id", String(64), nullable=False),
    Column("source", Text),
    Column("line", Integer),
    comment="Accepted filings; filing_id is the filer's idempotency key.",
)

consignments = Table(
    "consignments",
    metadata,
    Column("consignment_id", String(128), primary_key=True),
    Column("filing_id", String(128), nullable=False, index=True),
    *_model_columns("consignments", ("consignment_id", *FILING_LEVEL_COLUMNS)),
    Column("dq_score", Integer, nullable=False),
    Column("dq_reasons", Text),
    Column("accepted_at", UTCDateTime, nullable=False),
    Column("batch_id", String(64), nullable=False),
    comment="Accepted consignments, one row each, canonical columns.",
)

goods_items = Table(
    "goods_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("consignment_id", String(128), nullable=False),
    *_model_columns("items", ("consignment_id",)),
    Index("ix_goods_items_consignment", "consignment_id", "item_no"),
    comment="Goods items of accepted consignments.",
)

assessments = Table(
    "assessments",
    metadata,
    Column("consignment_id", String(128), primary_key=True),
    Column("regime_id", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("details", Text, nullable=False),
    Column("duty_total", Money, nullable=False),
    Column("vat_total", Money, nullable=False),
    Column("excise_total", Money, nullable=False),
    Column("total_payable", Money, nullable=False),
    Column("assessed_at", UTCDateTime, nullable=False),
    comment="Duties and taxes per consignment; details holds the per-item lines and rules.",
)

parties = Table(
    "parties",
    metadata,
    Column("party_id", String(128), primary_key=True),
    Column("role", String(16), primary_key=True),
    Column("name", Text),
    Column("country", String(8)),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    comment="Identified operators (filers, sellers, importers, carriers) seen in filings.",
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("quarantine_id", String(40), primary_key=True),
    Column("status", String(16), nullable=False, index=True),
    Column("filing_id", String(128), index=True),
    Column("source", Text),
    Column("line", Integer),
    Column("record_no", Integer),
    Column("fmt", String(16), nullable=False),
    Column("column_map", Text),
    Column("payload", LargeBinary, nullable=False),
    Column("problems", Text, nullable=False),
    Column("problem_codes", Text, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("batch_id", String(64), nullable=False),
    Column("resolved_filing_id", String(128)),
    Column("tenant", String(128), index=True),
    comment="Rejected filings, whole, with every problem; resubmittable.",
)

lifecycle_events = Table(
    "lifecycle_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("consignment_id", String(128), nullable=False, index=True),
    Column("event_type", String(32), nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("office", Text),
    Column("source", Text),
    comment="Milestones of consignments (arrival, lodgement, acceptance, release, ...).",
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("subject_type", Text, nullable=False),
    Column("subject_id", Text),
    Column("details", Text),
    comment="Who did what, when.",
)

batches = Table(
    "batches",
    metadata,
    Column("batch_id", String(64), primary_key=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("source", Text),
    Column("fmt", String(16)),
    Column("received", Integer, nullable=False),
    Column("accepted", Integer, nullable=False),
    Column("duplicates", Integer, nullable=False),
    Column("quarantined", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    comment="Each run of clear / resubmit, with its counts.",
)


risk_decisions = Table(
    "risk_decisions",
    metadata,
    Column("consignment_id", String(128), primary_key=True),
    Column("lane", String(8), nullable=False),
    Column("office", Text),
    Column("period", String(10), nullable=False),
    Column("risk_score", Float),
    Column("rule_score", Float, nullable=False),
    Column("expected_revenue", Float),
    Column("priority", Float),
    Column("forced_lane", String(8)),
    Column("is_random_pick", Boolean, nullable=False),
    Column("selection_basis", String(16), nullable=False),
    Column("aeo_status", String(16)),
    Column("value_z", Float),
    Column("model_version", String(64)),
    Column("policy_id", Text, nullable=False),
    Column("reasons", Text, nullable=False),
    Column("decided_at", UTCDateTime, nullable=False),
    Column("batch_id", String(64), nullable=False),
    # covering: lane usage (count, by rule, at random) is read from the index alone
    Index(
        "ix_risk_decisions_usage", "office", "period", "lane", "selection_basis", "is_random_pick"
    ),
    comment="The lane chosen for each consignment, with its score and reasons (JSON).",
)

lane_usage = Table(
    "lane_usage",
    metadata,
    Column("office", Text, primary_key=True),
    Column("period", String(10), primary_key=True),
    Column("lane", String(8), primary_key=True),
    Column("writer", BigInteger, primary_key=True),
    Column("decisions", BigInteger, nullable=False),
    Column("by_rule", BigInteger, nullable=False),
    Column("by_random", BigInteger, nullable=False),
    comment=(
        "Lane usage per office, period and lane: kept by triggers on risk_decisions (migration "
        "0008), so the usage is read in a few rows however many decisions the day holds. "
        "Sum over writer: 0 on SQLite, the PostgreSQL backend's pid (concurrent writers never "
        "update the same row, so they never wait on each other's counters)."
    ),
)

rule_hits = Table(
    "rule_hits",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("consignment_id", String(128), nullable=False, index=True),
    Column("ruleset_id", Text, nullable=False),
    Column("rule_id", Text, nullable=False),
    Column("rule_version", Text),
    Column("lane", String(8)),
    Column("weight", Float),
    Column("item_nos", Text),
    Column("hit_at", UTCDateTime, nullable=False),
    comment=(
        "Every targeting-rule hit, per consignment (the rule's text and legal basis are in "
        "the ruleset and in the decision's reasons)."
    ),
)

inspection_results = Table(
    "inspection_results",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("consignment_id", String(128), nullable=False, index=True),
    Column("result", String(16), nullable=False),
    Column("corrected_hs_code", String(16)),
    Column("corrected_value", Money),
    Column("currency", String(3)),
    Column("revenue_recovered", Money),
    Column("finding", Text),
    Column("officer", Text, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    comment="Control outcomes (the labels): the latest row per consignment counts.",
)

risk_models = Table(
    "risk_models",
    metadata,
    Column("version", String(64), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("package_version", String(32), nullable=False),
    Column("schema_hash", String(64), nullable=False),
    Column("seed", Integer, nullable=False),
    Column("window_start", UTCDateTime),
    Column("window_end", UTCDateTime),
    Column("n_train", Integer, nullable=False),
    Column("metrics", Text, nullable=False),
    Column("is_active", Boolean, nullable=False),
    Column("artifact", LargeBinary, nullable=False),
    comment="Trained risk models: the artifact bundles features, profiles and boosters.",
)

value_references = Table(
    "value_references",
    metadata,
    Column("version", String(64), primary_key=True),
    Column("computed_at", UTCDateTime, nullable=False),
    Column("window_start", UTCDateTime),
    Column("window_end", UTCDateTime),
    Column("rows", Integer, nullable=False),
    Column("is_active", Boolean, nullable=False),
    Column("artifact", LargeBinary, nullable=False),
    comment="Learned unit-value references (value controls), as Parquet.",
)


users = Table(
    "users",
    metadata,
    Column("user_id", String(64), primary_key=True),
    Column("display_name", Text, nullable=False),
    Column("role", String(16), nullable=False),
    Column("filer_id", String(128)),
    Column("offices", Text, nullable=False),
    Column("language", String(8), nullable=False),
    Column("password_hash", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
    comment="People and systems that use the service; offices is a JSON list (officers).",
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("user_id", String(64), nullable=False, index=True),
    Column("key_hash", String(64), nullable=False),
    Column("label", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
    Column("last_used_at", UTCDateTime),
    comment="API keys: only the SHA-256 of the secret part is kept.",
)

jobs = Table(
    "jobs",
    metadata,
    Column("job_id", String(40), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("tenant", String(128), index=True),
    Column("status", String(16), nullable=False),
    Column("source", Text),
    Column("received", Integer, nullable=False),
    Column("accepted", Integer, nullable=False),
    Column("quarantined", Integer, nullable=False),
    Column("duplicates", Integer, nullable=False),
    Column("batch_id", String(64)),
    Column("error", Text),
    Column("result", LargeBinary),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    comment="Asynchronous work (bulk filings): progress counts and the result file.",
)

lane_changes = Table(
    "lane_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("consignment_id", String(128), nullable=False, index=True),
    Column("from_lane", String(8), nullable=False),
    Column("to_lane", String(8), nullable=False),
    Column("justification", Text, nullable=False),
    Column("officer", Text, nullable=False),
    Column("changed_at", UTCDateTime, nullable=False),
    comment="Lanes re-routed by an officer, each with its mandatory justification.",
)

# One active ruleset at a time, enforced by the database (a partial unique index: SQLite and
# PostgreSQL both have them), so two analysts activating at once cannot both win.
_ONE_ACTIVE = "status = 'active'"

rulesets = Table(
    "rulesets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ruleset_id", String(128), nullable=False),
    Column("version", String(64), nullable=False),
    Column("rules_name", String(100), nullable=False),
    Column("rules", Text, nullable=False),
    Column("watchlists", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("rule_count", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("uploaded_by", Text, nullable=False),
    Column("uploaded_at", UTCDateTime, nullable=False),
    Column("activated_by", Text),
    Column("activated_at", UTCDateTime),
    Column("retired_at", UTCDateTime),
    Column("note", Text),
    Index("uq_rulesets_version", "ruleset_id", "version", unique=True),
    Index(
        "uq_rulesets_active",
        "status",
        unique=True,
        sqlite_where=text(_ONE_ACTIVE),
        postgresql_where=text(_ONE_ACTIVE),
    ),
    comment=(
        "Targeting rulesets uploaded by analysts: the rules TOML, its watch lists (JSON "
        "name -> TOML), draft/active/retired; one active at a time."
    ),
)

job_uploads = Table(
    "job_uploads",
    metadata,
    Column("job_id", String(40), primary_key=True),
    Column("fmt", String(16), nullable=False),
    Column("column_map", Text),
    Column("chunk_size", Integer, nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("claimed_by", String(64)),
    Column("lease_until", UTCDateTime),
    comment=(
        "The upload of each bulk job not finished yet (bytes in job_upload_parts), and which "
        "process works on it until when (claimed_by, lease_until); deleted when the job ends."
    ),
)

job_upload_parts = Table(
    "job_upload_parts",
    metadata,
    Column("job_id", String(40), primary_key=True),
    Column("part_no", Integer, primary_key=True),
    Column("data", LargeBinary, nullable=False),
    comment="The bytes of a bulk job's upload, in parts of at most 8 MiB.",
)

job_chunks = Table(
    "job_chunks",
    metadata,
    Column("job_id", String(40), primary_key=True),
    Column("chunk_no", Integer, primary_key=True),
    Column("received", Integer, nullable=False),
    Column("accepted", Integer, nullable=False),
    Column("quarantined", Integer, nullable=False),
    Column("duplicates", Integer, nullable=False),
    Column("result", LargeBinary, nullable=False),
    Column("cleared_at", UTCDateTime, nullable=False),
    comment=(
        "Chunks of a running bulk job already cleared (counts and result lines): a resumed "
        "job starts after the last one; folded into jobs.result when the job ends."
    ),
)

aeo_operators = Table(
    "aeo_operators",
    metadata,
    Column("operator_id", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("country", String(2), nullable=False),
    Column("source", String(256), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    comment=(
        "Economic operators holding AEO authorisations: ours (source = our administration) "
        "and those a partner's log reported (source = the partner log's origin)."
    ),
)

aeo_certificates = Table(
    "aeo_certificates",
    metadata,
    Column("certificate_id", String(160), primary_key=True),
    Column("operator_id", String(64), nullable=False, index=True),
    Column("type", String(8), nullable=False),
    Column("authority", String(2), nullable=False),
    Column("number", String(128), nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date),
    Column("status", String(16), nullable=False),
    Column("source", String(256), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    comment=(
        "AEO authorisations (id = authority/number) with their current status; the acts that "
        "led there are in aeo_acts."
    ),
)

aeo_acts = Table(
    "aeo_acts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("certificate_id", String(160), nullable=False, index=True),
    Column("act", String(16), nullable=False),
    Column("effective", Date, nullable=False),
    Column("reason", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("statement_id", Integer),
    Column("log_origin", String(256)),
    Column("log_index", BigInteger),
    comment=(
        "Every grant, suspension and revocation of an AEO authorisation, in order; ours point "
        "at the ledger statement that published them, a partner's at its log entry."
    ),
)

ledger_statements = Table(
    "ledger_statements",
    metadata,
    Column("statement_id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("subject", String(256), nullable=False),
    Column("entry", LargeBinary, nullable=False),
    Column("document", LargeBinary, nullable=False),
    Column("opening", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("log_index", BigInteger, index=True),
    comment=(
        "Statements for our ledger (an outbox): the signed entry bytes, the business document "
        "(shared with MRA partners only), what opens its commitment (salt and private "
        "fields, never published); log_index once appended."
    ),
)

mra_partners = Table(
    "mra_partners",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("country", String(2), nullable=False),
    Column("authority", Text, nullable=False),
    Column("programme", Text, nullable=False),
    Column("signed", Date),
    Column("effective_from", Date, nullable=False),
    Column("effective_to", Date),
    Column("scope", Text, nullable=False),
    Column("issuing_countries", Text, nullable=False),
    Column("log_origin", String(256)),
    Column("log_url", Text),
    Column("added_by", Text, nullable=False),
    Column("added_at", UTCDateTime, nullable=False),
    comment=(
        "Mutual recognition arrangements (one row per period) and the partner log whose "
        "AEO statuses are recognised."
    ),
)

mra_sync = Table(
    "mra_sync",
    metadata,
    Column("log_origin", String(256), primary_key=True),
    Column("tree_size", BigInteger, nullable=False),
    Column("root_hash", String(64), nullable=False),
    Column("checkpoint", Text, nullable=False),
    Column("synced_at", UTCDateTime, nullable=False),
    comment=(
        "The latest verified checkpoint of each partner log and how far its entries were "
        "read (tree_size): the next sync proves consistency from it."
    ),
)
