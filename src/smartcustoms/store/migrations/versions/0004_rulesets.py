"""rulesets uploaded by analysts

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import smartcustoms.store.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rulesets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ruleset_id", sa.String(length=128), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("rules_name", sa.String(length=100), nullable=False),
        sa.Column("rules", sa.Text(), nullable=False),
        sa.Column("watchlists", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("rule_count", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("uploaded_by", sa.Text(), nullable=False),
        sa.Column(
            "uploaded_at", smartcustoms.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("activated_by", sa.Text(), nullable=True),
        sa.Column(
            "activated_at", smartcustoms.store.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("retired_at", smartcustoms.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        comment=(
            "Targeting rulesets uploaded by analysts: the rules TOML, its watch lists (JSON "
            "name -> TOML), draft/active/retired; one active at a time."
        ),
    )
    with op.batch_alter_table("rulesets", schema=None) as batch_op:
        batch_op.create_index("uq_rulesets_version", ["ruleset_id", "version"], unique=True)
        batch_op.create_index(
            "uq_rulesets_active",
            ["status"],
            unique=True,
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("rulesets", schema=None) as batch_op:
        batch_op.drop_index("uq_rulesets_active")
        batch_op.drop_index("uq_rulesets_version")

    op.drop_table("rulesets")
