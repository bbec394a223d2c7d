"""cdf_projects: small upgrading projects financed by the CDF, and their status changes

Revision ID: 0008_cdf_projects
Revises: 0007_odk_submissions
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision: str = "0008_cdf_projects"
down_revision: str | None = "0007_odk_submissions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = ("lane_paving", "drain", "water", "toilets", "community_centre", "house_repair")
STATUSES = ("proposed", "approved", "building", "done")
SOURCES = ("cdf_loan", "grant", "community", "city")
NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "cdf_projects",
        sa.Column("id", sa.Integer(), sa.Identity(), primary_key=True),
        # Stored for scope filters; always the settlement's city (checked on every write).
        sa.Column(
            "city_id",
            sa.Integer(),
            sa.ForeignKey("cities.id", ondelete="CASCADE"),
            nullable=False,
        ),
        # The ward is the settlement's, read through it: a boundary re-import that moves a
        # settlement moves its projects too. No cascade: a settlement with projects stays.
        sa.Column(
            "settlement_id",
            sa.Integer(),
            sa.ForeignKey("settlements.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("code", sa.String(40), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="proposed"),
        # Money is integer đồng (VND has no minor unit): never a float.
        *[
            sa.Column(f"budget_{source}", sa.BigInteger(), nullable=False, server_default="0")
            for source in SOURCES
        ],
        sa.Column("households", sa.Integer(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        # A later revision may point this at the CDF's loans (part A of issue 12).
        sa.Column("loan_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "geom",
            Geometry("GEOMETRY", srid=4326, spatial_index=False),
            nullable=False,
        ),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.CheckConstraint(f"kind IN {KINDS}", name="ck_cdf_projects_kind"),
        sa.CheckConstraint(f"status IN {STATUSES}", name="ck_cdf_projects_status"),
        *[
            sa.CheckConstraint(f"budget_{source} >= 0", name=f"ck_cdf_projects_{source}")
            for source in SOURCES
        ],
        sa.CheckConstraint("households >= 0", name="ck_cdf_projects_households"),
        sa.CheckConstraint(
            "end_date IS NULL OR start_date IS NULL OR end_date >= start_date",
            name="ck_cdf_projects_dates",
        ),
        sa.CheckConstraint("length(name) BETWEEN 1 AND 200", name="ck_cdf_projects_name"),
        sa.CheckConstraint(
            "GeometryType(geom) IN ('POINT', 'LINESTRING', 'POLYGON') AND ST_IsValid(geom)"
            " AND ST_SRID(geom) = 4326",
            name="ck_cdf_projects_geom",
        ),
    )
    op.create_index("idx_cdf_projects_geom", "cdf_projects", ["geom"], postgresql_using="gist")
    op.create_index("ix_cdf_projects_city", "cdf_projects", ["city_id", "status"])
    op.create_index(
        "uq_cdf_projects_code",
        "cdf_projects",
        ["city_id", "code"],
        unique=True,
        postgresql_where=sa.text("code IS NOT NULL"),
    )
    op.create_table(
        "cdf_project_status_changes",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column(
            "project_id",
            sa.Integer(),
            sa.ForeignKey("cdf_projects.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("from_status", sa.String(16), nullable=True),  # NULL: the project's creation
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("changed_by", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        # The person's name as it was: kept when the account goes.
        sa.Column("changed_by_name", sa.Text(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
    )
    op.create_index(
        "ix_cdf_project_status_changes_project",
        "cdf_project_status_changes",
        ["project_id", "changed_at"],
    )


def downgrade() -> None:
    op.drop_table("cdf_project_status_changes")
    op.drop_table("cdf_projects")
