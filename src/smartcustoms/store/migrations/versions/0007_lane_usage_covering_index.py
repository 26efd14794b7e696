"""Lane usage read from its index alone

The single-filing fast path reads each office's lane usage for the day again every
second: a count per lane, with how many were chosen by rule and how many at random. The
index on (office, period, lane) found the rows, but each row was then read from the table
for its selection basis and random flag. With those two columns in the index the read never
touches the table (``benchmarks/bench_lane_usage.py`` compares the two indexes).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 10:00:00.000000
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("risk_decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_risk_decisions_usage")
        batch_op.create_index(
            "ix_risk_decisions_usage",
            ["office", "period", "lane", "selection_basis", "is_random_pick"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("risk_decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_risk_decisions_usage")
        batch_op.create_index("ix_risk_decisions_usage", ["office", "period", "lane"], unique=False)
