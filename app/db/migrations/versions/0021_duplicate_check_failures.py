"""duplicate_checks.failures: a check that keeps failing goes behind the others

Revision ID: 0021_duplicate_check_failures
Revises: 0020_survey_shapes
Create Date: 2026-12-06

A queued check was taken oldest first: one whose statement failed every time (a bug, a
statement timeout on a huge settlement) was taken first again on every try, and no check
queued after it ever ran. Each failure is counted on its row, and the checks are taken by
fewest failures, then oldest: the failing one is tried again after the others.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021_duplicate_check_failures"
down_revision: str | None = "0020_survey_shapes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A constant default: PostgreSQL adds the column without rewriting the table.
    op.execute(
        "ALTER TABLE duplicate_checks ADD COLUMN failures integer NOT NULL DEFAULT 0 "
        "CHECK (failures >= 0)"
    )
    op.execute("CREATE INDEX ix_duplicate_checks_order ON duplicate_checks (failures, id)")


def downgrade() -> None:
    op.execute("DROP INDEX ix_duplicate_checks_order")
    op.execute("ALTER TABLE duplicate_checks DROP COLUMN failures")
