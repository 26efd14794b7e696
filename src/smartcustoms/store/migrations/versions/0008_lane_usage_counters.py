"""Lane usage kept in counters by triggers, read in a few rows

Lane capacity and target rates are judged against the lanes already chosen per office and
day. That usage was counted from ``risk_decisions`` at each read: the single-filing fast
path of every worker reads it again each second, and the count grows with the day (at 500
decisions a second a day holds 43 million). ``lane_usage`` holds the counts instead (per
office, period and lane: decisions, chosen by rule, picked at random), and triggers on
``risk_decisions`` keep them for every insert, re-routing (update) and delete, whichever
writer made it: the batch path, the fast path, a bulk ingest, an officer's lane change. The
counts of the decisions already on file are filled in here.

On PostgreSQL the triggers run once per statement on its transition tables (a bulk
``COPY`` of 50,000 decisions adds a few grouped rows), and each backend keeps its own rows
(``writer`` is ``pg_backend_pid()``): two transactions never update the same counter, so a
long bulk transaction never makes a single filing wait. Readers sum over ``writer``. On
SQLite, writers are serialised anyway: ``writer`` is 0.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 16:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_COLUMNS = "office, period, lane, writer, decisions, by_rule, by_random"
_ADD = (
    "ON CONFLICT (office, period, lane, writer) DO UPDATE SET "
    "decisions = lane_usage.decisions + excluded.decisions, "
    "by_rule = lane_usage.by_rule + excluded.by_rule, "
    "by_random = lane_usage.by_random + excluded.by_random"
)

# SQLite: row triggers; one upsert per row changed (+1 for the new row, -1 for the old).
_SQLITE_TRIGGERS = {
    "tr_lane_usage_insert": ("AFTER INSERT", "NEW", 1),
    "tr_lane_usage_delete": ("AFTER DELETE", "OLD", -1),
    "tr_lane_usage_update_old": (
        "AFTER UPDATE OF office, period, lane, selection_basis, is_random_pick",
        "OLD",
        -1,
    ),
    "tr_lane_usage_update_new": (
        "AFTER UPDATE OF office, period, lane, selection_basis, is_random_pick",
        "NEW",
        1,
    ),
}

# PostgreSQL: statement triggers on the transition tables, one grouped upsert per statement.
_PG_FUNCTION = f"""
CREATE FUNCTION lane_usage_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO lane_usage ({_COLUMNS})
    SELECT office, period, lane, pg_backend_pid(), count(*),
           count(*) FILTER (WHERE selection_basis = 'rule'),
           count(*) FILTER (WHERE is_random_pick)
      FROM new_rows WHERE office IS NOT NULL GROUP BY office, period, lane
    {_ADD};
  END IF;
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    INSERT INTO lane_usage ({_COLUMNS})
    SELECT office, period, lane, pg_backend_pid(), -count(*),
           -count(*) FILTER (WHERE selection_basis = 'rule'),
           -count(*) FILTER (WHERE is_random_pick)
      FROM old_rows WHERE office IS NOT NULL GROUP BY office, period, lane
    {_ADD};
  END IF;
  RETURN NULL;
END
$$
"""
_PG_TRIGGERS = {
    "tr_lane_usage_insert": "AFTER INSERT ON risk_decisions REFERENCING NEW TABLE AS new_rows",
    "tr_lane_usage_update": (
        "AFTER UPDATE ON risk_decisions REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
    ),
    "tr_lane_usage_delete": "AFTER DELETE ON risk_decisions REFERENCING OLD TABLE AS old_rows",
}


def upgrade() -> None:
    op.create_table(
        "lane_usage",
        sa.Column("office", sa.Text(), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("lane", sa.String(length=8), nullable=False),
        sa.Column("writer", sa.BigInteger(), nullable=False),
        sa.Column("decisions", sa.BigInteger(), nullable=False),
        sa.Column("by_rule", sa.BigInteger(), nullable=False),
        sa.Column("by_random", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("office", "period", "lane", "writer"),
        comment=(
            "Lane usage per office, period and lane: kept by triggers on risk_decisions "
            "(migration 0008), so the usage is read in a few rows however many decisions the "
            "day holds. Sum over writer: 0 on SQLite, the PostgreSQL backend's pid (concurrent "
            "writers never update the same row, so they never wait on each other's counters)."
        ),
    )
    op.execute(
        f"INSERT INTO lane_usage ({_COLUMNS}) "
        "SELECT office, period, lane, 0, COUNT(*), "
        "SUM(CASE WHEN selection_basis = 'rule' THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN is_random_pick THEN 1 ELSE 0 END) "
        "FROM risk_decisions WHERE office IS NOT NULL GROUP BY office, period, lane"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        for name, when in _PG_TRIGGERS.items():
            op.execute(
                f"CREATE TRIGGER {name} {when} FOR EACH STATEMENT "
                "EXECUTE FUNCTION lane_usage_count()"
            )
        return
    for name, (when, row, sign) in _SQLITE_TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {name} {when} ON risk_decisions "
            f"WHEN {row}.office IS NOT NULL BEGIN "
            f"INSERT INTO lane_usage ({_COLUMNS}) VALUES ({row}.office, {row}.period, "
            f"{row}.lane, 0, {sign}, {sign} * ({row}.selection_basis = 'rule'), "
            f"{sign} * ({row}.is_random_pick <> 0)) {_ADD}; END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in _PG_TRIGGERS:
            op.execute(f"DROP TRIGGER {name} ON risk_decisions")
        op.execute("DROP FUNCTION lane_usage_count()")
    else:
        for name in _SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
    op.drop_table("lane_usage")
