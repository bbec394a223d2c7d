"""enrolments.cancelled_at: a phone's one-time code can be cancelled before it is used

Revision ID: 0022_enrolment_cancelled
Revises: 0021_duplicate_check_failures
Create Date: 2026-12-07

An enrolment code stayed good for its 3 days whatever happened to its person meanwhile: one
disabled, enabled again and given a new password still had a phone enrolled by the QR code
made before. Disabling a person, a new password and a revoked phone now cancel the person's
codes not yet used (app/services/accounts.py), and a cancelled code is refused as a used one.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0022_enrolment_cancelled"
down_revision: str | None = "0021_duplicate_check_failures"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable without a default: PostgreSQL adds the column without rewriting the table.
    op.execute("ALTER TABLE enrolments ADD COLUMN cancelled_at timestamptz")


def downgrade() -> None:
    op.execute("ALTER TABLE enrolments DROP COLUMN cancelled_at")
