"""AEO registry with act history, ledger statement outbox, MRA partners and sync state

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 18:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import smartcustoms.store.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_TS = smartcustoms.store.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "aeo_operators",
        sa.Column("operator_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("source", sa.String(length=256), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("operator_id"),
        comment=(
            "Economic operators holding AEO authorisations: ours (source = our administration) "
            "and those a partner's log reported (source = the partner log's origin)."
        ),
    )
    op.create_table(
        "aeo_certificates",
        sa.Column("certificate_id", sa.String(length=160), nullable=False),
        sa.Column("operator_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=8), nullable=False),
        sa.Column("authority", sa.String(length=2), nullable=False),
        sa.Column("number", sa.String(length=128), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=256), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("certificate_id"),
        comment=(
            "AEO authorisations (id = authority/number) with their current status; the acts "
            "that led there are in aeo_acts."
        ),
    )
    op.create_index(op.f("ix_aeo_certificates_operator_id"), "aeo_certificates", ["operator_id"])
    op.create_table(
        "aeo_acts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("certificate_id", sa.String(length=160), nullable=False),
        sa.Column("act", sa.String(length=16), nullable=False),
        sa.Column("effective", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("recorded_at", _TS, nullable=False),
        sa.Column("statement_id", sa.Integer(), nullable=True),
        sa.Column("log_origin", sa.String(length=256), nullable=True),
        sa.Column("log_index", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        comment=(
            "Every grant, suspension and revocation of an AEO authorisation, in order; ours "
            "point at the ledger statement that published them, a partner's at its log entry."
        ),
    )
    op.create_index(op.f("ix_aeo_acts_certificate_id"), "aeo_acts", ["certificate_id"])
    op.create_table(
        "ledger_statements",
        sa.Column("statement_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=256), nullable=False),
        sa.Column("entry", sa.LargeBinary(), nullable=False),
        sa.Column("document", sa.LargeBinary(), nullable=False),
        sa.Column("opening", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("log_index", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("statement_id"),
        comment=(
            "Statements for our ledger (an outbox): the signed entry bytes, the business "
            "document (shared with MRA partners only), what opens its commitment (salt and "
            "private fields, never published); log_index once appended."
        ),
    )
    op.create_index(op.f("ix_ledger_statements_log_index"), "ledger_statements", ["log_index"])
    op.create_table(
        "mra_partners",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("authority", sa.Text(), nullable=False),
        sa.Column("programme", sa.Text(), nullable=False),
        sa.Column("signed", sa.Date(), nullable=True),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("issuing_countries", sa.Text(), nullable=False),
        sa.Column("log_origin", sa.String(length=256), nullable=True),
        sa.Column("log_url", sa.Text(), nullable=True),
        sa.Column("added_by", sa.Text(), nullable=False),
        sa.Column("added_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        comment=(
            "Mutual recognition arrangements (one row per period) and the partner log whose "
            "AEO statuses are recognised."
        ),
    )
    op.create_table(
        "mra_sync",
        sa.Column("log_origin", sa.String(length=256), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column("checkpoint", sa.Text(), nullable=False),
        sa.Column("synced_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("log_origin"),
        comment=(
            "The latest verified checkpoint of each partner log and how far its entries were "
            "read (tree_size): the next sync proves consistency from it."
        ),
    )


def downgrade() -> None:
    for name in ("mra_sync", "mra_partners"):
        op.drop_table(name)
    op.drop_index(op.f("ix_ledger_statements_log_index"), table_name="ledger_statements")
    op.drop_table("ledger_statements")
    op.drop_index(op.f("ix_aeo_acts_certificate_id"), table_name="aeo_acts")
    op.drop_table("aeo_acts")
    op.drop_index(op.f("ix_aeo_certificates_operator_id"), table_name="aeo_certificates")
    op.drop_table("aeo_certificates")
    op.drop_table("aeo_operators")
