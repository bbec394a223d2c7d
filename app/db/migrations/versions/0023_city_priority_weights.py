"""cities.priority_weights: each city's own weights of the upgrading priority score

Revision ID: 0023_city_priority_weights
Revises: 0022_enrolment_cancelled
Create Date: 2026-12-06

The weights were one file for every city on the server (forms/priorities.yaml): a city could
not change its own without the server's operator, and a change moved every city's scores. A
city admin now sets the city's weights (PATCH /api/v1/cities/{slug}); a city without its own
(NULL) keeps the common weights of the file. The server checks them before storing (every
indicator known, numbers from 0 to 1000, at least one above 0); the table only keeps what it
stores an object.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0023_city_priority_weights"
down_revision: str | None = "0022_enrolment_cancelled"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable without a default: PostgreSQL adds the column without rewriting the table.
    op.execute(
        "ALTER TABLE cities ADD COLUMN priority_weights jsonb "
        "CONSTRAINT cities_priority_weights_object "
        "CHECK (priority_weights IS NULL OR jsonb_typeof(priority_weights) = 'object')"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE cities DROP COLUMN priority_weights")
