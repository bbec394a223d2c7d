"""location_optional: a survey of a form without a geopoint question has no point

Revision ID: 0005_location_optional
Revises: 0004_location_manual
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005_location_optional"
down_revision: str | None = "0004_location_manual"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Dropping NOT NULL only changes the catalogue: no rewrite, no scan of the table.
    op.alter_column("household_surveys", "geom", nullable=True)


def downgrade() -> None:
    # Surveys without a point cannot be kept under NOT NULL: they go, as before this revision.
    op.execute("DELETE FROM household_surveys WHERE geom IS NULL")
    op.alter_column("household_surveys", "geom", nullable=False)
