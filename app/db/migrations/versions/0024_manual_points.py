"""household_surveys.manual_points: geopoint answers the volunteer placed by hand

Revision ID: 0024_manual_points
Revises: 0023_city_priority_weights
Create Date: 2026-12-07

The survey's location says it was placed by hand on the phone's map (`location_manual`); any
other geopoint answer placed so (a water point, a second house) went as a point measured to
0 m, and nothing told a reviewer otherwise. The phone now sends it without an accuracy and
names it in `manual_points` (`repeat[n]/name` inside a repeat), kept here; NULL for none.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0024_manual_points"
down_revision: str | None = "0023_city_priority_weights"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable without a default: PostgreSQL adds the column without rewriting the table.
    op.execute("ALTER TABLE household_surveys ADD COLUMN manual_points text[]")


def downgrade() -> None:
    op.execute("ALTER TABLE household_surveys DROP COLUMN manual_points")
