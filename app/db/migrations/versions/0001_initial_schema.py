"""cities, wards, settlements, household surveys

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("province", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug"),
    )
    op.create_table(
        "wards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                spatial_index=False,
                nullable=False,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["city_id"], ["cities.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("city_id", "code"),
    )
    op.create_index("idx_wards_geom", "wards", ["geom"], unique=False, postgresql_using="gist")
    op.create_index(op.f("ix_wards_city_id"), "wards", ["city_id"], unique=False)
    op.create_table(
        "settlements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.Column("ward_id", sa.Integer(), nullable=True),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("households_estimate", sa.Integer(), nullable=True),
        sa.Column("year_settled", sa.Integer(), nullable=True),
        sa.Column("land_type", sa.Text(), nullable=True),
        sa.Column("threats", sa.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column(
            "profile", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="POLYGON",
                srid=4326,
                dimension=2,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                spatial_index=False,
                nullable=False,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["city_id"], ["cities.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["ward_id"], ["wards.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("city_id", "code"),
    )
    op.create_index(
        "idx_settlements_geom", "settlements", ["geom"], unique=False, postgresql_using="gist"
    )
    op.create_index(op.f("ix_settlements_city_id"), "settlements", ["city_id"], unique=False)
    op.create_index(op.f("ix_settlements_ward_id"), "settlements", ["ward_id"], unique=False)
    op.create_table(
        "household_surveys",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=True),
        sa.Column("ward_id", sa.Integer(), nullable=True),
        sa.Column("settlement_id", sa.Integer(), nullable=True),
        sa.Column("form_id", sa.String(length=64), nullable=False),
        sa.Column("form_version", sa.String(length=64), nullable=False),
        sa.Column("collector", sa.Text(), nullable=True),
        sa.Column("collected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), server_default="received", nullable=False),
        sa.Column("flags", sa.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("gps_accuracy_m", sa.Float(), nullable=True),
        sa.Column("altitude_m", sa.Float(), nullable=True),
        sa.Column("answers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                spatial_index=False,
                nullable=False,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["city_id"], ["cities.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["settlement_id"], ["settlements.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["ward_id"], ["wards.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "idx_household_surveys_geom",
        "household_surveys",
        ["geom"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_index(
        "ix_household_surveys_city_ward", "household_surveys", ["city_id", "ward_id"], unique=False
    )
    op.create_index(
        "ix_household_surveys_collected_at", "household_surveys", ["collected_at"], unique=False
    )
    op.create_index(
        op.f("ix_household_surveys_settlement_id"),
        "household_surveys",
        ["settlement_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_household_surveys_settlement_id"), table_name="household_surveys")
    op.drop_index("ix_household_surveys_collected_at", table_name="household_surveys")
    op.drop_index("ix_household_surveys_city_ward", table_name="household_surveys")
    op.drop_index(
        "idx_household_surveys_geom", table_name="household_surveys", postgresql_using="gist"
    )
    op.drop_table("household_surveys")
    op.drop_index(op.f("ix_settlements_ward_id"), table_name="settlements")
    op.drop_index(op.f("ix_settlements_city_id"), table_name="settlements")
    op.drop_index("idx_settlements_geom", table_name="settlements", postgresql_using="gist")
    op.drop_table("settlements")
    op.drop_index(op.f("ix_wards_city_id"), table_name="wards")
    op.drop_index("idx_wards_geom", table_name="wards", postgresql_using="gist")
    op.drop_table("wards")
    op.drop_table("cities")
