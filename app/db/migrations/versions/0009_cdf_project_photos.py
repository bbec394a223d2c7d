"""cdf_project_photos: before and after photos of an upgrading project

Revision ID: 0009_cdf_project_photos
Revises: 0008_cdf_projects
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_cdf_project_photos"
down_revision: str | None = "0008_cdf_projects"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The file lives under media_dir/cdf-projects/<project id>/<phase>/<filename>.
    op.create_table(
        "cdf_project_photos",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column(
            "project_id",
            sa.Integer(),
            sa.ForeignKey("cdf_projects.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("phase", sa.String(8), nullable=False),
        sa.Column("filename", sa.String(128), nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("phase IN ('before', 'after')", name="ck_cdf_project_photos_phase"),
        sa.UniqueConstraint("project_id", "phase", "filename", name="uq_cdf_project_photos_file"),
    )


def downgrade() -> None:
    op.drop_table("cdf_project_photos")
