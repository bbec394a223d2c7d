"""odk_submissions: the instance XML ODK Collect sent, by instanceID (edits and resends)

Revision ID: 0007_odk_submissions
Revises: 0006_cdf_books
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007_odk_submissions"
down_revision: str | None = "0006_cdf_books"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # One row per instanceID Collect sent: the survey it became (an edit's new instanceID
    # points at the survey it corrects), the XML as sent (kept for history) and its hash,
    # which tells a resend (same bytes: merge its files) from a conflict (other bytes).
    op.create_table(
        "odk_submissions",
        sa.Column("instance_id", sa.String(80), primary_key=True),
        sa.Column(
            "survey_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("household_surveys.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("deprecated_id", sa.String(80), nullable=True),
        sa.Column("form_id", sa.Text(), nullable=False),
        sa.Column("form_version", sa.Text(), nullable=False),
        sa.Column("xml_sha256", sa.String(64), nullable=False),
        sa.Column("xml", sa.Text(), nullable=False),
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column(
            "received_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.create_index("ix_odk_submissions_survey_id", "odk_submissions", ["survey_id"])


def downgrade() -> None:
    op.drop_index("ix_odk_submissions_survey_id", table_name="odk_submissions")
    op.drop_table("odk_submissions")
