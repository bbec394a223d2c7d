"""duplicate_checks: the likely-duplicate check of a phone's batch, queued to run after the answer

Revision ID: 0018_duplicate_checks
Revises: 0017_tallies_latest
Create Date: 2026-12-06

The check of a batch's surveys for a likely second survey of a household (`possible_duplicate`,
a flag for the reviewer) was ~40 % of the batch statement's database time. A batch statement
now stores its surveys and, in the same statement (so in the same commit), queues here the
ids of those that lie in a settlement, one row per statement; a background job of the app
(app/services/duplicate_checks.py) takes a row, checks its surveys and deletes it in one
statement. A queued row outlives a restart or a killed process: the next app to start runs it.

Downgrading drops the queue: the surveys of checks still queued keep no flag (none is lost
from a survey that has one).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018_duplicate_checks"
down_revision: str | None = "0017_tallies_latest"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
CREATE TABLE duplicate_checks (
    id bigserial PRIMARY KEY,
    -- No NULL id: "not queued" is read as NOT IN (app.db.submissions.NOT_AWAITING_CHECK).
    survey_ids uuid[] NOT NULL CHECK (array_position(survey_ids, NULL) IS NULL),
    queued_at timestamptz NOT NULL DEFAULT now()
);
"""
    )


def downgrade() -> None:
    op.execute("DROP TABLE duplicate_checks;")
