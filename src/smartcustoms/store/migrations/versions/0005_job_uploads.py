"""durable bulk jobs: uploads, chunk checkpoints, claims

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 12:00:00.000000

Jobs queued or running before this revision kept their upload in a temporary file of the
process that received it; the file cannot be found again, so those jobs are marked failed
with a clear error rather than left ``queued`` for ever.
"""

import sqlalchemy as sa
from alembic import op

import smartcustoms.store.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_uploads",
        sa.Column("job_id", sa.String(length=40), nullable=False),
        sa.Column("fmt", sa.String(length=16), nullable=False),
        sa.Column("column_map", sa.Text(), nullable=True),
        sa.Column("chunk_size", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column(
            "received_at", smartcustoms.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column(
            "lease_until", smartcustoms.store.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.PrimaryKeyConstraint("job_id"),
        comment=(
            "The upload of each bulk job not finished yet (bytes in job_upload_parts), and which "
            "process works on it until when (claimed_by, lease_until); deleted when the job ends."
        ),
    )
    op.create_table(
        "job_upload_parts",
        sa.Column("job_id", sa.String(length=40), nullable=False),
        sa.Column("part_no", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("job_id", "part_no"),
        comment="The bytes of a bulk job's upload, in parts of at most 8 MiB.",
    )
    op.create_table(
        "job_chunks",
        sa.Column("job_id", sa.String(length=40), nullable=False),
        sa.Column("chunk_no", sa.Integer(), nullable=False),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("quarantined", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("result", sa.LargeBinary(), nullable=False),
        sa.Column(
            "cleared_at", smartcustoms.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("job_id", "chunk_no"),
        comment=(
            "Chunks of a running bulk job already cleared (counts and result lines): a resumed "
            "job starts after the last one; folded into jobs.result when the job ends."
        ),
    )
    op.execute(
        sa.text(
            "UPDATE jobs SET status = 'failed', error = :error WHERE status IN ('queued', 'running')"
        ).bindparams(
            error="the upload was kept in a temporary file before uploads were stored in the "
            "database, and is gone: send the file again (stored filings come back as duplicates)"
        )
    )


def downgrade() -> None:
    op.drop_table("job_chunks")
    op.drop_table("job_upload_parts")
    op.drop_table("job_uploads")
