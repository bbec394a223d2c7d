"""household_surveys.shape: the polygon of a survey whose form's location is a geoshape

Revision ID: 0020_survey_shapes
Revises: 0019_boundary_generation
Create Date: 2026-12-06

A form without a geopoint whose first geoshape outside repeats is its area (the settlement
profile's walked boundary) exports and serves its surveys as polygons: the polygon is made
from the answer ("lat lon alt acc;...") when the survey is stored (app/geo/geoshape.py), so
that exports stay one SQL statement each. NULL for every other survey. The spatial index
holds only surveys that have a shape: a household's insert neither adds an index entry nor
pays for one.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020_survey_shapes"
down_revision: str | None = "0019_boundary_generation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable without a default: PostgreSQL adds the column without rewriting the table.
    op.execute("ALTER TABLE household_surveys ADD COLUMN shape geometry(Polygon, 4326)")
    op.execute(
        "CREATE INDEX ix_household_surveys_shape ON household_surveys USING gist (shape) "
        "WHERE shape IS NOT NULL"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_household_surveys_shape")
    op.execute("ALTER TABLE household_surveys DROP COLUMN shape")
