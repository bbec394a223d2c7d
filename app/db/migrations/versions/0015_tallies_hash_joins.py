"""household_tallies: the update trigger compares old and new rows with a hash join

Revision ID: 0015_tallies_hash_joins
Revises: 0014_tallies_lock_order
Create Date: 2026-12-03

The update trigger finds the surveys whose counted fields changed by matching the statement's
old and new transition tables on the survey id. Transition tables carry no statistics: the
planner guessed a handful of rows and matched them with a nested loop, which compares every
old row with every new one. Approving 5,000 sample surveys in one UPDATE took 24.6 s (20,000:
over 15 minutes; a 100,000-household bench load never finished). With nested loops off inside
the trigger functions the match is a hash join: 1.3 s for 5,000, 3.1 s for 20,000.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015_tallies_hash_joins"
down_revision: str | None = "0014_tallies_lock_order"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTIONS = ("household_tallies_updated()", "household_tallies_deleted()")


def upgrade() -> None:
    for function in FUNCTIONS:
        op.execute(f"ALTER FUNCTION {function} SET enable_nestloop = off")


def downgrade() -> None:
    for function in FUNCTIONS:
        op.execute(f"ALTER FUNCTION {function} RESET enable_nestloop")
